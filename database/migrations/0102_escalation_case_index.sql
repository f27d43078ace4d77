-- A case's escalations are read on its page and removed with it: index them by case.
CREATE INDEX IF NOT EXISTS case_escalations_case ON case_escalations (case_id, level);
