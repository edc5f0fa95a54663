#!/usr/bin/env python3
"""mailcheck.py FILE EXPR — evaluates EXPR over one captured mail.

FILE is an smtp-sink dump: its X-Mail-Args/X-Rcpt-Args lines give the
envelope (env_from, env_to), the rest is the message (m, an
email.message.Message parsed with the default policy, so m["Subject"]
is decoded). raw is the message's bytes. Prints the result as JSON.
"""
import email
import email.policy
import json
import sys

data = open(sys.argv[1], "rb").read()
env_from, env_to, lines = None, [], data.split(b"\n")
i = 0
while i < len(lines) and lines[i].startswith(b"X-"):
    line = lines[i].decode().rstrip("\r")
    # "X-Mail-Args: <addr> [params]", also as "FROM:<addr>"
    if line.startswith("X-Mail-Args:"):
        env_from = line.split(":", 1)[1].split()[0]
        env_from = env_from.split("FROM:")[-1].strip("<>")
    elif line.startswith("X-Rcpt-Args:"):
        to = line.split(":", 1)[1].split()[0]
        env_to.append(to.split("TO:")[-1].strip("<>"))
    i += 1
raw = b"\n".join(lines[i:])
m = email.message_from_bytes(raw, policy=email.policy.default)


def part(ctype):
    for p in m.walk():
        if p.get_content_type() == ctype:
            return p.get_content()
    return None


r = eval(sys.argv[2])
print(r if isinstance(r, str) else json.dumps(r))
