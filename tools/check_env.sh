#!/bin/sh
# check_env.sh FILE... - modules that set `local _ENV = nil` must not read
# or write a global after it. luacheck cannot see this, and a function
# doing it only fails when that line runs (a global at the top level fails
# at load, which every test sees); in functions such an access is a
# GETTABUP/SETTABUP on the upvalue _ENV after the line. Lists every
# offending line; exits 1 on any.
status=0
for f in "$@"; do
  n=$(grep -n '^local _ENV = nil' "$f" | head -1 | cut -d: -f1)
  [ -n "$n" ] || continue
  out=$(luac5.4 -p -l -l "$f" | awk -v n="$n" '/[GS]ETTABUP/ && /_ENV/ {
    match($0, /\[[0-9]+\]/); l = substr($0, RSTART + 1, RLENGTH - 2) + 0
    if (l > n) print l }' | sort -un)
  for l in $out; do
    echo "$f:$l: global access after _ENV = nil"
    status=1
  done
done
exit $status
