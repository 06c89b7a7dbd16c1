"""Peak memory of ``reviewpulse score`` (full analysis, JSONL out, the default one-pass sentiment model) on
2,000 and on 20,000 clothing reviews: streaming in chunks keeps it flat whatever the dump size (goal: at most
1.2 GB, and the same for both).

Run on demand: ``make bench`` (prints peak RSS from GNU time; several minutes for the 20,000 reviews).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.bench.bench_scoring import _student_version
from tests.conftest import needs_datasets

BIN = Path(sys.executable).parent


@needs_datasets
def test_peak_memory_is_flat(tmp_path):
    if not Path("/usr/bin/time").exists():
        pytest.fail("GNU time (/usr/bin/time) is not installed: apt-get install time", pytrace=False)
    import pandas as pd

    from nlp.training.datasets import clothing_reviews

    reviews = clothing_reviews()[["id", "text"]]
    peaks = {}
    for n in (2_000, 20_000):
        rows = pd.concat([reviews] * (n // len(reviews) + 1)).head(n)
        source = tmp_path / f"reviews-{n}.csv"
        rows.to_csv(source, index=False)
        out = tmp_path / f"scored-{n}.jsonl"
        done = subprocess.run(
            ["/usr/bin/time", "-f", "%M", str(BIN / "reviewpulse"), "score", str(source), "--text-col", "text",
             "--id-col", "id", "--out", str(out), "--quiet", "--model-version", _student_version()],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        peaks[n] = int(done.stderr.strip().splitlines()[-1]) / 1024
        assert sum(1 for _ in out.open()) == n
    print("\npeak RSS of reviewpulse score (full analysis):")
    for n, mb in peaks.items():
        print(f"  {n:>6} reviews  {mb:7.0f} MB")
    print(f"  20,000 / 2,000 = {peaks[20_000] / peaks[2_000]:.2f}")
