-- Busted output handler: the plain terminal report, then one closing line
-- "spec: N passed, M failed" (errors count as failures, pending as skipped).
return function(options)
  local busted = require "busted"
  local handler = require("busted.outputHandlers.plainTerminal")(options)
  busted.subscribe({ "suite", "end" }, function()
    local failed = #handler.failures + #handler.errors
    local line = string.format("spec: %d passed, %d failed",
      #handler.successes, failed)
    if #handler.pendings > 0 then
      line = line .. string.format(", %d skipped", #handler.pendings)
    end
    io.write(line, "\n")
    io.flush()
    return nil, true
  end)
  return handler
end
