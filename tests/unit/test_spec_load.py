"""Loading valid specs: defaults, includes, paths, positions, digest, values kept as written."""

from __future__ import annotations

import os
import shutil
import textwrap
import threading
from pathlib import Path

import pytest
from pydantic import ValidationError

from xsync.errors import SpecError
from xsync.spec import Spec, field_values, load_spec, match_scan_rules


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root / "xsync.yaml"


SITE = {
    "xsync.yaml": """\
        # a comment that must not change the digest
        version: 1
        project: SITE
        dicom: {roots: [dicom/]}
        defaults:
          subject: {age: 30, fields: {site: WU, cohort: A}}
          session: {xsi_type: mr, coil: HEAD32, acquisition_site: WashU}
        include: ["subjects/*.yaml"]
        subjects:
          sub1:
            gender: Female
            fields: {Cohort: B}
            sessions:
              s1:
                scanner: SIEMENS
                dicom: {path: dicom/sub1/s1}
                scans:
                  1: {type: T1w}
                  01: {type: T2w}
                  "4-MR1": {quality: usable}
        """,
    "subjects/sub2.yaml": """\
        subjects:
          sub2:
            yob: 1990
            sessions:
              ct1: {xsi_type: ct, visit_id: 1}
              pet1: {xsi_type: xnat:petSessionData, dicom: {path: dicom/sub2/pet1}}
        """,
}


@pytest.fixture
def site(tmp_path: Path) -> Spec:
    return load_spec(write(tmp_path, SITE), relative_to=tmp_path)


def test_subject_defaults_fill_what_the_subject_leaves_out(site: Spec) -> None:
    sub1, sub2 = site.subjects["sub1"], site.subjects["sub2"]
    assert sub1.age == 30
    # custom variables merge name by name; names compare lower-cased, the subject's value wins
    assert sub1.fields == {"site": "WU", "cohort": "B"}
    # dob/yob/age are alternatives: a subject giving yob gets no default age
    assert (sub2.yob, sub2.age) == (1990, None)


def test_session_defaults_go_only_where_the_type_has_the_field(site: Spec) -> None:
    s1 = site.subjects["sub1"].sessions["s1"]
    ct1 = site.subjects["sub2"].sessions["ct1"]
    pet1 = site.subjects["sub2"].sessions["pet1"]
    assert (s1.xsi_type, s1.coil, s1.acquisition_site) == ("xnat:mrSessionData", "HEAD32", "WashU")
    assert (ct1.xsi_type, ct1.coil, ct1.acquisition_site) == ("xnat:ctSessionData", None, "WashU")
    assert (pet1.xsi_type, pet1.coil) == ("xnat:petSessionData", None)


def test_subjects_keep_file_order_main_spec_first(site: Spec) -> None:
    assert list(site.subjects) == ["sub1", "sub2"]
    assert site.counts() == {"subjects": 2, "sessions": 3, "scans": 3}


def test_scan_ids_keep_their_spelling(site: Spec) -> None:
    scans = site.subjects["sub1"].sessions["s1"].scans
    assert list(scans) == ["1", "01", "4-MR1"]
    assert scans["01"].type == "T2w"


def test_values_are_kept_as_written(site: Spec) -> None:
    # XNAT compares enumerations in any case but stores what it is sent
    assert site.subjects["sub1"].gender == "Female"
    # a number where text is expected is the text XNAT is sent
    assert site.subjects["sub2"].sessions["ct1"].visit_id == "1"


def test_paths_are_absolute_and_relative_to_the_main_spec(site: Spec, tmp_path: Path) -> None:
    assert site.dicom.roots == (tmp_path / "dicom",)
    assert site.dicom.cache == tmp_path / ".xsync" / "inventory.sqlite"
    # a binding written in subjects/sub2.yaml is still relative to the main spec's folder
    assert site.subjects["sub2"].sessions["pet1"].dicom.path == tmp_path / "dicom" / "sub2" / "pet1"  # type: ignore[union-attr]


def test_locate_points_at_keys_in_every_file(site: Spec, tmp_path: Path) -> None:
    where = site.locate(("subjects", "sub2", "sessions", "ct1", "visit_id"))
    assert where is not None and (where.file, where.line, where.col) == (tmp_path / "subjects/sub2.yaml", 5, 27)
    where = site.locate(("subjects", "sub1", "sessions", "s1", "scans", "01", "type"))
    assert where is not None and (where.file.name, where.line, where.col) == ("xsync.yaml", 19, 16)
    # a value that came from defaults is located at the nearest key the spec does write
    where = site.locate(("subjects", "sub1", "sessions", "s1", "coil"))
    assert where is not None and (where.line, where.col) == (14, 7)


def test_field_values(site: Spec) -> None:
    s1 = site.subjects["sub1"].sessions["s1"]
    values = field_values(s1)
    assert values == {"scanner": "SIEMENS", "acquisition_site": "WashU", "coil": "HEAD32"}
    assert field_values(site.subjects["sub1"])["fields.cohort"] == "B"


def test_models_are_frozen(site: Spec) -> None:
    with pytest.raises(ValidationError):
        site.subjects["sub1"].gender = "male"  # type: ignore[misc]


REORDERED = {
    "xsync.yaml": """\
        project: SITE          # keys in another order, other comments, one file
        version: 1
        defaults:
          session: {coil: HEAD32, xsi_type: mr, acquisition_site: WashU}
          subject: {fields: {cohort: A, site: WU}, age: 30}
        dicom:
          roots: [dicom]
        subjects:
          sub1:
            fields: {Cohort: B}
            gender: Female
            sessions:
              s1:
                dicom: {path: dicom/sub1/s1}
                scanner: SIEMENS
                scans:
                  "4-MR1": {quality: usable}
                  "01": {type: T2w}
                  "1": {type: T1w}
          sub2:
            sessions:
              pet1: {dicom: {path: dicom/sub2/pet1}, xsi_type: pet}
              ct1: {visit_id: "1", xsi_type: xnat:ctSessionData}
            yob: 1990
        """,
}


def test_digest_ignores_comments_order_includes_and_folder(site: Spec, tmp_path: Path) -> None:
    one_file = load_spec(write(tmp_path / "b", REORDERED), relative_to=tmp_path)
    assert one_file.digest == site.digest
    moved = tmp_path / "elsewhere" / "checkout"
    shutil.copytree(tmp_path / "b", moved)
    assert load_spec(moved / "xsync.yaml").digest == site.digest
    changed = {"xsync.yaml": REORDERED["xsync.yaml"].replace("gender: Female", "gender: female")}
    assert load_spec(write(tmp_path / "c", changed)).digest != site.digest


def test_libyaml_and_pure_python_load_the_same_spec(tmp_path: Path) -> None:
    path = write(tmp_path, SITE)
    fast, pure = load_spec(path), load_spec(path, pure_python=True)
    assert fast.model_dump() == pure.model_dump()
    assert fast.digest == pure.digest


def test_patient_identifiers_stay_out_of_repr_and_messages(tmp_path: Path) -> None:
    files = {
        "xsync.yaml": """\
            version: 1
            project: P
            dicom: {roots: [d]}
            subjects:
              sub1:
                sessions:
                  s1: {dicom: {patient_id: PHI_SECRET_42, study_date: 2024-01-31}}
                  s2: {dicom: {patient_id: PHI_SECRET_42, study_date: 2024-01-31}}
              sub2:
                sessions:
                  s3: {dicom: {patient_id: PHI_SECRET_42, study_uid: "1.2.3"}}
            """
    }
    with pytest.raises(SpecError) as raised:
        load_spec(write(tmp_path, files), relative_to=tmp_path)
    assert [d.message for d in raised.value.diagnostics] == [
        "the same DICOM is already bound to subjects.sub1.sessions.s1 (xsync.yaml:7:12)",
        "give exactly one of study_uid, path or patient_id",
    ]
    assert "PHI_SECRET" not in str(raised.value)
    valid = {"xsync.yaml": files["xsync.yaml"].split("              s2:")[0]}
    spec = load_spec(write(tmp_path / "ok", valid))
    assert "PHI_SECRET" not in repr(spec)
    assert spec.subjects["sub1"].sessions["s1"].dicom.kind == "patient_id"  # type: ignore[union-attr]


def test_missing_spec_file_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as raised:
        load_spec(tmp_path / "xsync.yaml", relative_to=tmp_path)
    assert [str(d) for d in raised.value.diagnostics] == ["xsync.yaml: spec file not found (use --spec PATH)"]
    assert raised.value.exit_code == 4


def test_empty_included_file_and_empty_subject_are_fine(tmp_path: Path) -> None:
    files = {
        "xsync.yaml": "version: 1\nproject: P\ninclude: [empty.yaml]\nsubjects:\n  sub1: {}\n",
        "empty.yaml": "# nobody yet\n",
    }
    spec = load_spec(write(tmp_path, files))
    assert list(spec.subjects) == ["sub1"] and spec.include == ("empty.yaml",)


def test_upload_settings(tmp_path: Path) -> None:
    files = {
        "xsync.yaml": """\
            version: 1
            project: P
            upload: {method: cstore, host: xnat.example.org, port: 8104, ae_title: XNAT}
            """
    }
    upload = load_spec(write(tmp_path, files)).upload
    assert (upload.method, upload.dest, upload.host, upload.port, upload.ae_title) == (
        "cstore",
        "archive",
        "xnat.example.org",
        8104,
        "XNAT",
    )


def test_digest_keeps_regex_patterns_whatever_the_checkout_folder(tmp_path: Path) -> None:
    # A `/regex/` rule pattern looks like an absolute path; it must not be rewritten relative to
    # the folder the spec lies in (that made the digest differ between checkouts).
    text = (
        "version: 1\nproject: P\nrules:\n  scans:\n"
        '    - match: {series_description: "/^rfMRI_REST[0-9]_(AP|PA)$/"}\n      set: {type: rfMRI}\n'
    )
    shallow, deep = tmp_path / "a", tmp_path / "b" / "c" / "d"
    for d in (shallow, deep):
        d.mkdir(parents=True)
        (d / "xsync.yaml").write_text(text)
    assert load_spec(shallow / "xsync.yaml").digest == load_spec(deep / "xsync.yaml").digest


WRITTEN = {
    "xsync.yaml": """\
        version: 1
        project: P
        dicom: {roots: [d]}
        defaults:
          session: {protocol: 2.50}
        rules:
          scans:
            - match: {series_description: x}
              set: {type: 1.10}
        subjects:
          sub1:
            age: 007
            fields: {code: 007, big: 12345678901234567890, hexa: 0x1F, thousand: 1e3, inf: .inf, yes: true, no: False}
            sessions:
              s1:
                visit_id: 1.10
                dicom: {study_uid: 1.20}
                scans:
                  "1": {series_description: 1.50, note: -0.0}
        """,
}


@pytest.mark.parametrize("pure_python", [False, True], ids=["libyaml", "pure"])
def test_text_fields_get_unquoted_numbers_as_written(tmp_path: Path, pure_python: bool) -> None:
    spec = load_spec(write(tmp_path, WRITTEN), pure_python=pure_python)
    sub1 = spec.subjects["sub1"]
    s1 = sub1.sessions["s1"]
    assert sub1.age == 7  # a number field reads the number
    assert sub1.fields == {
        "code": "007",
        "big": "12345678901234567890",
        "hexa": "0x1F",
        "thousand": "1e3",
        "inf": ".inf",
        # YAML 1.2 booleans: one value whatever the capitals, sent as XNAT spells booleans
        "yes": "true",
        "no": "false",
    }
    assert (s1.visit_id, s1.protocol) == ("1.10", "2.50")
    assert s1.dicom is not None and s1.dicom.study_uid == "1.20"
    assert (s1.scans["1"].series_description, s1.scans["1"].note) == ("1.50", "-0.0")
    outcome = match_scan_rules(spec.rules, {"series_description": "x"})
    assert outcome.fields == {"type": "1.10"}


def test_a_whole_number_too_big_for_any_float_is_out_of_range(tmp_path: Path) -> None:
    huge = "1" + "0" * 400
    files = {"xsync.yaml": f"version: 1\nproject: P\nsubjects:\n  sub1: {{weight: {huge}}}\n"}
    with pytest.raises(SpecError) as raised:
        load_spec(write(tmp_path, files), relative_to=tmp_path)
    assert [d.message for d in raised.value.diagnostics] == [
        f"{huge} is out of range: XNAT allows -3.4028235e+38 to 3.4028235e+38"
    ]


STREAMED = """\
    version: 1
    project: P
    dicom: {roots: [dicom]}
    include: [subjects/*.yaml]
    subjects:
      sub1:
        sessions:
          s1: {dicom: {path: dicom/s1}}
    """


def test_a_spec_read_from_a_pipe_is_relative_to_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A FIFO (as `<(git show HEAD:xsync.yaml)` gives) has no folder of its own: relative paths
    # and includes in it are taken from the current directory, not from the FIFO's folder.
    write(tmp_path / "site", {"subjects/sub2.yaml": "subjects:\n  sub2: {age: 3}\n"})
    fifo = tmp_path / "pipes" / "spec.yaml"
    fifo.parent.mkdir()
    os.mkfifo(fifo)
    writer = threading.Thread(target=fifo.write_text, args=(textwrap.dedent(STREAMED),), daemon=True)
    writer.start()
    monkeypatch.chdir(tmp_path / "site")
    try:
        spec = load_spec(fifo)
    finally:
        writer.join(timeout=10)
    assert list(spec.subjects) == ["sub1", "sub2"]
    assert spec.dicom.roots == (tmp_path / "site" / "dicom",)
    assert spec.subjects["sub1"].sessions["s1"].dicom.path == tmp_path / "site" / "dicom" / "s1"  # type: ignore[union-attr]
