"""Issue 16: /delete leaves nothing behind, and resident ids are never reused. A WeChat
resident with a signing request, readings, a doctor's look at their card and a /mydata reply
kept for WeChat's retries deletes everything; then every table, and the database and -wal
files byte by byte, are searched for what identified them."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.runtime import Runtime
from bot.services.readings import BloodPressure
from bot.storage.doctors import NewAudit
from tests.conftest import Clock
from tests.doctor_fixtures import WANG, load_district
from tests.test_security_wechat import Wire, fake_url  # noqa: F401 (a fixture)

OPENID = "oDeleteMe-7q3ZpX9w"
NAME = "Zhang Quxiaoming"
PHONE = "13912345678"


@pytest.fixture
async def wire(rt: Runtime, fake_url: str, clock: Clock) -> AsyncIterator[Wire]:  # noqa: F811
    w = Wire(rt, fake_url, clock, aes=False)
    yield w
    await w.close()


async def scan_tables(rt: Runtime, needles: list[str]) -> list[str]:
    found = []
    tables = sorted(await rt.db.tables())
    assert "residents" in tables and "audit_log" in tables
    for table in tables:
        for row in await rt.db.fetchall(f'SELECT * FROM "{table}"'):
            for value in tuple(row):
                text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
                found += [f"{table}: {n}" for n in needles if n in text]
    return found


async def test_delete_leaves_no_trace_in_tables_or_files(
    rt: Runtime, wire: Wire, settings: object
) -> None:
    """Findings: wechat_inbound kept the replies and /mydata text; the -wal file kept 78
    copies of the openid; audit rows survived under an id the next new user inherited."""
    await load_district(rt)
    f = wire.follower(OPENID)
    await f.subscribe()
    await f.text("English")
    await f.text("1")  # I agree
    resident = (await rt.stores.residents.load("wechat", OPENID))[0]  # type: ignore[index]
    directory = rt.services.directory
    await directory.set_home(resident.id, "朱泾", "东林居委")
    request = await directory.request_signing(resident.id, WANG, NAME, PHONE)
    await directory.decide(request.id, WANG, True)
    await rt.services.health.log_reading(resident.id, BloodPressure(150, 95))
    doctors = rt.services.doctors
    await doctors.audit(
        NewAudit(WANG, "card_viewed", resident.id, "readings=1"),
        NewAudit(None, "link_failed", details=f"account={resident.id} unknown"),
    )
    mydata = await f.text("/mydata")
    assert mydata.status == 200
    assert await scan_tables(rt, [OPENID]), "the setup stores the openid somewhere"
    # Many writes, so the WAL holds many page copies with the openid, the name and the phone.
    for _ in range(30):
        await f.text("/help")

    ask = await f.text("/delete")
    number = re.search(r"(\d+)\D*Yes, delete", ask.content or "")
    assert number, ask.content
    done = await f.text(number.group(1))
    assert "All your data has been deleted" in (done.content or "")

    assert await scan_tables(rt, [OPENID, NAME, PHONE]) == []
    for column in ("target_resident_id",):
        left = await rt.db.fetchval(
            f"SELECT count(*) FROM audit_log WHERE {column} = ?", (resident.id,)
        )
        assert left == 0
    details = [r[0] for r in await rt.db.fetchall("SELECT details FROM audit_log")]
    assert not [d for d in details if re.search(rf"\baccount={resident.id}\b", d)]
    kept = await rt.db.fetchall(
        "SELECT action, subject FROM audit_log WHERE subject IS NOT NULL ORDER BY id"
    )
    assert [k[0] for k in kept] == ["card_viewed", "link_failed"]
    assert len({k[1] for k in kept}) == 1  # one pseudonym, the same on every entry
    assert (
        await rt.db.fetchval(
            "SELECT count(*) FROM wechat_inbound WHERE reply LIKE ?", (f"%{OPENID}%",)
        )
        == 0
    )

    db_path = Path(rt.settings.db_path)
    for path in (db_path, db_path.with_name(db_path.name + "-wal")):
        if path.exists():
            data = path.read_bytes()
            for needle in (OPENID, NAME, PHONE):
                assert needle.encode() not in data, f"{needle} in {path.name}"

    # Resident ids are never reused: the next new resident gets a new id and no audit rows.
    newcomer = await rt.stores.residents.create("wechat", "o-newcomer")
    assert newcomer.id > resident.id
    assert (
        await rt.db.fetchval(
            "SELECT count(*) FROM audit_log WHERE target_resident_id = ? OR details LIKE ?",
            (newcomer.id, f"%account={newcomer.id}%"),
        )
        == 0
    )
