"""/mydata (everything stored, readable and as JSON) and /delete (with confirmation)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from bot.callbacks import Callback, cb
from bot.context import Ctx
from bot.core import Attachment, Button
from bot.domain.outbox import PENDING, SENDING, SENT
from bot.i18n import N_
from bot.router import Registry
from bot.services.reading_view import mark
from handlers.start import LANGUAGE_NAMES

# Not a table: each child's open doses as every screen shows them (dose_state), so the export
# states the same status as the card, the doctor's card and the reminders.
PLAN = "vaccine_plan"
# What each kind of stored record is, in words; the JSON file has every column. A table
# without a title here (a new feature's) is still counted, under its own name.
TABLE_TITLES: dict[str, str] = {
    "conversations": N_("where you are in a conversation"),
    "outbox": N_("messages planned for you (reminders, tips)"),
    "resident_homes": N_("your community"),
    "signing_requests": N_("requests to sign with a family doctor"),
    "signings": N_("your signed family doctor"),
    "tip_subscriptions": N_("your health tips settings"),
    # Counted when a tip is chosen for a planned message, not when it is sent: the outbox
    # line below says how many messages were actually sent.
    "tip_history": N_("health tips chosen for you (sent or still planned)"),
    "tip_feedback": N_("your feedback on tips"),
    "health_profiles": N_("your birth year"),
    "health_conditions": N_("your chronic conditions"),
    "health_readings": N_("your blood pressure and glucose readings"),
    "health_events": N_("follow-up visits and checks"),
    "health_flags": N_("danger-sign readings flagged for your family doctor team"),
    "appointments": N_("your bookings"),
    "children": N_("your children"),
    "child_guardians": N_("children you follow"),
    "child_doses": N_("vaccine doses recorded"),
    "child_invites": N_("codes to share a child"),
    "adult_vaccines": N_("your flu and pneumococcal vaccines"),
    "audit_log": N_("entries about you in the doctors' log"),
    "med_entries": N_("medicines on your list"),
    "med_doses": N_("medicine doses you marked taken or not taken"),
    "med_refills": N_("your refill requests"),
    "doctor_links": N_("your link as a family doctor"),
    "code_attempts": N_("code attempts"),
    "channel_options": N_("the options last shown to you"),
    "web_pending": N_("messages waiting for the web chat"),
    "web_visitors": N_("your web chat session"),
    "web_tokens": N_("your web chat sign-in keys (stored as hashes)"),
    "wechat_window": N_("when you last wrote on WeChat"),
    "wechat_inbound": N_("WeChat messages kept a few minutes for WeChat's retries"),
    "doctor_stepups": N_("your doctor's desk sign-in on the web"),
    "tickets": N_("your questions to doctors"),
    "ticket_messages": N_("messages in your questions and their answers"),
    "ticket_ratings": N_("your ratings of answers"),
    "satisfaction_answers": N_("your satisfaction answers after visits"),
    "redflag_events": N_("emergency signs you typed (which sign, not your words)"),
    PLAN: N_("your children's open vaccine doses, worked out from the doses recorded"),
}


# What the doctors' log (audit_log) says a doctor did about the resident, by its stored
# action. Only view_card and view_ticket are a doctor opening the record; the rest are
# decisions and messages, so /mydata never counts a decision as a look at the record.
AUDIT_ACTIONS: dict[str, str] = {
    "view_card": N_("a doctor opened your record: {n}"),
    "view_ticket": N_("a doctor opened one of your questions: {n}"),
    "ticket_answer": N_("answers to your questions: {n}"),
    "signing_approved": N_("signing requests accepted: {n}"),
    "signing_declined": N_("signing requests declined: {n}"),
    "refill_approved": N_("refill requests approved: {n}"),
    "refill_declined": N_("refill requests declined: {n}"),
    "refill_come_in": N_('refill requests answered with "please come in": {n}'),
    "visit_attended": N_("visits marked as attended: {n}"),
    "visit_no_show": N_("visits marked as missed: {n}"),
    "reminder": N_("reminders a doctor sent you: {n}"),
}
# Tables whose rows a doctor sees and marks as seen (seen_at).
SEEN_BY_TEAM = ("health_flags", "redflag_events")


def _when(value: Any) -> datetime | None:
    """A stored moment as an aware datetime, whichever way the backend returned it."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value)
    return None


def _profile(ctx: Ctx, profile: dict[str, Any]) -> str:
    """The residents row itself: language, elder mode and consent as stored."""
    language = LANGUAGE_NAMES.get(profile.get("locale") or "") or ctx._("not chosen yet")
    elder = ctx._("on") if profile.get("elder_mode") else ctx._("off")
    consent = _when(profile.get("consent_at"))
    if consent is None:
        return ctx._(
            "Profile: language {language}, elder mode {elder}, consent not given yet"
        ).format(language=language, elder=elder)
    return ctx._(
        "Profile: language {language}, elder mode {elder}, consent given {consent}"
    ).format(language=language, elder=elder, consent=ctx.t.datetime(consent))


# A table added later without a title here still shows, in words, never as its SQL name
# (tests/test_privacy.py fails on any table of the export without a title).
OTHER_RECORDS = N_("other records")
OTHER_CHAT = N_("chat")
CHANNEL_NAMES = {
    "telegram": "Telegram",
    "wechat": N_("WeChat"),
    "web": N_("web chat"),
    "console": N_("sandbox"),
}


def _readable(ctx: Ctx, data: dict[str, list[dict[str, Any]]], *, file_sent: bool) -> str:
    lines = [ctx._("Everything Doorstep stores about you:")]
    profile = data.get("residents", [{}])[0]
    lines.append(_profile(ctx, profile))
    lines.append(
        ctx._("Your chat account: {channel}, since {date}").format(
            channel=ctx._(CHANNEL_NAMES.get(str(profile.get("channel")), OTHER_CHAT)),
            date=ctx.t.date(_when(profile.get("created_at")) or ctx.now()),
        )
    )
    own_desk = {r.get("doctor_id") for r in data.get("doctor_links", [])}
    for table, rows in data.items():
        if table == "residents" or not rows:
            continue
        title = TABLE_TITLES.get(table, OTHER_RECORDS)
        lines.append(
            "• "
            + ctx.ngettext("{title}: {n} record", "{title}: {n} records", len(rows)).format(
                title=ctx._(title), n=ctx.t.number(len(rows))
            )
        )
        if table == "outbox":
            lines.append("  " + _outbox_states(ctx, rows))
        if table == "tickets":
            lines.append("  " + _ticket_routes(ctx, rows))
        if table == "audit_log":
            lines.append("  " + _audit_actions(ctx, rows, own_desk))
        if table in SEEN_BY_TEAM:
            lines.append("  " + _seen(ctx, rows))
    # Said from what was sent: where the channel carries no files, ctx.document already said
    # the file can't be sent, and nothing here points at a file above.
    if file_sent:
        lines.append(ctx._("The file above has all of it in JSON."))
    return "\n".join(lines)


def _audit_actions(ctx: Ctx, rows: list[dict[str, Any]], own_desk: set[Any]) -> str:
    """What the doctors' log holds about the resident, counted by stored action; the
    resident's own actions at a doctor's desk (their own doctor account) are not a doctor
    looking at them."""
    counts: dict[str, int] = {}
    own = other = 0
    for r in rows:
        action = str(r.get("action"))
        if r.get("doctor_id") is not None and r.get("doctor_id") in own_desk:
            own += 1
        elif action in AUDIT_ACTIONS:
            counts[action] = counts.get(action, 0) + 1
        else:
            other += 1
    parts = [
        ctx._(msgid).format(n=ctx.t.number(counts[action]))
        for action, msgid in AUDIT_ACTIONS.items()
        if counts.get(action)
    ]
    if own:
        parts.append(
            ctx._("your own actions at your doctor's desk: {n}").format(n=ctx.t.number(own))
        )
    if other:
        parts.append(ctx._("other entries: {n}").format(n=ctx.t.number(other)))
    return ctx._(", ").join(parts)


def _seen(ctx: Ctx, rows: list[dict[str, Any]]) -> str:
    """Seen and not yet seen by the team, from each row's stored seen_at; an emergency sign
    typed while not signed (no doctor stored with it) went to no team at all."""
    seen = sum(1 for r in rows if r.get("seen_at") is not None)
    no_team = sum(1 for r in rows if "doctor_id" in r and r["doctor_id"] is None)
    line = ctx._("{seen} seen by your family doctor team, {unseen} not seen yet").format(
        seen=ctx.t.number(seen), unseen=ctx.t.number(len(rows) - seen - no_team)
    )
    if no_team:
        line += ctx._(", ") + ctx._("{n} while you had no family doctor team").format(
            n=ctx.t.number(no_team)
        )
    return line


def _ticket_routes(ctx: Ctx, rows: list[dict[str, Any]]) -> str:
    """Where each question went, from its stored route: the signed team or a centre's duty
    desk (not signed, or escalated), so /mydata never calls a duty-desk question "your team"."""
    team = sum(1 for r in rows if r.get("route") == "team")
    return ctx._("{team} to your family doctor team, {duty} to a centre's duty desk").format(
        team=ctx.t.number(team), duty=ctx.t.number(len(rows) - team)
    )


def _outbox_states(ctx: Ctx, rows: list[dict[str, Any]]) -> str:
    """Sent, still waiting, and not sent: from each row's stored status, so /mydata never calls
    a message sent that is still waiting (quiet hours, a later day)."""
    sent = sum(1 for r in rows if r.get("status") == SENT)
    waiting = sum(1 for r in rows if r.get("status") in (PENDING, SENDING))
    return ctx._("{sent} sent, {waiting} still waiting, {other} not sent").format(
        sent=ctx.t.number(sent),
        waiting=ctx.t.number(waiting),
        other=ctx.t.number(len(rows) - sent - waiting),
    )


async def export(ctx: Ctx) -> None:
    """Send what is stored about the user: a readable message plus a JSON file."""
    data: dict[str, list[dict[str, Any]]] = dict(await ctx.services.residents.export(ctx.user.id))
    data[PLAN] = [
        {
            "child": child.nickname,
            "born": child.born.isoformat(),
            "dose": s.code,
            "state": str(s.shown),
            "give_from": s.give_from.isoformat(),
            "deadline": s.deadline.isoformat() if s.deadline else None,
        }
        for child in await ctx.services.child_vaccines.status(ctx.user.id)
        for s in child.doses
    ]
    for row in data.get("health_readings", []):
        # What the rules decided, marked and worded as every other view shows it.
        m = mark(
            row.get("action"),
            row.get("direction"),
            bool(row.get("danger")),
            bool(row.get("controlled")),
        )
        row["mark"] = m.emoji
        row["assessment"] = ctx._(m.wording)
    payload = json.dumps(data, ensure_ascii=False, indent=2, default=str).encode()
    # The file first, then the words with Back and Home: the last message is never a file
    # with no way on (elder mode).
    sent = ctx.document(
        Attachment("doorstep-my-data.json", payload, "application/json"),
        ctx._("Your data (JSON)"),
    )
    ctx.say(
        _readable(ctx, data, file_sent=sent),
        back=cb("settings", "show") if ctx.user.consented else None,
        home=True,
    )


async def ask_delete(ctx: Ctx) -> None:
    ctx.say(
        ctx._(
            "Delete everything Doorstep stores about you? This removes your profile, "
            "bookings, readings, reminders and children's records, and cannot be undone."
        ),
        [
            Button(ctx._("🗑 Yes, delete everything"), cb("privacy", "delok")),
            Button(ctx._("❌ No, keep my data"), cb("privacy", "keep")),
        ],
        # Before consent there is no menu to go back to; after it, Back leads to Settings.
        back=cb("settings", "show") if ctx.user.consented else None,
        home=ctx.user.consented,
    )


async def on_button(ctx: Ctx, data: Callback) -> None:
    data.expect(1)
    action = data.choice(0, ("export", "delete", "delok", "keep"))
    if action == "export":
        await export(ctx)
    elif action == "delete":
        await ask_delete(ctx)
    elif action == "keep":
        ctx.say(ctx._("Nothing was deleted."), back=cb("settings", "show"), home=True)
    else:
        await ctx.services.residents.delete(ctx.user.id)
        ctx.forget()
        # Nothing is left to go back or home to: the one way on is to start again.
        ctx.say(
            ctx._("All your data has been deleted. Tap below if you want to begin again."),
            [Button(ctx._("▶️ Start again"), cb("start", "again"))],
            home=False,
        )


def register(r: Registry) -> None:
    r.command("mydata", export, open=True)
    r.command("delete", ask_delete, open=True)
    r.button("privacy", on_button, open=True)
