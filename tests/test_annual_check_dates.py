"""The 65+ annual check's due date reads the same on the resident's page, the doctor's Overdue
list and the reminders: one date (followup.plan) written by one formatter (Translator.date,
Babel, one style per locale), in each reader's own language."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from bot.runtime import Runtime
from bot.services import followup
from bot.services.followup import Reason
from bot.services.health import history_from
from handlers.resident.health import render_followup
from tests.doctor_fixtures import WANG, load_district, signed_resident
from tests.harness import ChatUser

WRITTEN = {"en": "31 Dec 2025", "zh_Hans": "2025年12月31日"}


@pytest.mark.parametrize("locale", ["en", "zh_Hans"])
async def test_the_annual_check_date_is_written_alike_for_resident_and_doctor(
    rt: Runtime, make_user: Callable[..., ChatUser], locale: str
) -> None:
    await load_district(rt)
    health = rt.services.health
    rid = await signed_resident(rt, "8001", WANG, name="Old Annual", birth_year=1950, locale=locale)
    await health.record_event(rid, "annual_check", date(2024, 6, 1))  # none in 2025
    lang = "zh" if locale == "zh_Hans" else "en"
    resident = make_user("8001", language_code=lang)
    await resident.onboard("English" if locale == "en" else "中文")
    # The doctor reads the desk in the same language as the resident here.
    code = await rt.services.doctors.invite(WANG)
    doctor = make_user("9001", language_code=lang)
    await doctor.text(f"/doctor {code}")
    facts = await rt.stores.health.facts([rid])
    (annual,) = [
        d
        for d in followup.plan(history_from(facts[0], rt.settings.tz), health.today())
        if d.reason is Reason.ANNUAL
    ]
    t = rt.catalogs.get(locale)
    shown = t.date(annual.due)
    assert shown == WRITTEN[locale]  # four-digit year, month as a word or marked with 月
    await resident.text("/health")
    page = resident.texts()
    assert shown in page and "2025-12-31" not in page and "12/31" not in page
    await doctor.press("⏰")
    desk = doctor.texts()
    assert "Old Annual" in desk and shown in desk, desk
    assert "2025-12-31" not in desk and "12/31" not in desk
    rows = await rt.stores.outbox.for_resident(rid, followup.NOTIFICATION_KIND)
    pending = [r for r in rows if r.params.get("reason") == "annual" and r.status == "pending"]
    assert pending
    me = await rt.stores.residents.get(rid)
    assert me is not None
    (reply,) = await render_followup(rt, t, me, pending[0])
    assert shown in reply.text
