"""Starting a loopback HTTP server for the local cloud: threaded, a real listen backlog, served in the background."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def serve_in_background(host: str, port: int, handler: type[BaseHTTPRequestHandler], name: str) -> ThreadingHTTPServer:
    """Bind (port 0 picks a free one; a taken port raises OSError before anything runs) and serve on a thread."""
    server = ThreadingHTTPServer((host, port), handler, bind_and_activate=False)
    server.request_queue_size = 128  # the default backlog of 5 resets bursts of connections
    try:
        server.server_bind()
        server.server_activate()
    except OSError:
        server.server_close()
        raise
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True, name=name).start()
    return server
