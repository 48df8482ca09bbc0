"""Several districts in one deployment (issue 14): the sample district and a second one side
by side in one database, each served by its own process; no row is visible across them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import ConfigError, Settings
from bot.domain.outbox import Planned
from bot.runtime import Runtime
from bot.storage.directory import DirectoryStore
from tests.conftest import Clock
from tests.district_fixtures import (
    NORTH,
    SECOND,
    SECOND_WANG,
    TwoDistricts,
    start_two,
    stop_two,
)
from tests.doctor_fixtures import WANG
from tests.harness import ChatUser


@pytest.fixture
async def two(settings: Settings, clock: Clock, tmp_path: Path) -> AsyncIterator[TwoDistricts]:
    pair = await start_two(settings, clock, tmp_path)
    yield pair
    await stop_two(pair)


async def test_migration_puts_existing_rows_in_the_default_district(two: TwoDistricts) -> None:
    db = two.a.db
    assert await db.fetchval("SELECT code FROM districts WHERE code = 'default'") == "default"
    assert await db.fetchval(
        "SELECT COUNT(*) FROM stations WHERE district_code = 'default'"
    ) == await db.fetchval("SELECT COUNT(*) FROM stations WHERE id LIKE 'js-%' OR id LIKE 'sh-%'")
    assert await db.fetchval(
        "SELECT district_code FROM residents WHERE id = ?", (two.a_resident,)
    ) == ("default")
    # The second district's resident belongs to it: they chose one of its communities.
    assert await db.fetchval(
        "SELECT district_code FROM residents WHERE id = ?", (two.b_resident,)
    ) == (SECOND)


async def test_directory_rows_never_cross(two: TwoDistricts) -> None:
    a_st = await two.a.stores.directory.stations()
    b_st = await two.b.stores.directory.stations()
    assert a_st and b_st
    assert {s.district_code for s in a_st} == {"default"}
    assert {s.district_code for s in b_st} == {SECOND}
    assert not {s.id for s in a_st} & {s.id for s in b_st}
    total = await two.a.db.fetchval("SELECT COUNT(*) FROM stations")
    assert len(a_st) + len(b_st) == total
    a_dir, b_dir = two.a.services.directory, two.b.services.directory
    assert await a_dir.doctor(SECOND_WANG) is None
    assert await b_dir.doctor(WANG) is None
    assert await b_dir.doctor(SECOND_WANG) is not None
    a_towns = {t.name for t in await a_dir.towns()}
    b_towns = {t.name for t in await b_dir.towns()}
    assert a_towns and b_towns and not a_towns & b_towns
    assert await a_dir.teams_for("朱泾镇B", "东林居委") == []
    assert [d.id for d in await b_dir.teams_for("朱泾镇B", "东林居委")] == [SECOND_WANG]


async def test_nearest_station_stays_in_the_district(two: TwoDistricts, clock: Clock) -> None:
    b_centre = next(s for s in await two.b.stores.directory.stations() if s.kind == "centre")
    a_centre = next(s for s in await two.a.stores.directory.stations() if s.kind == "centre")
    from_a = await two.a.services.directory.nearest(b_centre.lat, b_centre.lon, clock())
    assert all(p.station.district_code == "default" for p in from_a.places)
    assert from_a.far  # 150 km from every station of the sample district
    from_b = await two.b.services.directory.nearest(a_centre.lat, a_centre.lon, clock())
    assert all(p.station.district_code == SECOND for p in from_b.places)
    near_b = await two.b.services.directory.nearest(b_centre.lat, b_centre.lon, clock())
    assert near_b.places[0].station.id == b_centre.id


async def test_exports_hold_only_their_district(two: TwoDistricts) -> None:
    for kind in ("stations", "doctors", "communities"):
        a_csv = await two.a.services.directory.export_csv(kind)
        b_csv = await two.b.services.directory.export_csv(kind)
        assert "\nsj-" not in a_csv and "\njs-" not in b_csv, kind
        assert "\njs-" in a_csv and "\nsj-" in b_csv, kind


async def test_an_import_cannot_take_another_districts_ids(
    two: TwoDistricts, settings: Settings
) -> None:
    sample = settings.content_dir / "district" / "stations.csv"
    report = await two.b.services.directory.import_csv("stations", sample)
    assert report.added == 0 and report.updated == 0
    assert report.rejected and all(
        "belongs to district 'default'" in e.reason for e in report.rejected
    )
    assert not [s for s in await two.b.stores.directory.stations() if s.id.startswith("js-")]
    # --replace in one district never removes another's rows.
    before = len(await two.a.stores.directory.stations())
    text = (await two.b.services.directory.export_csv("stations")).encode()
    await two.b.services.directory.import_csv("stations", text, replace=True)
    assert len(await two.a.stores.directory.stations()) == before


async def test_a_doctor_sees_only_their_own_district(two: TwoDistricts) -> None:
    doctors_a, doctors_b = two.a.services.doctors, two.b.services.doctors
    wang = await two.a.services.directory.doctor(WANG)
    b_wang = await two.b.services.directory.doctor(SECOND_WANG)
    assert wang is not None and b_wang is not None
    assert await doctors_a.signed_residents(wang) == [two.a_resident]
    assert await doctors_b.signed_residents(b_wang) == [two.b_resident]
    assert not await doctors_a.can_reach(wang, two.b_resident)
    assert not await doctors_b.can_reach(b_wang, two.a_resident)
    # A signing row that crosses districts (a resident who moved, a forged row) still shows
    # nothing: the district is checked under every other rule.
    await two.a.db.execute(
        "INSERT INTO signings (resident_id, doctor_id, signed_at) VALUES (?, ?, ?) "
        "ON CONFLICT (resident_id) DO UPDATE SET doctor_id = excluded.doctor_id",
        (two.b_resident, WANG, "2026-11-24T02:00:00+00:00"),
    )
    assert await doctors_a.signed_residents(wang) == [two.a_resident]
    assert not await doctors_a.can_reach(wang, two.b_resident)
    audience = await two.a.stores.broadcasts.audience([WANG], "all")
    assert [r.resident_id for r in audience] == [two.a_resident]
    # Another district's doctor cannot even be invited on this district's bot.
    with pytest.raises(KeyError):
        await doctors_b.invite(WANG)
    # Nor listed by its operator (`doctors list` called it "not in directory (revoke it)"):
    # a link to a doctor in no directory is still shown there, as left over.
    for doctor_id, rid, user in ((WANG, two.a_resident, "a1"), ("ghost", two.b_resident, "b1")):
        await two.a.db.execute(
            "INSERT INTO doctor_links (doctor_id, resident_id, channel, channel_user_id,"
            " linked_at) VALUES (?, ?, 'test', ?, 0)",
            (doctor_id, rid, f"desk-{user}"),
        )
    assert [x.doctor_id for x in await doctors_b.links()] == ["ghost"]
    assert sorted(x.doctor_id for x in await doctors_a.links()) == sorted([WANG, "ghost"])


async def test_reports_and_audit_are_per_district(two: TwoDistricts, clock: Clock) -> None:
    now = int(clock().timestamp())
    for resident, centre, team in (
        (two.a_resident, "js-01-zj-centre", "朱泾家庭医生一团队"),
        (two.b_resident, "sj-01-zj-centre", "朱泾家庭医生一团队"),
    ):
        await two.a.db.execute(
            "INSERT INTO tickets (resident_id, centre_id, team, route, created_at, "
            "waiting_since) VALUES (?, ?, ?, 'team', ?, ?)",
            (resident, centre, team, now - 60, now - 60),
        )
    a_rows = await two.a.services.tickets.report(90)
    b_rows = await two.b.services.tickets.report(90)
    assert [r.centre_id for r in a_rows] == ["js-01-zj-centre"]
    assert [r.centre_id for r in b_rows] == ["sj-01-zj-centre"]
    await two.a.services.doctors.invite(WANG)
    await two.b.services.doctors.invite(SECOND_WANG)
    a_log = await two.a.services.doctors.audit_since(0)
    b_log = await two.b.services.doctors.audit_since(0)
    assert {e.doctor_id for e in a_log} == {WANG}
    assert {e.doctor_id for e in b_log} == {SECOND_WANG}


async def test_a_districts_bot_sends_only_its_districts_rows(
    two: TwoDistricts, clock: Clock
) -> None:
    rows = [
        Planned(rid, "text", "text", clock(), f"t:{rid}", params={"text": "hi"})
        for rid in (two.a_resident, two.b_resident)
    ]
    await two.a.stores.outbox.plan(rows, clock())
    now = int(clock().timestamp())
    # `doorstep outbox status --district`: each district's queue only.
    assert (await two.a.stores.delivery.status(now)).by_status == {"pending": 1}
    assert (await two.b.stores.delivery.status(now)).by_status == {"pending": 1}
    claimed_a = await two.a.stores.delivery.claim(now, 10, ["test"])
    claimed_b = await two.b.stores.delivery.claim(now, 10, ["test"])
    assert [c.resident.id for c in claimed_a] == [two.a_resident]
    assert [c.resident.id for c in claimed_b] == [two.b_resident]


async def test_a_shared_bot_sees_every_district(two: TwoDistricts) -> None:
    shared = DirectoryStore(two.a.db, "*")
    ids = {s.id for s in await shared.stations()}
    assert any(i.startswith("js-") for i in ids) and any(i.startswith("sj-") for i in ids)
    with pytest.raises(ValueError, match="choose one district"):
        await shared.apply_stations([], [])


def test_district_setting_is_checked() -> None:
    assert Settings.from_env({"DOORSTEP_DISTRICT": "jinshan"}).district == "jinshan"
    assert Settings.from_env({}).district == "default"
    assert Settings.from_env({"DOORSTEP_DISTRICT": "*"}).district == "*"
    with pytest.raises(ConfigError, match="district code"):
        Settings.from_env({"DOORSTEP_DISTRICT": "Jin Shan"})


def test_cli_district_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "d.sqlite3")
    assert main(["district", "add", "shishi", "--name-zh", "石狮市", "--db", db]) == 0
    assert main(["district", "list", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "shishi" in out and "石狮市" in out and "2 districts" in out
    # An unknown district is refused before anything is read or written.
    csv_file = tmp_path / "s.csv"
    csv_file.write_text("id,kind\n", encoding="utf-8")
    code = main(["import", "stations", str(csv_file), "--db", db, "--district", "nowhere"])
    assert code == 2
    assert "unknown district 'nowhere'" in capsys.readouterr().err


async def test_on_a_shared_bot_the_resident_follows_their_community(
    two: TwoDistricts, settings: Settings, clock: Clock
) -> None:
    """A journey on a bot shared by every district: sharing a location in the second
    district makes the resident one of its residents, as the database then says."""
    shared = Runtime(replace(settings, district="*"), clock=clock)
    await shared.start()
    try:
        u = ChatUser(shared, user_id="s1")
        await u.onboard()
        await u.text("👨‍⚕️ My family doctor")
        await u.location(30.9130 + NORTH, 121.1420)  # the second district's 待泾村
        assert "Daijing Village" in u.texts()
        loaded = await shared.stores.residents.load("test", "s1")
        assert loaded is not None
        rid = loaded[0].id
        assert (
            await shared.db.fetchval("SELECT district_code FROM residents WHERE id = ?", (rid,))
            == SECOND
        )
        home = await shared.services.directory.home(rid)
        assert home is not None and home.town == "朱泾镇B"
        team = await shared.services.directory.team_for_resident(rid)
        assert team is not None and team.doctor.district_code == SECOND
        # The sample district's doctors never see them; the second district's process does
        # count them among its residents.
        wang = await two.a.services.directory.doctor(WANG)
        assert wang is not None and not await two.a.services.doctors.can_reach(wang, rid)
        assert (await two.b.stores.districts.counts(SECOND))["residents"] == 2
    finally:
        await shared.stop()
