/* Shared by the `masctl manage` commands (masctl_manage.c, masctl_sessions.c): each command
 * makes all its changes inside one storage transaction, so a failure changes nothing. */
#pragma once
#include "masctl.h"
#include "hs_sync.h"
#include "storage.h"
#include <jansson.h>

#define MANAGE_ERR_MAX 512

struct manage {
    struct config *cfg;
    struct storage *st;
};

/* Loads the configuration and opens the database (refusing pending migrations). */
int manage_open(struct masctl *m, struct manage *g);
void manage_close(struct manage *g);

/* Runs fn in one transaction (durable for STORAGE_TX_WRITE). fn records why it failed in err
 * (MANAGE_ERR_MAX bytes), else the storage layer's message is used. Prints the reason and
 * returns the negative errno on failure, except -ECANCELED: fn's way to roll back on purpose
 * (dry runs), returned silently. Otherwise returns fn's result. */
int manage_tx(struct masctl *m, struct manage *g, unsigned flags, storage_tx_fn fn, void *arg, char *err);

/* For fn: records "<what>: <storage message>" in err and returns r. */
int manage_fail(char *err, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* For fn: the user by name (case-insensitive); records "user 'x' not found" on -ENOENT. */
int manage_find_user(struct storage_tx *tx, char *err, const char *username, struct storage_user *u);

/* The loaded configuration's matrix section (after manage_open), for the hs_queue_*() calls
 * with which fn tells masd-worker what the homeserver must learn (hs_sync.h). */
const struct config_matrix *manage_matrix(void);
/* For fn: r is what an hs_queue_*() call returned; on failure records why in err. */
int manage_queued(char *err, int r, const char *queue);

/* Refuses a password when passwords are disabled, or (unless ignore) when it scores below
 * passwords.minimum_complexity; prints why, naming ignore_flag. Returns 0 or -EPERM. */
int manage_check_password(struct masctl *m, const struct config *cfg, const char *password, bool ignore,
                          const char *ignore_flag);
/* password_hash() with the current scheme; prints why it failed. *hash is malloc'd. */
int manage_hash_password(struct masctl *m, const struct config *cfg, const char *password, char **hash,
                         unsigned *version);

/* A plausible address: one '@' with text on both sides, no spaces or control characters, at
 * most STORAGE_EMAIL_MAX bytes. The mail server judges the rest. */
bool manage_email_plausible(const char *email);

/* The commands of masctl_register.c and masctl_sessions.c. */
int manage_register_user(struct masctl *m, int argc, char **argv);
int manage_lock_user(struct masctl *m, int argc, char **argv);
int manage_unlock_user(struct masctl *m, int argc, char **argv);
int manage_kill_sessions(struct masctl *m, int argc, char **argv);
int manage_issue_compat_token(struct masctl *m, int argc, char **argv);
int manage_provision_all_users(struct masctl *m, int argc, char **argv);
