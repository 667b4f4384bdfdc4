-- POST an introspection request for a token drawn at random from the file TOKENS (one per line).
-- AUTH is the whole Authorization header (default: Bearer $SECRET, as Synapse sends it to MAS,
-- with X-MAS-Supports-Device-Id); the path is the URL's.
local tokens = {}
for line in io.lines(os.getenv("TOKENS")) do tokens[#tokens + 1] = line end
math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 1000003)
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Accept"] = "application/json"
wrk.headers["X-MAS-Supports-Device-Id"] = "1"
local auth = os.getenv("AUTH")
if auth == nil or auth == "" then auth = "Bearer " .. os.getenv("SECRET") end
wrk.headers["Authorization"] = auth
request = function()
    return wrk.format(nil, nil, nil, "token=" .. tokens[math.random(#tokens)] .. "&token_type_hint=access_token")
end
-- PACE_MS: each connection waits this long before its next request (a fixed offered load well
-- below saturation, for latency comparisons: 64 connections x 1 per PACE_MS).
local pace = tonumber(os.getenv("PACE_MS") or "")
if pace and pace > 0 then
    delay = function() return pace end
end
