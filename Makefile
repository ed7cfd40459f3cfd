# Norvalt - one plain Makefile.
#
#   make            build lib/libnorvalt.a, cgi-bin/*, bin/*, the tests
#   make run        everything, from a fresh Debian 12 machine to a running stack
#   make test       install, build, throwaway stack on other ports, all tests
#   make sanitize   the same tests under ASan + UBSan (own build directory)
#   make stop | status | migrate | seed | lint | install | clean
#
# O=DIR builds into another directory (make sanitize uses build/sanitize).

O	?= .
BUILD	:= $(O)/build
SANITIZE ?=

PKGS	:= libpq libcjson libjwt libcurl fcgi openssl libxml-2.0
CC	?= cc
WARN	:= -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	   -Wmissing-prototypes -Wpointer-arith -Wcast-qual -Wformat=2 \
	   -Wwrite-strings -fno-common
ifeq ($(SANITIZE),1)
OPT	:= -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	   -fno-sanitize-recover=all
else
OPT	:= -O2 -g -fstack-protector-strong -D_FORTIFY_SOURCE=2
endif
CPPFLAGS += -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Ilib \
	    $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
CFLAGS	+= $(WARN) $(OPT) -MMD -MP
LDFLAGS	+= $(if $(filter 1,$(SANITIZE)),-fsanitize=address$(,)undefined)
LDLIBS	:= $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null)
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
, := ,

LIB_SRCS   := $(wildcard lib/*.c lib/models/*.c)
LIB_OBJS   := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
LIB        := $(O)/lib/libnorvalt.a
CGI_SRCS   := $(wildcard cgi-bin/*.c)
CGIS       := $(CGI_SRCS:%.c=$(O)/%)
TOOL_SRCS  := $(wildcard bin/*.c)
TOOLS      := $(TOOL_SRCS:%.c=$(O)/%)
TESTUTIL   := $(BUILD)/obj/tests/testutil.o $(BUILD)/obj/tests/servers.o
UNIT_SRCS  := $(wildcard tests/unit/check_*.c)
UNITS      := $(UNIT_SRCS:tests/%.c=$(BUILD)/tests/%)
INTEG_SRCS := $(wildcard tests/integration/check_*.c)
INTEGS     := $(INTEG_SRCS:tests/%.c=$(BUILD)/tests/%)

.PHONY: all build tests deps run stop status test sanitize migrate seed \
	token bench fuzz lint install clean
.DEFAULT_GOAL := all
.SECONDARY:

all: build tests
build: $(LIB) $(CGIS) $(TOOLS)
	@scripts/web.sh
	@scripts/docs.sh
tests: $(UNITS) $(INTEGS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/obj/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS) $(CHECK_CFLAGS) $(CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	@rm -f $@
	@echo "  AR      $@"
	@ar rcs $@ $^

$(O)/cgi-bin/%: $(BUILD)/obj/cgi-bin/%.o $(LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

$(O)/bin/%: $(BUILD)/obj/bin/%.o $(LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(TESTUTIL) $(LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $< $(TESTUTIL) $(LIB) $(LDLIBS) $(CHECK_LIBS)

# Dependencies first: on a fresh machine pkg-config has nothing to say yet,
# so the build runs in a second make once the packages are there.
deps:
	@scripts/deps.sh

run: deps
	@$(MAKE) --no-print-directory build
	@NORVALT_DEV_LOGIN=1 NV_PROFILE=run scripts/stack.sh start

stop:
	@NV_PROFILE=run scripts/stack.sh stop

status:
	@NV_PROFILE=run scripts/stack.sh status

test: deps
	@$(MAKE) --no-print-directory all
	@scripts/test.sh

sanitize: deps
	@$(MAKE) --no-print-directory O=build/sanitize SANITIZE=1 all
	@NV_BUILD_ROOT=$(CURDIR)/build/sanitize scripts/test.sh

migrate: build
	@NV_PROFILE=run scripts/stack.sh migrate

seed:
	@NV_PROFILE=run scripts/stack.sh seed

# The benchmark of bench/ (not part of make test): bench/RESULTS.md.
bench: build
	@scripts/bench.sh

# libFuzzer targets of tests/fuzz/ (clang), FUZZ_SECONDS each (default 60).
fuzz:
	@scripts/fuzz.sh

# make token USER=<clerk_user_id> [ORG=<clerk_org_id>] [TTL=<seconds>]:
# a dev token for the local stack, alone on the last line.
token: build
	@test "$(origin USER)" = "command line" || \
	    { echo "usage: make token USER=<clerk_user_id> [ORG=<clerk_org_id>] [TTL=<seconds>]" >&2; exit 2; }
	@eval "$$(NV_PROFILE=run scripts/stack.sh env)" && \
	    { cmp -s "$${NORVALT_CLERK_JWT_KEY_FILE:-/dev/null}" \
	    var/keys/dev_jwt_public.pem || echo "warning: make run's stack" \
	    "verifies tokens with NORVALT_CLERK_JWKS_URL or another" \
	    "NORVALT_CLERK_JWT_KEY_FILE, not the dev key: it will refuse" \
	    "this token (401)" >&2; } && \
	    $(O)/bin/norvalt-token --user "$(USER)" \
	    $(if $(ORG),--org "$(ORG)") $(if $(TTL),--ttl "$(TTL)")

# Banned calls and SQL assembled with printf (curl's checksrc, in small).
lint:
	@! grep -nE '\b(sprintf|strcpy|strcat|strtok|atoi|gets)[[:space:]]*\(' \
	    lib/*.c lib/models/*.c cgi-bin/*.c bin/*.c tests/*/*.c 2>/dev/null \
	    || { echo "lint: banned function (see STYLE.md)"; exit 1; }
	@! grep -nE 'printf\([^;]*"[[:space:]]*(SELECT|INSERT|UPDATE|DELETE) ' \
	    lib/*.c lib/models/*.c cgi-bin/*.c bin/*.c 2>/dev/null \
	    || { echo "lint: SQL assembled with printf"; exit 1; }
	@echo "lint: clean"

PREFIX	?= /usr/local
DESTDIR	?=
install: build
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/norvalt/cgi-bin \
	    $(DESTDIR)$(PREFIX)/share/norvalt/migrations \
	    $(DESTDIR)$(PREFIX)/share/norvalt/nginx
	install -m 0755 $(TOOLS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0755 $(CGIS) $(DESTDIR)$(PREFIX)/lib/norvalt/cgi-bin/
	install -m 0644 sql/migrations/*.sql \
	    $(DESTDIR)$(PREFIX)/share/norvalt/migrations/
	install -m 0644 nginx/*.conf $(DESTDIR)$(PREFIX)/share/norvalt/nginx/

clean:
	rm -rf build lib/libnorvalt.a $(CGI_SRCS:%.c=%) $(TOOL_SRCS:%.c=%)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
