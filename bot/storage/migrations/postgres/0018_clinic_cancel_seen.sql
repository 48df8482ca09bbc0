-- PostgreSQL mirror of ../0018_clinic_cancel_seen.sql (same number, same resulting tables and columns).
-- When the resident acknowledged that the clinic cancelled this visit (closed day): until then
-- (or until the visit's day has passed) "My appointments" keeps showing the cancellation.
ALTER TABLE appointments ADD COLUMN clinic_cancel_seen_at BIGINT;
