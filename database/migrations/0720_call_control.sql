-- Call control from the panel: the queue overflow's callback requests, and the calls
-- agents place to citizens (click-to-call), each linked to the case or request behind it.
-- depends: 0300_agent_panel

CREATE TABLE callback_requests (
    id            bigserial PRIMARY KEY,
    pbx           text NOT NULL,
    queue         text NOT NULL,
    call_key      text NOT NULL UNIQUE,
    -- As the caller's phone sent it, and normalised (NULL: not a number we can dial).
    raw_number    text NOT NULL,
    number        text,
    requested_at  timestamptz NOT NULL,
    done_at       timestamptz,
    done_by       bigint REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX callback_requests_open ON callback_requests (requested_at) WHERE done_at IS NULL;
CREATE INDEX callback_requests_done_by ON callback_requests (done_by);

CREATE TABLE outbound_calls (
    id                   bigserial PRIMARY KEY,
    pbx                  text NOT NULL,
    channel_id           text NOT NULL UNIQUE,
    agent_user_id        bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    number               text NOT NULL,
    case_id              bigint REFERENCES cases (id) ON DELETE SET NULL,
    callback_request_id  bigint REFERENCES callback_requests (id) ON DELETE SET NULL,
    started_at           timestamptz NOT NULL,
    -- What Originate reported once the agent's phone answered or failed.
    outcome              text,
    answered_at          timestamptz
);
CREATE INDEX outbound_calls_agent ON outbound_calls (agent_user_id, started_at DESC);
CREATE INDEX outbound_calls_case ON outbound_calls (case_id);
CREATE INDEX outbound_calls_request ON outbound_calls (callback_request_id);
