"""Routes each Incoming to its handler, one user at a time, with state kept in SQLite.

Updates of one user are handled in arrival order (a per-user lock); different users run
concurrently. The conversation state is loaded before and saved after each handler, so a
restart resumes where the user was.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot import callbacks
from bot.callbacks import Callback, StaleButton
from bot.context import Ctx
from bot.core import Incoming, Kind, Outcome, Reply
from bot.domain.residents import ConversationState
from bot.i18n import negotiate
from bot.logsafe import describe
from bot.menu import label_index

if TYPE_CHECKING:
    from bot.domain.outbox import OutboxRow
    from bot.domain.residents import Resident
    from bot.i18n import Translator
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

Handler = Callable[[Ctx], Awaitable[None]]
ButtonHandler = Callable[[Ctx, Callback], Awaitable[None]]
# Renders one outbox row for its recipient at send time: (runtime, translator, resident, row).
Renderer = Callable[["Runtime", "Translator", "Resident", "OutboxRow"], Awaitable[list[Reply]]]
JobFn = Callable[["Runtime"], Awaitable[None]]


@dataclass(frozen=True)
class JobSpec:
    """A named scheduled job: `trigger` is 'cron' or 'interval', `args` its APScheduler fields."""

    job_id: str
    fn: JobFn
    trigger: str
    args: dict[str, object]


class UserError(Exception):
    """A domain error whose message (an English msgid) is shown to the user, translated."""

    def __init__(self, msgid: str, **params: object) -> None:
        super().__init__(msgid)
        self.msgid = msgid
        self.params = params


@dataclass
class Registry:
    """What each feature module registers: commands, button prefixes, menu keys, states."""

    commands: dict[str, Handler] = field(default_factory=dict)
    buttons: dict[str, ButtonHandler] = field(default_factory=dict)
    menu: dict[str, Handler] = field(default_factory=dict)
    states: dict[str, Handler] = field(default_factory=dict)
    fallbacks: dict[str, Handler] = field(default_factory=dict)
    tops: dict[str, str] = field(default_factory=dict)
    # Reachable before the privacy consent (language, consent itself, help, data rights).
    open_commands: set[str] = field(default_factory=set)
    open_buttons: set[str] = field(default_factory=set)
    open_states: set[str] = field(default_factory=set)
    hooks: list[Callable[[Runtime], Awaitable[None]]] = field(default_factory=list)
    background: list[Callable[[Runtime], Awaitable[None]]] = field(default_factory=list)
    notifications: dict[str, Renderer] = field(default_factory=dict)
    jobs: dict[str, JobSpec] = field(default_factory=dict)
    # Run on every typed text before anything else (emergency signs); True: it answered.
    text_guards: list[Callable[[Ctx], Awaitable[bool]]] = field(default_factory=list)
    # States where a doctor types a message for residents (a broadcast, an answer): guards
    # are not run there, so "chest pain: call 120" in a doctor's text reaches the residents.
    staff_states: set[str] = field(default_factory=set)

    def command(self, name: str, fn: Handler, *, open: bool = False) -> None:
        self._put(self.commands, name, fn)
        if open:
            self.open_commands.add(name)

    def button(self, feature: str, fn: ButtonHandler, *, open: bool = False) -> None:
        self._put(self.buttons, feature, fn)
        if open:
            self.open_buttons.add(feature)

    def menu_item(self, key: str, fn: Handler) -> None:
        self._put(self.menu, key, fn)

    def state(self, name: str, fn: Handler, *, open: bool = False, staff: bool = False) -> None:
        """A handler for free text / location / contact while the user is in state `name`."""
        self._put(self.states, name, fn)
        if open:
            self.open_states.add(name)
        if staff:
            self.staff_states.add(name)

    def text_guard(self, fn: Callable[[Ctx], Awaitable[bool]]) -> None:
        """Runs first on anything typed, in every state, before consent; True if it answered."""
        self.text_guards.append(fn)

    def top(self, feature: str, data: str) -> None:
        """The feature's top screen (a button's data): where ⬅️ Back leads in elder mode from
        a screen of the feature that names no Back of its own."""
        self._put(self.tops, feature, data)

    def fallback(self, kind: str, fn: Handler) -> None:
        """Handlers for what no other route took: 'text', 'location', 'contact', 'media',
        'edited', 'unknown_command', 'stale', 'coming_soon', 'consent', 'error'."""
        self._put(self.fallbacks, kind, fn)

    def on_startup(self, fn: Callable[[Runtime], Awaitable[None]]) -> None:
        """Run after the database is open, in every process (CLI tools included)."""
        self.hooks.append(fn)

    def on_background(self, fn: Callable[[Runtime], Awaitable[None]]) -> None:
        """Start scheduled work, only in processes that serve users (run, chat, serve)."""
        self.background.append(fn)

    def notification(self, kind: str, render: Renderer) -> None:
        """How outbox rows of `kind` are rendered in the recipient's language at send time."""
        self._put(self.notifications, kind, render)

    def job(self, job_id: str, fn: JobFn, trigger: str = "cron", **args: object) -> None:
        """A named APScheduler job (explicit id, replaced on restart, never duplicated)."""
        self._put(self.jobs, job_id, JobSpec(job_id, fn, trigger, args))

    @staticmethod
    def _put(table: dict[str, Any], key: str, fn: object) -> None:
        if key in table:
            raise ValueError(f"{key!r} is registered twice")
        table[key] = fn


class _UserLocks:
    """asyncio locks per user, dropped when nobody holds or waits for them."""

    def __init__(self) -> None:
        self._locks: dict[tuple[str, str], tuple[asyncio.Lock, int]] = {}

    async def __call__(self, key: tuple[str, str], fn: Callable[[], Awaitable[Outcome]]) -> Outcome:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                return await fn()
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)


class Router:
    def __init__(self, rt: Runtime, registry: Registry) -> None:
        self.rt = rt
        self.registry = registry
        self.residents = rt.stores.residents
        self.locks = _UserLocks()
        self._labels = label_index(rt.catalogs.all())

    async def handle(self, msg: Incoming) -> Outcome:
        """Handle one message or button press; never raises for a user's input."""
        return await self.locks((msg.channel, msg.user_id), lambda: self._in_order(msg))

    async def _in_order(self, msg: Incoming) -> Outcome:
        # Several workers (PostgreSQL): the same user's updates may reach different workers
        # behind a load balancer; a cluster-wide lock per user keeps them one at a time.
        cluster = self.rt.stores.cluster
        if not cluster.shared:
            return await self._handle(msg)
        outcome: Outcome = await cluster.user_lock(
            f"{msg.channel}:{msg.user_id}", lambda: self._handle(msg)
        )
        return outcome

    async def _handle(self, msg: Incoming) -> Outcome:
        loaded = await self.residents.load(msg.channel, msg.user_id)
        if loaded is None:
            user, state = await self.residents.create(msg.channel, msg.user_id), None
        else:
            user, state = loaded
        if user.unreachable_at is not None:
            # They wrote to us, so they are reachable again (they unblocked the bot).
            await self.residents.mark_reachable(user.id)
        locale = negotiate(user.locale, msg.language_code, self.rt.settings.default_locale)
        ctx = Ctx(self.rt, user, msg, self.rt.catalogs.get(locale), state or ConversationState())
        try:
            await self._dispatch(ctx)
        except StaleButton as exc:
            log.info("stale button from resident %s: %s", user.id, exc)
            ctx.replies.clear()
            await self._fallback(ctx, "stale")
        except UserError as exc:
            ctx.replies.clear()
            ctx.say(ctx._(exc.msgid).format(**exc.params), home=True)
        except Exception as exc:
            log.error(
                "handler failed for resident %s (kind=%s, command=%s, button=%s, state=%s): %s",
                user.id,
                msg.kind,
                msg.command,
                (msg.data or "")[:20],
                ctx.state.name,
                describe(exc),
            )
            ctx.replies.clear()
            ctx.state_changed = False  # keep the state the user had before the failure
            await self._fallback(ctx, "error")
        ctx.end_turn()
        if ctx.state_changed and not ctx.deleted:
            await self.residents.save_state(user.id, ctx.state)
        if not ctx.replies and ctx.toast is None:
            log.warning("no reply for resident %s (kind=%s)", user.id, msg.kind)
            await self._fallback(ctx, "text")
        return Outcome(ctx.replies, ctx.toast)

    async def _dispatch(self, ctx: Ctx) -> None:
        msg, reg = ctx.msg, self.registry
        consented = ctx.user.consented
        typed = msg.kind in (Kind.TEXT, Kind.COMMAND, Kind.EDITED, Kind.MEDIA) and msg.text
        if typed and (ctx.state.name or "") not in reg.staff_states:
            for guard in reg.text_guards:
                if await guard(ctx):
                    return
        if msg.kind is Kind.COMMAND:
            name = (msg.command or "").lower()
            fn = reg.commands.get(name)
            if fn is None:
                await self._fallback(ctx, "unknown_command")
                return
            if not consented and name not in reg.open_commands:
                await self._fallback(ctx, "consent")
                return
            ctx.clear_state()
            await fn(ctx)
            return
        if msg.kind is Kind.BUTTON:
            data = callbacks.parse(msg.data)
            fn_b = reg.buttons.get(data.feature)
            if fn_b is None:
                raise StaleButton(f"no feature {data.feature!r}")
            if not consented and data.feature not in reg.open_buttons:
                await self._fallback(ctx, "consent")
                return
            up = reg.tops.get(data.feature)
            ctx.up = up if up != msg.data else None  # on the top screen itself: the menu
            await fn_b(ctx, data)
            return
        if msg.kind is Kind.TEXT:
            key = self._labels.get(msg.text.strip())
            if key is not None:
                if not consented:
                    await self._fallback(ctx, "consent")
                    return
                ctx.clear_state()
                fn = reg.menu.get(key)
                await (fn(ctx) if fn else self._fallback(ctx, "coming_soon"))
                return
        state_fn = reg.states.get(ctx.state.name or "")
        if state_fn is not None and msg.kind in (Kind.TEXT, Kind.LOCATION, Kind.CONTACT):
            if not consented and ctx.state.name not in reg.open_states:
                await self._fallback(ctx, "consent")
                return
            await state_fn(ctx)
            return
        if not consented and msg.kind in (Kind.TEXT, Kind.LOCATION, Kind.CONTACT):
            await self._fallback(ctx, "consent")
            return
        await self._fallback(ctx, str(msg.kind) if msg.kind is not Kind.TEXT else "text")

    async def _fallback(self, ctx: Ctx, kind: str) -> None:
        fn = self.registry.fallbacks.get(kind) or self.registry.fallbacks.get("text")
        if fn is None:
            ctx.replies.append(Reply(text="…"))
            return
        await fn(ctx)
