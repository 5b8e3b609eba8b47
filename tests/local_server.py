"""A real uvicorn server on 127.0.0.1, in this process (a thread), for the
tests whose subject is not the server's own process: started on a free port
and stopped (its requests finished) when the block ends."""

import contextlib
import threading

import uvicorn

from textgru.deploy.server import bind


@contextlib.contextmanager
def serving(app, timeout=30, **config):
    """`with serving(app) as (url, server):` the base URL,
    `http://127.0.0.1:PORT`, and the `uvicorn.Server` (`config`: more of
    `uvicorn.Config`'s arguments)."""
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", **config))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]})
    thread.start()
    try:
        for _ in range(timeout * 100):
            if server.started or not thread.is_alive():
                break
            threading.Event().wait(0.01)
        assert server.started, "the server did not start"
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", server
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()
        assert not thread.is_alive(), f"the server did not stop in {timeout} s"
