"""The per-update context a handler works with: who, in which language, what to answer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar, cast

from bot.callbacks import cb
from bot.core import Attachment, Button, Incoming, Keyboard, Reply, Venue
from bot.domain.channels import ChannelTraits, traits
from bot.domain.residents import ConversationState, FlowState, Resident
from bot.i18n import Translator
from bot.menu import main_menu_keyboard

if TYPE_CHECKING:
    from bot.app import Services
    from bot.runtime import Runtime

F = TypeVar("F", bound=FlowState)

HOME = cb("menu", "home")


class Ctx:
    """Handed to every handler. Collects replies; holds the (persisted) conversation state."""

    def __init__(
        self,
        rt: Runtime,
        user: Resident,
        msg: Incoming,
        t: Translator,
        state: ConversationState,
    ) -> None:
        self.rt = rt
        self.user = user
        self.msg = msg
        self.t = t
        self.state = state
        self.state_changed = False
        self.deleted = False
        self.replies: list[Reply] = []
        # Where ⬅️ Back leads in elder mode when a screen names none: the top screen of the
        # feature whose button was pressed (Registry.top), else the main menu.
        self.up: str | None = None
        self.toast: str | None = None

    # -- language -------------------------------------------------------------------------
    def _(self, message: str) -> str:
        # Straight to the catalog (Translator.gettext does only this): many calls per screen.
        return self.t.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.t.ngettext(singular, plural, n)

    @property
    def locale(self) -> str:
        return self.t.locale

    @property
    def elder(self) -> bool:
        return self.user.elder_mode

    def now(self) -> datetime:
        """Now, in the deployment's time zone (Asia/Shanghai by default)."""
        return self.rt.now().astimezone(self.rt.settings.tz)

    @property
    def traits(self) -> ChannelTraits:
        """What the resident's channel can show (files, pictures, links, buttons): words
        that mention one of them are chosen from this."""
        return traits(self.msg.channel)

    @property
    def services(self) -> Services:
        """The services (built once, in bot/app.py): `ctx.services.booking` and so on."""
        return self.rt.services

    # -- state ----------------------------------------------------------------------------
    def set_state(self, name: str) -> None:
        """A step that waits for input and keeps nothing else; flows with fields use `enter`."""
        self.state = ConversationState(name)
        self.state_changed = True

    def enter(self, flow: FlowState) -> None:
        """Save `flow` as the conversation state (typed; see bot.domain.residents.FlowState)."""
        self.state = flow.to_state()
        self.state_changed = True

    def flow(self, cls: type[F]) -> F | None:
        """The current state as flow `cls`, or None when the resident is in another flow."""
        return cls.from_state(self.state)

    def clear_state(self) -> None:
        if self.state.name is not None or self.state.data:
            self.state = ConversationState()
            self.state_changed = True

    def forget(self) -> None:
        """The resident was deleted: save no state for them after this update."""
        self.deleted = True
        self.state_changed = False

    # -- replies --------------------------------------------------------------------------
    def reply(self, reply: Reply) -> None:
        self.replies.append(reply)

    def say(
        self,
        text: str,
        buttons: Sequence[Button] | Sequence[Sequence[Button]] = (),
        *,
        cols: int = 1,
        back: str | None = None,
        home: bool | None = None,
        edit: bool = False,
        short: str | None = None,
        wants_text: bool = False,
        free_text: bool = False,
        grid: bool = False,
    ) -> None:
        """Answer with text and inline buttons laid out for the user's mode.

        Elder mode: at most two buttons per row, the `short` text if given, and always a
        Back / Home row. Otherwise buttons go `cols` per row and Back / Home appear when asked.
        `wants_text`: the screen asks for a typed value, so a typed number is that value,
        not an option number, on channels that number their options (see `Reply`).
        `free_text`: the screen waits for typed words; numbers still choose its options.
        `grid`: the buttons are short labels of one kind (days of a month): `cols` per row
        in elder mode too, so 31 days are 5 rows, not 16.
        """
        if self.elder and short:
            text = short
        rows = self.layout(buttons, cols, grid=grid)
        nav: list[Button] = []
        if self.elder and back is None and home is not False:
            # Elder mode: Back and Home on every screen, also where the screen names no Back.
            back = self.up or HOME
        if back:
            nav.append(Button(self._("⬅️ Back"), back))
        if home if home is not None else (self.elder or back is not None):
            nav.append(Button(self._("🏠 Home"), HOME))
        if nav:
            rows.append(tuple(nav))
        self.replies.append(
            Reply(
                text=text,
                buttons=tuple(rows),
                edit=edit,
                wants_text=wants_text,
                free_text=free_text,
            )
        )

    def confirm(
        self,
        question: str,
        yes: str,
        no: str,
        *,
        yes_label: str | None = None,
        no_label: str | None = None,
        edit: bool = False,
    ) -> None:
        """The one confirm step: asked before anything destructive (cancel, stop, withdraw,
        remove, turn off, delete) and, in elder mode, before anything is saved. `yes` is the
        button data that acts; `no` changes nothing and goes back where the resident was.
        Nothing may be changed by the handler that shows this screen."""
        self.say(
            question,
            [
                Button(yes_label or self._("✅ Yes"), yes),
                Button(no_label or self._("❌ No"), no),
            ],
            cols=2,
            back=no if self.elder else None,
            edit=edit,
        )

    def layout(
        self,
        buttons: Sequence[Button] | Sequence[Sequence[Button]],
        cols: int = 1,
        grid: bool = False,
    ) -> list[tuple[Button, ...]]:
        if not buttons:
            return []
        if isinstance(buttons[0], Button):
            flat = cast("list[Button]", list(buttons))
            per_row = min(cols, 2) if self.elder and not grid else cols
            return [tuple(flat[i : i + per_row]) for i in range(0, len(flat), max(per_row, 1))]
        rows: list[tuple[Button, ...]] = []
        for given in cast("Sequence[Sequence[Button]]", buttons):
            row = list(given)
            if self.elder and len(row) > 2:
                rows.extend(tuple(row[i : i + 2]) for i in range(0, len(row), 2))
            else:
                rows.append(tuple(row))
        return rows

    def keyboard(self, text: str, keyboard: Keyboard) -> None:
        self.replies.append(Reply(text=text, keyboard=keyboard))

    def main_menu(self, text: str | None = None) -> None:
        """Show the persistent main menu keyboard."""
        self.keyboard(
            text or self._("Main menu: choose what you need."),
            main_menu_keyboard(self.t, self.elder),
        )

    def venue(self, venue: Venue) -> None:
        self.replies.append(Reply(venue=venue))

    def document(self, doc: Attachment, text: str = "") -> bool:
        """Send a file with its caption `text`. On a channel that cannot send files the
        caption (which speaks of the file) is not shown either: the resident is told the file
        can't be sent here. True when the file was sent."""
        if not self.traits.can_send_files:
            self.replies.append(
                Reply(
                    text=self._("The file {name} can't be sent in this chat.").format(
                        name=doc.filename
                    )
                )
            )
            return False
        self.replies.append(Reply(text=text, document=doc))
        return True

    def photo(self, photo: Attachment, text: str = "") -> bool:
        """Show a picture with its caption `text`; on a channel that cannot show pictures
        neither is sent (the caption speaks of the picture). True when it was sent."""
        if not self.traits.can_send_images:
            return False
        self.replies.append(Reply(text=text, photo=photo))
        return True

    def end_turn(self) -> None:
        """Elder mode: a turn never ends on a file, a picture or a map pin (which carry no
        buttons on any channel): a short line with Back and Home follows it, so the elder is
        never left below a calendar file, medicine card, chart or data export with no way on."""
        if not self.elder or self.deleted or not self.replies:
            return
        last = self.replies[-1]
        if (
            not last.buttons
            and last.keyboard is None
            and (last.document or last.photo or last.venue)
        ):
            self.say(self._("⬆️ Sent above. What would you like to do next?"))

    def notice(self, text: str) -> None:
        """A short toast shown on the button the user pressed (where the channel has one)."""
        self.toast = text
