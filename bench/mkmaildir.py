#!/usr/bin/env python3
"""bench/mkmaildir.py CORPUS MAILDIR N: a maildir of N messages cycled
from the corpus (TNEF left out), each with a unique Message-ID, for the
benchmarks."""
import os, sys, re
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
files = []
for d, _, fs in os.walk(src):
    for f in sorted(fs):
        if f.endswith(('.eml', '.txt')) and 'tnef' not in d:
            files.append(os.path.join(d, f))
files.sort()
for sub in ('cur', 'new', 'tmp'):
    os.makedirs(os.path.join(dst, sub), exist_ok=True)
mid = re.compile(rb'^message-id:.*\n(?:[ \t].*\n)*', re.I | re.M)
for i in range(n):
    raw = open(files[i % len(files)], 'rb').read().replace(b'\r\n', b'\n')
    head, sep, body = raw.partition(b'\n\n')
    head = mid.sub(b'', head + b'\n').rstrip(b'\n')
    out = b'Message-ID: <bench-%d@tiketti.test>\n' % i + head + b'\n\n' + body
    name = '%010d.M%dP1.bench:2,S' % (1700000000 + i, i)
    with open(os.path.join(dst, 'cur', name), 'wb') as f:
        f.write(out)
