#!/usr/bin/env bash
# The relying party for upstream providers (common/upstream/upstream_rp.h) against a real OpenID
# Provider, node oidc-provider 8.8.1 (tests/node/idp.mjs): a code got through the IdP's login and
# consent pages is exchanged by tests/unit/upstream_rp_probe.c with each client authentication
# method (client_secret_basic, client_secret_post, client_secret_jwt, private_key_jwt, none with
# PKCE), userinfo as JSON and as a signed JWT; the discovery document and the JWKS are fetched
# once across every exchange (counted in the IdP's request log), the JWKS again after its
# lifetime and for the unknown kid of a rotated key (but not twice within 30 s); a replayed code,
# a wrong nonce and an alg mismatch are refused; the logout token of the IdP's real back-channel
# logout validates; an IdP that never answers gives UNREACHABLE within the test's timeout.
# Sign in with Apple, which only Apple speaks, is checked at a capture server: the client_secret
# it receives must be the ES256 JWT Apple documents; the same server's oversized discovery
# document is refused. A JWKS that cannot be fetched is not tried again within 30 s.
# No storage is involved, so the script runs once whatever MASD_TEST_PG_URI says.
. "$(dirname "$0")/lib.sh"
PROBE_BIN=$BUILD/tests/upstream_rp_probe
require_binaries "$PROBE_BIN"
need_command node

IDP_PORT=$(free_port)
HOLE_PORT=$(free_port)
CAPTURE_PORT=$(free_port)
DEAD_PORT=$(free_port)
ISSUER=http://127.0.0.1:$IDP_PORT
REDIRECT=http://127.0.0.1:9/callback
SECRET=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
make_keys
openssl pkey -in "$T/keys/ec.pem" -pubout -out "$T/keys/ec.pub"

# masd's public RSA key for the private_key_jwt client (kid rsa-key, as in secrets_yaml)
PUBJWK=$(node -e '
const c = require("crypto"), fs = require("fs");
const k = c.createPublicKey(fs.readFileSync(process.argv[1])).export({format: "jwk"});
console.log(JSON.stringify({...k, kid: "rsa-key", use: "sig", alg: "RS256"}));' "$T/keys/rsa.pem")

cat >"$T/clients.json" <<EOF
{"clients": [
  {"client_id": "masd-basic", "client_secret": "$SECRET", "redirect_uris": ["$REDIRECT"],
   "token_endpoint_auth_method": "client_secret_basic",
   "backchannel_logout_uri": "$ISSUER/_test/bcl-sink", "backchannel_logout_session_required": true},
  {"client_id": "masd-post", "client_secret": "$SECRET", "redirect_uris": ["$REDIRECT"],
   "token_endpoint_auth_method": "client_secret_post", "userinfo_signed_response_alg": "RS256"},
  {"client_id": "masd-jwt", "client_secret": "$SECRET", "redirect_uris": ["$REDIRECT"],
   "token_endpoint_auth_method": "client_secret_jwt", "token_endpoint_auth_signing_alg": "HS256"},
  {"client_id": "masd-pkjwt", "redirect_uris": ["$REDIRECT"],
   "token_endpoint_auth_method": "private_key_jwt", "token_endpoint_auth_signing_alg": "RS256",
   "jwks": {"keys": [$PUBJWK]}},
  {"client_id": "masd-public", "redirect_uris": ["$REDIRECT"], "token_endpoint_auth_method": "none"}
]}
EOF

provider() # ID CLIENT METHOD [extra lines]
{
    cat <<EOF
    - id: $1
      issuer: "$ISSUER"
      discovery_mode: insecure
      client_id: $2
      token_endpoint_auth_method: $3
      scope: "openid profile email"
$4
EOF
}

{
    cat <<EOF
http:
  public_base: https://auth.example.com/
  listeners:
    - name: human
      resources: [{name: human}]
      binds: [{socket: $T/run/human.sock}]
database:
  uri: "sqlite://$T/unused.db"
matrix:
  homeserver: example.com
  endpoint: http://127.0.0.1:9/
  secret: s
EOF
    secrets_yaml
    echo "upstream_oauth2:"
    echo "  providers:"
    provider 01JAYS74TCG3BTWKADN5Q45180 masd-basic client_secret_basic "      client_secret: $SECRET
      fetch_userinfo: true"
    provider 01JAYS74TCG3BTWKADN5Q45181 masd-post client_secret_post "      client_secret: $SECRET
      fetch_userinfo: true
      userinfo_signed_response_alg: RS256"
    provider 01JAYS74TCG3BTWKADN5Q45182 masd-jwt client_secret_jwt "      client_secret: $SECRET
      token_endpoint_auth_signing_alg: HS256"
    provider 01JAYS74TCG3BTWKADN5Q45183 masd-pkjwt private_key_jwt "      token_endpoint_auth_signing_alg: RS256"
    provider 01JAYS74TCG3BTWKADN5Q45184 masd-public none ""
    # 5: an IdP that accepts connections and never answers
    cat <<EOF
    - id: 01JAYS74TCG3BTWKADN5Q45185
      issuer: "http://127.0.0.1:$HOLE_PORT"
      discovery_mode: insecure
      client_id: masd
      client_secret: $SECRET
      token_endpoint_auth_method: client_secret_basic
EOF
    # 6: expects ES256 ID tokens, the IdP signs this client's with RS256
    provider 01JAYS74TCG3BTWKADN5Q45186 masd-basic client_secret_basic "      client_secret: $SECRET
      id_token_signed_response_alg: ES256"
    # 7: Sign in with Apple, against the capture server's token endpoint
    cat <<EOF
    - id: 01JAYS74TCG3BTWKADN5Q45187
      discovery_mode: disabled
      issuer: "https://appleid.apple.com"
      authorization_endpoint: "http://127.0.0.1:$CAPTURE_PORT/auth"
      token_endpoint: "http://127.0.0.1:$CAPTURE_PORT/token"
      jwks_uri: "http://127.0.0.1:$CAPTURE_PORT/jwks"
      client_id: com.example.masd
      token_endpoint_auth_method: sign_in_with_apple
      sign_in_with_apple:
        private_key_file: $T/keys/ec.pem
        team_id: TEAM123456
        key_id: KEY7654321
    # 8: a discovery document larger than any answer masd reads
    - id: 01JAYS74TCG3BTWKADN5Q45188
      issuer: "http://127.0.0.1:$CAPTURE_PORT"
      discovery_mode: insecure
      client_id: masd
      client_secret: $SECRET
      token_endpoint_auth_method: client_secret_basic
    # 9: a JWKS nobody serves
    - id: 01JAYS74TCG3BTWKADN5Q45189
      discovery_mode: disabled
      issuer: "$ISSUER"
      authorization_endpoint: "$ISSUER/auth"
      token_endpoint: "$ISSUER/token"
      jwks_uri: "http://127.0.0.1:$DEAD_PORT/jwks"
      client_id: masd-basic
      client_secret: $SECRET
      token_endpoint_auth_method: client_secret_basic
EOF
} >"$T/config.yaml"

idp_start() # KEYSFILE
{
    spawn idp "$T/logs/idp.log" node "$NODE_DIR/idp.mjs" --port "$IDP_PORT" --config "$T/clients.json" \
        --keys "$1" --log "$T/idp-requests.log"
    wait_listen "127.0.0.1:$IDP_PORT" "${PID_OF[idp]}" 20
}
check "the IdP starts" idp_start "$T/keys1.json"

# a socket that accepts (the kernel completes the handshake into the backlog) and never answers
spawn hole "$T/logs/hole.log" python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16); time.sleep(3600)' "$HOLE_PORT"
wait_listen "127.0.0.1:$HOLE_PORT" "${PID_OF[hole]}" 10

# a capture server: records the token request's form and answers invalid_client; serves a
# 300 KiB discovery document
spawn capture "$T/logs/capture.log" python3 -c '
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        open(sys.argv[2], "wb").write(body)
        self.send_response(400); self.send_header("Content-Type", "application/json"); self.end_headers()
        self.wfile.write(b"{\"error\":\"invalid_client\"}")
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Type", "application/json"); self.end_headers()
        self.wfile.write(b"{\"x\":\"" + b"a" * 300 * 1024 + b"\"}")
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()' "$CAPTURE_PORT" "$T/captured.form"
wait_listen "127.0.0.1:$CAPTURE_PORT" "${PID_OF[capture]}" 10

coproc PROBE { exec "$PROBE_BIN" "$T/config.yaml" 2>"$T/logs/probe.log"; }
_PIDS+=("$PROBE_PID")
PID_OF[probe]=$PROBE_PID
LOG_OF[probe]=$T/logs/probe.log

# probe COMMAND...: one line to the probe, its one-line answer in $ANSWER (and $T/answer)
probe()
{
    ANSWER="ERR PROBE the probe is not running"
    local in=${PROBE[1]:-}
    if ! kill -0 "${PID_OF[probe]}" 2>/dev/null || [ -z "$in" ]; then
        note "the probe is gone; its log:"
        sed 's/^/#   /' "${LOG_OF[probe]}"
        return 1
    fi
    echo "$*" >&"$in"
    ANSWER=
    local out=${PROBE[0]:-}
    [ -n "$out" ] && IFS= read -r -t 120 ANSWER <&"$out"
    printf '%s\n' "$ANSWER" >"$T/answer"
}

VERIFIER=abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ0123
CHALLENGE=$(printf %s "$VERIFIER" | openssl dgst -sha256 -binary | basenc --base64url | tr -d =)
# code_for CLIENT [JAR] [USER]: signs in at the IdP, sets CODE (nonce n0nce, PKCE S256)
code_for()
{
    local q="response_type=code&client_id=$1&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcallback"
    q+="&scope=openid+profile+email&state=st4te&nonce=n0nce&code_challenge=$CHALLENGE&code_challenge_method=S256"
    local url
    url=$(node "$NODE_DIR/idp.mjs" login "$ISSUER/auth?$q" --jar "$T/${2:-jar}.json" --user "${3:-alice}") || return 1
    CODE=$(printf %s "$url" | sed -n 's/.*[?&]code=\([^&]*\).*/\1/p')
    [ -n "$CODE" ] || { echo "no code in $url"; return 1; }
}

# exchange_ok N CLIENT REGEX [NONCE] [JAR] [USER]: a code for CLIENT exchanged by provider N; the
# answer must match
exchange_ok()
{
    code_for "$2" "${5:-jar}" "${6:-alice}" || return 1
    probe exchange "$1" "$CODE" "$REDIRECT" "$VERIFIER" "${4:-n0nce}"
    expect_match "$ANSWER" "$3"
}

jwks_fetches() { grep -c '^GET /jwks$' "$T/idp-requests.log"; }
discovery_fetches() { grep -c '^GET /.well-known/openid-configuration$' "$T/idp-requests.log"; }

check "client_secret_basic: the code is exchanged, the ID token and JSON userinfo validate" \
    exchange_ok 0 masd-basic '^OK sub=alice name=Alice Liddell userinfo_sub=alice userinfo_email=alice@example.com$'
check "client_secret_post: signed userinfo (RS256) validates" \
    exchange_ok 1 masd-post '^OK sub=alice name=Alice Liddell userinfo_sub=alice userinfo_email=alice@example.com$'
check "client_secret_jwt (HS256 assertion)" exchange_ok 2 masd-jwt '^OK sub=alice name=Alice Liddell userinfo_sub=- '
check "private_key_jwt (RS256 assertion with secrets.keys)" exchange_ok 3 masd-pkjwt '^OK sub=alice '
check "none (public client, PKCE)" exchange_ok 4 masd-public '^OK sub=alice '
check "bob signs in too" \
    exchange_ok 0 masd-basic '^OK sub=bob name=Bob Builder userinfo_sub=bob userinfo_email=bob@example.com$' n0nce bobjar bob
probe exchange 0 "$CODE" "$REDIRECT" "$VERIFIER" n0nce
check "the same code again: the IdP's invalid_grant, as IDP_ERROR" \
    expect_match "$ANSWER" '^ERR IDP_ERROR the token endpoint answered 400 invalid_grant'
check "a wrong nonce is refused" exchange_ok 0 masd-basic '^ERR INVALID the ID token.s nonce is not the one sent$' other
code_for masd-public
probe exchange 4 "$CODE" "$REDIRECT" "${VERIFIER}x" n0nce
check "a wrong PKCE verifier is the IdP's invalid_grant" expect_match "$ANSWER" '^ERR IDP_ERROR .*invalid_grant'
check "an ID token signed with RS256 where ES256 is configured is refused" \
    exchange_ok 6 masd-basic '^ERR INVALID the token is signed with RS256, expected ES256$'

check "the discovery document was fetched once for every exchange" expect_eq "$(discovery_fetches)" 1
check "the JWKS was fetched once for every exchange" expect_eq "$(jwks_fetches)" 1
probe jwks-fetches
check "the probe runs" expect_match "$ANSWER" '^OK' 
check "the probe counted one JWKS download" expect_eq "$ANSWER" "OK 1"

# back-channel logout: alice's IdP session (jar "jar", client masd-basic) ends at the IdP, which
# POSTs the logout token to the sink before answering
check "RP-initiated logout at the IdP" node "$NODE_DIR/idp.mjs" end-session "$ISSUER" --jar "$T/jar.json" \
    --client-id masd-basic
http bcl -sS "$ISSUER/_test/bcl-sink"
LOGOUT_TOKEN=$(cat "$T/bcl.b")
check "the IdP sent a logout token" expect_match "$LOGOUT_TOKEN" '^ey[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$'
probe logout 0 "$LOGOUT_TOKEN"
check "the IdP's logout token validates (sub, sid, jti)" expect_match "$ANSWER" '^OK sub=alice sid=[^-].* jti=[^-]'
probe logout 2 "$LOGOUT_TOKEN"
check "the same token for another client_id is refused" \
    expect_match "$ANSWER" '^ERR INVALID the logout token.s aud does not hold our client_id$'
SIG=${LOGOUT_TOKEN##*.}
case $SIG in A*) FLIPPED=B${SIG#?} ;; *) FLIPPED=A${SIG#?} ;; esac
probe logout 0 "${LOGOUT_TOKEN%.*}.$FLIPPED"
check "a tampered logout token is refused" expect_match "$ANSWER" '^ERR INVALID '
check "validating logout tokens fetched no JWKS" expect_eq "$(jwks_fetches)" 1

# the caches' lifetime: 15 minutes later both are fetched again
probe clock 901
check "exchange after the caches' lifetime" exchange_ok 0 masd-basic '^OK sub=alice '
check "…fetched the discovery document again" expect_eq "$(discovery_fetches)" 2
check "…and the JWKS again" expect_eq "$(jwks_fetches)" 2

# key rotation: the IdP restarts with new keys (new kids)
stop idp
check "the IdP starts again with new keys" idp_start "$T/keys2.json"
check "the exchange within 30 s of the last JWKS download is refused (no refetch yet)" \
    exchange_ok 0 masd-basic "^ERR INVALID the token's signature does not verify with the provider's keys$"
check "…and downloaded nothing" expect_eq "$(jwks_fetches)" 2
probe clock 31
check "31 s later, the unknown kid fetches the JWKS again and the exchange succeeds" \
    exchange_ok 0 masd-basic '^OK sub=alice '
check "…with one more JWKS download" expect_eq "$(jwks_fetches)" 3
check "a second exchange with the new key reuses it" exchange_ok 3 masd-pkjwt '^OK sub=alice '
check "…no download" expect_eq "$(jwks_fetches)" 3

# Sign in with Apple: the client_secret is an ES256 JWT by the team's key, as Apple documents
probe exchange 7 somecode "$REDIRECT" - -
check "Sign in with Apple: the token endpoint's invalid_client comes back as IDP_ERROR" \
    expect_match "$ANSWER" '^ERR IDP_ERROR the token endpoint answered 400 invalid_client$'
check "Sign in with Apple: the client_secret JWT is what Apple asks for" env -C "$NODE_DIR" node --input-type=module -e '
import fs from "node:fs";
import * as jose from "jose";
const form = new URLSearchParams(fs.readFileSync(process.argv[1], "utf8"));
const fail = (m) => { console.log(m, Object.fromEntries(form)); process.exit(1); };
if (form.get("client_id") !== "com.example.masd" || form.get("grant_type") !== "authorization_code" ||
    form.get("code") !== "somecode" || form.has("code_verifier") || form.has("client_assertion")) fail("form:");
const key = await jose.importSPKI(fs.readFileSync(process.argv[2], "utf8"), "ES256");
const { payload, protectedHeader: h } = await jose.jwtVerify(form.get("client_secret"), key,
  { issuer: "TEAM123456", audience: "https://appleid.apple.com", subject: "com.example.masd" });
if (h.alg !== "ES256" || h.kid !== "KEY7654321") fail("header " + JSON.stringify(h));
if (payload.exp - payload.iat !== 60) fail("lifetime " + JSON.stringify(payload));
' "$T/captured.form" "$T/keys/ec.pub"

probe metadata 8
check "a discovery document over 256 KiB is refused" expect_match "$ANSWER" \
    "^ERR BAD_ANSWER the discovery document \\(http://127.0.0.1:$CAPTURE_PORT/.well-known/openid-configuration\\) answered with more than 256 KiB$"

# a JWKS that cannot be fetched is not asked for again within 30 s (forged back-channel
# requests cannot queue fetches against the provider)
probe logout 9 "$LOGOUT_TOKEN"
check "a JWKS nobody serves: UNREACHABLE" expect_match "$ANSWER" "^ERR UNREACHABLE could not reach the provider's JWKS \\(http://127.0.0.1:$DEAD_PORT/jwks\\)"
probe logout 9 "$LOGOUT_TOKEN"
check "…at once again, without a new attempt" \
    expect_match "$ANSWER" "^ERR UNREACHABLE the provider's JWKS could not be fetched [01] s ago; next try in (29|30) s$"
probe clock 31
probe logout 9 "$LOGOUT_TOKEN"
check "…and tried again 31 s later" expect_match "$ANSWER" "^ERR UNREACHABLE could not reach the provider's JWKS"

probe timeouts 1500 1000
START=$(now_ms)
probe metadata 5
ELAPSED=$(($(now_ms) - START))
check "an IdP that never answers: UNREACHABLE" expect_match "$ANSWER" '^ERR UNREACHABLE could not reach the discovery document .*(timed out|Timeout)'
check "…within the 1.5 s timeout (took ${ELAPSED} ms)" test "$ELAPSED" -lt 3000 -a "$ELAPSED" -ge 1400
stop hole
probe metadata 5
check "a closed port: UNREACHABLE" expect_match "$ANSWER" '^ERR UNREACHABLE could not reach the discovery document'

check "the probe is still running" kill -0 "${PID_OF[probe]}"
[ -n "${PROBE[1]:-}" ] && exec {PROBE[1]}>&-
check "the probe exits cleanly" wait_exit "${PID_OF[probe]}" 10
check "no sanitizer report" sanitizer_clean "$T/logs/probe.log"
stop idp
finish
