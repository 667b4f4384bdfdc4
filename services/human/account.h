/* What a signed-in person may change of their own account, each in one place: the account pages
 * (account_page.c) and the GraphQL mutations call these and nothing else (MAS:
 * crates/handlers/src/graphql/mutations/{user,user_email,matrix}.rs). An operation is a job that
 * runs in stages, each on the thread that may do its work (docs/architecture.md §4): the database
 * (worker pool), the password check and hash (the password-hashing thread), the homeserver
 * (outbound pool). account_op_next() names the next stage and its pool; a page defers each to
 * its pool and renders when none is left, a caller already on a worker thread may run them all
 * in turn with account_op_run().
 *
 * Outcomes are MAS's payload statuses, plus what MAS answers with an error (a switch of
 * account.* is off, a required password is missing) and what can go wrong underneath.
 *
 * The password re-check rule (MAS: graphql/mutations/mod.rs): adding or removing an address and
 * deactivating ask for the current password, unless password login is off or the user has
 * none. Every password check goes through the login's rules and limits (common/login): a stolen
 * session cannot guess the password faster than the login form could. */
#pragma once
#include "addr.h"
#include "password_login.h"
#include "storage.h"
#include <jansson.h>
#include <stdbool.h>

enum account_op_kind {
    ACCOUNT_SET_DISPLAY_NAME,          /* display_name; unset: remove it */
    ACCOUNT_START_EMAIL,               /* email, password, language */
    ACCOUNT_RESEND_EMAIL,              /* id (an authentication), language */
    ACCOUNT_COMPLETE_EMAIL,            /* id, code */
    ACCOUNT_REMOVE_EMAIL,              /* id (an address), password */
    ACCOUNT_SET_PASSWORD,              /* password (current), new_password */
    ACCOUNT_END_OTHER_SESSIONS,        /* every session of the user but this browser's */
    ACCOUNT_DEACTIVATE,                /* password, erase */
    ACCOUNT_ALLOW_CROSS_SIGNING_RESET, /* the homeserver lets the user's apps replace the
                                        * cross-signing keys without interactive auth (MSC4191) */
};

enum account_status {
    ACCOUNT_PENDING, /* not decided yet */
    /* MAS's statuses (the GraphQL enums' values, lower-cased) */
    ACCOUNT_SET,                       /* SetDisplayNameStatus.SET */
    ACCOUNT_INVALID,                   /* SetDisplayNameStatus.INVALID */
    ACCOUNT_STARTED,                   /* StartEmailAuthenticationStatus */
    ACCOUNT_INVALID_EMAIL_ADDRESS,     /*   … */
    ACCOUNT_DENIED,                    /*   … (policy: violations) */
    ACCOUNT_IN_USE,                    /*   …, CompleteEmailAuthenticationStatus */
    ACCOUNT_INCORRECT_PASSWORD,        /*   …, RemoveEmailStatus, DeactivateUserStatus */
    ACCOUNT_RATE_LIMITED,              /*   …, resend, complete (and any password check) */
    ACCOUNT_RESENT,                    /* ResendEmailAuthenticationCodeStatus */
    ACCOUNT_COMPLETED,                 /*   …, CompleteEmailAuthenticationStatus */
    ACCOUNT_INVALID_CODE,              /* CompleteEmailAuthenticationStatus */
    ACCOUNT_CODE_EXPIRED,              /*   … */
    ACCOUNT_REMOVED,                   /* RemoveEmailStatus */
    ACCOUNT_NOT_FOUND,                 /*   …, SetPasswordStatus */
    ACCOUNT_ALLOWED,                   /* SetPasswordStatus */
    ACCOUNT_INVALID_NEW_PASSWORD,      /*   … */
    ACCOUNT_PASSWORD_CHANGES_DISABLED, /*   … */
    ACCOUNT_NO_CURRENT_PASSWORD,       /*   … */
    ACCOUNT_WRONG_PASSWORD,            /*   … */
    ACCOUNT_DEACTIVATED,               /* DeactivateUserStatus */
    ACCOUNT_ENDED,                     /* END_OTHER_SESSIONS: `ended` sessions */
    ACCOUNT_RESET_ALLOWED,             /* ALLOW_CROSS_SIGNING_RESET (MAS's payload: no status) */
    /* what MAS answers with an error */
    ACCOUNT_FORBIDDEN,         /* the account.* switch is off (or the requester may not) */
    ACCOUNT_PASSWORD_REQUIRED, /* the re-check rule wants the current password: none given */
    ACCOUNT_NOT_YOURS,         /* resend: another browser session's authentication */
    ACCOUNT_READ_ONLY,         /* matrix.kind synapse_read_only: the homeserver cannot be changed */
    ACCOUNT_HOMESERVER,        /* the homeserver failed (logged) */
    ACCOUNT_BUSY,              /* set by the driver when a queue was full */
    ACCOUNT_INTERNAL,          /* storage or memory (logged) */
};

enum account_pool { ACCOUNT_POOL_DB, ACCOUNT_POOL_CPU, ACCOUNT_POOL_OUTBOUND };

struct account_op {
    /* in: who asks (an active browser session of an active user), and what */
    enum account_op_kind kind;
    const struct config *cfg;
    struct storage *st;
    struct homeserver *hs;
    const struct policy *policy;
    struct storage_user user;
    char browser_session_id[STORAGE_ID_SIZE];
    struct masd_addr client;
    char id[STORAGE_ID_SIZE];          /* RESEND/COMPLETE: authentication; REMOVE: address */
    char email[STORAGE_EMAIL_MAX + 1]; /* START */
    char code[8];                      /* COMPLETE: as typed, spaces removed */
    char display_name[4 * 256 + 1];    /* SET_DISPLAY_NAME */
    bool unset;                        /* SET_DISPLAY_NAME: remove the name */
    bool erase;                        /* DEACTIVATE: hs_erase */
    bool admin; /* an administrator acts (GraphQL, urn:mas:admin): no password re-check (MAS) */
    char language[STORAGE_LANGUAGE_MAX + 1]; /* the code e-mail's; "" is "en" */
    char *password, *new_password;           /* malloc'd (account_op_clear wipes); NULL: none given */
    /* out */
    enum account_status status;
    json_t *violations;                      /* DENIED: [{"msg"}…] */
    char authentication_id[STORAGE_ID_SIZE]; /* STARTED: the new authentication */
    char email_id[STORAGE_ID_SIZE];          /* COMPLETED: the address added */
    unsigned ended;                          /* ENDED: sessions ended */
    int64_t retry_after_ms;                  /* RATE_LIMITED */
    /* state */
    int stage;
    bool check_password; /* the re-check applies: login verifies it */
    struct password_login login;
    char *new_hash;
    unsigned new_version;
};

/* A zeroed op of `kind` for the user of an active browser session; strings are copied by the
 * caller into the op's fields; passwords with account_op_set_password. */
void account_op_init(struct account_op *op, enum account_op_kind kind, const struct config *cfg,
                     struct storage *st, struct homeserver *hs, const struct policy *policy,
                     const struct storage_user *user, const char *browser_session_id,
                     const struct masd_addr *client);
/* Copies a password (current: which = 0, new: which = 1). -ENOMEM. */
int account_op_set_password(struct account_op *op, int which, const char *password);
/* Wipes the passwords, frees what the op holds (not the op). */
void account_op_clear(struct account_op *op);

/* The pool the next stage must run on; false when the op is done (status set). */
bool account_op_next(const struct account_op *op, enum account_pool *pool);
/* Runs the stage account_op_next() named, on a thread of its pool (blocking). */
void account_op_step(struct account_op *op);
/* Every stage in turn on this thread (a worker thread: it blocks). */
void account_op_run(struct account_op *op);
/* A GraphQL mutation's way (services/human/gql.h, "slow work outside the transaction"): the
 * op's database stages inside the caller's write transaction, its slow stage (the password's
 * check and hash, or the homeserver's call) outside any. account_op_run_tx() runs with a fresh
 * op each time (the caller's transaction may be run again from the start). It returns 1 when
 * the op needs its slow stage and `done` cannot stand for it: none yet, or one prepared against
 * a password row that has changed since. The caller then rolls back, runs
 * account_op_run_outside() on that op (as this call left it) outside any transaction, and
 * calls again, in a new transaction, with a fresh op and the outside one as `done`: the checks
 * run again against the database as it is then, and the outcome of the slow stage is taken
 * over. 0 (status set), 1, or a storage error to return. */
int account_op_run_tx(struct account_op *op, struct storage_tx *tx, const struct account_op *done);
/* The slow stage of an op account_op_run_tx() answered 1 for (blocking). */
void account_op_run_outside(struct account_op *op);

/* MAS's enum value of a status for the op's kind ("STARTED"), NULL for those that are errors. */
const char *account_status_name(enum account_status s);

/* ---- pure rules, exposed for unit tests ---------------------------------------------------- */

/* MAS's rule for a display name: 1 to 256 bytes (MAS: graphql/mutations/matrix.rs). */
bool account_display_name_valid(const char *name);
/* A code as typed into its six digits: spaces dropped ("123 456"); false for anything else. */
bool account_code_normalize(const char *in, char out[7]);
