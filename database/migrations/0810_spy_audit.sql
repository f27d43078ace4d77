-- Supervision: every listen, whisper and barge a supervisor starts, switches or stops, and
-- its end (the call ended, the phone hung up): who, on which call, which agent, the mode.
-- depends: 0600_admin_audit

CREATE TABLE spy_audit (
    id               bigserial PRIMARY KEY,
    at               timestamptz NOT NULL,
    supervisor_id    bigint REFERENCES users (id) ON DELETE SET NULL,
    action           text NOT NULL CHECK (action IN ('start', 'mode', 'stop', 'ended')),
    call_key         text NOT NULL,
    agent_interface  text NOT NULL,
    agent_id         bigint REFERENCES users (id) ON DELETE SET NULL,
    mode             text NOT NULL CHECK (mode IN ('listen', 'whisper', 'barge')),
    -- What the supervisor's phone did (answered, no_answer, busy, refused...) for a start
    -- or a switch; why it ended for an end (call_ended, hung_up).
    outcome          text
);
CREATE INDEX spy_audit_at ON spy_audit (at DESC);
CREATE INDEX spy_audit_supervisor ON spy_audit (supervisor_id, at DESC);
CREATE INDEX spy_audit_agent ON spy_audit (agent_id, at DESC);
CREATE INDEX spy_audit_call ON spy_audit (call_key);
