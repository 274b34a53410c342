"""The `khabar` command line: index, ask, eval, serve, telegram."""
from __future__ import annotations

import json
import logging
import os
import sys
import textwrap
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.text import Text

from bot.channels.cli_index import index_app, open_store
from bot.core.dates import format_date
from bot.core.schema import Answer
from bot.errors import SettingsError
from bot.plumbing.logs import setup_logging
from bot.settings import Settings
from index.errors import KhabarError, LoadError
from index.language import detect_language
from index.text import persian_digits

if TYPE_CHECKING:
    from bot.core.qa import QA

log = logging.getLogger(__name__)
app = typer.Typer(help="Khabar: answers from Persian and English news articles, with cited paragraphs.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
app.add_typer(index_app, name="index")
class Lang(StrEnum):
    """An answer language the CLI accepts."""

    fa = "fa"
    en = "en"


out = Console(emoji=False)  # ":x:" in a path or note is text, not an emoji
err = Console(stderr=True, emoji=False)


@app.callback()
def root(ctx: typer.Context,
         data_dir: Path = typer.Option(None, "--data-dir", help="Index directory (env KHABAR_DATA_DIR)."),
         verbose: bool = typer.Option(False, "--verbose", "-v", help="Log details to stderr.")) -> None:
    """Build the Settings once and pass them to the command."""
    try:
        settings = Settings(data_dir=data_dir) if data_dir else Settings()
    except ValidationError as exc:
        raise SettingsError.from_validation(exc) from exc
    logfile = setup_logging(settings, console=verbose)
    ctx.obj = {"settings": settings, "logfile": logfile}


def terminal_language() -> str:
    """'fa' when the terminal's locale is Persian (LC_ALL, LC_MESSAGES or LANG = fa_IR…), else 'en'."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):  # POSIX precedence: the first one set wins
        value = os.environ.get(name)
        if value:
            return "fa" if value.lower().startswith(("fa_", "fa.", "fa-")) or value.lower() == "fa" else "en"
    return "en"


def build_qa(settings: Settings, lazy: bool = False) -> QA:
    """A QA service with the LLM chain when one is configured; `lazy` opens the index on first use
    (a server may start before anything is indexed)."""
    from bot.core.qa import QA

    chain = None
    if settings.llm != "none":
        from bot.core.chain import build_chain

        chain = build_chain(settings)
    return QA(settings, store=None if lazy else open_store(settings), chain=chain)


def _visual(text: str, enabled: bool, width: int) -> str:
    """`text` in display order for a terminal without bidi: wrapped to `width` first (reordering a whole
    paragraph and letting the terminal wrap it printed its lines bottom to top), each line then reordered
    with mirrored brackets (python-bidi's algorithm module; its newer `get_display` leaves "]1[")."""
    if not enabled:
        return text
    from bidi.algorithm import get_display

    out = []
    for line in text.split("\n"):
        # each piece in its paragraph's direction: a Persian line that starts with a Latin word stays RTL
        base = "R" if detect_language(line) == "fa" else "L"
        for piece in textwrap.wrap(line, max(10, width), break_long_words=False) or [""]:
            out.append(get_display(piece, base_dir=base))
    return "\n".join(out)


def render_answer(ans: Answer, console: Console, visual: bool = False) -> None:
    """Print an answer and its numbered sources; Persian lines right-aligned."""
    lang = ans.language
    justify: Literal["right", "left"] = "right" if lang == "fa" else "left"
    style = "yellow" if ans.refused else ""
    inner = console.width - 4  # the panel's borders and padding
    console.print(Panel(Text(_visual(ans.answer, visual, inner), justify=justify, style=style, no_wrap=visual),
                        title="پاسخ" if lang == "fa" else "Answer", border_style="green"))
    if ans.note:
        console.print(Text(ans.note, style="italic yellow"))
    for c in ans.citations:
        when = format_date(c.date, lang)
        para = persian_digits(f"بند {c.paragraph}") if lang == "fa" else f"paragraph {c.paragraph}"
        head = " · ".join(x for x in [c.title, when, para] if x)
        src_lang = detect_language(c.text)
        console.print(Text(f"[{c.n}] ", style="bold cyan") +
                      Text(_visual(head, visual, console.width - 6), style="bold", no_wrap=visual))
        console.print(Text(_visual(c.text, visual, console.width), justify="right" if src_lang == "fa" else "left",
                           no_wrap=visual))
        console.print(Text(c.url or c.source, style="dim"))
        console.print()


@app.command()
def ask(ctx: typer.Context, question: str = typer.Argument(..., help="The question, in Persian or English."),
        as_json: bool = typer.Option(False, "--json", help="Print the Answer as JSON."),
        k: int = typer.Option(None, "--k", min=1, max=50, help="Passages to retrieve, 1–50 (default 5)."),
        since: str = typer.Option(None, help="Only articles from this date (2026-01-01 or 1404-10-11)."),
        until: str = typer.Option(None, help="Only articles up to this date."),
        lang: Lang = typer.Option(None, case_sensitive=False, help="Answer language: fa or en (default: the question's)."),
        llm: str = typer.Option(None, help="Override KHABAR_LLM: none, openai or ollama."),
        llm_model: str = typer.Option(None, help="Override KHABAR_LLM_MODEL."),
        llm_base_url: str = typer.Option(None, help="Override KHABAR_LLM_BASE_URL."),
        visual: bool = typer.Option(False, "--visual", help="Reorder RTL text for terminals without bidi.")
        ) -> None:
    """Answer a question from the index, with numbered sources."""
    settings: Settings = ctx.obj["settings"]
    overrides = {k2: v for k2, v in {"llm": llm, "llm_model": llm_model, "llm_base_url": llm_base_url}.items()
                 if v}
    if overrides:
        settings = settings.model_copy(update=overrides)
    try:
        ans = build_qa(settings).answer(question, lang=lang.value if lang else None, k=k, since=since, until=until)
    except KhabarError as exc:
        # the error speaks the asker's language; an empty question has none: the terminal's locale decides
        exc.lang = lang or detect_language(question or "", default=terminal_language())
        raise
    if as_json:
        sys.stdout.write(json.dumps(ans.to_json(), ensure_ascii=False, indent=2) + "\n")
    else:
        render_answer(ans, out, visual)


class Split(StrEnum):
    """Which half of a dev set `khabar eval` measures."""

    tune = "tune"
    held_out = "held-out"
    all = "all"
    auto = "auto"


@app.command("eval")
def eval_cmd(ctx: typer.Context, files: list[Path] = typer.Argument(..., help="Dev sets (JSON Lines).", exists=True,
                                                      dir_okay=False, readable=True),
             k: int = typer.Option(5, "--k", min=1, max=50),
             as_json: bool = typer.Option(False, "--json"),
             split: Split = typer.Option(Split.auto, case_sensitive=False,
                                         help="tune | held-out | all | auto (both halves and all, for sets of "
                                              "20+ questions)"),
             limit: int = typer.Option(0, help="Only the first N questions of each set."),
             shared: Path = typer.Option(Path("../shared"), help="The shared data our own sets refer to "
                                                                "(gold_ref / evidence_ref).")) -> None:
    """Per language: paragraph hit@1/hit@k/MRR, article hit@1/hit@k and the hit@50 ceiling,
    for dense-only, BM25-only and hybrid search, on the tuning and held-out halves."""
    from rich.table import Table

    from bot.core.evaluation import CEILING, evaluate, evaluate_answers, load_eval_set, split_half
    from bot.core.retrieval import HybridSearcher, SearchOptions

    settings: Settings = ctx.obj["settings"]
    store = open_store(settings)
    searcher = HybridSearcher(store)
    qa = build_qa(settings) if settings.llm != "none" else None
    report: dict = {}
    for f in files:
        items = load_eval_set(f, refs=shared / "eval" / "fars_titles_dev.jsonl")
        items = items[:limit] if limit else items
        for item in items:  # as `ask` would refuse it: a huge question would only stall the search
            if len(item.question) > settings.max_question_chars:
                raise LoadError(str(f), f"question {item.id!r} has {len(item.question):,} characters, more than "
                                        f"KHABAR_MAX_QUESTION_CHARS ({settings.max_question_chars})")
        halves = ["tune", "held-out", "all"] if split == "auto" and len(items) >= 20 else \
            ["all"] if split == "auto" else [split.value]
        report[f.name] = {}
        for half in halves:
            part = split_half(items, half)
            report[f.name][half] = {mode: evaluate(searcher, part, SearchOptions(k=k, mode=mode))
                                    for mode in ("dense", "bm25", "hybrid")}
        if qa is not None:
            report[f.name]["llm"] = evaluate_answers(qa, split_half(items, halves[-1]))
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
        return
    metrics = ("hit@1", f"hit@{k}", "mrr", "article@1", f"article@{k}", f"hit@{CEILING}")
    wide = Console(width=max(out.width, 100), emoji=False)  # a pipe gets 80 columns, too few for the table
    heads = ("para@1", f"para@{k}", "MRR", "art@1", f"art@{k}", f"para@{CEILING}")
    for name, by_half in report.items():
        llm = by_half.pop("llm", None)
        table = Table(title=name, caption=f"para = answer paragraph, art = article; para@{CEILING} = the ceiling")
        for col in ("half", "lang", "n", "search", *heads):
            table.add_column(col, justify="left" if col in ("half", "lang", "search") else "right")
        for half, modes in by_half.items():
            langs = sorted(modes["hybrid"], key=lambda x: (x == "all", x))
            for lang in langs:
                for mode, res in modes.items():
                    m = res[lang]
                    table.add_row(half, lang, str(m["n"]), mode, *(f"{m[x]:.2f}" for x in metrics))
            table.add_section()
        wide.print(table)
        if llm:
            out.print(f"LLM answers: citation precision {llm['citation_precision']}, answer language accuracy "
                      f"{llm['language_accuracy']}, extractive fallbacks {llm['extractive_fallbacks']}/{llm['n']}")


def warn_if_empty(qa: QA, settings: Settings) -> None:
    """Tell the operator a server has nothing to answer from (readers are only told it is unavailable)."""
    if not qa.stats().get("articles"):
        err.print(f"warning: nothing is indexed in {escape(str(settings.data_dir))} yet; readers are told the "
                  "archive is not available until `khabar index add PATH` adds articles (picked up while "
                  "running).", highlight=False, soft_wrap=True)


@app.command()
def serve(ctx: typer.Context, host: str = typer.Option(None, help="Bind address (default 127.0.0.1)."),
          port: int = typer.Option(None, min=1, max=65535, help="Port (default 8000).")) -> None:
    """Serve the web API, the demo page and the embeddable widget."""
    import uvicorn

    from bot.channels.asgi import server_config
    from bot.channels.web import create_app

    settings: Settings = ctx.obj["settings"]
    setup_logging(settings, console=True)
    qa = build_qa(settings, lazy=True)
    qa.warm()  # the index's vectors are read while the server starts, not on the first question
    app_ = create_app(settings, qa)
    out.print(f"Khabar is starting on http://{host or settings.host}:{port or settings.port}/ …", highlight=False)
    warn_if_empty(qa, settings)
    # header/body limits and timeouts, and X-Forwarded-For only from KHABAR_TRUSTED_PROXIES
    try:
        uvicorn.Server(server_config(app_, settings, host, port)).run()
    finally:
        qa.close(5.0)


@app.command()
def telegram(ctx: typer.Context) -> None:
    """Run the Telegram bot (long polling, or a webhook when KHABAR_TELEGRAM_WEBHOOK_URL is set)."""
    from bot.channels.telegram import check_telegram_settings, run_telegram

    settings: Settings = ctx.obj["settings"]
    setup_logging(settings, console=True)
    check_telegram_settings(settings)  # a missing token stops the bot before the index is read
    qa = build_qa(settings, lazy=True)
    qa.warm()
    warn_if_empty(qa, settings)
    try:
        run_telegram(settings, qa)
    finally:
        qa.close(5.0)


def main() -> None:
    """Entry point: run the CLI and turn errors into a message and an exit code, never a traceback."""
    try:
        app()  # standalone: usage errors print usage and exit 2
    except KhabarError as exc:
        # an error not tied to a question (a file that fails, a missing index) speaks the terminal's locale
        lang = exc.__dict__.get("lang") or terminal_language()
        log.info("user error: %s", exc)
        log.debug("user error details", exc_info=True)  # servers log to the console: no traceback there
        err.print(f"[red]error:[/] {escape(exc.message(lang))}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the boundary: users get a message, the log the traceback
        if not logging.getLogger().handlers:
            logging.getLogger().addHandler(logging.NullHandler())
        log.exception("unexpected error")
        err.print(f"[red]unexpected error:[/] {escape(type(exc).__name__)}: {escape(str(exc))[:300]}"
                  " — details are in khabar.log in the data directory (or rerun with -v).", highlight=False)
        sys.exit(1)


if __name__ == "__main__":
    main()
