"""A screen of facts that reads the same in elder mode, only shorter.

Elder mode means bigger and fewer words, never fewer facts: a line added with `fact` is shown
in both modes; only `extra` lines (headings, wording that carries no fact) are left out for
elder readers. One list of lines for both modes, so that a fact added to the card cannot be
forgotten in a separate "short" version.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Card:
    lines: list[tuple[str, bool]] = field(default_factory=list)

    def fact(self, text: str) -> None:
        """A line that says something the reader needs (hours, place, distance, status)."""
        if text:
            self.lines.append((text, True))

    def extra(self, text: str) -> None:
        """Wording only: left out in elder mode."""
        if text:
            self.lines.append((text, False))

    def gap(self) -> None:
        """A blank line between groups (not in elder mode, where it only adds scrolling)."""
        self.lines.append(("", False))

    def text(self, elder: bool) -> str:
        shown = [t for t, essential in self.lines if essential or not elder]
        while shown and not shown[0]:
            shown.pop(0)
        return "\n".join(shown)
