"""Values written plain read back as the same text; everything else is quoted and reads back
as written (checked with ruamel, the spec's own reader)."""

from __future__ import annotations

import pytest
from ruamel.yaml import YAML

from xsync.export.scalars import plain_ok, scalar_text

SAMPLES = [
    "female", "T1w_MPR", "SIEMENS", "Tech&Co", "1.2.840.10008.1", "2.25.123", "1", "01", "1.5", "1e5", "-3",
    ".5", ".inf", ".nan", "0x1F", "0o17", "1:20", "yes", "No", "on", "OFF", "null", "~", "true", "2024-01-31",
    "2024-1-3 10:00", "a: b", "a #b", "# c", "- x", "[x]", "{x}", "*x", "&x", "!x", "%x", "@x", "`x", "'q'",
    '"q"', " lead", "trail ", "", "ümlaut", "line\nbreak", "tab\there", "x-y", "x/y", "A B", "3T", "v1.0",
    "http://127.0.0.1:8080", "a:b", "a:", "10:20:30", "a:#b", "\x1b[31mred", "bidi\u202eevil", "c1\x85x",
    "line\u2028sep", "astral\U0001f600",
]  # fmt: skip


@pytest.mark.parametrize("text", SAMPLES)
def test_every_value_reads_back_as_written(text: str) -> None:
    for style in (None, "'", '"'):
        loaded = YAML(typ="safe").load(f"k: {scalar_text(text, style)}\n")
        assert loaded == {"k": text}


def test_plain_only_where_it_is_plain_text() -> None:
    assert plain_ok("female") and plain_ok("T1w_MPR") and plain_ok("1.2.840.10008.1") and plain_ok("3T")
    assert plain_ok("https://xnat.example.org/xnat")
    assert not any(plain_ok(t) for t in ("1", "1.5", "yes", "null", "2024-01-31", "a: b", "", " x", "1:20"))
    assert scalar_text(25) == "25" and scalar_text(3.0) == "3.0" and scalar_text(True) == "true"


def test_nothing_unprintable_is_written_raw() -> None:
    for text in ("\x1b[2J", "a\u202eb", "x\x85y", "l\u2028s", "t\tab"):
        for style in (None, "'", '"'):
            assert scalar_text(text, style).isprintable()
