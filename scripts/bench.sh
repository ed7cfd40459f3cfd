#!/usr/bin/env bash
# scripts/bench.sh - the body of `make bench` (not part of `make test`).
#
# Starts its own stack (NV_PROFILE=test in var/bench/, ports 18380 and
# 54622), makes sure the benchmark data is there (50 dealerships x 20,000
# leads, two messages each; generated once by bench/generate.sql and then
# reused), checks every scenario once with curl, runs wrk against:
#
#   list      GET   /api/leads?limit=50
#   status    GET   /api/leads?status=qualified&limit=50
#   deep      GET   /api/leads?limit=50&cursor=<after row 15,000>
#   by_id     GET   /api/leads/{id}
#   patch     PATCH /api/leads/{id}          {"status": ...}
#   webhook   POST  /webhooks/form/{dealership_id}   a distinct person each
#             (the last bench dealership, which has no webhook secret; the
#             leads it creates are deleted again afterwards)
#   speed     speed to lead: leads posted to the form webhook at a steady
#             rate (bench/speed.py), answered by norvalt-worker; time from
#             each 201 to the stored, sent reply, and worker replies/s
#
# and pgbench against the list statement of lib/models/lead.c (as the app
# role, -M prepared), reads the RSS of each leads FastCGI worker, and writes
# a table to stdout, bench/RESULTS.md and bench/results.svg.  The stack is
# stopped on every exit path.
#
# Environment (all optional):
#   NV_BENCH_PORT / NV_BENCH_PG_PORT   HTTP and PostgreSQL ports (18380, 54622)
#   NV_BENCH_STATE_DIR                 state directory (var/bench)
#   NV_BENCH_DURATION                  seconds per wrk/pgbench run (15)
#   NV_BENCH_WARMUP                    seconds of warm-up per scenario (3)
#   NV_BENCH_WARMUP_FIRST              ... before the first scenario (15)
#   NV_BENCH_CONNECTIONS / _THREADS    wrk -c / -t (32 / 2); pgbench -c / -j too
#   NV_BENCH_PROCS                     leads and webhooks FastCGI workers (4)
#   NV_BENCH_DEALERS / NV_BENCH_LEADS  data size (50 / 20000)
#   NV_BENCH_ONLY                      scenarios to run, e.g. "list deep"
#   NV_BENCH_SPEED_LEADS / _RATE       speed to lead: leads (1000), posts/s (20)
#   NV_BENCH_WORKERS                   norvalt-worker processes for it (2)
#   NV_BENCH_REGENERATE=1              regenerate the data even if cached
#   NV_BENCH_STRICT=1                  exit 1 when a target is missed
#   NV_BENCH_NO_RESULTS=1              do not rewrite bench/RESULTS.md and
#                                      bench/results.svg (exploratory runs)
#
# Exit status: 0 when every request of every scenario answered 2xx (targets
# missed are reported, and fail only with NV_BENCH_STRICT=1); 1 otherwise.
set -euo pipefail
umask 022

# shellcheck source=scripts/lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

export NV_PROFILE=test
export NV_TEST_STATE_DIR="${NV_BENCH_STATE_DIR:-$NV_ROOT/var/bench}"
export NORVALT_TEST_PORT="${NV_BENCH_PORT:-18380}"
export NORVALT_TEST_PG_PORT="${NV_BENCH_PG_PORT:-54622}"
DURATION="${NV_BENCH_DURATION:-15}"
WARMUP="${NV_BENCH_WARMUP:-3}"
WARMUP_FIRST="${NV_BENCH_WARMUP_FIRST:-15}"
CONNS="${NV_BENCH_CONNECTIONS:-32}"
THREADS="${NV_BENCH_THREADS:-2}"
PROCS="${NV_BENCH_PROCS:-4}"
DEALERS="${NV_BENCH_DEALERS:-50}"
LEADS="${NV_BENCH_LEADS:-20000}"
ONLY="${NV_BENCH_ONLY:-list status deep by_id patch webhook speed pgbench}"
DEEP_ROWS=15000
# The leads FastCGI group's worker count (stack.sh reads NORVALT_PROCS_<NAME>).
export NORVALT_PROCS_LEADS="$PROCS"
export NORVALT_PROCS_WEBHOOKS="$PROCS"
# The shipped webhook rate limit (nginx/norvalt-http.conf, 20 r/s per client
# address) would turn the webhook scenario into a 429 test: every wrk
# connection comes from 127.0.0.1.  scripts/stack.sh writes this rate into
# the bench stack's nginx configuration instead.
export NORVALT_WEBHOOK_RATE=100000r/s

for v in DURATION WARMUP WARMUP_FIRST CONNS THREADS PROCS DEALERS LEADS; do
	[[ "${!v}" =~ ^[0-9]+$ ]] || nv_die "NV_BENCH_$v must be a number (got '${!v}')"
done
if [ "$DEALERS" -lt 1 ] || [ "$DEALERS" -gt 99 ]; then nv_die "NV_BENCH_DEALERS must be 1-99"; fi
[ "$LEADS" -gt "$((DEEP_ROWS + 100))" ] || nv_die "NV_BENCH_LEADS must exceed $((DEEP_ROWS + 100)) (the deep page starts after row $DEEP_ROWS)"

STACK="$NV_ROOT/scripts/stack.sh"
STATE="$NV_TEST_STATE_DIR"
BENCH="$NV_ROOT/bench"
RESULTS="$BENCH/RESULTS.md"
SVG="$BENCH/results.svg"
LOGS="$STATE/log/bench"
# The dealership and user the HTTP scenarios and pgbench use.
DEALER_NO=1
DEALER_ID="bbbbbbbb-0000-4000-8000-000000000001"
ORG="org_bench_01"
USER_ID="user_bench_01_rep1"
# The webhook scenario posts to the last bench dealership, not the one the
# read scenarios use, and its e-mail addresses end in WH_DOMAIN.
WH_DEALER_NO="$DEALERS"
WH_DEALER_ID="$(printf 'bbbbbbbb-0000-4000-8000-%012d' "$WH_DEALER_NO")"
WH_DOMAIN="webhook.bench.example"
WH_TAG="$(date +%s)"

for tool in wrk pgbench psql curl awk cc; do
	command -v "$tool" >/dev/null 2>&1 || nv_die "$tool is not installed (scripts/deps.sh installs it)"
done
for f in "$NV_BUILD_ROOT/cgi-bin/leads" "$NV_BUILD_ROOT/cgi-bin/webhooks" "$NV_BUILD_ROOT/bin/norvalt-token" "$NV_BUILD_ROOT/lib/libnorvalt.a"; do
	[ -e "$f" ] || nv_die "$f not found; build first (make build)"
done

T0="$(nv_now_ms)"
STACK_STARTED=0
WORK="$(mktemp -d)"
chmod 0700 "$WORK"

# shellcheck disable=SC2317  # (called through the traps)
finish() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "${CHILD:-}" ] && kill -0 "$CHILD" 2>/dev/null; then
		kill -TERM "$CHILD" 2>/dev/null || true
		wait "$CHILD" 2>/dev/null || true
	fi
	if [ "$STACK_STARTED" -eq 1 ]; then
		echo
		echo "==> stopping the bench stack"
		"$STACK" stop 2>&1 | sed 's/^/    /' || true
	fi
	rm -rf "$WORK"
	echo "total time $(nv_fmt_ms "$(($(nv_now_ms) - T0))")"
	exit "$rc"
}
trap finish EXIT
set -E
trap 'echo "!!! scripts/bench.sh: line $LINENO: a command failed (status $?)"' ERR
trap 'echo; echo "interrupted"; exit 130' INT TERM

say() { printf '==> %s\n' "$*"; }
elapsed() { nv_fmt_ms "$(($(nv_now_ms) - $1))"; }
want() { [[ " $ONLY " == *" $1 "* ]]; }

# A libpq URL without its password (for argv), and the password (for PGPASSWORD).
url_base() {
	local u="$1" base
	if [[ "$u" =~ ^(.*)[\?\&]password=([^\&]*)(.*)$ ]]; then
		base="${BASH_REMATCH[1]}${BASH_REMATCH[3]}"
		[[ "$base" == *\?* ]] || base="${base/&/?}"
		printf '%s\n' "$base"
	else
		printf '%s\n' "$u"
	fi
}
url_password() {
	if [[ "$1" =~ [\?\&]password=([^\&]*) ]]; then printf '%s\n' "${BASH_REMATCH[1]}"; fi
}

# psql as the owner / the app role: psql_owner ARGS...
psql_owner() { PGPASSWORD="$OWNER_PW" PGOPTIONS="-c client_min_messages=warning -c TimeZone=UTC" psql -X -q -v ON_ERROR_STOP=1 "$@" "$OWNER_BASE"; }

# Run SQL in dealership n's context as the owner, print the rows (-At).
owner_query() { # n sql
	local did
	did="$(printf 'bbbbbbbb-0000-4000-8000-%012d' "$1")"
	psql_owner -At <<EOF
BEGIN;
SELECT set_config('app.current_dealership_id', '$did', true) \g /dev/null
$2
COMMIT;
EOF
}

# ------------------------------------------------------------- the stack

echo "Norvalt benchmark (state $STATE, http 127.0.0.1:$NORVALT_TEST_PORT, postgres port $NORVALT_TEST_PG_PORT)"
mkdir -p "$STATE"

# The cached database is only good for the migrations it was made with:
# norvalt-migrate refuses a database whose applied files have changed, and a
# new migration may reshape the data.  When sql/migrations/ differs from
# what the cache was built with, start from an empty cluster.
SCHEMA_MARK="$STATE/bench-schema.sha256"
SCHEMA_SHA="$(cd "$NV_ROOT" && for f in sql/migrations/*.sql; do echo "$f"; cat "$f"; done | sha256sum | cut -c1-16)"
if [ -d "$STATE/pg" ] && [ "$(cat "$SCHEMA_MARK" 2>/dev/null || true)" != "$SCHEMA_SHA" ]; then
	say "sql/migrations/ changed since the bench database was built: starting from an empty cluster"
	"$STACK" stop 2>&1 | sed 's/^/    /' || true
	rm -rf "${STATE:?}/pg" "$STATE"/seed.sha256.* "$STATE/bench-layout.done"
fi
say "start the bench stack ($PROCS leads workers)"
STACK_STARTED=1
if ! "$STACK" start 2>&1 | sed 's/^/    /'; then
	echo "!!! the bench stack did not start"
	exit 1
fi
# (pipefail carries start's status through sed; /readyz is a second guard.)
eval "$("$STACK" env)"
BASE_URL="http://127.0.0.1:$NORVALT_TEST_PORT"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE_URL/readyz")" = 200 ] || { echo "!!! the bench stack is not ready"; exit 1; }
# The migrations of this checkout are applied: the cache belongs to them.
echo "$SCHEMA_SHA" >"$SCHEMA_MARK"
OWNER_BASE="$(url_base "$NORVALT_DATABASE_OWNER_URL")"
OWNER_PW="$(url_password "$NORVALT_DATABASE_OWNER_URL")"
APP_BASE="$(url_base "$DATABASE_URL")"
APP_PW="$(url_password "$DATABASE_URL")"
mkdir -p "$LOGS"

# The leads the webhook scenario created (and what hangs off them: the
# messages and reply jobs go with ON DELETE CASCADE, the idempotency keys
# explicitly), so the dealership keeps exactly its generated leads and the
# cache stays valid.  Also run before the data check, in case an earlier
# run was interrupted.
webhook_cleanup() {
	owner_query "$WH_DEALER_NO" "DELETE FROM public.idempotency_keys WHERE scope = 'webhook:form' AND key LIKE 'bench-wh-%';
WITH d AS (DELETE FROM public.leads WHERE email LIKE '%@$WH_DOMAIN' RETURNING 1) SELECT count(*) FROM d;"
}
if want webhook; then
	n="$(webhook_cleanup | tail -n 1)"
	[ "${n:-0}" = 0 ] || say "deleted $n leads left over from an earlier webhook run"
fi

# --------------------------------------------------------------- the data

GEN="$(sha256sum <"$BENCH/generate.sql" | cut -c1-16)"

# Dealerships 1..DEALERS whose data is complete and made by this generator.
complete_dealers() {
	local n did sql=""
	for ((n = 1; n <= DEALERS; n++)); do
		did="$(printf 'bbbbbbbb-0000-4000-8000-%012d' "$n")"
		sql+="BEGIN;
SELECT set_config('app.current_dealership_id', '$did', true) \\g /dev/null
SELECT $n FROM public.dealerships d
 WHERE d.settings->'bench'->>'generator' = '$GEN'
   AND (d.settings->'bench'->>'leads')::int = $LEADS
   AND (SELECT count(*) FROM public.leads) = $LEADS;
COMMIT;
"
	done
	psql_owner -At <<<"$sql"
}

say "benchmark data ($DEALERS dealerships x $LEADS leads, two messages each; generator $GEN)"
t="$(nv_now_ms)"
declare -A have=()
if [ "${NV_BENCH_REGENERATE:-0}" != 1 ]; then
	while IFS= read -r n; do [ -n "$n" ] && have[$n]=1; done < <(complete_dealers)
fi
echo "    ${#have[@]} of $DEALERS dealerships already complete ($(elapsed "$t"))"
# The layout step below (CLUSTER, VACUUM ANALYZE) ran on exactly this data
# when the marker holds these words.
LAYOUT_MARK="$STATE/bench-layout.done"
LAYOUT_WANT="generator=$GEN dealers=$DEALERS leads=$LEADS"
generated=0
for ((n = 1; n <= DEALERS; n++)); do
	[ -z "${have[$n]:-}" ] || continue
	rm -f "$LAYOUT_MARK"
	t="$(nv_now_ms)"
	psql_owner -v n="$n" -v leads="$LEADS" -v gen="$GEN" -f "$BENCH/generate.sql" >/dev/null
	generated=$((generated + 1))
	printf '    dealership %02d/%d: %d leads, %d messages (%s)\n' "$n" "$DEALERS" "$LEADS" "$((LEADS * 2))" "$(elapsed "$t")"
done
if [ "$(cat "$LAYOUT_MARK" 2>/dev/null || true)" != "$LAYOUT_WANT" ]; then
	# Each dealership was written in one go, so its rows sit together in the
	# heap; in production leads arrive interleaved across dealerships.
	# CLUSTER rewrites both tables in arrival order (by created_at) through
	# a throwaway index, so a page of one dealership's leads is spread over
	# as many heap pages as it would be in real life.
	t="$(nv_now_ms)"
	psql_owner <<'EOF'
SET maintenance_work_mem = '512MB';
CREATE INDEX bench_leads_arrival_tmp ON public.leads (created_at);
CLUSTER public.leads USING bench_leads_arrival_tmp;
DROP INDEX public.bench_leads_arrival_tmp;
CREATE INDEX bench_conversations_arrival_tmp ON public.conversations (created_at);
CLUSTER public.conversations USING bench_conversations_arrival_tmp;
DROP INDEX public.bench_conversations_arrival_tmp;
EOF
	echo "    CLUSTER leads, conversations in arrival order ($(elapsed "$t"))"
	t="$(nv_now_ms)"
	psql_owner -c "VACUUM (ANALYZE) public.dealerships, public.users, public.vehicles, public.leads, public.conversations, public.audit_log"
	echo "    VACUUM ANALYZE ($(elapsed "$t"))"
	echo "$LAYOUT_WANT" >"$LAYOUT_MARK"
else
	echo "    cached (heap already in arrival order, statistics current)"
fi
left="$(complete_dealers | grep -c . || true)"
[ "$left" -eq "$DEALERS" ] || { echo "!!! only $left of $DEALERS dealerships are complete after generation"; exit 1; }

# ------------------------------------------------------------ preparation

say "token, lead ids, cursors"
t="$(nv_now_ms)"
TOKEN="$(cd "$NV_ROOT" && "$NV_BUILD_ROOT/bin/norvalt-token" --user "$USER_ID" --org "$ORG" --ttl 7200 2>/dev/null | tail -n 1)"
[ -n "$TOKEN" ] || { echo "!!! bin/norvalt-token gave no token for $USER_ID"; exit 1; }
IDS="$WORK/ids"
owner_query "$DEALER_NO" "SELECT id FROM public.leads ORDER BY random() LIMIT 1000;" >"$IDS"
[ "$(grep -c . "$IDS")" -eq 1000 ] || { echo "!!! could not pick 1000 lead ids"; exit 1; }

# A cursor exactly as lib/cursor.c makes one: base64url without padding of
# "<created_at as PostgreSQL prints it with TimeZone=UTC>|<id>" of the last
# row of the previous page.
cursor_at() { # row number (1-based) in the inbox order
	owner_query "$DEALER_NO" "SELECT created_at::text || '|' || id FROM public.leads ORDER BY created_at DESC, id DESC OFFSET $(($1 - 1)) LIMIT 1;" |
		tr -d '\n' | base64 -w0 | tr '+/' '-_' | tr -d '='
}
row_id() { # row number (1-based) in the inbox order
	owner_query "$DEALER_NO" "SELECT id FROM public.leads ORDER BY created_at DESC, id DESC OFFSET $(($1 - 1)) LIMIT 1;"
}
CURSOR50="$(cursor_at 50)"
DEEP_CURSOR="$(cursor_at "$DEEP_ROWS")"
DEEP_FIRST="$(row_id "$((DEEP_ROWS + 1))")"
echo "    token for $USER_ID ($ORG, sales_rep), 1000 lead ids, cursor after row $DEEP_ROWS ($(elapsed "$t"))"

# The list statement of this checkout, for pgbench.
read -r -a PC_CFLAGS <<<"$(pkg-config --cflags libpq libcjson)"
read -r -a PC_LIBS <<<"$(pkg-config --libs libpq libcjson libjwt libcurl fcgi openssl libxml-2.0)"
cc -std=c11 -w -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -I"$NV_ROOT/lib" \
	"${PC_CFLAGS[@]}" -o "$WORK/listsql" "$BENCH/listsql.c" \
	"$NV_BUILD_ROOT/lib/libnorvalt.a" "${PC_LIBS[@]}" ||
	{ echo "!!! could not build bench/listsql.c"; exit 1; }
LIST_SQL="$("$WORK/listsql" list)"
# Page one of the unfiltered inbox: the limit is the only parameter
# (pgbench -M prepared turns :limit back into $1).
# shellcheck disable=SC2016  # ($N are SQL placeholders, not shell)
PGB_SQL="$(printf '%s' "$LIST_SQL" | sed -e 's/\$1/:limit/g')"
{
	echo "-- generated by scripts/bench.sh from lib/models/lead.c (lead_inbox_desc), page one,"
	echo "-- with its generic plan as nv_db_exec_generic runs it"
	echo "\\set limit 50"
	echo "BEGIN;"
	echo "SELECT set_config('app.current_dealership_id', '$DEALER_ID', true);"
	echo "SET LOCAL plan_cache_mode = force_generic_plan;"
	echo "$PGB_SQL;"
	echo "COMMIT;"
} >"$WORK/list.pgbench"
cp "$WORK/list.pgbench" "$LOGS/list.pgbench"

# ------------------------------------------------------ scenarios, checked

declare -a SCEN=(list status deep by_id patch webhook)
declare -A LABEL=(
	[list]="GET /api/leads?limit=50"
	[status]="GET /api/leads?status=qualified&limit=50"
	[deep]="GET /api/leads?limit=50&cursor=(row $DEEP_ROWS)"
	[by_id]="GET /api/leads/{id}"
	[patch]="PATCH /api/leads/{id}"
	[webhook]="POST /webhooks/form/{id} (new leads)"
)
declare -A URLPATH=(
	[list]="/api/leads?limit=50"
	[status]="/api/leads?status=qualified&limit=50"
	[deep]="/api/leads?limit=50&cursor=$DEEP_CURSOR"
	[by_id]="/"
	[patch]="/"
	[webhook]="/webhooks/form/$WH_DEALER_ID"
)
declare -A SCRIPT=([list]=get.lua [status]=get.lua [deep]=get.lua [by_id]=by_id.lua [patch]=patch.lua [webhook]=webhook.lua)

FIRST_ID="$(head -n 1 "$IDS")"
check() { # name method path [body] -> prints the status, body in $WORK/check.json
	local method="$2" path="$3" body="${4:-}"
	local -a extra=()
	[ -n "$body" ] && extra=(-H 'Content-Type: application/json' --data "$body")
	curl -s -o "$WORK/check.json" -w '%{http_code}' -X "$method" \
		-H "Authorization: Bearer $TOKEN" "${extra[@]}" "$BASE_URL$path" || echo 000
}
# Is the body in $WORK/check.json JSON for which the SQL condition on j holds?
# PostgreSQL is the JSON parser (no jq needed); :'x' is the second argument.
json_ok() { # condition [x]
	local r
	r="$(printf "SELECT CASE WHEN %s THEN 'true' ELSE 'false' END FROM (SELECT :'body'::json AS j) s;\n" "$1" |
		PGPASSWORD="$APP_PW" psql -X -q -At -v body="$(cat "$WORK/check.json")" -v x="${2:-}" "$APP_BASE" 2>/dev/null)" || r=false
	[ "$r" = true ] && echo true || echo false
}
say "check every scenario once (curl)"
bad=0
for s in "${SCEN[@]}"; do
	[ "$s" != webhook ] || want webhook || continue
	case "$s" in
		webhook)
			# No token and no signature: the dealership must have no secret.
			sec="$(owner_query "$WH_DEALER_NO" "SELECT coalesce(settings->>'webhook_secret', '') FROM public.dealerships WHERE id = '$WH_DEALER_ID';")"
			if [ -n "$sec" ]; then
				echo "!!! dealership $WH_DEALER_ID has a webhook_secret; the webhook scenario posts unsigned"
				exit 1
			fi
			code="$(curl -s -o "$WORK/check.json" -w '%{http_code}' -X POST \
				-H 'Content-Type: application/json' -H "Idempotency-Key: bench-wh-$WH_TAG-check" \
				--data "{\"name\":\"Bench Check\",\"email\":\"check-$WH_TAG@$WH_DOMAIN\",\"phone\":\"+4749999999\",\"message\":\"check\"}" \
				"$BASE_URL${URLPATH[$s]}" || echo 000)"
			[ "$code" = 201 ] || code="$code (want 201)"
			ok="$(json_ok "j->>'duplicate' = 'false' AND j->>'lead_id' IS NOT NULL")" ;;
		by_id) code="$(check "$s" GET "/api/leads/$FIRST_ID")"
			ok="$(json_ok "j->>'id' = :'x'" "$FIRST_ID")" ;;
		patch) code="$(check "$s" PATCH "/api/leads/$FIRST_ID" '{"status":"contacted"}')"
			ok="$(json_ok "j->>'status' = 'contacted'")" ;;
		list) code="$(check "$s" GET "${URLPATH[$s]}")"
			# Also proves the cursor encoding: ours for row 50 = the API's.
			ok="$(json_ok "json_array_length(j->'data') = 50 AND j->>'next_cursor' = :'x'" "$CURSOR50")" ;;
		status) code="$(check "$s" GET "${URLPATH[$s]}")"
			ok="$(json_ok "json_array_length(j->'data') = 50 AND NOT EXISTS (SELECT FROM json_array_elements(j->'data') e WHERE e->>'status' IS DISTINCT FROM 'qualified')")" ;;
		deep) code="$(check "$s" GET "${URLPATH[$s]}")"
			ok="$(json_ok "json_array_length(j->'data') = 50 AND j->'data'->0->>'id' = :'x'" "$DEEP_FIRST")" ;;
	esac
	size="$(wc -c <"$WORK/check.json")"
	if [[ "$code" == 2?? ]] && [ "$ok" = true ]; then
		printf '    %-48s %s  %6d bytes  ok\n' "${LABEL[$s]}" "$code" "$size"
	else
		printf '    %-48s %s  %6d bytes  FAILED: %s\n' "${LABEL[$s]}" "$code" "$size" "$(head -c 300 "$WORK/check.json")"
		bad=1
	fi
done
if [ "$bad" -ne 0 ]; then
	echo
	echo "!!! NOT BENCHMARKING: a scenario did not answer 2xx with the expected content (see above)"
	exit 1
fi

# ------------------------------------------------------------------- wrk

declare -A RPS=() P50=() P99=() NON2XX=() SOCKERR=()
# A load generator runs in the background and is waited for, so a TERM or
# INT reaches our trap at once (and finish() ends the child) rather than
# after the run.
CHILD=""
run_child() { # outfile cmd...
	local out="$1" rc=0
	shift
	"$@" >"$out" 2>&1 &
	CHILD=$!
	wait "$CHILD" || rc=$?
	CHILD=""
	return "$rc"
}
run_wrk() { # name duration outfile [webhook run number]
	local s="$1"
	BENCH_TOKEN="$TOKEN" BENCH_IDS="$IDS" BENCH_LUA_DIR="$BENCH/wrk" \
	BENCH_WH_RUN="${4:-0}" BENCH_WH_THREADS="$THREADS" BENCH_WH_TAG="$WH_TAG" run_child "$3" \
		wrk -t"$THREADS" -c"$CONNS" -d"${2}s" --latency -s "$BENCH/wrk/${SCRIPT[$s]}" \
		"$BASE_URL${URLPATH[$s]}"
}
field() { sed -n "s/^BENCH .*\\b$1=\\([0-9]*\\).*/\\1/p" "$2" | tail -n 1; }

# Start measuring from a checkpoint.  Setting the data up (generation,
# CLUSTER, deleting an earlier run's webhook leads) can leave gigabytes of
# WAL, and the checkpoints that forces landed in the first scenarios (seen:
# status p99 46 ms against 19 ms on a settled database).  CHECKPOINT needs
# the cluster's superuser: the service user over the socket.
say "checkpoint before measuring"
t="$(nv_now_ms)"
as_su=()
nv_is_root && as_su=(runuser -u norvalt --)
(cd / && "${as_su[@]}" psql -X -q -h "$STATE/run/pg" -p "$NORVALT_TEST_PG_PORT" -d norvalt -c CHECKPOINT) ||
	echo "    (CHECKPOINT failed; measuring anyway)"
echo "    done ($(elapsed "$t"))"

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
say "wrk -t$THREADS -c$CONNS -d${DURATION}s --latency (after ${WARMUP}s of warm-up each, ${WARMUP_FIRST}s before the first)"
first=1
for s in "${SCEN[@]}"; do
	want "$s" || continue
	# The first scenario after the stack starts ran 10-20% slower than the
	# same scenario a minute later (fresh backends, caches, and pages the
	# kernel reclaimed while the box idled): it gets a longer warm-up.
	w="$WARMUP"
	if [ "$first" -eq 1 ] && [ "$s" != webhook ]; then w="$WARMUP_FIRST"; fi
	first=0
	if [ "$w" -gt 0 ]; then
		run_wrk "$s" "$w" "$LOGS/$s.warmup.txt" 0 || true
	fi
	out="$LOGS/$s.txt"
	if ! run_wrk "$s" "$DURATION" "$out" 1; then
		echo "!!! wrk failed for ${LABEL[$s]}:"
		sed 's/^/    /' "$out"
		exit 1
	fi
	reqs="$(field requests "$out")"
	[ -n "$reqs" ] || { echo "!!! no result line from wrk for ${LABEL[$s]}:"; sed 's/^/    /' "$out"; exit 1; }
	dur="$(field duration_us "$out")"
	RPS[$s]="$(awk -v r="$reqs" -v d="$dur" 'BEGIN { printf "%.0f", r / (d / 1e6) }')"
	P50[$s]="$(awk -v u="$(field p50_us "$out")" 'BEGIN { printf "%.2f", u / 1000 }')"
	P99[$s]="$(awk -v u="$(field p99_us "$out")" 'BEGIN { printf "%.2f", u / 1000 }')"
	NON2XX[$s]="$(field status_errors "$out")"
	SOCKERR[$s]=$(($(field connect "$out") + $(field read "$out") + $(field write "$out") + $(field timeout "$out")))
	if [ "$s" = webhook ]; then
		WH_CREATED="$(sed -n 's/^BENCHWH .*created=\([0-9]*\).*/\1/p' "$out" | tail -n 1)"
		WH_DUP="$(sed -n 's/^BENCHWH .*duplicate=\([0-9]*\).*/\1/p' "$out" | tail -n 1)"
		WH_OTHER="$(sed -n 's/^BENCHWH .*other=\([0-9]*\).*/\1/p' "$out" | tail -n 1)"
		# leads/s: the 2xx answers (201 new + 200 duplicate) per second.
		RPS[$s]="$(awk -v r="$((${WH_CREATED:-0} + ${WH_DUP:-0}))" -v d="$dur" 'BEGIN { printf "%.0f", r / (d / 1e6) }')"
		WH_CREATED_RPS="$(awk -v r="${WH_CREATED:-0}" -v d="$dur" 'BEGIN { printf "%.0f", r / (d / 1e6) }')"
	fi
	printf '    %-48s %8s req/s  p50 %7s ms  p99 %7s ms  non-2xx %s  socket errors %s\n' \
		"${LABEL[$s]}" "${RPS[$s]}" "${P50[$s]}" "${P99[$s]}" "${NON2XX[$s]}" "${SOCKERR[$s]}"
	[ "$s" != webhook ] || printf '    %-48s 201 new lead %s (%s/s), 200 duplicate %s, other %s\n' "" \
		"${WH_CREATED:-?}" "${WH_CREATED_RPS:-?}" "${WH_DUP:-?}" "${WH_OTHER:-?}"
done
if want webhook; then
	n="$(webhook_cleanup | tail -n 1)"
	echo "    deleted the $n leads the webhook scenario created (messages and reply jobs with them)"
fi

# --------------------------------------------------------------- pgbench

PGB_TPS="" PGB_LAT="" PGB_FAILED=""
if want pgbench; then
	say "pgbench -M prepared -c$CONNS -j$THREADS -T$DURATION (list statement, app role)"
	out="$LOGS/pgbench.txt"
	if ! PGPASSWORD="$APP_PW" PGOPTIONS="-c TimeZone=UTC" run_child "$out" \
		pgbench -n -M prepared -c"$CONNS" -j"$THREADS" -T"$DURATION" -f "$WORK/list.pgbench" "$APP_BASE"; then
		echo "!!! pgbench failed:"
		sed 's/^/    /' "$out" | tail -n 20
		exit 1
	fi
	PGB_TPS="$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time).*/\1/p' "$out" | awk '{ printf "%.0f", $1 }')"
	PGB_LAT="$(sed -n 's/^latency average = \([0-9.]*\) ms.*/\1/p' "$out")"
	PGB_FAILED="$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$out")"
	printf '    %-48s %8s tps    latency average %s ms  failed %s\n' "pgbench list statement" "$PGB_TPS" "$PGB_LAT" "${PGB_FAILED:-0}"
fi
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"

# --------------------------------------------------------- speed to lead

# The webhook's 201 to the worker's reply, as SPEC section 7 promises it:
# NV_BENCH_SPEED_LEADS distinct leads posted to the form webhook at
# NV_BENCH_SPEED_RATE per second (bench/speed.py records when each 201
# arrived), answered by NV_BENCH_WORKERS norvalt-worker processes with the
# template responder and the outbox (no LLM, no provider).  Latency: the
# ai message's sent time (its updated_at, set in the transaction that marks
# it sent) minus the client's 201 time; both clocks are this machine's.
# Throughput: the same number of leads queued at once (one statement, as
# intake does), from the first reply stored to the last one sent.  20
# leads/s (1.7 million a day) is far above what any dealership group
# sends; each lead is two jobs (the reply and the rep's notification), so
# at 50/s the two workers of a loaded 2-CPU box fall behind and the
# latency becomes queueing time.
SPEED_N="${NV_BENCH_SPEED_LEADS:-1000}"
SPEED_RATE="${NV_BENCH_SPEED_RATE:-20}"
SPEED_WORKERS="${NV_BENCH_WORKERS:-2}"
SPEED_DOMAIN="speed.bench.example"
speed_cleanup() {
	owner_query "$WH_DEALER_NO" "WITH d AS (DELETE FROM public.leads WHERE email LIKE '%@$SPEED_DOMAIN' RETURNING 1) SELECT count(*) FROM d;"
}
speed_sent() { # tag: how many of the tag's leads have a sent ai reply
	owner_query "$WH_DEALER_NO" "SELECT count(*) FROM public.conversations c JOIN public.leads l ON l.id = c.lead_id WHERE l.email LIKE '%.$1@$SPEED_DOMAIN' AND c.sender = 'ai' AND c.status = 'sent';" | tail -n 1
}
speed_wait() { # tag n: until n replies are sent (at most 600 s)
	local i
	for ((i = 0; i < 1200; i++)); do
		[ "$(speed_sent "$1")" -ge "$2" ] && return 0
		sleep 0.5
	done
	return 1
}
if want speed; then
	SCEN+=(speed)
	LABEL[speed]="speed to lead: webhook 201 -> ai reply sent"
	NON2XX[speed]=0
	SOCKERR[speed]=0
	n="$(speed_cleanup | tail -n 1)"
	[ "${n:-0}" = 0 ] || echo "    deleted $n leads left over from an earlier speed run"
	say "speed to lead: $SPEED_N form leads at $SPEED_RATE/s, $SPEED_WORKERS norvalt-worker processes (template, outbox)"
	SPEED_LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
	"$STACK" worker-start "$SPEED_WORKERS" 2>&1 | sed 's/^/    /'
	tag="s$(date +%s)"
	out="$(python3 "$BENCH/speed.py" "$BASE_URL" "$WH_DEALER_ID" "$SPEED_N" "$SPEED_RATE" "$tag" "$SPEED_DOMAIN" "$WORK/speed.csv")"
	echo "    $out"
	ok="$(grep -c . "$WORK/speed.csv" || true)"
	NON2XX[speed]=$((SPEED_N - ok))
	if ! speed_wait "$tag" "$ok"; then
		echo "!!! only $(speed_sent "$tag") of $ok leads were answered within 600 s; see $STATE/log/norvalt-worker.log"
		NON2XX[speed]=$((SPEED_N - $(speed_sent "$tag")))
	fi
	cp "$WORK/speed.csv" "$LOGS/speed.csv"
	read -r P50[speed] P99[speed] SPEED_SRV_P50 SPEED_SRV_P99 < <(psql_owner -At -F' ' <<EOF | tail -n 1
BEGIN;
SELECT set_config('app.current_dealership_id', '$WH_DEALER_ID', true) \g /dev/null
CREATE TEMP TABLE speed (lead_id uuid, t201 double precision);
\copy speed FROM '$WORK/speed.csv' WITH (FORMAT csv)
WITH x AS (
  SELECT (extract(epoch FROM c.updated_at) - s.t201) * 1000 AS client_ms,
         extract(epoch FROM c.updated_at - l.created_at) * 1000 AS server_ms
    FROM speed s JOIN public.leads l ON l.id = s.lead_id
    JOIN public.conversations c ON c.lead_id = l.id AND c.sender = 'ai' AND c.status = 'sent')
SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY client_ms)::numeric, 1),
       round(percentile_cont(0.99) WITHIN GROUP (ORDER BY client_ms)::numeric, 1),
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY server_ms)::numeric, 1),
       round(percentile_cont(0.99) WITHIN GROUP (ORDER BY server_ms)::numeric, 1)
  FROM x;
COMMIT;
EOF
	)
	# Throughput: N leads queued at once with their reply jobs.
	"$STACK" worker-stop 2>&1 | sed 's/^/    /'
	tag="t$(date +%s)"
	owner_query "$WH_DEALER_NO" "WITH l AS (INSERT INTO public.leads (dealership_id, first_name, email, source, vehicle_interest, message) SELECT get_current_dealership_context(), 'Kø' || g, g || '.$tag@$SPEED_DOMAIN', 'web_form', 'Model Y', 'Hei, er bilen ledig?' FROM generate_series(1, $SPEED_N) g RETURNING id, dealership_id) INSERT INTO public.jobs (dealership_id, kind, lead_id) SELECT dealership_id, 'reply', id FROM l;" >/dev/null
	"$STACK" worker-start "$SPEED_WORKERS" 2>&1 | sed 's/^/    /'
	speed_wait "$tag" "$SPEED_N" || echo "!!! the queued leads were not all answered within 600 s"
	RPS[speed]="$(owner_query "$WH_DEALER_NO" "SELECT round(count(*) / greatest(extract(epoch FROM max(c.updated_at) - min(c.created_at)), 0.001)) FROM public.conversations c JOIN public.leads l ON l.id = c.lead_id WHERE l.email LIKE '%.$tag@$SPEED_DOMAIN' AND c.sender = 'ai' AND c.status = 'sent';" | tail -n 1)"
	"$STACK" worker-stop 2>&1 | sed 's/^/    /'
	SPEED_LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"
	printf '    %-48s %8s replies/s  p50 %7s ms  p99 %7s ms  (server side: p50 %s ms, p99 %s ms)\n' \
		"${LABEL[speed]}" "${RPS[speed]}" "${P50[speed]}" "${P99[speed]}" "$SPEED_SRV_P50" "$SPEED_SRV_P99"
	n="$(speed_cleanup | tail -n 1)"
	echo "    deleted the $n leads the speed scenario created (messages and jobs with them)"
fi

# ------------------------------------------------------------ worker RSS

say "leads FastCGI workers (children of their multiwatch)"
RSS_LINES=() RSS_MAX_KB=0 ANON_MAX_KB=0
mw="$(cat "$STATE/run/fcgi/leads.pid" 2>/dev/null || true)"
if [ -n "$mw" ]; then
	for p in $(pgrep -P "$mw" 2>/dev/null | sort -n); do
		rss="$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)"
		hwm="$(awk '/^VmHWM:/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)"
		anon="$(awk '/^RssAnon:/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)"
		pss="$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)"
		[ "$rss" -gt "$RSS_MAX_KB" ] && RSS_MAX_KB="$rss"
		[ "$hwm" -gt "$RSS_MAX_KB" ] && RSS_MAX_KB="$hwm"
		[ "$anon" -gt "$ANON_MAX_KB" ] && ANON_MAX_KB="$anon"
		# VmRSS counts the shared libraries' pages in every process; RssAnon
		# (private heap and stacks) and Pss are what one more worker costs.
		RSS_LINES+=("$(awk -v p="$p" -v r="$rss" -v h="$hwm" -v a="$anon" -v s="$pss" 'BEGIN { printf "pid %d: VmRSS %.1f MiB (peak VmHWM %.1f MiB), of which private RssAnon %.1f MiB; Pss %.1f MiB", p, r / 1024, h / 1024, a / 1024, s / 1024 }')")
	done
fi
[ "${#RSS_LINES[@]}" -gt 0 ] || RSS_LINES=("no leads workers found (multiwatch pid file $STATE/run/fcgi/leads.pid)")
for l in "${RSS_LINES[@]}"; do echo "    $l"; done
RSS_MAX_MIB="$(awk -v k="$RSS_MAX_KB" 'BEGIN { printf "%.1f", k / 1024 }')"
ANON_MAX_MIB="$(awk -v k="$ANON_MAX_KB" 'BEGIN { printf "%.1f", k / 1024 }')"

# --------------------------------------------------------------- verdicts

TOTAL_BAD=0
for s in "${SCEN[@]}"; do
	want "$s" || continue
	TOTAL_BAD=$((TOTAL_BAD + ${NON2XX[$s]} + ${SOCKERR[$s]}))
done
[ -z "$PGB_FAILED" ] || TOTAL_BAD=$((TOTAL_BAD + PGB_FAILED))

ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 < b + 0) }'; }
declare -A TARGET=() VERDICT=()
MISSED=0
verdict() { # name ok(0/1)
	if [ "$2" -eq 1 ]; then VERDICT[$1]=met; else VERDICT[$1]=MISSED; MISSED=$((MISSED + 1)); fi
}
for s in list status; do
	want "$s" || continue
	TARGET[$s]=">= 2500 req/s, p99 < 25 ms"
	if ge "${RPS[$s]}" 2500 && lt "${P99[$s]}" 25; then verdict "$s" 1; else verdict "$s" 0; fi
done
DEEP_RATIO=""
if want deep && want list; then
	DEEP_RATIO="$(awk -v a="${RPS[list]}" -v b="${RPS[deep]}" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 99) }')"
	TARGET[deep]="page one / deep <= 1.3 (now $DEEP_RATIO)"
	if ge 1.3 "$DEEP_RATIO"; then verdict deep 1; else verdict deep 0; fi
fi
if want by_id; then
	TARGET[by_id]=">= 4000 req/s"
	if ge "${RPS[by_id]}" 4000; then verdict by_id 1; else verdict by_id 0; fi
fi
if want patch; then TARGET[patch]="(none)"; VERDICT[patch]="-"; fi
if want speed; then
	TARGET[speed]="p50 < 300 ms, p99 < 1000 ms"
	if lt "${P50[speed]}" 300 && lt "${P99[speed]}" 1000; then verdict speed 1; else verdict speed 0; fi
fi
if want webhook; then
	TARGET[webhook]=">= 1500 leads/s"
	if ge "${RPS[webhook]}" 1500; then verdict webhook 1; else verdict webhook 0; fi
fi
RSS_VERDICT=met
lt "$RSS_MAX_MIB" 8 || { RSS_VERDICT=MISSED; MISSED=$((MISSED + 1)); }
APP_RATIO=""
if want list && [ -n "$PGB_TPS" ]; then
	APP_RATIO="$(awk -v a="${RPS[list]}" -v b="$PGB_TPS" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')"
fi

# ------------------------------------------------------------------ table

echo
printf '%-48s %9s %9s %9s %8s %8s  %-34s %s\n' "scenario" "req/s" "p50 ms" "p99 ms" "non-2xx" "sockerr" "target" ""
for s in "${SCEN[@]}"; do
	want "$s" || continue
	printf '%-48s %9s %9s %9s %8s %8s  %-34s %s\n' "${LABEL[$s]}" "${RPS[$s]}" "${P50[$s]}" "${P99[$s]}" \
		"${NON2XX[$s]}" "${SOCKERR[$s]}" "${TARGET[$s]}" "${VERDICT[$s]}"
done
if [ -n "$PGB_TPS" ]; then
	printf '%-48s %9s %9s %9s %8s %8s  %-34s\n' "pgbench: list statement (-M prepared)" "$PGB_TPS" "-" "-" "-" "${PGB_FAILED:-0}" "(reference; avg $PGB_LAT ms)"
fi
[ -z "$APP_RATIO" ] || echo "list through the whole stack / the same SQL from pgbench: $APP_RATIO"
echo "leads worker RSS: max $RSS_MAX_MIB MiB VmRSS/VmHWM over ${#RSS_LINES[@]} workers (target < 8 MiB): $RSS_VERDICT; private (RssAnon) max $ANON_MAX_MIB MiB"
echo "load average before/after: $LOAD_BEFORE / $LOAD_AFTER (other processes on this box share the CPUs)"
echo "raw wrk/pgbench output: $LOGS/"

if [ "$TOTAL_BAD" -gt 0 ]; then
	echo
	echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
	echo "!!! $TOTAL_BAD requests were NOT 2xx (or failed on the socket) during the runs."
	echo "!!! The req/s above count them; these figures are not valid."
	echo "!!! See $LOGS/ and $STATE/log/leads.log"
	echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
fi

# ------------------------------------------------- RESULTS.md and the chart

if [ "${NV_BENCH_NO_RESULTS:-0}" != 1 ]; then
	say "write $RESULTS and $SVG"
	cpu="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
	mem="$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
	pgv="$(PGPASSWORD="$APP_PW" psql -X -At -c 'SHOW server_version' "$APP_BASE" 2>/dev/null || echo '?')"
	pgconf="$(PGPASSWORD="$APP_PW" psql -X -At -F' ' -c "SELECT string_agg(name || '=' || current_setting(name), ', ' ORDER BY name) FROM pg_settings WHERE name IN ('shared_buffers', 'fsync', 'synchronous_commit', 'max_connections', 'plan_cache_mode', 'jit')" "$APP_BASE" 2>/dev/null || echo '?')"
	ngv="$(nginx -v 2>&1 | sed 's/^nginx version: //')"
	# (wrk -v prints its version with the usage text and exits 1.)
	wrkv="$({ wrk -v 2>&1 || true; } | awk 'NR == 1 { print $1, $2 }')"
	gitrev="$(git -C "$NV_ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
	dirty="$(git -C "$NV_ROOT" status --porcelain 2>/dev/null | grep -c . || true)"
	{
		echo "# Benchmark results"
		echo
		echo "Written by \`make bench\` (scripts/bench.sh); every run replaces this file."
		echo "How the numbers come about, and where the time goes: [PROFILE.md](PROFILE.md)."
		echo "Chart: [results.svg](results.svg)."
		echo
		echo "## Run"
		echo
		echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
		echo "- checkout: $gitrev ($dirty files changed or new, not committed)"
		echo "- machine: $(nproc) CPUs ($cpu), $mem RAM, $(uname -sr)"
		echo "- load average before/after the runs: $LOAD_BEFORE / $LOAD_AFTER (the box is shared: wrk, nginx, the workers and PostgreSQL on the same CPUs)"
		echo "- PostgreSQL $pgv ($pgconf); the bench stack is the test profile, so fsync and synchronous_commit are off: PATCH is optimistic"
		echo "- $ngv, $wrkv, $PROCS leads FastCGI workers (spawn-fcgi + multiwatch), 2 nginx workers"
		echo "- data: $DEALERS dealerships x $LEADS leads, two messages each, spread over a year; heap in arrival order (CLUSTER by created_at)"
		echo "- caller: $USER_ID (a sales_rep of $ORG, dealership $DEALER_ID); lead ids for by-id and PATCH: 1000 random leads of that dealership"
		echo "- wrk -t$THREADS -c$CONNS -d${DURATION}s --latency after ${WARMUP}s of warm-up (${WARMUP_FIRST}s before the first scenario); a CHECKPOINT before the first; pgbench -n -M prepared -c$CONNS -j$THREADS -T$DURATION"
		echo
		echo "## Figures"
		echo
		echo "| scenario | req/s | p50 ms | p99 ms | non-2xx | socket errors | target | |"
		echo "|---|---:|---:|---:|---:|---:|---|---|"
		for s in "${SCEN[@]}"; do
			want "$s" || continue
			echo "| \`${LABEL[$s]}\` | ${RPS[$s]} | ${P50[$s]} | ${P99[$s]} | ${NON2XX[$s]} | ${SOCKERR[$s]} | ${TARGET[$s]} | ${VERDICT[$s]} |"
		done
		[ -z "$PGB_TPS" ] || echo "| pgbench: the list statement alone (page one) | $PGB_TPS tps | | | | ${PGB_FAILED:-0} failed | reference (latency avg $PGB_LAT ms) | |"
		echo
		[ -z "$APP_RATIO" ] || echo "- page one through nginx + FastCGI + auth vs the same SQL from pgbench: **$APP_RATIO**"
		[ -z "$DEEP_RATIO" ] || echo "- page one / deep page throughput: **$DEEP_RATIO** (target <= 1.3)"
		if want webhook; then
			echo "- webhook ingest (\`POST /webhooks/form/$WH_DEALER_ID\`, JSON, no signature: the dealership has no webhook secret; a distinct e-mail, phone and Idempotency-Key per request): req/s is **leads/s, the 2xx answers per second**; ${WH_CREATED:-?} answered 201 (new lead + inbound message + reply job, ${WH_CREATED_RPS:-?}/s), ${WH_DUP:-?} answered 200 (duplicate), ${WH_OTHER:-?} anything else. The leads are deleted again after the run."
			echo "- the bench stack's nginx runs with **NORVALT_WEBHOOK_RATE=100000r/s** instead of the shipped webhook limit (20 r/s per client address, nginx/norvalt-http.conf), since all of wrk's connections come from 127.0.0.1; $PROCS webhooks FastCGI workers"
		fi
		if want speed; then
			echo "- speed to lead: $SPEED_N leads posted to \`POST /webhooks/form/$WH_DEALER_ID\` at $SPEED_RATE/s by bench/speed.py (8 threads), answered by $SPEED_WORKERS norvalt-worker processes with the template responder and the outbox (no LLM, no provider); p50/p99 are **from the client's 201 to the ai reply marked sent** (the message's updated_at); server side (lead created_at to sent) p50 ${SPEED_SRV_P50:-?} ms, p99 ${SPEED_SRV_P99:-?} ms. The req/s column is **worker throughput in replies/s**: $SPEED_N leads queued at once, first reply stored to last sent. Load average before/after this scenario: ${SPEED_LOAD_BEFORE:-?} / ${SPEED_LOAD_AFTER:-?}. The leads are deleted again after the run."
		fi
		echo "- leads worker RSS: max $RSS_MAX_MIB MiB (VmRSS/VmHWM; target < 8 MiB, $RSS_VERDICT); private memory (RssAnon) max $ANON_MAX_MIB MiB. VmRSS includes the clean pages of the shared libraries (libpq with its libldap/gnutls/krb5, OpenSSL 3), mapped once for all workers:"
		for l in "${RSS_LINES[@]}"; do echo "  - $l"; done
		if [ "$TOTAL_BAD" -gt 0 ]; then
			echo
			echo "**WARNING: $TOTAL_BAD requests were not 2xx or failed on the socket; these figures are not valid.**"
		fi
		echo
		echo "For comparison: the original design's Python stack served 110-170 req/s at"
		echo "p50 180-290 ms on this kind of machine.  DATABASE-NOTES.md and the issue quote"
		echo "about 3,600-3,700 tps for the list SQL from pgbench; the pgbench row above is"
		echo "the same measurement on this run's data (PROFILE.md explains the difference)."
	} >"$RESULTS"

	# The chart: one horizontal bar per scenario (req/s), the target as a
	# red tick, pgbench as a reference bar.  Plain SVG from awk.
	{
		for s in "${SCEN[@]}"; do
			want "$s" || continue
			tgt=0
			case "$s" in
				list | status) tgt=2500 ;;
				deep) [ -n "$DEEP_RATIO" ] && tgt="$(awk -v a="${RPS[list]}" 'BEGIN { printf "%.0f", a / 1.3 }')" ;;
				by_id) tgt=4000 ;;
				webhook) tgt=1500 ;;
			esac
			printf '%s\t%s\t%s\t%s\t%s\n' "${LABEL[$s]}" "${RPS[$s]}" "$tgt" "${VERDICT[$s]}" "p50 ${P50[$s]} ms, p99 ${P99[$s]} ms"
		done
		[ -z "$PGB_TPS" ] || printf '%s\t%s\t%s\t%s\t%s\n' "pgbench: list SQL alone" "$PGB_TPS" 0 ref "latency avg $PGB_LAT ms"
	} | awk -F'\t' -v title="Norvalt make bench, $(date -u '+%Y-%m-%d'), $(nproc) CPUs, wrk -c$CONNS" '
		function esc(s) { gsub(/&/, "\\&amp;", s); gsub(/</, "\\&lt;", s); gsub(/>/, "\\&gt;", s); return s }
		{ n++; label[n] = $1; val[n] = $2 + 0; tgt[n] = $3 + 0; ok[n] = $4; note[n] = $5
		  if (val[n] > max) max = val[n]; if (tgt[n] > max) max = tgt[n] }
		END {
			left = 330; width = 420; top = 56; row = 46; h = top + n * row + 50
			scale = max > 0 ? width / (max * 1.08) : 1
			printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n", left + width + 120, h, left + width + 120, h
			printf "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n"
			printf "<text x=\"10\" y=\"22\" font-size=\"15\" font-weight=\"bold\">%s</text>\n", esc(title)
			printf "<text x=\"10\" y=\"40\" fill=\"#555\">requests per second (bar) and target (red line); green = target met, orange = missed, blue = reference</text>\n"
			for (i = 1; i <= n; i++) {
				y = top + (i - 1) * row
				color = ok[i] == "met" ? "#2e9d4f" : (ok[i] == "MISSED" ? "#e67e22" : (ok[i] == "ref" ? "#3b7dd8" : "#8a8a8a"))
				printf "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n", left - 8, y + 16, esc(label[i])
				printf "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" fill=\"#777\" font-size=\"10\">%s</text>\n", left - 8, y + 30, esc(note[i])
				printf "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"26\" fill=\"%s\"/>\n", left, y + 4, val[i] * scale, color
				printf "<text x=\"%.1f\" y=\"%d\">%d</text>\n", left + val[i] * scale + 6, y + 22, val[i]
				if (tgt[i] > 0) {
					printf "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#d62728\" stroke-width=\"3\"/>\n", left + tgt[i] * scale, y, left + tgt[i] * scale, y + 34
					printf "<text x=\"%.1f\" y=\"%d\" fill=\"#d62728\" font-size=\"10\" text-anchor=\"middle\">%d</text>\n", left + tgt[i] * scale, y + 44, tgt[i]
				}
			}
			printf "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>\n", left, top, left, top + n * row
			printf "</svg>\n"
		}' >"$SVG"
	echo "    $RESULTS"
	echo "    $SVG"
fi

echo
if [ "$TOTAL_BAD" -gt 0 ]; then
	echo "bench: FAILED ($TOTAL_BAD non-2xx or socket errors)"
	exit 1
fi
if [ "$MISSED" -gt 0 ]; then
	echo "bench: done, $MISSED target(s) missed"
	[ "${NV_BENCH_STRICT:-0}" = 1 ] && exit 1
	exit 0
fi
echo "bench: done, all targets met"
exit 0
