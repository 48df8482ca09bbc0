"""Charts of home readings, drawn off-screen to PNG bytes.

Labels are ASCII only (units, dates as numbers): the server may have no CJK font, and a
missing glyph would be drawn as empty squares. The words around the chart are in the message
text, in the resident's language.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import matplotlib

matplotlib.use("Agg")  # off-screen: no display on a server; before pyplot is imported

import matplotlib.dates as mdates
from matplotlib.figure import Figure
from matplotlib.ticker import Formatter, Locator

from bot.services.readings import (
    CONTROLLED_DIASTOLIC,
    CONTROLLED_GLUCOSE,
    CONTROLLED_SYSTOLIC,
)


@dataclass(frozen=True, slots=True)
class BpPoint:
    at: datetime  # local time
    systolic: int
    diastolic: int


@dataclass(frozen=True, slots=True)
class GlucosePoint:
    at: datetime  # local time
    mmol: float


def readings_png(bp: Sequence[BpPoint], glucose: Sequence[GlucosePoint]) -> bytes:
    """A PNG with one panel per kind of reading present (blood pressure, fasting glucose),
    with the "controlled" targets drawn as dashed lines."""
    panels = int(bool(bp)) + int(bool(glucose))
    if panels == 0:
        raise ValueError("nothing to draw")
    # Figure (not pyplot) keeps no global state, so concurrent requests cannot mix figures.
    fig = Figure(figsize=(7, 3.2 * panels), dpi=100)
    axes = fig.subplots(panels, 1, squeeze=False)[:, 0]
    i = 0
    if bp:
        ax = axes[i]
        i += 1
        times = [p.at for p in bp]
        ax.plot(times, [p.systolic for p in bp], "o-", color="#c0392b", label="SYS")
        ax.plot(times, [p.diastolic for p in bp], "s-", color="#2471a3", label="DIA")
        ax.axhline(CONTROLLED_SYSTOLIC, color="#c0392b", linestyle="--", linewidth=0.8)
        ax.axhline(CONTROLLED_DIASTOLIC, color="#2471a3", linestyle="--", linewidth=0.8)
        ax.set_ylabel("mmHg")
        ax.legend(loc="upper left", fontsize=8)
        _dates(ax, times)
    if glucose:
        ax = axes[i]
        times = [p.at for p in glucose]
        ax.plot(times, [p.mmol for p in glucose], "o-", color="#7d3c98")
        ax.axhline(CONTROLLED_GLUCOSE / 10, color="#7d3c98", linestyle="--", linewidth=0.8)
        ax.set_ylabel("mmol/L")
        _dates(ax, times)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _dates(ax: Any, times: Sequence[datetime]) -> None:
    # matplotlib places and formats ticks in UTC unless told: a reading at 07:00 in Shanghai
    # would show the day before.
    tz = times[0].tzinfo
    lo, hi = min(times), max(times)
    days = (hi - lo).days
    pad = max((hi - lo) / 20, timedelta(hours=12))
    ax.set_xlim(lo - pad, hi + pad)
    # Whole days only, at most ~8 ticks: the labels are dates, never hours.
    # matplotlib.dates leaves these constructors unannotated.
    day_locator = cast(Callable[..., Locator], mdates.DayLocator)
    date_formatter = cast(Callable[..., Formatter], mdates.DateFormatter)
    ax.xaxis.set_major_locator(day_locator(interval=max(1, days // 7 + 1), tz=tz))
    ax.xaxis.set_major_formatter(date_formatter("%m-%d", tz=tz))
    ax.grid(True, alpha=0.3)
