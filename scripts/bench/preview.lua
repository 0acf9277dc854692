-- wrk script: POST /v1/preview of one hypothetical order for a hot sku (10 listings). A preview
-- plans on a copy of the hub and stores nothing.
local n = 0
function request()
  n = n + 1
  local body = string.format('{"events":[{"type":"order_placed","order":{"channel":"channel-0","order":"P-%d","location":"LOC-0","lines":[{"sku":"SKU-0000000","qty":1}]}}]}', n)
  return wrk.format("POST", "/v1/preview", {["Content-Type"]="application/json", ["Authorization"]="Bearer " .. (os.getenv("API_KEY") or "dev-local-key")}, body)
end
