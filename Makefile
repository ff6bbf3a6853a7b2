# acra: one binary, many modes. `make` builds, `make check` runs every test.
PREFIX ?= /usr/local
CC ?= cc
PKGS := libevent libevent_openssl libevent_pthreads openssl libsodium jansson inih hiredis yaml-0.1
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS := $(shell pkg-config --libs $(PKGS)) -lpg_query -lpthread -lm
CHECK_CFLAGS := $(shell pkg-config --cflags check)
CHECK_LIBS := $(shell pkg-config --libs check)

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla -Wno-missing-field-initializers
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -D_GNU_SOURCE -I. $(WARN) $(PKG_CFLAGS)
LDFLAGS ?=
ifeq ($(SANITIZE),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
BUILD := build-asan
else
BUILD := build
endif

# Sources, listed explicitly (one per line keeps merges trivial).
LIB_SRCS := \
	lib/bytes.c \
	lib/conf.c \
	lib/err.c \
	lib/log.c \
	lib/secmem.c \

PROTO_SRCS := \
	proto/mysql.c \

MODE_SRCS := \
	modes/server.c \

UNIT_SRCS := \
	t/unit/main.c \
	t/unit/test_bytes.c \
	t/unit/test_conf.c \
	t/unit/test_mysql.c \

MODES := $(patsubst modes/%.c,%,$(filter-out modes/modes.c,$(MODE_SRCS)))
CORE_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRCS) $(PROTO_SRCS))
BIN := $(BUILD)/acra
UNIT := $(BUILD)/unit-tests

.PHONY: all check unit e2e interop fmt fmt-check check-headers asan install clean demo bench fuzz \
	fuzz-mysql
all: $(BIN) links

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BIN): $(BUILD)/acra.o $(patsubst %.c,$(BUILD)/%.o,$(MODE_SRCS)) $(CORE_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

links: $(BIN)
	@for m in $(MODES); do ln -sf acra $(BUILD)/acra-$$m; done

$(BUILD)/t/unit/%.o: t/unit/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CHECK_CFLAGS) -MMD -MP -c -o $@ $<

$(UNIT): $(patsubst %.c,$(BUILD)/%.o,$(UNIT_SRCS)) $(CORE_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CHECK_LIBS)

unit: $(UNIT)
	cd t/unit && ACRA_BIN=$(CURDIR)/$(BIN) $(CURDIR)/$(UNIT)

# e2e tests start their own throwaway PostgreSQL, MariaDB and Redis (t/lib).
e2e: all
	ACRA_BUILD=$(CURDIR)/$(BUILD) sh t/e2e/run.sh

interop: all
	ACRA_BUILD=$(CURDIR)/$(BUILD) sh t/interop/run.sh

check: all unit check-headers interop e2e

check-headers:
	@set -e; for h in $$(find lib proto modes -name '*.h'); do \
		printf '#include "%s"\n#include "%s"\n' $$h $$h | \
		$(CC) $(CFLAGS) -x c -fsyntax-only - || { echo "header $$h does not compile alone"; exit 1; }; \
	done; echo "check-headers: all headers compile alone"

asan:
	$(MAKE) SANITIZE=1 check

fmt:
	clang-format -i $$(git ls-files '*.c' '*.h')
fmt-check:
	clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h')

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/acra
	for m in $(MODES); do ln -sf acra $(DESTDIR)$(PREFIX)/bin/acra-$$m; done

demo:
	sh contrib/deps.sh
	$(MAKE) all
	sh contrib/demo.sh $(BUILD)

bench: all
	sh contrib/bench/run.sh $(BUILD)

# libFuzzer targets (clang): `make fuzz-mysql FUZZ_TIME=300` runs one for FUZZ_TIME seconds.
FUZZ_CC ?= clang
FUZZ_FLAGS := -g -O1 -std=c11 -D_GNU_SOURCE -I. -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined
FUZZ_TIME ?= 60

build-fuzz/fuzz-mysql: contrib/fuzz/fuzz_mysql.c proto/mysql.c proto/mysql.h lib/bytes.c lib/bytes.h
	@mkdir -p build-fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ contrib/fuzz/fuzz_mysql.c proto/mysql.c lib/bytes.c

fuzz-mysql: build-fuzz/fuzz-mysql
	/usr/bin/python3 contrib/fuzz/mysql_seeds.py t/unit/vectors build-fuzz/corpus-mysql
	build-fuzz/fuzz-mysql -max_total_time=$(FUZZ_TIME) -rss_limit_mb=4096 \
		-artifact_prefix=build-fuzz/ build-fuzz/corpus-mysql

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
