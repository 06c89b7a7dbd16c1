"""``reviewpulse evaluate ...``: measure a model on labelled data."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import typer

from api.cli.console import (
    MEMBERS_DATA,
    SENTIMENT_LABEL_COL,
    TEXT_COL,
    TITLE_COL,
    fail,
    load_analyzer,
    user_frame,
)

evaluate_app = typer.Typer(help="Measure a model on labelled data.", no_args_is_help=True)


@evaluate_app.command("sentiment")
def evaluate_sentiment(
    data: Path | None = typer.Option(
        None, "--data", help="Labelled file; default: the held-out clothing test split."
    ),
    text_col: str = typer.Option("text", "--text-col"),
    title_col: str | None = TITLE_COL,
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
        frame = user_frame(data, text_col, label_col, title_col).dropna(subset=["label"])
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
    data: Path | None = MEMBERS_DATA,
    text_col: str = TEXT_COL,
    label_col: str = SENTIMENT_LABEL_COL,
) -> None:
    """Score each member alone and every ensemble of them as `train sentiment-ensemble` would build it.

    Blend weight and decision biases are chosen on the validation split; test and SST-2 dev are read with
    that choice. Choose by validation; nothing is written or registered.
    """
    from nlp.training.sentiment_recipe import compare_sentiment_ensembles

    frame = user_frame(data, text_col, label_col) if data else None
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


@evaluate_app.command("no-opinion")
def evaluate_no_opinion(
    model_version: str = typer.Option("latest", "--model-version", help="Sentiment model version."),
) -> None:
    """The no-opinion rule on short real texts (review titles and summaries labelled by their stars, SST-2 dev,
    the ABSA gold sentences alone and in their reviews): macro-F1 / accuracy with the rule and without it."""
    from nlp.training.opinion_eval import run

    try:
        figures = run(load_analyzer({"sentiment_version": model_version, "entities": False}))
    except (FileNotFoundError, ValueError) as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"{'':44}{'texts':>7}{'withheld':>10}{'rule (F1 / acc)':>20}{'no rule (F1 / acc)':>22}")
    for name, f in figures.items():
        rule, none = (f"{f[k]['macro_f1']:.3f} / {f[k]['accuracy']:.3f}" for k in ("rule", "no_rule"))
        typer.echo(f"{name:44}{f['texts']:>7}{f['withheld']:>10}{rule:>20}{none:>22}")


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
        figures = run(split.value, load_analyzer({"sentiment_version": model_version}), clothing_reviews())
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
