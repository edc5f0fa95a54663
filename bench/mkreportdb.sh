#!/bin/sh
# bench/mkreportdb.sh DB [TICKETS] — a synthetic SQLite store for the
# report benchmarks (bench/report.sh, bench/pg.sh): TICKETS (default
# 1,000,000) tickets spread over 90 days from 2026-09-21, with five
# events each (created, the customer's mail, an agent's answer, open,
# solved or pending), an agent's mail row per answer, and autoreplies
# and surveys in the outbox. Needs sqlite3.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
db=$1
n=${2:-1000000}
tiketti=${TIKETTI:-$top/tiketti}

# The schema, as tiketti makes it.
printf 'From: a@b.example\nTo: support@yritys.example\nSubject: x\n\nx\n' |
    "$tiketti" --db "$db" ingest --no-rules >/dev/null 2>&1
echo "building $n tickets ..." >&2
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
