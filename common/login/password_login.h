/* A password login, the one set of rules every password login follows: the Matrix compat API's
 * (MAS: crates/handlers/src/compat/login.rs, user_password_login) and the HTML login's (MAS:
 * crates/handlers/src/views/login.rs). It runs in three steps, each on the thread that may do its
 * work (docs/architecture.md §4), with the caller handing the job back to its event loop in
 * between:
 *
 *   password_login_precheck  inside a storage write transaction on the worker pool: the per-IP
 *                            limit, the lookup, the per-account limit, the password row;
 *   password_login_verify    on the password-hashing thread: the check, and the re-hash with the
 *                            newest scheme when it is due; sets the outcome;
 *   password_login_record    inside the caller's own write transaction, after an OK outcome and
 *                            before the caller's session: the re-hashed password and the login
 *                            network.
 *
 * The rule: nothing in the answer or its timing may tell whether an account exists, is locked
 * or is deactivated, to someone who does not know its password (docs/architecture.md §6). So:
 *  1. the per-IP limit comes before the lookup (a 429 then says nothing about the account);
 *  2. an account that does not exist or has no password goes on as if it had one: the
 *     per-account limit is keyed by the folded name as typed, not by the user ID, and the
 *     hashing thread runs password_verify_dummy(), a verification at the current scheme's cost.
 *     A deactivated account is verified against its own password (the same cost as a dummy for
 *     a current-scheme hash), or with the dummy when it has none;
 *  3. whether the account is deactivated or locked is told only after a right password:
 *     with a wrong one the outcome is FORBIDDEN like any wrong password (MAS's compat login
 *     answers M_USER_LOCKED first; MAS's HTML login shows its "account inactive" page only
 *     after the password, deactivated before locked, as here).
 * The per-account limit stops guessing spread over many addresses; a client on a network that
 * logged in to the account successfully in the last 30 days (storage_login_network_known) is
 * exempt from it, so that such guessing cannot lock the owner out. Since the limit is keyed by
 * what was typed, an account that can also be named by an e-mail address has one bucket per
 * name: keying by the account would let a 429 tell which address belongs to which account.
 *
 * What was typed is resolved by password_login_username(): a user ID on our homeserver names its
 * localpart; with PASSWORD_LOGIN_EMAIL (the HTML login) and account.login_with_email_allowed, a
 * name with '@' is looked up as an e-mail address first, then as a username (MAS:
 * get_user_by_email_or_by_username). MAS trims nothing, and neither does masd. */
#pragma once
#include "addr.h"
#include "config.h"
#include "storage.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest name a login can look up: an e-mail address (a username is shorter). */
#define PASSWORD_LOGIN_NAME_MAX STORAGE_EMAIL_MAX

enum password_login_outcome {
    PASSWORD_LOGIN_OK,          /* right password, usable account: go on to the session */
    PASSWORD_LOGIN_FORBIDDEN,   /* unknown account, no password, or a wrong password */
    PASSWORD_LOGIN_LOCKED,      /* right password, account locked */
    PASSWORD_LOGIN_DEACTIVATED, /* right password, account deactivated */
    PASSWORD_LOGIN_LIMITED,     /* a rate limit: retry_after_ms */
    PASSWORD_LOGIN_BUSY,        /* set by the caller when a queue is full: retry_after_ms */
    PASSWORD_LOGIN_INTERNAL,    /* a storage error or the like: logged */
};

/* password_login_init flags */
#define PASSWORD_LOGIN_EMAIL 1u /* the caller takes e-mail addresses (when the config allows) */

struct password_login {
    /* in (password_login_init): copies, since the request may be gone while the job runs */
    const struct config *cfg;
    char name[PASSWORD_LOGIN_NAME_MAX + 1]; /* what was typed, a user ID of ours as its localpart */
    bool name_too_long;                     /* longer than any account can be named by */
    bool by_email;                          /* look name up as an e-mail address first */
    char *password;                         /* malloc'd, wiped by password_login_clear */
    size_t password_len;
    char network[MASD_NETWORK_STRLEN];     /* addr_network() of the client, "" without an address */
    char ip_key[32 + MASD_NETWORK_STRLEN]; /* the per-IP bucket */
    /* state (precheck, verify) */
    bool found;                 /* the name names an account: user is set */
    struct storage_user user;   /* when found */
    struct storage_password pw; /* the row checked, when has_password */
    bool has_password, dummy;   /* dummy: verified with password_verify_dummy() */
    bool upgrade;               /* record re-hashes: new_hash, new_version */
    char *new_hash;
    unsigned new_version;
    struct storage_password new_pw; /* the re-hashed row, written by record when upgrade */
    int verify; /* password_verify()'s result: 0 right, -EPERM wrong, other: the row is unusable */
    /* out */
    enum password_login_outcome outcome;
    int64_t retry_after_ms; /* LIMITED, BUSY */
};

/* The username `input` names: the localpart when it is a user ID "@local:server" on our
 * homeserver (matrix.homeserver; a non-empty localpart), otherwise the whole string, untrimmed
 * (as MAS does: "@alice:other" is then not found). Writes at most size bytes (with the NUL);
 * returns the length, or -ENAMETOOLONG. */
long password_login_username(const struct config *cfg, const char *input, char *out, size_t size);

/* Fills a zeroed job: the name as typed (resolved by password_login_username), a copy of the
 * password (len bytes and a NUL), and the client's network and per-IP bucket (an IPv4 address,
 * or an IPv6 prefix of rate_limiting.ipv6_prefix_length bits; without an address every such
 * request shares one bucket, docs/architecture.md §3, and a warning is logged at most once a
 * minute). flags: PASSWORD_LOGIN_EMAIL. Returns 0 or -ENOMEM. */
int password_login_init(struct password_login *job, const struct config *cfg, const char *input,
                        const char *password, size_t password_len, const struct masd_addr *client,
                        unsigned flags);

/* Wipes and frees what the job holds (not the job itself). */
void password_login_clear(struct password_login *job);

/* Step 1, inside a STORAGE_TX_WRITE transaction (it may be retried: it starts afresh each
 * time). Sets outcome to OK (go on to verify), LIMITED (with retry_after_ms; the transaction
 * commits the bucket) or INTERNAL. Returns what the transaction function returns: 0, or a
 * negative errno from storage. */
int password_login_precheck(struct storage_tx *tx, struct password_login *job);

/* Step 2, on the password-hashing thread, after an OK precheck: sets outcome to OK, FORBIDDEN,
 * DEACTIVATED or LOCKED (the last two only after a right password), and upgrade only for OK. */
void password_login_verify(struct password_login *job, const struct config *cfg);

/* Step 3, inside the caller's STORAGE_TX_WRITE transaction (STORAGE_TX_DURABLE when upgrade:
 * a password row), after an OK verify: the re-hashed password (new_pw) and the client's network
 * as a known login network. The job is left as it was checked, so the transaction may be
 * retried. Returns 0 or a negative errno. */
int password_login_record(struct storage_tx *tx, struct password_login *job, int64_t now);

/* The ID of the user's active password after record: the re-hashed row, or the one checked
 * (for storage_browser_session_authenticate). */
const char *password_login_password_id(const struct password_login *job);
