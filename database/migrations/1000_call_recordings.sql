-- Call recordings (issue 15). One recording per answered queue call, linked to its call by
-- `call_key` (calls.call_key is unique): the recording starts at the answer, before the
-- write-behind call writer may have stored the call's row, so no foreign key here; retention
-- deletes a recording with its call. `file_name` is a bare name inside the folder shared
-- with Asterisk, derived from the call (never caller-supplied text).
-- depends: 0001_base 0100_cases_lifecycle

CREATE TABLE call_recordings (
    call_key     text PRIMARY KEY,
    pbx          text NOT NULL,
    file_name    text NOT NULL UNIQUE CHECK (file_name ~ '^[0-9a-f]{40}\.wav$'),
    requested_at timestamptz NOT NULL,
    started_at   timestamptz,
    ended_at     timestamptz,
    -- stopped: StopMixMonitor; call_ended: the hang-up ended it (no MixMonitorStop);
    -- refused: the PBX would not start it.
    end_reason   text CHECK (end_reason IN ('stopped', 'call_ended', 'refused'))
);

-- While the agent mutes the recording (a citizen reading an ID or card number).
CREATE TABLE call_recording_mutes (
    id         bigserial PRIMARY KEY,
    call_key   text NOT NULL REFERENCES call_recordings (call_key) ON DELETE CASCADE,
    muted_at   timestamptz NOT NULL,
    unmuted_at timestamptz,
    muted_by   bigint REFERENCES users (id) ON DELETE SET NULL,
    CHECK (unmuted_at IS NULL OR unmuted_at >= muted_at)
);
CREATE UNIQUE INDEX call_recording_mutes_open ON call_recording_mutes (call_key)
    WHERE unmuted_at IS NULL;

-- The recording notice the dialplan played before the queue (PDPA: the caller was told).
CREATE TABLE call_recording_notices (
    call_key  text PRIMARY KEY,
    pbx       text NOT NULL,
    language  text NOT NULL,
    played_at timestamptz NOT NULL
);

ALTER TABLE retention_runs ADD COLUMN recordings_deleted integer NOT NULL DEFAULT 0;
