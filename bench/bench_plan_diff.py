"""How long the plan's pure core takes on a large project: 1,000 subjects x 2 sessions x 10 scans
= 20,000 scans, every scan with managed fields, a few per cent drifted on the server.

Side by side, in one run: xsync's keyed diff (and the whole build_plan: diff + fingerprint),
and a generic structural diff of the same two trees with DeepDiff — what a tool that compares
documents instead of keyed objects would pay.

    python bench/bench_plan_diff.py [--subjects 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from deepdiff import DeepDiff

from xsync.model.desired import DesiredScan, DesiredSession, DesiredState, DesiredSubject, FieldValue
from xsync.model.frozen import FrozenMap
from xsync.model.remote import RemoteResource, RemoteScan, RemoteSession, RemoteState, RemoteSubject
from xsync.plan.build import build_plan
from xsync.plan.diff import diff
from xsync.render.text import render_text

TYPES = ["T1w", "T2w", "rfMRI", "tfMRI", "dMRI", "SpinEcho", "FieldMap", "BIAS", "Localizer", "AAHScout"]


def make_states(n_subjects: int, sessions: int = 2, scans: int = 10) -> tuple[DesiredState, RemoteState]:
    desired_subjects = {}
    remote_subjects = {}
    for i in range(n_subjects):
        label = f"sub{i:05d}"
        d_sessions, r_sessions = {}, {}
        for j in range(sessions):
            s_label = f"{label}_v{j + 1}"
            d_scans, r_scans = {}, {}
            for k in range(1, scans + 1):
                scan_id = str(k)
                t = TYPES[(k - 1) % len(TYPES)]
                drift = (i * sessions * scans + j * scans + k) % 37 == 0  # ~3 % of scans drifted
                d_scans[scan_id] = DesiredScan(
                    scan_id, FrozenMap({"type": FieldValue(t), "quality": FieldValue("usable")})
                )
                r_scans[scan_id] = RemoteScan(
                    scan_id,
                    "xnat:mrScanData",
                    FrozenMap({"type": t.lower() if drift else t, "quality": "usable", "UID": f"1.2.{i}.{j}.{k}"}),
                    FrozenMap({"DICOM": RemoteResource("DICOM", 176, 176 * 200_000, "DICOM")}),
                )
            d_sessions[s_label] = DesiredSession(
                s_label, "xnat:mrSessionData", FrozenMap({"scanner": FieldValue("SIEMENS")}), scans=FrozenMap(d_scans)
            )
            r_sessions[s_label] = RemoteSession(
                f"XNAT_E{i * sessions + j:05d}",
                s_label,
                "xnat:mrSessionData",
                f"XNAT_S{i:05d}",
                FrozenMap({"scanner": "SIEMENS", "UID": f"1.2.{i}.{j}"}),
                scans=FrozenMap(r_scans),
            )
        desired_subjects[label] = DesiredSubject(
            label, FrozenMap({"gender": FieldValue("female"), "age": FieldValue(str(20 + i % 50))}),
            sessions=FrozenMap(d_sessions),
        )  # fmt: skip
        remote_subjects[label] = RemoteSubject(
            f"XNAT_S{i:05d}", label, FrozenMap({"gender": "female", "age": str(20 + i % 50)}),
            sessions=FrozenMap(r_sessions),
        )  # fmt: skip
    return DesiredState("BENCH", FrozenMap(desired_subjects)), RemoteState(
        "http://bench", "BENCH", FrozenMap(remote_subjects)
    )


def as_documents(desired: DesiredState, remote: RemoteState) -> tuple[dict, dict]:  # type: ignore[type-arg]
    want = {
        s.label: {
            "fields": {k: v.value for k, v in s.fields.items()},
            "sessions": {
                e.label: {
                    "fields": {k: v.value for k, v in e.fields.items()},
                    "scans": {c.id: {k: v.value for k, v in c.fields.items()} for c in e.scans.values()},
                }
                for e in s.sessions.values()
            },
        }
        for s in desired.subjects.values()
    }
    have = {
        s.label: {
            "fields": dict(s.fields),
            "sessions": {
                e.label: {
                    "fields": {k: v for k, v in e.fields.items() if k != "UID"},
                    "scans": {
                        c.id: {k: v for k, v in c.fields.items() if k in ("type", "quality")} for c in e.scans.values()
                    },
                }
                for e in s.sessions.values()
            },
        }
        for s in remote.subjects.values()
    }
    return want, have


def best_of(repeat: int, fn: Callable[[], object]) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subjects", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    desired, remote = make_states(args.subjects)
    n_scans = sum(len(e.scans) for s in desired.subjects.values() for e in s.sessions.values())

    t_diff, result = best_of(args.repeat, lambda: diff(desired, remote))
    t_plan, plan = best_of(
        args.repeat, lambda: build_plan(desired, remote, spec_digest="sha256:x", inventory_digest="sha256:y")
    )
    t_text, _ = best_of(args.repeat, lambda: render_text(plan))  # type: ignore[arg-type]
    want, have = as_documents(desired, remote)
    t_deep, deep = best_of(1, lambda: DeepDiff(have, want, verbose_level=2))

    changes = len(result.operations)  # type: ignore[union-attr]
    deep_changes = len(deep.get("values_changed", {}))  # type: ignore[union-attr]
    print(f"{n_scans:,} scans, {changes} scan/field updates planned (DeepDiff found {deep_changes} changed values)")
    print()
    print("| step | seconds (best of runs) | scans/s |")
    print("|---|---:|---:|")
    for name, t in [
        ("xsync keyed diff", t_diff),
        ("xsync build_plan (diff + fingerprint)", t_plan),
        ("render text plan", t_text),
        ("DeepDiff of the same two trees (baseline)", t_deep),
    ]:
        print(f"| {name} | {t:.3f} | {n_scans / t:,.0f} |")
    print()
    print(f"keyed diff is {t_deep / t_diff:.1f}x faster than the generic structural diff")


if __name__ == "__main__":
    main()
