#!/usr/bin/env bash
# scripts/web.sh - build the dashboard (web/src, Vite + Preact) into web/dist/.
#
# nginx serves web/dist/ at / (nginx/norvalt.conf); scripts/docs.sh builds the
# API reference beside it into web/dist/api-docs/, which this script leaves
# alone (Vite runs with emptyOutDir off; only the app's own index.html and
# assets/ are replaced).  The packages come from npm (web/package.json,
# pinned by web/package-lock.json), installed with `npm ci` into
# web/node_modules when that is missing or older than the lock file.
#
# Without Node.js/npm, or when the packages cannot be installed, it warns and
# leaves the dashboard as it was (404 at / if never built): the API works
# without it.  A failing build with the packages present fails this script.
# Nothing is done when the output is newer than every input.
#
#   scripts/web.sh            build when out of date
#   scripts/web.sh --force    build anyway
set -euo pipefail
umask 022

# shellcheck source=scripts/lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

WEB="$NV_ROOT/web"
OUT="$WEB/dist"
STAMP="$OUT/.app-built"
NODE_MIN_MAJOR=18
NODE_MIN_MINOR=17

FORCE=0
case "${1:-}" in
	--force) FORCE=1 ;;
	"") ;;
	*) nv_die "usage: scripts/web.sh [--force]" ;;
esac

up_to_date() {
	[ -f "$STAMP" ] && [ -f "$OUT/index.html" ] || return 1
	[ -n "$(find "$WEB/src" "$WEB/index.html" "$WEB/vite.config.js" \
	    "$WEB/package.json" "$WEB/package-lock.json" -newer "$STAMP" -print -quit 2>/dev/null)" ] && return 1
	[ -d "$WEB/node_modules" ] && [ ! "$WEB/node_modules/.package-lock.json" -nt "$STAMP" ]
}

node_ok() {
	local v major minor
	command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || return 1
	v="$(node -p 'process.versions.node' 2>/dev/null)" || return 1
	major="${v%%.*}"
	minor="${v#*.}"
	minor="${minor%%.*}"
	[[ "$major" =~ ^[0-9]+$ && "$minor" =~ ^[0-9]+$ ]] || return 1
	[ "$major" -gt "$NODE_MIN_MAJOR" ] || { [ "$major" -eq "$NODE_MIN_MAJOR" ] && [ "$minor" -ge "$NODE_MIN_MINOR" ]; }
}

if [ "$FORCE" -eq 0 ] && up_to_date; then
	echo "dashboard: up to date ($OUT)"
	exit 0
fi

if ! node_ok; then
	nv_warn "Node.js >= $NODE_MIN_MAJOR.$NODE_MIN_MINOR with npm is needed to build the dashboard (Debian: apt-get install nodejs npm); / is $( [ -f "$OUT/index.html" ] && echo "left as it was" || echo "not built (404)")"
	exit 0
fi

if [ ! -f "$WEB/node_modules/.package-lock.json" ] ||
	[ "$WEB/package-lock.json" -nt "$WEB/node_modules/.package-lock.json" ]; then
	echo "dashboard: npm ci in $WEB"
	if ! (cd "$WEB" && npm ci --prefer-offline --ignore-scripts --no-audit --no-fund --loglevel=error); then
		nv_warn "npm ci failed in $WEB (is the npm registry reachable?); the dashboard was not built"
		exit 0
	fi
fi

# Old hashed bundles go; the API reference in dist/api-docs stays.
mkdir -p "$OUT"
rm -rf "$OUT/assets" "$OUT/index.html" "$STAMP"
(cd "$WEB" && node node_modules/vite/bin/vite.js build --logLevel warn)
touch "$STAMP"
echo "dashboard: built $OUT ($(find "$OUT/assets" -type f | wc -l) assets)"
