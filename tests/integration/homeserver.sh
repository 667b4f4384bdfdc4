#!/usr/bin/env bash
# The homeserver sync (MAS: crates/tasks/src/matrix.rs) against the stand-in homeserver
# (tests/homeserver/standin.py: Synapse's /_synapse/mas API, the one allowed stand-in), on SQLite
# and, when MASD_TEST_PG_URI is set, on PostgreSQL, with masd-oauth, masd-worker and masctl:
#   - an account's whole life: register → compat login (the device exists on the homeserver
#     before the response) → a second device → logout (the sync drops the device) → lock →
#     unlock → deactivate, each call and body as the reference says;
#   - a login before the provisioning job ran: provisioned and retried at once;
#   - the homeserver down during a login (500 M_UNKNOWN, no session left) and during a logout
#     (the job retries; the device is gone once the homeserver is back);
#   - a worker killed (kill -9) in the middle of a job: the job runs again after its lease;
#   - two workers on one database: every job runs exactly once;
#   - read-only mode (refused up front, nothing queued, old jobs failed at once) and a wrong
#     secret (the homeserver's 403 in the log and in the job's last error).
. "$(dirname "$0")/lib.sh"
OAUTH_BIN=$BUILD/services/oauth/masd-oauth
WORKER_BIN=$BUILD/services/worker/masd-worker
MASCTL_BIN=$BUILD/tools/masctl
require_binaries "$OAUTH_BIN" "$WORKER_BIN" "$MASCTL_BIN"

PW='correct horse battery staple'
SECRET=the-shared-secret-between-masd-and-synapse
J='content-type: application/json'

# config FILE DB-URI OAUTH-PORT HS-PORT [KIND] [SECRET]
config()
{
    local file=$1 uri=$2 port=$3 hs=$4 kind=${5:-synapse} secret=${6:-$SECRET}
    {
        printf 'http:\n  public_base: https://auth.example.com/\n'
        printf '  listeners:\n    - name: oauth\n'
        printf '      resources: [{name: oauth}, {name: compat}, {name: health}]\n'
        printf '      binds: [{address: "127.0.0.1:%s"}]\n' "$port"
        printf 'database:\n  uri: "%s"\n' "$uri"
        printf 'matrix:\n  kind: %s\n  homeserver: example.com\n  endpoint: http://127.0.0.1:%s/\n' "$kind" "$hs"
        printf '  secret: %s\n' "$secret"
        printf 'passwords:\n  schemes:\n    - {version: 1, algorithm: bcrypt, cost: 4}\n'
        printf 'rate_limiting:\n  login:\n    per_ip: {burst: 1000, per_second: 1000}\n'
        printf '    per_account: {burst: 1000, per_second: 1000}\n'
        secrets_yaml
    } >"$file"
}

# login NAME PORT USER [EXTRA-JSON-MEMBERS]
login()
{
    http "$1" -X POST "http://127.0.0.1:$2/_matrix/client/v3/login" -H "$J" \
        --data-binary "$(printf '{"type":"m.login.password","identifier":{"type":"m.id.user","user":"%s"},"password":"%s"%s}' "$3" "$PW" "${4:-}")"
}
field() { node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))[process.argv[2]])' "$T/$1.b" "$2"; }

# The stand-in's state and the calls it recorded.
hs_state() { curl -sS --max-time 5 "http://127.0.0.1:$HS_PORT/_standin/state" >"$T/state.json"; }
# state_expect JS: a condition on the stand-in's state (d), e.g. "d.users.alice.locked".
state_expect() { hs_state && json_expect "$T/state.json" "$1"; }
# calls_since N: the recorded calls after line N, one per line: "METHOD NAME BODY STATUS" with
# the body's keys sorted.
calls_since()
{
    tail -n +"$(($1 + 1))" "$HS_RECORD" | node -e '
        const sort = v => Array.isArray(v) ? v.map(sort) : v && typeof v === "object"
            ? Object.fromEntries(Object.keys(v).sort().map(k => [k, sort(v[k])])) : v;
        for (const l of require("fs").readFileSync(0, "utf8").split("\n").filter(Boolean)) {
            const c = JSON.parse(l);
            console.log(`${c.method} ${c.path.replace("/_synapse/mas/", "")}${c.query ? "?" + c.query : ""} ${JSON.stringify(sort(c.body))} ${c.status}`);
        }'
}
mark() { wc -l <"$HS_RECORD"; }
# wait_until SECONDS cmd...: polls cmd every 0.1 s.
wait_until()
{
    local secs=$1 i
    shift
    for i in $(seq 1 $((secs * 10))); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    "$@"
}
# calls_are MARK EXPECTED: the calls since MARK are exactly EXPECTED (lines), in order.
calls_are()
{
    local got
    got=$(calls_since "$1")
    [ "$got" = "$2" ] && return 0
    printf 'expected:\n%s\ngot:\n%s\n' "$2" "$got"
    return 1
}
# calls_count MARK N: at least N calls since MARK.
calls_count() { [ "$(calls_since "$1" | wc -l)" -ge "$2" ]; }

hs_start()
{
    spawn hs "$T/logs/hs.log" /usr/bin/python3 "$ROOT/tests/homeserver/standin.py" --listen "127.0.0.1:$HS_PORT" \
        --server-name example.com --secret "$SECRET" --state "$HS_DIR/state.json" --record "$HS_RECORD"
    wait_listen "127.0.0.1:$HS_PORT" "${PID_OF[hs]}" >"$T/wait.out" 2>&1 ||
        { fail_check "the stand-in homeserver starts" "$(cat "$T/wait.out" "$T/logs/hs.log")"; return 1; }
}

# sql DB-URI QUERY: one value from the database (sqlite3 or psql).
sql()
{
    case $1 in
    sqlite://*) sqlite3 "${1#sqlite://}" "$2" ;;
    *) psql -qtA "$1" -c "$2" ;;
    esac
}

# ---- the life of an account -----------------------------------------------------------------
life()
{
    local b=$1 uri=$2 port=$3 m
    m=$(mark)
    "${M[@]}" manage register-user -y -p "$PW" --ignore-password-complexity -e alice@example.com \
        -d Alice alice >"$T/reg.out" 2>&1
    check "$b: register-user queues the provisioning; the worker provisions the user and syncs" \
        wait_until 10 calls_are "$m" 'POST provision_user {"localpart":"alice","locked":false,"set_displayname":"Alice","set_emails":["alice@example.com"]} 201
POST sync_devices {"devices":[],"localpart":"alice"} 200'
    check "$b: the homeserver has alice with her name and address" \
        state_expect 'd.users.alice.display_name === "Alice" && d.users.alice.emails.includes("alice@example.com") && !d.users.alice.locked'

    m=$(mark)
    login l1 "$port" alice ',"device_id":"PHONE","initial_device_display_name":"Alice phone"'
    hs_state # at once: the device must already exist
    check "$b: compat login 200 with the device" eval "expect_eq \"\$(status $T/l1.h)\" 200 && expect_eq \"\$(field l1 device_id)\" PHONE"
    check "$b: the device existed on the homeserver before the login answered" \
        json_expect "$T/state.json" 'd.users.alice.devices.PHONE === "Alice phone"'
    check "$b: the login's one call: upsert_device with the display name" calls_are "$m" \
        'POST upsert_device {"device_id":"PHONE","display_name":"Alice phone","localpart":"alice"} 201'

    m=$(mark)
    login l2 "$port" alice
    local dev2
    dev2=$(field l2 device_id)
    check "$b: a second login gets a generated device, created without a name" calls_are "$m" \
        "POST upsert_device {\"device_id\":\"$dev2\",\"localpart\":\"alice\"} 201"
    check "$b: the homeserver has both devices" state_expect "Object.keys(d.users.alice.devices).sort().join() === ['PHONE', '$dev2'].sort().join()"

    m=$(mark)
    http lo -X POST "http://127.0.0.1:$port/_matrix/client/v3/logout" -H "authorization: Bearer $(field l1 access_token)"
    check "$b: logout 200" expect_eq "$(status "$T/lo.h")" 200
    check "$b: the logout's sync job sends the remaining device set" wait_until 10 calls_are "$m" \
        "POST sync_devices {\"devices\":[\"$dev2\"],\"localpart\":\"alice\"} 200"
    check "$b: PHONE is gone from the homeserver" state_expect "!('PHONE' in d.users.alice.devices) && '$dev2' in d.users.alice.devices"

    m=$(mark)
    "${M[@]}" manage lock-user alice >/dev/null 2>&1
    check "$b: lock-user: provision_user with locked true, then a sync" wait_until 10 calls_are "$m" \
        "POST provision_user {\"localpart\":\"alice\",\"locked\":true,\"set_emails\":[\"alice@example.com\"]} 200
POST sync_devices {\"devices\":[\"$dev2\"],\"localpart\":\"alice\"} 200"
    check "$b: alice is locked on the homeserver" state_expect 'd.users.alice.locked === true'
    m=$(mark)
    "${M[@]}" manage unlock-user alice >/dev/null 2>&1
    check "$b: unlock-user: provision_user with locked false" wait_until 10 calls_are "$m" \
        "POST provision_user {\"localpart\":\"alice\",\"locked\":false,\"set_emails\":[\"alice@example.com\"]} 200
POST sync_devices {\"devices\":[\"$dev2\"],\"localpart\":\"alice\"} 200"

    m=$(mark)
    "${M[@]}" manage add-email alice alice2@example.com >/dev/null 2>&1
    check "$b: add-email pushes the new address list (MAS did not)" wait_until 10 calls_are "$m" \
        "POST provision_user {\"localpart\":\"alice\",\"locked\":false,\"set_emails\":[\"alice@example.com\",\"alice2@example.com\"]} 200
POST sync_devices {\"devices\":[\"$dev2\"],\"localpart\":\"alice\"} 200"

    m=$(mark)
    "${M[@]}" manage lock-user --deactivate alice >/dev/null 2>&1
    check "$b: lock-user --deactivate: provision (locked), delete_user without erase, then the sync" \
        wait_until 10 calls_are "$m" \
        "POST provision_user {\"localpart\":\"alice\",\"locked\":true,\"set_emails\":[\"alice@example.com\",\"alice2@example.com\"]} 200
POST delete_user {\"erase\":false,\"localpart\":\"alice\"} 200
POST sync_devices {\"devices\":[],\"localpart\":\"alice\"} 200"
    check "$b: alice is deactivated on the homeserver, without devices" \
        state_expect 'd.users.alice.deactivated === true && Object.keys(d.users.alice.devices).length === 0'
    check "$b: every job completed" \
        wait_until 5 eval "[ \"\$(sql '$uri' \"SELECT COUNT(*) FROM queue_jobs WHERE status <> 'completed'\")\" = 0 ]"
}

# ---- a login before the provisioning ran ------------------------------------------------------
race()
{
    local b=$1 port=$2 m
    stop worker-$b # no worker: the provision-user job waits
    "${M[@]}" manage register-user -y -p "$PW" --ignore-password-complexity bob >/dev/null 2>&1
    m=$(mark)
    login r1 "$port" bob ',"device_id":"BOBDEV"'
    check "$b: a login before provisioning: 200 (MAS answered 500 here)" expect_eq "$(status "$T/r1.h")" 200
    check "$b: upsert 404, provision_user, upsert again" calls_are "$m" \
        'POST upsert_device {"device_id":"BOBDEV","localpart":"bob"} 404
POST provision_user {"localpart":"bob","locked":false,"set_emails":[]} 201
POST upsert_device {"device_id":"BOBDEV","localpart":"bob"} 201'
    worker_start "$b"
}

# ---- the homeserver down --------------------------------------------------------------------
down()
{
    local b=$1 port=$2 m
    wait_until 10 state_expect '"bob" in d.users' >/dev/null
    stop hs
    login d1 "$port" bob ',"device_id":"DOWNDEV"'
    check "$b: homeserver down during a login: 500 M_UNKNOWN" \
        eval "expect_eq \"\$(status $T/d1.h)\" 500 && json_expect $T/d1.b \"d.errcode === 'M_UNKNOWN'\""
    check "$b: ... and no session is left" eval "\"\${M[@]}\" manage kill-sessions --dry-run bob | grep -q 'would end 1 session'"
    check "$b: masd-oauth logged why" expect_file_contains "${LOG_OF[oauth-$b]}" 'cannot create device DOWNDEV on the homeserver'
    hs_start || return
    login d2 "$port" bob ',"device_id":"LATER"'
    check "$b: login with the homeserver back: 200" expect_eq "$(status "$T/d2.h")" 200
    stop hs
    http d3 -X POST "http://127.0.0.1:$port/_matrix/client/v3/logout" -H "authorization: Bearer $(field d2 access_token)"
    check "$b: homeserver down during a logout: the logout still succeeds" expect_eq "$(status "$T/d3.h")" 200
    sleep 1.5 # the worker's first attempt fails
    hs_start || return
    check "$b: the sync job retried; LATER is gone from the homeserver once it is back" \
        wait_until 20 state_expect '!("LATER" in d.users.bob.devices) && "BOBDEV" in d.users.bob.devices'
}

# ---- a worker killed in the middle of a job -------------------------------------------------
killed()
{
    local b=$1 uri=$2 port=$3
    # the retries of the outage above are done first: the one running job below is the logout's
    wait_until 40 eval "[ \"\$(sql '$uri' \"SELECT COUNT(*) FROM queue_jobs WHERE status IN ('available', 'running')\")\" = 0 ]"
    login k1 "$port" bob ',"device_id":"KILLDEV"'
    curl -sS -X POST "http://127.0.0.1:$HS_PORT/_standin/latency" -d '{"ms":3000}' >/dev/null
    http k2 -X POST "http://127.0.0.1:$port/_matrix/client/v3/logout" -H "authorization: Bearer $(field k1 access_token)"
    check "$b: a sync job is running (the slow homeserver holds it)" \
        wait_until 10 eval "[ \"\$(sql '$uri' \"SELECT COUNT(*) FROM queue_jobs WHERE status = 'running'\")\" = 1 ]"
    local jid
    jid=$(sql "$uri" "SELECT queue_job_id FROM queue_jobs WHERE status = 'running'")
    stop worker-$b KILL
    curl -sS -X POST "http://127.0.0.1:$HS_PORT/_standin/latency" -d '{"ms":0}' >/dev/null
    check "$b: killed mid-call, the job stays leased to the dead worker" \
        expect_eq "$(sql "$uri" "SELECT status || ' ' || attempts FROM queue_jobs WHERE queue_job_id = '$jid'")" "running 1"
    sleep 3.5 # the orphaned call ends at the homeserver
    # A new worker, its clock past the dead one's lease.
    MASD_TEST_CLOCK_OFFSET_MS=$((130 * 1000)) worker_start "$b"
    check "$b: after the lease the job ran again, on its second attempt" \
        wait_until 15 eval "[ \"\$(sql '$uri' \"SELECT status || ' ' || attempts FROM queue_jobs WHERE queue_job_id = '$jid'\")\" = 'completed 2' ]"
    check "$b: the end state is the same: KILLDEV is gone from the homeserver" \
        state_expect '!("KILLDEV" in d.users.bob.devices) && "BOBDEV" in d.users.bob.devices'
    stop worker-$b
    worker_start "$b"
}

# ---- two workers: every job exactly once ----------------------------------------------------
many()
{
    local b=$1 m i
    stop worker-$b
    for i in $(seq 1 40); do "${M[@]}" manage register-user -y "u$i" >/dev/null 2>&1; done
    "${M[@]}" manage provision-all-users >"$T/pau.out" 2>&1
    check "$b: provision-all-users queues one job per user" expect_file_contains "$T/pau.out" 'queued 4[2-9] provision-user jobs'
    m=$(mark)
    worker_start "$b"
    spawn worker2-$b "$T/logs/worker2-$b.log" "$WORKER_BIN" --config "$CFG" --threads 4
    # each uN: its registration's job and provision-all-users' job, each followed by a sync
    ucalls() { calls_since "$m" | grep -E "\"localpart\":\"u[0-9]+\"" | grep -c "^POST $1"; }
    check "$b: two workers (1 + 4 threads) ran every job exactly once" \
        wait_until 30 eval '[ "$(ucalls provision_user)" = 80 ] && [ "$(ucalls sync_devices)" = 80 ]'
    sleep 0.5
    check "$b: ... and no more" eval '[ "$(ucalls provision_user)" = 80 ] && [ "$(ucalls sync_devices)" = 80 ]'
    stop worker2-$b
    check "$b: the second worker exits 0 on SIGTERM" expect_eq "$STOP_STATUS" 0
}

# ---- read-only mode and a wrong secret -----------------------------------------------------
read_only()
{
    local b=$1 uri=$2 ro=$T/$b/ro.yaml port jobs m
    port=$(free_port)
    config "$ro" "$uri" "$port" "$HS_PORT" synapse_read_only
    masd_start oauth-ro-$b "$OAUTH_BIN" "$ro" 127.0.0.1:$port || return
    http f1 "http://127.0.0.1:$port/_matrix/client/v3/login"
    check "$b: read-only: GET /login offers no password flow" json_expect "$T/f1.b" 'd.flows.length === 0'
    login f2 "$port" bob
    check "$b: read-only: a password login is refused up front with a clear error" \
        eval "expect_eq \"\$(status $T/f2.h)\" 400 && json_expect $T/f2.b \"d.errcode === 'M_UNKNOWN' && /read_only/.test(d.error)\""
    jobs=$(sql "$uri" "SELECT COUNT(*) FROM queue_jobs")
    "$MASCTL_BIN" -c "$ro" manage register-user -y carol >/dev/null 2>&1
    "$MASCTL_BIN" -c "$ro" manage lock-user carol >/dev/null 2>&1
    check "$b: read-only: register-user and lock-user queue nothing" \
        expect_eq "$(sql "$uri" "SELECT COUNT(*) FROM queue_jobs")" "$jobs"
    local rc=0
    "$MASCTL_BIN" -c "$ro" manage issue-compatibility-token bob >"$T/ict.out" 2>&1 || rc=$?
    check "$b: read-only: issue-compatibility-token refuses and says why" \
        eval "[ $rc != 0 ] && grep -q synapse_read_only '$T/ict.out'"
    # a job queued before the switch fails for good at once, without a call
    stop worker-$b
    "${M[@]}" manage lock-user bob >/dev/null 2>&1
    m=$(mark)
    "$WORKER_BIN" --config "$ro" --once >"$T/logs/once-$b.log" 2>&1
    check "$b: read-only worker: the old job failed at once (1 attempt), nothing sent" \
        eval "[ \"\$(sql '$uri' \"SELECT COUNT(*) FROM queue_jobs WHERE status = 'failed' AND attempts = 1 AND last_error LIKE '%synapse_read_only%'\")\" -ge 1 ] && [ \"\$(calls_since $m | wc -l)\" = 0 ]"
    masd_stop oauth-ro-$b

    # a wrong secret: the homeserver's 403, said clearly
    local bad=$T/$b/bad.yaml
    port=$(free_port)
    config "$bad" "$uri" "$port" "$HS_PORT" synapse not-the-secret
    masd_start oauth-bad-$b "$OAUTH_BIN" "$bad" 127.0.0.1:$port || return
    "${M[@]}" manage unlock-user bob >/dev/null 2>&1
    login w1 "$port" bob
    check "$b: wrong secret: the login fails with 500 M_UNKNOWN" expect_eq "$(status "$T/w1.h")" 500
    check "$b: wrong secret: the log quotes the homeserver's 403" \
        expect_file_contains "${LOG_OF[oauth-bad-$b]}" '403 M_UNKNOWN: This endpoint must only be called by MAS'
    "$WORKER_BIN" --config "$bad" --once >"$T/logs/bad-once-$b.log" 2>&1
    check "$b: wrong secret: the job's last error names the 403" \
        eval "[ \"\$(sql '$uri' \"SELECT COUNT(*) FROM queue_jobs WHERE last_error LIKE '%403 M_UNKNOWN%'\")\" -ge 1 ]"
    masd_stop oauth-bad-$b
    worker_start "$b"
}

worker_start()
{
    spawn worker-$1 "$T/logs/worker-$1-$(now_ms).log" "$WORKER_BIN" --config "$CFG" --threads 1
}

run_backend()
{
    local b=$1 uri=$2 port
    port=$(free_port)
    HS_PORT=$(free_port)
    HS_DIR=$T/$b/hs
    HS_RECORD=$HS_DIR/calls.jsonl
    mkdir -p "$HS_DIR"
    CFG=$T/$b/masd.yaml
    CFG_URI=$uri
    config "$CFG" "$uri" "$port" "$HS_PORT"
    M=("$MASCTL_BIN" -c "$CFG")
    "${M[@]}" database migrate >"$T/$b/migrate.log" 2>&1 ||
        { fail_check "$b: masctl database migrate" "$(cat "$T/$b/migrate.log")"; return; }
    hs_start || return
    masd_start oauth-$b "$OAUTH_BIN" "$CFG" 127.0.0.1:$port || return
    worker_start "$b"
    life "$b" "$uri" "$port"
    race "$b" "$port"
    down "$b" "$port"
    killed "$b" "$uri" "$port"
    many "$b"
    read_only "$b" "$uri"
    masd_stop oauth-$b
    local w=${LOG_OF[worker-$b]}
    stop worker-$b
    check "$b: masd-worker exits 0 on SIGTERM" expect_eq "$STOP_STATUS" 0
    check "$b: masd-worker logged no sanitizer report" sanitizer_clean "$T"/logs/worker*-"$b"*.log "$w"
    stop hs
}

backend_wanted sqlite && run_backend sqlite "sqlite://$T/masd.db"
pg_database hs && run_backend pg "$PG_DB_URI"
finish
