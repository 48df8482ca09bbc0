"""Images of My medicines, drawn off-screen (matplotlib's Agg backend) to PNG bytes: the week's
taken / missed chart and the large-print medicine card.

Labels are in the reader's language. Chinese needs a CJK font on the server (Debian's
fonts-noto-cjk, which CI installs); without one, Chinese labels would be drawn as empty
squares, so the image then uses the English words of the same labels and the message around it
stays Chinese. Sizes are chosen for a phone: 1080 px wide, text of 28 px and up.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from functools import lru_cache

import matplotlib

matplotlib.use("Agg")  # off-screen: before pyplot or a figure is made

from matplotlib import font_manager
from matplotlib.figure import Figure

from bot.domain.medicines import DayCount, Entry
from bot.i18n import Translator
from bot.services import medicines_view as view

CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "WenQuanYi Zen Hei", "Source Han Sans SC")
TAKEN_COLOUR = "#1e8449"
MISSED_COLOUR = "#c0392b"
OPEN_COLOUR = "#b3b6b7"


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The name of an installed font that has Chinese characters, if any."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FAMILIES if name in installed), None)


def drawing_translator(t: Translator, fallback: Translator) -> tuple[Translator, list[str]]:
    """The translator whose words the image can show, and the font families to use."""
    if t.locale.startswith("zh"):
        font = cjk_font()
        if font is None:
            return fallback, ["DejaVu Sans"]
        return t, [font, "DejaVu Sans"]
    # English words, but names may be Chinese (a medicine typed in Chinese, a station with no
    # English name): the CJK font as fallback draws them instead of empty boxes.
    font = cjk_font()
    return t, ["DejaVu Sans", font] if font else ["DejaVu Sans"]


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def adherence_png(
    t: Translator, days: Sequence[DayCount], fallback: Translator | None = None
) -> bytes:
    """Stacked bars per day: taken (green), skipped or missed (red), still open (grey)."""
    tt, fonts = drawing_translator(t, fallback or t)
    fig = Figure(figsize=(10.8, 7.2), dpi=100)
    ax = fig.subplots()
    labels = [tt.weekday_date(d.day) for d in days]
    taken = [d.taken for d in days]
    missed = [d.not_taken for d in days]
    still = [d.due for d in days]
    x = range(len(days))
    ax.bar(x, taken, color=TAKEN_COLOUR, label=tt.gettext("Taken"))
    ax.bar(x, missed, bottom=taken, color=MISSED_COLOUR, label=tt.gettext("Missed or skipped"))
    ax.bar(
        x,
        still,
        bottom=[a + b for a, b in zip(taken, missed, strict=True)],
        color=OPEN_COLOUR,
        label=tt.gettext("Not yet answered"),
    )
    ax.set_xticks(list(x), labels, rotation=30, ha="right", fontsize=20, fontfamily=fonts)
    top = max([a + b + c for a, b, c in zip(taken, missed, still, strict=True)] or [0])
    ax.set_yticks(range(0, max(top, 1) + 1, max(1, (top + 5) // 6)))
    ax.tick_params(axis="y", labelsize=20)
    ax.set_title(tt.gettext("Doses taken and missed"), fontsize=30, fontfamily=fonts)
    legend = ax.legend(fontsize=20, loc="upper left", prop={"family": fonts, "size": 20})
    legend.set_frame_on(False)
    ax.set_ylim(0, max(top, 1) * 1.35)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return _png(fig)


def medicine_card_png(
    t: Translator,
    entries: Sequence[Entry],
    fallback: Translator | None = None,
    as_of: date | None = None,
) -> bytes:
    """A card to show at a clinic: one block per medicine, name large, then dose, times and
    meals, and the day it was made; 1080 px wide."""

    tt, fonts = drawing_translator(t, fallback or t)
    rows = max(len(entries), 1)
    height = 2.0 + 2.1 * rows
    fig = Figure(figsize=(10.8, height), dpi=100)
    fig.patch.set_facecolor("white")
    y = 1 - 0.9 / height
    fig.text(0.05, y, tt.gettext("My medicines"), fontsize=44, weight="bold", fontfamily=fonts)
    y -= 0.75 / height
    for e in entries:
        y -= 0.25 / height
        fig.text(0.05, y, view.entry_name(tt, e), fontsize=36, weight="bold", fontfamily=fonts)
        y -= 0.7 / height
        line = " · ".join([view.dose_text(tt, e.amount, e.unit), view.times_text(tt, e.times)])
        fig.text(0.07, y, line, fontsize=30, fontfamily=fonts)
        y -= 0.6 / height
        fig.text(
            0.07,
            y,
            tt.gettext(view.MEALS_LABELS[e.meals]),
            fontsize=28,
            fontfamily=fonts,
            color="#444444",
        )
        y -= 0.55 / height
    if as_of is not None:
        fig.text(
            0.05,
            0.25 / height,
            tt.gettext("As of {date}").format(date=tt.date(as_of)),
            fontsize=22,
            color="#666666",
            fontfamily=fonts,
        )
    return _png(fig)
