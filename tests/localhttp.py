"""A scripted HTTP server on 127.0.0.1 for tests: ``respond(handler, server)`` answers each GET.

Handler sockets time out after 5 s and the server stops when the ``with`` block ends, so no test
leaves a server or a thread behind; a client that hangs up mid-answer is not an error.
"""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LocalHTTP:
    """``with LocalHTTP(respond) as srv``: ``srv.url`` (``http://127.0.0.1:PORT/baci``), ``srv.address``
    (``tcp://127.0.0.1:PORT``), ``srv.sent`` (bytes a ``respond`` counted)."""

    def __init__(self, respond):
        self.sent = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 5

            def log_message(self, *a):
                pass

            def do_GET(self):
                try:
                    respond(self, outer)
                except (BrokenPipeError, ConnectionResetError, TimeoutError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        port = self.httpd.server_address[1]
        self.url, self.address = f"http://127.0.0.1:{port}/baci", f"tcp://127.0.0.1:{port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
