#!/usr/bin/env bash
# Growth: introspection throughput and p99 with SMALL (default 1,000) and with LARGE (default
# 1,000,000) compat sessions in a SQLite database, tokens drawn at random (LARGE: from an even
# sample of 100,000), each database with its own masd-oauth (whose activity flusher writes the
# sessions' last activity every 5 s) and its own masd-worker (WAL checkpoint every second), in the
# same run: interleaved rounds, median ratios. Sessions are made by bench/sessions_fill.
#   ROUNDS=5 DURATION=10 bench/growth.sh
source "$(dirname "$0")/lib.sh"
ROUNDS=${ROUNDS:-5}
SMALL=${SMALL:-1000}
LARGE=${LARGE:-1000000}
release_build
bench_header
export SECRET=bench-shared-secret
start_standin "$SECRET"
declare -A PORT PID WPID
for size in "$SMALL" "$LARGE"; do
    PORT[$size]=$(free_port)
    cfg=$WORK/$size.yaml
    oauth_config "$cfg" "sqlite://$WORK/$size.db" "${PORT[$size]}"
    "$BUILD/tools/masctl" -c "$cfg" database migrate >/dev/null 2>&1
    "$BUILD/bench/sessions_fill" "sqlite://$WORK/$size.db" "$size" "$WORK/$size.tokens" 100000
    bg "$WORK/$size.worker.log" "$BUILD/services/worker/masd-worker" --config "$cfg"
    WPID[$size]=$BG_PID
    bg "$WORK/$size.log" "$BUILD/services/oauth/masd-oauth" --config "$cfg"
    PID[$size]=$BG_PID
    wait_port "${PORT[$size]}"
done
echo "databases: $SMALL sessions $(du -m "$WORK/$SMALL.db" | cut -f1) MB, $LARGE sessions $(du -m "$WORK/$LARGE.db" | cut -f1) MB"
url() { echo "http://127.0.0.1:${PORT[$1]}/oauth2/introspect"; }
for size in "$SMALL" "$LARGE"; do TOKENS=$WORK/$size.tokens DURATION=3 wrk_stats "$(url "$size")" -s "$BENCH_ROOT/bench/introspect.lua" >/dev/null; done
rt=() rl=()
for i in $(seq "$ROUNDS"); do
    read -r s s50 s99 sbad <<<"$(TOKENS=$WORK/$SMALL.tokens wrk_stats "$(url "$SMALL")" -s "$BENCH_ROOT/bench/introspect.lua")"
    read -r l l50 l99 lbad <<<"$(TOKENS=$WORK/$LARGE.tokens wrk_stats "$(url "$LARGE")" -s "$BENCH_ROOT/bench/introspect.lua")"
    rt+=("$(ratio "$l" "$s")")
    rl+=("$(ratio "$l99" "$s99")")
    echo "round $i: $SMALL sessions $s req/s (p50 $s50 ms, p99 $s99 ms), $LARGE sessions $l req/s (p50 $l50 ms, p99 $l99 ms); throughput ratio $(ratio "$l" "$s"), p99 ratio $(ratio "$l99" "$s99"); non-2xx $sbad $lbad"
done
echo "median throughput ratio $LARGE/$SMALL: $(printf '%s\n' "${rt[@]}" | median)"
echo "median p99 ratio $LARGE/$SMALL: $(printf '%s\n' "${rl[@]}" | median) (target <= 2)"
# Evidence that the flusher and the checkpointer ran during the rounds.
for size in "$SMALL" "$LARGE"; do
    active=$(sqlite3 "file:$WORK/$size.db?mode=ro" 'SELECT COUNT(*) FROM compat_sessions WHERE last_active_at IS NOT NULL' 2>/dev/null || echo '?')
    echo "$size sessions: $active with last activity written by the flusher; WAL now $(du -k "$WORK/$size.db-wal" 2>/dev/null | cut -f1) kB (masd-worker checkpoints every second); RssAnon masd-oauth $(rss_anon_kb "${PID[$size]}") kB, masd-worker $(rss_anon_kb "${WPID[$size]}") kB"
done
bench_footer
