"""Routes and authentication over real HTTP (REST-CONTRACT.md §1, §9 rows 1, 2 and 8)."""

from __future__ import annotations

import re

import pytest
import requests

from tests.integration.emulator_http import h3, rows, session
from xsync.emulator import Emulator, EmulatorConfig
from xsync.emulator.server import all_routes

USERS = {"users": {"admin": "admin", "alice": "pw-a", "bob": "pw-b"}, "admins": frozenset({"admin"})}


PREFIXES = ("/data", "/REST", "/data/archive", "/REST/archive")
ROUTER_ANSWERS = ("The server has not found anything matching the request URI", "Method Not Allowed")
# One object of each kind, and what a representative request to each kind of route sends.
PATH_VALUES = {"project": "P", "subject": "s1", "experiment": "e1", "scan": "1", "resource": "R"}
PATH_VALUES |= {"name": "f.txt", "code": "4"}
BY_ACCESSION = {"/subjects/": ("subject", "XNAT_S00001"), "/experiments/": ("experiment", "XNAT_E00001")}
POST_PARAMS = {
    "projects": {"ID": "P2"},
    "subjects": {"label": "s2"},
    "experiments": {"label": "e2", "xsiType": "xnat:mrSessionData"},
    "scans": {"ID": "2", "xsiType": "xnat:mrScanData"},
}
_METHOD_ORDER = {"GET": 0, "PUT": 1, "POST": 2, "DELETE": 3}
# Listing timestamps (`2023-09-27 17:31:21.352`) and item meta dates (`Wed Sep 27 17:31:21 UTC 2023`).
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+|\w{3} \w{3} \d\d \d\d:\d\d:\d\d \w+ \d{4}")


ARCHIVE_ROOTS = ("/projects", "/subjects", "/experiments")  # XNATApplication's attachArchiveURI routes


def _archive_requests() -> list[tuple[str, str]]:
    """(method, path without prefix) for every archive route of every route table -- every
    route under projects, subjects or experiments, whatever its table says -- reads, then
    writes, then deletes, the deepest first (so a delete finds its object before its parent's
    delete takes it)."""
    out = []
    for route in all_routes():
        if not route.rule.startswith(ARCHIVE_ROOTS):
            assert not route.archive, route.rule
            continue
        values = dict(PATH_VALUES)
        for start, (name, accession) in BY_ACCESSION.items():
            if route.rule.startswith(start):
                values[name] = accession  # without a project only accession IDs identify
        path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m, v=values: v[m.group(1)], route.rule)
        out += [(method, path) for method in route.methods]

    def order(request: tuple[str, str]) -> tuple[int, int]:
        method, path = request
        return _METHOD_ORDER[method], -path.count("/") if method == "DELETE" else 0

    return sorted(out, key=order)


def _send(s: requests.Session, url: str, method: str, path: str) -> requests.Response:
    if "/files" in path and method in ("PUT", "POST"):
        return s.request(method, url, params={"inbody": "true"}, data=b"bytes")
    if method == "POST":
        return s.post(url, params=POST_PARAMS[path.rsplit("/", 1)[1]])
    if method == "PUT":
        return s.put(url, params={"note": "n"})
    return s.request(method, url, params={"format": "json"})


def _transcript(prefix: str) -> list[tuple[str, str, int, str]]:
    """Every archive route's answer under `prefix`, against a fresh emulator with the same state."""
    with Emulator(EmulatorConfig(projects=("P",))) as emu:
        emu.seed.add_session("P", "s1", "e1", scans=[{"id": "1", "xsi_type": "xnat:mrScanData"}])
        s = session(emu)
        for level in (
            "projects/P",
            "subjects/XNAT_S00001",
            "experiments/XNAT_E00001",
            "experiments/XNAT_E00001/scans/1",
        ):
            assert s.put(f"{emu.url}/data/{level}/resources/R/files/f.txt", params={"inbody": "true"}, data=b"x").ok
        base = emu.url + prefix
        out = []
        for method, path in _archive_requests():
            r = _send(s, base + path, method, path)
            body = _TIMESTAMP.sub("TIMESTAMP", r.text.replace(base, "BASE"))
            out.append((method, path, r.status_code, body))
        return out


def test_every_archive_route_answers_alike_under_every_prefix() -> None:
    """REST-CONTRACT.md §1.1: every archive route (projects, subjects, experiments, scans,
    resources, files) is registered under `/data`, `/REST` and both `/archive` forms."""
    transcripts = {prefix: _transcript(prefix) for prefix in PREFIXES}
    reference = transcripts["/data"]
    assert len(reference) > 80
    for method, path, status, body in reference:
        assert not any(f"<h3>{answer}</h3>" in body for answer in ROUTER_ANSWERS), (method, path, status)
        if method == "GET":
            assert status == 200, (path, body[:200])
    for prefix, transcript in transcripts.items():
        assert transcript == reference, prefix


def test_non_archive_routes_exist_once(emulator: Emulator) -> None:
    s = session(emulator)
    assert s.get(f"{emulator.url}/data/JSESSION").status_code == 200
    for path in ("/data/archive/JSESSION", "/REST/archive/services/import", "/data/archive/prearchive/projects"):
        r = s.request("POST" if "import" in path else "GET", emulator.url + path)
        assert (r.status_code, h3(r)) == (404, ROUTER_ANSWERS[0]), path


def test_no_credentials_gets_401_with_basic_challenge(emulator: Emulator) -> None:
    for path in ("/data/projects", "/REST/projects/P/subjects", "/data/no/such/route"):
        r = requests.get(emulator.url + path)
        assert r.status_code == 401
        assert r.headers["WWW-Authenticate"] == 'Basic realm="XNAT"'


def test_browser_without_credentials_is_redirected_to_login(emulator: Emulator) -> None:
    r = requests.get(
        emulator.url + "/data/projects",
        headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64)"},
        allow_redirects=False,
    )
    assert r.status_code == 302
    assert "Login" in r.headers["Location"]


def test_site_root_without_credentials_redirects_to_the_login_page(emulator: Emulator) -> None:
    # Not a data path, so even a script gets LoginUrlAuthenticationEntryPoint's 302 to the form
    # SecurityConfig names, absolute, with the new session Spring saved the request in.
    r = requests.get(emulator.url + "/", allow_redirects=False)
    assert r.status_code == 302
    sid = r.cookies["JSESSIONID"]
    assert r.headers["Location"] == f"{emulator.url}/app/template/Login.vm;jsessionid={sid}"
    followed = requests.get(emulator.url + "/")
    assert (followed.status_code, followed.headers["Content-Type"]) == (200, "text/html; charset=utf-8")
    assert followed.url.startswith(emulator.url + "/app/template/Login.vm;jsessionid=")
    # With the session cookie back, the session is known: no new one, no URL rewriting.
    s = requests.Session()
    s.get(emulator.url + "/", allow_redirects=False)
    again = s.get(emulator.url + "/", allow_redirects=False)
    assert (again.status_code, again.headers["Location"]) == (302, f"{emulator.url}/app/template/Login.vm")
    assert "Set-Cookie" not in again.headers
    assert requests.get(emulator.url + "/data/projects").status_code == 401  # data paths keep the challenge


@pytest.mark.parametrize("emulator", [{"projects": ("P",), "context_path": "/xnat"}], indirect=True)
def test_context_root_without_credentials(emulator: Emulator) -> None:
    host = emulator.url.removesuffix("/xnat")
    r = requests.get(host + "/xnat", allow_redirects=False)
    assert (r.status_code, r.headers["Location"]) == (302, "/xnat/")  # Tomcat's mapper, before security
    r = requests.get(host + "/xnat/", allow_redirects=False)
    assert r.status_code == 302
    assert r.headers["Location"] == f"{host}/xnat/app/template/Login.vm;jsessionid={r.cookies['JSESSIONID']}"
    assert requests.get(host + "/xnat").url.startswith(host + "/xnat/app/template/Login.vm")


def test_wrong_credentials_get_tomcats_login_failed_page(emulator: Emulator) -> None:
    r = requests.get(emulator.url + "/data/projects", auth=("admin", "wrong"))
    assert r.status_code == 401
    assert "Login attempt failed. Please try again." in r.text
    assert "WWW-Authenticate" not in r.headers


def test_provider_prefixed_username(emulator: Emulator) -> None:
    r = requests.get(emulator.url + "/data/auth", auth=("localdb/admin", "admin"))
    assert (r.status_code, r.text) == (200, "User 'admin' is logged in")


def test_jsession_cookie_flow_as_pyxnat_does_it(emulator: Emulator) -> None:
    first = requests.get(emulator.url + "/data/JSESSION", auth=("admin", "admin"))
    sid = first.text
    assert first.status_code == 200 and re.fullmatch(r"[0-9A-F]{32}", sid)
    assert first.headers["Content-Type"].startswith("text/plain")
    assert first.cookies["JSESSIONID"] == sid
    cookies = {"JSESSIONID": sid}
    assert requests.get(emulator.url + "/data/projects", cookies=cookies).status_code == 200
    assert requests.post(emulator.url + "/data/JSESSION", cookies=cookies).text == sid
    csrf = requests.get(emulator.url + "/data/JSESSION", params={"CSRF": "true"}, cookies=cookies).text
    assert re.fullmatch(rf"{sid}; XNAT_CSRF=[0-9a-f]+", csrf)
    assert requests.delete(emulator.url + "/data/JSESSION", cookies=cookies).status_code == 200
    assert requests.get(emulator.url + "/data/projects", cookies=cookies).status_code == 401


def test_basic_login_sets_a_session_cookie(emulator: Emulator) -> None:
    s = session(emulator)
    assert s.get(emulator.url + "/data/projects").ok
    sid = s.cookies["JSESSIONID"]
    s.auth = None
    assert s.get(emulator.url + "/data/auth").text == "User 'admin' is logged in"
    assert s.cookies["JSESSIONID"] == sid


def test_form_login_as_xnatpy_does_it(emulator: Emulator) -> None:
    r = requests.put(emulator.url + "/data/services/auth", data={"username": "admin", "password": "admin"})
    assert r.status_code == 200 and re.fullmatch(r"[0-9A-F]{32}", r.text)
    auth = requests.get(emulator.url + "/data/auth", cookies={"JSESSIONID": r.text})
    assert auth.text == "User 'admin' is logged in"
    bad = requests.put(emulator.url + "/data/services/auth", data={"username": "admin", "password": "no"})
    assert (bad.status_code, h3(bad)) == (401, "Authentication failed.")


def test_auth_with_csrf(emulator: Emulator) -> None:
    r = session(emulator).get(emulator.url + "/data/auth", params={"CSRF": "true"})
    assert re.fullmatch(r"User 'admin' is logged in; XNAT_CSRF=[0-9a-f]+", r.text)


@pytest.mark.parametrize("emulator", [USERS], indirect=True)
def test_alias_tokens(emulator: Emulator) -> None:
    alice = session(emulator, "alice", "pw-a")
    token = alice.get(emulator.url + "/data/services/tokens/issue").json()
    assert token["xdatUserId"] == "alice" and token["estimatedExpirationTime"] > token["created"]
    assert {"alias", "secret", "singleUse", "validIPAddresses", "enabled", "id"} <= set(token)
    as_token = requests.get(emulator.url + "/data/auth", auth=(token["alias"], token["secret"]))
    assert as_token.text == "User 'alice' is logged in"
    valid = alice.get(f"{emulator.url}/data/services/tokens/validate/{token['alias']}/{token['secret']}").json()
    assert valid == {"valid": "alice"}
    assert [t["alias"] for t in alice.get(emulator.url + "/data/services/tokens/show").json()] == [token["alias"]]
    assert alice.get(f"{emulator.url}/data/services/tokens/invalidate/{token['alias']}").json() == {"result": "OK"}
    assert requests.get(emulator.url + "/data/auth", auth=(token["alias"], token["secret"])).status_code == 401
    assert alice.get(f"{emulator.url}/data/services/tokens/validate/{token['alias']}/{token['secret']}").json() == {}
    # Only admins issue tokens for others.
    assert alice.get(emulator.url + "/data/services/tokens/issue/user/bob").status_code == 403
    for_bob = session(emulator).get(emulator.url + "/data/services/tokens/issue/user/bob").json()
    assert for_bob["xdatUserId"] == "bob"


@pytest.mark.parametrize("emulator", [USERS], indirect=True)
def test_non_member_gets_404_on_reads_and_403_on_writes(emulator: Emulator) -> None:
    emulator.seed.add_project("P", members=["alice"])
    emulator.seed.add_session("P", "sub1", "e1", scans=[{"id": "1"}])
    alice, bob = session(emulator, "alice", "pw-a"), session(emulator, "bob", "pw-b")
    assert [p["ID"] for p in rows(alice.get(emulator.url + "/data/projects"))] == ["P"]
    assert rows(bob.get(emulator.url + "/data/projects")) == []
    for path in (
        "/data/projects/P",
        "/data/projects/P/subjects",
        "/data/projects/P/subjects/sub1",
        "/data/experiments/XNAT_E00001",
        "/data/experiments/XNAT_E00001/scans",
        "/data/subjects/XNAT_S00001",
    ):
        assert alice.get(emulator.url + path, params={"format": "json"}).status_code == 200, path
        assert bob.get(emulator.url + path, params={"format": "json"}).status_code == 404, path
    assert rows(bob.get(emulator.url + "/data/subjects")) == []
    assert rows(bob.get(emulator.url + "/data/experiments")) == []
    writes = [
        ("PUT", "/data/projects/P/subjects/sub2"),
        ("PUT", "/data/projects/P/subjects/sub1/experiments/e2?xsiType=xnat:mrSessionData"),
        ("PUT", "/data/experiments/XNAT_E00001/scans/9?xsiType=xnat:mrScanData"),
        ("DELETE", "/data/projects/P/subjects/sub1"),
        ("DELETE", "/data/experiments/XNAT_E00001"),
        ("PUT", "/data/projects/P/resources/R"),
    ]
    for method, path in writes:
        assert bob.request(method, emulator.url + path).status_code == 403, path
    assert alice.put(emulator.url + "/data/projects/P/subjects/sub2").status_code == 201


@pytest.mark.parametrize("emulator", [USERS], indirect=True)
def test_a_project_created_by_a_user_is_theirs(emulator: Emulator) -> None:
    bob = session(emulator, "bob", "pw-b")
    assert bob.put(emulator.url + "/data/projects/BOBS").status_code == 200
    assert [p["ID"] for p in rows(bob.get(emulator.url + "/data/projects"))] == ["BOBS"]
    assert session(emulator, "alice", "pw-a").get(emulator.url + "/data/projects/BOBS").status_code == 404


def test_unknown_route_is_404_and_wrong_method_405(emulator: Emulator) -> None:
    s = session(emulator)
    r = s.get(emulator.url + "/data/no/such/thing")
    assert r.status_code == 404 and r.text.startswith("<html>")
    r = s.get(emulator.url + "/data/services/import")
    assert r.status_code == 405 and h3(r) == "Method Not Allowed"
    assert s.post(emulator.url + "/data/projects/P/subjects/sub1/experiments/x/scans/1").status_code == 405


def test_xnatpy_bootstrap_calls(emulator: Emulator) -> None:
    """REST-CONTRACT.md §8.5: xnatpy asks for the build information (and reads its `version`)
    and probes /data/version, which XNAT 1.8 answers with a 404."""
    s = session(emulator)
    r = s.get(emulator.url + "/xapi/siteConfig/buildInfo")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    assert r.json()["version"] == "1.8.10"
    assert requests.get(emulator.url + "/xapi/siteConfig/buildInfo").status_code == 401
    assert s.get(emulator.url + "/data/version").status_code == 404
    assert s.get(emulator.url + "/data/xapi/siteConfig/buildInfo").status_code == 404  # XAPI is not under /data


@pytest.mark.parametrize("emulator", [{"context_path": "/xnat"}], indirect=True)
def test_context_path(emulator: Emulator) -> None:
    assert emulator.url.endswith("/xnat")
    s = session(emulator)
    assert s.put(emulator.url + "/data/projects/P/subjects/sub1").status_code == 201
    (row,) = rows(s.get(emulator.url + "/data/projects/P/subjects"))
    assert row["URI"] == "/data/subjects/XNAT_S00001"  # no context path in listing URIs
    assert s.get(emulator.url.removesuffix("/xnat") + "/data/projects").status_code == 404
