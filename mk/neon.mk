# neon.mk - the aarch64 build of the engine and its C tests,
# run under qemu (the Makefile includes it).

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
              $(ENGINE_TESTS:%=$(NEON_BUILD)/test_%)
NEON_CFLAGS = -std=c11 -O2 $(WARN) -D_POSIX_C_SOURCE=200809L -DNERVE_BUILD \
              -Isrc -MMD -MP $(CFLAGS)
NEON_QEMU   = $$(command -v qemu-aarch64 || command -v qemu-aarch64-static)

.SECONDARY: $(NEON_OBJ)
-include $(NEON_OBJ:.o=.d) $(NEON_TESTS:=.d)
$(NEON_BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(NEON_CC) $(NEON_CFLAGS) -c $< -o $@

$(NEON_BUILD)/test_%: spec/c/test_%.c $(NEON_OBJ) spec/c/check.h \
                      spec/c/arrays.h spec/c/engine.h
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
