-- game.lua - the script side of examples/host/game.c: an NPC learns, while
-- the game runs, which places of the arena are dangerous (a ring around
-- the centre), a few batches per frame; the host asks the published model
-- every frame. Loaded by the host as an asset; returns its functions.
local nerve = require "nerve"

local game = {}
local net, trainer, model

-- n points of the arena [-1, 1]^2, danger 1 inside the ring.
local function arena(n)
  local rng = nerve.core.rng(7)
  local x, y = nerve.matrix(n, 2), nerve.matrix(n, 1)
  for i = 1, n do
    local a, b = rng:uniform() * 2 - 1, rng:uniform() * 2 - 1
    x:set(i, 1, a)
    x:set(i, 2, b)
    local r = math.sqrt(a * a + b * b)
    y:set(i, 1, (r > 0.4 and r < 0.75) and 1 or 0)
  end
  return x, y
end

function game.setup(seed)
  nerve.seed(seed)
  local x, y = arena(4096)
  net = nerve.mlp{ 2, 64, 64, 1, hidden = "tanh", output = "sigmoid" }
  trainer = nerve.trainer(net, x, y, {
    loss = nerve.bce(), optimizer = nerve.adam(net, { lr = 0.01 }),
    batch = 32, epochs = 60, seed = seed,
  })
  model = net:clone()   -- what the game uses; training never touches it
end

-- Trains for at most `budget` seconds; returns batches run, epoch, the
-- last batch's loss and whether training has ended.
function game.update(budget)
  local done, batches = trainer:run_for(budget)
  return batches, trainer.epoch, trainer.loss or 0, done
end

-- The trained weights become the game's model (in place: no allocation).
function game.publish() model:copy_parameters(net) end

-- The model's bytes (what a game would write to its asset store).
function game.snapshot() return model:serialize() end

-- Hot reload from memory: bytes of a saved model replace the game's model.
function game.reload(bytes)
  model = assert(nerve.deserialize(bytes))
end

function game.model() return model end

function game.accuracy()
  local x, y = arena(1024)
  local out = model:forward(x)
  local right = 0
  for i = 1, 1024 do
    if (out:get(i, 1) > 0.5) == (y:get(i, 1) > 0.5) then right = right + 1 end
  end
  return right / 1024
end

return game
