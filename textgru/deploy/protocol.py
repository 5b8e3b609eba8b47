"""uvicorn's HTTP protocol (httptools), with the time a request may take to
arrive bounded, as nginx's `client_header_timeout` and
`client_body_timeout` and gunicorn's `timeout` bound it: uvicorn itself
closes only idle keep-alive connections, so a client that never finishes
its headers, or stalls inside its body, holds its connection for ever
(and a few thousand such hold the server's file descriptors).

    headers   a request's headers must arrive within `header_timeout`
              seconds of its first byte (or of the connection, for the
              first request): else 408 and the connection is closed
    body      its body within `body_timeout` seconds of its headers: else
              the connection is closed (the request, waiting on its body,
              ends as a client that went away)

Honest clients are not slowed: the timers are loop callbacks, a few per
request.
"""

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_TIMED_OUT = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
    b"connection: close\r\ncontent-length: %d\r\n\r\n%s"
)


class TimedHttpTools(HttpToolsProtocol):
    """`HttpToolsProtocol` whose requests must arrive in time (the class
    attributes, set by `timed_protocol`)."""

    header_timeout = 10.0
    body_timeout = 30.0

    def connection_made(self, transport):
        self._timer = None
        super().connection_made(transport)
        self._arm(self.header_timeout, self._headers_late)

    def connection_lost(self, exc):
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self):
        super().on_message_begin()
        if self._timer is None:  # a keep-alive connection's next request
            self._arm(self.header_timeout, self._headers_late)

    def on_headers_complete(self):
        self._disarm()
        self._arm(self.body_timeout, self._body_late)
        super().on_headers_complete()

    def on_message_complete(self):
        self._disarm()
        super().on_message_complete()

    def _arm(self, seconds, then):
        self._timer = self.loop.call_later(seconds, then)

    def _disarm(self):
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _headers_late(self):
        self._timer = None
        if not self.transport.is_closing():
            detail = (
                b'{"detail":"The request\'s headers took longer than %d seconds"}'
                % self.header_timeout
            )
            self.transport.write(_TIMED_OUT % (len(detail), detail))
            self.transport.close()

    def _body_late(self):
        self._timer = None
        if not self.transport.is_closing():
            self.transport.close()


def timed_protocol(header_timeout, body_timeout):
    """A `TimedHttpTools` with these timeouts (seconds), for uvicorn's
    `Config(http=...)`."""
    return type(
        "TimedHttpTools",
        (TimedHttpTools,),
        {"header_timeout": header_timeout, "body_timeout": body_timeout},
    )
