-- What a survey attempt dialled, recorded before the Originate is sent: after a restart the
-- dialer asks the PBX whether that channel still exists before it may ever dial again, and
-- an attempt that never went out is given back without counting.
-- depends: 0200_survey_queue

ALTER TABLE survey_attempts ADD COLUMN channel_id text, ADD COLUMN dialled_at timestamptz;
