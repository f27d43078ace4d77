-- The e-mail outbox: every mail hotline sends is a row first, written in the caller's own
-- transaction (a basket of documents, a notice to a citizen), then taken by one sender at a
-- time (FOR UPDATE SKIP LOCKED), sent over SMTP and marked, retried with backoff until it
-- is sent or given up. The rows are also the caller's history of mails (by case, by number).
-- depends: 0100_cases_lifecycle

CREATE TABLE mail_outbox (
    id              bigserial PRIMARY KEY,
    kind            text NOT NULL,
    to_address      text NOT NULL,
    subject         text NOT NULL,
    text_body       text NOT NULL,
    html_body       text,
    case_id         bigint REFERENCES cases (id) ON DELETE SET NULL,
    caller_number   text,
    status          text NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'given_up')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    message_id      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at)
    WHERE status IN ('queued', 'failed');
CREATE INDEX mail_outbox_case ON mail_outbox (case_id) WHERE case_id IS NOT NULL;
CREATE INDEX mail_outbox_caller ON mail_outbox (caller_number) WHERE caller_number IS NOT NULL;

CREATE TABLE mail_attachments (
    id           bigserial PRIMARY KEY,
    mail_id      bigint NOT NULL REFERENCES mail_outbox (id) ON DELETE CASCADE,
    position     integer NOT NULL,
    filename     text NOT NULL,
    content_type text NOT NULL,
    content      bytea NOT NULL,
    UNIQUE (mail_id, position)
);
