"""One received DICOM object, read the way XNAT's gradual importer reads it: the header must
parse and carry SOP Class and SOP Instance UIDs, otherwise the object is refused with the
importer's 400 messages. Objects without a Part-10 preamble get a file meta header, as XNAT
writes one before storing them.

Choice (stricter than XNAT): XNAT parses only the leading attributes and copies the rest, so a
file cut inside its pixel data would be stored; the emulator refuses any object whose last
element is cut short ("unable to read DICOM object ..."), so truncated uploads are reported at
once instead of surfacing later.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from pydicom import dcmread
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_file_meta_info
from pydicom.multival import MultiValue
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

from xsync.emulator.http import XnatHTTPError

_UNDEFINED_LENGTH = 0xFFFFFFFF
_PREAMBLE = b"\0" * 128 + b"DICM"


@dataclass(frozen=True)
class ReceivedObject:
    """A DICOM object accepted for the prearchive: its Part-10 bytes and the header values the
    importer routes and names it by."""

    data: bytes  # Part-10 bytes, exactly what gets stored
    dataset: Dataset  # the parsed header (elements stay raw until read)
    name: str | None  # the name it arrived under (zip entry, multipart file); None for C-STORE

    def text(self, keyword: str) -> str:
        """A top-level string value as XNAT reads it ("" when absent); multi-values joined by `\\`."""
        return element_text(self.dataset, keyword)

    def first(self, keyword: str) -> str:
        """The first value of a top-level element, as dcm4che's `getString(tag)` gives it to
        XNAT's identifiers and file namer ("" when absent)."""
        return first_value(self.dataset, keyword)

    @property
    def sop_class_uid(self) -> str:
        return self.text("SOPClassUID")

    @property
    def sop_instance_uid(self) -> str:
        return self.text("SOPInstanceUID")

    @property
    def study_uid(self) -> str:
        return self.text("StudyInstanceUID")

    @property
    def series_uid(self) -> str:
        return self.text("SeriesInstanceUID")


def element_text(ds: Dataset, keyword: str) -> str:
    """A string value the way dcm4che's `getString` joins it: multi-values with `\\`, person
    names as written, "" when absent or empty."""
    try:
        value = ds.get(keyword)
    except Exception:  # a value pydicom cannot convert counts as absent, not as a crash
        return ""
    if value is None or value == "":
        return ""
    if isinstance(value, MultiValue | list | tuple):
        return "\\".join(str(v) for v in value)
    return str(value).strip()


def first_value(ds: Dataset, keyword: str) -> str:
    """The first of a multi-valued element's values, the value itself otherwise ("" when absent
    or empty). Text VRs (LT, ST, UT) are single-valued: a `\\` in them is kept."""
    try:
        value = ds.get(keyword)
    except Exception:  # a value pydicom cannot convert counts as absent, as in element_text
        return ""
    if isinstance(value, MultiValue | list | tuple):
        value = value[0] if len(value) else ""
    return "" if value is None else str(value).strip()


def read_dataset(data: bytes, *, stop_before_pixels: bool = False) -> Dataset:
    """Parse `data` (with or without a Part-10 preamble) or raise ValueError."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns on odd VRs; validity is judged below
        ds: Dataset
        try:
            ds = dcmread(io.BytesIO(data), stop_before_pixels=stop_before_pixels)
        except InvalidDicomError:
            ds = _read_bare(data, stop_before_pixels)
        except Exception as e:
            raise ValueError(str(e)) from e
    if not stop_before_pixels:
        _check_complete(ds, len(data))
    return ds


def _read_bare(data: bytes, stop_before_pixels: bool) -> Dataset:
    """A dataset without preamble and file meta, as old archives hold them. Forced reading
    accepts almost any bytes, so the first element must be a real dataset element (group
    0008, where every image object starts)."""
    try:
        ds = dcmread(io.BytesIO(data), force=True, stop_before_pixels=stop_before_pixels)
    except Exception as e:
        raise ValueError(str(e)) from e
    tags = list(ds.keys())
    if not tags or tags[0].group != 0x0008:
        raise ValueError("not a DICOM dataset")
    return ds


def _check_complete(ds: Dataset, size: int) -> None:
    """Refuse a cut-off file: pydicom stops quietly at a short element or a partial element
    header, so the last element must end exactly where the data does."""
    meta = getattr(ds, "file_meta", None)
    if meta is not None and meta.get("TransferSyntaxUID") == DeflatedExplicitVRLittleEndian:
        return  # offsets refer to the inflated stream
    raws = [e for e in ds._dict.values() if isinstance(e, RawDataElement)]
    if not raws:
        return
    last = max(raws, key=lambda e: e.value_tell)
    if last.length == _UNDEFINED_LENGTH:
        return  # a sequence or encapsulated pixel data ends with its own delimiter
    if last.value_tell + last.length != size:
        raise ValueError(f"the data ends inside or before element {last.tag}")


def receive_object(
    data: bytes, name: str | None, transfer_syntax: str | None = None, sender_ae_title: str | None = None
) -> ReceivedObject:
    """Validate one object as the gradual importer does and give it a Part-10 header.

    `transfer_syntax` and `sender_ae_title` are the importer's `Transfer-Syntax-UID` and
    `Sender-AE-Title` parameters (C-STORE: the presentation context's and the caller's). A bare
    dataset is read in that transfer syntax when it is one pydicom knows, as XNAT reads it with
    `DicomInputStream(bis, ts)` (deflated or big endian data cannot be guessed), else as its bytes
    suggest.

    Raises XnatHTTPError(400) with XNAT's messages: "unable to read DICOM object <name>",
    "object <name> contains no SOP Class UID" / "... SOP Instance UID".
    """
    label = name if name is not None else "null"  # Java prints a missing name as "null"
    bare = data[128:132] != b"DICM"
    announced = transfer_syntax if transfer_syntax and UID(transfer_syntax).is_transfer_syntax else None
    try:
        ds = read_dataset(_announced(data, announced) if bare and announced else data)
    except ValueError:
        raise XnatHTTPError(400, f"unable to read DICOM object {label}") from None
    if not element_text(ds, "SOPClassUID"):
        raise XnatHTTPError(400, f"object {label} contains no SOP Class UID")
    if not element_text(ds, "SOPInstanceUID"):
        raise XnatHTTPError(400, f"object {label} contains no SOP Instance UID")
    if bare:
        data = _with_file_meta(data, ds, transfer_syntax, sender_ae_title)
    return ReceivedObject(data=data, dataset=ds, name=name)


def _announced(data: bytes, transfer_syntax: str) -> bytes:
    """A bare dataset behind a file meta group that names only its transfer syntax: what makes
    pydicom read it in that syntax (only for reading; what is stored gets `_with_file_meta`)."""
    meta = FileMetaDataset()
    meta.TransferSyntaxUID = UID(transfer_syntax)
    buf = DicomBytesIO()
    buf.write(_PREAMBLE)
    write_file_meta_info(buf, meta, enforce_standard=False)
    buf.write(data)
    return buf.getvalue()


def _with_file_meta(data: bytes, ds: Dataset, transfer_syntax: str | None, sender_ae_title: str | None) -> bytes:
    """Prefix a bare dataset with a preamble and file meta: the transfer syntax is the
    `Transfer-Syntax-UID` parameter when given, else the encoding the dataset was read in; the
    `Sender-AE-Title` parameter (the C-STORE caller's AE title), when given, is the Source
    Application Entity Title (0002,0016), as GradualDicomImporter.call writes it."""
    if transfer_syntax is None:
        implicit, little = ds.original_encoding
        if implicit:
            transfer_syntax = ImplicitVRLittleEndian
        else:
            transfer_syntax = ExplicitVRLittleEndian if little else ExplicitVRBigEndian
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(element_text(ds, "SOPClassUID"))
    meta.MediaStorageSOPInstanceUID = UID(element_text(ds, "SOPInstanceUID"))
    meta.TransferSyntaxUID = UID(transfer_syntax)
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    buf = DicomBytesIO()
    buf.write(_PREAMBLE)
    with warnings.catch_warnings():
        # An HTTP caller's Sender-AE-Title may break AE's rules (over 16 characters ...); dcm4che
        # writes it as given, and so does this.
        warnings.simplefilter("ignore")
        if sender_ae_title is not None:
            meta.SourceApplicationEntityTitle = sender_ae_title
        write_file_meta_info(buf, meta, enforce_standard=True)
    buf.write(data)
    return buf.getvalue()
