"""`doorstep vaccines plan|validate` through the real command-line entry point."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from bot.cli import main
from bot.services.vaccines.dose_state import Shown

EXAMPLE = [
    "vaccines",
    "plan",
    "--born",
    "2025-03-31",
    "--given",
    "HepB-1@2025-03-31",
    "--given",
    "BCG-1@2025-04-02",
    "--today",
    "2026-01-10",
]


@pytest.fixture(autouse=True)
def _plain_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DOORSTEP_VACCINE_JE", "DOORSTEP_VACCINE_HEPA", "DOORSTEP_CONTENT"):
        monkeypatch.delenv(name, raising=False)


def run_json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict:
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_plan_json_for_the_issue_example(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(capsys, EXAMPLE)
    assert (out["born"], out["today"]) == ("2025-03-31", "2026-01-10")
    assert out["schedule_versions"] == ["2025", "2025-11"]
    assert out["choices"] == {"JE": "live", "HepA": "live"}
    by_dose = {d["dose"]: d for d in out["doses"]}
    assert len(by_dose) == len(out["doses"]) == 31
    assert all({"dose", "status", "due", "complete_by"} <= d.keys() for d in out["doses"])
    assert {k: by_dose["DTaP-2"][k] for k in ("status", "due", "complete_by")} == {
        "status": "upcoming",
        "due": "2026-02-07",
        "complete_by": None,
    }
    assert by_dose["HepB-3"]["complete_by"] == "2026-03-30"
    assert by_dose["BCG-1"]["status"] == "done" and by_dose["BCG-1"]["given"] == "2025-04-02"
    assert by_dose["JE-I-1"]["status"] == "not_needed"


def test_plan_choices_from_flags_and_from_the_deployment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = run_json(capsys, [*EXAMPLE, "--je", "inactivated", "--hepa", "inactivated"])
    statuses = {d["dose"]: d["status"] for d in out["doses"]}
    assert (statuses["JE-I-1"], statuses["JE-L-1"]) == ("due", "not_needed")
    assert (statuses["HepA-I-1"], statuses["HepA-L-1"]) == ("upcoming", "not_needed")
    monkeypatch.setenv("DOORSTEP_VACCINE_JE", "inactivated")
    out = run_json(capsys, EXAMPLE)
    assert out["choices"]["JE"] == "inactivated"


def test_plan_as_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(EXAMPLE) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "born 2025-03-31  today 2026-01-10  schedule version(s) 2025, 2025-11"
    assert any(line.startswith("DTaP-2     upcoming    upcoming     2026-02-07") for line in lines)


def test_plan_explains_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*EXAMPLE, "--given", "DTaP-1@2024-01-01"]) == 2
    err = capsys.readouterr().err
    assert "DTaP-1 was given on 2024-01-01, before the birth date 2025-03-31" in err
    assert "Traceback" not in err
    assert main([*EXAMPLE, "--given", "DTaP-1"]) == 2
    assert "should look like DTaP-1@2025-06-30" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["vaccines", "plan", "--born", "2025-02-30"])
    assert exc.value.code == 2
    assert "'2025-02-30' is not a date YYYY-MM-DD" in capsys.readouterr().err


def test_validate_the_shipped_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["vaccines", "validate"]) == 0
    out = capsys.readouterr().out
    assert "version 2021, effective 2021-03-01, 13 vaccines, 28 doses" in out
    assert "version 2025, effective 2025-01-01, 12 vaccines, 28 doses" in out


def test_validate_and_plan_refuse_a_broken_operator_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    shipped = Path(__file__).resolve().parent.parent / "content" / "vaccines"
    text = (shipped / "cn-nip-2025.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "cn-nip-2025.yaml"
    bad.write_text(text.replace("    name_en: BCG vaccine\n", ""), encoding="utf-8")
    assert main(["vaccines", "validate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"problem: {bad}: BCG: 'name_en' is required" in err
    assert main([*EXAMPLE, "--schedules", str(tmp_path)]) == 1
    assert "the schedule files are invalid" in capsys.readouterr().err


def test_plan_shows_the_same_state_as_every_screen(capsys: pytest.CaptureFixture[str]) -> None:
    """The operator's view of a dose is the cards' state (dose_state), next to the planner's."""
    argv = ["vaccines", "plan", "--born", "2025-11-01", "--today", "2026-11-24"]
    argv += ["--given", "HepB-1@2025-11-01", "HepB-2@2026-11-20"]
    out = run_json(capsys, argv)
    by_dose = {d["dose"]: d for d in out["doses"]}
    # Past its deadline but waiting 60 days after HepB-2: the planner says overdue, every
    # screen says late, not before 19 January.
    assert by_dose["HepB-3"]["status"] == "overdue"
    assert by_dose["HepB-3"]["shown"] == Shown.LATE_WAITING
    assert date.fromisoformat(by_dose["HepB-3"]["give_from"]) == date(2027, 1, 19)
    assert main(argv) == 0
    table = capsys.readouterr().out
    line = next(x for x in table.splitlines() if x.startswith("HepB-3"))
    assert line.split()[:3] == ["HepB-3", "overdue", "late_waiting"]
