#!/usr/bin/env bash
# scripts/fuzz.sh - `make fuzz`: build each tests/fuzz/fuzz_*.c as a
# libFuzzer target (clang, -fsanitize=fuzzer,address,undefined) against the
# library sources, and run each for FUZZ_SECONDS (default 60) on a corpus
# under var/fuzz/<target>/ seeded from tests/fixtures/.  A crash stops the
# run with the reproducer's path; turn it into a regression test.
set -euo pipefail
ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SECONDS_EACH="${FUZZ_SECONDS:-60}"
OUT="$ROOT/build/fuzz"
CORPUS="$ROOT/var/fuzz"
PKGS="libpq libcjson libjwt libcurl fcgi openssl libxml-2.0"
command -v clang >/dev/null || { echo "make fuzz needs clang (scripts/deps.sh installs it)" >&2; exit 1; }
mkdir -p "$OUT" "$CORPUS"

# shellcheck disable=SC2046
CFLAGS=(-std=c11 -g -O1 -fno-omit-frame-pointer -D_POSIX_C_SOURCE=200809L
	-D_DEFAULT_SOURCE -Ilib $(pkg-config --cflags $PKGS)
	-fsanitize=fuzzer-no-link,address,undefined)
read -r -a LIBS <<<"$(pkg-config --libs $PKGS)"

echo "==> library (clang, ASan+UBSan, fuzzer instrumentation)"
objs=()
for src in lib/*.c lib/models/*.c; do
	obj="$OUT/$(echo "$src" | tr / _).o"
	if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ]; then
		clang "${CFLAGS[@]}" -c -o "$obj" "$src"
	fi
	objs+=("$obj")
done

status=0
for t in tests/fuzz/fuzz_*.c; do
	name="$(basename "$t" .c)"
	echo "==> $name: build"
	clang "${CFLAGS[@]}" -fsanitize=fuzzer,address,undefined \
	    -o "$OUT/$name" "$t" "${objs[@]}" "${LIBS[@]}"
	mkdir -p "$CORPUS/$name"
	case "$name" in
	fuzz_adf) cp -n tests/fixtures/adf/*.xml "$CORPUS/$name/" 2>/dev/null || true ;;
	fuzz_json) printf '{"first_name":"Kari","email":"k@example.no","phone":"912 34 567","status":"new","year":2024,"metadata":{"a":[1]}}' >"$CORPUS/$name/seed1" ;;
	fuzz_form) printf 'name=Kari+Nordmann&email=k%%40example.no&limit=5&status=new' >"$CORPUS/$name/seed1" ;;
	fuzz_multipart) printf -- '--XyZbound\r\nContent-Disposition: form-data; name="sender"\r\n\r\nkari@example.no\r\n--XyZbound\r\nContent-Disposition: form-data; name="att"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nhei\r\n--XyZbound--\r\n' >"$CORPUS/$name/seed1" ;;
	fuzz_mail) printf 'Svar p\303\245 henvendelsen\000Bilhuset \303\205lesund\000Kari\000Hei\n.\nFrom oss\n\000<a@b.no> <c@d.no>' >"$CORPUS/$name/seed1" ;;
	fuzz_cursor) printf 'MjAyNi0xMS0wMSAxMDoyMDozMCswMHxjMTAwMDAwMC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDI' >"$CORPUS/$name/seed1" ;;
	esac
	echo "==> $name: run ${SECONDS_EACH}s"
	if ! (cd "$OUT" && ASAN_OPTIONS=detect_leaks=1 "./$name" -max_total_time="$SECONDS_EACH" \
	    -max_len=65536 -print_final_stats=1 "$CORPUS/$name" 2>"$OUT/$name.log"); then
		echo "!!! $name found a problem; see $OUT/$name.log and the crash-* file in $OUT"
		tail -n 30 "$OUT/$name.log"
		status=1
	else
		grep -E "stat::number_of_executed_units|stat::new_units_added" "$OUT/$name.log" | sed 's/^/    /'
	fi
done
exit "$status"
