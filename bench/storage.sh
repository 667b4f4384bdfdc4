#!/usr/bin/env bash
# Single-row token inserts per second on each backend, in one run: SQLite (default and durable
# transactions) and a private PostgreSQL (tests/pg.sh), 1 and 4 threads. Ratios are to SQLite.
source "$(dirname "$0")/lib.sh"
release_build
SECONDS_PER_RUN=${SECONDS_PER_RUN:-3}
PG_DIR=/tmp/masd-bench-pg.$$ # outside $WORK: the cluster belongs to nobody
pg_uri=$("$BENCH_ROOT/tests/pg.sh" start "$PG_DIR")
trap '"$BENCH_ROOT/tests/pg.sh" stop "$PG_DIR"; cleanup' EXIT
run() { "$BUILD/bench/storage_inserts" "$@" | awk '/inserts\/s/ {for (i = 1; i <= NF; i++) if ($i ~ /inserts\/s/) print $(i-1)}'; }
for threads in 1 4; do
    s=$(run "sqlite://$WORK/t$threads.db" "$SECONDS_PER_RUN" "$threads")
    d=$(run "sqlite://$WORK/d$threads.db" "$SECONDS_PER_RUN" "$threads" durable)
    p=$(run "$pg_uri" "$SECONDS_PER_RUN" "$threads")
    echo "threads $threads: sqlite $s/s, sqlite durable $d/s ($(echo "scale=2; $d / $s" | bc)x), postgresql $p/s ($(echo "scale=2; $p / $s" | bc)x)"
done
