-- docs/tutorial.md's Lua blocks run as written, so the tutorial cannot
-- drift from the API. The markers (HTML comments, invisible on the page):
--   <!-- run -->           the next Lua block runs; one that starts with
--                          `local nerve = require "nerve"` begins a new
--                          program, any other continues the one before
--   <!-- output -->        the next block must appear in the program's output
--   <!-- skip: reason -->  the next Lua block is not run (data, time)
-- Each program runs in a fresh lua5.4 in a scratch folder (files it
-- writes go there) in which examples/ is the repository's.

local TUTORIAL = "docs/tutorial.md"
local START = 'local nerve = require "nerve"'

-- The programs: { code = {lines}, outputs = {texts}, line = first line }.
local function parse(path)
  local programs, skipped, unmarked = {}, 0, {}
  local marker, block, kind, start
  local n = 0
  for line in io.lines(path) do
    n = n + 1
    if block then
      if line:match("^```%s*$") then
        local text = table.concat(block, "\n")
        if kind == "lua" then
          if marker == "run" then
            local prog = programs[#programs]
            if not prog or text:sub(1, #START) == START then
              prog = { code = {}, outputs = {}, line = start }
              programs[#programs + 1] = prog
            end
            prog.code[#prog.code + 1] = text
          elseif marker == "skip" then
            skipped = skipped + 1
          else
            unmarked[#unmarked + 1] = start
          end
        elseif marker == "output" then
          local prog = assert(programs[#programs], "output before any program")
          prog.outputs[#prog.outputs + 1] = text
        end
        block, marker = nil, nil
      else
        -- REPL transcripts: the prompt is not part of the code
        block[#block + 1] = kind == "lua" and line:gsub("^> ", "") or line
      end
    else
      local fence = line:match("^```(%w*)")
      if fence then
        block, kind, start = {}, fence, n
      elseif line:match("^<!%-%- run %-%->") then
        marker = "run"
      elseif line:match("^<!%-%- output %-%->") then
        marker = "output"
      elseif line:match("^<!%-%- skip: .+%-%->") then
        marker = "skip"
      end
    end
  end
  return programs, skipped, unmarked
end

local function absolute(paths, root)
  return (paths:gsub("([^;]+)", function(p)
    if p:sub(1, 1) == "/" then return p end
    return root .. "/" .. p
  end))
end

local function run(code)
  local root = io.popen("pwd"):read("l")
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir " .. dir .. " && ln -s " .. root .. "/examples "
    .. dir .. "/examples"))
  local f = assert(io.open(dir .. "/program.lua", "w"))
  f:write(code, "\n")
  f:close()
  local p = assert(io.popen(string.format(
    "cd %s && LUA_PATH=%q LUA_CPATH=%q lua5.4 program.lua 2>&1; echo \"exit $?\"",
    dir, absolute(package.path, root), absolute(package.cpath, root))))
  local out = p:read("a")
  p:close()
  os.execute("rm -rf " .. dir)
  local status = tonumber(out:match("exit (%d+)\n$"))
  return status, out
end

describe("docs/tutorial.md", function()
  local programs, skipped, unmarked = parse(TUTORIAL)

  it("marks every Lua block as run or skip", function()
    assert.same({}, unmarked, "unmarked Lua blocks at lines "
      .. table.concat(unmarked, ", "))
    assert.is_true(#programs >= 2)
    assert.is_true(skipped <= 2, "only the MNIST blocks may be skipped")
  end)

  for _, prog in ipairs(programs) do
    it("runs the program at line " .. prog.line, function()
      local status, out = run(table.concat(prog.code, "\n"))
      assert.equal(0, status, out)
      for _, expected in ipairs(prog.outputs) do
        assert.truthy(out:find(expected, 1, true),
          "expected in the output:\n" .. expected .. "\ngot:\n" .. out)
      end
    end)
  end
end)
