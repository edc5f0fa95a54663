#!/bin/sh
# bench/ingest.sh [N] — tiketti ingest --maildir vs notmuch new (also
# GMime-based) on the same maildir of N (default 10000) messages built
# from tests/corpus with unique Message-IDs. Prints messages/second for
# both, their ratio, and tiketti's peak RSS. Needs: notmuch, python3.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-10000}
tiketti=${TIKETTI:-$top/tiketti}
command -v notmuch >/dev/null || { echo "bench: notmuch is not installed (apt-get install notmuch)"; exit 1; }
[ -x "$tiketti" ] || { echo "bench: build tiketti first ($tiketti)"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/tiketti-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

python3 "$top/bench/mkmaildir.py" "$top/tests/corpus" "$work/mail" "$n"

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
PY
