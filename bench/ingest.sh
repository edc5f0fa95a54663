#!/bin/sh
# bench/ingest.sh [N] — tiketti ingest --maildir vs notmuch new (also
# GMime-based) on the same maildir of N (default 10000) messages built
# from tests/corpus with unique Message-IDs. Prints messages/second for
# both, their ratio, and tiketti's peak RSS. Then tiketti with redact =
# cards, hetu, iban against without it, three rounds each (medians), on
# the same maildir where one message in ten carries a card number and a
# personal identity code (target: at most 10% slower). Needs: notmuch,
# python3.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-10000}
tiketti=${TIKETTI:-$top/tiketti}
command -v notmuch >/dev/null || { echo "bench: notmuch is not installed (apt-get install notmuch)"; exit 1; }
[ -x "$tiketti" ] || { echo "bench: build tiketti first ($tiketti)"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/tiketti-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

python3 "$top/bench/mkmaildir.py" "$top/tests/corpus" "$work/mail" "$n"
# One in ten with a card and a HETU in a text part of its own.
python3 - "$work/mail" <<'PY'
import os, sys
cur = os.path.join(sys.argv[1], "cur")
for i, name in enumerate(sorted(os.listdir(cur))):
    if i % 10:
        continue
    path = os.path.join(cur, name)
    raw = open(path, "rb").read()
    head, _, body = raw.partition(b"\n\n")
    head = b"\n".join(l for l in head.split(b"\n")
        if not l.lower().startswith((b"content-", b"mime-version")) and not l[:1] in (b" ", b"\t"))
    open(path, "wb").write(head + b"\nMIME-Version: 1.0\n"
        b"Content-Type: text/plain; charset=utf-8\n\n"
        b"Kortti 4111 1111 1111 1111, hetu 131052-308T.\n")
PY

printf '[database]\npath=%s\n[new]\ntags=new\n[user]\nprimary_email=bench@tiketti.test\n' \
    "$work/mail" >"$work/notmuch.conf"

python3 - "$work" "$tiketti" "$n" <<'PY'
import os, resource, subprocess, sys, time
work, tiketti, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def run(cmd, env=None):
    t = time.monotonic()
    p = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
    dt = time.monotonic() - t
    if p.returncode != 0:
        sys.exit("bench: %s failed: %s" % (cmd[0], p.stderr.decode()[-500:]))
    return dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
env = dict(os.environ, NOTMUCH_CONFIG=os.path.join(work, 'notmuch.conf'))
t_tk, rss_tk = run([tiketti, '--db', os.path.join(work, 'tk.db'), 'ingest',
                    '--maildir', os.path.join(work, 'mail')])
t_nm, _ = run(['notmuch', 'new', '--quiet'], env)
print("messages:              %d" % n)
print("tiketti ingest:        %8.0f msg/s  (%.2f s, peak RSS %.1f MiB)"
      % (n / t_tk, t_tk, rss_tk / 1024))
print("notmuch new:           %8.0f msg/s  (%.2f s)" % (n / t_nm, t_nm))
print("ratio tiketti/notmuch: %.2fx  (target >= 3x, RSS < 64 MiB)"
      % (t_nm / t_tk))

# redact off and on, alternating, three rounds each: medians.
def conf(name, redact):
    path = os.path.join(work, name + ".conf")
    with open(path, "w") as f:
        f.write("database = %s\nrules_dir = %s\nredact = %s\n" % (
            os.path.join(work, name + ".db"), work, redact))
    return path
times = {"off": [], "on": []}
for r in range(3):
    for k, redact in (("off", "none"), ("on", "cards, hetu, iban")):
        c = conf("%s%d" % (k, r), redact)
        times[k].append(run([tiketti, '-c', c, 'ingest', '--maildir',
                             os.path.join(work, 'mail')])[0])
med = {k: sorted(v)[1] for k, v in times.items()}
print("redact off:            %8.0f msg/s  (median of 3: %.2f s)"
      % (n / med["off"], med["off"]))
print("redact on:             %8.0f msg/s  (median of 3: %.2f s; one "
      "message in ten masked)" % (n / med["on"], med["on"]))
print("redact on vs off:      %+.1f%%  (target: no more than 10%% slower)"
      % ((med["on"] / med["off"] - 1) * 100))
PY
