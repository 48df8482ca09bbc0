"""Finding 5: a reading's severity is the clinical rules' stored decision, shown the same in
every view: the resident's list, the doctor's card and Flags, the chart's rings and /mydata.
Glucose is shown as entered, with one decimal (7.0 mmol/L, never 7)."""

from __future__ import annotations

import json
from collections.abc import Callable

from bot.runtime import Runtime
from bot.services.charts import BpPoint, GlucosePoint, readings_chart
from bot.services.readings import BloodPressure
from tests.doctor_fixtures import linked_doctor, load_district, signed_resident
from tests.harness import ChatUser

# The expected mark of each stored action, written out here (not taken from the code).
EXPECTED = {"call_120": "🚨", "come_today": "🚨", "recheck": "⚠️", "on_target": "✅"}


async def test_every_view_marks_a_reading_as_its_stored_decision(
    rt: Runtime, make_user: Callable[..., ChatUser]
) -> None:
    await load_district(rt)
    rid = await signed_resident(
        rt, "p", name="Sugar Low", conditions=("diabetes2", "hypertension"), birth_year=1956
    )
    loaded = await rt.stores.residents.load("test", "p")
    assert loaded is not None
    await rt.services.residents.consent(loaded[0])
    resident = make_user("p")
    for value in ("3.9", "7.0"):
        await resident.text("/health")
        await resident.press("Log glucose")
        await resident.press("Fasting")
        await resident.text(value)
        if value == "7.0":
            assert "Saved: 7.0 mmol/L (fasting)" in resident.texts(), resident.texts()
    await rt.services.health.log_reading(rid, BloodPressure(180, 90))
    stored = {
        (r.kind, r.glucose, r.systolic): r.action for r in await rt.services.health.readings(rid)
    }
    assert stored == {
        ("glucose", 3.9, None): "come_today",
        ("glucose", 7.0, None): "recheck",
        ("bp", None, 180): "come_today",
    }
    shown = {
        "3.9 mmol/L (fasting)": EXPECTED[stored[("glucose", 3.9, None)]],
        "7.0 mmol/L (fasting)": EXPECTED[stored[("glucose", 7.0, None)]],
        "180/90 mmHg": EXPECTED[stored[("bp", None, 180)]],
    }

    await resident.text("/readings")
    mine = resident.texts()
    assert " 7 mmol/L" not in mine
    for value, emoji in shown.items():
        [line] = [ln for ln in mine.splitlines() if value in ln]
        assert line.startswith(emoji), line
    chart_rings = [r for r in resident.inbox if r.photo is not None]
    assert chart_rings  # the chart came

    doctor = await linked_doctor(rt, make_user)
    await doctor.press("Flags")
    flags = doctor.texts()
    for value, emoji in shown.items():
        if emoji == "🚨":
            assert f"{emoji} {value} · urgent: see a doctor today" in flags, flags
    assert "⚠️ 3.9" not in flags and "⚠️ 180/90" not in flags
    await doctor.press("Card 1")
    card = doctor.texts()
    for value, emoji in shown.items():
        assert f"{emoji} {value}" in card, card

    await resident.text("/mydata")
    doc = [r.document for r in resident.inbox if r.document is not None][-1]
    rows = json.loads(doc.content)["health_readings"]
    assert sorted((r["action"], r["mark"]) for r in rows) == sorted(
        (a, EXPECTED[a]) for a in stored.values()
    )
    assert {r["assessment"] for r in rows} >= {"urgent: see a doctor today"}


def test_the_chart_rings_readings_by_their_stored_mark(rt: Runtime) -> None:
    t = rt.catalogs.get("en")
    now = rt.now()
    chart = readings_chart(
        [BpPoint(now, 180, 90, "urgent"), BpPoint(now, 130, 80, "on_target")],
        [GlucosePoint(now, 7.0, False, "off_target"), GlucosePoint(now, 3.9, False, "urgent")],
        t,
    )
    assert sorted(chart.rings) == ["off_target", "urgent", "urgent"]


async def test_a_pulse_flag_shows_the_pulse_first_in_every_view(
    rt: Runtime, make_user: Callable[..., ChatUser]
) -> None:
    """Audit finding 4: a blood pressure on target with a fast pulse (diabetes: urgent) was
    flagged, and the doctor's Flags read "🚨 120/80 mmHg ..." as if the pressure were the
    problem. The measure that decided leads, the same in the reply, Flags, the card and the
    resident's list (reading_view.bp_text / reading_value)."""
    await load_district(rt)
    rid = await signed_resident(rt, "p", name="Fast Pulse", conditions=("diabetes2",))
    loaded = await rt.stores.residents.load("test", "p")
    assert loaded is not None
    await rt.services.residents.consent(loaded[0])
    resident = make_user("p")
    await resident.text("/bp 120/80 112")
    assert "🚨 pulse 112/min (120/80 mmHg): please see a doctor today" in resident.texts()
    [stored] = await rt.services.health.readings(rid)
    assert (stored.action, stored.decided_by, stored.pulse) == ("come_today", "pulse", 112)
    await resident.text("/bp 150/95 80")  # the pressure decides: shown as before
    shown = "🚨 pulse 112/min (120/80 mmHg) · urgent: see a doctor today"

    doctor = await linked_doctor(rt, make_user)
    await doctor.press("Flags")
    flags = doctor.texts()
    assert shown in flags, flags
    assert "120/80 mmHg, pulse 112" not in flags
    await doctor.press("Card 1")
    card = doctor.texts()
    assert shown in card and "⚠️ 150/95 mmHg, pulse 80 · above target" in card, card
    await resident.text("/readings")
    assert "pulse 112/min (120/80 mmHg) · urgent" in resident.texts()
