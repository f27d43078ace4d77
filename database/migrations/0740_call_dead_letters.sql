-- Call records the database refused (a value out of range, text it cannot hold): set aside
-- with the reason instead of blocking every later save, so an operator can see and replay
-- them. `record` is the record as JSON text (escapes keep even a NUL readable).
-- depends: 0001_base

CREATE TABLE call_dead_letters (
    id          bigserial PRIMARY KEY,
    call_key    text NOT NULL,
    record      text NOT NULL,
    reason      text NOT NULL,
    set_aside_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX call_dead_letters_call_key ON call_dead_letters (call_key);
