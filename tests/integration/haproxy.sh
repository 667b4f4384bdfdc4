#!/usr/bin/env bash
# haproxy (mode tcp, send-proxy and send-proxy-v2, v2 LOCAL health checks) in front of a
# `proxy_protocol: true` listener of masd-discovery, and the strict PROXY front end's handling
# of missing, malformed, oversized and half-sent headers (raw bytes from tests/node/rawsock.mjs).
. "$(dirname "$0")/lib.sh"
require_binaries "$DISCOVERY_BIN"

PP=$(free_port) # masd, PROXY protocol required
H1=$(free_port) # haproxy send-proxy
H2=$(free_port) # haproxy send-proxy-v2
H3=$(free_port) # haproxy with v2 health checks
DP=$(free_port) # masd, plain HTTP (a proxy in front that sets X-Forwarded-For)
H4=$(free_port) # haproxy mode http, option forwardfor

cat >"$T/config.yaml" <<EOF
http:
  public_base: https://auth.example.com/
  trusted_proxies:
    - 127.0.0.1/32
  listeners:
    - name: discovery-proxy
      resources:
        - name: discovery
        - name: health
      proxy_protocol: true
      binds:
        - address: 127.0.0.1:$PP
    - name: discovery-direct
      resources:
        - name: discovery
      binds:
        - address: 127.0.0.1:$DP
$(secrets_yaml)
EOF
masd_start discovery "$DISCOVERY_BIN" "$T/config.yaml" 127.0.0.1:$PP 127.0.0.1:$DP || finish

cat >"$T/haproxy.cfg" <<EOF
global
    maxconn 256
    stats socket $T/haproxy.sock mode 600 level admin

defaults
    mode tcp
    timeout connect 2s
    timeout client 30s
    timeout server 30s

frontend fe_v1
    bind 127.0.0.1:$H1
    default_backend be_v1
backend be_v1
    server masd 127.0.0.1:$PP send-proxy

frontend fe_v2
    bind 127.0.0.1:$H2
    default_backend be_v2
backend be_v2
    server masd 127.0.0.1:$PP send-proxy-v2

frontend fe_check
    bind 127.0.0.1:$H3
    default_backend be_check
backend be_check
    option httpchk GET /health
    server masd 127.0.0.1:$PP send-proxy-v2 check inter 300ms fall 1 rise 1

frontend fe_http
    mode http
    bind 127.0.0.1:$H4
    option forwardfor
    default_backend be_http
backend be_http
    mode http
    server masd 127.0.0.1:$DP
EOF
haproxy_start haproxy "$T/haproxy.cfg" 127.0.0.1:$H1 127.0.0.1:$H2 127.0.0.1:$H3 127.0.0.1:$H4 || finish

# ------------------------------------------------------------------------------------------
# Through haproxy: the client (bound to 127.0.0.7) is what masd logs.

via_haproxy() # PORT PATH
{
    local mark
    mark=$(log_mark discovery)
    http hp --interface 127.0.0.7 -H "X-Forwarded-For: 1.2.3.4" "http://127.0.0.1:$1$2" || return 1
    expect_eq "$(status "$T/hp.h")" 200 || return 1
    expect_logged_client discovery "$mark" "${2%%\?*}" 127.0.0.7
}
check "send-proxy (v1): answered, logged client is haproxy's client 127.0.0.7" \
    via_haproxy $H1 /.well-known/openid-configuration
check "send-proxy-v2: answered, logged client is haproxy's client 127.0.0.7" \
    via_haproxy $H2 '/.well-known/webfinger?resource=acct:a@example.com'

haproxy_health_check()
{
    local mark state i
    mark=0
    for i in $(seq 1 40); do
        state=$(node "$NODE_DIR/rawsock.mjs" --timeout 2000 "$T/haproxy.sock" 'text:show servers state be_check\n')
        # srv_op_state (6th column of the data line) is 2 when the server is UP.
        if node -e 'const r = JSON.parse(process.argv[1]); const l = r.text.split("\n").find(x => /^\d+ be_check /.test(x));
                    process.exit(l && l.split(" ")[5] === "2" ? 0 : 1)' "$state" &&
            log_wait discovery "$mark" '"GET /health"' 0 >/dev/null 2>&1; then
            break
        fi
        sleep 0.1
    done
    echo "haproxy: $state"
    local line
    line=$(log_wait discovery "$mark" '"GET /health"') || return 1
    echo "masd: $line"
    expect_eq "$(access_field "$line" status)" 200 || return 1
    # A LOCAL header carries no address: masd uses the socket peer, haproxy itself.
    expect_eq "$(access_field "$line" client)" 127.0.0.1 || return 1
    node -e 'const r = JSON.parse(process.argv[1]); const l = r.text.split("\n").find(x => /^\d+ be_check /.test(x));
             process.exit(l && l.split(" ")[5] === "2" ? 0 : 1)' "$state"
}
check "haproxy's send-proxy-v2 health check (v2 LOCAL + GET /health) is answered: server UP" haproxy_health_check

# haproxy's `option forwardfor` appends one X-Forwarded-For line naming the client it saw
# (127.0.0.7, untrusted: only 127.0.0.1/32 is). The client's own lines come before it, however
# many: masd must still log 127.0.0.7 (it once read only the first 16 lines).
forwardfor_many_lines()
{
    local mark i args=()
    for i in $(seq 1 "$1"); do args+=(-H "X-Forwarded-For: 6.6.6.$i"); done
    mark=$(log_mark discovery)
    http hpf --interface 127.0.0.7 "${args[@]}" "http://127.0.0.1:$H4/.well-known/openid-configuration" || return 1
    expect_eq "$(status "$T/hpf.h")" 200 || return 1
    expect_logged_client discovery "$mark" /.well-known/openid-configuration 127.0.0.7
}
check "option forwardfor, client sends 1 line of its own: logged client is 127.0.0.7" forwardfor_many_lines 1
check "option forwardfor, client sends 16 lines of its own: logged client is 127.0.0.7" forwardfor_many_lines 16
check "option forwardfor, client sends 40 lines of its own: logged client is 127.0.0.7" forwardfor_many_lines 40

stop haproxy USR1
check "haproxy exits 0 on a soft stop (SIGUSR1)" expect_eq "$STOP_STATUS" 0

# ------------------------------------------------------------------------------------------
# Raw bytes straight to the PROXY listener.

SIG=0d0a0d0a000d0a515549540a # the PROXY v2 signature
raw() { node "$NODE_DIR/rawsock.mjs" "$@"; }

# dropped DESCRIPTION MAX-MS PART...: the connection is closed with no response bytes, within
# MAX-MS of the end of sending.
dropped()
{
    local max=$1 out
    shift
    out=$(raw --timeout 9000 "127.0.0.1:$PP" "$@") || return 1
    echo "$out"
    node -e 'const r = JSON.parse(process.argv[1]); const max = Number(process.argv[2]);
             process.exit(r.connected && r.bytes === 0 && r.closed_by_peer && r.elapsed_ms <= max ? 0 : 1)' "$out" "$max"
}

# answered EXPECTED-CLIENT PATH PART...: a 200 response, and the access line names the client.
answered()
{
    local want=$1 path=$2 out mark
    shift 2
    mark=$(log_mark discovery)
    out=$(raw --timeout 5000 "127.0.0.1:$PP" "$@") || return 1
    echo "$out"
    node -e 'const r = JSON.parse(process.argv[1]); process.exit(/^HTTP\/1\.[01] 200 /.test(r.text) ? 0 : 1)' "$out" || return 1
    expect_logged_client discovery "$mark" "$path" "$want"
}

REQ='GET /.well-known/openid-configuration HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 1.2.3.4\r\nConnection: close\r\n\r\n'
WF='/.well-known/webfinger'

check "no PROXY header: closed without a response" \
    dropped 2000 "text:$REQ"
check "malformed v1 (bad address 1.2.3.999): closed without a response" \
    dropped 2000 "text:PROXY TCP4 1.2.3.999 127.0.0.1 1234 80\r\n$REQ"
check "malformed v1 (port 99999): closed without a response" \
    dropped 2000 "text:PROXY TCP4 1.2.3.4 127.0.0.1 99999 80\r\n$REQ"
check "malformed v1 (family TCP4 with an IPv6 address): closed without a response" \
    dropped 2000 "text:PROXY TCP4 2001:db8::1 127.0.0.1 1234 80\r\n$REQ"
check "oversized v1 (200 bytes, no CRLF): closed without a response, before the deadline" \
    dropped 2000 "text:PROXY TCP4 $(printf 'A%.0s' $(seq 1 200))"
check "v2 with an unknown address family: closed without a response" \
    dropped 2000 "hex:${SIG}21510000" "text:$REQ"
check "v2 with an unknown command: closed without a response" \
    dropped 2000 "hex:${SIG}2f110000" "text:$REQ"

half_sent()
{
    local out
    out=$(raw --timeout 9000 "127.0.0.1:$PP" "text:PROXY TCP4 1.2.3.4") || return 1
    echo "$out"
    node -e 'const r = JSON.parse(process.argv[1]);
             process.exit(r.bytes === 0 && r.closed_by_peer && r.elapsed_ms >= 4000 && r.elapsed_ms < 7000 ? 0 : 1)' "$out"
}
check "half-sent v1 header: closed without a response after ~5 s (4-7 s)" half_sent

check "v1 TCP4: the PROXY source is the client, X-Forwarded-For ignored" \
    answered 203.0.113.40 "$WF" "text:PROXY TCP4 203.0.113.40 127.0.0.1 40000 443\r\nGET $WF?resource=x HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 1.2.3.4\r\nConnection: close\r\n\r\n"
check "v1 TCP6: the PROXY source is the client" \
    answered 2001:db8::5 "$WF" "text:PROXY TCP6 2001:db8::5 2001:db8::1 40000 443\r\nGET $WF?resource=x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
check "v1 UNKNOWN: the socket peer is the client" \
    answered 127.0.0.1 "$WF" "text:PROXY UNKNOWN\r\nGET $WF?resource=x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
check "v1 header split over two writes is reassembled" \
    answered 198.51.100.7 "$WF" "text:PROXY TCP4 198.51" "sleep:200" "text:.100.7 127.0.0.1 40000 443\r\nGET $WF?resource=x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
check "v2 LOCAL: answered, the socket peer is the client" \
    answered 127.0.0.1 "$WF" "hex:${SIG}20000000" "text:GET $WF?resource=x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
# PROXY TCP4 203.0.113.50:12345 -> 127.0.0.1:443, with a PP2_TYPE_AUTHORITY TLV ("example").
check "v2 PROXY TCP4 with a TLV: the PROXY source is the client, X-Forwarded-For ignored" \
    answered 203.0.113.50 "$WF" "hex:${SIG}21110016cb0071327f000001303901bb0200076578616d706c65" \
    "text:GET $WF?resource=x HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 1.2.3.4\r\nConnection: close\r\n\r\n"
# PROXY TCP6 2001:db8::9 -> ::1
check "v2 PROXY TCP6: the PROXY source is the client" \
    answered 2001:db8::9 "$WF" "hex:${SIG}21210024$(printf '20010db8%024x' 9)$(printf '%032x' 1)303901bb" \
    "text:GET $WF?resource=x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"

masd_stop discovery
finish
