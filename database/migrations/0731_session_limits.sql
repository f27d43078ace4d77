-- Sessions end after a while without use and when a user has too many (issue 12): when each
-- was last used, and the order they were opened in (timestamps can tie), so the oldest can
-- be ended. An admin signing a user out everywhere is audited like the other account changes.
-- depends: 0001_base 0600_admin_audit

ALTER TABLE web_sessions
    ADD COLUMN last_seen_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN opened       bigserial;

ALTER TABLE admin_audit DROP CONSTRAINT admin_audit_action_check;
ALTER TABLE admin_audit ADD CONSTRAINT admin_audit_action_check CHECK (action IN (
    'create', 'update', 'password_reset', 'deactivate', 'reactivate', 'sign_out'));
