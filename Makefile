# acra: one binary, many modes. `make` builds, `make check` runs every test.
PREFIX ?= /usr/local
CC ?= cc
PKGS := libevent libevent_openssl libevent_pthreads openssl libsodium jansson inih hiredis yaml-0.1 \
	libpq libmariadb
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS := $(shell pkg-config --libs $(PKGS)) -lpg_query -lpthread -lm
CHECK_CFLAGS := $(shell pkg-config --cflags check)
CHECK_LIBS := $(shell pkg-config --libs check)

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla -Wno-missing-field-initializers
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -D_GNU_SOURCE -I. $(WARN) $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS ?=
LDFLAGS += $(EXTRA_LDFLAGS)
ifeq ($(SANITIZE),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
BUILD := build-asan
else
BUILD := build
endif

# Sources, listed explicitly (one per line keeps merges trivial).
LIB_SRCS := \
	lib/acrawriter.c \
	lib/bytes.c \
	lib/certid.c \
	lib/cli.c \
	lib/codec.c \
	lib/conf.c \
	lib/crypto/acrablock.c \
	lib/crypto/acrastruct.c \
	lib/crypto/cell.c \
	lib/crypto/ec.c \
	lib/crypto/envelope.c \
	lib/crypto/poison.c \
	lib/crypto/smessage.c \
	lib/crypto/soter.c \
	lib/crypto/sym.c \
	lib/crypto/zone.c \
	lib/err.c \
	lib/fdio.c \
	lib/keystore/fs.c \
	lib/keystore/keystore.c \
	lib/keystore/master.c \
	lib/keystore/master_flags.c \
	lib/keystore/redis.c \
	lib/httpc.c \
	lib/keystore/kms.c \
	lib/keystore/vault.c \
	lib/http.c \
	lib/log.c \
	lib/metrics.c \
	lib/net.c \
	lib/reactor.c \
	lib/secmem.c \
	lib/sigv4.c \
	lib/mysqlproxy.c \
	lib/pgproxy.c \
	lib/rowdec.c \
	lib/session.c \
	lib/tokenize.c \
	lib/tokenstore.c \
	lib/ssaccept.c \
	lib/tls.c \
	lib/tlstunnel.c \

PROTO_SRCS := \
	proto/ssession.c \
	proto/pg.c \
	proto/mysql.c \

MODE_SRCS := \
	modes/addzone.c \
	modes/connector.c \
	modes/keymaker.c \
	modes/keys.c \
	modes/reader.c \
	modes/rotate.c \
	modes/poisonrecordmaker.c \
	modes/server.c \
	modes/translator.c \
	modes/writer.c \

UNIT_SRCS := \
	t/unit/main.c \
	t/unit/test_acrablock.c \
	t/unit/test_acrastruct.c \
	t/unit/test_bytes.c \
	t/unit/test_cell.c \
	t/unit/test_codec.c \
	t/unit/test_conf.c \
	t/unit/test_ec.c \
	t/unit/test_keystore.c \
	t/unit/test_keystore_redis.c \
	t/unit/test_poison.c \
	t/unit/test_smessage.c \
	t/unit/test_soter.c \
	t/unit/test_zone.c \
	t/unit/test_ssession.c \
	t/unit/test_httpc.c \
	t/unit/test_sigv4.c \
	t/unit/test_http.c \
	t/unit/test_metrics.c \
	t/unit/test_net.c \
	t/unit/test_server_cli.c \
	t/unit/test_session.c \
	t/unit/test_pgproxy.c \
	t/unit/test_mysqlproxy.c \
	t/unit/proxy_fixture.c \
	t/unit/test_sym.c \
	t/unit/test_tls.c \
	t/unit/test_transport.c \
	t/unit/test_pg.c \
	t/unit/test_mysql.c \
	t/unit/test_tokenize.c \

MODES := $(patsubst modes/%.c,%,$(filter-out modes/modes.c,$(MODE_SRCS)))
CORE_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRCS) $(PROTO_SRCS))
BIN := $(BUILD)/acra
UNIT := $(BUILD)/unit-tests

.PHONY: all acrawriter check unit e2e interop interop-tools fmt fmt-check check-headers asan install clean demo bench fuzz fuzz-pg \
	fuzz-mysql
all: $(BIN) links $(BUILD)/masterkey-tool $(BUILD)/keystore-tool

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

# Test tool over lib/crypto for the wasm-themis interop tests (not part of the acra binary).
$(BUILD)/themis-tool: $(BUILD)/t/interop/themis_tool.o $(CORE_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/acrastruct-tool: $(BUILD)/t/interop/acrastruct_tool.o $(CORE_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

# libacrawriter.a: the application C API (lib/acrawriter.h, docs/acrawriter.md) and what it needs.
ACRAWRITER_SRCS := \
	lib/acrawriter.c \
	lib/bytes.c \
	lib/crypto/acrablock.c \
	lib/crypto/acrastruct.c \
	lib/crypto/cell.c \
	lib/crypto/ec.c \
	lib/crypto/envelope.c \
	lib/crypto/smessage.c \
	lib/crypto/soter.c \
	lib/crypto/sym.c \
	lib/crypto/zone.c \
	lib/err.c \
	lib/secmem.c \

$(BUILD)/libacrawriter.a: $(patsubst %.c,$(BUILD)/%.o,$(ACRAWRITER_SRCS))
	rm -f $@
	ar rcs $@ $^

acrawriter: $(BUILD)/libacrawriter.a

# Test driver for the Vault and AWS KMS master-key sources (t/e2e/30-master-key-sources.sh).
$(BUILD)/masterkey-tool: $(BUILD)/t/lib/masterkey_tool.o $(CORE_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

# Keystore driver for the Redis tests and the keystore benchmark (t/e2e/25-redis-keys.sh,
# contrib/bench/keystore.sh).
$(BUILD)/keystore-tool: $(BUILD)/t/lib/keystore_tool.o $(CORE_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

unit: $(UNIT) $(BIN)
	cd t/unit && ACRA_BIN=$(CURDIR)/$(BIN) $(CURDIR)/$(UNIT)

# e2e tests start their own throwaway PostgreSQL, MariaDB and Redis (t/lib).
e2e: all
	ACRA_BUILD=$(CURDIR)/$(BUILD) sh t/e2e/run.sh

# Interop helpers: small programs that drive lib/ and proto/ code for t/interop/*.sh.
$(BUILD)/ssession-tool: $(BUILD)/t/interop/ssession_tool.o $(CORE_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

interop-tools: $(BUILD)/themis-tool $(BUILD)/acrastruct-tool $(BUILD)/libacrawriter.a $(BUILD)/ssession-tool

interop: all interop-tools
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

# lib/crypto micro-benchmark (contrib/bench/crypto_prims.sh)
$(BUILD)/crypto-prims: $(BUILD)/contrib/bench/crypto_prims.o $(CORE_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

# AcraStruct/AcraBlock benchmark (contrib/bench/crypto.sh)
$(BUILD)/crypto-bench: $(BUILD)/contrib/bench/crypto.o $(CORE_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

bench: all $(BUILD)/crypto-prims $(BUILD)/crypto-bench
	sh contrib/bench/run.sh $(BUILD)

# libFuzzer targets (clang): every contrib/fuzz/fuzz_X.c becomes build-fuzz/fuzz_X, linked
# with lib/ and proto/ built with ASan/UBSan. Run e.g. build-fuzz/fuzz_ssession -max_total_time=120.
FUZZ_SRCS := \
	contrib/fuzz/fuzz_cell.c \
	contrib/fuzz/fuzz_codec.c \
	contrib/fuzz/fuzz_ec.c \
	contrib/fuzz/fuzz_mysql.c \
	contrib/fuzz/fuzz_pg.c \
	contrib/fuzz/fuzz_ssession.c \

FUZZ_CC ?= clang
FUZZ_SAN := -fsanitize=address,undefined -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -I. -g -O1 $(WARN) $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
	$(PKG_CFLAGS)
FUZZ_OBJS := $(patsubst %.c,build-fuzz/%.o,$(LIB_SRCS) $(PROTO_SRCS))

build-fuzz/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

build-fuzz/fuzz_%: build-fuzz/contrib/fuzz/fuzz_%.o $(FUZZ_OBJS)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS)

.PRECIOUS: build-fuzz/%.o
fuzz: $(patsubst contrib/fuzz/%.c,build-fuzz/%,$(FUZZ_SRCS))

# proto/pg: seed from the recorded sessions and run for FUZZ_TIME seconds (UBSan findings abort).
FUZZ_TIME ?= 600
fuzz-pg: build-fuzz/fuzz_pg
	/usr/bin/python3 contrib/fuzz/pg_seeds.py build-fuzz/corpus-pg
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 build-fuzz/fuzz_pg \
		-max_total_time=$(FUZZ_TIME) -print_final_stats=1 -artifact_prefix=build-fuzz/ \
		build-fuzz/corpus-pg

# proto/mysql: seed from the recorded sessions and run for FUZZ_TIME seconds.
fuzz-mysql: build-fuzz/fuzz_mysql
	/usr/bin/python3 contrib/fuzz/mysql_seeds.py t/unit/vectors build-fuzz/corpus-mysql
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 build-fuzz/fuzz_mysql \
		-max_total_time=$(FUZZ_TIME) -rss_limit_mb=4096 -print_final_stats=1 \
		-artifact_prefix=build-fuzz/ build-fuzz/corpus-mysql

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
