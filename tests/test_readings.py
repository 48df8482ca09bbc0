"""Home readings: parsing, validation prompts, danger and control thresholds, the chart."""

from __future__ import annotations

import struct
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from bot.config import ROOT
from bot.i18n import Catalogs
from bot.services import readings as rd
from bot.services.charts import (
    BpPoint,
    GlucosePoint,
    TargetLines,
    cjk_family,
    readings_chart,
)
from bot.services.clinical_rules import load_content
from bot.services.readings import BloodPressure, Glucose, ReadingError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("135/85", BloodPressure(135, 85)),
        ("135/85 72", BloodPressure(135, 85, 72)),
        (" 135 / 85 ", BloodPressure(135, 85)),
        ("135/85,72", BloodPressure(135, 85, 72)),
        ("１３５／８５", BloodPressure(135, 85)),  # full-width, as Chinese keyboards type it
    ],
)
def test_parse_bp(text: str, expected: BloodPressure) -> None:
    assert rd.parse_bp(text) == expected
    assert rd.parse_any(text) == expected


@pytest.mark.parametrize(
    ("text", "tenths"),
    [("6.1", 61), ("6,1", 61), ("7", 70), ("6.15", 62), ("16.7 mmol/L", 167), ("５.５", 55)],
)
def test_parse_glucose(text: str, tenths: int) -> None:
    assert rd.parse_glucose(text) == Glucose(tenths)
    assert rd.parse_any(text) == Glucose(tenths)


@pytest.mark.parametrize(
    ("text", "msgid"),
    [
        ("abc", rd.LETTERS),
        ("135/8a", rd.LETTERS),
        ("high", rd.LETTERS),
        ("400/20", rd.SYSTOLIC_OUT),
        ("50/40", rd.SYSTOLIC_OUT),
        ("135/20", rd.DIASTOLIC_OUT),
        ("120/170", rd.DIASTOLIC_OUT),
        ("85/135", rd.DIASTOLIC_NOT_LOWER),
        ("120/120", rd.DIASTOLIC_NOT_LOWER),
        ("135/85 300", rd.PULSE_OUT),
        ("135/", rd.BP_SHAPE),
        ("135/85/72", rd.BP_SHAPE),
        ("1350/85", rd.BP_SHAPE),
    ],
)
def test_invalid_bp_gets_its_correction_prompt(text: str, msgid: str) -> None:
    with pytest.raises(ReadingError) as err:
        rd.parse_bp(text)
    assert err.value.msgid == msgid


@pytest.mark.parametrize(
    ("text", "msgid"),
    [
        ("six", rd.LETTERS),
        ("0.5", rd.GLUCOSE_OUT),
        ("40.0", rd.GLUCOSE_OUT),
        ("6..1", rd.GLUCOSE_SHAPE),
        ("", rd.GLUCOSE_SHAPE),
    ],
)
def test_invalid_glucose_gets_its_correction_prompt(text: str, msgid: str) -> None:
    with pytest.raises(ReadingError) as err:
        rd.parse_glucose(text)
    assert err.value.msgid == msgid


def test_a_lone_blood_pressure_number_is_not_taken_for_glucose() -> None:
    with pytest.raises(ReadingError) as err:
        rd.parse_any("135")
    assert err.value.msgid == rd.BP_SHAPE


def test_out_of_range_prompt_names_the_range() -> None:
    with pytest.raises(ReadingError) as err:
        rd.parse_bp("400/20")
    assert err.value.params == {"low": 60, "high": 260}


def test_entry_ranges_are_the_clinical_rules_quantities() -> None:
    """One source: the ranges a reading is checked against are those the rules cover."""
    content = load_content(ROOT / "content" / "clinical")
    bp = content.measure("blood_pressure")
    assert (bp.quantity("systolic").low, bp.quantity("systolic").high) == rd.SYSTOLIC_RANGE  # type: ignore[union-attr]
    assert (bp.quantity("diastolic").low, bp.quantity("diastolic").high) == rd.DIASTOLIC_RANGE  # type: ignore[union-attr]
    pulse = content.measure("pulse").quantity("pulse")
    assert pulse is not None and (pulse.low, pulse.high) == rd.PULSE_RANGE
    gl = content.measure("glucose").quantity("glucose")
    assert gl is not None and (gl.low * 10, gl.high * 10) == rd.GLUCOSE_TENTHS_RANGE


@pytest.mark.parametrize(("text", "display"), [("HI", "HI"), ("lo", "LO"), ("ＨＩ", "HI")])
def test_meter_hi_lo(text: str, display: str) -> None:
    g = rd.parse_glucose(text, "after_meal")
    assert (g.display, g.context) == (display, "after_meal")


@pytest.mark.parametrize(
    ("text", "measure", "values"),
    [
        ("35.1", "glucose", {"glucose": Decimal("35.1")}),
        ("0.9", "glucose", {"glucose": Decimal("0.9")}),
    ],
)
def test_glucose_beyond_the_range_says_what(text: str, measure: str, values: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(ReadingError) as err:
        rd.parse_glucose(text)
    assert err.value.beyond == (measure, values)


def test_bp_beyond_the_range_says_what() -> None:
    with pytest.raises(ReadingError) as err:
        rd.parse_bp("270/100")
    assert err.value.beyond == ("blood_pressure", {"systolic": Decimal(270)})


TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 1, 7, 30, tzinfo=TZ)
BP = [BpPoint(START + timedelta(days=i), 130 + i, 80 + i) for i in range(10)]
GL = [GlucosePoint(START + timedelta(days=2 * i), 6.0 + i / 10) for i in range(5)]


def test_chart_is_a_phone_sized_png() -> None:
    en = Catalogs().get("en")
    for chart in (
        readings_chart(BP, GL, en),
        readings_chart(BP[:1], [], en),
        readings_chart([], GL, en),
    ):
        assert chart.png.startswith(b"\x89PNG\r\n\x1a\n")
        width, height = struct.unpack(">II", chart.png[16:24])
        # 840 px drawn for about 350 CSS px on a phone: 13 pt ticks show at about 15 px.
        assert width == 840 and height >= 600


def test_chart_in_chinese_says_no_sys_dia_and_dates_by_babel() -> None:
    zh = Catalogs().get("zh_Hans")
    chart = readings_chart(BP, GL, zh, Catalogs().get("en"), family=cjk_family())
    if chart.family is None:
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    drawn = " ".join(chart.texts)
    assert chart.locale == "zh_Hans" and chart.note is None
    assert (
        "血压（毫米汞柱）" in drawn
        and "高压（收缩压）" in drawn
        and "空腹血糖（毫摩尔/升）" in drawn
    )
    assert "11月" in drawn and "日" in drawn
    for english in ("SYS", "DIA", "mmHg", "mmol/L", "Systolic", "target", "11-0"):
        assert english not in drawn


def test_chart_in_english_uses_day_month_dates() -> None:
    drawn = " ".join(readings_chart(BP, [], Catalogs().get("en")).texts)
    assert "Blood pressure (mmHg)" in drawn and "Systolic" in drawn and " Nov" in drawn


def test_chart_draws_the_residents_own_targets_and_only_those() -> None:
    en = Catalogs().get("en")
    # The clinical rules' home targets for someone under 65 (not the old fixed 140/90).
    drawn = readings_chart(BP, GL, en, targets=TargetLines(135, 85, 7.0)).texts
    assert {"target 135", "target 85", "target 7"} <= set(drawn)
    # No rule for this person, no line: the chart never shows a target it was not given.
    bare = readings_chart(BP, GL, en).texts
    assert not [x for x in bare if x.startswith("target")]


def test_chart_keeps_after_meal_glucose_apart_from_fasting() -> None:
    en = Catalogs().get("en")
    fasting_only = readings_chart([], GL, en).texts
    assert "Fasting glucose (mmol/L)" in fasting_only and "2 h after a meal" not in fasting_only
    meal = [GlucosePoint(START + timedelta(days=1, hours=5), 8.5, after_meal=True)]
    mixed = readings_chart([], [*GL, *meal], en, targets=TargetLines(glucose=7.0)).texts
    assert "Blood glucose (mmol/L)" in mixed and "Fasting glucose (mmol/L)" not in mixed
    assert "fasting" in mixed and "2 h after a meal" in mixed


def test_without_a_cjk_font_the_chart_falls_back_to_english_and_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import bot.services.charts as charts

    monkeypatch.setattr(charts, "cjk_family", lambda: None)
    zh, en = Catalogs().get("zh_Hans"), Catalogs().get("en")
    chart = readings_chart(BP, GL, zh, en)
    assert chart.locale == "en" and "Blood pressure (mmHg)" in chart.texts
    assert chart.note == "（服务器上没有安装中文字体，图表暂用英文显示。）"


def test_chart_refuses_nothing_to_draw() -> None:
    with pytest.raises(ValueError):
        readings_chart([], [], Catalogs().get("en"))


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("135", 135),
        ("１３５", 135),  # full-width
        ("¹³⁵", 135),  # superscripts: isdigit() says yes but int() refused them
        ("②", 2),  # circled
        (" 85 ", 85),
        ("١٣٥", None),  # other scripts' digits are not read as a number here
        ("135/85", None),
        ("6.1", None),
        ("abc", None),
        ("", None),
        ("1234567", None),
    ],
)
def test_whole_number_reads_any_typed_digits_and_never_raises(
    text: str, number: int | None
) -> None:
    assert rd.whole_number(text) == number


@pytest.mark.parametrize("text", ["¹³⁵/⁸⁵", "①③⑤/⑧⑤"])
def test_bp_in_superscript_or_circled_digits(text: str) -> None:
    assert rd.parse_bp(text) == BloodPressure(135, 85)


@pytest.mark.parametrize("text", ["6.1x", "NaN", "Infinity", "sNaN"])
def test_glucose_tenths_errors_do_not_carry_the_value(text: str) -> None:
    with pytest.raises(ValueError) as err:
        rd.glucose_tenths(text)
    assert text not in str(err.value)
