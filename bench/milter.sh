#!/bin/sh
# bench/milter.sh [SESSIONS] [MESSAGES] — what the milter costs Postfix:
# `smtp-source -s SESSIONS -m MESSAGES` (default 10 and 2000) through a
# real Postfix on loopback to an smtp-sink, once without a milter and
# once with `tiketti milter` (every message to the shared address, so
# every one becomes a ticket), in one run. A third pass sends to an
# address that is not shared, which the milter accepts at end of header
# untouched: what the milter protocol alone (libmilter, Postfix's round
# trips) costs, apart from tiketti's work. Prints messages/second
# accepted and delivered for each, the ratios, and the milter's added
# latency at end-of-message (median and p99, from the "in N ms" of its
# own log). Target: with the milter, at least 80% of the throughput.
# Needs root (Postfix's master) and Postfix; see tests/servers.sh.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
sessions=${1:-10}
n=${2:-2000}
tiketti=${TIKETTI:-$top/tiketti}
[ -x "$tiketti" ] || { echo "bench: build tiketti first ($tiketti)"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "bench: Postfix needs root"; exit 1; }
. "$top/tests/servers.sh"
DIR=$(mktemp -d "${TMPDIR:-/tmp}/tiketti-bench.XXXXXX")
MPID=
trap 'postfix_down; sink_down; [ -n "$MPID" ] && kill "$MPID" 2>/dev/null; rm -rf "$DIR"' EXIT
chmod 711 "$DIR"
mkdir -p "$DIR/state"
chmod 777 "$DIR/state"
SPORT=$(freeport)
RPORT=$(freeport)
MPORT=$(freeport)
cat >"$DIR/tiketti.conf" <<EOF
database = $DIR/state/t.db
mailboxes = tuki@yritys.example
ticket_prefix = Tuki
rules_dir = $DIR/rules
milter_socket = unix:$DIR/state/milter.sock
milter_user = nobody
milter_pid_file = $DIR/state/milter.pid
EOF
mkdir -p "$DIR/rules"

now() { date +%s.%N; }

# run OUT RCPT [MILTER]: one pass; writes "accepted/s delivered/s" to OUT.
run() {
	rm -rf "$DIR/pf" "$DIR/sink"
	sink_up "$RPORT" "$DIR/sink"
	postfix_up "$SPORT" "$RPORT" "${3:-}" || {
		echo "bench: Postfix did not start"
		cat "$DIR/pf/start.log" "$DIR/pf/maillog" 2>/dev/null
		exit 1
	}
	t0=$(now)
	smtp-source -s "$sessions" -m "$n" -l 2048 -f kunde@asiakas.example \
	    -t "$2" -S "Benchmark" "127.0.0.1:$SPORT"
	t1=$(now)
	waitfiles "$DIR/sink" "$n" 600 || echo "bench: not all mail arrived"
	t2=$(now)
	postfix_down
	sink_down
	echo "$(echo "$n / ($t1 - $t0)" | bc -l) $(echo "$n / ($t2 - $t0)" | bc -l)" >"$1"
}

run "$DIR/without" tuki@yritys.example
"$tiketti" -c "$DIR/tiketti.conf" milter -d >"$DIR/milter.log" 2>&1 &
MPID=$!
for _ in $(seq 50); do [ -S "$DIR/state/milter.sock" ] && break; sleep 0.1; done
chmod 666 "$DIR/state/milter.sock"
run "$DIR/with" tuki@yritys.example "unix:$DIR/state/milter.sock"
run "$DIR/null" other@muu.example "unix:$DIR/state/milter.sock"
tickets=$(sqlite3 "$DIR/state/t.db" "select count(*) from tickets" 2>/dev/null || echo "?")
python3 - "$(cat "$DIR/without")" "$(cat "$DIR/with")" "$(cat "$DIR/null")" "$DIR/milter.log" "$n" "$sessions" "$tickets" <<'PY'
import re, statistics, sys
base, with_, null, log, n, s, tickets = sys.argv[1:]
b_acc, b_del = base.split()
w_acc, w_del = with_.split()
n_acc, n_del = null.split()
ms = sorted(float(x) for x in re.findall(r" in ([0-9.]+) ms$", open(log).read(), re.M))
def pct(p):
    return ms[min(len(ms) - 1, int(round(p / 100 * (len(ms) - 1))))] if ms else float("nan")
print("smtp-source -s %s -m %s through Postfix to smtp-sink" % (s, n))
print("%-22s %14s %15s" % ("", "accepted msg/s", "delivered msg/s"))
print("%-22s %14.0f %14.0f" % ("Postfix alone", float(b_acc), float(b_del)))
print("%-22s %14.0f %14.0f" % ("Postfix + tiketti", float(w_acc), float(w_del)))
print("%-22s %13.0f%% %13.0f%%   (target: at least 80%%)" % ("ratio", 100 * float(w_acc) / float(b_acc), 100 * float(w_del) / float(b_del)))
print("%-22s %14.0f %14.0f" % ("Postfix + null milter", float(n_acc), float(n_del)))
print("%-22s %13.0f%% %13.0f%%   (the milter protocol alone)" % ("ratio", 100 * float(n_acc) / float(b_acc), 100 * float(n_del) / float(b_del)))
print("milter at end-of-message: median %.1f ms, p99 %.1f ms, max %.1f ms over %d messages; %s tickets" % (
    statistics.median(ms) if ms else float("nan"), pct(99), ms[-1] if ms else float("nan"), len(ms), tickets))
PY
