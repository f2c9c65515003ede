#!/bin/sh
# make bench: nerve and its peers on the same workloads in one run, then
# one table (bench/out/table.txt), bench/out/results.csv and
# bench/out/chart.png. Peers that are missing are installed from Debian
# when run as root, otherwise skipped (and named). Then the size sweep
# (bench/sweep.txt and GEMM sizes), then its bf16 rows (the networks
# marked bf16 in bench/sweep.txt and five GEMMs, nerve against PyTorch's
# autocast and bf16 matmul): its own table, bench/out/sweep.csv and
# bench/out/sweep.png; BENCH_SWEEP=0 skips it.
set -u
BUILD=${BUILD:-build}
SWEEP=${BENCH_SWEEP:-1}
OUT=bench/out
mkdir -p "$OUT"
raw="$OUT/raw.csv"
: > "$raw"
PKGS="python3-torch libfann-dev libopenblas-dev gnuplot-nox"
missing=""
/usr/bin/python3 -c 'import torch' 2>/dev/null || missing="$missing python3-torch"
[ -f /usr/include/fann.h ] || missing="$missing libfann-dev"
[ -f /usr/include/x86_64-linux-gnu/cblas.h ] || [ -f /usr/include/cblas.h ] || missing="$missing libopenblas-dev"
command -v gnuplot >/dev/null 2>&1 || missing="$missing gnuplot-nox"
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "bench: installing$missing"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing) >/dev/null
  else
    echo "bench: missing$missing (sudo apt-get install -y $PKGS); those peers are skipped"
  fi
fi
CC=${CC:-cc}
CF="-std=c11 -O2 -D_POSIX_C_SOURCE=200809L -Isrc"
# a peer's command with OpenBLAS on $1 threads and its own kernel choice
peer() {
  n=$1; shift
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS="$n" OMP_NUM_THREADS=1 "$@"
}
# nerve's GEMM, then OpenBLAS on one thread; $1: nothing, or sweep
gemm_pair() {
  "./$BUILD/bench_gemm" nerve "$@" >> "$raw"
  peer 1 "./$BUILD/bench_gemm" openblas "$@" >> "$raw"
}
# PyTorch on 1 thread, then 1 torch thread with OpenBLAS on 2
torch_pair() {
  peer 1 /usr/bin/python3 bench/torch_peer.py "$@" >> "$raw"
  peer 2 /usr/bin/python3 bench/torch_peer.py "$@" >> "$raw"
}
echo "bench: load before: $(cat /proc/loadavg)" | tee "$OUT/load.txt"
t0=$(date +%s)
export LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH="$BUILD/?.so;;"
echo "bench: nerve (Lua)"
lua5.4 bench/nerve.lua >> "$raw" || exit 1
$CC $CF bench/fma_peak.c -o "$BUILD/bench_fma" && "./$BUILD/bench_fma" >> "$raw"
have_gemm=0
if $CC $CF bench/gemm_peer.c -o "$BUILD/bench_gemm" "$BUILD/libnerve.a" -lopenblas -lm -lpthread 2>/dev/null; then
  have_gemm=1
  echo "bench: GEMM, nerve and OpenBLAS"
  gemm_pair
else echo "bench: no OpenBLAS, GEMM peer skipped"; fi
if $CC $CF bench/fann_peer.c -o "$BUILD/bench_fann" -lfloatfann -lm 2>/dev/null; then
  echo "bench: FANN"
  "./$BUILD/bench_fann" >> "$raw"
else echo "bench: no FANN, skipped"; fi
have_torch=0
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  have_torch=1
  echo "bench: PyTorch, 1 thread, then 1 torch thread with OpenBLAS on 2"
  torch_pair
else echo "bench: no PyTorch, skipped"; fi
if [ "$SWEEP" != 0 ]; then
  ts=$(date +%s)
  echo "bench: size sweep (BENCH_SWEEP=0 skips it): nerve"
  lua5.4 bench/nerve.lua sweep >> "$raw" || exit 1
  if [ "$have_gemm" = 1 ]; then
    echo "bench: size sweep: GEMM, nerve and OpenBLAS"
    gemm_pair sweep
  fi
  if [ "$have_torch" = 1 ]; then
    echo "bench: size sweep: PyTorch, 1 thread, then 1 torch thread with OpenBLAS on 2"
    torch_pair sweep
  fi
  echo "bench: size sweep: $(( $(date +%s) - ts )) s"
  tb=$(date +%s)
  echo "bench: size sweep, bf16: nerve"
  lua5.4 bench/nerve.lua sweep bf16 >> "$raw" || exit 1
  [ "$have_gemm" = 1 ] && "./$BUILD/bench_gemm" nerve sweep bf16 >> "$raw"
  # PyTorch at one thread only: without AVX512-BF16 its bf16 GEMM is its
  # own one-thread loop (not OpenBLAS, whose threads make the two-core
  # variant), and a step of the larger networks takes seconds
  if [ "$have_torch" = 1 ]; then
    echo "bench: size sweep, bf16: PyTorch (autocast, bf16 matmul), 1 thread"
    peer 1 /usr/bin/python3 bench/torch_peer.py sweep bf16 >> "$raw"
  fi
  echo "bench: size sweep, bf16: $(( $(date +%s) - tb )) s"
fi
echo "bench: load after: $(cat /proc/loadavg), $(( $(date +%s) - t0 )) s" | tee -a "$OUT/load.txt"
echo
rm -f "$OUT/sweep.csv" "$OUT/sweep.dat" "$OUT/sweep.png"
lua5.4 bench/report.lua "$OUT" < "$raw"
if command -v gnuplot >/dev/null 2>&1; then
  gnuplot -e "set terminal pngcairo size 1400,800 noenhanced; set output '$OUT/chart.png';
    set title 'nerve / peer speed ratio (>1: nerve faster), medians; see results.csv';
    set style fill solid 0.7; set boxwidth 0.7; set logscale y; set grid ytics;
    set xtics rotate by 60 right font ',8'; set ylabel 'ratio (log)'; unset key;
    plot '$OUT/ratios.dat' using 0:2:xtic(1) with boxes, 1 with lines lw 2" \
    && echo "bench: $OUT/table.txt, $OUT/results.csv, $OUT/chart.png"
  if [ -s "$OUT/sweep.dat" ]; then
    gnuplot -e "out='$OUT'" bench/sweep.gp && echo "bench: $OUT/sweep.csv, $OUT/sweep.png"
  fi
fi
