#!/usr/bin/env bash
# scripts/stack.sh - the local Norvalt stack: PostgreSQL cluster, FastCGI
# workers (spawn-fcgi + multiwatch), the worker daemon and nginx.
#
#   scripts/stack.sh start|stop|status|config|restart-pg|restart-app|env|migrate|seed|worker-stop|worker-start [N]
#
# Profile: NV_PROFILE=run (default; state in <repo>/var/, ports NORVALT_PORT
# 8080 and NORVALT_PG_PORT 54321) or NV_PROFILE=test (state in <repo>/var/test/,
# ports NORVALT_TEST_PORT 18080 and NORVALT_TEST_PG_PORT 54322).
# Binaries come from $NV_BUILD_ROOT (default: the repo root).
# restart-app NAME [NORVALT_X=value ...] restarts one FastCGI group with
# variables overridden (tests use it for "secret not configured" answers).
# config checks the configuration start would use and says what it would
# run with (database, token verification, webhook rate); it changes nothing.
set -euo pipefail
umask 022

# shellcheck source=scripts/lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	echo "usage: scripts/stack.sh start|stop|status|config|restart-pg|restart-app|env|migrate|seed|worker-stop|worker-start   (NV_PROFILE=run|test)" >&2
	exit 2
}

CMD="${1:-}"
[ -n "$CMD" ] || usage
trap 'rm -f "${NV_STEP_TMP:-}"' EXIT

nv_load_dotenv

PROFILE="${NV_PROFILE:-run}"
case "$PROFILE" in
	run)
		STATE="$NV_ROOT/var"
		PORT_VAR=NORVALT_PORT
		PGPORT_VAR=NORVALT_PG_PORT
		PORT="${NORVALT_PORT:-8080}"
		PGPORT="${NORVALT_PG_PORT:-54321}"
		;;
	test)
		# NV_TEST_STATE_DIR lets two test runs (with other ports) coexist.
		STATE="${NV_TEST_STATE_DIR:-$NV_ROOT/var/test}"
		PORT_VAR=NORVALT_TEST_PORT
		PGPORT_VAR=NORVALT_TEST_PG_PORT
		PORT="${NORVALT_TEST_PORT:-18080}"
		PGPORT="${NORVALT_TEST_PG_PORT:-54322}"
		;;
	*) nv_die "NV_PROFILE must be run or test (got '$PROFILE')" ;;
esac
for v in PORT PGPORT; do
	p="${!v}"
	pv="PORT_VAR"
	[ "$v" = PGPORT ] && pv="PGPORT_VAR"
	if ! [[ "$p" =~ ^[0-9]+$ ]] || [ "$p" -lt 1 ] || [ "$p" -gt 65535 ]; then
		nv_die "${!pv} must be a TCP port number 1-65535 (got '$p')"
	fi
done
# The dashboard's demo sign-in (cgi-bin/devlogin): only the run profile,
# only with NORVALT_DEV_LOGIN=1 (which `make run` sets).  Off, the binary is
# neither spawned nor routed, so /api/dev/* is nginx's JSON 404.
DEV_LOGIN=0
if [ "$PROFILE" = run ] && [ "${NORVALT_DEV_LOGIN:-0}" = 1 ]; then DEV_LOGIN=1; fi
[ "$PORT" != "$PGPORT" ] || nv_die "$PORT_VAR and $PGPORT_VAR are both $PORT; pick two different ports"

KEYS="$NV_ROOT/var/keys"
PGROOT="$STATE/pg"
PGDATA="$STATE/pg/data"
SOCKDIR="$STATE/run/pg"
FCGIDIR="$STATE/run/fcgi"
RUNDIR="$STATE/run"
LOGDIR="$STATE/log"
NGXDIR="$STATE/nginx"
OUTBOX="$STATE/outbox"
STACKENV="$STATE/stack.env"
SECRETS="$STATE/secrets.env"
SEEDMARK="$STATE/seed.sha256"  # .<hash of the database URL> appended
NGXCONF="$NGXDIR/nginx.conf"
NGXPID="$NGXDIR/nginx.pid"
WORKER_BIN="$NV_BUILD_ROOT/bin/norvalt-worker"
WORKER_PID="$RUNDIR/norvalt-worker.pid"
DEVKEYDIR="$STATE/devlogin"
DEVKEY="$DEVKEYDIR/dev_jwt_private.pem"

# How tokens are verified (lib/auth.c takes NORVALT_CLERK_JWT_KEY_FILE
# over NORVALT_CLERK_JWKS_URL when both are set).  The test profile always
# uses the dev key.  The run profile: an explicit key file; else Clerk's
# JWKS URL, with no dev key put in front of it; else the dev key.  Tokens
# signed with the dev key (make token, the demo sign-in, the demo token)
# verify only in "devkey" mode, so the demo sign-in is off otherwise.
AUTH_MODE=devkey
AUTH_KEY="$KEYS/dev_jwt_public.pem"
AUTH_JWKS=""
if [ "$PROFILE" = run ]; then
	if [ -n "${NORVALT_CLERK_JWT_KEY_FILE:-}" ]; then
		AUTH_KEY="$NORVALT_CLERK_JWT_KEY_FILE"
		if [ "$AUTH_KEY" != "$KEYS/dev_jwt_public.pem" ] && ! cmp -s -- "$AUTH_KEY" "$KEYS/dev_jwt_public.pem"; then
			AUTH_MODE=pem
		fi
	elif [ -n "${NORVALT_CLERK_JWKS_URL:-}" ]; then
		AUTH_MODE=jwks
		AUTH_KEY=""
		AUTH_JWKS="$NORVALT_CLERK_JWKS_URL"
	fi
fi
[ "$AUTH_MODE" = devkey ] || DEV_LOGIN=0

# Paths go into nginx and PostgreSQL configuration files; refuse characters
# that would need escaping there.
for p in "$NV_ROOT" "$NV_BUILD_ROOT"; do
	case "$p" in
		*[\"\'\$\\\;{}]* | *$'\n'*) nv_die "the path '$p' contains a quote, \$, \\, ; or brace; move the clone to a plainer path" ;;
	esac
done

# DATABASE_URL in the environment/.env means "use that database" (run profile
# only) - unless it is our own stack.env's value, sourced into the shell.
EXTERNAL_DB=0
if [ "$PROFILE" = run ] && [ -n "${DATABASE_URL:-}" ]; then
	case "$DATABASE_URL" in
		*"host=$(nv_urlencode "$SOCKDIR")&"*) ;;
		*) EXTERNAL_DB=1 ;;
	esac
fi

# Who runs the services.
if nv_is_root; then
	SVC_USER=norvalt
	SVC_GROUP=norvalt
else
	SVC_USER="$(id -un)"
	SVC_GROUP="$(id -gn)"
fi

# Run a command as the service user (from /, so a 0700 cwd does not matter).
as_svc() {
	if nv_is_root; then
		(cd / && runuser -u "$SVC_USER" -- "$@")
	else
		"$@"
	fi
}

pg_bindir() {
	local d
	d="$(pg_config --bindir 2>/dev/null || true)"
	if [ -n "$d" ] && [ -x "$d/initdb" ]; then echo "$d"; return; fi
	if [ -x /usr/lib/postgresql/15/bin/initdb ]; then echo /usr/lib/postgresql/15/bin; return; fi
	# shellcheck disable=SC2012
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		if [ -x "$d/initdb" ]; then echo "$d"; return; fi
	done
	nv_die "PostgreSQL server binaries (initdb) not found; run scripts/deps.sh"
}

# ---------------------------------------------------------------- processes

# pid of our postmaster, or nothing.
pg_pid() {
	local pid cwd
	pid="$(nv_read_pidfile "$PGDATA/postmaster.pid" 2>/dev/null)" || return 1
	nv_pid_alive "$pid" || return 1
	cwd="$(readlink "/proc/$pid/cwd" 2>/dev/null || true)"
	if [ -n "$cwd" ]; then
		[ "$cwd" = "$(readlink -f "$PGDATA")" ] || return 1
	else
		case "$(nv_pid_cmdline "$pid")" in *postgres*) ;; *) return 1 ;; esac
	fi
	echo "$pid"
}

# pid of our nginx master, or nothing.
nginx_pid() {
	local pid
	pid="$(nv_read_pidfile "$NGXPID" 2>/dev/null)" || return 1
	nv_pid_alive "$pid" || return 1
	case "$(nv_pid_cmdline "$pid")" in *"$NGXCONF"*) ;; *) return 1 ;; esac
	echo "$pid"
}

# pid of the multiwatch of a FastCGI group (by pid file), or nothing.
group_pid() {
	local pidfile="$1" pid
	pid="$(nv_read_pidfile "$pidfile" 2>/dev/null)" || return 1
	nv_pid_alive "$pid" || return 1
	case "$(nv_pid_cmdline "$pid")" in *multiwatch*) ;; *) return 1 ;; esac
	echo "$pid"
}

# Stop a multiwatch group.  multiwatch turns the first TERM into SIGUSR1 for
# its children (its default "graceful" signal; libfcgi's own USR1 handler
# makes FCGX_Accept_r return < 0, so a FastCGI binary leaves its loop and
# exits normally).  (Debian's multiwatch 1.0.0 maps `-s NAME` to the wrong
# signal, so the default is the only usable choice.)  A second TERM after 5 s
# is forwarded as TERM; whatever is left after 10 s is killed.
stop_group() {
	local pid="$1" kids
	kids="$(pgrep -P "$pid" 2>/dev/null | tr '\n' ' ' || true)"
	kill -TERM "$pid" 2>/dev/null || true
	if ! nv_wait_gone "$pid" 5; then
		kill -TERM "$pid" 2>/dev/null || true
		if ! nv_wait_gone "$pid" 5; then
			nv_warn "pid $pid did not stop within 10 s; killing it"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	for k in $kids; do
		if nv_pid_alive "$k" && ! nv_wait_gone "$k" 3; then
			kill -KILL "$k" 2>/dev/null || true
		fi
	done
	return 0
}

# ------------------------------------------------------------------- setup

ensure_user() {
	nv_is_root || return 0
	if ! id -u "$SVC_USER" >/dev/null 2>&1; then
		useradd --system --user-group --no-create-home --shell /usr/sbin/nologin "$SVC_USER"
		echo "created system user $SVC_USER"
	fi
}

# Make every directory from $1 up to / traversable by the service user.
grant_traversal() {
	nv_is_root || return 0
	local d="$1"
	while :; do
		if ! runuser -u "$SVC_USER" -- test -x "$d" 2>/dev/null; then
			if command -v setfacl >/dev/null 2>&1 && setfacl -m "u:$SVC_USER:x" "$d" 2>/dev/null; then
				echo "granted $SVC_USER traversal of $d (setfacl -m u:$SVC_USER:x)"
			else
				chmod o+x "$d"
				echo "granted $SVC_USER traversal of $d (chmod o+x)"
			fi
		fi
		[ "$d" = / ] && break
		d="$(dirname -- "$d")"
	done
}

# Ownership (when root): the state dir, run/, run/fcgi/, log/ and nginx/ stay
# root's, because root processes (nginx's master, spawn-fcgi, this script)
# create files there and must not follow links the service user could plant.
# The service user owns pg/ (the cluster), run/pg/ (PostgreSQL's socket
# dir), outbox/, nginx's temp dirs, and its own log files in log/.
ensure_dirs() {
	local d
	mkdir -p "$STATE"
	chmod 0755 "$STATE"
	[ "$PROFILE" = test ] && chmod 0755 "$NV_ROOT/var"
	for d in "$PGROOT" "$RUNDIR" "$SOCKDIR" "$FCGIDIR" "$LOGDIR" "$NGXDIR" "$OUTBOX" \
		"$NGXDIR/client_body" "$NGXDIR/fastcgi" "$NGXDIR/proxy" "$NGXDIR/uwsgi" "$NGXDIR/scgi"; do
		mkdir -p "$d"
		chmod 0755 "$d"
	done
	if nv_is_root; then
		chown root:root "$STATE" "$RUNDIR" "$FCGIDIR" "$LOGDIR" "$NGXDIR"
		# Root's own files in those (nginx writes its logs as root).
		for d in "$LOGDIR"/nginx-*.log "$LOGDIR/initdb.log" "$NGXDIR"/*.conf "$NGXDIR/fastcgi_params"; do
			[ -e "$d" ] && [ ! -L "$d" ] && chown root:root "$d"
		done
		for d in "$PGROOT" "$SOCKDIR" "$OUTBOX" "$NGXDIR/client_body" "$NGXDIR/fastcgi" \
			"$NGXDIR/proxy" "$NGXDIR/uwsgi" "$NGXDIR/scgi"; do
			# (only what is not already theirs is touched)
			find "$d" \( ! -user "$SVC_USER" -o ! -group "$SVC_GROUP" \) -exec chown -h "$SVC_USER:$SVC_GROUP" {} + 2>/dev/null || true
		done
		grant_traversal "$NV_ROOT"
		grant_traversal "$NV_BUILD_ROOT"
		[ -d "$NV_BUILD_ROOT/cgi-bin" ] && grant_traversal "$NV_BUILD_ROOT/cgi-bin"
		[ -d "$NV_BUILD_ROOT/bin" ] && grant_traversal "$NV_BUILD_ROOT/bin"
	fi
	return 0
}

# A log file the service user writes itself (created by root, then given away).
svc_log() {
	local f="$1"
	[ -L "$f" ] && rm -f "$f"
	touch "$f"
	if nv_is_root; then chown "$SVC_USER:$SVC_GROUP" "$f"; fi
	return 0
}

# Write stdin to a file in a directory the service user owns, as that user
# (so root never follows a link planted there).
svc_write() {
	if nv_is_root; then
		(cd / && runuser -u "$SVC_USER" -- sh -c 'umask 077; cat >"$1"' sh "$1")
	else
		(umask 077 && cat >"$1")
	fi
}

ensure_keys() {
	local priv="$KEYS/dev_jwt_private.pem" pub="$KEYS/dev_jwt_public.pem"
	mkdir -p "$KEYS"
	chmod 0755 "$KEYS"
	if [ ! -s "$priv" ]; then
		(umask 077 && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$priv.tmp" 2>/dev/null && mv -f "$priv.tmp" "$priv")
		rm -f "$pub"
		echo "created $priv"
	fi
	chmod 0600 "$priv"
	if [ ! -s "$pub" ] || [ "$priv" -nt "$pub" ]; then
		openssl pkey -in "$priv" -pubout -out "$pub.tmp" 2>/dev/null
		mv -f "$pub.tmp" "$pub"
		echo "created $pub"
	fi
	chmod 0644 "$pub"
}

ensure_secrets() {
	if [ ! -s "$SECRETS" ]; then
		(
			umask 077
			{
				echo "# generated by scripts/stack.sh; PostgreSQL role passwords for this profile"
				echo "NV_OWNER_PASSWORD=$(openssl rand -hex 24)"
				echo "NV_APP_PASSWORD=$(openssl rand -hex 24)"
			} >"$SECRETS.tmp"
			mv -f "$SECRETS.tmp" "$SECRETS"
		)
		echo "created $SECRETS"
	fi
	chmod 0600 "$SECRETS"
}

load_secrets() {
	NV_OWNER_PASSWORD="$(sed -n 's/^NV_OWNER_PASSWORD=//p' "$SECRETS")"
	NV_APP_PASSWORD="$(sed -n 's/^NV_APP_PASSWORD=//p' "$SECRETS")"
	[[ "$NV_OWNER_PASSWORD" =~ ^[0-9a-f]+$ && "$NV_APP_PASSWORD" =~ ^[0-9a-f]+$ ]] ||
		nv_die "$SECRETS is damaged; remove it and the cluster ($PGDATA) or fix it by hand"
}

# ------------------------------------------------------------- PostgreSQL

pg_url() { # db user [password]
	local u
	u="postgresql:///$1?host=$(nv_urlencode "$SOCKDIR")&port=$PGPORT&user=$2"
	[ -n "${3:-}" ] && u+="&password=$3"
	echo "$u"
}

pg_clean_stale() {
	pg_pid >/dev/null && return 0
	if [ -f "$PGDATA/postmaster.pid" ]; then
		rm -f "$PGDATA/postmaster.pid"
		echo "removed stale $PGDATA/postmaster.pid"
	fi
	local f
	for f in "$SOCKDIR"/.s.PGSQL.*; do
		[ -e "$f" ] || continue
		rm -f "$f"
		echo "removed stale $f"
	done
	return 0
}

pg_initdb() {
	local bindir="$1"
	if [ -d "$PGDATA" ] && [ -n "$(ls -A "$PGDATA" 2>/dev/null)" ]; then
		echo "removing incomplete cluster directory $PGDATA (no PG_VERSION)"
		rm -rf "$PGDATA"
	fi
	as_svc "$bindir/initdb" -D "$PGDATA" --auth-local=peer --auth-host=scram-sha-256 \
		-E UTF8 --locale=C.UTF-8 >"$LOGDIR/initdb.log" 2>&1 || {
		cat "$LOGDIR/initdb.log"
		return 1
	}
	svc_write "$PGDATA/pg_hba.conf" <<EOF
# generated by scripts/stack.sh
# TYPE  DATABASE  USER  ADDRESS  METHOD
local   all       $SVC_USER            peer
local   all       all                  scram-sha-256
host    all       all   127.0.0.1/32   scram-sha-256
EOF
	{
		cat "$PGDATA/postgresql.conf"
		echo "include_if_exists = 'norvalt.conf'"
	} | svc_write "$PGDATA/postgresql.conf.new"
	as_svc mv -f "$PGDATA/postgresql.conf.new" "$PGDATA/postgresql.conf"
}

pg_write_conf() {
	local f="$PGDATA/norvalt.conf"
	{
		echo "# generated by scripts/stack.sh on every start; edit the script, not this file"
		echo "listen_addresses = '127.0.0.1'"
		echo "port = $PGPORT"
		echo "unix_socket_directories = '$SOCKDIR'"
		echo "password_encryption = 'scram-sha-256'"
		echo "log_destination = 'stderr'"
		echo "logging_collector = off"
		echo "log_line_prefix = '%m [%p] %q%u@%d '"
		echo "log_timezone = 'UTC'"
		if [ "$PROFILE" = test ]; then
			echo "fsync = off"
			echo "synchronous_commit = off"
			echo "full_page_writes = off"
		fi
	} | svc_write "$f"
}

pg_start() {
	local bindir="$1"
	pg_clean_stale
	pg_write_conf
	svc_log "$LOGDIR/postgresql.log"
	as_svc "$bindir/pg_ctl" -D "$PGDATA" -l "$LOGDIR/postgresql.log" -w -t 60 start >/dev/null || {
		echo "PostgreSQL did not start; last lines of $LOGDIR/postgresql.log:"
		tail -n 20 "$LOGDIR/postgresql.log" 2>/dev/null || true
		return 1
	}
}

pg_stop() {
	local bindir="$1"
	as_svc "$bindir/pg_ctl" -D "$PGDATA" -m fast -w -t 60 stop >/dev/null
}

# The port/socket dir a running postmaster uses (lines 4 and 5 of postmaster.pid).
pg_running_port() { sed -n 4p "$PGDATA/postmaster.pid" 2>/dev/null; }
pg_running_sockdir() { sed -n 5p "$PGDATA/postmaster.pid" 2>/dev/null; }

pg_bootstrap() {
	local dbs="norvalt"
	[ "$PROFILE" = test ] && dbs="norvalt norvalt_migtest"
	{
		cat <<EOF
\\set ON_ERROR_STOP on
SET client_min_messages = warning;
SELECT 'CREATE ROLE norvalt_owner' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'norvalt_owner') \\gexec
SELECT 'CREATE ROLE norvalt_app' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'norvalt_app') \\gexec
SELECT 'CREATE ROLE norvalt_definer' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'norvalt_definer') \\gexec
ALTER ROLE norvalt_owner WITH LOGIN NOINHERIT PASSWORD '$NV_OWNER_PASSWORD';
ALTER ROLE norvalt_app WITH LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD '$NV_APP_PASSWORD';
ALTER ROLE norvalt_definer WITH NOLOGIN NOSUPERUSER NOBYPASSRLS;
GRANT norvalt_definer TO norvalt_owner;
EOF
		for db in $dbs; do
			cat <<EOF
SELECT 'CREATE DATABASE $db OWNER norvalt_owner' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$db') \\gexec
ALTER DATABASE $db OWNER TO norvalt_owner;
\\connect $db
SET client_min_messages = warning;
-- PostgreSQL 15 gives the public schema to pg_database_owner, whose rights
-- reach the database owner only through INHERIT; norvalt_owner is NOINHERIT.
ALTER SCHEMA public OWNER TO norvalt_owner;
\\connect postgres
EOF
		done
	} | as_svc psql -X -q -h "$SOCKDIR" -p "$PGPORT" -d postgres -f - >/dev/null
}

# ----------------------------------------------------------- stack.env

# Single-quote a value for a shell file.
q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

# The token verification lines of stack.env (see AUTH_MODE): the issuer,
# and either the key file or the JWKS URL, never both.
auth_env() {
	local issuer="https://clerk.norvalt.localhost"
	[ "$PROFILE" = test ] || issuer="${NORVALT_CLERK_ISSUER:-$issuer}"
	echo "export NORVALT_CLERK_ISSUER=$(q "$issuer")"
	if [ -n "$AUTH_KEY" ]; then
		echo "export NORVALT_CLERK_JWT_KEY_FILE=$(q "$AUTH_KEY")"
	else
		echo "export NORVALT_CLERK_JWKS_URL=$(q "$AUTH_JWKS")"
	fi
}

write_stack_env() {
	local db_url owner_url
	if [ "$EXTERNAL_DB" -eq 1 ]; then
		db_url="$DATABASE_URL"
		owner_url="${NORVALT_DATABASE_OWNER_URL:-$DATABASE_URL}"
	else
		db_url="$(pg_url norvalt norvalt_app "$NV_APP_PASSWORD")"
		owner_url="$(pg_url norvalt norvalt_owner "$NV_OWNER_PASSWORD")"
	fi
	local envname loglevel outbox
	if [ "$PROFILE" = test ]; then
		envname="test"
		loglevel=info
		outbox="$OUTBOX"
	else
		envname="${NORVALT_ENV:-development}"
		loglevel="${NORVALT_LOG_LEVEL:-info}"
		outbox="${NORVALT_OUTBOX_DIR:-$OUTBOX}"
	fi
	# The Clerk webhook's Svix secret: a fixed one for tests (they sign
	# with it), else the configured one.  None configured, none is made
	# up: the webhook answers 503 "not configured", as .env.example says
	# (a random secret nobody knows would only turn that into a 401).
	local clerk_secret
	if [ "$PROFILE" = test ]; then
		clerk_secret="whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	else
		clerk_secret="${NORVALT_CLERK_WEBHOOK_SECRET:-}"
	fi
	(
		umask 077
		{
			echo "# generated by scripts/stack.sh (profile $PROFILE); source it or eval \"\$(scripts/stack.sh env)\""
			echo "export DATABASE_URL=$(q "$db_url")"
			echo "export NORVALT_DATABASE_OWNER_URL=$(q "$owner_url")"
			if [ "$PROFILE" = test ]; then
				echo "export NORVALT_MIGRATE_TEST_URL=$(q "$(pg_url norvalt_migtest norvalt_owner "$NV_OWNER_PASSWORD")")"
			fi
			echo "export NORVALT_PORT=$PORT"
			echo "export NORVALT_BASE_URL=$(q "http://127.0.0.1:$PORT")"
			auth_env
			echo "export NORVALT_ENV=$envname"
			echo "export NORVALT_LOG_LEVEL=$(q "$loglevel")"
			echo "export NORVALT_OUTBOX_DIR=$(q "$outbox")"
			if [ -n "$clerk_secret" ]; then echo "export NORVALT_CLERK_WEBHOOK_SECRET=$(q "$clerk_secret")"; fi
			echo "export NORVALT_DEV_LOGIN=$DEV_LOGIN"
			if [ "$DEV_LOGIN" -eq 1 ]; then echo "export NORVALT_DEV_JWT_KEY_FILE=$(q "$DEVKEY")"; fi
			if [ "$PROFILE" = test ]; then echo "export NORVALT_MAILGUN_SIGNING_KEY=$(q "key-test-mailgun-signing-3f9a2c71")"; fi
			if [ "$PROFILE" = test ]; then
				# Twilio: a fixed Auth Token the tests sign with, and
				# the URL they post to as the signed public URL.
				echo "export NORVALT_TWILIO_AUTH_TOKEN=$(q "test_twilio_auth_token_5b1e0c7d")"
				echo "export NORVALT_PUBLIC_URL=$(q "http://127.0.0.1:$PORT")"
			fi
			if [ "$PROFILE" = test ]; then
				# Meta: fixed secrets the tests sign with, and the
				# loopback Graph server check_webhook_facebook runs.
				echo "export NORVALT_META_APP_SECRET=$(q "test_meta_app_secret_7d2e91a4")"
				echo "export NORVALT_META_VERIFY_TOKEN=$(q "test_meta_verify_token_c41b")"
				echo "export NORVALT_META_PAGE_TOKEN=$(q "test_meta_page_token_0f6a")"
				# Its port follows the stack's (18080 -> 18991), so
				# two test stacks on other ports never share it.
				echo "export NORVALT_META_GRAPH_URL=$(q "http://127.0.0.1:$(( (PORT + 911 - 1024) % 64511 + 1024 ))")"
			fi
		} >"$STACKENV.tmp"
		mv -f "$STACKENV.tmp" "$STACKENV"
	)
	chmod 0600 "$STACKENV"
}

# The environment handed to the FastCGI workers and the worker daemon: a clean
# one, with PATH/locale, every NORVALT_* variable (environment and .env),
# sanitizer options, then stack.env on top.
#
# GNUTLS_NO_IMPLICIT_INIT=1: Debian's libpq links libldap, which links GnuTLS,
# whose constructor initialises its crypto back ends and p11-kit in every
# process that loads it -- 0.7 MiB resident per worker, for a library nothing
# here calls (libcurl is the OpenSSL build; LDAP is never used).
service_env() {
	local -a e=("PATH=/usr/local/bin:/usr/bin:/bin" "LANG=${LANG:-C.UTF-8}" "GNUTLS_NO_IMPLICIT_INIT=1")
	[ -n "${TZ:-}" ] && e+=("TZ=$TZ")
	local v
	while IFS= read -r v; do
		# The test profile is hermetic: nothing from the environment/.env
		# except sanitizer settings.
		[ "$PROFILE" = test ] && [[ "$v" == NORVALT_* ]] && continue
		case "$v" in
			NORVALT_* | ASAN_OPTIONS | UBSAN_OPTIONS | LSAN_OPTIONS | MALLOC_CHECK_ | MALLOC_PERTURB_ | SSL_CERT_FILE | SSL_CERT_DIR)
				e+=("$v=${!v}") ;;
		esac
	done < <(compgen -e)
	while IFS= read -r v; do
		e+=("$v")
	done < <(
		# shellcheck disable=SC1090
		. "$STACKENV"
		# shellcheck disable=SC2013
		for k in $(sed -n 's/^export \([A-Za-z_][A-Za-z0-9_]*\)=.*/\1/p' "$STACKENV"); do
			printf '%s=%s\n' "$k" "${!k}"
		done
	)
	SERVICE_ENV=("${e[@]}")
}

# -------------------------------------------------------------- FastCGI

fcgi_binaries() {
	local f
	[ -d "$NV_BUILD_ROOT/cgi-bin" ] || return 0
	for f in "$NV_BUILD_ROOT"/cgi-bin/*; do
		[ -f "$f" ] && [ -x "$f" ] || continue
		case "$(basename -- "$f")" in *.*) continue ;; esac
		if [ "$(basename -- "$f")" = devlogin ] && [ "$DEV_LOGIN" -ne 1 ]; then continue; fi
		echo "$f"
	done
}

# After a crash of multiwatch (kill -9), its workers live on as orphans of
# pid 1.  Stop those: same executable (recorded in <name>.bin at spawn), run
# by the service user, parent pid 1.
fcgi_kill_orphans() {
	local name="$1" bin p
	bin="$(cat "$FCGIDIR/$name.bin" 2>/dev/null)" || return 0
	[ -n "$bin" ] || return 0
	for p in $(pgrep -u "$SVC_USER" -P 1 2>/dev/null); do
		[ "$(nv_pid_cmdline "$p")" = "$bin " ] || continue
		kill -TERM "$p" 2>/dev/null && echo "stopped orphaned $name worker (pid $p)"
	done
	return 0
}

fcgi_stop_all() {
	local pidfile pid name stopped=0
	for pidfile in "$FCGIDIR"/*.pid; do
		[ -e "$pidfile" ] || continue
		name="$(basename -- "$pidfile" .pid)"
		if pid="$(group_pid "$pidfile")"; then
			stop_group "$pid"
			echo "stopped FastCGI $name (multiwatch pid $pid)"
			stopped=1
		else
			fcgi_kill_orphans "$name"
		fi
		rm -f "$pidfile" "$FCGIDIR/$name.sock" "$FCGIDIR/$name.bin"
	done
	# Sockets without a pid file are stale.
	for f in "$FCGIDIR"/*.sock; do
		[ -e "$f" ] && rm -f "$f"
	done
	return 0
}

# Start one FastCGI group: fcgi_start_one BIN [NAME=value ...].  The
# assignments go after the service environment, so they win (restart-app
# uses them to run a binary with a variable changed or emptied).
fcgi_start_one() {
	local bin="$1" name var procs sock pidfile log
	shift
	local -a own=()
	nv_is_root && own=(-u "$SVC_USER" -g "$SVC_GROUP" -U "$SVC_USER" -G "$SVC_GROUP")
	name="$(basename -- "$bin")"
	var="NORVALT_PROCS_$(printf '%s' "$name" | tr '[:lower:]' '[:upper:]' | tr -c 'A-Z0-9_' '_')"
	procs="${!var:-${NORVALT_PROCS:-2}}"
	[[ "$procs" =~ ^[1-9][0-9]*$ ]] || nv_die "$var/NORVALT_PROCS must be a positive number (got '$procs')"
	sock="$FCGIDIR/$name.sock"
	pidfile="$FCGIDIR/$name.pid"
	log="$LOGDIR/$name.log"
	svc_log "$log"
	if nv_is_root && ! runuser -u "$SVC_USER" -- test -x "$bin"; then
		chmod o+rx "$bin"
		echo "made $bin executable for $SVC_USER (chmod o+rx)"
	fi
	# spawn-fcgi points the daemon's stdout/stderr at /dev/null; the small
	# sh step re-opens stderr on the log (as the service user) and then
	# execs multiwatch, so the pid in the pid file is multiwatch's.
	# (stdin is the FastCGI listening socket: leave it alone.)
	# shellcheck disable=SC2016
	env -i "${SERVICE_ENV[@]}" "$@" /usr/bin/spawn-fcgi -s "$sock" -M 0600 "${own[@]}" -P "$pidfile" -d "$NV_ROOT" -- \
		/bin/sh -c 'exec 2>>"$0"; exec "$@"' "$log" \
		/usr/bin/multiwatch -f "$procs" -- "$bin" >/dev/null 2>"$LOGDIR/spawn-fcgi.err" || {
		cat "$LOGDIR/spawn-fcgi.err"
		return 1
	}
	rm -f "$LOGDIR/spawn-fcgi.err"
	echo "$bin" >"$FCGIDIR/$name.bin"
	echo "$name: $procs worker(s) on $sock, log $log"
}

fcgi_start_all() {
	local bin
	service_env
	while IFS= read -r bin; do
		fcgi_start_one "$bin" || return 1
	done < <(fcgi_binaries)
}

# The demo sign-in signs with the dev private key, which stays root's
# (0600); the FastCGI binary runs as the service user, so it gets its own
# copy in a directory only that user can enter.  Removed when dev login is
# off.
devlogin_key() {
	if [ "$DEV_LOGIN" -ne 1 ]; then
		rm -rf "$DEVKEYDIR"
		return 0
	fi
	mkdir -p "$DEVKEYDIR"
	chmod 0700 "$DEVKEYDIR"
	if nv_is_root; then chown "$SVC_USER:$SVC_GROUP" "$DEVKEYDIR"; fi
	rm -f "$DEVKEY"
	svc_write "$DEVKEY" <"$KEYS/dev_jwt_private.pem"
}

# restart-app NAME [VAR=value ...]: stop the FastCGI group NAME and start it
# again, with the assignments (NORVALT_* or DATABASE_URL) on top of its
# usual environment (an empty value removes the variable:
# `restart-app sms NORVALT_TWILIO_AUTH_TOKEN=`).
# Without assignments it comes back as `start` would run it.  The socket
# listens again before this returns; nginx reconnects per request.
cmd_restart_app() {
	local name="${1:-}" bin pidfile pid a
	shift || true
	[[ "$name" =~ ^[a-z][a-z0-9_-]*$ ]] || nv_die "usage: scripts/stack.sh restart-app NAME [VAR=value ...]"
	bin="$NV_BUILD_ROOT/cgi-bin/$name"
	[ -x "$bin" ] || nv_die "no FastCGI binary $bin"
	for a in "$@"; do
		[[ "$a" =~ ^(NORVALT_[A-Z0-9_]*|DATABASE_URL)= ]] || nv_die "restart-app: '$a' is not a NORVALT_*=value or DATABASE_URL=value assignment"
	done
	[ -f "$STACKENV" ] || nv_die "$STACKENV not found; start the stack first"
	pidfile="$FCGIDIR/$name.pid"
	if pid="$(group_pid "$pidfile")"; then
		stop_group "$pid"
		echo "stopped FastCGI $name (multiwatch pid $pid)"
	else
		fcgi_kill_orphans "$name"
	fi
	rm -f "$pidfile" "$FCGIDIR/$name.sock" "$FCGIDIR/$name.bin"
	service_env
	# The programs refuse an empty setting, so VAR= removes VAR instead.
	local -a over=() keep=()
	local e
	for a in "$@"; do
		if [ -z "${a#*=}" ]; then
			for e in "${SERVICE_ENV[@]}"; do
				[ "${e%%=*}" = "${a%%=*}" ] || keep+=("$e")
			done
			SERVICE_ENV=("${keep[@]}")
			keep=()
		else
			over+=("$a")
		fi
	done
	fcgi_start_one "$bin" "${over[@]}"
}

# ------------------------------------------------------ worker daemon

worker_pid() {
	local pid
	pid="$(nv_read_pidfile "$WORKER_PID" 2>/dev/null)" || return 1
	nv_pid_alive "$pid" || return 1
	case "$(nv_pid_cmdline "$pid")" in *multiwatch*norvalt-worker*) ;; *) return 1 ;; esac
	echo "$pid"
}

worker_stop() {
	local pid
	if pid="$(worker_pid)"; then
		stop_group "$pid"
		echo "stopped norvalt-worker (multiwatch pid $pid)"
	fi
	rm -f "$WORKER_PID"
}

worker_start() {
	local log="$LOGDIR/norvalt-worker.log"
	local -a drop=()
	svc_log "$log"
	if nv_is_root; then
		drop=(setpriv "--reuid=$SVC_USER" "--regid=$SVC_GROUP" --init-groups)
	fi
	# The test profile starts none by default: the capture suites count
	# a lead's messages exactly, so a worker answering their leads would
	# race them.  check_worker* start it with `worker-start [N]`.
	local n="${1:-}"
	if [ -z "$n" ]; then
		if [ "$PROFILE" = test ]; then n="${NV_TEST_WORKERS:-0}"; else n="${NORVALT_WORKERS:-1}"; fi
	fi
	[[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -le 64 ] || nv_die "NORVALT_WORKERS must be a number 0-64 (got '$n')"
	if [ "$n" -eq 0 ]; then
		echo "norvalt-worker: NORVALT_WORKERS=0, not started"
		return 0
	fi
	service_env
	# multiwatch restarts a worker that dies (kill -9 included); the jobs
	# it held come back when their lease runs out.
	(cd "$NV_ROOT" && exec setsid env -i "${SERVICE_ENV[@]}" "${drop[@]}" /usr/bin/multiwatch -f "$n" -- "$WORKER_BIN" </dev/null >>"$log" 2>&1) &
	echo "$!" >"$WORKER_PID"
	sleep 0.2
	worker_pid >/dev/null || { tail -n 20 "$log"; return 1; }
	echo "norvalt-worker: $n process(es) under multiwatch pid $(cat "$WORKER_PID"), log $log"
}

# ----------------------------------------------------------------- nginx

nginx_write_conf() {
	local bin name
	{
		echo "# generated by scripts/stack.sh on every start"
		while IFS= read -r bin; do
			name="$(basename -- "$bin")"
			echo "upstream norvalt_$(printf '%s' "$name" | tr -c 'A-Za-z0-9_-' '_') { server \"unix:$FCGIDIR/$name.sock\"; }"
		done < <(fcgi_binaries)
	} >"$NGXDIR/upstreams.conf.tmp"
	mv -f "$NGXDIR/upstreams.conf.tmp" "$NGXDIR/upstreams.conf"

	# norvalt.conf does `include fastcgi_params;`, relative to the directory of
	# the main config file (as it is for a host's /etc/nginx/nginx.conf).
	if [ -f /etc/nginx/fastcgi_params ]; then
		cp -f /etc/nginx/fastcgi_params "$NGXDIR/fastcgi_params.tmp"
	else
		cat >"$NGXDIR/fastcgi_params.tmp" <<'EOF'
fastcgi_param  QUERY_STRING       $query_string;
fastcgi_param  REQUEST_METHOD     $request_method;
fastcgi_param  CONTENT_TYPE       $content_type;
fastcgi_param  CONTENT_LENGTH     $content_length;
fastcgi_param  SCRIPT_NAME        $fastcgi_script_name;
fastcgi_param  REQUEST_URI        $request_uri;
fastcgi_param  DOCUMENT_URI       $document_uri;
fastcgi_param  DOCUMENT_ROOT      $document_root;
fastcgi_param  SERVER_PROTOCOL    $server_protocol;
fastcgi_param  REQUEST_SCHEME     $scheme;
fastcgi_param  HTTPS              $https if_not_empty;
fastcgi_param  GATEWAY_INTERFACE  CGI/1.1;
fastcgi_param  SERVER_SOFTWARE    nginx/$nginx_version;
fastcgi_param  REMOTE_ADDR        $remote_addr;
fastcgi_param  REMOTE_PORT        $remote_port;
fastcgi_param  SERVER_ADDR        $server_addr;
fastcgi_param  SERVER_PORT        $server_port;
fastcgi_param  SERVER_NAME        $server_name;
fastcgi_param  REDIRECT_STATUS    200;
EOF
	fi
	mv -f "$NGXDIR/fastcgi_params.tmp" "$NGXDIR/fastcgi_params"

	# The http-level snippet, with the webhook rate limit of this profile:
	# the shipped 20 r/s per client address, or NORVALT_WEBHOOK_RATE (the
	# test profile's default is far higher, since every test client is
	# 127.0.0.1 and the suites post hundreds of webhooks in seconds).
	# (validate_config has checked the value's syntax.)
	local rate
	rate="$(webhook_rate)"
	if [ -n "$rate" ]; then
		sed "s|rate=[0-9]*r/[sm]|rate=$rate|" "$NV_ROOT/nginx/norvalt-http.conf" \
		    >"$NGXDIR/norvalt-http.conf"
	else
		cp -f "$NV_ROOT/nginx/norvalt-http.conf" "$NGXDIR/norvalt-http.conf"
	fi

	# The demo sign-in's route, only when it is on (see DEV_LOGIN).
	if [ "$DEV_LOGIN" -eq 1 ]; then
		printf '%s\n' "# generated by scripts/stack.sh: NORVALT_DEV_LOGIN=1 (make run)" \
		    "location /api/dev/ {" "    fastcgi_pass norvalt_devlogin;" "}" >"$NGXDIR/devlogin.conf"
	else
		echo "# generated by scripts/stack.sh: dev login off, /api/dev/ is not routed" >"$NGXDIR/devlogin.conf"
	fi

	local workers=auto
	[ "$PROFILE" = test ] && workers=2
	{
		echo "# generated by scripts/stack.sh on every start (profile $PROFILE); edit nginx/*.conf or the script"
		nv_is_root && echo "user $SVC_USER $SVC_GROUP;"
		cat <<EOF
daemon on;
master_process on;
worker_processes $workers;
pid "$NGXPID";
error_log "$LOGDIR/nginx-error.log" warn;

events {
    worker_connections 1024;
}

http {
EOF
		if [ -f /etc/nginx/mime.types ]; then
			echo "    include /etc/nginx/mime.types;"
		else
			echo "    types { text/html html; text/css css; application/javascript js mjs; application/json json; image/svg+xml svg; image/png png; image/x-icon ico; font/woff2 woff2; }"
		fi
		cat <<EOF
    default_type application/octet-stream;
    server_tokens off;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;

    client_body_temp_path "$NGXDIR/client_body";
    fastcgi_temp_path "$NGXDIR/fastcgi";
    proxy_temp_path "$NGXDIR/proxy";
    uwsgi_temp_path "$NGXDIR/uwsgi";
    scgi_temp_path "$NGXDIR/scgi";

    include "$NGXDIR/norvalt-http.conf";
    access_log "$LOGDIR/nginx-access.log" norvalt buffer=64k flush=1s;

    include "$NGXDIR/upstreams.conf";

    server {
        listen 127.0.0.1:$PORT;
        server_name localhost;
        # nginx/norvalt.conf serves the dashboard from here.
        set \$norvalt_web_root "$NV_ROOT/web/dist";
        include "$NGXDIR/devlogin.conf";
        include "$NV_ROOT/nginx/norvalt.conf";
    }
}
EOF
	} >"$NGXCONF.tmp"
	mv -f "$NGXCONF.tmp" "$NGXCONF"
}

nginx_cmd() { nginx -c "$NGXCONF" -p "$NGXDIR/" -e "$LOGDIR/nginx-error.log" "$@"; }

nginx_start_or_reload() {
	nginx_cmd -t -q 2>&1 || return 1
	local pid
	if pid="$(nginx_pid)"; then
		nginx_cmd -s reload
		# Reload is asynchronous: wait (up to 5 s) until the master has new
		# workers and the old ones are gone, so what follows sees the new config.
		local i gen0 kids
		gen0="$(pgrep -P "$pid" | sort | tr '\n' ' ')"
		for ((i = 0; i < 50; i++)); do
			sleep 0.1
			kids="$(pgrep -P "$pid" | sort | tr '\n' ' ')"
			[ "$kids" != "$gen0" ] || continue
			pgrep -P "$pid" -f 'shutting down' >/dev/null || break
		done
		echo "reloaded nginx (master pid $pid)"
	else
		rm -f "$NGXPID"
		nginx_cmd
		echo "started nginx (master pid $(cat "$NGXPID" 2>/dev/null || echo '?'))"
	fi
}

nginx_stop() {
	local pid
	if pid="$(nginx_pid)"; then
		kill -TERM "$pid" 2>/dev/null || true
		if ! nv_wait_gone "$pid" 10; then
			kill -KILL "$pid" 2>/dev/null || true
		fi
		echo "stopped nginx (master pid $pid)"
	fi
	rm -f "$NGXPID"
}

# --------------------------------------------------- migrations and seed

run_migrations() {
	local migrate="$NV_BUILD_ROOT/bin/norvalt-migrate" owner_url
	[ -x "$migrate" ] || { echo "$migrate not found; build it first (make)"; return 1; }
	# shellcheck disable=SC1090
	owner_url="$(. "$STACKENV" && printf '%s' "$NORVALT_DATABASE_OWNER_URL")"
	(cd "$NV_ROOT" && NORVALT_DATABASE_OWNER_URL="$owner_url" "$migrate" --dir "$NV_ROOT/sql/migrations" up)
}

# force=1: apply even if this seed file was already applied.
run_seed() {
	local force="${1:-0}" seed="$NV_ROOT/seed/demo.sql" owner_url sum pw base
	if [ ! -f "$seed" ]; then
		echo "warning: $seed not found; no demo data loaded"
		return 0
	fi
	# shellcheck disable=SC1090
	owner_url="$(. "$STACKENV" && printf '%s' "$NORVALT_DATABASE_OWNER_URL")"
	# One marker per database (the local cluster, or an external one named
	# after a hash of its URL without the password), holding the sha256 of
	# the seed that went in.
	local mark="$SEEDMARK.local"
	if [ "$EXTERNAL_DB" -eq 1 ]; then
		mark="$SEEDMARK.$(printf '%s' "${owner_url%%password=*}" | sha256sum | cut -c1-12)"
	fi
	sum="$(sha256sum "$seed" | cut -d' ' -f1)"
	if [ "$force" -eq 0 ] && [ -f "$mark" ] && [ "$(cat "$mark")" = "$sum" ]; then
		echo "demo data already loaded (seed/demo.sql unchanged; 'make seed' re-applies it)"
		return 0
	fi
	# Keep the password out of psql's argv (ps): move it to PGPASSWORD.
	pw=""
	base="$owner_url"
	if [[ "$owner_url" =~ ^(.*)[\?\&]password=([^\&]*)(.*)$ ]]; then
		pw="${BASH_REMATCH[2]}"
		base="${BASH_REMATCH[1]}${BASH_REMATCH[3]}"
		[[ "$base" == *\?* ]] || base="${base/&/?}"
	fi
	if ! (cd "$NV_ROOT" && PGPASSWORD="$pw" PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 --single-transaction -f "$seed" "$base" >/dev/null); then
		# A changed seed that does not apply on top of existing data must not
		# stop `make run` (the data from the earlier seed is still there).
		if [ "$force" -eq 0 ] && [ -f "$mark" ]; then
			echo "warning: seed/demo.sql changed but did not apply on top of the existing data (rolled back); 'make seed' retries"
			return 0
		fi
		return 1
	fi
	echo "$sum" >"$mark"
}

# ------------------------------------------------------------- commands

# The webhook rate limit nginx gets: NORVALT_WEBHOOK_RATE, else the test
# profile's 2000r/s, else nothing (the shipped 20r/s of norvalt-http.conf).
webhook_rate() {
	local rate="${NORVALT_WEBHOOK_RATE:-}"
	[ -n "$rate" ] || { [ "$PROFILE" = test ] && rate=2000r/s; }
	printf '%s\n' "$rate"
}

# What the programs cannot check for themselves, before start touches
# anything: one line naming the variable, and exit 1.
validate_config() {
	local rate="${NORVALT_WEBHOOK_RATE:-}"
	# nginx's limit_req_zone syntax: a whole number of requests per
	# second or per minute.  A bad value would otherwise surface as an
	# nginx [emerg] that names no variable.
	if [ -n "$rate" ] && ! [[ "$rate" =~ ^[1-9][0-9]{0,8}r/[sm]$ ]]; then
		nv_die "NORVALT_WEBHOOK_RATE must be requests per second or minute per client address, like 20r/s or 600r/m (got '$rate')"
	fi
	if [ "$EXTERNAL_DB" -eq 1 ]; then
		# The API refuses to run as the owner (lib/db.c), and the
		# application role cannot migrate or seed: falling back from
		# one to the other can only fail later and less clearly.
		[ -n "${NORVALT_DATABASE_OWNER_URL:-}" ] ||
			nv_die "NORVALT_DATABASE_OWNER_URL is not set: with DATABASE_URL pointing at another PostgreSQL, migrations and the seed need the owner role's URL (and DATABASE_URL the application role's; see sql/README.md)"
		[ "$NORVALT_DATABASE_OWNER_URL" != "$DATABASE_URL" ] ||
			nv_die "DATABASE_URL is the same as NORVALT_DATABASE_OWNER_URL: the API must log in as the application role (no superuser, no BYPASSRLS, owns nothing; see sql/README.md), not as the owner"
	fi
	return 0
}

# One line: how tokens are verified, for start's and config's output.
auth_summary() {
	case "$AUTH_MODE" in
		devkey) echo "the local dev key $AUTH_KEY (make token and the demo sign-in mint tokens for it)" ;;
		pem) echo "the PEM key NORVALT_CLERK_JWT_KEY_FILE=$AUTH_KEY; dev-key tokens (make token) are refused and the demo sign-in is off" ;;
		jwks) echo "Clerk's keys from NORVALT_CLERK_JWKS_URL=$AUTH_JWKS; dev-key tokens (make token) are refused and the demo sign-in is off" ;;
	esac
}

# Warnings about the token setup (stderr, one line each).
auth_warnings() {
	[ "$PROFILE" = run ] || return 0
	if [ "$AUTH_MODE" != jwks ] && [ -n "${NORVALT_CLERK_JWKS_URL:-}" ]; then
		nv_warn "NORVALT_CLERK_JWKS_URL is ignored: NORVALT_CLERK_JWT_KEY_FILE is set and wins; unset it to verify with the JWKS URL"
	fi
	if [ "$AUTH_MODE" != devkey ] && [ "${NORVALT_DEV_LOGIN:-0}" = 1 ]; then
		local by=NORVALT_CLERK_JWKS_URL
		[ "$AUTH_MODE" = jwks ] || by=NORVALT_CLERK_JWT_KEY_FILE
		nv_warn "NORVALT_DEV_LOGIN=1 is ignored: tokens are verified with $by, so the demo sign-in's dev-key tokens would be refused"
	fi
	if [ "$AUTH_MODE" = jwks ] && [ "${NORVALT_CLERK_ISSUER:-https://clerk.norvalt.localhost}" = https://clerk.norvalt.localhost ]; then
		nv_warn "NORVALT_CLERK_ISSUER is the local default https://clerk.norvalt.localhost; set it to your Clerk Frontend API URL, or every Clerk token is refused"
	fi
	return 0
}

# config: what start would run with; checks, starts nothing, writes nothing.
cmd_config() {
	validate_config
	auth_warnings
	echo "profile    $PROFILE, state $STATE, nginx port $PORT"
	if [ "$EXTERNAL_DB" -eq 1 ]; then
		echo "database   external (DATABASE_URL; migrations and seed: NORVALT_DATABASE_OWNER_URL)"
	else
		echo "database   local cluster on 127.0.0.1:$PGPORT"
	fi
	echo "tokens     verified with $(auth_summary)"
	auth_env | sed 's/^export /           /'
	if [ "$DEV_LOGIN" -eq 1 ]; then echo "dev login  on (NORVALT_DEV_LOGIN=1)"; else echo "dev login  off"; fi
	local rate
	rate="$(webhook_rate)"
	echo "webhooks   rate limit ${rate:-20r/s (nginx/norvalt-http.conf)} per client address"
}

check_ports() {
	local -a ours=()
	local pid
	if [ "$EXTERNAL_DB" -eq 0 ]; then
		if pid="$(pg_pid)"; then ours=("$pid"); fi
		nv_check_port "$PGPORT" "$PGPORT_VAR" "${ours[@]}" || return 1
	fi
	ours=()
	if pid="$(nginx_pid)"; then
		mapfile -t ours < <(nv_pid_and_children "$pid")
	fi
	nv_check_port "$PORT" "$PORT_VAR" "${ours[@]}" || return 1
}

# Every FastCGI group whose multiwatch has gone (all its children died too
# often); prints their names.
dead_groups() {
	local pidfile
	for pidfile in "$FCGIDIR"/*.pid; do
		[ -e "$pidfile" ] || continue
		group_pid "$pidfile" >/dev/null || basename -- "$pidfile" .pid
	done
}

wait_ready() {
	local url="http://127.0.0.1:$PORT/readyz" code="" i dead="" f
	for ((i = 0; i < 240; i++)); do
		code="$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$url" 2>/dev/null || true)"
		[ "$code" = 200 ] && return 0
		dead="$(dead_groups | tr '\n' ' ')"
		[ -z "$dead" ] || break
		sleep 0.25
	done
	if [ -n "$dead" ]; then
		echo "FastCGI binaries exited and were given up on: $dead(see their logs below)"
	else
		echo "GET $url did not answer 200 within 60 s (last status: ${code:-none})"
	fi
	for f in "$LOGDIR"/*.log; do
		case "$(basename -- "$f")" in initdb.log | nginx-access.log) continue ;; esac
		[ -s "$f" ] || continue
		echo "--- last lines of $f"
		tail -n 8 "$f" | cut -c1-300
	done
	return 1
}

cmd_start() {
	local t0 bindir="" pid
	t0="$(nv_now_ms)"
	validate_config
	echo "Norvalt stack, profile $PROFILE (state $STATE, binaries $NV_BUILD_ROOT)"
	echo "==> tokens are verified with $(auth_summary)"
	auth_warnings
	command -v nginx >/dev/null && command -v spawn-fcgi >/dev/null && [ -x /usr/bin/multiwatch ] ||
		nv_die "nginx, spawn-fcgi or multiwatch missing; run scripts/deps.sh"
	[ -n "$(fcgi_binaries)" ] || nv_die "no FastCGI binaries in $NV_BUILD_ROOT/cgi-bin/; build first (make)"
	[ "$EXTERNAL_DB" -eq 1 ] || bindir="$(pg_bindir)"

	ensure_user
	check_ports
	nv_step "state directories" ensure_dirs
	nv_step "dev signing keys" ensure_keys

	if [ "$EXTERNAL_DB" -eq 1 ]; then
		echo "==> PostgreSQL: using DATABASE_URL from the environment (no local cluster)"
	else
		nv_step "secrets" ensure_secrets
		load_secrets
		if [ ! -f "$PGDATA/PG_VERSION" ]; then
			nv_step "initdb $PGDATA" pg_initdb "$bindir"
		else
			local have want
			have="$(cat "$PGDATA/PG_VERSION")"
			want="$("$bindir/postgres" --version | sed -E 's/.* ([0-9]+)(\.[0-9]+)?.*/\1/')"
			[ "$have" = "$want" ] || nv_die "$PGDATA is a PostgreSQL $have cluster but the server is $want; remove $PGROOT (loses the data) or install PostgreSQL $have"
		fi
		if pid="$(pg_pid)"; then
			if [ "$(pg_running_port)" != "$PGPORT" ] || [ "$(pg_running_sockdir)" != "$SOCKDIR" ]; then
				nv_step "stop PostgreSQL (port or socket dir changed)" pg_stop "$bindir" || return 1
				nv_step "start PostgreSQL on 127.0.0.1:$PGPORT" pg_start "$bindir" || return 1
			else
				echo "==> PostgreSQL already running (pid $pid, port $PGPORT)"
			fi
		else
			nv_step "start PostgreSQL on 127.0.0.1:$PGPORT" pg_start "$bindir" || return 1
		fi
		nv_step "roles and databases" pg_bootstrap || return 1
	fi
	write_stack_env
	nv_step "migrations" run_migrations || return 1
	nv_step "demo data (seed/demo.sql)" run_seed 0 || return 1

	nv_step "demo sign-in key" devlogin_key
	nv_step "stop old FastCGI workers" fcgi_stop_all
	nv_step "FastCGI workers" fcgi_start_all || return 1
	worker_stop
	if [ -x "$WORKER_BIN" ]; then
		nv_step "worker daemon" worker_start || return 1
	fi
	nv_step "nginx config" nginx_write_conf
	nv_step "nginx on 127.0.0.1:$PORT" nginx_start_or_reload || return 1
	nv_step "wait for /readyz" wait_ready || return 1

	echo
	echo "Norvalt is running ($(nv_fmt_ms "$(($(nv_now_ms) - t0))")):"
	echo "  dashboard  http://127.0.0.1:$PORT/"
	echo "  health     http://127.0.0.1:$PORT/healthz"
	echo "  readiness  http://127.0.0.1:$PORT/readyz"
	echo "  api docs   http://127.0.0.1:$PORT/api/docs"
	if [ "$DEV_LOGIN" -eq 1 ]; then echo "  sign in    http://127.0.0.1:$PORT/signin (demo users: NORVALT_DEV_LOGIN=1)"; fi
	case "$AUTH_MODE" in
		devkey) echo "  tokens     the dev key (make token)" ;;
		pem) echo "  tokens     NORVALT_CLERK_JWT_KEY_FILE (dev tokens from make token are refused)" ;;
		jwks) echo "  tokens     Clerk's JWKS, NORVALT_CLERK_JWKS_URL (dev tokens from make token are refused)" ;;
	esac
	echo "  logs       $LOGDIR/"
	echo "  env        eval \"\$(NV_PROFILE=$PROFILE scripts/stack.sh env)\""
	demo_token
}

# A demo token for the seeded Tesla Oslo manager (8 hours), printed last so
# a person can paste it into the dashboard or curl.  Other users: make token.
demo_token() {
	local tool="$NV_BUILD_ROOT/bin/norvalt-token" tok
	[ "$PROFILE" = run ] && [ -x "$tool" ] || return 0
	if [ "$AUTH_MODE" != devkey ]; then
		echo
		echo "No demo token: tokens are verified with $(auth_summary)."
		return 0
	fi
	[ -r "$KEYS/dev_jwt_private.pem" ] || return 0
	# shellcheck disable=SC1090
	tok="$(NORVALT_DATABASE_OWNER_URL="$(. "$STACKENV" && printf "%s" "$NORVALT_DATABASE_OWNER_URL")" \
	    "$tool" --user user_tesla_manager --ttl 28800 \
	    --key "$KEYS/dev_jwt_private.pem" 2>/dev/null | tail -n 1)" || return 0
	[ -n "$tok" ] || return 0
	echo
	echo "Demo token (user_tesla_manager of Tesla Oslo, valid 8 h; others: make token USER=user_vw_admin):"
	echo "$tok"
}

cmd_stop() {
	local stopped bindir pid
	stopped="$(
		nginx_stop
		fcgi_stop_all
		worker_stop
		# A pgbouncer a test put in front of PostgreSQL (check_pooler).
		if [ -s "$STATE/pgbouncer/pgbouncer.pid" ] &&
			pid="$(cat "$STATE/pgbouncer/pgbouncer.pid")" &&
			[[ "$(nv_pid_cmdline "$pid")" == *pgbouncer* ]]; then
			kill "$pid" 2>/dev/null && echo "stopped pgbouncer (pid $pid)"
		fi
		if [ "$EXTERNAL_DB" -eq 0 ] && pid="$(pg_pid)"; then
			bindir="$(pg_bindir)"
			pg_stop "$bindir" && echo "stopped PostgreSQL (pid $pid)"
		fi
		pg_clean_stale >/dev/null 2>&1
	)"
	if [ -n "$stopped" ]; then
		echo "$stopped"
	else
		echo "nothing running (profile $PROFILE)"
	fi
}

cmd_status() {
	local pid n
	echo "profile $PROFILE, state $STATE"
	if [ "$EXTERNAL_DB" -eq 1 ]; then
		echo "postgresql  external (DATABASE_URL)"
	elif pid="$(pg_pid)"; then
		echo "postgresql  running (pid $pid, 127.0.0.1:$(pg_running_port), socket dir $(pg_running_sockdir))"
	else
		echo "postgresql  not running"
	fi
	local pidfile name any=0
	for pidfile in "$FCGIDIR"/*.pid; do
		[ -e "$pidfile" ] || continue
		any=1
		name="$(basename -- "$pidfile" .pid)"
		if pid="$(group_pid "$pidfile")"; then
			n="$(pgrep -c -P "$pid" 2>/dev/null)" || n=0
			echo "fcgi $name  running (multiwatch pid $pid, $n worker(s), $FCGIDIR/$name.sock)"
		else
			echo "fcgi $name  not running (stale pid file)"
		fi
	done
	[ "$any" -eq 1 ] || echo "fcgi        not running"
	if pid="$(worker_pid)"; then
		n="$(pgrep -c -P "$pid" 2>/dev/null)" || n=0
		echo "worker      running (multiwatch pid $pid, $n process(es))"
	elif [ -x "$WORKER_BIN" ]; then
		echo "worker      not running"
	fi
	if pid="$(nginx_pid)"; then
		n="$(pgrep -c -P "$pid" 2>/dev/null)" || n=0
		echo "nginx       running (master pid $pid, $n worker(s), http://127.0.0.1:$PORT/)"
	else
		echo "nginx       not running"
	fi
	return 0
}

cmd_restart_pg() {
	[ "$EXTERNAL_DB" -eq 0 ] || nv_die "DATABASE_URL points at an external database; restart-pg only handles the local cluster"
	[ -f "$PGDATA/PG_VERSION" ] || nv_die "no cluster in $PGDATA; run scripts/stack.sh start first"
	local bindir pid
	bindir="$(pg_bindir)"
	if pid="$(pg_pid)"; then
		pg_stop "$bindir"
		echo "stopped PostgreSQL (pid $pid)"
	fi
	nv_check_port "$PGPORT" "$PGPORT_VAR" || exit 1
	pg_start "$bindir"
	echo "started PostgreSQL (pid $(pg_pid || echo '?'), port $PGPORT)"
}

cmd_env() {
	[ -f "$STACKENV" ] || nv_die "$STACKENV not found; start the stack first (NV_PROFILE=$PROFILE scripts/stack.sh start)"
	cat "$STACKENV"
}

case "$CMD" in
	start) cmd_start ;;
	stop) cmd_stop ;;
	status) cmd_status ;;
	config) cmd_config ;;
	restart-pg) cmd_restart_pg ;;
	restart-app) shift; cmd_restart_app "$@" ;;
	env) cmd_env ;;
	worker-stop)
		# Tests that run their own workers (other providers) pause the
		# stack's; worker-start brings it back with the stack's env.
		worker_stop ;;
	worker-start)
		[ -f "$STACKENV" ] || nv_die "$STACKENV not found; start the stack first"
		[ -x "$WORKER_BIN" ] || nv_die "$WORKER_BIN not found; build it first (make)"
		worker_stop
		worker_start "${2:-1}" ;;
	migrate)
		[ -f "$STACKENV" ] || nv_die "$STACKENV not found; start the stack first"
		run_migrations ;;
	seed)
		[ -f "$STACKENV" ] || nv_die "$STACKENV not found; start the stack first"
		run_seed 1 && echo "applied seed/demo.sql" ;;
	-h | --help | help) usage ;;
	*) usage ;;
esac
