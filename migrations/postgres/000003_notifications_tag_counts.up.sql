-- Tables written by the background jobs (libs/data/jobs/conduitjobs).

-- One row per follower of an author when the author publishes an article. The unique key
-- makes the fan-out idempotent: a retried batch inserts nothing twice.
CREATE TABLE notifications (
    id         BIGSERIAL PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    article_id BIGINT NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    read_at    TIMESTAMPTZ
);
CREATE UNIQUE INDEX notifications_user_article_kind_key ON notifications (user_id, article_id, kind);
CREATE INDEX notifications_user_created_idx ON notifications (user_id, created_at DESC, id DESC);
CREATE INDEX notifications_article_idx ON notifications (article_id);

-- How many articles carry each tag, recomputed by a job whenever an article's tags change.
-- Recomputing (not incrementing) keeps the job idempotent.
CREATE TABLE tag_counts (
    tag        TEXT PRIMARY KEY,
    articles   INTEGER NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX tag_counts_articles_idx ON tag_counts (articles DESC, tag);
