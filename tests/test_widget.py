"""The widget in real Chromium (Debian's, driven by Playwright) against a real uvicorn server."""
import shutil
import threading
import time
from pathlib import Path

import pytest

from bot.channels.web import create_app
from bot.core.qa import QA

from .conftest import HAS_SHARED, ROOT, SAMPLES, SEED, build_store
from .localhttp import free_port

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
TARTUS = "بازتعریف وضعیت حضور نظامی روسیه در طرطوس"
HOSTILE = "Kish ferry timetable <img src=x onerror=alert(1)> and <script>window.__pwned=1</script> &amp; more"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed (apt-get install chromium)"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory, embedder):
    import uvicorn

    src = tmp_path_factory.mktemp("widget-src")
    shutil.copytree(SAMPLES, src / "samples")
    (src / "hostile.txt").write_text(
        " date 2025-05-05 The new Kish island ferry timetable was published on Monday by the ports authority.\n\n"
        + HOSTILE + "\n\nTickets for the Kish ferry can be bought at the harbour.")
    sources = [str(src)] + ([str(SEED)] if HAS_SHARED else [])
    store, _ = build_store(tmp_path_factory.mktemp("widget-index"), embedder, sources)
    settings = store.settings.model_copy(update={"rate_limit_per_minute": 1000})
    app = create_app(settings, QA(settings, store=store))
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    th = threading.Thread(target=srv.run, daemon=True)
    th.start()
    deadline = time.time() + 120
    while not srv.started and th.is_alive() and time.time() < deadline:
        time.sleep(0.05)
    assert srv.started, f"uvicorn did not start on port {port}"  # not a confusing page error later
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    th.join(10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield b
        b.close()


def open_widget(browser, server, width=1200, height=900):
    page = browser.new_page(viewport={"width": width, "height": height})
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(server + "/")
    page.locator("#khabar-widget").wait_for(state="attached")
    fab = page.locator("#khabar-widget .fab")
    fab.click()
    return page, dialogs


def ask(page, question):
    n_before = page.locator("#khabar-widget .msg.a").count()
    page.locator("#khabar-widget textarea").fill(question)
    page.keyboard.press("Enter")
    answer = page.locator("#khabar-widget .msg.a").nth(n_before)
    answer.and_(page.locator("[data-done=true]")).wait_for(timeout=30_000)
    return answer


@pytest.mark.skipif(not HAS_SHARED, reason="../shared is not present")
@pytest.mark.parametrize("question,lang", [
    ("What is Russia seeking in Tartus?", "en"),
    ("روسیه در طرطوس به دنبال چیست؟", "fa"),
])
def test_seed_question_streams_and_the_chip_expands_to_tartus(browser, server, question, lang):
    page, dialogs = open_widget(browser, server)
    answer = ask(page, question)
    text = answer.inner_text()
    # Persian answers use Persian digits, markers included
    assert ("[۱]" in text) if lang == "fa" else ("[1]" in text)
    chips = answer.locator(".chip")
    assert chips.count() >= 1
    # the [n] marker in the text jumps to its chip and opens it
    answer.locator(".mark").first.click()
    src = answer.locator(".src").first
    src.wait_for()
    assert any(TARTUS in answer.locator(".src").nth(i).inner_text() for i in range(answer.locator(".src").count())) \
        or _expand_all(answer)
    assert "۱۴۰۴" in src.inner_text() or "2026" in src.inner_text() or "بهمن" in src.inner_text()
    assert page.locator("#khabar-widget .msg.q").first.get_attribute("dir") == "auto"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"widget-{lang}.png"))
    assert not dialogs
    page.close()


def test_an_english_answer_over_persian_news_reads_each_line_in_its_direction(browser, server):
    """The English frame sentence left to right, the Persian quote right to left (it ran left to right, its
    sentences and [n] chips out of order); the source box reads in its quote's direction, and its heading's
    parts stay in order beside a Persian title."""
    page, dialogs = open_widget(browser, server)
    answer = ask(page, "When does the Zayandeh Rud water reach Khaju Bridge?")
    lines = answer.locator(".body .line")
    dirs = [lines.nth(i).evaluate("e => getComputedStyle(e).direction") for i in range(lines.count())]
    texts = [lines.nth(i).inner_text() for i in range(lines.count())]
    assert "ltr" in dirs and "rtl" in dirs, (dirs, texts)
    assert all(d == ("rtl" if any("\u0600" <= ch <= "\u06ff" for ch in t[:20]) else "ltr")
               for d, t in zip(dirs, texts, strict=True)), (dirs, texts)
    answer.locator(".chip").first.click()
    src = answer.locator(".src").first
    src.wait_for()
    assert src.get_attribute("dir") == "rtl"
    where = src.locator(".meta > div[dir=ltr]")  # under the title: the date and paragraph, in the answer's language
    assert where.locator("bdi").count() == 2 and where.locator("bdi").last.inner_text() == "paragraph 2"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "widget-mixed-direction.png"))
    assert not dialogs
    page.close()


def _expand_all(answer) -> bool:
    chips = answer.locator(".chip")
    for i in range(chips.count()):
        if chips.nth(i).get_attribute("aria-expanded") != "true":
            chips.nth(i).click()
    return any(TARTUS in answer.locator(".src").nth(i).inner_text() for i in range(answer.locator(".src").count()))


def test_hostile_article_text_is_shown_as_text_and_runs_nothing(browser, server):
    page, dialogs = open_widget(browser, server)
    answer = ask(page, "When was the Kish ferry timetable published?")
    _expand_all(answer)
    shown = answer.inner_text()
    assert "<img src=x onerror=alert(1)>" in shown and "<script>" in shown
    assert answer.locator("img").count() == 0 and answer.locator("script").count() == 0
    assert page.evaluate("window.__pwned") is None
    page.wait_for_timeout(300)
    assert not dialogs
    page.close()


def test_phone_width_keyboard_and_follow_up(browser, server):
    page, _ = open_widget(browser, server, width=360, height=740)
    box = page.locator("#khabar-widget .panel").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 360
    ask(page, "What happened to the Caspian sturgeon?")
    follow = ask(page, "and where were they raised?")
    _expand_all(follow)
    assert "hatchery" in follow.inner_text()
    cid = page.evaluate("sessionStorage.getItem('khabar-cid')")
    page.locator("#khabar-widget .fresh").click()  # a new conversation: the log and the context are gone
    assert page.locator("#khabar-widget .msg").count() == 0
    assert page.evaluate("sessionStorage.getItem('khabar-cid')") not in (cid, None)
    page.keyboard.press("Escape")
    assert page.locator("#khabar-widget .fab").get_attribute("aria-expanded") == "false"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "widget-phone.png"))
    page.close()


def test_host_page_css_cannot_break_the_widget(browser, server):
    page = browser.new_page()
    page.goto(server + "/")
    page.add_style_tag(content="* { display: none !important; color: red !important } button { width: 1px }")
    page.evaluate("document.body.style.display='block'")
    fab = page.locator("#khabar-widget .fab")
    color = fab.evaluate("e => getComputedStyle(e).backgroundColor")
    assert color == "rgb(15, 92, 140)"
    page.close()
