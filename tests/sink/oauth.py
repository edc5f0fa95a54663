#!/usr/bin/env python3
"""oauth.py PORT DIR — a small OAuth 2.0 identity provider for the tests
(Python's standard library only; real providers have no packaged server).

  POST /device      RFC 8628 device authorization: device_code, user_code,
                    verification_uri, interval (DIR/interval, default 1),
                    expires_in (DIR/device_ttl, default 60)
  POST /token       grant_type device_code: authorization_pending until
                    GET /approve?user_code=X (or access_denied after
                    GET /deny?user_code=X, expired_token once expired);
                    slow_down on the second poll when DIR/slow_down
                    exists, and whenever the client polls faster than
                    the interval;
                    grant_type refresh_token: a new access token (valid
                    DIR/ttl seconds, default 3600) and a ROTATED refresh
                    token (the old one is refused from then on)
  POST /introspect  Dovecot's oauth2 passdb: {"active": .., "username": ..}
  GET  /revoke?user=U  every token of U refused from then on
Every request is logged to DIR/requests as one JSON line.
"""
import json, os, secrets, sys, threading, time, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, d = int(sys.argv[1]), sys.argv[2]
lock = threading.Lock()
devices = {}   # device_code -> {user_code, state, expires, last_poll, slowed}
access = {}    # access token -> (user, expires)
refresh = {}   # refresh token -> user
revoked = set()
USER = "support"


def setting(name, default):
    try:
        return int(open(os.path.join(d, name)).read().strip())
    except OSError:
        return default


def issue(user):
    a, r = "at-" + secrets.token_hex(8), "rt-" + secrets.token_hex(8)
    ttl = setting("ttl", 3600)
    access[a] = (user, time.time() + ttl)
    refresh[r] = user
    return {"access_token": a, "token_type": "Bearer", "expires_in": ttl,
            "refresh_token": r, "scope": "mail"}


class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def reply(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def record(self, form):
        with open(os.path.join(d, "requests"), "a") as f:
            f.write(json.dumps({"t": time.time(), "path": self.path,
                                "form": form}) + "\n")

    def do_GET(self):
        u = urllib.parse.urlparse(self.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        self.record(q)
        with lock:
            if u.path in ("/approve", "/deny"):
                for dev in devices.values():
                    if dev["user_code"] == q.get("user_code"):
                        dev["state"] = "approved" if u.path == "/approve" else "denied"
                        return self.reply(200, {"ok": True})
                return self.reply(404, {"error": "no such code"})
            if u.path == "/revoke":
                revoked.add(q.get("user", USER))
                return self.reply(200, {"ok": True})
        self.reply(404, {"error": "not found"})

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        form = dict(urllib.parse.parse_qsl(self.rfile.read(n).decode()))
        self.record(form)
        path = urllib.parse.urlparse(self.path).path
        with lock:
            if path == "/device":
                if not form.get("client_id"):
                    return self.reply(400, {"error": "invalid_client"})
                code = secrets.token_hex(8)
                user_code = "%04d-%04d" % (secrets.randbelow(10000), secrets.randbelow(10000))
                devices[code] = {"user_code": user_code, "state": "pending",
                                 "expires": time.time() + setting("device_ttl", 60),
                                 "last_poll": 0, "slowed": False, "polls": 0}
                open(os.path.join(d, "user_code"), "w").write(user_code)
                return self.reply(200, {
                    "device_code": code, "user_code": user_code,
                    "verification_uri": "http://127.0.0.1:%d/device-login" % port,
                    "expires_in": setting("device_ttl", 60),
                    "interval": setting("interval", 1)})
            if path == "/token":
                g = form.get("grant_type")
                if g == "urn:ietf:params:oauth:grant-type:device_code":
                    dev = devices.get(form.get("device_code"))
                    if dev is None:
                        return self.reply(400, {"error": "invalid_grant"})
                    now = time.time()
                    fast = now - dev["last_poll"] < setting("interval", 1) - 0.05
                    dev["last_poll"] = now
                    if now > dev["expires"]:
                        return self.reply(400, {"error": "expired_token"})
                    dev["polls"] += 1
                    if os.path.exists(os.path.join(d, "slow_down")) and dev["polls"] == 2:
                        dev["slowed"] = True
                        return self.reply(400, {"error": "slow_down"})
                    if fast:
                        return self.reply(400, {"error": "slow_down"})
                    if dev["state"] == "denied":
                        return self.reply(400, {"error": "access_denied"})
                    if dev["state"] != "approved":
                        return self.reply(400, {"error": "authorization_pending"})
                    del devices[form["device_code"]]
                    return self.reply(200, issue(USER))
                if g == "refresh_token":
                    user = refresh.pop(form.get("refresh_token"), None)
                    if user is None or user in revoked:
                        return self.reply(400, {"error": "invalid_grant",
                            "error_description": "refresh token revoked or used"})
                    return self.reply(200, issue(user))
                return self.reply(400, {"error": "unsupported_grant_type"})
            if path == "/introspect":
                tok = form.get("token", "")
                user, exp = access.get(tok, (None, 0))
                if user is None or user in revoked or time.time() > exp:
                    return self.reply(200, {"active": False})
                return self.reply(200, {"active": True, "username": user})
        self.reply(404, {"error": "not found"})


ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
