"""Bad input never crashes the emulator and never changes its state: every request below gets
a 4xx with a message (a Restlet status page), and the store -- archive, prearchive and the files
on disk -- is what it was."""

from __future__ import annotations

import socket

import requests

from tests.integration.emulator_http import h3, rows, session, snapshot
from xsync.emulator import Emulator

P = "/data/projects/P"


def test_bad_requests_get_4xx_messages_and_leave_state_unchanged(emulator: Emulator) -> None:
    emulator.seed.add_session(
        "P", "s", "e", fields={"scanner": "X"}, scans=[{"id": "1", "fields": {"type": "T1w"}, "files": 2}]
    )
    before = snapshot(emulator)
    s = session(emulator)
    u = emulator.url
    bad: list[tuple[str, str, dict[str, object]]] = [
        ("PUT", f"{P}/subjects/s", {"params": {"gender": "woman"}}),
        ("PUT", f"{P}/subjects/s", {"params": {"age": "NaN-ish"}}),
        ("PUT", f"{P}/subjects/s", {"params": {"src": "x" * 60000}}),
        ("PUT", f"{P}/subjects/s", {"data": {"src": "y" * 1_000_000}}),
        ("PUT", f"{P}/subjects/s", {"params": {"xnat:subjectData/[[[": "1"}}),
        ("PUT", f"{P}/subjects/s", {"params": {"xnat:subjectData/demographics[@xsi:type=": "x"}}),
        ("PUT", f"{P}/subjects/s", {"params": {"xnat:subjectData/fields/field[name=]/field": "x"}}),
        ("PUT", f"{P}/subjects/s", {"data": b"<xnat:Subject><unclosed>", "headers": {"Content-Type": "text/xml"}}),
        ("PUT", f"{P}/subjects/s", {"params": {"label": "a b"}}),
        ("PUT", f"{P}/subjects/bad\x00name", {}),
        ("PUT", f"{P}/subjects/s/experiments/e", {"params": {"date": "31/31/2020"}}),
        ("PUT", f"{P}/subjects/s/experiments/e", {"params": {"time": "25:00:00"}}),
        ("PUT", f"{P}/subjects/s/experiments/e", {"params": {"xnat:mrSessionData/parameters/tr": "1"}}),
        ("PUT", f"{P}/subjects/s/experiments/new", {"params": {"xsiType": "xnat:garbage"}}),
        ("PUT", f"{P}/subjects/s/experiments/e/scans/1", {"params": {"xsiType": "xnat:ctScanData"}}),
        ("PUT", f"{P}/subjects/s/experiments/e/scans/1", {"params": {"frames": "many"}}),
        ("PUT", f"{P}/subjects/s/experiments/e/scans/2", {"params": {"xsiType": "not a type"}}),
        (
            "PUT",
            f"{P}/subjects/s/experiments/e/scans/2",
            {"params": {"xsiType": "xnat:mrScanData", "note": "n" * 3000}},
        ),
        ("PUT", "/data/projects/bad!id", {}),
        ("PUT", f"{P}/prearchive_code/9", {}),
        ("POST", f"{P}/subjects", {"params": {"gender": "male"}}),
        ("GET", f"{P}/experiments", {"params": {"columns": "xnat:nothing/x"}}),
        ("GET", f"{P}/experiments", {"params": {"xsiType": "%%%"}}),
        ("GET", f"{P}/subjects/s/experiments/e/scans/1/resources/R/files/x", {}),
        ("PUT", f"{P}/subjects/s/experiments/e/scans/1/resources/R/files/x", {"params": {"inbody": "true"}}),
        ("DELETE", f"{P}/subjects/nobody", {}),
        ("DELETE", f"{P}/subjects/s/experiments/e/scans/99", {}),
    ]
    for method, path, kwargs in bad:
        r = s.request(method, u + path, **kwargs)  # type: ignore[arg-type]
        assert 400 <= r.status_code < 500, (method, path, r.status_code, r.text[:300])
        assert h3(r), (method, path)
    assert snapshot(emulator) == before
    # Unknown parameters are ignored, malformed paging falls back to defaults: both fine.
    assert s.put(u + f"{P}/subjects/s", params={"whatever": "1", "also": ""}).status_code == 200
    assert len(rows(s.get(u + f"{P}/subjects", params={"limit": "abc", "offset": "-3"}))) == 1
    assert s.get(u + "/data/projects").status_code == 200  # still serving


def test_malformed_http_does_not_kill_the_server(emulator: Emulator) -> None:
    host, port = emulator.url.split("//")[1].split(":")
    for raw in (
        b"GARBAGE\r\n\r\n",
        b"GET /data/projects HTTP/1.1\r\nAuthorization: Basic !!!\r\n\r\n",
        b"\x00\xff" * 10 + b"\r\n\r\n",
    ):
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(raw)
            sock.recv(4096)
    r = requests.get(emulator.url + "/data/projects", auth=("admin", "!!!"))
    assert r.status_code == 401
    assert session(emulator).get(emulator.url + "/data/projects").status_code == 200


def test_huge_request_line_is_414_not_a_crash(emulator: Emulator) -> None:
    r = session(emulator).put(emulator.url + f"{P}/subjects/s", params={"src": "z" * 70000})
    assert r.status_code == 414
    assert session(emulator).get(emulator.url + "/data/projects").status_code == 200


def test_errors_are_restlet_status_pages_even_with_format_json(emulator: Emulator) -> None:
    r = session(emulator).get(emulator.url + f"{P}/subjects/nobody", params={"format": "json"})
    assert r.status_code == 404
    assert r.headers["Content-Type"].startswith("text/html")
    assert r.text.startswith("<html>\n<head>\n   <title>Status page</title>")
