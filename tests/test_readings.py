"""Home readings: parsing, validation prompts, danger and control thresholds, the chart."""

from __future__ import annotations

import struct
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import Catalogs
from bot.services import readings as rd
from bot.services.charts import (
    BpPoint,
    GlucosePoint,
    cjk_family,
    readings_chart,
)
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


@pytest.mark.parametrize(
    ("sys", "dia", "danger"),
    [
        (179, 109, False),
        (180, 80, True),
        (180, 109, True),
        (150, 110, True),
        (179, 110, True),
        (200, 120, True),
    ],
)
def test_bp_danger_boundaries(sys: int, dia: int, danger: bool) -> None:
    assert rd.assess(rd.check_bp(sys, dia)).danger is danger


@pytest.mark.parametrize(
    ("sys", "dia", "controlled"),
    [(139, 89, True), (140, 90, False), (140, 80, False), (130, 90, False), (110, 70, True)],
)
def test_bp_control_boundaries(sys: int, dia: int, controlled: bool) -> None:
    assert rd.assess(rd.check_bp(sys, dia)).controlled is controlled


@pytest.mark.parametrize(
    ("text", "danger", "controlled"),
    [
        ("16.7", True, False),
        ("16.6", False, False),
        ("3.9", True, False),
        ("4.0", False, True),
        ("7.0", False, False),
        ("6.9", False, True),
        ("16.65", True, False),  # rounds half up to 16.7
    ],
)
def test_glucose_boundaries(text: str, danger: bool, controlled: bool) -> None:
    result = rd.assess(rd.parse_glucose(text))
    assert (result.danger, result.controlled) == (danger, controlled)


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
        and "收缩压（高压）" in drawn
        and "空腹血糖（毫摩尔/升）" in drawn
    )
    assert "11月" in drawn and "日" in drawn
    for english in ("SYS", "DIA", "mmHg", "mmol/L", "Systolic", "target", "11-0"):
        assert english not in drawn


def test_chart_in_english_uses_day_month_dates() -> None:
    drawn = " ".join(readings_chart(BP, [], Catalogs().get("en")).texts)
    assert "Blood pressure (mmHg)" in drawn and "Systolic" in drawn and " Nov" in drawn


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
