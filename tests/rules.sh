#!/bin/sh
# Rule files through the CLI: golden diagnostics of `rules check`, `rules
# test` as a dry run, broken rules leaving mail for retry, time rules
# firing once under concurrent ticks, and header injection through
# template values. REGEN=1 rewrites the .ref files (review them!).
. "${SRCDIR:-.}/tests/lib.sh"

R="$SRCDIR/tests/rules"

# Golden diagnostics: every broken file exits 1 with FILE:LINE:COL lines.
for f in "$R"/bad/*.rules; do
	name=$(basename "$f" .rules)
	code=$(cd "$R/bad" && "$TIKETTI" -c ../tiketti.conf rules check \
	    "$name.rules" >"$WORK/got" 2>&1; echo $?)
	[ -n "${REGEN:-}" ] && cp "$WORK/got" "$R/bad/$name.ref"
	is "rules check $name.rules exits 1" "$code" 1
	if diff -u "$R/bad/$name.ref" "$WORK/got" >"$WORK/diff"; then
		ok "rules check $name.rules: diagnostics as in $name.ref"
	else
		not_ok "rules check $name.rules: diagnostics differ"
		sed 's/^/# /' "$WORK/diff"
	fi
done

# The shipped rules are clean against the sample configuration.
SAMPLE="$SRCDIR/sample/tiketti.conf"
is "rules check: the shipped rules are clean" \
    "$(exitcode "$TIKETTI" -c "$SAMPLE" rules check)" 0
check "rules check: prints the count" grep -q "^7 rules and macros, no errors" "$WORK/out"

# rules test: which rules fire and what they would do; no database.
COMPLAINT=$(ls "$SRCDIR"/sample/maildir/cur/1767783600*)
(cd "$WORK" && "$TIKETTI" -c "$SAMPLE" --db "$WORK/never.db" rules test \
    "$COMPLAINT" >"$WORK/test.out" 2>&1)
check "rules test: the complaints rule fires" grep -q 'rule "complaints" (.*20-complaints.rules:11) fires' "$WORK/test.out"
check "rules test: shows the route action" grep -q 'route skill "complaints"' "$WORK/test.out"
check "rules test: shows the autoreply" grep -q 'autoreply "complaint-ack"' "$WORK/test.out"
check "rules test: the CEO rule does not fire" sh -c "! grep -q CEO '$WORK/test.out'"
check "rules test: touches no database" test ! -e "$WORK/never.db"
(cd "$WORK" && "$TIKETTI" -c "$SAMPLE" rules test --event agent-reply \
    "$COMPLAINT" >"$WORK/test.out" 2>&1)
check "rules test --event agent-reply: nothing fires" grep -q "no rule fires" "$WORK/test.out"

# A status rule reached from a rule's "set status" is shown nested.
mkdir -p "$WORK/r1" "$WORK/t1"
cat >"$WORK/r1/10.rules" <<'RULES'
rule "solve at once" { on create if header :subject :matches "*quick*" then set status solved; }
rule "survey" { on status solved then csat; }
RULES
printf 'Subject: x\n\nbody\n' >"$WORK/t1/csat.txt"
cat >"$WORK/r.conf" <<CONF
database = $WORK/r.db
secret = rules-test-secret-0123456789
mailboxes = tuki@yritys.example
rules_dir = $WORK/r1
templates_dir = $WORK/t1
CONF
printf 'From: a@b.example\nTo: tuki@yritys.example\nSubject: A Quick one\n\nhi\n' >"$WORK/q.eml"
"$TIKETTI" -c "$WORK/r.conf" rules test "$WORK/q.eml" >"$WORK/test.out" 2>&1
check "rules test: follows set status into status rules" grep -q 'on status solved' "$WORK/test.out"
check "rules test: ... and shows what they do" grep -q '^ *csat$' "$WORK/test.out"

# Broken rules: ingest leaves the mail with the sender (75), stores
# nothing, and says where the error is; fixed, the same mail goes in.
cp "$R/bad/unknown-action.rules" "$WORK/r1/20.rules"
is "ingest with broken rules exits 75" \
    "$(exitcode "$TIKETTI" -c "$WORK/r.conf" ingest "$WORK/q.eml")" 75
check "ingest with broken rules names file:line:col" grep -q "20.rules:4:9: unknown action \"sett\"" "$WORK/err"
is "ingest with broken rules stored nothing" \
    "$(sqlite3 "$WORK/r.db" 'select count(*) from messages' 2>/dev/null || echo 0)" 0
rm "$WORK/r1/20.rules"
is "ingest after the fix exits 0" \
    "$(exitcode "$TIKETTI" -c "$WORK/r.conf" ingest "$WORK/q.eml")" 0
is "the rules ran: solved at once, one survey queued" \
    "$("$TIKETTI" -c "$WORK/r.conf" outbox list --format json | json '[o["kind"] for o in d]')" \
    '["csat"]'
is "tick with broken rules exits 78" \
    "$(cp "$R/bad/values.rules" "$WORK/r1/20.rules"; exitcode "$TIKETTI" -c "$WORK/r.conf" tick)" 78
rm -f "$WORK/r1/20.rules"

# Time rules fire once per ticket and occurrence, even with two ticks
# running at once and a third afterwards.
mkdir -p "$WORK/r2"
cat >"$WORK/r2/10.rules" <<'RULES'
rule "wait" { on create then set status pending; }
rule "nudge" { on after 1d in pending then autoreply "ack"; }
rule "old" { on after 2d since created then tag "old"; }
RULES
cp "$R/templates/ack.txt" "$WORK/t1/ack.txt"
cat >"$WORK/c.conf" <<CONF
database = $WORK/c.db
mailboxes = tuki@yritys.example
rules_dir = $WORK/r2
templates_dir = $WORK/t1
CONF
i=0
: >"$WORK/200.mbox"
while [ $i -lt 200 ]; do
	printf 'From c%d@x.example Mon Mar  2 10:00:00 2026\nFrom: C%d <c%d@x.example>\nTo: tuki@yritys.example\nSubject: question %d\nMessage-ID: <q%d@x.example>\n\nhello\n\n' \
	    $i $i $i $i $i >>"$WORK/200.mbox"
	i=$((i + 1))
done
at '2026-03-02 10:00:00' "$TIKETTI" -c "$WORK/c.conf" ingest --mbox "$WORK/200.mbox" 2>/dev/null
at '2026-03-03 11:00:00' "$TIKETTI" -c "$WORK/c.conf" tick &
p1=$!
at '2026-03-03 11:00:00' "$TIKETTI" -c "$WORK/c.conf" tick &
p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
is "two ticks at once both succeed" "$r1 $r2" "0 0"
at '2026-03-04 11:00:05' "$TIKETTI" -c "$WORK/c.conf" tick
is "200 pending tickets: 200 reminders, none twice" \
    "$(sqlite3 "$WORK/c.db" "select count(*), count(distinct ticket_id) from outbox where rule = 'nudge'")" \
    "200|200"
is "200 tickets over 2 days old: tagged once each" \
    "$(sqlite3 "$WORK/c.db" "select count(*), count(distinct ticket_id) from events where type = 'tag' and new = 'old'")" \
    "200|200"
check "tick uses the status index for due tickets" sh -c \
    "sqlite3 '$WORK/c.db' \"explain query plan select id from tickets where status = 'pending' and status_at > 0 and status_at <= 9\" | grep -q 'INDEX tickets_status (status=? AND status_at>? AND status_at<?)'"

# No header injection through a template value. mime.c already makes a
# display name one line; a category an admin typed with CR LF reaches the
# template as it is, and the template must not let it start a header.
mkdir -p "$WORK/r3"
printf 'rule "ack" { on status solved then autoreply "inj"; }\n' >"$WORK/r3/10.rules"
printf 'Subject: Hello {{customer.name}} {{ticket.category}}\nX-Customer: {{customer.name}} {{ticket.category}}\n\nHi {{customer.name}}\n' \
    >"$WORK/t1/inj.txt"
cat >"$WORK/i.conf" <<CONF
database = $WORK/i.db
mailboxes = tuki@yritys.example
rules_dir = $WORK/r3
templates_dir = $WORK/t1
CONF
printf 'From: =?utf-8?q?Evil=0D=0ABcc=3A_victim=40example=2Ecom=0D=0A=0D=0AP=C3=A4=C3=A4?= <evil@x.example>\nTo: tuki@yritys.example\nSubject: hi\nMessage-ID: <evil@x.example>\n\nbody\n' \
    >"$WORK/evil.eml"
"$TIKETTI" -c "$WORK/i.conf" ingest "$WORK/evil.eml"
"$TIKETTI" -c "$WORK/i.conf" ticket set 1 category "$(printf 'x\r\nBcc: victim2@example.com\r\n\r\nbody')" 2>"$WORK/cat.err"
is "injection: a category with CR LF is refused (EX_USAGE)" "$?/$(sqlite3 "$WORK/i.db" "select count(category) from tickets")" "64/0"
check "... saying why" grep -q 'bad category' "$WORK/cat.err"
"$TIKETTI" -c "$WORK/i.conf" ticket set 1 status solved
sqlite3 "$WORK/i.db" "select subject from outbox" >"$WORK/subj"
sqlite3 "$WORK/i.db" "select headers from outbox" >"$WORK/hdrs"
is "injection: the autoreply was queued" \
    "$(sqlite3 "$WORK/i.db" "select count(*) from outbox")" 1
is "injection: no CR or LF in the subject" \
    "$(sqlite3 "$WORK/i.db" "select instr(subject, char(13)) + instr(subject, char(10)) from outbox")" 0
is "injection: one extra header, ending in its one LF" \
    "$(sqlite3 "$WORK/i.db" "select length(headers) - length(replace(headers, char(10), '')), instr(headers, char(13)) from outbox")" "1|0"
check "injection: no Bcc header starts a line" sh -c "! grep -qi '^bcc' '$WORK/hdrs' '$WORK/subj'"
check "injection: non-ASCII is RFC 2047-encoded" grep -qi '^X-Customer: .*=?utf-8?b?' "$WORK/hdrs"
check "injection: the header is pure ASCII" sh -c "! LC_ALL=C grep -q '[^ -~]' '$WORK/hdrs'"

# An agent's command lines are applied and kept out of the stored text
# the customer would see; a customer's "#solve" is just text.
cat >"$WORK/a.conf" <<CONF
database = $WORK/a.db
mailboxes = tuki@yritys.example
rules_dir = $WORK/no-such-rules
trusted_authserv_id = mx.yritys.example
[agent maria]
address = maria@yritys.example
CONF
printf 'From: c@x.example\nTo: tuki@yritys.example\nSubject: Apua\nMessage-ID: <c1@x>\n\n#solve please\n' >"$WORK/c1.eml"
printf 'Authentication-Results: mx.yritys.example; dkim=pass header.d=yritys.example\nFrom: maria@yritys.example\nTo: c@x.example\nSubject: Re: [Ticket #1] Apua\nIn-Reply-To: <c1@x>\nMessage-ID: <m1@x>\n\n#pending\n#note asked for the order number\n\nWhat is your order number?\n' >"$WORK/m1.eml"
"$TIKETTI" -c "$WORK/a.conf" ingest "$WORK/c1.eml" "$WORK/m1.eml" 2>/dev/null
is "agent commands: applied" "$("$TIKETTI" -c "$WORK/a.conf" ticket list --format json | json 'd[0]["status"]')" pending
is "agent commands: stripped from the stored text" \
    "$(sqlite3 "$WORK/a.db" "select body from messages where kind = 'agent'")" \
    "What is your order number?"
is "a customer's #solve is kept as text" \
    "$(sqlite3 "$WORK/a.db" "select body from messages where kind = 'customer'")" \
    "#solve please"

# "Auto:" in a customer's Subject is about her car, not an out-of-office:
# the shipped complaint rule answers it.
printf 'From: Pekka <pekka@asiakas.example>\nTo: tuki@yritys.example\nSubject: Auto: reklamaatio, jarrut vinkuvat\nMessage-ID: <car@asiakas.example>\n\nUuden autoni jarrut vinkuvat.\n' >"$WORK/car.eml"
"$TIKETTI" -c "$SRCDIR/sample/tiketti.conf" rules test "$WORK/car.eml" >"$WORK/car.out" 2>&1
check "a customer's \"Auto: reklamaatio\" gets the complaint autoreply" \
    grep -q 'autoreply "complaint-ack"' "$WORK/car.out"
check "... as a customer's mail" grep -q "(customer)" "$WORK/car.out"

done_testing
