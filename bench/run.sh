#!/bin/sh
# make bench: nerve and its peers on the same workloads in one run, then
# one table (bench/out/table.txt), bench/out/results.csv and
# bench/out/chart.png. Peers that are missing are installed from Debian
# when run as root, otherwise skipped (and named).
set -u
BUILD=${BUILD:-build}
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
echo "bench: load before: $(cat /proc/loadavg)" | tee "$OUT/load.txt"
t0=$(date +%s)
export LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH="$BUILD/?.so;;"
echo "bench: nerve (Lua)"
lua5.4 bench/nerve.lua >> "$raw" || exit 1
$CC $CF bench/fma_peak.c -o "$BUILD/bench_fma" && "./$BUILD/bench_fma" >> "$raw"
if $CC $CF bench/gemm_peer.c -o "$BUILD/bench_gemm" "$BUILD/libnerve.a" -lopenblas -lm -lpthread 2>/dev/null; then
  echo "bench: GEMM, nerve and OpenBLAS"
  "./$BUILD/bench_gemm" nerve >> "$raw"
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 \
    "./$BUILD/bench_gemm" openblas >> "$raw"
else echo "bench: no OpenBLAS, GEMM peer skipped"; fi
if $CC $CF bench/fann_peer.c -o "$BUILD/bench_fann" -lfloatfann -lm 2>/dev/null; then
  echo "bench: FANN"
  "./$BUILD/bench_fann" >> "$raw"
else echo "bench: no FANN, skipped"; fi
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "bench: PyTorch, 1 thread, then 1 torch thread with OpenBLAS on 2"
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
    /usr/bin/python3 bench/torch_peer.py >> "$raw"
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=1 \
    /usr/bin/python3 bench/torch_peer.py >> "$raw"
else echo "bench: no PyTorch, skipped"; fi
echo "bench: load after: $(cat /proc/loadavg), $(( $(date +%s) - t0 )) s" | tee -a "$OUT/load.txt"
echo
lua5.4 bench/report.lua "$OUT" < "$raw"
if command -v gnuplot >/dev/null 2>&1; then
  gnuplot -e "set terminal pngcairo size 1400,800 noenhanced; set output '$OUT/chart.png';
    set title 'nerve / peer speed ratio (>1: nerve faster), medians; see results.csv';
    set style fill solid 0.7; set boxwidth 0.7; set logscale y; set grid ytics;
    set xtics rotate by 60 right font ',8'; set ylabel 'ratio (log)'; unset key;
    plot '$OUT/ratios.dat' using 0:2:xtic(1) with boxes, 1 with lines lw 2" \
    && echo "bench: $OUT/table.txt, $OUT/results.csv, $OUT/chart.png"
fi
