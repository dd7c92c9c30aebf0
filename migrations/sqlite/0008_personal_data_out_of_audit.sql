-- Audit rows name people by id only (issue 10, item 5). Rows written before
-- this version named the actor by login and copied names, emails, phones, logins typed at a
-- failed login and promo code text into their values: the actor becomes `user:ID` / `system`
-- and those values are dropped (the action, the entity, its id and the time remain).
UPDATE audit_log SET actor = 'user:' || user_id WHERE user_id IS NOT NULL;
UPDATE audit_log SET actor = 'system' WHERE user_id IS NULL;
UPDATE audit_log SET before_json = NULL, after_json = NULL
 WHERE action IN ('contact.create', 'waitlist.join', 'login.failed', 'user.create', 'user.update',
                  'user.update_password', 'promo.create', 'cart.promo');
