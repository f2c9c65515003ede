# nerve - multilayer perceptrons for Lua 5.4, with a SIMD C engine.
#
#   make            build/nerve/core.so (the Lua module) and build/libnerve.a
#   make test       everything that must pass (installs missing test tools)
#   make check      the whole suite again under ASan + UBSan
#   make install    into the system's Lua 5.4 paths (PREFIX=/usr/local)

CC      ?= cc
LUA     ?= lua5.4
LUA_INC ?= /usr/include/lua5.4
PREFIX  ?= /usr/local
LUA_LMOD = $(PREFIX)/share/lua/5.4
LUA_CMOD = $(PREFIX)/lib/x86_64-linux-gnu/lua/5.4
BUILD   ?= build

WARN    = -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
          -Wmissing-prototypes -Wno-unused-parameter
OPT     ?= -O2 -g
CFLAGS_ALL = -std=c11 $(OPT) -fPIC -fvisibility=hidden $(WARN) \
          -D_POSIX_C_SOURCE=200809L -DNERVE_BUILD -Isrc -I$(LUA_INC) \
          $(SAN) $(CFLAGS)
LDLIBS  = -lm -lpthread

ENGINE_SRC  = $(wildcard src/nerve/*.c) $(wildcard src/kernels/*.c)
BINDING_SRC = $(wildcard src/l*.c)
ENGINE_OBJ  = $(ENGINE_SRC:src/%.c=$(BUILD)/obj/%.o)
BINDING_OBJ = $(BINDING_SRC:src/%.c=$(BUILD)/obj/%.o)
HEADERS     = src/nerve.h $(wildcard src/kernels/*.h) $(wildcard src/*.h) \
              $(wildcard src/nerve/*.h)

CORE    = $(BUILD)/nerve/core.so
LIB     = $(BUILD)/libnerve.a
CTESTS  = $(BUILD)/test_kernels $(BUILD)/test_engine $(BUILD)/test_reliab
HOST    = $(BUILD)/test_host
OOM     = $(BUILD)/test_oom

.PHONY: all test check install uninstall clean deps ctest spec hosttest \
        example fuzz fuzz-deps fuzz-build fuzz-corpus soak fuzzreplay
all: $(CORE) $(LIB)

$(BUILD)/obj/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

# The module is not linked against liblua: the interpreter or host
# provides the Lua API (a statically linked host must not get two VMs).
$(CORE): $(ENGINE_OBJ) $(BINDING_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -shared -o $@ $^ $(LDFLAGS) $(LDLIBS)

$(LIB): $(ENGINE_OBJ) $(BINDING_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/test_%: spec/c/test_%.c $(LIB) spec/c/check.h
	$(CC) $(CFLAGS_ALL) -Ispec/c $< -o $@ $(LIB) $(LDFLAGS) $(LDLIBS)

$(HOST): spec/host/test_host.c $(LIB)
	$(CC) $(CFLAGS_ALL) $< -o $@ $(LIB) $(LDFLAGS) -llua5.4 $(LDLIBS) -ldl

$(OOM): spec/host/test_oom.c $(LIB)
	$(CC) $(CFLAGS_ALL) $< -o $@ $(LIB) $(LDFLAGS) -llua5.4 $(LDLIBS) -ldl

# ---------------------------------------------------------------- tests

# Installs the Lua 5.4 headers, Busted and LuaUnit from Debian when root,
# otherwise names the one command that does.
TEST_PKGS = lua5.4 liblua5.4-dev lua-busted lua-unit
deps:
	@missing=""; \
	command -v $(LUA) >/dev/null 2>&1 || missing="$$missing lua5.4"; \
	[ -f $(LUA_INC)/lua.h ] || missing="$$missing liblua5.4-dev"; \
	[ -f /usr/share/lua/5.4/busted/runner.lua ] || missing="$$missing lua-busted"; \
	[ -f /usr/share/lua/5.4/luaunit.lua ] || missing="$$missing lua-unit"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq $$missing) >/dev/null || exit 1; \
	  else \
	    echo "missing:$$missing; run: sudo apt-get install -y $(TEST_PKGS)"; \
	    exit 1; \
	  fi; \
	fi

ctest: $(CTESTS)
	@for t in $(CTESTS); do $(RUN) ./$$t || exit 1; done

hosttest: $(HOST) $(OOM)
	@$(RUN) ./$(HOST) spec/host
	@$(RUN) ./$(OOM) spec/host

spec: $(CORE)
	@$(RUN) $(LUA) /usr/bin/busted --cpath='$(BUILD)/?.so' -o spec/summary.lua $(BUSTED_ARGS)

test: deps
	@$(MAKE) --no-print-directory all $(CTESTS) $(HOST) $(OOM)
	@$(MAKE) --no-print-directory ctest hosttest fuzzreplay spec

# The sanitizer build lives in its own folder; the stock lua5.4 is not
# instrumented, so the runtime is preloaded into it.
ASAN_LIB = $(shell $(CC) -print-file-name=libasan.so)
UBSAN_LIB = $(shell $(CC) -print-file-name=libubsan.so)
check: deps
	@$(MAKE) --no-print-directory BUILD=build/asan OPT="-O1 -g" \
	  SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  LDFLAGS="-fsanitize=address,undefined" all build/asan/test_kernels \
	  build/asan/test_engine build/asan/test_reliab build/asan/test_host \
	  build/asan/test_oom
	@ASAN_OPTIONS=detect_leaks=1 $(MAKE) --no-print-directory BUILD=build/asan ctest hosttest
	@ASAN_OPTIONS=detect_leaks=0 LD_PRELOAD="$(ASAN_LIB) $(UBSAN_LIB)" \
	  $(MAKE) --no-print-directory BUILD=build/asan spec
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_SHORT)

# ---------------------------------------------------------------- fuzzing
# libFuzzer harnesses under ASan+UBSan, built with clang into build/fuzz. A
# harness is one file, fuzz/fuzz_NAME.c (LLVMFuzzerTestOneInput), with its
# seeds in fuzz/corpus/NAME/; the wildcard finds it, and FUZZ_LIBS_NAME
# adds libraries it alone needs. `make fuzz` runs each for FUZZ_SECONDS;
# `make check` runs each for FUZZ_SHORT (replaying the whole corpus, every
# former crash included).
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SHORT   ?= 5
FUZZ_NAMES    = $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ_SAN      = -fsanitize=address,undefined -fno-sanitize-recover=all \
                -fno-omit-frame-pointer
FUZZ_PKGS     = clang libclang-rt-14-dev

$(BUILD)/fuzz_%: fuzz/fuzz_%.c $(wildcard fuzz/*.h) $(LIB)
	$(CC) $(CFLAGS_ALL) -Ifuzz -fsanitize=fuzzer $< -o $@ $(LIB) \
	  $(LDFLAGS) -llua5.4 $(FUZZ_LIBS_$*) $(LDLIBS) -ldl

# The same harnesses without libFuzzer: replay_NAME FILE|DIR...
$(BUILD)/replay_%: fuzz/fuzz_%.c fuzz/replay.c $(wildcard fuzz/*.h) $(LIB)
	$(CC) $(CFLAGS_ALL) -Ifuzz $< fuzz/replay.c -o $@ $(LIB) \
	  $(LDFLAGS) -llua5.4 $(FUZZ_LIBS_$*) $(LDLIBS) -ldl

# Every harness replays its corpus (former crashes included), no clang
# needed; part of make test.
fuzzreplay: $(FUZZ_NAMES:%=$(BUILD)/replay_%)
	@for h in $(FUZZ_NAMES); do $(RUN) ./$(BUILD)/replay_$$h fuzz/corpus/$$h \
	  || exit 1; done

fuzz-deps:
	@if ! command -v $(FUZZ_CC) >/dev/null 2>&1 || \
	    ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a \
	      >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq $(FUZZ_PKGS)) >/dev/null || exit 1; \
	  else echo "missing: run sudo apt-get install -y $(FUZZ_PKGS)"; exit 1; fi; \
	fi

fuzz-build: deps fuzz-deps
	@$(MAKE) --no-print-directory CC=$(FUZZ_CC) BUILD=build/fuzz \
	  OPT="-O1 -g" SAN="-fsanitize=fuzzer-no-link $(FUZZ_SAN)" \
	  LDFLAGS="$(FUZZ_SAN)" $(FUZZ_NAMES:%=build/fuzz/fuzz_%)

fuzz: fuzz-build
	@fuzz/run.sh $(FUZZ_SECONDS) build/fuzz $(FUZZ_NAMES)

# Regenerates the valid-model seeds (fuzz/corpus/model/valid-*.nrv).
fuzz-corpus: $(CORE)
	@LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='$(BUILD)/?.so;;' \
	  $(LUA) fuzz/make_corpus.lua fuzz/corpus

# ------------------------------------------------------------------ soak
# Trains, saves and loads small networks for SOAK_SECONDS under valgrind's
# memcheck (not part of test or check: it takes minutes). Valgrind cannot
# run AVX-512 code, hence NERVE_ISA=avx2.
SOAK_SECONDS ?= 180
soak: deps $(CORE)
	@command -v valgrind >/dev/null 2>&1 || { if [ "$$(id -u)" = 0 ]; then \
	  apt-get install -y -qq valgrind >/dev/null; else \
	  echo "missing: run sudo apt-get install -y valgrind"; exit 1; fi; }
	@NERVE_ISA=avx2 LUA_PATH='lua/?.lua;lua/?/init.lua;;' \
	  LUA_CPATH='$(BUILD)/?.so;;' valgrind --error-exitcode=1 \
	  --leak-check=full --errors-for-leak-kinds=definite,indirect \
	  --show-leak-kinds=definite,indirect \
	  $(LUA) spec/soak/soak.lua $(SOAK_SECONDS)

example: deps $(CORE)
	@./nerve examples/xor.lua

install: $(CORE) $(LIB)
	install -d $(DESTDIR)$(LUA_CMOD)/nerve $(DESTDIR)$(LUA_LMOD)/nerve \
	  $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib
	install -m 755 $(CORE) $(DESTDIR)$(LUA_CMOD)/nerve/core.so
	install -m 644 lua/nerve/*.lua $(DESTDIR)$(LUA_LMOD)/nerve/
	install -m 644 src/nerve.h $(DESTDIR)$(PREFIX)/include/nerve.h
	install -m 644 $(LIB) $(DESTDIR)$(PREFIX)/lib/libnerve.a

uninstall:
	rm -rf $(DESTDIR)$(LUA_CMOD)/nerve $(DESTDIR)$(LUA_LMOD)/nerve
	rm -f $(DESTDIR)$(PREFIX)/include/nerve.h $(DESTDIR)$(PREFIX)/lib/libnerve.a

clean:
	rm -rf build
