-- A storm of compat password logins, each on a new connection (Connection: close) that starts with
-- a PROXY v2 header naming a random client address in 198.18.0.0/15 (the benchmarking range), so
-- the per-IP login limit sees many clients. USERS accounts storm1..stormN, drawn at random,
-- password PASSWORD. A 429 is honoured as a polite client would: the next request of this thread
-- waits retry_after_ms (at most 1 s).
local users = tonumber(os.getenv("USERS") or "1")
local password = os.getenv("PASSWORD")
math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 1000003)
local sig = "\r\n\r\n\0\r\nQUIT\n"
local wait_ms = 0
-- wrk checks the first request() of its first thread with an HTTP parser, which a PROXY header
-- would fail, and sends nothing of it: that one call is plain. Run with -t1.
local calls = 0

local function proxy_v2()
    return sig .. string.char(0x21, 0x11, 0, 12,
        198, 18 + math.random(0, 1), math.random(0, 255), math.random(1, 254), -- source
        127, 0, 0, 1,                                                            -- destination
        math.random(1, 255), math.random(0, 255), 0, 80)                         -- ports
end

request = function()
    local body = '{"type":"m.login.password","identifier":{"type":"m.id.user","user":"storm' ..
        math.random(users) .. '"},"password":"' .. password .. '"}'
    calls = calls + 1
    return (calls > 1 and proxy_v2() or "") .. wrk.format("POST", "/_matrix/client/v3/login",
        {["Content-Type"] = "application/json", ["Connection"] = "close"}, body)
end

response = function(status, headers, body)
    wait_ms = 0
    if status == 429 then
        wait_ms = tonumber(body:match('"retry_after_ms":%s*(%d+)') or "200")
        if wait_ms > 1000 then wait_ms = 1000 end
    end
end

delay = function() return wait_ms end
