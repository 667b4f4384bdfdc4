#!/usr/bin/env bash
# masctl, as an operator uses it: config generate -> config check -> database migrate ->
# manage register-user, then every manage command's happy path and its failure paths (unknown
# user, duplicate user, weak password, bad configuration with file:line:column), on SQLite and,
# when MASD_TEST_PG_URI is set, on PostgreSQL. A failed command must change nothing: the row
# counts are read back with sqlite3/psql after each refusal.
. "$(dirname "$0")/lib.sh"
MASCTL_BIN=$BUILD/tools/masctl
require_binaries "$MASCTL_BIN" "$DISCOVERY_BIN"
# The row counts are read with the databases' own clients.
for tool in sqlite3 openssl script; do
    command -v $tool >/dev/null || { fail_check "$tool is installed" "apt-get install $tool"; finish; }
done

STRONG='correct-Horse-battery-staple-42'
STRONG2='Tr0ub4dor&3-but-much-longer-now'

# run NAME cmd...: a short-lived command; stdout in $T/NAME.out, stderr in $T/NAME.err, status
# in $T/NAME.rc. Always succeeds.
run()
{
    local name=$1
    shift
    timeout 60 "$@" >"$T/$name.out" 2>"$T/$name.err" </dev/null
    echo $? >"$T/$name.rc"
}
rc() { cat "$T/$1.rc"; }
out() { cat "$T/$1.out"; }

# ok NAME: exit 0, no sanitizer report.
ok()
{
    expect_eq "$(rc "$1")" 0 || { cat "$T/$1.err"; return 1; }
    sanitizer_clean "$T/$1.out" "$T/$1.err"
}

# refused NAME STATUS REGEX: exit STATUS, and stderr is one line matching REGEX.
refused()
{
    expect_eq "$(rc "$1")" "$2" || { cat "$T/$1.out" "$T/$1.err"; return 1; }
    sanitizer_clean "$T/$1.out" "$T/$1.err" || return 1
    expect_eq "$(grep -cv '^masctl: warning: ' "$T/$1.err")" 1 || { cat "$T/$1.err"; return 1; }
    expect_file_contains "$T/$1.err" "$3"
}


# ------------------------------------------------------------------------------------------
# --help everywhere, usage errors

run help "$MASCTL_BIN" --help
help_ok()
{
    ok help || return 1
    local g
    for g in config database manage register-user issue-compatibility-token list-admin-users; do
        expect_file_contains "$T/help.out" "$g" || return 1
    done
}
check "masctl --help lists the commands" help_ok

COMMANDS=("config generate" "config check" "config dump" "database migrate"
    "manage register-user" "manage set-password" "manage add-email" "manage lock-user"
    "manage unlock-user" "manage kill-sessions" "manage promote-admin" "manage demote-admin"
    "manage list-admin-users" "manage issue-compatibility-token")
declare -A FLAGS=(
    ["config generate"]="--output" ["config dump"]="--output"
    ["manage register-user"]="--password --email --admin --no-admin --yes --display-name --ignore-password-complexity"
    ["manage set-password"]="--ignore-complexity" ["manage lock-user"]="--deactivate"
    ["manage unlock-user"]="--reactivate" ["manage kill-sessions"]="--dry-run"
    ["manage issue-compatibility-token"]="--yes-i-want-to-grant-synapse-admin-privileges")
sub_help_ok()
{
    ok "$1" || return 1
    local f
    expect_file_contains "$T/$1.out" "^Usage: masctl .*$2" || return 1
    for f in --config --help ${FLAGS[$2]:-}; do
        expect_file_contains "$T/$1.out" -- "$f" || return 1
    done
}
for c in "${COMMANDS[@]}"; do
    n=help-${c// /-}
    # shellcheck disable=SC2086
    run "$n" "$MASCTL_BIN" $c --help
    check "masctl $c --help documents its flags" sub_help_ok "$n" "$c"
done
for g in config database manage; do
    run "help-$g" "$MASCTL_BIN" "$g" --help
    check "masctl $g --help lists its subcommands" ok "help-$g"
done

run no-args "$MASCTL_BIN"
check "masctl without a command: usage, status 2" expect_eq "$(rc no-args)" 2
run bad-group "$MASCTL_BIN" frobnicate
check "an unknown command: status 2, one line" refused bad-group 2 "unknown command 'frobnicate'"
run bad-sub "$MASCTL_BIN" manage frobnicate
check "an unknown subcommand: status 2" refused bad-sub 2 "unknown subcommand 'frobnicate'"
run bad-opt "$MASCTL_BIN" manage list-admin-users --frobnicate
check "an unknown option: status 2" refused bad-opt 2 "unknown option '--frobnicate'"
run missing-arg "$MASCTL_BIN" manage set-password alice
check "a missing operand: status 2" refused missing-arg 2 "missing operand"
run extra-arg "$MASCTL_BIN" manage promote-admin alice bob
check "an extra operand: status 2" refused extra-arg 2 "unexpected operand 'bob'"
run both-admin "$MASCTL_BIN" manage register-user x -a -A
check "register-user --admin --no-admin: status 2" refused both-admin 2 "exclude each other"
run yes-no-user "$MASCTL_BIN" manage register-user -y -p "$STRONG"
check "register-user -y without USERNAME: status 2" refused yes-no-user 2 "USERNAME is required"

# ------------------------------------------------------------------------------------------
# config generate / check / dump

run gen "$MASCTL_BIN" config generate
gen_ok()
{
    ok gen || return 1
    local f=$T/gen.out k
    for k in 'fd_name: discovery' 'fd_name: assets' 'fd_name: oauth' 'fd_name: human' \
        'uri: sqlite:///var/lib/masd/masd.db' '^  encryption: "[0-9a-f]{64}"$' 'name: compat' 'name: graphql'; do
        expect_file_contains "$f" "$k" || return 1
    done
    expect_eq "$(grep -c 'BEGIN PRIVATE KEY' "$f")" 2
}
check "config generate: fd_name binds of the shipped units, SQLite, a 32-byte secret, two keys" gen_ok
cp "$T/gen.out" "$T/config.yaml"

# The binds must name the FileDescriptorName= of every shipped socket unit.
units_match()
{
    local u name
    for u in "$ROOT"/units/masd-*.socket.in; do
        name=$(sed -n 's/^FileDescriptorName=//p' "$u")
        expect_file_contains "$T/config.yaml" "fd_name: $name\$" || { echo "unit $u"; return 1; }
    done
}
check "config generate: a bind for every shipped socket unit" units_match

# The keys: one RSA, one EC P-256, each readable by openssl.
keys_ok()
{
    awk '/BEGIN PRIVATE KEY/{n++; f=1} f{sub(/^ +/, ""); print > (dir "/key" n ".pem")} /END PRIVATE KEY/{f=0}' \
        dir="$T" "$T/config.yaml"
    openssl pkey -in "$T/key1.pem" -noout -text 2>&1 | grep -q 'Private-Key: (2048 bit' || { echo "key 1 is not RSA-2048"; return 1; }
    openssl pkey -in "$T/key2.pem" -noout -text 2>&1 | grep -q 'NIST CURVE: P-256' || { echo "key 2 is not P-256"; return 1; }
}
check "config generate: an RSA-2048 and an EC P-256 key, valid PEM" keys_ok

run gen2 "$MASCTL_BIN" config generate -o "$T/gen2.yaml"
gen2_ok()
{
    ok gen2 || return 1
    expect_eq "$(stat -c %a "$T/gen2.yaml")" 600 || return 1
    expect_eq "$(out gen2)" "" || return 1
    ! cmp -s "$T/gen2.yaml" "$T/config.yaml" || { echo "same secrets twice"; return 1; }
    ! grep -q "$(grep '^  encryption:' "$T/config.yaml")" "$T/gen2.yaml" || { echo "same encryption secret"; return 1; }
}
check "config generate -o: mode 0600, fresh secrets every time" gen2_ok

# generate -o keeps every secret in a file beside the config (mode 0600), names it with a
# relative *_file key, and gives each key its type. The stateless services accept the config
# without the files (as their units pass it) and open none of them when they are there; the
# DB-backed ones and masctl read them from the config's directory, from any working directory.
mkdir -p "$T/split" "$T/alone" "$T/elsewhere"
run split "$MASCTL_BIN" config generate -o "$T/split/config.yaml"
split_ok()
{
    ok split || return 1
    local f k
    for f in encryption matrix-secret key-rsa.pem key-p256.pem; do
        expect_eq "$(stat -c %a "$T/split/$f")" 600 || { echo "$f"; return 1; }
    done
    for k in '^  encryption_file: encryption$' '^  secret_file: matrix-secret$' '^      key_file: key-rsa\.pem$' \
        '^      key_file: key-p256\.pem$' '^      type: RSA$' '^      type: P-256$'; do
        expect_file_contains "$T/split/config.yaml" "$k" || return 1
    done
    expect_file_lacks "$T/split/config.yaml" 'PRIVATE KEY|^  encryption: |^  secret: ' || return 1
    grep -Eqx '[0-9a-f]{64}' "$T/split/encryption" || { echo "encryption is not 64 hex digits"; return 1; }
    openssl pkey -in "$T/split/key-rsa.pem" -noout -text 2>&1 | grep -q 'Private-Key: (2048 bit' || return 1
    openssl pkey -in "$T/split/key-p256.pem" -noout -text 2>&1 | grep -q 'NIST CURVE: P-256'
}
check "config generate -o: the secrets in files beside the config, named by *_file keys" split_ok
run split-again "$MASCTL_BIN" config generate -o "$T/split/config.yaml"
check "config generate -o never replaces a secret file" refused split-again 1 "split/encryption exists: not replacing"
make_assets "$T/assets"
sed "s|/usr/share/masd/assets/|$T/assets/|" "$T/split/config.yaml" >"$T/alone/config.yaml"
cp "$T/alone/config.yaml" "$T/split/config.yaml"
(cd "$T/elsewhere" && run split-check "$MASCTL_BIN" -c "$T/split/config.yaml" config check)
check "config check reads the secret files from the config's directory" ok split-check
stateless_alone()
{
    local b
    for b in "$DISCOVERY_BIN" "$BUILD/services/assets/masd-assets"; do
        run alone "$b" --config "$T/alone/config.yaml" --check
        ok alone || return 1
        # with the files beside it: none of them is opened
        # LeakSanitizer cannot run under ptrace; the run above looks for leaks.
        run beside env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
            strace -f -qq -e trace=open,openat -o "$T/beside.strace" "$b" --config "$T/split/config.yaml" --check
        ok beside || return 1
        expect_file_lacks "$T/beside.strace" 'split/(encryption|matrix-secret|key-rsa\.pem|key-p256\.pem)"' || return 1
    done
    expect_file_contains "$T/beside.out" '^public_base '
}
if command -v strace >/dev/null; then
    check "masd-discovery and masd-assets accept the config without its secret files and never open them" stateless_alone
fi
run oauth-alone "$BUILD/services/oauth/masd-oauth" --config "$T/alone/config.yaml" --check
check "masd-oauth needs the secret files: it names the one it cannot read" \
    eval 'expect_eq "$(rc oauth-alone)" 1 && expect_file_contains "$T/oauth-alone.err" "alone/config.yaml:[0-9]+:[0-9]+: secrets.keys\[0\].key_file: cannot read .key-rsa.pem. \($T/alone/key-rsa.pem\)"'
run oauth-split "$BUILD/services/oauth/masd-oauth" --config "$T/split/config.yaml" --check
check "masd-oauth --check reads them beside the config" ok oauth-split

run check-gen "$MASCTL_BIN" -c "$T/config.yaml" config check
check "config check accepts the generated configuration" ok check-gen
check "config check warns that the generated public_base is a placeholder" \
    expect_file_contains "$T/check-gen.err" "config.yaml:[0-9]+:[0-9]+: http.public_base: http://\[::\]:8080/ is a placeholder"
run check-gen-after "$MASCTL_BIN" config check --config "$T/config.yaml"
check "config check: --config after the command works too" ok check-gen-after
run disc-check "$DISCOVERY_BIN" --config "$T/config.yaml" --check
disc_ok()
{
    ok disc-check || return 1
    expect_file_contains "$T/disc-check.out" "discovery"
}
check "masd-discovery --check accepts the generated configuration" disc_ok

run dump "$MASCTL_BIN" -c "$T/config.yaml" config dump
cp "$T/dump.out" "$T/dumped.yaml"
run check-dump "$MASCTL_BIN" -c "$T/dumped.yaml" config check
run disc-dump "$DISCOVERY_BIN" --config "$T/dumped.yaml" --check
dump_ok()
{
    ok dump && ok check-dump && ok disc-dump || return 1
    local k
    for k in 'fd_name: discovery' 'fd_name: human' 'sqlite:///var/lib/masd/masd.db' 'algorithm: argon2id' \
        'trusted_proxies:' 'BEGIN PRIVATE KEY'; do
        expect_file_contains "$T/dumped.yaml" "$k" || return 1
    done
    # The same encryption secret, the same key IDs.
    local enc
    enc=$(sed -n 's/^  encryption: "\(.*\)"$/\1/p' "$T/config.yaml")
    expect_file_contains "$T/dumped.yaml" "encryption: \"$enc\"$" || return 1
    for k in $(sed -n 's/^    - kid: "\(.*\)"$/\1/p' "$T/config.yaml"); do
        expect_file_contains "$T/dumped.yaml" "kid: \"?$k\"?$" || return 1
    done
    expect_eq "$(grep -c 'kid:' "$T/dumped.yaml")" 2
}
check "config dump: valid YAML that config check and masd-discovery accept, same secrets" dump_ok

printf 'http:\n  public_base: https://auth.example.com/\n  listeners: []\n  frobnicate: 1\n' >"$T/bad.yaml"
run check-bad "$MASCTL_BIN" -c "$T/bad.yaml" config check
check "config check: an unknown key is refused with file:line:column" refused check-bad 1 "bad.yaml:4:3: .*frobnicate"
run dump-bad "$MASCTL_BIN" -c "$T/bad.yaml" config dump
check "config dump: the same error" refused dump-bad 1 "bad.yaml:4:3:"
run check-missing "$MASCTL_BIN" -c "$T/nonexistent.yaml" config check
check "config check: a missing file is refused, saying how to make one" refused check-missing 1 \
    "nonexistent.yaml: no such file. .masctl config generate -o $T/nonexistent.yaml"
# Without -c: both default places are named (./config.yaml, then the services' file).
if [ ! -e /etc/masd/config.yaml ]; then
    mkdir -p "$T/empty"
    (cd "$T/empty" && run check-nodefault "$MASCTL_BIN" config check)
    check "config check without -c and without a file: names every path tried" refused check-nodefault 1 \
        "tried \./config\.yaml and /etc/masd/config\.yaml\. .masctl config generate -o /etc/masd/config\.yaml"
fi
printf 'http:\n  public_base: https://auth.example.com/\n  listeners: []\n' >"$T/nosecrets.yaml"
run check-nosecrets "$MASCTL_BIN" -c "$T/nosecrets.yaml" config check
check "config check: the secrets section is required" refused check-nosecrets 1 "secrets"

# ------------------------------------------------------------------------------------------
# The database and the manage commands, per backend

BACKEND=
DBCFG=
SQLITE_DB=
PG_URI=

# with_uri URI OUT: the generated configuration with database.uri set to URI.
# and matrix.endpoint set to the stand-in homeserver (issue-compatibility-token creates its device
# there), which knows the generated matrix.secret.
with_uri()
{
    awk -v u="$1" -v e="$HS_ENDPOINT" '/^  uri: /{ print "  uri: \"" u "\""; next }
        /^  endpoint: /{ print "  endpoint: " e; next } { print }' "$T/config.yaml" >"$2"
}
homeserver_start "$(awk '/^matrix:/ { m = 1 } m && /^  secret: / { print $2; exit }' "$T/config.yaml")" localhost:8008 ||
    finish

sql() # QUERY: one value
{
    if [ "$BACKEND" = sqlite ]; then
        sqlite3 "$SQLITE_DB" "$1"
    else
        psql -X -q -t -A "$PG_URI" -c "$1"
    fi
}


# counts: users, passwords, emails, compat sessions, queued jobs.
counts() { sql "SELECT (SELECT COUNT(*) FROM users) || ' ' || (SELECT COUNT(*) FROM user_passwords) || ' ' || (SELECT COUNT(*) FROM user_emails) || ' ' || (SELECT COUNT(*) FROM compat_sessions) || ' ' || (SELECT COUNT(*) FROM queue_jobs)"; }

# unchanged BEFORE: the row counts are what they were.
unchanged() { expect_eq "$(counts)" "$1"; }

backend_tests()
{
    note "backend: $BACKEND"
    local B=$BACKEND before

    [ "$B" = sqlite ] && mkdir -p "$(dirname "$SQLITE_DB")"
    run "$B-premigrate" "$MASCTL_BIN" -c "$DBCFG" manage list-admin-users
    check "[$B] manage before migrate: refused, names database migrate" \
        refused "$B-premigrate" 1 "masctl database migrate"
    run "$B-migrate" "$MASCTL_BIN" -c "$DBCFG" database migrate
    check "[$B] database migrate applies the migrations" \
        eval 'ok '"$B"'-migrate && expect_file_contains "$T/'"$B"'-migrate.out" "applied [0-9]+ migration"'
    run "$B-migrate2" "$MASCTL_BIN" -c "$DBCFG" database migrate
    check "[$B] database migrate again: up to date" \
        eval 'ok '"$B"'-migrate2 && expect_file_contains "$T/'"$B"'-migrate2.out" "up to date"'

    # register-user
    run "$B-reg" "$MASCTL_BIN" -c "$DBCFG" manage register-user alice -p "$STRONG" -e alice@example.com -d "Alice Liddell"
    reg_ok()
    {
        ok "$B-reg" || return 1
        expect_file_contains "$T/$B-reg.out" "registered 'alice' \(user ID [0-9A-Z]{26}\)" || return 1
        expect_eq "$(sql "SELECT COUNT(*) FROM users WHERE username = 'alice' AND can_request_admin = 0")" 1 || return 1
        expect_eq "$(sql "SELECT COUNT(*) FROM user_emails WHERE email = 'alice@example.com'")" 1 || return 1
        expect_eq "$(sql "SELECT hashed_password LIKE '\$argon2id\$%' FROM user_passwords")" "$([ $B = sqlite ] && echo 1 || echo t)" || return 1
        expect_match "$(sql "SELECT payload FROM queue_jobs WHERE queue_name = 'provision-user'")" \
            '^\{"user_id": ?"[0-9A-Z]{26}", ?"set_display_name": ?"Alice Liddell"\}$'
    }
    check "[$B] register-user alice -p -e -d: user, argon2id password, e-mail, provision-user job" reg_ok

    before=$(counts)
    run "$B-dup" "$MASCTL_BIN" -c "$DBCFG" manage register-user alice -p "$STRONG"
    check "[$B] register-user: a duplicate user is refused, nothing written" \
        eval 'refused '"$B"'-dup 1 "user .alice. already exists" && unchanged "'"$before"'"'
    run "$B-dup2" "$MASCTL_BIN" -c "$DBCFG" manage register-user @alice:example.com -y
    check "[$B] register-user: @alice:example.com is alice (MAS's normalisation)" refused "$B-dup2" 1 "already exists"
    run "$B-upper" "$MASCTL_BIN" -c "$DBCFG" manage register-user Alice2
    check "[$B] register-user: upper case is not a valid username" refused "$B-upper" 1 "not a valid Matrix username"
    run "$B-weak" "$MASCTL_BIN" -c "$DBCFG" manage register-user bob -p password
    check "[$B] register-user: a weak password is refused, nothing written" \
        eval 'refused '"$B"'-weak 1 "too weak" && unchanged "'"$before"'"'
    run "$B-weak-ok" "$MASCTL_BIN" -c "$DBCFG" manage register-user bob -p password --ignore-password-complexity
    check "[$B] register-user --ignore-password-complexity accepts it" ok "$B-weak-ok"
    before=$(counts)
    run "$B-email-taken" "$MASCTL_BIN" -c "$DBCFG" manage register-user carol -p "$STRONG" -e ALICE@example.com
    check "[$B] register-user: an e-mail of another user rolls everything back" \
        eval 'refused '"$B"'-email-taken 1 "belongs to another user" && unchanged "'"$before"'"'
    run "$B-bad-email" "$MASCTL_BIN" -c "$DBCFG" manage register-user carol -e not-an-address
    check "[$B] register-user: a malformed e-mail is refused" refused "$B-bad-email" 1 "not an e-mail address"
    run "$B-nopw" "$MASCTL_BIN" -c "$DBCFG" manage register-user carol --admin
    check "[$B] register-user without -p: no password, a note" \
        eval 'ok '"$B"'-nopw && expect_file_contains "$T/'"$B"'-nopw.err" "no password"'

    # set-password
    run "$B-setpw" "$MASCTL_BIN" -c "$DBCFG" manage set-password bob "$STRONG2"
    check "[$B] set-password: a new password row" \
        eval 'ok '"$B"'-setpw && expect_eq "$(sql "SELECT COUNT(*) FROM user_passwords p JOIN users u ON u.user_id = p.user_id WHERE u.username = '"'bob'"'")" 2'
    before=$(counts)
    run "$B-setpw-unknown" "$MASCTL_BIN" -c "$DBCFG" manage set-password nobody "$STRONG2"
    check "[$B] set-password: an unknown user is refused" \
        eval 'refused '"$B"'-setpw-unknown 1 "user .nobody. not found" && unchanged "'"$before"'"'
    run "$B-setpw-weak" "$MASCTL_BIN" -c "$DBCFG" manage set-password bob 12345
    check "[$B] set-password: a weak password is refused" refused "$B-setpw-weak" 1 "too weak.*--ignore-complexity"
    run "$B-setpw-weak-ok" "$MASCTL_BIN" -c "$DBCFG" manage set-password bob 12345 --ignore-complexity
    check "[$B] set-password --ignore-complexity accepts it" ok "$B-setpw-weak-ok"

    # add-email
    run "$B-email" "$MASCTL_BIN" -c "$DBCFG" manage add-email bob bob@example.com
    check "[$B] add-email" eval 'ok '"$B"'-email && expect_eq "$(sql "SELECT COUNT(*) FROM user_emails WHERE email = '"'bob@example.com'"'")" 1'
    run "$B-email-again" "$MASCTL_BIN" -c "$DBCFG" manage add-email bob bob@example.com
    check "[$B] add-email: the same address again is fine (as MAS)" \
        eval 'ok '"$B"'-email-again && expect_file_contains "$T/'"$B"'-email-again.out" "already has"'
    before=$(counts)
    run "$B-email-other" "$MASCTL_BIN" -c "$DBCFG" manage add-email alice Bob@Example.com
    check "[$B] add-email: another user's address is refused" \
        eval 'refused '"$B"'-email-other 1 "belongs to another user" && unchanged "'"$before"'"'
    run "$B-email-unknown" "$MASCTL_BIN" -c "$DBCFG" manage add-email nobody x@example.com
    check "[$B] add-email: an unknown user is refused" refused "$B-email-unknown" 1 "not found"

    # promote-admin, demote-admin, list-admin-users
    run "$B-promote" "$MASCTL_BIN" -c "$DBCFG" manage promote-admin alice
    run "$B-list" "$MASCTL_BIN" -c "$DBCFG" manage list-admin-users
    check "[$B] promote-admin; list-admin-users shows alice and carol (-a)" \
        eval 'ok '"$B"'-promote && ok '"$B"'-list && expect_eq "$(out '"$B"'-list | sort | tr "\n" " ")" "alice carol "'
    run "$B-demote" "$MASCTL_BIN" -c "$DBCFG" manage demote-admin carol
    run "$B-list2" "$MASCTL_BIN" -c "$DBCFG" manage list-admin-users
    check "[$B] demote-admin; list-admin-users shows alice only" \
        eval 'ok '"$B"'-demote && expect_eq "$(out '"$B"'-list2)" "alice"'
    run "$B-promote-unknown" "$MASCTL_BIN" -c "$DBCFG" manage promote-admin nobody
    check "[$B] promote-admin: an unknown user is refused" refused "$B-promote-unknown" 1 "not found"
    run "$B-demote-unknown" "$MASCTL_BIN" -c "$DBCFG" manage demote-admin nobody
    check "[$B] demote-admin: an unknown user is refused" refused "$B-demote-unknown" 1 "not found"

    # issue-compatibility-token
    run "$B-tok" "$MASCTL_BIN" -c "$DBCFG" manage issue-compatibility-token alice
    tok_ok()
    {
        ok "$B-tok" || return 1
        expect_match "$(out "$B-tok")" '^mct_[A-Za-z0-9]{30}_[0-9A-Za-z]{6}$' || return 1
        expect_file_contains "$T/$B-tok.err" "on device [A-Za-z0-9]{10}" || return 1
        # Stored as its SHA-256 only.
        expect_eq "$(sql "SELECT COUNT(*) FROM compat_access_tokens")" 1
    }
    check "[$B] issue-compatibility-token: an mct_ token with a random device" tok_ok
    run "$B-tok-dev" "$MASCTL_BIN" -c "$DBCFG" manage issue-compatibility-token alice MYDEVICE --yes-i-want-to-grant-synapse-admin-privileges
    check "[$B] issue-compatibility-token with a device ID and admin" \
        eval 'ok '"$B"'-tok-dev && expect_eq "$(sql "SELECT COUNT(*) FROM compat_sessions WHERE device_id = '"'MYDEVICE'"' AND is_synapse_admin = 1")" 1'
    before=$(counts)
    run "$B-tok-dup" "$MASCTL_BIN" -c "$DBCFG" manage issue-compatibility-token alice MYDEVICE
    check "[$B] issue-compatibility-token: a device with an active session is refused" \
        eval 'refused '"$B"'-tok-dup 1 "device .MYDEVICE. of .alice. has an active session" && unchanged "'"$before"'"'
    run "$B-tok-unknown" "$MASCTL_BIN" -c "$DBCFG" manage issue-compatibility-token nobody
    check "[$B] issue-compatibility-token: an unknown user is refused" refused "$B-tok-unknown" 1 "not found"

    # kill-sessions
    before=$(counts)
    run "$B-kill-dry" "$MASCTL_BIN" -c "$DBCFG" manage kill-sessions alice --dry-run
    check "[$B] kill-sessions --dry-run counts and changes nothing" \
        eval 'ok '"$B"'-kill-dry && expect_file_contains "$T/'"$B"'-kill-dry.out" "would end 2 sessions" && unchanged "'"$before"'"'
    run "$B-kill" "$MASCTL_BIN" -c "$DBCFG" manage kill-sessions alice
    check "[$B] kill-sessions ends them" \
        eval 'ok '"$B"'-kill && expect_file_contains "$T/'"$B"'-kill.out" "ended 2 sessions" && expect_eq "$(sql "SELECT COUNT(*) FROM compat_sessions WHERE finished_at IS NULL")" 0'
    run "$B-kill2" "$MASCTL_BIN" -c "$DBCFG" manage kill-sessions alice
    check "[$B] kill-sessions again: none left" eval 'ok '"$B"'-kill2 && expect_file_contains "$T/'"$B"'-kill2.out" "ended 0 sessions"'
    run "$B-tok-again" "$MASCTL_BIN" -c "$DBCFG" manage issue-compatibility-token alice MYDEVICE
    check "[$B] issue-compatibility-token: the device is free again" ok "$B-tok-again"
    run "$B-kill-unknown" "$MASCTL_BIN" -c "$DBCFG" manage kill-sessions nobody
    check "[$B] kill-sessions: an unknown user is refused" refused "$B-kill-unknown" 1 "not found"

    # lock-user, unlock-user
    run "$B-lock" "$MASCTL_BIN" -c "$DBCFG" manage lock-user bob
    check "[$B] lock-user" eval 'ok '"$B"'-lock && expect_eq "$(sql "SELECT COUNT(*) FROM users WHERE username = '"'bob'"' AND locked_at IS NOT NULL")" 1'
    run "$B-lock2" "$MASCTL_BIN" -c "$DBCFG" manage lock-user bob
    check "[$B] lock-user again: already locked" eval 'ok '"$B"'-lock2 && expect_file_contains "$T/'"$B"'-lock2.out" "already"'
    run "$B-tok-locked" "$MASCTL_BIN" -c "$DBCFG" manage issue-compatibility-token bob
    check "[$B] issue-compatibility-token: a locked user is refused" refused "$B-tok-locked" 1 "'bob' is locked"
    run "$B-unlock" "$MASCTL_BIN" -c "$DBCFG" manage unlock-user bob
    check "[$B] unlock-user" eval 'ok '"$B"'-unlock && expect_eq "$(sql "SELECT COUNT(*) FROM users WHERE username = '"'bob'"' AND locked_at IS NULL")" 1'
    run "$B-deact" "$MASCTL_BIN" -c "$DBCFG" manage lock-user alice --deactivate
    deact_ok()
    {
        ok "$B-deact" || return 1
        expect_file_contains "$T/$B-deact.out" "deactivated, 1 session ended" || return 1
        expect_eq "$(sql "SELECT COUNT(*) FROM users WHERE username = 'alice' AND deactivated_at IS NOT NULL AND locked_at IS NOT NULL")" 1 || return 1
        expect_eq "$(sql "SELECT COUNT(*) FROM queue_jobs WHERE queue_name = 'deactivate-user'")" 1
    }
    check "[$B] lock-user --deactivate: locked, deactivated, sessions ended, deactivate-user job" deact_ok
    run "$B-react" "$MASCTL_BIN" -c "$DBCFG" manage unlock-user alice --reactivate
    check "[$B] unlock-user --reactivate" \
        eval 'ok '"$B"'-react && expect_eq "$(sql "SELECT COUNT(*) FROM users WHERE username = '"'alice'"' AND deactivated_at IS NULL AND locked_at IS NULL")" 1'
    run "$B-lock-unknown" "$MASCTL_BIN" -c "$DBCFG" manage lock-user nobody
    check "[$B] lock-user: an unknown user is refused" refused "$B-lock-unknown" 1 "not found"
    run "$B-unlock-unknown" "$MASCTL_BIN" -c "$DBCFG" manage unlock-user nobody
    check "[$B] unlock-user: an unknown user is refused" refused "$B-unlock-unknown" 1 "not found"

    # issue-user-registration-token: MAS's options, the token printed on stdout
    tokrow() { sql "SELECT COALESCE(usage_limit, -1) || ' ' || times_used || ' ' || CASE WHEN expires_at IS NULL THEN 0 ELSE 1 END FROM user_registration_tokens WHERE token = '$1'"; }
    run "$B-rt1" "$MASCTL_BIN" -c "$DBCFG" manage issue-user-registration-token
    check "[$B] issue-user-registration-token: 12 random letters and digits, single use, no expiry" \
        eval 'ok '"$B"'-rt1 && expect_match "$(out '"$B"'-rt1)" "^[A-Za-z0-9]{12}\$" && expect_eq "$(tokrow "$(out '"$B"'-rt1)")" "1 0 0"'
    run "$B-rt2" "$MASCTL_BIN" -c "$DBCFG" manage issue-user-registration-token --token invite-42 --usage-limit 5 --expires-in 3600
    check "[$B] issue-user-registration-token --token --usage-limit --expires-in" \
        eval 'ok '"$B"'-rt2 && expect_eq "$(out '"$B"'-rt2)" invite-42 && expect_eq "$(tokrow invite-42)" "5 0 1" &&
              expect_eq "$(sql "SELECT expires_at - created_at FROM user_registration_tokens WHERE token = '"'invite-42'"'")" 3600000'
    run "$B-rt3" "$MASCTL_BIN" -c "$DBCFG" manage issue-user-registration-token --token open --unlimited
    check "[$B] issue-user-registration-token --unlimited" eval 'ok '"$B"'-rt3 && expect_eq "$(tokrow open)" "-1 0 0"'
    run "$B-rt-dup" "$MASCTL_BIN" -c "$DBCFG" manage issue-user-registration-token --token invite-42
    check "[$B] issue-user-registration-token: a token that exists is refused" refused "$B-rt-dup" 1 "exists already"
    run "$B-rt-both" "$MASCTL_BIN" -c "$DBCFG" manage issue-user-registration-token --usage-limit 2 --unlimited
    check "[$B] issue-user-registration-token: --usage-limit with --unlimited is refused" refused "$B-rt-both" 1 "cannot be used together"
    run "$B-rt-num" "$MASCTL_BIN" -c "$DBCFG" manage issue-user-registration-token --expires-in -5
    check "[$B] issue-user-registration-token: a negative --expires-in is refused" refused "$B-rt-num" 1 "not a number of seconds"
    check "[$B] ... and the refusals stored nothing" expect_eq "$(sql "SELECT COUNT(*) FROM user_registration_tokens")" 3

    # A bad configuration: every command reports file:line:column and touches nothing.
    sed 's/^passwords:$/passwordz:/' "$DBCFG" >"$T/$B-bad.yaml"
    before=$(counts)
    run "$B-badcfg" "$MASCTL_BIN" -c "$T/$B-bad.yaml" manage register-user dave -p "$STRONG"
    check "[$B] register-user with a bad configuration: file:line:column, nothing written" \
        eval 'refused '"$B"'-badcfg 1 "'"$B"'-bad.yaml:[0-9]+:[0-9]+: .*passwordz" && unchanged "'"$before"'"'
}

# PostgreSQL: a database of its own on the server of MASD_TEST_PG_URI, dropped afterwards.
if pg_database masctl; then
    BACKEND=postgresql
    PG_URI=$PG_DB_URI
    DBCFG=$T/pg.yaml
    with_uri "$PG_URI" "$DBCFG"
    backend_tests
fi

if backend_wanted sqlite; then
    # SQLite (the README's flow below covers a database directory that does not exist yet).
    BACKEND=sqlite
    SQLITE_DB=$T/state/masd.db
    DBCFG=$T/sqlite.yaml
    with_uri "sqlite://$SQLITE_DB" "$DBCFG"
    backend_tests

    # As root, masctl becomes the owner of the database directory, so SQLite's files belong to the
    # user the services run as (nobody stands in for the masd user here).
    if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
        mkdir -p "$T/owned"
        chown nobody: "$T/owned"
        chmod 700 "$T/owned"
        with_uri "sqlite://$T/owned/masd.db" "$T/owned.yaml"
        chmod 644 "$T/owned.yaml"
        run owned-migrate "$MASCTL_BIN" -c "$T/owned.yaml" database migrate
        run owned-reg "$MASCTL_BIN" -c "$T/owned.yaml" manage register-user eve -p "$STRONG"
        owned_ok()
        {
            ok owned-migrate && ok owned-reg || return 1
            local f
            for f in "$T/owned/"*; do
                expect_eq "$(stat -c %U "$f")" nobody || { echo "$f"; return 1; }
            done
        }
        check "as root, the SQLite files belong to the database directory's owner" owned_ok
    fi

    # ------------------------------------------------------------------------------------------
    # The README's first steps: generate, migrate, register, in a fresh directory.

    readme_flow()
    (
        local d=$T/readme
        mkdir -p "$d" && cd "$d" || return 1
        "$MASCTL_BIN" config generate >config.yaml || return 1
        sed -i "s|uri: sqlite:///var/lib/masd/masd.db|uri: sqlite://$d/db/masd.db|" config.yaml
        "$MASCTL_BIN" -c config.yaml database migrate &&
            "$MASCTL_BIN" -c config.yaml manage register-user alice -p "$STRONG" &&
            "$MASCTL_BIN" -c config.yaml manage promote-admin alice &&
            expect_eq "$("$MASCTL_BIN" -c config.yaml manage list-admin-users)" alice
    )
    check "README: config generate > config.yaml && database migrate && manage register-user alice -p …" readme_flow

    # Interactive register-user: on a terminal without -y it asks for the password and a
    # confirmation; answering no changes nothing.
    interactive()
    {
        local answer=$1 cmd
        cmd="$MASCTL_BIN -c $DBCFG_SQLITE manage register-user frank"
        printf '%s\n%s\n%s\n' "$STRONG" "$STRONG" "$answer" |
            timeout 30 script -qec "$cmd" /dev/null >"$T/interactive.log" 2>&1
    }
    DBCFG_SQLITE=$T/sqlite.yaml
    BACKEND=sqlite
    int_no()
    {
        ! interactive n || return 1
        expect_file_contains "$T/interactive.log" "aborted" &&
            expect_eq "$(sql "SELECT COUNT(*) FROM users WHERE username = 'frank'")" 0
    }
    check "register-user on a terminal: answering no changes nothing" int_no
    int_yes()
    {
        interactive y || { cat "$T/interactive.log"; return 1; }
        sanitizer_clean "$T/interactive.log" || return 1
        expect_file_contains "$T/interactive.log" "Create this user" &&
            expect_eq "$(sql "SELECT COUNT(*) FROM users u JOIN user_passwords p ON p.user_id = u.user_id WHERE username = 'frank'")" 1
    }
    check "register-user on a terminal: asks for the password, then creates the user" int_yes
fi

finish
