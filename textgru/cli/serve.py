"""`textgru serve RUN_OR_EXPORT`: a run or its export over HTTP
(`textgru.deploy.server`), with the server's own defaults (`Limits`)."""

import dataclasses

from textgru.cli.flags import add_threads_flag, add_trust_flag, flag_of
from textgru.deploy import runtime
from textgru.deploy.limits import DEFAULT_HOST, DEFAULT_PORT, Limits
from textgru.errors import RunError


def add_to(commands, argv):
    serve = commands.add_parser(
        "serve",
        help="serve a run or its export over HTTP",
        description="Serve a trained run or its export over HTTP (FastAPI on "
        'uvicorn). A model that answers texts: POST /predict with {"texts": '
        "[...]} answers each text as `textgru predict --json` does (a label "
        "and probabilities, a multi-label run's labels, a regression run's "
        'prediction); POST /gates with {"text": ...} each token\'s update '
        "gate; GET / a page that shows both. A language model: POST /generate "
        'with {"prompt", "max_new_tokens", "temperature", "top_k", "top_p", '
        '"seed"}, the same text as `textgru generate`. GET /health; GET '
        "/openapi.json. An export is served without TensorFlow. Listens on "
        "127.0.0.1 unless --host says otherwise; stops on Ctrl-C or SIGTERM once "
        "the requests in flight are answered.",
    )
    add_trust_flag(serve)
    add_threads_flag(serve)
    serve.add_argument("run_dir", help="a run from `textgru train`, or its export")
    serve.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"the address to listen on ({DEFAULT_HOST})",
    )
    serve.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"the port ({DEFAULT_PORT}; 0 picks a free one)",
    )
    serve.add_argument(
        "--api-key",
        help="answer every POST only with this key (Authorization: Bearer KEY "
        "or X-API-Key: KEY); TEXTGRU_API_KEY sets it without showing it in the "
        "process list",
    )
    for field in _fields():
        serve.add_argument(
            flag_of(field.name),
            type=int,
            default=field.default,
            help=f"{field.metadata['help']} ({field.default})",
        )


def _fields():
    return dataclasses.fields(Limits)


def needs_backend(args):
    return not runtime.is_export(args.run_dir)


def run(args):
    try:
        from textgru.deploy import protocol  # noqa: F401  (uvicorn with httptools)
        from textgru.deploy.server import serve
    except ImportError:
        raise RunError(
            "textgru serve needs FastAPI, uvicorn and httptools: pip install "
            "'textgru[serve]'"
        ) from None
    limits = {
        field.name: getattr(args, field.name) for field in dataclasses.fields(Limits)
    }
    serve(
        args.run_dir,
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        trust_code=args.trust_code,
        threads=args.threads,
        **limits,
    )
