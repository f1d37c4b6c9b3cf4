#!/usr/bin/env bash
# Build sockctl twice - plainly, and with AddressSanitizer and
# UndefinedBehaviorSanitizer - and run the whole test suite in each build;
# then run every libFuzzer target for FUZZ_SECONDS (default 30) each in a
# clang build.  Ends with one line CI reads: "N passed, N failed".
set -u
cd "$(dirname "$0")/.."

passed=0
failed=0

# Add up Criterion's Synthesis lines of one build's test log.
count() {
	local log=$1/meson-logs/testlog.txt rc=$2 p f
	p=$(grep -ho 'Passing: [0-9]*' "$log" 2>/dev/null | awk '{s+=$2} END {print s+0}')
	f=$(grep -ho -e 'Failing: [0-9]*' -e 'Crashing: [0-9]*' "$log" 2>/dev/null | awk '{s+=$2} END {print s+0}')
	# A suite that died before its summary (timeout, crash) still fails.
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
}

run_build() {
	local dir=$1 rc
	shift
	echo "== $dir: $*"
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" || { failed=$((failed + 1)); return; }
	fi
	if ! ninja -C "$dir"; then
		failed=$((failed + 1))
		return
	fi
	meson test -C "$dir" --print-errorlogs --num-processes 2
	rc=$?
	count "$dir" "$rc"
}

# Each fuzz target from the corpus, for a bounded time; a crash is a
# failure, and its input (build-fuzz/crash-*) belongs in
# tests/fuzz/corpus/TARGET/ so every build replays it from then on.
run_fuzz() {
	local dir=build-fuzz exe t work log
	if ! command -v clang >/dev/null; then
		echo "== fuzz: clang is not installed; skipped"
		return
	fi
	echo "== $dir: libFuzzer targets, ${FUZZ_SECONDS:-30} s each"
	if [ ! -f "$dir/build.ninja" ]; then
		CC=clang meson setup "$dir" -Dfuzz=true -Dtests=true \
			-Db_sanitize=address,undefined -Db_lundef=false ||
			{ failed=$((failed + 1)); return; }
	fi
	if ! ninja -C "$dir"; then
		failed=$((failed + 1))
		return
	fi
	for exe in "$dir"/tests/fuzz/fuzz_*; do
		[ -f "$exe" ] && [ -x "$exe" ] || continue
		t=${exe##*/fuzz_}
		work=$(mktemp -d)
		log=$dir/fuzz-$t.log
		if "$exe" -max_total_time="${FUZZ_SECONDS:-30}" \
			-artifact_prefix="$dir/" "$work" \
			"tests/fuzz/corpus/$t" >"$log" 2>&1; then
			echo "fuzz $t: $(grep -o 'Done [0-9]* runs' "$log")"
			passed=$((passed + 1))
		else
			echo "fuzz $t: FAILED"
			tail -40 "$log"
			failed=$((failed + 1))
		fi
		rm -rf "$work"
	done
}

run_build build
run_build build-asan -Db_sanitize=address,undefined -Db_lundef=false \
	-Dbuildtype=debug
run_fuzz

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
