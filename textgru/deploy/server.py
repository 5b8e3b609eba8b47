"""`textgru serve`: a run or its export behind HTTP, on FastAPI and uvicorn.

The app is assembled from routers by what the model does (its `graph`):

    a model that answers texts (a classifier, multi-label classifier or
    regressor, a run or its export):
    GET  /          a page: type texts, see their answers (a label and the
                    probabilities, a chip per label, or the number) and the
                    update gate of each token (static files of this
                    package, nothing from elsewhere)
    POST /predict   {"texts": ["A gem.", "A mess."]}
                    -> {"predictions": [...]}: each text's answer as
                    `predict` gives it (`textgru.heads`)
    POST /gates     {"text": "A gem."} -> {"text", "tokens", "layers":
                        [{"layer", "direction", "update"}]}: each GRU layer
                        and direction's update gate after each token,
                        `(tokens, units)`, as
                        `textgru.interpret.gate_activations` gives it

    a language model (a run or its export):
    POST /generate  {"prompt", "max_new_tokens", "temperature", "top_k",
                    "top_p", "seed"} -> {"prompt", "text"}: the same text
                    as `textgru generate` for the same seed

    GET  /health    {"status": "ok", "task", "labels": [...], "format"}
    GET  /openapi.json  the schema (FastAPI's own; its /docs pages load
                    scripts from a CDN, so they are off)

Loading follows `textgru.load`: an export needs onnxruntime only; a run
loads with TensorFlow, and a run made with your own cell imports its module
only with `trust_code`. The server binds 127.0.0.1 unless told another host.
With an API key (`api_key`, or `TEXTGRU_API_KEY`), every POST answers only
requests that send it (`Authorization: Bearer KEY` or `X-API-Key: KEY`,
FastAPI's `HTTPBearer` and `APIKeyHeader`, compared in constant time);
others get 401. `Limits`: texts per request, a text's length (characters),
tokens per generation and the body's size (bytes); a request over one gets
a JSON error (413 or 422) and the server serves on. uvicorn stops on
SIGTERM or Ctrl-C after the requests in flight are answered.
"""

import contextlib
import dataclasses
import hmac
import importlib.resources
import os
import socket
import threading
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from textgru._status import say
from textgru._version import __version__
from textgru.deploy import schemas
from textgru.deploy.limits import DEFAULT_HOST, DEFAULT_PORT, Limits
from textgru.errors import RunError, TextgruError

API_KEY = "TEXTGRU_API_KEY"
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


def make_app(model, *, api_key=None, **limits):
    """The FastAPI app that serves `model`: a run or an export (anything
    `textgru.load` gives), with `Limits` (`max_texts`, `max_chars`,
    `max_bytes`, `max_new_tokens`)."""
    limits = Limits(**limits)
    routers = ROUTERS.get(getattr(model, "graph", None))
    if routers is None:
        raise RunError(
            f"textgru serve needs a run or an export (textgru.load gives one). "
            f"Received: {type(model).__name__}"
        )
    app = FastAPI(
        title="textgru",
        version=__version__,
        summary=_summary(model),
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(BodyLimit, max_bytes=limits.max_bytes)
    app.state.model, app.state.limits = model, limits
    app.state.api_key = (api_key or "").encode("utf-8")
    # onnxruntime runs requests side by side (its sessions are thread-safe);
    # a run's Keras model answers one request at a time.
    app.state.one_at_a_time = (
        contextlib.nullcontext() if model.concurrent else threading.Lock()
    )
    for router in (health, *routers):
        app.include_router(router)
    # What `serve` says it serves: each route of the routers, the page's by /.
    app.state.served = [
        f"{'/'.join(sorted(route.methods))} {route.path}"
        for router in routers
        if router is not page
        for route in router.routes
    ] + (["the page at /"] if page in routers else [])
    return app


def _summary(model):
    labels = list(getattr(getattr(model, "head", None), "label_names", []))
    what = f"labels: {', '.join(map(str, labels))}" if labels else ""
    return f"A textgru {model.task_name} model" + (f" ({what})" if what else "")


# --- who may ask ------------------------------------------------------------

_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)
_bearer = HTTPBearer(auto_error=False)


def authorized(
    request: Request,
    key: Annotated[str | None, Security(_key_header)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
):
    """Every POST's dependency: with an API key set, the request must send
    it (X-API-Key or a Bearer token), compared in constant time."""
    expected = request.app.state.api_key
    if not expected:
        return
    sent = key or (bearer.credentials if bearer is not None else "")
    if not hmac.compare_digest(sent.encode("utf-8"), expected):
        raise HTTPException(
            401, "A missing or wrong API key", {"WWW-Authenticate": "Bearer"}
        )


def _too_long(where, value, limit, what):
    """The 422 pydantic gives a value over its limit, for the server's own
    limits (set per server, not per schema)."""
    raise RequestValidationError(
        [
            {
                "type": "too_long",
                "loc": ("body", *where),
                "msg": f"{what} should have at most {limit} {_UNITS[what]}",
                "input": value if isinstance(value, int) else None,
            }
        ]
    )


_UNITS = {"List": "items", "String": "characters", "Value": "tokens"}


def _check_text(text, where, limits):
    if len(text) > limits.max_chars:
        _too_long(where, None, limits.max_chars, "String")


@contextlib.contextmanager
def _answering(request):
    """The model, one request at a time where it must be; a textgru error is
    a 422 with its message."""
    try:
        with request.app.state.one_at_a_time:
            yield request.app.state.model
    except TextgruError as error:
        raise HTTPException(422, str(error)) from None


# --- the routers --------------------------------------------------------------

health = APIRouter()


@health.get("/health", response_model=schemas.Health)
def _health(request: Request):
    model = request.app.state.model
    head = getattr(model, "head", None)
    return {
        "status": "ok",
        "task": model.task_name,
        "labels": list(head.label_names) if head is not None else [],
        "answers": head.answer if head is not None else "",
        "format": getattr(model, "format", "run"),
    }


answers = APIRouter(dependencies=[Depends(authorized)])


@answers.post("/predict", response_model=schemas.PredictResponse)
def _predict(body: schemas.PredictRequest, request: Request):
    limits = request.app.state.limits
    if len(body.texts) > limits.max_texts:
        _too_long(("texts",), None, limits.max_texts, "List")
    for i, text in enumerate(body.texts):
        _check_text(text, ("texts", i), limits)
    with _answering(request) as model:
        return {"predictions": model.answers(body.texts)}


@answers.post("/gates", response_model=schemas.GatesResponse)
def _gates(body: schemas.GatesRequest, request: Request):
    _check_text(body.text, ("text",), request.app.state.limits)
    with _answering(request) as model:
        found = model.update_gates(body.text)
    for entry in found["layers"]:
        entry["update"] = entry["update"].tolist()
    return found


generation = APIRouter(dependencies=[Depends(authorized)])


@generation.post("/generate", response_model=schemas.GenerateResponse)
def _generate(body: schemas.GenerateRequest, request: Request):
    limits = request.app.state.limits
    _check_text(body.prompt, ("prompt",), limits)
    if body.max_new_tokens > limits.max_new_tokens:
        _too_long(("max_new_tokens",), body.max_new_tokens, limits.max_new_tokens,
                  "Value")  # fmt: skip
    with _answering(request) as model:
        text = model.generate(
            body.prompt,
            max_new_tokens=body.max_new_tokens,
            temperature=body.temperature,
            top_k=body.top_k,
            top_p=body.top_p,
            seed=body.seed,
        )
    return {"prompt": body.prompt, "text": text}


def _page_router():
    router = APIRouter(include_in_schema=False)
    page = importlib.resources.files("textgru.deploy") / "page"
    for route, (name, media_type) in PAGE.items():
        content = (page / name).read_bytes()

        def send(content=content, media_type=media_type):
            return Response(content, media_type=media_type, headers=PAGE_HEADERS)

        router.get(route)(send)
    return router


page = _page_router()

# The routers of each kind of graph a model runs (`Task.graph`).
ROUTERS = {"outputs": (answers, page), "steps": (generation,)}


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
    (`limits`: `Limits`' fields)."""
    import uvicorn

    from textgru.deploy.loading import load

    limits = Limits(**limits)  # refused before loading anything
    model = load(path, trust_code=trust_code)
    app = make_app(
        model, api_key=api_key or os.environ.get(API_KEY), **dataclasses.asdict(limits)
    )
    sock = bind(host, port)
    where = sock.getsockname()
    url = f"http://{_host(where[0])}:{where[1]}"
    say(f"serving {path} at {url} ({', '.join(app.state.served)}, GET /health)")
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
