-- Channels beyond Telegram: WeChat Official Account and the web chat.

-- The numbered options last offered to a resident on a text channel (WeChat, web chat), so
-- "3" maps to the third button whichever worker gets the next message, even after a restart.
CREATE TABLE channel_options (
    resident_id INTEGER PRIMARY KEY REFERENCES residents(id) ON DELETE CASCADE,
    options     TEXT    NOT NULL,              -- JSON: {"options": [{label, data | text}], ...}
    updated_at  INTEGER NOT NULL
);

-- WeChat's customer-service window: messages may be pushed only within 48 h of the resident's
-- last message, and at most `cs_budget` of them per inbound message (5; 3 after a menu click).
CREATE TABLE wechat_window (
    resident_id     INTEGER PRIMARY KEY REFERENCES residents(id) ON DELETE CASCADE,
    last_inbound_at INTEGER NOT NULL,          -- unix seconds
    cs_budget       INTEGER NOT NULL
);

-- WeChat retries a request it got no answer to (3 times): each message is handled once.
-- Keyed by MsgId, or sender + CreateTime for events; kept a short while, then cleaned up.
-- `reply` is the passive reply XML given to the first request (NULL: 'success'), so a retry
-- gets the same answer.
CREATE TABLE wechat_inbound (
    dedupe_key TEXT    PRIMARY KEY,
    status     TEXT    NOT NULL CHECK (status IN ('running', 'done')),
    reply      TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX wechat_inbound_created ON wechat_inbound (created_at);

-- The WeChat access token, shared by every worker. `refreshing_until` is a lease: the worker
-- that sets it fetches a new token, the others wait for it, so a token is refreshed once.
CREATE TABLE wechat_token (
    app_id           TEXT    PRIMARY KEY,
    token            TEXT,
    expires_at       INTEGER NOT NULL DEFAULT 0,
    refreshing_until INTEGER NOT NULL DEFAULT 0
);

-- Messages for web chat visitors (tips, reminders) waiting for the visitor's page to connect.
CREATE TABLE web_pending (
    id          INTEGER PRIMARY KEY,
    resident_id INTEGER NOT NULL REFERENCES residents(id) ON DELETE CASCADE,
    payload     TEXT    NOT NULL,              -- JSON: the rendered messages
    created_at  INTEGER NOT NULL
);
CREATE INDEX web_pending_resident ON web_pending (resident_id, id);

-- Secrets generated on first use when not configured (e.g. the web chat's cookie key).
CREATE TABLE channel_secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
