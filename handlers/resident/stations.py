"""Nearest health station: by a shared location or by town buttons, with need filters."""

from __future__ import annotations

import math

from bot.callbacks import Callback, StaleButton, cb
from bot.card import Card
from bot.context import Ctx
from bot.core import Button, Keyboard, KeyButton, Request
from bot.i18n import N_
from bot.router import Registry
from bot.services.directory import (
    NEEDS,
    Nearby,
    TownRef,
    load_sample_in_sandbox,
    short_key,
)
from handlers.resident import directory_view as view

FILTERS = (
    ("vaccination", N_("💉 Vaccination")),
    ("bp", N_("🩺 Blood pressure self check")),
    ("open", N_("🕒 Open now")),
)


def location_keyboard(ctx: Ctx) -> Keyboard:
    return Keyboard(
        rows=((KeyButton(ctx._("📍 Share my location"), request=Request.LOCATION),),),
        persistent=False,
        one_time=True,
    )


async def _town_buttons(ctx: Ctx, feature: str) -> list[Button]:
    towns = await ctx.services.directory.towns()
    return [Button(view.zh_first(ctx, t.name, t.name_en), cb(feature, "t", t.key)) for t in towns]


async def show(ctx: Ctx) -> None:
    """Ask for a location, and offer towns to those who cannot share one."""
    buttons = await _town_buttons(ctx, "stations")
    if not buttons:
        ctx.say(view.empty_directory_text(ctx), home=True)
        return
    ctx.keyboard(
        ctx._("Share your location and I will find the nearest health stations."),
        location_keyboard(ctx),
    )
    ctx.say(ctx._("Or pick your town:"), buttons, cols=3, home=True)


async def on_location(ctx: Ctx) -> None:
    """A location shared outside any conversation: the nearest stations."""
    loc = ctx.msg.location
    if loc is None:
        return
    await answer(ctx, loc.lat, loc.lon, None)
    ctx.main_menu(ctx._("The main menu is below."))


def _point(data: Callback, i: int) -> tuple[float, float]:
    try:
        lat, lon = float(data.part(i)), float(data.part(i + 1))
    except ValueError:
        raise StaleButton("bad point") from None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise StaleButton("point out of range")
    return lat, lon


async def answer(
    ctx: Ctx,
    lat: float,
    lon: float,
    need: str | None,
    edit: bool = False,
    town: str | None = None,
) -> None:
    """The three nearest places to (lat, lon), optionally filtered by a need.

    `town`: the point is that town's centre, picked by the resident, not where they are; then
    no distance, walking time or 15-minute circle is claimed (it would be measured from the
    centre itself, "0 m from you").
    """
    service = ctx.services.directory
    nearby = await service.nearest(lat, lon, ctx.now(), need=need)
    if nearby.empty:
        ctx.say(view.empty_directory_text(ctx), home=True, edit=edit)
        return
    if nearby.far:
        await _far(ctx, nearby)
        return
    ref = await _town_ref(ctx, town) if town is not None else None
    town_key = ref.key if ref is not None else ""
    town_label = view.zh_first(ctx, ref.name, ref.name_en) if ref is not None else ""
    card = Card()
    if not nearby.places:
        label = ctx._(dict(FILTERS)[need or "open"])
        if town is None:
            card.fact(ctx._("No place with “{need}” within 30 km of you.").format(need=label))
        else:
            card.fact(
                ctx._("No place with “{need}” within 30 km of {town}.").format(
                    need=label, town=town_label
                )
            )
    elif town is None:
        card.extra(ctx._("The nearest places to you:"))
    else:
        card.fact(ctx._("Places in and near {town}:").format(town=town_label))
    for n, place in enumerate(nearby.places, start=1):
        s = place.station
        card.gap()
        phone = "   ☎ " + s.phone if s.phone else ""
        if ctx.elder and s.phone:  # phone first: one tap to call
            card.fact(f"{n}. ☎ {s.phone}")
            card.fact(f"   {view.station_name(ctx, s)} — {view.kind_label(ctx, s.kind)}")
        else:
            card.fact(f"{n}. {view.station_name(ctx, s)} — {view.kind_label(ctx, s.kind)}")
        if town is None:
            card.fact("   📏 " + view.distance_text(ctx, place))
        else:
            card.fact("   📫 " + view.station_address(ctx, s))
        card.fact("   " + view.status_text(ctx, place.status))
        if phone and not ctx.elder:
            card.fact(phone)
        if s.service_keys:
            card.fact("   " + ctx._("Services: {list}").format(list=view.services_text(ctx, s)))
    card.gap()
    card.fact(view.holiday_note(ctx))
    if await service.is_sample():
        card.fact(view.sample_note(ctx))
    buttons: list[list[Button]] = [
        [
            Button(
                ctx._("📍 {n}. on the map").format(n=n),
                cb("stations", "v", short_key(p.station.id)),
            )
            for n, p in enumerate(nearby.places, start=1)
        ]
    ]

    def filter_data(key: str) -> str:
        if town is not None:
            return cb("stations", "tf", key, town_key)
        return cb("stations", "f", key, f"{lat:.5f}", f"{lon:.5f}")

    filters = [Button(ctx._(label), filter_data(key)) for key, label in FILTERS if key != need]
    if need:
        filters.append(Button(ctx._("All places"), filter_data("all")))
    buttons.append(filters)
    buttons.append([Button(ctx._("🏘 Pick a town"), cb("stations", "towns"))])
    ctx.say(card.text(ctx.elder), [row for row in buttons if row], home=True, edit=edit)


async def _town_ref(ctx: Ctx, town: str) -> TownRef | None:
    return next((t for t in await ctx.services.directory.towns() if t.name == town), None)


async def _far(ctx: Ctx, nearby: Nearby) -> None:
    centre = nearby.main_centre
    text = ctx._(
        "There is no health station of this district near you: the nearest is more than 30 km away."
    )
    buttons: list[Button] = []
    if centre is not None:
        text += "\n" + ctx._("The district's main centre: {name}, ☎ {phone}, {address}").format(
            name=view.station_name(ctx, centre),
            phone=centre.phone or "—",
            address=view.station_address(ctx, centre),
        )
        buttons.append(
            Button(ctx._("📍 Main centre on the map"), cb("stations", "v", short_key(centre.id)))
        )
    buttons.append(Button(ctx._("🏘 Pick a town"), cb("stations", "towns")))
    ctx.say(text, buttons, home=True)


async def on_button(ctx: Ctx, data: Callback) -> None:
    action = data.choice(0, ("t", "f", "tf", "v", "towns"))
    service = ctx.services.directory
    if action == "towns":
        await show(ctx)
    elif action == "t":
        town = await service.town_by_key(data.part(1))
        point = await service.town_point(town) if town else None
        if point is None:
            raise StaleButton("unknown town")
        await answer(ctx, point[0], point[1], None, town=town)
    elif action == "tf":
        need = data.choice(1, (*NEEDS, "all"))
        town = await service.town_by_key(data.part(2))
        point = await service.town_point(town) if town else None
        if point is None:
            raise StaleButton("unknown town")
        await answer(ctx, *point, None if need == "all" else need, edit=True, town=town)
    elif action == "f":
        need = data.choice(1, (*NEEDS, "all"))
        lat, lon = _point(data, 2)
        await answer(ctx, lat, lon, None if need == "all" else need, edit=True)
    else:
        station = await service.station_by_key(data.part(1))
        if station is None:
            raise StaleButton("unknown station")
        ctx.venue(view.venue(ctx, station))
        status = await service.status(station, ctx.now())
        ctx.say(
            "\n".join(
                [
                    f"☎ {station.phone or '—'}",
                    f"{view.station_name(ctx, station)} — {view.kind_label(ctx, station.kind)}",
                    view.station_address(ctx, station),
                    ctx._("Hours: {hours}").format(hours=view.hours_text(ctx, station.hours)),
                    view.status_text(ctx, status),
                ]
            ),
            home=True,
        )


def register(r: Registry) -> None:
    r.menu_item("stations", show)
    r.button("stations", on_button)
    r.fallback("location", on_location)
    r.on_startup(load_sample_in_sandbox)
