#!/bin/sh
# run.sh SECONDS BUILD NAME... - runs each libFuzzer harness BUILD/fuzz_NAME
# for SECONDS under ASan+UBSan, from the seeds in fuzz/corpus/NAME (read
# only: new inputs go to BUILD/corpus/NAME), and prints one line per
# harness: executions, corpus size, crashes. A crash leaves its input as
# BUILD/crash-NAME-*; copy it into fuzz/corpus/NAME/ once fixed, so that
# every later run replays it. Exits 1 if any harness crashed.
secs=$1 build=$2
shift 2
status=0
for h in "$@"; do
  mkdir -p "$build/corpus/$h"
  seeds=$(ls fuzz/corpus/$h 2>/dev/null | wc -l)
  log="$build/$h.log"
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "./$build/fuzz_$h" -max_total_time="$secs" -print_final_stats=1 \
      -timeout=20 -rss_limit_mb=2560 -max_len=4096 \
      -artifact_prefix="$build/crash-$h-" \
      "$build/corpus/$h" "fuzz/corpus/$h" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  corpus=$(ls "$build/corpus/$h" | wc -l)
  if [ $rc -ne 0 ]; then
    status=1
    echo "fuzz $h: CRASH after ${execs:-?} executions (log: $log)"
    grep -E "ERROR|invariant|fuzz_lua:|runtime error|SUMMARY|Test unit written" "$log" | head -20
  else
    echo "fuzz $h: ${execs:-?} executions in ${secs} s, 0 crashes" \
      "(repository seeds $seeds, working corpus $corpus)"
  fi
done
exit $status
