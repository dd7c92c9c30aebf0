-- Writes that move money accept an Idempotency-Key: the key is claimed in the same
-- transaction as the money movement, with the answer, so the same key sent twice (a double
-- click, a retry after a lost answer) moves the money once and returns the first answer.
CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    response TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
