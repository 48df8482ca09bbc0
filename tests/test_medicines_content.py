"""The medicine list and the rules around it, at their boundaries: the content and its source,
pinyin search, broken files named, typed amounts, the deployment's hours cap, and which doses
are expected (added, stopped, start and end dates)."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import ROOT, ConfigError
from bot.domain.medicines import MISSED_AFTER_S, DoseStatus, Entry, Meals, dose_status
from bot.services.medicines import DayPlanner, HoursCap, duplicates, parse_cap
from bot.services.medicines_catalog import MedicineContentError, initials, load_catalog
from bot.services.medicines_input import parse_amount

SH = ZoneInfo("Asia/Shanghai")


def test_the_list_cites_the_2018_essential_medicines_list() -> None:
    catalog = load_catalog(ROOT / "content" / "medicines")
    assert "国家基本药物目录（2018年版）" in catalog.source_zh
    assert "2018 edition" in catalog.source_en
    assert len(catalog.medicines) >= 20
    assert {m.group for m in catalog.medicines} == {g.id for g in catalog.groups}
    for m in catalog.medicines:
        assert m.name_zh and m.name_en and m.ingredient_zh and m.ingredient_en, m.id
        assert m.strengths, m.id  # common strengths, as on the box
    # Entries sharing an ingredient exist (the same-ingredient note has something to find).
    assert {m.id for m in catalog.medicines if m.ingredient_en == "nifedipine"} == {
        "nifedipine",
        "nifedipine-sr",
    }


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("aldp", "amlodipine"),  # ingredient initials: 氨氯地平
        ("bhsaldpp", "amlodipine"),  # name initials: 苯磺酸氨氯地平片
        ("dxsy", "isosorbide-mononitrate"),  # 单 read as dan, not shan
        ("ejsg", "metformin"),
        ("二甲双胍", "metformin"),
        ("METFORMIN", "metformin"),
        ("ＧＬＭＮ", "glimepiride"),  # full-width letters
        ("阿托伐", "atorvastatin"),
    ],
)
def test_search(typed: str, found: str) -> None:
    catalog = load_catalog(ROOT / "content" / "medicines")
    assert found in [m.id for m in catalog.search(typed)]


def test_search_misses_and_initials() -> None:
    catalog = load_catalog(ROOT / "content" / "medicines")
    assert catalog.search("") == [] and catalog.search("zzzz") == []
    assert initials("地高辛") == "dgx"


def test_a_broken_file_is_named(tmp_path: Path) -> None:
    good = (ROOT / "content" / "medicines" / "essential-2018.yaml").read_text("utf-8")
    (tmp_path / "x.yaml").write_text(good.replace("unit: tablet", "unit: spoon", 1), "utf-8")
    with pytest.raises(MedicineContentError, match=r"x\.yaml medicine 'amlodipine': unit"):
        load_catalog(tmp_path)
    (tmp_path / "x.yaml").write_text(good.replace("source:", "sauce:"), "utf-8")
    with pytest.raises(MedicineContentError, match="source"):
        load_catalog(tmp_path)


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("1", "1"),
        ("½", "½"),
        ("1/2", "1/2"),
        ("0.5", "0.5"),
        ("100", "100"),
        ("１½", "1½"),
        ("半", "½"),
        ("10 units", "10 units"),
        ("2 揿", "2 揿"),
        ("0", None),
        ("100.5", None),
        ("101", None),
        ("lots", None),
        ("", None),
        ("1" * 21, None),
    ],
)
def test_typed_amounts(typed: str, kept: str | None) -> None:
    assert parse_amount(typed) == kept


def test_hours_cap_boundaries() -> None:
    cap = parse_cap("06:00-22:30")
    assert not cap.allows(time(5, 59)) and cap.allows(time(6, 0))
    assert cap.allows(time(22, 29)) and not cap.allows(time(22, 30))
    assert parse_cap("").allows(time(3, 0))
    assert parse_cap("00:00-24:00").allows(time(23, 59))
    for bad in ("22:00-06:00", "6-22", "06:00"):
        with pytest.raises(ConfigError):
            parse_cap(bad)


def _entry(**kw: object) -> Entry:
    values: dict[str, object] = {
        "id": 1,
        "resident_id": 1,
        "catalog_id": None,
        "name": "x",
        "name_en": "x",
        "ingredient": "metformin",
        "strength": "",
        "amount": "1",
        "unit": "tablet",
        "times": ("08:00", "20:00"),
        "meals": Meals.AFTER,
        "start_on": date(2026, 11, 24),
        "end_on": date(2026, 11, 25),
        "active": True,
        "created_at": int(datetime(2026, 11, 24, 9, 0, tzinfo=SH).timestamp()),
        "stopped_at": int(datetime(2026, 11, 25, 12, 0, tzinfo=SH).timestamp()),
    }
    values.update(kw)
    return Entry(**values)  # type: ignore[arg-type]


def test_expected_doses_follow_added_stopped_start_and_end() -> None:
    planner = DayPlanner(SH, HoursCap())
    e = _entry()

    def hhmm(day: int) -> list[str]:
        return [
            datetime.fromtimestamp(at, SH).strftime("%H:%M")
            for at in planner.moments_on(e, date(2026, 11, day))
        ]

    assert hhmm(23) == []  # before the start
    assert hhmm(24) == ["20:00"]  # added at 09:00: the 08:00 dose was not expected
    assert hhmm(25) == ["08:00"]  # stopped at 12:00
    assert hhmm(26) == []  # after the end
    assert duplicates([e, _entry(id=2)]) and not duplicates([e, _entry(id=2, active=False)])


def test_a_dose_is_missed_three_hours_after_its_time() -> None:
    at = 1_000_000
    assert dose_status(None, at, at + MISSED_AFTER_S - 1) is DoseStatus.DUE
    assert dose_status(None, at, at + MISSED_AFTER_S) is DoseStatus.MISSED
    assert dose_status("taken", at, at + 10 * MISSED_AFTER_S) is DoseStatus.TAKEN
