-- wrk script: POST /v1/orders, one new order per request, each for one unit of a hot sku
-- (10 listings). Order references are unique per thread and request, so none is a duplicate.
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

local key = os.getenv("API_KEY") or "dev-local-key"
local n = 0
function request()
  n = n + 1
  local body = string.format(
    '{"channel":"channel-0","order":"W%d-%d","location":"LOC-0","lines":[{"sku":"SKU-0000000","qty":1}]}',
    tid, n)
  return wrk.format("POST", "/v1/orders",
    { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key }, body)
end
