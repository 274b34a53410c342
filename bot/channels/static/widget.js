/* Khabar chat widget: <script src="http://HOST/widget.js" data-title="..." data-lang="fa" defer></script>
 * No dependencies, no external fonts or CDNs. Everything lives in a Shadow DOM; every piece of
 * article and answer text is inserted with textContent, never as HTML. */
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector('script[src*="widget.js"]');
  if (!script || window.__khabarWidget) return;
  window.__khabarWidget = true;

  var ds = script.dataset || {};
  var api = (ds.api || new URL(script.src, location.href).origin).replace(/\/$/, "");
  var uiLang = ds.lang === "en" ? "en" : "fa";
  var key = ds.key || "";
  var T = {
    fa: { open: "پرسش از خبرها", title: "خبر", placeholder: "پرسش خود را بنویسید…", send: "ارسال",
          close: "بستن", thinking: "در حال جست‌وجو…", sources: "منابع", para: "بند", link: "مشاهده خبر",
          error: "خطایی رخ داد؛ دوباره تلاش کنید.", you: "شما", bot: "خبر", log: "گفت‌وگو",
          fresh: "گفت‌وگوی تازه" },
    en: { open: "Ask the news", title: "Khabar", placeholder: "Type your question…", send: "Send",
          close: "Close", thinking: "Searching…", sources: "Sources", para: "paragraph", link: "Open article",
          error: "Something went wrong; please try again.", you: "You", bot: "Khabar", log: "Conversation",
          fresh: "New conversation" }
  };
  var t = T[uiLang];
  var title = ds.title || t.title;

  var cid = null;
  function newCid() {
    cid = "w-" + Math.random().toString(36).slice(2) + Date.now().toString(36);
    try { sessionStorage.setItem("khabar-cid", cid); } catch (e) { /* storage off: this page only */ }
  }
  try { cid = sessionStorage.getItem("khabar-cid"); } catch (e) { cid = null; }
  if (!cid) newCid();

  var CSS = [
    ":host{all:initial}",
    "*{box-sizing:border-box}",
    ".kh{font-family:Vazirmatn,'Vazir','Noto Naskh Arabic','Noto Sans Arabic',Tahoma,'Segoe UI',system-ui,sans-serif;font-size:15px;line-height:1.7;color:#1d2330}",
    ".fab{position:fixed;bottom:16px;inset-inline-end:16px;z-index:2147483000;border:0;border-radius:28px;padding:12px 18px;background:#0f5c8c;color:#fff;font:inherit;font-weight:600;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25)}",
    ".fab:focus-visible,button:focus-visible,textarea:focus-visible,a:focus-visible{outline:3px solid #f5a623;outline-offset:2px}",
    ".panel{position:fixed;bottom:76px;inset-inline-end:16px;z-index:2147483000;width:min(400px,calc(100vw - 16px));height:min(600px,calc(100vh - 96px));display:none;flex-direction:column;background:#fff;border:1px solid #d5dae3;border-radius:14px;box-shadow:0 10px 30px rgba(0,0,0,.25);overflow:hidden}",
    ".panel.open{display:flex}",
    "@media (max-width:480px){.panel{inset-inline-end:8px;bottom:70px;width:calc(100vw - 16px);height:calc(100vh - 86px)}.fab{inset-inline-end:8px;bottom:8px}}",
    ".head{display:flex;align-items:center;justify-content:space-between;padding:10px 14px;background:#0f5c8c;color:#fff;font-weight:700}",
    ".head button{background:transparent;border:0;color:#fff;font-size:20px;cursor:pointer;line-height:1;padding:4px 8px}",
    ".head button:disabled{opacity:.5;cursor:wait}",
    ".log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:10px;background:#f6f8fb}",
    ".msg{max-width:92%;padding:8px 12px;border-radius:12px;white-space:pre-wrap;overflow-wrap:anywhere;unicode-bidi:plaintext}",
    ".q{align-self:flex-end;background:#0f5c8c;color:#fff}",
    ".a{align-self:flex-start;background:#fff;border:1px solid #e1e5ec}",
    ".a.err{border-color:#d33;color:#a11}",
    ".mark{display:inline-block;border:0;background:#e6f0f7;color:#0f5c8c;border-radius:6px;padding:0 5px;margin:0 2px;font:inherit;font-size:.85em;font-weight:700;cursor:pointer}",
    ".chips{display:flex;flex-wrap:wrap;gap:6px;margin-top:8px}",
    ".chip{border:1px solid #9fbfd6;background:#fff;color:#0f5c8c;border-radius:14px;padding:2px 10px;font:inherit;font-size:.85em;cursor:pointer}",
    ".chip[aria-expanded=true]{background:#0f5c8c;color:#fff}",
    ".src{margin-top:8px;padding:8px 10px;border-inline-start:3px solid #0f5c8c;background:#f2f6fa;border-radius:6px;font-size:.92em}",
    ".src .meta{font-weight:700;margin-bottom:4px}",
    ".src .quote{white-space:pre-wrap;unicode-bidi:plaintext}",
    ".line{unicode-bidi:plaintext;text-align:start}",
    ".note{font-size:.85em;color:#6a5200;margin-top:6px}",
    ".src a{color:#0f5c8c}",
    "form{display:flex;gap:8px;padding:10px;border-top:1px solid #e1e5ec;background:#fff}",
    "textarea{flex:1;resize:none;font:inherit;border:1px solid #c7cfdb;border-radius:10px;padding:8px;min-height:42px;max-height:120px}",
    "form button{border:0;border-radius:10px;background:#0f5c8c;color:#fff;font:inherit;font-weight:600;padding:0 14px;cursor:pointer}",
    "form button:disabled{opacity:.5;cursor:wait}",
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}"
  ].join("\n");

  function el(tag, attrs, text) {
    var n = document.createElement(tag);
    if (attrs) for (var k in attrs) if (Object.prototype.hasOwnProperty.call(attrs, k)) n.setAttribute(k, attrs[k]);
    if (text != null) n.textContent = text;
    return n;
  }
  var FA_DIGITS = "۰۱۲۳۴۵۶۷۸۹";
  function faDigits(s) { return String(s).replace(/[0-9]/g, function (d) { return FA_DIGITS[+d]; }); }
  /* Persian digits only where the nearest letter before them is Persian: an English sentence quoted in a
     Persian answer keeps "PM2.5" and "160". */
  function faDigitsInPersian(s) {
    return String(s).replace(/[0-9]+/g, function (d, at, all) {
      var before = all.slice(0, at).match(/[A-Za-z\u0621-\u064A\u067E\u0686\u0698\u06A9\u06AF\u06CC](?=[^A-Za-z\u0621-\u064A\u067E\u0686\u0698\u06A9\u06AF\u06CC]*$)/);
      return before && /[A-Za-z]/.test(before[0]) ? d : faDigits(d);
    });
  }
  function isRtl(text) {
    var fa = (String(text).match(/[\u0621-\u064A\u067E\u0686\u0698\u06A9\u06AF\u06CC]/g) || []).length,
        en = (String(text).match(/[A-Za-z]/g) || []).length;
    return fa * 1.5 >= en && fa > 0;
  }
  function num(n, lang) { return lang === "fa" ? faDigits(n) : String(n); }
  function fmtDate(iso, lang) {
    if (!iso) return "";
    var d = new Date(iso + "T12:00:00Z");
    if (isNaN(d)) return iso;
    try {
      return new Intl.DateTimeFormat(lang === "fa" ? "fa-IR-u-ca-persian" : "en-GB",
        { year: "numeric", month: "long", day: "numeric", timeZone: "UTC" }).format(d);
    } catch (e) { return iso; }
  }
  function safeUrl(u) { return /^https?:\/\//i.test(u || "") ? u : null; }

  var host = el("div", { id: "khabar-widget" });
  var root = host.attachShadow({ mode: "open" });
  var style = el("style", null, CSS);
  var wrap = el("div", { "class": "kh", lang: uiLang, dir: uiLang === "fa" ? "rtl" : "ltr" });
  var fab = el("button", { "class": "fab", type: "button", "aria-haspopup": "dialog", "aria-expanded": "false",
                           "aria-controls": "kh-panel", "aria-label": t.open }, t.open);
  var panel = el("section", { "class": "panel", id: "kh-panel", role: "dialog", "aria-label": title, "aria-modal": "false" });
  var head = el("div", { "class": "head" });
  var h = el("span", { role: "heading", "aria-level": "2" }, title);
  var closeBtn = el("button", { type: "button", "aria-label": t.close }, "×");
  // a new conversation: later questions no longer read the earlier ones as their context
  var freshBtn = el("button", { type: "button", "class": "fresh", "aria-label": t.fresh, title: t.fresh }, "↺");
  var tools = el("span");
  tools.appendChild(freshBtn); tools.appendChild(closeBtn);
  head.appendChild(h); head.appendChild(tools);
  var log = el("div", { "class": "log", role: "log", "aria-live": "polite", "aria-label": t.log, tabindex: "0" });
  var form = el("form", { "aria-label": t.open });
  var label = el("label", { "class": "sr", "for": "kh-input" }, t.placeholder);
  var input = el("textarea", { id: "kh-input", rows: "1", dir: "auto", placeholder: t.placeholder, maxlength: "1000" });
  var send = el("button", { type: "submit" }, t.send);
  form.appendChild(label); form.appendChild(input); form.appendChild(send);
  panel.appendChild(head); panel.appendChild(log); panel.appendChild(form);
  wrap.appendChild(fab); wrap.appendChild(panel);
  root.appendChild(style); root.appendChild(wrap);

  function setOpen(open) {
    panel.classList.toggle("open", open);
    fab.setAttribute("aria-expanded", String(open));
    if (open) input.focus(); else fab.focus();
  }
  fab.addEventListener("click", function () { setOpen(!panel.classList.contains("open")); });
  closeBtn.addEventListener("click", function () { setOpen(false); });
  freshBtn.addEventListener("click", function () {
    if (busy) return;  // disabled meanwhile: the answer under way belongs to this conversation
    newCid(); log.textContent = ""; input.focus();
  });
  panel.addEventListener("keydown", function (e) { if (e.key === "Escape") setOpen(false); });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit ? form.requestSubmit() : submit(e); }
  });

  function scrollDown() { log.scrollTop = log.scrollHeight; }

  /* Render answer text with [n] markers as buttons that open chip n; each line is its own bidi paragraph
     (an English frame sentence above Persian quotes: each reads in its own direction). */
  function renderText(node, text, lang, chipsById) {
    node.textContent = "";
    String(text).split("\n").forEach(function (line) {
      var div = el("div", { "class": "line", dir: "auto" });
      if (!line.trim()) div.appendChild(el("br"));  // a blank line between paragraphs keeps its height
      renderLine(div, line, lang, chipsById);
      node.appendChild(div);
    });
  }
  function renderLine(node, text, lang, chipsById) {
    var re = /\[(\d+)\]/g, last = 0, m;
    while ((m = re.exec(text)) !== null) {
      if (m.index > last) node.appendChild(document.createTextNode(lang === "fa" ? faDigitsInPersian(text.slice(last, m.index)) : text.slice(last, m.index)));
      var n = m[1];
      var b = el("button", { type: "button", "class": "mark", "data-n": n, "aria-label": t.sources + " " + n }, "[" + num(n, lang) + "]");
      b.addEventListener("click", (function (k) { return function () { var c = chipsById[k]; if (c) { c.focus(); if (c.getAttribute("aria-expanded") !== "true") c.click(); } }; })(n));
      node.appendChild(b);
      last = re.lastIndex;
    }
    if (last < text.length) node.appendChild(document.createTextNode(lang === "fa" ? faDigitsInPersian(text.slice(last)) : text.slice(last)));
  }

  function renderCitations(bubble, ans, chipsById) {
    if (!ans.citations || !ans.citations.length) return;
    var lang = ans.language;
    var chips = el("div", { "class": "chips", role: "group", "aria-label": t.sources });
    ans.citations.forEach(function (c) {
      var chip = el("button", { type: "button", "class": "chip", "data-n": String(c.n), "aria-expanded": "false",
                                "aria-label": t.sources + " " + c.n + ": " + (c.title || "") }, "[" + num(c.n, lang) + "] " + (c.title || "").slice(0, 40));
      chip.setAttribute("dir", "auto");
      var detail = null;
      chip.addEventListener("click", function () {
        var open = chip.getAttribute("aria-expanded") === "true";
        if (open) { if (detail) detail.remove(); detail = null; chip.setAttribute("aria-expanded", "false"); return; }
        // the box reads in its source's direction (its border on the quote's starting side); each part of
        // the heading is isolated, so a Persian title does not reorder "3 November 2025 · paragraph 4"
        detail = el("div", { "class": "src", "data-n": String(c.n), role: "note", dir: isRtl(c.text) ? "rtl" : "ltr" });
        var meta = el("div", { "class": "meta" });
        if (c.title) meta.appendChild(el("div", { dir: "auto" }, c.title));
        var where = el("div", { dir: lang === "fa" ? "rtl" : "ltr" });
        [fmtDate(c.date, lang), (T[lang] || t).para + " " + num(c.paragraph, lang)].filter(Boolean).forEach(function (part, i) {
          if (i) where.appendChild(document.createTextNode(" · "));
          where.appendChild(el("bdi", null, part));
        });
        meta.appendChild(where);
        detail.appendChild(meta);
        detail.appendChild(el("div", { "class": "quote", dir: "auto" }, c.text));
        var href = safeUrl(c.url);
        if (href) {
          var a = el("a", { href: href, target: "_blank", rel: "noopener noreferrer nofollow" }, t.link);
          detail.appendChild(a);
        } else if (c.source) {
          detail.appendChild(el("div", { dir: "auto" }, c.source));
        }
        bubble.appendChild(detail);
        chip.setAttribute("aria-expanded", "true");
        scrollDown();
      });
      chipsById[String(c.n)] = chip;
      chips.appendChild(chip);
    });
    bubble.appendChild(chips);
  }

  function addMessage(cls, text) {
    var m = el("div", { "class": "msg " + cls, dir: "auto" }, text);
    log.appendChild(m);
    scrollDown();
    return m;
  }

  function parseSSE(buffer, onEvent) {
    var parts = buffer.split("\n\n");
    for (var i = 0; i < parts.length - 1; i++) {
      var ev = "message", data = "";
      parts[i].split("\n").forEach(function (line) {
        if (line.indexOf("event:") === 0) ev = line.slice(6).trim();
        else if (line.indexOf("data:") === 0) data += line.slice(5).trim();
      });
      if (data) { try { onEvent(ev, JSON.parse(data)); } catch (e) { /* ignore a malformed event */ } }
    }
    return parts[parts.length - 1];
  }

  var busy = false;
  function submit(e) {
    if (e) e.preventDefault();
    var q = input.value.trim();
    if (!q || busy) return;
    busy = true; send.disabled = true; freshBtn.disabled = true;
    addMessage("q", q);
    input.value = "";
    var bubble = addMessage("a", t.thinking);
    bubble.setAttribute("aria-busy", "true");
    var body = el("div", { "class": "body", dir: "auto" });
    var streamed = "", started = false, chipsById = {};
    var headers = { "Content-Type": "application/json", "Accept": "text/event-stream" };
    if (key) headers["X-Khabar-Key"] = key;
    fetch(api + "/api/ask/stream", { method: "POST", headers: headers,
      body: JSON.stringify({ question: q, conversation_id: cid }) })
      .then(function (res) {
        if (!res.ok) return res.json().then(function (j) { throw new Error(j.message || t.error); },
                                            function () { throw new Error(t.error); });
        var reader = res.body.getReader(), dec = new TextDecoder(), buf = "";
        function pump() {
          return reader.read().then(function (r) {
            if (r.done) return;
            buf = parseSSE(buf + dec.decode(r.value, { stream: true }), function (ev, data) {
              if (!started) { bubble.textContent = ""; bubble.appendChild(body); started = true; }
              if (ev === "chunk") {
                streamed += data.text;
                renderText(body, streamed, /[\u0600-\u06FF]/.test(streamed) ? "fa" : "en", chipsById);
              } else if (ev === "answer") {
                renderText(body, data.answer, data.language, chipsById);
                body.setAttribute("lang", data.language);
                if (data.note) bubble.appendChild(el("div", { "class": "note", dir: "auto", role: "note" }, data.note));
                renderCitations(bubble, data, chipsById);
                bubble.setAttribute("data-done", "true");
              } else if (ev === "error") {
                bubble.classList.add("err");
                body.textContent = data.message || t.error;
                bubble.setAttribute("data-done", "true");
              }
              scrollDown();
            });
            return pump();
          });
        }
        return pump();
      })
      .catch(function (err) {
        bubble.classList.add("err");
        bubble.textContent = (err && err.message) || t.error;
        bubble.setAttribute("data-done", "true");
      })
      .then(function () { busy = false; send.disabled = false; freshBtn.disabled = false; bubble.removeAttribute("aria-busy"); input.focus(); });
  }
  form.addEventListener("submit", submit);

  function mount() { document.body.appendChild(host); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
