-- The doctor's side: doctors' chat accounts, invite codes, broadcasts, and the audit log.
--
-- Doctor ids are not foreign keys (a directory re-import must not erase who did what); the
-- service checks a linked doctor is still in the directory on every action.

-- A doctor's chat account. Their account is also a row in `residents` (everyone who writes to
-- the bot is); deleting that row (/delete) unlinks the doctor.
CREATE TABLE doctor_links (
    doctor_id       TEXT    PRIMARY KEY,
    resident_id     INTEGER NOT NULL UNIQUE REFERENCES residents(id) ON DELETE CASCADE,
    channel         TEXT    NOT NULL,
    channel_user_id TEXT    NOT NULL,
    linked_at       INTEGER NOT NULL,
    UNIQUE (channel, channel_user_id)
);

-- Single-use invite codes. Only a hash is stored: the code itself is shown once, by
-- `doorstep doctors invite`, and a copy of the database cannot be used to link an account.
CREATE TABLE doctor_invites (
    id          INTEGER PRIMARY KEY,
    doctor_id   TEXT    NOT NULL,
    code_hash   TEXT    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    used_by     INTEGER                        -- the account linked (a residents id)
);
CREATE INDEX doctor_invites_doctor ON doctor_invites (doctor_id);

-- Failed `/doctor CODE` attempts, for the limit on guessing (a few per hour per account).
CREATE TABLE doctor_code_attempts (
    resident_id INTEGER NOT NULL REFERENCES residents(id) ON DELETE CASCADE,
    at          INTEGER NOT NULL
);
CREATE INDEX doctor_code_attempts_resident ON doctor_code_attempts (resident_id, at);

-- A broadcast: one outbox row per recipient (group_key 'bc:<id>', dedupe 'bc:<id>:<resident>').
-- `text` is the doctor's own words, or empty when `template` names a preset from
-- content/broadcasts/ (rendered in each recipient's language). Counts are written when the
-- broadcast finishes, because finished outbox rows are pruned after a while.
CREATE TABLE broadcasts (
    id              INTEGER PRIMARY KEY,
    doctor_id       TEXT    NOT NULL,
    audience        TEXT    NOT NULL
                    CHECK (audience IN ('all', 'hypertension', 'diabetes2', 'elderly',
                                        'vaccine', 'community')),
    audience_arg    TEXT    NOT NULL DEFAULT '',   -- the community ('town|name') if any
    text            TEXT    NOT NULL DEFAULT '' CHECK (length(text) <= 1000),
    template        TEXT    NOT NULL DEFAULT '',
    urgent          INTEGER NOT NULL DEFAULT 0,
    scheduled_at    INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'scheduled'
                    CHECK (status IN ('scheduled', 'sending', 'done', 'cancelled')),
    total           INTEGER NOT NULL DEFAULT 0,
    sent            INTEGER NOT NULL DEFAULT 0,
    unreachable     INTEGER NOT NULL DEFAULT 0,
    not_sent        INTEGER NOT NULL DEFAULT 0,
    finished_at     INTEGER,
    -- The doctor's progress message (edited as the broadcast goes out).
    progress_channel TEXT   NOT NULL DEFAULT '',
    progress_user    TEXT   NOT NULL DEFAULT '',
    progress_ref     TEXT,
    CHECK ((text = '') <> (template = ''))
);
CREATE INDEX broadcasts_doctor ON broadcasts (doctor_id, created_at);
CREATE INDEX broadcasts_unfinished ON broadcasts (id) WHERE finished_at IS NULL;

-- Every doctor action, and every refused attempt at one. `details` holds ids and counts, never
-- names, phone numbers or message text. Entries about a resident are theirs: /mydata lists who
-- looked at their record, and /delete removes those entries with everything else.
CREATE TABLE audit_log (
    id                 INTEGER PRIMARY KEY,
    at                 INTEGER NOT NULL,
    doctor_id          TEXT,                       -- NULL: someone who is no linked doctor
    action             TEXT    NOT NULL,
    target_resident_id INTEGER REFERENCES residents(id) ON DELETE CASCADE,
    details            TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);
