-- The first schema: people, queues, callers, calls, cases, surveys and settings.

CREATE TABLE units (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    parent_id   bigint REFERENCES units (id),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id             bigserial PRIMARY KEY,
    username       text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9_.-]{2,64}$'),
    display_name   text NOT NULL,
    password_hash  text NOT NULL,
    role           text NOT NULL CHECK (role IN ('agent', 'supervisor', 'admin', 'unit')),
    unit_id        bigint REFERENCES units (id),
    pbx            text,
    interface      text,
    language       text NOT NULL DEFAULT 'th' CHECK (language IN ('th', 'en')),
    active         boolean NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (pbx, interface)
);

CREATE TABLE queues (
    id          bigserial PRIMARY KEY,
    pbx         text NOT NULL,
    name        text NOT NULL,
    number      text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (pbx, name)
);

CREATE TABLE agent_queues (
    user_id   bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    queue_id  bigint NOT NULL REFERENCES queues (id) ON DELETE CASCADE,
    penalty   integer NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, queue_id)
);

CREATE TABLE web_sessions (
    token_hash  text PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX web_sessions_user ON web_sessions (user_id);

CREATE TABLE callers (
    id          bigserial PRIMARY KEY,
    number      text NOT NULL UNIQUE,
    name        text,
    occupation  text,
    gender      text,
    age_band    text,
    province    text,
    email       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    anonymised_at timestamptz
);

-- One row per queue call, keyed by (pbx, queue, caller uniqueid) so that a replay or a
-- resynchronisation after a reconnect updates the same row instead of counting twice.
CREATE TABLE calls (
    id                  bigserial PRIMARY KEY,
    call_key            text NOT NULL UNIQUE,
    pbx                 text NOT NULL,
    queue               text NOT NULL,
    uniqueid            text NOT NULL,
    linkedid            text,
    caller_id           bigint REFERENCES callers (id),
    caller_number       text,
    caller_name         text,
    joined_at           timestamptz,
    ringing_at          timestamptz,
    answered_at         timestamptz,
    ended_at            timestamptz,
    agent_interface     text,
    agent_name          text,
    agent_user_id       bigint REFERENCES users (id),
    wait_s              double precision,
    ring_s              double precision,
    talk_s              double precision,
    hold_s              double precision NOT NULL DEFAULT 0,
    hung_up_by          text CHECK (hung_up_by IN ('caller', 'agent', 'transfer', 'system')),
    end_reason          text CHECK (end_reason IN (
                            'completed', 'abandoned', 'timeout', 'empty', 'key',
                            'transferred', 'lost_in_gap', 'unknown')),
    abandoned           boolean NOT NULL DEFAULT false,
    position            integer,
    original_position   integer,
    transferred_to      text,
    recovered           boolean NOT NULL DEFAULT false,
    greeting_started_at timestamptz,
    inquiry_started_at  timestamptz,
    closing_started_at  timestamptz,
    closing_ended_at    timestamptz,
    greeting_s          double precision,
    inquiry_s           double precision,
    closing_s           double precision,
    wrapup_started_at   timestamptz,
    wrapup_ended_at     timestamptz,
    wrapup_s            double precision,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (pbx, queue, uniqueid)
);
CREATE INDEX calls_caller_joined ON calls (caller_id, joined_at DESC);
CREATE INDEX calls_joined ON calls (joined_at);
CREATE INDEX calls_agent_joined ON calls (agent_user_id, joined_at);

-- Every phase change of a call, as the agent made it.
CREATE TABLE call_phase_events (
    id        bigserial PRIMARY KEY,
    call_id   bigint NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    phase     text NOT NULL CHECK (phase IN ('greeting', 'inquiry', 'closing', 'done', 'wrapup')),
    at        timestamptz NOT NULL,
    user_id   bigint REFERENCES users (id)
);
CREATE INDEX call_phase_events_call ON call_phase_events (call_id);

CREATE TABLE cases (
    id                bigserial PRIMARY KEY,
    reference         text NOT NULL UNIQUE,
    call_id           bigint REFERENCES calls (id) ON DELETE SET NULL,
    caller_id         bigint REFERENCES callers (id),
    channel           text NOT NULL CHECK (channel IN (
                          'phone', 'online', 'letter', 'email', 'walk_in', 'live_chat')),
    case_type         text NOT NULL CHECK (case_type IN (
                          'inquiry', 'complaint', 'suggestion', 'compliment', 'incident_report',
                          'information_kb', 'information_unit')),
    topic             text NOT NULL,
    details           text NOT NULL DEFAULT '',
    status            text NOT NULL DEFAULT 'received',
    significant       boolean NOT NULL DEFAULT false,
    unit_id           bigint REFERENCES units (id),
    received_at       timestamptz NOT NULL,
    due_at            timestamptz,
    resolved_at       timestamptz,
    closed_at         timestamptz,
    decision          text,
    decision_reasons  text,
    escalation_level  integer NOT NULL DEFAULT 0,
    created_by        bigint REFERENCES users (id),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    anonymised_at     timestamptz
);
CREATE INDEX cases_caller ON cases (caller_id, received_at DESC);
CREATE INDEX cases_status_due ON cases (status, due_at);
CREATE INDEX cases_received ON cases (received_at);

-- The audit trail: who did what to a case, when and why.
CREATE TABLE case_events (
    id           bigserial PRIMARY KEY,
    case_id      bigint NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    at           timestamptz NOT NULL,
    actor_id     bigint REFERENCES users (id),
    action       text NOT NULL,
    from_status  text,
    to_status    text,
    note         text NOT NULL DEFAULT '',
    data         jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX case_events_case ON case_events (case_id, at);

CREATE TABLE surveys (
    id              uuid PRIMARY KEY,
    call_id         bigint REFERENCES calls (id) ON DELETE SET NULL,
    case_id         bigint REFERENCES cases (id) ON DELETE SET NULL,
    agent_user_id   bigint REFERENCES users (id),
    caller_number   text NOT NULL,
    pbx             text NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN (
                        'pending', 'dialing', 'in_progress', 'completed', 'incomplete',
                        'failed', 'expired', 'skipped')),
    reason          text,
    language        text NOT NULL DEFAULT 'th',
    not_before      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    rating          smallint CHECK (rating IN (1, 2, 3)),
    rated_at        timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX surveys_due ON surveys (status, not_before);
CREATE INDEX surveys_number ON surveys (caller_number, created_at);

CREATE TABLE survey_attempts (
    id             bigserial PRIMARY KEY,
    survey_id      uuid NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    started_at     timestamptz NOT NULL,
    ended_at       timestamptz,
    outcome        text CHECK (outcome IN (
                       'answered', 'no_answer', 'busy', 'congestion', 'failure', 'hangup')),
    reason_code    integer,
    hangup_cause   integer
);

CREATE TABLE survey_opt_outs (
    number      text PRIMARY KEY,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Settings an admin may change at run time (scripts, standards); defaults live in code.
CREATE TABLE settings (
    key         text PRIMARY KEY,
    value       jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  bigint REFERENCES users (id)
);
