"""``reviewpulse recommend`` and ``reviewpulse evaluate recommend``: product suggestions on the command line."""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer

from api.cli.console import fail


def recommend(
    user_id: str | None = typer.Option(None, "--user-id", help="Suggest for this customer."),
    product_id: str | None = typer.Option(None, "--product-id", help="Products bought with this one."),
    query: str | None = typer.Option(None, "--query", help='A free-text need, e.g. "warm coat".'),
    category: str | None = typer.Option(
        None, "--category", help="Only products of this category (any case: 'dresses' = 'Dresses')."
    ),
    max_price: float | None = typer.Option(
        None,
        "--max-price",
        min=0,
        help="Only products with a price at most this (unpriced ones are left out).",
    ),
    k: int = typer.Option(10, "--k", min=1, max=100, help="How many suggestions."),
    as_json: bool = typer.Option(False, "--json", help="Print the response as the API gives it."),
) -> None:
    """Suggest products from the store (catalogue, interactions, reviews), each with its reasons."""
    from dataclasses import asdict

    from api.cli.store import store_session
    from api.service.suggestions import build_recommender
    from nlp.recommend.recommender import UnknownProductError

    if not (user_id or product_id or query):
        raise fail("give --user-id, --product-id or --query")
    with store_session() as session:
        recommender = build_recommender(session)
    try:
        result = recommender.recommend(user_id, product_id, query, category, max_price, k)
    except UnknownProductError as exc:
        raise fail(str(exc), code=1) from exc
    if as_json:
        typer.echo(json.dumps(asdict(result), indent=2, ensure_ascii=False))
        return
    typer.echo(f"strategy: {result.strategy}" + (f" ({result.reason})" if result.reason else ""))
    for rank, item in enumerate(result.items, 1):
        typer.echo(f"{rank:>3}. {item.product_id}  {item.name}  [{item.score:.3f}]")
        for reason in item.reasons:
            typer.echo(f"       - {reason}")


def evaluate_recommend(
    interactions: Path = typer.Option(
        ...,
        "--interactions",
        help="UCI Online Retail transactions (online_retail_transactions.csv.gz, or Parquet).",
    ),
    reviews: Path | None = typer.Option(
        None,
        "--reviews",
        help="Women's clothing reviews CSV for the review-aware check (skipped when not given).",
    ),
    products: Path | None = typer.Option(
        None,
        "--products",
        help="Product names (StockCode, Description) for the content methods; default: "
        "products_derived.csv beside --interactions, skipped when absent.",
    ),
    review_limit: int = typer.Option(
        4000, "--review-limit", min=100, help="Reviews analysed for the aspect check (random, seed 13)."
    ),
    k: int = typer.Option(10, "--k", min=1, max=100),
    out: Path | None = typer.Option(None, "--out", help="Also write the figures to this JSON file."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Hit rate@k, NDCG@k and coverage of popularity, item-kNN, ALS and a blend (last invoice held out);
    with --reviews, the positive share of aspect mentions in the top k against the category average."""
    from nlp.recommend.evaluation import (
        clean_retail,
        evaluate_collaborative,
        leave_last_invoice_out,
        read_retail,
    )

    if not interactions.exists():
        raise fail(f"interactions file {interactions} does not exist")
    started = time.perf_counter()
    lines, cleaning = clean_retail(read_retail(str(interactions)))
    split = leave_last_invoice_out(lines)
    results = evaluate_collaborative(split, k=k, progress=not quiet, extra=_content_methods(
        products or interactions.parent / "products_derived.csv"))  # fmt: skip
    report: dict = {
        "cleaning": cleaning,
        "train_interactions": len(split.train),
        "evaluated_customers": len(split.targets),
        "skipped_last_invoice_without_new_items": split.skipped_no_new_items,
        "methods": results,
        "collaborative_seconds": round(time.perf_counter() - started, 1),
    }
    base = results["popularity"][f"hit_rate@{k}"]
    for name, metrics in results.items():
        ratio = metrics[f"hit_rate@{k}"] / base if base else float("nan")
        typer.echo(
            f"{name:<18} hit_rate@{k} {metrics[f'hit_rate@{k}']:.4f} ({ratio:.2f}x popularity)  "
            f"ndcg@{k} {metrics[f'ndcg@{k}']:.4f}  coverage {metrics['coverage']:.4f}"
        )
    if reviews is not None:
        report["aspects"] = _aspect_check(reviews, review_limit, k, quiet)
        for row in report["aspects"]:
            typer.echo(json.dumps(row))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2) + "\n")
    typer.echo(json.dumps({key: v for key, v in report.items() if key not in ("methods", "aspects")}))


def _content_methods(path: Path) -> dict:
    """Content-based kNN over product names with MiniLM sentence embeddings and with the Word2Vec review
    vectors (to measure which serves better); none when ``path`` does not exist."""
    import pandas as pd

    from nlp.analysis.embeddings import PhraseEmbeddings
    from nlp.artifacts.registry import Registry
    from nlp.recommend.evaluation import content_method
    from nlp.recommend.recommender import minilm_encoder, word2vec_encoder

    if not path.exists():
        return {}
    frame = pd.read_csv(path, dtype={"StockCode": str}).dropna(subset=["Description"])
    texts = dict(zip(frame["StockCode"].str.upper(), frame["Description"].str.lower(), strict=True))
    word2vec = PhraseEmbeddings.load(Registry().path("embeddings"))
    return {
        "content_minilm": content_method(texts, minilm_encoder()),
        "content_word2vec": content_method(texts, word2vec_encoder(word2vec)),
    }


def _aspect_check(path: Path, limit: int, k: int, quiet: bool) -> list[dict]:
    """Analyse ``limit`` random clothing reviews (Clothing ID = product, Class Name = category) and run
    :func:`nlp.recommend.evaluation.aspect_ranking_check` for fit, fabric, colour and length."""
    import pandas as pd
    from tqdm.auto import tqdm

    from nlp.analysis.analyzer import Analyzer, ReviewAnalysis
    from nlp.recommend.evaluation import aspect_ranking_check
    from nlp.recommend.recommender import aspect_of_term

    if not path.exists():
        raise fail(f"reviews file {path} does not exist")
    frame = pd.read_csv(path, usecols=["Clothing ID", "Review Text", "Class Name"]).dropna()
    frame = frame.sample(n=min(limit, len(frame)), random_state=13)
    analyzer = Analyzer()
    rows = []
    texts = frame["Review Text"].astype(str).tolist()
    ids = frame["Clothing ID"].astype(str).tolist()
    with tqdm(total=len(texts), desc="aspects", unit="review", disable=quiet) as bar:
        for start in range(0, len(texts), 64):
            for offset, result in enumerate(analyzer.analyze(texts[start : start + 64])):
                if not isinstance(result, ReviewAnalysis):  # an error record
                    continue
                for aspect in result.aspects:
                    name = aspect_of_term(aspect.term)
                    if name:
                        rows.append((start + offset, ids[start + offset], name,
                                     aspect.sentiment.label == "positive"))  # fmt: skip
            bar.update(min(64, len(texts) - start))
    mentions = pd.DataFrame(rows, columns=["review_id", "product_id", "aspect", "positive"])
    categories = dict(zip(ids, frame["Class Name"].astype(str), strict=True))
    return aspect_ranking_check(mentions, categories, ["fit", "fabric", "colour", "length"], k=k)
