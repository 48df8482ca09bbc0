"""The doctor's side of My medicines: refill requests (approve with a ready date and station,
decline with a reason, or ask the resident to come in), residents who missed doses (on the
Flags screen) and the medicines on the resident's card. Every button is re-checked on the
server: the request must be waiting for the doctor's own team, the resident within reach.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot import names as naming
from bot.callbacks import Callback, StaleButton, cb
from bot.context import Ctx
from bot.core import Button
from bot.domain.directory import Doctor, Station
from bot.domain.doctors import NewAudit
from bot.domain.medicines import FLAG_DAYS, FLAG_MISSED, Pickup, Refill, RefillStatus
from bot.router import Registry
from bot.services import medicines_view as view
from bot.services.directory import short_key
from bot.services.medicines import duplicates
from bot.services.medicines_refill import DECLINE_REASONS, NotTheTeams, notice_key
from handlers import promises
from handlers.doctor.desk import MENU, NotADoctor, require
from handlers.resident import directory_view as dview

LIST = cb("refills", "list")


def _who(ctx: Ctx, name: str, resident_id: int) -> str:
    return name or ctx._("Resident #{id}").format(id=resident_id)


async def refill_count(ctx: Ctx, doctor: Doctor) -> int:
    return len(await ctx.services.refills.waiting(doctor))


async def show_waiting(ctx: Ctx, doctor: Doctor, prefix: str = "") -> None:
    waiting = await ctx.services.refills.waiting(doctor)
    head = [prefix] if prefix else []
    if not waiting:
        ctx.say("\n".join([*head, ctx._("No refill requests are waiting.")]), back=MENU, edit=True)
        return
    r = waiting[0]
    await show_one(ctx, doctor, r, len(waiting), head)


async def show_one(ctx: Ctx, doctor: Doctor, r: Refill, waiting: int, head: list[str]) -> None:
    svc = ctx.services.refills
    names = await ctx.services.doctors.names(doctor, [r.resident_id])
    if r.pickup is Pickup.FAMILY:
        where = ctx._("picked up by {name}").format(name=r.family_name)
    else:
        st = await svc.station(r.station_id)
        where = ctx._("at {place}").format(place=dview.station_name(ctx, st) if st else "—")
    lines = [
        *head,
        ctx.ngettext(
            "{n} refill request is waiting. The oldest:",
            "{n} refill requests are waiting. The oldest:",
            waiting,
        ).format(n=waiting),
        ctx._("Resident: {name}").format(
            name=_who(ctx, names.get(r.resident_id, ""), r.resident_id)
        ),
        ctx._("Medicines: {names}").format(names=ctx.t.list(naming.refill_names(ctx.locale, r))),
        ctx._("{weeks}, {where}").format(
            weeks=ctx.ngettext("For {n} week", "For {n} weeks", r.weeks).format(n=r.weeks),
            where=where,
        ),
        ctx._("Asked on: {date}").format(
            date=ctx.t.date(datetime.fromtimestamp(r.created_at, ctx.t.tz))
        ),
    ]
    # The resident's screens point out two medicines with one active ingredient; the doctor
    # deciding the refill sees the same warning, from the same function.
    entries = await svc.store.entries(r.resident_id)
    for same in duplicates(entries).values():
        if any(e.id in r.entry_ids for e in same):
            lines.append(
                ctx._("⚠️ Same active ingredient: {names}.").format(
                    names=ctx.t.list([naming.entry_name(ctx.locale, e) for e in same])
                )
            )
    ctx.say(
        "\n".join(lines),
        [
            Button(ctx._("✅ Approve"), cb("refills", "ok", r.id)),
            Button(ctx._("❌ Decline"), cb("refills", "no", r.id)),
            Button(ctx._("🏥 Ask to come in"), cb("refills", "in", r.id)),
            Button(ctx._("🗂 Card"), cb("day", "card", r.resident_id)),
        ],
        cols=2,
        back=MENU,
        edit=True,
    )


async def ask_station(ctx: Ctx, doctor: Doctor, r: Refill) -> None:
    stations = (await ctx.services.refills.stations(doctor))[:6]
    if r.station_id:
        stations.sort(key=lambda s: s.id != r.station_id)  # the resident's choice first
    ctx.say(
        ctx._("Where can it be picked up?"),
        [
            Button(
                ("⭐ " if s.id == r.station_id else "📍 ") + dview.station_name(ctx, s),
                cb("refills", "st", r.id, short_key(s.id)),
            )
            for s in stations
        ],
        back=LIST,
        edit=True,
    )


async def ask_day(ctx: Ctx, r: Refill, station: Station) -> None:
    """Only the days the chosen station is open (from its hours in the directory)."""
    svc = ctx.services.refills
    today = svc.today()
    days = await svc.ready_days(station)
    back = cb("refills", "ok", r.id)
    place = dview.station_name(ctx, station)
    if not days:
        ctx.say(
            ctx._(
                "{place} is not open on any of the next days. Please choose another place."
            ).format(place=place),
            back=back,
            edit=True,
        )
        return
    ctx.say(
        ctx._("Ready from which day at {place}? Only days it is open are shown.").format(
            place=place
        ),
        [
            Button(
                ctx.t.weekday_date(d),
                cb("refills", "day", r.id, short_key(station.id), (d - today).days),
            )
            for d in days
        ],
        cols=2,
        back=back,
        edit=True,
    )


async def decided(ctx: Ctx, r: Refill, status: RefillStatus, done_text: str) -> str:
    """The doctor's confirmation of a decision and what became of the resident's message,
    read back from its outbox row (quiet hours may hold it; it may not exist)."""
    state = await ctx.services.send_times.state(notice_key(r.id, status))
    return ctx.t.sentences(
        [
            done_text,
            promises.delivery(
                ctx.t, state, ctx.now(), ctx._("The resident has been sent the message.")
            ),
        ]
    )


async def on_button(ctx: Ctx, data: Callback) -> None:
    action = data.choice(0, ("list", "ok", "day", "st", "no", "nr", "in"))
    doctor = await require(ctx, f"refills:{action}")
    svc = ctx.services.refills
    try:
        if action == "list":
            await show_waiting(ctx, doctor)
            return
        r = await svc.waiting_one(doctor, data.int_part(1))
        if action == "ok":
            await ask_station(ctx, doctor, r)
        elif action in ("st", "day"):
            station = await ctx.services.directory.station_by_key(data.part(2))
            if station is None or station.id not in {s.id for s in await svc.stations(doctor)}:
                raise StaleButton("unknown station")
            if action == "st":
                data.expect(3)
                await ask_day(ctx, r, station)
                return
            data.expect(4)
            ready_on = svc.today() + timedelta(days=data.int_part(3))
            if ready_on not in await svc.ready_days(station):
                raise StaleButton("not a day the station is open")
            done = await svc.approve(doctor, r.id, ready_on, station.id)
            ctx.notice(ctx._("Approved."))
            text = ctx._("✅ Approved: ready from {date} at {place}.").format(
                date=ctx.t.weekday_date(done.ready_on) if done.ready_on else "—",
                place=dview.station_name(ctx, station),
            )
            await show_waiting(ctx, doctor, await decided(ctx, r, RefillStatus.APPROVED, text))
        elif action == "no":
            ctx.say(
                ctx._("Why do you decline? The resident will see this reason."),
                [
                    Button(ctx._(label), cb("refills", "nr", r.id, key))
                    for key, label in DECLINE_REASONS.items()
                ],
                back=LIST,
                edit=True,
            )
        elif action == "nr":
            reason = data.choice(2, tuple(DECLINE_REASONS))
            await svc.decline(doctor, r.id, reason)
            ctx.notice(ctx._("Declined."))
            text = ctx._("❌ Declined: {reason}").format(reason=ctx._(DECLINE_REASONS[reason]))
            await show_waiting(ctx, doctor, await decided(ctx, r, RefillStatus.DECLINED, text))
        else:
            await svc.come_in(doctor, r.id)
            ctx.notice(ctx._("Saved."))
            text = ctx._("🏥 You asked the resident to come in.")
            await show_waiting(ctx, doctor, await decided(ctx, r, RefillStatus.COME_IN, text))
    except NotTheTeams:
        await ctx.services.doctors.denied(ctx.user, doctor, f"refills:{action}")
        raise NotADoctor(f"not the team's refill: refills:{action}") from None


# -- Flags and the card ----------------------------------------------------------------------
async def missed_section(ctx: Ctx, doctor: Doctor) -> tuple[list[str], list[Button]]:
    """Residents of the team with FLAG_MISSED or more missed doses in FLAG_DAYS days."""
    ids = await ctx.services.doctors.signed_residents(doctor)
    counts = await ctx.services.medicines.not_taken(ids)
    flagged = sorted(
        ((n, rid) for rid, n in counts.items() if n >= FLAG_MISSED), key=lambda x: (-x[0], x[1])
    )[:10]
    if not flagged:
        return [], []
    names = await ctx.services.doctors.names(doctor, [rid for _, rid in flagged])
    await ctx.services.doctors.audit(
        NewAudit(doctor.id, "view_missed_doses", details=f"n={len(flagged)}")
    )
    lines = [ctx._("💊 Missed medicine doses (3 or more in 7 days):")]
    buttons = []
    for i, (n, rid) in enumerate(flagged, start=1):
        lines.append(
            f"💊{i}. "
            + ctx.ngettext("{name}: {n} missed", "{name}: {n} missed", n).format(
                name=_who(ctx, names.get(rid, ""), rid), n=n
            )
        )
        buttons.append(Button(ctx._("🗂 Card 💊{n}").format(n=i), cb("day", "card", rid)))
    return lines, buttons


async def card_lines(ctx: Ctx, resident_id: int) -> list[str]:
    """The resident's medicines and their last 7 days, for the doctor's card."""
    svc = ctx.services.medicines
    entries = await svc.entries(resident_id)
    if not entries:
        return [ctx._("Medicines: none recorded")]
    lines = [ctx._("Medicines:")]
    lines += [f"  💊 {view.entry_line(ctx.t, e)}" for e in entries]
    days = await svc.days(resident_id, svc.today() - timedelta(days=FLAG_DAYS - 1))
    taken = sum(d.taken for d in days)
    missed = sum(d.not_taken for d in days)
    lines.append(
        ctx._("Last 7 days: {taken} taken, {missed} missed or skipped").format(
            taken=taken, missed=missed
        )
    )
    return lines


def register(r: Registry) -> None:
    r.button("refills", on_button, open=True)
