"""The Telegram bot against a local Bot API server (python-telegram-bot's base_url), real index."""
import asyncio
import html
import os
import re
import subprocess
import sys
import time

import httpx
import pytest
from telegram import Update

from bot.channels.telegram import TelegramConfigError, build_telegram_app, split_message
from bot.core.qa import QA
from bot.core.schema import Answer, Citation

from .conftest import HAS_SHARED, ROOT, SAMPLES, SEED, build_store
from .fake_telegram import BOT_USER, FakeBotAPI
from .localhttp import free_port

TOKEN = "123456:" + "A" * 35
TARTUS = "بازتعریف وضعیت حضور نظامی روسیه در طرطوس"


@pytest.fixture(scope="module")
def tg_store(tmp_path_factory, embedder):
    src = tmp_path_factory.mktemp("tg-src")
    (src / "markup.txt").write_text(
        " date 2025-03-03 The Kish ferry company <b>Payam</b> & Sons added two boats to the Bandar Lengeh route.\n\n"
        "Tickets for the new Kish ferry boats cost 20% less than the old ones.")
    sources = [str(SAMPLES), str(src)] + ([str(SEED)] if HAS_SHARED else [])
    store, _ = build_store(tmp_path_factory.mktemp("tg-index"), embedder, sources)
    return store


@pytest.fixture
def api():
    srv = FakeBotAPI(TOKEN)
    yield srv
    srv.close()


def make_app(store, api, **kw):
    settings = store.settings.model_copy(update={"telegram_token": TOKEN, "telegram_api_url": api.base_url,
                                                 "telegram_rate_per_minute": 100, **kw})
    return build_telegram_app(settings, QA(settings, store=store))


_ids = iter(range(1, 10**6))


def mentions(text):
    """The `mention` entities Telegram sends for each @username, offsets in UTF-16 code units."""
    def u16(s):
        return len(s.encode("utf-16-le")) // 2
    return [{"type": "mention", "offset": u16(text[:m.start()]), "length": u16(m.group())}
            for m in re.finditer(r"@[A-Za-z0-9_]{5,32}", text)]


def message(text, chat_type="private", chat_id=100, user_id=7, lang="en", is_bot=False, reply_to=None,
            kind="message", **content):
    msg = {"message_id": next(_ids), "date": int(time.time()),
           "chat": {"id": chat_id, "type": chat_type, **({"title": "G"} if chat_type != "private" else {})},
           "from": {"id": user_id, "is_bot": is_bot, "first_name": "U", "language_code": lang}, **content}
    if text is not None:
        msg["text"] = text
        entities = mentions(text)
        if text.startswith("/"):
            entities.insert(0, {"type": "bot_command", "offset": 0, "length": len(text.split()[0])})
        if entities:
            msg["entities"] = entities
    if kind == "channel_post":
        del msg["from"]  # channel posts are signed by the channel, not a user
    if kind == "edited_message":
        msg["edit_date"] = int(time.time())
    if reply_to:
        msg["reply_to_message"] = reply_to
    return {"update_id": next(_ids), kind: msg}


def run(app, *updates):
    async def go():
        await app.initialize()
        try:
            for u in updates:
                await app.process_update(Update.de_json(u, app.bot))
        finally:
            await app.shutdown()
    asyncio.run(go())


def press(app, sent_msg: dict, data: str, chat_id=100):
    cb = {"update_id": next(_ids), "callback_query": {
        "id": str(next(_ids)), "from": {"id": 7, "is_bot": False, "first_name": "U"}, "chat_instance": "ci",
        "data": data, "message": {"message_id": 555, "date": int(time.time()), "chat": {"id": chat_id, "type": "private"},
                                  "from": BOT_USER, "text": sent_msg["text"]}}}
    run(app, cb)


@pytest.mark.skipif(not HAS_SHARED, reason="../shared is not present")
@pytest.mark.parametrize("question", ["What is Russia seeking in Tartus?", "روسیه در طرطوس به دنبال چیست؟"])
def test_seed_question_gets_markers_buttons_and_the_tartus_paragraph(tg_store, api, question):
    app = make_app(tg_store, api)
    run(app, message(question))
    assert api.sent("sendChatAction")[0]["action"] == "typing"
    (reply,) = api.sent()
    assert reply["parse_mode"] == "HTML"
    assert "[1]" in reply["text"] or "[۱]" in reply["text"]
    buttons = [b for row in reply["reply_markup"]["inline_keyboard"] for b in row]
    assert buttons and buttons[0]["text"] in ("[1]", "[۱]")
    for b in buttons:
        press(app, reply, b["callback_data"])
    quotes = [m["text"] for m in api.sent()[1:]]
    assert any(TARTUS in q for q in quotes)
    assert api.sent("answerCallbackQuery")


def test_article_markup_is_escaped(tg_store, api):
    app = make_app(tg_store, api)
    run(app, message("Which company added boats to the Kish ferry route?"))
    reply = api.sent()[0]
    assert "&lt;b&gt;Payam&lt;/b&gt; &amp; Sons" in reply["text"]
    btn = reply["reply_markup"]["inline_keyboard"][0][0]
    press(app, reply, btn["callback_data"])
    quote = api.sent()[-1]["text"]
    assert "&lt;b&gt;Payam&lt;/b&gt; &amp;" in quote and "<blockquote>" in quote


def test_long_answer_is_split_on_sentences_and_never_inside_an_entity(tg_store, api):
    sentence = "Tickets & boats <b>cost</b> less on the Kish route this year. "
    long_text = (sentence * 90).strip()  # > 5,000 characters, and longer still once escaped
    assert len(long_text) > 5000
    pieces = split_message(long_text)
    assert len(pieces) >= 2 and all(len(html.escape(p)) <= 4096 for p in pieces)
    assert all(p.endswith(".") for p in pieces)
    assert "".join(p + " " for p in pieces).strip() == long_text
    app = make_app(tg_store, api)
    ans = Answer(question="q", language="en", answer=long_text, citations=[Citation(
        1, "a", "T", "2025-01-01", None, "s", 1, "text")])

    async def go():
        await app.initialize()
        update = Update.de_json(message("q"), app.bot)
        await app.bot_data["khabar"].deliver(update, ans, None)
        await app.shutdown()
    asyncio.run(go())
    sent = api.sent()
    assert len(sent) == len(pieces)
    assert all(len(m["text"]) <= 4096 for m in sent)
    assert "reply_markup" in sent[-1] and "reply_markup" not in sent[0]


def test_groups_answer_only_when_mentioned_or_replied_to(tg_store, api):
    app = make_app(tg_store, api)
    bot_msg = {"message_id": 9, "date": int(time.time()), "chat": {"id": -5, "type": "group", "title": "G"},
               "from": BOT_USER, "text": "earlier answer"}
    run(app,
        message("Why were schools closed in Tehran?", chat_type="group", chat_id=-5),
        message("@khabar_test_bot why were schools closed in Tehran?", chat_type="group", chat_id=-5, user_id=99,
                is_bot=True),
        message("@khabar_test_bot why were schools closed in Tehran?", chat_type="group", chat_id=-5))
    sent = api.sent()
    assert len(sent) == 1  # only the mention from a person is answered: not the plain message, not the bot
    assert "air" in sent[0]["text"].lower() and sent[0]["reply_markup"]
    run(app, message("and in Karaj?", chat_type="group", chat_id=-5, reply_to=bot_msg))
    assert len(api.sent()) == 2


def test_rate_limit_lang_start_and_sources(tg_store, api):
    app = make_app(tg_store, api, telegram_rate_per_minute=2)
    run(app, *[message("Why were schools closed in Tehran?") for _ in range(3)])
    assert "slow down" in api.sent()[-1]["text"]
    run(app, message("/lang fa"), message("/start"), message("/sources"), message("/new"))
    texts = [m["text"] for m in api.sent()[3:]]
    assert texts[0] == "زبان روی فارسی تنظیم شد."
    assert texts[1].startswith("سلام")
    assert "خبر" in texts[2] and ("۷" in texts[2] or "۶" in texts[2])
    assert texts[3] == "گفت‌وگو از نو شروع شد."
    run(app, message("/start", lang="fa", chat_id=200))
    assert api.sent()[-1]["text"].startswith("سلام")


def test_follow_up_in_the_same_chat(tg_store, api):
    app = make_app(tg_store, api)
    run(app, message("What happened to the Caspian sturgeon?", chat_id=300),
        message("and where were they raised?", chat_id=300))
    reply = api.sent()[-1]
    for b in [b for row in reply["reply_markup"]["inline_keyboard"] for b in row]:
        press(app, reply, b["callback_data"], chat_id=300)
    assert any("hatchery" in m["text"] for m in api.sent()[2:])


def test_allowlist_and_bad_questions(tg_store, api):
    app = make_app(tg_store, api, telegram_allowlist="12345")
    run(app, message("Why were schools closed in Tehran?"))
    assert "not allowed" in api.sent()[-1]["text"]
    app = make_app(tg_store, api)
    run(app, message("🙂🙂🙂"))
    assert "no words" in api.sent()[-1]["text"]


def test_retry_after_is_waited_out(tg_store, api):
    app = make_app(tg_store, api)
    api.retry_after("sendMessage", 1)
    run(app, message("Why were schools closed in Tehran?"))
    assert len(api.sent()) == 2 and api.sent()[-1]["reply_markup"]  # the 429'd call, then the retry


def test_a_network_error_is_retried(tg_store, api):
    app = make_app(tg_store, api)
    api.bad_gateway("sendMessage")
    run(app, message("Why were schools closed in Tehran?"))
    sent = api.sent()
    # the failed call, then the same answer again, with its source buttons: the user still gets it
    assert len(sent) == 2 and sent[0]["text"] == sent[1]["text"] and sent[-1]["reply_markup"]


@pytest.mark.parametrize("token", [None, "", "not-a-token", "123:short"])
def test_missing_or_malformed_token_is_a_clear_error(tg_store, token):
    settings = tg_store.settings.model_copy(update={"telegram_token": token})
    with pytest.raises(TelegramConfigError) as exc:
        build_telegram_app(settings, QA(settings, store=tg_store))
    assert "BotFather" in exc.value.message("en")


def test_webhook_rejects_a_wrong_secret(tg_store, api):
    app = make_app(tg_store, api)
    port = free_port()

    async def go():
        await app.initialize()
        await app.start()
        await app.updater.start_webhook(listen="127.0.0.1", port=port, url_path="hook",
                                        webhook_url="https://bot.example/hook", secret_token="s3cret")
        try:
            upd = message("Why were schools closed in Tehran?")
            async with httpx.AsyncClient() as client:
                bad = await client.post(f"http://127.0.0.1:{port}/hook", json=upd,
                                        headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"})
                missing = await client.post(f"http://127.0.0.1:{port}/hook", json=upd)
                good = await client.post(f"http://127.0.0.1:{port}/hook", json=upd,
                                         headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret"})
            deadline = time.monotonic() + 120  # a new QA's first English question encodes the question bank
            while not api.sent() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            return bad.status_code, missing.status_code, good.status_code
        finally:
            await app.updater.stop()
            await app.stop()
            await app.shutdown()
    bad, missing, good = asyncio.run(go())
    assert bad == 403 and missing == 403 and good == 200
    assert len(api.sent()) == 1
    assert api.sent("setWebhook")[0]["secret_token"] == "s3cret"


def test_real_polling_loop_end_to_end(tg_store, api):
    app = make_app(tg_store, api)
    api.updates.append(message("Why were schools closed in Tehran?"))

    async def go():
        await app.initialize()
        await app.start()
        await app.updater.start_polling(poll_interval=0.0, timeout=1)
        try:
            deadline = time.monotonic() + 120
            while not api.sent() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        finally:
            await app.updater.stop()
            await app.stop()
            await app.shutdown()
    asyncio.run(go())
    assert api.sent() and api.sent()[0]["reply_markup"]
    assert api.sent("deleteWebhook")  # polling first clears any webhook, as Telegram requires


def test_channel_posts_and_edits_are_not_answered(tg_store, api):
    """Only new messages in private chats and groups are answered: never a channel post or an edit."""
    app = make_app(tg_store, api)
    q = "Why were schools closed in Tehran?"
    run(app, message(q, chat_type="channel", chat_id=-1001, kind="channel_post"),
        message("/start", chat_type="channel", chat_id=-1001, kind="channel_post"),
        message(q, kind="edited_message"), message("/start", kind="edited_message"),
        message(f"@khabar_test_bot {q}", chat_type="supergroup", chat_id=-1002, kind="edited_message"))
    assert api.sent() == [] and api.sent("sendChatAction") == []
    run(app, message(q))  # the same question, new and private: answered
    assert len(api.sent()) == 1 and api.sent()[0]["reply_markup"]


def test_a_group_mention_must_name_the_bot_exactly(tg_store, api):
    """"@khabar_test_bot_fan" is someone else; "@Khabar_Test_Bot" is the bot, and only that mention is removed."""
    app = make_app(tg_store, api)
    group = {"chat_type": "supergroup", "chat_id": -9}
    run(app, message("@khabar_test_bot_fan what do you think about sturgeon in the Caspian?", **group),
        message("Why were schools closed? ask @khabar_test_botanist", **group))
    assert api.sent() == []
    # the emoji before the mention is two UTF-16 code units: entity offsets count those
    run(app, message("🙂 @Khabar_Test_Bot why were schools closed in Tehran? cc @khabar_test_bot_fan", **group))
    (reply,) = api.sent()
    assert "air" in reply["text"].lower()
    ((question, _),) = app.bot_data["khabar"].conversations.history("-9:7")
    assert "Khabar_Test_Bot" not in question and question.endswith("why were schools closed in Tehran? cc "
                                                                     "@khabar_test_bot_fan")


def test_group_members_keep_their_own_conversations(tg_store, api):
    """One member's question is not the context of another's; /new resets only the caller's conversation."""
    app = make_app(tg_store, api)
    group = {"chat_type": "group", "chat_id": -7}
    run(app, message("@khabar_test_bot What happened to the Caspian sturgeon?", user_id=1, **group),
        message("@khabar_test_bot Why were schools closed in Tehran?", user_id=2, **group),
        message("@khabar_test_bot and where were they raised?", user_id=1, **group))
    first, second, follow_up = api.sent()
    assert "air" in second["text"].lower() and second["reply_markup"]  # not read as a follow-up about sturgeon
    for b in [b for row in follow_up["reply_markup"]["inline_keyboard"] for b in row]:
        press(app, follow_up, b["callback_data"], chat_id=-7)
    assert any("hatchery" in m["text"] for m in api.sent()[3:])  # user 1's follow-up still had their context
    conversations = app.bot_data["khabar"].conversations
    assert len(conversations.history("-7:1")) == 2 and len(conversations.history("-7:2")) == 1
    run(app, message("/new", user_id=2, **group))
    assert conversations.history("-7:2") == [] and len(conversations.history("-7:1")) == 2


PHOTO = [{"file_id": "p", "file_unique_id": "pu", "width": 90, "height": 90}]
STICKER = {"file_id": "s", "file_unique_id": "su", "width": 512, "height": 512, "is_animated": False,
           "is_video": False, "type": "regular"}
VOICE = {"file_id": "v", "file_unique_id": "vu", "duration": 3}


def test_photos_stickers_voice_and_unknown_commands_get_a_short_reply(tg_store, api):
    """In private every message gets a reply in the chat's language; in groups only what is addressed to the bot."""
    app = make_app(tg_store, api)
    run(app, message(None, photo=PHOTO, caption="Why were schools closed in Tehran?"),
        message(None, sticker=STICKER, lang="fa", chat_id=101), message(None, voice=VOICE),
        message("/weather tomorrow"))
    texts = [m["text"] for m in api.sent()]
    assert texts[:3] == ["I answer text questions only; please type your question in English or Persian.",
                         "من فقط به پرسش‌های متنی پاسخ می‌دهم؛ لطفاً پرسش خود را به فارسی یا انگلیسی بنویسید.",
                         "I answer text questions only; please type your question in English or Persian."]
    assert texts[3].startswith("I don't know that command.") and "/sources" in texts[3] and "/new" in texts[3]
    group = {"chat_type": "group", "chat_id": -8}
    bot_msg = {"message_id": 9, "date": int(time.time()), "chat": {"id": -8, "type": "group", "title": "G"},
               "from": BOT_USER, "text": "earlier answer"}
    addressed = "@khabar_test_bot what is in this picture?"
    run(app, message(None, photo=PHOTO, caption="look at this", **group), message(None, sticker=STICKER, **group),
        message("/weather", **group), message("/weather@other_bot", **group), message("/start@other_bot", **group),
        message(None, photo=PHOTO, caption="@khabar_test_bot_fan look", caption_entities=mentions(
            "@khabar_test_bot_fan look"), **group))
    assert len(api.sent()) == 4  # nothing in the group was for this bot
    run(app, message(None, sticker=STICKER, reply_to=bot_msg, **group),
        message(None, photo=PHOTO, caption=addressed, caption_entities=mentions(addressed), **group),
        message("/weather@khabar_test_bot", **group))
    texts = [m["text"] for m in api.sent()[4:]]
    assert texts[:2] == [texts[0]] * 2 and texts[0].startswith("I answer text questions only")
    assert texts[2].startswith("I don't know that command.") and len(texts) == 3


def run_bot(data_dir, api_url, **env):
    """`khabar telegram` in a subprocess with this token and Bot API server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "KHABAR_TELEGRAM"))} | {
        "KHABAR_TELEGRAM_TOKEN": TOKEN, "KHABAR_TELEGRAM_API_URL": api_url, **env}
    return subprocess.run([sys.executable, "-m", "bot", "--data-dir", str(data_dir), "telegram"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, env=env)


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_a_rejected_token_is_one_line_and_never_printed(api, tmp_path, level):
    """A 401 from getMe: exit 2, one error line, no traceback unless at debug, the token masked even there."""
    api.failures["getMe"] = [{"status": 401, "body": {"ok": False, "error_code": 401,
                                                      "description": "Unauthorized"}}]
    out = run_bot(tmp_path, api.base_url, KHABAR_LOG_LEVEL=level, LANG="en_US.UTF-8")
    assert out.returncode == 2, out.stderr
    assert TOKEN.split(":")[1] not in out.stderr and TOKEN.split(":")[1] not in out.stdout
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Telegram did not accept the bot token" in errors[0] and "Unauthorized" in errors[0]
    if level == "INFO":
        assert "Traceback" not in out.stderr and len(out.stderr.splitlines()) <= 4, out.stderr
    else:  # the details are in the log, the token shown only as the bot's id
        assert "Traceback" in out.stderr and "InvalidToken: The token `123456:***` was rejected" in out.stderr


def test_an_unreachable_bot_api_is_one_line_in_the_terminal_language(tmp_path):
    """Nothing listening at KHABAR_TELEGRAM_API_URL: exit 2 and one Persian line under a Persian locale."""
    out = run_bot(tmp_path, f"http://127.0.0.1:{free_port()}/bot", LANG="fa_IR.UTF-8")
    assert out.returncode == 2 and "Traceback" not in out.stderr and TOKEN.split(":")[1] not in out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "به Bot API تلگرام دسترسی نشد" in errors[0], out.stderr


def test_a_citation_marker_stays_with_its_sentence_when_split():
    """A piece never starts with the [n] of the previous piece's last sentence, Persian digits included."""
    for sentence in ("Sturgeon fry were released in Gilan province & Mazandaran. [6] ",
                     "بچه‌ماهیان خاویاری در استان گیلان رها شدند. [۶][۷] "):
        text = (sentence * 200).strip()
        pieces = split_message(text, limit=500)
        assert len(pieces) > 5 and all(len(html.escape(p)) <= 500 for p in pieces)
        assert all(not p.startswith("[") and p.endswith("]") for p in pieces)
        assert " ".join(pieces) == text
    words = " ".join(["sturgeon [3]"] * 400)  # one sentence far over the limit: cut at spaces, never before a marker
    pieces = split_message(words, limit=300)
    assert len(pieces) > 5 and all(len(html.escape(p)) <= 300 and not p.startswith("[") for p in pieces)
    assert " ".join(pieces) == words
