-- Deleting a call or a case (retention) updates the rows that point at it; without an index
-- on each pointing column PostgreSQL scans the whole table once per deleted row.
CREATE INDEX IF NOT EXISTS cases_call ON cases (call_id);
CREATE INDEX IF NOT EXISTS surveys_case ON surveys (case_id);
-- Retention finds old calls by when they joined (or were first stored).
CREATE INDEX IF NOT EXISTS calls_joined_or_created ON calls ((COALESCE(joined_at, created_at)));
