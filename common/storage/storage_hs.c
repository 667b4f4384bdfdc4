/* What the homeserver sync needs from the database (hs_sync.h):
 * the user's device set, the per-user device-sync lock, walking every user, and masd-worker's
 * clean-up of rows nobody needs any more.
 *
 * The device-sync lock (users.device_sync_until/_holder) stands in for MAS's advisory lock: a
 * sync_devices job holds it across reading the device set and the homeserver call, and a session
 * that brings a device does not start while it is held, so a sync can never delete a device
 * created after it read the set. It is a lease, not a connection-bound lock, so it works the
 * same on SQLite (where no transaction may stay open across an HTTP call) and PostgreSQL, and a
 * worker that died holding it stops blocking logins once `until` has passed. */
#include "storage_internal.h"
#include "storage_jti.h"
#include <stdlib.h>
#include <string.h>

STORAGE_STMT(sync_begin, "UPDATE users SET device_sync_until = $3, device_sync_holder = $4"
                         " WHERE user_id = $1 AND (device_sync_until IS NULL OR device_sync_until <= $2"
                         " OR device_sync_holder = $4)");
STORAGE_STMT(sync_end, "UPDATE users SET device_sync_until = NULL, device_sync_holder = NULL"
                       " WHERE user_id = $1 AND device_sync_holder = $2");
/* PostgreSQL: FOR SHARE makes a sync's sync_begin wait for this transaction, so the sync reads
 * the device set after the new session committed. SQLite: write transactions are serial. */
static struct storage_stmt sync_busy = {
    .sqlite = "SELECT device_sync_until FROM users WHERE user_id = $1",
    .pg = "SELECT device_sync_until FROM users WHERE user_id = $1 FOR SHARE",
};
STORAGE_STMT(user_exists, "SELECT 1 FROM users WHERE user_id = $1");
STORAGE_STMT(user_devices, "SELECT device_id FROM session_devices WHERE user_id = $1 ORDER BY device_id");
STORAGE_STMT(user_ids_after, "SELECT user_id FROM users WHERE user_id > $1 ORDER BY user_id LIMIT $2");
STORAGE_STMT(job_purge,
             "DELETE FROM queue_jobs WHERE status IN ('completed', 'failed') AND completed_at < $1");
STORAGE_STMT(jti_purge, "DELETE FROM client_assertion_jtis WHERE expires_at <= $1");

static int read_nothing(struct sq *q, void *out)
{
    (void)q, (void)out;
    return 0;
}

int storage_user_device_sync_begin(struct storage_tx *tx, const char *user_id, const char *holder,
                                   int64_t until, int64_t now)
{
    int64_t changes = 0;
    int r = sq_exec(tx, &sync_begin, SQ_ARGS(P_TEXT(user_id), P_INT(now), P_INT(until), P_TEXT(holder)),
                    &changes);
    if (r < 0 || changes)
        return r < 0 ? r : 1;
    r = sq_one(tx, &user_exists, SQ_ARGS(P_TEXT(user_id)), read_nothing, NULL);
    return r < 0 ? r : 0;
}

int storage_user_device_sync_end(struct storage_tx *tx, const char *user_id, const char *holder)
{
    return sq_exec(tx, &sync_end, SQ_ARGS(P_TEXT(user_id), P_TEXT(holder)), NULL);
}

static int read_until(struct sq *q, void *out)
{
    *(int64_t *)out = sq_int(q, 0);
    return 0;
}

int storage_user_device_sync_busy(struct storage_tx *tx, const char *user_id, int64_t now)
{
    int64_t until = 0;
    int r = sq_one(tx, &sync_busy, SQ_ARGS(P_TEXT(user_id)), read_until, &until);
    return r < 0 ? r : until > now;
}

struct string_list {
    char **items;
    size_t n, cap;
};

static int collect_string(struct sq *q, void *arg)
{
    struct string_list *l = arg;
    char **slot = storage_array_push((void **)&l->items, &l->n, &l->cap, sizeof(*slot));
    if (!slot || !(*slot = strdup(sq_text(q, 0) ? sq_text(q, 0) : "")))
        return storage_fail(-ENOMEM, "out of memory");
    return 0;
}

void storage_strings_free(char **list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        free(list[i]);
    free(list);
}

static int collect_strings(struct storage_tx *tx, struct storage_stmt *stmt, const struct sq_param *p,
                           size_t np, char ***out, size_t *n)
{
    struct string_list l = {0};
    int r = sq_each(tx, stmt, p, np, collect_string, &l);
    if (r < 0) {
        storage_strings_free(l.items, l.n);
        l = (struct string_list){0};
    }
    *out = l.items;
    *n = l.n;
    return r;
}

int storage_user_devices(struct storage_tx *tx, const char *user_id, char ***out, size_t *n)
{
    return collect_strings(tx, &user_devices, SQ_ARGS(P_TEXT(user_id)), out, n);
}

int storage_user_ids(struct storage_tx *tx, const char *after_id, unsigned limit, char ***out, size_t *n)
{
    return collect_strings(tx, &user_ids_after, SQ_ARGS(P_TEXT(after_id ? after_id : ""), P_INT(limit)), out,
                           n);
}

static int purge(struct storage_tx *tx, struct storage_stmt *stmt, int64_t t, unsigned *n)
{
    int64_t changes = 0;
    int r = sq_exec(tx, stmt, SQ_ARGS(P_INT(t)), &changes);
    if (n)
        *n = r < 0 ? 0 : (unsigned)changes;
    return r;
}

int storage_job_purge(struct storage_tx *tx, int64_t before, unsigned *n)
{
    return purge(tx, &job_purge, before, n);
}

int storage_jti_purge(struct storage_tx *tx, int64_t now, unsigned *n)
{
    return purge(tx, &jti_purge, now, n);
}
