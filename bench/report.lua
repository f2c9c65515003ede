-- Reads the repeats of every side (CSV lines workload,impl,threads,unit,
-- value,cpu on stdin), prints one table (median, spread, the CPU share the
-- process got, ratio nerve/peer), writes out/results.csv, out/table.txt
-- and out/ratios.dat for the chart. On a shared machine a process may get
-- a fraction of a core; "ratio/cpu" divides each side's rate by the CPU
-- share it got (work per CPU-second), a fairer one-thread comparison.
local out = arg[1] or "bench/out"
local STEP_FLOP = 1007104 -- per sample of 784-256-128-10 (BENCHMARKING.md)

local runs, order = {}, {}
for line in io.lines() do
  local w, impl, t, unit, v, c = line:match("^([%w_]+),([%w_]+),(%d+),([^,]+),([%d.e+-]+),([%d.]+)$")
  if w then
    local key = w .. "|" .. impl .. "|" .. t
    if not runs[key] then
      runs[key] = { w = w, impl = impl, t = tonumber(t), unit = unit, v = {}, c = {} }
      order[#order + 1] = key
    end
    table.insert(runs[key].v, tonumber(v))
    table.insert(runs[key].c, tonumber(c))
  end
end

local function median(v)
  table.sort(v)
  local n = #v
  return n % 2 == 1 and v[(n + 1) // 2] or (v[n // 2] + v[n // 2 + 1]) / 2
end
local function stats(r)
  r.med = median(r.v)
  r.cpu = median(r.c)
  local n = #r.v
  r.lo, r.hi = r.v[1], r.v[n]
  r.spread = r.med > 0 and 100 * (r.hi - r.lo) / 2 / r.med or 0
end
for _, k in ipairs(order) do stats(runs[k]) end
local function get(w, impl, t) return runs[w .. "|" .. impl .. "|" .. (t or 1)] end

-- speed ratio nerve/peer (> 1: nerve is faster), for rates and for times
local function ratio(a, b)
  if not a or not b then return nil end
  if a.unit == "us" then return b.med / a.med end
  return a.med / b.med
end
-- the same per CPU-second of each side
local function cpu_ratio(a, b)
  if not a or not b or a.cpu <= 0 or b.cpu <= 0 then return nil end
  if a.unit == "us" then return (b.med * b.cpu) / (a.med * a.cpu) end
  return (a.med / a.cpu) / (b.med / b.cpu)
end

local PEERS = {
  train_b1 = { "torch", "fann" }, train_b32 = { "torch", "fann@train_b1" },
  train_b256 = { "torch" }, infer_b1 = { "torch", "fann" },
  infer_b32 = { "torch" }, infer_b256 = { "torch" },
  xor_step = { "torch" }, xor_fit = { "fann" }, small_fwd = { "torch" },
}
local rows = {}
local function row(r, peer, rat)
  rows[#rows + 1] = { r = r, peer = peer, ratio = rat,
                      cratio = peer and cpu_ratio(r, peer) }
end
for _, k in ipairs(order) do
  local r = runs[k]
  if r.impl:match("^nerve") then
    local peers = PEERS[r.w] or {}
    if r.w:match("^gemm") then peers = { "openblas" } end
    if #peers == 0 then row(r) end
    for _, p in ipairs(peers) do
      local impl, w = p:match("^([%w_]+)@?([%w_]*)$")
      if w == "" then w = r.w end
      local t = r.t
      if impl == "torch" and t == 2 then impl = "torch_blas2" end
      local pr = get(w, impl, impl == "fann" and 1 or t)
      if pr then row(r, pr, ratio(r, pr)) end
    end
  elseif r.w == "fma_peak" then
    row(r)
  end
end

local function fmt(v)
  if not v then return "-" end
  if v >= 100 then return string.format("%.0f", v) end
  if v >= 10 then return string.format("%.1f", v) end
  return string.format("%.2f", v)
end
local lines = {}
local function p(s) lines[#lines + 1] = s end
p(string.format("%-22s %-17s %2s %-9s %10s %6s %4s  %-11s %10s %6s %4s %8s %9s",
  "workload", "nerve", "th", "unit", "median", "+-%", "cpu", "peer", "median",
  "+-%", "cpu", "ratio", "ratio/cpu"))
for _, x in ipairs(rows) do
  local r, pr = x.r, x.peer
  p(string.format("%-22s %-17s %2d %-9s %10s %5.1f%% %4.2f  %-11s %10s %6s %4s %8s %9s",
    r.w, r.impl, r.t, r.unit, fmt(r.med), r.spread, r.cpu, pr and pr.impl or "",
    pr and fmt(pr.med) or "", pr and string.format("%5.1f%%", pr.spread) or "",
    pr and string.format("%4.2f", pr.cpu) or "",
    x.ratio and string.format("%.2fx", x.ratio) or "",
    x.cratio and string.format("%.2fx", x.cratio) or ""))
end
local peak = get("fma_peak", "avx512") or get("fma_peak", "avx2")
if peak then
  for _, impl in ipairs{ "nerve_fit", "nerve_loop" } do
    for _, t in ipairs{ 1, 2 } do
      local r = get("train_b256", impl, t)
      if r then
        local g = r.med * STEP_FLOP * 1e-9
        p(string.format("%s batch 256, %d thread(s): %.1f GFLOP/s of needed work = %.0f%% of " ..
          "%d x the FMA peak measured in this run (%.1f GFLOP/s); per CPU-second %.0f%%",
          impl, t, g, 100 * g / (peak.med * t), t, peak.med,
          100 * (g / r.cpu) / (peak.med / peak.cpu)))
      end
    end
  end
end
for _, impl in ipairs{ "nerve_fit", "nerve_loop" } do
  local a, b = get("train_b256", impl, 1), get("train_b256", impl, 2)
  if a and b then p(string.format("%s batch 256: 2 threads / 1 thread = %.2fx", impl, b.med / a.med)) end
end
print(table.concat(lines, "\n"))

local f = assert(io.open(out .. "/results.csv", "w"))
f:write("workload,impl,threads,unit,median,min,max,spread_pct,cpu,repeats,",
  "peer,peer_median,peer_spread_pct,peer_cpu,ratio,ratio_per_cpu\n")
for _, x in ipairs(rows) do
  local r, pr = x.r, x.peer
  f:write(string.format("%s,%s,%d,%s,%.6g,%.6g,%.6g,%.2f,%.3f,%d,%s,%s,%s,%s,%s,%s\n",
    r.w, r.impl, r.t,
    r.unit, r.med, r.lo, r.hi, r.spread, r.cpu, #r.v, pr and pr.impl or "",
    pr and string.format("%.6g", pr.med) or "", pr and string.format("%.2f", pr.spread) or "",
    pr and string.format("%.3f", pr.cpu) or "",
    x.ratio and string.format("%.4g", x.ratio) or "", x.cratio and string.format("%.4g", x.cratio) or ""))
end
f:close()
f = assert(io.open(out .. "/ratios.dat", "w"))
for _, x in ipairs(rows) do
  if x.ratio then
    f:write(string.format("\"%s %s t%d vs %s\" %.4g\n", x.r.w, x.r.impl:gsub("^nerve_?", ""),
      x.r.t, x.peer.impl, x.ratio))
  end
end
f:close()
f = assert(io.open(out .. "/table.txt", "w"))
f:write(table.concat(lines, "\n"), "\n")
f:close()
