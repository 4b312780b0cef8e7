DROP TABLE IF EXISTS tag_counts;
DROP TABLE IF EXISTS notifications;
