#!/bin/sh
# tiketti check, the monitoring plugin: exit 0/1/2/3 with "TIKETTI
# STATE - ... | perfdata" first and a line per finding. Healthy after a
# tick; a tick never run or too long ago (faketime); a broken rule file
# and a broken calendar named; outbox rows failing at a real smtp-sink
# that refuses them and rows queued past outbox_max_age; a database that
# is no database; an account's poll that failed (a closed port) or never
# ran; an OAuth account without a grant; the milter's socket with the
# real milter on it and without; thresholds from -w/-c and the config;
# a broken configuration is UNKNOWN. tests/pg.sh runs it again on
# PostgreSQL.
. "${SRCDIR:-.}/tests/lib.sh"
. "$SRCDIR/tests/servers.sh"

need smtp-sink faketime python3
MPID=
trap 'sink_down; [ -n "$MPID" ] && kill "$MPID" 2>/dev/null; rm -rf "$WORK"' EXIT
chmod 711 "$WORK"
DB=$(db t)
SPORT=$(freeport)
CLOSED=$(freeport)
mkdir -p "$WORK/rules" "$WORK/templates" "$WORK/calendars"
cat >"$WORK/tiketti.conf" <<EOF
database = $DB
mailboxes = tuki@yritys.example
rules_dir = rules
templates_dir = templates
calendars_dir = calendars
smtp_url = smtp://127.0.0.1:$SPORT
smtp_starttls = no
milter_socket = unix:$WORK/milter.sock
milter_pid_file = $WORK/milter.pid
milter_user =
EOF
cat >"$WORK/rules/10.rules" <<'EOF'
rule "ack" { on create then autoreply "ack"; }
EOF
printf 'Subject: Received\n\nThank you.\n' >"$WORK/templates/ack.txt"
# chk ARGS...: tiketti check; its exit in $RC, its output in $WORK/chk.
chk() {
	"$TIKETTI" -c "$WORK/tiketti.conf" check "$@" >"$WORK/chk" 2>&1
	RC=$?
}
first() { head -1 "$WORK/chk" | sed 's/ |.*//'; }

# ---- healthy, and a tick that never ran or is late ----
chk
is "no database yet: CRITICAL (2)" "$RC $(grep -c '^CRITICAL: database' "$WORK/chk")" "2 1"
tk db migrate >/dev/null 2>&1
chk
is "a tick never ran: WARNING (1)" "$RC $(first)" "1 TIKETTI WARNING - tick has never run"
tk tick >/dev/null 2>&1
chk
is "after a tick: OK (0)" "$RC $(first)" "0 TIKETTI OK - 4 checks passed"
is "... perfdata after |, with the thresholds" \
    "$(head -1 "$WORK/chk" | sed 's/.*| //; s/tick_age=[0-9]*s/tick_age=Ns/')" \
    "outbox_failing=0;1;10 outbox_stale=0 tick_age=Ns;300;900"
check "... a line per finding" grep -q '^OK: database at schema' "$WORK/chk"
faketime -f '+10m' "$TIKETTI" -c "$WORK/tiketti.conf" check >"$WORK/chk"
is "the last tick 10 minutes ago: WARNING (check_tick 5m, 15m)" \
    "$(first)" "TIKETTI WARNING - tick ran 10m ago"
faketime -f '+20m' "$TIKETTI" -c "$WORK/tiketti.conf" check >"$WORK/chk"
is "... 20 minutes ago: CRITICAL" "$(first)" "TIKETTI CRITICAL - tick ran 20m ago"
faketime -f '+20m' "$TIKETTI" -c "$WORK/tiketti.conf" check -w tick=30m -c tick=1h >"$WORK/chk"
is "... OK with -w tick=30m -c tick=1h" "$(first)" "TIKETTI OK - 4 checks passed"
printf 'check_tick = 1h, 2h\n' >>"$WORK/tiketti.conf"
faketime -f '+20m' "$TIKETTI" -c "$WORK/tiketti.conf" check >"$WORK/chk"
is "... and with check_tick = 1h, 2h" "$(first)" "TIKETTI OK - 4 checks passed"
sed -i '/^check_tick/d' "$WORK/tiketti.conf"

# ---- broken files ----
echo 'rule "x" { on create then sett priority high; }' >"$WORK/rules/20-bad.rules"
chk
is "a broken rule file: CRITICAL (2), naming the file, line and column" \
    "$RC $(first | grep -c "^TIKETTI CRITICAL - rules: .*rules/20-bad.rules:1:[0-9]*: ")" "2 1"
rm "$WORK/rules/20-bad.rules"
printf 'policy "p" { calendar "fi"; first-response 4h; }\nrule "p" { on create then sla "p"; }\n' >"$WORK/rules/30-sla.rules"
printf 'zone Europe/Helsinki\nmon 08:00-16:00\nholiday 2026-13-45\n' >"$WORK/calendars/fi.cal"
chk
is "a broken calendar: CRITICAL, naming it" \
    "$RC $(grep -c "^CRITICAL: calendar: .*fi.cal:3:" "$WORK/chk")" "2 1"
rm "$WORK/rules/30-sla.rules"

# ---- the outbox ----
sink_up "$SPORT" "$WORK/sink" -f rcpt	# 5xx to every recipient
printf 'From: a@asiakas.example\nTo: tuki@yritys.example\nSubject: x\nMessage-ID: <c1@asiakas.example>\n\nx\n' |
    tk ingest >/dev/null 2>&1
sink_down
printf 'From: b@asiakas.example\nTo: tuki@yritys.example\nSubject: y\nMessage-ID: <c2@asiakas.example>\n\ny\n' |
    tk ingest >/dev/null 2>&1	# smtp-sink is gone: retried later
tk tick >/dev/null 2>&1
chk
is "a row refused and a row retried: WARNING at 1 (check_outbox 1, 10)" \
    "$RC $(first)" "1 TIKETTI WARNING - outbox: 2 rows failing (retried, or failed within a day)"
chk -c outbox=2
is "... CRITICAL with -c outbox=2" "$RC" 2
faketime -f '+3d' "$TIKETTI" -c "$WORK/tiketti.conf" check -w tick=30d -c tick=60d >"$WORK/chk"
is "a row queued past outbox_max_age (2d): CRITICAL" \
    "$(first)" "TIKETTI CRITICAL - outbox: 1 rows queued longer than outbox_max_age (and more)"

# ---- the milter's socket ----
chk --milter
is "--milter with nothing on the socket: CRITICAL" \
    "$RC $(grep -c "^CRITICAL: milter on unix:" "$WORK/chk")" "2 1"
"$TIKETTI" -c "$WORK/tiketti.conf" milter -d >"$WORK/milter.log" 2>&1 &
MPID=$!
for _ in $(seq 50); do [ -S "$WORK/milter.sock" ] && break; sleep 0.1; done
chk --milter
check "... with the milter running: it answers" \
    grep -q "^OK: milter answers on unix:$WORK/milter.sock" "$WORK/chk"
printf 'check_milter = yes\n' >>"$WORK/tiketti.conf"
chk
check "... check_milter = yes asks it too" grep -q "^OK: milter answers" "$WORK/chk"
kill "$MPID"
wait "$MPID" 2>/dev/null
MPID=

# ---- accounts ----
echo secret >"$WORK/pw"
chmod 600 "$WORK/pw"
cat >>"$WORK/tiketti.conf" <<EOF

[account down]
host = 127.0.0.1
port = $CLOSED
tls = none
allow_plaintext = yes
user = support
password_file = $WORK/pw
timeout = 2

[account m365]
host = 127.0.0.1
user = support
auth = oauth2
oauth_token_url = http://127.0.0.1:$CLOSED/token
oauth_client_id = x
EOF
sed -i '/^check_milter/d' "$WORK/tiketti.conf"
chk
check "an account never polled: WARNING" grep -q "^WARNING: account down: poll has never run" "$WORK/chk"
check "an OAuth account without a grant: CRITICAL, the fix named" \
    grep -q "^CRITICAL: account m365: no OAuth grant: run \`tiketti oauth login m365\`" "$WORK/chk"
tk poll --account down >/dev/null 2>&1
chk
check "a poll that failed: CRITICAL with its reason" \
    grep -q "^CRITICAL: account down: poll failed: connect to 127.0.0.1 port $CLOSED: cannot connect" "$WORK/chk"

# ---- no database, no configuration ----
printf 'garbage, not a database\n' >"$WORK/garbage.db"
"$TIKETTI" -c "$WORK/tiketti.conf" --db "$WORK/garbage.db" check >"$WORK/chk" 2>&1
is "a database that is none: CRITICAL (2)" \
    "$? $(first | grep -c "^TIKETTI CRITICAL - database $WORK/garbage.db: ")" "2 1"
printf 'nonsense here\n' >"$WORK/bad.conf"
"$TIKETTI" -c "$WORK/bad.conf" check >"$WORK/chk" 2>&1
is "a broken configuration: UNKNOWN (3)" "$? $(first)" \
    "3 TIKETTI UNKNOWN - configuration not loaded"
chk -w nonsense
is "a bad option: UNKNOWN" "$RC" 3
done_testing
