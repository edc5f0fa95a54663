#!/bin/sh
# bench/report.sh [TICKETS] — `tiketti report` over a synthetic database
# of TICKETS (default 1,000,000) tickets spread over 90 days, with five
# events each (created, the customer's mail, an agent's answer, open,
# solved or pending), an agent's mail row per answer, and autoreplies and
# surveys in the outbox. Prints the time and peak memory of a JSON and an
# HTML report over the whole period, next to a plain `SELECT count(*)`
# over the events as the floor. Target: under 10 seconds, memory of one
# pass (it does not grow with the tickets). Needs sqlite3 and python3.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-1000000}
tiketti=${TIKETTI:-$top/tiketti}
[ -x "$tiketti" ] || { echo "bench: build tiketti first ($tiketti)"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/tiketti-bench.XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
db=$work/t.db
export TZ=UTC

TIKETTI=$tiketti sh "$top/bench/mkreportdb.sh" "$db" "$n"
sqlite3 "$db" "SELECT count(*) || ' tickets, ' FROM tickets; SELECT count(*) || ' events' FROM events" | tr -d '\n'
echo

python3 - "$tiketti" "$db" <<'PY'
import resource, subprocess, sys, time
tiketti, db = sys.argv[1], sys.argv[2]
def run(cmd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dt = time.monotonic() - t
    if p.returncode != 0:
        sys.exit("bench: %s failed: %s" % (cmd, p.stderr.decode()[-500:]))
    return dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
t0, _ = run(["sqlite3", db, "SELECT count(*) FROM events"])
period = ["--since", "2026-09-21", "--until", "2026-12-31"]
tj, rj = run([tiketti, "--db", db, "report", "--format", "json"] + period)
th, rh = run([tiketti, "--db", db, "report", "--format", "html"] + period)
print("sqlite3 count(*) of the events: %6.2f s (the floor)" % t0)
print("tiketti report --format json:   %6.2f s, peak RSS %.0f MiB" % (tj, rj / 1024))
print("tiketti report --format html:   %6.2f s, peak RSS %.0f MiB" % (th, rh / 1024))
print("target: under 10 s")
PY
