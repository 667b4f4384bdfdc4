-- POST /oauth2/token (or oidc-provider's /token), client_secret_basic (AUTH: the whole
-- Authorization header); the path is the URL's.
--   GRANT=client_credentials: the same body every time.
--   GRANT=refresh_token: TOKENS names a file of refresh tokens, one per line, each valid once
--   (rotation): wrk's threads take disjoint shares of it (every THREADS-th line) and walk them
--   once each, in order; a thread that runs out sends "exhausted" (an invalid_grant: non-2xx).
local threads, counter = {}, 0
function setup(thread)
    thread:set("id", counter)
    counter = counter + 1
    threads[#threads + 1] = thread
end
local tokens, next_token = {}, 1
function init(args)
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
    wrk.headers["Accept"] = "application/json"
    wrk.headers["Authorization"] = os.getenv("AUTH")
    if os.getenv("GRANT") == "refresh_token" then
        local n, i = tonumber(os.getenv("THREADS")), 0
        for line in io.lines(os.getenv("TOKENS")) do
            if i % n == id then tokens[#tokens + 1] = line end
            i = i + 1
        end
    end
end
local cc, refresh = "grant_type=client_credentials", os.getenv("GRANT") == "refresh_token"
request = function()
    if not refresh then
        return wrk.format(nil, nil, nil, cc)
    end
    local t = tokens[next_token] or "exhausted"
    next_token = next_token + 1
    return wrk.format(nil, nil, nil, "grant_type=refresh_token&refresh_token=" .. t)
end
