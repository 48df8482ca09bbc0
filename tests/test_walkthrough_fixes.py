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
        s for s in (await district.snapshot()).stations.values() if s.name_en.startswith("Zhujing C")
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
        s for s in (await district.snapshot()).stations.values() if s.name_en.startswith("Zhujing C")
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
