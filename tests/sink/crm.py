#!/usr/bin/env python3
"""crm.py PORT DIR — a CRM's customer lookup for the tests (the stand-in
for a system with no packaged server).

GET /customers?email=ADDR answers the JSON of DIR/customers.json's entry
for ADDR ({"customer": {...}}), or 404. Every request is appended to
DIR/requests (path and Authorization header), so a test counts them.
/slow sleeps 5 seconds first; /big answers 10 MB of JSON. Threaded, so a
slow request holds up no other. Loopback only; stopped by pid.
"""
import http.server
import json
import os
import socketserver
import sys
import time
import urllib.parse

PORT, DIR = int(sys.argv[1]), sys.argv[2]


class Handler(http.server.BaseHTTPRequestHandler):
    def answer(self, status, body):
        data = json.dumps(body).encode() if not isinstance(body, bytes) else body
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        with open(os.path.join(DIR, "requests"), "a") as f:
            f.write("%s %s\n" % (self.path,
                                 self.headers.get("Authorization", "-")))
        if url.path == "/slow":
            time.sleep(5)
            return self.answer(200, {"customer": {"tier": "slow"}})
        if url.path == "/big":
            return self.answer(200, b'{"pad": "' + b"x" * (10 << 20) + b'"}')
        email = urllib.parse.parse_qs(url.query).get("email", [""])[0]
        with open(os.path.join(DIR, "customers.json")) as f:
            customers = json.load(f)
        if email not in customers:
            return self.answer(404, {"error": "no such customer"})
        return self.answer(200, {"customer": customers[email]})

    do_POST = do_GET

    def log_message(self, fmt, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


Server(("127.0.0.1", PORT), Handler).serve_forever()
