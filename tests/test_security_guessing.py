"""Issue 16: guessing child-sharing and doctor codes is throttled per account, per address
(the web chat has one) and overall; refused attempts are audited, a burst alerts the
operator in the log, with no personal data."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from bot.channels.web import WebChat
from bot.domain.guessing import CodeKind, GuessLimits
from bot.runtime import Runtime
from bot.services import guess_throttle
from bot.services.guess_throttle import LIMITS
from tests.doctor_fixtures import WANG, load_district
from tests.harness import ChatUser

WRONG = "ABCDEFGH"  # 8 letters, like a child code


async def actions(rt: Runtime) -> list[str]:
    return [r[0] for r in await rt.db.fetchall("SELECT action FROM audit_log ORDER BY id")]


async def web_onboard(web: WebChat, address: str) -> str:
    visitor = (await web.new_session()).visitor
    shown = await web.handle(visitor, {"type": "text", "text": "/start"}, "en", address)
    for label in ("English", "I agree"):
        n = next(o["n"] for m in shown for o in m["options"] if label in o["label"])
        shown = await web.handle(visitor, {"type": "option", "n": n}, "en", address)
    return visitor


async def test_child_codes_are_limited_per_account_and_audited(
    rt: Runtime, make_user: Callable[..., ChatUser]
) -> None:
    """Finding: `/child CODE` had no attempt limit (1,000 guesses took 2.8 s)."""
    parent = make_user("5000")
    await parent.onboard()
    owner = (await rt.stores.residents.load("test", "5000"))[0]  # type: ignore[index]
    child = await rt.services.children.add(owner.id, "Mei", rt.now().date())
    record = await rt.services.children.mine(owner.id, child.id)
    assert record is not None
    code = await rt.services.children.invite(record)
    guesser = make_user("5001")
    await guesser.onboard()
    for _ in range(LIMITS[CodeKind.CHILD].account):
        await guesser.text(f"/child {WRONG}")
        assert "not right" in guesser.texts()
    await guesser.text(f"/child {code}")
    assert "Too many wrong codes" in guesser.texts()  # even the right code waits
    logged = await actions(rt)
    assert logged.count("child_code_failed") == 5 and "child_code_limited" in logged


async def test_fresh_web_visitors_from_one_address_are_limited(rt: Runtime) -> None:
    """Finding: the /doctor limit was per account, so 20 fresh web visitors made 100 guesses
    with none refused."""
    await load_district(rt)
    web = WebChat(rt)
    refused = 0
    for _ in range(6):
        visitor = await web_onboard(web, "203.0.113.7")
        for _ in range(5):
            shown = await web.handle(
                visitor, {"type": "text", "text": "/child ABCDEFGH"}, "en", "203.0.113.7"
            )
            refused += "Too many wrong codes" in " ".join(m.get("text", "") for m in shown)
    # 20 wrong codes from the address, then every further try is refused.
    assert refused == 6 * 5 - LIMITS[CodeKind.CHILD].address
    # Another address is not held back by this one.
    visitor = await web_onboard(web, "198.51.100.1")
    shown = await web.handle(
        visitor, {"type": "text", "text": "/child ABCDEFGH"}, "en", "198.51.100.1"
    )
    assert "not right" in " ".join(m.get("text", "") for m in shown)


async def test_doctor_codes_are_limited_overall_and_a_burst_alerts_the_operator(
    rt: Runtime,
    make_user: Callable[..., ChatUser],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await load_district(rt)
    monkeypatch.setitem(LIMITS, CodeKind.DOCTOR, GuessLimits(account=5, address=5, overall=8))
    caplog.set_level(logging.WARNING, logger=guess_throttle.__name__)
    outcomes: list[str] = []
    for i in range(5):  # five accounts, two wrong codes each, no address (Telegram)
        user = make_user(f"61{i:02d}")
        for j in range(2):
            outcomes.append(
                (await rt.services.doctors.link(await _resident(rt, user), f"WRONG{j}")).status
            )
    assert outcomes.count("limited") == 2  # the 9th and 10th: the overall limit
    alerts = [r.getMessage() for r in caplog.records if "OPERATOR ALERT" in r.getMessage()]
    assert len(alerts) == 2 and "doctor" in alerts[0]  # at half the limit, and at the limit
    assert not any("61" in a for a in alerts)  # counts only: no account, no code
    code = await rt.services.doctors.invite(WANG)
    late = make_user("6200")
    assert (await rt.services.doctors.link(await _resident(rt, late), code)).status == "limited"


async def _resident(rt: Runtime, user: ChatUser) -> Any:
    return await rt.stores.residents.create(user.channel, user.user_id)
