"""Only linked doctors reach the doctor's side; every refusal is audited."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from bot.callbacks import cb
from bot.domain.guessing import CodeKind
from bot.runtime import Runtime
from bot.services.guess_throttle import LIMITS
from handlers.doctor.desk import render_signing
from tests.conftest import Clock
from tests.doctor_fixtures import CHEN, WANG, linked_doctor, load_district, signed_resident
from tests.harness import ChatUser

STALE = "out of date"
# One button of every doctor screen, with plausible arguments.
DOCTOR_BUTTONS = [
    cb("desk", "menu"),
    cb("desk", "sr"),
    cb("desk", "ok", 1),
    cb("desk", "no", 1),
    cb("desk", "nr", 1, "full"),
    cb("day", "today"),
    cb("day", "over", 0),
    cb("day", "flags"),
    cb("day", "card", 1),
    cb("day", "rem", 1, "quarterly"),
    cb("day", "att", 1),
    cb("day", "ns", 1),
    cb("broadcast", "new"),
    cb("progress", "list"),
    cb("progress", "p", 1),
    cb("broadcast", "a", "all"),
    cb("broadcast", "go"),
    cb("progress", "x", 1),
]


async def audit_actions(rt: Runtime) -> list[str]:
    return [e.action for e in await rt.stores.doctors.audit_since(0)]


async def test_resident_gets_nothing_from_forged_doctor_buttons(
    rt: Runtime, user: ChatUser
) -> None:
    await load_district(rt)
    await signed_resident(rt, "2001", WANG)
    for data in DOCTOR_BUTTONS:
        await user.press_data(data)
        assert STALE in user.texts(), data
        assert "Doctor's desk" not in user.texts()
    assert (await audit_actions(rt)).count("denied") == len(DOCTOR_BUTTONS)


async def test_doctor_command_without_a_link_says_it_is_for_doctors(user: ChatUser) -> None:
    await user.text("/doctor")
    assert "for family doctors" in user.texts()


async def test_wrong_used_and_expired_codes_fail_kindly(
    rt: Runtime, make_user: Callable[..., ChatUser], clock: Clock
) -> None:
    await load_district(rt)
    service = rt.services.doctors
    someone = make_user("3001")
    await someone.text("/doctor ABCDE-FGHJK")
    assert "not right" in someone.texts()

    code = await service.invite(WANG)
    await linked_doctor(rt, make_user, WANG, "3002")  # uses another code
    doctor = make_user("3003")
    await doctor.text(f"/doctor {code.lower().replace('-', ' ')}")  # forgiving about format
    assert "Doctor's desk" in doctor.texts()
    await someone.text(f"/doctor {code}")
    assert "already used" in someone.texts()

    old = await service.invite(CHEN)
    clock.set(clock.current + timedelta(hours=72, seconds=1))
    await someone.text(f"/doctor {old}")
    assert "expired" in someone.texts()
    await someone.press_data(cb("desk", "menu"))
    assert STALE in someone.texts()


async def test_guessing_is_limited_per_hour(
    rt: Runtime, make_user: Callable[..., ChatUser], clock: Clock
) -> None:
    await load_district(rt)
    guesser = make_user("4001")
    for i in range(LIMITS[CodeKind.DOCTOR].account):
        await guesser.text(f"/doctor WRONG{i}")
        assert "not right" in guesser.texts()
    code = await rt.services.doctors.invite(WANG)
    await guesser.text(f"/doctor {code}")
    assert "Too many wrong codes" in guesser.texts()  # even the right code waits
    clock.set(clock.current + timedelta(hours=1, seconds=1))
    await guesser.text(f"/doctor {code}")
    assert "Doctor's desk" in guesser.texts()
    assert "link_limited" in await audit_actions(rt)


async def test_revoke_unlinks_at_once(rt: Runtime, make_user: Callable[..., ChatUser]) -> None:
    await load_district(rt)
    doctor = await linked_doctor(rt, make_user)
    await doctor.press_data(cb("desk", "menu"))
    assert "Doctor's desk" in doctor.texts()
    assert (await rt.services.doctors.revoke(WANG)).unlinked
    await doctor.press_data(cb("desk", "menu"))
    assert STALE in doctor.texts()
    await doctor.text("/doctor")
    assert "for family doctors" in doctor.texts()


async def resident_id(rt: Runtime, u: ChatUser) -> int:
    loaded = await rt.stores.residents.load(u.channel, u.user_id)
    assert loaded is not None
    return loaded[0].id


async def test_doctor_approves_and_declines_signing_requests(
    rt: Runtime, make_user: Callable[..., ChatUser], user: ChatUser
) -> None:
    await load_district(rt)
    directory = rt.services.directory
    first_id = await resident_id(rt, user)
    await directory.set_home(first_id, "朱泾", "东林居委")
    await directory.request_signing(first_id, WANG, "Li Hua", "13900000001")
    other = make_user("5002")
    await other.onboard()
    second_id = await resident_id(rt, other)
    await directory.request_signing(second_id, WANG, "Zhao Min", "13900000002")
    elsewhere = await directory.request_signing(
        await signed_resident(rt, "5003", CHEN), CHEN, "X", "13900000003"
    )

    doctor = await linked_doctor(rt, make_user)
    assert "Signing requests (2)" in " ".join(doctor.labels())
    await doctor.press("Signing requests")
    assert "Li Hua" in doctor.texts() and "13900000001" in doctor.texts()
    await doctor.press("Approve")
    assert "now signed" in doctor.texts() and "Zhao Min" in doctor.texts()
    await doctor.press("Decline")
    await doctor.press("cannot take on more")
    assert "declined" in doctor.texts()

    assert (await directory.signed_doctor(first_id)).id == WANG
    declined = await directory.latest_request(second_id)
    assert declined.status == "declined" and declined.reason == "full"  # the key, not text
    told = await rt.stores.outbox.for_resident(first_id, "signing_decision")
    assert [r.key for r in told] == ["approved"]
    resident = await rt.stores.residents.get(first_id)
    (reply,) = await render_signing(rt, rt.catalogs.get("en"), resident, told[0])
    assert "Dr Wang Lihua accepted your signing request" in reply.text

    # Another team's request: a forged button gets nothing and the request stays open.
    await doctor.press_data(cb("desk", "ok", elsewhere.id))
    assert STALE in doctor.texts()
    assert (await directory.latest_request(elsewhere.resident_id)).status == "pending"
    actions = await audit_actions(rt)
    assert {"signing_approved", "signing_declined", "denied"} <= set(actions)


async def test_revoked_while_typing_a_broadcast_loses_the_draft(
    rt: Runtime, make_user: Callable[..., ChatUser]
) -> None:
    await load_district(rt)
    await signed_resident(rt, "6001", WANG)
    doctor = await linked_doctor(rt, make_user)
    await doctor.press("New broadcast")
    await doctor.press("All my signed residents")
    await doctor.press("Type my own message")
    await rt.services.doctors.revoke(WANG)
    await doctor.text("This should never be sent")
    assert STALE in doctor.texts()
    await doctor.text("hello")
    assert "privacy notice" in doctor.texts()  # an ordinary, not yet onboarded chat again


async def test_decline_reason_follows_the_residents_language(
    rt: Runtime, make_user: Callable[..., ChatUser], user: ChatUser
) -> None:
    """The reason is stored as a key and translated when shown: a resident who switches
    language reads it in the new one."""
    await load_district(rt)
    directory = rt.services.directory
    rid = await resident_id(rt, user)
    await directory.set_home(rid, "朱泾", "东林居委")
    await directory.request_signing(rid, WANG, "Li Hua", "13900000001")
    doctor = await linked_doctor(rt, make_user)
    await doctor.press("Signing requests")
    await doctor.press("Decline")
    await doctor.press("cannot take on more")
    await user.text("👨‍⚕️ My family doctor")
    assert "Reason: Our team cannot take on more residents at the moment." in user.texts()
    resident = await rt.stores.residents.get(rid)
    await rt.stores.residents.update(resident, locale="zh_Hans")
    await user.text("👨‍⚕️ 我的家庭医生")
    text = user.texts()
    zh = rt.catalogs.get("zh_Hans").gettext("Our team cannot take on more residents at the moment.")
    assert zh != "Our team cannot take on more residents at the moment." and zh in text
    assert "cannot take on more" not in text


def test_invite_codes_share_one_alphabet_and_normalisation() -> None:
    from bot.services import invite_codes
    from bot.services.vaccines.children import CODE_LENGTH

    assert not set("0O1IL") & set(invite_codes.ALPHABET)
    code = invite_codes.new_code(10, group=5)
    assert len(code) == 11 and code[5] == "-"
    assert set(code.replace("-", "")) <= set(invite_codes.ALPHABET)
    assert invite_codes.normalize(code.lower().replace("-", " ")) == code.replace("-", "")
    assert invite_codes.hash_code(code) == invite_codes.hash_code(code.lower())
    assert len(invite_codes.new_code(CODE_LENGTH)) == CODE_LENGTH


async def test_a_doctor_who_never_went_through_start_never_lands_in_onboarding(
    rt: Runtime, make_user: Callable[..., ChatUser]
) -> None:
    """Linked with /doctor CODE and nothing else: a typed word, a number that is no option,
    /lang en, 🏠 and an unknown command all answer with the doctor's desk, never the
    resident's privacy-consent screen."""
    await load_district(rt)
    doctor = await linked_doctor(rt, make_user)
    loaded = await rt.stores.residents.load(doctor.channel, doctor.user_id)
    assert loaded is not None and not loaded[0].consented
    for typed in ("7", "hello", "/lang en", "/lang zh", "/settings"):
        await doctor.text(typed)
        text = doctor.texts()
        assert "Doctor's desk" in text or "医生工作台" in text or "👩‍⚕️" in text, (typed, text)
        assert "privacy notice" not in text.lower() and "隐私" not in text, (typed, text)
    await doctor.text("/lang en")
    await doctor.press("Home")
    assert "👩‍⚕️" in doctor.texts() and "privacy notice" not in doctor.texts().lower()
    # A resident who is not a doctor still gets the notice.
    stranger = make_user("stranger")
    await stranger.text("/lang en")
    assert "privacy" in stranger.texts().lower()


async def test_a_second_chat_taking_over_a_doctor_is_audited(
    rt: Runtime, make_user: Callable[..., ChatUser]
) -> None:
    """A second account linking an already-linked doctor replaces the first: the audit log
    says so (which account lost the desk to which), as does an account leaving its doctor."""
    await load_district(rt)
    first = await linked_doctor(rt, make_user, WANG, user_id="9001")
    second = await linked_doctor(rt, make_user, WANG, user_id="9002")
    old = (await rt.stores.residents.load("test", "9001"))[0].id  # type: ignore[index]
    new = (await rt.stores.residents.load("test", "9002"))[0].id  # type: ignore[index]
    link = await rt.services.doctors.link_of(WANG)
    assert link is not None and link.resident_id == new
    entries = await rt.stores.doctors.audit_since(0)
    taken = [e for e in entries if e.action == "link_taken_over"]
    assert [(e.doctor_id, e.details) for e in taken] == [
        (WANG, f"account={old} replaced by account={new}")
    ]
    await first.text("/doctor")
    assert "Doctor's desk" not in first.texts()
    # The second account now takes Dr Chen's code: Wang's desk is left without it, audited.
    code = await rt.services.doctors.invite(CHEN)
    await second.text(f"/doctor {code}")
    entries = await rt.stores.doctors.audit_since(0)
    assert [(e.doctor_id, e.details) for e in entries if e.action == "unlinked"] == [
        (WANG, f"account={new} linked to doctor {CHEN} instead")
    ]
    # The same account linking its own doctor again is no takeover.
    again = await rt.services.doctors.invite(CHEN)
    await second.text(f"/doctor {again}")
    entries = await rt.stores.doctors.audit_since(0)
    assert len([e for e in entries if e.action in ("link_taken_over", "unlinked")]) == 2


async def test_settings_are_reachable_from_the_desk_before_consent(
    rt: Runtime, make_user: Callable[..., ChatUser]
) -> None:
    """A doctor's account that never consented as a resident reaches language and elder mode
    from the desk and comes back to the desk; it has no resident data to export or delete."""
    await load_district(rt)
    doctor = await linked_doctor(rt, make_user)
    await doctor.press("Settings")
    assert "Elder mode: off" in doctor.texts()
    assert not any("Delete my data" in x or "My data" in x for x in doctor.labels())
    await doctor.press("Elder mode: turn on")
    await doctor.press("Yes")
    assert "Elder mode is on." in doctor.texts() and "Doctor's desk" in doctor.texts()
    loaded = await rt.stores.residents.load("test", "9001")
    assert loaded is not None and loaded[0].elder_mode and not loaded[0].consented
