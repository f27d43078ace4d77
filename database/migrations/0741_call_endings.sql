-- The calls' outbox of ended calls: written with the record that stores a call's end, in
-- the same transaction, and taken (once) by whoever acts on ended calls, today the survey,
-- which schedules its survey in the transaction that marks the row taken. No outage of the
-- database and no kill between the two can lose or double a survey.
-- depends: 0001_base

CREATE TABLE call_endings (
    id        bigserial PRIMARY KEY,
    call_key  text NOT NULL UNIQUE REFERENCES calls (call_key) ON DELETE CASCADE,
    ended_at  timestamptz NOT NULL DEFAULT now(),
    taken_at  timestamptz
);
CREATE INDEX call_endings_waiting ON call_endings (id) WHERE taken_at IS NULL;
