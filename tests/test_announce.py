"""`doorstep announce` (issue 14): an operator's announcement to every resident of one
district, through the outbox; a re-run doubles nothing; the report comes from stored rows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import Settings
from bot.services.announcements import KIND, AnnounceError
from bot.storage.districts import group_key
from tests.conftest import Clock
from tests.district_fixtures import SECOND, TwoDistricts, start_two, stop_two
from tests.doctor_fixtures import RecordingSender

TEXT = "本周六上午8:00-11:00，泗泾社区卫生服务中心免费测血压。\n请带上医保卡。"
TEXT_EN = "Free blood pressure checks this Saturday, 8:00-11:00."


async def cli(argv: list[str]) -> int:
    return await asyncio.to_thread(main, argv)


@pytest.fixture
async def two(settings: Settings, clock: Clock, tmp_path: Path) -> AsyncIterator[TwoDistricts]:
    # The command runs on the real clock; the processes' clock follows it.
    clock.set(datetime.now(UTC).replace(microsecond=0))
    pair = await start_two(settings, clock, tmp_path)
    residents = pair.a.stores.residents
    for rid in (pair.a_resident, pair.b_resident):
        r = await residents.get(rid)
        assert r is not None
        await residents.update(r, consent_at=clock())
    # Two more residents of the second district: one reads Chinese, one blocked the bot, and
    # one who never consented (gets nothing).
    for user_id, locale, consent in (
        ("b2", "zh_Hans", True),
        ("b3", "en", True),
        ("b4", "en", False),
    ):
        r = await pair.b.stores.residents.create("test", user_id)
        await pair.b.stores.residents.update(
            r, locale=locale, consent_at=clock() if consent else None
        )
    yield pair
    await stop_two(pair)


def _files(tmp: Path) -> tuple[Path, Path]:
    zh, en = tmp / "notice.txt", tmp / "notice.en.txt"
    zh.write_text(TEXT + "\n", encoding="utf-8")
    en.write_text(TEXT_EN, encoding="utf-8")
    return zh, en


async def _rows(two: TwoDistricts) -> list[tuple[int, str, int, int]]:
    rows = await two.a.db.fetchall(
        "SELECT resident_id, dedupe_key, urgent, due_at FROM outbox WHERE kind = ? "
        "ORDER BY resident_id",
        (KIND,),
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows]


async def test_announcement_reaches_every_resident_of_the_district_once(
    two: TwoDistricts,
    settings: Settings,
    clock: Clock,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    zh, en = _files(tmp_path)
    db = str(settings.db_path)
    argv = [
        "announce",
        "--db",
        db,
        "--district",
        SECOND,
        "--text-file",
        str(zh),
        "--en-file",
        str(en),
    ]
    assert await cli(argv) == 0
    out = capsys.readouterr()
    assert "planned 3 of 3" in out.err
    assert "pending 3" in out.out
    # The start printed is when delivery sends the first row (quiet hours moved), as computed
    # from the rows by the one send-time rule, not the time the command ran.
    span = await two.b.services.send_times.of_group(group_key(1))
    assert span is not None
    first = f"{span[0].astimezone(settings.tz):%Y-%m-%d %H:%M}"
    assert f"sending from {first}" in out.out
    rows = await _rows(two)
    b_ids = {
        r[0]
        for r in await two.a.db.fetchall(
            "SELECT id FROM residents WHERE district_code = ? AND consent_at IS NOT NULL",
            (SECOND,),
        )
    }
    assert {r[0] for r in rows} == b_ids and len(b_ids) == 3
    assert two.a_resident not in {r[0] for r in rows}  # the other district hears nothing
    # The same command again: the same announcement, nothing planned twice.
    assert await cli(argv) == 0
    assert "nothing planned twice" in capsys.readouterr().out
    assert await _rows(two) == rows
    assert await two.a.db.fetchval("SELECT COUNT(*) FROM announcements") == 1

    # The second district's bot sends them (at 10:00 local, out of quiet hours); one
    # resident blocked it.
    local = datetime.now(settings.tz)
    ten = local.replace(hour=10, minute=0, second=0, microsecond=0)
    clock.set(ten if ten > local else ten + timedelta(days=1))
    sender = RecordingSender(blocked={"b3"})
    two.b.senders["test"] = sender
    await two.b.delivery.dispatcher.drain()
    [english] = sender.to("b1")
    assert english.text == f"📢 Announcement from the Songjiang health service:\n\n{TEXT_EN}"
    [chinese] = sender.to("b2")
    assert chinese.text == f"📢 松江区卫生健康服务通知：\n\n{TEXT}"
    assert not sender.to("b4") and not sender.to("a1")

    announcement_id = await two.a.db.fetchval("SELECT id FROM announcements")
    assert (
        await cli(["announce", "--db", db, "--district", SECOND, "--report", str(announcement_id)])
        == 0
    )
    report = capsys.readouterr().out
    assert "3 resident(s): sent 2, failed 0, blocked 1, pending 0" in report
    # The report is what the rows say.
    by_status = dict(
        await two.a.db.fetchall(
            "SELECT status, COUNT(*) FROM outbox WHERE group_key = ? GROUP BY status",
            (group_key(announcement_id),),
        )
    )
    assert by_status == {"sent": 2, "skipped": 1}


async def test_a_time_in_the_past_is_refused(
    two: TwoDistricts, settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    zh, _ = _files(tmp_path)
    past = (datetime.now(settings.tz) - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")
    argv = ["announce", "--db", str(settings.db_path), "--district", SECOND]
    assert await cli([*argv, "--text-file", str(zh), "--at", past]) == 2
    err = capsys.readouterr().err
    assert "is in the past" in err and "Asia/Shanghai" in err
    assert await two.a.db.fetchval("SELECT COUNT(*) FROM announcements") == 0
    assert await _rows(two) == []
    assert await cli([*argv, "--text-file", str(zh), "--at", "next saturday"]) == 2
    assert "YYYY-MM-DD HH:MM" in capsys.readouterr().err


async def test_a_later_urgent_announcement_is_due_then(
    two: TwoDistricts, settings: Settings, tmp_path: Path
) -> None:
    zh, _ = _files(tmp_path)
    at = (datetime.now(settings.tz) + timedelta(days=2)).replace(second=0, microsecond=0)
    argv = ["announce", "--db", str(settings.db_path), "--district", SECOND, "--urgent"]
    assert await cli([*argv, "--text-file", str(zh), "--at", f"{at:%Y-%m-%d %H:%M}"]) == 0
    rows = await _rows(two)
    assert len(rows) == 3
    assert {r[2] for r in rows} == {1}  # urgent: passes quiet hours
    assert {r[3] for r in rows} == {int(at.timestamp())}


async def test_bad_input_is_refused_plainly(two: TwoDistricts, tmp_path: Path) -> None:
    service = two.b.services.announcements
    with pytest.raises(AnnounceError, match="empty"):
        await service.announce(SECOND, "   \n")
    with pytest.raises(AnnounceError, match="unknown district"):
        await service.announce("nowhere", TEXT)
    with pytest.raises(AnnounceError, match="at most"):
        await service.announce(SECOND, "字" * 5000)
    assert await two.a.db.fetchval("SELECT COUNT(*) FROM announcements") == 0
