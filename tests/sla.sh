#!/bin/sh
# Service promises (tiketti-calendar(5), tiketti-rules(5) POLICIES) under
# faketime, the process in UTC and the calendar in Europe/Helsinki: due
# times over weekends, holidays (dates, ranges, the shipped .ics) and both
# DST changes of 2026; the clocks from the event log (pending moving the
# resolution due time by exactly its business hours, an answer stopping a
# clock); warning and breach events once however many ticks, two at once;
# the queue's nearest due time; report counts, rates and --replay.
# tests/pg.sh runs it again on PostgreSQL.
. "${SRCDIR:-.}/tests/lib.sh"

need python3 faketime
export TZ=UTC
DB=$(db t)
sql() { sql_db "$DB" "$1"; }
utc() { date -u -d "$1" +%s; }
# tat 'YYYY-MM-DD hh:mm' ARGS...: tiketti with the clock at that UTC time.
tat() {
	_t=$1
	shift
	at "$_t:00" "$TIKETTI" -c "$WORK/tiketti.conf" "$@"
}

mkdir -p "$WORK/rules" "$WORK/cal"
cp "$SRCDIR/contrib/calendars/fi.cal" "$SRCDIR/contrib/calendars/finland.ics" \
    "$WORK/cal/"

# ---- calendars ----
cat >"$WORK/tiketti.conf" <<EOF
database = $DB
EOF
for f in "$SRCDIR"/contrib/calendars/*.cal; do
	check "contrib/calendars/$(basename "$f") loads" tk calendar check "$f"
done
due() { tk calendar due "$1" "@$(utc "$2")" "$3" | cut -d' ' -f1; }
C=$WORK/cal/fi.cal
is "Friday 15:30 + 4 h: Monday 11:30 (the process in UTC)" \
    "$(due "$C" "2026-12-04 13:30" 4h)" "2026-12-07T11:30:00+02:00"
is "Wednesday 15:30 + 4 h over Christmas (finland.ics): Monday 28th" \
    "$(due "$C" "2026-12-23 13:30" 4h)" "2026-12-28T11:30:00+02:00"
is "over the spring DST change (29 March): 11:30 EEST" \
    "$(due "$C" "2026-03-27 13:30" 4h)" "2026-03-30T11:30:00+03:00"
is "... which is 08:30 UTC" \
    "$(tk calendar due "$C" "@$(utc "2026-03-27 13:30")" 4h | cut -d' ' -f2)" \
    "$(utc "2026-03-30 08:30")"
is "over the autumn DST change (25 October): 11:30 EET" \
    "$(due "$C" "2026-10-23 12:30" 4h)" "2026-10-26T11:30:00+02:00"
is "... which is 09:30 UTC" \
    "$(tk calendar due "$C" "@$(utc "2026-10-23 12:30")" 4h | cut -d' ' -f2)" \
    "$(utc "2026-10-26 09:30")"
is "on a Saturday: from Monday 08:00" "$(due "$C" "2026-12-05 10:00" 1h)" \
    "2026-12-07T09:00:00+02:00"
is "over Easter 2027 (Good Friday to Easter Monday)" \
    "$(due "$C" "2027-03-25 13:30" 1h)" "2027-03-30T08:30:00+03:00"
cat >"$WORK/cal/split.cal" <<'EOF'
# two spans a day, a range of holidays, comments
timezone Europe/Helsinki
mon-tue 08:00-16:00
wed 08:00-12:00, 13:00-16:00   # lunch
thu 09:00-17:00
holiday 2026-12-24 .. 2026-12-26
EOF
S=$WORK/cal/split.cal
is "two spans on Wednesday: 11:30 + 1 h is 13:30" \
    "$(due "$S" "2026-12-02 09:30" 1h)" "2026-12-02T13:30:00+02:00"
is "Thursday's own hours" "$(due "$S" "2026-12-03 06:00" 30m)" \
    "2026-12-03T09:30:00+02:00"
is "a holiday range skips Thursday 24th (and no Friday hours)" \
    "$(due "$S" "2026-12-23 13:30" 1h)" "2026-12-28T08:30:00+02:00"
cat >"$WORK/cal/bad.cal" <<'EOF'
timezone Europe/Helsinki
mon 08:00-16:00
tue 8-16
holiday 2026-13-01
fri 16:00-08:00
moonday 08:00-10:00
include nothere.ics
wed 08:00-12:00, 11:00-13:00
EOF
is "a broken calendar: check exits 65" \
    "$(exitcode tk calendar check "$WORK/cal/bad.cal")" 65
is "... every error as file:line:col" "$(sed "s|$WORK/cal/||g" "$WORK/err")" \
"bad.cal:3:5: not a time of day (00:00 to 24:00)
bad.cal:4:9: not a date YYYY-MM-DD (1970 to 2199) \"2026-13-01\"
bad.cal:5:5: a span must end after it starts
bad.cal:6:1: unknown keyword or day \"moonday\"
bad.cal:7:9: cannot read nothere.ics: No such file or directory
bad.cal:8:18: overlaps another span of \"wed\""
printf 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:no date\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n' >"$WORK/cal/nodate.ics"
printf 'timezone Europe/Helsinki\nmon-fri 08:00-16:00\ninclude nodate.ics\n' >"$WORK/cal/nodate.cal"
is "an .ics event without a date: an error naming both files" \
    "$(exitcode tk calendar check "$WORK/cal/nodate.cal"; sed "s|$WORK/cal/||" "$WORK/err")" \
"65
nodate.ics:1:1: an event without a valid DTSTART (\"no date\")
nodate.cal:3:9: included here"
printf 'timezone Mars/Olympus\n' >"$WORK/cal/zone.cal"
is "an unknown zone" \
    "$(exitcode tk calendar check "$WORK/cal/zone.cal"; sed "s|$WORK/cal/||" "$WORK/err")" \
"65
zone.cal:1:10: unknown time zone \"Mars/Olympus\""

# ---- policies ----
cat >"$WORK/tiketti.conf" <<EOF
database = $DB
mailboxes = tuki@yritys.example
rules_dir = rules
calendars_dir = cal
sla_policy = standard
trusted_authserv_id = mx.yritys.example

[agent maria]
address = maria@yritys.example
EOF
cat >"$WORK/bad.rules" <<'EOF'
policy "days" { calendar "fi"; resolution 2d; }
policy "empty" { calendar "fi"; }
policy "pct" { first-response 1h; warn 120%; }
rule "y" { on sla breach first-reply then note "x"; }
EOF
is "broken policies: rules check fails" \
    "$(exitcode tk rules check "$WORK/bad.rules")" 1
is "... with every error as file:line:col" \
    "$(sed "s|$WORK/||" "$WORK/out")" \
"bad.rules:1:43: business time is counted in hours or minutes (16h, not 2d: a business day is as long as its calendar says)
bad.rules:2:1: policy \"empty\" has no targets
bad.rules:3:44: warn takes a percentage of the target from 1% to 99%, like 80%
bad.rules:4:26: unknown target \"first-reply\" (want first-response, next-response or resolution)"
printf 'rule "x" { on create then sla "nope"; }\n' >"$WORK/bad2.rules"
is "an sla action naming no policy" \
    "$(exitcode tk rules check "$WORK/bad2.rules"; sed "s|$WORK/||" "$WORK/out")" \
    "1
bad2.rules:1:27: no policy \"nope\" in the rule files
tiketti.conf:0:0: sla_policy \"standard\" is no policy of the rule files"

cat >"$WORK/rules/10-sla.rules" <<'EOF'
policy "standard" {
	calendar "fi";
	first-response 4h;
	next-response 8h;
	resolution 16h;
	warn 80%;
}
rule "late" {
	on sla breach first-response
	then { set priority urgent; note "first answer late"; }
}
rule "nearly" {
	on sla warning [first-response, resolution]
	then tag "sla-warning";
}
EOF
check "the policies load" tk rules check

# ---- a ticket's clocks ----
# mail ID UTC-TIME [IN-REPLY-TO]: a customer's mail, ingested at that time.
mail() {
	printf 'From: Ville <ville@asiakas.example>\nTo: tuki@yritys.example\nSubject: Kysymys %s\nMessage-ID: <%s@asiakas.example>\n%sDate: Mon, 07 Dec 2026 08:00:00 +0000\n\nHei.\n' \
	    "$1" "$1" "${3:+In-Reply-To: <$3@asiakas.example>
}" | tat "$2" ingest --recipient tuki@yritys.example >/dev/null
}
# answer TO-MID UTC-TIME: maria's answer (Cc to us, proven by the
# trusted Authentication-Results), ingested at that time.
answer() {
	printf 'Authentication-Results: mx.yritys.example; dkim=pass header.d=yritys.example\nReceived: from b by mx.yritys.example; Mon, 07 Dec 2026 08:00:00 +0000\nFrom: Maria <maria@yritys.example>\nTo: ville@asiakas.example\nCc: tuki@yritys.example\nSubject: Re: Kysymys\nMessage-ID: <a-%s@yritys.example>\nIn-Reply-To: <%s@asiakas.example>\nDate: Mon, 07 Dec 2026 08:00:00 +0000\n\nNäin se käy.\n' \
	    "$1" "$1" | tat "$2" ingest --recipient tuki@yritys.example >/dev/null
}
# clock TICKET UTC-TIME TARGET FIELD: a field of a clock in ticket show.
clock() {
	tat "$2" ticket show "$1" --format json | json "[c.get('$4') for c in (d['sla'] or {}).get('clocks', []) if c['target'] == '$3'][-1]"
}
count_ev() { sql "select count(*) from events where ticket_id = $1 and type = '$2'"; }

mail t1 "2026-12-04 13:30"
is "Friday 15:30 Helsinki: first response due Monday 11:30" \
    "$(clock 1 "2026-12-04 14:00" first-response due_iso)" \
    "2026-12-07T11:30:00+02:00"
is "... as epoch seconds too" "$(clock 1 "2026-12-04 14:00" first-response due)" \
    "$(utc "2026-12-07 09:30")"
is "... resolution in 16 business hours: Tuesday 15:30" \
    "$(clock 1 "2026-12-04 14:00" resolution due_iso)" \
    "2026-12-08T15:30:00+02:00"
is "... the policy is the default (sla_policy)" \
    "$(tat "2026-12-04 14:00" ticket show 1 --format json | json "d['sla']['policy']")" \
    standard
is "... running" "$(clock 1 "2026-12-04 14:00" first-response state)" running
for t in "2026-12-04 14:00" "2026-12-07 06:00"; do
	tat "$t" tick
done
is "no warning before 80% of the time" "$(count_ev 1 sla_warning)" 0
tat "2026-12-07 08:45" tick
is "a warning at 80% (Monday 10:42)" "$(count_ev 1 sla_warning)" 1
is "... its rule tagged the ticket" \
    "$(sql "select tag from tags where ticket_id = 1")" sla-warning
tat "2026-12-07 09:29" tick
is "no breach before the due time" "$(count_ev 1 sla_breach)" 0
for m in 31 32 33 34 35; do
	tat "2026-12-07 09:$m" tick
done
tat "2026-12-07 09:36" tick & tat "2026-12-07 09:36" tick & wait
is "the breach written once over seven ticks, two at once" \
    "$(count_ev 1 sla_breach) $(count_ev 1 sla_warning)" "1 1"
is "... its rule fired once" \
    "$(count_ev 1 note) $(sql "select priority from tickets where id = 1")" \
    "1 urgent"
is "... the event names the target and the due time" \
    "$(sql "select old || ' ' || new from events where ticket_id = 1 and type = 'sla_breach'")" \
    "first-response 2026-12-07T11:30:00+02:00"
is "... and show says breached" \
    "$(clock 1 "2026-12-07 10:00" first-response state)" breached

# Ticket 2: answered in time, then pending for two business days.
mail t2 "2026-12-07 08:00"
answer t2 "2026-12-07 09:00"
is "an answer before the due time: first response met" \
    "$(clock 2 "2026-12-07 09:30" first-response state) $(clock 2 "2026-12-07 09:30" first-response met)" \
    "met true"
is "... after 1 business hour" \
    "$(clock 2 "2026-12-07 09:30" first-response elapsed)" 3600
BEFORE=$(clock 2 "2026-12-07 09:59" resolution due)
is "resolution due Wednesday 10:00 (Mon 10-16, Tue, Wed 8-10)" \
    "$BEFORE" "$(utc "2026-12-09 08:00")"
tat "2026-12-07 10:00" ticket set 2 status pending >/dev/null
is "pending pauses the resolution clock" \
    "$(clock 2 "2026-12-08 10:00" resolution state) $(clock 2 "2026-12-08 10:00" resolution due)" \
    "paused null"
tat "2026-12-09 10:00" ticket set 2 status open >/dev/null
AFTER=$(clock 2 "2026-12-09 10:01" resolution due)
is "two business days pending move it by exactly 16 business hours" \
    "$AFTER" "$(tk calendar due "$C" "@$BEFORE" 16h | cut -d' ' -f2)"
is "... to Friday 10:00" "$(clock 2 "2026-12-09 10:01" resolution due_iso)" \
    "2026-12-11T10:00:00+02:00"
mail t2b "2026-12-09 10:30" t2
is "the customer writes again: a next-response clock, 8 business hours" \
    "$(clock 2 "2026-12-09 10:31" next-response due_iso)" \
    "2026-12-10T12:30:00+02:00"
answer t2b "2026-12-09 11:30"
is "... stopped by the answer: met" \
    "$(clock 2 "2026-12-09 12:00" next-response state)" met

# The DST changes, through a ticket.
mail t3 "2026-10-23 12:30"
is "a ticket on the Friday before the autumn change: due 09:30 UTC Monday" \
    "$(clock 3 "2026-10-23 13:00" first-response due)" \
    "$(utc "2026-10-26 09:30")"
mail t4 "2026-03-27 13:30"
is "... before the spring change: due 08:30 UTC Monday" \
    "$(clock 4 "2026-03-27 14:00" first-response due)" \
    "$(utc "2026-03-30 08:30")"

# ---- queue ----
tat "2026-12-09 12:00" queue --format json >"$WORK/q.json"
is "queue: each ticket's nearest due time" \
    "$(json "sorted((t['id'], t['due'] and t['due']['target'], t['due'] and t['due']['due_iso']) for t in d)" <"$WORK/q.json")" \
    '[[1, "first-response", "2026-12-07T11:30:00+02:00"], [2, "resolution", "2026-12-11T10:00:00+02:00"], [3, "first-response", "2026-10-26T11:30:00+02:00"], [4, "first-response", "2026-03-30T11:30:00+03:00"]]'
PYJS=python3
python3 -c 'import jsonschema' 2>/dev/null || PYJS=/usr/bin/python3
check "... valid under contrib/schemas/queue.schema.json" \
    "$PYJS" "$SRCDIR/tests/sink/schemacheck.py" \
    "$SRCDIR/contrib/schemas/queue.schema.json" "$WORK/q.json"
tat "2026-12-09 12:00" queue >"$WORK/q.txt"
is "... and in text, overdue marked !" \
    "$(awk '$1 == 1 || $1 == 2 { print $1, $3 }' "$WORK/q.txt")" "1 !2d02h
2 1d20h"

# ---- reports ----
rep() {
	tat "2026-12-09 12:00" report --since 2026-12-01 --until 2026-12-31 \
	    --format json "$@" | json "$2"
}
R="[d['sla']['targets'][t][k] for t in ('first-response', 'next-response', 'resolution') for k in ('met', 'breached', 'running')]"
is "report: met, breached and running per target" \
    "$(tat "2026-12-09 12:00" report --since 2026-12-01 --until 2026-12-31 --format json | json "$R")" \
    "[1, 1, 0, 1, 0, 0, 0, 1, 1]"
is "... the first-response breach rate" \
    "$(tat "2026-12-09 12:00" report --since 2026-12-01 --until 2026-12-31 --format json | json "d['sla']['targets']['first-response']['breach_rate']")" \
    0.5
is "... business time to first response: median and p90 (n = 2)" \
    "$(tat "2026-12-09 12:00" report --since 2026-12-01 --until 2026-12-31 --format json | json "[d['sla']['business_first_response'][k] for k in ('n', 'median', 'p90')]")" \
    "[1, 3600, 3600]"
cat >"$WORK/tight.rules" <<'EOF'
policy "tight" { calendar "fi"; first-response 30m; next-response 30m; }
EOF
is "--replay: as if first response had been promised in 30 minutes" \
    "$(tat "2026-12-09 12:00" report --since 2026-12-01 --until 2026-12-31 --format json --replay "$WORK/tight.rules" | json "$R")" \
    "[0, 2, 0, 0, 1, 0, 0, 0, 0]"
tat "2026-12-09 12:00" report --since 2026-12-01 --until 2026-12-31 >"$WORK/r.txt"
grep -q "first-response          1        1        0  50.0%" "$WORK/r.txt" &&
    ok "... and the text report's line" ||
    { not_ok "... and the text report's line"; sed 's/^/# /' "$WORK/r.txt"; }

# ---- a calendar changed: the due times follow ----
sed -i 's/08:00-16:00/10:00-16:00/' "$WORK/cal/fi.cal"
is "a calendar changed: the same events give the new due time" \
    "$(clock 1 "2026-12-04 14:00" first-response due_iso)" \
    "2026-12-07T13:30:00+02:00"
printf 'mon-fri 8-16\n' >>"$WORK/cal/fi.cal"
is "a calendar broken: tick exits 78 and says where" \
    "$(exitcode tat "2026-12-09 12:00" tick; grep -c "fi.cal:8:9: " "$WORK/err")" "78
1"

done_testing
