#!/usr/bin/env python3
"""http_sink.py PORT DIR — a webhook receiver for the tests.

Writes each POST to DIR/NNNN.json as {"path", "headers", "body"} and
answers with the status in DIR/status (200 when the file is missing), so
a test can make it answer 4xx or 5xx. Loopback only; stopped by pid.
"""
import http.server
import json
import os
import sys

PORT, DIR = int(sys.argv[1]), sys.argv[2]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).decode("utf-8", "replace")
        try:
            with open(os.path.join(DIR, "status")) as f:
                status = int(f.read().strip())
        except (OSError, ValueError):
            status = 200
        if 200 <= status < 300:
            count = len([f for f in os.listdir(DIR) if f.endswith(".json")])
            with open(os.path.join(DIR, "%04d.json" % (count + 1)), "w") as f:
                json.dump({"path": self.path, "headers": dict(self.headers),
                           "body": body}, f)
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"ok\n" if status < 300 else b"no thanks\n")

    def log_message(self, fmt, *args):
        pass


http.server.HTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
