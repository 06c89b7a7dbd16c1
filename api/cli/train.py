"""``reviewpulse train ...``: reproduce a model artifact from the shared datasets or the user's own file."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from api.cli.console import (
    MEMBERS_DATA,
    SENTIMENT_LABEL_COL,
    TEXT_COL,
    TITLE_COL,
    fail,
    invocation,
    user_frame,
)
from nlp.artifacts.base_models import BASE_MODELS, DEFAULT_BASE_MODEL, base_model_dir
from nlp.training.config import INTENT_TRAINING, StudentConfig, TrainingConfig

train_app = typer.Typer(
    help="Reproduce a model artifact from the shared datasets or your own file.", no_args_is_help=True
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
    text_col: str = TEXT_COL,
    title_col: str | None = TITLE_COL,
    label_col: str = SENTIMENT_LABEL_COL,
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
    frame = user_frame(data, text_col, label_col, title_col) if data else None
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
            command=invocation(ctx),
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
        out, student, f"sentiment v{teacher_version}", records, invocation(ctx), minutes, register=register
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
    data: Path | None = MEMBERS_DATA,
    text_col: str = TEXT_COL,
    label_col: str = SENTIMENT_LABEL_COL,
) -> None:
    """Average the probabilities of fine-tuned sentiment models; tune, evaluate, write the card, register."""
    from nlp.training.sentiment_recipe import ensemble_sentiment

    frame = user_frame(data, text_col, label_col) if data else None
    try:
        metrics = ensemble_sentiment(
            members, _free_version("sentiment", version), out, data=frame, command=invocation(ctx)
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
    text_col: str = TEXT_COL,
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
    frame = user_frame(data, text_col, label_col) if data else None
    test = user_frame(test_data, text_col, label_col) if test_data else None
    config = intent_config(
        epochs=epochs, seed=seed, model_version=_free_version("intent", version), base_model=base
    )
    names = DEFAULT_SOURCES if sources is None else [n.strip() for n in sources.split(",") if n.strip()]
    try:
        metrics = run(
            out, config, data=frame, test_data=test, command=invocation(ctx), limit=limit, sources=names
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


# Options shared by the commands that train on a text corpus (embeddings, topics).
_CorpusData = typer.Option(None, "--data", help="Your file of texts instead of the shared review corpora.")
_CorpusOut = typer.Option(None, "--out")


def _train_on_corpus(
    ctx: typer.Context, recipe, data: Path | None, text_col: str, version: str, out, seed: int
) -> None:
    texts = user_frame(data, text_col, None)["text"].astype(str).tolist() if data else None
    typer.echo(json.dumps(recipe(texts, out, version, seed, command=invocation(ctx)), indent=2))


@train_app.command("embeddings")
def train_embeddings(
    ctx: typer.Context,
    data: Path | None = _CorpusData,
    text_col: str = TEXT_COL,
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
    text_col: str = TEXT_COL,
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
    it; a running `serve` picks it up on its next request) and the stored reviews get its topics."""
    from nlp.training.unsupervised_recipe import train_topics_artifact

    if from_store and data:
        raise fail("--from-store and --data name two corpora: give one")
    if category and not from_store:
        raise fail("--category selects stored reviews: use it with --from-store")
    version = _free_version("topics", version)
    if not from_store:
        texts = user_frame(data, text_col, None)["text"].astype(str).tolist() if data else None
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
        metrics = train_topics_artifact(texts, out, version, seed, command=invocation(ctx), source=source)
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
    """Train the aspects artifact on the ABSA gold set's train split (test is not read): the learned aspect-term
    filter (C and threshold chosen on dev) and the aspect polarity head on the registered sentiment model's
    encoder; write its card and register it: the analysis then uses it to decide which candidate nouns are
    aspects and how each is judged. Needs the shared clothing reviews."""
    from nlp.training.aspect_training import train_aspects_artifact

    try:
        metrics = train_aspects_artifact(version, out, command=invocation(ctx))
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
        f"{updated} stored reviews now carry topics v{version}; a running `reviewpulse serve` uses them for "
        "new reviews from its next request",
        err=True,
    )
