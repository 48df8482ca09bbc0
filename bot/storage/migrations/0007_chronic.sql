-- Chronic-disease management (hypertension, type-2 diabetes) following the National Basic Public
-- Health Service Specification (3rd edition): a resident's health profile, conditions, home
-- readings, follow-up events, and flags for their doctor. Every table references residents(id)
-- ON DELETE CASCADE, so /mydata exports it and /delete removes it.

-- Birth year lives here (not in residents) so that features reading it (adult vaccines at 60+,
-- the elderly annual check at 65+) ask one service: HealthService.birth_year().
CREATE TABLE health_profiles (
    resident_id INTEGER PRIMARY KEY REFERENCES residents(id) ON DELETE CASCADE,
    birth_year  INTEGER CHECK (birth_year BETWEEN 1900 AND 2100),
    updated_at  TEXT    NOT NULL
);

-- One row per condition the resident has; `set_by` says who recorded it, because a condition a
-- doctor set is not removed by the resident's own toggle without the doctor knowing.
CREATE TABLE health_conditions (
    resident_id INTEGER NOT NULL REFERENCES residents(id) ON DELETE CASCADE,
    condition   TEXT    NOT NULL CHECK (condition IN ('hypertension', 'diabetes2')),
    set_by      TEXT    NOT NULL CHECK (set_by IN ('resident', 'doctor')),
    doctor_id   TEXT,
    since       TEXT    NOT NULL,              -- ISO date
    PRIMARY KEY (resident_id, condition)
);

-- Home readings. Times are unix seconds (UTC). `controlled` and `danger` are classified when the
-- reading is logged, so thresholds changing later do not rewrite history.
CREATE TABLE health_readings (
    id          INTEGER PRIMARY KEY,
    resident_id INTEGER NOT NULL REFERENCES residents(id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL CHECK (kind IN ('bp', 'glucose')),
    systolic    INTEGER,
    diastolic   INTEGER,
    pulse       INTEGER,
    glucose     REAL,                          -- fasting, mmol/L
    taken_at    INTEGER NOT NULL,
    controlled  INTEGER NOT NULL,
    danger      INTEGER NOT NULL,
    CHECK ((kind = 'bp' AND systolic IS NOT NULL AND diastolic IS NOT NULL AND glucose IS NULL)
        OR (kind = 'glucose' AND glucose IS NOT NULL AND systolic IS NULL))
);
CREATE INDEX health_readings_resident ON health_readings (resident_id, taken_at);

-- Things that move the follow-up plan: a face-to-face follow-up done, a referral, a drug side
-- effect, an elderly annual health check. `on_date` is an ISO date in the deployment's zone.
CREATE TABLE health_events (
    id          INTEGER PRIMARY KEY,
    resident_id INTEGER NOT NULL REFERENCES residents(id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL
                CHECK (kind IN ('followup', 'referral', 'side_effect', 'annual_check')),
    on_date     TEXT    NOT NULL,
    recorded_by TEXT    NOT NULL CHECK (recorded_by IN ('resident', 'doctor')),
    created_at  INTEGER NOT NULL,
    UNIQUE (resident_id, kind, on_date)
);
CREATE INDEX health_events_resident ON health_events (resident_id, kind, on_date);

-- Flags for the resident's doctor: danger-sign readings. The doctor side reads them newest first
-- and marks them seen.
CREATE TABLE health_flags (
    id          INTEGER PRIMARY KEY,
    resident_id INTEGER NOT NULL REFERENCES residents(id) ON DELETE CASCADE,
    reading_id  INTEGER REFERENCES health_readings(id) ON DELETE CASCADE,
    reason      TEXT    NOT NULL CHECK (reason IN ('danger_reading')),
    created_at  INTEGER NOT NULL,
    seen_at     INTEGER
);
CREATE INDEX health_flags_resident ON health_flags (resident_id, created_at);
