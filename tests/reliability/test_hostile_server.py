"""Hostile clients of `textgru serve`, each against a real uvicorn on
127.0.0.1 started here: bodies that are JSON only to Python (NaN,
Infinity, lone surrogates, overlong UTF-8), a chunked body over the limit,
a Host header of another name, and slow clients, all answered with a JSON
4xx or cut, the server serving on. Bounded: a fixed number of connections,
each with a timeout."""

import json
import socket
import urllib.error
import urllib.request

import pytest

from tests.cli_output import one_line_error
from tests.local_server import serving
from textgru import cli
from textgru.errors import InvalidArgumentError

pytest.importorskip("fastapi")
pytest.importorskip("onnxruntime")

from textgru.deploy.protocol import timed_protocol  # noqa: E402
from textgru.deploy.server import hosts_for, make_app  # noqa: E402


@pytest.fixture(scope="module")
def export_url(tiny_export):
    with serving(make_app(tiny_export[1])) as (url, _):
        yield url


@pytest.fixture(scope="module")
def run_url(tiny_export):
    with serving(make_app(tiny_export[0])) as (url, _):
        yield url


def _raw(url, request, timeout=10):
    """The status and parsed body of a raw HTTP/1.1 request (bytes)."""
    host, port = url[len("http://") :].split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as client:
        client.sendall(request)
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body) if body else None


def _post(url, path, body, headers=b""):
    host = url[len("http://") :]
    return _raw(
        url,
        b"POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n%s\r\n%s"
        % (path.encode(), host.encode(), len(body), headers, body),
    )


BODIES = {
    "NaN": (b"/predict", b'{"texts": [NaN]}', "NaN is not JSON"),
    "Infinity": (b"/predict", b'{"texts": ["a", Infinity]}', "Infinity is not JSON"),
    "-Infinity": (b"/gates", b'{"text": -Infinity}', "-Infinity is not JSON"),
    "1e400": (b"/predict", b'{"texts": [1e400]}', "too large for a number"),
    "a lone surrogate": (b"/predict", b'{"texts": ["\\ud800"]}', "lone surrogate"),
    "a lone surrogate to /gates": (b"/gates", b'{"text": "a \\udfff"}', "lone surr"),
    "a surrogate in a key": (b"/predict", b'{"\\ud800": 1}', "lone surrogate"),
    "overlong UTF-8": (b"/predict", b'{"texts": ["\xc0\xaf"]}', "not UTF-8"),
}


@pytest.mark.parametrize("what", BODIES)
@pytest.mark.parametrize("served", ["export_url", "run_url"])
def test_json_only_python_reads_is_a_422(request, served, what):
    url = request.getfixturevalue(served)
    path, body, says = BODIES[what]
    status, answer = _post(url, path.decode(), body)
    assert status == 422, answer
    assert answer["detail"][0]["type"] == "json_invalid"
    assert says in answer["detail"][0]["ctx"]["error"], answer
    status, answer = _post(url, "/predict", b'{"texts": ["a good film"]}')
    assert status == 200 and answer["predictions"][0]["text"] == "a good film"


def test_a_chunked_body_over_the_limit_is_a_413(export_url):
    host = export_url[len("http://") :].encode()
    chunk = b'{"texts": ["' + b"a" * (3 << 20) + b'"]}'
    status, answer = _raw(
        export_url,
        b"POST /predict HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n%x\r\n%s\r\n0\r\n\r\n"
        % (host, len(chunk), chunk),
    )
    assert status == 413 and "larger than" in answer["detail"], answer


def test_a_host_header_of_another_name_is_refused(export_url):
    port = export_url.rsplit(":", 1)[1]
    for host, status in (
        (b"evil.example:" + port.encode(), 400),
        (b"localhost:" + port.encode(), 200),
        (b"127.0.0.1", 200),
    ):
        got, answer = _raw(
            export_url,
            b"GET /health HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % host,
        )
        assert got == status, answer
    assert "is not this server's" in answer_of(export_url, b"rebound.example")
    assert hosts_for("0.0.0.0") is None  # listening everywhere: the user chose
    assert "::1" in hosts_for("::1") and "localhost" in hosts_for("127.0.0.1")


def answer_of(url, host):
    _, answer = _raw(
        url, b"GET /health HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % host
    )
    return answer["detail"]


def test_docs_says_where_the_page_and_the_schema_are(export_url):
    with urllib.request.urlopen(export_url + "/docs", timeout=10) as response:
        page = response.read().decode()
    assert response.status == 200
    assert 'href="/"' in page and 'href="/openapi.json"' in page


def test_an_empty_api_key_or_a_port_out_of_range_is_one_line(
    tiny_export, capsys, monkeypatch
):
    export = str(tiny_export[1].path)
    with pytest.raises(InvalidArgumentError, match="API key is empty"):
        make_app(tiny_export[1], api_key="")
    assert cli.main(["serve", export, "--api-key", ""]) == 2
    assert "API key is empty" in one_line_error(capsys, 2)
    monkeypatch.setenv("TEXTGRU_API_KEY", " ")
    assert cli.main(["serve", export]) == 2
    assert "TEXTGRU_API_KEY" in one_line_error(capsys, 2)
    monkeypatch.delenv("TEXTGRU_API_KEY")
    for port in ("70000", "-1"):
        assert cli.main(["serve", export, "--port", port]) == 2
        assert "from 0 to 65535" in one_line_error(capsys, 2)


def test_slow_clients_are_cut_and_honest_ones_answered(tiny_export):
    """20 connections whose headers never finish, and one whose body stalls
    at 9 of 100 bytes, are closed at their timeouts (1 s here), while
    honest requests are answered meanwhile (a connection left open would
    fail its 10 s receive)."""
    app = make_app(tiny_export[1])
    with serving(app, http=timed_protocol(1, 1)) as (url, _):
        host, port = url[len("http://") :].split(":")
        slow = []
        for _ in range(20):
            client = socket.create_connection((host, int(port)), timeout=10)
            client.sendall(b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            slow.append(client)
        stalled = socket.create_connection((host, int(port)), timeout=10)
        stalled.sendall(
            b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
            b"application/json\r\nContent-Length: 100\r\n\r\n" + b'{"texts":'
        )
        for _ in range(5):  # answered while the slow ones hang on
            status, answer = _post(url, "/predict", b'{"texts": ["a good film"]}')
            assert status == 200, answer
        for client in slow:
            with client:
                answer = client.recv(4096)
                assert answer.startswith(b"HTTP/1.1 408"), answer
                assert client.recv(4096) == b""  # closed
        with stalled:
            assert stalled.recv(4096) == b""  # closed without an answer
