-- Revocation (issue 10): API tokens expire and record their last use; ticket revocations are
-- listed by last change; the door permission `access.scan` for the box office and admins.
ALTER TABLE api_tokens ADD COLUMN expires_at TEXT;
ALTER TABLE api_tokens ADD COLUMN last_used_at TEXT;
-- Tokens made before expiry existed get the default life (90 days) from now, not a sudden end.
UPDATE api_tokens SET expires_at = to_char((now() AT TIME ZONE 'UTC') + interval '90 days', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') WHERE expires_at IS NULL;
CREATE INDEX api_tokens_user ON api_tokens (user_id);
-- The revocation list reads tickets changed since a cursor.
CREATE INDEX tickets_updated ON tickets (updated_at, id);
INSERT INTO role_permissions (role_id, permission)
    SELECT r.id, 'access.scan' FROM roles r
    WHERE r.code IN ('box_office', 'admin')
      AND NOT EXISTS (SELECT 1 FROM role_permissions rp WHERE rp.role_id = r.id AND rp.permission = 'access.scan');
