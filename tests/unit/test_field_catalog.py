"""The field catalog: which types have which field, and how each is read and written there —
the facts XNAT's source fixes (XMLPathShortcuts keeps one Hashtable per family, so a name
registered twice means its last path; a parameter of a sibling type is ignored)."""

from __future__ import annotations

import pytest

from xsync.model import xsitypes as t
from xsync.model.fields import CATALOG, FIELDS, Level, custom_parameter, fields_of
from xsync.spec.model import ScanFields, SessionFields, SubjectFields

MR, PET, PETMR, CT = t.MR_SESSION, t.PET_SESSION, t.PETMR_SESSION, t.CT_SESSION


def test_stabilization_is_written_by_xpath_on_mr_sessions_and_by_shortcut_on_pet_ones() -> None:
    f = FIELDS[Level.SESSION]["stabilization"]
    assert f.put_parameter(MR) == "xnat:mrSessionData/stabilization"  # the shortcut means PET's
    assert f.put_parameter(PET) == "stabilization"
    assert f.put_parameter(PETMR) == "xnat:petmrSessionData/stabilization"  # its own field, no shortcut
    assert f.listing_column(MR) == "xnat:mrSessionData/stabilization"
    assert f.listing_keys(MR) == ("xnat:mrsessiondata/stabilization", "stabilization")
    assert f.listing_keys(PET) == ("stabilization", "xnat:petsessiondata/stabilization")
    assert not f.applies_to(CT)


def test_the_isotope_name_is_never_written_by_its_shortcut() -> None:
    # `tracer_isotope` was registered twice; the second path, the half-life attribute, won
    f = FIELDS[Level.SESSION]["tracer_isotope"]
    assert f.put_parameter(PET) == "xnat:petSessionData/tracer/isotope"
    assert f.put_parameter(PETMR) == "xnat:petmrSessionData/tracer/isotope"


def test_pet_mr_sessions_take_every_mr_and_pet_field_by_xpath() -> None:
    # their own members: the shortcuts name xnat:mrSessionData or xnat:petSessionData, siblings
    for name in ("coil", "fieldStrength", "tracer_name", "tracer_dose", "scan_start_time"):
        f = FIELDS[Level.SESSION][name]
        assert f.put_parameter(PETMR) == f"xnat:petmrSessionData/{f.path_in(PETMR)}"
        assert f.listing_column(PETMR) == f"xnat:petmrSessionData/{f.path_in(PETMR)}"


def test_acquisition_site_has_no_shortcut() -> None:
    f = FIELDS[Level.SESSION]["acquisition_site"]
    assert f.put_parameter(CT) == "xnat:ctSessionData/acquisition_site"
    assert f.applies_to("xnat:petmrSessionData") and f.applies_to("myplugin:fooSessionData")


@pytest.mark.parametrize(
    ("name", "level", "xsi_type", "has"),
    [
        ("coil", Level.SESSION, MR, True),
        ("coil", Level.SESSION, PET, False),
        ("coil", Level.SESSION, PETMR, True),  # PET-MR declares the MR and PET fields itself
        ("tracer_dose", Level.SESSION, PETMR, True),
        ("scanner", Level.SESSION, "myplugin:fooSessionData", True),
        ("coil", Level.SESSION, "myplugin:fooSessionData", False),
        ("coil", Level.SCAN, t.MR_SCAN, True),
        ("coil", Level.SCAN, "xnat:scScanData", False),
        ("type", Level.SCAN, "xnat:scScanData", True),
        ("gender", Level.SUBJECT, t.SUBJECT, True),
    ],
)
def test_which_types_have_a_field(name: str, level: Level, xsi_type: str, has: bool) -> None:
    assert FIELDS[level][name].applies_to(xsi_type) is has


def test_custom_variables_are_written_with_the_items_own_type_in_front() -> None:
    assert custom_parameter(MR, "visit") == "xnat:mrSessionData/fields/field[name=visit]/field"


def test_patient_identifiers_are_read_only_when_asked() -> None:
    names = {f.name for f in fields_of(Level.SUBJECT, t.SUBJECT)}
    assert "dob" not in names and "dob" in {f.name for f in fields_of(Level.SUBJECT, t.SUBJECT, phi=True)}


def test_the_spec_models_are_the_catalog() -> None:
    models = {Level.SUBJECT: SubjectFields, Level.SESSION: SessionFields, Level.SCAN: ScanFields}
    for level, model in models.items():
        keys = [k for k in model.model_fields if k != "fields"]
        assert keys == [f.name for f in CATALOG if f.level is level and f.settable]


def test_text_lengths_count_the_xml_escaped_form_xnat_stores() -> None:
    from pydantic import ValidationError

    SubjectFields(pi_firstname="R and D " * 3, pi_lastname="x")  # 24 characters: fine
    with pytest.raises(ValidationError, match=r"is 21 characters long \(41 as XNAT stores it, XML-escaped\)"):
        SubjectFields(pi_firstname="R&D " * 5 + "x", pi_lastname="x")
    with pytest.raises(ValidationError, match="at most 255"):  # xs:string without maxLength: varchar(255)
        SessionFields(scanner="x" * 256)
