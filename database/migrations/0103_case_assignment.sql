-- A case's handler is named explicitly: the agent who opened it, or the one a supervisor
-- assigned it to. Writing a note on a case no longer makes anyone its handler.
ALTER TABLE cases ADD COLUMN assigned_to bigint REFERENCES users (id);
CREATE INDEX cases_assigned_to_idx ON cases (assigned_to);
