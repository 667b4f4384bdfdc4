#!/usr/bin/env bash
# A listener that faces clients directly (no proxy in front): HTTP/1 framing that h2o 2.2.5
# accepts but a proxy could read another way is refused, the connection closed, and nothing
# after the refused request is answered (common/http1_head.c); and what a client sends is
# escaped in the access log (common/log.c log_escape). Raw bytes from tests/node/rawsock.mjs.
. "$(dirname "$0")/lib.sh"
require_binaries "$DISCOVERY_BIN"

DP=$(free_port)
cat >"$T/config.yaml" <<EOF
http:
  public_base: https://auth.example.com/
  listeners:
    - name: direct
      resources:
        - name: discovery
      binds:
        - address: 127.0.0.1:$DP
$(secrets_yaml)
EOF
masd_start discovery "$DISCOVERY_BIN" "$T/config.yaml" 127.0.0.1:$DP || finish

raw() { node "$NODE_DIR/rawsock.mjs" "$@"; }
DOC=/.well-known/openid-configuration
SMUGGLED="GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"

# refused STATUS PART...: exactly one response, with STATUS; the connection closed by masd; the
# request smuggled after it never reached a handler (no access line for /smuggled).
refused()
{
    local want=$1 out mark
    shift
    mark=$(log_mark discovery)
    out=$(raw --timeout 5000 "127.0.0.1:$DP" "$@") || return 1
    echo "$out"
    node -e 'const r = JSON.parse(process.argv[1]); const want = process.argv[2];
             const n = (r.text.match(/HTTP\/1\.1 \d{3} /g) || []).length;
             process.exit(n === 1 && r.text.startsWith(`HTTP/1.1 ${want} `) && r.closed_by_peer ? 0 : 1)' "$out" "$want" || return 1
    [ -n "${H2O_OWN:-}" ] || log_wait discovery "$mark" "\" $want " >/dev/null || return 1
    sleep 0.2
    if tail -n +"$((mark + 1))" "${LOG_OF[discovery]}" | grep -F ': access: ' | grep -qF /smuggled; then
        echo "the smuggled request was answered"
        return 1
    fi
}

answered_twice()
{
    local out
    out=$(raw --timeout 5000 "127.0.0.1:$DP" "text:GET $DOC HTTP/1.1\r\nHost: x\r\n\r\nGET $DOC HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n") || return 1
    node -e 'const r = JSON.parse(process.argv[1]);
             process.exit((r.text.match(/HTTP\/1\.1 200 /g) || []).length === 2 ? 0 : 1)' "$out"
}
check "two pipelined requests with CRLF framing: both answered 200" answered_twice

post_ok()
{
    local out
    out=$(raw --timeout 5000 "127.0.0.1:$DP" "text:POST $DOC HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc") || return 1
    node -e 'const r = JSON.parse(process.argv[1]); process.exit(/^HTTP\/1\.1 405 /.test(r.text) ? 0 : 1)' "$out"
}
check "a POST with one Content-Length reaches the route (405 from discovery)" post_ok

check "duplicate Content-Length (0, then 37): 400, connection closed, nothing smuggled" \
    refused 400 "text:POST $DOC HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 37\r\n\r\n$SMUGGLED"
check "Transfer-Encoding with Content-Length: 400, connection closed, nothing smuggled" \
    refused 400 "text:POST $DOC HTTP/1.1\r\nHost: x\r\nContent-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n$SMUGGLED"
check "chunk size 0x1 (h2o reads 0): 411, connection closed, nothing smuggled" \
    refused 411 "text:POST $DOC HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0x1\r\n\r\n$SMUGGLED"
check "chunked body: 411 Length Required, connection closed" \
    refused 411 "text:POST $DOC HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n$SMUGGLED"
check "bare LF line ends: 400, connection closed, nothing smuggled" \
    refused 400 "text:GET $DOC HTTP/1.1\nHost: x\n\n$SMUGGLED"
check "obs-fold header line: 400, connection closed, nothing smuggled" \
    refused 400 "text:GET $DOC HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n Content-Length: 5\r\n\r\n$SMUGGLED"
# h2o's parser refuses this one itself (its plain 400, not logged): checked all the same.
H2O_OWN=1 check "space before the colon of Content-Length: 400, connection closed" \
    refused 400 "text:POST $DOC HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\nabcde$SMUGGLED"

# The access log: a path with a quote, a backslash, an RTL override and an invalid byte is
# written escaped (\xHH), on one line, and the line still parses field by field.
escaped_path()
{
    local mark line
    mark=$(log_mark discovery)
    raw --timeout 5000 "127.0.0.1:$DP" 'text:GET /a"b\\c' hex:e280aeff "text: HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" >/dev/null || return 1
    line=$(log_wait discovery "$mark" '/a\x22b') || return 1
    echo "$line"
    expect_eq "$(access_field "$line" path)" '/a\x22b\x5cc\xe2\x80\xae\xff' || return 1
    expect_eq "$(access_field "$line" status)" 404 || return 1
    expect_eq "$(tail -n +"$((mark + 1))" "${LOG_OF[discovery]}" | grep -c ': access: ')" 1
}
check "access log: quote, backslash, RTL override, invalid UTF-8 in the path are escaped" escaped_path

masd_stop discovery
finish
