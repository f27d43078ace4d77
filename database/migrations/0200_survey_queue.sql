-- The survey queue: one survey per call and per resolved complaint, leases so the work of a
-- dialer that died is taken back only once its call can no longer be live, an attempt
-- outcome for calls whose fate is unknown, and every status change recorded.
-- depends: 0001_base

ALTER TABLE surveys
    ADD COLUMN call_key     text,
    ADD COLUMN queue        text,
    ADD COLUMN selection    text NOT NULL DEFAULT 'answered' CHECK (selection IN (
                                'answered', 'complaint', 'sample', 'case_followup', 'in_call')),
    ADD COLUMN lease_until  timestamptz;

CREATE UNIQUE INDEX surveys_one_per_call ON surveys (call_key) WHERE call_key IS NOT NULL;
CREATE UNIQUE INDEX surveys_one_per_case_followup ON surveys (case_id)
    WHERE selection = 'case_followup';
CREATE INDEX surveys_lease ON surveys (status, lease_until)
    WHERE status IN ('dialing', 'in_progress');
CREATE INDEX surveys_call ON surveys (call_id);
CREATE INDEX surveys_agent_created ON surveys (agent_user_id, created_at);
CREATE INDEX surveys_created ON surveys (created_at);

ALTER TABLE survey_attempts DROP CONSTRAINT survey_attempts_outcome_check;
ALTER TABLE survey_attempts ADD CONSTRAINT survey_attempts_outcome_check CHECK (outcome IN (
    'answered', 'no_answer', 'busy', 'congestion', 'failure', 'hangup', 'unknown'));
CREATE UNIQUE INDEX survey_attempts_one_open ON survey_attempts (survey_id) WHERE ended_at IS NULL;
CREATE INDEX survey_attempts_survey ON survey_attempts (survey_id, started_at);

CREATE TABLE survey_events (
    id           bigserial PRIMARY KEY,
    survey_id    uuid NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    at           timestamptz NOT NULL,
    from_status  text,
    to_status    text NOT NULL,
    reason       text
);
CREATE INDEX survey_events_survey ON survey_events (survey_id, id);

-- A trigger, so that no code path can change a status without leaving its trace.
CREATE FUNCTION survey_status_logged() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO survey_events (survey_id, at, from_status, to_status, reason)
        VALUES (NEW.id, NEW.updated_at, NULL, NEW.status, NEW.reason);
    ELSIF NEW.status IS DISTINCT FROM OLD.status THEN
        INSERT INTO survey_events (survey_id, at, from_status, to_status, reason)
        VALUES (NEW.id, NEW.updated_at, OLD.status, NEW.status, NEW.reason);
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER surveys_status_logged AFTER INSERT OR UPDATE OF status ON surveys
    FOR EACH ROW EXECUTE FUNCTION survey_status_logged();
