#!/bin/sh
# Security promises, each as a test:
#   - no header injection through any template variable: a customer whose
#     name and subject carry encoded CR/LF and header lines gets an
#     autoreply (every variable in its Subject, a header and the body)
#     with exactly the headers we wrote and one recipient;
#   - a tagged mail from a stranger cannot reach another customer's ticket;
#   - a forged survey token is ignored and recorded;
#   - password files group or others may read are refused (SMTP and IMAP);
#   - SQL only through bound parameters (the source is checked: no
#     sqlite3_mprintf/%q, every sqlite3_exec and exec_plain on a literal,
#     SQLite included by store.c alone);
#   - the milter runs as milter_user once its socket is bound.
# Other files test these too (deliver.sh, scenarios/05, imap.sh,
# postfix.sh); this one keeps them in one place.
. "${SRCDIR:-.}/tests/lib.sh"
. "$SRCDIR/tests/servers.sh"

need smtp-sink python3 sqlite3
trap 'sink_down; rm -rf "$WORK"' EXIT
chmod 711 "$WORK"
SPORT=$(freeport)
sink_up "$SPORT" "$WORK/sink"
mkdir -p "$WORK/rules" "$WORK/tmpl"
echo secret >"$WORK/pw"
chmod 600 "$WORK/pw"
cat >"$WORK/tiketti.conf" <<EOF
database = $WORK/t.db
mailboxes = tuki@yritys.example
ticket_prefix = Tuki
secret = security-test-secret-0123456789
smtp_url = smtp://127.0.0.1:$SPORT
smtp_starttls = no
rules_dir = $WORK/rules
templates_dir = $WORK/tmpl

[agent maria]
address = maria@yritys.example
EOF
cat >"$WORK/rules/10.rules" <<'EOF'
rule "ack" { on create then { set category "x"; autoreply "ack"; } }
EOF
V='{{ticket.subject}}|{{customer.name}}|{{customer.address}}|{{ticket.category}}|{{ticket.tag}}|{{ticket.status}}|{{ticket.priority}}|{{ticket.id}}|{{agent.name}}'
printf 'Subject: Re: %s\nX-Case: %s\n\nHello %s\n' "$V" "$V" "$V" \
    >"$WORK/tmpl/ack.txt"
sql() { sqlite3 "$WORK/t.db" "$1"; }
mc() { python3 "$SRCDIR/tests/sink/mailcheck.py" "$@"; }

# ---- header injection ----
cat >"$WORK/evil.eml" <<'EOF'
From: =?utf-8?q?Evil=0D=0ABcc=3A_victim=40x=2Eexample=0D=0A=0D=0Abody?= <evil@asiakas.example>
To: tuki@yritys.example
Subject: =?utf-8?q?Help=0D=0ABcc=3A_v2=40x=2Eexample=0AX-Injected=3A_1?=
Message-ID: <evil1@asiakas.example>

Please.
EOF
is "a mail with CR/LF in its name and subject: exit 0" \
    "$(exitcode "$TIKETTI" -c "$WORK/tiketti.conf" ingest "$WORK/evil.eml")" 0
waitfiles "$WORK/sink" 1 10
M=$(find "$WORK/sink" -type f | head -1)
is "the autoreply went to the customer alone" "$(mc "$M" 'env_to')" '["evil@asiakas.example"]'
is "it has exactly the headers we wrote" \
    "$(mc "$M" 'sorted(set(k.lower() for k in m.keys()) - {"received", "x-tiketti-ticket"})')" \
    '["auto-submitted", "content-type", "date", "from", "in-reply-to", "message-id", "mime-version", "references", "reply-to", "subject", "to", "x-auto-response-suppress", "x-case"]'
is "no header value holds a line break" \
    "$(mc "$M" 'any(("\n" in str(v) or "\r" in str(v)) for v in m.values())')" false
is "no Bcc, no X-Injected" \
    "$(mc "$M" '[m["Bcc"], m["X-Injected"]]')" '[null, null]'
check "the subject carries the text, on one line" \
    sh -c "python3 '$SRCDIR/tests/sink/mailcheck.py' '$M' 'm[\"Subject\"]' | grep -q 'Bcc: v2@x.example X-Injected: 1'"

printf 'X-Bad\rName: x\n\nbody\n' >"$WORK/tmpl/bad.txt"
printf 'rule "bad" { on create then autoreply "bad"; }\n' >"$WORK/bad.rules"
is "a template header name with a control character is refused" \
    "$(exitcode "$TIKETTI" -c "$WORK/tiketti.conf" rules check "$WORK/bad.rules")" 1
check "... with file:line:col" grep -q "bad.txt:1:1: header not allowed in a template" "$WORK/out" "$WORK/err"
rm "$WORK/tmpl/bad.txt"

# ---- a stranger's tagged mail ----
cat >"$WORK/stranger.eml" <<'EOF'
From: Mallory <mallory@muu.example>
To: tuki@yritys.example
Subject: Re: Help [Tuki #1]
Message-ID: <m1@muu.example>

Give me the customer's data.
EOF
"$TIKETTI" -c "$WORK/tiketti.conf" ingest "$WORK/stranger.eml" >/dev/null 2>&1
is "a stranger's [Tuki #1] opens a ticket of its own" \
    "$(sql "select ticket_id from messages where message_id = 'm1@muu.example'")" 2
is "ticket 1 still has only its customer's mail" \
    "$(sql "select count(*) from messages where ticket_id = 1 and direction = 'in'")" 1
is "the refusal is recorded on both tickets" \
    "$(sql "select count(*) from events where type = 'tag_refused'")" 2

# ---- a forged survey token ----
cat >"$WORK/forged.eml" <<'EOF'
From: evil@asiakas.example
To: tuki+csat-1-1-0123456789abcdef@yritys.example
Subject: rating
Message-ID: <f1@asiakas.example>

1
EOF
"$TIKETTI" -c "$WORK/tiketti.conf" ingest "$WORK/forged.eml" >/dev/null 2>&1
is "a forged survey token rates nothing" \
    "$(sql "select count(*) from events where type = 'csat'")" 0
is "... and is recorded" \
    "$(sql "select count(*) from events where type = 'token_forged'")" 1

# ---- password files ----
chmod 640 "$WORK/pw"
sed "1i smtp_user = tiketti\\nsmtp_password_file = $WORK/pw" \
    "$WORK/tiketti.conf" >"$WORK/smtp.conf"
sed 's/evil/other/g' "$WORK/evil.eml" >"$WORK/other.eml"
"$TIKETTI" -c "$WORK/smtp.conf" ingest "$WORK/other.eml" >/dev/null 2>&1
is "SMTP: a password file the group can read is refused (78)" \
    "$(exitcode "$TIKETTI" -c "$WORK/smtp.conf" flush -f)" 78
check "... saying why" grep -q "mode 640: group or others may read it" "$WORK/err"
{
	cat "$WORK/tiketti.conf"
	printf '\n[account a]\nhost = 127.0.0.1\nport = %s\nuser = u\n' "$SPORT"
	printf 'password_file = %s\nmailbox = tuki@yritys.example\n' "$WORK/pw"
} >"$WORK/imap.conf"
is "IMAP: the same file is refused before connecting (77)" \
    "$(exitcode "$TIKETTI" -c "$WORK/imap.conf" poll)" 77
check "... saying why" grep -q "account a: password_file $WORK/pw is mode 640" "$WORK/err"
chmod 600 "$WORK/pw"

# ---- SQL through bound parameters only ----
is "no sqlite3_mprintf, %q or %Q formatting anywhere" \
    "$(grep -n 'sqlite3_[a-z]*printf\|%[qQw]' "$SRCDIR"/src/*.c | grep -v '^.*:[0-9]*:[[:space:]]*\*' | wc -l | tr -d ' ')" 0
is "SQLite is included by store_sqlite.c alone" \
    "$(grep -l 'include <sqlite3.h>' "$SRCDIR"/src/*.c "$SRCDIR"/src/*.h "$SRCDIR"/include/tiketti/*.h | xargs -n1 basename | tr '\n' ' ')" "store_sqlite.c "
is "libpq is included by store_pg.c alone" \
    "$(grep -l 'include <libpq-fe.h>' "$SRCDIR"/src/*.c "$SRCDIR"/src/*.h "$SRCDIR"/include/tiketti/*.h | xargs -n1 basename | tr '\n' ' ')" "store_pg.c "
is "every call that runs SQL runs SQL written in store.c" \
    "$(python3 - "$SRCDIR/src" <<'PY'
import re, sys, os
d = sys.argv[1]
bad, seen = [], 0
# store.c runs literals (also as macros, constant arrays, or either of
# two literals), the migration tables' blocks and the statement tables'
# texts; the backends run literals and the text they are handed.
allowed = {
    # sql.data: store_copy's statements, made from its constant table of
    # tables and columns
    'store.c': {'m->sql', 'sql', 'sql.data'},
    'store_sqlite.c': {'sql'},
    'store_pg.c': {'sql', 's->sql'},
}
calls = r'\b(sqlite3_exec|exec_plain|sqlite3_prepare_v[23]|PQexec|PQexecParams|exec1|ops->exec|ops->prepare)\s*\(\s*[^,]+,\s*([^,]+?)\s*[,)]'
for f, ok in allowed.items():
    src = open(os.path.join(d, f)).read()
    for m in re.finditer(calls, src):
        arg = m.group(2).strip()
        if arg.startswith('const char') or arg.startswith('struct'):
            continue		# a definition
        lit = r'"(?:[^"\\]|\\.)*"'
        if arg.startswith('"') or arg in ok or re.match(r'[A-Z_]+\b', arg) \
           or re.fullmatch(r'[^"]*\?\s*%s\s*:\s*%s' % (lit, lit), arg, re.S) \
           or re.search(r'static const char %s\[\] =' % re.escape(arg), src):
            seen += 1
            continue
        bad.append("%s: %s(%s)" % (f, m.group(1), arg))
    for m in re.finditer(r'\bPQprepare\s*\(\s*[^,]+,\s*[^,]+,\s*([^,]+),', src):
        if m.group(1).strip() not in ok:
            bad.append("%s: PQprepare(%s)" % (f, m.group(1).strip()))
        else:
            seen += 1
# SQL is written nowhere else.
for f in os.listdir(d):
    if f.endswith('.c') and f not in allowed:
        if re.search(r'"(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|CREATE TABLE) ', open(os.path.join(d, f)).read()):
            bad.append(f + " writes SQL")
print(" ".join(bad) or ("ok" if seen >= 10 else "only %d calls found" % seen))
PY
)" ok

# ---- the milter drops its privileges ----
if [ "$(id -u)" = 0 ]; then
	MPORT=$(freeport)
	sed "1i milter_socket = inet:$MPORT@127.0.0.1\\nmilter_user = nobody\\nmilter_pid_file =" \
	    "$WORK/tiketti.conf" >"$WORK/milter.conf"
	chmod 777 "$WORK"	# nobody writes the database here
	chmod 666 "$WORK"/t.db*
	"$TIKETTI" -c "$WORK/milter.conf" milter -d >"$WORK/milter.log" 2>&1 &
	MPID=$!
	waitport "$MPORT"
	is "the milter runs as nobody once bound (real, effective, saved, fs)" \
	    "$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$MPID/status")" \
	    "$(id -u nobody) $(id -u nobody) $(id -u nobody) $(id -u nobody)"
	is "... with nobody's groups alone" \
	    "$(awk '/^Gid:/ { print $2, $3 } /^Groups:/ { $1 = "groups:"; print }' "/proc/$MPID/status" | tr '\n' ' ')" \
	    "$(id -g nobody) $(id -g nobody) groups: $(id -G nobody) "
	kill "$MPID"
	wait "$MPID" 2>/dev/null
	chmod 711 "$WORK"
else
	ok "the milter drops its privileges # SKIP needs root (CI runs as root)"
fi
done_testing
