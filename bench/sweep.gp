# The size sweep's chart: training samples/s against the needed FLOPs per
# sample, log-log, nerve and PyTorch, 1 thread left, 2 threads right, from
# out/sweep.dat (bench/report.lua). The dashed line is the rate at
# threads x the FMA peak of the run, the ceiling of every point.
#   gnuplot -e "out='bench/out'" bench/sweep.gp
if (!exists("out")) out = 'bench/out'
f = out.'/sweep.dat'
set datafile missing '?'
# both panels on one scale, the points' (the peak line may leave it);
# room on the right for the last labels
stats f using 2 nooutput
xlo = STATS_min / 2; xhi = STATS_max * 20
min(a, b) = a < b ? a : b
max(a, b) = a > b ? a : b
stats f using 3:5 nooutput
ylo = min(STATS_min_x, STATS_min_y); yhi = max(STATS_max_x, STATS_max_y)
stats f using 4:6 nooutput
ylo = min(ylo, min(STATS_min_x, STATS_min_y)) / 2
yhi = max(yhi, max(STATS_max_x, STATS_max_y)) * 3
set terminal pngcairo size 1600,800 noenhanced font ',10'
set output out.'/sweep.png'
set logscale xy
set xrange [xlo:xhi]
set yrange [ylo:yhi]
set grid
set format x '%.0s%c'
set format y '%.0s%c'
set xlabel 'needed FLOP per sample (forward, weight and input gradients)'
set ylabel 'training samples/s (median)'
set key bottom left
set multiplot layout 1,2 title 'size sweep: nerve.fit against a PyTorch 1.13 fp32 loop, medians (bench/out/sweep.csv)'
set title '1 thread'
plot f using 2:7 with lines dt 2 lc rgb 'gray50' title 'FMA peak', \
     f using 2:4 with points pt 5 ps 1.3 lc rgb '#d62728' title 'PyTorch', \
     f using 2:3 with points pt 7 ps 1.3 lc rgb '#1f77b4' title 'nerve', \
     f using 2:($11 > 0 ? 1/0 : $9):1 with labels left offset 1.2,0 font ',8' notitle, \
     f using 2:($11 > 0 ? $9 : 1/0):1 with labels right offset -1.2,0 font ',8' notitle
set title '2 threads (PyTorch: 1 torch thread, OpenBLAS on 2)'
plot f using 2:8 with lines dt 2 lc rgb 'gray50' title '2 x FMA peak', \
     f using 2:6 with points pt 5 ps 1.3 lc rgb '#d62728' title 'PyTorch', \
     f using 2:5 with points pt 7 ps 1.3 lc rgb '#1f77b4' title 'nerve', \
     f using 2:($11 > 0 ? 1/0 : $10):1 with labels left offset 1.2,0 font ',8' notitle, \
     f using 2:($11 > 0 ? $10 : 1/0):1 with labels right offset -1.2,0 font ',8' notitle
unset multiplot
