"""``reviewpulse db|apikey|load``: the store's commands (migrations, API keys, bulk loads).

Settings come from ``REVIEWPULSE_*`` (:func:`api.core.config.get_settings`), as for the service, and
every command migrates the database first, so a fresh data directory just works. Bulk loads stream the
file in chunks (CSV, ``.csv.gz``, JSONL or Parquet) with a progress bar on stderr; a row that cannot be
stored is reported on stderr as a JSON error record ``{"row": N, "error": {"code", "message"}}`` (``N`` is
the 0-based data row, as ``reviewpulse score`` numbers rows) and counted in the summary, never dropped
silently.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import typer
from sqlalchemy.orm import Session

from api.cli.console import fail
from api.db.records import ReviewFields, clean, utc

if TYPE_CHECKING:
    from nlp.io.tables import TableRow

db_app = typer.Typer(help="The review store's database (migrations).", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys for the service (X-API-Key header).", no_args_is_help=True)
load_app = typer.Typer(
    help="Bulk-load the product catalogue, reviews or interactions into the store.", no_args_is_help=True
)


@contextlib.contextmanager
def store_session() -> Iterator[Session]:
    """A session on the configured database, migrated to the newest schema first."""
    from api.core.config import get_settings
    from api.db.migrate import upgrade
    from api.db.session import make_engine, make_sessionmaker

    url = get_settings().db_url
    upgrade(url)
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            yield session
    finally:
        engine.dispose()


def _shown_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


# ------------------------------------------------------------------------------------------------- db


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the store's tables to the newest schema (a no-op when already there)."""
    from api.core.config import get_settings
    from api.db.migrate import current, upgrade

    url = get_settings().db_url
    upgrade(url)
    typer.echo(f"database {_shown_url(url)} at revision {current(url)}")


# --------------------------------------------------------------------------------------------- apikey


@apikey_app.command("create")
def apikey_create(
    role: str = typer.Option(
        ..., "--role", help="reader (read endpoints), writer (+ ingest) or admin (+ key management)."
    ),
    name: str | None = typer.Option(None, "--name", help="A note saying whose key it is."),
) -> None:
    """Create an API key and print it once, alone on the last line (only its hash is stored)."""
    from api.core.security import ROLES
    from api.store import create_api_key, find_api_key

    if role not in ROLES:
        raise fail(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    with store_session() as session:
        key = create_api_key(session, role, name)
        session.commit()
        stored = find_api_key(session, key)
        assert stored is not None
        typer.echo(
            f"created {role} key #{stored.id}{f' ({name})' if name else ''}, prefix {stored.prefix}; "
            "store it now, it will not be shown again:",
            err=True,
        )
    typer.echo(key)


@apikey_app.command("list")
def apikey_list(
    all_keys: bool = typer.Option(False, "--all", help="Include revoked keys."),
) -> None:
    """List keys (id, prefix, role, name, created, revoked); never their secret part."""
    from api.store import list_api_keys

    with store_session() as session:
        for key in list_api_keys(session, include_revoked=all_keys):
            revoked = f"  revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else ""
            typer.echo(
                f"{key.id}\t{key.prefix}\t{key.role}\t{key.name or '-'}\t{key.created_at:%Y-%m-%d %H:%M}{revoked}"
            )


@apikey_app.command("revoke")
def apikey_revoke(key_id: int = typer.Argument(..., help="Key id (see `reviewpulse apikey list`).")) -> None:
    """Revoke a key: it stops authenticating at once."""
    from api.store import revoke_api_key

    with store_session() as session:
        if not revoke_api_key(session, key_id):
            raise fail(f"no active key with id {key_id}", code=1)
        session.commit()
    typer.echo(f"revoked key {key_id}")


# ----------------------------------------------------------------------------------------------- load


@dataclass
class LoadSummary:
    """Counts of a bulk load: rows read, stored (new or updated), already stored, errors by code."""

    rows: int = 0
    stored: int = 0
    duplicates: int = 0
    skipped: int = 0
    errors: Counter = field(default_factory=Counter)

    def error(self, row: int, code: str, message: str) -> None:
        """Count the error and report it on stderr as a JSON record (above the progress bar)."""
        from tqdm.auto import tqdm

        self.errors[code] += 1
        tqdm.write(json.dumps({"row": row, "error": {"code": code, "message": message}}), file=sys.stderr)

    def render(self, stored_label: str = "stored") -> str:
        errors = sum(self.errors.values())
        parts = [f"rows: {self.rows}", f"{stored_label}: {self.stored}"]
        if stored_label == "stored":
            parts.append(f"duplicates: {self.duplicates}")
        if self.skipped:
            parts.append(f"skipped (product id not matching --product-pattern): {self.skipped}")
        parts.append(f"errors: {errors}" + (f" {dict(self.errors)}" if errors else ""))
        return "  ".join(parts)


@contextlib.contextmanager
def _load_errors() -> Iterator[None]:
    from nlp.io.tables import MissingColumnError, UnsupportedFormatError

    try:
        yield
    except (MissingColumnError, UnsupportedFormatError, FileNotFoundError) as exc:
        raise fail(str(exc)) from exc


def _load_rows(
    file: str,
    columns: dict[str, str],
    chunk_size: int,
    desc: str,
    quiet: bool,
    validate: Callable[[dict], dict],
    error_code: str,
    store: Callable[[Session, list[dict]], int],
    product_pattern: str | None = None,
) -> LoadSummary:
    """Stream ``file`` in chunks: each row's ``columns`` (field -> column) go through ``validate`` (a
    ``ValueError`` becomes an ``error_code`` record naming the row), valid rows are stored chunk by chunk with
    ``store`` and committed. Rows whose ``product_id`` does not fully match ``product_pattern`` (a regular
    expression) are counted as skipped. Returns the counts; a progress bar runs on stderr unless ``quiet``."""
    from tqdm.auto import tqdm

    from nlp.io.tables import RowError, count_rows, read_table, undecodable

    summary = LoadSummary()
    wanted = re.compile(product_pattern) if product_pattern else None
    with _load_errors(), store_session() as session:
        chunks = read_table(file, list(dict.fromkeys(columns.values())), chunk_size)
        bar = tqdm(total=count_rows(file), unit="row", desc=desc, disable=quiet, file=sys.stderr)
        try:
            for chunk in chunks:
                batch = []
                for row, values in chunk:
                    summary.rows += 1
                    if isinstance(values, RowError):
                        summary.error(row, values.code, values.message)
                        continue
                    if error := undecodable(values):
                        summary.error(row, error.code, error.message)
                        continue
                    fields = {name: values[col] for name, col in columns.items()}
                    if wanted and not wanted.fullmatch(str(fields["product_id"] or "").strip()):
                        summary.skipped += 1
                        continue
                    try:  # row by row, so one bad row is reported and the rest still load
                        batch.append(validate(fields))
                    except ValueError as exc:
                        summary.error(row, error_code, str(exc))
                summary.stored += store(session, batch)
                session.commit()
                bar.update(len(chunk))
        finally:
            bar.close()
    return summary


# Shared by the loaders of suggestion data (products, interactions).
_ProductPattern = typer.Option(
    None,
    "--product-pattern",
    help=r"Keep only product ids fully matching this regular expression, e.g. '\d{5}[A-Za-z]?' to drop "
    "postage and fee codes; the others are counted as skipped.",
)


def _is_default(ctx: typer.Context, parameter: str) -> bool:
    """Whether ``parameter`` was left at its default (not given on the command line nor by a variable)."""
    source = ctx.get_parameter_source(parameter)  # an enum of the click that typer bundles: compare names
    return source is not None and source.name in ("DEFAULT", "DEFAULT_MAP")


@load_app.command("products")
def load_products(
    ctx: typer.Context,
    file: str = typer.Argument(..., help="CSV (.csv, .csv.gz), JSONL or Parquet catalogue."),
    id_col: str = typer.Option("product_id", "--id-col", help="Column holding the product id."),
    name_col: str = typer.Option("name", "--name-col", help="Column holding the product name."),
    category_col: str | None = typer.Option("category", "--category-col", help="Category column."),
    description_col: str | None = typer.Option(
        "description", "--description-col", help="Description column."
    ),
    price_col: str | None = typer.Option("price", "--price-col", help="Price column."),
    product_pattern: str | None = _ProductPattern,
    chunk_size: int = typer.Option(1000, "--chunk-size", min=1, help="Rows read and written per chunk."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Insert or update the product catalogue (a product loaded again is updated, not duplicated).

    The category, description and price columns are optional: one left at its default name that the file
    lacks is skipped with a note; one named on the command line that the file lacks is an error; an empty
    string (--price-col '') skips one.
    """
    from api.store import normalize_product, upsert_products
    from nlp.io.tables import table_columns

    optional = {"category": category_col, "description": description_col, "price": price_col}
    with _load_errors():
        available = table_columns(file)
    for field_name, column in optional.items():
        if column and column not in available and _is_default(ctx, f"{field_name}_col"):
            typer.echo(
                f"note: no {column!r} column in {file}: products are loaded without a {field_name}", err=True
            )
            optional[field_name] = None
    columns = {"product_id": id_col, "name": name_col, **{k: v for k, v in optional.items() if v}}

    def valid(product: dict) -> dict:
        normalize_product(product)  # raises ValueError on a bad row; upsert_products normalises again
        return product

    summary = _load_rows(
        file,
        columns,
        chunk_size,
        "products",
        quiet,
        valid,
        "invalid_product",
        upsert_products,
        product_pattern,
    )
    typer.echo(summary.render("upserted"), err=True)


@load_app.command("interactions")
def load_interactions(
    file: str = typer.Argument(..., help="CSV (.csv, .csv.gz), JSONL or Parquet orders or views."),
    user_col: str = typer.Option(..., "--user-col", help="Column holding the user (customer) id."),
    product_col: str = typer.Option(..., "--product-col", help="Column holding the product id."),
    quantity_col: str | None = typer.Option(
        None, "--quantity-col", help="Column holding the quantity (default 1 per row)."
    ),
    timestamp_col: str | None = typer.Option(
        None, "--timestamp-col", help="Column holding when it happened (ISO 8601 or 'YYYY-MM-DD HH:MM:SS')."
    ),
    product_pattern: str | None = _ProductPattern,
    chunk_size: int = typer.Option(5000, "--chunk-size", min=1, help="Rows read and written per chunk."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Append interactions (orders or views) that product suggestions learn from.

    Rows without a user or product id, or with a quantity or date that cannot be read, are reported on
    stderr and counted. Loading a file twice stores its rows twice (interactions have no natural key).
    """
    from api.store import add_interactions, normalize_interaction

    optional = {"quantity": quantity_col, "timestamp": timestamp_col}
    columns = {"user_id": user_col, "product_id": product_col, **{k: v for k, v in optional.items() if v}}
    summary = _load_rows(
        file,
        columns,
        chunk_size,
        "interactions",
        quiet,
        normalize_interaction,
        "invalid_interaction",
        add_interactions,
        product_pattern,
    )
    typer.echo(summary.render("added"), err=True)


@load_app.command("reviews")
def load_reviews(
    file: str = typer.Argument(..., help="CSV (.csv, .csv.gz), JSONL or Parquet reviews."),
    product_col: str = typer.Option("product_id", "--product-col", help="Column holding the product id."),
    text_col: str = typer.Option("text", "--text-col", help="Column holding the review text."),
    title_col: str | None = typer.Option(None, "--title-col", help="Column holding the review title."),
    rating_col: str | None = typer.Option(None, "--rating-col", help="Column holding the rating (1-5)."),
    created_col: str | None = typer.Option(
        None, "--created-col", help="Column holding when the review was written (ISO 8601; default: now)."
    ),
    author_col: str | None = typer.Option(None, "--author-col", help="Column holding the author id."),
    source: str = typer.Option("import", "--source", help="Source name stored with every review."),
    external_id_col: str | None = typer.Option(
        None,
        "--external-id-col",
        help="Column holding the review's id at the source; makes loading the file again a no-op.",
    ),
    chunk_size: int = typer.Option(256, "--chunk-size", min=1, help="Rows read and analysed per chunk."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Analyse and store reviews of catalogue products (load the products first).

    Each row is checked by the rules of ``POST /v1/reviews`` (a rating from 1 to 5, a date from 1995 to
    today, lengths, valid Unicode). Rows that break one, whose text cannot be analysed, or whose product is not
    in the catalogue are reported on stderr and counted; with ``--external-id-col`` rows already stored (same source
    and id) are skipped without being analysed again, so an interrupted load can simply be run again.
    """
    from tqdm.auto import tqdm

    from nlp.io.tables import count_rows, read_table

    try:
        ReviewFields.check("source", source)
    except ValueError as exc:
        raise fail(f"--source {source!r}: {exc}") from None
    optional = {
        "title": title_col,
        "rating": rating_col,
        "created_at": created_col,
        "author_id": author_col,
        "external_id": external_id_col,
    }
    columns = {"product_id": product_col, "text": text_col, **{k: v for k, v in optional.items() if v}}
    if external_id_col is None:
        typer.echo(
            "note: no --external-id-col, so loading this file again would store its reviews again", err=True
        )
    summary = LoadSummary()
    with _load_errors(), store_session() as session:
        chunks = read_table(file, list(dict.fromkeys(columns.values())), chunk_size)
        first = next(chunks, [])  # a missing column fails here, before the models load
        analyzer = _LazyAnalyzer()
        bar = tqdm(total=count_rows(file), unit="row", desc="reviews", disable=quiet, file=sys.stderr)
        try:
            for chunk in _chain(first, chunks):
                _load_review_chunk(session, analyzer, chunk, columns, source, summary)
                bar.update(len(chunk))
        finally:
            bar.close()
    typer.echo(summary.render(), err=True)


class _LazyAnalyzer:
    """The :class:`nlp.analysis.analyzer.Analyzer`, loaded on the first text to analyse (a reload of rows that are
    all stored already, or all invalid, never loads the models)."""

    def __init__(self) -> None:
        self._analyzer: Any = None

    def analyze(self, texts: list[Any]) -> list[Any]:
        if self._analyzer is None:
            from nlp.analysis.analyzer import Analyzer

            try:  # the store keeps no named entities (no endpoint serves them): their recogniser is skipped
                self._analyzer = Analyzer(entities=False)
            except (KeyError, FileNotFoundError) as exc:
                raise fail(f"cannot load the models: {str(exc).strip(chr(39) + chr(34))}") from exc
        return list(self._analyzer.analyze(texts))


def _chain(first: list, rest: Iterator[list]) -> Iterator[list]:
    if first:
        yield first
    yield from rest


def _load_review_chunk(
    session: Session,
    analyzer: _LazyAnalyzer,
    chunk: list[TableRow],
    columns: dict[str, str],
    source: str,
    summary: LoadSummary,
) -> None:
    """Check, analyse and store one chunk. The store is read in a read transaction that ends before the
    (slow) analysis, and the chunk is written and committed in a short write transaction afterwards, so the
    service keeps reading and writing throughout a load (``add_reviews`` checks products and duplicates
    again inside the write)."""
    from api.db.session import begin_read
    from api.store import add_reviews, existing_external_ids, missing_products
    from nlp.analysis.analyzer import AnalysisError
    from nlp.analysis.text import with_title
    from nlp.io.tables import RowError

    candidates: list[tuple[int, dict[str, Any]]] = []
    for row, values in chunk:
        summary.rows += 1
        if isinstance(values, RowError):
            summary.error(row, values.code, values.message)
            continue
        item = {name: values[col] for name, col in columns.items()}
        problem = _review_problem(item)
        if problem:
            summary.error(row, *problem)
            continue
        item["source"] = source
        candidates.append((row, item))

    begin_read(session)
    unknown = missing_products(session, {item["product_id"] for _, item in candidates})
    stored_ids = existing_external_ids(
        session, source, [item["external_id"] for _, item in candidates if item.get("external_id")]
    )
    session.rollback()  # ends the read: no transaction is open while the chunk is analysed
    pending: list[tuple[int, dict[str, Any]]] = []
    for row, item in candidates:
        if item["product_id"] in unknown:
            message = f"product {item['product_id']!r} is not in the catalogue; load it with `reviewpulse load products`"
            summary.error(row, "unknown_product", message)
        elif item.get("external_id") in stored_ids:
            summary.duplicates += 1
        else:
            pending.append((row, item))

    texts = [with_title(item.get("title"), item.get("text")) for _, item in pending]
    results = analyzer.analyze(texts) if texts else []
    items, analyses = [], []
    for (row, item), result in zip(pending, results, strict=True):
        if isinstance(result, AnalysisError):
            summary.error(row, result.code, result.message)
        else:
            items.append(item)
            analyses.append({"text": result.text, **result.to_dict()})
    for _, created in add_reviews(session, items, analyses):
        if created:
            summary.stored += 1
        else:
            summary.duplicates += 1
    session.commit()


def _review_problem(item: dict[str, Any]) -> tuple[str, str] | None:
    """Convert ``item``'s CSV / JSON cells in place and check it by the rules the API applies
    (:class:`api.db.records.ReviewFields`); the error ``(code, message)`` of a row that cannot be stored, or
    None. A missing or empty text is left to the analyzer, whose ``AnalysisError`` says what is wrong with it."""
    from pydantic import ValidationError

    item["product_id"] = clean(item.get("product_id"))
    if item["product_id"] is None:
        return "missing_product", "no product id in this row"
    for key in ("title", "author_id", "external_id"):
        if key in item:
            item[key] = clean(item[key])
    if "rating" in item:
        rating = _rating(item["rating"])
        if rating == -1:
            return "invalid_rating", f"rating {item['rating']!r} is not an integer from 1 to 5"
        item["rating"] = rating
    if "created_at" in item:
        moment = _moment(item["created_at"])
        if moment == _BAD_DATE:
            return "invalid_date", f"created_at {item['created_at']!r} is not an ISO 8601 date"
        item["created_at"] = moment
    blank_text = not isinstance(item.get("text"), str) or not item["text"].strip()
    try:
        ReviewFields.model_validate(item)
    except ValidationError as exc:
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "row"
            if not (field == "text" and blank_text):
                code = _FIELD_CODES.get(field, f"invalid_{field}")
                return code, f"{field}: {error['msg']}"
    return None


#: Error codes of the fields whose code predates the shared rules (the rest: ``invalid_<field>``).
_FIELD_CODES = {"product_id": "invalid_product", "rating": "invalid_rating", "created_at": "invalid_date"}


_BAD_DATE = datetime.min.replace(tzinfo=UTC)


def _rating(value: Any) -> int | None:
    """The rating as an int 1-5, None when absent, -1 when invalid."""
    if clean(value) is None:
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        return -1
    return int(number) if number.is_integer() and 1 <= number <= 5 else -1


def _moment(value: Any) -> datetime | None:
    """The timestamp in UTC (naive means UTC), None when absent, ``_BAD_DATE`` when invalid."""
    if isinstance(value, datetime):
        return utc(value)
    text = clean(value)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return _BAD_DATE
    return utc(moment)
