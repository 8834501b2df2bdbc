#!/usr/bin/env bash
# run-tests.sh: loop chosen tests many times, in parallel, one process per run,
# and keep the logs of the runs that failed.
#
#   ./run-tests.sh [-n ITER=100] [-p WORKERS=#cores] [-t SECS=300] [-o DIR]
#                  [-a] [-v LEVEL] [--release|--debug] PATTERN...
#   ./run-tests.sh --report [PATTERN...]
#   ./run-tests.sh --replay LOG [-n ITER] [-p WORKERS] [-v LEVEL] ...
#
# PATTERN selects tests as `cargo test PATTERN` does (a substring of the test's
# name), but case-insensitively, so 2B and 2b are the same; a PATTERN that is a
# test's exact name selects just that test.
#
#   -n ITER     runs of each selected test (default 100)
#   -p WORKERS  runs at once (default: the number of cores)
#   -t SECS     a run still going after SECS is a hang: its threads' stacks are
#               written into its log (gdb), then it is killed (default 300)
#   -o DIR      where logs go (default rpc-logs/<date-time>)
#   -a          keep every log, not only the failing ones
#   -v LEVEL    debug logging for the runs: sets RAFT_LOG=LEVEL (see README)
#   --release   build and run the release profile (the default: the lab's
#               timing bounds assume an optimized build)
#   --debug     build and run the debug profile
#   --dry-run   build, list what would run, run nothing
#   --report    build and run nothing; print, for each test in the ledger
#               (below) whose name matches a PATTERN (all without one): its
#               runs, failures, failure rate with a 95% upper bound, mean and
#               longest seconds, first and last failing commit, and every
#               failing run's time, commit, seed and log
#   --replay LOG  run the test of a kept log again, ITER times, each with
#               that run's seed (LABRPC_SEED): the network and the election
#               timers make the same random choices; the threads' timing does
#               not repeat, so a replay fails again only sometimes
#
# Each run gets its own LABRPC_SEED, written at the top of its log, so the
# random choices of a failing run (network and election timers) can be replayed.
# Every run is also appended to a ledger, rpc-logs/ledger.tsv (or the file
# RUN_TESTS_LEDGER names), one line per run: time (UTC), commit (+dirty when
# the working tree differed from it), test, passed/failed/hung, seconds,
# seed, and the kept log or "-". It outlives the output folders: --report
# reads it.
# The last line is "N passed, M failed"; the exit status is 1 if any run failed.
set -u -o pipefail

iters=100
workers=$(nproc 2>/dev/null || echo 2)
timeout_s=300
outdir=""
keep_all=0
level=""
profile=(--release)
dry_run=0
report=0
replay_seed=""
patterns=()

usage() {
	sed -n '2,/^set -u/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
	exit 2
}
die_usage() {
	echo "run-tests.sh: $*" >&2
	echo "usage: ./run-tests.sh [-n ITER] [-p WORKERS] [-t SECS] [-o DIR] [-a] [-v LEVEL] [--release|--debug] [--dry-run] PATTERN..." >&2
	exit 2
}
is_count() { [[ "$1" =~ ^[1-9][0-9]*$ ]]; }

while [ $# -gt 0 ]; do
	case "$1" in
	-n) is_count "${2:-}" || die_usage "-n needs a positive number, got '${2:-}'"; iters=$2; shift 2 ;;
	-p) is_count "${2:-}" || die_usage "-p needs a positive number, got '${2:-}'"; workers=$2; shift 2 ;;
	-t) is_count "${2:-}" || die_usage "-t needs a positive number of seconds, got '${2:-}'"; timeout_s=$2; shift 2 ;;
	-o) [ -n "${2:-}" ] || die_usage "-o needs a directory"; outdir=$2; shift 2 ;;
	-a) keep_all=1; shift ;;
	-v) [ -n "${2:-}" ] || die_usage "-v needs a level (e.g. debug, or topics like VOTE,LEAD)"; level=$2; shift 2 ;;
	--release) profile=(--release); shift ;;
	--debug) profile=(); shift ;;
	--dry-run) dry_run=1; shift ;;
	--report) report=1; shift ;;
	--replay)
		[ -f "${2:-}" ] || die_usage "--replay needs a run's log, got '${2:-}'"
		replay_test=$(sed -n 's/^run-tests: \(.*\) iteration [0-9]*$/\1/p' "$2" | head -n 1)
		replay_seed=$(sed -n 's/^run-tests: LABRPC_SEED=\([0-9]*\) .*/\1/p' "$2" | head -n 1)
		[ -n "$replay_test" ] && [ -n "$replay_seed" ] || die_usage "--replay: $2 has no run-tests header (test name and LABRPC_SEED)"
		patterns+=("$replay_test")
		shift 2 ;;
	-h | --help) usage ;;
	--) shift; patterns+=("$@"); break ;;
	-*) die_usage "unknown option $1" ;;
	*) patterns+=("$1"); shift ;;
	esac
done
[ ${#patterns[@]} -gt 0 ] || [ "$report" = 1 ] || die_usage "no PATTERN given (e.g. 2A, figure8, labrpc)"

cd "$(dirname "$0")" || exit 2
ledger=${RUN_TESTS_LEDGER:-rpc-logs/ledger.tsv}

# ---- --report: what the ledger says about each test ----
if [ "$report" = 1 ]; then
	[ -s "$ledger" ] || { echo "run-tests.sh: no ledger yet ($ledger): loop some tests first" >&2; exit 2; }
	pats=$(printf '%s\n' "${patterns[@]}")
	awk -F '\t' -v pats="$pats" '
		# P(X <= k) for X binomial(n, p)
		function cdf(k, n, p,    x, lc, s) {
			s = 0; lc = 0
			for (x = 0; x <= k; x++) {
				if (x > 0) lc += log(n - x + 1) - log(x)
				s += exp(lc + x * log(p) + (n - x) * log(1 - p))
			}
			return s
		}
		# x rounded up to two significant digits (an upper bound stays one).
		function up2(x,    scale) {
			scale = x >= 10 ? 1 : (x >= 1 ? 10 : 100)
			x *= scale
			return (int(x) + (x > int(x))) / scale
		}
		# One-sided 95% upper bound on the failure rate (Clopper-Pearson).
		function upper(k, n,    lo, hi, mid, i) {
			if (k >= n) return 1
			lo = 0; hi = 1
			for (i = 0; i < 60; i++) { mid = (lo + hi) / 2; if (cdf(k, n, mid) > 0.05) lo = mid; else hi = mid }
			return hi
		}
		function wanted(t,    i, lt) {
			if (npat == 0) return 1
			lt = tolower(t)
			for (i = 1; i <= npat; i++) if (t == pat[i] || index(lt, tolower(pat[i]))) return 1
			return 0
		}
		BEGIN { npat = split(pats, pat, "\n"); if (pats == "") npat = 0 }
		/^#/ || NF < 7 || !wanted($3) { next }
		{
			t = $3
			if (!(t in n)) order[++ntests] = t
			n[t]++; s[t] += $5; if ($5 > m[t]) m[t] = $5
			if ($4 != "passed") {
				f[t]++
				if (!(t in first)) first[t] = $2
				last[t] = $2
				bad[++nbad] = sprintf("  %s  %s  %s  %s  seed %s  %s", $1, $2, $4, t, $6, $7)
			}
		}
		END {
			if (ntests == 0) { print "run-tests.sh: no run in the ledger matches" > "/dev/stderr"; exit 2 }
			printf "%-58s %6s %6s %7s %10s %7s %7s  %s\n", "test", "runs", "failed", "rate", "95% upper", "mean_s", "max_s", "failing commits (first .. last)"
			for (i = 1; i <= ntests; i++) {
				t = order[i]
				printf "%-58s %6d %6d %6.2f%% %9s %7.2f %7.2f  %s\n", t, n[t], f[t], 100 * f[t] / n[t],
					sprintf("< %s%%", up2(100 * upper(f[t] + 0, n[t]))), s[t] / n[t], m[t],
					(t in first) ? first[t] " .. " last[t] : "-"
			}
			if (nbad > 0) {
				print ""
				print "failing runs (time, commit, status, test, seed, log):"
				for (i = 1; i <= nbad; i++) print bad[i]
			}
		}' "$ledger"
	exit $?
fi

# What the runs of this invocation are recorded against in the ledger.
commit=$(git rev-parse --short=7 HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- 2>/dev/null || commit="$commit+dirty"
default_outdir=0
[ -n "$outdir" ] || { outdir="rpc-logs/$(date +%Y%m%d-%H%M%S)"; default_outdir=1; }
mkdir -p "$outdir" || exit 2
outdir=$(cd "$outdir" && pwd)

# Before any test has run, an exit (build failure, no test matched, dry run)
# removes what this script put in $outdir: the copied binaries are tens of MB.
clean_unused() {
	rm -rf "$outdir/bin" "$outdir/cargo-build.txt" "$outdir/cargo-build.txt.json"
	rmdir "$outdir" 2>/dev/null
	# rpc-logs/ itself, if this script made it and it is now empty
	[ "$default_outdir" = 1 ] && rmdir "$(dirname "$outdir")" 2>/dev/null
	return 0
}

if [ -t 1 ]; then
	tty=1; red=$'\e[31m'; green=$'\e[32m'; bold=$'\e[1m'; reset=$'\e[0m'
else
	tty=0; red=""; green=""; bold=""; reset=""
fi

# ---- build once, and find the test binaries in cargo's JSON messages ----
echo "building tests (cargo test --workspace ${profile[*]} --no-run) ..."
build_log="$outdir/cargo-build.txt"
if ! cargo test --workspace "${profile[@]}" --no-run --message-format=json >"$build_log.json" 2>"$build_log"; then
	cat "$build_log" >&2
	echo "run-tests.sh: build failed" >&2
	clean_unused
	exit 2
fi
mapfile -t bins < <(grep '"reason":"compiler-artifact"' "$build_log.json" |
	grep '"test":true' | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | sort -u)
# A misspelt -v topic would fail every run; say so now, once.
if [ -n "$level" ]; then
	checker=$(grep '"reason":"compiler-artifact"' "$build_log.json" |
		sed -n 's/.*"executable":"\([^"]*\/raft-logs\)".*/\1/p' | head -n 1)
	if [ -n "$checker" ] && ! why=$("$checker" --check-level "$level" 2>&1); then
		rm -f "$build_log.json"
		echo "run-tests.sh: -v $level: $why" >&2
		clean_unused
		exit 2
	fi
fi
rm -f "$build_log.json"
[ ${#bins[@]} -gt 0 ] || { echo "run-tests.sh: no test binaries found" >&2; clean_unused; exit 2; }
# Run copies, so that a rebuild during a long loop cannot swap the code under it.
mkdir -p "$outdir/bin"
for i in "${!bins[@]}"; do
	cp "${bins[$i]}" "$outdir/bin/" || exit 2
	bins[$i]="$outdir/bin/$(basename "${bins[$i]}")"
done

# ---- select tests: (binary, name) pairs ----
sel_bins=()
sel_names=()
for bin in "${bins[@]}"; do
	while IFS= read -r line; do
		name=${line%: test}
		[ "$name" != "$line" ] || continue
		lname=${name,,}
		for pat in "${patterns[@]}"; do
			if [ "$name" = "$pat" ] || [[ "$lname" == *"${pat,,}"* ]]; then
				sel_bins+=("$bin"); sel_names+=("$name"); break
			fi
		done
	done < <("$bin" --list --format terse 2>/dev/null)
done
ntests=${#sel_names[@]}
[ "$ntests" -gt 0 ] || { echo "run-tests.sh: no test matches: ${patterns[*]}" >&2; clean_unused; exit 2; }

total=$((ntests * iters))
echo "${bold}$ntests test(s) x $iters = $total runs, $workers at a time, timeout ${timeout_s}s, logs in $outdir${reset}"
if [ "$dry_run" = 1 ]; then
	for i in "${!sel_names[@]}"; do echo "  ${sel_names[$i]}  ($(basename "${sel_bins[$i]}"))"; done
	clean_unused
	exit 0
fi

results="$outdir/results.txt"
: >"$results"
mkdir -p "$(dirname "$ledger")" || exit 2
[ -s "$ledger" ] || printf '# time\tcommit\ttest\tstatus\tseconds\tseed\tlog\n' >"$ledger"

# One run: its own process, its own seed, its own log; a hang gets its stacks dumped.
run_one() {
	local bin=$1 name=$2 iter=$3
	local safe=${name//::/__}
	local log="$outdir/${safe}_${iter}.log"
	local seed=${replay_seed:-$(( (RANDOM << 30) | (RANDOM << 15) | RANDOM ))}
	local t0 t1 rc reason=""
	t0=$(date +%s%N)
	{
		echo "run-tests: $name iteration $iter"
		echo "run-tests: LABRPC_SEED=$seed (replay: LABRPC_SEED=$seed $bin $name --exact --nocapture)"
	} >"$log"
	LABRPC_SEED=$seed RAFT_LOG=$level RUST_BACKTRACE=1 \
		"$bin" "$name" --exact --nocapture --test-threads=1 >>"$log" 2>&1 &
	local pid=$! ticks=0 limit=$((timeout_s * 10))
	while kill -0 "$pid" 2>/dev/null; do
		if [ "$ticks" -ge "$limit" ]; then
			reason="timeout"
			{
				echo "run-tests: TIMEOUT after ${timeout_s}s; stacks of every thread:"
				if command -v gdb >/dev/null 2>&1; then
					gdb -p "$pid" -batch -ex 'thread apply all bt' 2>&1
				else
					echo "run-tests: gdb not installed: no stacks (apt-get install gdb)"
				fi
			} >>"$log"
			kill -9 "$pid" 2>/dev/null
			break
		fi
		sleep 0.1
		ticks=$((ticks + 1))
	done
	wait "$pid"
	rc=$?
	t1=$(date +%s%N)
	local status=ok
	if [ -n "$reason" ] || [ "$rc" -ne 0 ]; then
		status=FAIL
		[ -n "$reason" ] || reason="exit $rc"
	elif ! grep -q "^test result: ok. 1 passed" "$log"; then
		# A pattern that ran nothing is not a pass.
		status=FAIL
		reason="did not run"
	fi
	[ "$status" = ok ] && [ "$keep_all" = 0 ] && rm -f "$log"
	local secs
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", (b-a)/1e9}')
	# One line each, written at once: test iteration status seconds reason
	printf '%s %s %s %s %s\n' "$name" "$iter" "$status" "$secs" "${reason// /_}" >>"$results"
	local verdict=passed kept=-
	[ "$status" = ok ] || verdict=failed
	[ "$reason" = timeout ] && verdict=hung
	[ -f "$log" ] && kept=$log
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$commit" "$name" \
		"$verdict" "$secs" "$seed" "$kept" >>"$ledger"
}

progress() {
	local done ok failed
	# Both counts from one read, so that they describe the same moment.
	read -r done failed < <(awk '{ n++; if ($3 == "FAIL") f++ } END { print n + 0, f + 0 }' "$results")
	ok=$((done - failed))
	local line="done $done/$total: $ok ok, $failed failed"
	if [ "$tty" = 1 ]; then
		local colour=$green
		[ "$failed" -gt 0 ] && colour=$red
		printf '\r\e[K%s%s%s' "$colour" "$line" "$reset"
	elif [ "$done" -ne "${last_printed:-0}" ] &&
		{ [ $((done * 20 / total)) -ne $((${last_printed:-0} * 20 / total)) ] || [ "$failed" -ne "${last_failed:-0}" ]; }; then
		echo "$line"
	fi
	last_printed=$done
	last_failed=$failed
}

summary() {
	[ "$tty" = 1 ] && echo
	echo
	printf '%s%-52s %7s %7s %8s %8s%s\n' "$bold" "test" "failed" "total" "mean_s" "max_s" "$reset"
	awk '{ n[$1]++; s[$1]+=$4; if ($4>m[$1]) m[$1]=$4; if ($3=="FAIL") f[$1]++ }
	     END { for (t in n) printf "%-52s %7d %7d %8.2f %8.2f\n", t, f[t], n[t], s[t]/n[t], m[t] }' "$results" | sort
	local failed passed
	failed=$(grep -c ' FAIL ' "$results")
	passed=$(($(wc -l <"$results") - failed))
	if [ "$failed" -gt 0 ]; then
		echo
		echo "${red}failing runs (logs in $outdir):${reset}"
		grep ' FAIL ' "$results" | awk -v d="$outdir" '{ t=$1; gsub("::","__",t); printf "  %s #%s: %s  %s/%s_%s.log\n", $1, $2, $5, d, t, $2 }'
	fi
	# The binaries are kept only when a failing run may need replaying.
	[ "$failed" -eq 0 ] && rm -rf "$outdir/bin"
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}

on_interrupt() {
	trap - INT TERM
	echo
	echo "interrupted: stopping workers"
	local kid
	for kid in $(jobs -p); do
		pkill -P "$kid" 2>/dev/null # the test binary under each worker
		kill "$kid" 2>/dev/null
	done
	wait 2>/dev/null
	summary
	exit 130
}
trap on_interrupt INT TERM

running=0
for ((iter = 1; iter <= iters; iter++)); do
	for i in "${!sel_names[@]}"; do
		while [ "$running" -ge "$workers" ]; do
			wait -n
			running=$((running - 1))
			progress
		done
		run_one "${sel_bins[$i]}" "${sel_names[$i]}" "$iter" &
		running=$((running + 1))
	done
done
while [ "$running" -gt 0 ]; do
	wait -n
	running=$((running - 1))
	progress
done
summary
