"""My medicines through the chat harness: adding by buttons (six taps in elder mode), typed
search with pinyin initials, free names, doses as typed, same-ingredient notes, changing a
dose, stopping (its reminders cancelled, counted from the rows), the card and the week."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.runtime import Runtime
from handlers.resident import medicines_remind as remind
from tests.conftest import Clock
from tests.harness import ChatUser


async def rid_of(rt: Runtime, u: ChatUser) -> int:
    loaded = await rt.stores.residents.load(u.channel, u.user_id)
    assert loaded is not None
    return loaded[0].id


async def dose_rows(rt: Runtime, rid: int, status: str = "pending") -> list:
    rows = await rt.stores.outbox.for_resident(rid, "med_dose")
    return [r for r in rows if r.status == status]


async def add_amlodipine(u: ChatUser) -> None:
    await u.text("💊 My medicines")
    await u.press("Amlodipine")
    await u.press("1 tablet")
    await u.press("🌅 Morning")
    await u.press("After meals")
    await u.press("Save")


async def test_first_medicine_in_six_taps_in_elder_mode(
    rt: Runtime, user: ChatUser, clock: Clock
) -> None:
    rid = await rid_of(rt, user)
    await rt.stores.residents.update(
        (await rt.stores.residents.get(rid)),
        elder_mode=True,  # type: ignore[arg-type]
    )
    taps = 0
    for label in ("My medicines", "Amlodipine", "1 tablet", "🌅 Morning", "After meals", "Save"):
        await user.press(label)
        taps += 1
        # Every screen on the way has Home (and Back where there is a step before).
        assert "🏠 Home" in user.labels(), label
    assert taps <= 6
    [entry] = await rt.stores.medicines.entries(rid)
    assert (entry.catalog_id, entry.amount, entry.unit, entry.times, str(entry.meals)) == (
        "amlodipine",
        "1",
        "tablet",
        ("08:00",),
        "after",
    )
    # 10:00 now: today's 08:00 has passed, so tomorrow's reminder is planned.
    rows = await dose_rows(rt, rid)
    tomorrow_8 = datetime(2026, 11, 25, 8, 0, tzinfo=rt.settings.tz)
    assert [(r.key, r.due_at) for r in rows] == [("due", tomorrow_8)]
    assert all(r.urgent for r in rows)  # quiet hours do not hold them
    assert "1 reminder is planned so far" in user.texts()
    assert "25 Nov 2026, 08:00" in user.texts()


async def test_typed_search_with_pinyin_initials_and_a_free_name(
    rt: Runtime, user: ChatUser
) -> None:
    rid = await rid_of(rt, user)
    await user.text("💊 My medicines")
    await user.text("ejsg")  # 二甲双胍: metformin's ingredient, by pinyin initials
    assert "Metformin hydrochloride tablets" in user.labels()
    await user.text("ＸＢＤＰ")  # full-width letters: nifedipine, both forms
    assert {"Nifedipine tablets", "Nifedipine sustained-release tablets"} <= set(user.labels())
    await user.text("降压灵")  # not on the list: used as typed
    assert "No medicine on our list matches" in user.texts()
    await user.press("Use “降压灵”")
    await user.press("1 capsule")
    await user.press("🕐 Choose times")
    await user.press("19:00 to 23:59")
    await user.press("22:··")
    await user.press("22:30")
    await user.press("Done")
    await user.press("Before meals")
    await user.press("Save")
    [entry] = await rt.stores.medicines.entries(rid)
    assert (entry.name, entry.catalog_id, entry.unit, entry.times) == (
        "降压灵",
        None,
        "capsule",
        ("22:30",),
    )


async def test_typed_dose_kept_as_typed_and_bad_values_refused(rt: Runtime, user: ChatUser) -> None:
    rid = await rid_of(rt, user)
    await user.text("💊 My medicines")
    await user.press("Metformin")
    assert "never suggests a dose" in user.texts()
    await user.press("Type another amount")
    for bad in ("lots", "0", "500", "x" * 30):
        await user.text(bad)
        assert "Please type how much" in user.texts(), bad
    await user.text("1½")
    await user.press("🌅 Morning")
    await user.press("After meals")
    await user.press("0.5 g")  # the strength on the box, optional
    await user.press("Save")
    [entry] = await rt.stores.medicines.entries(rid)
    assert (entry.amount, entry.unit, entry.strength) == ("1½", "tablet", "0.5 g")
    assert "1½ tablets" in user.texts()


async def test_same_active_ingredient_is_pointed_out(rt: Runtime, user: ChatUser) -> None:
    await user.text("💊 My medicines")
    await user.text("xbdp")
    await user.press("Nifedipine tablets")
    await user.press("1 tablet")
    await user.press("🌅 Morning")
    await user.press("After meals")
    await user.press("Save")
    await user.press("Add a medicine")
    await user.text("xbdp")
    await user.press("Nifedipine sustained-release tablets")
    await user.press("1 tablet")
    await user.press("🌆 Evening")
    await user.press("After meals")
    assert "same active ingredient (nifedipine)" in user.texts()
    await user.press("Save")
    assert "have the same active ingredient" in user.texts()


async def test_change_dose_is_worded_as_the_doctor_said(rt: Runtime, user: ChatUser) -> None:
    rid = await rid_of(rt, user)
    await add_amlodipine(user)
    await user.press("1. Amlodipine")
    await user.press("Change the dose")
    assert "as your doctor told you" in user.texts()
    await user.press("2 tablets")
    assert (
        "Change the dose of Amlodipine besylate tablets to 2 tablets, as your doctor told you?"
        in user.texts()
    )
    await user.press("Yes, change it")
    assert "is now 2 tablets, as your doctor told you" in user.texts()
    [entry] = await rt.stores.medicines.entries(rid)
    assert entry.amount == "2"
    # An old confirm button does nothing more.
    await user.press_data(f"v1:medicines:dok:{entry.id}")
    assert "out of date" in user.texts()


async def test_stopping_cancels_its_reminders_at_once_and_says_which(
    rt: Runtime, user: ChatUser, clock: Clock
) -> None:
    rid = await rid_of(rt, user)
    await add_amlodipine(user)  # 08:00: today's (at 07:00) and tomorrow's reminders
    clock.set(clock() - timedelta(hours=3))
    await rt.services.medicines.plan_resident(rid)
    pending = await dose_rows(rt, rid)
    assert len(pending) == 2
    await user.press("1. Amlodipine")
    await user.press("Stop this medicine")
    assert "You will get no more reminders for it" in user.texts()
    await user.press("Yes, stop it")
    cancelled = await dose_rows(rt, rid, "cancelled")
    assert len(cancelled) == 2 and await dose_rows(rt, rid) == []
    # Both rows were at 08:00 (today and tomorrow): one time, two reminders.
    assert {r.due_at.astimezone(rt.settings.tz).strftime("%H:%M") for r in cancelled} == {"08:00"}
    assert "Its reminders at 08:00 were cancelled." in user.texts()
    assert "go on" not in user.texts()
    assert await rt.stores.medicines.entries(rid) == []
    stopped = (await rt.stores.medicines.entries(rid, active_only=False))[0]
    assert not stopped.active and stopped.stopped_at == int(clock().timestamp())


async def test_stopping_one_of_two_keeps_the_shared_reminder_and_says_so(
    rt: Runtime, user: ChatUser
) -> None:
    """Finding: "its reminders stop at once", then "0 planned reminders were cancelled" when
    another medicine shares the time. The reply now says what the rows hold: the 08:00
    reminder stays for Metformin, without Amlodipine; the 18:00 one (Amlodipine's alone) is
    cancelled."""
    rid = await rid_of(rt, user)
    await user.text("💊 My medicines")
    await user.press("Amlodipine")
    await user.press("1 tablet")
    await user.press("Morning and evening")
    await user.press("After meals")
    await user.press("Save")
    await user.press("Add a medicine")
    await user.press("Metformin")
    await user.press("1 tablet")
    await user.press("🌅 Morning")
    await user.press("After meals")
    await user.press("Save")
    before = {r.dedupe_key for r in await dose_rows(rt, rid)}
    await user.press("1. Amlodipine")
    await user.press("Stop this medicine")
    await user.press("Yes, stop it")
    text = user.texts()
    assert "cancelled." in text and "0 planned" not in text
    cancelled = await dose_rows(rt, rid, "cancelled")
    pending = await dose_rows(rt, rid)
    assert {r.dedupe_key for r in cancelled} | {r.dedupe_key for r in pending} == before
    local = {r.due_at.astimezone(rt.settings.tz).strftime("%H:%M") for r in cancelled}
    assert local == {"18:00"} and "Its reminders at 18:00 were cancelled." in text
    assert {r.due_at.astimezone(rt.settings.tz).strftime("%H:%M") for r in pending} == {"08:00"}
    assert (
        "Amlodipine besylate tablets was taken off the reminders at 08:00; they go on for "
        "Metformin hydrochloride tablets." in text
    ), text
    # The kept reminder, when sent, lists only what is still taken then.
    [row] = pending
    resident = await rt.stores.residents.get(rid)
    assert resident is not None
    [reply] = await remind.render_dose(rt, rt.catalogs.get("en"), resident, row)
    assert "Metformin" in reply.text and "Amlodipine" not in reply.text


async def test_card_image_week_chart_and_data_rights(rt: Runtime, user: ChatUser) -> None:
    rid = await rid_of(rt, user)
    await add_amlodipine(user)
    await user.press("Medicine card")
    [photo] = [r for r in user.all_replies() if r.photo is not None]
    assert photo.photo is not None and photo.photo.content.startswith(b"\x89PNG")
    assert "Amlodipine besylate tablets — 1 tablet" in user.texts()
    await user.press("Back")
    await user.press("My week")
    assert any(r.photo is not None for r in user.all_replies())
    assert "0 doses taken" in user.texts()
    await user.text("/mydata")
    assert any(
        r.document is not None and b"med_entries" in r.document.content for r in user.all_replies()
    )
    await user.text("/delete")
    await user.press("Yes, delete everything")
    for table in ("med_entries", "med_doses"):
        n = await rt.db.fetchval(f"SELECT COUNT(*) FROM {table} WHERE resident_id = ?", (rid,))
        assert n == 0, table


async def test_forged_and_stale_buttons_change_nothing(rt: Runtime, user: ChatUser) -> None:
    await user.press_data("v1:addmed:meal:after")  # no draft
    assert "out of date" in user.texts()
    await user.press_data("v1:addmed:pick:no-such-medicine")
    assert "out of date" in user.texts()
    await user.press_data("v1:medicines:stopok:999")
    assert "out of date" in user.texts()
    await user.text("💊 My medicines")
    await user.press("Amlodipine")
    await user.text("hello")  # words where an amount is asked for
    assert "Please type how much" in user.texts()
    assert "1 tablet" in " ".join(user.labels())  # the buttons are offered again
    await user.media()
    assert user.texts()
    assert rt.services.medicines.catalog.get("amlodipine") is not None
    assert datetime  # imported for the other tests


async def test_today_on_the_list_answers_a_dose_without_a_reminder(
    rt: Runtime, user: ChatUser, clock: Clock
) -> None:
    rid = await rid_of(rt, user)
    clock.set(clock() - timedelta(hours=3))  # 07:00
    await add_amlodipine(user)
    clock.set(clock() + timedelta(hours=2))  # 09:00: the 08:00 dose is open
    await user.text("💊 My medicines")
    assert "Today:" in user.texts() and "⏳ Amlodipine" in user.texts()
    await user.press("08:00 taken")
    assert "✅ Amlodipine" in user.texts()
    at = int(datetime(2026, 11, 24, 8, 0, tzinfo=rt.settings.tz).timestamp())
    [dose] = await rt.services.medicines.slot(rid, at)
    assert str(dose.dose.status) == "taken"
    # A moment still to come, or one that is not today's, cannot be answered from here.
    await user.press_data(f"v1:medicines:tk:{at + 86400}")
    assert "out of date" in user.texts()


async def test_a_number_typed_on_the_amount_screen_is_the_amount_not_an_option(
    rt: Runtime,
) -> None:
    """Audit: typing "1" on the amount screen saved ½ (option 1) and "2" saved 1 tablet. The
    screen takes a typed amount, on a button channel and on a numbered one (web) alike."""
    for channel, typed in (("test", "2"), ("web", "1"), ("web", "1½")):
        u = ChatUser(rt, user_id=f"amt-{channel}-{typed}", channel=channel)
        await u.onboard()
        rid = await rid_of(rt, u)
        await u.text("💊 My medicines")
        await u.press("Metformin")
        assert "How much do you take each time" in u.texts()
        await u.text(typed)
        await u.press("🌅 Morning")
        await u.press("After meals")
        await u.press("Save")
        [entry] = await rt.stores.medicines.entries(rid)
        assert (entry.amount, entry.unit) == (typed, "tablet"), channel
