"""The doctor's desk: `/doctor CODE` links a family doctor's account, `/doctor` opens the
desk, and signing requests are approved or declined here.

Every doctor screen (here, in doctor_broadcast and in doctor_day) starts with `require()`:
the account must be linked to a doctor still in the directory, checked in the database on
every update. Anyone else gets the "out of date, nothing changed" answer, and the attempt is
logged and audited. Commands, buttons and states here are open before the privacy consent:
a doctor links as staff, not as a resident.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot import names
from bot.callbacks import Callback, StaleButton, cb
from bot.context import Ctx
from bot.core import Button, Reply
from bot.domain.directory import Doctor, SigningRequest
from bot.router import Registry
from bot.services.doctor_demo import register_demo_sender
from bot.services.doctor_stepup import CODE_DIGITS as STEPUP_DIGITS
from bot.services.doctor_stepup import KIND as STEPUP_KIND
from bot.services.doctor_stepup import STEPUP_HOURS
from bot.services.doctors import DECLINE_REASONS, SIGNING_KIND, WEB
from handlers import promises
from handlers.resident import directory_view as view

if TYPE_CHECKING:
    from bot.domain.outbox import OutboxRow
    from bot.domain.residents import Resident
    from bot.i18n import Translator
    from bot.runtime import Runtime

MENU = cb("desk", "menu")
STEPUP_STATE = "desk.stepup"
REQUESTS = cb("desk", "sr")


class NotADoctor(StaleButton):
    """A doctor function reached by an account that is not (any more) a linked doctor, or a
    doctor's button about someone else's resident. Answered like any stale button."""


async def require(ctx: Ctx, what: str) -> Doctor:
    """The linked doctor behind this account; otherwise audit the attempt and refuse."""
    service = ctx.services.doctors
    doctor = await service.doctor_for(ctx.msg.channel, ctx.msg.user_id)
    if doctor is None:
        await service.denied(ctx.user, None, what)
        if (ctx.state.name or "").startswith("drb."):
            ctx.clear_state()  # unlinked while composing a broadcast: drop the draft
        raise NotADoctor(f"not a linked doctor: {what}")
    return doctor


def doctor_label(ctx: Ctx, doctor: Doctor) -> str:
    return names.doctor_and_team(ctx.locale, doctor)


# -- /doctor ---------------------------------------------------------------------------------
async def command(ctx: Ctx) -> None:
    """`/doctor CODE` links this account; `/doctor` alone opens the desk of a linked doctor.
    On the web: `/doctor DOCTOR_ID` sends a step-up code to the doctor's own chat."""
    code = ctx.msg.args.strip()
    service = ctx.services.doctors
    if ctx.msg.channel == WEB and code:
        await _web_stepup(ctx, code)
        return
    if code:
        await _link(ctx, code)
        return
    doctor = await service.doctor_for(ctx.msg.channel, ctx.msg.user_id)
    if doctor is None and ctx.msg.channel == WEB:
        ctx.say(
            ctx._(
                "This command is for family doctors. On the web, send /doctor followed by your "
                "doctor id: we send a code to the Telegram or WeChat account linked to you."
            ),
            home=True,
        )
        return
    if doctor is None:
        ctx.say(
            ctx._(
                "This command is for family doctors. If you are one, send /doctor followed by "
                "the invite code your health centre gave you."
            ),
            home=True,
        )
        return
    await desk(ctx, doctor)


async def _web_stepup(ctx: Ctx, arg: str) -> None:
    """On the web: a doctor id asks for a code; the 6-digit code opens the desk."""
    stepup = ctx.services.stepup
    if arg.isdecimal() and len(arg) == STEPUP_DIGITS:
        outcome = await stepup.verify(ctx.user, arg, ctx.msg.address)
        doctor = await ctx.services.doctors.doctor_for(ctx.msg.channel, ctx.msg.user_id)
        if outcome == "ok" and doctor is not None:
            ctx.clear_state()
            await desk(
                ctx,
                doctor,
                ctx._("Your desk is open on this device for {hours} hours.").format(
                    hours=STEPUP_HOURS
                ),
            )
            return
        texts = {
            "limited": ctx._("Too many wrong codes. Please wait an hour and try again."),
            "expired": ctx._(
                "This code has expired. Send /doctor followed by your doctor id for a new one."
            ),
        }
        ctx.say(
            texts.get(outcome, ctx._("That code is not right. Please check it and type it again.")),
            home=True,
        )
        return
    outcome = await stepup.request(ctx.user, arg, ctx.msg.address)
    if outcome == "limited":
        ctx.say(ctx._("Too many tries. Please wait an hour and try again."), home=True)
        return
    ctx.set_state(STEPUP_STATE)
    # The same answer whether or not the id is a doctor with a linked account: this must not
    # tell strangers who is a doctor here.
    ctx.say(
        ctx._(
            "If {id} is a family doctor with a linked Telegram or WeChat account, a 6-digit code "
            "is on its way there. Type it here within 10 minutes."
        ).format(id=arg[:40]),
        home=True,
    )


async def on_stepup_code(ctx: Ctx) -> None:
    await _web_stepup(ctx, "".join(ctx.msg.text.split()))


async def render_stepup(
    rt: Runtime, t: Translator, resident: Resident, row: OutboxRow
) -> list[Reply]:
    """The step-up code, in the doctor's own chat."""
    return [
        Reply(
            t.gettext(
                "Your code to open the doctor's desk on the web: {code}\n"
                "It works for 10 minutes. If you did not ask for it, ignore this message."
            ).format(code=row.params.get("code", ""))
        )
    ]


async def _link(ctx: Ctx, code: str) -> None:
    result = await ctx.services.doctors.link(ctx.user, code, ctx.msg.address)
    if result.status == "linked" and result.doctor is not None:
        if ctx.user.locale is None:
            # Progress messages and reports are written later, outside this chat turn: they
            # need the doctor's language on record.
            ctx.user = await ctx.services.residents.set_locale(ctx.user, ctx.locale)
        ctx.notice(ctx._("Linked."))
        await desk(
            ctx,
            result.doctor,
            ctx._("Welcome, {doctor}. This account is now linked to you.").format(
                doctor=view.doctor_name(ctx, result.doctor)
            ),
        )
        return
    texts = {
        "limited": ctx._("Too many wrong codes. Please wait an hour and try again."),
        "used": ctx._(
            "This invite code was already used. Please ask your health centre for a new one."
        ),
        "expired": ctx._(
            "This invite code has expired (codes last 72 hours). Please ask for a new one."
        ),
        "gone": ctx._("This doctor is no longer in the directory. Please ask your health centre."),
    }
    ctx.say(
        texts.get(
            result.status,
            ctx._("That code is not right. Please check it and send /doctor CODE again."),
        ),
        home=True,
    )


async def desk(ctx: Ctx, doctor: Doctor, prefix: str = "", edit: bool = False) -> None:
    """The doctor's menu."""
    from handlers.doctor.questions import desk_buttons  # it imports this module

    service = ctx.services.doctors
    signed = len(await service.signed_residents(doctor))
    pending = len(await service.pending(doctor))
    lines = [prefix] if prefix else []
    lines.append(ctx._("👩‍⚕️ Doctor's desk: {doctor}").format(doctor=doctor_label(ctx, doctor)))
    lines.append(
        ctx.ngettext("{n} signed resident", "{n} signed residents", signed).format(
            n=ctx.t.number(signed)
        )
    )
    from handlers.doctor.medicines import refill_count

    buttons = [
        Button(ctx._("✍️ Signing requests ({n})").format(n=pending), REQUESTS),
        Button(ctx._("📅 Today"), cb("day", "today")),
        Button(ctx._("⏰ Overdue"), cb("day", "over", 0)),
        Button(ctx._("🚩 Flags"), cb("day", "flags")),
        Button(
            ctx._("💊 Refills ({n})").format(n=await refill_count(ctx, doctor)),
            cb("refills", "list"),
        ),
        Button(ctx._("📢 New broadcast"), cb("broadcast", "new")),
        Button(ctx._("📊 My broadcasts"), cb("progress", "list")),
        *await desk_buttons(ctx, doctor),  # questions and satisfaction (issue 12)
        Button(ctx._("⚙️ Settings"), cb("settings", "show")),
    ]
    ctx.say("\n".join(lines), buttons, cols=2, home=True, edit=edit)


async def desk_instead_of_onboarding(ctx: Ctx, note: str = "") -> bool:
    """A linked doctor's account that never consented as a resident is a doctor's desk: what
    would lead a resident to the privacy notice (a typed word, a number that is no option,
    `/lang`, 🏠) shows the desk instead. False for anyone else."""
    doctor = await ctx.services.doctors.doctor_for(ctx.msg.channel, ctx.msg.user_id)
    if doctor is None:
        return False
    ctx.clear_state()
    await desk(ctx, doctor, note)
    return True


# -- signing requests ------------------------------------------------------------------------
async def show_requests(ctx: Ctx, doctor: Doctor) -> None:
    pending = await ctx.services.doctors.pending(doctor)
    if not pending:
        ctx.say(ctx._("No signing requests are waiting."), back=MENU, edit=True)
        return
    await show_request(ctx, pending[0], len(pending))


def requester(ctx: Ctx, req: SigningRequest) -> str:
    """Who asked, for a sentence: the name they gave, else their phone (the name is optional,
    and a dash in "✅ — is now signed" names nobody)."""
    if req.name:
        return req.name
    return ctx._("the resident with phone {phone}").format(phone=req.phone)


async def show_request(ctx: Ctx, req: SigningRequest, waiting: int) -> None:
    home = await ctx.services.directory.home(req.resident_id)
    where = f"{home.town} {home.community}" if home else ctx._("not given")
    text = "\n".join(
        [
            ctx.ngettext(
                "{n} signing request is waiting. The oldest:",
                "{n} signing requests are waiting. The oldest:",
                waiting,
            ).format(n=waiting),
            ctx._("Name: {name}").format(name=req.name or ctx._("not given")),
            ctx._("Phone: {phone}").format(phone=req.phone),
            ctx._("Lives in: {where}").format(where=where),
            ctx._("Asked on: {date}").format(date=ctx.t.date(req.created_at)),
        ]
    )
    ctx.say(
        text,
        [
            Button(ctx._("✅ Approve"), cb("desk", "ok", req.id)),
            Button(ctx._("❌ Decline"), cb("desk", "no", req.id)),
        ],
        cols=2,
        back=MENU,
        edit=True,
    )


async def _pending_request(ctx: Ctx, doctor: Doctor, request_id: int) -> SigningRequest:
    req = await ctx.services.doctors.request(doctor, request_id)
    if req is None:
        # Decided meanwhile (by a colleague), or not the team's at all: audit the latter.
        known = await ctx.services.directory.store.request(request_id)
        if known is not None and known.status == "pending":
            await ctx.services.doctors.denied(ctx.user, doctor, "dr:signing")
        raise NotADoctor("not a pending request of the team")
    return req


async def decide(ctx: Ctx, doctor: Doctor, request_id: int, approve: bool, reason: str) -> None:
    service = ctx.services.doctors
    req = await _pending_request(ctx, doctor, request_id)
    done = await service.decide(doctor, req.id, approve, reason)
    if done is None:
        raise NotADoctor("request decided meanwhile")
    ctx.notice(ctx._("Approved.") if approve else ctx._("Declined."))
    note = (
        ctx._("✅ {name} is now signed with your team.")
        if approve
        else ctx._("❌ The request of {name} was declined.")
    ).format(name=requester(ctx, req))
    note = ctx.t.sentences(
        [
            note,
            # Read back from the notification row: sent, held by quiet hours, or none.
            promises.delivery(
                ctx.t,
                await ctx.services.send_times.state(done.notices[0].dedupe_key),
                ctx.now(),
                ctx._("The resident has been sent the message."),
            )
            if done.notices
            else ctx._("No message to them could be planned: please call them."),
        ]
    )
    remaining = await service.pending(doctor)
    if remaining:
        ctx.say(note, edit=True)
        await show_request(ctx, remaining[0], len(remaining))
    else:
        ctx.say(note + "\n" + ctx._("No more requests are waiting."), back=MENU, edit=True)


async def on_button(ctx: Ctx, data: Callback) -> None:
    action = data.choice(0, ("menu", "sr", "ok", "no", "nr"))
    doctor = await require(ctx, f"dr:{action}")
    if action == "menu":
        data.expect(1)
        await desk(ctx, doctor, edit=True)
    elif action == "sr":
        data.expect(1)
        await show_requests(ctx, doctor)
    elif action == "ok":
        data.expect(2)
        await decide(ctx, doctor, data.int_part(1), True, "")
    elif action == "no":
        data.expect(2)
        req = await _pending_request(ctx, doctor, data.int_part(1))
        ctx.say(
            ctx._("Why do you decline the request of {name}? They will see this reason.").format(
                name=requester(ctx, req)
            ),
            [
                Button(ctx._(label), cb("desk", "nr", req.id, key))
                for key, label in DECLINE_REASONS.items()
            ],
            back=REQUESTS,
            edit=True,
        )
    else:
        data.expect(3)
        reason = data.choice(2, tuple(DECLINE_REASONS))
        await decide(ctx, doctor, data.int_part(1), False, reason)


# -- the resident is told ----------------------------------------------------------------------
async def render_signing(
    rt: Runtime, t: Translator, resident: Resident, row: OutboxRow
) -> list[Reply]:
    """A signing decision, in the resident's language (the outbox renders it at send time)."""
    doctor = await rt.services.directory.doctor(str(row.params.get("doctor_id", "")))
    name = ""
    if doctor is not None:
        name = names.doctor_name(t.locale, doctor)
    if row.key == "approved":
        text = t.gettext(
            "✅ Good news: {doctor} accepted your signing request. You are now signed with "
            'this family doctor team. Open "My family doctor" for their phone and hours.'
        ).format(doctor=name or t.gettext("your family doctor"))
    else:
        reason = DECLINE_REASONS.get(str(row.params.get("reason", "")))
        text = t.sentences(
            [
                t.gettext("Your signing request was declined."),
                t.gettext(reason) if reason else "",
                t.gettext('You can ask again from "My family doctor".'),
            ]
        )
    return [Reply(text=text)]


def register(r: Registry) -> None:
    r.top("desk", MENU)
    r.command("doctor", command, open=True)
    r.button("desk", on_button, open=True)
    r.notification(SIGNING_KIND, render_signing)
    r.notification(STEPUP_KIND, render_stepup)
    r.state(STEPUP_STATE, on_stepup_code, open=True)
    r.on_startup(register_demo_sender)
