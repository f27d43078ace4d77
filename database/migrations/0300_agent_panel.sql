-- The agent panel: every availability change of an agent (from the panel or seen on the
-- PBX), so the panel can show the time in the current state after a restart and
-- supervisors can measure logged-in and paused time.
-- depends: 0001_base

CREATE TABLE agent_state_events (
    id            bigserial PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    availability  text NOT NULL CHECK (availability IN ('ready', 'paused', 'logged_out')),
    reason        text NOT NULL DEFAULT '',
    at            timestamptz NOT NULL,
    source        text NOT NULL CHECK (source IN ('panel', 'pbx'))
);
CREATE INDEX agent_state_events_user_at ON agent_state_events (user_id, at DESC);
