"""Named entities, found in a worker process of their own while the analysis parses.

spaCy's entity recogniser is the largest single cost of the full analysis, and it holds Python's GIL for much
of its work, so a thread beside the parse barely overlaps with it. It needs only the tokens (it has a
token-to-vector layer of its own), so a second process can read the prepared texts while this one parses
them: the two cores then share the work. The entities are the same as after the parse, to the character
(``tests/integration/test_entities.py``).

The worker is a plain ``python -m nlp.analysis.entities`` subprocess that reads requests on its standard input
and answers on its standard output, not a :mod:`multiprocessing` child: those start by importing the caller's
main module again, which runs a script's top level a second time unless it is guarded by
``if __name__ == "__main__"``, and the analyzer must work from any script, notebook or server.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import subprocess
import sys
import threading
import weakref
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from nlp.artifacts.paths import nlp_settings

#: One entity: ``(start, end, label)``, character offsets into the text it was found in.
EntitySpan = tuple[int, int, str]


class EntityWorkerError(RuntimeError):
    """The entity recogniser's worker process failed on a request, or ended (:class:`EntityWorkerEnded`)."""


class EntityWorkerEnded(EntityWorkerError):
    """The worker process ended before it answered."""


def _send(stream: IO[bytes], message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(len(data).to_bytes(8, "little") + data)
    stream.flush()


def _receive(stream: IO[bytes]) -> Any:
    """The next message on ``stream``; None at its end."""
    header = stream.read(8)
    if len(header) < 8:
        return None
    return pickle.loads(stream.read(int.from_bytes(header, "little")))


@dataclass
class EntityRequest:
    """Texts sent to the worker (:meth:`EntityRecogniser.submit`) and the future of their entities."""

    texts: list[str]
    future: Future[list[list[EntitySpan]]] = field(default_factory=Future)


@dataclass
class _Worker:
    """One worker process and the requests it has not answered yet, oldest first."""

    process: subprocess.Popen
    pending: deque[Future] = field(default_factory=deque)
    ended: bool = False


class EntityRecogniser:
    """The spaCy pipeline's entity recogniser over prepared texts, in one worker process.

    The worker loads the pipeline while the caller goes on; the first :meth:`wait` waits for it. It reads
    requests in order, ends when this object is closed or collected or when the process that started it ends
    (even killed: its standard input closes), and is replaced when it dies.

    Example::

        recogniser = EntityRecogniser()
        request = recogniser.submit(["I bought it at Anthropologie in May."])
        recogniser.wait(request)   # [[(15, 28, "ORG"), (32, 35, "DATE")]]

    Args:
        pipeline: the installed spaCy pipeline whose ``ner`` component to run (default
            ``REVIEWPULSE_SPACY_MODEL``, as :func:`nlp.analysis.text.load_spacy`).
    """

    def __init__(self, pipeline: str | None = None) -> None:
        self.pipeline = pipeline or nlp_settings().spacy_model
        self._lock = threading.Lock()
        self._start()

    def _start(self) -> None:
        # the worker imports this package from where this process found it, whatever its working directory
        root = str(Path(__file__).resolve().parents[2])
        path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
        process = subprocess.Popen(
            [sys.executable, "-m", "nlp.analysis.entities", self.pipeline],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": path},
        )  # fmt: skip
        self._worker = _Worker(process)
        threading.Thread(target=self._read, args=(self._worker,), daemon=True).start()
        self._stop = weakref.finalize(self, _stop, process)

    def _read(self, worker: _Worker) -> None:
        """Hand each answer of ``worker`` to the oldest request waiting for one; fail the rest at its end."""
        assert worker.process.stdout is not None
        while (answer := _receive(worker.process.stdout)) is not None:
            kind, value = answer
            future = worker.pending.popleft()
            if kind == "ok":
                future.set_result(value)
            else:
                future.set_exception(EntityWorkerError(value))
        with self._lock:
            worker.ended = True
            code = worker.process.wait()
            while worker.pending:
                error = EntityWorkerEnded(f"the entity recogniser's process ended (exit code {code})")
                worker.pending.popleft().set_exception(error)

    def submit(self, texts: Sequence[str]) -> EntityRequest:
        """Start finding the entities of ``texts``; :meth:`wait` gives them."""
        request = EntityRequest(list(texts))
        with self._lock:
            if self._worker.ended:  # it died since the last request
                self._stop()
                self._start()
            self._worker.pending.append(request.future)
            try:
                assert self._worker.process.stdin is not None
                _send(self._worker.process.stdin, request.texts)
            except OSError:  # it is dying: the reader fails the request when its output ends
                pass
        return request

    def wait(self, request: EntityRequest) -> list[list[EntitySpan]]:
        """The entities of each of the request's texts, a list of :data:`EntitySpan` per text. A worker that
        died on this request is replaced and the request sent again, once.

        Raises:
            EntityWorkerEnded: the new worker ended before it answered too (e.g. it could not load the
                pipeline; its error is on standard error).
            EntityWorkerError: the request failed in the worker.
        """
        try:
            return request.future.result()
        except EntityWorkerEnded:
            return self.submit(request.texts).future.result()

    def close(self) -> None:
        """Stop the worker process."""
        self._stop()


def _stop(process: subprocess.Popen) -> None:
    """End ``process`` by closing its input; kill it if it has not ended 10 s later."""
    if process.stdin is not None:
        with contextlib.suppress(OSError):  # a dead worker's input may be broken already
            process.stdin.close()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _serve(pipeline: str) -> None:
    """The worker: answer each list of texts on standard input with their entities, until the input ends.

    spaCy is imported after torch is ruled out: thinc imports torch when it is installed, which the pipeline
    never uses and which would take much of this process's memory (``tests/integration/test_entities.py`` checks
    that it stays out)."""
    # Ctrl-C reaches the whole process group: the analysing process decides, and ends this one by closing its input
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # whatever a library prints must not corrupt the answers
    sys.modules["torch"] = None  # type: ignore[assignment]  # `import torch` raises ImportError, as thinc expects
    from threadpoolctl import threadpool_limits

    from nlp.analysis.text import ENTITY_RECOGNISER, load_spacy

    threadpool_limits(1, user_api="blas")  # one core's worth: the analysing process has the other
    nlp = load_spacy(pipeline)
    others = [name for name in nlp.pipe_names if name != ENTITY_RECOGNISER]
    try:
        while (texts := _receive(requests)) is not None:
            try:
                docs = nlp.pipe(texts, batch_size=max(1, len(texts)), disable=others)
                found = [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in docs]
            except Exception as exc:  # the request fails, the worker lives on
                _send(answers, ("error", f"{type(exc).__name__}: {exc}"))
            else:
                _send(answers, ("ok", found))
    except BrokenPipeError:  # the analysing process was killed: nothing is waiting for an answer
        os._exit(0)


if __name__ == "__main__":
    _serve(sys.argv[1])
