"""Real servers on loopback for the tests: the API as deployed (``reviewpulse serve``) and any subprocess
that answers HTTP once it is ready. The ``server`` fixture in ``conftest.py`` is built from these."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent
#: This checkout: its code, not whichever checkout the environment was installed from, is what the
#: served processes run (``PYTHONPATH`` comes before an editable install).
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port nothing listens on at the moment (on 127.0.0.1)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(env: dict, *args: str) -> str:
    """Run ``reviewpulse ARGS`` and return its stdout (asserting it succeeded)."""
    done = subprocess.run(
        [str(BIN / "reviewpulse"), *args], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@contextmanager
def running(
    command: Sequence[str], ready_url: str, log_path: Path, env: dict | None = None, timeout: float = 180
) -> Iterator[subprocess.Popen]:
    """Start ``command``, wait until ``ready_url`` answers 200, yield the process, and stop it at the end.

    Raises:
        RuntimeError: the process exited or was not ready within ``timeout`` seconds (with its log).
    """
    with open(log_path, "w") as log:
        proc = subprocess.Popen(list(command), env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.time() + timeout
            while True:
                try:
                    if httpx.get(ready_url, timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.time() > deadline:
                    state = "exited" if proc.poll() is not None else "not ready"
                    raise RuntimeError(f"{command[0]} {state}:\n" + log_path.read_text()[-5000:])
                time.sleep(0.5)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def store_env(data: Path, database_url: str | None = None) -> dict[str, str]:
    """The environment of a ``reviewpulse`` process over ``database_url``, or else the SQLite store in
    ``data``, running this checkout's code, offline."""
    env = {**os.environ, "REVIEWPULSE_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}  # fmt: skip
    env.pop("REVIEWPULSE_DATABASE_URL", None)
    if database_url:
        env["REVIEWPULSE_DATABASE_URL"] = database_url
    return env


@contextmanager
def api_server(
    data: Path, database_url: str | None = None, settings: dict[str, str] | None = None, workers: int = 1
) -> Iterator[dict]:
    """``reviewpulse serve --workers workers`` on a free loopback port over ``database_url``, or else the
    SQLite store in ``data`` (new or not; ``data`` also holds the server's log), with extra ``REVIEWPULSE_*``
    ``settings``.

    Yields ``{"base", "headers" (a new admin key), "env", "data", "process"}``.
    """
    env = store_env(data, database_url) | {"REVIEWPULSE_RATE_LIMIT_PER_MINUTE": "100000"} | (settings or {})
    admin = cli(env, "apikey", "create", "--role", "admin").strip().splitlines()[-1]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [str(BIN / "reviewpulse"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(workers)]
    with running(command, f"{base}/readyz", data / "server.log", env=env) as process:
        yield {"base": base, "headers": {"X-API-Key": admin}, "env": env, "data": data, "process": process}


@contextmanager
def action_server(api_url: str, api_key: str, log_path: Path) -> Iterator[str]:
    """The chat assistant's action server (``python -m rasa_sdk --actions chatbot.actions``) on a free
    loopback port, calling the API at ``api_url``. Yields its base URL (webhook at ``/webhook``)."""
    port = free_port()
    env = {**os.environ, "SANIC_HOST": "127.0.0.1", "REVIEWPULSE_API_URL": api_url,
           "REVIEWPULSE_API_KEY": api_key}  # fmt: skip
    command = [sys.executable, "-m", "rasa_sdk", "--actions", "chatbot.actions", "--port", str(port)]
    base = f"http://127.0.0.1:{port}"
    with running(command, f"{base}/health", log_path, env=env, timeout=120):
        yield base


class TcpProxy:
    """A TCP proxy on a free loopback port to ``target`` (host, port), which can be cut off and restored:
    a database "restarted under the service" without touching the real server.

    ``stop()`` closes the listener and every proxied connection; ``start()`` listens again on the same
    port. Use as a context manager (started on entry, stopped on exit).
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self.target, self.port = target, free_port()
        self._listener: socket.socket | None = None
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()

    def __enter__(self) -> TcpProxy:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        with self._lock:
            sockets, self._open = self._open, []
            if self._listener is not None:
                sockets.append(self._listener)
                self._listener = None
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._open += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)
