-- Booking: doctors' slots (generated from their clinic hours) and residents' appointments.
-- Times are unix seconds (UTC), like the outbox, so range scans compare integers.

-- Slots are operator data generated ahead (14 days) from doctors.clinic_hours. doctor_id is
-- not a foreign key: a directory re-import must not delete residents' booking history.
CREATE TABLE slots (
    id            INTEGER PRIMARY KEY,
    doctor_id     TEXT    NOT NULL,
    start_at      INTEGER NOT NULL,
    end_at        INTEGER NOT NULL CHECK (end_at > start_at),
    capacity      INTEGER NOT NULL DEFAULT 1 CHECK (capacity >= 0),
    closed        INTEGER NOT NULL DEFAULT 0,
    closed_reason TEXT    NOT NULL DEFAULT '',
    UNIQUE (doctor_id, start_at)
);

CREATE TABLE appointments (
    id           INTEGER PRIMARY KEY,
    resident_id  INTEGER NOT NULL REFERENCES residents(id) ON DELETE CASCADE,
    slot_id      INTEGER NOT NULL REFERENCES slots(id),
    doctor_id    TEXT    NOT NULL,
    start_at     INTEGER NOT NULL,                -- copied from the slot: "upcoming" scans
    end_at       INTEGER NOT NULL,
    reason       TEXT    NOT NULL
                 CHECK (reason IN ('chronic', 'general', 'vaccination', 'annual', 'other')),
    status       TEXT    NOT NULL DEFAULT 'booked'
                 CHECK (status IN ('booked', 'cancelled', 'moved', 'attended', 'no_show')),
    note         TEXT    NOT NULL DEFAULT '',     -- why the clinic cancelled it, if it did
    moved_to     INTEGER REFERENCES appointments(id) ON DELETE SET NULL,
    confirmed_at INTEGER,                         -- the resident tapped "I'll come"
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
-- One resident can never hold two active bookings in the same slot.
CREATE UNIQUE INDEX appointments_one_per_slot
    ON appointments (resident_id, slot_id) WHERE status = 'booked';
-- Capacity counts and "upcoming visits" both read only active rows.
CREATE INDEX appointments_slot_active ON appointments (slot_id) WHERE status = 'booked';
CREATE INDEX appointments_resident ON appointments (resident_id, status, start_at);
