-- Cases beyond the base schema: the intake form's caller profile kept on the case (for the
-- register and anonymous statistics), references per BE year, the agency's closed days,
-- escalations, the PDPA view log, retention runs and the anonymous counts they keep.
-- depends: 0001_base

ALTER TABLE cases
    ADD COLUMN contact_name    text,
    ADD COLUMN contact_phone   text,
    ADD COLUMN contact_email   text,
    ADD COLUMN occupation      text,
    ADD COLUMN gender          text,
    ADD COLUMN age_band        text,
    ADD COLUMN province        text,
    ADD COLUMN findings        text,
    ADD COLUMN sla_started_at  timestamptz,
    ADD COLUMN forwarded_at    timestamptz,
    ADD COLUMN notified_at     timestamptz,
    ADD COLUMN escalated_at    timestamptz,
    ADD CONSTRAINT cases_status_known CHECK (status IN (
        'received', 'acknowledged', 'assessed', 'forwarded', 'in_progress', 'resolved',
        'notified', 'closed'));

CREATE INDEX cases_unit_status ON cases (unit_id, status);
CREATE INDEX cases_type_resolved ON cases (case_type, resolved_at);

-- The last sequence number used per Buddhist Era year: HL-2569-000123.
CREATE TABLE case_reference_counters (
    be_year     integer PRIMARY KEY,
    last_value  integer NOT NULL
);

-- Days the agency is closed besides weekends and Thai public holidays.
CREATE TABLE closed_days (
    day         date PRIMARY KEY,
    reason      text NOT NULL DEFAULT '',
    created_by  bigint REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per level a case reached; level 1 is the unit head.
CREATE TABLE case_escalations (
    id            bigserial PRIMARY KEY,
    case_id       bigint NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    level         integer NOT NULL CHECK (level > 0),
    level_name    text NOT NULL,
    reason        text NOT NULL CHECK (reason IN ('overdue', 'significant')),
    escalated_at  timestamptz NOT NULL,
    UNIQUE (case_id, level)
);
CREATE INDEX case_escalations_at ON case_escalations (escalated_at);

-- Every time someone saw a complainant's personal data (PDPA): who, when, which case.
CREATE TABLE pdpa_view_log (
    id              bigserial PRIMARY KEY,
    case_id         bigint REFERENCES cases (id) ON DELETE SET NULL,
    case_reference  text NOT NULL,
    user_id         bigint REFERENCES users (id),
    viewed_at       timestamptz NOT NULL,
    purpose         text NOT NULL DEFAULT 'case_detail'
);
CREATE INDEX pdpa_view_log_case ON pdpa_view_log (case_id, viewed_at);
CREATE INDEX pdpa_view_log_user ON pdpa_view_log (user_id, viewed_at);

CREATE TABLE retention_runs (
    id               bigserial PRIMARY KEY,
    ran_at           timestamptz NOT NULL,
    cutoff           timestamptz NOT NULL,
    cases_deleted    integer NOT NULL,
    calls_deleted    integer NOT NULL,
    callers_deleted  integer NOT NULL,
    views_deleted    integer NOT NULL
);

-- Anonymous counts kept after retention deletes the records they were made from.
CREATE TABLE case_statistics (
    month      date NOT NULL,
    case_type  text NOT NULL,
    channel    text NOT NULL,
    status     text NOT NULL,
    province   text NOT NULL DEFAULT '',
    n          integer NOT NULL,
    PRIMARY KEY (month, case_type, channel, status, province)
);

CREATE TABLE call_statistics (
    month      date NOT NULL,
    queue      text NOT NULL,
    offered    integer NOT NULL,
    answered   integer NOT NULL,
    abandoned  integer NOT NULL,
    PRIMARY KEY (month, queue)
);
