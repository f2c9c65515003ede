-- nerve.show and the REPL of ./nerve, which shows values with it.
local nerve = require "nerve"

describe("nerve.show", function()
  it("shows plain tables with their contents, keys sorted", function()
    assert.are.equal('{ 1, 2.5, "x", [true] = 0.1, a = { b = 1 } }',
      nerve.show{ 1, 2.5, "x", a = { b = 1 }, [true] = 0.1 })
    assert.are.equal("{}", nerve.show{})
    assert.are.equal("{ a = { b = { c = {...} } } }", nerve.show{ a = { b = { c = { d = 1 } } } })
    local t = {}
    t.self = t
    assert.are.equal("{ self = <cycle> }", nerve.show(t))
    assert.are.equal("text", nerve.show("text"))
    assert.are.equal("3.0", nerve.show(3.0))
  end)

  it("shows nerve's objects as tostring does, and cuts long tables", function()
    local net = nerve.mlp{ 2, 1 }
    assert.are.equal(tostring(net), nerve.show(net))
    local long = {}
    for i = 1, 100 do long[i] = i end
    local s = nerve.show(long)
    assert.matches("%.%.%. %(60 more%)\n}$", s)
    for line in s:gmatch("[^\n]+") do assert.is_true(#line <= 76) end
  end)
end)

describe("./nerve's REPL", function()
  local function sh(cmd)
    local p = assert(io.popen(cmd .. " 2>&1"))
    local out = p:read("a")
    p:close()
    return out
  end

  it("shows expressions' values readably at its REPL, print unchanged", function()
    local out = sh("printf '%s\\n' 't = { 1, 2, a = { b = true } }' t 'print(t)' " ..
      "'nerve.mlp{ 2, 1 }' '1, \"s\"' | ./nerve")
    assert.matches("nerve is loaded", out, 1, true)
    -- (readline echoes the input lines, so only the results are matched)
    assert.matches("{ 1, 2, a = { b = true } }\n", out, 1, true)
    assert.matches("table: 0x", out, 1, true)
    assert.matches("\nnerve.sequential {\n", out, 1, true)
    assert.matches("1\ts\n", out, 1, true)
  end)

end)
