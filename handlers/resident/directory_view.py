"""How directory things read in a chat: names in the user's language, hours, open now,
distances, kinds and services. Shared by the doctor and stations features (no handlers here).
"""

from __future__ import annotations

from bot import names
from bot.context import Ctx
from bot.core import Venue
from bot.domain.directory import Doctor, Station
from bot.i18n import N_
from bot.services.directory import CIRCLE_MINUTES, Place
from bot.services.hours import DAYS, OpenStatus, hhmm

KIND_LABELS = {
    "centre": N_("community health service centre"),
    "station": N_("community health station"),
    "village_clinic": N_("village clinic"),
    "smart_station": N_("smart health station (self-service)"),
    "hospital": N_("hospital"),
}
SERVICE_LABELS = {
    "vaccination": N_("vaccination"),
    "chronic_disease": N_("chronic disease care"),
    "rehabilitation": N_("rehabilitation"),
    "tcm": N_("traditional Chinese medicine"),
    "fever_clinic": N_("fever clinic"),
    "self_check_bp": N_("blood pressure self check"),
    "self_check_glucose": N_("blood sugar self check"),
    "emergency": N_("emergency"),
}
DAY_LABELS = dict(
    zip(
        DAYS,
        (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun")),
        strict=True,
    )
)


def zh_first(ctx: Ctx, zh: str, en: str) -> str:
    """The Chinese text for Chinese readers, the English one (if any) for others."""
    return names.shown_name(ctx.locale, zh, en)


def station_name(ctx: Ctx, s: Station) -> str:
    return names.station_name(ctx.locale, s)


def station_address(ctx: Ctx, s: Station) -> str:
    return zh_first(ctx, s.address_zh, s.address_en)


def doctor_name(ctx: Ctx, d: Doctor) -> str:
    return names.doctor_name(ctx.locale, d)


def team_name(ctx: Ctx, d: Doctor) -> str:
    return names.team_name(ctx.locale, d)


def kind_label(ctx: Ctx, kind: str) -> str:
    return ctx._(KIND_LABELS[kind]) if kind in KIND_LABELS else kind


def services_text(ctx: Ctx, s: Station) -> str:
    return ctx._(", ").join(
        ctx._(SERVICE_LABELS[k]) if k in SERVICE_LABELS else k for k in s.service_keys
    )


def _days(ctx: Ctx, spec: str) -> str:
    if spec.lower() == "daily":
        return ctx._("Every day")
    items = []
    for item in spec.split(","):
        a, sep, b = item.strip().partition("-")
        a_l = ctx._(DAY_LABELS.get(a.capitalize(), a))
        items.append(a_l + (ctx._("–") + ctx._(DAY_LABELS.get(b.capitalize(), b)) if sep else ""))
    return ctx._(", ").join(items)


def hours_text(ctx: Ctx, hours: str) -> str:
    """`Mon-Fri 08:00-16:30; Sat 08:00-11:30` in the reader's language."""
    if not hours.strip():
        return ctx._("not known")
    parts = []
    for part in (p.strip() for p in hours.split(";") if p.strip()):
        days, _, ranges = part.partition(" ")
        if days.lower() == "daily" and ranges.strip() == "00:00-24:00":
            parts.append(ctx._("open 24 hours"))
            continue
        parts.append(f"{_days(ctx, days)} {ranges.strip().replace(',', ', ')}")
    return ctx._("; ").join(parts)


def status_text(ctx: Ctx, status: OpenStatus) -> str:
    if not status.known:
        return ctx._("⚪ Opening hours not known")
    if status.open:
        if status.until is not None and status.until >= 24 * 60:
            return ctx._("🟢 Open now")
        return ctx._("🟢 Open now, until {time}").format(time=hhmm(status.until or 0))
    if status.opens_today is not None:
        return ctx._("🔴 Closed now, opens at {time}").format(time=hhmm(status.opens_today))
    return ctx._("🔴 Closed now")


def distance_text(ctx: Ctx, place: Place) -> str:
    metres = place.distance_m
    far = (
        ctx._("{km} km").format(km=ctx.t.number(round(metres / 1000, 1)))
        if metres >= 1000
        else ctx._("{m} m").format(m=round(metres))
    )
    text = ctx.ngettext(
        "{distance}, about {n} minute on foot",
        "{distance}, about {n} minutes on foot",
        place.walk_minutes,
    ).format(distance=far, n=place.walk_minutes)
    if place.within_circle:
        text += " " + ctx._("✅ within your {n}-minute circle").format(n=CIRCLE_MINUTES)
    return text


def venue(ctx: Ctx, s: Station) -> Venue:
    return Venue(s.lat, s.lon, station_name(ctx, s), station_address(ctx, s))


def sample_note(ctx: Ctx) -> str:
    return ctx._("ℹ️ Sample data — your district's operator replaces it.")


def holiday_note(ctx: Ctx) -> str:
    return ctx._(
        "Hours are for ordinary weeks; public holidays are not included. "
        "Please call first on a holiday."
    )


def empty_directory_text(ctx: Ctx) -> str:
    """No station or community imported yet: say that, never "more than 30 km away"."""
    return ctx._("The district directory is not loaded yet. Please try again later.")
