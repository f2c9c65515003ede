# fuzz.mk - the libFuzzer harnesses, their corpus and its
# replay (the Makefile includes it).

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
