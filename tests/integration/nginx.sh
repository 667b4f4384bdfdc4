#!/usr/bin/env bash
# masd-discovery and masd-assets behind nginx, configured with the shipped units/nginx/*.conf:
# over UNIX sockets and over TCP; the client IP masd logs, with trusted and untrusted peers; the
# PROXY-protocol (stream) variant; the "nginx serves the assets itself" variant. Which service
# each path reaches: masd-human takes `location /`, everything the other locations do not.
. "$(dirname "$0")/lib.sh"
OAUTH_BIN=$BUILD/services/oauth/masd-oauth
HUMAN_BIN=$BUILD/services/human/masd-human
MASCTL_BIN=$BUILD/tools/masctl
require_binaries "$DISCOVERY_BIN" "$ASSETS_BIN" "$OAUTH_BIN" "$HUMAN_BIN" "$MASCTL_BIN"

ORIGIN=auth.example.com
PD=$(free_port)  # masd-discovery, TCP
PDP=$(free_port) # masd-discovery, PROXY protocol
PA=$(free_port)  # masd-assets, TCP
PO=$(free_port)  # masd-oauth, TCP
PH=$(free_port)  # masd-human, TCP
NU=$(free_port)  # nginx -> UNIX sockets
NT=$(free_port)  # nginx -> TCP
NS=$(free_port)  # nginx stream -> PROXY protocol
NA=$(free_port)  # nginx serving /assets/ itself

make_assets "$T/assets"
make_cert "$ORIGIN"

# nginx connects from 127.0.0.1 (TCP) or over the UNIX sockets (always trusted); test clients
# connect from 127.0.0.5, which is not trusted.
cat >"$T/config.yaml" <<EOF
http:
  public_base: https://$ORIGIN/
  trusted_proxies:
    - 127.0.0.1/32
  listeners:
    - name: discovery
      resources:
        - name: discovery
        - name: health
      binds:
        - socket: $T/run/discovery.sock
          mode: "666"
        - address: 127.0.0.1:$PD
    - name: discovery-proxy
      resources:
        - name: discovery
      proxy_protocol: true
      binds:
        - host: 127.0.0.1
          port: $PDP
    - name: assets
      resources:
        - name: assets
          path: $T/assets/
      binds:
        - socket: $T/run/assets.sock
          mode: "666"
        - address: 127.0.0.1:$PA
    - name: oauth
      resources:
        - name: oauth
        - name: compat
      binds:
        - socket: $T/run/oauth.sock
          mode: "666"
        - address: 127.0.0.1:$PO
    - name: human
      resources:
        - name: human
      binds:
        - socket: $T/run/human.sock
          mode: "666"
        - address: 127.0.0.1:$PH
database:
  uri: sqlite://$T/masd.db
matrix:
  homeserver: example.com
  secret: a-homeserver-secret-nothing-uses-here
  endpoint: http://127.0.0.1:9/
$(secrets_yaml)
EOF

masd_start discovery "$DISCOVERY_BIN" "$T/config.yaml" 127.0.0.1:$PD 127.0.0.1:$PDP "$T/run/discovery.sock" || finish
masd_start assets "$ASSETS_BIN" "$T/config.yaml" 127.0.0.1:$PA "$T/run/assets.sock" || finish
check "masctl database migrate" "$MASCTL_BIN" -c "$T/config.yaml" database migrate
masd_start oauth "$OAUTH_BIN" "$T/config.yaml" 127.0.0.1:$PO "$T/run/oauth.sock" || finish
masd_start human "$HUMAN_BIN" "$T/config.yaml" 127.0.0.1:$PH "$T/run/human.sock" || finish

# The shipped configuration, rendered for this run: one nginx per upstream kind.
SITE=(-e "s|listen 443 ssl http2;|listen 127.0.0.1:PORT ssl http2;|" -e '/listen \[::\]:443/d')
for kind in unix tcp; do
    port=$NU
    [ $kind = tcp ] && port=$NT
    render_nginx_snippets "$T/nginx-$kind/masd" "${SITE[@]/PORT/$port}" \
        -e "s|127.0.0.1:8091;|127.0.0.1:$PD;|" -e "s|127.0.0.1:8094;|127.0.0.1:$PA;|" \
        -e "s|127.0.0.1:8092;|127.0.0.1:$PO;|" -e "s|127.0.0.1:8093;|127.0.0.1:$PH;|"
    nginx_main_conf "$T/nginx-$kind" "
    include $T/nginx-$kind/masd/masd-upstreams-$kind.conf;
    include $T/nginx-$kind/masd/masd.conf;"
    nginx_start "nginx-$kind" "$T/nginx-$kind" 127.0.0.1:$port || finish
done

# ------------------------------------------------------------------------------------------
# Through nginx

# through KIND NAME curl-args... PATH: a request through nginx KIND from 127.0.0.5.
through()
{
    local kind=$1 name=$2 port=$NU
    shift 2
    [ $kind = tcp ] && port=$NT
    local path=${*: -1}
    http "$name" --interface 127.0.0.5 --cacert "$T/tls/cert.pem" \
        --resolve "$ORIGIN:$port:127.0.0.1" "${@:1:$#-1}" "https://$ORIGIN:$port$path"
}

discovery_document()
{
    through "$1" disc /.well-known/openid-configuration || return 1
    expect_eq "$(status "$T/disc.h")" 200 || return 1
    expect_match "$(header "$T/disc.h" content-type)" '^application/json' || return 1
    json_expect "$T/disc.b" '
        const b = "https://auth.example.com/";
        d.issuer === b &&
        d.authorization_endpoint === b + "authorize" &&
        d.token_endpoint === b + "oauth2/token" &&
        d.jwks_uri === b + "oauth2/keys.json" &&
        d.registration_endpoint === b + "oauth2/registration" &&
        d.introspection_endpoint === b + "oauth2/introspect" &&
        d.revocation_endpoint === b + "oauth2/revoke" &&
        d.userinfo_endpoint === b + "oauth2/userinfo" &&
        d.device_authorization_endpoint === b + "oauth2/device" &&
        d.account_management_uri === b + "account/" &&
        d["org.matrix.matrix-authentication-service.graphql_endpoint"] === b + "graphql" &&
        JSON.stringify(d.scopes_supported) === JSON.stringify(["openid", "email"]) &&
        d.response_types_supported.includes("code") &&
        d.grant_types_supported.includes("authorization_code") &&
        d.grant_types_supported.includes("refresh_token") &&
        d.grant_types_supported.includes("urn:ietf:params:oauth:grant-type:device_code") &&
        d.code_challenge_methods_supported.includes("S256") &&
        d.id_token_signing_alg_values_supported.includes("RS256") &&
        d.id_token_signing_alg_values_supported.includes("ES256")'
}

webfinger()
{
    through "$1" wf '/.well-known/webfinger?resource=acct:alice@example.com&rel=http%3A%2F%2Fopenid.net%2Fspecs%2Fconnect%2F1.0%2Fissuer' || return 1
    expect_eq "$(status "$T/wf.h")" 200 || return 1
    expect_match "$(header "$T/wf.h" content-type)" '^application/jrd\+json' || return 1
    json_expect "$T/wf.b" 'd.subject === "acct:alice@example.com" && d.links.length === 1 &&
        d.links[0].rel === "http://openid.net/specs/connect/1.0/issuer" &&
        d.links[0].href === "https://auth.example.com/"'
}

# CORS as MAS's discovery router: a preflight is 204 with the headers; POST is 405.
discovery_cors()
{
    through "$1" pre -X OPTIONS -H 'origin: https://app.example' -H 'access-control-request-method: GET' \
        /.well-known/openid-configuration || return 1
    expect_eq "$(status "$T/pre.h")" 204 || return 1
    expect_eq "$(header "$T/pre.h" access-control-allow-origin)" '*' || return 1
    expect_match "$(header "$T/pre.h" access-control-allow-headers)" 'authorization' || return 1
    through "$1" post -X POST /.well-known/openid-configuration || return 1
    expect_eq "$(status "$T/post.h")" 405 || return 1
    expect_match "$(header "$T/post.h" allow)" 'GET'
}

asset_variant() # KIND ACCEPT-ENCODING EXPECTED-ENCODING EXPECTED-FILE
{
    through "$1" av -H "Accept-Encoding: $2" /assets/app.js || return 1
    expect_eq "$(status "$T/av.h")" 200 || return 1
    expect_eq "$(header "$T/av.h" content-encoding)" "$3" || return 1
    expect_match "$(header "$T/av.h" vary)" '[Aa]ccept-[Ee]ncoding' || return 1
    expect_match "$(header "$T/av.h" content-type)" '^(application|text)/javascript' || return 1
    expect_eq "$(header "$T/av.h" cache-control)" "public, max-age=31536000, immutable" || return 1
    cmp "$T/av.b" "$4"
}

asset_304()
{
    through "$1" e1 -H "Accept-Encoding: gzip" /assets/app.js || return 1
    local etag
    etag=$(header "$T/e1.h" etag)
    expect_match "$etag" '^(W/)?".+"$' || return 1
    through "$1" e2 -H "Accept-Encoding: gzip" -H "If-None-Match: \"other\", $etag" /assets/app.js || return 1
    expect_eq "$(status "$T/e2.h")" 304 || return 1
    expect_eq "$(header "$T/e2.h" etag)" "$etag" || return 1
    [ ! -s "$T/e2.b" ] || { echo "304 with a body"; return 1; }
}

asset_range()
{
    through "$1" r -H "Range: bytes=100-299" /assets/app.js || return 1
    expect_eq "$(status "$T/r.h")" 206 || return 1
    expect_eq "$(header "$T/r.h" content-range)" "bytes 100-299/$(stat -c %s "$T/assets/app.js")" || return 1
    cmp "$T/r.b" <(tail -c +101 "$T/assets/app.js" | head -c 200)
}

asset_404()
{
    through "$1" nf /assets/no-such-file.js || return 1
    expect_eq "$(status "$T/nf.h")" 404 || return 1
    expect_eq "$(header "$T/nf.h" cache-control)" "public, max-age=300"
}

# The client connects from 127.0.0.5 (untrusted) through nginx (trusted): masd logs 127.0.0.5,
# also when the client forges X-Forwarded-For.
client_ip_through()
{
    local kind=$1 service=$2 path=$3 mark
    shift 3
    mark=$(log_mark "$service")
    through "$kind" ip "$@" "$path" || return 1
    expect_logged_client "$service" "$mark" "${path%%\?*}" 127.0.0.5
}

for kind in unix tcp; do
    check "$kind: discovery document through nginx, URLs built from public_base" discovery_document $kind
    check "$kind: webfinger through nginx" webfinger $kind
    check "$kind: discovery CORS preflight 204, POST 405 with Allow" discovery_cors $kind
    check "$kind: asset gzip variant through nginx" asset_variant $kind "gzip" gzip "$T/assets/app.js.gz"
    check "$kind: asset br variant through nginx" asset_variant $kind "gzip, deflate, br" br "$T/assets/app.js.br"
    check "$kind: asset identity through nginx" asset_variant $kind "identity" "" "$T/assets/app.js"
    check "$kind: asset 304 for If-None-Match through nginx" asset_304 $kind
    check "$kind: asset Range 206 through nginx" asset_range $kind
    check "$kind: missing asset 404 with short caching through nginx" asset_404 $kind
    check "$kind: discovery logs the client behind nginx (127.0.0.5)" \
        client_ip_through $kind discovery /.well-known/openid-configuration
    check "$kind: assets logs the client behind nginx (127.0.0.5)" \
        client_ip_through $kind assets "/assets/style.css?$kind"
    check "$kind: a forged X-Forwarded-For sent through nginx is not believed" \
        client_ip_through $kind assets "/assets/forged-$kind.js" -H "X-Forwarded-For: 1.2.3.4"
done

# Which service a path reaches: `location /` (masd-human) must not take what the exact, regex and
# longer prefix locations route elsewhere.

# reaches KIND SERVICE STATUS CONTENT-TYPE-REGEX curl-args... PATH: a request through nginx KIND
# is answered with STATUS by SERVICE (its access log has the path) and by no other masd service.
reaches()
{
    local kind=$1 service=$2 want=$3 ctype=$4 s line
    shift 4
    local path=${*: -1}
    path=${path%%\?*}
    declare -A mark
    for s in discovery assets oauth human; do mark[$s]=$(log_mark $s); done
    through "$kind" rt "$@" || return 1
    expect_match "$(status "$T/rt.h")" "^$want\$" || return 1
    expect_match "$(header "$T/rt.h" content-type)" "$ctype" || return 1
    line=$(log_wait "$service" "${mark[$service]}" " $path\"") || return 1
    expect_match "$(access_field "$line" status)" "^$want\$" || return 1
    sleep 0.2 # the other services' logger threads
    for s in discovery assets oauth human; do
        [ $s = "$service" ] && continue
        if tail -n +"$((${mark[$s]} + 1))" "${LOG_OF[$s]}" | grep -F ': access: ' | grep -qF -- " $path\""; then
            echo "masd-$s answered $path too"
            return 1
        fi
    done
}

for kind in unix tcp; do
    check "$kind: GET /login reaches masd-human (the login page)" \
        reaches $kind human 200 '^text/html' /login
    check "$kind: GET / reaches masd-human (the index)" \
        reaches $kind human '(200|303)' '' /
    check "$kind: GET /authorize reaches masd-human (no client_id: its HTML error page)" \
        reaches $kind human 400 '^text/html' /authorize
    check "$kind: GET /consent/x reaches masd-human" \
        reaches $kind human '[0-9]{3}' '' /consent/x
    check "$kind: an unknown path reaches masd-human (its HTML 404)" \
        reaches $kind human 404 '^text/html' /no/such/page
    check "$kind: GET /oauth2/keys.json still reaches masd-oauth" \
        reaches $kind oauth 200 '^application/json' /oauth2/keys.json
    check "$kind: GET /_matrix/client/v3/login (the compat regex) still reaches masd-oauth" \
        reaches $kind oauth 200 '^application/json' /_matrix/client/v3/login
    check "$kind: /.well-known/openid-configuration still reaches masd-discovery" \
        reaches $kind discovery 200 '^application/json' /.well-known/openid-configuration
    check "$kind: /assets/app.js still reaches masd-assets" \
        reaches $kind assets 200 'javascript' "/assets/app.js?$kind"
done

# proxy_http_version 1.1 + Connection "" + upstream keepalive: sequential requests through
# nginx share one upstream connection, which stays open afterwards.
upstream_keepalive()
{
    local i n
    for i in 1 2 3 4; do
        through tcp ka "/assets/style.css?ka$i" || return 1
    done
    n=$(ss -Htn state established "( dport = :$PA )" | wc -l)
    ss -Htn state established "( dport = :$PA )"
    expect_eq "$n" 1
}
check "tcp: nginx keeps one upstream connection to masd alive across requests" upstream_keepalive

# ------------------------------------------------------------------------------------------
# Straight to masd

direct_ip() # SERVICE LOCAL-ADDRESS-OR-unix PATH EXPECTED [curl args]
{
    local service=$1 from=$2 path=$3 want=$4 mark
    shift 4
    mark=$(log_mark "$service")
    if [ "$from" = unix ]; then
        http dip --unix-socket "$T/run/$service.sock" "$@" "http://x$path" || return 1
    else
        local port=$PD
        [ "$service" = assets ] && port=$PA
        http dip --interface "$from" "$@" "http://127.0.0.1:$port$path" || return 1
    fi
    if [ "$want" = none ]; then
        local line client
        line=$(log_wait "$service" "$mark" "$path") || return 1
        client=$(access_field "$line" client) || return 1
        expect_match "$client" '^(-|unix)$'
    else
        expect_logged_client "$service" "$mark" "$path" "$want"
    fi
}

check "an untrusted peer (127.0.0.5) forging X-Forwarded-For is logged as itself" \
    direct_ip assets 127.0.0.5 /assets/untrusted-forged.js 127.0.0.5 -H "X-Forwarded-For: 1.2.3.4"
check "an untrusted peer forging X-Forwarded-For to discovery is logged as itself" \
    direct_ip discovery 127.0.0.5 /.well-known/webfinger 127.0.0.5 -H "X-Forwarded-For: 1.2.3.4"
check "a trusted TCP peer (127.0.0.1): X-Forwarded-For is believed" \
    direct_ip assets 127.0.0.1 /assets/trusted-tcp.js 203.0.113.9 -H "X-Forwarded-For: 203.0.113.9"
check "trusted hops are skipped from the right, the first untrusted one wins" \
    direct_ip assets 127.0.0.1 /assets/chain.js 198.51.100.2 \
    -H "X-Forwarded-For: 192.0.2.1, 198.51.100.2" -H "X-Forwarded-For: 127.0.0.1"
check "a UNIX-socket peer is trusted: X-Forwarded-For is believed" \
    direct_ip assets unix /assets/trusted-unix.js 203.0.113.10 -H "X-Forwarded-For: 203.0.113.10"
check "a UNIX-socket peer without X-Forwarded-For has no address" \
    direct_ip assets unix /assets/no-address.js none

access_line_format()
{
    local mark line
    mark=$(log_mark discovery)
    http fmt --interface 127.0.0.5 "http://127.0.0.1:$PD/.well-known/openid-configuration" || return 1
    line=$(log_wait discovery "$mark" "/.well-known/openid-configuration") || return 1
    echo "line: $line"
    expect_eq "$(access_field "$line" listener)" discovery || return 1
    expect_eq "$(access_field "$line" method)" GET || return 1
    expect_eq "$(access_field "$line" status)" 200 || return 1
    expect_eq "$(access_field "$line" client)" 127.0.0.5 || return 1
    expect_match "$(access_field "$line" duration)" '^[0-9]+\.[0-9]{3}$'
}
check "one access line per request: listener, client, method, path, status, duration" access_line_format

server_header()
{
    http sh "http://127.0.0.1:$PD/.well-known/openid-configuration" || return 1
    expect_eq "$(header "$T/sh.h" server)" masd
}
check "responses carry Server: masd" server_header

# ------------------------------------------------------------------------------------------
# PROXY-protocol variant: nginx stream module sends PROXY v1 to a proxy_protocol listener.

render_nginx_snippets "$T/nginx-stream/masd" \
    -e "s|listen 8443;|listen 127.0.0.1:$NS;|" -e "s|127.0.0.1:8191;|127.0.0.1:$PDP;|"
nginx_main_conf "$T/nginx-stream" "" "    include $T/nginx-stream/masd/masd-stream-proxy-protocol.conf;"
if nginx_start nginx-stream "$T/nginx-stream" 127.0.0.1:$NS; then
    stream_client_ip()
    {
        local mark line
        mark=$(log_mark discovery)
        http st --interface 127.0.0.5 -H "X-Forwarded-For: 1.2.3.4" "http://127.0.0.1:$NS/.well-known/openid-configuration" || return 1
        expect_eq "$(status "$T/st.h")" 200 || return 1
        json_expect "$T/st.b" 'd.issuer === "https://auth.example.com/"' || return 1
        line=$(log_wait discovery "$mark" "/.well-known/openid-configuration") || return 1
        expect_eq "$(access_field "$line" listener)" discovery-proxy || return 1
        expect_eq "$(access_field "$line" client)" 127.0.0.5
    }
    check "stream + PROXY v1 variant: discovery answered, client from the PROXY header" stream_client_ip
    stop nginx-stream
fi

# ------------------------------------------------------------------------------------------
# "Serve the assets directly" variant: nginx gzip_static, masd-assets not involved.

render_nginx_snippets "$T/nginx-static/masd" "${SITE[@]/PORT/$NA}" -e "s|masd-assets-proxy.conf|masd-assets-static.conf|"
nginx_main_conf "$T/nginx-static" "
    include $T/nginx-static/masd/masd-upstreams-unix.conf;
    include $T/nginx-static/masd/masd.conf;"
if nginx_start nginx-static "$T/nginx-static" 127.0.0.1:$NA; then
    static_asset() # ACCEPT-ENCODING EXPECTED-ENCODING FILE
    {
        local mark
        mark=$(log_mark assets)
        http ss --cacert "$T/tls/cert.pem" --resolve "$ORIGIN:$NA:127.0.0.1" \
            -H "Accept-Encoding: $1" "https://$ORIGIN:$NA/assets/app.js" || return 1
        expect_eq "$(status "$T/ss.h")" 200 || return 1
        expect_eq "$(header "$T/ss.h" content-encoding)" "$2" || return 1
        expect_eq "$(header "$T/ss.h" cache-control)" "public, max-age=31536000, immutable" || return 1
        cmp "$T/ss.b" "$3" || return 1
        sleep 0.2
        expect_eq "$(tail -n +"$((mark + 1))" "${LOG_OF[assets]}" | grep -c 'app.js')" 0
    }
    check "static variant: nginx serves app.js.gz itself (gzip_static)" static_asset gzip gzip "$T/assets/app.js.gz"
    check "static variant: nginx serves app.js itself (identity)" static_asset identity "" "$T/assets/app.js"
    static_discovery()
    {
        http sd --cacert "$T/tls/cert.pem" --resolve "$ORIGIN:$NA:127.0.0.1" "https://$ORIGIN:$NA/.well-known/openid-configuration" || return 1
        json_expect "$T/sd.b" 'd.issuer === "https://auth.example.com/"'
    }
    check "static variant: discovery still proxied to masd-discovery" static_discovery
    # nginx refuses a body above masd-human's 16 KiB itself (client_max_body_size), so masd-human
    # never closes a connection nginx is still sending on. Asked of this nginx: it logs the refusal
    # as an error, which the unix and tcp ones are checked not to log.
    human_body_cap()
    {
        http big --cacert "$T/tls/cert.pem" --resolve "$ORIGIN:$NA:127.0.0.1" -X POST \
            -H 'content-type: application/x-www-form-urlencoded' --data-binary "@$T/big.form" "https://$ORIGIN:$NA/login" || return 1
        expect_eq "$(status "$T/big.h")" 413 || return 1
        # masd's own 413 would be text/plain, and is answered before its access log
        expect_match "$(header "$T/big.h" content-type)" '^text/html' || return 1
        expect_file_contains "$T/nginx-static/error.log" 'client intended to send too large body: 20000 bytes'
    }
    head -c 20000 /dev/zero | tr '\0' a >"$T/big.form"
    check "a POST body above 16 KiB to /login is refused by nginx itself (413)" human_body_cap
    stop nginx-static
fi

# ------------------------------------------------------------------------------------------

for kind in unix tcp; do
    stop "nginx-$kind"
    check "$kind: nginx exits 0 and logged no upstream error" \
        eval "[ $STOP_STATUS = 0 ] && expect_file_lacks '$T/nginx-$kind/error.log' '\[(error|crit|alert|emerg)\]'"
done
masd_stop discovery
masd_stop assets
masd_stop oauth
masd_stop human
finish
