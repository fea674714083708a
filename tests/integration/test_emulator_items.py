"""Single items over real HTTP (REST-CONTRACT.md §3, §9 row 4): items JSON with typed values,
the XML document, 404 pages."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from tests.integration.emulator_http import child, h3, item, session
from xsync.emulator import Emulator

NS = {"xnat": "http://nrg.wustl.edu/xnat", "xsi": "http://www.w3.org/2001/XMLSchema-instance"}
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"


def _seed(emu: Emulator) -> str:
    emu.seed.add_subject("P", "sub1", fields={"gender": "female", "age": "25", "weight": "70.5"}, custom={"site": "A"})
    e = emu.seed.add_session(
        "P",
        "sub1",
        "session1",
        fields={
            "date": "2006-12-14",
            "time": "09:12:06",
            "scanner": "MEDPC",
            "scanner/manufacturer": "SIEMENS",
            "fieldStrength": "3.0",
            "note": "a &amp; b",
        },
        custom={"visit": "1"},
        scans=[
            {
                "id": "4",
                "fields": {
                    "type": "t1_mpr",
                    "quality": "usable",
                    "frames": "176",
                    "parameters/tr": "2400",
                    "parameters/te": "3.08",
                    "parameters/voxelRes/x": "1",
                    "parameters/orientation": "Sag",
                    "parameters/addParam[name=MultiEcho_TE1]": "2.5",
                },
                "files": 2,
            }
        ],
    )
    return e.id


def test_subject_json(emulator: Emulator) -> None:
    _seed(emulator)
    it = item(session(emulator).get(emulator.url + "/data/projects/P/subjects/sub1", params={"format": "json"}))
    assert it["meta"]["xsi:type"] == "xnat:subjectData" and it["meta"]["isHistory"] is False
    assert it["data_fields"] == {"ID": "XNAT_S00001", "project": "P", "label": "sub1"}
    (demo,) = child(it, "demographics")
    assert demo["meta"]["xsi:type"] == "xnat:demographicData"
    assert demo["data_fields"] == {"gender": "female", "age": 25, "weight": 70.5}
    (custom,) = child(it, "fields/field")
    assert custom["data_fields"] == {"name": "site", "field": "A"}
    (experiment,) = child(it, "experiments/experiment")
    assert experiment["data_fields"]["label"] == "session1"


def test_session_json_typed_values_and_children(emulator: Emulator) -> None:
    eid = _seed(emulator)
    it = item(session(emulator).get(f"{emulator.url}/data/experiments/{eid}", params={"format": "json"}))
    data = it["data_fields"]
    assert it["meta"]["xsi:type"] == "xnat:mrSessionData"
    assert data["fieldStrength"] == "3.0"  # an xs:string stays a string
    assert (data["date"], data["time"], data["scanner/manufacturer"]) == ("2006-12-14", "09:12:06", "SIEMENS")
    assert (data["subject_ID"], data["note"]) == ("XNAT_S00001", "a &amp; b")
    (scan,) = child(it, "scans/scan")
    sd = scan["data_fields"]
    assert (sd["frames"], sd["parameters/tr"], sd["parameters/te"], sd["parameters/voxelRes/x"]) == (176, 2400, 3.08, 1)
    assert (sd["image_session_ID"], sd["ID"], sd["parameters/orientation"]) == (eid, "4", "Sag")
    assert isinstance(sd["xnat_imagescandata_id"], int)
    (param,) = child(scan, "parameters/addParam")
    assert param["data_fields"] == {"name": "MultiEcho_TE1", "addParam": "2.5"}
    (resource,) = child(scan, "file")
    assert resource["meta"]["xsi:type"] == "xnat:resourceCatalog"
    assert (resource["data_fields"]["label"], resource["data_fields"]["file_count"]) == ("DICOM", 2)
    assert child(it, "fields/field")[0]["data_fields"] == {"name": "visit", "field": "1"}


def test_scan_json_on_all_paths(emulator: Emulator) -> None:
    eid = _seed(emulator)
    s = session(emulator)
    for path in (
        f"/data/experiments/{eid}/scans/4",
        "/data/projects/P/experiments/session1/scans/4",
        "/data/projects/P/subjects/sub1/experiments/session1/scans/4",
        "/REST/archive/projects/P/subjects/XNAT_S00001/experiments/session1/scans/4",
    ):
        it = item(s.get(emulator.url + path, params={"format": "json"}))
        assert (it["meta"]["xsi:type"], it["data_fields"]["type"]) == ("xnat:mrScanData", "t1_mpr"), path


def test_session_xml(emulator: Emulator) -> None:
    eid = _seed(emulator)
    r = session(emulator).get(
        f"{emulator.url}/data/projects/P/subjects/sub1/experiments/session1", params={"format": "xml"}
    )
    assert r.headers["Content-Type"].startswith("text/xml")
    root = ET.fromstring(r.content)
    assert root.tag == "{http://nrg.wustl.edu/xnat}MRSession"
    assert (root.get("ID"), root.get("project"), root.get("label")) == (eid, "P", "session1")
    children = [el.tag.split("}")[1] for el in root]
    # XSD order: experimentData (date, time, note, fields), subject_ID, imageSessionData (scanner, scans), MR.
    assert children == ["date", "time", "note", "fields", "subject_ID", "scanner", "scans", "fieldStrength"]
    scanner = root.find("xnat:scanner", NS)
    assert scanner is not None and (scanner.text, scanner.get("manufacturer")) == ("MEDPC", "SIEMENS")
    note = root.find("xnat:note", NS)
    assert note is not None and note.text == "a &amp; b"  # stored escaped, so it parses back escaped
    scan = root.find("xnat:scans/xnat:scan", NS)
    assert scan is not None and (scan.get("ID"), scan.get("type"), scan.get(XSI_TYPE)) == (
        "4",
        "t1_mpr",
        "xnat:mrScanData",
    )
    voxel = scan.find("xnat:parameters/xnat:voxelRes", NS)
    assert voxel is not None and voxel.get("x") == "1"
    tr = scan.find("xnat:parameters/xnat:tr", NS)
    assert tr is not None and tr.text == "2400"
    resource = scan.find("xnat:file", NS)
    assert resource is not None and (resource.get("label"), resource.get("file_count")) == ("DICOM", "2")


def test_subject_xml_nests_demographics_and_experiments(emulator: Emulator) -> None:
    _seed(emulator)
    r = session(emulator).get(emulator.url + "/data/subjects/XNAT_S00001", params={"format": "xml"})
    root = ET.fromstring(r.content)
    assert root.tag == "{http://nrg.wustl.edu/xnat}Subject"
    demo = root.find("xnat:demographics", NS)
    assert demo is not None and demo.get(XSI_TYPE) == "xnat:demographicData"
    assert [(el.tag.split("}")[1], el.text) for el in demo] == [("age", "25"), ("gender", "female"), ("weight", "70.5")]
    experiment = root.find("xnat:experiments/xnat:experiment", NS)
    assert experiment is not None and experiment.get(XSI_TYPE) == "xnat:mrSessionData"


def test_scan_xml_root(emulator: Emulator) -> None:
    eid = _seed(emulator)
    r = session(emulator).get(f"{emulator.url}/data/experiments/{eid}/scans/4", params={"format": "xml"})
    assert ET.fromstring(r.content).tag == "{http://nrg.wustl.edu/xnat}MRScan"


def test_without_format_items_answer_html(emulator: Emulator) -> None:
    _seed(emulator)
    r = session(emulator).get(emulator.url + "/data/projects/P/subjects/sub1")
    assert r.headers["Content-Type"].startswith("text/html")


def test_missing_items_are_404_status_pages(emulator: Emulator) -> None:
    eid = _seed(emulator)
    s = session(emulator)
    r = s.get(emulator.url + "/data/projects/P/subjects/nobody", params={"format": "json"})
    assert r.status_code == 404
    assert h3(r) == (
        "Unable to find the specified subject. "
        "The project P does not contain a subject identifiable by the ID or label nobody."
    )
    assert s.get(emulator.url + "/data/subjects/sub1").status_code == 404  # labels need a project
    assert s.get(emulator.url + "/data/experiments/session1").status_code == 404
    assert s.get(f"{emulator.url}/data/experiments/{eid}/scans/99", params={"format": "json"}).status_code == 404
    assert s.get(emulator.url + "/data/projects/P/subjects/sub1/experiments/nope").status_code == 404
    assert s.get(emulator.url + "/data/projects/NOPE", params={"format": "json"}).status_code == 404


def test_project_item_and_put(emulator: Emulator) -> None:
    s = session(emulator)
    r = s.put(emulator.url + "/data/projects/P", params={"name": "A & B", "description": "d", "pi_lastname": "Doe"})
    assert (r.status_code, r.text) == (200, "")
    it = item(s.get(emulator.url + "/data/projects/P", params={"format": "json"}))
    assert it["data_fields"]["name"] == "A &amp; B"
    assert child(it, "PI")[0]["data_fields"]["lastname"] == "Doe"
    root = ET.fromstring(s.get(emulator.url + "/data/projects/P", params={"format": "xml"}).content)
    assert root.tag == "{http://nrg.wustl.edu/xnat}Project" and root.get("ID") == "P"
    r = s.put(emulator.url + "/data/projects/bad%20id")
    assert (r.status_code, h3(r)) == (417, "Invalid character in project ID.")
    assert s.put(emulator.url + "/data/projects/NEW", params={"name": "A & B"}).status_code == 409
    assert s.put(emulator.url + "/data/projects/NEW").status_code == 200
    r = s.post(emulator.url + "/data/projects", params={"ID": "NEW"})
    assert (r.status_code, h3(r)) == (409, "Project already exists.")


def test_prearchive_code_setting(emulator: Emulator) -> None:
    s = session(emulator)
    assert s.get(emulator.url + "/data/projects/P/prearchive_code").text == "0"
    assert s.put(emulator.url + "/data/projects/P/prearchive_code/4").status_code == 200
    assert emulator.store.projects["P"].prearchive_code == 4
    assert s.get(emulator.url + "/data/projects/P/prearchive_code").text == "4"
    assert s.put(emulator.url + "/data/projects/P/prearchive_code/7").status_code == 400


JAVA_DATE = r"[A-Z][a-z]{2} [A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d \S+ \d{4}"


def test_meta_carries_the_change_event_and_date(emulator: Emulator) -> None:
    # ItemJSONBuilder: isHistory, create_event_id (the event that wrote the current version),
    # start_date (its java.util.Date as org.json writes it), xsi:type; no modified_event_id or
    # end_date for a current row.
    s = session(emulator)
    url = emulator.url + "/data/projects/P/subjects/sub1"
    assert s.put(url, params={"gender": "female"}).status_code == 201
    meta = item(s.get(url, params={"format": "json"}))["meta"]
    assert set(meta) == {"isHistory", "create_event_id", "start_date", "xsi:type"}
    assert re.fullmatch(JAVA_DATE, meta["start_date"]), meta["start_date"]
    created = meta["create_event_id"]
    assert isinstance(created, int) and created > 0
    assert s.put(url, params={"gender": "female"}).status_code == 200  # nothing changes: no new version
    assert item(s.get(url, params={"format": "json"}))["meta"]["create_event_id"] == created
    assert s.put(url, params={"gender": "male"}).status_code == 200
    it = item(s.get(url, params={"format": "json"}))
    assert it["meta"]["create_event_id"] > created
    (demo,) = child(it, "demographics")
    assert demo["meta"]["create_event_id"] == it["meta"]["create_event_id"]


def test_scans_carry_their_own_event_or_their_sessions(emulator: Emulator) -> None:
    e_id = _seed(emulator)  # seeded scans: written with their session
    s = session(emulator)
    url = f"{emulator.url}/data/experiments/{e_id}"
    session_event = item(s.get(url, params={"format": "json"}))["meta"]["create_event_id"]
    scan = item(s.get(url + "/scans/4", params={"format": "json"}))
    assert scan["meta"]["create_event_id"] == session_event
    assert s.put(url + "/scans/4", params={"note": "redone"}).status_code == 200
    scan = item(s.get(url + "/scans/4", params={"format": "json"}))
    assert scan["meta"]["create_event_id"] > session_event
    assert item(s.get(url, params={"format": "json"}))["meta"]["create_event_id"] == session_event
