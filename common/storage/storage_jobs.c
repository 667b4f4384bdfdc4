/* The job queue (docs/architecture.md §5). A job row goes through available → running → completed, or back
 * to available with a later scheduled_at after a failure, or to failed after the last attempt.
 * A running job carries a lease (worker_id, lease_expires_at); once the lease has expired the
 * job is claimable again, so a worker that died never strands a job. */
#include "storage_internal.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JOB_COLS                                                                                             \
    "queue_job_id, queue_name, payload, status, attempts, created_at, scheduled_at, worker_id,"              \
    " lease_expires_at, completed_at, last_error"

/* The next due job: available and scheduled, or running with an expired lease. */
#define CLAIM_PICK                                                                                           \
    "SELECT queue_job_id FROM queue_jobs WHERE ((status = 'available' AND scheduled_at <= $2)"               \
    " OR (status = 'running' AND lease_expires_at <= $2)) AND (CAST($1 AS TEXT) IS NULL OR queue_name = $1)" \
    " ORDER BY scheduled_at, queue_job_id LIMIT 1"
#define CLAIM_UPDATE                                                                                         \
    "UPDATE queue_jobs SET status = 'running', attempts = attempts + 1, worker_id = $3, lease_expires_at = " \
    "$4"                                                                                                     \
    " WHERE queue_job_id = ("

STORAGE_STMT(job_insert, "INSERT INTO queue_jobs (" JOB_COLS ")"
                         " VALUES ($1, $2, $3, 'available', 0, $4, $5, NULL, NULL, NULL, NULL)");
/* SQLite: the claim runs inside BEGIN IMMEDIATE, so no two claimers ever see the same row.
 * PostgreSQL: SKIP LOCKED lets concurrent claimers pass over each other's rows instead of
 * queueing behind them. */
static struct storage_stmt job_claim = {
    .sqlite = CLAIM_UPDATE CLAIM_PICK ") RETURNING " JOB_COLS,
    .pg = CLAIM_UPDATE CLAIM_PICK " FOR UPDATE SKIP LOCKED) RETURNING " JOB_COLS,
};
STORAGE_STMT(job_complete,
             "UPDATE queue_jobs SET status = 'completed', completed_at = $3, lease_expires_at = NULL"
             " WHERE queue_job_id = $1 AND worker_id = $2 AND status = 'running'");
STORAGE_STMT(job_attempts, "SELECT attempts FROM queue_jobs"
                           " WHERE queue_job_id = $1 AND worker_id = $2 AND status = 'running'");
STORAGE_STMT(job_fail,
             "UPDATE queue_jobs SET status = $4, scheduled_at = $5, completed_at = $6, last_error = $7,"
             " lease_expires_at = NULL"
             " WHERE queue_job_id = $1 AND worker_id = $2 AND status = 'running' AND attempts = $3");
STORAGE_STMT(job_by_id, "SELECT " JOB_COLS " FROM queue_jobs WHERE queue_job_id = $1");

static const char *const status_names[] = {"available", "running", "completed", "failed"};

void storage_job_clear(struct storage_job *job)
{
    free(job->payload);
    job->payload = NULL;
}

static int read_job(struct sq *q, void *out)
{
    struct storage_job *j = out;
    storage_job_clear(j);
    *j = (struct storage_job){0};
    sq_copy(q, 0, j->id, sizeof(j->id));
    sq_copy(q, 1, j->queue, sizeof(j->queue));
    const char *status = sq_text(q, 3);
    for (size_t i = 0; status && i < 4; i++)
        if (strcmp(status, status_names[i]) == 0)
            j->status = (enum storage_job_status)i;
    j->attempts = (unsigned)sq_int(q, 4);
    j->created_at = sq_int(q, 5);
    j->scheduled_at = sq_int(q, 6);
    sq_copy(q, 7, j->worker_id, sizeof(j->worker_id));
    j->lease_expires_at = sq_int(q, 8);
    j->completed_at = sq_int(q, 9);
    sq_copy(q, 10, j->last_error, sizeof(j->last_error));
    j->payload = strdup(sq_text(q, 2) ? sq_text(q, 2) : "");
    return j->payload ? 0 : storage_fail(-ENOMEM, "out of memory");
}

int storage_job_enqueue(struct storage_tx *tx, const char *queue, const char *payload_json, int64_t run_at,
                        int64_t now, char id[STORAGE_ID_SIZE])
{
    int r = storage_check_text("queue name", queue, STORAGE_QUEUE_MAX, false);
    if (r >= 0)
        r = storage_check_text("job payload", payload_json, 1u << 20, false);
    if (r < 0)
        return r;
    char job_id[STORAGE_ID_SIZE];
    storage_new_id(job_id);
    r = sq_exec(tx, &job_insert,
                SQ_ARGS(P_TEXT(job_id), P_TEXT(queue), P_TEXT(payload_json), P_INT(now),
                        P_INT(run_at ? run_at : now)),
                NULL);
    if (r >= 0 && id)
        memcpy(id, job_id, STORAGE_ID_SIZE);
    return r;
}

struct claim {
    const char *queue, *worker_id;
    int64_t lease_ms, now;
    struct storage_job *job;
};

static int claim_fn(struct storage_tx *tx, void *arg)
{
    struct claim *c = arg;
    int r =
        sq_one(tx, &job_claim,
               SQ_ARGS(P_TEXT(c->queue), P_INT(c->now), P_TEXT(c->worker_id), P_INT(c->now + c->lease_ms)),
               read_job, c->job);
    return r == -ENOENT ? 0 : r < 0 ? r : 1;
}

int storage_job_claim(struct storage *st, const char *queue, const char *worker_id, int64_t lease_ms,
                      int64_t now, struct storage_job *job)
{
    *job = (struct storage_job){0};
    int r = storage_check_text("worker ID", worker_id, STORAGE_QUEUE_MAX, false);
    if (r >= 0 && queue)
        r = storage_check_text("queue name", queue, STORAGE_QUEUE_MAX, false);
    if (r < 0)
        return r;
    if (lease_ms <= 0)
        return storage_fail(-EINVAL, "a job lease must be positive");
    struct claim c = {queue, worker_id, lease_ms, now, job};
    r = storage_tx(st, STORAGE_TX_WRITE, claim_fn, &c);
    if (r <= 0)
        storage_job_clear(job);
    return r;
}

int storage_job_complete(struct storage_tx *tx, const char *job_id, const char *worker_id, int64_t now)
{
    int64_t changes = 0;
    int r = sq_exec(tx, &job_complete, SQ_ARGS(P_TEXT(job_id), P_TEXT(worker_id), P_INT(now)), &changes);
    if (r < 0)
        return r;
    return changes ? 0 : storage_fail(-ESTALE, "job %s is not leased to %s any more", job_id, worker_id);
}

static int read_attempts(struct sq *q, void *out)
{
    *(int64_t *)out = sq_int(q, 0);
    return 0;
}

/* MAS's schedule: the attempt that failed was number n (1-based), the next one waits
 * 5 s × 2^(n−1); after STORAGE_JOB_MAX_ATTEMPTS the job is failed for good. */
int storage_job_fail(struct storage_tx *tx, const char *job_id, const char *worker_id, const char *error,
                     bool may_retry, int64_t now)
{
    int64_t attempts = 0, changes = 0;
    int r = sq_one(tx, &job_attempts, SQ_ARGS(P_TEXT(job_id), P_TEXT(worker_id)), read_attempts, &attempts);
    if (r == -ENOENT)
        return storage_fail(-ESTALE, "job %s is not leased to %s any more", job_id, worker_id);
    if (r < 0)
        return r;
    bool retry = may_retry && attempts < STORAGE_JOB_MAX_ATTEMPTS;
    int shift = attempts < 1 ? 0 : attempts > 30 ? 30 : (int)attempts - 1;
    char cut[STORAGE_SHORT_TEXT_MAX + 1];
    storage_copy_cut(cut, sizeof(cut), error);
    r = sq_exec(tx, &job_fail,
                SQ_ARGS(P_TEXT(job_id), P_TEXT(worker_id), P_INT(attempts),
                        P_TEXT(retry ? "available" : "failed"),
                        P_INT(retry ? now + ((int64_t)STORAGE_JOB_BACKOFF_MS << shift) : now),
                        P_TIME(retry ? 0 : now), P_OPT(cut)),
                &changes);
    if (r < 0)
        return r;
    if (!changes)
        return storage_fail(-ESTALE, "job %s is not leased to %s any more", job_id, worker_id);
    return retry ? 1 : 0;
}

int storage_job_get(struct storage_tx *tx, const char *job_id, struct storage_job *job)
{
    return sq_one(tx, &job_by_id, SQ_ARGS(P_TEXT(job_id)), read_job, job);
}
