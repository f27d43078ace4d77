-- The wrap-up code (disposition) the agent chose at the end of after-call work; NULL when
-- the wrap-up ran out or the panel never saw the call.
-- depends: 0600_admin_audit

ALTER TABLE calls ADD COLUMN wrapup_code text CHECK (wrapup_code ~ '^[a-z0-9_]{1,40}$');
