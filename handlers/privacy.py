"""/mydata (everything stored, readable and as JSON) and /delete (with confirmation)."""

from __future__ import annotations

import json
from typing import Any

from bot.callbacks import Callback, cb
from bot.context import Ctx
from bot.core import Attachment, Button
from bot.router import Registry
from bot.storage.residents import ResidentStore

# Columns that only make sense to the software, left out of the readable summary (they are in
# the JSON file).
_HIDDEN = {"id", "resident_id", "channel", "channel_user_id"}


def _readable(ctx: Ctx, data: dict[str, list[dict[str, Any]]]) -> str:
    lines = [ctx._("Everything Doorstep stores about you:")]
    profile = data.get("residents", [{}])[0]
    lines.append(
        ctx._("Profile: language {language}, elder mode {elder}, consent given {consent}").format(
            language=profile.get("locale") or "-",
            elder=ctx._("on") if profile.get("elder_mode") else ctx._("off"),
            consent=profile.get("consent_at") or "-",
        )
    )
    for table, rows in data.items():
        if table == "residents" or not rows:
            continue
        lines.append(
            ctx.ngettext("{table}: {n} record", "{table}: {n} records", len(rows)).format(
                table=table, n=len(rows)
            )
        )
        for row in rows[:20]:
            shown = ", ".join(f"{k}={v}" for k, v in row.items() if k not in _HIDDEN)
            lines.append(f"  • {shown}")
    lines.append(ctx._("The attached file has all of it in JSON."))
    return "\n".join(lines)


async def export(ctx: Ctx) -> None:
    """Send what is stored about the user: a readable message plus a JSON file."""
    data = await ctx.service(ResidentStore).export(ctx.user.id)
    payload = json.dumps(data, ensure_ascii=False, indent=2, default=str).encode()
    ctx.say(_readable(ctx, data), home=True)
    ctx.document(
        Attachment("doorstep-my-data.json", payload, "application/json"),
        ctx._("Your data (JSON)"),
    )


async def ask_delete(ctx: Ctx) -> None:
    ctx.say(
        ctx._(
            "Delete everything Doorstep stores about you? This removes your profile, "
            "bookings, readings, reminders and children's records, and cannot be undone."
        ),
        [
            Button(ctx._("🗑 Yes, delete everything"), cb("priv", "delok")),
            Button(ctx._("❌ No, keep my data"), cb("priv", "keep")),
        ],
        home=False,
    )


async def on_button(ctx: Ctx, data: Callback) -> None:
    data.expect(1)
    action = data.choice(0, ("export", "delete", "delok", "keep"))
    if action == "export":
        await export(ctx)
    elif action == "delete":
        await ask_delete(ctx)
    elif action == "keep":
        ctx.say(ctx._("Nothing was deleted."), home=True)
    else:
        await ctx.service(ResidentStore).delete(ctx.user.id)
        ctx.forget()
        ctx.say(
            ctx._("All your data has been deleted. Send /start if you want to begin again."),
            home=False,
        )


def register(r: Registry) -> None:
    r.command("mydata", export, open=True)
    r.command("delete", ask_delete, open=True)
    r.button("priv", on_button, open=True)
