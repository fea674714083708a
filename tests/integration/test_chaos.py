"""A short chaos run (the 50-session one is bench/bench_chaos.py): sessions applied by the real
`xsync apply` while the emulator injects latency, 503s, 429s, dropped connections (also after
handling the request), slow uploads and a restart mid-run; apply is run again after a failure.
Afterwards no instance is on the server twice, none is missing, and every field holds the
spec's value."""

from __future__ import annotations

from pathlib import Path

from xsync.testing.chaos import run_chaos


def test_nothing_is_lost_or_duplicated_under_faults_and_a_restart(tmp_path: Path) -> None:
    result = run_chaos(tmp_path, subjects=2, fault_rate=0.08, seed=11, restart_after=30)
    assert result.restarts == 1 and result.faults > 0  # the chaos happened
    assert (result.duplicates, result.missing, result.fields_wrong) == (0, 0, 0), result.table()
    assert result.runs <= 4, result.table()
