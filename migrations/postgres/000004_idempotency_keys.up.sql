-- The stored outcome of a POST sent with an Idempotency-Key header (apps/api/internal/httpapi,
-- idempotency.go): a retry with the same key and the same request gets the same answer
-- instead of doing the write again. Keys are scoped per user (0: anonymous). status 0 marks
-- a request still running. Times are Unix seconds so both dialects compare them alike.
CREATE TABLE idempotency_keys (
    user_id      BIGINT NOT NULL,
    idem_key     TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INTEGER NOT NULL DEFAULT 0,
    content_type TEXT NOT NULL DEFAULT '',
    body         BYTEA,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    PRIMARY KEY (user_id, idem_key)
);
CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);
