-- doorstep: foreign-keys-off
-- Issue 16: nobody can speak as a resident, and /delete leaves nothing behind.
-- (The marker above makes the runner apply this with foreign keys off, the SQLite procedure
-- for rebuilding a table other tables point at; it checks foreign_key_check afterwards.)

-- Resident ids are never reused (AUTOINCREMENT): without it SQLite hands the highest deleted
-- id to the next new resident, who then inherited a deleted resident's audit entries.
CREATE TABLE residents_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
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
INSERT INTO residents_new (id, channel, channel_user_id, locale, elder_mode, consent_at,
                           unreachable_at, quiet_start, quiet_end, created_at)
    SELECT id, channel, channel_user_id, locale, elder_mode, consent_at, unreachable_at,
           quiet_start, quiet_end, created_at FROM residents;
DROP TABLE residents;
ALTER TABLE residents_new RENAME TO residents;

-- Dropped with the old table: children pass to another guardian when their owner leaves.
CREATE TRIGGER children_hand_over BEFORE DELETE ON residents
BEGIN
    UPDATE children SET owner_id = (
        SELECT g.resident_id FROM child_guardians g
        WHERE g.child_id = children.id AND g.resident_id <> OLD.id
        ORDER BY g.added_at, g.resident_id LIMIT 1)
    WHERE owner_id = OLD.id AND EXISTS (
        SELECT 1 FROM child_guardians g WHERE g.child_id = children.id AND g.resident_id <> OLD.id);
    UPDATE child_guardians SET role = 'owner'
    WHERE role = 'guardian'
      AND resident_id = (SELECT c.owner_id FROM children c WHERE c.id = child_guardians.child_id);
END;

-- The audit log outlives a deleted resident, pseudonymised: /delete replaces the resident's
-- id in `target_resident_id` and in `details` ("account=12") by `subject`, a random name
-- drawn at deletion and stored nowhere else. SET NULL is the safety net behind that.
CREATE TABLE audit_log_new (
    id                 INTEGER PRIMARY KEY,
    at                 INTEGER NOT NULL,
    doctor_id          TEXT,
    action             TEXT    NOT NULL,
    target_resident_id INTEGER REFERENCES residents(id) ON DELETE SET NULL,
    details            TEXT    NOT NULL DEFAULT '',
    subject            TEXT                          -- the pseudonym of a deleted resident
);
INSERT INTO audit_log_new (id, at, doctor_id, action, target_resident_id, details)
    SELECT id, at, doctor_id, action, target_resident_id, details FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE audit_log_new RENAME TO audit_log;
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_target ON audit_log (target_resident_id);

-- WeChat: each (timestamp, nonce) is accepted for one body only, for as long as its timestamp
-- is inside the accepted window; shared by every worker. A retry of the same request (same
-- body) passes on to the MsgId claim, which answers it with the first answer.
CREATE TABLE wechat_nonces (
    nonce_key  TEXT    PRIMARY KEY,           -- '<timestamp>:<nonce>'
    body_hash  TEXT    NOT NULL,              -- SHA-256 of the body first seen with it
    expires_at INTEGER NOT NULL               -- unix seconds
);
CREATE INDEX wechat_nonces_expiry ON wechat_nonces (expires_at);

-- WeChat inbound claims and the replies kept for retries belong to the resident and go with
-- them on /delete (NULL until the message was handled).
ALTER TABLE wechat_inbound ADD COLUMN resident_id INTEGER REFERENCES residents(id)
    ON DELETE CASCADE;
CREATE INDEX wechat_inbound_resident ON wechat_inbound (resident_id);

-- Failed code guesses (children's sharing codes, doctors' invite codes), counted per account,
-- per address (a keyed hash, where the channel has one) and overall. A deleted account's
-- rows keep counting towards the address and overall limits (SET NULL).
CREATE TABLE code_attempts (
    id          INTEGER PRIMARY KEY,
    kind        TEXT    NOT NULL CHECK (kind IN ('child', 'doctor', 'stepup')),
    resident_id INTEGER REFERENCES residents(id) ON DELETE SET NULL,
    address     TEXT,
    at          INTEGER NOT NULL
);
CREATE INDEX code_attempts_kind ON code_attempts (kind, at);
CREATE INDEX code_attempts_account ON code_attempts (kind, resident_id, at);
CREATE INDEX code_attempts_address ON code_attempts (kind, address, at);
INSERT INTO code_attempts (kind, resident_id, at)
    SELECT 'doctor', resident_id, at FROM doctor_code_attempts;
DROP TABLE doctor_code_attempts;

-- Web chat sessions. A visitor is an opaque id (the web resident's channel_user_id); tokens
-- are random, stored as SHA-256 only, rotated on use and expire after a sliding idle time.
-- Before consent a visitor has no resident row: their language and place in the conversation
-- are kept here (`draft`, JSON) and removed when the visitor row expires or logs out.
CREATE TABLE web_visitors (
    visitor    TEXT    PRIMARY KEY,
    draft      TEXT,
    created_at INTEGER NOT NULL,
    seen_at    INTEGER NOT NULL
);
CREATE INDEX web_visitors_seen ON web_visitors (seen_at);
CREATE TABLE web_tokens (
    token_hash  TEXT    PRIMARY KEY,
    visitor     TEXT    NOT NULL REFERENCES web_visitors(visitor) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL              -- sliding: moved forward on use
);
CREATE INDEX web_tokens_visitor ON web_tokens (visitor);
CREATE INDEX web_tokens_expiry ON web_tokens (expires_at);

-- A doctor's desk on the web: a step-up code sent to the doctor's linked Telegram or WeChat
-- account, then a grant for this web account that ends (and ends with log-out or /delete).
CREATE TABLE doctor_stepups (
    resident_id INTEGER PRIMARY KEY REFERENCES residents(id) ON DELETE CASCADE,
    doctor_id   TEXT    NOT NULL,
    code_hash   TEXT    NOT NULL,
    expires_at  INTEGER NOT NULL,
    granted_until INTEGER NOT NULL DEFAULT 0   -- >0: the desk is open until then
);
