# shellcheck shell=bash
# scripts/lib.sh - shell helpers shared by scripts/*.sh.  Source it; do not run it.
#
# After sourcing: NV_ROOT (repo root, absolute, symlinks resolved) and
# NV_BUILD_ROOT (default NV_ROOT) are set, and the helpers below exist.

# Repo root = the directory above scripts/.
NV_ROOT="$(cd -P -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
NV_BUILD_ROOT="${NV_BUILD_ROOT:-$NV_ROOT}"
case "$NV_BUILD_ROOT" in
	/*) ;;
	*) NV_BUILD_ROOT="$(cd -P -- "$NV_BUILD_ROOT" 2>/dev/null && pwd -P || printf '%s/%s' "$PWD" "$NV_BUILD_ROOT")" ;;
esac
export NV_ROOT NV_BUILD_ROOT

nv_die() { printf 'error: %s\n' "$*" >&2; exit 1; }
nv_warn() { printf 'warning: %s\n' "$*" >&2; }
nv_info() { printf '%s\n' "$*"; }

nv_is_root() { [ "$(id -u)" -eq 0 ]; }

# Monotonic-ish time in milliseconds.
nv_now_ms() {
	local t
	t="${EPOCHREALTIME:-}"
	if [ -n "$t" ]; then
		t="${t/[.,]/}"
		printf '%s\n' "$((10#${t} / 1000))"
	else
		printf '%s\n' "$(($(date +%s) * 1000))"
	fi
}

# Format a millisecond duration as "3.1s".
nv_fmt_ms() {
	local ms="$1"
	printf '%d.%ds' "$((ms / 1000))" "$(((ms % 1000) / 100))"
}

# (A script using nv_step removes a step's leftover output file on exit:
#  trap 'rm -f "${NV_STEP_TMP:-}"' EXIT)
# shellcheck disable=SC2034
NV_STEP_TMP=""

# nv_step "label" cmd args...  -> "==> label ... done (1.2s)" (or "FAILED").
# The command's own output is printed between the two lines when there is any.
nv_step() {
	local label="$1" t0 rc out
	shift
	t0="$(nv_now_ms)"
	printf '==> %s ... ' "$label"
	out="$(mktemp)"
	NV_STEP_TMP="$out"
	# A subshell with errexit on, so a failing command inside a step's
	# function ends the step (with its status).
	set +e
	(set -e; "$@") >"$out" 2>&1
	rc=$?
	set -e
	if [ -s "$out" ]; then
		printf '\n'
		sed 's/^/    /' "$out"
		printf '    '
	fi
	rm -f "$out"
	# shellcheck disable=SC2034
	NV_STEP_TMP=""
	if [ "$rc" -eq 0 ]; then
		printf 'done (%s)\n' "$(nv_fmt_ms "$(($(nv_now_ms) - t0))")"
	else
		printf 'FAILED (%s)\n' "$(nv_fmt_ms "$(($(nv_now_ms) - t0))")"
	fi
	return "$rc"
}

# Load <repo>/.env, or NORVALT_ENV_FILE as the programs do (KEY=VALUE lines,
# optional "export ", # comments, optional single or double quotes around
# the value).  Variables already set in the environment win over .env, so
# `NORVALT_PORT=9000 make run` works.
nv_load_dotenv() {
	local file="${1:-${NORVALT_ENV_FILE:-$NV_ROOT/.env}}" line key val
	[ -f "$file" ] || return 0
	while IFS= read -r line || [ -n "$line" ]; do
		line="${line%$'\r'}"
		case "$line" in '' | '#'*) continue ;; esac
		line="${line#export }"
		case "$line" in *=*) ;; *) continue ;; esac
		key="${line%%=*}"
		val="${line#*=}"
		key="${key//[[:space:]]/}"
		[[ "$key" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || continue
		if [[ "$val" =~ ^\"(.*)\"[[:space:]]*$ ]] || [[ "$val" =~ ^\'(.*)\'[[:space:]]*$ ]]; then
			val="${BASH_REMATCH[1]}"
		fi
		if [ -z "${!key+x}" ]; then
			export "$key=$val"
		fi
	done <"$file"
}

# Percent-encode a string for use inside a libpq URI query value.
nv_urlencode() {
	local s="$1" out="" c i
	local LC_ALL=C
	for ((i = 0; i < ${#s}; i++)); do
		c="${s:i:1}"
		case "$c" in
			[A-Za-z0-9/._~-]) out+="$c" ;;
			*) out+="$(printf '%%%02X' "'$c")" ;;
		esac
	done
	printf '%s\n' "$out"
}

# True when pid is a live process.
nv_pid_alive() {
	local pid="$1"
	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || [ -d "/proc/$pid" ]
}

# The command line of a pid, NULs turned into spaces.
nv_pid_cmdline() {
	tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null || true
}

# First line of a pid file, if it is a number.
nv_read_pidfile() {
	local f="$1" pid=""
	[ -f "$f" ] || return 1
	IFS= read -r pid <"$f" || true
	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	printf '%s\n' "$pid"
}

# PIDs of the processes listening on TCP port $1 (any address), one per line.
# Prints "?" for a listener whose owner cannot be seen (another user's
# process when we are not root).  Returns 1 when nothing listens there.
nv_port_listeners() {
	local port="$1" lines
	if command -v ss >/dev/null 2>&1; then
		lines="$(ss -Hltnp "sport = :$port" 2>/dev/null || true)"
		[ -n "$lines" ] || return 1
		while IFS= read -r l; do
			if [[ "$l" == *pid=* ]]; then
				grep -o 'pid=[0-9]*' <<<"$l" | cut -d= -f2
			else
				echo "?"
			fi
		done <<<"$lines"
		return 0
	fi
	# No ss: a connect test on loopback is the best we can do.
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		echo "?"
		return 0
	fi
	return 1
}

# nv_check_port PORT VARNAME OURPIDS...
# Fails (one line) when something that is not one of OURPIDS listens on PORT.
nv_check_port() {
	local port="$1" var="$2" p ours
	shift 2
	local listeners
	listeners="$(nv_port_listeners "$port")" || return 0
	while IFS= read -r p; do
		ours=0
		for o in "$@"; do [ "$p" = "$o" ] && ours=1; done
		if [ "$ours" -eq 0 ]; then
			local who=""
			[ "$p" != "?" ] && who=" by $(ps -o comm= -p "$p" 2>/dev/null || echo "pid $p") (pid $p)"
			printf 'error: port %s is already in use%s; set %s to a free port (environment or .env)\n' "$port" "$who" "$var" >&2
			return 1
		fi
	done <<<"$listeners"
	return 0
}

# The pid and all its direct children.
nv_pid_and_children() {
	local pid="$1"
	echo "$pid"
	pgrep -P "$pid" 2>/dev/null || true
}

# Wait until pid is gone (up to $2 seconds, default 10).  Returns 1 on timeout.
nv_wait_gone() {
	local pid="$1" secs="${2:-10}" i
	for ((i = 0; i < secs * 10; i++)); do
		nv_pid_alive "$pid" || return 0
		# A zombie child of ours counts as gone.
		[ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" = "Z" ] && return 0
		sleep 0.1
	done
	return 1
}
