#!/bin/sh
# bench/sla.sh [WAITING] — `tiketti queue` over WAITING (default 100,000)
# new and open tickets (mkreportdb.sh's tickets: 2 in 10 of them wait, 1
# in 10 is pending) under a service promise in Europe/Helsinki business
# hours (the shipped fi.cal), next to the same queue without a policy:
# every waiting ticket's due times are computed from its events on each
# run. Prints the median of three runs of each and its peak memory, and
# what the due times add. Target: due times for the queue over 100,000
# open tickets under 1 s. Needs sqlite3 and python3.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-100000}
tiketti=${TIKETTI:-$top/tiketti}
[ -x "$tiketti" ] || { echo "bench: build tiketti first ($tiketti)"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/tiketti-bench.XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
db=$work/t.db
export TZ=UTC

TIKETTI=$tiketti sh "$top/bench/mkreportdb.sh" "$db" $((n * 5)) 2>/dev/null
mkdir -p "$work/cal" "$work/rules" "$work/none"
cp "$top/contrib/calendars/fi.cal" "$top/contrib/calendars/finland.ics" \
    "$work/cal/"
cat >"$work/rules/sla.rules" <<'R'
policy "standard" { calendar "fi"; first-response 4h; next-response 8h;
    resolution 16h; warn 80%; }
R
for c in sla none; do
	cat >"$work/$c.conf" <<C
database = $db
calendars_dir = $work/cal
rules_dir = $work/$([ $c = sla ] && echo rules || echo none)
$([ $c = sla ] && echo "sla_policy = standard")
C
done
sqlite3 "$db" "SELECT count(*) || ' waiting tickets, ' FROM tickets WHERE status IN ('new', 'open'); SELECT count(*) || ' events in all' FROM events" | tr -d '\n'
echo

python3 - "$tiketti" "$work" <<'PY'
import os, subprocess, sys, time, json
tiketti, work = sys.argv[1], sys.argv[2]
def peak(conf):
    # Before this python holds any output: a child's maxrss counts the
    # forked python too until it execs.
    p = subprocess.Popen([tiketti, "-c", conf, "queue", "--format", "json"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    return ru.ru_maxrss
def run(conf):
    times, out = [], None
    for _ in range(3):
        t = time.monotonic()
        p = subprocess.run([tiketti, "-c", conf, "queue", "--format", "json"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        times.append(time.monotonic() - t)
        if p.returncode:
            sys.exit("queue failed: " + p.stderr.decode())
        out = json.loads(p.stdout)
    times.sort()
    return times[1], out
m0, m1 = peak(work + "/none.conf"), peak(work + "/sla.conf")
t0, q0 = run(work + "/none.conf")
t1, q1 = run(work + "/sla.conf")
due = sum(1 for t in q1 if t["due"])
print("%-44s %9s %10s" % ("", "median s", "peak MiB"))
print("%-44s %9.3f %10.1f" % ("queue, no promise (%d tickets)" % len(q0), t0, m0 / 1024))
print("%-44s %9.3f %10.1f" % ("queue with due times (%d running)" % due, t1, m1 / 1024))
print("the due times add %.3f s (computed beside the queue, on a second"
      " connection);\ntarget: due times for the queue under 1 s: %s"
      % (t1 - t0, "met" if t1 - t0 < 1 else "NOT met"))
PY
