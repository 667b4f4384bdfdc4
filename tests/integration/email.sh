#!/usr/bin/env bash
# E-mail (docs/architecture.md §5, "E-mail"): masd-worker runs the send-email-authentication-code
# job that starting an e-mail authentication queues (tests/email_queue does what a page of
# masd-human will), against a real SMTP server — Debian's python3-aiosmtpd
# (tests/tools/smtp_server.py) on a free loopback port, writing every message it receives to a
# directory — and against a script standing in for sendmail, on SQLite and, when
# MASD_TEST_PG_URI is set, on PostgreSQL:
#   - plain SMTP: the received message parsed (envelope, From, Reply-To, To, Subject, Date,
#     Message-ID, both parts of the multipart/alternative, tidy on the HTML), its code the one in
#     the database;
#   - STARTTLS and implicit TLS with a test CA (SSL_CERT_FILE) and AUTH (password and
#     password_file); a wrong password and an untrusted certificate deliver nothing and retry;
#   - the server down, then up: delivered by the queue's retry;
#   - a recipient refused with 550: the job failed at once, its code removed;
#   - an internationalised address and a UTF-8 sender name: A-labels on the wire, encoded words;
#   - sendmail: COMMAND -i -f FROM -- TO with the message on stdin, the command given and MAS's
#     default (`sendmail` on PATH).
. "$(dirname "$0")/lib.sh"
WORKER_BIN=$BUILD/services/worker/masd-worker
MASCTL_BIN=$BUILD/tools/masctl
QUEUE_BIN=$BUILD/tests/email_queue
SMTP_SERVER=$ROOT/tests/tools/smtp_server.py
require_binaries "$WORKER_BIN" "$MASCTL_BIN" "$QUEUE_BIN"
if ! /usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null; then
    fail_check "python3-aiosmtpd is installed" "run tools/packages --install test"
    finish
fi

# A test CA and a certificate it signed for 127.0.0.1 and localhost; another self-signed one that
# nobody trusts.
make_ca()
{
    mkdir -p "$T/ca"
    (
        cd "$T/ca" || exit 1
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -keyout ca.key \
            -out ca.pem -subj "/CN=masd test CA" 2>/dev/null &&
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.csr \
                -subj "/CN=localhost" 2>/dev/null &&
            printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >ext.cnf &&
            openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out server.pem \
                -extfile ext.cnf 2>/dev/null
    ) || return 1
    make_cert localhost # $T/tls/{cert,key}.pem: self-signed, untrusted
}

# config FILE DB-URI EMAIL-SECTION
config()
{
    {
        printf 'database:\n  uri: "%s"\n' "$2"
        printf 'matrix:\n  homeserver: example.com\n'
        printf '%s\n' "$3"
    } >"$1"
}

# sql DB-URI QUERY: one value from the database (sqlite3 or psql).
sql()
{
    case $1 in
    sqlite://*) sqlite3 "${1#sqlite://}" "$2" ;;
    *) psql -qtA "$1" -c "$2" ;;
    esac
}

smtp_start() # PORT MODE [ARGS...]
{
    local port=$1 mode=$2
    shift 2
    spawn smtp "$T/logs/smtp-$port.log" /usr/bin/python3 "$SMTP_SERVER" --listen "127.0.0.1:$port" --dir "$MAIL" \
        --mode "$mode" --cert "$T/ca/server.pem" --key "$T/ca/server.key" "$@"
    wait_listen "127.0.0.1:$port" "${PID_OF[smtp]}" >"$T/wait.out" 2>&1 ||
        { fail_check "the SMTP server starts ($mode)" "$(cat "$T/wait.out" "$T/logs/smtp-$port.log")"; return 1; }
}

# worker_start NAME CONFIG [ENV...]: masd-worker, until its start line.
worker_start()
{
    local name=$1 cfg=$2 i
    shift 2
    spawn "$name" "$T/logs/$name.log" env "$@" "$WORKER_BIN" --config "$cfg" --threads 2
    for i in $(seq 1 100); do
        grep -q 'running jobs' "$T/logs/$name.log" && return 0
        kill -0 "${PID_OF[$name]}" 2>/dev/null || break
        sleep 0.05
    done
    fail_check "$name starts" "$(cat "$T/logs/$name.log")"
    return 1
}

# queue USER ADDRESS: starts an authentication; its ID in $AUTH.
queue()
{
    AUTH=$("$QUEUE_BIN" "$CFG" "$1" "$2" 2>"$T/queue.err") ||
        { fail_check "an e-mail authentication for $2 starts" "$(cat "$T/queue.err")"; return 1; }
}

wait_until() # SECONDS cmd...
{
    local secs=$1 i
    shift
    for i in $(seq 1 $((secs * 10))); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    "$@"
}
mails() { find "$MAIL" -name '*.eml' 2>/dev/null | wc -l; }
mail_count() { [ "$(mails)" -eq "$1" ] || { echo "$(mails) messages received, expected $1"; return 1; }; }
job() { sql "$URI" "SELECT status || ' ' || attempts FROM queue_jobs WHERE payload LIKE '%$AUTH%'"; }
job_is() { local got; got=$(job); expect_eq "$got" "$1"; }
job_error() { sql "$URI" "SELECT last_error FROM queue_jobs WHERE payload LIKE '%$AUTH%'"; }
codes() { sql "$URI" "SELECT code FROM user_email_authentication_codes WHERE user_email_authentication_id = '$AUTH'"; }

# parse N: $MAIL/N.eml and N.json as JSON in $T/mail-N.json (Python's e-mail parser, RFC 2047
# decoding included): the envelope, the headers, the raw header lines and the decoded parts.
parse()
{
    /usr/bin/python3 - "$MAIL/$1.eml" "$MAIL/$1.json" >"$T/mail-$1.json" <<'EOF'
import email, email.policy, email.utils, json, sys
raw = open(sys.argv[1], "rb").read()
m = email.message_from_bytes(raw, policy=email.policy.default)
head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
out = {"envelope": json.load(open(sys.argv[2])), "raw_headers": head.split("\r\n"),
       "crlf_only": b"\n" not in raw.replace(b"\r\n", b""),
       "longest_line": max(len(l) for l in raw.split(b"\r\n")),
       "headers": {k: str(v) for k, v in m.items()},
       "content_type": m.get_content_type(), "date": email.utils.parsedate_to_datetime(m["Date"]).timestamp(),
       "parts": [{"type": p.get_content_type(), "charset": p.get_content_charset(),
                  "cte": p["Content-Transfer-Encoding"], "body": p.get_content().replace("\r\n", "\n")}
                 for p in (m.iter_parts() if m.is_multipart() else [m])]}
json.dump(out, sys.stdout)
EOF
}

tidy_clean() # FILE
{
    local out
    out=$(tidy -q -e "$1" 2>&1)
    [ -z "$out" ] || { echo "$out"; return 1; }
}

# ---- plain SMTP: the message, parsed ------------------------------------------------------------
case_plain()
{
    local b=$1 port code now
    port=$(free_port) || return
    config "$CFG" "$URI" "email:
  transport: smtp
  mode: plain
  hostname: 127.0.0.1
  port: $port
  from: '\"Auth Service\" <auth@example.com>'
  reply_to: No reply <no-reply@example.com>"
    smtp_start "$port" plain || return
    queue alice alice@example.org || return
    worker_start worker "$CFG" || return
    check "$b: plain SMTP: the code e-mail arrives" wait_until 10 mail_count 1
    check "$b: plain SMTP: the job is completed after one attempt" job_is "completed 1"
    code=$(codes)
    check "$b: one six-digit code is stored for the authentication" expect_match "$code" '^[0-9]{6}$'
    parse 1 || { fail_check "$b: the message parses" "$(cat "$T/mail-1.json")"; return; }
    now=$(date +%s)
    local j=$T/mail-1.json
    check "$b: envelope: MAIL FROM the sender, RCPT TO the address, no TLS, no AUTH" json_expect "$j" \
        'd.envelope.mail_from === "auth@example.com" && JSON.stringify(d.envelope.rcpt_tos) === "[\"alice@example.org\"]" && !d.envelope.tls && d.envelope.login === null'
    check "$b: From, Reply-To and To as configured, named after the session's user" json_expect "$j" \
        'd.headers.From === "Auth Service <auth@example.com>" && d.headers["Reply-To"] === "No reply <no-reply@example.com>" && d.headers.To === "alice <alice@example.org>"'
    check "$b: the subject carries the code" json_expect "$j" "d.headers.Subject === '$code is your code for example.com'"
    check "$b: Date is now, Message-ID is on the sender's domain, MIME 1.0" json_expect "$j" \
        "Math.abs(d.date - $now) < 120 && /^<[0-9A-Z]{26}@example\\.com>\$/.test(d.headers['Message-ID']) && d.headers['MIME-Version'] === '1.0'"
    check "$b: multipart/alternative: text/plain then text/html, UTF-8" json_expect "$j" \
        'd.content_type === "multipart/alternative" && d.parts.length === 2 && d.parts[0].type === "text/plain" && d.parts[1].type === "text/html" && d.parts.every(p => p.charset === "utf-8")'
    check "$b: both parts hold the greeting and the code" json_expect "$j" \
        "d.parts[0].body.startsWith('Hello alice,\\n') && d.parts[0].body.includes('\\n    $code\\n') && d.parts[1].body.includes('>$code</p>') && d.parts[1].body.includes('Hello alice,')"
    check "$b: each header once, CRLF line ends, no line past 78" json_expect "$j" \
        'd.crlf_only && d.longest_line <= 78 && ["Date","From","Reply-To","To","Subject","Message-ID","MIME-Version","Content-Type"].every(h => d.raw_headers.filter(l => l.startsWith(h + ":")).length === 1)'
    node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(process.argv[1])).parts[1].body)' "$j" \
        >"$T/mail-1.html"
    check "$b: the HTML part is valid HTML (tidy)" tidy_clean "$T/mail-1.html"
    masd_stop worker
    stop smtp
}

# ---- STARTTLS and TLS with AUTH; a wrong password and an untrusted certificate ----------------
case_tls()
{
    local b=$1 mode=$2 port
    port=$(free_port) || return
    printf 'sm7p-pa55\n' >"$T/smtp-password"
    local auth="  username: masd
  password: sm7p-pa55"
    [ "$mode" = tls ] && auth="  username: masd
  password_file: $T/smtp-password"
    config "$CFG" "$URI" "email:
  transport: smtp
  mode: $mode
  hostname: 127.0.0.1
  port: $port
$auth
  from: auth@example.com"
    smtp_start "$port" "$mode" --auth masd:sm7p-pa55 || return
    local before
    before=$(mails)
    queue bob bob@example.org || return
    worker_start worker "$CFG" "SSL_CERT_FILE=$T/ca/ca.pem" || return
    check "$b: $mode with AUTH: the code e-mail arrives" wait_until 10 mail_count $((before + 1))
    local n=$((before + 1))
    check "$b: $mode: the session was TLS and authenticated as masd" json_expect "$MAIL/$n.json" \
        'd.tls === true && d.login === "masd" && d.rcpt_tos[0] === "bob@example.org"'
    check "$b: $mode: completed after one attempt" job_is "completed 1"
    masd_stop worker

    # a wrong password: nothing delivered, the job waits for its retry
    config "$CFG" "$URI" "email:
  transport: smtp
  mode: $mode
  hostname: 127.0.0.1
  port: $port
  username: masd
  password: wrong
  from: auth@example.com"
    queue bob bob@example.org || return
    worker_start worker "$CFG" "SSL_CERT_FILE=$T/ca/ca.pem" || return
    check "$b: $mode with a wrong password: the attempt fails and waits for a retry" \
        wait_until 15 job_is "available 1"
    check "$b: $mode with a wrong password: nothing is delivered, the code is removed" \
        eval "mail_count $n && [ -z \"\$(codes)\" ]"
    check "$b: $mode with a wrong password: the job's last error says so" expect_match "$(job_error)" 'smtp'
    masd_stop worker

    # an untrusted certificate: never sent in clear, never accepted
    stop smtp
    spawn smtp "$T/logs/smtp-untrusted.log" /usr/bin/python3 "$SMTP_SERVER" --listen "127.0.0.1:$port" \
        --dir "$MAIL" --mode "$mode" --cert "$T/tls/cert.pem" --key "$T/tls/key.pem"
    wait_listen "127.0.0.1:$port" "${PID_OF[smtp]}" >/dev/null 2>&1
    config "$CFG" "$URI" "email:
  transport: smtp
  mode: $mode
  hostname: 127.0.0.1
  port: $port
  from: auth@example.com"
    sql "$URI" "DELETE FROM queue_jobs" >/dev/null
    queue bob bob@example.org || return
    worker_start worker "$CFG" "SSL_CERT_FILE=$T/ca/ca.pem" || return
    check "$b: $mode to a server whose certificate the CA did not sign: fails, to be retried" \
        wait_until 15 job_is "available 1"
    check "$b: $mode, untrusted certificate: nothing is delivered" mail_count $n
    check "$b: $mode, untrusted certificate: the error names the certificate" \
        expect_match "$(job_error)" '[Cc]ertificate|SSL'
    masd_stop worker
    stop smtp
}

# ---- the server down, then up: delivered by the retry -------------------------------------------
case_retry()
{
    local b=$1 port before
    port=$(free_port) || return
    config "$CFG" "$URI" "email:
  transport: smtp
  mode: plain
  hostname: 127.0.0.1
  port: $port
  from: auth@example.com"
    sql "$URI" "DELETE FROM queue_jobs" >/dev/null
    before=$(mails)
    queue carol carol@example.org || return
    worker_start worker "$CFG" || return
    check "$b: server down: the first attempt fails and is retried later" wait_until 10 job_is "available 1"
    check "$b: server down: the error names the server" expect_match "$(job_error)" "smtp://127.0.0.1:$port"
    check "$b: server down: no code is left that was not sent" expect_eq "$(codes)" ""
    smtp_start "$port" plain || return
    check "$b: server up: the retry (5 s later) delivers it" wait_until 20 mail_count $((before + 1))
    check "$b: server up: completed at the second attempt" job_is "completed 2"
    check "$b: server up: the code that was sent is the one stored" \
        grep -q "$(codes) is your code" "$MAIL/$((before + 1)).eml"
    masd_stop worker

    # a recipient the server refuses for good: failed at once, no retry, no code
    stop smtp
    smtp_start "$port" plain --reject-rcpt nobody || return
    queue - nobody@example.org || return
    worker_start worker "$CFG" || return
    check "$b: 550 to RCPT: the job fails for good at its first attempt" wait_until 10 job_is "failed 1"
    check "$b: 550 to RCPT: the error quotes the server" expect_match "$(job_error)" '550 5\.1\.1'
    check "$b: 550 to RCPT: the code is removed" expect_eq "$(codes)" ""
    masd_stop worker
    stop smtp
}

# ---- an internationalised address and a UTF-8 sender name ---------------------------------------
case_idn()
{
    local b=$1 port n
    port=$(free_port) || return
    config "$CFG" "$URI" "email:
  transport: smtp
  mode: plain
  hostname: 127.0.0.1
  port: $port
  from: Ünïcödé Sërvice <auth@bücher.example>"
    smtp_start "$port" plain || return
    n=$(($(mails) + 1))
    queue anna anna@bücher.example || return
    worker_start worker "$CFG" || return
    check "$b: IDN: the e-mail arrives" wait_until 10 mail_count $n
    parse "$n" || return
    check "$b: IDN: the envelope and the headers carry A-labels, the name in encoded words" json_expect \
        "$T/mail-$n.json" \
        'd.envelope.mail_from === "auth@xn--bcher-kva.example" && d.envelope.rcpt_tos[0] === "anna@xn--bcher-kva.example" && d.headers.From === "Ünïcödé Sërvice <auth@xn--bcher-kva.example>" && d.raw_headers.some(l => l.startsWith("From: =?UTF-8?B?")) && d.raw_headers.every(l => /^[\x20-\x7e]*$/.test(l))'
    masd_stop worker
    stop smtp
    # an address no header can ride on is refused before anything is queued
    check "$b: an address with a line break is refused when the authentication starts" \
        eval "! \"$QUEUE_BIN\" \"$CFG\" anna \$'anna@example.org\\r\\nBcc: eve@evil.example' 2>\"$T/q.err\" && grep -q 'not an e-mail address' \"$T/q.err\""
}

# ---- sendmail ------------------------------------------------------------------------------------
case_sendmail()
{
    local b=$1
    mkdir -p "$T/bin" "$T/sendmail"
    cat >"$T/bin/sendmail" <<EOF
#!/bin/sh
n=\$(ls "$T/sendmail" | grep -c '\.argv\$')
n=\$((n + 1))
cat >"$T/sendmail/\$n.eml"
for a in "\$@"; do printf '[%s]' "\$a"; done >"$T/sendmail/\$n.argv"
EOF
    chmod 755 "$T/bin/sendmail"
    config "$CFG" "$URI" "email:
  transport: sendmail
  command: $T/bin/sendmail
  from: auth@example.com"
    queue dave dave@example.org || return
    worker_start worker "$CFG" || return
    check "$b: sendmail: the command runs with the message" wait_until 10 test -s "$T/sendmail/1.argv"
    check "$b: sendmail: its arguments are -i -f FROM -- TO" \
        expect_eq "$(cat "$T/sendmail/1.argv")" "[-i][-f][auth@example.com][--][dave@example.org]"
    check "$b: sendmail: the message on its stdin holds the stored code" \
        grep -q "^Subject: $(codes) is your code for example.com" "$T/sendmail/1.eml"
    check "$b: sendmail: completed" wait_until 5 job_is "completed 1"
    masd_stop worker
    # MAS's default command: sendmail, found on PATH
    config "$CFG" "$URI" "email:
  transport: sendmail
  from: auth@example.com"
    queue dave dave@example.org || return
    worker_start worker "$CFG" "PATH=$T/bin:$PATH" || return
    check "$b: sendmail without a command: \`sendmail\` on PATH runs" wait_until 10 test -s "$T/sendmail/2.argv"
    masd_stop worker
    rm -rf "$T/sendmail"
}

run_backend()
{
    local b=$1
    URI=$2
    CFG=$T/$b.yaml
    MAIL=$T/mail-$b
    mkdir -p "$MAIL"
    config "$CFG" "$URI" ""
    if ! "$MASCTL_BIN" --config "$CFG" database migrate >"$T/migrate.log" 2>&1; then
        fail_check "$b: masctl database migrate" "$(cat "$T/migrate.log")"
        return
    fi
    case_plain "$b"
    case_tls "$b" starttls
    case_tls "$b" tls
    case_retry "$b"
    case_idn "$b"
    case_sendmail "$b"
}

make_ca || { fail_check "the test certificates" "openssl failed"; finish; }
mkdir -p "$T/db"
backend_wanted sqlite && run_backend sqlite "sqlite://$T/db/masd.db"
if pg_database email; then
    run_backend postgresql "$PG_DB_URI"
fi
finish
