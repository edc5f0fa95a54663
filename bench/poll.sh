#!/bin/sh
# bench/poll.sh [N] — the first `tiketti poll` of a folder of N (default
# 10000) messages in a local Dovecot against `mbsync` (isync) pulling the
# same folder into a maildir. Both speak plain IMAP on loopback to the
# same Dovecot, whose index is built before either runs; tiketti also
# parses, threads and stores every message (without rules). Prints both
# rates and the ratio of the times. Target: tiketti within 1.5x of
# mbsync's time. Needs root (Dovecot's master), dovecot-imapd and isync;
# see tests/servers.sh.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-10000}
tiketti=${TIKETTI:-$top/tiketti}
[ -x "$tiketti" ] || { echo "bench: build tiketti first ($tiketti)"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "bench: Dovecot needs root"; exit 1; }
command -v mbsync >/dev/null || { echo "bench: mbsync is not installed (apt-get install isync)"; exit 1; }
. "$top/tests/servers.sh"
DIR=$(mktemp -d "${TMPDIR:-/tmp}/tiketti-bench.XXXXXX")
trap 'dovecot_down; [ -n "${KEEP:-}" ] || rm -rf "$DIR"' EXIT
chmod 711 "$DIR"
IPORT=$(freeport)
dovecot_up "$IPORT"
python3 "$top/bench/mkmaildir.py" "$top/tests/corpus" \
    "$DIR/dc/mail/support/Maildir" "$n"
chown -R nobody:nogroup "$DIR/dc/mail"
echo secret >"$DIR/pw"
chmod 600 "$DIR/pw"
mkdir -p "$DIR/rules" "$DIR/mbsync"
cat >"$DIR/tiketti.conf" <<EOF
database = $DIR/t.db
mailboxes = support@yritys.example
rules_dir = $DIR/rules
EOF
dovecot_account support "$IPORT" "$DIR/pw" >>"$DIR/tiketti.conf"
cat >"$DIR/mbsyncrc" <<EOF
IMAPAccount bench
Host 127.0.0.1
Port $IPORT
User support
Pass secret
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account bench

MaildirStore local
Path $DIR/mbsync/
Inbox $DIR/mbsync/INBOX

Channel pull
Far :remote:
Near :local:
Patterns INBOX
Sync Pull
Create Near
SyncState *
EOF

python3 - "$DIR" "$tiketti" "$n" "$IPORT" <<'PY'
import imaplib, os, resource, subprocess, sys, time
work, tiketti, n, port = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
# Dovecot indexes the new maildir on the first SELECT: do it now, so
# neither client pays for it.
m = imaplib.IMAP4("127.0.0.1", port)
m.login("support", "secret")
m.select("INBOX")
m.fetch("1:*", "(UID RFC822.SIZE)")
m.logout()
def run(cmd):
    t = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    sys.stderr.write(p.stderr.decode()[-3000:])
    dt = time.monotonic() - t
    if p.returncode != 0:
        sys.exit("bench: %s failed: %s" % (cmd[0], p.stderr.decode()[-500:]))
    return dt
t_mb = run(["mbsync", "-q", "-c", os.path.join(work, "mbsyncrc"), "-a"])
got = sum(len(os.listdir(os.path.join(work, "mbsync/INBOX", d)))
          for d in ("cur", "new"))
t_tk = run([tiketti, "-c", os.path.join(work, "tiketti.conf"), "poll"])
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
stored = subprocess.run(["sqlite3", os.path.join(work, "t.db"),
                         "SELECT count(*) FROM messages"],
                        capture_output=True, text=True).stdout.strip()
print("messages:              %d (mbsync pulled %d, tiketti stored %s)"
      % (n, got, stored))
print("mbsync (isync):        %8.0f msg/s  (%.2f s)" % (n / t_mb, t_mb))
print("tiketti poll:          %8.0f msg/s  (%.2f s, peak RSS of both %.1f MiB)"
      % (n / t_tk, t_tk, rss / 1024))
print("time tiketti/mbsync:   %.2fx  (target <= 1.5x)" % (t_tk / t_mb))
PY
