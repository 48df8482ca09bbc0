-- The outbox: everything sent later (tips, reminders, broadcasts) is a row here first.
-- Times are unix seconds (UTC) so the due index stays small and compares as integers.
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY,
    resident_id INTEGER NOT NULL REFERENCES residents(id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL,
    payload     TEXT    NOT NULL,              -- JSON: {"key": content key, "params": {...}}
    due_at      INTEGER NOT NULL,
    expires_at  INTEGER,                       -- past this, the row is 'expired', not sent
    urgent      INTEGER NOT NULL DEFAULT 0,    -- urgent rows ignore quiet hours
    status      TEXT    NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'expired',
                                  'skipped', 'cancelled')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    dedupe_key  TEXT    NOT NULL,
    group_key   TEXT,                          -- e.g. 'broadcast:42': progress and cancel
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX outbox_dedupe ON outbox (dedupe_key);
CREATE INDEX outbox_due ON outbox (status, due_at);
CREATE INDEX outbox_group ON outbox (group_key, status) WHERE group_key IS NOT NULL;
CREATE INDEX outbox_resident ON outbox (resident_id, status);
