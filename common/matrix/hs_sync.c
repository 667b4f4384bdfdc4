/* The homeserver sync: what each change queues, the synchronous device creation of a login, and
 * the jobs masd-worker runs (hs_sync.h). */
#include "hs_sync.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

bool hs_config_read_only(const struct config_matrix *m)
{
    return m->kind && strcmp(m->kind, "synapse_read_only") == 0;
}

/* ---- queueing -------------------------------------------------------------------------------- */

static int enqueue(struct storage_tx *tx, const struct config_matrix *m, const char *queue, json_t *payload,
                   int64_t now)
{
    if (hs_config_read_only(m)) {
        json_decref(payload);
        return 0;
    }
    char *text = payload ? json_dumps(payload, JSON_COMPACT) : NULL;
    json_decref(payload);
    if (!text)
        return -EINVAL; /* a value that is not UTF-8: the storage layer refuses those too */
    int r = storage_job_enqueue(tx, queue, text, 0, now, NULL);
    free(text);
    return r;
}

int hs_queue_provision_user(struct storage_tx *tx, const struct config_matrix *m, const char *user_id,
                            const char *display_name, int64_t now)
{
    return enqueue(tx, m, HS_QUEUE_PROVISION_USER,
                   json_pack("{s:s, s:s?}", "user_id", user_id, "set_display_name", display_name), now);
}

int hs_queue_sync_devices(struct storage_tx *tx, const struct config_matrix *m, const char *user_id,
                          int64_t now)
{
    return enqueue(tx, m, HS_QUEUE_SYNC_DEVICES, json_pack("{s:s}", "user_id", user_id), now);
}

int hs_session_end(struct storage_tx *tx, const struct config_matrix *m, enum storage_session_kind kind,
                   const char *session_id, const char *user_id, int64_t now)
{
    int r = storage_session_finish(tx, kind, session_id, now);
    if (r > 0 && user_id && user_id[0]) {
        int q = hs_queue_sync_devices(tx, m, user_id, now);
        if (q < 0)
            return q;
    }
    return r;
}

int hs_queue_deactivate_user(struct storage_tx *tx, const struct config_matrix *m, const char *user_id,
                             bool erase, int64_t now)
{
    return enqueue(tx, m, HS_QUEUE_DEACTIVATE_USER,
                   json_pack("{s:s, s:b}", "user_id", user_id, "hs_erase", erase), now);
}

int hs_queue_reactivate_user(struct storage_tx *tx, const struct config_matrix *m, const char *user_id,
                             int64_t now)
{
    return enqueue(tx, m, HS_QUEUE_REACTIVATE_USER, json_pack("{s:s}", "user_id", user_id), now);
}

/* ---- sessions that bring a device ------------------------------------------------------------ */

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

int hs_session_may_start(struct storage_tx *tx, const char *user_id, int64_t now)
{
    int r = storage_user_device_sync_busy(tx, user_id, now);
    return r < 0 ? r : r ? -EBUSY : 0;
}

int hs_session_tx(struct storage *st, unsigned flags, storage_tx_fn fn, void *arg)
{
    int64_t deadline = masd_monotonic_ms() + HS_SYNC_LOCK_MS;
    for (;;) {
        int r = storage_tx(st, flags, fn, arg);
        if (r != -EBUSY)
            return r;
        if (masd_monotonic_ms() >= deadline) {
            log_warn("a device sync of the user held its lock for %d s; giving up", HS_SYNC_LOCK_MS / 1000);
            return r;
        }
        sleep_ms(100);
    }
}

/* ---- provisioning ---------------------------------------------------------------------------- */

struct provision_read {
    const char *user_id;
    struct storage_user user;
    struct storage_email *emails;
    size_t n_emails;
};

static int provision_read_tx(struct storage_tx *tx, void *arg)
{
    struct provision_read *p = arg;
    free(p->emails);
    p->emails = NULL, p->n_emails = 0;
    int r = storage_user_get(tx, p->user_id, &p->user);
    if (r >= 0)
        r = storage_email_list(tx, p->user_id, &p->emails, &p->n_emails);
    return r;
}

/* MAS's ProvisionUserJob call: the lock state and every e-mail address always, the display name
 * only when given. -ENOENT (no such user here) comes back as storage's; anything else from the
 * homeserver is in res. */
static int provision(struct storage *st, struct homeserver *hs, const char *user_id, const char *display_name,
                     struct storage_user *user, struct homeserver_result *res)
{
    struct provision_read p = {.user_id = user_id};
    int r = storage_tx(st, STORAGE_TX_READ, provision_read_tx, &p);
    if (r < 0) {
        snprintf(res->message, sizeof(res->message), "user %s: %s", user_id,
                 r == -ENOENT ? "no such user" : storage_last_error());
        free(p.emails);
        return r == -ENOENT ? -ESRCH : r;
    }
    const char **emails = calloc(p.n_emails + 1, sizeof(*emails));
    if (!emails) {
        free(p.emails);
        return -ENOMEM;
    }
    for (size_t i = 0; i < p.n_emails; i++)
        emails[i] = p.emails[i].email;
    struct homeserver_provision req = {
        .localpart = p.user.username,
        .locked = p.user.locked_at != 0,
        .displayname = display_name ? HOMESERVER_SET : HOMESERVER_KEEP,
        .displayname_value = display_name,
        .emails = HOMESERVER_SET,
        .emails_value = emails,
        .n_emails = p.n_emails,
    };
    r = homeserver_provision_user(hs, &req, res);
    free(emails);
    free(p.emails);
    if (user)
        *user = p.user;
    return r;
}

/* ---- the device of a new session ------------------------------------------------------------- */

struct undo {
    const struct config_matrix *m;
    enum storage_session_kind kind;
    const char *user_id, *session_id;
};

static int undo_tx(struct storage_tx *tx, void *arg)
{
    struct undo *u = arg;
    int64_t now = masd_now();
    int r = storage_session_finish(tx, u->kind, u->session_id, now);
    if (r >= 0)
        r = hs_queue_sync_devices(tx, u->m, u->user_id, now);
    return r;
}

int hs_provision_user(struct storage *st, struct homeserver *hs, const char *user_id,
                      const char *display_name, struct homeserver_result *res)
{
    return provision(st, hs, user_id, display_name, NULL, res);
}

int hs_device_create(struct storage *st, struct homeserver *hs, const struct config_matrix *m,
                     const struct storage_user *user, const char *device_id, const char *display_name,
                     enum storage_session_kind kind, const char *session_id, struct homeserver_result *res)
{
    int r = homeserver_upsert_device(hs, user->username, device_id, display_name, res);
    if (r == -ENOENT) {
        /* The provision-user job has not run yet (or failed): do its work now, then once more. */
        r = provision(st, hs, user->id, NULL, NULL, res);
        if (r >= 0)
            r = homeserver_upsert_device(hs, user->username, device_id, display_name, res);
    }
    if (r >= 0)
        return 0;
    struct undo u = {m, kind, user->id, session_id};
    int e = storage_tx(st, STORAGE_TX_WRITE, undo_tx, &u);
    if (e < 0)
        log_error("cannot end session %s after its device failed on the homeserver: %s", session_id,
                  storage_last_error());
    return r;
}

/* ---- masd-worker's jobs ---------------------------------------------------------------------- */

struct job_ctx {
    struct storage *st;
    struct homeserver *hs;
    const struct config_matrix *m;
    const struct storage_job *job;
    const char *worker_id;
    char *msg;
    size_t size;
    /* the payload */
    const char *user_id;
    const char *display_name; /* provision-user */
    bool erase;               /* deactivate-user */
};

static enum hs_job_outcome say(struct job_ctx *c, enum hs_job_outcome o, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static enum hs_job_outcome say(struct job_ctx *c, enum hs_job_outcome o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->msg, c->size, fmt, ap);
    va_end(ap);
    return o;
}

/* A homeserver failure: transient unless it can never succeed. */
static enum hs_job_outcome hs_failed(struct job_ctx *c, int r, const struct homeserver_result *res)
{
    if (r == -ESRCH)
        return say(c, HS_JOB_FAILED, "%s", res->message);
    return say(c, r == -EROFS || r == -EINVAL ? HS_JOB_FAILED : HS_JOB_RETRY, "%s",
               res->message[0] ? res->message : strerror(-r));
}

struct complete {
    struct job_ctx *c;
    int (*then)(struct storage_tx *tx, struct job_ctx *c, int64_t now); /* may be NULL */
};

static int complete_tx(struct storage_tx *tx, void *arg)
{
    struct complete *k = arg;
    int64_t now = masd_now();
    int r = storage_job_complete(tx, k->c->job->id, k->c->worker_id, now);
    if (r >= 0 && k->then)
        r = k->then(tx, k->c, now);
    return r;
}

/* Completes the job and queues its follow-ups in one transaction (MAS weakness §5, fixed). */
static enum hs_job_outcome complete(struct job_ctx *c,
                                    int (*then)(struct storage_tx *, struct job_ctx *, int64_t))
{
    struct complete k = {c, then};
    int r = storage_tx(c->st, STORAGE_TX_WRITE, complete_tx, &k);
    if (r == -ESTALE)
        return say(c, HS_JOB_LOST, "%s", storage_last_error());
    if (r < 0)
        return say(c, HS_JOB_RETRY, "cannot complete the job: %s", storage_last_error());
    return HS_JOB_DONE;
}

static int then_sync_devices(struct storage_tx *tx, struct job_ctx *c, int64_t now)
{
    return hs_queue_sync_devices(tx, c->m, c->user_id, now);
}

static enum hs_job_outcome run_provision(struct job_ctx *c)
{
    struct homeserver_result res = {0};
    int r = provision(c->st, c->hs, c->user_id, c->display_name, NULL, &res);
    if (r < 0)
        return hs_failed(c, r, &res);
    return complete(c, then_sync_devices);
}

/* sync-devices: under the user's device-sync lock, read the device set and send it. */
struct sync_read {
    const char *user_id, *holder;
    bool locked;
    struct storage_user user;
    char **devices;
    size_t n;
};

/* 1 locked (and the set read), 0 another sync holds the lock, < 0 an error. */
static int sync_lock_tx(struct storage_tx *tx, void *arg)
{
    struct sync_read *s = arg;
    int64_t now = masd_now();
    storage_strings_free(s->devices, s->n);
    s->devices = NULL, s->n = 0, s->locked = false;
    int r = storage_user_device_sync_begin(tx, s->user_id, s->holder, now + HS_SYNC_LOCK_MS, now);
    if (r <= 0)
        return r;
    s->locked = true;
    r = storage_user_get(tx, s->user_id, &s->user);
    if (r >= 0)
        r = storage_user_devices(tx, s->user_id, &s->devices, &s->n);
    return r < 0 ? r : 1;
}

struct sync_done {
    struct job_ctx *c;
    bool ok;
};

static int sync_unlock_tx(struct storage_tx *tx, void *arg)
{
    struct sync_done *d = arg;
    int r = storage_user_device_sync_end(tx, d->c->user_id, d->c->job->id);
    if (r >= 0 && d->ok)
        r = storage_job_complete(tx, d->c->job->id, d->c->worker_id, masd_now());
    return r;
}

static enum hs_job_outcome run_sync_devices(struct job_ctx *c)
{
    struct sync_read s = {.user_id = c->user_id, .holder = c->job->id};
    int64_t deadline = masd_monotonic_ms() + HS_SYNC_LOCK_MS;
    int r;
    /* Another sync of the same user (a second worker thread) holds the lock: wait for it. */
    while ((r = storage_tx(c->st, STORAGE_TX_WRITE, sync_lock_tx, &s)) == 0 && masd_monotonic_ms() < deadline)
        sleep_ms(200);
    if (r == -ENOENT)
        return say(c, HS_JOB_FAILED, "user %s: no such user", c->user_id);
    if (r < 0)
        return say(c, HS_JOB_RETRY, "cannot read the devices: %s", storage_last_error());
    if (!s.locked)
        return say(c, HS_JOB_RETRY, "another device sync of user %s held its lock too long", c->user_id);
    struct homeserver_result res = {0};
    r = homeserver_sync_devices(c->hs, s.user.username, (const char *const *)s.devices, s.n, &res);
    storage_strings_free(s.devices, s.n);
    struct sync_done d = {c, r >= 0};
    int e = storage_tx(c->st, STORAGE_TX_WRITE, sync_unlock_tx, &d);
    if (r < 0)
        return hs_failed(c, r, &res);
    if (e == -ESTALE)
        return say(c, HS_JOB_LOST, "%s", storage_last_error());
    if (e < 0)
        return say(c, HS_JOB_RETRY, "cannot complete the job: %s", storage_last_error());
    return HS_JOB_DONE;
}

/* deactivate-user: here first (idempotent: a retry re-applies it), then the homeserver. */
struct deactivate {
    const char *user_id;
    struct storage_user user;
};

static int deactivate_tx(struct storage_tx *tx, void *arg)
{
    struct deactivate *d = arg;
    int64_t now = masd_now();
    int r = storage_user_get(tx, d->user_id, &d->user);
    if (r >= 0)
        r = storage_user_deactivate(tx, d->user_id, now);
    if (r >= 0)
        r = storage_user_finish_all_sessions(tx, d->user_id, now, NULL);
    return r;
}

static enum hs_job_outcome run_deactivate(struct job_ctx *c)
{
    struct deactivate d = {.user_id = c->user_id};
    int r = storage_tx(c->st, STORAGE_TX_WRITE | STORAGE_TX_DURABLE, deactivate_tx, &d);
    if (r == -ENOENT)
        return say(c, HS_JOB_FAILED, "user %s: no such user", c->user_id);
    if (r < 0)
        return say(c, HS_JOB_RETRY, "cannot deactivate user %s: %s", c->user_id, storage_last_error());
    struct homeserver_result res = {0};
    r = homeserver_delete_user(c->hs, d.user.username, c->erase, &res);
    if (r < 0)
        return hs_failed(c, r, &res);
    return complete(c, NULL);
}

/* reactivate-user: the homeserver first, then here (MAS's order). */
static int then_reactivate(struct storage_tx *tx, struct job_ctx *c, int64_t now)
{
    (void)now;
    int r = storage_user_reactivate(tx, c->user_id);
    return r < 0 ? r : 0;
}

struct user_read {
    const char *user_id;
    struct storage_user user;
};

static int user_read_tx(struct storage_tx *tx, void *arg)
{
    struct user_read *u = arg;
    return storage_user_get(tx, u->user_id, &u->user);
}

static enum hs_job_outcome run_reactivate(struct job_ctx *c)
{
    struct user_read u = {.user_id = c->user_id};
    int r = storage_tx(c->st, STORAGE_TX_READ, user_read_tx, &u);
    if (r == -ENOENT)
        return say(c, HS_JOB_FAILED, "user %s: no such user", c->user_id);
    if (r < 0)
        return say(c, HS_JOB_RETRY, "cannot read user %s: %s", c->user_id, storage_last_error());
    struct homeserver_result res = {0};
    r = homeserver_reactivate_user(c->hs, u.user.username, &res);
    if (r < 0)
        return hs_failed(c, r, &res);
    return complete(c, then_reactivate);
}

static const struct {
    const char *queue;
    enum hs_job_outcome (*run)(struct job_ctx *c);
} jobs[] = {
    {HS_QUEUE_PROVISION_USER, run_provision},
    {HS_QUEUE_SYNC_DEVICES, run_sync_devices},
    {HS_QUEUE_DEACTIVATE_USER, run_deactivate},
    {HS_QUEUE_REACTIVATE_USER, run_reactivate},
};

enum hs_job_outcome hs_job_run(struct storage *st, struct homeserver *hs, const struct config_matrix *m,
                               const struct storage_job *job, const char *worker_id, char *msg, size_t size)
{
    struct job_ctx c = {
        .st = st, .hs = hs, .m = m, .job = job, .worker_id = worker_id, .msg = msg, .size = size};
    msg[0] = '\0';
    size_t i = 0;
    while (i < sizeof(jobs) / sizeof(jobs[0]) && strcmp(jobs[i].queue, job->queue) != 0)
        i++;
    if (i == sizeof(jobs) / sizeof(jobs[0]))
        return say(&c, HS_JOB_FAILED, "unknown queue '%s'", job->queue);
    if (hs_config_read_only(m))
        return say(&c, HS_JOB_FAILED, "%s is not possible: matrix.kind is synapse_read_only", job->queue);
    json_error_t jerr;
    json_t *p = json_loads(job->payload, JSON_REJECT_DUPLICATES, &jerr);
    json_t *uid = json_object_get(p, "user_id"), *name = json_object_get(p, "set_display_name"),
           *erase = json_object_get(p, "hs_erase");
    enum hs_job_outcome o;
    if (!json_is_string(uid) || (name && !json_is_string(name) && !json_is_null(name)) ||
        (erase && !json_is_boolean(erase))) {
        o = say(&c, HS_JOB_FAILED, "bad payload for %s: %s", job->queue, job->payload);
    } else {
        c.user_id = json_string_value(uid);
        c.display_name = json_string_value(name);
        c.erase = json_is_true(erase);
        o = jobs[i].run(&c);
    }
    json_decref(p);
    return o;
}
