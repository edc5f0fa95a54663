#!/bin/sh
# OAuth 2.0 for the poller and for sending, against a real Dovecot whose
# oauth2 passdb introspects tokens at a small identity provider
# (tests/sink/oauth.py, Python's standard library: short-lived access
# tokens, refresh tokens rotated on every use, revocation, the RFC 8628
# device flow) and a real Postfix that authenticates through Dovecot's
# SASL: `tiketti oauth login` with authorization_pending, slow_down,
# access_denied and expired_token; a poll by OAUTHBEARER before any login
# refused with the fix named; polls that refresh an expiring token, a
# second time after the rotation, and a poll and a flush at once that
# refresh one after the other; XOAUTH2 where the server offers no
# OAUTHBEARER; the outbox sent through Postfix with the
# same grant; a revoked grant failing its account only, loudly, while a
# password account in the same run still polls; the provider presets and
# a client secret file that others may read refused; tiketti check
# critical while the grant is refused. tests/pg.sh runs it
# again on PostgreSQL.
. "${SRCDIR:-.}/tests/lib.sh"
. "$SRCDIR/tests/servers.sh"

need dovecot postfix smtp-sink swaks python3
if [ "$(id -u)" != 0 ]; then
	not_ok "Dovecot and Postfix need root (CI runs as root)"
	done_testing
	exit 1
fi
DIR=$WORK
IDP=
trap 'postfix_down; dovecot_down; sink_down; [ -n "$IDP" ] && kill "$IDP" 2>/dev/null; rm -rf "$WORK"' EXIT
chmod 711 "$WORK"
TPORT=$(freeport)
IPORT=$(freeport)
APORT=$(freeport)
PPORT=$(freeport)
RPORT=$(freeport)
DB=$(db t)
sql() { sql_db "$DB" "$1"; }

mkdir -p "$WORK/idp" "$WORK/rules" "$WORK/templates"
python3 "$SRCDIR/tests/sink/oauth.py" "$TPORT" "$WORK/idp" >"$WORK/idp.log" 2>&1 &
IDP=$!
waitport "$TPORT" || echo "# oauth.py did not start"
idp() {
	python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1]).read()' \
	    "http://127.0.0.1:$TPORT/$1"
}
# token_posts: the token endpoint's requests, "GRANT-TYPE TIME" a line.
token_posts() {
	python3 -c 'import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["path"] == "/token":
        print(r["form"].get("grant_type", "-").split(":")[-1], "%.2f" % r["t"])' "$WORK/idp/requests"
}

cat >"$WORK/oauth2.conf" <<EOF
introspection_mode = post
introspection_url = http://127.0.0.1:$TPORT/introspect
username_attribute = username
active_attribute = active
active_value = true
force_introspection = yes
EOF
DOVECOT_CONF="auth_mechanisms = plain login xoauth2 oauthbearer
passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = $WORK/oauth2.conf
}"
dovecot_sasl "$APORT"
check "dovecot starts with an oauth2 passdb" dovecot_up "$IPORT"
sink_up "$RPORT" "$WORK/sink"
if ! postfix_up "$PPORT" "$RPORT" ""; then
	not_ok "Postfix started"
	cat "$WORK/pf/start.log" "$WORK/pf/maillog" 2>/dev/null | sed 's/^/# /'
fi

echo secret >"$WORK/pw"
(umask 077 && echo client-secret-42 >"$WORK/client.secret")
cat >"$WORK/tiketti.conf" <<EOF
database = $DB
mailboxes = support@yritys.example
rules_dir = rules
templates_dir = templates
smtp_url = smtp://127.0.0.1:$PPORT
smtp_starttls = no
smtp_auth = oauth2
smtp_oauth_account = o365
EOF
chmod 600 "$WORK/pw"
{
	dovecot_account o365 "$IPORT" "$WORK/pw"
	cat <<EOF
auth = oauth2
oauth_token_url = http://127.0.0.1:$TPORT/token
oauth_device_url = http://127.0.0.1:$TPORT/device
oauth_client_id = tiketti-test
oauth_client_secret_file = $WORK/client.secret
oauth_scope = mail offline_access
EOF
	dovecot_account plain "$IPORT" "$WORK/pw"
	echo "folder = Plain"
} >>"$WORK/tiketti.conf"
# o365 logs in by its grant: no password_file (the first one).
awk '!/^password_file/ || seen++' "$WORK/tiketti.conf" >"$WORK/t.conf" &&
    mv "$WORK/t.conf" "$WORK/tiketti.conf"
cat >"$WORK/rules/10.rules" <<'EOF'
rule "ack" { on create then autoreply "ack"; }
EOF
printf 'Subject: Received\n\nThank you.\n' >"$WORK/templates/ack.txt"
# drop FOLDER N: mail N into the support user's FOLDER (INBOX: "").
drop() {
	_md=$DIR/dc/mail/support/Maildir${1:+/.$1}
	mkdir -p "$_md/new" "$_md/cur" "$_md/tmp"
	printf 'From: Customer %s <c%s@asiakas.example>\nTo: support@yritys.example\nSubject: Question %s\nMessage-ID: <oa-%s@asiakas.example>\n\nHello.\n' \
	    "$2" "$2" "$2" "$2" >"$_md/tmp/$2"
	mv "$_md/tmp/$2" "$_md/new/$2"
	chown -R nobody:nogroup "$DIR/dc/mail"
}

# ---- configuration ----
is "the o365 account needs no password_file with auth = oauth2" \
    "$(exitcode tk config)" 0
{
	sed '/^\[account/,$d' "$WORK/tiketti.conf" | sed '/^smtp_auth/d'
	printf '[account gmail]\nhost = imap.gmail.com\nuser = tuki@yritys.example\nauth = oauth2\noauth_provider = google\noauth_client_id = x.apps.googleusercontent.com\n'
	printf '[account m365]\nhost = outlook.office365.com\nuser = tuki@yritys.example\nauth = oauth2\noauth_provider = microsoft\noauth_tenant = yritys.onmicrosoft.com\noauth_client_id = 0000-1111\n'
} >"$WORK/presets.conf"
"$TIKETTI" -c "$WORK/presets.conf" config >"$WORK/presets.out" 2>&1
is "oauth_provider = google fills Google's endpoints and scope" \
    "$(sed -n '/^\[account gmail\]/,/^$/p' "$WORK/presets.out" | grep '^oauth_[tds]' | tr '\n' ' ')" \
    "oauth_token_url = https://oauth2.googleapis.com/token oauth_device_url = https://oauth2.googleapis.com/device/code oauth_scope = https://mail.google.com/ "
is "... microsoft its tenant's, IMAP and SMTP and a refresh token" \
    "$(sed -n '/^\[account m365\]/,/^$/p' "$WORK/presets.out" | grep '^oauth_[tds]' | tr '\n' ' ')" \
    "oauth_token_url = https://login.microsoftonline.com/yritys.onmicrosoft.com/oauth2/v2.0/token oauth_device_url = https://login.microsoftonline.com/yritys.onmicrosoft.com/oauth2/v2.0/devicecode oauth_scope = https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access "
printf '[account x]\nhost = h\nuser = u\nauth = oauth2\n' >"$WORK/bad.conf"
is "auth = oauth2 without a client: refused" \
    "$("$TIKETTI" -c "$WORK/bad.conf" config 2>&1 >/dev/null | head -1)" \
    "$WORK/bad.conf: account \"x\": auth = oauth2 needs user, oauth_client_id and oauth_token_url (or oauth_provider)"
printf 'smtp_auth = oauth2\n' >"$WORK/bad.conf"
is "smtp_auth = oauth2 without an account: refused" \
    "$("$TIKETTI" -c "$WORK/bad.conf" config 2>&1 >/dev/null | head -1)" \
    "$WORK/bad.conf: smtp_auth = oauth2 needs smtp_oauth_account, an [account] with auth = oauth2 whose grant sends"

# ---- before any login ----
drop "" 1
is "poll before the login: 77" "$(exitcode tk poll --account o365)" 77
check "... naming the account and the fix" \
    grep -q "account o365: no OAuth grant (never logged in): run \`tiketti oauth login o365\`" "$WORK/err"

# ---- tiketti oauth login: the device flow ----
# login_bg: the login in the background, its output in $WORK/login.out.
login_bg() {
	rm -f "$WORK/idp/user_code"
	("$TIKETTI" -c "$WORK/tiketti.conf" oauth login o365 >"$WORK/login.out" 2>&1
	 echo "exit $?" >>"$WORK/login.out") &
	LOGIN=$!
	for _ in $(seq 100); do
		[ -s "$WORK/idp/user_code" ] && break
		sleep 0.05
	done
}
login_bg
idp "deny?user_code=$(cat "$WORK/idp/user_code")"
wait "$LOGIN"
is "a sign-in declined: 77, said so" \
    "$(tail -2 "$WORK/login.out" | tr '\n' ' ')" \
    "tiketti: account o365: the sign-in was declined (access_denied) exit 77 "
echo 2 >"$WORK/idp/device_ttl"
login_bg
wait "$LOGIN"
rm "$WORK/idp/device_ttl"
is "a code nobody entered: 77 when it expired" \
    "$(tail -2 "$WORK/login.out" | tr '\n' ' ')" \
    "tiketti: account o365: the code expired before it was entered: run the login again exit 77 "
is "... nothing stored" "$(sql "select count(*) from oauth_grants")" 0
: >"$WORK/idp/requests"
touch "$WORK/idp/slow_down"
echo 2 >"$WORK/idp/ttl"	# access tokens live 2 s from here on
login_bg
sleep 2.5
idp "approve?user_code=$(cat "$WORK/idp/user_code")"
wait "$LOGIN"
rm "$WORK/idp/slow_down"
is "login approved: exit 0" "$(tail -1 "$WORK/login.out")" "exit 0"
check "... it printed the code and where to enter it" \
    sh -c "grep -q '$(cat "$WORK/idp/user_code")' '$WORK/login.out' && grep -q 'http://127.0.0.1:$TPORT/device-login' '$WORK/login.out'"
is "... pending, then told to slow down: 5 s more between polls from then on" \
    "$(token_posts | awk 'NR > 1 { printf "%s%s", sep, ($2 - t >= 5.8 ? "slow" : $2 - t >= 0.9 ? "ok" : "fast"); sep = " " } { t = $2 }')" \
    "ok slow"
is "... the grant stored, the secret never" \
    "$(sql "select count(*) from oauth_grants where account = 'o365' and refresh_token like 'rt-%'")/$(grep -c client-secret-42 "$WORK/login.out")" "1/0"
check "... the client's secret went to the token endpoint" \
    grep -q '"client_secret": "client-secret-42"' "$WORK/idp/requests"

# ---- polls: expiring tokens, refreshed and rotated ----
RT1=$(sql "select refresh_token from oauth_grants")
: >"$WORK/idp/requests"
sleep 2
is "poll with an expired access token: exit 0" \
    "$(exitcode tk poll --account o365)" 0
is "... it refreshed first, then logged in by OAUTHBEARER" \
    "$(token_posts | cut -d' ' -f1)/$(grep -c 'Login: user=<support>, method=OAUTHBEARER' "$DIR/dc/dovecot.log")" \
    "refresh_token/1"
is "... the mail is in" "$(sql "select count(*) from messages where message_id = 'oa-1@asiakas.example'")" 1
RT2=$(sql "select refresh_token from oauth_grants")
check "... the rotated refresh token saved" test "$RT2" != "$RT1"
drop "" 2
sleep 2
is "a second expiry, after the rotation: exit 0" \
    "$(exitcode tk poll --account o365)" 0
is "... with the rotated token (the first one is spent)" \
    "$(sql "select count(*) from messages where message_id = 'oa-2@asiakas.example'")/$(grep -c "\"refresh_token\": \"$RT2\"" "$WORK/idp/requests")" "1/1"
check "... no token in any log" \
    sh -c "! grep -Eq 'rt-|at-' '$WORK/err'"

# ---- sending with the same grant, through Postfix ----
: >"$WORK/idp/requests"
drop "" 3
sleep 2
tk poll --account o365 >/dev/null 2>&1 &
P1=$!
tk flush >"$WORK/flush.out" 2>&1 &
P2=$!
wait "$P1"
r1=$?
wait "$P2"
r2=$?
is "a poll and a flush at once, both refreshing: both exit 0" "$r1 $r2" "0 0"
is "... one refreshed, the other waited and took its token" \
    "$(python3 -c 'import json, sys
seen, spent = set(), 0
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["path"] == "/token":
        t = r["form"]["refresh_token"]
        spent += t in seen
        seen.add(t)
print(len(seen), spent)' "$WORK/idp/requests")" "1 0"
waitfiles "$WORK/sink" 1
check "the autoreplies went out through Postfix" test "$(find "$WORK/sink" -type f | wc -l)" -ge 1
check "... Postfix authenticated them by OAuth as support" \
    grep -Eq 'sasl_method=(OAUTHBEARER|XOAUTH2), sasl_username=support' "$WORK/pf/maillog"

# ---- a server that offers XOAUTH2 only ----
sed -i 's/^auth_mechanisms = plain login xoauth2 oauthbearer$/auth_mechanisms = plain login xoauth2/' "$DIR/dc/dovecot.conf"
doveadm -c "$DIR/dc/dovecot.conf" reload
sleep 1
drop "" 6
is "a server without OAUTHBEARER: poll exits 0" \
    "$(exitcode tk poll --account o365)" 0
is "... logged in by XOAUTH2" \
    "$(grep -c 'Login: user=<support>, method=XOAUTH2' "$DIR/dc/dovecot.log")/$(sql "select count(*) from messages where message_id = 'oa-6@asiakas.example'")" "1/1"

# ---- revocation: that account only, loudly ----
idp "revoke?user=support"
drop "" 4
drop Plain 5
is "a revoked grant: poll of every account exits 77" "$(exitcode tk poll)" 77
check "... the log names the account and the fix" \
    grep -q "account o365: the OAuth grant was refused (invalid_grant): run \`tiketti oauth login o365\`" "$WORK/err"
is "... the password account in the same run still polled" \
    "$(sql "select count(*) from messages where message_id = 'oa-5@asiakas.example'")/$(sql "select count(*) from messages where message_id = 'oa-4@asiakas.example'")" "1/0"
tk check >"$WORK/check.out"
is "... tiketti check: CRITICAL, naming the account and the fix" \
    "$?/$(grep -c "^CRITICAL: account o365: the OAuth grant was refused (invalid_grant): run \`tiketti oauth login o365\`" "$WORK/check.out")" "2/1"
before=$(find "$WORK/sink" -type f | wc -l)
tk flush >"$WORK/flush2.out" 2>&1
is "... the outbox keeps its mail, the reason named" \
    "$(find "$WORK/sink" -type f | wc -l)/$(grep -c 'account o365: the OAuth grant was refused' "$WORK/flush2.out")/$(sql "select count(*) from outbox where state = 'queued'")" \
    "$before/1/1"

# ---- a client secret others may read ----
chmod 644 "$WORK/client.secret"
is "a client secret file group or others may read: refused" \
    "$(exitcode tk poll --account o365)" 77
check "... and said so" grep -q "account o365: .*client.secret" "$WORK/err"
done_testing
