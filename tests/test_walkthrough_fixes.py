"""Findings of the independent product walk (fixb): each test reproduces one finding."""

from __future__ import annotations

import pytest

from bot.config import Settings
from bot.runtime import Runtime
from bot.services.directory import DirectoryService
from tests.harness import ChatUser


@pytest.fixture
async def district(rt: Runtime, settings: Settings) -> DirectoryService:
    service = rt.services.directory
    await service.load_sample(settings.content_dir / "district")
    return service


async def _elder(rt: Runtime, u: ChatUser) -> None:
    loaded = await rt.stores.residents.load(u.channel, u.user_id)
    assert loaded is not None
    await rt.stores.residents.update(loaded[0], elder_mode=True)


# -- 1. a picked town is not "you" -----------------------------------------------------------


async def test_town_pick_claims_no_distance_from_the_resident(
    user: ChatUser, district: DirectoryService
) -> None:
    await user.text("📍 Nearest health station")
    await user.press("Zhujing")
    text = user.texts()
    assert "1. Zhujing Community Health Service Centre" in text
    assert "Places in and near Zhujing" in text
    for claim in ("📏", "0 m", "on foot", "circle", "to you"):
        assert claim not in text, claim
    # The address of each place instead, from the directory.
    centre = next(
        s
        for s in (await district.snapshot()).stations.values()
        if s.name_en.startswith("Zhujing C")
    )
    assert centre.address_en and centre.address_en in text
    # A filter keeps the town as the origin: still no distance from "you".
    await user.press("Vaccination")
    assert "Places in and near Zhujing" in user.texts() and "📏" not in user.texts()
    # A shared location is measured from the resident.
    await user.location(centre.lat, centre.lon)
    assert "📏 0 m" in user.texts() and "within your 15-minute circle" in user.texts()


# -- 2. elder mode keeps the facts -----------------------------------------------------------


async def test_elder_family_doctor_card_keeps_hours_centre_and_notes(
    user: ChatUser, rt: Runtime, district: DirectoryService
) -> None:
    await _elder(rt, user)
    await user.text("👨‍⚕️ My family doctor")
    await user.press("Zhujing")
    await user.press("Daijing Village")
    await user.press("Yes, save")
    card = next(r for r in user.all_replies() if "☎" in r.text).text
    assert card.splitlines()[0] == "☎ 139-0000-0120"  # phone first in elder mode
    for fact in (
        "Clinic hours: Mon–Fri 08:00-11:30",
        "Centre: Zhujing Community Health Service Centre",
        "“1+1+1”",
        "public holidays are not included",
        "Dr Chen Jianguo",
    ):
        assert fact in card, fact


async def test_elder_nearest_station_keeps_kind_distance_and_services(
    user: ChatUser, rt: Runtime, district: DirectoryService
) -> None:
    await _elder(rt, user)
    centre = next(
        s
        for s in (await district.snapshot()).stations.values()
        if s.name_en.startswith("Zhujing C")
    )
    await user.location(centre.lat, centre.lon)
    text = user.texts()
    assert text.splitlines()[0].startswith(f"1. ☎ {centre.phone}")
    for fact in (
        "community health service centre",
        "📏 0 m, about 1 minute on foot",
        "within your 15-minute circle",
        "Services:",
        "public holidays are not included",
    ):
        assert fact in text, fact


# -- 4. one confirm step before anything destructive -----------------------------------------


async def test_elder_withdraw_asks_first_and_changes_nothing_until_yes(
    user: ChatUser, rt: Runtime, district: DirectoryService
) -> None:
    await _elder(rt, user)
    await user.text("👨‍⚕️ My family doctor")
    await user.press("Zhujing")
    await user.press("Donglin Neighbourhood")
    await user.press("Yes, save")
    await user.press("Request signing")
    await user.contact("13900001234", name="Wang Wu")
    await user.press("✅ Yes")
    await user.press("✅ Send")
    assert len(await district.list_pending("js-01-zj-d1")) == 1
    await user.press("Withdraw my request")
    assert "Withdraw your signing request?" in user.texts()
    assert {"✅ Yes, withdraw it", "↩️ No, keep it", "⬅️ Back", "🏠 Home"} <= set(user.labels())
    assert len(await district.list_pending("js-01-zj-d1")) == 1  # nothing changed yet
    await user.press("No, keep it")
    assert "Dr " in user.texts()  # back on the card
    assert len(await district.list_pending("js-01-zj-d1")) == 1
    await user.press("Withdraw my request")
    await user.press("Yes, withdraw it")
    assert await district.list_pending("js-01-zj-d1") == []
    loaded = await rt.stores.residents.load("test", "1001")
    assert loaded is not None and await district.latest_request(loaded[0].id) is None
    # The old confirm button again: a friendly stale answer, nothing else changes.
    await user.press_data("v1:family:wdok")
    assert user.texts()


async def test_elder_tips_off_uses_the_same_confirm_step(user: ChatUser, rt: Runtime) -> None:
    await _elder(rt, user)
    svc = rt.services.tips
    loaded = await rt.stores.residents.load("test", "1001")
    assert loaded is not None
    rid = loaded[0].id
    await svc.update(await svc.subscription(rid), active=True)
    await user.press_data("v1:tips:off")
    assert {"✅ Yes", "❌ No", "⬅️ Back", "🏠 Home"} <= set(user.labels())
    assert (await svc.subscription(rid)).active
    await user.press("✅ Yes")
    assert not (await svc.subscription(rid)).active


# -- 5. no typing is required: the name is optional ------------------------------------------


async def test_contact_without_a_name_needs_no_typing(
    user: ChatUser, rt: Runtime, district: DirectoryService
) -> None:
    await user.text("👨‍⚕️ My family doctor")
    await user.press("Zhujing")
    await user.press("Donglin Neighbourhood")
    await user.press("Request signing")
    await user.contact("13800000000")  # the sandbox's /contact: a number, no name
    text = user.texts()
    assert "optional" in text and "Now type" not in text
    assert any("Skip" in label for label in user.labels())
    await user.press("Skip")
    await user.press("✅ Send")
    pending = await district.list_pending("js-01-zj-d1")
    assert [(p.name, p.phone) for p in pending] == [("", "13800000000")]


# -- 6. a wrong typed option number shows the same screen again ------------------------------


async def test_out_of_range_number_reshows_the_picker_with_a_hint(rt: Runtime) -> None:
    import io

    from bot.channels.console import CHANNEL, ConsoleChat

    user = ChatUser(rt, user_id="1", channel=CHANNEL, language_code="en")
    await user.onboard()
    out = io.StringIO()
    chat = ConsoleChat(rt, user_id="1", out=out)
    await chat.feed("❤️ My health")
    await chat.feed("🎂 Birth year")
    await chat.feed("1950–1959")
    before = [o.label for o in chat.options]
    assert "1955" in before
    too_big = str(len(before) + 1)
    out.truncate(0)
    outcome = await chat.feed(too_big)
    assert outcome is not None
    text = out.getvalue()
    assert f"There is no option {too_big} here" in text and "did not understand" not in text
    assert "Which year were you born?" in text  # the same screen, not only 🏠
    assert [o.label for o in chat.options] == before  # same options, same numbers
    loaded = await rt.stores.residents.load(CHANNEL, "1")
    assert loaded is not None
    profile = await rt.services.health.profile(loaded[0].id)
    assert profile.birth_year is None  # nothing was saved by the wrong number
    # The re-shown picker works: its numbers mean what they meant.
    await chat.feed(str(before.index("1955") + 1))
    if any(o.label == "✅ Yes" for o in chat.options):  # elder-style confirm, if asked
        await chat.feed("✅ Yes")
    profile = await rt.services.health.profile(loaded[0].id)
    assert profile.birth_year == 1955


def test_numbered_channels_turn_an_unknown_option_number_into_the_same_screen() -> None:
    from bot.channels import numbered
    from bot.core import Button, Kind, Reply

    blocks = numbered.flatten(
        [Reply(text="Pick one", buttons=((Button("A", "v1:x:a"), Button("B", "v1:x:b")),))]
    )
    offered = numbered.offer(blocks)
    assert offered is not None
    missed = numbered.text_to_incoming("web", "v", "3", offered)
    assert missed.kind is Kind.BUTTON and missed.data == "v1:menu:nooption:3"
    assert missed.screen_text == "Pick one"
    assert [b.data for b in missed.screen_buttons] == ["v1:x:a", "v1:x:b"]
    assert numbered.text_to_incoming("web", "v", "2", offered).data == "v1:x:b"
    # Words and long numbers (a phone) are still text; a value screen keeps its numbers.
    assert numbered.text_to_incoming("web", "v", "hello", offered).kind is Kind.TEXT
    assert numbered.text_to_incoming("web", "v", "13800000000", offered).kind is Kind.TEXT
    valued = {**offered, "wants_text": True}
    assert numbered.text_to_incoming("web", "v", "3", valued).kind is Kind.TEXT


# -- 7. the operator CLI -----------------------------------------------------------------------


async def test_slots_list_says_a_past_day_is_past(
    rt: Runtime, district: DirectoryService, clock
) -> None:
    from datetime import timedelta

    svc = rt.services.booking
    doctor = await district.doctor("js-01-zj-d1")
    assert doctor is not None and "Tue,Thu 13:30" in doctor.clinic_hours  # holds clinic on Tuesdays
    today = rt.now().astimezone(rt.settings.tz).date()
    past_tuesday = today - timedelta(days=(today.weekday() - 1) % 7 or 7)
    assert await svc.day_slots(doctor.id, past_tuesday, rt.now()) == []
    why = await svc.why_no_slots(doctor.id, past_tuesday, rt.now())
    assert why.startswith(f"{past_tuesday.isoformat()} is in the past") and "no clinic" not in why
    later = today + timedelta(days=30)
    assert "beyond the 14-day booking window" in await svc.why_no_slots(doctor.id, later, rt.now())
    sunday = today + timedelta(days=(6 - today.weekday()) or 7)
    if not await svc.day_slots(doctor.id, sunday, rt.now()):
        assert await svc.why_no_slots(doctor.id, sunday, rt.now()) == "no clinic hours on Sundays"


def test_a_closed_pipe_ends_any_command_quietly(tmp_path) -> None:
    import os
    import subprocess
    import sys

    read, write = os.pipe()
    os.close(read)  # the reader (`| head`) is gone before the command writes
    env = {**os.environ, "DOORSTEP_DB": str(tmp_path / "pipe.sqlite3")}
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "outbox", "status"],
        stdout=write,
        stderr=subprocess.PIPE,
        env=env,
        timeout=120,
        check=False,
    )
    os.close(write)
    assert "Traceback" not in proc.stderr.decode() and "BrokenPipe" not in proc.stderr.decode()
    assert proc.returncode == 141


async def test_import_rejects_an_unknown_service_with_its_line(rt: Runtime) -> None:
    from bot.domain.directory import SERVICE_KEYS
    from handlers.resident.directory_view import SERVICE_LABELS

    assert set(SERVICE_LABELS) == set(SERVICE_KEYS)  # every accepted key has a label
    header = (
        "id,kind,name_zh,name_en,district,town,address_zh,address_en,lat,lon,phone,hours,services"
    )
    rows = [
        "a1,centre,甲中心,A,金山区,朱泾,地址,Addr,30.9,121.16,021-1,,vaccination",
        "a2,station,乙站,B,金山区,朱泾,地址,Addr,30.91,121.17,021-2,,teleport;vaccination",
    ]
    report = await rt.services.directory.import_csv(
        "stations", ("\n".join([header, *rows]) + "\n").encode()
    )
    assert report.added == 1
    (bad,) = report.rejected
    assert bad.line == 3 and "unknown service 'teleport'" in bad.reason
    assert [s.id for s in await rt.stores.directory.stations()] == ["a1"]


def test_outbox_status_times_carry_their_zone(settings) -> None:
    from datetime import UTC, datetime

    from bot.commands.outbox import format_status
    from bot.domain.outbox import OutboxStatus

    next_due = datetime(2026, 12, 5, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
    st = OutboxStatus({}, {}, 0, None, next_due, [])
    text = format_status(st, settings)
    assert "next due: 2026-12-05 08:00:00 +0800 (Asia/Shanghai)" in text


# -- 8. no Chinese in English screens ----------------------------------------------------------

# English texts that carry Chinese on purpose, each for a reason a reader needs.
CHINESE_ON_PURPOSE = {
    # Before any language is chosen, the welcome speaks to both readers.
    "Welcome to Doorstep (家门口健康)",
    # The national stroke campaign's name, as it is on posters ("中风120").
    "(stroke: 中风120)",
    # The sign to look for at the hospital.
    "emergency department (急诊)",
    # A source's official title, cited as published.
    "(长期处方管理规范)",
}
_CJK = __import__("re").compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")


def test_english_texts_carry_no_chinese_literals() -> None:
    from babel.messages.pofile import read_po

    from bot.config import ROOT

    with (ROOT / "locales" / "en" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale="en")
    wrong = []
    for msg in catalog:
        if not msg.id:
            continue
        texts = (msg.string if isinstance(msg.string, tuple) else (msg.string,)) or ()
        for text in texts:
            if text and _CJK.search(text) and not any(ok in text for ok in CHINESE_ON_PURPOSE):
                wrong.append(text)
    assert not wrong, wrong


async def test_a_request_without_a_name_is_named_by_its_phone(
    rt: Runtime, make_user, district: DirectoryService
) -> None:
    from tests.doctor_fixtures import linked_doctor

    resident = make_user("2001")
    await resident.onboard()
    loaded = await rt.stores.residents.load(resident.channel, resident.user_id)
    assert loaded is not None
    await district.set_home(loaded[0].id, "朱泾", "东林居委")
    await district.request_signing(loaded[0].id, "js-01-zj-d1", "", "13800000000")
    doctor = await linked_doctor(rt, make_user)
    await doctor.press_data("v1:desk:sr")
    assert "Name: not given" in doctor.texts()
    await doctor.press("✅ Approve")
    text = doctor.texts()
    assert "the resident with phone 13800000000 is now signed" in text and "✅ —" not in text
    assert await district.signed_doctor(loaded[0].id) is not None
