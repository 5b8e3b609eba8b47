"""`textgru serve`: a real server process (uvicorn) on 127.0.0.1, started and
stopped here, hit by concurrent clients and by bad requests; every answer
is checked against the model's own predictions. Bounded: a fixed number of
requests, each with a timeout, to loopback only."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from tests.cli_output import ENTRY
from tests.test_distribute import _listening, _loopback
from tests.tiny import NEGATIVE, NEUTRAL, POSITIVE
from textgru.deploy import runtime
from textgru.deploy.server import PAGE

pytest.importorskip("fastapi")
pytest.importorskip("onnxruntime")

KEY = "a-key-of-the-tests"
PAGE_FOLDER = Path(runtime.__file__).with_name("page")
CLIENTS, REQUESTS = 32, 160


def _start(folder, *flags, env=None):
    """`textgru serve FOLDER --port 0 FLAGS`: (process, base URL). A server
    that does not say where it listens within 60 s is killed; after that its
    stderr is read on (so a full pipe never blocks it)."""
    import select
    import threading

    process = subprocess.Popen(
        [sys.executable, "-c", ENTRY, "serve", str(folder), "--port", "0", *flags],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    deadline, seen = time.monotonic() + 60, []
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([process.stderr], [], [], 1.0)
            if not ready:
                continue
            line = process.stderr.readline()
            if not line:
                break  # the server ended
            seen.append(line)
            if " at http://" in line:
                # What it says from now on, kept (`process.said`).
                process.said = seen
                process.reader = threading.Thread(
                    target=lambda: seen.extend(process.stderr), daemon=True
                )
                process.reader.start()
                return process, line.split(" at ")[1].split()[0]
    except BaseException:
        _kill(process)
        raise
    _kill(process)
    pytest.fail(f"the server did not start in 60 s: {''.join(seen)[-2000:]}")


def _kill(process):
    if process.poll() is None:
        process.kill()
    process.wait(timeout=30)


def _stop(process):
    """SIGTERM; uvicorn shuts down, then ends by the signal it was sent (as
    a process stopped by SIGTERM does). Killed if it has not within 30 s."""
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=30)
    finally:
        _kill(process)


@pytest.fixture(scope="module")
def server(tiny_export):
    process, url = _start(tiny_export[1].path, env={"TEXTGRU_API_KEY": KEY})
    yield process, url
    assert _stop(process) == -signal.SIGTERM


def _post(url, body, key=KEY, headers=None, timeout=30):
    """(status, parsed JSON) of a POST to `url` (`body`: bytes or JSON)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST")
    request.add_header("Content-Type", "application/json")
    if key:
        request.add_header("X-API-Key", key)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _health(url):
    with urllib.request.urlopen(url + "/health", timeout=10) as response:
        return response.status, json.loads(response.read())


def _texts(rng, count):
    words = NEUTRAL + POSITIVE + NEGATIVE
    return [" ".join(rng.choice(words, size=rng.integers(1, 15))) for _ in range(count)]


def test_it_listens_on_loopback_only_and_says_what_it_serves(server, tiny_export):
    process, url = server
    assert url.startswith("http://127.0.0.1:")
    sockets = _listening(process.pid)
    assert sockets and all(_loopback(address) for address, _ in sockets), sockets
    assert _health(url) == (
        200,
        {
            "status": "ok",
            "task": "classify",
            "labels": tiny_export[0].label_names,
            "answers": "a label and its probability",
            "format": "onnx",
        },
    )
    with urllib.request.urlopen(url + "/openapi.json", timeout=10) as response:
        schema = json.loads(response.read())
    assert {"/predict", "/health"} <= set(schema["paths"])


def test_concurrent_clients_each_get_their_own_answers(server, tiny_export):
    """32 clients, 160 requests of 1 to 6 texts each: every request answered
    200, each answer the model's own prediction for that request's texts."""
    _, url = server
    model = tiny_export[1]
    rng = np.random.default_rng(0)
    requests = [_texts(rng, int(rng.integers(1, 7))) for _ in range(REQUESTS)]
    with ThreadPoolExecutor(CLIENTS) as pool:
        answers = list(
            pool.map(lambda t: _post(url + "/predict", {"texts": t}), requests)
        )
    for texts, (status, body) in zip(requests, answers, strict=True):
        assert status == 200, body
        expected = model.predict(texts)
        got = body["predictions"]
        assert [p["text"] for p in got] == texts
        assert [p["label"] for p in got] == [p["label"] for p in expected]
        np.testing.assert_allclose(
            [p["probability"] for p in got],
            [p["probability"] for p in expected],
            rtol=0,
            atol=1e-6,
        )


@pytest.mark.parametrize(
    "body, status, says",
    [
        (b'{"texts": ["a good film"', 422, "JSON decode error"),
        ({"texts": [1, 2]}, 422, "string"),
        ({"texts": "a good film"}, 422, "list"),
        ({"texts": []}, 422, "at least 1"),
        ({"text": ["a good film"]}, 422, "Field required"),
        ({"texts": ["good"] * 10_000}, 422, "at most 256"),
        ({"texts": ["x" * 10_001]}, 422, "at most 10000 characters"),
        (b'{"texts": ["\xff\xfe"]}', 422, "not UTF-8"),
        (b'{"texts": ["' + b"a" * (10 << 20) + b'"]}', 413, "larger than 1048576"),
    ],
    ids=[
        "malformed JSON", "wrong types", "not a list", "empty list", "no texts",
        "10,000 texts", "a text too long", "invalid UTF-8", "a 10 MB body",
    ],
)  # fmt: skip
def test_a_bad_request_is_a_json_error_and_the_server_serves_on(
    server, body, status, says
):
    _, url = server
    got, answer = _post(url + "/predict", body)
    assert got == status, answer
    assert says in json.dumps(answer), answer
    assert _health(url)[0] == 200
    assert _post(url + "/predict", {"texts": ["a good film"]})[0] == 200


def test_predict_needs_the_key(server):
    _, url = server
    texts = {"texts": ["a good film"]}
    assert _post(url + "/predict", texts, key=None) == (
        401,
        {"detail": "A missing or wrong API key"},
    )
    assert _post(url + "/predict", texts, key="a-wrong-key")[0] == 401
    bearer = {"Authorization": f"Bearer {KEY}"}
    assert _post(url + "/predict", texts, key=None, headers=bearer)[0] == 200
    assert _health(url)[0] == 200  # the health check needs no key


def test_sigterm_answers_the_request_in_flight_then_exits(tiny_export):
    process, url = _start(tiny_export[1].path)
    try:
        _answered_through_sigterm(process, url)
    finally:
        _kill(process)


def _answered_through_sigterm(process, url):
    host, port = url[len("http://") :].split(":")
    body = json.dumps({"texts": ["a good film", "a dull plot"]}).encode()
    with socket.create_connection((host, int(port)), timeout=30) as client:
        head = (
            f"POST /predict HTTP/1.1\r\nHost: {host}\r\nContent-Type: "
            f"application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        client.sendall(head.encode() + body[:10])  # the request has begun
        time.sleep(0.3)
        process.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        client.sendall(body[10:])
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = client.recv(65536)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["predictions"][1]["text"] == (
        "a dull plot"
    )
    assert process.wait(timeout=30) == -signal.SIGTERM
    with pytest.raises(OSError):
        socket.create_connection((host, int(port)), timeout=5).close()
    process.reader.join(10)
    assert f"textgru: stopped serving {process.args[4]} at {url}\n" in process.said


def test_a_run_is_served_as_its_export_is(tiny_export):
    """The run folder itself (TensorFlow), in this process, on a real uvicorn."""
    from tests.local_server import serving
    from textgru.deploy.server import make_app

    run, export = tiny_export
    with serving(make_app(run)) as (url, _):
        texts = _texts(np.random.default_rng(1), 9)
        status, body = _post(url + "/predict", {"texts": texts}, key=None)
        assert status == 200 and _health(url)[1]["format"] == "run"
        served = [p["probability"] for p in body["predictions"]]
        exported = [p["probability"] for p in export.predict(texts)]
        np.testing.assert_allclose(served, exported, rtol=0, atol=1e-5)


def test_serve_errors_are_one_line(tiny_export, capsys, tmp_path):
    from tests.cli_output import one_line_error
    from textgru import cli

    run, export = tiny_export
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    with taken:
        port = str(taken.getsockname()[1])
        assert cli.main(["serve", str(export.path), "--port", port]) == 2
        assert "Cannot listen on 127.0.0.1:" in one_line_error(capsys, 2)
    assert cli.main(["serve", str(export.path), "--max-texts", "0"]) == 2
    assert "Expected --max-texts to be a positive" in one_line_error(capsys, 2)
    assert cli.main(["serve", str(tmp_path / "nothing")]) == 2
    assert "No run directory" in one_line_error(capsys, 2)
    assert runtime.is_export(export.path)


def test_gates_of_a_run_and_of_its_export(tiny_export, server):
    """POST /gates: on the export (the server process) and on the run itself
    (served here, in this process: TensorFlow is loaded already)."""
    from tests.expected_gates import assert_update_gates
    from tests.local_server import serving
    from textgru.deploy.server import make_app

    run, _ = tiny_export
    _, url = server
    text = "a dull boring plot but a superb lovely scene"
    status, answer = _post(url + "/gates", {"text": text})
    assert status == 200, answer
    assert_update_gates(answer, run, text)
    with serving(make_app(run)) as (local, _):
        status, answer = _post(local + "/gates", {"text": text}, key=None)
        assert status == 200, answer
        assert_update_gates(answer, run, text)
    for body, code in (
        ({"text": ""}, 422), ({"texts": [text]}, 422), ({"text": "x" * 20_000}, 422)
    ):  # fmt: skip
        status, answer = _post(url + "/gates", body)
        assert status == code and "detail" in answer, (body, answer)
    assert _post(url + "/gates", {"text": text}, key="wrong")[0] == 401


def test_the_page_is_the_packages_own_files_with_a_strict_policy(server):
    _, url = server
    for route, (name, media_type) in PAGE.items():
        with urllib.request.urlopen(url + route, timeout=30) as response:
            body = response.read()
            assert response.headers["Content-Type"] == media_type
            policy = response.headers["Content-Security-Policy"]
            assert "default-src 'none'" in policy and "script-src 'self'" in policy
        assert body == (PAGE_FOLDER / name).read_bytes()
    page = (PAGE_FOLDER / "index.html").read_text()
    assert "http://" not in page and "https://" not in page  # nothing from elsewhere


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_answers_on_a_kept_connection_are_sent_at_once(tiny_export, loop):
    """Nagle's algorithm is off on the server's connections (TCP_NODELAY),
    on either event loop uvicorn may run (uvloop where installed): with it
    on, each answer to a client that keeps its connection open waited about
    40 ms for the client's delayed ACK."""
    import http.client
    import socket

    from tests.local_server import serving
    from textgru.deploy.server import make_app

    with serving(make_app(tiny_export[1]), loop=loop) as (url, server):
        port = int(url.rsplit(":", 1)[1])
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            for _ in range(3):  # one connection, three requests
                body = json.dumps({"texts": ["good fun film"]})
                client.request(
                    "POST", "/predict", body, {"Content-Type": "application/json"}
                )
                response = client.getresponse()
                assert response.status == 200 and json.loads(response.read())
            (connection,) = server.server_state.connections
            sock = connection.transport.get_extra_info("socket")
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        finally:
            client.close()
