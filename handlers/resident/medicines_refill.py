"""🔁 Running low: a refill request to the signed family doctor team (which medicines, how many
weeks, where it is picked up or which family member picks it up), its status, and what the
resident is told when the team decides (the ready notice carries the station's pin and hours).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, cast

from bot import names
from bot.callbacks import Callback, StaleButton, cb
from bot.context import Ctx
from bot.core import Button, Reply
from bot.domain.directory import Station
from bot.domain.medicines import MAX_NAME, REFILL_KIND, REFILL_WEEKS, Pickup, Refill, RefillStatus
from bot.domain.residents import FlowState
from bot.i18n import N_
from bot.layout import notification
from bot.router import Registry
from bot.services import medicines_view as view
from bot.services.directory import short_key
from bot.services.medicines_input import clean_name
from bot.services.medicines_refill import DECLINE_REASONS
from handlers.resident import directory_view as dview

if TYPE_CHECKING:
    from bot.domain.outbox import OutboxRow
    from bot.domain.residents import Resident
    from bot.i18n import Translator
    from bot.runtime import Runtime


@dataclass(frozen=True)
class Refilling(FlowState):
    """A refill request being put together: the medicines ticked, weeks, where it is picked
    up (`station`) or who picks it up (`family`)."""

    NAME: ClassVar[str] = "med.refill"
    sel: tuple[int, ...] = ()
    weeks: int = 0
    pickup: str = ""
    station: str = ""
    family: str = ""


@dataclass(frozen=True)
class TypingFamilyName(Refilling):
    NAME: ClassVar[str] = "med.family"


REFILL = Refilling.NAME
FAMILY = TypingFamilyName.NAME
LONG_RX = N_(
    "Long prescriptions: for a stable chronic condition, a signed family doctor may prescribe "
    "for up to 12 weeks at a time. Your doctor decides what is right for you."
)


class _Words:
    """What the directory's view helpers read from a Ctx (the reader's language), for
    notifications rendered outside a chat turn."""

    def __init__(self, t: Translator) -> None:
        self.t = t
        self.locale = t.locale

    def _(self, message: str) -> str:
        return self.t.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.t.ngettext(singular, plural, n)


def words(t: Translator) -> Ctx:
    return cast(Ctx, _Words(t))


def status_line(t: Translator, r: Refill, station: Station | None) -> str:
    """One request as the resident reads it: when asked, what, and where it stands."""
    asked = t.date(datetime.fromtimestamp(r.created_at, t.tz))
    what = t.ngettext("{n} week", "{n} weeks", r.weeks).format(n=r.weeks)
    head = f"{asked} · {t.list(names.refill_names(t.locale, r))} · {what}"
    if r.status is RefillStatus.REQUESTED:
        return head + " — " + t.gettext("⏳ waiting for your team")
    if r.status is RefillStatus.APPROVED and r.ready_on is not None:
        where = dview.station_name(words(t), station) if station else "—"
        return (
            head
            + " — "
            + t.gettext("✅ ready from {date} at {place}").format(
                date=t.date(r.ready_on), place=where
            )
        )
    if r.status is RefillStatus.DECLINED:
        label = DECLINE_REASONS.get(r.reason)
        return (
            head
            + " — "
            + t.gettext("❌ declined: {reason}").format(reason=t.gettext(label) if label else "—")
        )
    return head + " — " + t.gettext("🏥 please come in to see your doctor")


def _draft(ctx: Ctx) -> dict[str, Any]:
    flow = ctx.flow(Refilling) or ctx.flow(TypingFamilyName)
    if flow is None:
        raise StaleButton("no refill request being made")
    draft = asdict(flow)
    draft["sel"] = list(draft["sel"])
    return draft


def _enter(ctx: Ctx, draft: dict[str, Any], state: str = REFILL) -> None:
    cls = TypingFamilyName if state == FAMILY else Refilling
    ctx.enter(cls.from_data({**draft, "sel": tuple(draft.get("sel") or ())}))


async def start(ctx: Ctx) -> None:
    svc = ctx.services.refills
    doctor = await ctx.services.directory.signed_doctor(ctx.user.id)
    lines = [ctx._("🔁 Running low on a medicine?")]
    past = await svc.latest(ctx.user.id)
    if past:
        lines.append(ctx._("Your recent requests:"))
        for r in past[:3]:
            st = await svc.station(r.ready_station_id or r.station_id)
            lines.append("• " + status_line(ctx.t, r, st))
    if doctor is None:
        lines.append(
            ctx._(
                "Refills go through your signed family doctor. Please sign with a family "
                'doctor first ("My family doctor").'
            )
        )
        ctx.say("\n".join(lines), back=cb("medicines", "list"))
        return
    entries = await ctx.services.medicines.entries(ctx.user.id)
    if not entries:
        raise StaleButton("no medicines")
    ctx.enter(Refilling(sel=tuple(e.id for e in entries)))
    await choose(ctx, "\n".join(lines))


async def choose(ctx: Ctx, prefix: str = "", edit: bool = False) -> None:
    draft = _draft(ctx)
    entries = await ctx.services.medicines.entries(ctx.user.id)
    sel = set(draft.get("sel", []))
    buttons = [
        Button(
            ("☑️ " if e.id in sel else "⬜ ") + view.entry_name(ctx.t, e), cb("refill", "t", e.id)
        )
        for e in entries
    ]
    if sel & {e.id for e in entries}:
        buttons.append(Button(ctx._("➡️ Next"), cb("refill", "next")))
    text = (prefix + "\n\n" if prefix else "") + ctx._("Which medicines do you need? Tap to tick.")
    ctx.say(text, buttons, back=cb("medicines", "list"), edit=edit)


async def weeks(ctx: Ctx) -> None:
    ctx.say(
        ctx._("For how many weeks?")
        + "\n"
        + ctx._(LONG_RX)
        + "\n"
        + ctx._("Source: {source}").format(source=ctx._(view.LONG_RX_SOURCE)),
        [
            Button(ctx.ngettext("{n} week", "{n} weeks", w).format(n=w), cb("refill", "w", w))
            for w in REFILL_WEEKS
        ],
        cols=2,
        back=cb("refill", "back"),
        edit=True,
    )


async def pickup(ctx: Ctx) -> None:
    doctor = await ctx.services.directory.signed_doctor(ctx.user.id)
    if doctor is None:
        raise StaleButton("no signed doctor any more")
    stations = (await ctx.services.refills.stations(doctor))[:6]
    buttons = [
        Button("📍 " + dview.station_name(ctx, s), cb("refill", "st", short_key(s.id)))
        for s in stations
    ]
    buttons.append(Button(ctx._("👪 A family member picks it up"), cb("refill", "fam")))
    ctx.say(ctx._("Where will it be picked up?"), buttons, back=cb("refill", "wk"), edit=True)


async def confirm(ctx: Ctx, draft: dict[str, Any], edit: bool = True) -> None:
    entries = {e.id: e for e in await ctx.services.medicines.entries(ctx.user.id)}
    chosen = [view.entry_name(ctx.t, entries[i]) for i in draft["sel"] if i in entries]
    if not chosen:
        raise StaleButton("medicines stopped meanwhile")
    if draft.get("pickup") == "family":
        where = ctx._("picked up by {name}").format(name=draft["family"])
    else:
        st = await ctx.services.refills.station(draft["station"])
        where = ctx._("at {place}").format(place=dview.station_name(ctx, st) if st else "—")
    w = int(draft["weeks"])
    ctx.say(
        ctx._("Send this refill request to your family doctor team?")
        + "\n"
        + ctx._("Medicines: {names}").format(names=ctx.t.list(chosen))
        + "\n"
        + ctx.ngettext("For {n} week", "For {n} weeks", w).format(n=w)
        + ", "
        + where,
        [
            Button(ctx._("📨 Send"), cb("refill", "send")),
            Button(ctx._("❌ Cancel"), cb("medicines", "list")),
        ],
        cols=2,
        back=cb("refill", "pk"),
        edit=edit,
    )


async def on_family(ctx: Ctx) -> None:
    draft = _draft(ctx)
    name = clean_name(ctx.msg.text) if ctx.msg.location is None else None
    if name is None or len(name) > MAX_NAME:
        ctx.say(
            ctx._("Please type the name of the family member who picks it up (at most 40)."),
            back=cb("refill", "pk"),
            free_text=True,
        )
        return
    draft.update(pickup="family", family=name)
    _enter(ctx, draft)
    await confirm(ctx, draft, edit=False)


async def send(ctx: Ctx, draft: dict[str, Any]) -> None:
    svc = ctx.services.refills
    family = draft.get("pickup") == "family"
    sent = await svc.request(
        ctx.user.id,
        list(draft["sel"]),
        int(draft["weeks"]),
        Pickup.FAMILY if family else Pickup.STATION,
        "" if family else draft.get("station", ""),
        draft.get("family", "") if family else "",
    )
    ctx.clear_state()
    team = dview.team_name(ctx, sent.doctor)
    if sent.seen:
        ctx.notice(ctx._("Sent."))
        text = ctx._(
            "📨 Sent to your family doctor team ({team}). I will tell you here when they answer."
        ).format(team=team)
    else:
        text = ctx._(
            "Your request is saved, but your family doctor team ({team}) does not read requests "
            "on Doorstep yet. Please phone them: {phone}."
        ).format(team=team, phone=sent.doctor.phone or "—")
    st = await svc.station(sent.refill.station_id)
    ctx.say(
        text + "\n" + status_line(ctx.t, sent.refill, st),
        [Button(ctx._("💊 My medicines"), cb("medicines", "list"))],
        home=True,
    )


async def on_button(ctx: Ctx, data: Callback) -> None:
    action = data.choice(0, ("new", "t", "next", "back", "wk", "w", "pk", "st", "fam", "send"))
    if action == "new":
        await start(ctx)
        return
    draft = _draft(ctx)
    if action == "t":
        eid = data.int_part(1)
        ids = {e.id for e in await ctx.services.medicines.entries(ctx.user.id)}
        if eid not in ids:
            raise StaleButton("not an active medicine")
        sel = set(draft.get("sel", []))
        sel ^= {eid}
        draft["sel"] = sorted(sel & ids)
        _enter(ctx, draft)
        await choose(ctx, edit=True)
    elif action == "back":
        _enter(ctx, draft)
        await choose(ctx, edit=True)
    elif action in ("next", "wk"):
        if not draft.get("sel"):
            raise StaleButton("nothing chosen")
        _enter(ctx, draft)
        await weeks(ctx)
    elif action == "w":
        w = data.int_part(1)
        if w not in REFILL_WEEKS or not draft.get("sel"):
            raise StaleButton("unknown weeks")
        draft["weeks"] = w
        _enter(ctx, draft)
        await pickup(ctx)
    elif not draft.get("weeks"):
        raise StaleButton("weeks not chosen")
    elif action == "pk":
        _enter(ctx, draft)
        await pickup(ctx)
    elif action == "st":
        station = await ctx.services.directory.station_by_key(data.part(1))
        doctor = await ctx.services.directory.signed_doctor(ctx.user.id)
        allowed = await ctx.services.refills.stations(doctor) if doctor else []
        if station is None or station.id not in {s.id for s in allowed}:
            raise StaleButton("not a pick-up place of the team")
        draft.update(pickup="station", station=station.id, family="")
        _enter(ctx, draft)
        await confirm(ctx, draft)
    elif action == "fam":
        _enter(ctx, draft, FAMILY)
        ctx.say(
            ctx._("Type the name of the family member who picks it up."),
            back=cb("refill", "pk"),
            edit=True,
            free_text=True,
        )
    else:
        if not draft.get("pickup") or ctx.state.name != REFILL:
            raise StaleButton("pick-up not chosen")
        await send(ctx, draft)


# -- what the resident is told ---------------------------------------------------------------
async def render_refill(
    rt: Runtime, t: Translator, resident: Resident, row: OutboxRow
) -> list[Reply]:
    svc = rt.services.refills
    r = await svc.store.refill(int(row.params.get("refill", 0)))
    if r is None or r.resident_id != resident.id or str(r.status) != row.key:
        return []
    listed = t.list(names.refill_names(t.locale, r))
    w = t.ngettext("{n} week", "{n} weeks", r.weeks).format(n=r.weeks)
    home_row = (Button(t.gettext("💊 My medicines"), cb("medicines", "list")),)
    if r.status is RefillStatus.APPROVED and r.ready_on is not None:
        st = await svc.station(r.ready_station_id)
        lines = [
            t.gettext("✅ Your refill is approved: {names} ({weeks}).").format(
                names=listed, weeks=w
            ),
            t.gettext("Ready from {date} at {place}.").format(
                date=t.weekday_date(r.ready_on),
                place=dview.station_name(words(t), st) if st else "—",
            ),
        ]
        if st is not None:
            lines.append(
                t.gettext("Opening hours: {hours}").format(
                    hours=dview.hours_text(words(t), st.hours)
                )
            )
            if st.phone:
                lines.append(f"☎ {st.phone}")
        if r.pickup is Pickup.FAMILY:
            lines.append(t.gettext("{name} can pick it up for you.").format(name=r.family_name))
        replies = [notification(t, resident.elder_mode, "\n".join(lines), (home_row,))]
        if st is not None:
            pin = Reply(venue=dview.venue(words(t), st))
            # A pin carries no buttons: in elder mode it comes first, so the message with
            # Home is the last one (the elder is never left below a map with no way on).
            replies.insert(0 if resident.elder_mode else len(replies), pin)
        return replies
    if r.status is RefillStatus.DECLINED:
        label = DECLINE_REASONS.get(r.reason)
        step, action = _next_step(t, r.reason)
        text = t.sentences(
            [
                t.gettext("Your refill request ({names}) was declined.").format(names=listed),
                t.gettext(label) if label else "",
                t.gettext("Please keep taking your medicines as your doctor told you."),
                step,
            ]
        )
        rows = ((action,), home_row) if action else (home_row,)
        return [notification(t, resident.elder_mode, text, rows)]
    text = t.gettext(
        "🏥 Your family doctor asks you to come in before your next refill ({names}). "
        "Please book a visit."
    ).format(names=listed)
    book = (Button(t.gettext("📅 Book a visit"), cb("book", "new", "chronic")),)
    return [notification(t, resident.elder_mode, text, (book, home_row))]


def _next_step(t: Translator, reason: str) -> tuple[str, Button | None]:
    """What a resident can do after a decline, by its reason, with the button that does it:
    a visit where the doctor must see them, a question to the team where the centre cannot
    prescribe, a new request from My medicines (the button below) when it was too soon."""
    if reason in ("see_doctor", "not_stable"):
        return (
            t.gettext("You can book a visit with your family doctor here."),
            Button(t.gettext("📅 Book a visit"), cb("book", "new", "chronic")),
        )
    if reason == "not_listed":
        return (
            t.gettext("Your family doctor team can tell you where it can be prescribed."),
            Button(t.gettext("✍️ Ask my team"), cb("faq", "ask")),
        )
    if reason == "too_soon":
        return (t.gettext("You can ask again from My medicines nearer the time."), None)
    return ("", None)


def register(r: Registry) -> None:
    r.button("refill", on_button)
    r.state(FAMILY, on_family)
    r.notification(REFILL_KIND, render_refill)
