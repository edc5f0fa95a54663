# tests/servers.sh — real servers on loopback for the tests and benchmarks:
# free ports, smtp-sink, and a Postfix instance in a scratch directory
# (see HARNESS.md). Sourced; every server is stopped by its own pid.
#
# The caller sets DIR (a scratch directory that the postfix and nobody
# users can traverse) before using the Postfix helpers.

# freeport: prints a loopback port nobody listens on.
freeport() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# waitport PORT: waits (up to 5 s) until something accepts on it.
waitport() {
	python3 - "$1" <<'PY'
import socket, sys, time
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PY
}

# sink_up PORT DUMPDIR [SMTP-SINK-OPTIONS...]: starts smtp-sink writing
# every message to DUMPDIR; its pid is in $SINK.
sink_up() {
	_port=$1
	_dump=$2
	shift 2
	mkdir -p "$_dump"
	chmod 777 "$_dump"
	if [ "$(id -u)" = 0 ]; then set -- -u nobody "$@"; fi
	smtp-sink "$@" -d "$_dump/%M." "127.0.0.1:$_port" 100 \
	    >>"$_dump.log" 2>&1 &
	SINK=$!
	waitport "$_port" || echo "# smtp-sink did not start"
}

sink_down() {
	if [ -n "${SINK:-}" ]; then
		kill "$SINK" 2>/dev/null || :
		wait "$SINK" 2>/dev/null || :
		SINK=
	fi
}

# postfix_up SMTPD-PORT RELAY-PORT [MILTER]: a Postfix in $DIR/pf that
# accepts mail from loopback on SMTPD-PORT, passes it through MILTER
# (e.g. inet:127.0.0.1:8891; none when empty) with
# milter_default_action = tempfail, and relays everything to
# 127.0.0.1:RELAY-PORT. Returns non-zero when it did not start.
postfix_up() {
	_pf=$DIR/pf
	mkdir -p "$_pf/conf" "$_pf/queue" "$_pf/data"
	cat >"$_pf/conf/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $_pf/queue
data_directory = $_pf/data
myhostname = mx.yritys.example
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination =
relay_domains =
smtpd_relay_restrictions = permit_mynetworks, reject
relayhost = [127.0.0.1]:$2
smtp_host_lookup = native
smtp_tls_security_level = none
smtpd_tls_security_level = none
maillog_file = $_pf/maillog
maillog_file_prefixes = /var, /dev/stdout, /tmp
message_size_limit = 52428800
queue_run_delay = 2s
minimal_backoff_time = 2s
maximal_backoff_time = 4s
smtpd_milters = ${3:-}
non_smtpd_milters = ${3:-}
milter_default_action = tempfail
milter_protocol = 6
${POSTFIX_SASL:-}
alias_maps =
alias_database =
biff = no
EOF
	_mcf=/etc/postfix/master.cf
	[ -f "$_mcf" ] || _mcf=/usr/share/postfix/master.cf.dist
	# smtpd on our port; nothing chrooted (no copies of /etc in the queue).
	awk -v port="$1" '
	    /^[a-z]/ && NF >= 7 && $5 == "y" { $5 = "n" }
	    /^smtp[ \t]+inet/ { $1 = "127.0.0.1:" port }
	    { print }' "$_mcf" >"$_pf/conf/master.cf"
	# The postfix command reads the default main.cf before -c's.
	[ -f /etc/postfix/main.cf ] ||
	    echo "compatibility_level = 3.6" >/etc/postfix/main.cf
	postfix -c "$_pf/conf" set-permissions >/dev/null 2>&1
	postfix -c "$_pf/conf" start >"$_pf/start.log" 2>&1 &&
	    waitport "$1"
}

postfix_down() {
	[ -f "${DIR:-}/pf/conf/main.cf" ] || return 0
	_mp=$(tr -d ' ' <"$DIR/pf/queue/pid/master.pid" 2>/dev/null) || :
	postfix -c "$DIR/pf/conf" stop >/dev/null 2>&1 || :
	# postfix stop returns before master exits: wait for its pid.
	for _ in $(seq 50); do
		[ -n "$_mp" ] && kill -0 "$_mp" 2>/dev/null || break
		sleep 0.1
	done
}

# waitfiles DIR N [SECONDS]: waits until DIR holds N files.
waitfiles() {
	for _ in $(seq $((${3:-20} * 10))); do
		[ "$(find "$1" -type f 2>/dev/null | wc -l)" -ge "$2" ] &&
		    return 0
		sleep 0.1
	done
	return 1
}

# dovecot_sasl AUTH-PORT: lines for DOVECOT_CONF (Dovecot's auth service
# on AUTH-PORT) and, in POSTFIX_SASL, for Postfix's main.cf (SMTP AUTH
# through it, HARNESS.md); set both before dovecot_up and postfix_up.
dovecot_sasl() {
	DOVECOT_CONF="${DOVECOT_CONF:-}
service auth {
  inet_listener auth-inet {
    address = 127.0.0.1
    port = $1
  }
}"
	POSTFIX_SASL="smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:127.0.0.1:$1
smtpd_tls_auth_only = no
smtpd_sasl_security_options = noanonymous"
}

# dovecot_up IMAP-PORT [IMAPS-PORT]: a Dovecot in $DIR/dc (HARNESS.md)
# with one user, support (password "secret"), whose Maildir is
# $DIR/dc/mail/support/Maildir. With IMAPS-PORT it also serves imaps there
# and STARTTLS on IMAP-PORT, with a certificate for "localhost" only,
# signed by a throw-away CA in $DIR/dc/tls/ca.pem (dovecot_ca makes it).
# Its pid is in $DOVECOT. Lines in $DOVECOT_CONF are added to its
# configuration. Returns non-zero when it did not start.
dovecot_up() {
	_dc=$DIR/dc
	mkdir -p "$_dc/run" "$_dc/state" "$_dc/mail/support/Maildir/new" \
	    "$_dc/mail/support/Maildir/cur" "$_dc/mail/support/Maildir/tmp"
	chown -R nobody:nogroup "$_dc/mail"
	echo "support:{PLAIN}secret:$(id -u nobody):$(id -g nobody)::$_dc/mail/support" \
	    >"$_dc/users"
	# More users (NAME PASSWORD per line): agents who log in to
	# Postfix through Dovecot's SASL (dovecot_sasl).
	printf '%s\n' "${DOVECOT_USERS:-}" | while read -r _u _p; do
		[ -n "$_u" ] && echo "$_u:{PLAIN}$_p:$(id -u nobody):$(id -g nobody)::$_dc/mail/$_u"
	done >>"$_dc/users"
	_ssl="ssl = no"
	if [ -n "${2:-}" ]; then
		dovecot_ca
		_ssl="ssl = yes
ssl_cert = <$_dc/tls/server.pem
ssl_key = <$_dc/tls/server.key"
	fi
	cat >"$_dc/dovecot.conf" <<EOC
protocols = imap
listen = 127.0.0.1
base_dir = $_dc/run
state_dir = $_dc/state
log_path = $_dc/dovecot.log
$_ssl
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
first_valid_uid = 1
passdb {
  driver = passwd-file
  args = $_dc/users
}
userdb {
  driver = passwd-file
  args = $_dc/users
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $1
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = ${2:-0}
  }
}
${DOVECOT_CONF:-}
EOC
	dovecot -c "$_dc/dovecot.conf" || return 1
	waitport "$1" || return 1
	DOVECOT=$(cat "$_dc/run/master.pid")
}

# dovecot_account NAME PORT PASSWORD-FILE [HOST]: an [account NAME] section
# of tiketti.conf for the support user over plain IMAP (more keys may
# follow it).
dovecot_account() {
	cat <<EOA

[account $1]
host = ${4:-127.0.0.1}
port = $2
tls = none
allow_plaintext = yes
user = support
password_file = $3
mailbox = support@yritys.example
EOA
}

# dovecot_down: stops it by its master's pid and waits until it is gone.
dovecot_down() {
	[ -n "${DOVECOT:-}" ] || return 0
	kill "$DOVECOT" 2>/dev/null || :
	for _ in $(seq 50); do
		kill -0 "$DOVECOT" 2>/dev/null || break
		sleep 0.1
	done
	DOVECOT=
}

# dovecot_ca: a CA and a server certificate for DNS:localhost (no address)
# in $DIR/dc/tls, made once.
dovecot_ca() {
	_tls=$DIR/dc/tls
	[ -f "$_tls/server.pem" ] && return 0
	mkdir -p "$_tls"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
	    -keyout "$_tls/ca.key" -out "$_tls/ca.pem" -subj "/CN=tiketti test CA" \
	    -addext "basicConstraints=critical,CA:TRUE" \
	    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null &&
	openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
	    -keyout "$_tls/server.key" -out "$_tls/server.csr" 2>/dev/null &&
	printf 'subjectAltName = DNS:localhost\nextendedKeyUsage = serverAuth\n' \
	    >"$_tls/ext" &&
	openssl x509 -req -days 2 -in "$_tls/server.csr" -CA "$_tls/ca.pem" \
	    -CAkey "$_tls/ca.key" -CAcreateserial -extfile "$_tls/ext" \
	    -out "$_tls/server.pem" 2>/dev/null
}

# dovecot_drop FIRST LAST [FOLDER]: delivers test mail FIRST..LAST straight
# into the support Maildir (or its .FOLDER), as Dovecot's LDA would: each
# from customer-N@asiakas.example with Message-ID <imap-N@asiakas.example>.
dovecot_drop() {
	python3 - "$DIR/dc/mail/support/Maildir" "$1" "$2" "${3:-}" <<'PY'
import os, sys, time
md, first, last, folder = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
if folder:
    md = os.path.join(md, "." + folder)
for sub in ("tmp", "new", "cur"):
    os.makedirs(os.path.join(md, sub), exist_ok=True)
now = int(time.time())
for i in range(first, last + 1):
    name = "%d.M%dP%d.test" % (now, i, os.getpid())
    tmp = os.path.join(md, "tmp", name)
    with open(tmp, "wb") as f:
        f.write(b"From: Customer %d <customer-%d@asiakas.example>\n"
                b"To: support@yritys.example\n"
                b"Subject: Question number %d\n"
                b"Message-ID: <imap-%d@asiakas.example>\n"
                b"Date: Sun, 22 Nov 2026 10:00:00 +0200\n\n"
                b"Hello, this is question %d.\n" % (i, i, i, i, i))
    os.rename(tmp, os.path.join(md, "new", name))
PY
	chown -R nobody:nogroup "$DIR/dc/mail"
}

# pg_up: a throw-away PostgreSQL cluster in $DIR/pg (HARNESS.md): initdb
# with trust for user tiketti, a free port on loopback, its socket in
# $DIR/pg, fsync on; run as user postgres when we are root (the server
# refuses root). Sets PG_PORT, PG_PID, PG_BIN, PG_OPTS (the server's
# options, for a start after a stop), PG_URL (up to the
# database name: ${PG_URL}NAME) and PG_CREATEDB (a command that takes
# NAME). Returns non-zero when it did not start.
pg_up() {
	PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
	[ -n "$PG_BIN" ] || { echo "# no PostgreSQL server installed"; return 1; }
	PG_DIR=$DIR/pg
	mkdir -p "$PG_DIR"
	_pgrun=
	if [ "$(id -u)" = 0 ]; then
		chmod o+x "$DIR"
		chown postgres "$PG_DIR"
		_pgrun="runuser -u postgres --"
	fi
	# From a directory user postgres may enter (CI's may be under /root).
	cd "$PG_DIR" || return 1
	$_pgrun "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U tiketti \
	    -E UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1 ||
	    { sed 's/^/# /' "$PG_DIR/initdb.log"; cd - >/dev/null; return 1; }
	PG_PORT=$(freeport)
	PG_OPTS="-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=on"
	$_pgrun "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/pg.log" -w \
	    -o "$PG_OPTS" start >/dev/null ||
	    { sed 's/^/# /' "$PG_DIR/pg.log"; cd - >/dev/null; return 1; }
	cd - >/dev/null
	PG_PID=$(head -1 "$PG_DIR/data/postmaster.pid")
	PG_URL="postgresql://tiketti@127.0.0.1:$PG_PORT/"
	PG_CREATEDB="$PG_BIN/createdb -h 127.0.0.1 -p $PG_PORT -U tiketti"
}

# pg_restart: a fast restart (every connection dropped), as a fault.
pg_restart() {
	(cd "$PG_DIR" && $_pgrun "$PG_BIN/pg_ctl" -D "$PG_DIR/data" \
	    -l "$PG_DIR/pg.log" -w -m fast restart >/dev/null)
	PG_PID=$(head -1 "$PG_DIR/data/postmaster.pid")
}

# pg_down: a fast shutdown by the postmaster's pid (read again: a test
# may have restarted it); waits until it is gone.
pg_down() {
	[ -n "${PG_PID:-}" ] || return 0
	[ -f "$PG_DIR/data/postmaster.pid" ] &&
	    PG_PID=$(head -1 "$PG_DIR/data/postmaster.pid")
	kill -INT "$PG_PID" 2>/dev/null || :
	for _i in $(seq 100); do
		kill -0 "$PG_PID" 2>/dev/null || break
		sleep 0.1
	done
	PG_PID=
}
