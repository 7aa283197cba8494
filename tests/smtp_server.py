"""A small SMTP server on 127.0.0.1 for the tests of a refused send: it speaks real SMTP to
Django's smtp backend and refuses every recipient, as a server does for an unknown mailbox."""

import socketserver
import threading


class _RefusingHandler(socketserver.StreamRequestHandler):
    def handle(self):
        self.server.connections += 1
        self.wfile.write(b"220 test.example ESMTP\r\n")
        for raw in self.rfile:
            command = raw.decode("ascii", "replace").strip().upper()
            if command.startswith("RCPT TO"):
                self.wfile.write(b"550 5.1.1 No such mailbox here\r\n")
            elif command.startswith("QUIT"):
                self.wfile.write(b"221 Bye\r\n")
                return
            else:  # EHLO, MAIL FROM, RSET, NOOP
                self.wfile.write(b"250 OK\r\n")


class RefusingSMTPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _RefusingHandler)
        self.connections = 0
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def port(self):
        return self.server_address[1]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()
