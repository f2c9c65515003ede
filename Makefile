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
# Debian's lua5.4.pc gives the module folders for a prefix (the C one
# under the architecture's triplet); without it, the compiler's triplet.
PC_LUA   = pkg-config --define-variable=prefix=$(PREFIX) --variable
LUA_LMOD ?= $(or $(shell $(PC_LUA)=INSTALL_LMOD lua5.4 2>/dev/null),\
              $(PREFIX)/share/lua/5.4)
LUA_CMOD ?= $(or $(shell $(PC_LUA)=INSTALL_CMOD lua5.4 2>/dev/null),\
              $(PREFIX)/lib/$(shell $(CC) -print-multiarch)/lua/5.4)
BUILD   ?= build

WARN    = -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
          -Wmissing-prototypes -Wno-unused-parameter
OPT     ?= -O2 -g
# -MMD -MP: each object's header dependencies, in a .d file beside it
CFLAGS_ALL = -std=c11 $(OPT) -fPIC -fvisibility=hidden $(WARN) \
          -D_POSIX_C_SOURCE=200809L -DNERVE_BUILD -Isrc -Isrc/binding \
          -I$(LUA_INC) \
          -MMD -MP $(SAN) $(CFLAGS)
LDLIBS  = -lm -lpthread -lz

ENGINE_SRC  = $(wildcard src/nerve/*.c) $(wildcard src/kernels/*.c) \
              $(wildcard src/kernels/*/*.c)
# The binding (nerve.core), one file per Lua type (src/binding/lnerve.h);
# the host API beside it goes into libnerve.a only.
HOST_SRC    = src/binding/nerve_lua.c
BINDING_SRC = $(filter-out $(HOST_SRC),$(wildcard src/binding/*.c))
ENGINE_OBJ  = $(ENGINE_SRC:src/%.c=$(BUILD)/obj/%.o)
BINDING_OBJ = $(BINDING_SRC:src/%.c=$(BUILD)/obj/%.o)
# The host API and the Lua layer compiled in (nerve_lua.h); the list of
# lua/nerve/*.lua and lua/nerve/*/*.lua (a module's parts, as
# lua/nerve/fit/) are read at build time, so new modules are embedded too.
LUA_SRC     = $(wildcard lua/nerve/*.lua) $(wildcard lua/nerve/*/*.lua)
EMBED_OBJ   = $(HOST_SRC:src/%.c=$(BUILD)/obj/%.o) \
              $(BUILD)/obj/gen/nerve_lua_src.o
VERSION     = $(shell sed -n 's/^\#define NERVE_VERSION "\(.*\)"/\1/p' src/nerve.h)

CORE    = $(BUILD)/nerve/core.so
LIB     = $(BUILD)/libnerve.a
# The engine's C tests, one binary per area (helpers in spec/c/engine.h).
ENGINE_TESTS = net optim format alloc train threads context
CTESTS  = $(BUILD)/test_kernels $(BUILD)/test_gemm \
          $(ENGINE_TESTS:%=$(BUILD)/test_%) \
          $(BUILD)/test_data $(BUILD)/test_reliab
HOST    = $(BUILD)/test_host
OOM     = $(BUILD)/test_oom

.PHONY: all test check amx-check install uninstall clean deps ctest spec hosttest \
        bench example mnist-data mnist-check mnist-verify bench-fann examples hostexample lint \
        valgrind rockcheck installcheck FORCE \
        fuzz fuzz-deps fuzz-build fuzz-corpus soak fuzzreplay neon-check \
        neon-run
all: $(CORE) $(LIB)

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

-include $(ENGINE_OBJ:.o=.d) $(BINDING_OBJ:.o=.d) $(EMBED_OBJ:.o=.d) \
  $(CTESTS:=.d) $(HOST).d $(OOM).d

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

$(BUILD)/obj/gen/nerve_lua_src.o: $(BUILD)/gen/nerve_lua_src.c \
                                  src/binding/nerve_lua_src.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(BUILD)/test_%: spec/c/test_%.c $(LIB) spec/c/check.h spec/c/arrays.h \
                 spec/c/engine.h
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

# luacheck on the Lua layer, the specs and the examples (.luacheckrc);
# docs/api.md's tables must be those of lua/nerve/reference.lua.
lint:
	@luacheck -q --no-color lua spec examples bench tools/gen_api.lua
	@$(LUA) tools/gen_api.lua check docs/api.md
	@tools/check_env.sh $(LUA_SRC)

# docs/api.md's reference tables from lua/nerve/reference.lua (nerve.help's
# entries): run after editing them.
.PHONY: api
api:
	$(LUA) tools/gen_api.lua write docs/api.md

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
	  $(ENGINE_TESTS:%=build/asan/test_%) build/asan/test_data build/asan/test_reliab \
	  build/asan/test_host build/asan/test_oom
	@ASAN_OPTIONS=detect_leaks=1 $(MAKE) --no-print-directory BUILD=build/asan ctest hosttest
	@ASAN_OPTIONS=detect_leaks=0 LD_PRELOAD="$(ASAN_LIB) $(UBSAN_LIB)" \
	  $(MAKE) --no-print-directory BUILD=build/asan spec
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_SHORT)

# The AMX kernels (src/kernels/avx512/amx.c) are compiled into every
# x86-64 build but dispatched only with -DNERVE_AMX until they have run
# and passed on a CPU with AMX-BF16: this builds the GEMM and engine tests
# that way and runs them where the CPU has it.
amx-check:
	@if grep -qw amx_bf16 /proc/cpuinfo 2>/dev/null; then \
	  $(MAKE) --no-print-directory BUILD=build/amx CFLAGS="$(CFLAGS) -DNERVE_AMX" \
	    build/amx/test_gemm build/amx/test_train build/amx/test_threads && \
	  ./build/amx/test_gemm && ./build/amx/test_train && ./build/amx/test_threads; \
	else echo "amx-check: no AMX-BF16 on this CPU, skipped"; fi

# The host suites under valgrind (it cannot run AVX-512: the AVX2 path).
valgrind: $(HOST)
	@NERVE_ISA=avx2 NERVE_HOST_QUICK=1 valgrind -q --error-exitcode=9 \
	  --leak-check=full --errors-for-leak-kinds=definite,indirect \
	  ./$(HOST) spec/host

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

include mk/neon.mk mk/fuzz.mk mk/bench.mk mk/install.mk

clean:
	rm -rf $(BUILD)
