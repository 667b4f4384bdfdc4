/* Device-code grants (RFC 8628; storage.h). The device code is stored as its SHA-256 like every
 * token; the user code in clear, unique among all grants: a new grant whose code is taken is
 * refused by ON CONFLICT DO NOTHING rather than by an error, so the transaction stays usable and
 * the caller draws again in it (on PostgreSQL a failed statement would doom the transaction).
 * A pending poll is one UPDATE … RETURNING through the device code's unique index: it records
 * the poll and keeps the slow_down decision in the row (RETURNING sees only the new values, as in
 * storage_ratelimit.c), so the hot path of a polling device is one statement. */
#include "storage_internal.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define STR_(x) #x
#define STR(x)  STR_(x)

#define DEVICE_COLS                                                                                          \
    "oauth2_device_code_grant_id, oauth2_client_id, scope, user_code, created_at, expires_at, fulfilled_at," \
    " rejected_at, exchanged_at, browser_session_id, oauth2_session_id, ip_address, user_agent,"             \
    " poll_interval_ms, last_polled_at"
/* Neither approved, nor rejected, nor exchanged (an exchanged grant was approved first). */
#define PENDING "fulfilled_at IS NULL AND rejected_at IS NULL AND exchanged_at IS NULL"
/* The poll at $2 came sooner than the interval (less the grace $3) after the previous one. */
#define TOO_FAST "last_polled_at IS NOT NULL AND $2 < last_polled_at + poll_interval_ms - $3"

STORAGE_STMT(device_insert,
             "INSERT INTO oauth2_device_code_grants (" DEVICE_COLS ", device_code_hash)"
             " VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, NULL, NULL, NULL, $7, $8, $9, NULL, $10)"
             " ON CONFLICT (user_code) DO NOTHING");
STORAGE_STMT(device_by_id,
             "SELECT " DEVICE_COLS " FROM oauth2_device_code_grants WHERE oauth2_device_code_grant_id = $1");
STORAGE_STMT(device_by_code,
             "SELECT " DEVICE_COLS " FROM oauth2_device_code_grants WHERE device_code_hash = $1");
STORAGE_STMT(device_pending_by_user_code, "SELECT " DEVICE_COLS " FROM oauth2_device_code_grants"
                                          " WHERE user_code = $1 AND " PENDING " AND expires_at > $2");
STORAGE_STMT(
    device_poll,
    "UPDATE oauth2_device_code_grants SET"
    " poll_too_fast = CASE WHEN " TOO_FAST " THEN 1 ELSE 0 END,"
    " poll_interval_ms = CASE WHEN " TOO_FAST " THEN poll_interval_ms + " STR(
        STORAGE_DEVICE_SLOW_DOWN_MS) " ELSE poll_interval_ms END,"
                                     " last_polled_at = $2"
                                     " WHERE device_code_hash = $1 AND oauth2_client_id = $4 AND " PENDING
                                     " AND expires_at > $2"
                                     " RETURNING " DEVICE_COLS ", poll_too_fast");
STORAGE_STMT(device_purge, "DELETE FROM oauth2_device_code_grants WHERE expires_at < $1");
STORAGE_STMT(device_exists, "SELECT 1 FROM oauth2_device_code_grants WHERE oauth2_device_code_grant_id = $1");
STORAGE_STMT(device_fulfill, "UPDATE oauth2_device_code_grants SET fulfilled_at = $2, browser_session_id = $3"
                             " WHERE oauth2_device_code_grant_id = $1 AND " PENDING " AND expires_at > $2");
STORAGE_STMT(device_reject, "UPDATE oauth2_device_code_grants SET rejected_at = $2, browser_session_id = $3"
                            " WHERE oauth2_device_code_grant_id = $1 AND " PENDING " AND expires_at > $2");
STORAGE_STMT(device_exchange, "UPDATE oauth2_device_code_grants SET exchanged_at = $2, oauth2_session_id = $3"
                              " WHERE oauth2_device_code_grant_id = $1 AND fulfilled_at IS NOT NULL"
                              " AND rejected_at IS NULL AND exchanged_at IS NULL");

static int read_device(struct sq *q, void *out)
{
    struct storage_device_code_grant *g = out;
    *g = (struct storage_device_code_grant){0};
    sq_copy(q, 0, g->id, sizeof(g->id));
    sq_copy(q, 1, g->client_id, sizeof(g->client_id));
    sq_copy(q, 2, g->scope, sizeof(g->scope));
    sq_copy(q, 3, g->user_code, sizeof(g->user_code));
    g->created_at = sq_int(q, 4);
    g->expires_at = sq_int(q, 5);
    g->fulfilled_at = sq_int(q, 6);
    g->rejected_at = sq_int(q, 7);
    g->exchanged_at = sq_int(q, 8);
    sq_copy(q, 9, g->browser_session_id, sizeof(g->browser_session_id));
    sq_copy(q, 10, g->session_id, sizeof(g->session_id));
    sq_copy(q, 11, g->ip, sizeof(g->ip));
    sq_copy(q, 12, g->user_agent, sizeof(g->user_agent));
    g->interval_ms = sq_int(q, 13);
    g->last_polled_at = sq_int(q, 14);
    return 0;
}

struct polled {
    struct storage_device_code_grant *g;
    bool too_fast;
};

static int read_polled(struct sq *q, void *out)
{
    struct polled *p = out;
    read_device(q, p->g);
    p->too_fast = sq_int(q, 15) != 0;
    return 0;
}

int storage_device_code_grant_create(struct storage_tx *tx, const struct storage_device_code_grant *in,
                                     const char *device_code, int64_t now,
                                     struct storage_device_code_grant *out)
{
    int r = storage_check_text("scope", in->scope, STORAGE_SCOPE_MAX, true);
    if (r >= 0)
        r = storage_check_text("user code", in->user_code, STORAGE_USER_CODE_MAX, false);
    if (r >= 0)
        r = storage_check_text("device code", device_code, STORAGE_SHORT_TEXT_MAX, false);
    if (r >= 0 && (in->interval_ms <= 0 || in->expires_at <= now))
        r = storage_fail(-EINVAL, "device code grant: the interval and the lifetime must be positive");
    if (r < 0)
        return r;
    struct storage_device_code_grant g = {
        .created_at = now, .expires_at = in->expires_at, .interval_ms = in->interval_ms};
    char hash[STORAGE_HASH_SIZE];
    storage_new_id(g.id);
    snprintf(g.client_id, sizeof(g.client_id), "%s", in->client_id);
    snprintf(g.scope, sizeof(g.scope), "%s", in->scope);
    snprintf(g.user_code, sizeof(g.user_code), "%s", in->user_code);
    storage_copy_cut(g.ip, sizeof(g.ip), in->ip);
    storage_copy_cut(g.user_agent, sizeof(g.user_agent), in->user_agent);
    storage_token_hash(device_code, hash);
    int64_t changes = 0;
    r = sq_exec(tx, &device_insert,
                SQ_ARGS(P_TEXT(g.id), P_TEXT(g.client_id), P_TEXT(g.scope), P_TEXT(g.user_code), P_INT(now),
                        P_INT(g.expires_at), P_OPT(g.ip), P_OPT(g.user_agent), P_INT(g.interval_ms),
                        P_TEXT(hash)),
                &changes);
    if (r < 0)
        return r;
    if (changes == 0)
        return storage_fail(-EEXIST, "the user code is taken: draw another");
    if (out)
        *out = g;
    return 0;
}

int storage_device_code_grant_get(struct storage_tx *tx, const char *id,
                                  struct storage_device_code_grant *out)
{
    return sq_one(tx, &device_by_id, SQ_ARGS(P_TEXT(id)), read_device, out);
}

int storage_device_code_grant_lookup_device_code(struct storage_tx *tx, const char *device_code,
                                                 struct storage_device_code_grant *out)
{
    char hash[STORAGE_HASH_SIZE];
    storage_token_hash(device_code, hash);
    return sq_one(tx, &device_by_code, SQ_ARGS(P_TEXT(hash)), read_device, out);
}

int storage_device_code_grant_find_pending(struct storage_tx *tx, const char *user_code, int64_t now,
                                           struct storage_device_code_grant *out)
{
    return sq_one(tx, &device_pending_by_user_code, SQ_ARGS(P_TEXT(user_code), P_INT(now)), read_device, out);
}

int storage_device_code_grant_poll(struct storage_tx *tx, const char *device_code, const char *client_id,
                                   int64_t now, int64_t grace_ms, struct storage_device_code_grant *out)
{
    char hash[STORAGE_HASH_SIZE];
    struct polled p = {.g = out};
    storage_token_hash(device_code, hash);
    int r = sq_one(tx, &device_poll, SQ_ARGS(P_TEXT(hash), P_INT(now), P_INT(grace_ms), P_TEXT(client_id)),
                   read_polled, &p);
    if (r == 0)
        return p.too_fast ? 1 : 0;
    if (r != -ENOENT)
        return r;
    /* not pending for this client now: the grant as it is, whatever its state */
    return sq_one(tx, &device_by_code, SQ_ARGS(P_TEXT(hash)), read_device, out);
}

int storage_device_code_grant_fulfill(struct storage_tx *tx, const char *id, const char *browser_session_id,
                                      int64_t now)
{
    return storage_cas(tx, &device_fulfill, SQ_ARGS(P_TEXT(id), P_INT(now), P_OPT(browser_session_id)),
                       &device_exists, id);
}

int storage_device_code_grant_reject(struct storage_tx *tx, const char *id, const char *browser_session_id,
                                     int64_t now)
{
    return storage_cas(tx, &device_reject, SQ_ARGS(P_TEXT(id), P_INT(now), P_OPT(browser_session_id)),
                       &device_exists, id);
}

int storage_device_code_grant_exchange(struct storage_tx *tx, const char *id, const char *session_id,
                                       int64_t now)
{
    return storage_cas(tx, &device_exchange, SQ_ARGS(P_TEXT(id), P_INT(now), P_OPT(session_id)),
                       &device_exists, id);
}

int storage_device_code_grant_purge(struct storage_tx *tx, int64_t before, unsigned *n)
{
    int64_t changes = 0;
    int r = sq_exec(tx, &device_purge, SQ_ARGS(P_INT(before)), &changes);
    if (r >= 0 && n)
        *n = (unsigned)changes;
    return r < 0 ? r : 0;
}
