"""Named entities, found in a worker process of their own while the analysis parses.

spaCy's entity recogniser is the largest single cost of the full analysis, and it holds Python's GIL for much
of its work, so a thread beside the parse barely overlaps with it. It needs only the tokens (it has a
token-to-vector layer of its own), so a second process can read the prepared texts while this one parses
them: the two cores then share the work. The entities are the same as after the parse, to the character
(``tests/integration/test_analyzer.py``).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import util
from typing import TYPE_CHECKING

from nlp.artifacts.paths import nlp_settings

if TYPE_CHECKING:
    from spacy.language import Language

#: One entity: ``(start, end, label)``, character offsets into the text it was found in.
EntitySpan = tuple[int, int, str]

_pipeline: Language | None = None  # the worker process's own


def _load(name: str) -> None:
    """The worker's set-up. spaCy comes in only here, after torch is ruled out: thinc imports torch when it is
    installed, which the pipeline never uses and which would take about 230 MB more of this process's memory."""
    global _pipeline
    threading.Thread(target=_exit_with_parent, daemon=True).start()
    if "torch" not in sys.modules:
        sys.modules["torch"] = None  # type: ignore[assignment]  # `import torch` raises ImportError, as thinc expects
    from threadpoolctl import threadpool_limits

    from nlp.analysis.text import load_spacy

    threadpool_limits(1, user_api="blas")  # one core's worth: the analysing process has the other
    _pipeline = load_spacy(name)


def _exit_with_parent() -> None:
    """End this worker when the process that started it ends, even killed: nothing else would tell it."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        parent.join()
        os._exit(0)


def _recognise(texts: Sequence[str]) -> list[list[EntitySpan]]:
    from nlp.analysis.text import ENTITY_RECOGNISER

    assert _pipeline is not None, "the worker's pipeline is loaded by the pool's initializer"
    others = [name for name in _pipeline.pipe_names if name != ENTITY_RECOGNISER]
    docs = _pipeline.pipe(texts, batch_size=max(1, len(texts)), disable=others)
    return [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in docs]


class EntityRecogniser:
    """The spaCy pipeline's entity recogniser over prepared texts, in one worker process.

    The worker is started with ``spawn`` (forking a process that runs ONNX Runtime and OpenBLAS threads is
    unsafe) and loads the pipeline while the caller goes on; the first :meth:`wait` waits for it. A worker that
    dies (killed, out of memory) is replaced on the next :meth:`submit` or :meth:`wait`.

    Example::

        recogniser = EntityRecogniser()
        pending = recogniser.submit(["I bought it at Zara in May."])
        recogniser.wait(pending, ["I bought it at Zara in May."])   # [[(15, 19, "ORG"), (23, 26, "DATE")]]

    Args:
        pipeline: the installed spaCy pipeline whose ``ner`` component to run (default
            ``REVIEWPULSE_SPACY_MODEL``, as :func:`nlp.analysis.text.load_spacy`).
    """

    def __init__(self, pipeline: str | None = None) -> None:
        self.pipeline = pipeline or nlp_settings().spacy_model
        self._start()

    def _start(self) -> None:
        self._executor = ProcessPoolExecutor(
            1, mp_context=multiprocessing.get_context("spawn"), initializer=_load, initargs=(self.pipeline,)
        )
        # Stops the worker on close(), when this object is collected, and at the exit of a process that
        # multiprocessing started (a worker of nlp.batch.pool.AnalyzerPool), which joins its children before the
        # interpreter's exit hooks would stop this pool: first of all (multiprocessing's queues close theirs at
        # priority 10), or the worker never hears that it should stop and the join waits forever.
        self._stop = util.Finalize(
            self, self._executor.shutdown, kwargs={"cancel_futures": True}, exitpriority=100
        )

    def _restart(self) -> None:
        self._stop()
        self._start()

    def submit(self, texts: Sequence[str]) -> Future[list[list[EntitySpan]]]:
        """Start finding the entities of ``texts``; :meth:`wait` gives them."""
        try:
            return self._executor.submit(_recognise, list(texts))
        except BrokenProcessPool:  # the worker died while idle
            self._restart()
            return self._executor.submit(_recognise, list(texts))

    def wait(self, pending: Future[list[list[EntitySpan]]], texts: Sequence[str]) -> list[list[EntitySpan]]:
        """The entities of each of ``texts`` (as given to the :meth:`submit` that returned ``pending``).

        A worker that died on this batch is replaced and the batch read again, once.

        Raises:
            BrokenProcessPool: the new worker died on it too.
            OSError: the worker could not load the pipeline (as :func:`load_spacy`).
        """
        try:
            return pending.result()
        except BrokenProcessPool:
            self._restart()
            return self._executor.submit(_recognise, list(texts)).result()

    def close(self) -> None:
        """Stop the worker process."""
        self._stop()
