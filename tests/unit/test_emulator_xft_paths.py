"""How XFT resolves a listing column's xpath (xft_paths.py), against the schema copy."""

from __future__ import annotations

import pytest

from xsync.emulator.xft_paths import Resolution, resolve, standardize


@pytest.mark.parametrize(
    "xpath",
    [
        "xnat:imagescandata/file/label",  # element names and fields in any case
        "xnat:imageScanData/file/file_count",
        "xnat:imageScanData/file/FILE_SIZE",
        "xnat:imageScanData/file/note",
        "xnat:imageScanData/file/tags/tag/name",
        "xnat:imageScanData/file/xnat_abstractresource_id",
        "xnat:imageScanData/file[@xsi:type=xnat:resourceCatalog]/format",
        "xnat:mrScanData/coil",
        "xnat:mrScanData/type",  # inherited from xnat:imageScanData
        "xnat:mrScanData/parameters/voxelRes/x",
        "xnat:mrScanData/xnat_imagescandata_id",  # the base's generated key
        "xnat:mrSessionData/fields/field/name",
        "xnat:mrSessionData/fields/field/field",
        "xnat:subjectData/fields/field[name=site]/field",  # a non-type predicate changes nothing
        "xnat:subjectData/demographics[@xsi:type=xnat:demographicData]/gender",
        "xnat:subjectData/meta/insert_user/login",
        "xnat:experimentData/extension_item/element_name",
        "xnat:mrSessionData/scans/scan/type",
        "xnat:mrSessionData/scanner@manufacturer",  # `@` is a path separator to XFT
        "xnat:imageScanData/sharing/share/project",
    ],
)
def test_resolves(xpath: str) -> None:
    assert resolve(xpath) is Resolution.RESOLVED


@pytest.mark.parametrize(
    "xpath",
    [
        "xnat:imagescandata/file/format",  # xnat:resource's, not xnat:abstractResource's
        "xnat:imagescandata/file/content",
        "xnat:imagescandata/file/URI",
        "xnat:mrScanData/file/format",
        "xnat:imageScanData/coil",  # a subtype's field is not found from its base
        "xnat:imagescandata/parameters/tr",
        "xnat:subjectData/demographics/gender",  # declared xnat:abstractDemographicData
        "xnat:subjectData/xnat_subjectdata_id",  # keyed by ID: no generated key
        "xnat:mrSessionData/no_such_field",
        "xnat:mrSessionData/scans",  # a reference names no column
        "xnat:mrSessionData/",
        "xnat:mrSessionData//label",
    ],
)
def test_unknown_fields(xpath: str) -> None:
    assert resolve(xpath) is Resolution.UNKNOWN_FIELD


def test_unknown_types() -> None:
    assert resolve("xnat:noSuchData/label") is Resolution.UNKNOWN_TYPE
    assert resolve("label") is Resolution.UNKNOWN_TYPE


def test_standardize_like_xft() -> None:
    assert standardize("/xnat:mrSessionData.scanner@model") == "xnat:mrSessionData/scanner/model"
    assert standardize("xnat:subjectData/demographics[@xsi:type=x]/age") == (
        "xnat:subjectData/demographics[@xsi:type=x]/age"
    )
