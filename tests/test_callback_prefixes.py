"""Callback prefixes say what they belong to; a button from before the rename is answered as
out of date (nothing changes), like any stale button."""

from __future__ import annotations

from bot.app import build_registry
from bot.runtime import Runtime
from tests.harness import ChatUser

# The prefixes buttons carried before they were renamed to words.
OLD = ("bk", "hl", "hr", "doc", "dr", "drb", "drd", "drp", "vx", "vxa", "vxd", "vxr", "st")
OLD += ("priv", "set")


def test_prefixes_are_words_and_old_ones_are_gone() -> None:
    prefixes = set(build_registry().buttons)
    assert not prefixes & set(OLD)
    assert all(len(p) >= 3 and p.isalpha() for p in prefixes), sorted(prefixes)


async def test_old_prefix_buttons_are_out_of_date(user: ChatUser, rt: Runtime) -> None:
    before = await rt.stores.residents.load("test", user.user_id)
    for data in (
        "v1:bk:new:chronic",
        "v1:hl:menu",
        "v1:doc:menu",
        "v1:dr:menu",
        "v1:set:lang:zh_Hans",
        "v1:priv:delete:yes",
        "v1:vxa:new",
    ):
        await user.press_data(data)
        assert "out of date" in user.texts(), data
        assert user.last is not None and user.last.toast
    assert await rt.stores.residents.load("test", user.user_id) == before
