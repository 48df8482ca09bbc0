-- Typed questions (issue 12): emergency-sign events, tickets to a family doctor team or a
-- centre's duty desk with their messages and ratings, and satisfaction answers after visits.
-- Every table holding a resident's data references residents(id) ON DELETE CASCADE, so /mydata
-- exports it and /delete removes it. Doctor and centre ids are not foreign keys (a directory
-- re-import must not erase history), as elsewhere.

-- An emergency sign found in something a resident typed. The words themselves are not kept:
-- only which sign, so the team's Flags can show "chest pain, 10:02" and nothing more.
CREATE TABLE redflag_events (
    id          INTEGER PRIMARY KEY,
    resident_id INTEGER NOT NULL REFERENCES residents(id) ON DELETE CASCADE,
    sign        TEXT    NOT NULL,
    channel     TEXT    NOT NULL,
    doctor_id   TEXT,                          -- the signed doctor then; NULL: not signed
    created_at  INTEGER NOT NULL,
    seen_at     INTEGER
);
CREATE INDEX redflag_events_doctor ON redflag_events (doctor_id, created_at);
CREATE INDEX redflag_events_resident ON redflag_events (resident_id, created_at);

-- A question to a team. `route` is 'team' (the resident's signed team: centre + team name) or
-- 'duty' (every doctor of the centre: not signed, or escalated after the deployment's time).
CREATE TABLE tickets (
    id                INTEGER PRIMARY KEY,
    resident_id       INTEGER NOT NULL REFERENCES residents(id) ON DELETE CASCADE,
    centre_id         TEXT    NOT NULL,
    team              TEXT    NOT NULL DEFAULT '',
    route             TEXT    NOT NULL CHECK (route IN ('team', 'duty')),
    status            TEXT    NOT NULL DEFAULT 'open'
                      CHECK (status IN ('open', 'answered', 'closed')),
    created_at        INTEGER NOT NULL,
    waiting_since     INTEGER NOT NULL,          -- oldest resident message not yet answered
    first_response_at INTEGER,
    answered_at       INTEGER,
    closed_at         INTEGER,
    escalated_at      INTEGER
);
-- At most one ticket per resident is not closed: further messages join it.
CREATE UNIQUE INDEX tickets_one_open ON tickets (resident_id) WHERE status <> 'closed';
CREATE INDEX tickets_queue ON tickets (centre_id, status, waiting_since);

CREATE TABLE ticket_messages (
    id          INTEGER PRIMARY KEY,
    ticket_id   INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    resident_id INTEGER NOT NULL REFERENCES residents(id) ON DELETE CASCADE,
    author      TEXT    NOT NULL CHECK (author IN ('resident', 'doctor')),
    doctor_id   TEXT,
    text        TEXT    NOT NULL CHECK (length(text) BETWEEN 1 AND 2000),
    created_at  INTEGER NOT NULL
);
CREATE INDEX ticket_messages_ticket ON ticket_messages (ticket_id, id);

-- One rating per closed ticket (the primary key makes a second tap change nothing).
CREATE TABLE ticket_ratings (
    ticket_id   INTEGER PRIMARY KEY REFERENCES tickets(id) ON DELETE CASCADE,
    resident_id INTEGER NOT NULL REFERENCES residents(id) ON DELETE CASCADE,
    rating      INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    created_at  INTEGER NOT NULL
);

-- Satisfaction (满意度) after an attended visit: asked once per visit, answered once. The team
-- and centre are copied at answer time so reports survive a directory re-import.
CREATE TABLE satisfaction_answers (
    appointment_id INTEGER PRIMARY KEY REFERENCES appointments(id) ON DELETE CASCADE,
    resident_id    INTEGER NOT NULL REFERENCES residents(id) ON DELETE CASCADE,
    doctor_id      TEXT    NOT NULL,
    centre_id      TEXT    NOT NULL,
    team           TEXT    NOT NULL DEFAULT '',
    rating         INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment        TEXT    NOT NULL DEFAULT '' CHECK (length(comment) <= 500),
    created_at     INTEGER NOT NULL
);
CREATE INDEX satisfaction_centre ON satisfaction_answers (centre_id, team);
