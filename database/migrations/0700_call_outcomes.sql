-- Call outcomes as they happened: a queue exit names how (a full queue, a Redirect away,
-- the digit of an exit by key), a transfer names its kind and where the caller went, a
-- caller sent back into a queue is a new queue call linked to the one it came from, and
-- the panel's hang-up button tells an agent's or a supervisor's hang-up from the caller's;
-- a hold in progress is stored, so a restart does not count it as talk.
-- depends: 0001_base

ALTER TABLE calls
    ADD COLUMN came_from text,
    ADD COLUMN transfer_kind text CHECK (transfer_kind IN ('blind', 'attended')),
    ADD COLUMN transfer_destination text
        CHECK (transfer_destination IN ('agent', 'queue', 'outside', 'unknown')),
    ADD COLUMN transfer_party text,
    ADD COLUMN exit_key text,
    ADD COLUMN held_since timestamptz;

ALTER TABLE calls DROP CONSTRAINT calls_end_reason_check;
ALTER TABLE calls ADD CONSTRAINT calls_end_reason_check CHECK (end_reason IN (
    'completed', 'abandoned', 'timeout', 'full', 'empty', 'key', 'redirected', 'transferred',
    'lost_in_gap', 'unknown'));

ALTER TABLE calls DROP CONSTRAINT calls_hung_up_by_check;
ALTER TABLE calls ADD CONSTRAINT calls_hung_up_by_check CHECK (hung_up_by IN (
    'caller', 'agent', 'supervisor', 'transfer', 'system'));

-- The queue calls that continue one (a caller's path through transfers).
CREATE INDEX calls_came_from ON calls (came_from) WHERE came_from IS NOT NULL;

-- One caller channel can make several queue calls (sent back into the queue by a
-- transfer): call_key alone identifies a call.
ALTER TABLE calls DROP CONSTRAINT calls_pbx_queue_uniqueid_key;
CREATE INDEX calls_pbx_queue_uniqueid ON calls (pbx, queue, uniqueid);
