-- Residents (anyone who talks to the bot) and their conversation state.
-- Every table that holds a resident's data references residents(id) ON DELETE CASCADE,
-- so /delete is one DELETE and /mydata can find everything by following foreign keys.
CREATE TABLE residents (
    id              INTEGER PRIMARY KEY,
    channel         TEXT    NOT NULL,
    channel_user_id TEXT    NOT NULL,
    locale          TEXT,
    elder_mode      INTEGER NOT NULL DEFAULT 0,
    consent_at      TEXT,
    unreachable_at  TEXT,
    quiet_start     TEXT,
    quiet_end       TEXT,
    created_at      TEXT    NOT NULL,
    UNIQUE (channel, channel_user_id)
);

CREATE TABLE conversations (
    resident_id INTEGER PRIMARY KEY REFERENCES residents(id) ON DELETE CASCADE,
    state       TEXT    NOT NULL,
    data        TEXT    NOT NULL DEFAULT '{}',
    updated_at  TEXT    NOT NULL
);
