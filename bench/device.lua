-- POST /oauth2/token, grant_type=urn:ietf:params:oauth:grant-type:device_code, for a public
-- client (CLIENT: its client_id, in the form, MAS's `none` authentication). CODES names a file of
-- device codes, one per line: wrk's threads take disjoint shares of it (every THREADS-th line)
-- and poll their codes round-robin, over and over. Every answer is counted by its `error`
-- (authorization_pending, slow_down, anything else) and the counts are printed at the end as
-- "answers: pending=N slow_down=N other=N".
local threads, counter = {}, 0
function setup(thread)
    thread:set("id", counter)
    counter = counter + 1
    threads[#threads + 1] = thread
end
local codes, next_code = {}, 1
pending, slow, other = 0, 0, 0
function init(args)
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
    wrk.headers["Accept"] = "application/json"
    local n, i = tonumber(os.getenv("THREADS")), 0
    for line in io.lines(os.getenv("CODES")) do
        if i % n == id then codes[#codes + 1] = line end
        i = i + 1
    end
end
local prefix = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&client_id="
    .. os.getenv("CLIENT") .. "&device_code="
request = function()
    local c = codes[next_code]
    next_code = next_code % #codes + 1
    return wrk.format(nil, nil, nil, prefix .. c)
end
response = function(status, headers, body)
    if body:find('"authorization_pending"', 1, true) then
        pending = pending + 1
    elseif body:find('"slow_down"', 1, true) then
        slow = slow + 1
    else
        other = other + 1
    end
end
function done(summary, latency, requests)
    local p, s, o = 0, 0, 0
    for _, t in ipairs(threads) do
        p, s, o = p + t:get("pending"), s + t:get("slow"), o + t:get("other")
    end
    io.write(string.format("answers: pending=%d slow_down=%d other=%d\n", p, s, o))
end
