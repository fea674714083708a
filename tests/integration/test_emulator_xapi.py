"""The `/xapi` calls clients make at connect time, over real HTTP: the build information, the
user calls, and the schema documents (generated from the emulator's type table) that xnatpy
builds its classes from."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
import requests

from tests.integration.emulator_http import session
from xsync.emulator import Emulator

XS = "{http://www.w3.org/2001/XMLSchema}"
XDAT = "{http://nrg.wustl.edu/xdat}"

TWO_USERS = [{"users": {"admin": "admin", "alice": "pw"}, "admins": frozenset({"admin"})}]


def schema(emulator: Emulator, path: str = "/xapi/schemas/xnat") -> ET.Element:
    r = session(emulator).get(emulator.url + path)
    assert r.status_code == 200, r.text[:300]
    assert r.headers["Content-Type"].startswith("application/xml")
    return ET.fromstring(r.content)


def complex_type(doc: ET.Element, name: str) -> ET.Element:
    for ct in doc.findall(f"{XS}complexType"):
        if ct.get("name") == name:
            return ct
    raise AssertionError(f"no complexType {name}")


def test_build_property_is_bare_text(emulator: Emulator) -> None:
    s = session(emulator)
    r = s.get(emulator.url + "/xapi/siteConfig/buildInfo/version")
    assert (r.status_code, r.text) == (200, "1.8.10")
    assert s.get(emulator.url + "/xapi/siteConfig/buildInfo").json()["version"] == r.text
    unknown = s.get(emulator.url + "/xapi/siteConfig/buildInfo/nosuch")
    assert (unknown.status_code, unknown.text) == (200, "")


@pytest.mark.parametrize("emulator", TWO_USERS, indirect=True)
def test_users_api_answers_the_user_and_admins_only(emulator: Emulator) -> None:
    alice = session(emulator, "alice", "pw")
    r = alice.get(emulator.url + "/xapi/users/username")
    assert (r.status_code, r.text, r.headers["Content-Type"].split(";")[0]) == (200, "alice", "text/plain")
    me = alice.get(emulator.url + "/xapi/users/alice")
    assert me.status_code == 200
    assert {k: me.json()[k] for k in ("username", "enabled", "secured")} == {
        "username": "alice",
        "enabled": True,
        "secured": True,
    }
    other = alice.get(emulator.url + "/xapi/users/admin")
    assert (other.status_code, other.text) == (403, "")
    admin = session(emulator)
    assert admin.get(emulator.url + "/xapi/users/alice").json()["username"] == "alice"
    missing = admin.get(emulator.url + "/xapi/users/nobody")
    assert missing.status_code == 500
    assert missing.text.endswith("An error occurred initializing the user nobody")


@pytest.mark.parametrize("emulator", TWO_USERS, indirect=True)
def test_user_lists_are_open_to_every_user(emulator: Emulator) -> None:
    alice = session(emulator, "alice", "pw")
    assert alice.get(emulator.url + "/xapi/users").json() == ["admin", "alice"]
    for path in ("/xapi/users/profiles", "/xapi/users/current"):
        assert [u["username"] for u in alice.get(emulator.url + path).json()] == ["admin", "alice"]


def test_schema_list_and_documents(emulator: Emulator) -> None:
    s = session(emulator)
    assert s.get(emulator.url + "/xapi/schemas").json() == ["xdat", "xnat"]
    one = s.get(emulator.url + "/xapi/schemas/xnat")
    assert s.get(emulator.url + "/xapi/schemas/xnat/xnat").content == one.content
    missing = s.get(emulator.url + "/xapi/schemas/security")
    assert missing.status_code == 404
    assert missing.headers["Content-Type"].startswith("text/plain")
    assert missing.text == "Unable to find requested file or resource: classpath:schemas/security/security.xsd"
    assert requests.get(emulator.url + "/xapi/schemas/xnat").status_code == 401


def test_schema_declares_the_root_elements_and_type_hierarchy(emulator: Emulator) -> None:
    doc = schema(emulator)
    assert doc.get("targetNamespace") == "http://nrg.wustl.edu/xnat"
    elements = {e.get("name"): e.get("type") for e in doc.findall(f"{XS}element")}
    for name, type_ in [
        ("Project", "xnat:projectData"),
        ("Subject", "xnat:subjectData"),
        ("MRSession", "xnat:mrSessionData"),
        ("PETSession", "xnat:petSessionData"),
        ("CTSession", "xnat:ctSessionData"),
        ("MRScan", "xnat:mrScanData"),
        ("CTScan", "xnat:ctScanData"),
    ]:
        assert elements[name] == type_
    extension = complex_type(doc, "mrSessionData").find(f"{XS}complexContent/{XS}extension")
    assert extension is not None and extension.get("base") == "xnat:imageSessionData"
    base = complex_type(doc, "imageSessionData").find(f"{XS}complexContent/{XS}extension")
    assert base is not None and base.get("base") == "xnat:subjectAssessorData"


def test_schema_fields_enumerations_and_display_identifiers(emulator: Emulator) -> None:
    doc = schema(emulator)
    demographics = complex_type(doc, "demographicData")
    gender = next(e for e in demographics.iter(f"{XS}element") if e.get("name") == "gender")
    assert [v.get("value") for v in gender.iter(f"{XS}enumeration")] == [
        "male",
        "female",
        "other",
        "unknown",
        "M",
        "F",
    ]
    age = next(e for e in demographics.iter(f"{XS}element") if e.get("name") == "age")
    assert age.get("type") == "xs:integer"
    subject = complex_type(doc, "subjectData")
    assert subject.find(f"{XS}annotation/{XS}appinfo/{XDAT}element").get("displayIdentifiers") == "label"  # type: ignore[union-attr]
    slot = next(e for e in subject.iter(f"{XS}element") if e.get("name") == "demographics")
    assert slot.get("type") == "xnat:demographicData"
    # scanner: a value with attributes (simple content); custom variables: keyed by `name`
    session = complex_type(doc, "imageSessionData")
    scanner = next(e for e in session.iter(f"{XS}element") if e.get("name") == "scanner")
    attrs = [a.get("name") for a in scanner.iter(f"{XS}attribute")]
    assert scanner.find(f"{XS}complexType/{XS}simpleContent/{XS}extension") is not None
    assert attrs == ["manufacturer", "model"]
    experiment = complex_type(doc, "experimentData")
    field = next(e for e in experiment.iter(f"{XS}element") if e.get("name") == "field")
    assert field.get("maxOccurs") == "unbounded"
    assert [a.get("name") for a in field.iter(f"{XS}attribute")] == ["name"]
    scan = complex_type(doc, "imageScanData")
    names = [e.get("name") for e in scan.iter(f"{XS}element")] + [a.get("name") for a in scan.iter(f"{XS}attribute")]
    assert {"type", "quality", "series_description", "ID"} <= set(names)
