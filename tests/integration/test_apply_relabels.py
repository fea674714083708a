"""Declared relabels (`moved:`) end to end against the emulator (strict): one rename planned and
applied, the spec converges with the declaration left in it, and nothing under the renamed object
changes; the three conflicts are plan errors."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest

from xsync.cli.main import main
from xsync.emulator import Emulator, EmulatorConfig

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def ccf(tmp_path: Path, env: dict[str, str]) -> Iterator[tuple[Emulator, Path]]:
    """The CCF example, applied: sub1/session1 on the server with its scan and files."""
    shutil.copytree(REPO / "examples" / "ccf_test", tmp_path / "ccf_test", ignore=shutil.ignore_patterns(".xsync"))
    spec = tmp_path / "ccf_test" / "xsync.yaml"
    with Emulator(EmulatorConfig(projects=("CCF_TEST",), strict=True)) as emu:
        assert run("apply", "--spec", str(spec), "--server", emu.url, "--auto-approve") == 0
        yield emu, spec


def run(*args: str) -> int:
    return main(list(args))


def edit(spec: Path, *pairs: tuple[str, str], moved: str = "") -> None:
    text = spec.read_text()
    for old, new in pairs:
        assert old in text
        text = text.replace(old, new)
    spec.write_text(text + (f"moved:\n{moved}" if moved else ""))


def snapshot(emu: Emulator, session_id: str) -> dict[str, object]:
    """What lies under a session: its scans with their series UID, and every file's name, SOP
    Instance UID (read from the bytes on disk) and size."""
    e = emu.store.experiments[session_id]
    scans = {}
    for scan_id, scan in e.scans.items():
        files = {}
        for label, resource in scan.resources.items():
            for name, entry in resource.files.items():
                uid = pydicom.dcmread(entry.path, stop_before_pixels=True).SOPInstanceUID
                files[f"{label}/{name}"] = (str(uid), entry.size)
        scans[scan_id] = (scan.fields.get("UID"), files)
    return {"id": e.id, "subject": e.subject_id, "scans": scans}


def plan_json(spec: Path, emu: Emulator, capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    import json

    capsys.readouterr()
    assert run("plan", "--spec", str(spec), "--server", emu.url, "--json") in (0, 2)
    ops: list[dict[str, object]] = json.loads(capsys.readouterr().out)["operations"]
    return ops


def test_a_session_relabel_plans_one_rename_applies_and_leaves_scans_and_files(
    ccf: tuple[Emulator, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    emu, spec = ccf
    session = next(e for e in emu.store.experiments.values() if e.label == "session1")
    before = snapshot(emu, session.id)
    assert before["scans"] and all(files for _, files in before["scans"].values())  # type: ignore[attr-defined]
    edit(spec, ("      session1:", "      mr1:"), moved="  - {from: sub1/session1, to: sub1/mr1}\n")

    ops = plan_json(spec, emu, capsys)
    assert ops == [
        {
            "address": "CCF_TEST/sub1/mr1",
            "reason": "declared in moved",
            "kind": "rename_session",
            "session_id": session.id,
            "from_label": "session1",
        }
    ]
    assert run("plan", "--spec", str(spec), "--server", emu.url) == 0
    out = capsys.readouterr().out
    assert f"  ~ session mr1 ({session.id}) renamed from session1\n" in out
    assert "Plan: 0 to create, 0 to import, 1 to change, 0 to delete." in out

    assert run("apply", "--spec", str(spec), "--server", emu.url, "--auto-approve") == 0
    assert "done    rename session CCF_TEST/sub1/mr1 (renamed from session1)" in capsys.readouterr().out
    assert run("plan", "--spec", str(spec), "--server", emu.url, "--detailed-exitcode") == 0  # moved: still there
    assert [e.label for e in emu.store.experiments.values()] == ["mr1"]
    assert snapshot(emu, session.id) == before
    # the files moved with the session's folder, as XNAT's Rename moves them
    paths = [f.path for sc in session.scans.values() for r in sc.resources.values() for f in r.files.values()]
    assert paths and all("/arc001/mr1/" in p.as_posix() and p.is_file() for p in paths)


def test_a_subject_relabel_plans_one_rename_applies_and_converges(
    ccf: tuple[Emulator, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    emu, spec = ccf
    subject = next(iter(emu.store.subjects.values()))
    session = next(iter(emu.store.experiments.values()))
    before = snapshot(emu, session.id)
    edit(spec, ("  sub1:", "  hcp001:"), moved="  - {from: sub1, to: hcp001}\n")

    ops = plan_json(spec, emu, capsys)
    assert [(o["kind"], o["address"], o["from_label"]) for o in ops] == [("rename_subject", "CCF_TEST/hcp001", "sub1")]
    assert run("apply", "--spec", str(spec), "--server", emu.url, "--auto-approve") == 0
    assert run("plan", "--spec", str(spec), "--server", emu.url, "--detailed-exitcode") == 0
    assert [(s.id, s.label) for s in emu.store.subjects.values()] == [(subject.id, "hcp001")]
    assert snapshot(emu, session.id) == before


def test_a_rename_with_a_field_change_renames_first_then_writes_the_field(
    ccf: tuple[Emulator, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    emu, spec = ccf
    edit(
        spec,
        ("  sub1:", "  hcp001:"),
        ("      session1:", "      mr1:"),
        ("scanner: SIEMENS", "scanner: Prisma"),
        ("gender: female", "gender: male"),
        moved="  - {from: hcp001/session1, to: hcp001/mr1}\n  - {from: sub1, to: hcp001}\n",
    )
    ops = plan_json(spec, emu, capsys)
    assert [(o["kind"], o["address"]) for o in ops] == [
        ("rename_subject", "CCF_TEST/hcp001"),  # subjects first, whatever order moved: lists them
        ("rename_session", "CCF_TEST/hcp001/mr1"),
        ("update_subject", "CCF_TEST/hcp001"),
        ("update_session", "CCF_TEST/hcp001/mr1"),
    ]
    assert run("apply", "--spec", str(spec), "--server", emu.url, "--auto-approve") == 0
    assert run("plan", "--spec", str(spec), "--server", emu.url, "--detailed-exitcode") == 0
    session = next(iter(emu.store.experiments.values()))
    assert session.label == "mr1" and session.fields["scanner"] == "Prisma"


def test_a_saved_plan_with_a_rename_applies_and_goes_stale_once_done(
    ccf: tuple[Emulator, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    emu, spec = ccf
    edit(spec, ("      session1:", "      mr1:"), moved="  - {from: sub1/session1, to: sub1/mr1}\n")
    saved = spec.parent / "plan.json"
    assert run("plan", "--spec", str(spec), "--server", emu.url, "-o", str(saved)) == 0
    assert run("apply", str(saved), "--spec", str(spec), "--server", emu.url) == 0
    capsys.readouterr()
    assert run("apply", str(saved), "--spec", str(spec), "--server", emu.url) == 5  # already applied
    assert "on the server: moved changed" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("server", "said"),
    [
        ("taken", "CCF_TEST/sub1/mr1: cannot rename session session1 (XNAT_E00001) to mr1: the server already has "
                  "session mr1 (XNAT_E00002); the target label is taken"),
        ("neither", "CCF_TEST/sub1/mr1: neither session session1 (moved from) nor session mr1 (moved to) is on "
                    "the server: there is nothing to rename"),
    ],
)  # fmt: skip
def test_session_move_conflicts_are_plan_errors(
    ccf: tuple[Emulator, Path], capsys: pytest.CaptureFixture[str], server: str, said: str
) -> None:
    emu, spec = ccf
    if server == "taken":
        emu.seed.add_session("CCF_TEST", "sub1", "mr1")
    else:
        emu.store.remove_experiment(next(iter(emu.store.experiments)))
    edit(spec, ("      session1:", "      mr1:"), moved="  - {from: sub1/session1, to: sub1/mr1}\n")
    capsys.readouterr()
    assert run("plan", "--spec", str(spec), "--server", emu.url) == 1
    err = capsys.readouterr().err
    assert "error: the plan has 1 conflict with the server" in err and said in err


def test_a_subject_move_whose_target_is_taken_is_a_plan_error(
    ccf: tuple[Emulator, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    emu, spec = ccf
    emu.seed.add_subject("CCF_TEST", "HCP001")
    edit(spec, ("  sub1:", "  hcp001:"), moved="  - {from: sub1, to: hcp001}\n")
    capsys.readouterr()
    assert run("plan", "--spec", str(spec), "--server", emu.url) == 1
    assert (
        "CCF_TEST/hcp001: cannot rename subject sub1 (XNAT_S00001) to hcp001: the server already has subject "
        "HCP001 (XNAT_S00002); the target label is taken"
    ) in capsys.readouterr().err
