"""A hostile or broken server, through the real `xsync state` in a child process: each answer
ends in one clear `error:` line and exit 1 — no traceback, no hang (the child's timeout only
fails on one), no unbounded memory (the child runs under an address-space limit).

The server is a raw socket server in a thread: it logs in anyone, then plays one scripted answer
to every listing, so the answers can be what no well-behaved HTTP library would send.
"""

from __future__ import annotations

import json
import os
import re
import socket
import socketserver
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

import pytest

from tests.network import free_port, only_error_line
from xsync.xnat.body import MAX_ANSWER_BYTES, MAX_LISTING_ROWS

# The child's address-space limit: far above what xsync needs to read a project (about 0.3 GB
# of address space here), far below what an unbounded answer takes (several GB).
CHILD_MEMORY = 1536 * 1024 * 1024
CHILD_SECONDS = 60  # only a hang reaches this: every case here ends within a few seconds

Answer = Callable[[socket.socket, str], None]  # writes a whole answer to the socket, given the path


def http(status: str, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    head = {"Content-Length": str(len(body)), "Connection": "close", **(headers or {})}
    lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in head.items()), "", ""]
    return "\r\n".join(lines).encode() + body


def sends(data: bytes) -> Answer:
    return lambda sock, path: sock.sendall(data)


def listing(*rows: object) -> bytes:
    return json.dumps({"ResultSet": {"Result": list(rows), "totalRecords": str(len(rows))}}).encode()


def json_answer(body: bytes) -> Answer:
    return sends(http("200 OK", body, {"Content-Type": "application/json"}))


def drip(sock: socket.socket, path: str) -> None:
    """A 200 whose body comes one byte every 0.3 s: never a gap the read timeout sees."""
    sock.sendall(http("200 OK", b"", {"Content-Length": "10000"}))
    for _ in range(10000):
        sock.sendall(b" ")
        time.sleep(0.3)


def endless(sock: socket.socket, path: str) -> None:
    """A chunked body that never ends."""
    sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n")
    chunk = b"[" * 65536
    while True:
        sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))


def announced_never_sent(size: int, sent: bytes, then_close: bool) -> Answer:
    def answer(sock: socket.socket, path: str) -> None:
        sock.sendall(http("200 OK", b"", {"Content-Length": str(size), "Content-Type": "application/json"}) + sent)
        if not then_close:
            time.sleep(CHILD_SECONDS)

    return answer


@cache
def gzip_bomb() -> bytes:
    """512 MiB of zeros in about half a megabyte."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip wrapper
    block = bytes(1024 * 1024)
    return b"".join([*(packer.compress(block) for _ in range(512)), packer.flush()])


@cache
def million_rows() -> bytes:
    rows = ",".join(f'{{"ID":"XNAT_S{i:07d}","label":"s{i}","project":"P"}}' for i in range(1_000_000))
    return b'{"ResultSet":{"Result":[' + rows.encode() + b"]}}"


def status_forever(status: str, headers: dict[str, str] | None = None) -> Answer:
    return sends(http(status, b"<html><body><h3>Go away</h3></body></html>", headers))


@dataclass
class HostileServer:
    """Logs in anyone (a JSESSIONID cookie), then answers every other request with `answer`;
    `subjects`, when given, answers only the subjects listing (the rest get an empty listing)."""

    answer: Answer
    only_subjects: bool = False
    logs_in: bool = True  # False: the login too gets `answer`
    seen: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                head = b""
                while b"\r\n\r\n" not in head:
                    data = self.request.recv(65536)
                    if not data:
                        return
                    head += data
                first, *lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
                method, path, _ = first.split(" ", 2)
                headers = {k.strip().lower(): v.strip() for k, v in (x.split(":", 1) for x in lines if ":" in x)}
                outer.seen.append((method, path, headers))
                try:
                    if path.startswith("/data/JSESSION") and outer.logs_in:
                        cookie = {"Set-Cookie": "JSESSIONID=secret-session-id; Path=/"}
                        self.request.sendall(http("200 OK", b"secret-session-id", cookie))
                    elif outer.only_subjects and "/subjects" not in path:
                        json_answer(listing())(self.request, path)
                    else:
                        outer.answer(self.request, path)
                except OSError:  # the client gave up on this answer: what the case is about
                    pass

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> HostileServer:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


_CHILD = (
    "import resource, sys; resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}));"
    "from xsync.cli.main import main; sys.exit(main(sys.argv[1:]))"
)


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    @property
    def error_line(self) -> str:
        return only_error_line(self.err)

    @property
    def waits(self) -> list[float]:
        return [float(m[1]) for m in re.finditer(r"^retrying .*, in (\d+\.\d) s$", self.err, re.M)]


def xsync_state(server: str, *extra: str) -> Run:
    env = {**os.environ, "XNAT_USER": "admin", "XNAT_PASS": "hunter2-password"}
    env.pop("XNAT_HOST", None)
    done = subprocess.run(
        [sys.executable, "-c", _CHILD.format(limit=CHILD_MEMORY), "state", "--project", "P", "--server", server,
         *extra],
        env=env, capture_output=True, text=True, timeout=CHILD_SECONDS,
    )  # fmt: skip
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout, done.stderr
    assert "hunter2-password" not in done.stderr and "secret-session-id" not in done.stderr
    return Run(done.returncode, done.stdout, done.stderr)


HTML_LOGIN = b"<!DOCTYPE html><html><head><title>Login</title></head><body>Please log in</body></html>"
XNAT_ERROR_PAGE = b"<html><head><title>Error</title></head><body><h3>Something went wrong</h3></body></html>"

# (answer, what the error line says, extra options)
CORPUS: dict[str, tuple[Answer, str, tuple[str, ...]]] = {
    "html-where-json": (sends(http("200 OK", HTML_LOGIN, {"Content-Type": "text/html"})),
                        "not JSON (an HTML page", ()),
    "200-carrying-an-error-page": (sends(http("200 OK", XNAT_ERROR_PAGE)), "not JSON (an HTML page", ()),
    "empty-200": (sends(http("200 OK")), "not JSON (an empty body)", ()),
    "not-utf8": (sends(http("200 OK", b'{"ResultSet": "\xff\xfe"}')), "something that is not JSON", ()),
    "truncated-json": (json_answer(b'{"ResultSet": {"Result": [{"ID": "XNAT_S1", "lab'),
                       "not JSON (truncated or malformed JSON)", ()),
    "deeply-nested-lists": (json_answer(b"[" * 200_000 + b"]" * 200_000), "JSON is nested too deeply", ()),
    "deeply-nested-objects": (json_answer(b'{"a":' * 200_000 + b"1" + b"}" * 200_000),
                              "JSON is nested too deeply", ()),
    "no-result-set": (json_answer(b'{"items": []}'), "the listing has no ResultSet.Result", ()),
    "result-not-a-list": (json_answer(b'{"ResultSet": {"Result": {"ID": "a"}}}'),
                          "ResultSet.Result is an object, not a list of rows", ()),
    "list-values": (json_answer(listing({"ID": ["a"], "label": "x"})),
                    "row 1 of ResultSet.Result has a list in 'ID'", ()),
    "object-values": (json_answer(listing({"ID": "a", "label": {"x": 1}})),
                      "row 1 of ResultSet.Result has an object in 'label'", ()),
    "non-object-rows": (json_answer(listing("XNAT_S1", 2)), "row 1 of ResultSet.Result is a string, not an object",
                        ()),
    "a-million-rows": (lambda sock, path: json_answer(million_rows())(sock, path),
                       f"more than {MAX_LISTING_ROWS:,} rows", ()),
    "slow-body": (drip, "the answer did not arrive whole within 2 s (--timeout)", ("--timeout", "2")),
    "endless-body": (endless, f"larger than the {MAX_ANSWER_BYTES // 2**20} MiB xsync reads", ()),
    "gzip-bomb": (lambda sock, path: sock.sendall(http("200 OK", gzip_bomb(), {"Content-Encoding": "gzip"})),
                  f"larger than the {MAX_ANSWER_BYTES // 2**20} MiB xsync reads", ()),
    "corrupt-gzip": (sends(http("200 OK", b"\x1f\x8b\x08\x00garbage" * 10, {"Content-Encoding": "gzip"})),
                     "compressed body is corrupt", ()),
    "huge-content-length-never-sent": (announced_never_sent(10**12, b"", then_close=False),
                                       "announces 1,000,000,000,000 bytes", ()),
    "content-length-then-silence": (announced_never_sent(1000, b'{"ResultSet"', then_close=False),
                                    "the answer stopped arriving", ("--timeout", "1")),
    "content-length-then-close": (announced_never_sent(1000, b'{"ResultSet"', then_close=True),
                                  "the connection was lost while the answer arrived", ()),
    "429-forever": (status_forever("429 Too Many Requests"), "Go away", ("--timeout", "0.5")),
    "503-forever": (status_forever("503 Service Unavailable"), "Go away", ("--timeout", "0.5")),
    "huge-retry-after": (status_forever("429 Too Many Requests", {"Retry-After": "100000"}),
                         "Go away (the server asked to wait 100000 s; xsync waits 30 s at most)", ()),
    "unreadable-retry-after": (status_forever("503 Service Unavailable", {"Retry-After": "soon"}), "Go away",
                               ("--timeout", "0.5")),
    "retry-after-of-5000-digits": (status_forever("503 Service Unavailable", {"Retry-After": "9" * 5000}),
                                   "Go away", ("--timeout", "0.5")),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_a_hostile_answer_ends_in_one_clear_error(case: str) -> None:
    answer, says, extra = CORPUS[case]
    with HostileServer(answer) as server:
        run = xsync_state(server.url, *extra)
    assert run.code == 1, run.err
    assert says in run.error_line
    assert f"{server.url}/data/" in run.error_line  # it names the request, without credentials


def test_retries_stay_within_the_budget_the_timeout_implies() -> None:
    """--timeout 0.5: retrying a failing request stops after 1.5 s of announced waits, not the
    0 + 1 + 2 + 4 + 8 s of the default backoff."""
    with HostileServer(status_forever("503 Service Unavailable")) as server:
        run = xsync_state(server.url, "--timeout", "0.5")
    assert run.code == 1 and run.waits, run.err
    # the waits as announced, each rounded to tenths (up to 0.05 s more than waited)
    assert sum(run.waits) <= 1.5 + 0.05 * len(run.waits)


def test_a_refused_connection_gives_up_within_the_timeout_budget() -> None:
    run = xsync_state(f"http://127.0.0.1:{free_port()}", "--timeout", "0.3")
    assert run.code == 1
    assert run.error_line.startswith("error: connection refused by")
    assert sum(run.waits) <= 0.9 + 0.1


@pytest.mark.parametrize("kind", ["subjects", "sessions"])
def test_two_objects_with_one_label_are_an_error_not_one_of_them(kind: str) -> None:
    if kind == "subjects":
        rows = listing({"ID": "XNAT_S1", "label": "sub1"}, {"ID": "XNAT_S2", "label": "sub1"})
        server = HostileServer(json_answer(rows), only_subjects=True)
    else:
        experiments = listing(*({"ID": f"XNAT_E{i}", "label": "ses1", "subject_ID": "XNAT_S1", "xsiType": ""}
                                for i in (1, 2)))  # fmt: skip
        server = HostileServer(json_answer(experiments))
    with server:
        run = xsync_state(server.url)
    assert run.code == 1
    said = {"subjects": "two subjects labelled 'sub1' (XNAT_S1 and XNAT_S2)",
            "sessions": "two sessions labelled 'ses1' (XNAT_E1 and XNAT_E2)"}[kind]  # fmt: skip
    assert said in run.error_line


def test_numbers_and_nulls_in_cells_are_read_as_xnat_writes_them() -> None:
    """A tolerated oddity, not an error: a number where XNAT writes a string is that string."""
    rows = listing({"ID": "XNAT_S1", "label": 7, "gender": None}, {"ID": "XNAT_S2", "label": 2.5, "age": 40})
    with HostileServer(json_answer(rows), only_subjects=True) as server:
        run = xsync_state(server.url)
    assert run.code == 0, run.err
    assert "subject 7 (XNAT_S1)" in run.out and "subject 2.5 (XNAT_S2)  age=40" in run.out


def test_a_redirect_to_another_host_is_not_followed_and_carries_no_credentials() -> None:
    """Neither the login (Basic credentials) nor a listing (the session cookie) follows a
    redirect: the other server hears nothing, and the error names where it pointed."""
    with HostileServer(json_answer(listing())) as other:
        port = other.url.rsplit(":", 1)[1]
        target = f"http://localhost:{port}/xnat/data/projects/P/subjects?token=abc"
        redirect = sends(http("302 Found", b"", {"Location": target}))
        for logs_in in (True, False):
            with HostileServer(redirect, logs_in=logs_in) as first:
                run = xsync_state(first.url)
            assert run.code == 1
            assert f"redirected to http://localhost:{port}/xnat/data/projects/P/subjects?token=…" in run.error_line
            assert "does not follow redirects" in run.error_line
            assert "authorization" in first.seen[0][2]  # the login went, with its credentials, to the server asked
            if logs_in:
                assert "JSESSIONID=secret-session-id" in first.seen[1][2].get("cookie", "")
    assert other.seen == []  # and nothing, with or without credentials, went where the redirects pointed
