"""The directory through the chat harness: my family doctor, signing requests, the nearest
stations, and stale or forged buttons."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.callbacks import cb
from bot.config import Settings
from bot.core import Contact, Incoming, Kind
from bot.runtime import Runtime
from bot.services.directory import DirectoryService, short_key
from tests.harness import ChatUser

ZHUJING_CENTRE = (30.8950, 121.1620)


@pytest.fixture
async def district(rt: Runtime, settings: Settings) -> DirectoryService:
    service = rt.services.directory
    await service.load_sample(settings.content_dir / "district")
    return service


async def _resident_id(rt: Runtime, u: ChatUser) -> int:
    loaded = await rt.stores.residents.load(u.channel, u.user_id)
    assert loaded is not None
    return loaded[0].id


async def _pick_home(u: ChatUser, town: str, community: str) -> None:
    await u.text("👨‍⚕️ My family doctor")
    await u.press(town)
    await u.press(community)


async def test_town_community_team_card(user: ChatUser, district: DirectoryService) -> None:
    await user.text("👨‍⚕️ My family doctor")
    assert "📍 Share my location" in user.labels() and "Zhujing" in user.labels()
    await user.press("Zhujing")
    assert "Donglin Neighbourhood" in user.labels() and "Daijing Village" in user.labels()
    await user.press("Daijing Village")
    text = user.texts()
    assert "Dr Chen Jianguo" in text and "☎ 139-0000-0120" in text
    assert "Clinic hours: Mon–Fri 08:00-11:30" in text
    assert "Zhujing Community Health Service Centre" in text
    assert "“1+1+1”" in text and "Shanghai Sixth People's Hospital" in text
    assert "Your community: Daijing Village (Zhujing)" in text
    assert "not signed" in text and "Sample data" in text
    assert "public holidays are not included" in text
    # Coming back later shows the card straight away.
    await user.text("👨‍⚕️ My family doctor")
    assert "Dr Chen Jianguo" in user.texts()


async def test_location_picks_nearest_community(user: ChatUser, district: DirectoryService) -> None:
    await user.text("👨‍⚕️ My family doctor")
    await user.location(30.9130, 121.1420)  # the sample's 待泾村
    assert "Daijing Village" in user.texts() and "Dr Chen Jianguo" in user.texts()
    kb = user.all_replies()[-1].keyboard
    assert kb is not None and kb.persistent  # the main menu is back


async def test_signing_with_contact_button_and_status(
    user: ChatUser, rt: Runtime, district: DirectoryService
) -> None:
    await _pick_home(user, "Zhujing", "Donglin Neighbourhood")
    await user.press("Request signing")
    assert "📱 Share my phone number" in user.labels()
    await user.contact("+86 139 1234 5678", name="Zhang San")
    assert "Is your name Zhang San?" in user.texts()
    await user.press("✅ Yes")
    assert "Name: Zhang San" in user.texts() and "Phone: +8613912345678" in user.texts()
    await user.press("✅ Send")
    assert "waiting for the team" in user.texts()
    assert "Request signing" not in user.labels()
    rid = await _resident_id(rt, user)
    pending = await district.list_pending("js-01-zj-d1")
    assert [(p.resident_id, p.name, p.phone) for p in pending] == [
        (rid, "Zhang San", "+8613912345678")
    ]
    # The doctor side (a later issue) approves through the service API.
    assert await district.decide(pending[0].id, "js-01-zj-d2", True) is None  # not theirs
    decided = await district.decide(pending[0].id, "js-01-zj-d1", True)
    assert decided is not None and decided.status == "approved"
    assert await district.decide(pending[0].id, "js-01-zj-d1", False) is None  # not pending
    signed = await district.signed_doctor(rid)
    assert signed is not None and signed.id == "js-01-zj-d1"
    team = await district.team_for_resident(rid)
    assert team is not None and team.signed and team.centre is not None
    await user.text("👨‍⚕️ My family doctor")
    assert "You are signed" in user.texts()


async def test_signing_typed_phone_and_name_then_declined(
    user: ChatUser, rt: Runtime, district: DirectoryService
) -> None:
    await _pick_home(user, "Fengjing", "Xinyuan Village")
    await user.press("Request signing")
    await user.text("hello")
    assert "does not look like a phone number" in user.texts()
    await user.text("138-0000 1111")
    assert "Your name is optional" in user.texts()
    await user.text("李四")
    assert "Name: 李四" in user.texts()
    await user.press("✅ Send")
    pending = await district.list_pending("js-02-fj-d2")
    assert len(pending) == 1 and pending[0].phone == "13800001111"
    await district.decide(pending[0].id, "js-02-fj-d2", False, "please visit the centre")
    await user.text("👨‍⚕️ My family doctor")
    assert "declined" in user.texts() and "please visit the centre" in user.texts()
    assert "✍️ Request signing" in user.labels()  # may ask again


async def test_shared_contact_name_can_be_skipped_with_a_button(
    user: ChatUser, rt: Runtime, district: DirectoryService
) -> None:
    await _pick_home(user, "Zhujing", "Donglin Neighbourhood")
    await user.press("Request signing")
    await user.contact("13900005678", name="Not My Name")
    assert "Is your name Not My Name?" in user.texts()
    await user.press("Skip: the team will ask")
    assert "Name: (the team will ask)" in user.texts()
    await user.press("✅ Send")
    pending = await district.list_pending("js-01-zj-d1")
    assert [(p.name, p.phone) for p in pending] == [("", "13900005678")]


async def test_elder_mode_confirms_the_home_before_saving(
    user: ChatUser, rt: Runtime, district: DirectoryService
) -> None:
    rid = await _resident_id(rt, user)
    loaded = await rt.stores.residents.load(user.channel, user.user_id)
    assert loaded is not None
    await rt.stores.residents.update(loaded[0], elder_mode=True)
    await _pick_home(user, "Zhujing", "Donglin Neighbourhood")
    assert "Do you live in Donglin Neighbourhood?" in user.texts()
    assert await district.home(rid) is None  # nothing saved yet
    await user.press("❌ No")
    assert await district.home(rid) is None
    # By location too, and an open signing request is mentioned before it moves.
    await user.press("Zhujing")
    await user.press("Donglin Neighbourhood")
    await user.press("Yes, save")
    await user.press("Request signing")
    await user.contact("13900001234", name="Wang Wu")
    await user.press("✅ Yes")
    await user.press("✅ Send")
    await user.press("Change my community")
    await user.location(30.9130, 121.1420)  # the sample's 待泾村
    assert "Do you live in Daijing Village?" in user.texts()
    assert "signing request would then go to Zhujing Family Doctor Team 2" in user.texts()
    home = await district.home(rid)
    assert home is not None and home.community == "东林居委"
    assert len(await district.list_pending("js-01-zj-d1")) == 1
    await user.press("Yes, save")
    home = await district.home(rid)
    assert home is not None and home.community == "待泾村"
    assert len(await district.list_pending("js-01-zj-d2")) == 1


async def test_cancel_and_foreign_contact(user: ChatUser, district: DirectoryService) -> None:
    await _pick_home(user, "Zhujing", "Donglin Neighbourhood")
    await user.press("Request signing")
    await user.send(
        Incoming(
            channel=user.channel,
            user_id=user.user_id,
            kind=Kind.CONTACT,
            contact=Contact("13900000000", "X", is_own=False),
        )
    )
    assert "your own phone number" in user.texts()
    await user.press("❌ Cancel")
    assert "Nothing was sent" in user.texts()
    assert await district.list_pending("js-01-zj-d1") == []


async def test_changing_community_moves_the_request(
    user: ChatUser, rt: Runtime, district: DirectoryService
) -> None:
    await _pick_home(user, "Zhujing", "Donglin Neighbourhood")
    await user.press("Request signing")
    await user.contact("13900001234", name="Wang Wu")
    await user.press("✅ Yes")
    await user.press("✅ Send")
    await user.press("Change my community")
    await user.press("Tinglin")
    await user.press("Hougang Village")
    assert "now goes to Tinglin Family Doctor Team 2" in user.texts()
    assert await district.list_pending("js-01-zj-d1") == []
    moved = await district.list_pending("js-04-tl-d2")
    assert len(moved) == 1 and moved[0].name == "Wang Wu"
    home = await district.home(await _resident_id(rt, user))
    assert home is not None and (home.town, home.community) == ("亭林", "后岗村")


async def test_nearest_by_location_filters_and_venue(
    user: ChatUser, clock, district: DirectoryService
) -> None:
    await user.location(*ZHUJING_CENTRE)
    text = user.texts()
    assert text.index("Zhujing Community Health Service Centre") < text.index(
        "Zhujing Smart Health Station"
    )
    assert "0 m, about 1 minute on foot ✅ within your 15-minute circle" in text
    assert "🟢 Open now, until 16:30" in text  # Tuesday 10:00
    assert "529 m, about 7 minutes on foot" in text  # hand-computed in test_directory_geo
    await user.press("Blood pressure self check")
    assert "blood pressure self check" in user.texts()
    assert "Shanghai Sixth People's Hospital, Jinshan Branch" not in user.texts()
    await user.press("📍 1. on the map")
    venue = user.all_replies()[0].venue
    assert venue is not None and venue.title == "Zhujing Community Health Service Centre"
    assert user.texts().splitlines()[1] == "☎ 021-0000-0100"  # after the venue's empty text
    # Sunday: the centre is closed, "open now" keeps only what is open.
    clock.set(datetime(2026, 11, 29, 2, 0, tzinfo=UTC))
    await user.location(*ZHUJING_CENTRE)
    assert "🔴 Closed now" in user.texts()
    await user.press("Open now")
    assert "Closed now" not in user.texts() and "🟢" in user.texts()


async def test_nearest_by_town_buttons_and_far_away(
    user: ChatUser, district: DirectoryService
) -> None:
    await user.text("📍 Nearest health station")
    assert "📍 Share my location" in user.labels()
    await user.press("Caojing")
    assert "1. Caojing Community Health Service Centre" in user.texts()
    await user.location(39.9042, 116.4074)  # Beijing
    text = user.texts()
    assert "no health station of this district near you" in text
    assert "Zhujing Community Health Service Centre" in text  # the district's main centre
    await user.press("Main centre on the map")
    assert user.all_replies()[0].venue is not None


async def test_elder_mode_phone_first(user: ChatUser, rt: Runtime, district) -> None:
    loaded = await rt.stores.residents.load(user.channel, user.user_id)
    assert loaded is not None
    await rt.stores.residents.update(loaded[0], elder_mode=True)
    await _pick_home(user, "Zhujing", "Donglin Neighbourhood")
    await user.press("Yes, save")
    card = next(r for r in user.all_replies() if "☎" in r.text)
    assert card.text.splitlines()[0] == "☎ 139-0000-0110"
    assert "⬅️ Back" in user.labels() and "🏠 Home" in user.labels()  # elder: both, always
    await user.location(*ZHUJING_CENTRE)
    assert user.all_replies()[0].text.splitlines()[0].startswith("1. ☎ 021-0000-0100")


async def test_stale_and_forged_buttons(user: ChatUser, district: DirectoryService) -> None:
    other_doctor = short_key("js-02-fj-d1")
    for data in (
        cb("stations", "v", "0000000000"),
        cb("stations", "t", "nope"),
        cb("stations", "f", "bogus", "30", "121"),
        cb("stations", "f", "bp", "999", "121"),
        cb("stations", "f", "bp", "nan", "121"),
        cb("stations", "zap"),
        cb("family", "c", "0000000000"),
        cb("family", "t", "0000000000"),
        cb("family", "send"),
        cb("family", "nameok"),
        cb("family", "withdraw"),
        cb("family", "sign", other_doctor),
    ):
        await user.press_data(data)
        assert "out of date" in user.texts(), data
    await _pick_home(user, "Zhujing", "Donglin Neighbourhood")
    await user.press_data(cb("family", "sign", other_doctor))  # a team of another community
    assert "out of date" in user.texts()


async def test_directory_changes_reach_the_bot_and_deletion_cascades(
    user: ChatUser, rt: Runtime, district: DirectoryService
) -> None:
    await _pick_home(user, "Zhujing", "Donglin Neighbourhood")
    await user.press("Request signing")
    await user.text("13900002222")
    await user.press("Skip")
    await user.press("✅ Send")
    rid = await _resident_id(rt, user)
    # Another process (doorstep import) bumps the version: the snapshot reloads at the next
    # recheck (every second in production; at once here).
    district.recheck_s = 0
    await rt.db.execute("UPDATE stations SET name_en = 'Renamed' WHERE id = 'js-01-zj-centre'")
    await rt.db.execute(
        "UPDATE directory_meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'version'"
    )
    await user.location(*ZHUJING_CENTRE)
    assert "1. Renamed" in user.texts()
    export = await rt.stores.residents.export(rid)
    assert export["resident_homes"] and export["signing_requests"]
    await rt.stores.residents.delete(rid)
    assert await rt.stores.directory.home(rid) is None
    assert await district.list_pending("js-01-zj-d1") == []


async def test_sandbox_loads_the_sample_and_production_does_not(
    settings: Settings, tmp_path, clock
) -> None:
    sandbox = Runtime(replace(settings, db_path=tmp_path / "sb.sqlite3"), clock=clock, sandbox=True)
    await sandbox.start()
    try:
        assert await sandbox.stores.directory.count_stations() == 58
        assert await sandbox.services.directory.is_sample()
    finally:
        await sandbox.stop()
    prod = Runtime(replace(settings, db_path=tmp_path / "prod.sqlite3"), clock=clock)
    await prod.start()
    try:
        assert await prod.stores.directory.count_stations() == 0
    finally:
        await prod.stop()


async def test_no_directory_yet_is_said_plainly_never_far_away(
    user: ChatUser, make_user: Callable[..., ChatUser], rt: Runtime
) -> None:
    """Nothing imported: the menu, a shared location and a stale filter button all say there
    is no station data yet, in both languages; none claims the nearest is over 30 km away."""
    assert await rt.stores.directory.count_stations() == 0
    await user.text("📍 Nearest health station")
    assert "The district directory is not loaded yet." in user.texts()
    await user.location(30.9130, 121.1420)  # inside the district the sample would cover
    text = user.texts()
    assert "The district directory is not loaded yet." in text
    assert "30 km" not in text and "no health station of this district near you" not in text
    await user.press_data(cb("stations", "f", "vaccination", "30.91300", "121.14200"))
    assert "The district directory is not loaded yet." in user.texts()
    assert "30 km" not in user.texts()
    zh = make_user("1002", language_code="zh")
    await zh.onboard("中文")
    await zh.location(30.9130, 121.1420)
    empty_zh = rt.catalogs.get("zh_Hans").gettext(
        "The district directory is not loaded yet. Please try again later."
    )
    assert empty_zh != "The district directory is not loaded yet. Please try again later."
    assert empty_zh in zh.texts() and "30" not in zh.texts()
