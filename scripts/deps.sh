#!/usr/bin/env bash
# scripts/deps.sh - install the Debian packages Norvalt needs, when missing.
#
# Does nothing (one line) when everything is installed.  Otherwise lists what
# is missing and installs it with apt-get (through sudo when not root).  On
# a system without apt-get it prints the list and exits 1.
set -euo pipefail

PACKAGES=(
	build-essential pkg-config
	libfcgi-dev spawn-fcgi multiwatch
	libpq-dev postgresql postgresql-client pgbouncer
	libcjson-dev libjwt-dev libcurl4-openssl-dev libssl-dev libxml2-dev
	check
	nginx-light
	curl openssl wrk clang
	python3-aiosmtpd
	chromium
)
# The dashboard is built with npm (scripts/web.sh, scripts/docs.sh) and its
# end-to-end tests run Node; a Node.js that brings its own npm (NodeSource's
# nodejs) is left alone.
if ! command -v npm >/dev/null 2>&1; then
	PACKAGES+=(nodejs npm)
fi

is_installed() {
	[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" = "ii " ]
}

if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-query >/dev/null 2>&1; then
	echo "This is not a Debian-like system (no apt-get/dpkg-query)."
	echo "Install the equivalents of these Debian 12 packages, then run make again:"
	echo "  ${PACKAGES[*]}"
	exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
	is_installed "$p" || missing+=("$p")
done

if [ "${#missing[@]}" -eq 0 ]; then
	echo "all ${#PACKAGES[@]} system packages present"
	exit 0
fi

echo "missing system packages (${#missing[@]}): ${missing[*]}"

apt_cmd=(env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}")
if [ "$(id -u)" -eq 0 ]; then
	sudo=()
elif command -v sudo >/dev/null 2>&1; then
	sudo=(sudo)
else
	echo "Not root and no sudo.  As root, run:"
	echo "  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
	exit 1
fi

echo "==> apt-get update"
"${sudo[@]}" apt-get update -q
echo "==> apt-get install ${missing[*]}"
"${sudo[@]}" "${apt_cmd[@]}"

# Check again: a package that apt did not install is an error worth a line.
still=()
for p in "${missing[@]}"; do
	is_installed "$p" || still+=("$p")
done
if [ "${#still[@]}" -gt 0 ]; then
	echo "error: still missing after apt-get install: ${still[*]}" >&2
	exit 1
fi
echo "installed ${#missing[@]} package(s); all ${#PACKAGES[@]} system packages present"
# (Installing postgresql makes Debian create and start its default cluster on
# port 5432.  Norvalt does not use it; the stack runs its own under var/.)
