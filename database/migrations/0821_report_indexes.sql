-- The report's occupancy reads the calls answered in the period and the agents' state
-- changes within it by time, over every agent at once.
-- depends: 0820_complaint_root_cause

CREATE INDEX calls_answered ON calls (answered_at) WHERE agent_user_id IS NOT NULL;
CREATE INDEX agent_state_events_at ON agent_state_events (at);
