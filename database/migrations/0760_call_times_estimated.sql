-- A call adopted from a snapshot has its join and answer times estimated from channel
-- ages (the answer counts the ringing); queue_log's ENTERQUEUE and CONNECT replace them
-- once read (calls/repository.py merges by this flag).
-- depends: 0751_queue_log_cursor

ALTER TABLE calls ADD COLUMN times_estimated boolean NOT NULL DEFAULT false;
