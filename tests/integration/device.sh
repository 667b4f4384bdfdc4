#!/usr/bin/env bash
# The device authorization grant (RFC 8628) end to end through the shipped nginx configuration
# (units/nginx), with masd-oauth, masd-human, masd-discovery and masd-assets on their UNIX
# sockets, on SQLite and on PostgreSQL (MASD_TEST_PG_URI, as tests/run sets it):
#   - tests/node/device.mjs: openid-client 6 is the device (POST /oauth2/device, polling that
#     keeps to the interval), headless Chromium the person at /link: the code typed in lower
#     case with a space and a dash, the login on the way, the device consent page, "Grant
#     access"; the tokens at the device (ID token verified); the code again (invalid_grant);
#     "Cancel" (access_denied); polls too fast (slow_down); a wrong code on /link; a client
#     without refresh_token; then, with oauth.device_code_user_code_auto_fill_enabled,
#     verification_uri_complete opened as is; screenshots (375 and 1280 px), tidy on the HTML;
#   - the database: the device code stored as its SHA-256 only, the device's IP and User-Agent,
#     the stages, the interval grown by slow_down; introspection (as the homeserver calls it)
#     sees the session and its device, and the stand-in homeserver got the device before the
#     token answer;
#   - over HTTP (curl): /oauth2/device's refusals (disabled, unknown client, a client without
#     the grant, a malformed scope, a parameter twice); /device/{id} without a session (the
#     login), unknown (404), decided by someone else (409), "Grant access" without the checkbox
#     (400), a bad action, no CSRF token, MAS's policy (403); the code after 20 minutes (a
#     masd-oauth and a masd-human whose clock runs 21 minutes ahead: expired_token, 410, the
#     form); approved then polled five times at once (one answer with tokens); /link's rate
#     limits per client network and per code (429 with Retry-After), through nginx's
#     X-Forwarded-For; the grant disabled (404 pages, invalid_request, unsupported_grant_type);
#     the security headers of the new pages.
# Screenshots and the HTML go to $OUT/device-<build>/ (tests/run sets OUT).
. "$(dirname "$0")/lib.sh"
HUMAN_BIN=$BUILD/services/human/masd-human
OAUTH_BIN=$BUILD/services/oauth/masd-oauth
MASCTL_BIN=$BUILD/tools/masctl
require_binaries "$HUMAN_BIN" "$OAUTH_BIN" "$MASCTL_BIN" "$DISCOVERY_BIN" "$ASSETS_BIN"
need_node_modules playwright-core openid-client
need_chromium
for tool in tidy sqlite3 psql; do need_command $tool; done

OUT_DIR=${OUT:-$ROOT/build-output/manual}/device-$(basename "$BUILD")
rm -rf "$OUT_DIR"
mkdir -p "$OUT_DIR"

NG=$(free_port)
BASE=https://127.0.0.1:$NG
PW='correct horse battery staple'
CID=01HQ8Z4ZQ0ABCDEFGHJKMNPQRS # public (none): a TV
DEVICE_GRANT=urn:ietf:params:oauth:grant-type:device_code
HS_SECRET=shared-secret-for-the-homeserver
homeserver_start "$HS_SECRET" || finish
make_cert auth.example.com
mkdir -p "$T/assets"
cp "$BUILD"/services/human/templates/masd-*.css* "$T/assets/" 2>/dev/null
chmod -R a+rX "$T/assets"

# config FILE DATABASE-URI SOCKET-SUFFIX OAUTH-SECTION
config()
{
    cat >"$1" <<EOF
http:
  public_base: $BASE/
  listeners:
    - name: human
      resources: [{name: human}]
      binds: [{socket: $T/run/human$3.sock, mode: "666"}]
    - name: oauth
      resources: [{name: oauth}]
      binds: [{socket: $T/run/oauth$3.sock, mode: "666"}]
    - name: discovery
      resources: [{name: discovery}]
      binds: [{socket: $T/run/discovery.sock, mode: "666"}]
    - name: assets
      resources: [{name: assets, path: $T/assets/}]
      binds: [{socket: $T/run/assets.sock, mode: "666"}]
database:
  uri: "$2"
matrix:
  homeserver: example.com
  secret: $HS_SECRET
  endpoint: $HS_ENDPOINT
oauth: $4
clients:
  - client_id: $CID
    client_auth_method: none
    client_name: Living Room TV
$(secrets_yaml)
EOF
}

nginx_masd_start nginx "$T/nginx" "$NG" || finish

# ---------------------------------------------------------------------------------------------
# Helpers

# req NAME [curl-args] PATH (lib.sh): through nginx, from 127.0.0.1 unless --interface says otherwise.
# direct NAME SOCKET [curl-args] PATH: to a service's socket, without nginx.
direct() { local name=$1 sock=$2; shift 2; local path=${*: -1}; http "$name" --unix-socket "$sock" "${@:1:$#-1}" "http://x$path"; }
# cookies JAR: a Cookie header's value from a curl cookie jar (for direct(): the jar's cookies
# are for 127.0.0.1 over https, which curl would not send to a socket).
cookies() { awk -F'\t' 'NF >= 7 { printf "%s%s=%s", n++ ? "; " : "", $6, $7 }' "$1"; }
sql()
{
    if [ "$BACKEND" = sqlite ]; then sqlite3 "${DB_URI#sqlite://}" "$1"; else psql -X -q -t -A "$DB_URI" -c "$1"; fi
}
sha256() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

# oauth_err NAME STATUS ERROR: an OAuth JSON error, never cached.
oauth_err()
{
    expect_eq "$(status "$T/$1.h")" "$2" || { cat "$T/$1.b"; return 1; }
    expect_eq "$(header "$T/$1.h" cache-control)" no-store || return 1
    json_expect "$T/$1.b" "d.error === '$3'"
}
# html_page NAME STATUS: an HTML answer with this status and masd-human's security headers.
html_page()
{
    expect_eq "$(status "$T/$1.h")" "$2" || { head -c 400 "$T/$1.b"; return 1; }
    expect_match "$(header "$T/$1.h" content-type)" '^text/html; charset=utf-8$' || return 1
    expect_match "$(header "$T/$1.h" content-security-policy)" "default-src 'none'.*frame-ancestors 'none'" || return 1
    expect_eq "$(header "$T/$1.h" x-frame-options)" DENY || return 1
    expect_eq "$(header "$T/$1.h" cache-control)" no-store
}
body_has() { expect_file_contains "$T/$1.b" "$2"; }

# device_auth NAME [form-args]: POST /oauth2/device for the TV; prints nothing.
device_auth() { local n=$1; shift; req "$n" -d "client_id=$CID" "$@" /oauth2/device; }
# poll NAME DEVICE-CODE [SOCKET]: one poll of the token endpoint.
poll()
{
    if [ -n "${3:-}" ]; then
        direct "$1" "$3" -d "client_id=$CID" -d "grant_type=$DEVICE_GRANT" -d "device_code=$2" /oauth2/token
    else
        req "$1" -d "client_id=$CID" -d "grant_type=$DEVICE_GRANT" -d "device_code=$2" /oauth2/token
    fi
}
# signin JAR USER: a browser session in the cookie jar (curl).
signin()
{
    req si-$2 -b "$1" -c "$1" /login >/dev/null || return 1
    req so-$2 -b "$1" -c "$1" --data-urlencode "csrf=$(csrf_of si-$2)" --data-urlencode "username=$2" \
        --data-urlencode "password=$PW" /login
    [ "$(status "$T/so-$2.h")" = 303 ]
}
# grant_of_code USER-CODE: the grant's ID.
grant_of_code() { sql "SELECT oauth2_device_code_grant_id FROM oauth2_device_code_grants WHERE user_code = '$1'"; }
introspect()
{
    req "$1" -H "Authorization: Bearer $HS_SECRET" -H 'X-MAS-Supports-Device-Id: 1' \
        --data-urlencode "token=$2" /oauth2/introspect
}
# mjs MODE: tests/node/device.mjs, its steps as checks.
mjs()
{
    local mode=$1 line
    NODE_EXTRA_CA_CERTS=$T/tls/cert.pem node "$NODE_DIR/device.mjs" "$(printf \
        '{"mode":"%s","base":"%s","client_id":"%s","noref_client_id":"%s","user":"alice","password":"%s","out":"%s","result":"%s","chromium":"%s"}' \
        "$mode" "$BASE" "$CID" "${NOREF:-}" "$PW" "$OUT_DIR/$BACKEND" "$T/$BACKEND-$mode.json" "$CHROMIUM")" \
        >"$T/$BACKEND-$mode.out" 2>&1
    while IFS= read -r line; do
        case $line in
        '{"step"'*'"ok":true'*) check "$BACKEND: chromium: $(js d.step <<<"$line")" true ;;
        '{"step"'*) check "$BACKEND: chromium: $(js d.step <<<"$line")" eval "js d.error <<<'${line//\'/\'\\\'\'}'; false" ;;
        esac
    done <"$T/$BACKEND-$mode.out"
    check "$BACKEND: device.mjs $mode ran to the end" eval \
        "grep -q 'no Content-Security-Policy violation' '$T/$BACKEND-$mode.out' || { tail -n 30 '$T/$BACKEND-$mode.out'; false; }"
}

# ---------------------------------------------------------------------------------------------
# The browser flows, and what they left behind

browser_flows()
{
    local b=$BACKEND R=$T/$b-main.json
    mjs main
    local dc uc g at
    dc=$(js d.flow.device_code <"$R")
    uc=$(js d.flow.user_code <"$R")
    g=$(js d.flow.grant <"$R")
    at=$(js d.flow.tokens.access_token <"$R")
    check "$b: the grant row: the device code's SHA-256 only, the user code, the device's IP and User-Agent" eval \
        "expect_eq \"\$(sql \"SELECT device_code_hash || ' ' || user_code || ' ' || ip_address || ' ' || user_agent FROM oauth2_device_code_grants WHERE oauth2_device_code_grant_id = '$g'\")\" '$(sha256 "$dc") $uc 127.0.0.1 openid-client/v6.9.0' &&
              expect_eq \"\$(sql \"SELECT COUNT(*) FROM oauth2_device_code_grants WHERE scope LIKE '%$dc%' OR user_agent LIKE '%$dc%'\")\" 0"
    check "$b: ... approved by alice's browser session, then exchanged into an OAuth session" \
        expect_eq "$(sql "SELECT u.username || ' ' || (g.fulfilled_at <= g.exchanged_at) || ' ' || (s.oauth2_client_id = g.oauth2_client_id) FROM oauth2_device_code_grants g JOIN browser_sessions b ON b.browser_session_id = g.browser_session_id JOIN users u ON u.user_id = b.user_id JOIN oauth2_sessions s ON s.oauth2_session_id = g.oauth2_session_id WHERE g.oauth2_device_code_grant_id = '$g'" | sed 's/true/1/g; s/\bt\b/1/g')" "alice 1 1"
    check "$b: the consent page showed the device's IP, User-Agent and code as stored" \
        json_expect "$R" "d.flow.page_text.includes('openid-client/v6.9.0') && d.flow.page_text.includes('127.0.0.1') && d.flow.page_text.includes('$uc')"
    introspect "$b-i1" "$at"
    check "$b: introspection (as the homeserver calls it): active, alice, the client, the device DEVTV00001 in the scope" \
        json_expect "$T/$b-i1.b" "d.active === true && d.username === 'alice' && d.client_id === '$CID' &&
            d.sub === '$(js d.flow.tokens.sub <"$R")' && d.scope.split(' ').includes('urn:matrix:client:device:DEVTV00001')"
    check "$b: the stand-in homeserver got upsert_device DEVTV00001 named \"<client> on <device>\" from the polling request's User-Agent" \
        eval "grep '/upsert_device' '$HS_RECORD' | grep '\"device_id\":\"DEVTV00001\"' | grep -q '\"display_name\":\"Living Room TV on [^\"]*\"'"
    check "$b: the denied grant: rejected by alice's session, never exchanged" \
        expect_eq "$(sql "SELECT (rejected_at > 0) || ' ' || COALESCE(exchanged_at, 0) || ' ' || COALESCE(fulfilled_at, 0) FROM oauth2_device_code_grants WHERE oauth2_device_code_grant_id = '$(js d.denied.grant <"$R")'" | sed 's/true/1/g; s/^t /1 /')" "1 0 0"
    check "$b: slow_down: the interval grew by 5 s per early poll (5 s + 2 x 5 s), the last poll recorded" \
        expect_eq "$(sql "SELECT poll_interval_ms || ' ' || (last_polled_at > 0) FROM oauth2_device_code_grants WHERE user_code = '$(js d.slow.user_code <"$R")'" | sed 's/true/1/; s/ t$/ 1/')" "15000 1"
    if [ -n "${NOREF:-}" ]; then
        introspect "$b-i2" "$(js d.noref.access_token <"$R")"
        check "$b: the client without refresh_token: its session active" json_expect "$T/$b-i2.b" "d.active === true && d.client_id === '$NOREF'"
    fi
    if [ "$b" = sqlite ]; then
        for p in link device granted denied; do
            tidy_ok() { [ -s "$1" ] || { echo "no $1"; return 1; }; tidy -q -e "$1" >"$T/tidy.out" 2>&1; local rc=$?; cat "$T/tidy.out"; [ $rc -lt 2 ]; }
            check "$b: tidy finds no error in the $p page as served" tidy_ok "$OUT_DIR/$b/html/$p.html"
        done
        check "$b: screenshots written (link, device, granted, denied, link-error at 375 and 1280 px)" eval \
            "(for n in link device granted denied link-error; do for w in 375 1280; do [ -s $OUT_DIR/$b/screenshots/\$n-\$w.png ] || { echo missing \$n-\$w; exit 1; }; done; done)"
    fi
}

# ---------------------------------------------------------------------------------------------
# Over HTTP

device_endpoint()
{
    local b=$BACKEND
    device_auth "$b-d1" --data-urlencode 'scope=openid urn:matrix:client:api:*' -A 'CurlTV/1.0'
    check "$b: POST /oauth2/device: 200, no-store, RFC 8628 §3.2's fields" eval \
        "expect_eq \"\$(status $T/$b-d1.h)\" 200 && expect_eq \"\$(header $T/$b-d1.h cache-control)\" no-store &&
         expect_eq \"\$(header $T/$b-d1.h pragma)\" no-cache &&
         json_expect $T/$b-d1.b \"/^[A-Za-z0-9]{32}\$/.test(d.device_code) && /^[A-Z0-9]{6}\$/.test(d.user_code) && d.verification_uri === '$BASE/link' && d.expires_in === 1200 && d.interval === 5 && !('verification_uri_complete' in d)\""
    device_auth "$b-d2" -d 'scope=openid&scope=openid'
    check "$b: a parameter twice: 400 invalid_request" oauth_err "$b-d2" 400 invalid_request
    device_auth "$b-d3" --data-urlencode 'scope=openid  urn:x'
    check "$b: a malformed scope: 400 invalid_request" oauth_err "$b-d3" 400 invalid_request
    req "$b-d4" -d client_id=01ARZ3NDEKTSV4RRFFQ69G5FAV /oauth2/device
    check "$b: an unknown client: 401 invalid_client with a Basic challenge" eval \
        "oauth_err $b-d4 401 invalid_client && expect_match \"\$(header $T/$b-d4.h www-authenticate)\" '^Basic realm='"
    req "$b-d5" -d "client_id=$CODE_ONLY" /oauth2/device
    check "$b: a client that does not list the grant: 401 unauthorized_client" oauth_err "$b-d5" 401 unauthorized_client
    req "$b-d6" -X GET /oauth2/device
    check "$b: GET /oauth2/device: 405" expect_eq "$(status "$T/$b-d6.h")" 405
    req "$b-d7" -u "$CID:secret" -d "scope=openid" /oauth2/device
    check "$b: the public client with a Basic secret: 401 invalid_client (the method is the registered one)" oauth_err "$b-d7" 401 invalid_client
    poll "$b-t1" nonsense
    check "$b: the token endpoint, an unknown device code: 400 invalid_grant" oauth_err "$b-t1" 400 invalid_grant
    req "$b-t2" -d "client_id=$CODE_ONLY" -d "grant_type=$DEVICE_GRANT" -d "device_code=$(js d.device_code <"$T/$b-d1.b")" /oauth2/token
    check "$b: ... polled by a client that does not list the grant: 401 unauthorized_client" oauth_err "$b-t2" 401 unauthorized_client
    req "$b-t3" -d "client_id=$NOREF" -d "grant_type=$DEVICE_GRANT" -d "device_code=$(js d.device_code <"$T/$b-d1.b")" /oauth2/token
    check "$b: ... another client's device code: 400 invalid_grant, and its poll not recorded" eval \
        "oauth_err $b-t3 400 invalid_grant && expect_eq \"\$(sql \"SELECT COALESCE(last_polled_at, 0) FROM oauth2_device_code_grants WHERE user_code = '\$(js d.user_code <$T/$b-d1.b)'\")\" 0"
    req "$b-t4" -d "client_id=$CID" -d "grant_type=$DEVICE_GRANT" /oauth2/token
    check "$b: ... without device_code: 400 invalid_request" oauth_err "$b-t4" 400 invalid_request
}

device_pages()
{
    local b=$BACKEND JB=$T/$b-jar-bob
    check "$b: bob signs in (curl)" signin "$JB" bob
    device_auth "$b-p0" -d 'scope=openid'
    local uc g dc
    uc=$(js d.user_code <"$T/$b-p0.b")
    dc=$(js d.device_code <"$T/$b-p0.b")
    g=$(grant_of_code "$uc")
    req "$b-p1" "/device/$g"
    check "$b: GET /device/<grant> without a session: 303 to the login, continuing the grant" eval \
        "expect_eq \"\$(status $T/$b-p1.h)\" 303 && expect_eq \"\$(loc $b-p1)\" '/login?kind=continue_device_code_grant&id=$g'"
    req "$b-p2" -b "$JB" -c "$JB" "/device/$g"
    check "$b: ... with bob's session: the consent page (200, security headers, the code, the checkbox)" eval \
        "html_page $b-p2 200 && body_has $b-p2 '$uc' && body_has $b-p2 'name=\"confirm_device\"'"
    local tok
    tok=$(csrf_of "$b-p2")
    req "$b-p3" -b "$JB" --data-urlencode "csrf=$tok" -d action=consent "/device/$g"
    check "$b: \"Grant access\" without the checkbox: 400, the page again with the error; still pending" eval \
        "html_page $b-p3 400 && body_has $b-p3 'Tick the box' && expect_eq \"\$(sql \"SELECT COALESCE(fulfilled_at, 0) FROM oauth2_device_code_grants WHERE oauth2_device_code_grant_id = '$g'\")\" 0"
    req "$b-p4" -b "$JB" --data-urlencode "csrf=$tok" -d action=steal -d confirm_device=yes "/device/$g"
    check "$b: an unknown action: 400 HTML" html_page "$b-p4" 400
    req "$b-p5" -b "$JB" -d action=consent -d confirm_device=yes "/device/$g"
    check "$b: no CSRF token: 400 HTML, still pending" eval \
        "html_page $b-p5 400 && expect_eq \"\$(sql \"SELECT COALESCE(fulfilled_at, 0) FROM oauth2_device_code_grants WHERE oauth2_device_code_grant_id = '$g'\")\" 0"
    req "$b-p6" "/device/01ARZ3NDEKTSV4RRFFQ69G5FAV"
    check "$b: GET /device/<unknown grant>: 404 HTML" html_page "$b-p6" 404
    req "$b-p7" "/device/not-a-grant"
    check "$b: GET /device/not-a-grant: 404 HTML" html_page "$b-p7" 404

    # The code after 20 minutes: the services whose clock runs 21 minutes ahead.
    poll "$b-x1" "$dc" "$T/run/oauth-later.sock"
    check "$b: the device code after 20 minutes: 403 expired_token" oauth_err "$b-x1" 403 expired_token
    direct "$b-x2" "$T/run/human-later.sock" -H "Cookie: $(cookies "$JB")" "/device/$g"
    check "$b: the consent page after 20 minutes: 410 HTML" html_page "$b-x2" 410
    direct "$b-x3" "$T/run/human-later.sock" -H "Cookie: $(cookies "$JB")" --data-urlencode "csrf=$tok" --data-urlencode "code=$uc" /link
    check "$b: the code at /link after 20 minutes: the form again, 404" eval \
        "html_page $b-x3 404 && body_has $b-x3 'This code is not valid'"
    direct "$b-x4" "$T/run/human-later.sock" -H "Cookie: $(cookies "$JB")" --data-urlencode "csrf=$tok" -d action=consent -d confirm_device=yes "/device/$g"
    check "$b: approving it after 20 minutes: 410, still pending" eval \
        "html_page $b-x4 410 && expect_eq \"\$(sql \"SELECT COALESCE(fulfilled_at, 0) FROM oauth2_device_code_grants WHERE oauth2_device_code_grant_id = '$g'\")\" 0"

    # Approved by bob over HTTP, then five polls at once: one gets the tokens.
    req "$b-p8" -b "$JB" --data-urlencode "csrf=$tok" -d action=consent -d confirm_device=yes "/device/$g"
    check "$b: \"Grant access\" with the checkbox: 200 \"Access granted\"" eval \
        "html_page $b-p8 200 && body_has $b-p8 'Access granted'"
    local i pids=()
    for i in 1 2 3 4 5; do
        poll "$b-r$i" "$dc" &
        pids+=($!)
    done
    wait "${pids[@]}"
    local ok=0 used=0
    for i in 1 2 3 4 5; do
        [ "$(status "$T/$b-r$i.h")" = 200 ] && ok=$((ok + 1))
        json_expect "$T/$b-r$i.b" "d.error === 'invalid_grant'" >/dev/null 2>&1 && used=$((used + 1))
    done
    check "$b: five simultaneous polls of the approved code: one 200 with tokens, four invalid_grant" \
        expect_eq "$ok $used" "1 4"
    req "$b-p9" "/device/$g"
    check "$b: the decided grant for another browser (none): 409 HTML" html_page "$b-p9" 409
    req "$b-pa" -b "$JB" "/device/$g"
    check "$b: ... for bob, who decided it: \"Access granted\" again" eval "html_page $b-pa 200 && body_has $b-pa 'Access granted'"

    # MAS's policy: a scope bob may not have.
    device_auth "$b-q0" --data-urlencode 'scope=openid urn:synapse:admin:*'
    g=$(grant_of_code "$(js d.user_code <"$T/$b-q0.b")")
    req "$b-q1" -b "$JB" "/device/$g"
    check "$b: a scope the policy refuses (urn:synapse:admin:* for bob): 403 policy page" eval \
        "html_page $b-q1 403 && body_has $b-q1 'urn:synapse:admin:' && body_has $b-q1 'not allowed'"

    # /link over HTTP
    req "$b-l0" -b "$JB" -c "$JB" /link
    tok=$(csrf_of "$b-l0")
    check "$b: GET /link: 200 HTML with the security headers and a CSRF token" eval "html_page $b-l0 200 && [ -n '$tok' ]"
    req "$b-l1" -b "$JB" -d code=abc /link
    check "$b: POST /link without a CSRF token: 400" html_page "$b-l1" 400
    req "$b-l2" -b "$JB" --data-urlencode "csrf=$tok" -d code= /link
    check "$b: POST /link with an empty code: 400, the form" eval "html_page $b-l2 400 && body_has $b-l2 'Enter the code'"
    req "$b-l3" -b "$JB" --data-urlencode "csrf=$tok" --data-urlencode 'code=AB_123' /link
    check "$b: POST /link with a character no code has: 400, the form" eval "html_page $b-l3 400 && body_has $b-l3 'not valid'"
    device_auth "$b-l4" -d scope=openid
    uc=$(js d.user_code <"$T/$b-l4.b")
    local lc=${uc,,}
    req "$b-l5" -b "$JB" --data-urlencode "csrf=$tok" --data-urlencode "code=${lc:0:2} ${lc:2:2}-${lc:4}" /link
    check "$b: POST /link, the code in lower case with a space and a dash: 303 to /device/<grant>" eval \
        "expect_eq \"\$(status $T/$b-l5.h)\" 303 && expect_eq \"\$(loc $b-l5)\" \"/device/\$(grant_of_code $uc)\""
    req "$b-l6" "/link?code=$uc"
    check "$b: GET /link?code= with auto-fill off: the empty form, nothing looked up" eval \
        "html_page $b-l6 200 && body_has $b-l6 'value=\"\"'"
}

rate_limits()
{
    local b=$BACKEND J=$T/$b-jar-rl i ip n
    req "$b-rl0" -b "$J" -c "$J" /link
    local tok
    tok=$(csrf_of "$b-rl0")
    # Per network: 10 at once, then one per 30 s. The ten wrong codes are all different.
    ip=127.0.0.41
    for i in $(seq 1 11); do
        req "$b-rla$i" --interface "$ip" -b "$J" --data-urlencode "csrf=$tok" --data-urlencode "code=Q${i}WRONG" /link
    done
    check "$b: ten wrong codes from one address: each the form again, 404" eval \
        "(for i in \$(seq 1 10); do html_page $b-rla\$i 404 || exit 1; done)"
    check "$b: the eleventh: 429 with Retry-After and the form" eval \
        "html_page $b-rla11 429 && expect_match \"\$(header $T/$b-rla11.h retry-after)\" '^[1-9][0-9]*\$' && body_has $b-rla11 'Too many codes'"
    req "$b-rlb" --interface 127.0.0.60 -b "$J" --data-urlencode "csrf=$tok" --data-urlencode "code=OTHER1" /link
    check "$b: ... while another address is still answered (404)" html_page "$b-rlb" 404
    # Per code: one code from six addresses: five tries, then 429.
    n=0
    for i in 61 62 63 64 65 66; do
        n=$((n + 1))
        req "$b-rlc$n" --interface "127.0.0.$i" -b "$J" --data-urlencode "csrf=$tok" --data-urlencode "code=SAME09" /link
    done
    check "$b: one code from six addresses: five 404, then 429 (the per-code bucket)" eval \
        "(for n in 1 2 3 4 5; do html_page $b-rlc\$n 404 || exit 1; done) && html_page $b-rlc6 429"
}

disabled()
{
    local b=$BACKEND
    direct "$b-o1" "$T/run/oauth-off.sock" -d "client_id=$CID" /oauth2/device
    check "$b: grant disabled: POST /oauth2/device 400 invalid_request, MAS's words" eval \
        "oauth_err $b-o1 400 invalid_request && json_expect $T/$b-o1.b \"d.error_description === 'The Device Authorization Grant is disabled on this server'\""
    direct "$b-o2" "$T/run/oauth-off.sock" -d "client_id=$CID" -d "grant_type=$DEVICE_GRANT" -d device_code=x /oauth2/token
    check "$b: grant disabled: the token endpoint's device_code 400 unsupported_grant_type" oauth_err "$b-o2" 400 unsupported_grant_type
    direct "$b-o3" "$T/run/human-off.sock" /link
    check "$b: grant disabled: GET /link a 404 page (MAS: 500)" eval "html_page $b-o3 404 && body_has $b-o3 'not available'"
    direct "$b-o4" "$T/run/human-off.sock" /device/01ARZ3NDEKTSV4RRFFQ69G5FAV
    check "$b: grant disabled: GET /device/<id> a 404 page" html_page "$b-o4" 404
}

# ---------------------------------------------------------------------------------------------
# One backend

run_backend()
{
    BACKEND=$1 DB_URI=$2
    local b=$1
    config "$T/$b.yaml" "$DB_URI" "" "{}"
    config "$T/$b-autofill.yaml" "$DB_URI" "" "{device_code_user_code_auto_fill_enabled: true}"
    config "$T/$b-later.yaml" "$DB_URI" "-later" "{}"
    config "$T/$b-off.yaml" "$DB_URI" "-off" "{device_code_grant_enabled: false}"
    local M=("$MASCTL_BIN" -c "$T/$b.yaml")
    if ! { "${M[@]}" database migrate && "${M[@]}" config sync &&
        for u in alice bob; do "${M[@]}" manage register-user -y -p "$PW" --ignore-password-complexity "$u" || exit 1; done; } \
        >"$T/$b-masctl.log" 2>&1; then
        fail_check "$b: masctl sets up the database" "$(tail -n 20 "$T/$b-masctl.log")"
        return
    fi
    masd_start "human-$b" "$HUMAN_BIN" "$T/$b.yaml" "$T/run/human.sock" || return
    masd_start "oauth-$b" "$OAUTH_BIN" "$T/$b.yaml" "$T/run/oauth.sock" || return
    masd_start "discovery-$b" "$DISCOVERY_BIN" "$T/$b.yaml" "$T/run/discovery.sock" || return
    masd_start "assets-$b" "$ASSETS_BIN" "$T/$b.yaml" "$T/run/assets.sock" || return
    MASD_TEST_CLOCK_OFFSET_MS=1260000 masd_start "human-later-$b" "$HUMAN_BIN" "$T/$b-later.yaml" "$T/run/human-later.sock" || return
    MASD_TEST_CLOCK_OFFSET_MS=1260000 masd_start "oauth-later-$b" "$OAUTH_BIN" "$T/$b-later.yaml" "$T/run/oauth-later.sock" || return
    masd_start "human-off-$b" "$HUMAN_BIN" "$T/$b-off.yaml" "$T/run/human-off.sock" || return
    masd_start "oauth-off-$b" "$OAUTH_BIN" "$T/$b-off.yaml" "$T/run/oauth-off.sock" || return

    # Registered clients: one with the device grant only (no refresh token), one without it.
    local reg='"client_uri": "https://tv.example.com/", "token_endpoint_auth_method": "none", "response_types": []'
    req "$b-reg1" -H 'Content-Type: application/json' --data-binary \
        "{$reg, \"client_name\": \"No refresh\", \"grant_types\": [\"$DEVICE_GRANT\"]}" /oauth2/registration
    NOREF=$(js d.client_id <"$T/$b-reg1.b")
    req "$b-reg2" -H 'Content-Type: application/json' --data-binary \
        '{"client_uri": "https://app.example.com/", "application_type": "native", "token_endpoint_auth_method": "none", "redirect_uris": ["http://127.0.0.1/cb"]}' /oauth2/registration
    CODE_ONLY=$(js d.client_id <"$T/$b-reg2.b")
    check "$b: two clients registered (device_code only; authorization_code only)" \
        eval "expect_match '$NOREF $CODE_ONLY' '^[0-9A-Z]{26} [0-9A-Z]{26}\$'"

    browser_flows
    device_endpoint
    device_pages
    rate_limits
    disabled

    # With auto-fill: the same services restarted with the option on.
    masd_stop "human-$b"
    masd_stop "oauth-$b"
    masd_start "human-af-$b" "$HUMAN_BIN" "$T/$b-autofill.yaml" "$T/run/human.sock" || return
    masd_start "oauth-af-$b" "$OAUTH_BIN" "$T/$b-autofill.yaml" "$T/run/oauth.sock" || return
    mjs autofill
    device_auth "$b-af1" -d scope=openid
    check "$b: auto-fill on: verification_uri_complete = verification_uri?code=<user code>" \
        json_expect "$T/$b-af1.b" "d.verification_uri_complete === d.verification_uri + '?code=' + d.user_code"
    req "$b-af2" "/link?code=ZZZZZZ"
    check "$b: auto-fill on: GET /link?code=<wrong>: the form again, 404, the code filled in" eval \
        "html_page $b-af2 404 && body_has $b-af2 'value=\"ZZZZZZ\"'"

    for s in human-af oauth-af discovery assets human-later oauth-later human-off oauth-off; do
        masd_stop "$s-$b"
    done
}

backend_wanted sqlite && run_backend sqlite "sqlite://$T/masd.db"
pg_database device && run_backend pg "$PG_DB_URI"

stop nginx
check "nginx logged no upstream error" expect_file_lacks "$T/nginx/error.log" '\[(error|crit|alert|emerg)\]'
note "screenshots and HTML in $OUT_DIR"
finish
