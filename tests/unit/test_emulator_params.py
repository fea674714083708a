"""PUT parameter translation and XFT-style validation (pure)."""

from __future__ import annotations

import pytest

from xsync.emulator import params, shortcuts
from xsync.emulator.http import XnatHTTPError


def test_escape_is_xml_escaping() -> None:
    assert params.escape("a & b <c> \"d\" 'e'") == "a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos;"


def test_shortcuts_xpaths_custom_fields_and_identity() -> None:
    changes = params.collect(
        "xnat:mrSessionData",
        shortcuts.EXPERIMENT,
        [
            ("scanner", "SIEMENS"),
            ("xnat:experimentData/date", "01/02/2020"),
            ("xnat:mrSessionData/fields/field[name", "visit]/field=2"),  # split by a query parser
            ("xnat:petSessionData/studyType", "ignored"),
            ("label", "new"),
            ("subject_ID", "sub9"),
            ("event_reason", "ignored"),
            ("note", ""),
        ],
    )
    assert changes.fields == {"scanner": "SIEMENS", "date": "2020-01-02", "note": None}
    assert changes.custom == {"visit": "2"}
    assert changes.identity == {"label": "new", "subject_id": "sub9"}


def test_read_only_shortcuts_are_ignored_on_put() -> None:
    assert params.collect("xnat:subjectData", shortcuts.SUBJECT, [("insert_date", "x")]).fields == {}


def test_all_errors_are_reported_together() -> None:
    with pytest.raises(XnatHTTPError) as e:
        params.collect(
            "xnat:subjectData", shortcuts.SUBJECT, [("gender", "x"), ("age", "y"), ("xnat:subjectData/z", "1")]
        )
    assert e.value.status == 400
    assert e.value.message.count(" : ") == 3


@pytest.mark.parametrize(
    ("text", "iso"),
    [("2020-01-02", "2020-01-02"), ("01/02/2020", "2020-01-02"), ("20200102", "2020-01-02"), ("2020-02-30", None)],
)
def test_dates(text: str, iso: str | None) -> None:
    assert params.parse_date(text) == iso


@pytest.mark.parametrize(("text", "normal"), [("9:05", "09:05:00"), ("09:12:06.156", "09:12:06"), ("24:00", None)])
def test_times(text: str, normal: str | None) -> None:
    assert params.parse_time(text) == normal


def test_string_limits_apply_to_the_escaped_value() -> None:
    spec = params.xsd.field("xnat:mrScanData", "note")
    assert spec is not None
    assert params.check(spec, "&" * 500)[1] is None  # 2500 characters once escaped
    assert params.check(spec, "&" * 501)[1] == "Must Be Less Than 2500 Characters"


@pytest.mark.parametrize(
    ("text", "xsd_type", "value"),
    [
        ("2147483647", "integer", 2147483647),
        ("-2147483648", "int", -2147483648),
        ("2147483648", "integer", None),
        ("9223372036854775807", "long", 9223372036854775807),
        ("9223372036854775808", "long", None),
        ("+7", "integer", 7),
        ("1_000", "integer", None),
        (" 7", "integer", None),
        ("٣", "integer", None),  # non-ASCII digits: Python's int() takes them
    ],
)
def test_integers_are_what_javas_parsers_take(text: str, xsd_type: str, value: int | None) -> None:
    assert params.java_integer(text, xsd_type) == value


@pytest.mark.parametrize(
    ("text", "xsd_type", "value"),
    [
        ("2400", "float", 2400.0),
        ("-1.5e-3", "double", -0.0015),
        (".5", "float", 0.5),
        ("3.4e38", "float", 3.4e38),
        ("3.5e38", "float", None),  # Float.valueOf overflows to Infinity
        ("3.5e38", "double", 3.5e38),
        ("1e400", "double", None),
        ("NaN", "double", None),
        ("nan", "float", None),
        ("Infinity", "double", None),
        ("1_0", "double", None),
        ("1.5f", "float", None),
    ],
)
def test_floats_must_be_finite_decimal_numbers(text: str, xsd_type: str, value: float | None) -> None:
    assert params.java_finite_number(text, xsd_type) == value
