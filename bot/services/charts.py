"""Charts of home readings, drawn off-screen to PNG bytes, in the reader's language.

Made to be read on a phone: the picture is shown about 350 CSS pixels wide (the web chat,
Telegram, WeChat), so the figure is narrow (4.2 in) and its type large (13-15 pt), which comes
out at about 15-17 px on the screen. Every word goes through gettext and the axis dates through
`Translator.day_month` (Babel: "12月4日" / "4 Dec").

Chinese needs a CJK font (Debian: fonts-noto-cjk). When none is installed the chart is drawn
with English labels instead of empty squares, says so in a line under the chart, and the
operator is told once in the log.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import matplotlib

matplotlib.use("Agg")  # off-screen: no display on a server; before pyplot is imported

import matplotlib.dates as mdates
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter

from bot.i18n import N_, Translator
from bot.services.reading_view import OFF_TARGET, URGENT

log = logging.getLogger(__name__)

# Families that draw Simplified Chinese, best first.
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Noto Sans CJK JP",
    "Droid Sans Fallback",
)
# Font files to register when matplotlib's own list (built once, cached) lacks them.
_CJK_FILE_HINTS = ("notosanscjk", "sourcehansans", "wqy", "droidsansfallback")

WIDTH_IN = 4.2
PANEL_IN = 3.6
DPI = 200  # 840 px wide: sharp on phone screens of 2-3 device pixels per CSS pixel
TICK_PT = 13
LABEL_PT = 14
TITLE_PT = 15

TITLE_BP = N_("Blood pressure (mmHg)")
TITLE_GLUCOSE = N_("Fasting glucose (mmol/L)")
TITLE_GLUCOSE_ANY = N_("Blood glucose (mmol/L)")
FASTING = N_("fasting")
AFTER_MEAL = N_("2 h after a meal")
SYSTOLIC = N_("Systolic")
DIASTOLIC = N_("Diastolic")
TARGET = N_("target")
NO_CJK_FONT = N_("(The chart is in English: no Chinese font is installed on the server.)")


@dataclass(frozen=True, slots=True)
class TargetLines:
    """Where the resident's own targets end (from the clinical rules), drawn dashed."""

    systolic: float | None = None
    diastolic: float | None = None
    glucose: float | None = None  # fasting


@dataclass(frozen=True, slots=True)
class BpPoint:
    at: datetime  # local time
    systolic: int
    diastolic: int
    level: str = ""  # the stored decision's mark level (bot.services.reading_view)


@dataclass(frozen=True, slots=True)
class GlucosePoint:
    at: datetime  # local time
    mmol: float
    after_meal: bool = False  # 2 hours after a meal (else fasting)
    level: str = ""  # the stored decision's mark level (bot.services.reading_view)


@dataclass(frozen=True, slots=True)
class Chart:
    png: bytes
    locale: str  # the language its labels are in (English when no CJK font was found)
    note: str | None = None  # say this with the chart (the visible font fallback)
    texts: tuple[str, ...] = ()  # every word and number drawn (titles, legend, ticks)
    family: str | None = None  # the CJK font family used, if any
    rings: tuple[str, ...] = ()  # the mark level of every ringed reading, in drawing order


@lru_cache(maxsize=1)
def cjk_family() -> str | None:
    """The installed font family that draws Chinese, or None."""
    known = {f.name for f in font_manager.fontManager.ttflist}
    if not any(name in known for name in CJK_FAMILIES):
        for path in font_manager.findSystemFonts():
            if any(h in path.lower().replace("-", "").replace("_", "") for h in _CJK_FILE_HINTS):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
        known = {f.name for f in font_manager.fontManager.ttflist}
    family = next((name for name in CJK_FAMILIES if name in known), None)
    if family is None:
        log.warning(
            "no CJK font found: readings charts are drawn with English labels "
            "(install fonts-noto-cjk)"
        )
    return family


def readings_chart(
    bp: Sequence[BpPoint],
    glucose: Sequence[GlucosePoint],
    t: Translator,
    english: Translator | None = None,
    family: str | None = None,
    targets: TargetLines | None = None,
) -> Chart:
    """One panel per kind of reading present (blood pressure, glucose), with the resident's
    own targets (`targets`, from the clinical rules) as labelled dashed lines, labelled in
    `t`'s language. Chinese labels need a CJK font (`family`, found by `cjk_family()` by
    default); without one the labels are in `english` and the Chart carries a note saying so.
    Glucose after a meal is its own series: the dashed glucose line is the fasting target."""
    targets = targets or TargetLines()
    panels = int(bool(bp)) + int(bool(glucose))
    if panels == 0:
        raise ValueError("nothing to draw")
    note = None
    if t.locale != "en":
        family = family or cjk_family()
        if family is None and english is not None:
            note = t.gettext(NO_CJK_FONT)
            t = english
    fonts: dict[str, Any] = {"family": [family, "DejaVu Sans"] if family else ["DejaVu Sans"]}
    # Figure (not pyplot) keeps no global state, so concurrent requests cannot mix figures.
    fig = Figure(figsize=(WIDTH_IN, PANEL_IN * panels), dpi=DPI)
    axes = fig.subplots(panels, 1, squeeze=False)[:, 0]
    i = 0
    if bp:
        ax = axes[i]
        i += 1
        times = [p.at for p in bp]
        ax.plot(times, [p.systolic for p in bp], "o-", color="#c0392b", label=t.gettext(SYSTOLIC))
        ax.plot(times, [p.diastolic for p in bp], "s-", color="#2471a3", label=t.gettext(DIASTOLIC))
        _rings(ax, [(p.at, p.systolic, p.level) for p in bp])
        for value, color in ((targets.systolic, "#c0392b"), (targets.diastolic, "#2471a3")):
            if value is not None:
                ax.axhline(value, color=color, linestyle="--", linewidth=1.2)
                _target_label(ax, value, t, fonts)
        ax.set_title(t.gettext(TITLE_BP), fontsize=TITLE_PT, fontfamily=fonts["family"])
        # Under the plot, never over a reading.
        ax.legend(
            loc="upper center",
            bbox_to_anchor=(0.5, -0.13),
            ncol=2,
            frameon=False,
            prop={"family": fonts["family"], "size": LABEL_PT - 2},
        )
        _axes(ax, times, t, fonts)
    if glucose:
        ax = axes[i]
        times = [p.at for p in glucose]
        fasting = [p for p in glucose if not p.after_meal]
        meal = [p for p in glucose if p.after_meal]
        if fasting:
            ax.plot(
                [p.at for p in fasting],
                [p.mmol for p in fasting],
                "o-",
                color="#7d3c98",
                label=t.gettext(FASTING),
            )
        if meal:
            ax.plot(
                [p.at for p in meal],
                [p.mmol for p in meal],
                "^:",
                color="#d35400",
                label=t.gettext(AFTER_MEAL),
            )
        _rings(ax, [(p.at, p.mmol, p.level) for p in glucose])
        if targets.glucose is not None:
            ax.axhline(targets.glucose, color="#7d3c98", linestyle="--", linewidth=1.2)
            _target_label(ax, targets.glucose, t, fonts)
        # "Fasting" only when every value drawn is one; after-meal values get a legend.
        title = TITLE_GLUCOSE_ANY if meal else TITLE_GLUCOSE
        ax.set_title(t.gettext(title), fontsize=TITLE_PT, fontfamily=fonts["family"])
        if meal:
            ax.legend(
                loc="upper center",
                bbox_to_anchor=(0.5, -0.13),
                ncol=2,
                frameon=False,
                prop={"family": fonts["family"], "size": LABEL_PT - 2},
            )
        _axes(ax, times, t, fonts)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    drawn = tuple(x.get_text() for x in fig.findobj(Text) if x.get_visible() and x.get_text())
    rings = tuple(
        str(c.get_gid())[len("ring-") :]
        for ax in axes
        for c in ax.collections
        if str(c.get_gid()).startswith("ring-")
        for _ in range(len(c.get_offsets()))
    )
    return Chart(buf.getvalue(), t.locale, note, drawn, family, rings)


# The rings around readings the rules marked 🚨 (red) or ⚠️ (orange): the same stored
# decision as the list beside the chart (bot.services.reading_view.reading_mark).
RINGS = {URGENT: ("#b00000", 260.0), OFF_TARGET: ("#e67e22", 170.0)}


def _rings(ax: Any, points: Sequence[tuple[datetime, float, str]]) -> None:
    for level, (color, size) in RINGS.items():
        chosen = [(at, y) for at, y, lv in points if lv == level]
        if chosen:
            ax.scatter(
                [at for at, _ in chosen],
                [y for _, y in chosen],
                s=size,
                facecolors="none",
                edgecolors=color,
                linewidths=2.5,
                zorder=5,
                gid=f"ring-{level}",
            )


def _target_label(ax: Any, value: float, t: Translator, fonts: dict[str, Any]) -> None:
    ax.annotate(
        f"{t.gettext(TARGET)} {t.number(value)}",
        xy=(1, value),
        xycoords=("axes fraction", "data"),
        xytext=(-4, 3),
        textcoords="offset points",
        ha="right",
        va="bottom",
        fontsize=TICK_PT - 2,
        fontfamily=fonts["family"],
        color="#333333",
    )


def _axes(ax: Any, times: Sequence[datetime], t: Translator, fonts: dict[str, Any]) -> None:
    # matplotlib places ticks in UTC unless told: a reading at 07:00 in Shanghai would show
    # the day before.
    tz = times[0].tzinfo
    lo, hi = min(times), max(times)
    days = (hi - lo).days
    pad = max((hi - lo) / 12, timedelta(hours=12))
    ax.set_xlim(lo - pad, hi + pad)
    # Whole days only, at most 4 ticks on a phone-wide chart: dates, never hours. Ticks at
    # noon, so a day's label sits under that day's readings rather than at its midnight.
    # (matplotlib.dates has no type hints for these.)
    every = max(1, days // 3 + 1)
    rule = mdates.rrulewrapper(mdates.DAILY, interval=every, byhour=12, tzinfo=tz)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(mdates.RRuleLocator(rule, tz=tz))  # type: ignore[no-untyped-call]

    def label(x: float, _pos: int) -> str:
        return t.day_month(mdates.num2date(x, tz=tz))  # type: ignore[no-untyped-call]

    ax.xaxis.set_major_formatter(FuncFormatter(label))
    ax.tick_params(axis="both", labelsize=TICK_PT, labelfontfamily=fonts["family"][0])
    ax.margins(y=0.2)  # room above the highest line for its "target" label
    ax.grid(True, alpha=0.3)
