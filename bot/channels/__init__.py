"""The channels users talk to (CLI, web API + widget, Telegram); each calls `QA.answer` and renders the result."""
