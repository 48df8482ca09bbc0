"""`doorstep doctors invite|list|revoke` and `doorstep audit`, run as the operator runs them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import Settings
from bot.runtime import Runtime
from tests.doctor_fixtures import WANG, load_district
from tests.harness import ChatUser


async def test_invite_link_list_revoke_and_audit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "ops.sqlite3"
    monkeypatch.setenv("DOORSTEP_DB", str(db))
    rt = Runtime(Settings.from_env({}, db_path=db))
    await rt.start()
    await load_district(rt)
    await rt.stop()

    # The CLI runs its own event loop, so it runs in a thread here.
    import asyncio

    async def cli(*argv: str) -> tuple[int, str]:
        code = await asyncio.to_thread(main, list(argv))
        return code, capsys.readouterr().out

    code, out = await cli("doctors", "invite", "nobody")
    assert code == 1 and "no doctor" in out
    code, out = await cli("doctors", "invite", WANG)
    assert code == 0
    invite = re.search(r"/doctor (\S+)", out).group(1)

    rt = Runtime(Settings.from_env({}, db_path=db))
    await rt.start()
    doctor = ChatUser(rt, user_id="77")
    await doctor.text(f"/doctor {invite}")
    assert "Doctor's desk" in doctor.texts()
    await rt.stop()

    code, out = await cli("doctors", "list")
    assert re.search(rf"{WANG}\s+test since", out)
    code, out = await cli("doctors", "revoke", WANG)
    assert "unlinked" in out
    code, out = await cli("audit", "--since", "2000-01-01")
    assert code == 0
    for action in ("invite_created", "linked", "revoked"):
        assert action in out
    code, out = await cli("audit", "--since", "2000-01-01", "--doctor", "js-02-fj-d1")
    assert out.strip().endswith("0 entries")


def test_report_tickets_counts_teams_not_rows_and_aligns_chinese_names() -> None:
    """Two teams of one centre and the duty desk: "2 teams" counts the teams (the duty desk is
    not one), and every column starts at the same place whatever the width of the team name."""
    from bot.commands.common import display_width
    from bot.commands.report import ticket_table
    from bot.domain.questions import TicketTimes

    rows = [
        TicketTimes("js-01-zj-centre", "", 4, 1, 0, 3600.0, 7200.0, None),
        TicketTimes("js-01-zj-centre", "朱泾一团队", 3, 3, 2, 1800.0, 5400.0, 86400.0),
        TicketTimes("js-01-zj-centre", "Zhujing 2", 1, 0, 0, None, None, None),
    ]
    lines = ticket_table(rows)
    assert lines[-1] == "8 tickets to 2 teams and 4 to the duty desk"
    table = lines[:-1]
    assert "(duty desk)" in table[1] and "朱泾一团队" in table[2]
    # The "tickets" column ends at the same display column on every line.
    ends = set()
    for line, count in zip(table, ("tickets", "4", "3", "1"), strict=True):
        cut = line.index(count, 38)
        ends.add(display_width(line[:cut]) + len(count))
    assert len(ends) == 1, table
    assert ticket_table([])[-1] == "0 tickets to 0 teams"


def test_report_satisfaction_with_no_answers_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Audit (session 4): with no answers the report printed only its header line."""
    monkeypatch.setenv("DOORSTEP_DB", str(tmp_path / "empty.sqlite3"))
    assert main(["report", "satisfaction"]) == 0
    out = capsys.readouterr().out
    assert out.strip() == "no satisfaction answers yet in the last 365 days"
