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
                    scripts from a CDN, so they are off: GET /docs says
                    where the page and the schema are)

Loading follows `textgru.load`: an export needs onnxruntime only; a run
loads with TensorFlow, and a run made with your own cell imports its module
only with `trust_code`. The server binds 127.0.0.1 unless told another host.
With an API key (`api_key`, or `TEXTGRU_API_KEY`), every POST answers only
requests that send it (`Authorization: Bearer KEY` or `X-API-Key: KEY`,
FastAPI's `HTTPBearer` and `APIKeyHeader`, compared in constant time);
others get 401. `Limits`: texts per request, a text's length (characters),
tokens per generation and the body's size (bytes); a request over one gets
a JSON error (413 or 422) and the server serves on. Bodies are read as
strict JSON of text (no NaN, Infinity or lone surrogates: 422); a loopback
server answers only its own Host names (DNS rebinding: 400); a request's
headers and body must arrive within their timeouts (`protocol`). uvicorn
stops on SIGTERM or Ctrl-C after the requests in flight are answered.
"""

import contextlib
import dataclasses
import hmac
import importlib.resources
import ipaddress
import json
import math
import os
import socket
import threading
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException

from textgru import _quiet
from textgru._status import say
from textgru._unicode import LONE_SURROGATE, all_text
from textgru._version import __version__
from textgru.deploy import schemas
from textgru.deploy.limits import DEFAULT_HOST, DEFAULT_PORT, LOOPBACK_NAMES, Limits
from textgru.errors import InvalidArgumentError, RunError, TextgruError

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


def make_app(model, *, api_key=None, hosts=LOOPBACK_NAMES, **limits):
    """The FastAPI app that serves `model`: a run or an export (anything
    `textgru.load` gives), with `Limits` (`max_texts`, `max_chars`,
    `max_bytes`, `max_new_tokens`); `hosts`: the names its Host header may
    give (None: any), a loopback server's own by default."""
    limits = Limits(**limits)
    if api_key is not None and not api_key.strip():
        raise InvalidArgumentError(
            "The API key is empty, which would leave every POST open: give a key "
            f"(--api-key, or {API_KEY}), or leave both out to serve without one"
        )
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
    if hosts is not None:
        app.add_middleware(HostCheck, hosts=hosts)
    app.state.model, app.state.limits = model, limits
    app.state.api_key = (api_key or "").encode("utf-8")
    # onnxruntime runs requests side by side (its sessions are thread-safe);
    # a run's Keras model answers one request at a time.
    app.state.one_at_a_time = (
        contextlib.nullcontext() if model.concurrent else threading.Lock()
    )
    for router in (health, docs, *routers):
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


class StrictJSONRequest(Request):
    """A request whose JSON body is strict JSON of Unicode text: no `NaN`,
    `Infinity` or numbers too large for a float, no lone surrogates (an
    escaped `\\ud800`, which no text can be encoded with), and UTF-8; any
    of them is FastAPI's 422 `json_invalid`, not a 500 later."""

    async def json(self):
        if not hasattr(self, "_json"):
            self._json = strict_json(await self.body())
        return self._json


def strict_json(body):
    """`body` (bytes) parsed as strict JSON, or a `json.JSONDecodeError`."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise json.JSONDecodeError("the body is not UTF-8", "", error.start) from None
    value = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    if not all_text(value):
        raise json.JSONDecodeError(f"a string holds {LONE_SURROGATE}", text, 0)
    return value


def _no_constant(name):
    raise json.JSONDecodeError(f"{name} is not JSON (JSON has no {name})", name, 0)


def _finite(literal):
    value = float(literal)
    if not math.isfinite(value):
        raise json.JSONDecodeError(f"{literal} is too large for a number", literal, 0)
    return value


class StrictJSONRoute(APIRoute):
    """A route that reads its body as `StrictJSONRequest` (FastAPI's
    custom-request pattern)."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def strict(request):
            return await handler(StrictJSONRequest(request.scope, request.receive))

        return strict


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


docs = APIRouter(include_in_schema=False)


@docs.get("/docs")
def _docs():
    """FastAPI's /docs pages load scripts from a CDN, so they are off: this
    says where the page and the schema are."""
    return HTMLResponse(
        "<!doctype html><title>textgru</title><p>This server's page is at "
        '<a href="/">/</a>; its API is described by <a href="/openapi.json">'
        "/openapi.json</a> (open it in any OpenAPI viewer).",
        headers=PAGE_HEADERS,
    )


answers = APIRouter(dependencies=[Depends(authorized)], route_class=StrictJSONRoute)


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


generation = APIRouter(dependencies=[Depends(authorized)], route_class=StrictJSONRoute)


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


class _TooLarge(StarletteHTTPException):
    """A body over the limit, found as it streams in (raised inside FastAPI's
    body read, it reaches the client as this 413)."""

    def __init__(self, max_bytes):
        super().__init__(413, f"The request body is larger than {max_bytes} bytes")


class HostCheck:
    """ASGI middleware: a request whose Host header names another server
    gets 400 (a loopback server is not reachable through a DNS name rebound
    to 127.0.0.1 by a page elsewhere)."""

    def __init__(self, app, hosts):
        self.app, self.hosts = app, {host.lower() for host in hosts}

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            host = _host_name(dict(scope["headers"]).get(b"host", b""))
            if host not in self.hosts:
                detail = (
                    f"The Host header {host!r} is not this server's (it answers "
                    f"{', '.join(sorted(self.hosts))}); serve with --host to listen "
                    "on another address"
                )
                response = JSONResponse({"detail": detail}, status_code=400)
                return await response(scope, receive, send)
        return await self.app(scope, receive, send)


def _host_name(header):
    """The name of a Host header (`[::1]:8000` -> `::1`), lower-cased."""
    host = header.decode("latin-1").strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def hosts_for(host):
    """The Host names a server bound to `host` answers: a loopback address's
    own names, or (None) any, where the user chose to listen elsewhere."""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    return (*LOOPBACK_NAMES, host) if loopback else None


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
                # As above: read the rest (up to DRAIN bytes), then answer.
                while message.get("more_body") and seen < DRAIN:
                    message = await receive()
                    seen += len(message.get("body", b""))
                raise _TooLarge(self.max_bytes)
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
    threads=None,
    **limits,
):
    """Load the run or export at `path` and serve it until SIGTERM or Ctrl-C
    (`limits`: `Limits`' fields; `threads`: onnxruntime's, of an export)."""
    import uvicorn

    from textgru.deploy.loading import load
    from textgru.deploy.protocol import timed_protocol

    limits = Limits(**limits)  # refused before loading anything
    if api_key is None:
        api_key = os.environ.get(API_KEY)
    check_port(port)
    model = load(path, trust_code=trust_code, threads=threads)
    app = make_app(
        model, api_key=api_key, hosts=hosts_for(host), **dataclasses.asdict(limits)
    )
    sock = bind(host, port)
    where = sock.getsockname()
    url = f"http://{_host(where[0])}:{where[1]}"
    say(f"serving {path} at {url} ({', '.join(app.state.served)}, GET /health)")
    config = uvicorn.Config(
        app,
        http=timed_protocol(limits.header_timeout, limits.body_timeout),
        log_level="warning",
        timeout_graceful_shutdown=30,
    )

    class Server(uvicorn.Server):
        async def shutdown(self, sockets=None):
            await super().shutdown(sockets)
            # Straight to stderr: uvicorn ends the process by the signal it
            # was sent next, before a filtered line would be passed on.
            say(f"stopped serving {path} at {url}", stream=_quiet.real_stderr())

    Server(config).run(sockets=[sock])


def check_port(port):
    """A port `bind` can take (0 to 65535; 0 picks a free one)."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise InvalidArgumentError(
            f"Expected `port` to be from 0 to 65535 (0: a free one). Received: "
            f"port={port!r}"
        )


def bind(host, port):
    """A listening socket on `host`:`port` (port 0: a free one), or a
    one-line error."""
    check_port(port)
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
