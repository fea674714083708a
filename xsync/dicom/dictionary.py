"""DICOM attributes named in a spec's `remap:`: their tag and VR from pydicom's data dictionary,
which of them xsync may edit and how, and how a text value is encoded.

pydicom is imported only when a remap is validated or applied: most specs have none.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

# Text VRs: what `set` may write (PS3.5 table 6.2-1, maximum lengths per value in characters).
_MAX_LENGTH = {
    "AE": 16, "AS": 4, "CS": 16, "DA": 8, "DS": 16, "DT": 26, "IS": 12, "LO": 64, "LT": 10240,
    "PN": 64, "SH": 16, "ST": 1024, "TM": 14, "UC": 0xFFFFFFFE, "UI": 64, "UR": 0xFFFFFFFE, "UT": 0xFFFFFFFE,
}  # fmt: skip
_SINGLE_VALUED = frozenset({"LT", "ST", "UT", "UR"})  # a backslash is text there, not a separator

# What the edit would break, for attributes xsync never edits.
_REFUSED = {
    0x00080005: "it decides how every text value of the file is read",
    0x00080016: "it decides the SOP class XNAT stores the file as",
    0x00080018: "xsync tells which instances the server holds by it",
    0x00080060: "it decides the session and scan data types",
    0x0020000D: "xsync matches the server's session to the local study by it",
    0x0020000E: "xsync matches the server's scans to the local series by it",
    0x00200011: "it decides the scan ID",
    0x00200013: "it names the file on the server",
}
_PIXEL_DATA = 0x7FE00010
_REFUSED_GROUPS = {0x0002: "it is file meta, not part of the dataset", 0x0028: "it describes the pixel data",
                   0x7FE0: "it is the pixel data"}  # fmt: skip


@dataclass(frozen=True)
class Attribute:
    keyword: str
    tag: int
    vr: str  # the dictionary's VR ("US or SS" style ambiguities keep their first)


@cache
def attribute(keyword: str) -> Attribute | None:
    """The standard attribute `keyword` names, or None when the dictionary has no such keyword."""
    from pydicom.datadict import dictionary_VR, tag_for_keyword

    tag = tag_for_keyword(keyword)
    if tag is None:
        return None
    return Attribute(keyword, int(tag), dictionary_VR(tag).split(" or ")[0])


def refusal(attr: Attribute) -> str:
    """Why xsync never edits `attr` ("" when it may)."""
    if attr.tag > _PIXEL_DATA:
        return "it comes after the pixel data, which the edit never reads past"
    return _REFUSED.get(attr.tag) or _REFUSED_GROUPS.get(attr.tag >> 16, "") or (
        "it is a group length, which xsync keeps true itself" if attr.tag & 0xFFFF == 0 else ""
    )  # fmt: skip


def settable(attr: Attribute) -> bool:
    """Whether `set` may write a text value into it."""
    return attr.vr in _MAX_LENGTH


def value_problem(attr: Attribute, value: str) -> str:
    """Why `value` cannot be written into `attr` ("" when it can)."""
    if not value.isascii() or not value.isprintable():
        return "remap values must be printable ASCII (the file's character set is not changed)"
    limit = _MAX_LENGTH[attr.vr]
    values = [value] if attr.vr in _SINGLE_VALUED else value.split("\\")
    longest = max(len(v) for v in values)
    if longest > limit:
        return f"{attr.keyword} ({attr.vr}) holds at most {limit} characters per value, this is {longest}"
    return ""


def encode_text(attr: Attribute, value: str) -> bytes:
    """A text value as the element's bytes, padded to an even length (UI with NUL, others with
    a space)."""
    data = value.encode("ascii")
    if len(data) % 2:
        data += b"\0" if attr.vr == "UI" else b" "
    return data
