"""How replies look on WeChat: text with numbered options, or tappable msgmenu messages, cut
to WeChat's 2048-byte limit and merged when the customer-service budget is smaller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.channels import numbered
from bot.i18n import Translator

TEXT_BYTES = 2000  # WeChat cuts texts (passive and customer-service) at 2048 bytes of UTF-8


@dataclass(frozen=True, slots=True)
class OutMsg:
    """One customer-service message: plain text, or a tappable msgmenu with `options`."""

    text: str
    options: tuple[numbered.Option, ...] = ()
    text_form: str = ""  # the same message as plain text (numbered options)

    def payload(self) -> dict[str, Any]:
        if self.options:
            return {
                "msgtype": "msgmenu",
                "msgmenu": {
                    "head_content": self.text,
                    "list": [{"id": str(o.n), "content": o.label} for o in self.options],
                    "tail_content": "",
                },
            }
        return {"msgtype": "text", "text": {"content": self.text}}


def block_text(block: numbered.Block, t: Translator, with_options: bool = True) -> str:
    lines: list[str] = []
    if block.venue is not None:
        v = block.venue
        lines += [
            f"📍 {v.title}",
            v.address,
            t.gettext("Map: {url}").format(url=numbered.map_link(v)),
        ]
    if block.document is not None:
        lines.append(
            t.gettext("The file {name} can't be sent on WeChat.").format(
                name=block.document.filename
            )
        )
    if block.photo is not None and not block.text:
        lines.append(f"🖼 {block.photo.caption or block.photo.filename}")
    if block.text:
        lines.append(block.text)
    if with_options:
        lines += [
            t.gettext("Reply {n}: {label}").format(n=o.key or o.n, label=o.label)
            for o in block.options
        ]
    if block.wants_text and block.options:
        # Options are keyed by letter here; say why, so "12" is typed without a second thought.
        lines.append(
            t.gettext(
                "✏️ You can also type the value: on this step a number you send is the value, "
                "not an option number."
            )
        )
    lines += [link_line(t, label, url) for label, url in block.links]
    if block.ask_location:
        lines.append(t.gettext("To send your location, tap + below the chat and choose Location."))
    if block.ask_contact:
        lines.append(t.gettext("To give your phone number, type it here."))
    return "\n".join(lines).strip() or "…"


def shown(blocks: list[numbered.Block]) -> list[numbered.Block]:
    """The blocks WeChat shows: a picture alone (with its caption, which speaks of it) is
    left out, as WeChat gets no picture (`ChannelTraits.can_send_images`)."""
    return [
        b
        for b in blocks
        if b.photo is None or b.options or b.links or b.venue is not None or b.document
    ] or blocks[-1:]


def link_line(t: Translator, label: str, url: str) -> str:
    """A URL button as a line of text. WeChat does not open `tel:` links in a text message,
    but makes a bare phone number tappable (call / copy): a call button is its number."""
    if url.startswith("tel:"):
        return "📞 " + t.labelled(label.lstrip("📞☎ ").strip() or label, url[4:])
    return "🔗 " + t.labelled(label, url)


def render(blocks: list[numbered.Block], t: Translator, msgmenu: bool) -> list[OutMsg]:
    out: list[OutMsg] = []
    for block in shown(blocks):
        full = block_text(block, t)
        if msgmenu and block.options:
            head = block_text(block, t, with_options=False)
            out.append(OutMsg(split_bytes(head)[0], block.options, full))
            continue
        out.extend(OutMsg(chunk, (), chunk) for chunk in split_bytes(full))
    return out


def split_bytes(text: str, limit: int = TEXT_BYTES) -> list[str]:
    """Cut text into pieces of at most `limit` UTF-8 bytes, at line breaks where possible."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line.encode()) > limit:  # a single overlong line: cut it by characters
            cut = len(line)
            while len(line[:cut].encode()) > limit:
                cut -= max(1, (len(line[:cut].encode()) - limit) // 4)
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:cut])
            line = line[cut:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate.encode()) > limit:
            pieces.append(current)
            current = line
        else:
            current = candidate
    if current or not pieces:
        pieces.append(current)
    return pieces


def fit(messages: list[OutMsg], allowed: int) -> list[OutMsg]:
    """At most `allowed` messages: the ones beyond are merged, as text, into the last one;
    what still does not fit is dropped (and logged by the caller)."""
    if len(messages) <= allowed:
        return messages
    if allowed <= 0:
        return []
    keep, rest = messages[: allowed - 1], messages[allowed - 1 :]
    merged = "\n\n".join(m.text_form for m in rest)
    chunk = split_bytes(merged)[0]
    return [*keep, OutMsg(chunk, (), chunk)]


def passive_text(blocks: list[numbered.Block], t: Translator) -> str:
    return "\n\n".join(block_text(b, t) for b in shown(blocks))
