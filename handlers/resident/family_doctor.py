"""My family doctor: where I live (town → community, or a shared location), my team, and a
signing request (phone by the contact button or typed, name confirmed or skipped with a
button) with its status. In elder mode the home community is saved only after a second tap:
saving it can move or withdraw an open signing request."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from bot.callbacks import Callback, StaleButton, cb
from bot.card import Card
from bot.context import Ctx
from bot.core import Button, Keyboard, KeyButton, Request
from bot.domain.directory import Doctor, Home, SigningRequest
from bot.domain.residents import FlowState
from bot.router import Registry
from bot.services.directory import CommunityRef, HomeChange, Team, short_key
from bot.services.doctors import DECLINE_REASONS
from handlers.resident import directory_view as view
from handlers.resident.stations import location_keyboard

WHERE = "doc.where"  # waiting for a shared location (no fields)


# The signing request, step by step (the state names are those saved by earlier versions).
@dataclass(frozen=True)
class AskPhone(FlowState):
    NAME: ClassVar[str] = "doc.phone"
    doctor: str = ""


@dataclass(frozen=True)
class AskName(FlowState):
    NAME: ClassVar[str] = "doc.name"
    doctor: str = ""
    phone: str = ""
    suggested: str = ""  # the name on a shared contact, offered with ✅


@dataclass(frozen=True)
class ConfirmSigning(FlowState):
    NAME: ClassVar[str] = "doc.confirm"
    doctor: str = ""
    phone: str = ""
    who: str = ""


_PHONE_CHARS = re.compile(r"[\s\-().]")


def normalize_phone(text: str) -> str | None:
    """Digits with an optional leading +, 7 to 15 digits long; None if it is no phone number."""
    raw = _PHONE_CHARS.sub("", text.strip())
    digits = raw[1:] if raw.startswith("+") else raw
    if not digits.isdigit() or not 7 <= len(digits) <= 15:
        return None
    return raw


def clean_name(text: str) -> str | None:
    name = " ".join(text.split())
    if not 1 <= len(name) <= 40 or name.startswith("/") or not any(c.isalpha() for c in name):
        return None
    return name


async def show(ctx: Ctx) -> None:
    """The resident's team, or the question where they live."""
    service = ctx.services.directory
    team = await service.team_for_resident(ctx.user.id)
    home = await service.home(ctx.user.id)
    if team is not None:
        await card(ctx, team, home)
        return
    if home is not None:
        ctx.say(
            ctx._(
                "No family doctor team in our directory serves {community} ({town}) yet. "
                "Please ask your community health service centre."
            ).format(community=home.community, town=home.town),
            [Button(ctx._("🏘 Change my community"), cb("family", "where"))],
            home=True,
        )
        return
    await ask_where(ctx)


async def _towns(ctx: Ctx) -> list[Button]:
    towns = await ctx.services.directory.towns()
    return [Button(view.zh_first(ctx, t.name, t.name_en), cb("family", "t", t.key)) for t in towns]


async def ask_where(ctx: Ctx) -> None:
    buttons = await _towns(ctx)
    if not buttons:
        ctx.say(view.empty_directory_text(ctx), home=True)
        return
    ctx.set_state(WHERE)
    ctx.keyboard(
        ctx._(
            "To find your family doctor team I need to know where you live. Share your "
            "location and I will find your community."
        ),
        location_keyboard(ctx),
    )
    ctx.say(ctx._("Or pick your town:"), buttons, cols=3, home=True)


async def on_where(ctx: Ctx) -> None:
    """In the "where do you live" step: a shared location, or text we cannot use."""
    loc = ctx.msg.location
    service = ctx.services.directory
    if loc is not None:
        ref = await service.nearest_community(loc.lat, loc.lon)
        if ref is not None:
            ctx.clear_state()
            if ctx.elder:
                await ask_save_home(ctx, ref)
                ctx.main_menu(ctx._("The main menu is below."))
                return
            change = await service.set_home(ctx.user.id, ref.town, ref.name)
            await _after_move(ctx, change)
            ctx.main_menu(ctx._("The main menu is below."))
            return
        if await service.is_empty():
            ctx.clear_state()
            ctx.say(view.empty_directory_text(ctx), home=True)
            return
        text = ctx._(
            "I could not find a community of this district near that location. "
            "Please pick your town."
        )
    else:
        text = ctx._("Please pick your town with the buttons, or share your location.")
    ctx.say(text, await _towns(ctx), cols=3, home=True)


async def ask_save_home(ctx: Ctx, ref: CommunityRef) -> None:
    """Elder mode: the community found or picked, to be confirmed before it is saved."""
    service = ctx.services.directory
    where = view.zh_first(ctx, ref.name, ref.name_en)
    text = ctx._("Do you live in {community}?").format(community=where)
    req = await service.latest_request(ctx.user.id)
    if req is not None and req.status == "pending":
        teams = await service.teams_for(ref.town, ref.name)
        if not teams:
            text += "\n" + ctx._(
                "No team serves that community, so your signing request would be withdrawn."
            )
        elif req.doctor_id not in {t.id for t in teams}:
            text += "\n" + ctx._("Your signing request would then go to {team}.").format(
                team=view.team_name(ctx, teams[0])
            )
    ctx.say(
        text,
        [
            Button(ctx._("✅ Yes, save"), cb("family", "c", ref.key, "ok")),
            Button(ctx._("❌ No"), cb("family", "where")),
        ],
        cols=2,
        back=cb("family", "where"),
    )


async def _after_move(ctx: Ctx, change: HomeChange) -> None:
    service = ctx.services.directory
    ref = await service.community_ref(change.home.town, change.home.community)
    where = view.zh_first(ctx, change.home.community, ref.name_en if ref else "")
    note = ctx._("Saved: you live in {community}.").format(community=where)
    if change.moved_to is not None:
        note += "\n" + ctx._("Your signing request now goes to {team}.").format(
            team=view.team_name(ctx, change.moved_to)
        )
    elif change.withdrawn:
        note += "\n" + ctx._(
            "No team serves your new community, so your signing request was withdrawn."
        )
    ctx.notice(ctx._("Saved."))
    team = await service.team_for_resident(ctx.user.id)
    if team is None:
        ctx.say(
            note + "\n" + ctx._("No family doctor team in our directory serves it yet."),
            [Button(ctx._("🏘 Change my community"), cb("family", "where"))],
            home=True,
        )
        return
    await card(ctx, team, change.home, prefix=note)


def _request_line(ctx: Ctx, req: SigningRequest | None, team: Team) -> str:
    if team.signed:
        return ctx._("✅ You are signed with this family doctor.")
    if req is None:
        return ctx._("You are not signed with a family doctor yet.")
    when = ctx.t.date(req.updated_at)
    if req.status == "pending":
        return ctx._("⏳ Signing request sent on {date}: waiting for the team.").format(date=when)
    if req.status == "declined":
        text = ctx._("❌ Your signing request was declined on {date}.").format(date=when)
        if req.reason:
            # A reason key, shown in today's language; older rows hold the text itself.
            label = DECLINE_REASONS.get(req.reason)
            reason = ctx._(label) if label else req.reason
            text = ctx.t.sentences([text, ctx._("Reason: {reason}").format(reason=reason)])
        return text
    return ctx._("You are not signed with a family doctor yet.")


async def card(ctx: Ctx, team: Team, home: Home | None, prefix: str = "") -> None:
    """The team card: doctor, team, phone, clinic hours, centre, 1+1+1, signing status."""
    service = ctx.services.directory
    d = team.doctor
    req = await service.latest_request(ctx.user.id)
    status = _request_line(ctx, req, team)
    card = Card()
    if ctx.elder and d.phone:  # phone first in elder mode: one tap to call
        card.fact(f"☎ {d.phone}")
    if prefix:
        card.fact(prefix)
        card.gap()
    card.extra(ctx._("👨‍⚕️ Your family doctor team"))
    card.fact(ctx._("Doctor: {name}").format(name=view.doctor_name(ctx, d)))
    if d.team:
        card.fact(ctx._("Team: {team}").format(team=view.team_name(ctx, d)))
    if d.phone and not ctx.elder:
        card.fact(f"☎ {d.phone}")
    card.fact(ctx._("Clinic hours: {hours}").format(hours=view.hours_text(ctx, d.clinic_hours)))
    if team.centre is not None:
        c = team.centre
        card.fact(
            ctx._("Centre: {name}, {address}, ☎ {phone}").format(
                name=view.station_name(ctx, c),
                address=view.station_address(ctx, c),
                phone=c.phone or "—",
            )
        )
        combo = [view.station_name(ctx, c)]
        for h in (team.district_hospital, team.city_hospital):
            if h is not None:
                combo.append(view.station_name(ctx, h))
        if len(combo) > 1:
            card.fact(ctx._("“1+1+1”: {places}").format(places=" + ".join(combo)))
    if home is not None:
        ref = await service.community_ref(home.town, home.community)
        town = next((t for t in await service.towns() if t.name == home.town), None)
        card.fact(
            ctx._("Your community: {community} ({town})").format(
                community=view.zh_first(ctx, home.community, ref.name_en if ref else ""),
                town=view.zh_first(ctx, home.town, town.name_en if town else ""),
            )
        )
    card.fact(status)
    card.fact(view.holiday_note(ctx))
    if await service.is_sample():
        card.fact(view.sample_note(ctx))
    buttons: list[Button] = []
    pending = req is not None and req.status == "pending"
    if not team.signed and not (pending and req is not None and req.doctor_id == d.id):
        buttons.append(Button(ctx._("✍️ Request signing"), cb("family", "sign", short_key(d.id))))
    if pending:
        buttons.append(Button(ctx._("↩️ Withdraw my request"), cb("family", "withdraw")))
    if team.centre is not None:
        buttons.append(
            Button(ctx._("📍 Centre on the map"), cb("stations", "v", short_key(team.centre.id)))
        )
    buttons.append(Button(ctx._("🏘 Change my community"), cb("family", "where")))
    ctx.say(card.text(ctx.elder), buttons, cols=2, home=True)


async def _signable(ctx: Ctx, key: str) -> Doctor:
    """The doctor behind a sign button, if they still serve the resident's community."""
    service = ctx.services.directory
    doctor = await service.doctor_by_key(key)
    home = await service.home(ctx.user.id)
    if doctor is None or home is None:
        raise StaleButton("unknown doctor or no home")
    if doctor.id not in {t.id for t in await service.teams_for(home.town, home.community)}:
        raise StaleButton("doctor does not serve the resident's community")
    signed = await service.signed_doctor(ctx.user.id)
    if signed is not None and signed.id == doctor.id:
        raise StaleButton("already signed")
    return doctor


async def start_signing(ctx: Ctx, doctor: Doctor) -> None:
    ctx.enter(AskPhone(doctor=doctor.id))
    ctx.keyboard(
        ctx._(
            "To send a signing request to {team}, share your phone number with the button "
            "below, or type it."
        ).format(team=view.team_name(ctx, doctor)),
        Keyboard(
            rows=((KeyButton(ctx._("📱 Share my phone number"), request=Request.CONTACT),),),
            persistent=False,
            one_time=True,
        ),
    )
    ctx.say(
        ctx._("The team uses it only to call you about signing."),
        [Button(ctx._("❌ Cancel"), cb("family", "cancel"))],
    )


async def on_phone(ctx: Ctx) -> None:
    """The phone step: a shared contact or a typed number."""
    contact = ctx.msg.contact
    suggested = ""
    if contact is not None:
        if not contact.is_own:
            ctx.say(
                ctx._("Please share your own phone number, with the button below."),
                [Button(ctx._("❌ Cancel"), cb("family", "cancel"))],
            )
            return
        phone = normalize_phone(contact.phone)
        suggested = clean_name(contact.name) or ""
    elif ctx.msg.location is not None:
        phone = None
    else:
        phone = normalize_phone(ctx.msg.text)
    if phone is None:
        ctx.say(
            ctx._(
                "That does not look like a phone number. Please type it like 13800000000, "
                "or use the “Share my phone number” button."
            ),
            [Button(ctx._("❌ Cancel"), cb("family", "cancel"))],
        )
        return
    asked = ctx.flow(AskPhone) or AskPhone()
    if suggested:
        ctx.enter(AskName(doctor=asked.doctor, phone=phone, suggested=suggested))
        ctx.say(
            ctx._("Is your name {name}?").format(name=suggested),
            [
                Button(ctx._("✅ Yes"), cb("family", "nameok")),
                Button(ctx._("Skip: the team will ask when they call"), cb("family", "noname")),
                Button(ctx._("❌ Cancel"), cb("family", "cancel")),
            ],
        )
        ctx.main_menu(ctx._("If not, tap Skip, or type your full name."))
        return
    ctx.enter(AskName(doctor=asked.doctor, phone=phone))
    ctx.say(
        ctx._(
            "Thank you. Your name is optional: tap Skip and the team asks when they call, "
            "or type it if you like."
        ),
        [
            Button(ctx._("Skip: the team will ask when they call"), cb("family", "noname")),
            Button(ctx._("❌ Cancel"), cb("family", "cancel")),
        ],
    )
    ctx.main_menu(ctx._("The main menu is below."))


async def on_name(ctx: Ctx) -> None:
    name = clean_name(ctx.msg.text) if ctx.msg.location is None else None
    if name is None:
        ctx.say(
            ctx._("Please type your name in letters (at most 40)."),
            [Button(ctx._("❌ Cancel"), cb("family", "cancel"))],
        )
        return
    await confirm(ctx, name)


async def confirm(ctx: Ctx, name: str) -> None:
    asked = ctx.flow(AskName)
    if asked is None:
        raise StaleButton("not asking for a name")
    doctor = await ctx.services.directory.doctor(asked.doctor)
    if doctor is None:
        raise StaleButton("doctor gone")
    ctx.enter(ConfirmSigning(doctor=doctor.id, phone=asked.phone, who=name))
    ctx.say(
        ctx._("Send this signing request to {team}?\nName: {name}\nPhone: {phone}").format(
            team=view.team_name(ctx, doctor),
            name=name or ctx._("(the team will ask)"),
            phone=asked.phone,
        ),
        [
            Button(ctx._("✅ Send"), cb("family", "send")),
            Button(ctx._("❌ Cancel"), cb("family", "cancel")),
        ],
        cols=2,
    )


async def on_button(ctx: Ctx, data: Callback) -> None:
    action = data.choice(
        0,
        (
            "where",
            "t",
            "c",
            "sign",
            "nameok",
            "noname",
            "send",
            "cancel",
            "withdraw",
            "wdok",
            "card",
        ),
    )
    service = ctx.services.directory
    if action == "where":
        await ask_where(ctx)
    elif action == "t":
        town = await service.town_by_key(data.part(1))
        if town is None:
            raise StaleButton("unknown town")
        refs = await service.communities(town)
        ctx.say(
            ctx._("Which community (neighbourhood committee or village) do you live in?"),
            [Button(view.zh_first(ctx, r.name, r.name_en), cb("family", "c", r.key)) for r in refs],
            cols=2,
            back=cb("family", "where"),
            edit=True,
        )
    elif action == "c":
        data.expect(2, 3)
        ref = await service.community_by_key(data.part(1))
        if ref is None:
            raise StaleButton("unknown community")
        confirmed = len(data.parts) == 3 and data.choice(2, ("ok",)) == "ok"
        ctx.clear_state()
        if ctx.elder and not confirmed:
            await ask_save_home(ctx, ref)
            return
        await _after_move(ctx, await service.set_home(ctx.user.id, ref.town, ref.name))
    elif action == "sign":
        await start_signing(ctx, await _signable(ctx, data.part(1)))
    elif action in ("nameok", "noname"):
        asked = ctx.flow(AskName)
        if asked is None:
            raise StaleButton("not asking for a name")
        await confirm(ctx, asked.suggested if action == "nameok" else "")
    elif action == "send":
        draft = ctx.flow(ConfirmSigning)
        if draft is None:
            raise StaleButton("nothing to send")
        doctor = await _signable(ctx, short_key(draft.doctor))
        req = await service.request_signing(ctx.user.id, doctor.id, draft.who, draft.phone)
        ctx.clear_state()
        ctx.notice(ctx._("Sent."))
        await show(ctx)
        # Say who can see the request: a team whose doctor linked a chat account has it on
        # their desk; any other team sees it only once they join, so the resident should call.
        linked = await ctx.services.doctors.link_of(req.doctor_id) is not None
        ctx.main_menu(
            ctx._("The team sees your request on their Doorstep desk. The main menu is below.")
            if linked
            else ctx._(
                "Your request is saved, but this team does not use Doorstep yet, so they have "
                "not seen it. Please call them: {phone}. The main menu is below."
            ).format(phone=doctor.phone or "—")
        )
    elif action == "cancel":
        ctx.clear_state()
        ctx.main_menu(ctx._("Cancelled. Nothing was sent."))
    elif action == "withdraw":
        latest = await service.latest_request(ctx.user.id)
        if latest is None or latest.status != "pending":
            raise StaleButton("no open request")
        ctx.confirm(
            ctx._("Withdraw your signing request? The team will no longer see it."),
            cb("family", "wdok"),
            cb("family", "card"),
            yes_label=ctx._("✅ Yes, withdraw it"),
            no_label=ctx._("↩️ No, keep it"),
        )
    elif action == "card":
        await show(ctx)
    else:
        if not await service.withdraw(ctx.user.id):
            raise StaleButton("no open request")
        ctx.notice(ctx._("Withdrawn."))
        await show(ctx)


def register(r: Registry) -> None:
    r.menu_item("doctor", show)
    r.button("family", on_button)
    r.state(WHERE, on_where)
    r.state(AskPhone.NAME, on_phone)
    r.state(AskName.NAME, on_name)
