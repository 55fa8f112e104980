"""The fault matrix (issue 10, item 4) from Python: a client with the binding's default
settings (only ``timeout`` shortened) against small hostile servers on 127.0.0.1.

For every fault, for SendSms (never resent) and ReportConversion (idempotent, retried): the
exception type, the time the call took (never more than the time limit plus a margin) and how
many connections reached the server (an upper bound on the requests; at most one for SendSms).
TLS unknown issuer and wrong host use the fixed certificates of tests/support/certs/ (a test CA
trusted through ``ca_file``). DNS failure needs the core's resolver hook, so it is in the Rust
matrix (tests/fault_matrix.rs) only: the binding passes it through the same C call unchanged.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from pathlib import Path
from typing import Callable, Iterator, List, Optional, Tuple, Type

import pytest

import tcsms

LIMIT = 1.5  # seconds: the client's time limit
MARGIN = 1.0  # scheduling slack on a loaded machine
SECRET_KEY = "FaultMatrixPythonSecretKey00"
PROXY_PASSWORD = "FaultMatrixProxyPassword00"
SEND = ("SendSms", {"PhoneNumberSet": ["+8613800000001"], "SmsSdkAppId": "1400000001", "TemplateId": "2002"})
REPORT = ("ReportConversion", {"SmsSdkAppId": "1400000001", "SerialNo": "1"})
CERTS = Path(__file__).resolve().parents[3] / "tests" / "support" / "certs"
OK_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"

Behaviour = Callable[[socket.socket], None]


class Hostile:
    """A listening socket on 127.0.0.1; each connection runs ``behaviour`` on its own thread."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._lock = threading.Lock()
        self._behaviour = behaviour
        self._threads: List[threading.Thread] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return  # closed
            with self._lock:
                self.connections += 1
            t = threading.Thread(target=self._run, args=(conn,), daemon=True)
            self._threads.append(t)
            t.start()

    def _run(self, conn: socket.socket) -> None:
        try:
            self._behaviour(conn)
        except OSError:
            pass
        finally:
            conn.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.sock.close()
        for t in self._threads:
            t.join(timeout=5)


def read_request(conn: socket.socket) -> bool:
    """Reads the headers and Content-Length bytes of body; False when the client hung up."""
    conn.settimeout(10)
    seen = b""
    while True:
        chunk = conn.recv(4096)
        if not chunk:
            return False
        seen += chunk
        end = seen.find(b"\r\n\r\n")
        if end < 0:
            continue
        length = 0
        for line in seen[:end].decode("latin-1").lower().split("\r\n"):
            if line.startswith("content-length:"):
                length = int(line.split(":", 1)[1].strip())
        if len(seen) >= end + 4 + length:
            return True


def until_hangup(conn: socket.socket) -> None:
    """Reads (and ignores) until the client hangs up, or 30 s pass."""
    conn.settimeout(30)
    try:
        while conn.recv(1024):
            pass
    except OSError:
        pass


def answers(data: bytes) -> Behaviour:
    def behaviour(conn: socket.socket) -> None:
        if read_request(conn):
            conn.sendall(data)
            conn.shutdown(socket.SHUT_RDWR)

    return behaviour


def slow(conn: socket.socket) -> None:
    if read_request(conn):
        time.sleep(LIMIT + 1)
        conn.sendall(OK_HEAD)


def slow_drip(conn: socket.socket) -> None:
    if read_request(conn):
        for byte in OK_HEAD + b" " * 100:
            conn.sendall(bytes([byte]))
            time.sleep(0.5)


def silent(conn: socket.socket) -> None:
    until_hangup(conn)


def headers_then_stall(conn: socket.socket) -> None:
    if read_request(conn):
        conn.sendall(OK_HEAD)
        until_hangup(conn)


def oversized(conn: socket.socket) -> None:
    if read_request(conn):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 33554432\r\n\r\n")
        block = b" " * 65536
        for _ in range(512):
            conn.sendall(block)


def chunked_forever(conn: socket.socket) -> None:
    if read_request(conn):
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"4000\r\n" + b" " * 0x4000 + b"\r\n"
        while True:
            conn.sendall(chunk)


# fault -> (server behaviour, exception type exactly, most connections for ReportConversion)
FAULTS: List[Tuple[str, Behaviour, Type[tcsms.TcsmsError], int]] = [
    ("500", answers(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops"), tcsms.HttpStatusError, 3),
    ("close", answers(b""), tcsms.NetworkError, 3),
    ("slow", slow, tcsms.TimeoutError, 3),
    ("slow-drip", slow_drip, tcsms.TimeoutError, 3),
    ("silent", silent, tcsms.TimeoutError, 3),
    ("headers-then-stall", headers_then_stall, tcsms.TimeoutError, 3),
    ("garbage", answers(b"\x00\x01\x02 this is not HTTP \xff\r\n\r\n{}"), tcsms.NetworkError, 3),
    ("oversized", oversized, tcsms.DecodeError, 1),
    ("chunked-forever", chunked_forever, tcsms.DecodeError, 1),
    (
        "content-length-lie",
        answers(b'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{"Response":{}}'),
        tcsms.NetworkError,
        3,
    ),
]


@pytest.fixture(autouse=True)
def no_proxy_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


def client(endpoint: str, proxy: Optional[str] = None) -> tcsms.Client:
    return tcsms.Client(
        secret_id="AKIDfaultmatrix", secret_key=SECRET_KEY, endpoint=endpoint, timeout=LIMIT, proxy=proxy
    )


def failing_call(c: tcsms.Client, action: str, params: dict) -> Tuple[tcsms.TcsmsError, float]:
    started = time.monotonic()
    with pytest.raises(tcsms.TcsmsError) as info:
        c.call(action, params)
    elapsed = time.monotonic() - started
    shown = f"{info.value} {info.value!r}"
    assert SECRET_KEY not in shown and PROXY_PASSWORD not in shown, shown
    return info.value, elapsed


@pytest.fixture
def hostile() -> Iterator[Callable[[Behaviour], Hostile]]:
    servers: List[Hostile] = []

    def start(behaviour: Behaviour) -> Hostile:
        server = Hostile(behaviour)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.mark.parametrize("action,params", [SEND, REPORT], ids=["SendSms", "ReportConversion"])
@pytest.mark.parametrize("fault,behaviour,error,report_connections", FAULTS, ids=[f[0] for f in FAULTS])
def test_hostile_server(
    hostile: Callable[[Behaviour], Hostile],
    fault: str,
    behaviour: Behaviour,
    error: Type[tcsms.TcsmsError],
    report_connections: int,
    action: str,
    params: dict,
) -> None:
    server = hostile(behaviour)
    e, elapsed = failing_call(client(server.url), action, params)
    assert type(e) is error, f"{fault}/{action}: {type(e).__name__}: {e}"
    assert elapsed <= LIMIT + MARGIN, f"{fault}/{action} took {elapsed:.2f} s"
    most = 1 if action == "SendSms" else report_connections
    assert 1 <= server.connections <= most, f"{fault}/{action}: {server.connections} connections"


@pytest.mark.parametrize("action,params", [SEND, REPORT], ids=["SendSms", "ReportConversion"])
def test_refused_port(action: str, params: dict) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    e, elapsed = failing_call(client(f"http://127.0.0.1:{port}"), action, params)
    assert type(e) is tcsms.NetworkError, f"{type(e).__name__}: {e}"
    assert "not sent" in str(e), e
    assert elapsed <= LIMIT + MARGIN, f"took {elapsed:.2f} s"


@pytest.mark.parametrize("action,params", [SEND, REPORT], ids=["SendSms", "ReportConversion"])
def test_proxy_answers_407(hostile: Callable[[Behaviour], Hostile], action: str, params: dict) -> None:
    proxy = hostile(
        answers(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\nContent-Length: 0\r\n\r\n")
    )
    # The service is never reached: the proxy refuses the tunnel to it first.
    c = client("https://127.0.0.1:9", proxy=f"http://user:{PROXY_PASSWORD}@127.0.0.1:{proxy.port}")
    e, elapsed = failing_call(c, action, params)
    assert type(e) is tcsms.NetworkError, f"{type(e).__name__}: {e}"
    assert "not sent" in str(e), e
    assert elapsed <= LIMIT + MARGIN, f"took {elapsed:.2f} s"
    assert proxy.connections == 1, f"{proxy.connections} connections to the proxy"


def tls_server(cert: str, key: str) -> Behaviour:
    """A TLS server presenting ``cert``; answers 200 should a handshake ever succeed (it must not)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(CERTS / cert, CERTS / key)

    def behaviour(conn: socket.socket) -> None:
        conn.settimeout(10)
        try:
            tls = context.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            return  # the client refused the certificate
        if read_request(tls):
            tls.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 37\r\n\r\n{"Response":{"RequestId":"accepted"}}')

    return behaviour


@pytest.mark.parametrize("action,params", [SEND, REPORT], ids=["SendSms", "ReportConversion"])
@pytest.mark.parametrize(
    "fault,cert,key,ca_file,shows",
    [
        ("tls-unknown-issuer", "self-signed.pem", "self-signed.key", None, "UnknownIssuer"),
        ("tls-wrong-host", "other-host.pem", "other-host.key", str(CERTS / "test-ca.pem"), "not valid for name"),
    ],
    ids=["tls-unknown-issuer", "tls-wrong-host"],
)
def test_tls_certificate_refused(
    hostile: Callable[[Behaviour], Hostile],
    fault: str,
    cert: str,
    key: str,
    ca_file: Optional[str],
    shows: str,
    action: str,
    params: dict,
) -> None:
    server = hostile(tls_server(cert, key))
    c = tcsms.Client(
        secret_id="AKIDfaultmatrix",
        secret_key=SECRET_KEY,
        endpoint=f"https://127.0.0.1:{server.port}",
        timeout=LIMIT,
        ca_file=ca_file,
    )
    e, elapsed = failing_call(c, action, params)
    assert type(e) is tcsms.NetworkError, f"{fault}/{action}: {type(e).__name__}: {e}"
    assert "not sent" in str(e) and shows in str(e), e
    assert elapsed <= LIMIT + MARGIN, f"{fault}/{action} took {elapsed:.2f} s"
    # A refused certificate would be refused again: tried once, never resent.
    assert server.connections == 1, f"{fault}/{action}: {server.connections} connections"
