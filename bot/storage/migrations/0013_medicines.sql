-- My medicines (issue 13): a resident's medicines, each planned dose and its answer, and refill
-- requests to the family doctor team. Every table references residents(id) ON DELETE CASCADE,
-- so /mydata exports it and /delete removes it.

-- A medicine on the resident's list. `amount` and `unit` are what the resident entered, as
-- their doctor told them; the bot never suggests a dose. `times` is a comma-separated list of
-- local 'HH:MM' times. A stopped medicine keeps its row (its history) with active = 0.
CREATE TABLE med_entries (
    id          INTEGER PRIMARY KEY,
    resident_id INTEGER NOT NULL REFERENCES residents(id) ON DELETE CASCADE,
    catalog_id  TEXT,
    name        TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    name_en     TEXT    NOT NULL DEFAULT '',
    ingredient  TEXT    NOT NULL DEFAULT '',
    strength    TEXT    NOT NULL DEFAULT '',
    amount      TEXT    NOT NULL CHECK (length(amount) BETWEEN 1 AND 20),
    unit        TEXT    NOT NULL DEFAULT '',
    times       TEXT    NOT NULL,
    meals       TEXT    NOT NULL CHECK (meals IN ('before', 'after', 'any')),
    start_on    TEXT    NOT NULL,
    end_on      TEXT,
    active      INTEGER NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL,
    stopped_at  INTEGER
);
CREATE INDEX med_entries_resident ON med_entries (resident_id, active);
CREATE INDEX med_entries_active ON med_entries (active, resident_id);

-- The resident's answer for one dose (one medicine at one moment, unix seconds): taken or
-- skipped. Which doses were expected is a function of med_entries (times, dates, when added and
-- stopped), so planning a day writes no rows here; a dose without an answer MISSED_AFTER after
-- its time counts as missed.
CREATE TABLE med_doses (
    id          INTEGER PRIMARY KEY,
    resident_id INTEGER NOT NULL REFERENCES residents(id) ON DELETE CASCADE,
    entry_id    INTEGER NOT NULL REFERENCES med_entries(id) ON DELETE CASCADE,
    due_at      INTEGER NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('taken', 'skipped')),
    answered_at INTEGER NOT NULL,
    UNIQUE (entry_id, due_at)
);
CREATE INDEX med_doses_resident ON med_doses (resident_id, due_at);

-- A refill request (代配药 / 长处方) to the resident's signed family doctor team.
CREATE TABLE med_refills (
    id               INTEGER PRIMARY KEY,
    resident_id      INTEGER NOT NULL REFERENCES residents(id) ON DELETE CASCADE,
    doctor_id        TEXT    NOT NULL,            -- the signed doctor (their team decides)
    entries          TEXT    NOT NULL,            -- JSON [{"id": entry id, "name": name}]
    weeks            INTEGER NOT NULL CHECK (weeks BETWEEN 1 AND 12),
    pickup           TEXT    NOT NULL CHECK (pickup IN ('station', 'family')),
    station_id       TEXT    NOT NULL DEFAULT '',
    family_name      TEXT    NOT NULL DEFAULT '',
    status           TEXT    NOT NULL DEFAULT 'requested'
                     CHECK (status IN ('requested', 'approved', 'declined', 'come_in')),
    ready_on         TEXT,
    ready_station_id TEXT    NOT NULL DEFAULT '',
    reason           TEXT    NOT NULL DEFAULT '',
    decided_by       TEXT,
    created_at       INTEGER NOT NULL,
    decided_at       INTEGER
);
CREATE INDEX med_refills_resident ON med_refills (resident_id, created_at);
CREATE INDEX med_refills_open ON med_refills (status, doctor_id);
