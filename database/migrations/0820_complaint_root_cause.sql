-- The root cause of a complaint, chosen from the configured list (settings reports.root_causes)
-- when it is resolved: the quarterly report counts complaints by it (PWA step 9).
-- depends: 0751_queue_log_cursor

ALTER TABLE cases ADD COLUMN root_cause text;
