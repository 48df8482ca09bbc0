"""Elder mode: a message that carries a file, a picture or a map pin has no buttons on any
channel, so a turn never ends on one; Back and Home follow it (finding: after the .ics
calendar file and the data export the elder was left with no way on)."""

from __future__ import annotations

import pytest

from bot.callbacks import cb
from bot.core import Reply
from bot.runtime import Runtime
from bot.services.readings import BloodPressure
from tests.harness import ChatUser
from tests.test_booking import load_district
from tests.test_booking_flow import me, onboard, to_confirm

NAV = {"English": ("⬅️ Back", "🏠 Home"), "中文": ("⬅️ 返回", "🏠 首页")}


def ends_with_back_and_home(replies: list[Reply], language: str) -> bool:
    labels = [b.label for b in replies[-1].all_buttons()]
    return all(n in labels for n in NAV[language])


async def elder(rt: Runtime, u: ChatUser) -> None:
    await rt.stores.residents.update(await me(u), elder_mode=True)


@pytest.mark.parametrize("language", ["English", "中文"])
async def test_calendar_file_is_followed_by_back_and_home(rt: Runtime, language: str) -> None:
    await load_district(rt)
    u = await onboard(rt, "7001", language=language)
    await rt.services.directory.set_home((await me(u)).id, "朱泾", "东林居委")
    await elder(rt, u)
    ok = await to_confirm(u)
    out = await u.press_data(ok)
    assert any(r.document is not None and r.document.filename == "visit.ics" for r in out.replies)
    assert out.replies[-1].document is None
    assert ends_with_back_and_home(out.replies, language)
    booked = await rt.db.fetchval(
        "SELECT COUNT(*) FROM appointments WHERE resident_id = ? AND status = 'booked'",
        ((await me(u)).id,),
    )
    assert booked == 1


@pytest.mark.parametrize("language", ["English", "中文"])
async def test_every_file_or_picture_turn_ends_with_back_and_home(
    rt: Runtime, language: str
) -> None:
    """The data export, the medicine card, the week chart and the readings chart."""
    u = await onboard(rt, "7002", language=language)
    await elder(rt, u)
    svc = rt.services.medicines
    m = svc.catalog.get("amlodipine")
    assert m is not None
    from bot.domain.medicines import Meals, NewEntry

    await svc.add(
        (await me(u)).id,
        NewEntry(m.id, m.name_zh, m.name_en, "", "", "1", "tablet", ("08:00",), Meals.AFTER,
                 svc.today(), None),
    )  # fmt: skip
    await rt.services.health.log_reading((await me(u)).id, BloodPressure(130, 85))
    for data in (
        cb("privacy", "export"),
        cb("medicines", "card"),
        cb("medicines", "week"),
        cb("health", "list"),
    ):
        out = await u.press_data(data)
        attached = [r for r in out.replies if r.document or r.photo or r.venue]
        assert attached, data
        assert ends_with_back_and_home(out.replies, language), data
