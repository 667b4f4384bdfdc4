-- POST /oauth2/introspect as Synapse sends it, for a token drawn at random from TOKENS.
local tokens = {}
for line in io.lines(os.getenv("TOKENS")) do tokens[#tokens + 1] = line end
math.randomseed(os.time())
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Accept"] = "application/json"
wrk.headers["X-MAS-Supports-Device-Id"] = "1"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("SECRET")
request = function()
    return wrk.format(nil, nil, nil, "token=" .. tokens[math.random(#tokens)] .. "&token_type_hint=access_token")
end
