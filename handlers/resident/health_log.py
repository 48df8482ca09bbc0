"""Log a home reading: blood pressure, or glucose (fasting or 2 hours after a meal, chosen by
buttons), with a phone-style keypad of buttons or typed ("135/85", "135/85 72", "6.1", "HI").

The reply renders what the clinical rules decided (bot/services/clinical.py) and what was
stored: "flagged for your doctor" only when a flag row was written and a doctor of the signed
team uses Doorstep; "I will remind you" only when reminder rows are pending."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

from bot.callbacks import Callback, StaleButton, cb
from bot.context import HOME as MAIN_MENU
from bot.context import Ctx
from bot.core import Button, Reply
from bot.domain.clinical import Action
from bot.domain.residents import FlowState
from bot.router import Registry
from bot.runtime import Runtime
from bot.services.clinical_reply import Centre, beyond_lines, reading_lines
from bot.services.health import Logged
from bot.services.reading_view import bp_text, glucose_text
from bot.services.readings import (
    CONTEXTS,
    BloodPressure,
    Glucose,
    ReadingError,
    check_bp,
    check_glucose,
    check_systolic,
    glucose_tenths,
    meter_display,
    parse_bp,
    parse_glucose,
    whole_number,
)
from bot.services.vaccines.adults import ppv23_policy
from handlers.resident.directory_view import doctor_name, station_name
from handlers.resident.health import HOME, book_button

KEYS = ("0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "dot", "del", "ok", "skip", "hi", "lo")
# The quick path: common values as buttons, then adjust, then save: 4 taps from "Log blood
# pressure" (open, upper, lower, save). The keypad stays one tap away for exact numbers.
QUICK_SYS = tuple(range(100, 190, 10))  # 100 … 180
QUICK_DIA = tuple(range(60, 115, 5))  # 60 … 110
STEPS = ("-5", "-1", "+1", "+5")
MAX_DIGITS = 3
MAX_GLUCOSE_CHARS = 4  # "16.7"


@dataclass(frozen=True)
class BpEntry(FlowState):
    """Blood pressure being entered: the step, the digits typed so far, the numbers taken.
    `step` is "sys", "dia", "pulse", or "confirm" (elder mode asks before saving)."""

    NAME: ClassVar[str] = "health.bp"
    step: str = "sys"
    buf: str = ""
    sys: int | None = None
    dia: int | None = None
    pulse: int | None = None
    quick: bool = True  # common values as buttons; False: the digit keypad

    @property
    def waiting(self) -> bool:
        return self.step == "confirm"


@dataclass(frozen=True)
class GlucoseEntry(FlowState):
    """Glucose being entered: `context` fasting / after_meal (chosen first); `confirm` holds
    the tenths (and `display` a meter's HI/LO) waiting for elder mode's ✅."""

    NAME: ClassVar[str] = "health.gl"
    buf: str = ""
    confirm: int | None = None
    context: str = "fasting"
    display: str | None = None

    def reading(self) -> Glucose:
        """The reading waiting for confirmation (checked again: state can be old)."""
        context = self.context if self.context in CONTEXTS else "fasting"
        if self.display:
            return meter_display(self.display, context)
        if self.confirm is None:
            raise StaleButton("no glucose waiting to be saved")
        return check_glucose(self.confirm, context)

    @property
    def waiting(self) -> bool:
        return self.confirm is not None or self.display is not None


Entry = BpEntry | GlucoseEntry
BP = BpEntry.NAME
GL = GlucoseEntry.NAME


def _entry(ctx: Ctx) -> Entry | None:
    return ctx.flow(BpEntry) or ctx.flow(GlucoseEntry)


def _keypad(ctx: Ctx, dot: bool, skip: bool, meter: bool = False) -> list[tuple[Button, ...]]:
    """Digits laid out like a phone, three to a row in every mode: the layout people know."""

    def key(label: str, part: str) -> Button:
        return Button(label, cb("reading", "k", part))

    rows = [tuple(key(str(n), str(n)) for n in range(r, r + 3)) for r in (1, 4, 7)]
    rows.append((key("⌫", "del"), key("0", "0"), key("✅", "ok")))
    extra = []
    if dot:
        extra.append(key(ctx._("• decimal point"), "dot"))
    if skip:
        extra.append(key(ctx._("⏭ Skip"), "skip"))
    if extra:
        rows.append(tuple(extra))
    if meter:
        rows.append((key(ctx._("Meter shows HI"), "hi"), key(ctx._("Meter shows LO"), "lo")))
    rows.append((Button(ctx._("⬅️ Back"), HOME), Button(ctx._("🏠 Home"), MAIN_MENU)))
    return rows


def _quick(ctx: Ctx, entry: BpEntry, error: str | None, edit: bool) -> None:
    """Blood pressure by common values: the upper number, the lower number, then a screen to
    adjust both by 1 or 5 and save. Typing still works at every step."""
    key = cb("reading", "kp")
    keypad = Button(ctx._("⌨️ Exact numbers (keypad)"), key)
    nav = (Button(ctx._("⬅️ Back"), HOME), Button(ctx._("🏠 Home"), MAIN_MENU))
    rows: list[tuple[Button, ...]]
    if entry.step == "sys":
        text = ctx._(
            "🩺 Blood pressure. Tap the upper number (systolic) nearest to your reading; you "
            "can adjust it next. Or type it all, like 135/85."
        )
        values = [Button(str(v), cb("reading", "q", v)) for v in QUICK_SYS]
    else:
        text = ctx._(
            "🩺 Blood pressure: upper {sys}. Now tap the lower number (diastolic) nearest to "
            "your reading."
        ).format(sys=entry.sys)
        values = [Button(str(v), cb("reading", "q", v)) for v in QUICK_DIA]
    rows = [tuple(values[i : i + 3]) for i in range(0, len(values), 3)]
    rows += [(keypad,), nav]
    lines = ([error] if error else []) + [text]
    ctx.reply(Reply(text="\n".join(lines), buttons=tuple(rows), edit=edit, wants_text=True))


def _adjust(ctx: Ctx, entry: BpEntry, error: str | None = None, edit: bool = True) -> None:
    """The reading so far, with −5 −1 +1 +5 for each number and ✅ Save (the confirmation)."""
    text = ctx._("🩺 {sys}/{dia} mmHg. Adjust if needed, then tap ✅ Save.").format(
        sys=entry.sys, dia=entry.dia
    )
    rows = [
        tuple(
            Button(ctx._("upper {step}").format(step=d), cb("reading", "adj", "s", d))
            for d in STEPS[:2]
        ),
        tuple(
            Button(ctx._("upper {step}").format(step=d), cb("reading", "adj", "s", d))
            for d in STEPS[2:]
        ),
        tuple(
            Button(ctx._("lower {step}").format(step=d), cb("reading", "adj", "d", d))
            for d in STEPS[:2]
        ),
        tuple(
            Button(ctx._("lower {step}").format(step=d), cb("reading", "adj", "d", d))
            for d in STEPS[2:]
        ),
        (Button(ctx._("✅ Save"), cb("reading", "save")),),
        (
            Button(ctx._("✏️ Start again"), cb("reading", "bp")),
            Button(ctx._("⌨️ Exact numbers (keypad)"), cb("reading", "kp")),
        ),
        (Button(ctx._("⬅️ Back"), HOME), Button(ctx._("🏠 Home"), MAIN_MENU)),
    ]
    lines = ([error] if error else []) + [text]
    ctx.reply(Reply(text="\n".join(lines), buttons=tuple(rows), edit=edit, wants_text=True))


async def on_quick(ctx: Ctx, data: Callback) -> None:
    """A common value tapped: the upper number, then the lower one (checked like typed ones)."""
    data.expect(2)
    entry = ctx.flow(BpEntry)
    if entry is None or not entry.quick or entry.step not in ("sys", "dia"):
        raise StaleButton("no quick blood pressure step")
    allowed = QUICK_SYS if entry.step == "sys" else QUICK_DIA
    value = int(data.choice(1, frozenset(str(v) for v in allowed)))
    try:
        if entry.step == "sys":
            check_systolic(value)
            ctx.enter(BpEntry(step="dia", sys=value))
            _prompt(ctx, edit=True)
            return
        if entry.sys is None:
            raise StaleButton("the upper number is missing")
        check_bp(entry.sys, value)
    except ReadingError as exc:
        _prompt(ctx, _error(ctx, exc), edit=True)
        return
    done = BpEntry(step="confirm", sys=entry.sys, dia=value)
    ctx.enter(done)
    _adjust(ctx, done)


async def on_adjust(ctx: Ctx, data: Callback) -> None:
    data.expect(3)
    entry = ctx.flow(BpEntry)
    if entry is None or not entry.waiting or entry.sys is None or entry.dia is None:
        raise StaleButton("no reading to adjust")
    which = data.choice(1, ("s", "d"))
    step = int(data.choice(2, frozenset(STEPS)))
    sys, dia = (entry.sys + step, entry.dia) if which == "s" else (entry.sys, entry.dia + step)
    try:
        check_bp(sys, dia)
    except ReadingError as exc:
        _adjust(ctx, entry, _error(ctx, exc))
        return
    moved = replace(entry, sys=sys, dia=dia)
    ctx.enter(moved)
    _adjust(ctx, moved)


def _prompt(ctx: Ctx, error: str | None = None, edit: bool = False) -> None:
    entry = _entry(ctx) or BpEntry()
    if isinstance(entry, BpEntry) and entry.quick and entry.step in ("sys", "dia"):
        _quick(ctx, entry, error, edit)
        return
    shown = entry.buf or "—"
    if isinstance(entry, GlucoseEntry):
        if entry.context == "after_meal":
            text = ctx._(
                "🩸 Glucose 2 hours after a meal, in mmol/L. Tap the digits and the decimal "
                "point, then ✅. You can also type it, like 8.5. If the meter shows HI or LO, "
                "tap that."
            )
        else:
            text = ctx._(
                "🩸 Fasting glucose (before eating), in mmol/L. Tap the digits and the decimal "
                "point, then ✅. You can also type it, like 6.1. If the meter shows HI or LO, "
                "tap that."
            )
        rows = _keypad(ctx, dot=True, skip=False, meter=True)
    else:
        if entry.step == "sys":
            text = ctx._(
                "🩺 Blood pressure. Step 1 of 3: the upper number (systolic). Tap the digits, "
                "then ✅. You can also type it all, like 135/85."
            )
        elif entry.step == "dia":
            text = ctx._(
                "🩺 Blood pressure. Step 2 of 3: the lower number (diastolic). "
                "The upper number was {sys}."
            ).format(sys=entry.sys)
        else:
            text = ctx._(
                "🩺 Blood pressure. Step 3 of 3: your pulse, if your monitor shows it. "
                "Otherwise tap ⏭ Skip."
            )
        rows = _keypad(ctx, dot=False, skip=entry.step == "pulse")
    lines = [error] if error else []
    lines += [text, "", f"👉 {shown}"]
    # wants_text: on WeChat, the web chat and the console a typed "12" is the reading itself,
    # not the keypad's twelfth key (see bot/channels/numbered.py).
    ctx.reply(Reply(text="\n".join(lines), buttons=tuple(rows), edit=edit, wants_text=True))


async def start_bp(ctx: Ctx) -> None:
    ctx.enter(BpEntry())
    _prompt(ctx)


async def choose_glucose(ctx: Ctx) -> None:
    """Fasting or after a meal first (the targets differ), by two big buttons."""
    ctx.clear_state()
    ctx.say(
        ctx._("🩸 Glucose: when did you measure it?"),
        [
            Button(ctx._("🌅 Fasting (before eating)"), cb("reading", "glc", "fasting")),
            Button(ctx._("🍽 2 hours after a meal"), cb("reading", "glc", "after_meal")),
        ],
        back=HOME,
    )


async def start_glucose(ctx: Ctx, context: str) -> None:
    ctx.enter(GlucoseEntry(context=context))
    _prompt(ctx)


def _error(ctx: Ctx, exc: ReadingError) -> str:
    """The correction prompt; for a value beyond what can be entered, also what the rules say
    if the meter really shows it (call 120)."""
    lines = ["❗ " + ctx._(exc.msgid).format(**exc.params)]
    beyond = ctx.services.clinical.beyond(exc)
    if beyond is not None:
        lines += beyond_lines(ctx._, ctx.services.clinical.content, beyond)
    return "\n".join(lines)


def _bp_numbers(entry: BpEntry) -> tuple[int, int]:
    if entry.sys is None or entry.dia is None:
        raise StaleButton("the blood pressure is not complete")
    return entry.sys, entry.dia


async def on_key(ctx: Ctx, data: Callback) -> None:
    data.expect(2)
    key = data.choice(1, KEYS)
    entry = _entry(ctx)
    if entry is None:
        # The keypad of a reading that was saved or abandoned.
        raise StaleButton("no reading in progress")
    if entry.waiting:
        raise StaleButton("the reading is waiting for confirmation")
    buf = entry.buf
    glucose = isinstance(entry, GlucoseEntry)
    if key == "del":
        buf = buf[:-1]
    elif key == "dot":
        if not glucose or "." in buf:
            ctx.notice(ctx._("Only one decimal point."))
            return
        buf = (buf or "0") + "."
    elif key == "skip":
        if not isinstance(entry, BpEntry) or entry.step != "pulse":
            raise StaleButton("nothing to skip")
        await _finish(ctx, check_bp(*_bp_numbers(entry)))
        return
    elif key in ("hi", "lo"):
        if not isinstance(entry, GlucoseEntry):
            raise StaleButton("a meter display on the blood pressure keypad")
        await _finish(ctx, meter_display(key.upper(), entry.context))
        return
    elif key == "ok":
        await _accept(ctx, entry, buf)
        return
    else:
        limit = MAX_GLUCOSE_CHARS if glucose else MAX_DIGITS
        if len(buf) >= limit or (glucose and "." in buf and len(buf.split(".")[1]) >= 1):
            ctx.notice(ctx._("That is enough digits. Tap ✅ or ⌫."))
            return
        buf += key
    ctx.enter(replace(entry, buf=buf))
    _prompt(ctx, edit=True)


async def _accept(ctx: Ctx, entry: Entry, buf: str) -> None:
    """✅ on the keypad: check what was entered and go to the next step or save."""
    if not buf.strip("."):
        ctx.notice(ctx._("Please tap the digits first."))
        return
    try:
        if isinstance(entry, GlucoseEntry):
            await _finish(ctx, check_glucose(glucose_tenths(buf), entry.context))
            return
        value = int(buf)
        if entry.step == "sys":
            # Check the upper number alone now, so a typo is caught before step 2.
            check_systolic(value)
            ctx.enter(BpEntry(step="dia", sys=value, quick=entry.quick))
        elif entry.step == "dia":
            if entry.sys is None:
                raise StaleButton("the upper number is missing")
            check_bp(entry.sys, value)
            ctx.enter(BpEntry(step="pulse", sys=entry.sys, dia=value, quick=False))
        elif entry.step == "pulse":
            await _finish(ctx, check_bp(*_bp_numbers(entry), value))
            return
        else:
            raise StaleButton("the reading is waiting for confirmation")
    except ReadingError as exc:
        ctx.enter(replace(entry, buf=""))
        _prompt(ctx, _error(ctx, exc), edit=True)
        return
    _prompt(ctx, edit=True)


async def on_text(ctx: Ctx) -> None:
    """Typed while logging: the whole reading ("135/85", "135/85 72", "6.1"), or the number
    the current keypad step asks for."""
    text = ctx.msg.text.strip()
    entry = _entry(ctx) or BpEntry()
    number = whole_number(text)
    try:
        if isinstance(entry, GlucoseEntry):
            reading: BloodPressure | Glucose = parse_glucose(text, entry.context)
        elif number is not None and not entry.waiting:
            # One number: the keypad step's value (the same checks as tapping it in).
            buf = str(number)
            if isinstance(entry, BpEntry):
                # Typing numbers one by one is the keypad's flow (upper, lower, pulse).
                entry = replace(entry, quick=False)
            await _accept(ctx, replace(entry, buf=buf), buf)
            return
        else:
            reading = parse_bp(text)
    except ReadingError as exc:
        _prompt(ctx, _error(ctx, exc))
        return
    await _finish(ctx, reading)


async def _finish(ctx: Ctx, reading: BloodPressure | Glucose, confirmed: bool = False) -> None:
    if ctx.elder and not confirmed:
        if isinstance(reading, BloodPressure):
            ctx.enter(
                BpEntry(
                    step="confirm",
                    sys=reading.systolic,
                    dia=reading.diastolic,
                    pulse=reading.pulse,
                )
            )
        else:
            ctx.enter(
                GlucoseEntry(
                    confirm=reading.tenths, context=reading.context, display=reading.display
                )
            )
        ctx.say(
            ctx._("Save this reading? {value}").format(value=_value(ctx, reading)),
            [
                Button(ctx._("✅ Save"), cb("reading", "save")),
                Button(
                    ctx._("✏️ Start again"),
                    cb("reading", "bp")
                    if isinstance(reading, BloodPressure)
                    else cb("reading", "glc", reading.context),
                ),
            ],
            cols=2,
            back=HOME,
        )
        return
    ctx.clear_state()
    logged = await ctx.services.health.log_reading(ctx.user.id, reading)
    await _answer(ctx, reading, logged)


async def on_save(ctx: Ctx) -> None:
    """Elder mode's confirmation: save the reading kept in the conversation state."""
    entry = _entry(ctx)
    if isinstance(entry, BpEntry) and entry.waiting:
        reading: BloodPressure | Glucose = check_bp(*_bp_numbers(entry), entry.pulse)
    elif isinstance(entry, GlucoseEntry) and entry.waiting:
        reading = entry.reading()
    else:
        raise StaleButton("no reading waiting to be saved")
    await _finish(ctx, reading, confirmed=True)


def _value(ctx: Ctx, reading: BloodPressure | Glucose, decided_by: str | None = None) -> str:
    """The value as the resident entered it, shown as every list shows it (one decimal for
    glucose: 7.0 mmol/L; the pulse first when the pulse decided)."""
    if isinstance(reading, BloodPressure):
        return bp_text(ctx.t, reading.systolic, reading.diastolic, reading.pulse, decided_by)
    return glucose_text(ctx.t, reading.mmol, reading.display, reading.context)


async def _answer(ctx: Ctx, reading: BloodPressure | Glucose, logged: Logged) -> None:
    """The reply, composed by bot/services/clinical_reply.py from the one decided action: its
    headline, the advice, where to go or when to recheck, the signs; then whether a doctor was
    actually told (from the flag row written)."""
    d = logged.decision
    value = _value(ctx, reading, d.measure)
    buttons = [
        Button(ctx._("📈 My readings"), cb("health", "list")),
        Button(ctx._("❤️ My health"), HOME),
    ]
    centre = await urgent_centre(ctx) if d.action is Action.COME_TODAY else None
    due = ctx.t.date(logged.recheck_due) if logged.recheck_due is not None else None
    lines = reading_lines(
        ctx._, ctx.services.clinical.content, d, value, centre, due, logged.reminded
    )
    if d.urgent:
        lines += _flag_lines(ctx, logged)
        ctx.reply(Reply(text="\n".join(lines)))
        ctx.say(ctx._("Your reading was saved."), buttons, cols=2, home=True)
        return
    if d.action is Action.RECHECK and logged.recheck_due is not None:
        buttons.insert(0, book_button(ctx.t, "recheck"))
    ctx.say("\n".join(lines), buttons, cols=2, home=True)


async def urgent_centre(ctx: Ctx) -> Centre | None:
    """The centre to call for a doctor today, whether it is closed now and, if so, when it
    opens again (from its hours: bot/services/hours.py `next_opening`)."""
    centre = await ctx.services.health.urgent_centre(ctx.user.id)
    if centre is None:
        return None
    now = ctx.now().astimezone(ctx.rt.settings.tz)
    directory = ctx.services.directory
    status = await directory.status(centre, now)
    closed = status.known and not status.open
    opens = await directory.next_opening(centre, now) if closed else None
    today = opens is not None and opens.date() == now.date()
    shown = None
    if opens is not None:
        shown = ctx.t.time(opens) if today else ctx.t.weekday_datetime(opens)
    return Centre(station_name(ctx, centre), centre.phone, closed, shown, today)


def _flag_lines(ctx: Ctx, logged: Logged) -> list[str]:
    if logged.flag_id is not None and logged.seen_by is not None:
        return [
            ctx._("I have flagged this reading for your family doctor, {doctor}.").format(
                doctor=doctor_name(ctx, logged.seen_by)
            )
        ]
    if logged.flag_id is not None:
        return [
            ctx._(
                "No family doctor sees your readings on Doorstep yet: please tell your doctor "
                "about this reading yourself."
            )
        ]
    return []


async def on_button(ctx: Ctx, data: Callback) -> None:
    action = data.part(0)
    if action == "k":
        await on_key(ctx, data)
        return
    if action == "glc":
        data.expect(2)
        await start_glucose(ctx, data.choice(1, CONTEXTS))
        return
    if action == "q":
        await on_quick(ctx, data)
        return
    if action == "adj":
        await on_adjust(ctx, data)
        return
    data.expect(1)
    if action == "kp":
        # The digit keypad for exact numbers (and the pulse), from the start.
        ctx.enter(BpEntry(quick=False))
        _prompt(ctx, edit=True)
        return
    if action == "bp":
        await start_bp(ctx)
    elif action == "gl":
        await choose_glucose(ctx)
    elif action == "save":
        await on_save(ctx)
    else:
        raise StaleButton(f"unknown action {action!r}")


async def bp_command(ctx: Ctx) -> None:
    """/bp [135/85]: log blood pressure, typed at once or with the keypad."""
    if ctx.msg.args.strip():
        ctx.enter(BpEntry())
        await on_text_args(ctx)
        return
    await start_bp(ctx)


async def on_text_args(ctx: Ctx) -> None:
    try:
        reading = parse_bp(ctx.msg.args)
    except ReadingError as exc:
        _prompt(ctx, _error(ctx, exc))
        return
    await _finish(ctx, reading)


async def check_rules(rt: Runtime) -> None:
    """Load the clinical rules and the PPV23 setting at start-up: broken content stops the bot
    with every problem listed, rather than failing a resident's reading later."""
    _ = rt.services.clinical.content
    ppv23_policy(rt.settings)


def register(r: Registry) -> None:
    r.on_startup(check_rules)
    r.top("reading", HOME)
    r.button("reading", on_button)
    r.state(BP, on_text)
    r.state(GL, on_text)
    r.command("bp", bp_command)
