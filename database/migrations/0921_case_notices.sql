-- Notices to citizens (PWA 1662 step 4, ISO 10002 "caller notified"): how the caller wants
-- to hear (asked at intake), the LINE accounts callers linked with the agency's Official
-- Account, and one notice row per case event that the settings say the caller is told of,
-- with its delivery status and retries. The cursor starts at today's last event, so the
-- history that existed before notices is never announced.
-- depends: 0920_mail_outbox

ALTER TABLE cases ADD COLUMN notify_by text CHECK (notify_by IN ('email', 'sms', 'line', 'none'));
ALTER TABLE callers ADD COLUMN line_user_id text;

CREATE TABLE case_line_links (
    case_id      bigint PRIMARY KEY REFERENCES cases (id) ON DELETE CASCADE,
    line_user_id text NOT NULL,
    linked_at    timestamptz NOT NULL
);

CREATE TABLE case_notices (
    id              bigserial PRIMARY KEY,
    case_id         bigint NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    event_id        bigint NOT NULL UNIQUE REFERENCES case_events (id) ON DELETE CASCADE,
    step            text NOT NULL,
    channel         text NOT NULL CHECK (channel IN ('email', 'sms', 'line')),
    lang            text NOT NULL CHECK (lang IN ('th', 'en')),
    status          text NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'given_up')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_error      text,
    retry_key       uuid NOT NULL DEFAULT gen_random_uuid(),
    provider_id     text,
    mail_id         bigint REFERENCES mail_outbox (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL,
    sent_at         timestamptz
);
CREATE INDEX case_notices_case ON case_notices (case_id);
CREATE INDEX case_notices_due ON case_notices (next_attempt_at)
    WHERE status IN ('queued', 'failed', 'sending');

-- Events are read past `last_event_id` less a little overlap (an event of a transaction that
-- committed late has a lower id than one already read), but never at or below
-- `first_event_id`, the last event before notices existed.
CREATE TABLE notice_cursor (
    only_row       boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    first_event_id bigint NOT NULL,
    last_event_id  bigint NOT NULL
);
INSERT INTO notice_cursor (first_event_id, last_event_id)
SELECT COALESCE(max(id), 0), COALESCE(max(id), 0) FROM case_events;
