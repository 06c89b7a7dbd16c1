"""Peak memory of ``reviewpulse score`` (full analysis, JSONL out, the default one-pass sentiment model) on
2,000 and on 20,000 clothing reviews: streaming in chunks keeps it flat whatever the dump size (goal: at most
1.2 GB, and the same for both).

Run on demand: ``make bench`` (prints the peak of the resident memory summed over the command's processes, the
entity recogniser's worker included; several minutes for the 20,000 reviews).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import psutil

from tests.bench.bench_scoring import _student_version
from tests.conftest import needs_datasets

BIN = Path(sys.executable).parent


@needs_datasets
def test_peak_memory_is_flat(tmp_path):
    import pandas as pd

    from nlp.training.datasets import clothing_reviews

    reviews = clothing_reviews()[["id", "text"]]
    peaks = {}
    for n in (2_000, 20_000):
        rows = pd.concat([reviews] * (n // len(reviews) + 1)).head(n)
        source = tmp_path / f"reviews-{n}.csv"
        rows.to_csv(source, index=False)
        out = tmp_path / f"scored-{n}.jsonl"
        command = [str(BIN / "reviewpulse"), "score", str(source), "--text-col", "text", "--id-col", "id",
                   "--out", str(out), "--quiet", "--model-version", _student_version()]  # fmt: skip
        peaks[n] = _peak_rss_mb(command)
        assert sum(1 for _ in out.open()) == n
    print("\npeak RSS of reviewpulse score (full analysis):")
    for n, mb in peaks.items():
        print(f"  {n:>6} reviews  {mb:7.0f} MB")
    print(f"  20,000 / 2,000 = {peaks[20_000] / peaks[2_000]:.2f}")


def _peak_rss_mb(command: list[str]) -> float:
    """Run ``command``; the peak of its processes' summed resident memory, in MB, sampled every 50 ms."""
    process = subprocess.Popen(command)
    root, peak = psutil.Process(process.pid), 0
    while process.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.NoSuchProcess:  # a process ended between listing and reading it
            pass
        time.sleep(0.05)
    assert process.returncode == 0, f"{command} exited with {process.returncode}"
    return peak / 2**20
