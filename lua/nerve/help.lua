--- nerve.help: docstrings reachable from the REPL.
--
--   nerve.help()               the index: every documented name, one line each
--   nerve.help(nerve.fit)      one entry, by function ...
--   nerve.help("fit")          ... or by name ("nerve.fit", "net:forward")
--   nerve.help(net)            the methods of an object's type
--
-- The entries are kept here, beside the API they describe (docs/api.md is
-- the reference; these are its short forms). Results are strings: the REPL
-- shows them, scripts print them if they want.
local type, pairs, ipairs, tostring, getmetatable, sort, concat, format =
  type, pairs, ipairs, tostring, getmetatable, table.sort, table.concat,
  string.format
local require = require
local _ENV = nil

-- name = { "signature", "what it does" }; names are the ones a user types.
local DOCS = {
  -- matrices
  ["nerve.matrix"] = { "nerve.matrix(rows, cols [, fill]) | nerve.matrix{ {1,2}, {3,4} }",
    "A float32 matrix, zero or fill; from a table of rows (a flat table is one row)." },
  ["m:shape"] = { "m:shape() -> rows, cols", "The matrix's size (#m is rows)." },
  ["m:get"] = { "m:get(i, j)", "One element, 1-based, bounds-checked." },
  ["m:set"] = { "m:set(i, j, v)", "Sets one element." },
  ["m:totable"] = { "m:totable()", "A table of rows of numbers." },
  ["m:copy"] = { "m:copy()", "A new matrix with its own storage." },
  ["m:fill"] = { "m:fill(v)", "Sets every element; returns m." },
  -- layers and networks
  ["nerve.linear"] = { "nerve.linear(n_in, n_out [, {init = 'xavier'|'he'|'uniform'|fn}])",
    "A fully connected layer a = o W + b; W is n_in x n_out, biases start at zero." },
  ["nerve.sigmoid"] = { "nerve.sigmoid()", "Activation 1 / (1 + e^-a)." },
  ["nerve.tanh"] = { "nerve.tanh()", "Activation tanh(a)." },
  ["nerve.relu"] = { "nerve.relu()", "Activation max(0, a)." },
  ["nerve.leaky_relu"] = { "nerve.leaky_relu([alpha = 0.01])", "Activation a, or alpha a below 0." },
  ["nerve.softmax"] = { "nerve.softmax()", "Softmax over each row." },
  ["nerve.identity"] = { "nerve.identity()", "Passes values through." },
  ["nerve.sequential"] = { "nerve.sequential{ layer, ... }", "A network of the layers in order; net:add(layer) appends." },
  ["nerve.mlp"] = { "nerve.mlp{ 2, 4, 1, hidden = 'sigmoid', output = 'sigmoid' }",
    "Linear layers of those widths, each followed by an activation ('linear': none)." },
  ["net:forward"] = { "net:forward(x) -> yhat", "Output B x n_out for the batch x (a network buffer: :copy() to keep it)." },
  ["net:predict"] = { "net:predict(x) -> yhat", "The output in evaluation mode (dropout off, mode kept), as a new matrix of its own (forward's is the network's buffer)." },
  ["net:backward"] = { "net:backward(x, grad_output [, want_dx]) -> dE/dx", "Adds the batch's parameter gradients for the last forward(x); want_dx = false skips dE/dx (returns nothing)." },
  ["net:zero_grad"] = { "net:zero_grad()", "Sets the accumulated gradients to zero." },
  ["net:update"] = { "net:update(lr)", "Plain gradient descent: p = p - lr grad(p)." },
  ["net:add"] = { "net:add(layer) -> net", "Appends a layer." },
  ["net:layer"] = { "net:layer(i)", "The i-th layer (#net layers); linear layers have weight, bias, grad_weight, grad_bias." },
  ["net:parameters"] = { "net:parameters()", "{W1, b1, W2, b2, ...}: matrices sharing storage with the network." },
  ["net:num_parameters"] = { "net:num_parameters()", "The count of trainable numbers." },
  ["net:clone"] = { "net:clone()", "A deep copy (the precision too)." },
  ["net:precision"] = { "net:precision([p]) -> p | net", "The matrix products' arithmetic, fp32 (default) or bf16: operands rounded to bfloat16, products summed in float32; weights, gradients and the rest stay float32." },
  ["net:summary"] = { "net:summary()", "A table of layers, output shapes and parameter counts (like Keras)." },
  ["net:save"] = { "net:save(path) -> true | nil, message", "Writes the model file atomically." },
  ["net:serialize"] = { "net:serialize() -> bytes", "The model file's bytes as a string." },
  ["nerve.load"] = { "nerve.load(path) -> net | nil, message", "Reads a model file." },
  ["nerve.deserialize"] = { "nerve.deserialize(bytes) -> net | nil, message", "A network from model bytes (hot reload from memory)." },
  -- losses and optimizers
  ["nerve.mse"] = { "nerve.mse()", "E = 1/(2B) sum (yhat - y)^2; loss:forward(yhat, y), loss:backward(yhat, y)." },
  ["nerve.cross_entropy"] = { "nerve.cross_entropy()", "On logits; targets one-hot or class indices 1..C." },
  ["nerve.bce"] = { "nerve.bce()", "Binary cross-entropy on probabilities in (0, 1)." },
  ["nerve.sgd"] = { "nerve.sgd(net, {lr = 0.1, momentum = 0, nesterov = false, weight_decay = 0})",
    "Stochastic gradient descent; opt:step() applies the accumulated gradients. "
    .. "opt.net is the network it steps (fit refuses it for another)." },
  ["nerve.adam"] = { "nerve.adam(net, {lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0})",
    "Bias-corrected Adam; opt.net is the network it steps (fit refuses it for another)." },
  -- training
  ["nerve.fit"] = { "nerve.fit(net, x, y, opts) -> report",
    "Mini-batch training. opts: loss, optimizer, batch (32), epochs (1000), shuffle, seed, stop, "
    .. "validation = {x, y}, on_epoch, progress (a bar on a terminal), yield (inside a coroutine). "
    .. "report: epochs, loss, history, val_loss, val_history, stopped, seconds, best_epoch, "
    .. "restored (true when early's restore or restore_on_diverge put back earlier weights; "
    .. "val_loss is then theirs); tostring(report) summarises it." },
  ["nerve.trainer"] = { "nerve.trainer(net, x, y, opts) -> t",
    "fit a few batches at a time, for game loops: t:step(n) -> done; t:run_for(seconds); "
    .. "fields epoch, loss, batches, done, report." },
  ["nerve.stop.loss_below"] = { "nerve.stop.loss_below(eps)", "Stops when the epoch's loss is below eps." },
  ["nerve.stop.epochs"] = { "nerve.stop.epochs(n)", "Stops after n epochs." },
  ["nerve.stop.plateau"] = { "nerve.stop.plateau{patience = k, min_delta = d}", "Stops when the loss stopped improving." },
  ["nerve.stop.early"] = { "nerve.stop.early{patience = k, restore = true}", "Stops when the validation loss stopped improving; restore puts back the best epoch's weights (report.best_epoch, report.restored)." },
  ["nerve.stop.grad_norm_below"] = { "nerve.stop.grad_norm_below(eps)", "Stops when the gradient norm is below eps." },
  ["nerve.stop.seconds"] = { "nerve.stop.seconds(t)", "Stops after t seconds." },
  ["nerve.stop.any"] = { "nerve.stop.any{ c1, c2, ... }", "Stops when one criterion fires (reports its name)." },
  ["nerve.stop.all"] = { "nerve.stop.all{ c1, c2, ... }", "Stops when all fire." },
  ["nerve.accuracy"] = { "nerve.accuracy(net, x, y)", "Fraction of rows whose largest output is the class in y." },
  ["nerve.gradcheck"] = { "nerve.gradcheck(net, loss, x, y [, eps])", "Largest relative difference of backprop and numeric gradients." },
  -- plots
  ["nerve.plot.terminal"] = { "nerve.plot.terminal(report [, {width, height, log}])", "A braille chart of the loss curves, as a string." },
  ["nerve.plot.sparkline"] = { "nerve.plot.sparkline(report | numbers [, width])", "A one-line chart." },
  ["nerve.plot.loss"] = { "nerve.plot.loss(report, path [, {width, height, title, log}])",
    "Writes an SVG of the training and validation loss; true or nil, message." },
  -- engine
  ["nerve.seed"] = { "nerve.seed(n)", "Seeds this state's generator (initialisation, shuffling)." },
  ["nerve.isa"] = { "nerve.isa()", "The SIMD path in use: avx512, avx2, neon or scalar." },
  ["nerve.precisions"] = { "nerve.precisions() -> {fp32 = how, bf16 = how}", "How each precision runs on this CPU: fp32 on the SIMD path, bf16 amx, avx512_bf16 or emulated." },
  ["nerve.set_isa"] = { "nerve.set_isa(name)", "Forces a SIMD path (NERVE_ISA does the same at load); an unsupported one is an error naming the paths this CPU runs." },
  ["nerve.threads"] = { "nerve.threads([n])", "Gets or sets the worker threads for large batches." },
  ["nerve.help"] = { "nerve.help([fn | name | object])", "This help: the index, one entry, or an object's methods." },
}

local M = { docs = DOCS }

local function entry(name)
  local d = DOCS[name]
  return d[1] .. "\n  " .. d[2]
end

-- The documented name of a value: nerve.X, nerve.stop.X, nerve.plot.X,
-- or a method of a network or a matrix.
local function name_of(v)
  local nerve = require "nerve"
  for _, space in ipairs{ { "nerve.", nerve }, { "nerve.stop.", nerve.stop },
      { "nerve.plot.", nerve.plot } } do
    for k, f in pairs(space[2]) do
      if f == v and DOCS[space[1] .. k] then return space[1] .. k end
    end
  end
  local core = nerve.core
  for _, pair in ipairs{ { "net:", getmetatable(core.net()).__index },
      { "m:", getmetatable(core.matrix(1, 1)).__index } } do
    if type(pair[2]) == "table" then
      for k, f in pairs(pair[2]) do
        if f == v and DOCS[pair[1] .. k] then return pair[1] .. k end
      end
    end
  end
  return nil
end

local function index()
  local names = {}
  for k in pairs(DOCS) do names[#names + 1] = k end
  sort(names)
  local out = { "nerve " .. require("nerve").version
    .. ": nerve.help(name or function) for one entry" }
  for _, k in ipairs(names) do
    local text = DOCS[k][2]
    out[#out + 1] = format("  %-26s %s", k,
      text:match("^(.-)[.;:]%s") or text:gsub("%.$", ""))
  end
  return concat(out, "\n")
end

-- Entries whose names start with prefix.
local function group(prefix)
  local names = {}
  for k in pairs(DOCS) do
    if k:sub(1, #prefix) == prefix then names[#names + 1] = k end
  end
  sort(names)
  local out = {}
  for _, k in ipairs(names) do out[#out + 1] = entry(k) end
  return concat(out, "\n")
end

--- nerve.help([what]): see the top of this file.
function M.help(what)
  if what == nil then return index() end
  local t = type(what)
  if t == "string" then
    local key = what
    if DOCS[key] then return entry(key) end
    for _, p in ipairs{ "nerve.", "nerve.stop.", "nerve.plot.", "net:", "m:" } do
      if DOCS[p .. key] then return entry(p .. key) end
    end
    return "nerve.help: nothing documented as '" .. what .. "' (nerve.help() lists all)"
  end
  local name = name_of(what)
  if name then return entry(name) end
  local core = require("nerve").core
  if core.is_net(what) then return group("net:") end
  if core.is_matrix(what) then return group("m:") end
  return "nerve.help: no entry for this " .. t .. " (" .. tostring(what)
    .. "); nerve.help() lists all"
end

return M
