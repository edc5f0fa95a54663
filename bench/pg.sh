#!/bin/sh
# bench/pg.sh [N] [TICKETS] — the two backends side by side, in one run,
# on a throw-away PostgreSQL cluster on loopback (tests/servers.sh pg_up,
# fsync on, as SQLite's synchronous = FULL):
#   - `ingest --maildir` of N (default 10000) corpus messages into SQLite,
#     into PostgreSQL with one writer, and with four writers at once (four
#     processes, each on a quarter of the mail in a maildir of its own);
#   - `report --format json` over TICKETS (default 1,000,000) tickets and
#     about 5 million events (bench/mkreportdb.sh) on both, the PostgreSQL
#     store made from the SQLite one with `tiketti db copy`.
# Targets: one writer >= 50% of SQLite's rate; four writers >= 2x one
# writer; the report under 10 s on both. Run as root (the server runs as
# user postgres) or as a user who may run initdb; needs python3, sqlite3.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-10000}
tickets=${2:-1000000}
tiketti=${TIKETTI:-$top/tiketti}
[ -x "$tiketti" ] || { echo "bench: build tiketti first ($tiketti)"; exit 1; }
DIR=$(mktemp -d "${TMPDIR:-/tmp}/tiketti-bench.XXXXXX")
. "$top/tests/servers.sh"
trap 'pg_down; [ -n "${KEEP:-}" ] || rm -rf "$DIR"' EXIT
export TZ=UTC
pg_up || { echo "bench: PostgreSQL did not start"; exit 1; }
createdb() { $PG_CREATEDB "$1"; echo "$PG_URL$1"; }

python3 "$top/bench/mkmaildir.py" "$top/tests/corpus" "$DIR/mail" "$n"
# Four disjoint maildirs with a quarter each.
i=0
for f in "$DIR"/mail/cur/*; do
	q=$((i % 4))
	mkdir -p "$DIR/q$q/cur" "$DIR/q$q/new" "$DIR/q$q/tmp"
	ln "$f" "$DIR/q$q/cur/"
	i=$((i + 1))
done

# secs COMMAND...: runs it, prints the seconds it took (wall clock).
# With CPU=file, the command's CPU seconds (user + system) go there.
secs() {
	python3 - "$@" <<'PY'
import os, resource, subprocess, sys, time
r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
t = time.monotonic()
p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
if p.returncode != 0:
    sys.exit("bench: %s failed: %s" % (" ".join(sys.argv[1:3]), p.stderr.decode()[-400:]))
print("%.3f" % (time.monotonic() - t))
r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
if os.environ.get("CPU"):
    with open(os.environ["CPU"], "w") as f:
        f.write("%.3f\n" % (r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime))
PY
}
# server_cpu: the CPU seconds of the server's ended sessions (the
# postmaster's reaped children), so far.
server_cpu() {
	sleep 0.5	# the session ends after its client
	awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f\n", ($16 + $17) / hz }' \
	    "/proc/$PG_PID/stat"
}

echo "ingest --maildir of $n messages ..." >&2
t_sq=$(CPU=$DIR/cpu.sq secs "$tiketti" --db "$DIR/t.db" ingest --maildir "$DIR/mail")
one=$(createdb one)
s0=$(server_cpu)
t_pg1=$(CPU=$DIR/cpu.pg1 secs "$tiketti" --db "$one" ingest --maildir "$DIR/mail")
s1=$(server_cpu)
four=$(createdb four)
"$tiketti" --db "$four" ticket list >/dev/null	# the schema, once
t_pg4=$(python3 - "$tiketti" "$four" "$DIR" <<'PY'
import subprocess, sys, time
tiketti, db, d = sys.argv[1:4]
t = time.monotonic()
ps = [subprocess.Popen([tiketti, "--db", db, "ingest", "--maildir",
                        "%s/q%d" % (d, q)], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE) for q in range(4)]
for p in ps:
    if p.wait() != 0:
        sys.exit("bench: a writer failed: " + p.stderr.read().decode()[-400:])
print("%.3f" % (time.monotonic() - t))
PY
)
stored=$(psql -X -At -d "$four" -c "select count(*) from messages")
stored_sq=$(sqlite3 "$DIR/t.db" "select count(*) from messages")

echo "building the report's store of $tickets tickets ..." >&2
TIKETTI=$tiketti sh "$top/bench/mkreportdb.sh" "$DIR/r.db" "$tickets"
events=$(sqlite3 "$DIR/r.db" "select count(*) from events")
rpg=$(createdb report)
t_copy=$(secs "$tiketti" --db "$rpg" db copy "$DIR/r.db" "$rpg")
psql -X -q -d "$rpg" -c "VACUUM ANALYZE" >/dev/null
period="--since 2026-09-21 --until 2026-12-31"
t_rsq=$(secs "$tiketti" --db "$DIR/r.db" report --format json $period)
t_rpg=$(secs "$tiketti" --db "$rpg" report --format json $period)

python3 - "$n" "$t_sq" "$t_pg1" "$t_pg4" "$stored" "$tickets" "$events" \
    "$t_copy" "$t_rsq" "$t_rpg" "$stored_sq" "$(cat "$DIR/cpu.sq")" \
    "$(cat "$DIR/cpu.pg1")" "$s0" "$s1" <<'PY'
import sys
n, t_sq, t_pg1, t_pg4, stored = int(sys.argv[1]), *map(float, sys.argv[2:5]), int(sys.argv[5])
tickets, events, t_copy, t_rsq, t_rpg = int(sys.argv[6]), int(sys.argv[7]), *map(float, sys.argv[8:11])
stored_sq = int(sys.argv[11])
c_sq, c_pg1, s0, s1 = map(float, sys.argv[12:16])
r_sq, r_pg1, r_pg4 = n / t_sq, n / t_pg1, n / t_pg4
print("ingest --maildir, %d messages:" % n)
print("  SQLite                     %7.0f msg/s  (%.1f s; %d stored; CPU %.1f s)"
      % (r_sq, t_sq, stored_sq, c_sq))
print("  PostgreSQL, 1 writer       %7.0f msg/s  (%.1f s)  %3.0f%% of SQLite  (target >= 50%%)"
      % (r_pg1, t_pg1, 100 * r_pg1 / r_sq))
# One session's statements run one after another on the server: its CPU
# alone bounds the rate, however well the client overlaps with it.
print("    CPU: tiketti %.1f s, its server session %.1f s: the server alone"
      " allows at most %.0f%% of SQLite" % (c_pg1, s1 - s0, 100 * t_sq / (s1 - s0)))
print("  PostgreSQL, 4 writers      %7.0f msg/s  (%.1f s)  %.2fx one writer  (target >= 2x; %d stored)"
      % (r_pg4, t_pg4, r_pg4 / r_pg1, stored))
print("report --format json, %d tickets, %d events:" % (tickets, events))
print("  SQLite                     %7.2f s  (target < 10 s)" % t_rsq)
print("  PostgreSQL                 %7.2f s  (target < 10 s)" % t_rpg)
print("  (db copy SQLite -> PostgreSQL of that store: %.0f s)" % t_copy)
PY
