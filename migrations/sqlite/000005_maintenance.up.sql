-- Maintenance mode (`api down` / `api up`): at most one row, present while the API is down.
-- Every API instance reads it (cached for a second), so one command takes them all down.
-- Times are Unix seconds, the same on both dialects.
CREATE TABLE maintenance (
    id                  INTEGER PRIMARY KEY CHECK (id = 1),
    message             TEXT NOT NULL DEFAULT '',
    retry_after_seconds INTEGER NOT NULL DEFAULT 60,
    since_unix          BIGINT NOT NULL
);
