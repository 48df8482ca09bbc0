-- PostgreSQL mirror of ../0015_clinical.sql (same number, same resulting tables and columns).
-- Clinical content a family doctor would sign (issue 15): what a reading needs for the rules
-- in content/clinical to judge it, and what they decided, kept with the reading so a later
-- change of the rules never rewrites history. All columns are added to resident-owned tables
-- (ON DELETE CASCADE from residents), so /mydata exports them and /delete removes them.

-- Glucose: fasting or 2 hours after a meal. Readings stored before this migration were all
-- asked for as fasting glucose.
ALTER TABLE health_readings ADD COLUMN context TEXT
    CHECK (context IS NULL OR context IN ('fasting', 'after_meal'));
UPDATE health_readings SET context = 'fasting' WHERE kind = 'glucose';
-- Where it was measured: residents' own readings are home readings.
ALTER TABLE health_readings ADD COLUMN setting TEXT NOT NULL DEFAULT 'home'
    CHECK (setting IN ('home', 'clinic'));
-- A meter showing HI or LO instead of a number: `glucose` then holds the entry range's end
-- (35.0 / 1.0) and every display shows the word, never that number.
ALTER TABLE health_readings ADD COLUMN meter_display TEXT
    CHECK (meter_display IS NULL OR meter_display IN ('HI', 'LO'));
-- The rules' decision: action (call_120 / come_today / recheck / on_target), direction of the
-- deciding band (low / in_range / high) and the ids of the rules that matched.
ALTER TABLE health_readings ADD COLUMN action TEXT
    CHECK (action IS NULL OR action IN ('call_120', 'come_today', 'recheck', 'on_target'));
ALTER TABLE health_readings ADD COLUMN direction TEXT
    CHECK (direction IS NULL OR direction IN ('low', 'in_range', 'high'));
ALTER TABLE health_readings ADD COLUMN rules TEXT;

-- Pregnancy or breastfeeding (the specification's urgent-referral criterion), as the resident
-- recorded it, with the day it was recorded; NULL = neither.
ALTER TABLE health_profiles ADD COLUMN pregnancy TEXT
    CHECK (pregnancy IS NULL OR pregnancy IN ('pregnant', 'breastfeeding'));
ALTER TABLE health_profiles ADD COLUMN pregnancy_since TEXT;

-- A child's sex, for vaccines of one sex (HPV for girls); NULL = not recorded yet.
ALTER TABLE children ADD COLUMN sex TEXT CHECK (sex IS NULL OR sex IN ('female', 'male'));
