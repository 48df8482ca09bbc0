"""Numbered options on text channels (WeChat, web chat), and the channel tables' upkeep."""

from __future__ import annotations

from bot.channels import numbered
from bot.channels.wechat_render import fit, render
from bot.channels.wechat_templates import Template, cut_field, load_templates, template_values
from bot.core import Button, Keyboard, KeyButton, Kind, Reply, Request
from bot.runtime import Runtime

REPLIES = [
    Reply("Pick one", buttons=((Button("Yes", "v1:x:yes"), Button("No", "v1:x:no")),)),
    Reply(
        "Menu",
        keyboard=Keyboard(
            (
                (KeyButton("💡 Health tips"),),
                (KeyButton("📍 Here", Request.LOCATION), KeyButton("📞", Request.CONTACT)),
            )
        ),
    ),
]


def test_options_are_numbered_across_a_turn_and_map_back() -> None:
    blocks = numbered.flatten(REPLIES)
    assert [o.n for b in blocks for o in b.options] == [1, 2, 3]
    assert blocks[1].ask_location == "📍 Here" and blocks[1].ask_contact == "📞"
    offered = numbered.offer(blocks)
    assert offered is not None

    def incoming(text: str) -> tuple[Kind, str | None]:
        msg = numbered.text_to_incoming("web", "v", text, offered)
        return msg.kind, msg.data or msg.text or (msg.contact.phone if msg.contact else None)

    assert incoming("2") == (Kind.BUTTON, "v1:x:no")
    assert incoming("２") == (Kind.BUTTON, "v1:x:no")  # a full-width digit from a Chinese IME
    assert incoming(" yes ") == (Kind.BUTTON, "v1:x:yes")  # the label works too
    assert incoming("3") == (Kind.TEXT, "💡 Health tips")  # a menu key sends its label
    assert incoming("138 0000 0000") == (Kind.CONTACT, "138 0000 0000")  # a phone was asked
    # Not offered: the same screen again with a hint (handlers/menu.py), never plain text.
    assert incoming("4") == (Kind.BUTTON, "v1:menu:nooption:4")
    assert numbered.text_to_incoming("web", "v", "/lang en", offered).command == "lang"
    assert numbered.offer(numbered.flatten([Reply("no buttons")])) is None


def test_wechat_rendering_merges_what_the_budget_does_not_allow() -> None:
    class T:
        locale = "en"

        @staticmethod
        def gettext(s: str) -> str:
            return s

    messages = render(numbered.flatten([Reply(f"part {i}") for i in range(6)]), T(), False)
    fitted = fit(messages, 3)
    assert [m.text for m in fitted[:2]] == ["part 0", "part 1"]
    assert fitted[2].text == "part 2\n\npart 3\n\npart 4\n\npart 5"
    assert fit(messages, 0) == []
    long = render(numbered.flatten([Reply("字" * 1500)]), T(), False)
    assert len(long) == 3 and all(len(m.text.encode()) <= 2000 for m in long)


def test_template_values_are_cut_to_the_field_limits(tmp_path: object) -> None:
    tpl = Template("T", {"thing1": "{title}", "phrase2": "{text}", "time3": "{when}"})
    values = template_values(tpl, {"title": "x" * 30, "when": "2026-11-24 10:00"}, "很长的短语内容")
    assert len(values["thing1"]) == 20 and values["thing1"].endswith("…")
    assert len(values["phrase2"]) == 5 and values["time3"] == "2026-11-24 10:00"
    assert cut_field("unknown7", "y" * 50) == "y" * 19 + "…"
    parsed = load_templates('{"tip": {"template_id": "A", "fields": {"thing1": "{text}"}}}')
    assert parsed["tip"].template_id == "A"
    path = tmp_path / "templates.toml"  # type: ignore[operator]
    path.write_text('[vaccine]\ntemplate_id = "B"\nfields = { thing1 = "{name}" }\n', "utf-8")
    assert load_templates(str(path))["vaccine"].fields == {"thing1": "{name}"}


async def test_channel_rows_follow_the_resident_and_old_message_ids_expire(rt: Runtime) -> None:
    store = rt.stores.channels
    resident = await rt.stores.residents.create("wechat", "o1")
    await store.save_options(resident.id, {"options": [{"n": 1, "label": "a"}]}, 100)
    await store.open_window(resident.id, 100, 5)
    await store.queue_web(resident.id, [{"text": "x"}], 100)
    assert await store.claim_inbound("m:1", 100, 9)
    assert not await store.claim_inbound("m:1", 101, 9)
    await store.purge_inbound(before=200)  # kept a short while, then forgotten
    assert await store.claim_inbound("m:1", 300, 9)
    exported = await rt.stores.residents.export(resident.id)
    assert {"channel_options", "wechat_window", "web_pending"} <= set(exported)
    await rt.stores.residents.delete(resident.id)
    assert await store.load_options(resident.id) == {}
    assert await store.window(resident.id) is None


async def test_wechat_text_of_a_value_screen_letters_its_options_and_says_why(
    rt: Runtime,
) -> None:
    keypad = Reply(
        "空腹血糖？",
        buttons=((Button("1", "v1:reading:k:1"), Button("✅", "v1:reading:k:ok")),),
        wants_text=True,
    )
    zh = rt.catalogs.get("zh_Hans")
    (message,) = render(numbered.flatten([keypad]), zh, msgmenu=False)
    assert "回复 a：1" in message.text and "回复 b：✅" in message.text
    assert "也可以直接输入数值" in message.text
    # An ordinary screen keeps its numbers and has no such hint.
    (plain,) = render(numbered.flatten([Reply("?", buttons=keypad.buttons)]), zh, msgmenu=False)
    assert "回复 1：1" in plain.text and "直接输入数值" not in plain.text
