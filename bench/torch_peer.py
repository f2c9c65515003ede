# PyTorch's side of `make bench` (Debian python3-torch, run with
# /usr/bin/python3): the workloads of bench/nerve.lua, one CSV line per
# repeat: workload,impl,threads,unit,value. Timed inside the process.
# With the argument "sweep": the size sweep instead; "sweep bf16": its
# bf16 rows (autocast training, torch.matmul on bf16 tensors).
import os, sys, time
import torch

REPS = int(os.environ.get("BENCH_REPS", "5"))
TARGET = float(os.environ.get("BENCH_SECONDS", "0.25"))
# seconds for the repeats of a slow bf16 row (12 by default)
BF16_BUDGET = 48 * TARGET
torch.set_num_threads(1)
torch.manual_seed(1)
# threads column: 2 when OpenBLAS may use two (the fair two-core variant)
THREADS = int(os.environ.get("OPENBLAS_NUM_THREADS", "1"))
IMPL = "torch" if THREADS == 1 else "torch_blas2"
ONLY = os.environ.get("BENCH_ONLY", "")

def emit(w, impl, t, unit, v, cpu):
    print(f"{w},{impl},{t},{unit},{v:.6g},{cpu:.3f}", flush=True)

# budget: seconds for the repeats of a slow row, fewer repeats past it
# (at least min(3, REPS), so still a median, each at least one call)
def rate(w, impl, t, unit, f, scale=1, budget=None):
    n = 1
    while True:
        t0 = time.perf_counter(); f(n); dt = time.perf_counter() - t0
        if dt > TARGET / 8:
            per = dt / n
            n = max(1, int(n * TARGET / dt)); break
        n *= 4
    reps = REPS
    if budget and n * per * REPS > budget:
        reps = max(min(3, REPS), int(budget / (n * per)))
    for _ in range(reps):
        c0, t0 = time.process_time(), time.perf_counter(); f(n)
        dt, c = time.perf_counter() - t0, time.process_time() - c0
        emit(w, impl, t, unit, 1e6 * dt / n if unit == "us" else n / dt * scale, c / dt)

def mlp(sizes, act):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2: layers.append(act())
    return torch.nn.Sequential(*layers)

# n steps cycling through the batches xs, ys; n forwards of x. bf16:
# forward and loss under autocast, as PyTorch users run bf16 (weights,
# gradients and the step stay float32)
def trainer(net, opt, lossf, xs, ys, bf16=False):
    def train(n):
        for i in range(n):
            k = i % len(xs)
            opt.zero_grad()
            if bf16:
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    loss = lossf(net(xs[k]), ys[k])
            else:
                loss = lossf(net(xs[k]), ys[k])
            loss.backward()
            opt.step()
    return train

def inferer(net, x):
    def infer(n):
        with torch.no_grad():
            for _ in range(n): net(x)
    return infer

# The size sweep: the networks of bench/sweep.txt (layer sizes, batch,
# and the mark bf16), each trained on a whole number of batches cycled, at
# least 4 and at least 2048 rows (the rows of nerve's fit), and a forward
# of one batch.
def sweep_nets():
    nets = []
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "sweep.txt")) as f:
        for line in f:
            p = line.split()
            if len(p) >= 2 and not p[0].startswith("#"):
                nets.append((p[0], [int(d) for d in p[0].split("-")], int(p[1]), p[2:] == ["bf16"]))
    return nets

# bf16: the networks marked bf16, trained under autocast only, as
# sweep_train_bf16_<sizes>_b<batch>. A step can take seconds (PyTorch's
# bf16 GEMM without AVX512-BF16 is not oneDNN's and not OpenBLAS's), so
# such rows get fewer repeats.
def sweep(nets, bf16=False):
    for name, sizes, b, marked in nets:
        if bf16 and not marked: continue
        tag = ("bf16_" if bf16 else "") + "%s_b%d" % (name, b)
        wt, wi = "sweep_train_" + tag, "sweep_infer_" + tag
        infer = wi.startswith(ONLY) and not bf16
        if not (wt.startswith(ONLY) or infer): continue
        net = mlp(sizes, torch.nn.ReLU)
        xs = [torch.rand(b, sizes[0]) for _ in range(max(4, -(-2048 // b)))]
        ys = [torch.randint(0, sizes[-1], (b,)) for _ in range(len(xs))]
        if wt.startswith(ONLY):
            opt = torch.optim.SGD(net.parameters(), lr=0.01)
            rate(wt, IMPL, THREADS, "samples/s",
                 trainer(net, opt, torch.nn.CrossEntropyLoss(), xs, ys, bf16), b,
                 BF16_BUDGET if bf16 else None)
        if infer:
            rate(wi, IMPL, THREADS, "samples/s", inferer(net, xs[0]), b)

# The bf16 GEMMs of bench/gemm_peer.c (784-1024-1024-10 at batch 256; m x
# n x k), torch.matmul on bf16 tensors laid out as nerve's operands: nn C
# = A B, tn C = A^T B (A stored k x m), nt C = A B^T (B stored n x k). The
# result is bf16, as torch gives it. One call is about 0.1-0.4 s here.
GEMM_BF16 = [("fwd_256x1024x784", "nn", 256, 1024, 784),
             ("fwd_256x1024x1024", "nn", 256, 1024, 1024),
             ("wgrad_784x1024x256", "tn", 784, 1024, 256),
             ("wgrad_1024x1024x256", "tn", 1024, 1024, 256),
             ("igrad_256x1024x1024", "nt", 256, 1024, 1024)]

def gemm_bf16():
    for name, op, m, n, k in GEMM_BF16:
        w = "sweep_gemm_bf16_" + name
        if not w.startswith(ONLY): continue
        a = torch.rand((k, m) if op == "tn" else (m, k)).bfloat16()
        b = torch.rand((n, k) if op == "nt" else (k, n)).bfloat16()
        a, b = a.t() if op == "tn" else a, b.t() if op == "nt" else b
        def calls(c):
            for _ in range(c): torch.matmul(a, b)
        rate(w, IMPL, THREADS, "GFLOP/s", calls, 2e-9 * m * n * k, BF16_BUDGET)

if sys.argv[1:] == ["sweep"]:
    sweep(sweep_nets())
    sys.exit(0)
if sys.argv[1:] == ["sweep", "bf16"]:
    sweep(sweep_nets(), bf16=True)
    gemm_bf16()
    sys.exit(0)

for b in (1, 32, 256):
    net = mlp([784, 256, 128, 10], torch.nn.ReLU)
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    lossf = torch.nn.CrossEntropyLoss()
    xs = [torch.rand(b, 784) for _ in range(max(1, 2048 // b))]
    ys = [torch.randint(0, 10, (b,)) for _ in range(len(xs))]
    if ("train_b%d" % b).startswith(ONLY):
        rate("train_b%d" % b, IMPL, THREADS, "samples/s", trainer(net, opt, lossf, xs, ys), b)
    if ("infer_b%d" % b).startswith(ONLY):
        rate("infer_b%d" % b, IMPL, THREADS, "samples/s", inferer(net, xs[0]), b)

if THREADS == 1 and "xor_step".startswith(ONLY):
    x = torch.tensor([[0., 0], [0, 1], [1, 0], [1, 1]])
    y = torch.tensor([[0.], [1], [1], [0]])
    net = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Sigmoid(),
                              torch.nn.Linear(4, 1), torch.nn.Sigmoid())
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    lossf = torch.nn.MSELoss()
    def step(n):
        for _ in range(n):
            opt.zero_grad()
            lossf(net(x), y).backward()
            opt.step()
    rate("xor_step", IMPL, 1, "us", step)

if THREADS == 1 and "small_fwd".startswith(ONLY):
    net = mlp([32, 64, 64, 8], torch.nn.Tanh)
    x = torch.rand(1, 32)
    def fwd(n):
        with torch.no_grad():
            for _ in range(n): net(x)
    rate("small_fwd", IMPL, 1, "us", fwd)
