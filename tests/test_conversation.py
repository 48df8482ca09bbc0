"""Tier 2: the first conversations through the real router, handlers and SQLite."""

from __future__ import annotations

import json

from bot.callbacks import cb
from bot.runtime import Runtime
from tests.harness import ChatUser


async def test_start_language_consent_menu(make_user) -> None:
    u = make_user(language_code="en")
    await u.text("/start")
    assert "English" in u.labels() and "中文" in u.labels()
    await u.press("English")
    assert "Privacy notice" in u.texts()
    await u.press("I agree")
    kb = u.all_replies()[-1].keyboard
    assert kb is not None and kb.persistent
    assert "💡 Health tips" in u.labels()


async def test_chinese_user_gets_chinese(make_user) -> None:
    u = make_user(user_id="2002", language_code="zh-CN")
    await u.text("/start")
    await u.press("中文")
    assert "隐私" in u.texts()


async def test_nothing_but_open_routes_before_consent(make_user, rt: Runtime) -> None:
    u = make_user()
    await u.text("/start")
    await u.press("English")
    await u.text("/menu")
    assert "privacy notice" in u.texts()
    await u.text("💡 Health tips")
    assert "privacy notice" in u.texts()


async def test_unknown_text_sticker_command(user: ChatUser) -> None:
    await user.text("what is this")
    # No close common question: it says so, and offers only what its buttons do.
    assert "I have no answer to that in my list of common questions." in user.texts()
    assert "one of these" not in user.texts()
    assert "✍️ Ask my team" in user.labels()
    await user.media("sticker")
    assert "can't read pictures" in user.texts()
    await user.text("/nonsense")
    assert "don't know that command" in user.texts()
    await user.text("x" * 4096)
    assert "no answer to that" in user.texts() or "not sure I understood" in user.texts()


async def test_forged_and_stale_buttons(user: ChatUser) -> None:
    for data in (
        "v0:menu:home",
        "garbage",
        "v1:nofeature:x",
        "v1:settings:lang:xx:yy",
        "v1:settings:setlang:fr",
        "v1:priv",
        "v1::",
        "v1:start:consent:maybe",
    ):
        await user.press_data(data)
        assert "out of date" in user.texts(), data
        assert user.last is not None and user.last.toast


async def test_elder_mode_confirms_and_has_back_home(user: ChatUser, rt: Runtime) -> None:
    await user.text("⚙️ Settings")
    await user.press("Elder mode: turn on")
    labels = user.labels()
    assert "⬅️ Back" in labels and "🏠 Home" in labels
    loaded = await rt.stores.residents.load("test", user.user_id)
    assert loaded is not None and not loaded[0].elder_mode  # not saved before confirmation
    await user.press("✅ Yes")
    loaded = await rt.stores.residents.load("test", user.user_id)
    assert loaded is not None and loaded[0].elder_mode
    kb = user.all_replies()[-1].keyboard
    assert kb is not None and all(len(row) <= 2 for row in kb.rows)
    # In elder mode a language change asks first, too.
    await user.text("⚙️ Settings")
    await user.press("Language")
    await user.press("中文")
    assert "Switch the language" in user.texts()
    await user.press("✅ Yes")
    assert "语言" in user.texts()


async def test_mydata_and_delete(user: ChatUser, rt: Runtime) -> None:
    await user.text("/mydata")
    doc = next(r.document for r in user.all_replies() if r.document)
    data = json.loads(doc.content)
    assert data["residents"][0]["locale"] == "en"
    await user.text("/delete")
    await user.press("Yes, delete everything")
    assert await rt.stores.residents.load("test", user.user_id) is None
    assert "deleted" in user.texts()


async def test_delete_can_be_declined(user: ChatUser, rt: Runtime) -> None:
    await user.text("/delete")
    await user.press_data(cb("privacy", "keep"))
    assert "Nothing was deleted." in user.texts()
    assert await rt.stores.residents.load("test", user.user_id) is not None


async def test_mydata_reads_as_words_not_database_internals(user: ChatUser) -> None:
    await user.text("/settings")
    await user.text("💡 Health tips")
    await user.press("Turn on tips")
    await user.text("/mydata")
    (text,) = [r.text for r in user.all_replies() if r.text.startswith("Everything")]
    assert "Profile: language English, elder mode off" in text
    assert "your health tips settings: 1 record" in text
    assert "messages planned for you (reminders, tips): 1 record" in text
    assert "payload" not in text and "resident_id" not in text and "{" not in text


async def test_state_survives_restart(settings, clock) -> None:
    rt1 = Runtime(settings, clock=clock)
    await rt1.start()
    u = ChatUser(rt1)
    await u.onboard()
    ctx_state = ("probe", {"step": 2})
    loaded = await rt1.stores.residents.load("test", u.user_id)
    assert loaded is not None
    from bot.domain.residents import ConversationState

    await rt1.stores.residents.save_state(loaded[0].id, ConversationState(*ctx_state))
    await rt1.stop()
    rt2 = Runtime(settings, clock=clock)
    await rt2.start()
    loaded2 = await rt2.stores.residents.load("test", u.user_id)
    await rt2.stop()
    assert loaded2 is not None and loaded2[1].name == "probe" and loaded2[1].data == {"step": 2}
