"""The gunicorn worker class the register runs (registry/gunicorn.py): gunicorn's threaded one, mended.

gunicorn's gthread worker closes a connection it does not keep alive (the
client asked for `Connection: close`, spoke HTTP/1.0, or the worker is
stopping) "gracefully", as RFC 9112 9.6 asks: it sends FIN, then reads for up
to 2 s until the client closes too. It does so on the worker's main loop, the
one that accepts connections and tells the arbiter that the worker is alive.
A client slow to close, such as one still reading the end of a download from
its buffers, then stops the whole worker for 2 s, and a few at once get it
killed as silent, cutting off every download it serves. This worker does the
same close on threads of its own, so the main loop never waits for a client.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from gunicorn.workers.gthread import ThreadWorker as GunicornThreadWorker


class ThreadWorker(GunicornThreadWorker):
    """gunicorn's gthread worker, with graceful closes waiting on a pool of closing threads."""

    def init_process(self) -> None:
        # A close waits on the client, not the CPU: as many as the threads that serve.
        self.closer = ThreadPoolExecutor(max_workers=self.cfg.threads, thread_name_prefix="close")
        super().init_process()

    def run(self) -> None:
        try:
            super().run()
        finally:
            # Closes not yet begun are left to the system, which closes the sockets on exit.
            self.closer.shutdown(wait=False, cancel_futures=True)

    def finish_request(self, conn: Any, fs: Any) -> None:
        """Run on the main loop when a request is done; a graceful close is handed to the closing threads."""
        close = conn.close

        def close_off_the_main_loop(graceful: bool = False) -> None:
            if graceful:
                self.closer.submit(close, graceful=True)
            else:
                close()

        conn.close = close_off_the_main_loop
        try:
            super().finish_request(conn, fs)
        finally:
            # The connection may be kept alive; later closes are gunicorn's own again.
            del conn.close
