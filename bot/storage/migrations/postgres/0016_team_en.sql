-- PostgreSQL mirror of ../0016_team_en.sql (same number, same resulting tables and columns).
-- The English name of a family doctor team (doctors.csv's optional `team_en` column), so that
-- English screens name the team in English; empty means "show the Chinese name".
ALTER TABLE doctors ADD COLUMN team_en TEXT NOT NULL DEFAULT '';
