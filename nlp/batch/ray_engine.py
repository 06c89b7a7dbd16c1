"""Batch scoring on a Ray cluster (``reviewpulse score --engine ray``): the records of :func:`nlp.batch.scoring.score`.

Ray Data reads the input on this machine (a read task pinned to this node) through a datasource that calls
the local engine's own reader (:func:`nlp.batch.scoring.read_rows`), so rows, ids and error records are the same;
blocks of ``chunk_size`` rows go to a fixed pool of actors, each building the analyzer once; the records
come back here in input order and are written with :class:`nlp.io.tables.RecordWriter`.

Order: Ray Data runs with ``preserve_order``, which streams results back in input order without a global
sort (a sort would shuffle and hold every record before the first is written), and every record carries its
input row number, checked here as it arrives: a record out of place stops the run instead of being written.

Needs the optional extra: ``pip install 'reviewpulse[ray]'``. Every node needs the project and its models
installed at the same paths (the actors load them there).
"""

from __future__ import annotations

import io
import json
import os
import pickle
from collections.abc import Callable, Iterator

import pyarrow as pa
import ray
from ray.data.datasource import FileBasedDatasource
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from nlp.analysis.analyzer import Analyzer
from nlp.artifacts.paths import NlpSettings
from nlp.batch.scoring import SENTIMENT_LAYOUT, ScoreSummary, analyse_rows, progress_bar, read_rows
from nlp.io.tables import RecordWriter, output_format

#: Variables the actors must see as the command does: no model hub, and every setting of the analysis
#: library (where models, base models and their ONNX exports live).
FORWARDED_ENV = (
    "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    *(f"REVIEWPULSE_{name.upper()}" for name in NlpSettings.model_fields),
)


class ReviewRows(FileBasedDatasource):
    """One input file as blocks ``{"row_number": int64, "row": pickled nlp.batch.scoring.Row}``, via ``read_rows``.

    Rows travel pickled because a row can hold what Arrow cannot: a text with escaped undecodable bytes, a
    JSONL value of any type, or the error of a line that is not JSON.
    """

    def __init__(self, path: str, text_col: str, id_col: str | None, chunk_size: int) -> None:
        super().__init__(os.path.abspath(path))
        self.path, self.text_col, self.id_col, self.chunk_size = path, text_col, id_col, chunk_size

    def _open_input_source(self, filesystem, path: str, **open_args) -> pa.NativeFile:
        if path.lower().endswith(".parquet"):  # Parquet reads its footer first: a seekable file
            return filesystem.open_input_file(path)
        return super()._open_input_source(filesystem, path, **open_args)

    def _read_stream(self, f: pa.NativeFile, path: str) -> Iterator[pa.Table]:
        source = f if self.path.lower().endswith(".parquet") else io.BufferedReader(f)
        row_number = 0
        for chunk in read_rows(self.path, self.text_col, self.id_col, self.chunk_size, source=source):
            numbers = pa.array(range(row_number, row_number + len(chunk)), pa.int64())
            yield pa.table(
                {"row_number": numbers, "row": pa.array([pickle.dumps(r) for r in chunk], pa.binary())}
            )
            row_number += len(chunk)


class AnalyzerActor:
    """A Ray Data actor: builds the analyzer once, then turns blocks of :class:`ReviewRows` into records
    ``{"row_number": int64, "record": JSON string}`` (ASCII JSON, so escaped bytes in ids survive Arrow)."""

    def __init__(self, make_analyzer: Callable[[], Analyzer]) -> None:
        self.analyzer = make_analyzer()

    def __call__(self, batch: pa.Table) -> pa.Table:
        rows = [pickle.loads(b) for b in batch.column("row").to_pylist()]
        records = [json.dumps(r) for r in analyse_rows(self.analyzer, rows)]
        return pa.table({"row_number": batch.column("row_number"), "record": pa.array(records, pa.string())})


def score_on_ray(
    make_analyzer: Callable[[], Analyzer],
    input_path: str,
    text_col: str,
    id_col: str | None,
    out_path: str | None,
    address: str | None = None,
    actors: int | None = None,
    chunk_size: int = 256,
    progress: bool = True,
) -> ScoreSummary:
    """Score ``input_path`` on Ray into ``out_path`` (JSONL on stdout when None): the local engine's output.

    ``make_analyzer`` is a picklable zero-argument callable run in each actor (e.g. a ``functools.partial``
    of :class:`Analyzer`). Without ``address`` a local Ray instance is started with ``actors + 1`` CPUs;
    with it, this process joins that cluster. ``actors`` (each reserves 1 CPU, so Ray gives it one OpenMP
    thread, and loads its own copy of the models) defaults to one per 2 CPUs of the cluster, to spare
    memory; at least one CPU must stay free for Ray Data's tasks that cut the read into blocks.

    Raises:
        MissingColumnError, UnsupportedFormatError: before Ray is started.
        ConnectionError: ``address="auto"`` and no running cluster.
        ValueError: ``actors`` leave no CPU of the cluster free.
        RuntimeError: a record came back out of input order.
    """
    output_format(out_path)
    next(read_rows(input_path, text_col, id_col, chunk_size=1), None)  # a missing column fails here
    env = {"env_vars": {k: os.environ[k] for k in FORWARDED_ENV if k in os.environ}}
    if address:
        ray.init(address=address, runtime_env=env, log_to_driver=False)
    else:
        # offline: no usage report from an instance we start (RAY_USAGE_STATS_ENABLED=1 allows it)
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        actors = actors or max(1, (os.cpu_count() or 2) // 2)
        ray.init(
            address="local",
            num_cpus=actors + 1,
            include_dashboard=False,
            runtime_env=env,
            log_to_driver=False,
        )
    try:
        cpus = int(ray.cluster_resources().get("CPU", 0))
        actors = actors or max(1, cpus // 2)
        if actors >= cpus:
            raise ValueError(
                f"{actors} actors need {actors + 1} CPUs (one stays free to cut blocks); the cluster has {cpus}"
            )
        return _run(make_analyzer, input_path, text_col, id_col, out_path, actors, chunk_size, progress)
    finally:
        ray.shutdown()


def _run(
    make_analyzer: Callable[[], Analyzer],
    input_path: str,
    text_col: str,
    id_col: str | None,
    out_path: str | None,
    actors: int,
    chunk_size: int,
    progress: bool,
) -> ScoreSummary:
    here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    context.enable_progress_bars = False  # the scoring bar below counts the rows
    records = (
        # The file is on this machine, maybe on no other: the read runs here, and reserves no CPU, so that
        # an actor placed here cannot starve it.
        ray.data.read_datasource(
            ReviewRows(input_path, text_col, id_col, chunk_size),
            num_cpus=0,
            ray_remote_args={"scheduling_strategy": here},
        )
        .repartition(target_num_rows_per_block=chunk_size)  # the read makes big blocks: one per actor call
        .map_batches(
            AnalyzerActor,
            fn_constructor_args=(make_analyzer,),
            batch_size=chunk_size,
            batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(size=actors),
            num_cpus=1,
        )
    )
    writer = RecordWriter(out_path, SENTIMENT_LAYOUT)
    summary = ScoreSummary()
    bar = progress_bar(input_path, progress)
    expected = 0
    try:
        for batch in records.iter_batches(batch_size=None, batch_format="pyarrow"):
            numbers = batch.column("row_number").to_pylist()
            if numbers != list(range(expected, expected + len(numbers))):
                raise RuntimeError(
                    f"Ray returned rows {numbers[0]}..{numbers[-1]} where row {expected} was due"
                )
            chunk = [json.loads(r) for r in batch.column("record").to_pylist()]
            for record in chunk:
                summary.add(record)
            writer.write(chunk)
            bar.update(len(chunk))
            expected += len(chunk)
    finally:
        bar.close()
        writer.close()
    return summary


__all__ = ["AnalyzerActor", "ReviewRows", "score_on_ray"]
