"""What the inventory reads from each DICOM header, and how the raw bytes become text.

`Header` holds one instance's values. `WANTED` maps each dataset tag the inventory reads to
its place in `Header` and its decoder; `decode` turns raw values into a `Header` exactly as
pydicom would read them: its stripping rules per VR, multi-valued elements joined by `\\`,
and text in the file's Specific Character Set decoded through `pydicom.charset` whenever it
is not plain ASCII (pydicom is imported only then).
"""

from __future__ import annotations

import warnings
from typing import NamedTuple


class Header(NamedTuple):
    """The header values of one DICOM instance, as text ("" when absent).

    Multi-valued elements are joined with `\\`, as they are written in the file. The first
    `INSTANCE_FIELDS` differ from instance to instance; the rest (`header[INSTANCE_FIELDS:]`)
    are usually the same for every file of a series, which the cache and the worker processes
    use to store and send them once.
    """

    sop_instance_uid: str
    instance_number: str
    transfer_syntax_uid: str
    specific_character_set: str
    image_type: str
    sop_class_uid: str
    study_date: str
    study_time: str
    accession_number: str
    modality: str
    manufacturer: str
    institution_name: str
    station_name: str
    study_description: str
    series_description: str
    operators_name: str
    manufacturer_model_name: str
    patient_name: str
    patient_id: str
    patient_birth_date: str
    additional_patient_history: str
    patient_comments: str
    magnetic_field_strength: str
    protocol_name: str
    study_instance_uid: str
    series_instance_uid: str
    study_id: str
    series_number: str
    number_of_frames: str
    study_comments: str


INSTANCE_FIELDS = 2

# How a value is turned into text, following pydicom's converters (pydicom/values.py):
_UI = 0  # rstrip NUL and space, split on backslash
_CS = 1  # CS, DA, TM, AS: rstrip space and NUL of the whole value
_NUM = 2  # IS, DS: strip both ends
_TEXT = 3  # SH, LO, UC: character set, split, rstrip NUL and space of each value
_SINGLE = 4  # ST, LT, UT: character set, one value, rstrip NUL and space
_PN = 5  # PN: rstrip the bytes, character set, split

# (tag, VR, decoder); the index in `Header` follows from the order. Tags ascend.
_DATASET_FIELDS: tuple[tuple[int, str, int, str], ...] = (
    (0x00080005, "CS", _CS, "specific_character_set"),
    (0x00080008, "CS", _CS, "image_type"),
    (0x00080016, "UI", _UI, "sop_class_uid"),
    (0x00080018, "UI", _UI, "sop_instance_uid"),
    (0x00080020, "DA", _CS, "study_date"),
    (0x00080030, "TM", _CS, "study_time"),
    (0x00080050, "SH", _TEXT, "accession_number"),
    (0x00080060, "CS", _CS, "modality"),
    (0x00080070, "LO", _TEXT, "manufacturer"),
    (0x00080080, "LO", _TEXT, "institution_name"),
    (0x00081010, "SH", _TEXT, "station_name"),
    (0x00081030, "LO", _TEXT, "study_description"),
    (0x0008103E, "LO", _TEXT, "series_description"),
    (0x00081070, "PN", _PN, "operators_name"),
    (0x00081090, "LO", _TEXT, "manufacturer_model_name"),
    (0x00100010, "PN", _PN, "patient_name"),
    (0x00100020, "LO", _TEXT, "patient_id"),
    (0x00100030, "DA", _CS, "patient_birth_date"),
    (0x001021B0, "LT", _SINGLE, "additional_patient_history"),
    (0x00104000, "LT", _SINGLE, "patient_comments"),
    (0x00180087, "DS", _NUM, "magnetic_field_strength"),
    (0x00181030, "LO", _TEXT, "protocol_name"),
    (0x0020000D, "UI", _UI, "study_instance_uid"),
    (0x0020000E, "UI", _UI, "series_instance_uid"),
    (0x00200010, "SH", _TEXT, "study_id"),
    (0x00200011, "IS", _NUM, "series_number"),
    (0x00200013, "IS", _NUM, "instance_number"),
    (0x00280008, "IS", _NUM, "number_of_frames"),
    (0x00324000, "LT", _SINGLE, "study_comments"),
)
_INDEX = {name: i for i, name in enumerate(Header._fields)}
# tag -> (index in Header, decoder)
WANTED: dict[int, tuple[int, int]] = {tag: (_INDEX[name], kind) for tag, _, kind, name in _DATASET_FIELDS}
KEYWORDS: dict[int, str] = {tag: name for tag, _, _, name in _DATASET_FIELDS}
_CHARSET_INDEX = _INDEX["specific_character_set"]
_N_FIELDS = len(Header._fields)
_TS_INDEX = _INDEX["transfer_syntax_uid"]


# Decoded series-level parts by their raw values: the files of a series repeat those byte for
# byte, so most files decode only their two instance values. Per process; cleared when large.
_SHARED_BY_RAW: dict[tuple[object, ...], tuple[str, ...]] = {}
_SHARED_BY_RAW_LIMIT = 1024  # distinct series-level parts; about 1 KB each


def decode(found: list[tuple[tuple[int, int], bytes]], ts: str) -> Header:
    """Turn the raw values of the wanted elements into a Header, as pydicom would read them."""
    key = (ts, *[item for item in found if item[0][0] >= INSTANCE_FIELDS])
    shared = _SHARED_BY_RAW.get(key)
    if shared is None:
        values = _decode_all(found, ts)
        shared = tuple(values[INSTANCE_FIELDS:])
        if len(_SHARED_BY_RAW) >= _SHARED_BY_RAW_LIMIT:
            _SHARED_BY_RAW.clear()
        _SHARED_BY_RAW[key] = shared
        return Header._make(values)
    instance = ["", ""]
    for (index, kind), data in found:
        if index < INSTANCE_FIELDS:
            instance[index] = decode_instance(data, kind)
    return Header._make((*instance, *shared))


def decode_instance(data: bytes, kind: int) -> str:
    """The SOP instance UID or the instance number (no character set applies to either)."""
    text = data.decode("latin-1")
    return text.strip() if kind == _NUM else text.rstrip("\0 ")


def _decode_all(found: list[tuple[tuple[int, int], bytes]], ts: str) -> list[str]:
    values = [""] * _N_FIELDS
    values[_TS_INDEX] = ts
    encodings: list[str] | None = None
    for (index, kind), data in found:
        text: str | None
        try:
            text = data.decode("ascii")
        except UnicodeDecodeError:  # a VR without character set takes pydicom's default encoding
            text = data.decode("latin-1") if kind < _TEXT else None
        # Non-ASCII text, ISO 2022 escapes, or a person name with component groups: pydicom's way.
        if text is None or (kind >= _TEXT and ("\x1b" in text or (kind == _PN and "=" in text))):
            if encodings is None:
                encodings = _encodings(next((d for (i, _), d in found if i == _CHARSET_INDEX), b""))
            values[index] = _decode_text(data, kind, encodings)
        elif kind == _NUM:
            values[index] = text.strip()
        elif kind == _TEXT and "\\" in text:
            values[index] = "\\".join(v.rstrip("\0 ") for v in text.split("\\"))
        else:
            values[index] = text.rstrip("\0 ")
    return values


def _encodings(charset: bytes) -> list[str]:
    from pydicom.charset import convert_encodings

    names = charset.decode("latin-1").rstrip(" \0").split("\\")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns about misspelt names and corrects them
        return convert_encodings(names)


def _decode_name_groups(data: bytes, encodings: list[str]) -> str:
    """A PN with alphabetic/ideographic/phonetic groups, as pydicom's PersonName prints it
    (empty trailing groups dropped)."""
    from pydicom.multival import MultiValue
    from pydicom.values import convert_PN

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = convert_PN(data, encodings)
    return "\\".join(map(str, value)) if isinstance(value, MultiValue) else str(value)


def _decode_text(data: bytes, kind: int, encodings: list[str]) -> str:
    from pydicom.charset import decode_bytes
    from pydicom.valuerep import TEXT_VR_DELIMS

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undecodable bytes become U+FFFD, as pydicom does
        if kind == _PN:
            if b"=" in data:
                return _decode_name_groups(data, encodings)
            return decode_bytes(data.rstrip(b"\0 "), encodings, TEXT_VR_DELIMS)
        text = decode_bytes(data, encodings, TEXT_VR_DELIMS)
    if kind == _SINGLE:
        return text.rstrip("\0 ")
    return "\\".join(v.rstrip("\0 ") for v in text.split("\\"))
