#!/usr/bin/env bash
# scripts/test.sh - the body of `make test` after the build.
#
# Starts from a clean test state (var/test/), runs the unit tests, starts the
# test stack (NV_PROFILE=test), runs the integration tests against it, stops
# the stack on every exit path, checks the stack's logs for sanitizer reports
# and ends with the line "N passed, N failed" (Check's checks summed over all
# test binaries).  Exit status 0 only when nothing failed.
#
# Environment: NV_BUILD_ROOT (where build/tests/... live; default repo root),
# NV_TEST_TIMEOUT (seconds per test binary, default 600), NV_TEST_FILTER
# (a grep -E pattern on test binary names; only matching ones run; "e2e"
# names the dashboard's browser tests, tests/e2e/run.mjs, which run last),
# NV_E2E=0 (skip the browser tests, with a line saying so).
set -uo pipefail
umask 022

# shellcheck source=scripts/lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

export NV_PROFILE=test
nv_load_dotenv

STACK="$NV_ROOT/scripts/stack.sh"
TEST_STATE="${NV_TEST_STATE_DIR:-$NV_ROOT/var/test}"
export NV_STATE_DIR="$TEST_STATE"
TIMEOUT="${NV_TEST_TIMEOUT:-600}"
FILTER="${NV_TEST_FILTER:-}"
T0="$(nv_now_ms)"
PASSED=0
FAILED=0
STACK_STARTED=0
FAILED_BINS=()
OUT="$(mktemp -d)"

# Crashing test binaries leave no core files in the repo.
ulimit -c 0 2>/dev/null || true

# Check prints its summary only at normal verbosity or above.
case "${CK_VERBOSITY:-}" in verbose) ;; *) export CK_VERBOSITY=normal ;; esac

# shellcheck disable=SC2317  # (called through the EXIT trap)
finish() {
	local rc=$?
	trap - EXIT INT TERM
	if [ "$STACK_STARTED" -eq 1 ]; then
		echo
		echo "==> stopping the test stack"
		"$STACK" stop 2>&1 | sed 's/^/    /'
	fi
	# Sanitizer reports from the stack's processes (the FastCGI binaries and
	# the worker write them to their logs; LeakSanitizer reports appear at
	# exit, hence after the stop).
	if [ -d "$TEST_STATE/log" ]; then
		local hits
		hits="$(grep -H -n -E 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' "$TEST_STATE"/log/*.log 2>/dev/null || true)"
		if [ -n "$hits" ]; then
			echo
			echo "sanitizer reports in the test stack's logs ($TEST_STATE/log/):"
			printf '%s\n' "$hits" | head -n 200
			FAILED=$((FAILED + 1))
			FAILED_BINS+=("(sanitizer reports in the stack logs)")
		fi
	fi
	rm -rf "$OUT"
	echo
	if [ "${#FAILED_BINS[@]}" -gt 0 ]; then
		echo "failed: ${FAILED_BINS[*]}"
	fi
	echo "total time $(nv_fmt_ms "$(($(nv_now_ms) - T0))")"
	echo "$PASSED passed, $FAILED failed"
	if [ "$FAILED" -gt 0 ] || [ "$rc" -ne 0 ]; then
		[ "$rc" -ne 0 ] && exit "$rc"
		exit 1
	fi
	exit 0
}
trap finish EXIT
trap 'echo; echo "interrupted"; FAILED=$((FAILED + 1)); FAILED_BINS+=("(interrupted)"); exit 130' INT TERM

# run_binary PATH [unit|integration]: run one Check binary, show its output, add its checks.
run_binary() {
	local bin="$1" kind="${2:-unit}" name log rc line checks fails errs got=0 f=0 e=0 c=0
	name="${bin#"$NV_BUILD_ROOT"/build/tests/}"
	log="$OUT/$(basename -- "$bin").out"
	echo
	echo "--- $name"
	{ (
		cd "$NV_ROOT" || exit 1
		if [ "$kind" = integration ]; then
			eval "$STACK_ENV"
			export NV_ROOT NV_BUILD_ROOT NV_PROFILE=test NV_PG_RESTART="$RESTART_CMD" NV_STACK_CMD="$STACK_CMD"
		fi
		exec timeout --foreground -k 10 "$TIMEOUT" "$bin"
	) 2>&1 | tee "$log"; } 2>/dev/null # (no "Aborted" job notices from bash)
	rc=${PIPESTATUS[0]}
	while IFS= read -r line; do
		if [[ "$line" =~ ^[0-9]+%:\ Checks:\ ([0-9]+),\ Failures:\ ([0-9]+),\ Errors:\ ([0-9]+) ]]; then
			checks="${BASH_REMATCH[1]}"
			fails="${BASH_REMATCH[2]}"
			errs="${BASH_REMATCH[3]}"
			c=$((c + checks))
			f=$((f + fails))
			e=$((e + errs))
			got=1
		fi
	done <"$log"
	if [ "$got" -eq 0 ]; then
		if [ "$rc" -eq 124 ]; then
			echo "!!! $name: timed out after ${TIMEOUT}s without a summary"
		elif [ "$rc" -gt 128 ]; then
			echo "!!! $name: killed by signal $(kill -l "$((rc - 128))" 2>/dev/null || echo "$((rc - 128))") without a Check summary; counted as 1 failure"
		else
			echo "!!! $name: no Check summary (exit status $rc); counted as 1 failure"
		fi
		FAILED=$((FAILED + 1))
		FAILED_BINS+=("$name")
		return
	fi
	PASSED=$((PASSED + c - f - e))
	FAILED=$((FAILED + f + e))
	if [ "$rc" -ne 0 ] && [ $((f + e)) -eq 0 ]; then
		# Summary said all passed but the binary failed afterwards (a crash at
		# exit, a sanitizer report, a timeout): one more failure.
		echo "!!! $name: exit status $rc after a clean summary; counted as 1 failure"
		FAILED=$((FAILED + 1))
	fi
	[ $((f + e)) -gt 0 ] || [ "$rc" -ne 0 ] && FAILED_BINS+=("$name")
	return 0
}

# All executable check_* files in a directory, sorted, filtered.
list_tests() {
	local dir="$1" f
	[ -d "$dir" ] || return 0
	for f in "$dir"/check_*; do
		[ -f "$f" ] && [ -x "$f" ] || continue
		if [ -n "$FILTER" ] && ! basename -- "$f" | grep -Eq -- "$FILTER"; then
			continue
		fi
		echo "$f"
	done | sort
}

# Two runs on one state directory would stop and wipe each other's stack.
mkdir -p "$NV_ROOT/var"
exec 9>"$NV_ROOT/var/.test-$(basename -- "$TEST_STATE").lock"
if ! flock -n 9; then
	echo "another make test is using $TEST_STATE; wait for it, or give this run"
	echo "its own NV_TEST_STATE_DIR, NORVALT_TEST_PORT and NORVALT_TEST_PG_PORT"
	FAILED=$((FAILED + 1))
	FAILED_BINS+=("(test state in use)")
	exit 1
fi

echo "==> clean test state"
"$STACK" stop 2>&1 | sed 's/^/    /'
rm -rf "$TEST_STATE"

mapfile -t UNIT < <(list_tests "$NV_BUILD_ROOT/build/tests/unit")
mapfile -t INTEG < <(list_tests "$NV_BUILD_ROOT/build/tests/integration")

echo
echo "==> unit tests (${#UNIT[@]} binaries in $NV_BUILD_ROOT/build/tests/unit)"
[ "${#UNIT[@]}" -gt 0 ] || echo "    warning: no unit test binaries found"
for t in "${UNIT[@]}"; do
	run_binary "$t"
done

echo
echo "==> test stack"
STACK_STARTED=1
if ! "$STACK" start; then
	echo "!!! the test stack did not start; integration tests not run (counted as 1 failure)"
	FAILED=$((FAILED + 1))
	FAILED_BINS+=("(test stack start)")
	exit 1
fi
STACK_ENV="$("$STACK" env)" || exit 1
RESTART_CMD="$NV_ROOT/scripts/stack.sh"
case "$RESTART_CMD" in *[[:space:]]*) RESTART_CMD="$(printf '%q' "$RESTART_CMD")" ;; esac
STACK_CMD="$RESTART_CMD"
RESTART_CMD="$RESTART_CMD restart-pg"

echo
echo "==> integration tests (${#INTEG[@]} binaries in $NV_BUILD_ROOT/build/tests/integration)"
[ "${#INTEG[@]}" -gt 0 ] || echo "    warning: no integration test binaries found"
for t in "${INTEG[@]}"; do
	run_binary "$t" integration
done

# The dashboard's end-to-end tests (tests/e2e/run.mjs: playwright-core and
# Debian's chromium) against the same stack.  The runner's last line is
# "N passed, N failed", added to the totals; no such line is 1 failure.
# They run when NV_TEST_FILTER is unset or matches "e2e"; NV_E2E=0 skips
# them (said so in the output).
run_e2e() {
	local log="$OUT/e2e.out" rc line p="" f=""
	echo
	echo "--- e2e/run.mjs (headless Chromium)"
	{ (
		cd "$NV_ROOT" || exit 1
		eval "$STACK_ENV"
		export NV_ROOT NV_BUILD_ROOT NV_PROFILE=test
		exec timeout --foreground -k 10 "$TIMEOUT" node tests/e2e/run.mjs
	) 2>&1 | tee "$log"; } 2>/dev/null
	rc=${PIPESTATUS[0]}
	while IFS= read -r line; do
		if [[ "$line" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
			p="${BASH_REMATCH[1]}"
			f="${BASH_REMATCH[2]}"
		fi
	done <"$log"
	if [ -z "$p" ]; then
		echo "!!! e2e/run.mjs: no summary line (exit status $rc); counted as 1 failure"
		FAILED=$((FAILED + 1))
		FAILED_BINS+=("e2e/run.mjs")
		return 0
	fi
	PASSED=$((PASSED + p))
	FAILED=$((FAILED + f))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "!!! e2e/run.mjs: exit status $rc after a clean summary; counted as 1 failure"
		FAILED=$((FAILED + 1))
	fi
	{ [ "$f" -gt 0 ] || [ "$rc" -ne 0 ]; } && FAILED_BINS+=("e2e/run.mjs")
	return 0
}

if [ -f "$NV_ROOT/tests/e2e/run.mjs" ] && { [ -z "$FILTER" ] || echo "e2e" | grep -Eq -- "$FILTER"; }; then
	echo
	echo "==> end-to-end tests (tests/e2e, headless Chromium)"
	if [ "${NV_E2E:-1}" = 0 ]; then
		echo "    skipped: NV_E2E=0"
	elif ! command -v node >/dev/null 2>&1 || [ ! -d "$NV_ROOT/web/node_modules/playwright-core" ] || [ ! -f "$NV_ROOT/web/dist/index.html" ]; then
		echo "!!! node, web/node_modules/playwright-core or the built dashboard (web/dist/index.html) is missing: run make (scripts/web.sh); counted as 1 failure"
		FAILED=$((FAILED + 1))
		FAILED_BINS+=("e2e/run.mjs")
	else
		# The dashboard is tested as a sales team sees it: with a worker
		# answering leads (the integration suites start their own).
		"$STACK" worker-start 1 2>&1 | sed 's/^/    /'
		run_e2e
		"$STACK" worker-stop 2>&1 | sed 's/^/    /'
	fi
fi
exit 0
