-- The raw `events` table of the warehouse needs its own permission, `warehouse.events`
-- (issue 10): administrators keep reading it; other roles holding `warehouse.query` no longer do.
INSERT INTO role_permissions (role_id, permission)
SELECT id, 'warehouse.events' FROM roles WHERE code = 'admin'
ON CONFLICT DO NOTHING;
