-- wrk script: like orders.lua, for SKU-0000001, a sku with one listing: beside orders.lua it
-- separates what an order costs whatever it touches from what each planned push adds. Order
-- references are unique per run (random `run`), thread and request, as in orders.lua.
local threads = 0
function setup(thread) thread:set("tid", threads); threads = threads + 1 end
local function run_id()
  local f = io.open("/proc/sys/kernel/random/uuid")
  if not f then return string.format("%x", os.time()) end
  local id = f:read("*l"):sub(1, 8)
  f:close()
  return id
end
local run = run_id()
local n = 0
function request()
  n = n + 1
  local body = string.format('{"channel":"channel-0","order":"N%s-%d-%d","location":"LOC-0","lines":[{"sku":"SKU-0000001","qty":1}]}', run, tid, n)
  return wrk.format("POST", "/v1/orders", {["Content-Type"]="application/json", ["Authorization"]="Bearer " .. (os.getenv("API_KEY") or "dev-local-key")}, body)
end
