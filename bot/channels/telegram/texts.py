"""What the Telegram bot says in its own voice (commands, refusals of service), in Persian and English."""
from __future__ import annotations

COMMANDS = {
    "fa": "فرمان‌ها:\n/sources — چه خبرهایی نمایه شده\n/new — شروع گفت‌وگوی تازه\n/lang fa|en — زبان پیام‌های ربات\n"
          "/help — راهنما",
    "en": "Commands:\n/sources — what is indexed\n/new — start a new conversation\n/lang fa|en — the bot's language\n"
          "/help — this help",
}

TEXT = {
    "fa": {
        "start": "سلام! من «خبر» هستم. پرسش خود را درباره خبرها به فارسی یا انگلیسی بنویسید؛ پاسخ را فقط از "
                 "خبرهای نمایه‌شده می‌دهم و بندهای منبع را نشان می‌دهم.\n\n" + COMMANDS["fa"],
        "lang_set": "زبان روی فارسی تنظیم شد.", "lang_usage": "استفاده: /lang fa یا /lang en",
        "new": "گفت‌وگو از نو شروع شد.", "rate": "کمی آهسته‌تر لطفاً؛ چند لحظه دیگر دوباره بپرسید.",
        "denied": "اجازه استفاده از این ربات را ندارید.", "error": "متأسفم، مشکلی پیش آمد. لطفاً دوباره تلاش کنید.",
        "sources": "در نمایه: {articles} خبر، {passages} بند. زبان‌ها: {langs}. بازه تاریخ: {since} تا {until}.",
        "empty": "هنوز هیچ خبری نمایه نشده است.", "para": "بند", "link": "مشاهده خبر", "gone": "این منبع دیگر در دسترس نیست.",
        "text_only": "من فقط به پرسش‌های متنی پاسخ می‌دهم؛ لطفاً پرسش خود را به فارسی یا انگلیسی بنویسید.",
        "unknown_command": "این فرمان را نمی‌شناسم. پرسش خود را بنویسید یا یکی از این‌ها را بفرستید:\n\n" + COMMANDS["fa"],
    },
    "en": {
        "start": "Hello! I'm Khabar. Ask me about the news in English or Persian; I answer only from the indexed "
                 "articles and show the source paragraphs.\n\n" + COMMANDS["en"],
        "lang_set": "Language set to English.", "lang_usage": "Usage: /lang fa or /lang en",
        "new": "Started a new conversation.", "rate": "Please slow down a little; ask again in a moment.",
        "denied": "You are not allowed to use this bot.", "error": "Sorry, something went wrong. Please try again.",
        "sources": "Indexed: {articles} articles, {passages} paragraphs. Languages: {langs}. Dates: {since} to {until}.",
        "empty": "Nothing is indexed yet.", "para": "paragraph", "link": "Open the article",
        "gone": "This source is no longer available.",
        "text_only": "I answer text questions only; please type your question in English or Persian.",
        "unknown_command": "I don't know that command. Type a question, or send one of these:\n\n" + COMMANDS["en"],
    },
}
