"""`xsync apply` end to end against the emulator (strict: XNAT 1.8's refusals): the seed's
CCF_TEST example and a realistic site converge; saved plans apply exactly or are refused; writes
XNAT acknowledges and drops are errors; a project lock keeps a second run out."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from xsync.apply.lock import ProjectLock
from xsync.cli.main import main
from xsync.emulator import Emulator, EmulatorConfig
from xsync.testing.sites import SiteShape, write_site
from xsync.xnat.client import XnatClient
from xsync.xnat.settings import ConnectionSettings, Credentials

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def ccf(tmp_path: Path, env: dict[str, str]) -> Iterator[tuple[Emulator, Path]]:
    shutil.copytree(REPO / "examples" / "ccf_test", tmp_path / "ccf_test", ignore=shutil.ignore_patterns(".xsync"))
    with Emulator(EmulatorConfig(projects=("CCF_TEST",), strict=True)) as emu:
        yield emu, tmp_path / "ccf_test" / "xsync.yaml"


def run(*args: str) -> int:
    return main(list(args))


def test_the_ccf_example_applies_and_converges(ccf: tuple[Emulator, Path], capsys: pytest.CaptureFixture[str]) -> None:
    emu, spec = ccf
    assert run("apply", "--spec", str(spec), "--server", emu.url, "--auto-approve") == 0
    out = capsys.readouterr().out
    assert "  + subject sub1\n" in out  # the plan is shown first
    assert "done    create subject CCF_TEST/sub1\n" in out
    assert "done    import session CCF_TEST/sub1/session1 (1 series, 3 instances on the server" in out
    assert "done    update scan CCF_TEST/sub1/session1/scan:1\n" in out
    assert "Apply complete. 4 operations done and verified, 0 failed, 0 not run, 0 skipped" in out
    assert run("plan", "--spec", str(spec), "--server", emu.url, "--detailed-exitcode") == 0
    assert run("apply", "--spec", str(spec), "--server", emu.url, "--auto-approve") == 0
    assert capsys.readouterr().out.splitlines()[-1] == "No changes. The project matches the spec."


def test_a_realistic_site_applies_and_converges(
    tmp_path: Path, env: dict[str, str], nrg_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write_site(tmp_path / "site", "REAL", SiteShape(nrg_sample=nrg_root / "sample-mr"))
    with Emulator(EmulatorConfig(projects=("REAL",), strict=True)) as emu:
        assert run("apply", "--spec", str(spec), "--server", emu.url, "--auto-approve", "--parallelism", "6") == 0
        out = capsys.readouterr().out
        assert "Apply complete. 97 operations done and verified, 0 failed" in out
        assert run("plan", "--spec", str(spec), "--server", emu.url, "--detailed-exitcode") == 0
        # NRG's sample, sent with rename=true, carries the archive names XNAT's own test expects
        session = next(e for e in emu.store.experiments.values() if e.label == "nrg01_mr1")
        names = {
            (sid, name) for sid, scan in session.scans.items() for r in scan.resources.values() for name in r.files
        }
        xnat = json.loads((nrg_root / "rest-tests" / "filenames" / "sample1.json").read_text())
        expected = {(s["scanId"], n) for s in xnat for names_ in s["resources"].values() for n in names_}
        assert len(names) == 9 and names <= expected
    for phi in ("Sample Patient", "Synthetic^", "PID-"):
        assert phi not in out


def test_a_saved_plan_applies_exactly(ccf: tuple[Emulator, Path]) -> None:
    emu, spec = ccf
    saved = spec.parent / "plan.json"
    assert run("plan", "--spec", str(spec), "--server", emu.url, "-o", str(saved)) == 0
    assert run("apply", str(saved), "--spec", str(spec), "--server", emu.url) == 0  # reviewed: no question
    assert run("plan", "--spec", str(spec), "--server", emu.url, "--detailed-exitcode") == 0


def test_a_stale_saved_plan_is_refused(ccf: tuple[Emulator, Path], capsys: pytest.CaptureFixture[str]) -> None:
    emu, spec = ccf
    saved = spec.parent / "plan.json"
    assert run("plan", "--spec", str(spec), "--server", emu.url, "-o", str(saved)) == 0
    emu.seed.add_subject("CCF_TEST", "sub1", fields={"gender": "male"})  # the server moved
    capsys.readouterr()
    assert run("apply", str(saved), "--spec", str(spec), "--server", emu.url) == 5
    err = capsys.readouterr().err
    assert "is not what would be applied now" in err and "on the server: subject sub1 appeared" in err
    assert emu.store.subjects["XNAT_S00001"].fields == {"demographics/gender": "male"}  # nothing written


@pytest.mark.parametrize(
    ("edit", "said"),
    [
        (lambda ops: ops[:-1],
         "operation 4 (update_scan CCF_TEST/sub1/session1/scan:1) is missing from the saved plan"),
        (lambda ops: [], "operation 1 (create_subject CCF_TEST/sub1) is missing from the saved plan"),
        (lambda ops: [{**ops[0], "fields": [{**ops[0]["fields"][0], "after": "99"}]}, *ops[1:]],
         "operation 1 (create_subject CCF_TEST/sub1) differs from the plan made now"),
    ],
    ids=["deleted", "emptied", "edited"],
)  # fmt: skip
def test_a_saved_plan_whose_operations_were_edited_is_refused(
    ccf: tuple[Emulator, Path], capsys: pytest.CaptureFixture[str], edit: object, said: str
) -> None:
    emu, spec = ccf
    saved = spec.parent / "plan.json"
    assert run("plan", "--spec", str(spec), "--server", emu.url, "-o", str(saved)) == 0
    doc = json.loads(saved.read_text())
    doc["operations"] = edit(doc["operations"])  # type: ignore[operator]
    saved.write_text(json.dumps(doc))
    capsys.readouterr()
    assert run("show", str(saved), "--check", "--spec", str(spec), "--server", emu.url) == 5
    assert said in capsys.readouterr().err
    assert run("apply", str(saved), "--spec", str(spec), "--server", emu.url) == 5
    assert said in capsys.readouterr().err
    assert emu.store.subjects == {}


def test_without_a_terminal_apply_asks_for_auto_approve(
    ccf: tuple[Emulator, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    emu, spec = ccf
    assert run("apply", "--spec", str(spec), "--server", emu.url) == 4
    assert "no terminal to confirm on" in capsys.readouterr().err
    assert emu.requests == [] and emu.store.subjects == {}
    assert run("apply", "--spec", str(spec), "--server", emu.url, "--json") == 4


def test_json_gives_one_event_per_operation_and_a_summary(
    ccf: tuple[Emulator, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    emu, spec = ccf
    assert run("apply", "--spec", str(spec), "--server", emu.url, "--auto-approve", "--json") == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(e["event"], e.get("kind"), e.get("status")) for e in events] == [
        ("operation", "create_subject", "done"),
        ("operation", "import_session", "done"),
        ("operation", "update_session", "done"),
        ("operation", "update_scan", "done"),
        ("summary", None, None),
    ]
    assert events[-1]["ok"] is True and events[-1]["done"] == 4 and events[-1]["bytes_sent"] > 0


def test_a_write_acknowledged_and_dropped_is_an_error_naming_it(
    ccf: tuple[Emulator, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    emu, spec = ccf
    emu.drop_writes(path=r"/data/.*experiments/[^/]+", param="scanner", method="PUT")  # every URL form
    assert run("apply", "--spec", str(spec), "--server", emu.url, "--auto-approve") == 1
    out = capsys.readouterr().out
    assert (
        "FAILED  update session CCF_TEST/sub1/session1: XNAT acknowledged but did not store scanner (PUT to the "
        "project-scoped URL /data/projects/CCF_TEST/subjects/sub1/experiments/session1; by accession ID URL "
        "/data/experiments/XNAT_E00001)"
    ) in out
    assert "not run update scan CCF_TEST/sub1/session1/scan:1" in out  # stopped after the failure
    assert "Apply failed." in out


def test_a_write_dropped_through_one_url_form_is_stored_through_the_other(
    ccf: tuple[Emulator, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    emu, spec = ccf
    emu.drop_writes(path=r"/data/projects/.*/experiments/[^/]+", param="scanner", method="PUT")
    assert run("apply", "--spec", str(spec), "--server", emu.url, "--auto-approve") == 0
    assert "done    update session CCF_TEST/sub1/session1 (stored only through the by accession ID URL" in (
        capsys.readouterr().out
    )
    assert run("plan", "--spec", str(spec), "--server", emu.url, "--detailed-exitcode") == 0


def test_a_birth_date_is_set_from_a_saved_plan_that_does_not_hold_it(
    ccf: tuple[Emulator, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    emu, spec = ccf
    spec.write_text(spec.read_text().replace("    age: 25\n", "    dob: 1983-07-14\n"))
    saved = spec.parent / "plan.json"
    assert run("plan", "--spec", str(spec), "--server", emu.url, "-o", str(saved)) == 0
    assert "1983" not in saved.read_text() and "1983" not in capsys.readouterr().out
    assert run("apply", str(saved), "--spec", str(spec), "--server", emu.url) == 0
    assert "1983" not in capsys.readouterr().out
    assert emu.store.subjects["XNAT_S00001"].fields["demographics/dob"] == "1983-07-14"


def test_deletions_run_only_with_allow_delete(ccf: tuple[Emulator, Path], capsys: pytest.CaptureFixture[str]) -> None:
    emu, spec = ccf
    emu.seed.add_subject("CCF_TEST", "old")
    spec.write_text(spec.read_text() + "  old: {absent: true}\n")
    assert run("apply", "--spec", str(spec), "--server", emu.url, "--auto-approve") == 0
    out = capsys.readouterr().out
    assert "skipped delete subject CCF_TEST/old: deletions run only with --allow-delete" in out
    assert any(s.label == "old" for s in emu.store.subjects.values())
    assert run("apply", "--spec", str(spec), "--server", emu.url, "--auto-approve", "--allow-delete") == 0
    assert "done    delete subject CCF_TEST/old" in capsys.readouterr().out
    assert not any(s.label == "old" for s in emu.store.subjects.values())


def test_a_second_run_is_refused_while_the_project_is_locked(
    ccf: tuple[Emulator, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    emu, spec = ccf
    with XnatClient(ConnectionSettings(emu.url, Credentials("admin", "admin"))) as client:
        holder = ProjectLock(client, "CCF_TEST", user="ci-runner-1")
        info = holder.acquire()
        try:
            assert run("apply", "--spec", str(spec), "--server", emu.url, "--auto-approve") == 1
            err = capsys.readouterr().err
            assert info.id in err and "force-unlock" in err
            assert emu.store.subjects == {}
        finally:
            holder.release()
    assert run("apply", "--spec", str(spec), "--server", emu.url, "--auto-approve") == 0


def test_upload_dest_prearchive_archives_explicitly(ccf: tuple[Emulator, Path]) -> None:
    emu, spec = ccf
    spec.write_text(spec.read_text().replace("dest: archive", "dest: prearchive"))
    assert run("apply", "--spec", str(spec), "--server", emu.url, "--auto-approve") == 0
    posts = [r.path for r in emu.requests if r.method == "POST"]
    assert posts == ["/data/services/import", "/data/services/archive"]
    assert emu.store.prearchive == []
    assert run("plan", "--spec", str(spec), "--server", emu.url, "--detailed-exitcode") == 0


def test_a_delete_whose_answer_was_lost_is_retried_and_verified(
    ccf: tuple[Emulator, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """XNAT deletes the subject but the connection drops before the answer; the retry meets a
    404. The subject is gone, which is what the read-back checks: done, not failed."""
    emu, spec = ccf
    emu.seed.add_subject("CCF_TEST", "old")
    spec.write_text(spec.read_text() + "  old: {absent: true}\n")
    emu.knobs.fault_next("DELETE", r"/data/projects/CCF_TEST/subjects/.*", "drop_after")
    assert run("apply", "--spec", str(spec), "--server", emu.url, "--auto-approve", "--allow-delete") == 0
    assert "done    delete subject CCF_TEST/old" in capsys.readouterr().out
    deletes = [r for r in emu.requests if r.method == "DELETE" and "/subjects/" in r.path]
    assert [r.status for r in deletes] == [0, 404]  # handled, answer lost; the retry finds it gone
    assert not any(s.label == "old" for s in emu.store.subjects.values())


def test_apply_output_never_shows_patient_identifiers(
    tmp_path: Path, env: dict[str, str], capfd: pytest.CaptureFixture[str]
) -> None:
    """Generated DICOM has a PatientName and PatientID in every file; none reaches stdout or
    stderr of plan, apply or state, nor the saved plan."""
    spec = write_site(tmp_path / "site", "PHI", SiteShape(subjects=2, sessions_per_subject=1, instances=2))
    with Emulator(EmulatorConfig(projects=("PHI",), strict=True)) as emu:
        saved = tmp_path / "plan.json"
        assert run("plan", "--spec", str(spec), "--server", emu.url, "-o", str(saved)) == 0
        assert run("apply", str(saved), "--spec", str(spec), "--server", emu.url) == 0
        assert run("state", "--spec", str(spec), "--server", emu.url, "--files") == 0
        out, err = capfd.readouterr()
    text = out + err + saved.read_text()
    assert "Apply complete." in out
    for phi in ("Synthetic^", "PID-", "19900101", "1990-01-01"):
        assert phi not in text, phi


def test_a_failed_archive_step_fails_the_import_without_sending_it_again(
    ccf: tuple[Emulator, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    emu, spec = ccf
    spec.write_text(spec.read_text().replace("dest: archive", "dest: prearchive"))
    emu.knobs.fault_next("POST", r"/data/services/archive", "503")
    assert run("apply", "--spec", str(spec), "--server", emu.url, "--auto-approve") == 1
    out = capsys.readouterr().out
    assert "FAILED  import session CCF_TEST/sub1/session1" in out
    assert [r.method for r in emu.requests if r.path == "/data/services/import"] == ["POST"]  # sent once
    assert len(emu.store.prearchive) == 1  # the data is on the server, waiting
    assert run("apply", "--spec", str(spec), "--server", emu.url, "--auto-approve") == 0  # the next run archives it
    assert [r.method for r in emu.requests if r.path == "/data/services/import"] == ["POST"]  # still sent once
    assert run("plan", "--spec", str(spec), "--server", emu.url, "--detailed-exitcode") == 0


def test_only_imports_then_only_fields_converges(
    ccf: tuple[Emulator, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """A site that sends the DICOM first and writes the metadata later: `--only imports` sends
    and skips the rest, saying why; `--only fields` then writes what the next plan asks for."""
    emu, spec = ccf
    assert run("apply", "--spec", str(spec), "--server", emu.url, "--auto-approve", "--only", "imports") == 0
    out = capsys.readouterr().out
    assert "done    import session CCF_TEST/sub1/session1" in out
    assert "skipped create subject CCF_TEST/sub1: not part of --only imports" in out
    assert "skipped update scan CCF_TEST/sub1/session1/scan:1: not part of --only imports" in out
    assert "Operations outside --only were skipped: apply again without --only to finish." in out
    assert [e.label for e in emu.store.experiments.values()] == ["session1"]

    assert run("apply", "--spec", str(spec), "--server", emu.url, "--auto-approve", "--only", "fields") == 0
    out = capsys.readouterr().out
    assert "import session" not in out and "done    update scan CCF_TEST/sub1/session1/scan:1" in out
    assert run("plan", "--spec", str(spec), "--server", emu.url, "--detailed-exitcode") == 0


def test_only_fields_skips_what_waits_for_an_import(
    ccf: tuple[Emulator, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    emu, spec = ccf
    assert run("apply", "--spec", str(spec), "--server", emu.url, "--auto-approve", "--only", "fields") == 0
    out = capsys.readouterr().out
    assert "done    create subject CCF_TEST/sub1" in out
    assert "skipped import session CCF_TEST/sub1/session1: not part of --only fields" in out
    assert ("skipped update scan CCF_TEST/sub1/session1/scan:1: it waits for an import of this plan (apply with "
            "--only imports first)") in out  # fmt: skip
    assert emu.store.experiments == {}
