-- POST /_matrix/client/v3/login with a password, a new device each time.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"type":"m.login.password","identifier":{"type":"m.id.user","user":"bench"},"password":"correct horse battery staple"}'
