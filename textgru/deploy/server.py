"""`textgru serve`: a classifier (a run, or its export) behind HTTP, on
FastAPI and uvicorn.

    GET  /          a page: type texts, see their labels, probabilities
                    and the update gate of each token (static files of
                    this package, nothing from elsewhere)
    POST /predict   {"texts": ["A gem.", "A mess."]}
                    -> {"predictions": [{"text", "label", "probability",
                        "probabilities"}, ...]}  (as `predict` returns them)
    POST /gates     {"text": "A gem."} -> {"text", "tokens", "layers":
                        [{"layer", "direction", "update"}]}: each GRU layer
                        and direction's update gate after each token,
                        `(tokens, units)`, as
                        `textgru.interpret.gate_activations` gives it
    GET  /health    {"status": "ok", "labels": [...], "format": ...}
    GET  /openapi.json  the schema (FastAPI's own; its /docs pages load
                    scripts from a CDN, so they are off)

Loading follows `textgru.load`: an export needs onnxruntime only; a run
loads with TensorFlow, and a run made with your own cell imports its module
only with `trust_code`. The server binds 127.0.0.1 unless told another host.
With an API key (`api_key`, or `TEXTGRU_API_KEY`), `/predict` answers only
requests that send it (`Authorization: Bearer KEY` or `X-API-Key: KEY`,
compared in constant time); others get 401. Limits: texts per request, a
text's length (characters) and the body's size (bytes); a request over one
gets a JSON error (413 or 422) and the server serves on. uvicorn stops on
SIGTERM or Ctrl-C after the requests in flight are answered.
"""

import contextlib
import hmac
import importlib.resources
import os
import socket
import threading

from textgru._status import say
from textgru._version import __version__
from textgru.errors import InvalidArgumentError, RunError, TextgruError

API_KEY = "TEXTGRU_API_KEY"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
# The most bytes of an over-long body read (and dropped) before the 413.
DRAIN = 64 << 20
# The page's files (textgru/deploy/page/) by route, with their media types.
PAGE = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/page.js": ("page.js", "text/javascript; charset=utf-8"),
    "/page.css": ("page.css", "text/css; charset=utf-8"),
    "/favicon.svg": ("favicon.svg", "image/svg+xml"),
}
# The page loads nothing but its own files, and no other site may frame it.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        "connect-src 'self'; img-src 'self'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def make_app(
    model, *, api_key=None, max_texts=256, max_chars=10_000, max_bytes=1 << 20
):
    """The FastAPI app that serves `model` (a `ClassifierRun` or an
    `ExportedClassifier`: anything with `predict` and `label_names`)."""
    from typing import Annotated

    from fastapi import Depends, FastAPI, HTTPException, Request
    from fastapi.responses import JSONResponse, Response
    from pydantic import BaseModel, Field, StringConstraints

    if not hasattr(model, "label_names"):
        raise RunError(
            "textgru serve labels texts: it needs a classifier (a run of `textgru "
            "train classify`, or its export)"
        )
    if getattr(getattr(model, "task", None), "name", None) == "multilabel":
        raise RunError(
            "textgru serve gives one label per text: a multi-label run is not "
            "served yet (use textgru predict --json, or textgru.load in Python)"
        )
    for name, value in (
        ("max_texts", max_texts),
        ("max_chars", max_chars),
        ("max_bytes", max_bytes),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidArgumentError(
                f"Expected `{name}` to be a positive integer. Received: {value!r}"
            )
    key = (api_key or "").encode("utf-8")
    # onnxruntime runs requests side by side (its sessions are thread-safe);
    # a run's Keras model answers one request at a time.
    one_at_a_time = (
        contextlib.nullcontext()
        if getattr(model, "format", None) == "onnx"
        else threading.Lock()
    )
    Text = Annotated[str, StringConstraints(max_length=max_chars)]

    class PredictRequest(BaseModel):
        texts: list[Text] = Field(
            min_length=1,
            max_length=max_texts,
            description=f"1 to {max_texts} texts, each at most {max_chars} characters",
            examples=[["A gem of a film.", "A dull mess."]],
        )

    class Prediction(BaseModel):
        text: str
        label: str
        probability: float
        probabilities: dict[str, float]

    class PredictResponse(BaseModel):
        predictions: list[Prediction]

    class GatesRequest(BaseModel):
        text: Text = Field(
            description=f"One text, at most {max_chars} characters",
            examples=["A gem of a film."],
        )

    class LayerGates(BaseModel):
        layer: str
        direction: str
        update: list[list[float]] = Field(
            description="The update gate after each token, (tokens, units)"
        )

    class GatesResponse(BaseModel):
        text: str
        tokens: list[str]
        layers: list[LayerGates]

    app = FastAPI(
        title="textgru",
        version=__version__,
        summary=f"Labels texts: {', '.join(map(str, model.label_names))}",
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(BodyLimit, max_bytes=max_bytes)

    def authorized(request: Request):
        if not key:
            return
        sent = request.headers.get("x-api-key", "")
        bearer = request.headers.get("authorization", "")
        if not sent and bearer.lower().startswith("bearer "):
            sent = bearer[7:]
        if not hmac.compare_digest(sent.encode("utf-8"), key):
            raise HTTPException(
                401, "A missing or wrong API key", {"WWW-Authenticate": "Bearer"}
            )

    @app.get("/health")
    def health():
        return {
            "status": "ok",
            "labels": list(model.label_names),
            "format": getattr(model, "format", "run"),
        }

    @app.post(
        "/predict", response_model=PredictResponse, dependencies=[Depends(authorized)]
    )
    def predict(request: PredictRequest):
        try:
            with one_at_a_time:
                return {"predictions": model.predict(request.texts)}
        except TextgruError as error:
            return JSONResponse({"detail": str(error)}, status_code=422)

    @app.post(
        "/gates", response_model=GatesResponse, dependencies=[Depends(authorized)]
    )
    def gates(request: GatesRequest):
        try:
            with one_at_a_time:
                found = update_gates(model, request.text)
        except TextgruError as error:
            return JSONResponse({"detail": str(error)}, status_code=422)
        for entry in found["layers"]:
            entry["update"] = entry["update"].tolist()
        return found

    page = importlib.resources.files("textgru.deploy") / "page"
    for route, (name, media_type) in PAGE.items():
        content = (page / name).read_bytes()

        def send(content=content, media_type=media_type):
            return Response(content, media_type=media_type, headers=PAGE_HEADERS)

        app.get(route, include_in_schema=False)(send)
    return app


def update_gates(model, text):
    """What `POST /gates` answers: `model.update_gates(text)` of an export,
    or, for a run, `textgru.interpret.gate_activations` of each GRU layer
    and direction in the same form (a cell without an update gate left
    out; none at all is an error)."""
    if hasattr(model, "update_gates"):
        return model.update_gates(text)
    from textgru.interpret import gate_activations, gru_directions

    layers, tokens = [], None
    for index, (_, directions) in enumerate(gru_directions(model.model)):
        for direction in directions:
            found = gate_activations(model, text, layer=index, direction=direction)
            tokens = found.tokens
            if found.update is not None:
                layers.append(
                    {
                        "layer": found.layer,
                        "direction": direction,
                        "update": found.update,
                    }
                )
    if not layers:
        raise RunError(f"The cells of {model.path} have no update gate to show")
    return {"text": text, "tokens": tokens, "layers": layers}


class _TooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: a request body over `max_bytes` gets 413 (by its
    Content-Length before it is read, or as it streams in)."""

    def __init__(self, app, max_bytes):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (
            not length.isdigit() or int(length) > self.max_bytes
        ):
            # Read what the client sends (up to DRAIN bytes) before answering:
            # a client that sends its whole body before it reads would wait
            # for a server that stopped reading.
            drained = 0
            while length.isdigit() and drained < min(int(length), DRAIN):
                message = await receive()
                drained += len(message.get("body", b""))
                if message["type"] != "http.request" or not message.get("more_body"):
                    break
            return await self._refuse(send)
        seen = 0

        async def limited():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise _TooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._refuse(send)

    async def _refuse(self, send):
        from fastapi.responses import JSONResponse

        detail = f"The request body is larger than {self.max_bytes} bytes"
        response = JSONResponse({"detail": detail}, status_code=413)
        await response({"type": "http"}, None, send)


def serve(
    path,
    *,
    host=DEFAULT_HOST,
    port=DEFAULT_PORT,
    api_key=None,
    trust_code=False,
    **limits,
):
    """Load the run or export at `path` and serve it until SIGTERM or Ctrl-C
    (`make_app`'s `limits`: `max_texts`, `max_chars`, `max_bytes`)."""
    import uvicorn

    from textgru.deploy.loading import load

    model = load(path, trust_code=trust_code)
    app = make_app(model, api_key=api_key or os.environ.get(API_KEY), **limits)
    sock = bind(host, port)
    where = sock.getsockname()
    url = f"http://{_host(where[0])}:{where[1]}"
    say(f"serving {path} at {url} (the page at /, POST /predict, GET /health)")
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=30)
    uvicorn.Server(config).run(sockets=[sock])


def bind(host, port):
    """A listening socket on `host`:`port` (port 0: a free one), or a
    one-line error."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, not left 0: asyncio turns Nagle's algorithm off
    # (TCP_NODELAY) only on sockets that say so, and with it on, each answer
    # to a client that keeps its connection open waited about 40 ms for the
    # client's delayed ACK (44 ms p50 against 1.1 ms on a new connection,
    # measured).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise RunError(
            f"Cannot listen on {host}:{port} ({error.strerror}); pick another "
            "--port or --host"
        ) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _host(address):
    return f"[{address}]" if ":" in address else address
