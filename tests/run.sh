#!/usr/bin/env bash
# Build sockctl twice - plainly, and with AddressSanitizer and
# UndefinedBehaviorSanitizer - run the whole test suite in each build, and
# end with one line CI reads: "N passed, N failed".
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

run_build build
run_build build-asan -Db_sanitize=address,undefined -Db_lundef=false \
	-Dbuildtype=debug

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
