/* The homeserver sync (MAS: crates/tasks/src/matrix.rs): which change queues which job, the
 * synchronous device creation of a login, and the jobs masd-worker runs. Every service and masctl
 * goes through here, so each change tells the homeserver in exactly one way.
 *
 * Queues and payloads are MAS's:
 *   provision-user  {"user_id", "set_display_name": str|null}  push lock state, e-mails, name;
 *                                                              then a sync-devices job
 *   sync-devices    {"user_id"}                                the full device set
 *   deactivate-user {"user_id", "hs_erase": bool}              end everything, delete on the HS
 *   reactivate-user {"user_id"}                                reactivate on the HS, then here
 *
 * Read-only (matrix.kind synapse_read_only) is decided up front: nothing is queued, a login that
 * would need a device refuses with a clear error, and a job queued before the switch fails for
 * good at once instead of retrying. */
#pragma once
#include "homeserver.h"
#include "storage.h"
#include <stdbool.h>
#include <stddef.h>

struct config_matrix;

#define HS_QUEUE_PROVISION_USER  "provision-user"
#define HS_QUEUE_SYNC_DEVICES    "sync-devices"
#define HS_QUEUE_DEACTIVATE_USER "deactivate-user"
#define HS_QUEUE_REACTIVATE_USER "reactivate-user"

/* A job's lease: longer than the slowest homeserver call (delete_user may take its full
 * timeout) plus the database work around it. */
#define HS_JOB_LEASE_MS (2 * HOMESERVER_TIMEOUT_MS)
/* The device-sync lock's lease (storage_user_device_sync_begin). */
#define HS_SYNC_LOCK_MS (HOMESERVER_TIMEOUT_MS + 10000)

bool hs_config_read_only(const struct config_matrix *m);

/* In the caller's transaction; in read-only mode they queue nothing and return 0.
 * display_name may be NULL (the homeserver's is left alone). */
int hs_queue_provision_user(struct storage_tx *tx, const struct config_matrix *m, const char *user_id,
                            const char *display_name, int64_t now);
int hs_queue_sync_devices(struct storage_tx *tx, const struct config_matrix *m, const char *user_id,
                          int64_t now);
int hs_queue_deactivate_user(struct storage_tx *tx, const struct config_matrix *m, const char *user_id,
                             bool erase, int64_t now);
int hs_queue_reactivate_user(struct storage_tx *tx, const struct config_matrix *m, const char *user_id,
                             int64_t now);

/* Ends a compat or OAuth session (kind) of user_id and, when it ended now, queues the user's
 * sync-devices job in the same transaction (MAS: compat/logout.rs, graphql/mutations/
 * compat_session.rs): the homeserver drops the device when the job runs. Its tokens are dead from
 * this commit on (introspection reads the session's end with the token). Returns as
 * storage_session_finish: 1 ended now, 0 ended before, -ENOENT. */
int hs_session_end(struct storage_tx *tx, const struct config_matrix *m, enum storage_session_kind kind,
                   const char *session_id, const char *user_id, int64_t now);

/* storage_tx for a transaction that starts a session with a device: while a sync_devices job
 * holds the user's device-sync lock, fn returns -EBUSY (see hs_session_may_start) and this waits
 * (sleeping, never on a loop) and runs it again, up to HS_SYNC_LOCK_MS. */
int hs_session_tx(struct storage *st, unsigned flags, storage_tx_fn fn, void *arg);
/* Inside that transaction, before the session is created: 0, or -EBUSY while a sync runs. */
int hs_session_may_start(struct storage_tx *tx, const char *user_id, int64_t now);

/* After a session bringing device_id committed (compat login, masctl issue-compatibility-token,
 * the token endpoint's code exchange; kind is the session's, compat or OAuth):
 * creates the device on the homeserver before the client gets its token. When the homeserver
 * does not know the user yet (404), provisions the user and tries once more (MAS's
 * registration/device race, fixed). On failure ends the session and queues a sync-devices
 * job in one transaction, and returns the homeserver's error (res says what happened): nothing is
 * left half-created. */
int hs_device_create(struct storage *st, struct homeserver *hs, const struct config_matrix *m,
                     const struct storage_user *user, const char *device_id, const char *display_name,
                     enum storage_session_kind kind, const char *session_id, struct homeserver_result *res);

/* The provision-user job's work, now (a finished registration, before it answers): the user's
 * lock state, e-mail addresses and display_name (NULL: left alone) on the homeserver. The
 * queued job stays the fallback. Returns 0, or the error with res saying what happened. */
int hs_provision_user(struct storage *st, struct homeserver *hs, const char *user_id,
                      const char *display_name, struct homeserver_result *res);

/* masd-worker: runs one claimed job. */
enum hs_job_outcome {
    HS_JOB_DONE,   /* completed, with its follow-up jobs, in one transaction */
    HS_JOB_RETRY,  /* a transient failure: the caller fails it with a retry */
    HS_JOB_FAILED, /* can never succeed (unknown queue, bad payload, unknown user, read-only) */
    HS_JOB_LOST    /* the lease was lost meanwhile: another worker owns the job now */
};
enum hs_job_outcome hs_job_run(struct storage *st, struct homeserver *hs, const struct config_matrix *m,
                               const struct storage_job *job, const char *worker_id, char *msg, size_t size);
