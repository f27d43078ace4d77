-- A click-to-call's end as the PBX reported it (telephony's OutboundCallEnded): when the
-- citizen's number was dialled, when the citizen answered, and the hang-up.
-- depends: 0720_call_control

ALTER TABLE outbound_calls
    ADD COLUMN dialled_at timestamptz,
    ADD COLUMN citizen_answered_at timestamptz,
    ADD COLUMN ended_at timestamptz,
    ADD COLUMN talk_s double precision CHECK (talk_s >= 0);
