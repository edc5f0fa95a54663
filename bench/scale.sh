#!/bin/sh
# bench/scale.sh [N] — does ingest slow down as the database grows?
# `tiketti ingest --maildir` of the same N (default 5000) corpus messages
# into a database already holding 0, 100,000 and 1,000,000 tickets (each
# with a message, a participant and two events, built with SQL once and
# copied afresh for every run). The three sizes run in turn ROUNDS times
# (default 3), so that a slow moment of the machine falls on all alike;
# prints each round's messages/second, the medians and their ratio to
# the empty database's. Target: at 1,000,000 tickets at least 80% of the
# rate at 0 (indexes, not scans). Needs sqlite3 and python3.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-5000}
rounds=${ROUNDS:-3}
tiketti=${TIKETTI:-$top/tiketti}
[ -x "$tiketti" ] || { echo "bench: build tiketti first ($tiketti)"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/tiketti-bench.XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
python3 "$top/bench/mkmaildir.py" "$top/tests/corpus" "$work/mail" "$n"

# filled DB TICKETS: a database of that many tickets, as tiketti makes it.
filled() {
	printf 'From: a@b.example\nTo: support@yritys.example\nSubject: x\n\nx\n' |
	    "$tiketti" --db "$1" ingest --no-rules >/dev/null 2>&1
	[ "$2" -gt 0 ] || return 0
	sqlite3 "$1" >/dev/null <<EOF
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
BEGIN;
WITH RECURSIVE i(x) AS (SELECT 2 UNION ALL SELECT x + 1 FROM i WHERE x < $2 + 1)
INSERT INTO tickets (id, subject, status, priority, requester, mailbox,
    created_at, updated_at, status_at)
SELECT x, 'Old question ' || x, CASE WHEN x % 10 < 8 THEN 'closed' ELSE 'open' END,
    'normal', 'old-' || (x % 300000) || '@asiakas.example',
    'support@yritys.example', 1700000000 + x * 30, 1700000000 + x * 30,
    1700000000 + x * 30 FROM i;
INSERT INTO messages (ticket_id, dedupe_key, message_id, direction, kind,
    from_addr, subject, date, received_at, mailbox, sha256)
SELECT id, 'old-' || id, 'old-' || id || '@asiakas.example', 'in',
    'customer', requester, subject, created_at, created_at,
    'support@yritys.example', '' FROM tickets WHERE id > 1;
INSERT INTO participants (ticket_id, address)
SELECT id, requester FROM tickets WHERE id > 1;
INSERT INTO events (ticket_id, at, type, actor, new)
SELECT id, created_at, 'created', requester, NULL FROM tickets WHERE id > 1;
INSERT INTO events (ticket_id, at, type, actor, old, new)
SELECT id, created_at + 600, 'status', 'maria@yritys.example', 'new', status
FROM tickets WHERE id > 1;
COMMIT;
ANALYZE;
EOF
}

sizes="0 100000 1000000"
for size in $sizes; do
	filled "$work/template$size.db" "$size"
done
: >"$work/rates"
for round in $(seq "$rounds"); do
	for size in $sizes; do
		db=$work/t.db
		rm -f "$db" "$db"-*
		cp "$work/template$size.db" "$db"
		# On disk before the clock starts, or tiketti's first fsync
		# would write the whole copy back.
		sync
		t0=$(date +%s%N)
		"$tiketti" --db "$db" ingest --maildir "$work/mail" >/dev/null 2>&1 ||
		    { echo "bench: ingest failed"; exit 1; }
		t1=$(date +%s%N)
		echo "$round $size $((t1 - t0))" >>"$work/rates"
	done
done
python3 - "$work/rates" "$n" "$rounds" <<'PY'
import statistics, sys
rates, n, rounds = sys.argv[1], int(sys.argv[2]), sys.argv[3]
by = {}
for line in open(rates):
    r, size, ns = line.split()
    by.setdefault(int(size), []).append(n / (int(ns) / 1e9))
base = statistics.median(by[0])
print("tiketti ingest --maildir of %d messages; medians of %s round(s)" % (n, rounds))
for size in sorted(by):
    med = statistics.median(by[size])
    print("%9d tickets: %7.0f msg/s  (%3.0f%% of the empty database; rounds: %s)"
          % (size, med, 100 * med / base, " ".join("%.0f" % x for x in by[size])))
last = statistics.median(by[max(by)])
print("target: at 1,000,000 tickets at least 80%% of the rate at 0: %s"
      % ("met" if last >= 0.8 * base else "NOT met"))
PY
