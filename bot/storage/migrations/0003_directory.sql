-- The district directory (stations, family doctor teams, communities) and residents' links to
-- it: where they live, signing requests, signings.
--
-- Directory rows are operator data, replaced by `doorstep import`; ids are the operator's own.
-- `sample` marks rows that came from a file marked as sample data (content/district/).
CREATE TABLE stations (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL
                CHECK (kind IN ('centre', 'station', 'village_clinic', 'smart_station', 'hospital')),
    name_zh     TEXT NOT NULL,
    name_en     TEXT NOT NULL DEFAULT '',
    district    TEXT NOT NULL DEFAULT '',
    town        TEXT NOT NULL DEFAULT '',
    address_zh  TEXT NOT NULL DEFAULT '',
    address_en  TEXT NOT NULL DEFAULT '',
    lat         REAL NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon         REAL NOT NULL CHECK (lon BETWEEN -180 AND 180),
    phone       TEXT NOT NULL DEFAULT '',
    hours       TEXT NOT NULL DEFAULT '',
    services    TEXT NOT NULL DEFAULT '',
    sample      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX stations_town ON stations (town);

-- centre_id is checked on import rather than by a foreign key, so that replacing the stations
-- never fails half-way; the service drops doctors whose centre is gone.
CREATE TABLE doctors (
    id           TEXT PRIMARY KEY,
    name_zh      TEXT NOT NULL,
    name_en      TEXT NOT NULL DEFAULT '',
    team         TEXT NOT NULL DEFAULT '',
    centre_id    TEXT NOT NULL,
    phone        TEXT NOT NULL DEFAULT '',
    clinic_hours TEXT NOT NULL DEFAULT '',
    communities  TEXT NOT NULL DEFAULT '',
    languages    TEXT NOT NULL DEFAULT '',
    sample       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX doctors_centre ON doctors (centre_id);

-- Which team serves which community: derived from doctors.communities on every import.
-- The town is the doctor's centre's town (two towns may each have a 新村).
CREATE TABLE doctor_communities (
    doctor_id TEXT NOT NULL REFERENCES doctors(id) ON DELETE CASCADE,
    town      TEXT NOT NULL,
    community TEXT NOT NULL,
    PRIMARY KEY (town, community, doctor_id)
);
CREATE INDEX doctor_communities_doctor ON doctor_communities (doctor_id);

-- Optional: where each community lies (for "share my location" → nearest community) and its
-- English name. Without a row here a community is still pickable by buttons.
CREATE TABLE communities (
    id       TEXT PRIMARY KEY,
    town     TEXT NOT NULL,
    town_en  TEXT NOT NULL DEFAULT '',
    name_zh  TEXT NOT NULL,
    name_en  TEXT NOT NULL DEFAULT '',
    lat      REAL NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon      REAL NOT NULL CHECK (lon BETWEEN -180 AND 180),
    sample   INTEGER NOT NULL DEFAULT 0,
    UNIQUE (town, name_zh)
);

-- Bumped by every import, so a running bot notices a CLI import and reloads its index.
CREATE TABLE directory_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO directory_meta (key, value) VALUES ('version', '0');

-- Where a resident lives (town + community names as in the directory).
CREATE TABLE resident_homes (
    resident_id INTEGER PRIMARY KEY REFERENCES residents(id) ON DELETE CASCADE,
    town        TEXT NOT NULL,
    community   TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

-- A resident asks a team's doctor to sign them. Doctor ids are not foreign keys: a directory
-- re-import must not delete a resident's history.
CREATE TABLE signing_requests (
    id          INTEGER PRIMARY KEY,
    resident_id INTEGER NOT NULL REFERENCES residents(id) ON DELETE CASCADE,
    doctor_id   TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    phone       TEXT    NOT NULL,
    status      TEXT    NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'approved', 'declined')),
    reason      TEXT    NOT NULL DEFAULT '',
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    decided_at  TEXT
);
-- At most one open request per resident.
CREATE UNIQUE INDEX signing_requests_one_pending
    ON signing_requests (resident_id) WHERE status = 'pending';
CREATE INDEX signing_requests_doctor ON signing_requests (doctor_id, status);

-- The signing itself (resident ↔ doctor), written when a doctor approves a request.
CREATE TABLE signings (
    resident_id INTEGER PRIMARY KEY REFERENCES residents(id) ON DELETE CASCADE,
    doctor_id   TEXT    NOT NULL,
    request_id  INTEGER REFERENCES signing_requests(id) ON DELETE SET NULL,
    signed_at   TEXT    NOT NULL
);
CREATE INDEX signings_doctor ON signings (doctor_id);
