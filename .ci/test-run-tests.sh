#!/usr/bin/env bash
# Tests run-tests.sh against the tiny tests in tests/labs/looper_selftest.rs:
# passing runs, failing runs (logs kept, exit status), and a hang (timeout, stacks).
set -u -o pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "test-run-tests: FAIL: $*" >&2; exit 1; }
# The runs below go to a ledger of their own, not the repository's.
export RUN_TESTS_LEDGER="$out/ledger.tsv"

# 1. Everything passes: 3 tests x 3 runs.
./run-tests.sh -n 3 -p 2 -o "$out/ok" LOOPER_SELFTEST >"$out/ok.txt" 2>&1 || { cat "$out/ok.txt"; fail "passing runs reported failure"; }
tail -n 1 "$out/ok.txt" | grep -qx "9 passed, 0 failed" || { cat "$out/ok.txt"; fail "wrong summary for passing runs"; }
[ -z "$(ls "$out/ok"/*.log 2>/dev/null)" ] || fail "logs of passing runs were kept without -a"

# 2. One test fails on purpose: non-zero exit, its logs kept with the seed.
if RUN_TESTS_SELFTEST=fail ./run-tests.sh -n 2 -p 2 -o "$out/bad" looper_selftest_fail >"$out/bad.txt" 2>&1; then
	cat "$out/bad.txt"; fail "failing runs gave exit status 0"
fi
tail -n 1 "$out/bad.txt" | grep -qx "0 passed, 2 failed" || { cat "$out/bad.txt"; fail "wrong summary for failing runs"; }
log="$out/bad/looper_selftest__looper_selftest_fail_1.log"
[ -f "$log" ] || fail "failing run's log not kept"
grep -q "LABRPC_SEED=" "$log" || fail "log lacks the seed"
grep -q "failing on purpose" "$log" || fail "log lacks the test's output"

# 3. A hang is killed after -t seconds, counted as a timeout, with stacks in its log.
if RUN_TESTS_SELFTEST=hang ./run-tests.sh -n 1 -t 2 -o "$out/hang" looper_selftest_hang >"$out/hang.txt" 2>&1; then
	cat "$out/hang.txt"; fail "hanging run gave exit status 0"
fi
grep -q "timeout" "$out/hang.txt" || { cat "$out/hang.txt"; fail "hang not reported as timeout"; }
grep -q "TIMEOUT after 2s" "$out/hang/looper_selftest__looper_selftest_hang_1.log" || fail "hang log lacks the timeout note"

# 4. Bad flags and patterns that match nothing are usage errors (exit 2).
./run-tests.sh -n zero x >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad -n not rejected"
./run-tests.sh -o "$out/none" no_such_test_anywhere >/dev/null 2>&1; [ $? -eq 2 ] || fail "empty selection not rejected"
[ ! -e "$out/none" ] || fail "an empty selection left files behind: $(du -sh "$out/none")"

# 5. --replay runs a kept log's test again with that run's network seed.
seed=$(sed -n 's/^run-tests: LABRPC_SEED=\([0-9]*\) .*/\1/p' "$log")
RUN_TESTS_SELFTEST=fail ./run-tests.sh --replay "$log" -n 2 -o "$out/replay" >"$out/replay.txt" 2>&1
tail -n 1 "$out/replay.txt" | grep -qx "0 passed, 2 failed" || { cat "$out/replay.txt"; fail "wrong summary for the replays"; }
for r in "$out"/replay/*.log; do
	grep -q "LABRPC_SEED=$seed " "$r" || fail "a replay ran with another seed than $seed: $r"
done
./run-tests.sh --replay "$out/no-such.log" >/dev/null 2>&1; [ $? -eq 2 ] || fail "--replay of a missing log is not exit 2"

# 6. A misspelt -v topic is refused before any run, with the topics listed.
./run-tests.sh -n 1 -v LAED -o "$out/level" looper_selftest_pass >"$out/level.txt" 2>&1; rc=$?
[ "$rc" -eq 2 ] || { cat "$out/level.txt"; fail "bad -v level gave exit status $rc, not 2"; }
grep -q 'unknown topic "LAED"' "$out/level.txt" || { cat "$out/level.txt"; fail "bad -v level not explained"; }
grep -q "VOTE" "$out/level.txt" || fail "bad -v level: the topics are not listed"

# 7. The ledger holds every run above (9 passed, 2 + 2 failed, 1 hung), and --report reads it.
[ "$(grep -c $'\tpassed\t' "$RUN_TESTS_LEDGER")" -eq 9 ] || { cat "$RUN_TESTS_LEDGER"; fail "ledger: not 9 passed runs"; }
[ "$(grep -c $'\tfailed\t' "$RUN_TESTS_LEDGER")" -eq 4 ] || { cat "$RUN_TESTS_LEDGER"; fail "ledger: not 4 failed runs"; }
[ "$(grep -c $'\thung\t' "$RUN_TESTS_LEDGER")" -eq 1 ] || { cat "$RUN_TESTS_LEDGER"; fail "ledger: not 1 hung run"; }
grep $'\tfailed\t' "$RUN_TESTS_LEDGER" | grep -q "$out/bad/looper_selftest__looper_selftest_fail_" || fail "ledger: a failed run without its log"
./run-tests.sh --report looper_selftest_fail >"$out/report.txt" 2>&1 || { cat "$out/report.txt"; fail "--report failed"; }
grep -Eq '^looper_selftest::looper_selftest_fail +7 +4 +57\.14% +< 88% ' "$out/report.txt" || { cat "$out/report.txt"; fail "--report: wrong row for the failing test"; }
grep -q "seed " "$out/report.txt" || { cat "$out/report.txt"; fail "--report lists no failing seed"; }
! grep -q "looper_selftest_pass" "$out/report.txt" || fail "--report ignored its PATTERN"
./run-tests.sh --report no_such_test_anywhere >/dev/null 2>&1; [ $? -eq 2 ] || fail "--report of nothing is not exit 2"

echo "test-run-tests: all checks passed"
