-- PostgreSQL mirror of ../0005_tips.sql (same number, same resulting tables and columns).
-- Health tips: who subscribed and how, which tips each resident has had, and their feedback.
-- All three reference residents(id) ON DELETE CASCADE, so /delete and /mydata cover them.
CREATE TABLE tip_subscriptions (
    resident_id BIGINT PRIMARY KEY REFERENCES residents(id) ON DELETE CASCADE,
    active      BIGINT NOT NULL DEFAULT 1,
    topics      TEXT    NOT NULL,                 -- comma-separated topic keys, e.g. 'hygiene,nutrition'
    slot        TEXT    NOT NULL DEFAULT 'morning'
                CHECK (slot IN ('morning', 'noon', 'evening')),
    frequency   TEXT    NOT NULL DEFAULT 'daily'
                CHECK (frequency IN ('daily', 'weekly')),
    weekday     BIGINT NOT NULL DEFAULT 0 CHECK (weekday BETWEEN 0 AND 6),  -- Monday = 0
    updated_at  BIGINT NOT NULL
);
-- The planner streams active subscribers in resident_id order (keyset pagination).
CREATE INDEX tip_subscriptions_active ON tip_subscriptions (resident_id) WHERE active = 1;

-- How often each tip was planned or shown to a resident: the next tip is one of the least
-- shown, so no tip repeats until every tip of the resident's topics has been sent.
CREATE TABLE tip_history (
    resident_id BIGINT NOT NULL REFERENCES residents(id) ON DELETE CASCADE,
    tip_id      TEXT    NOT NULL,
    times       BIGINT NOT NULL DEFAULT 1,
    last_at     BIGINT NOT NULL,                 -- unix seconds
    PRIMARY KEY (resident_id, tip_id)
);

-- One verdict per resident and tip (the latest wins).
CREATE TABLE tip_feedback (
    resident_id BIGINT NOT NULL REFERENCES residents(id) ON DELETE CASCADE,
    tip_id      TEXT    NOT NULL,
    verdict     TEXT    NOT NULL CHECK (verdict IN ('helpful', 'fewer')),
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (resident_id, tip_id)
);
