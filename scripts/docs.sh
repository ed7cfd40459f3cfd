#!/usr/bin/env bash
# scripts/docs.sh - build the API documentation into web/dist/api-docs/.
#
# nginx serves web/dist/api-docs/openapi.json as /api/openapi.json and
# web/dist/api-docs/index.html (with Redoc's bundle next to it) as /api/docs
# (nginx/norvalt.conf).  The source is web/api-docs/ (openapi.json is the
# contract); the renderer and the validator come from npm (web/package.json,
# pinned by web/package-lock.json), installed with `npm ci` into
# web/node_modules when that is missing or older than the lock file.
#
# The document is checked first (web/scripts/build-api-docs.mjs: Redocly's
# linter plus Norvalt's rules); an invalid document fails this script, and
# the build with it.  Without Node.js/npm, or when the packages cannot be
# installed, it warns, still publishes openapi.json (unchecked) so that
# /api/openapi.json works, and leaves /api/docs as it was (404 if never
# built).  Nothing is done when the output is newer than every input.
#
#   scripts/docs.sh            build when out of date
#   scripts/docs.sh --force    build anyway
set -euo pipefail
umask 022

# shellcheck source=scripts/lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

WEB="$NV_ROOT/web"
SRC="$WEB/api-docs"
OUT="$WEB/dist/api-docs"
STAMP="$OUT/.built"
NODE_MIN_MAJOR=18
NODE_MIN_MINOR=17

FORCE=0
case "${1:-}" in
	--force) FORCE=1 ;;
	"") ;;
	*) nv_die "usage: scripts/docs.sh [--force]" ;;
esac

[ -f "$SRC/openapi.json" ] || nv_die "$SRC/openapi.json is missing"

# Up to date: the stamp is newer than every input.
up_to_date() {
	local f
	[ -f "$STAMP" ] || return 1
	for f in "$SRC"/* "$WEB/package.json" "$WEB/package-lock.json" "$WEB/scripts/build-api-docs.mjs"; do
		[ "$f" -nt "$STAMP" ] && return 1
	done
	[ -d "$WEB/node_modules" ] && [ ! "$WEB/node_modules/.package-lock.json" -nt "$STAMP" ]
}

# Publish the document alone, so /api/openapi.json works without npm.
publish_unchecked() {
	mkdir -p "$OUT"
	cp -f "$SRC/openapi.json" "$OUT/openapi.json.tmp"
	mv -f "$OUT/openapi.json.tmp" "$OUT/openapi.json"
	rm -f "$STAMP"
	nv_warn "$1"
	nv_warn "published $OUT/openapi.json unchecked (/api/openapi.json works); /api/docs is $( [ -f "$OUT/index.html" ] && echo "left as it was" || echo "not built (404)")"
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
	echo "api docs: up to date ($OUT)"
	exit 0
fi

if ! node_ok; then
	publish_unchecked "Node.js >= $NODE_MIN_MAJOR.$NODE_MIN_MINOR with npm is needed to check the OpenAPI document and build /api/docs (Debian: apt-get install nodejs npm)"
	exit 0
fi

# npm ci when node_modules is missing or older than the lock file (npm
# writes node_modules/.package-lock.json on every install).  Only the npm
# registry is needed; --prefer-offline uses the local cache first.
if [ ! -f "$WEB/node_modules/.package-lock.json" ] ||
	[ "$WEB/package-lock.json" -nt "$WEB/node_modules/.package-lock.json" ]; then
	echo "api docs: npm ci in $WEB"
	if ! (cd "$WEB" && npm ci --prefer-offline --ignore-scripts --no-audit --no-fund --loglevel=error); then
		publish_unchecked "npm ci failed in $WEB (is the npm registry reachable?)"
		exit 0
	fi
fi

# Check, then build; an invalid document stops here (exit 1).
(cd "$WEB" && node scripts/build-api-docs.mjs)
touch "$STAMP"
