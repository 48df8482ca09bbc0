-- Several districts in one deployment (issue 14). Stations, teams (doctors), communities and
-- residents belong to a district; everything that was here before belongs to the default
-- district (`default`: the sample district, or the one district of a single-district
-- deployment). Written in portable SQL (the same text runs on SQLite and PostgreSQL).
--
-- `stations.district` stays what it was: the administrative district's name as printed
-- (金山区), used for the "1+1+1" hospitals. `district_code` is the deployment's district.
-- No foreign key to districts(code): SQLite cannot add a referencing column with a non-NULL
-- default, and a directory import checks the code itself.
CREATE TABLE districts (
    code       TEXT PRIMARY KEY,
    name_zh    TEXT NOT NULL DEFAULT '',
    name_en    TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL DEFAULT ''
);
INSERT INTO districts (code, name_zh, name_en) VALUES ('default', '默认辖区', 'Default district');

ALTER TABLE stations ADD COLUMN district_code TEXT NOT NULL DEFAULT 'default';
ALTER TABLE doctors ADD COLUMN district_code TEXT NOT NULL DEFAULT 'default';
ALTER TABLE communities ADD COLUMN district_code TEXT NOT NULL DEFAULT 'default';
-- A resident's district: the process's district when they first write, then their home
-- community's district whenever they choose one (bot/services/directory.py set_home).
ALTER TABLE residents ADD COLUMN district_code TEXT NOT NULL DEFAULT 'default';
CREATE INDEX stations_district ON stations (district_code);
CREATE INDEX doctors_district ON doctors (district_code);
CREATE INDEX communities_district ON communities (district_code);
CREATE INDEX residents_district ON residents (district_code);

-- An operator's announcement to every resident of a district (`doorstep announce`): one
-- outbox row per resident, group_key 'an:<id>', dedupe key 'an:<id>:<resident>'. `ident` is
-- a hash of the district, the texts and the requested time, so that running the same command
-- again finds this row and plans nothing twice.
CREATE TABLE announcements (
    id            INTEGER PRIMARY KEY,
    ident         TEXT    NOT NULL UNIQUE,
    district_code TEXT    NOT NULL,
    text_zh       TEXT    NOT NULL,
    text_en       TEXT    NOT NULL DEFAULT '',
    urgent        INTEGER NOT NULL DEFAULT 0,
    scheduled_at  INTEGER NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX announcements_district ON announcements (district_code, created_at);
