#!/bin/sh
# Every file of tests/corpus (real-world mail from other projects' test
# suites, see tests/corpus/README.md) goes through `tiketti ingest`: none
# is lost, none crashes, a second run stores nothing new, and every
# bounce is recognised as automatic; the stored Subjects, texts and
# attachment names agree with Python's email package (corpus_figures.py)
# for at least 95% of the messages. With TIKETTI_VALGRIND=1 the ingest
# runs under valgrind and any leak or memory error fails.
. "${SRCDIR:-.}/tests/lib.sh"

C="$SRCDIR/tests/corpus"
find "$C" -type f ! -name LICENSE.upstream ! -name README.md -print0 |
    sort -z >"$WORK/files"
nfiles=$(tr -cd '\0' <"$WORK/files" | wc -c)
printf 'database = %s\n' "$WORK/c.db" >"$WORK/tiketti.conf"

# The command runs from a wrapper so xargs can call it with every file.
{
	echo '#!/bin/sh'
	if [ -n "${TIKETTI_VALGRIND:-}" ]; then
		echo 'G_SLICE=always-malloc G_DEBUG=gc-friendly exec valgrind -q \'
		echo '  --leak-check=full --errors-for-leak-kinds=definite,indirect \'
		echo '  --show-leak-kinds=definite,indirect --error-exitcode=99 \'
		echo "  --suppressions=$SRCDIR/tests/valgrind.supp \\"
		echo "  \"$TIKETTI\" -c \"$WORK/tiketti.conf\" \"\$@\""
	else
		echo "exec \"$TIKETTI\" -c \"$WORK/tiketti.conf\" \"\$@\""
	fi
} >"$WORK/run"
chmod +x "$WORK/run"

# summary N: field N of the "ingested ..." line (1 messages, 2 new,
# 3 threaded, 4 duplicates, 5 flagged, 6 refused), summed over runs.
summary() {
	sed -n 's/.*ingested \([0-9]*\) messages: \([0-9]*\) new tickets, \([0-9]*\) threaded, \([0-9]*\) duplicates, \([0-9]*\) flagged, \([0-9]*\) refused.*/\1 \2 \3 \4 \5 \6/p' \
	    "$WORK/err" | awk -v f="$1" '{s += $f} END {print s + 0}'
}

# ingest DB: every corpus file in as few runs as xargs allows.
ingest_all() {
	xargs -0 -n 200 "$WORK/run" ingest <"$WORK/files" >/dev/null 2>"$WORK/err"
}

if ingest_all; then
	ok "corpus: ingest exits 0 on all $nfiles files"
else
	not_ok "corpus: ingest failed"
	grep -v '^tiketti: ingested' "$WORK/err" | head -40 | sed 's/^/# /'
fi
is "corpus: every file stored or recognised as a duplicate" \
    "$(summary 1)" "$nfiles"
is "corpus: none refused" "$(summary 6)" 0
stored=$(sqlite3 "$WORK/c.db" "SELECT count(*) FROM messages")
raw=$(sqlite3 "$WORK/c.db" "SELECT count(*) FROM raw_messages")
is "corpus: every stored message keeps its raw bytes" "$raw" "$stored"
is "corpus: stored + duplicates = files" \
    "$((stored + $(summary 4)))" "$nfiles"
check "corpus: unparseable files are flagged, not dropped" \
    test "$(sqlite3 "$WORK/c.db" "SELECT count(*) FROM messages WHERE flags & 3")" -gt 0

# What is stored is what Python's email package reads (issue 22): the
# share of Subjects, texts and attachment names that agree, each at
# least 95%.
if [ -z "${TIKETTI_VALGRIND:-}" ]; then
	python3 "$SRCDIR/tests/corpus_figures.py" "$WORK/c.db" >"$WORK/fig" 2>&1
	for fig in subjects text attachment_names; do
		set -- $(grep "^$fig " "$WORK/fig")
		if [ $# -eq 4 ] && [ "$(echo "$4 >= 95" | bc)" = 1 ]; then
			ok "corpus: $fig as Python reads them: $2 of $3 ($4%)"
		else
			not_ok "corpus: $fig as Python reads them: ${2:-?} of ${3:-?} (${4:-?}%, want 95%)"
			sed 's/^/# /' "$WORK/fig" | head -40
		fi
	done
fi

if ingest_all; then
	ok "corpus: second run exits 0"
else
	not_ok "corpus: second run failed"
fi
is "corpus: second run finds only duplicates" "$(summary 4)" "$nfiles"
is "corpus: second run stores nothing" \
    "$(sqlite3 "$WORK/c.db" "SELECT count(*) FROM messages")" "$stored"

# Every bounce of tests/corpus/bounces is automatic mail.
rm -f "$WORK"/c.db*
find "$C/bounces" -name '*.eml' -print0 | sort -z >"$WORK/files"
nb=$(tr -cd '\0' <"$WORK/files" | wc -c)
ingest_all || not_ok "bounces: ingest failed"
is "bounces: all $nb are auto or bounce" \
    "$(sqlite3 "$WORK/c.db" "SELECT count(*) FROM messages WHERE kind IN ('auto', 'bounce')")" "$nb"
check "bounces: most are recognised as bounces" \
    test "$(sqlite3 "$WORK/c.db" "SELECT count(*) FROM messages WHERE kind = 'bounce'")" -gt $((nb * 9 / 10))
done_testing
