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

# The schema, as tiketti makes it.
printf 'From: a@b.example\nTo: support@yritys.example\nSubject: x\n\nx\n' |
    "$tiketti" --db "$db" ingest --no-rules >/dev/null 2>&1
echo "building $n tickets ..."
start=1790000000	# 2026-09-21
sqlite3 "$db" >/dev/null <<EOF
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
DELETE FROM events; DELETE FROM raw_messages; DELETE FROM messages;
DELETE FROM participants; DELETE FROM tickets;
BEGIN;
WITH RECURSIVE i(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM i WHERE x < $n)
INSERT INTO tickets (id, subject, status, priority, category, requester,
    assignee, mailbox, created_at, updated_at, status_at)
SELECT x, 'Question ' || x,
    CASE WHEN x % 10 < 7 THEN 'solved' WHEN x % 10 = 7 THEN 'pending'
         WHEN x % 10 = 8 THEN 'open' ELSE 'new' END,
    CASE WHEN x % 20 = 0 THEN 'high' ELSE 'normal' END,
    CASE x % 5 WHEN 0 THEN NULL WHEN 1 THEN 'billing' WHEN 2 THEN 'delivery'
         WHEN 3 THEN 'complaint' ELSE 'returns' END,
    'customer-' || (x % ($n / 3 + 1)) || '@asiakas.example',
    CASE WHEN x % 10 = 9 THEN NULL ELSE 'agent' || (x % 10) END,
    CASE x % 3 WHEN 0 THEN 'support@yritys.example'
         WHEN 1 THEN 'myynti@yritys.example' ELSE 'info@yritys.example' END,
    $start + x * (90 * 86400 / $n), $start + x * (90 * 86400 / $n) + 7200,
    $start + x * (90 * 86400 / $n) + 7200
FROM i;
INSERT INTO messages (id, ticket_id, dedupe_key, direction, kind, from_addr,
    received_at, sha256)
SELECT id, id, 'k' || id, 'out', 'agent',
    'agent' || (id % 10) || '@yritys.example',
    created_at + 60 + (id * 7919) % 20000, ''
FROM tickets WHERE status <> 'new';
INSERT INTO events (ticket_id, at, type, actor, old, new, message)
SELECT id, created_at, 'created', requester, NULL, NULL, NULL FROM tickets;
INSERT INTO events (ticket_id, at, type, actor, old, new, message)
SELECT id, created_at, 'message', requester, NULL, 'customer', NULL
FROM tickets;
INSERT INTO events (ticket_id, at, type, actor, old, new, message)
SELECT ticket_id, received_at, 'message', from_addr, NULL, 'agent', id
FROM messages;
INSERT INTO events (ticket_id, at, type, actor, old, new, message)
SELECT ticket_id, received_at, 'status', from_addr, 'new', 'open', NULL
FROM messages;
INSERT INTO events (ticket_id, at, type, actor, old, new, message)
SELECT id, created_at + 3600 + (id * 104729) % 300000, 'status',
    'agent' || (id % 10) || '@yritys.example', 'open', status, NULL
FROM tickets WHERE status IN ('solved', 'pending');
INSERT INTO outbox (ticket_id, kind, to_addr, state, next_at, created_at,
    sent_at)
SELECT id, 'autoreply', requester, 'sent', created_at, created_at, created_at
FROM tickets WHERE id % 4 = 0;
INSERT INTO events (ticket_id, at, type, actor, old, new)
SELECT id, created_at, 'autoreply_suppressed', 'rule:ack', 'autoreply',
    'rate-limit' FROM tickets WHERE id % 4 = 1;
INSERT INTO events (ticket_id, at, type, actor, old, new)
SELECT id, status_at + 600, 'csat', requester, NULL, 1 + id % 5
FROM tickets WHERE status = 'solved' AND id % 7 = 0;
COMMIT;
ANALYZE;
EOF
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
