-- Retention also strips the caller's number from surveys older than the period (their
-- ratings stay for the satisfaction figures); each run records how many.
-- depends: 0100_cases_lifecycle

ALTER TABLE retention_runs ADD COLUMN surveys_anonymised integer NOT NULL DEFAULT 0;
