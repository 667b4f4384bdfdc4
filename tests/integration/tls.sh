#!/usr/bin/env bash
# TLS listeners: HTTP/1.1 over TLS, HTTP/2 by ALPN only where `http2: true`, certificate and key
# from files or inline, h2c refused on plain listeners, and TLS behind a PROXY v2 header.
. "$(dirname "$0")/lib.sh"
require_binaries "$DISCOVERY_BIN"

P1=$(free_port) # TLS, http2: true, certificate/key from files
P2=$(free_port) # TLS, no http2, certificate/key inline
P3=$(free_port) # plain
P4=$(free_port) # plain, http2: true
P5=$(free_port) # TLS + http2 behind PROXY protocol
HP=$(free_port) # haproxy send-proxy-v2 -> P5

make_cert localhost
indent() { sed 's/^/          /' "$1"; }

cat >"$T/config.yaml" <<EOF
http:
  public_base: https://localhost/
  trusted_proxies: [127.0.0.1/32]
  listeners:
    - name: tls-h2
      resources: [{name: discovery}]
      http2: true
      tls:
        certificate_file: $T/tls/cert.pem
        key_file: $T/tls/key.pem
      binds: [{address: "127.0.0.1:$P1"}]
    - name: tls-h1
      resources: [{name: discovery}]
      tls:
        certificate: |
$(indent "$T/tls/cert.pem")
        key: |
$(indent "$T/tls/key.pem")
      binds: [{address: "127.0.0.1:$P2"}]
    - name: plain
      resources: [{name: discovery}]
      binds: [{address: "127.0.0.1:$P3"}]
    - name: plain-h2
      resources: [{name: discovery}]
      http2: true
      binds: [{address: "127.0.0.1:$P4"}]
    - name: tls-proxy
      resources: [{name: discovery}]
      proxy_protocol: true
      http2: true
      tls:
        certificate_file: $T/tls/cert.pem
        key_file: $T/tls/key.pem
      binds: [{address: "127.0.0.1:$P5"}]
$(secrets_yaml)
EOF
masd_start discovery "$DISCOVERY_BIN" "$T/config.yaml" 127.0.0.1:$P1 127.0.0.1:$P2 127.0.0.1:$P3 127.0.0.1:$P4 127.0.0.1:$P5 || finish

DOC=/.well-known/openid-configuration

# get NAME EXPECTED-HTTP-VERSION curl-args... URL: 200, the discovery document, that version.
get()
{
    local name=$1 want=$2 v
    shift 2
    v=$(http "$name" -w '%{http_version}' --cacert "$T/tls/cert.pem" "$@") || return 1
    expect_eq "$(status "$T/$name.h")" 200 || return 1
    json_expect "$T/$name.b" 'd.issuer === "https://localhost/"' || return 1
    expect_eq "$v" "$want"
}

check "TLS listener: HTTP/1.1 over TLS" get a 1.1 --http1.1 "https://localhost:$P1$DOC" --resolve localhost:$P1:127.0.0.1
check "TLS listener with http2: true: HTTP/2 negotiated by ALPN (curl)" \
    get b 2 --http2 "https://localhost:$P1$DOC" --resolve localhost:$P1:127.0.0.1
check "TLS listener with http2: true: TLS 1.2 works too" \
    get c 2 --http2 --tls-max 1.2 "https://localhost:$P1$DOC" --resolve localhost:$P1:127.0.0.1

nghttp_h2()
{
    nghttp -nv "https://127.0.0.1:$P1$DOC" >"$T/nghttp.out" 2>&1
    grep -E 'negotiated|:status' "$T/nghttp.out" | head -n 5
    expect_file_contains "$T/nghttp.out" 'negotiated protocol: h2$' || return 1
    expect_file_contains "$T/nghttp.out" ':status: 200'
}
check "TLS listener with http2: true: nghttp gets HTTP/2 200" nghttp_h2

check "TLS listener without http2 (inline certificate and key): HTTP/1.1 over TLS" \
    get d 1.1 --http1.1 "https://localhost:$P2$DOC" --resolve localhost:$P2:127.0.0.1
check "TLS listener without http2: curl --http2 falls back to HTTP/1.1" \
    get e 1.1 --http2 "https://localhost:$P2$DOC" --resolve localhost:$P2:127.0.0.1

alpn() # PORT PROTOCOLS: the ALPN protocol the server picks
{
    echo | openssl s_client -connect "127.0.0.1:$1" -alpn "$2" -servername localhost 2>/dev/null |
        sed -n 's/^ALPN protocol: //p'
}
check "TLS listener without http2: ALPN offers h2 and http/1.1, server picks http/1.1" \
    eval 'expect_eq "$(alpn $P2 h2,http/1.1)" http/1.1'
check "TLS listener without http2: ALPN h2 only is not accepted" \
    eval 'expect_eq "$(alpn $P2 h2)" ""'
check "TLS listener with http2: ALPN h2 accepted" \
    eval 'expect_eq "$(alpn $P1 h2,http/1.1)" h2'

# h2c: curl --http2 on http:// sends "Upgrade: h2c"; masd must ignore it and answer in HTTP/1.1.
check "plain listener: h2c Upgrade ignored, answered in HTTP/1.1" \
    get f 1.1 --http2 "http://127.0.0.1:$P3$DOC"
no_h2c_upgrade()
{
    http g -v --http2 "http://127.0.0.1:$P3$DOC" 2>"$T/g.v" || return 1
    expect_file_lacks "$T/g.h" '^HTTP/1.1 101' && expect_file_lacks "$T/g.v" '101 Switching'
}
check "plain listener: no 101 Switching Protocols" no_h2c_upgrade
prior_knowledge_refused()
{
    local v
    if v=$(http h -w '%{http_version}' --http2-prior-knowledge "http://127.0.0.1:$P3$DOC" 2>&1); then
        [ "$v" != 2 ] || { echo "HTTP/2 prior knowledge accepted on a listener without http2"; return 1; }
    fi
    return 0
}
check "plain listener without http2: HTTP/2 prior knowledge not served" prior_knowledge_refused
check "plain listener with http2: true: HTTP/2 prior knowledge served" \
    get i 2 --http2-prior-knowledge "http://127.0.0.1:$P4$DOC"
check "plain listener with http2: true: h2c Upgrade still ignored" \
    get j 1.1 --http2 "http://127.0.0.1:$P4$DOC"

# TLS behind PROXY v2: haproxy relays TCP and prepends the header; masd terminates TLS.
cat >"$T/haproxy.cfg" <<EOF
global
    maxconn 64
defaults
    mode tcp
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:$HP
    default_backend be
backend be
    server masd 127.0.0.1:$P5 send-proxy-v2
EOF
if haproxy_start haproxy "$T/haproxy.cfg" 127.0.0.1:$HP; then
    tls_behind_proxy()
    {
        local mark
        mark=$(log_mark discovery)
        get k 2 --http2 --interface 127.0.0.7 "https://localhost:$HP$DOC" --resolve localhost:$HP:127.0.0.1 || return 1
        expect_logged_client discovery "$mark" "$DOC" 127.0.0.7
    }
    check "TLS + HTTP/2 behind haproxy send-proxy-v2: answered, client from the PROXY header" tls_behind_proxy
    stop haproxy USR1
fi

masd_stop discovery
finish
