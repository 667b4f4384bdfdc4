/* Account recovery, what its pages (recover.c: /recover, /recover/progress/{id};
 * recovery_password.c: /account/password/recovery?ticket=…) and its GraphQL fields share (MAS:
 * crates/handlers/src/views/recovery/, graphql/mutations/user.rs set_password_by_recovery and
 * resend_recovery_email, graphql/model/users.rs UserRecoveryTicket). Every function here runs
 * inside the caller's storage transaction, on the worker pool.
 *
 * What an attacker must not learn or do (docs/architecture.md §8):
 *  - whether an address has an account: /recover creates a session and queues its job for every
 *    well-formed address alike (same answer, same statements); masd-worker alone finds out;
 *  - a working link from a read of the database: tickets are stored hashed (storage.h);
 *  - a second use of a link: the session is consumed by compare-and-set, in the transaction
 *    that sets the password; the address's other tickets are spent with it;
 *  - the account, afterwards: every session of the user ends with the reset (MAS leaves them). */
#pragma once
#include "server.h"
#include "storage.h"
#include <stdbool.h>
#include <stdint.h>

/* passwords.enabled and account.password_recovery_enabled (MAS: account_recovery_allowed). */
bool recovery_enabled(void);
/* The recovery status page (templates/recovery_status.html) for `kind`: disabled, consumed,
 * expired, not_found, locked, signed_in, done; its forms get a CSRF token. */
void recovery_status_page(struct masd_request *r, int status, const char *kind);

enum recovery_ticket_state {
    RECOVERY_TICKET_VALID,
    RECOVERY_TICKET_NOT_FOUND, /* never issued, or its address or session is gone */
    RECOVERY_TICKET_CONSUMED,  /* its session was used (MAS checks this first) */
    RECOVERY_TICKET_EXPIRED,   /* older than ten minutes, or spent by another ticket's use */
    RECOVERY_TICKET_LOCKED,    /* its account is locked or deactivated */
};

/* Looks the ticket up and judges it at now, in MAS's order: consumed, expired, then the
 * account. *l is filled unless NOT_FOUND. 0 and *state, or < 0 (a storage error). */
int recovery_ticket_judge(struct storage_tx *tx, const char *ticket, int64_t now,
                          struct storage_recovery_lookup *l, enum recovery_ticket_state *state);

/* MAS's check_account_recovery: rate_limiting.account_recovery.per_ip for the client's network,
 * then per_address for the address lower-cased. 1 passes, 0 limited (*retry_ms set), < 0. */
int recovery_rate_limit(struct storage_tx *tx, const struct masd_addr *client, const char *email, int64_t now,
                        int64_t *retry_ms);

/* With a ticket judged VALID in this transaction and the new password's hash: consumes the
 * session (compare-and-set), adds the password, ends every session of the user (browser, compat,
 * OAuth) and queues the homeserver's device sync. 0, -EALREADY when another use won the race,
 * < 0. */
int recovery_set_password(struct storage_tx *tx, const struct storage_recovery_lookup *l, const char *hash,
                          unsigned version, int64_t now);
