/* Rate limits shared by every process and host on the database: GCRA (the generic cell rate
 * algorithm), one row per key holding the theoretical arrival time (TAT).
 *
 * With T = 1/per_second (the emission interval) and tau = burst × T, a request at time t is
 * allowed when max(TAT, t) + T − t <= tau, and then TAT becomes max(TAT, t) + T. One
 * INSERT … ON CONFLICT … DO UPDATE … RETURNING does the whole check under the row's lock, so
 * two processes can never both take the last slot. The SET expressions all see the old row
 * (both backends agree), so `allowed` records the decision made on the old TAT; RETURNING
 * cannot see old values, which is why the decision is stored in the row. Times are in
 * microseconds: MAS accepts per_second up to 1e9, and at millisecond resolution T would be 0
 * above 1000 per second. */
#include "storage_internal.h"
#include <errno.h>
#include <stdio.h>
#include <math.h>
#include <string.h>

#define RATE_KEY_MAX 512

#define NOW   "CAST($2 AS BIGINT)"
#define T     "CAST($3 AS BIGINT)"
#define TAU   "CAST($4 AS BIGINT)"
#define START "(CASE WHEN rate_limits.tat_us > " NOW " THEN rate_limits.tat_us ELSE " NOW " END)"
#define FITS  START " + " T " - " NOW " <= " TAU

STORAGE_STMT(gcra, "INSERT INTO rate_limits (rate_limit_key, tat_us, allowed) VALUES ($1, " NOW " + " T ", 1)"
                   " ON CONFLICT (rate_limit_key) DO UPDATE SET"
                   " allowed = CASE WHEN " FITS " THEN 1 ELSE 0 END,"
                   " tat_us = CASE WHEN " FITS " THEN " START " + " T " ELSE rate_limits.tat_us END"
                   " RETURNING tat_us, allowed");
STORAGE_STMT(gcra_purge, "DELETE FROM rate_limits WHERE tat_us < $1");

/* Bounds that keep now + tau + T far below INT64_MAX for any burst and rate. */
#define MAX_T_US   (INT64_MAX / 8)
#define MAX_TAU_US (INT64_MAX / 4)

struct gcra_result {
    int64_t tat;
    bool allowed;
};

static int read_gcra(struct sq *q, void *out)
{
    struct gcra_result *g = out;
    g->tat = sq_int(q, 0);
    g->allowed = sq_int(q, 1) != 0;
    return 0;
}

int storage_rate_limit_check(struct storage_tx *tx, const char *key, unsigned burst, double per_second,
                             int64_t now, int64_t *retry_after_ms)
{
    *retry_after_ms = 0;
    int r = storage_check_text("rate-limit key", key, RATE_KEY_MAX, false);
    if (r < 0)
        return r;
    if (burst < 1 || !(per_second > 0) || !isfinite(per_second))
        return storage_fail(-EINVAL, "rate limit: burst must be >= 1 and per_second > 0");
    double t = 1e6 / per_second;
    int64_t t_us = t < 1 ? 1 : t > (double)MAX_T_US ? MAX_T_US : (int64_t)t;
    if (t_us < MAX_T_US && (double)t_us < t)
        t_us++; /* round up: never allow faster than configured */
    int64_t tau_us = t_us > MAX_TAU_US / (int64_t)burst ? MAX_TAU_US : t_us * (int64_t)burst;
    int64_t now_us = now * 1000;
    struct gcra_result g;
    r = sq_one(tx, &gcra, SQ_ARGS(P_TEXT(key), P_INT(now_us), P_INT(t_us), P_INT(tau_us)), read_gcra, &g);
    if (r < 0)
        return r;
    if (g.allowed)
        return 1;
    /* The next request passes once max(TAT, t) + T − t <= tau, i.e. at t = TAT + T − tau. */
    int64_t wait_us = g.tat + t_us - tau_us - now_us;
    *retry_after_ms = wait_us <= 0 ? 1 : (wait_us + 999) / 1000;
    return 0;
}

STORAGE_STMT(network_record,
             "INSERT INTO user_login_networks (user_id, network, last_login_at) VALUES ($1, $2, $3)"
             " ON CONFLICT (user_id, network) DO UPDATE SET last_login_at = $3"
             " WHERE user_login_networks.last_login_at < $3");
STORAGE_STMT(network_known, "SELECT 1 FROM user_login_networks"
                            " WHERE user_id = $1 AND network = $2 AND last_login_at > $3");
STORAGE_STMT(network_purge, "DELETE FROM user_login_networks WHERE last_login_at < $1");

int storage_login_network_record(struct storage_tx *tx, const char *user_id, const char *network, int64_t now)
{
    int r = storage_check_text("network", network, STORAGE_NETWORK_MAX, false);
    return r < 0 ? r
                 : sq_exec(tx, &network_record, SQ_ARGS(P_TEXT(user_id), P_TEXT(network), P_INT(now)), NULL);
}

static int read_nothing(struct sq *q, void *out)
{
    (void)q, (void)out;
    return 0;
}

int storage_login_network_known(struct storage_tx *tx, const char *user_id, const char *network,
                                int64_t since)
{
    int r = sq_one(tx, &network_known, SQ_ARGS(P_TEXT(user_id), P_TEXT(network), P_INT(since)), read_nothing,
                   NULL);
    return r == -ENOENT ? 0 : r < 0 ? r : 1;
}

int storage_login_network_purge(struct storage_tx *tx, int64_t before, unsigned *n)
{
    int64_t changes = 0;
    int r = sq_exec(tx, &network_purge, SQ_ARGS(P_INT(before)), &changes);
    if (n)
        *n = r < 0 ? 0 : (unsigned)changes;
    return r;
}

int storage_rate_limit_purge(struct storage_tx *tx, int64_t now, unsigned *n)
{
    int64_t changes = 0;
    int r = sq_exec(tx, &gcra_purge, SQ_ARGS(P_INT(now * 1000)), &changes);
    if (n)
        *n = r < 0 ? 0 : (unsigned)changes;
    return r;
}
