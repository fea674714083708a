"""Small, deterministic, synthetic DICOM for tests, benchmarks, examples and demos.

No real patient data: names and IDs are whatever the caller passes. UIDs are
`2.25.<uuid5>` derived from a seed and the object's place in the study, so two runs
produce byte-identical files. Pixel data is a tiny gradient (8x8 by default) so that
files stay around 1-2 KB.
"""

from __future__ import annotations

import gzip
import uuid
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filewriter import dcmwrite
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

MR_IMAGE = "1.2.840.10008.5.1.4.1.1.4"
ENHANCED_MR_IMAGE = "1.2.840.10008.5.1.4.1.1.4.1"
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
PET_IMAGE = "1.2.840.10008.5.1.4.1.1.128"
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
BASIC_TEXT_SR = "1.2.840.10008.5.1.4.1.1.88.11"

_NAMESPACE = uuid.UUID("6f1c3f0e-57a5-4bde-9d0b-6a0f1c2e9b11")

TRANSFER_SYNTAXES = {
    "explicit-le": ExplicitVRLittleEndian,
    "implicit-le": ImplicitVRLittleEndian,
    "explicit-be": ExplicitVRBigEndian,
    "deflated": DeflatedExplicitVRLittleEndian,
}


def make_uid(*parts: object) -> str:
    """A deterministic UID under the UUID-derived root 2.25."""
    return "2.25." + str(uuid.uuid5(_NAMESPACE, "/".join(str(p) for p in parts)).int)


@dataclass(frozen=True)
class SeriesSpec:
    number: int | None
    description: str
    instances: int = 3
    modality: str = "MR"
    sop_class_uid: str = MR_IMAGE
    protocol_name: str | None = None
    image_type: tuple[str, ...] = ("ORIGINAL", "PRIMARY", "M", "ND")
    frames: int = 1  # > 1 writes one enhanced multi-frame instance per `instances`
    uid: str | None = None  # default: derived from the study UID and the series' position
    repetition_time: float = 2400.0
    echo_time: float = 3.08
    inversion_time: float | None = 1000.0
    flip_angle: float = 8.0
    orientation: tuple[float, ...] = (0.0, 1.0, 0.0, 0.0, 0.0, -1.0)  # sagittal
    # Multi-echo within the series: instance n is echo ((n - 1) % len) + 1 with that echo time.
    echo_times: tuple[float, ...] = ()
    # Instances (1-based) that are secondary captures (Modality OT) inside this series.
    secondary_instances: tuple[int, ...] = ()


@dataclass(frozen=True)
class StudySpec:
    patient_id: str = "SYN001"
    patient_name: str = "Synthetic^Subject"
    birth_date: str = "19900101"
    study_date: str = "20240131"
    study_time: str = "093000"
    study_description: str = "SYNTHETIC"
    accession_number: str = "ACC001"
    study_id: str = "1"
    station_name: str = "SYNSTATION"
    manufacturer: str = "SIEMENS"
    model: str = "Prisma"
    institution: str = "Synthetic Institute"
    field_strength: float = 3.0
    operators_name: str = "OPERATOR^ONE"
    patient_comments: str | None = None
    study_comments: str | None = None
    specific_character_set: str | None = None
    study_uid: str | None = None  # default: derived from the seed
    seed: str = "xsync"
    series: tuple[SeriesSpec, ...] = field(default_factory=lambda: (SeriesSpec(1, "T1w_MPR"), SeriesSpec(2, "T2w_SPC")))

    @property
    def uid(self) -> str:
        return self.study_uid or make_uid(self.seed, "study", self.patient_id, self.study_date)

    def series_uid(self, index: int) -> str:
        s = self.series[index]
        return s.uid or make_uid(self.uid, "series", index, s.number)

    def with_series(self, *series: SeriesSpec) -> StudySpec:
        return replace(self, series=tuple(series))


def instance_uid(study: StudySpec, series_index: int, instance: int) -> str:
    return make_uid(study.series_uid(series_index), "instance", instance)


def make_dataset(
    study: StudySpec, series_index: int, instance: int, *, rows: int = 8, cols: int = 8, realistic: bool = False
) -> Dataset:
    """One instance (1-based `instance`) of a series of `study`, without file meta.

    `realistic` adds what a scanner writes besides the essentials (equipment and acquisition
    details, and a 4 KiB private block standing in for a Siemens CSA header), so that header
    sizes are those of real MR files (about 70 elements).
    """
    s = study.series[series_index]
    if instance in s.secondary_instances:
        s = replace(s, modality="OT", sop_class_uid=SECONDARY_CAPTURE, secondary_instances=())
    ds = Dataset()
    if study.specific_character_set:
        ds.SpecificCharacterSet = study.specific_character_set
    ds.ImageType = list(s.image_type)
    ds.SOPClassUID = s.sop_class_uid
    ds.SOPInstanceUID = instance_uid(study, series_index, instance)
    ds.StudyDate = study.study_date
    ds.SeriesDate = study.study_date
    ds.StudyTime = study.study_time
    ds.SeriesTime = study.study_time
    ds.AccessionNumber = study.accession_number
    ds.Modality = s.modality
    ds.Manufacturer = study.manufacturer
    ds.InstitutionName = study.institution
    ds.StationName = study.station_name
    ds.StudyDescription = study.study_description
    ds.SeriesDescription = s.description
    ds.OperatorsName = study.operators_name
    ds.ManufacturerModelName = study.model
    ds.PatientName = study.patient_name
    ds.PatientID = study.patient_id
    ds.PatientBirthDate = study.birth_date
    ds.PatientSex = "O"
    if study.patient_comments is not None:
        ds.PatientComments = study.patient_comments
    if s.modality == "MR" and s.sop_class_uid in (MR_IMAGE, ENHANCED_MR_IMAGE):
        ds.ScanningSequence = "GR"
        ds.SequenceVariant = "SP"
        ds.SliceThickness = "1"
        ds.RepetitionTime = f"{s.repetition_time:g}"
        ds.EchoTime = f"{s.echo_time:g}"
        if s.echo_times:
            echo = (instance - 1) % len(s.echo_times)
            ds.EchoNumbers = echo + 1
            ds.EchoTime = f"{s.echo_times[echo]:g}"
        if s.inversion_time is not None:
            ds.InversionTime = f"{s.inversion_time:g}"
        ds.MagneticFieldStrength = f"{study.field_strength:g}"
        ds.FlipAngle = f"{s.flip_angle:g}"
    if s.protocol_name is not None:
        ds.ProtocolName = s.protocol_name
    ds.StudyInstanceUID = study.uid
    ds.SeriesInstanceUID = study.series_uid(series_index)
    ds.StudyID = study.study_id
    if s.number is not None:
        ds.SeriesNumber = s.number
    ds.InstanceNumber = instance
    ds.ImagePositionPatient = [0.0, 0.0, float(instance)]
    ds.ImageOrientationPatient = list(s.orientation)
    ds.FrameOfReferenceUID = make_uid(study.uid, "for")
    if study.study_comments is not None:
        ds.StudyComments = study.study_comments
    if s.frames > 1:
        ds.NumberOfFrames = s.frames
        ds.SharedFunctionalGroupsSequence = DicomSequence([Dataset()])
        ds.PerFrameFunctionalGroupsSequence = DicomSequence([Dataset() for _ in range(s.frames)])
    if realistic:
        _add_scanner_detail(ds, study, series_index, instance)
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = rows
    ds.Columns = cols
    ds.PixelSpacing = [1, 1]
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.PixelData = bytes((i * 7 + instance) & 0xFF for i in range(rows * cols * 2 * max(1, s.frames)))
    return ds


def _add_scanner_detail(ds: Dataset, study: StudySpec, series_index: int, instance: int) -> None:
    ds.InstanceCreationDate = study.study_date
    ds.InstanceCreationTime = study.study_time
    ds.AcquisitionDate = study.study_date
    ds.ContentDate = study.study_date
    ds.AcquisitionTime = study.study_time
    ds.ContentTime = study.study_time
    ds.ReferringPhysicianName = ""
    ds.InstitutionAddress = "1 Synthetic Road, Synthtown"
    ds.PatientAge = "034Y"
    ds.PatientWeight = "70"
    ds.BodyPartExamined = "HEAD"
    ds.MRAcquisitionType = "3D"
    ds.SequenceName = "*tfl3d1_ns"
    ds.NumberOfAverages = "1"
    ds.ImagingFrequency = "123.25"
    ds.ImagedNucleus = "1H"
    ds.EchoTrainLength = "1"
    ds.PixelBandwidth = "220"
    ds.DeviceSerialNumber = "12345"
    ds.SoftwareVersions = "syngo MR XA30"
    ds.PatientPosition = "HFS"
    ds.AcquisitionNumber = 1
    ds.SliceLocation = f"{float(instance):g}"
    ds.WindowCenter = "300"
    ds.WindowWidth = "600"
    block = ds.private_block(0x0029, "SYNTH CSA HEADER", create=True)
    seed = make_uid(study.series_uid(series_index), instance).encode()
    block.add_new(0x10, "OB", (seed * (4096 // len(seed) + 1))[:4096])


def to_bytes(ds: Dataset, *, transfer_syntax: str = "explicit-le", preamble: bool = True) -> bytes:
    """Encode a dataset as a Part-10 file (or, with preamble=False, a bare dataset with no
    preamble and no file meta, as some old archives hold)."""
    from io import BytesIO

    ts = TRANSFER_SYNTAXES[transfer_syntax]
    buf = BytesIO()
    if preamble:
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = ds.SOPClassUID
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        meta.TransferSyntaxUID = ts
        meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
        ds.file_meta = meta
        ds.preamble = b"\0" * 128
        dcmwrite(buf, ds, enforce_file_format=True)
    else:
        implicit = ts == ImplicitVRLittleEndian
        dcmwrite(buf, ds, implicit_vr=implicit, little_endian=ts != ExplicitVRBigEndian)
    return buf.getvalue()


def series_folder(study: StudySpec, series_index: int) -> str:
    """The folder (or zip prefix) a series is written under: its number, `<number>-<position>`
    when another series of the study shares that number, else its UID."""
    s = study.series[series_index]
    if s.number is None:
        return study.series_uid(series_index)
    shared = sum(1 for other in study.series if other.number == s.number) > 1
    return f"{s.number}-{series_index + 1}" if shared else str(s.number)


def iter_instances(study: StudySpec, **dataset_options: Any) -> Iterable[tuple[int, int, Dataset]]:
    for si, s in enumerate(study.series):
        for n in range(1, s.instances + 1):
            yield si, n, make_dataset(study, si, n, **dataset_options)


def write_study(
    study: StudySpec,
    root: Path,
    *,
    transfer_syntax: str = "explicit-le",
    preamble: bool = True,
    gzipped: bool = False,
    layout: str = "series",
    rows: int = 8,
    cols: int = 8,
    realistic: bool = False,
) -> list[Path]:
    """Write every instance of `study` under `root` and return the paths in write order.

    layout "series": root/<series folder>/<n>.dcm; "flat": root/<series folder>_<n>.dcm (see
    `series_folder`).
    `rows`, `cols` and `realistic` are passed to `make_dataset`.
    """
    paths: list[Path] = []
    for si, n, ds in iter_instances(study, rows=rows, cols=cols, realistic=realistic):
        series_dir = series_folder(study, si)
        name = f"{n:04d}.dcm" + (".gz" if gzipped else "")
        path = root / series_dir / name if layout == "series" else root / f"{series_dir}_{name}"
        path.parent.mkdir(parents=True, exist_ok=True)
        data = to_bytes(ds, transfer_syntax=transfer_syntax, preamble=preamble)
        path.write_bytes(gzip.compress(data, mtime=0) if gzipped else data)
        paths.append(path)
    return paths


def zip_study(study: StudySpec, zip_path: Path, *, extra: Sequence[tuple[str, bytes]] = ()) -> Path:
    """A zip of the study's instances (entry names `<series>/<n>.dcm`), plus any `extra`
    (name, bytes) entries, e.g. a README that is not DICOM."""
    return zip_studies([study], zip_path, extra=extra)


def zip_studies(studies: Sequence[StudySpec], zip_path: Path, *, extra: Sequence[tuple[str, bytes]] = ()) -> Path:
    """A zip of several studies' instances: entry names `<series>/<n>.dcm` for a single study,
    `<patient ID>/<series>/<n>.dcm` when there are several."""
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_STORED) as zf:
        for study in studies:
            prefix = f"{study.patient_id}/" if len(studies) > 1 else ""
            for si, n, ds in iter_instances(study):
                series_dir = series_folder(study, si)
                info = zipfile.ZipInfo(f"{prefix}{series_dir}/{n:04d}.dcm", date_time=(2024, 1, 1, 0, 0, 0))
                zf.writestr(info, to_bytes(ds))
        for name, data in extra:
            zf.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data)
    return zip_path


# Names, in character sets that need a Specific Character Set to read, for charset tests.
CHARSET_NAMES: dict[str, tuple[str, str]] = {
    "latin1": ("ISO_IR 100", "Müller^Jürgen"),
    "utf8": ("ISO_IR 192", "Łukasiewicz^Ωmega=山田^太郎"),
    "japanese": ("\\ISO 2022 IR 87", "Yamada^Tarou=山田^太郎=やまだ^たろう"),
    "chinese": ("GB18030", "Wang^XiaoDong=王^小东"),
    "cyrillic": ("ISO_IR 144", "Иванов^Иван"),
}


def write_variety(root: Path) -> dict[str, list[Path]]:
    """Files in every encoding and shape the inventory must read, by case: transfer syntaxes,
    no preamble, enhanced multi-frame, a secondary capture in an MR study, series sharing a
    number, a series without a number, character sets, undefined-length sequences (also a
    private one in implicit VR), gzip and zip. Each case is its own study (its own patient)."""
    cases: dict[str, list[Path]] = {}

    def study(name: str, *series: SeriesSpec, **fields: Any) -> StudySpec:
        return StudySpec(
            patient_id=f"VAR-{name}", seed="variety", series=tuple(series) or (SeriesSpec(1, name, 2),), **fields
        )

    for ts in ("explicit-le", "implicit-le", "explicit-be", "deflated"):
        cases[ts] = write_study(study(ts), root / ts, transfer_syntax=ts)
    for ts in ("implicit-le", "explicit-le"):
        name = f"no-preamble-{ts}"
        cases[name] = write_study(study(name), root / name, transfer_syntax=ts, preamble=False)
    enhanced = SeriesSpec(3, "enhanced_bold", instances=1, sop_class_uid=ENHANCED_MR_IMAGE, frames=5)
    cases["enhanced"] = write_study(study("enhanced", enhanced), root / "enhanced")
    screenshot = SeriesSpec(99, "screenshot", 1, modality="OT", sop_class_uid=SECONDARY_CAPTURE)
    cases["mr-with-sc"] = write_study(study("mr-with-sc", SeriesSpec(1, "t1", 2), screenshot), root / "mr-with-sc")
    # Three series numbered 4, each in its own folder (write_study names folders by number).
    same = study("same-number")
    cases["same-number"] = [
        path
        for name, modality in (("a", "MR"), ("b", "MR"), ("c", "OT"))
        for path in write_study(
            same.with_series(SeriesSpec(4, name, 1, modality=modality, uid=make_uid(same.uid, name))),
            root / "same-number" / name,
        )
    ]
    cases["no-series-number"] = write_study(study("no-number", SeriesSpec(None, "unnumbered", 1)), root / "no-number")
    for name, (charset, person) in CHARSET_NAMES.items():
        spec = study(f"charset-{name}", specific_character_set=charset, patient_name=person)
        spec = replace(spec, study_description=person.split("=")[-1].replace("^", " "), institution=person)
        cases[f"charset-{name}"] = write_study(spec, root / f"charset-{name}")
    cases["sequences"] = _write_with_sequences(study("sequences"), root / "sequences", "explicit-le")
    cases["private-sequence-implicit"] = _write_with_sequences(study("priv-seq"), root / "priv-seq", "implicit-le")
    cases["gzip"] = write_study(study("gzip"), root / "gzip", gzipped=True)
    cases["zip"] = [zip_study(study("zip", SeriesSpec(1, "a", 2), SeriesSpec(2, "b", 2)), root / "zip" / "study.zip")]
    return cases


def _write_with_sequences(study: StudySpec, root: Path, transfer_syntax: str) -> list[Path]:
    """Instances with undefined-length sequences (items of undefined length, a nested one) and a
    private sequence before the values the inventory reads."""
    paths = []
    for si, n, ds in iter_instances(study):
        inner = Dataset()
        inner.CodeValue = "X"
        item = Dataset()
        item.ReferencedSOPClassUID = MR_IMAGE
        item.ReferencedSOPInstanceUID = make_uid(study.uid, "ref", n)
        item.PurposeOfReferenceCodeSequence = DicomSequence([inner])
        ds.ReferencedImageSequence = DicomSequence([item, Dataset()])
        ds["ReferencedImageSequence"].is_undefined_length = True
        for it in ds.ReferencedImageSequence:
            it.is_undefined_length_sequence_item = True
        block = ds.private_block(0x0009, "XSYNC TEST", create=True)
        private_item = Dataset()
        private_item.add_new(0x00091001, "LO", "inside")
        block.add_new(0x01, "SQ", DicomSequence([private_item]))
        ds[block.get_tag(0x01)].is_undefined_length = True
        path = root / f"{study.series[si].number}" / f"{n:04d}.dcm"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(to_bytes(ds, transfer_syntax=transfer_syntax))
        paths.append(path)
    return paths


def write_broken(root: Path) -> dict[str, Path]:
    """Files the inventory must report, never crash on, by case."""
    root.mkdir(parents=True, exist_ok=True)
    base = StudySpec(patient_id="BROKEN", seed="broken", series=(SeriesSpec(1, "t1", 3), SeriesSpec(2, "t2", 1)))
    good = to_bytes(make_dataset(base, 0, 1))
    out: dict[str, Path] = {}

    def put(name: str, data: bytes) -> None:
        out[name] = root / name
        out[name].parent.mkdir(parents=True, exist_ok=True)
        out[name].write_bytes(data)

    put("empty.dcm", b"")
    put("README.txt", b"Scans of the synthetic study; ask the lab.\n")
    put("truncated-header.dcm", good[:400])
    put("truncated-pixels.dcm", good[:-40])
    put("dicm-garbage.dcm", b"\0" * 128 + b"DICM" + bytes(range(7, 250)) * 4)
    put("broken.dcm.gz", gzip.compress(good, mtime=0)[:-30])
    put("broken.zip", b"PK\x03\x04" + b"\x00" * 60)
    put("good/0001.dcm", good)
    put("copy/0001.dcm", good)  # an identical copy of good/0001.dcm
    changed = make_dataset(base, 0, 1)
    changed.SeriesDescription = "t1 (edited)"
    put("conflict/0001.dcm", to_bytes(changed))  # same SOP instance, other bytes
    put("good/0002.dcm", to_bytes(make_dataset(base, 0, 2)))
    no_series = make_dataset(base, 0, 3)
    del no_series.SeriesInstanceUID
    put("no-series-uid.dcm", to_bytes(no_series))
    no_uids = make_dataset(base, 1, 1)
    del no_uids.StudyInstanceUID
    put("no-study-uid.dcm", to_bytes(no_uids))
    other_study = replace(base, patient_id="BROKEN2", study_uid=make_uid("broken", "other study"))
    split = replace(other_study, series=(replace(base.series[1], uid=base.series_uid(1)),))
    put("split/0001.dcm", to_bytes(make_dataset(base, 1, 2)))
    put("split/other-study.dcm", to_bytes(make_dataset(split, 0, 5)))
    return out
