-- Vaccines: children with their guardians and the doses they were given, invite codes that share
-- a child with a second guardian, and adults' seasonal flu / one-time PPV23 records.
--
-- Deleting residents: a child belongs to its owner (children.owner_id ... ON DELETE CASCADE, so
-- /mydata finds the child through the owner and /delete removes it). A child shared with another
-- guardian must survive the owner's /delete: the trigger below hands the child over to the next
-- guardian *before* the owner's row goes, so the cascade only removes children nobody else
-- looks after. Guardians leaving by the bot's own buttons are handled the same way in code.
CREATE TABLE children (
    id          INTEGER PRIMARY KEY,
    owner_id    INTEGER NOT NULL REFERENCES residents(id) ON DELETE CASCADE,
    nickname    TEXT    NOT NULL DEFAULT '',
    born        TEXT    NOT NULL,              -- ISO date
    created_at  INTEGER NOT NULL               -- unix seconds
);
CREATE INDEX children_owner ON children (owner_id);

-- Everyone who looks after a child, the owner included (role 'owner').
CREATE TABLE child_guardians (
    child_id    INTEGER NOT NULL REFERENCES children(id) ON DELETE CASCADE,
    resident_id INTEGER NOT NULL REFERENCES residents(id) ON DELETE CASCADE,
    role        TEXT    NOT NULL CHECK (role IN ('owner', 'guardian')),
    added_at    INTEGER NOT NULL,
    PRIMARY KEY (child_id, resident_id)
) WITHOUT ROWID;
CREATE INDEX child_guardians_resident ON child_guardians (resident_id);

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

-- One row per dose given: a dose code of the schedule (HepB-1, JE-L-2, ...) and its date.
CREATE TABLE child_doses (
    child_id    INTEGER NOT NULL REFERENCES children(id) ON DELETE CASCADE,
    dose        TEXT    NOT NULL,
    given_on    TEXT    NOT NULL,              -- ISO date
    recorded_at INTEGER NOT NULL,
    PRIMARY KEY (child_id, dose)
) WITHOUT ROWID;

-- Invite codes are stored hashed (SHA-256 of the normalised code), single-use and expiring.
CREATE TABLE child_invites (
    code_hash   TEXT    PRIMARY KEY,
    child_id    INTEGER NOT NULL REFERENCES children(id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);
CREATE INDEX child_invites_child ON child_invites (child_id);

-- Adults: the seasonal flu vaccine (season = the year of the autumn it starts) and the one-time
-- 23-valent pneumococcal vaccine (season 0), each done or declined.
CREATE TABLE adult_vaccines (
    resident_id INTEGER NOT NULL REFERENCES residents(id) ON DELETE CASCADE,
    vaccine     TEXT    NOT NULL CHECK (vaccine IN ('flu', 'ppv23')),
    season      INTEGER NOT NULL,
    outcome     TEXT    NOT NULL CHECK (outcome IN ('done', 'declined')),
    recorded_on TEXT    NOT NULL,              -- ISO date
    PRIMARY KEY (resident_id, vaccine, season)
) WITHOUT ROWID;
