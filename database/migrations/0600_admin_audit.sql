-- The admin pages' trail: who changed which user account, when, and which fields (old and
-- new values; never a password, only the fact that it was reset).
-- depends: 0001_base

CREATE TABLE admin_audit (
    id              bigserial PRIMARY KEY,
    at              timestamptz NOT NULL,
    actor_id        bigint REFERENCES users (id) ON DELETE SET NULL,
    action          text NOT NULL CHECK (action IN (
                        'create', 'update', 'password_reset', 'deactivate', 'reactivate')),
    target_user_id  bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    changes         jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX admin_audit_target ON admin_audit (target_user_id, at DESC);
