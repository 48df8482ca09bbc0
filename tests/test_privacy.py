"""/mydata is composed from the rows themselves: the profile as stored (consent or its absence),
every table named in words, the doctors' log counted by what each entry is, flags by whether
the team has seen them; the file comes before the words so Back and Home come last; /delete
ends with a button to start again."""

from __future__ import annotations

import json
from collections.abc import Callable

from bot.callbacks import cb
from bot.domain.doctors import NewAudit
from bot.runtime import Runtime
from bot.services.readings import BloodPressure
from handlers.privacy import PLAN, TABLE_TITLES
from tests.doctor_fixtures import WANG, linked_doctor, load_district, signed_resident
from tests.harness import ChatUser


def _mydata_text(u: ChatUser) -> str:
    (text,) = [r.text for r in u.all_replies() if r.text.startswith("Everything Doorstep")]
    return text


async def test_before_consent_mydata_says_consent_is_not_given_and_lists_what_is_kept(
    make_user: Callable[..., ChatUser], rt: Runtime
) -> None:
    """Findings: "consent given -" before consent, and the decline message said only the
    language is kept while /mydata listed more."""
    u = make_user("4001")
    await u.text("/start")
    await u.press("English")
    await u.press("Not now")
    declined = u.texts()
    assert "keeps only your language" not in declined
    assert "/mydata shows everything it keeps" in declined
    await u.text("/mydata")
    text = _mydata_text(u)
    assert "consent not given yet" in text and "consent given" not in text
    assert " -" not in text
    loaded = await rt.stores.residents.load("test", "4001")
    assert loaded is not None and loaded[0].consent_at is None
    doc = next(r.document for r in u.all_replies() if r.document)
    assert json.loads(doc.content)["residents"][0]["consent_at"] is None


async def test_after_consent_mydata_shows_when_consent_was_given(user: ChatUser) -> None:
    await user.text("/mydata")
    text = _mydata_text(user)
    loaded = await user.rt.stores.residents.load("test", user.user_id)
    assert loaded is not None and loaded[0].consent_at is not None
    assert f"consent given {user.rt.catalogs.get('en').datetime(loaded[0].consent_at)}" in text


async def test_every_table_holding_a_residents_data_has_a_title_in_words(rt: Runtime) -> None:
    """Finding: med_entries, med_refills and med_doses were shown by their SQL names. Every
    table the export can reach (by foreign keys from residents) has a title."""
    refs: dict[str, set[str]] = {}
    for fk in await rt.db.foreign_keys():
        if fk.parent_col in (None, "id"):
            refs.setdefault(fk.parent, set()).add(fk.child)
    reached, frontier = set(), ["residents"]
    while frontier:
        for child in refs.get(frontier.pop(), ()):
            if child not in reached:
                reached.add(child)
                frontier.append(child)
    reached.discard("residents")
    assert reached - set(TABLE_TITLES) == set()
    assert PLAN in TABLE_TITLES


async def test_mydata_counts_the_doctors_log_by_action_and_flags_by_seen(
    rt: Runtime, make_user: Callable[..., ChatUser]
) -> None:
    """Findings: "times a doctor opened your record: 1" counted a signing decision as a look
    at the record; the flags line did not say whether the team had seen them."""
    await load_district(rt)
    rid = await signed_resident(rt, "4101", WANG, conditions=("hypertension",))
    health = rt.services.health
    await health.log_reading(rid, BloodPressure(190, 120))
    doctor = await linked_doctor(rt, make_user)
    await doctor.press("Flags")  # the team sees the first flag
    await doctor.press_data(cb("day", "card", rid))
    await doctor.press_data(cb("day", "card", rid))
    await rt.services.doctors.audit(NewAudit(WANG, "signing_approved", rid, "request=1"))
    await health.log_reading(rid, BloodPressure(195, 125))  # not seen yet
    u = make_user("4101")
    await u.onboard()
    await u.text("/mydata")
    text = _mydata_text(u)
    rows = await rt.db.fetchall(
        "SELECT action, COUNT(*) AS n FROM audit_log WHERE target_resident_id = ? GROUP BY action",
        (rid,),
    )
    by_action = {r["action"]: r["n"] for r in rows}
    assert by_action == {"view_card": 2, "signing_approved": 1}
    assert "entries about you in the doctors' log: 3 records" in text
    assert "a doctor opened your record: 2" in text
    assert "signing requests accepted: 1" in text
    seen = await rt.db.fetchval(
        "SELECT COUNT(*) FROM health_flags WHERE resident_id = ? AND seen_at IS NOT NULL", (rid,)
    )
    total = await rt.db.fetchval("SELECT COUNT(*) FROM health_flags WHERE resident_id = ?", (rid,))
    assert (seen, total) == (1, 2)
    assert "danger-sign readings flagged for your family doctor team: 2 records" in text
    assert "1 seen by your family doctor team, 1 not seen yet" in text
    for raw in ("audit_log", "health_flags", "med_", "_"):
        assert raw not in text, raw


async def test_medicine_tables_read_as_words(rt: Runtime, user: ChatUser) -> None:
    svc = rt.services.medicines
    m = svc.catalog.get("amlodipine")
    assert m is not None
    await user.text("💊 My medicines")
    loaded = await rt.stores.residents.load("test", user.user_id)
    assert loaded is not None
    from bot.domain.medicines import Meals, NewEntry

    await svc.add(
        loaded[0].id,
        NewEntry(m.id, m.name_zh, m.name_en, "", "", "1", "tablet", ("08:00",), Meals.AFTER,
                 svc.today(), None),
    )  # fmt: skip
    await user.text("/mydata")
    text = _mydata_text(user)
    assert "medicines on your list: 1 record" in text
    assert "med_entries" not in text


async def test_elder_export_ends_with_back_and_home_after_the_file(user: ChatUser) -> None:
    """Finding: in elder mode the JSON file was the last message, with no Back or Home."""
    loaded = await user.rt.stores.residents.load("test", user.user_id)
    assert loaded is not None
    await user.rt.stores.residents.update(loaded[0], elder_mode=True)
    out = await user.text("/mydata")
    kinds = ["file" if r.document else "text" for r in out.replies]
    assert kinds == ["file", "text"]
    labels = [b.label for b in out.replies[-1].all_buttons()]
    assert "⬅️ Back" in labels and "🏠 Home" in labels


async def test_delete_ends_with_a_start_again_button_that_starts_again(
    user: ChatUser, rt: Runtime
) -> None:
    await user.text("/delete")
    out = await user.press("Yes, delete everything")
    assert await rt.stores.residents.load("test", user.user_id) is None
    assert "Start again" in " ".join(b.label for b in out.replies[-1].all_buttons())
    await user.press("Start again")
    assert "Please choose your language" in user.texts()


async def test_emergency_signs_say_whether_the_team_has_seen_them(
    rt: Runtime, make_user: Callable[..., ChatUser]
) -> None:
    await load_district(rt)
    await signed_resident(rt, "4201", WANG)
    u = make_user("4201")
    await u.onboard()
    await u.text("我爸胸口疼得厉害，出冷汗")
    await u.text("/mydata")
    assert "emergency signs you typed (which sign, not your words): 1 record" in _mydata_text(u)
    assert "0 seen by your family doctor team, 1 not seen yet" in _mydata_text(u)
    doctor = await linked_doctor(rt, make_user)
    await doctor.press_data(cb("day", "flags"))
    seen = await rt.db.fetchval("SELECT COUNT(*) FROM redflag_events WHERE seen_at IS NOT NULL")
    assert seen == 1
    u.inbox.clear()
    await u.text("/mydata")
    assert "1 seen by your family doctor team, 0 not seen yet" in _mydata_text(u)


async def test_a_web_chat_session_is_part_of_mydata(rt: Runtime) -> None:
    """The web chat's session rows are keyed by the visitor, not by a foreign key: they are
    in the export and listed in words too."""
    u = ChatUser(rt, user_id="visitor-1", channel="web")
    await rt.stores.web_sessions.create("visitor-1", "hash-1", 1_700_000_000, 1_800_000_000)
    await u.onboard()
    await u.text("/mydata")
    doc = next(r.document for r in u.all_replies() if r.document)
    data = json.loads(doc.content)
    assert [r["visitor"] for r in data["web_visitors"]] == ["visitor-1"]
    assert [r["token_hash"] for r in data["web_tokens"]] == ["hash-1"]
    text = _mydata_text(u)
    assert "your web chat session: 1 record" in text
    assert "your web chat sign-in keys (stored as hashes): 1 record" in text
    assert "Your chat account: web chat" in text
