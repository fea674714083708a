"""How long `load_spec` takes on a large site: 2,000 sessions split over 1,000 files.

Not a test. Generates the spec in a temporary folder (one file per subject, two sessions each,
eight scans per session, plus rules and defaults in the main file) and loads it, timing the
libyaml-composed path (the default when ruamel.yaml.clib is installed) side by side with
ruamel's pure-Python parser in the same run.

    python bench/bench_spec_load.py [--subjects 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from xsync.spec import load_spec
from xsync.spec.yamlsrc import HAVE_LIBYAML

MAIN = """\
# yaml-language-server: $schema=../schemas/xsync.schema.json
version: 1
server: https://xnat.example.org
project: BENCH
dicom:
  roots: [dicom/]
upload: {method: rest, dest: archive}
defaults:
  subject: {fields: {site: BENCH}}
  session: {xsi_type: mr, scanner: SIEMENS Prisma}
rules:
  scans:
    - match: {series_description: "T1w_MPR*"}
      set: {type: T1w}
    - match: {series_description: "T2w_SPC*"}
      set: {type: T2w}
    - match: {series_description: "/^rfMRI_REST[0-9]_(AP|PA)$/"}
      set: {type: rfMRI}
    - match: {series_description: "tfMRI_*", image_type: ORIGINAL}
      set: {type: tfMRI}
include: ["subjects/*.yaml"]
"""

SCANS = [
    "T1w_MPR1",
    "T2w_SPC1",
    "rfMRI_REST1_AP",
    "rfMRI_REST1_PA",
    "tfMRI_WM_AP",
    "tfMRI_WM_PA",
    "dMRI_dir98_AP",
    "SpinEchoFieldMap_AP",
]


def subject_file(i: int) -> str:
    label = f"S{i:05d}"
    lines = [
        "subjects:",
        f"  {label}:",
        f"    gender: {'female' if i % 2 else 'male'}",
        f"    age: {20 + i % 40}",
        "    handedness: right",
        f"    fields: {{cohort: C{i % 7}, visit_count: {i % 3 + 1}}}",
        "    sessions:",
    ]
    for s, kind in enumerate(("3T", "7T")):
        lines += [
            f"      {label}_{kind}:",
            f"        date: 2024-{1 + s:02d}-{1 + i % 28:02d}",
            f"        fieldStrength: {kind}",
            f'        dicom: {{study_uid: "2.25.{1000 + i}{s}1234567890"}}',
            f"        note: Session {s + 1} of subject {label}, acquired under protocol HCP",
            "        scans:",
        ]
        for n, description in enumerate(SCANS, start=1):
            lines.append(f'          "{n}": {{series_description: {description}, quality: usable}}')
    return "\n".join(lines) + "\n"


def generate(root: Path, subjects: int) -> Path:
    (root / "subjects").mkdir(parents=True)
    (root / "xsync.yaml").write_text(MAIN)
    for i in range(subjects):
        (root / "subjects" / f"S{i:05d}.yaml").write_text(subject_file(i))
    return root / "xsync.yaml"


def timed(spec: Path, repeat: int, pure_python: bool) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        loaded = load_spec(spec, pure_python=pure_python)
        times.append(time.perf_counter() - start)
    assert loaded.counts()["sessions"] == 2 * len(loaded.subjects)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        spec = generate(Path(tmp), args.subjects)
        files = 1 + args.subjects
        lines = sum(len(p.read_text().splitlines()) for p in Path(tmp).rglob("*.yaml"))
        counts = load_spec(spec).counts()
        print(
            f"spec: {files} files, {lines} lines, {counts['subjects']} subjects, "
            f"{counts['sessions']} sessions, {counts['scans']} scans (median of {args.repeat})"
        )
        print("| parser | load time (s) | ratio |")
        print("|---|---|---|")
        pure = timed(spec, args.repeat, pure_python=True)
        if HAVE_LIBYAML:
            fast = timed(spec, args.repeat, pure_python=False)
            print(f"| libyaml (ruamel.yaml.clib), the default | {fast:.2f} | 1.00 |")
            print(f"| pure-Python ruamel | {pure:.2f} | {pure / fast:.2f} |")
        else:
            print(f"| pure-Python ruamel (ruamel.yaml.clib not installed) | {pure:.2f} | - |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
