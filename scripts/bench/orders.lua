-- wrk script: POST /v1/orders, one new order per request, each for one unit of ORDER_SKU
-- (default SKU-0000000, a hot sku with 10 listings; SKU-0000001 has one, which separates what
-- an order costs whatever it touches from what each planned push adds). Order references are unique per run, thread and request, so none is a
-- duplicate: `run` is random per wrk run (a duplicate answers without reserving or pushing, so
-- a run that repeated an earlier run's references measured mostly duplicates).
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

local function run_id()
  local f = io.open("/proc/sys/kernel/random/uuid")
  if not f then return string.format("%x", os.time()) end
  local id = f:read("*l"):sub(1, 8)
  f:close()
  return id
end
local run = run_id()
local key = os.getenv("API_KEY") or "dev-local-key"
local sku = os.getenv("ORDER_SKU") or "SKU-0000000"
local n = 0
function request()
  n = n + 1
  local body = string.format(
    '{"channel":"channel-0","order":"W%s-%d-%d","location":"LOC-0","lines":[{"sku":"%s","qty":1}]}',
    run, tid, n, sku)
  return wrk.format("POST", "/v1/orders",
    { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key }, body)
end
