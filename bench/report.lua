-- Reads the repeats of every side (CSV lines workload,impl,threads,unit,
-- value,cpu on stdin), prints one table (median, spread, the CPU share the
-- process got, ratio nerve/peer), writes out/results.csv, out/table.txt
-- and out/ratios.dat for the chart. On a shared machine a process may get
-- a fraction of a core; "ratio/cpu" divides each side's rate by the CPU
-- share it got (work per CPU-second), a fairer one-thread comparison.
-- The size sweep (workloads sweep_*) has a table of its own after the
-- first, its bf16 rows (sweep_*_bf16_*) last, out/sweep.csv and
-- out/sweep.dat for bench/sweep.gp. The comment line bench/nerve.lua
-- writes, "# nerve.precisions(): ...", heads the report.
local out = arg[1] or "bench/out"

-- FLOPs per sample of an MLP of these layer sizes (BENCHMARKING.md): 2 per
-- multiply-add, only the needed work: the forward, and for a training
-- step the weight gradients and the input gradients of every layer but
-- the first.
local function flop(sizes, train)
  local fwd, igrad = 0, 0
  for i = 1, #sizes - 1 do
    fwd = fwd + sizes[i] * sizes[i + 1]
    if i > 1 then igrad = igrad + sizes[i] * sizes[i + 1] end
  end
  return 2 * (train and 2 * fwd + igrad or fwd)
end
local STEP_FLOP = flop({ 784, 256, 128, 10 }, true) -- 1,007,104

local runs, order = {}, {}
local precisions
for line in io.lines() do
  precisions = precisions or line:match("^# nerve%.precisions%(%): (.*)$")
  local w, impl, t, unit, v, c = line:match("^([%w_%-]+),([%w_]+),(%d+),([^,]+),([%d.e+-]+),([%d.]+)$")
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
  if r.impl:match("^nerve") and not r.w:match("^sweep_") then
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
  elseif r.w == "fma_peak" or r.w == "bf16_peak" then
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
if precisions then p("nerve.precisions(): " .. precisions) end
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

-- The size sweep: each nerve row beside PyTorch (torch_blas2 at 2
-- threads) or OpenBLAS, its needed work as a share of threads x the FMA
-- peak, and at 2 threads nerve's two-thread/one-thread ratio. Rows: the
-- training rows, then inference, then GEMM; networks in the order run;
-- then the bf16 training and GEMM rows, beside PyTorch's autocast and
-- bf16 matmul (one thread), with nerve bf16 over nerve fp32 on the same
-- work. Their share is of the vdpbf16ps peak where nerve's bf16 runs on
-- it (nerve.precisions() says avx512_bf16), else of the fp32 FMA peak:
-- the emulated bf16 path runs on fp32 FMAs.
local sweep = {}
local KIND = { train = 1, infer = 2, gemm = 3 }
for i, k in ipairs(order) do
  local r = runs[k]
  local fw = r.w:gsub("^(sweep_%a+)_bf16_", "%1_") -- the same work in fp32
  local bf16 = fw ~= r.w
  local kind, net, b = fw:match("^sweep_(%a+)_([%d-]+)_b(%d+)$")
  if not kind and fw:match("^sweep_gemm_") then kind = "gemm" end
  if kind and r.impl:match("^nerve") then
    local x = { r = r, kind = kind, bf16 = bf16, i = i, scale = 1 }
    if kind == "gemm" then
      x.peer = get(r.w, bf16 and "torch" or "openblas", 1)
    else
      local sizes = {}
      for d in net:gmatch("%d+") do sizes[#sizes + 1] = tonumber(d) end
      x.flop, x.net, x.batch = flop(sizes, kind == "train"), net, tonumber(b)
      x.scale = x.flop * 1e-9 -- samples/s to GFLOP/s
      x.peer = get(r.w, r.t == 2 and "torch_blas2" or "torch", r.t)
    end
    x.ratio = ratio(r, x.peer)
    local one = r.t == 2 and get(r.w, r.impl, 1)
    x.scaling = one and r.med / one.med
    local fp = bf16 and get(fw, r.impl, r.t)
    x.vs_fp32 = fp and r.med / fp.med
    sweep[#sweep + 1] = x
  end
end
local first = {} -- a workload's first row in the run
for _, x in ipairs(sweep) do first[x.r.w] = first[x.r.w] or x.i end
local function rank(x) return KIND[x.kind] + (x.bf16 and 3 or 0) end
table.sort(sweep, function(a, b)
  if rank(a) ~= rank(b) then return rank(a) < rank(b) end
  if a.r.w ~= b.r.w then return first[a.r.w] < first[b.r.w] end
  return a.r.t < b.r.t
end)
-- share of peak pk of run r (GFLOP/s = rate x scale), in percent
local function share(r, scale, pk)
  return r and pk and 100 * r.med * scale / (r.t * pk.med)
end
local bf16_peak = get("bf16_peak", "avx512bf16")
local hw_bf16 = bf16_peak and precisions and precisions:match("avx512_bf16")
for _, x in ipairs(sweep) do
  local pk = x.bf16 and hw_bf16 and bf16_peak or peak
  x.share, x.peer_share = share(x.r, x.scale, pk), share(x.peer, x.scale, pk)
end
if #sweep > 0 then
  p("")
  p("size sweep (bench/sweep.txt): train = nerve.fit over whole epochs, infer = net:forward of one batch")
  p("%peak = needed work (FLOP/sample x samples/s; GEMM: its GFLOP/s) over threads x the FMA peak of this run" ..
    (peak and string.format(" (%.1f GFLOP/s)", peak.med) or " (not measured)"))
  -- the column heads; the bf16 block has its own, with its longer names
  -- and the column bf16/fp32
  local function head(w, bf16)
    p(string.format("%-" .. w .. "s %2s %10s %10s %6s %4s %5s  %-11s %10s %6s %4s %5s %7s %6s",
      "workload", "th", "MFLOP/smp", "nerve", "+-%", "cpu", "%peak", "peer", "median", "+-%", "cpu", "%peak",
      "ratio", "2t/1t") .. (bf16 and string.format(" %9s", "bf16/fp32") or ""))
  end
  local function pct(v) return v and string.format("%4.0f%%", v) or "" end
  local w, wide = 34, 34
  for _, x in ipairs(sweep) do if x.bf16 then wide = math.max(wide, #x.r.w) end end
  head(w)
  local in_bf16 = false
  for _, x in ipairs(sweep) do
    local r, pr = x.r, x.peer
    if x.bf16 and not in_bf16 then
      in_bf16, w = true, wide
      local bp = bf16_peak
      p("")
      p("bf16 (nerve.precisions(): " .. (precisions or "not recorded") .. "): nerve net:precision(\"bf16\"); " ..
        "peer PyTorch, 1 thread only:")
      p("training under torch.autocast(\"cpu\", dtype=torch.bfloat16), GEMM torch.matmul on bf16 tensors; " ..
        "%peak of the " .. (hw_bf16 and "vdpbf16ps peak" or "fp32 FMA peak"))
      p((bp and string.format("vdpbf16ps peak %.1f GFLOP/s", bp.med) or "no vdpbf16ps peak") ..
        "; bf16/fp32: nerve bf16 over nerve fp32 on the same work and threads")
      head(wide, true)
    end
    local line = string.format("%-" .. w .. "s %2d %10s %10s %5.1f%% %4.2f %5s  %-11s %10s %6s %4s %5s %7s %6s",
      r.w, r.t, x.flop and string.format("%.4g", x.flop * 1e-6) or "-", fmt(r.med), r.spread, r.cpu,
      pct(x.share), pr and pr.impl or "", pr and fmt(pr.med) or "",
      pr and string.format("%5.1f%%", pr.spread) or "", pr and string.format("%4.2f", pr.cpu) or "",
      pct(x.peer_share), x.ratio and string.format("%.2fx", x.ratio) or "",
      x.scaling and string.format("%.2fx", x.scaling) or "")
    if x.bf16 then line = line .. string.format(" %9s", x.vs_fp32 and string.format("%.2fx", x.vs_fp32) or "") end
    p(line)
  end
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

if #sweep > 0 then
  local function num(v) return v and string.format("%.6g", v) or "" end
  f = assert(io.open(out .. "/sweep.csv", "w"))
  f:write("workload,impl,threads,unit,flop_per_sample,median,spread_pct,cpu,peak_pct,",
    "peer,peer_median,peer_spread_pct,peer_cpu,peer_peak_pct,ratio,threads2_over_1,bf16_over_fp32\n")
  for _, x in ipairs(sweep) do
    local r, pr = x.r, x.peer
    f:write(table.concat({ r.w, r.impl, r.t, r.unit, num(x.flop), num(r.med), string.format("%.2f", r.spread),
      string.format("%.3f", r.cpu), num(x.share), pr and pr.impl or "", num(pr and pr.med),
      pr and string.format("%.2f", pr.spread) or "", pr and string.format("%.3f", pr.cpu) or "",
      num(x.peer_share), num(x.ratio), num(x.scaling), num(x.vs_fp32) }, ","), "\n")
  end
  f:close()
  -- the chart's points, one line per network trained in fp32, by FLOPs per
  -- sample: label, FLOP/sample, samples/s of nerve and of PyTorch at 1
  -- and at 2 threads, the rate of threads x the FMA peak at 1 and 2
  -- threads, the heights of nerve's labels at 1 and 2 threads, and 1
  -- where the network is run at several batches (their labels go left,
  -- clear of the next network's); "?" where missing
  local pts = {}
  for _, x in ipairs(sweep) do
    if x.kind == "train" and not x.bf16 then
      local q = pts[#pts]
      if not q or q.w ~= x.r.w then
        q = { w = x.r.w, label = x.net .. " b" .. x.batch, flop = x.flop, batch = x.batch, {}, {} }
        pts[#pts + 1] = q
      end
      q[x.r.t] = { x.r.med, x.peer and x.peer.med }
    end
  end
  table.sort(pts, function(a, b) return a.flop < b.flop or a.flop == b.flop and a.batch < b.batch end)
  -- one network at several batches has one FLOP count: its labels are
  -- spread at least 1.3x apart around their points' middle so they do not
  -- overlap
  local SPREAD = 1.3
  for t = 1, 2 do
    local i = 1
    while i <= #pts do
      local g = {}
      local j = i
      while j <= #pts and pts[j].flop == pts[i].flop do
        if pts[j][t][1] then g[#g + 1] = pts[j] end
        j = j + 1
      end
      table.sort(g, function(a, b) return a[t][1] < b[t][1] end)
      local y = {}
      for k, q in ipairs(g) do y[k] = k > 1 and math.max(q[t][1], y[k - 1] * SPREAD) or q[t][1] end
      -- shift down by the geometric mean of how far each label moved up
      local up = 0
      for k, q in ipairs(g) do up = up + math.log(y[k] / q[t][1]) end
      for k, q in ipairs(g) do q[t].label, q.group = y[k] / math.exp(up / #g), j - i > 1 end
      i = j
    end
  end
  local function dat(v) return v and string.format("%.6g", v) or "?" end
  f = assert(io.open(out .. "/sweep.dat", "w"))
  for _, q in ipairs(pts) do
    f:write(string.format("\"%s\" %.6g %s %s %s %s %s %s %s %s %d\n", q.label, q.flop, dat(q[1][1]), dat(q[1][2]),
      dat(q[2][1]), dat(q[2][2]), dat(peak and peak.med * 1e9 / q.flop), dat(peak and 2 * peak.med * 1e9 / q.flop),
      dat(q[1].label), dat(q[2].label), q.group and 1 or 0))
  end
  f:close()
end
