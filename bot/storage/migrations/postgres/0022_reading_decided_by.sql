-- Which measure decided a reading's mark (issue 15 audit, finding 4): a blood pressure reading
-- carries its pulse, and when the pulse is what was flagged, every view leads with the pulse
-- (bot/services/reading_view.py::flagged_value) instead of showing "⚠️ 120/80" as if the blood
-- pressure were off target. The value is the engine's Decision.measure at the time of storing.
ALTER TABLE health_readings ADD COLUMN decided_by TEXT
    CHECK (decided_by IS NULL OR decided_by IN ('blood_pressure', 'pulse', 'glucose'));
-- Readings stored since migration 0015 kept the ids of the rules that decided, most urgent
-- first: a pulse rule first means the pulse decided (rule ids of content/clinical/pulse.yaml
-- all start with "pulse-"). Older readings keep NULL and show as before.
UPDATE health_readings SET decided_by = CASE
    WHEN rules LIKE 'pulse-%' THEN 'pulse'
    WHEN kind = 'bp' THEN 'blood_pressure'
    ELSE 'glucose' END
WHERE rules IS NOT NULL AND rules != '';
