-- How far hotline has read each PBX's queue_log (asterisk.queue_log.id): after a gap the
-- rows beyond it are read once, the calls they finish are stored, and it moves on.
-- depends: 0750_asterisk_queue_log

CREATE TABLE queue_log_cursor (
    pbx     text PRIMARY KEY,
    last_id bigint NOT NULL CHECK (last_id >= 0),
    read_at timestamptz NOT NULL DEFAULT now()
);
