-- PostgreSQL mirror of ../0010_outbox_groups.sql (same number, same resulting tables and columns).
-- Groups of outbox rows (a broadcast) that were cancelled. Rows of such a group that the
-- dispatcher had already claimed are dropped just before sending, not only pending ones.
CREATE TABLE outbox_cancelled_groups (
    group_key    TEXT    PRIMARY KEY,
    cancelled_at BIGINT NOT NULL
);
