--- nerve.plot: loss curves of a fit report, in the terminal and as SVG.
--
--   print(nerve.plot.terminal(report))       braille chart (a string)
--   nerve.plot.sparkline(report.history)     one line: "▇▅▃▂▁▁"
--   assert(nerve.plot.loss(report, "loss.svg"))   training and validation
--
-- A report is fit's (history, val_history) or any array of numbers.
local type, error, ipairs, tostring, pairs, tonumber = type, error, ipairs,
  tostring, pairs, tonumber
local format, rep, concat = string.format, string.rep, table.concat
local floor, log, huge, max, min, math_abs = math.floor, math.log, math.huge,
  math.max, math.min, math.abs
local utf8_char = utf8.char
local io = io
local options = require "nerve.options"
local _ENV = nil

local M = {}

local function series(fn, r)
  if type(r) ~= "table" then
    error(fn .. ": expected a fit report or an array of numbers, got "
      .. type(r), 3)
  end
  local train = r.history or r
  if type(train) ~= "table" or #train == 0 then
    error(fn .. ": the report has no losses to plot", 3)
  end
  for i, v in ipairs(train) do
    if type(v) ~= "number" then
      error(fn .. ": loss " .. i .. " is " .. type(v) .. ", expected a number", 3)
    end
  end
  local val = r.val_history
  if type(val) ~= "table" or #val == 0 then val = nil end
  return train, val
end

-- Finite range of the values in the given arrays.
local function range(...)
  local lo, hi = huge, -huge
  for _, a in pairs{ ... } do
    for _, v in ipairs(a) do
      if v == v and v > -huge and v < huge then
        if v < lo then lo = v end
        if v > hi then hi = v end
      end
    end
  end
  if lo > hi then lo, hi = 0, 1 end
  return lo, hi
end

-- The scale: log10 when every value is positive and they span more than
-- a factor 20 (losses usually fall by decades), linear otherwise.
local function scaler(lo, hi, want_log)
  local use_log = want_log
  if use_log == nil then use_log = lo > 0 and hi / lo > 20 end
  if use_log and lo <= 0 then use_log = false end
  local f = use_log and function(v) return log(v, 10) end or function(v) return v end
  local a, b = f(lo), f(hi)
  if b - a < 1e-12 then a, b = a - 0.5, b + 0.5 end
  return function(v) return (f(v) - a) / (b - a) end, use_log
end

-- ------------------------------------------------------------ ticks

-- The smallest of 1, 2, 5 x 10^k that is >= v (v > 0).
local function nice(v)
  local k = floor(log(v, 10) + 1e-9)
  for _, m in ipairs{ 1, 2, 5, 10 } do
    local step = m * 10 ^ k
    if step >= v * (1 - 1e-9) then return step end
  end
  return 10 ^ (k + 1)
end

-- Tick values for the loss axis and the axis's ends, which are ticks too,
-- so every label is a round number: on a linear scale about 5 steps of
-- 1, 2 or 5 x 10^k; on a log scale the decades, with 2 and 5 between
-- them when the range covers two decades or less.
local function value_ticks(lo, hi, is_log)
  local ticks = {}
  if is_log then
    local a = floor(log(lo, 10) + 1e-9)
    local b = floor(log(hi, 10) - 1e-9) + 1
    local marks = b - a <= 2 and { 1, 2, 5 } or { 1 }
    -- at most about 6 decades labelled, the top one among them
    local every = max(1, (b - a + 5) // 6)
    b = a + -((a - b) // every) * every
    for k = a, b do
      if (k - a) % every == 0 or #marks > 1 then
        for _, m in ipairs(marks) do
          ticks[#ticks + 1] = m * 10 ^ k
        end
      end
    end
    -- keep the ticks that bracket [lo, hi] and those inside it
    local first, last = 1, #ticks
    for i = 1, #ticks do
      if ticks[i] <= lo * (1 + 1e-9) then first = i end
    end
    for i = #ticks, 1, -1 do
      if ticks[i] >= hi * (1 - 1e-9) then last = i end
    end
    local kept = {}
    for i = first, last do kept[#kept + 1] = ticks[i] end
    return kept, kept[1], kept[#kept]
  end
  if hi - lo <= 1e-12 * max(1, hi < 0 and -hi or hi) then
    local pad = lo ~= 0 and (lo < 0 and -lo or lo) * 0.1 or 1
    lo, hi = lo - pad, hi + pad
  end
  local step = nice((hi - lo) / 5)
  local k0, k1 = floor(lo / step + 1e-9), -floor(-hi / step + 1e-9)
  for k = k0, k1 do ticks[#ticks + 1] = k * step end
  return ticks, k0 * step, k1 * step
end

-- Epoch ticks for 1..n: 1, then the multiples of a round step.
local function epoch_ticks(n)
  if n <= 1 then return { 1 } end
  local step = max(1, floor(nice((n - 1) / 5) + 0.5))
  local ticks = { 1 }
  for e = step, n, step do
    if e > 1 then ticks[#ticks + 1] = e end
  end
  return ticks
end

-- A tick's label: the shortest %g that shows it (no float noise).
local function tick_label(v)
  for digits = 1, 12 do
    local s = format("%." .. digits .. "g", v)
    if tonumber(s) and math_abs(tonumber(s) - v) <= 1e-9 * math_abs(v) then
      return s
    end
  end
  return format("%.12g", v)
end

local SPARKS = { "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█" }

--- A one-line chart of an array of numbers (or a report's history),
-- at most `width` characters (default 60), resampled by averaging; log
-- scale when the values span more than a factor 20.
function M.sparkline(r, width)
  local train = series("nerve.plot.sparkline", r)
  width = width or 60
  local n = min(#train, width)
  local lo, hi = range(train)
  local scale = scaler(lo, hi, nil)
  local out = {}
  for c = 1, n do
    local i0 = floor((c - 1) * #train / n) + 1
    local i1 = max(i0, floor(c * #train / n))
    local s = 0
    for i = i0, i1 do s = s + train[i] end
    local v = scale(s / (i1 - i0 + 1))
    if v ~= v then v = 0 end
    out[c] = SPARKS[min(8, max(1, floor(v * 7 + 0.5) + 1))]
  end
  return concat(out)
end

-- Braille cells: dot (x, y) of a cell, x in 0..1, y in 0..3 from the top.
local DOT = { [0] = { [0] = 0x01, 0x02, 0x04, 0x40 }, { [0] = 0x08, 0x10, 0x20, 0x80 } }

local VAL_MARK = "•"

--- A braille chart of the training loss (and the validation loss, drawn
-- with • marks when the report has one), returned as a
-- string. opts: width (60), height (12) in characters, log (true, false
-- or nil for automatic).
function M.terminal(r, opts)
  local train, val = series("nerve.plot.terminal", r)
  opts = opts or {}
  local W, H = opts.width or 60, opts.height or 12
  if type(W) ~= "number" or type(H) ~= "number" or W < 8 or H < 2 then
    error("nerve.plot.terminal: width >= 8 and height >= 2 expected", 2)
  end
  W, H = floor(W), floor(H)
  local lo, hi = range(train, val or {})
  local scale, is_log = scaler(lo, hi, opts.log)
  local cells = {}
  for i = 1, W * H do cells[i] = 0 end
  local DX, DY = 2 * W, 4 * H
  local function dot(x, y)
    if x < 0 or x >= DX or y < 0 or y >= DY then return end
    local cx, cy = x // 2, y // 4
    local k = cy * W + cx + 1
    cells[k] = cells[k] | DOT[x % 2][y % 4]
  end
  -- y of a value in dots, 0 at the top
  local function ypos(v)
    local s = scale(v)
    if s ~= s then return nil end
    return floor((1 - s) * (DY - 1) + 0.5)
  end
  local function at(a, x)
    local n = #a
    return a[n == 1 and 1 or floor(x * (n - 1) / (DX - 1) + 0.5) + 1]
  end
  local prev
  for x = 0, DX - 1 do
    local y = ypos(at(train, x))
    if y then
      -- join the previous column's point so steep falls stay lines
      local y0 = prev or y
      for yy = min(y0, y), max(y0, y) do dot(x, yy) end
    end
    prev = y
  end
  -- The validation curve in a glyph of its own, every other character
  -- (and the last), so it stands out from the braille line and the
  -- training curve still shows between its marks where they overlap.
  local marks = {}
  if val then
    for c = 0, W - 1 do
      if c % 2 == 0 or c == W - 1 then
        local y = ypos(at(val, 2 * c + 1))
        if y then marks[(y // 4) * W + c + 1] = true end
      end
    end
  end
  local fmt = function(v) return format("%.3g", v) end
  local top, bottom = fmt(hi), fmt(lo)
  local lw = max(#top, #bottom)
  local lines = {}
  lines[1] = format("%s loss%s, %d epoch%s%s", rep(" ", lw),
    is_log and " (log scale)" or "", #train, #train == 1 and "" or "s",
    val and "  (" .. VAL_MARK .. " validation)" or "")
  for row = 0, H - 1 do
    local label = row == 0 and top or row == H - 1 and bottom or ""
    local chars = {}
    for c = 1, W do
      local k = row * W + c
      chars[c] = marks[k] and VAL_MARK or utf8_char(0x2800 + cells[k])
    end
    lines[#lines + 1] = format("%" .. lw .. "s %s%s", label,
      (row == 0 or row == H - 1) and "┤" or "│", concat(chars))
  end
  local last = tostring(#train)
  lines[#lines + 1] = rep(" ", lw + 1) .. "└" .. rep("─", W)
  lines[#lines + 1] = rep(" ", lw + 2) .. "1" .. rep(" ", max(1, W - 1 - #last))
    .. last
  return concat(lines, "\n")
end

-- ----------------------------------------------------------------- SVG

local function esc(s)
  return (tostring(s):gsub("[<>&\"]", { ["<"] = "&lt;", [">"] = "&gt;",
    ["&"] = "&amp;", ['"'] = "&quot;" }))
end

--- The SVG text of the loss curves (training, and validation when the
-- report has it). opts: width (640), height (400), title, log.
function M.svg(r, opts)
  local train, val = series("nerve.plot.svg", r)
  opts = opts or {}
  local W, H = opts.width or 640, opts.height or 400
  local L, R, T, B = 70, 20, 40, 50
  local pw, ph = W - L - R, H - T - B
  local lo, hi = range(train, val or {})
  local _, is_log = scaler(lo, hi, opts.log)
  local yticks
  yticks, lo, hi = value_ticks(lo, hi, is_log)
  local scale = scaler(lo, hi, is_log)
  local n = max(#train, val and #val or 0)
  local function px(i) return L + (n == 1 and pw / 2 or (i - 1) * pw / (n - 1)) end
  local function py(v)
    local s = scale(v)
    if s ~= s then s = 0 end
    return T + (1 - s) * ph
  end
  local out = {}
  local function add(...) out[#out + 1] = format(...) end
  add('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" ' ..
    'viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">\n',
    W, H, W, H)
  add('<rect width="%d" height="%d" fill="white"/>\n', W, H)
  add('<text x="%d" y="24" font-size="15">%s</text>\n', L,
    esc(opts.title or "nerve.fit loss"))
  -- axes, ticks and grid
  add('<path d="M%d %d V%d H%d" stroke="black" fill="none"/>\n', L, T,
    T + ph, L + pw)
  for _, v in ipairs(yticks) do
    local y = py(v)
    add('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>\n',
      L, y, L + pw, y)
    add('<text x="%d" y="%.1f" text-anchor="end">%s</text>\n', L - 6, y + 4,
      tick_label(v))
  end
  for _, i in ipairs(epoch_ticks(n)) do
    add('<text x="%.1f" y="%d" text-anchor="middle">%d</text>\n', px(i),
      T + ph + 18, i)
  end
  add('<text x="%.1f" y="%d" text-anchor="middle">epoch</text>\n',
    L + pw / 2, H - 10)
  add('<text x="16" y="%.1f" transform="rotate(-90 16 %.1f)" ' ..
    'text-anchor="middle">loss%s</text>\n', T + ph / 2, T + ph / 2,
    is_log and " (log)" or "")
  local function line(a, color, name, y)
    local pts = {}
    for i, v in ipairs(a) do
      if v == v and v > -huge and v < huge then
        pts[#pts + 1] = format("%.1f,%.1f", px(i), py(v))
      end
    end
    add('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>\n',
      color, concat(pts, " "))
    add('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"/>\n',
      L + pw - 120, y, L + pw - 100, y, color)
    add('<text x="%d" y="%d">%s</text>\n', L + pw - 94, y + 4, name)
  end
  line(train, "#1f77b4", "training", T + 10)
  if val then line(val, "#d62728", "validation", T + 28) end
  add("</svg>\n")
  return concat(out)
end

--- nerve.plot.loss(report, path [, opts]): writes the SVG of the loss
-- curves to path. Returns true, or nil and a message when the file
-- cannot be written.
function M.loss(r, path, opts)
  if type(path) ~= "string" then
    error("nerve.plot.loss: path must be a string, got " .. type(path), 2)
  end
  local bad = options.path_problem(path)
  if bad then return nil, "nerve.plot.loss: " .. bad end
  local text = M.svg(r, opts)
  local f, err = io.open(path, "w")
  if not f then return nil, err end
  local ok, werr = f:write(text)
  local cok, cerr = f:close()
  if not ok then return nil, werr end
  if not cok then return nil, cerr end
  return true
end

return M
