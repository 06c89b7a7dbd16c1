"""Small helpers shared by the command-line modules."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import typer


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``error: message`` in red on stderr and return the ``typer.Exit`` to raise (exit code ``code``)."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def invocation(ctx: typer.Context) -> str:
    """The command as typed, for model cards: ``reviewpulse train sentiment --epochs 1.0`` (non-defaults only)."""
    parts = ["reviewpulse", *ctx.command_path.split()[1:]]
    for param in ctx.command.params:
        value = ctx.params.get(param.name or "")
        if value is None or value == param.default:
            continue
        # a flag is typed bare: --full-fine-tune, not --full-fine-tune True
        if getattr(param, "is_flag", False):
            parts.append(param.opts[0] if value else param.secondary_opts[0])
            continue
        values = [shlex.quote(str(v)) for v in (value if isinstance(value, list | tuple) else [value])]
        parts += values if param.param_type_name == "argument" else [param.opts[0], *values]
    return " ".join(parts)


def load_analyzer(options: dict[str, Any], processes: int = 1):
    """The Analyzer made with ``options`` (its keyword arguments), or with ``processes`` > 1 an
    :class:`nlp.batch.pool.AnalyzerPool`; close it when done."""
    from nlp.analysis.analyzer import Analyzer
    from nlp.batch.pool import AnalyzerPool

    try:
        return AnalyzerPool(processes, **options) if processes > 1 else Analyzer(**options)
    except (KeyError, FileNotFoundError) as exc:
        raise fail(str(exc).strip("'\"")) from exc


def user_frame(data: Path, text_col: str, label_col: str | None, title_col: str | None = None):
    """The user's file with ``text`` (title + ". " + text when ``title_col`` is given, as the shared reviews are
    read) and ``label`` columns; rows without any text are dropped."""
    from nlp.io.tables import UnsupportedFormatError, read_frame
    from nlp.training.datasets import join_title

    if not data.exists():
        raise fail(f"data file {data} does not exist")
    try:
        frame = read_frame(data)
    except UnsupportedFormatError as exc:
        raise fail(str(exc)) from exc
    for col in (text_col, label_col, title_col):
        if col is not None and col not in frame.columns:
            raise fail(f"column {col!r} not found; available columns: {', '.join(map(str, frame.columns))}")
    out = frame.rename(columns={text_col: "text", **({label_col: "label"} if label_col else {})})
    if title_col:
        joined = join_title(frame[title_col], frame[text_col])
        out["text"] = joined.where(joined != "")
    return out.dropna(subset=["text"])


# Options shared by the train and evaluate commands.
TEXT_COL = typer.Option("text", "--text-col", help="Column holding the text.")
SENTIMENT_LABEL_COL = typer.Option("label", "--label-col", help="Labels negative / neutral / positive.")
TITLE_COL = typer.Option(
    None, "--title-col", help="Column holding a review title, read before the text as in training."
)
MEMBERS_DATA = typer.Option(
    None, "--data", help="The labelled file the members were trained on (default: the shared datasets)."
)
