/* The data layer (docs/architecture.md §5): one interface, two backends chosen by database.uri —
 * SQLite (the embedded default) and PostgreSQL (libpq) — with the same logical schema and the
 * same behaviour on both.
 *
 * Conventions
 *  - Every function returns 0 (or a documented positive value) on success and a negative errno
 *    on failure: -ENOENT nothing matched, -EEXIST a uniqueness rule refused the row (duplicate
 *    username, e-mail, or an active session on the same (user, device)), -EALREADY a single-use
 *    row was consumed already (compare-and-set lost), -EINVAL a bad argument (not UTF-8, too
 *    long, empty), -EAGAIN a transient failure that outlived the retries, -ESTALE pending
 *    migrations, -EIO any other database error. storage_last_error() then says what failed.
 *  - IDs are ULIDs, 26 characters of text (char id[STORAGE_ID_SIZE]); an empty string ("")
 *    in an ID field means NULL. Times are int64 milliseconds since the epoch (UTC), taken by
 *    the caller from masd_now() and passed in as `now`; 0 in a time field means NULL.
 *  - Tokens and codes are passed in clear and stored only as their SHA-256 (lowercase hex);
 *    lookups hash the presented value. The clear value never reaches the database.
 *  - Text must be valid UTF-8 without NUL bytes (PostgreSQL refuses anything else, so SQLite
 *    is held to the same rule): anything else is -EINVAL on both backends.
 *  - These are synchronous functions: they run on the worker pool (workpool.h), never on an
 *    event loop (docs/architecture.md §4), except storage_tx_nowait() (a SQLite read that never waits).
 *    A struct storage is shared by every thread of a process; each thread gets its own
 *    connection (opened on first use, with its own cache of prepared statements) so threads
 *    never wait for each other inside the process.
 *  - After fork() a child must open its own struct storage; it must not use the parent's.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct storage;
struct storage_tx;

#define STORAGE_ID_SIZE        27  /* a ULID + NUL */
#define STORAGE_HASH_SIZE      65  /* SHA-256 as lowercase hex + NUL */
#define STORAGE_USERNAME_MAX   255 /* bytes; a Matrix user ID is at most 255 bytes */
#define STORAGE_PASSWORD_MAX   511 /* a stored hash (PHC string, bcrypt) */
#define STORAGE_EMAIL_MAX      320
#define STORAGE_DEVICE_ID_MAX  255 /* MAS does not validate device IDs; we bound them */
#define STORAGE_SHORT_TEXT_MAX 255 /* user agents, session names: longer input is cut (UTF-8-safe) */
#define STORAGE_SCOPE_MAX      2047
#define STORAGE_URI_MAX        2047 /* redirect URIs */
#define STORAGE_IP_SIZE        46   /* INET6_ADDRSTRLEN */

enum storage_backend { STORAGE_SQLITE = 1, STORAGE_POSTGRESQL = 2 };

/* ---------------------------------------------------------------------------------------------
 * Opening, migrations, maintenance */

/* Opens the database named by cfg->database (storage_open) or by a URI: "sqlite:///abs/path.db",
 * "sqlite://relative/path.db", "postgresql://…" or "postgres://…" (libpq syntax). Nothing is
 * connected yet beyond one check connection that is kept for the calling thread, so a wrong
 * path, host or password fails here with a message an operator can act on. */
int storage_open(const struct config *cfg, struct storage **out);
int storage_open_uri(const char *uri, struct storage **out);
/* Closes every thread's connection. No thread may be inside a storage call. */
void storage_close(struct storage *st);

enum storage_backend storage_backend(const struct storage *st);
/* The database for messages, without a password: "sqlite:/var/lib/masd/masd.db",
 * "postgresql://masd@db.example.com:5432/masd". */
const char *storage_describe(const struct storage *st);

/* The last error message of a storage call on this thread ("" when none): what failed, with
 * the database's own words, e.g. "users: duplicate username 'alice'" or
 * "database has 2 pending migrations (at version 1, this masd needs 3): run `masctl database
 * migrate`". Valid until the next storage call on the same thread. */
const char *storage_last_error(void);

/* Applies every pending migration, each in its own transaction; concurrent migrators wait for
 * each other (PostgreSQL advisory lock, SQLite BEGIN IMMEDIATE). *applied (may be NULL) is the
 * number applied. -EPROTO when the database is newer than this binary. */
int storage_migrate(struct storage *st, unsigned *applied);
/* 0 when the schema is current; -ESTALE when migrations are pending (the message names
 * `masctl database migrate`); -EPROTO when the database is newer than this binary. Services
 * call this at start-up and refuse to start on failure. */
int storage_check_migrations(struct storage *st);
/* The version the database is at (0: empty) and the latest this binary knows. */
int storage_schema_version(struct storage *st, unsigned *current, unsigned *latest);

/* The SQLite WAL's bounds (storage_sqlite.c). Past the soft bound masd-worker's checkpoint
 * truncates the WAL; past the hard bound the connection that committed truncates it itself
 * (at most once a second per process), so that the WAL stays bounded under any write flood
 * even when masd-worker is slow or stopped. journal_size_limit is the soft bound. */
#define STORAGE_SQLITE_WAL_SOFT_BYTES (16LL << 20)
#define STORAGE_SQLITE_WAL_HARD_BYTES (64LL << 20)

/* SQLite: a PASSIVE WAL checkpoint, then a TRUNCATE one when the WAL is still past
 * STORAGE_SQLITE_WAL_SOFT_BYTES (a passive checkpoint never resets the WAL while writes keep
 * coming). Run by masd-worker; services open with wal_autocheckpoint=0, so that a request pays
 * for a checkpoint only past the hard bound. PostgreSQL: nothing. */
int storage_checkpoint(struct storage *st);

/* ---------------------------------------------------------------------------------------------
 * Transactions */

enum {
    STORAGE_TX_READ = 0,          /* a consistent snapshot; SQLite BEGIN, PostgreSQL BEGIN READ ONLY */
    STORAGE_TX_WRITE = 1u << 0,   /* SQLite BEGIN IMMEDIATE, PostgreSQL BEGIN; survives a process crash */
    STORAGE_TX_DURABLE = 1u << 1, /* with WRITE: on disk (fsync) before storage_tx returns, so it
                                   * survives power loss: accounts, passwords, e-mails, admin flags */
    STORAGE_TX_ONE_STATEMENT = 1u << 2, /* with READ only: fn runs at most one statement, a SELECT
                                         * (a point lookup such as an introspection's). One statement
                                         * is a snapshot by itself, so no BEGIN/COMMIT is sent:
                                         * PostgreSQL answers in one round trip instead of three.
                                         * A second statement, or one that is not a SELECT, fails
                                         * with -EINVAL; with WRITE or DURABLE, storage_tx is -EINVAL. */
    STORAGE_TX_LAZY = 1u << 3           /* with WRITE, for bookkeeping nobody misses after a crash (a
                                         * device's last poll): as durable as SQLite's WRITE, i.e. a crash of
                                         * the database server may lose the last such commits, never half of
                                         * one. PostgreSQL commits it with synchronous_commit off (no wait
                                         * for the WAL flush, which costs an fsync per commit otherwise);
                                         * SQLite's WRITE is so already. With READ or DURABLE: -EINVAL. */
};

typedef int (*storage_tx_fn)(struct storage_tx *tx, void *arg);

/* Runs fn(tx, arg) inside one transaction and commits when fn returns >= 0 (the result of
 * storage_tx is then fn's result). When fn returns < 0, or when any statement inside failed
 * (even if fn ignored the error), everything is rolled back: a transaction never half-commits.
 * Transient failures (SQLITE_BUSY, PostgreSQL serialization failures, deadlocks, a dropped
 * connection — reconnected and re-prepared) roll back and run fn again from the start, a
 * bounded number of times. fn may therefore run more than once: it must not act outside the
 * database, and must reset anything it fills in arg at its start. Not reentrant: no storage_tx
 * inside fn. */
int storage_tx(struct storage *st, unsigned flags, storage_tx_fn fn, void *arg);

/* The one storage call an event loop may make (docs/architecture.md §4: read-only SQLite point lookups may
 * run on the loop): fn once, as storage_tx(st, flags, fn, arg) would run it, with flags READ
 * (ONE_STATEMENT allowed), on the calling thread's own connection with busy_timeout 0 and never
 * retried, so it never waits for a lock. -EWOULDBLOCK when SQLite is busy (a writer is
 * checkpointing or recovering the WAL) and always on PostgreSQL (a round trip would wait): the
 * caller then hands the same work to the worker pool. Other errors as storage_tx. */
int storage_tx_nowait(struct storage *st, unsigned flags, storage_tx_fn fn, void *arg);

/* SHA-256 of a token or code, as stored: 64 lowercase hex digits + NUL. */
void storage_token_hash(const char *token, char out[STORAGE_HASH_SIZE]);

/* The folded form of a username, the column every username comparison uses: ASCII A-Z
 * lowered, every other byte kept (Matrix localparts are ASCII; computed in C so both backends
 * agree to the byte, whatever their collation). out holds STORAGE_USERNAME_MAX + 1 bytes. */
void storage_username_fold(const char *username, char *out);

/* ---------------------------------------------------------------------------------------------
 * Users, passwords, e-mails */

struct storage_user {
    char id[STORAGE_ID_SIZE];
    char username[STORAGE_USERNAME_MAX + 1];
    int64_t created_at;
    int64_t locked_at;      /* 0: not locked */
    int64_t deactivated_at; /* 0: active */
    bool can_request_admin; /* MAS's admin flag (promote-admin / demote-admin) */
};

/* -EEXIST when the folded username is taken; -EINVAL when empty or too long. */
int storage_user_create(struct storage_tx *tx, const char *username, bool can_request_admin, int64_t now,
                        struct storage_user *out);
int storage_user_get(struct storage_tx *tx, const char *user_id, struct storage_user *out);
/* By folded username (case-insensitive, as MAS's LOWER(username) = LOWER($1)). -ENOENT. */
int storage_user_find(struct storage_tx *tx, const char *username, struct storage_user *out);
/* Each returns 1 when the row changed, 0 when it was already so, -ENOENT for an unknown user.
 * lock keeps the first locked_at; unlock clears it (and reactivate clears deactivated_at). */
int storage_user_lock(struct storage_tx *tx, const char *user_id, int64_t now);
int storage_user_unlock(struct storage_tx *tx, const char *user_id);
int storage_user_deactivate(struct storage_tx *tx, const char *user_id, int64_t now);
int storage_user_reactivate(struct storage_tx *tx, const char *user_id);
int storage_user_set_admin(struct storage_tx *tx, const char *user_id, bool can_request_admin);
/* Users with can_request_admin, by username; *out is malloc'd (free()), *n may be 0. */
int storage_user_list_admins(struct storage_tx *tx, struct storage_user **out, size_t *n);

struct storage_password {
    char id[STORAGE_ID_SIZE];
    char user_id[STORAGE_ID_SIZE];
    char hash[STORAGE_PASSWORD_MAX + 1];
    unsigned version;                    /* passwords.schemes[].version */
    char upgraded_from[STORAGE_ID_SIZE]; /* the row this one re-hashed ("" when set anew) */
    int64_t created_at;
};

/* A new row: the user's active password from now on (older rows stay, as in MAS). */
int storage_password_add(struct storage_tx *tx, const char *user_id, const char *hash, unsigned version,
                         const char *upgraded_from, int64_t now, struct storage_password *out);
/* The newest row of the user; -ENOENT when the user has no password. */
int storage_password_get_active(struct storage_tx *tx, const char *user_id, struct storage_password *out);

struct storage_email {
    char id[STORAGE_ID_SIZE];
    char user_id[STORAGE_ID_SIZE];
    char email[STORAGE_EMAIL_MAX + 1];
    int64_t created_at;
};

/* -EEXIST when any user has this address already (compared with ASCII case folded). */
int storage_email_add(struct storage_tx *tx, const char *user_id, const char *email, int64_t now,
                      struct storage_email *out);
/* The user's addresses, oldest first; *out is malloc'd (free()). */
int storage_email_list(struct storage_tx *tx, const char *user_id, struct storage_email **out, size_t *n);
int storage_email_find(struct storage_tx *tx, const char *email, struct storage_email *out);
/* One address by its ID; -ENOENT. */
int storage_email_get(struct storage_tx *tx, const char *email_id, struct storage_email *out);
/* A page of the user's addresses by ID, for a GraphQL connection (services/human/gql_model.h):
 * IDs after `after` and before `before` ("" for either: no bound), at most `limit` rows,
 * ascending, or descending when backward. *out is malloc'd (free()). */
int storage_email_page(struct storage_tx *tx, const char *user_id, const char *after, const char *before,
                       unsigned limit, bool backward, struct storage_email **out, size_t *n);
/* How many addresses the user has. */
int storage_email_count(struct storage_tx *tx, const char *user_id, int64_t *n);
int storage_email_remove(struct storage_tx *tx, const char *email_id); /* -ENOENT */

/* ---------------------------------------------------------------------------------------------
 * E-mail authentications: proving that a person reads an address, by a six-digit code mailed to
 * it (MAS: crates/data-model/src/user.rs UserEmailAuthentication). Starting one (for a browser
 * session that adds an address; a registration's will come with registration) queues, in the
 * same transaction, MAS's job STORAGE_QUEUE_EMAIL_AUTHENTICATION_CODE, whose payload is
 * {"user_email_authentication_id", "language"}; masd-worker runs it: it draws the code, adds it
 * (storage_email_authentication_code_add), mails it, and removes it again if it could not be sent.
 * Every code of an authentication stays valid until it expires (a code sent again does not void
 * one in flight). Codes are kept as MAS keeps them, in clear: six digits have a million values,
 * so a hash would hide nothing; guessing is bounded by the attempt rate limit instead. */

#define STORAGE_QUEUE_EMAIL_AUTHENTICATION_CODE "send-email-authentication-code"
/* MAS: send-account-recovery-email, {"user_recovery_session_id"} (account recovery, below) */
#define STORAGE_QUEUE_ACCOUNT_RECOVERY_EMAIL "send-account-recovery-email"
#define STORAGE_EMAIL_CODE_TTL_MS            (5 * 60 * 1000)          /* MAS: crates/tasks/src/email.rs */
#define STORAGE_EMAIL_AUTHENTICATION_KEEP_MS (7LL * 24 * 3600 * 1000) /* MAS: cleanup/user.rs */
#define STORAGE_LANGUAGE_MAX                 35                       /* a BCP 47 tag (RFC 5646 §4.4.1) */

struct storage_email_authentication {
    char id[STORAGE_ID_SIZE];
    char browser_session_id[STORAGE_ID_SIZE]; /* "" when none */
    char email[STORAGE_EMAIL_MAX + 1];
    int64_t created_at, completed_at;
};

struct storage_email_authentication_code {
    char id[STORAGE_ID_SIZE];
    char authentication_id[STORAGE_ID_SIZE];
    char code[7]; /* six digits */
    int64_t created_at, expires_at;
};

/* A new authentication of email (an address mail_address_parse() takes, else -EINVAL) for the
 * browser session (NULL: none; -ENOENT when unknown), and the job that mails it a code in
 * `language` (a BCP 47 tag; the worker falls back to English). */
int storage_email_authentication_start(struct storage_tx *tx, const char *email,
                                       const char *browser_session_id, const char *language, int64_t now,
                                       struct storage_email_authentication *out);
/* Queues another code for it. -ENOENT, -EALREADY when completed. */
int storage_email_authentication_resend(struct storage_tx *tx, const char *id, const char *language,
                                        int64_t now);
int storage_email_authentication_get(struct storage_tx *tx, const char *id,
                                     struct storage_email_authentication *out);
/* Compare-and-set: 0 completed now, -EALREADY completed before, -ENOENT. */
int storage_email_authentication_complete(struct storage_tx *tx, const char *id, int64_t now);
/* A code for it, expiring STORAGE_EMAIL_CODE_TTL_MS after now. -EINVAL unless six digits;
 * -EEXIST when it has that code already (draw another: the transaction is still good); -ENOENT
 * for an unknown authentication. */
int storage_email_authentication_code_add(struct storage_tx *tx, const char *authentication_id,
                                          const char *code, int64_t now,
                                          struct storage_email_authentication_code *out);
/* The code of that authentication, expired or not (the caller compares expires_at with now);
 * -ENOENT. */
int storage_email_authentication_code_find(struct storage_tx *tx, const char *authentication_id,
                                           const char *code, struct storage_email_authentication_code *out);
/* A code that could not be sent. -ENOENT. */
int storage_email_authentication_code_remove(struct storage_tx *tx, const char *code_id);
/* masd-worker's clean-up: authentications created before `before`, with their codes. */
int storage_email_authentication_purge(struct storage_tx *tx, int64_t before, unsigned *n);

/* ---------------------------------------------------------------------------------------------
 * Browser sessions (the human side's login cookie) and their authentications */

struct storage_browser_session {
    char id[STORAGE_ID_SIZE];
    char user_id[STORAGE_ID_SIZE];
    int64_t created_at, finished_at;
    char user_agent[STORAGE_SHORT_TEXT_MAX + 1];
    int64_t last_active_at;
    char last_active_ip[STORAGE_IP_SIZE];
};

int storage_browser_session_create(struct storage_tx *tx, const char *user_id, const char *user_agent,
                                   int64_t now, struct storage_browser_session *out);
int storage_browser_session_get(struct storage_tx *tx, const char *id, struct storage_browser_session *out);
/* 1 finished now, 0 already finished, -ENOENT. */
int storage_browser_session_finish(struct storage_tx *tx, const char *id, int64_t now);
/* Records that the session authenticated now (password_id may be NULL for other methods). */
int storage_browser_session_authenticate(struct storage_tx *tx, const char *session_id,
                                         const char *password_id, int64_t now, char auth_id[STORAGE_ID_SIZE]);
/* Time of the newest authentication; -ENOENT when none. */
int storage_browser_session_last_auth(struct storage_tx *tx, const char *session_id, int64_t *at);

/* ---------------------------------------------------------------------------------------------
 * Devices: at most one ACTIVE session per (user, device_id) across compat and OAuth sessions,
 * enforced by the primary key of one table that both kinds of session feed (session_devices).
 * Creating a session on a taken device is -EEXIST; a login that replaces a device ends the
 * holder first with storage_device_finish_sessions(). */

/* Ends whatever active session (compat or OAuth) holds (user, device). 1 ended, 0 none. */
int storage_device_finish_sessions(struct storage_tx *tx, const char *user_id, const char *device_id,
                                   int64_t now);

/* ---------------------------------------------------------------------------------------------
 * Compat (Matrix C-S API) sessions and tokens */

struct storage_compat_session {
    char id[STORAGE_ID_SIZE];
    char user_id[STORAGE_ID_SIZE];
    char device_id[STORAGE_DEVICE_ID_MAX + 1]; /* "" for a session without a device */
    char browser_session_id[STORAGE_ID_SIZE];  /* the SSO login's browser session, or "" */
    int64_t created_at, finished_at;
    bool is_synapse_admin;
    char human_name[STORAGE_SHORT_TEXT_MAX + 1]; /* initial_device_display_name */
    char user_agent[STORAGE_SHORT_TEXT_MAX + 1];
    int64_t last_active_at;
    char last_active_ip[STORAGE_IP_SIZE];
};

/* device_id NULL or "": no device. browser_session_id, human_name, user_agent may be NULL.
 * -EEXIST when (user, device) has an active compat or OAuth session. */
int storage_compat_session_create(struct storage_tx *tx, const char *user_id, const char *device_id,
                                  bool is_synapse_admin, const char *browser_session_id,
                                  const char *human_name, const char *user_agent, int64_t now,
                                  struct storage_compat_session *out);
int storage_compat_session_get(struct storage_tx *tx, const char *id, struct storage_compat_session *out);
/* Ends every active compat, OAuth and browser session of the user (kill-sessions). */
int storage_user_finish_all_sessions(struct storage_tx *tx, const char *user_id, int64_t now, unsigned *n);
/* The same but for one browser session, which stays (ASVS V3.3.3: after a password change, the
 * person's other sessions end, the one that changed it goes on). */
int storage_user_finish_other_sessions(struct storage_tx *tx, const char *user_id,
                                       const char *keep_browser_session_id, int64_t now, unsigned *n);

struct storage_access_token {
    char id[STORAGE_ID_SIZE];
    char session_id[STORAGE_ID_SIZE];
    int64_t created_at;
    int64_t expires_at;    /* 0: never */
    int64_t revoked_at;    /* 0: not revoked */
    int64_t first_used_at; /* OAuth only (introspection marks it), 0 otherwise */
};

struct storage_refresh_token {
    char id[STORAGE_ID_SIZE];
    char session_id[STORAGE_ID_SIZE];
    char access_token_id[STORAGE_ID_SIZE]; /* the access token issued with it */
    int64_t created_at;
    int64_t consumed_at;           /* 0: not consumed */
    int64_t revoked_at;            /* 0: not revoked */
    char next_id[STORAGE_ID_SIZE]; /* the refresh token that replaced it, or "" */
};

/* Compat and OAuth sessions and their tokens, alike: kind is STORAGE_SESSION_COMPAT or
 * STORAGE_SESSION_OAUTH (STORAGE_SESSION_BROWSER sessions have no tokens). */
enum storage_session_kind { STORAGE_SESSION_COMPAT, STORAGE_SESSION_OAUTH, STORAGE_SESSION_BROWSER };

/* 1 finished now, 0 already finished, -ENOENT. Frees its devices. */
int storage_session_finish(struct storage_tx *tx, enum storage_session_kind kind, const char *id,
                           int64_t now);
/* Ends every active session of this kind of the user (/logout/all); *n (may be NULL) how many. */
int storage_sessions_finish_user(struct storage_tx *tx, enum storage_session_kind kind, const char *user_id,
                                 int64_t now, unsigned *n);
int storage_access_token_add(struct storage_tx *tx, enum storage_session_kind kind, const char *session_id,
                             const char *token, int64_t expires_at, int64_t now,
                             struct storage_access_token *out);
/* 1 revoked now, 0 already revoked, -ENOENT. */
int storage_access_token_revoke(struct storage_tx *tx, enum storage_session_kind kind, const char *id,
                                int64_t now);
int storage_refresh_token_add(struct storage_tx *tx, enum storage_session_kind kind, const char *session_id,
                              const char *access_token_id, const char *token, int64_t now,
                              struct storage_refresh_token *out);
/* Compare-and-set: UPDATE … WHERE consumed_at IS NULL. 0 when this call consumed it,
 * -EALREADY when someone else did first (in any process), -ENOENT for an unknown ID.
 * next_id (may be NULL) links the replacement. */
int storage_refresh_token_consume(struct storage_tx *tx, enum storage_session_kind kind, const char *id,
                                  const char *next_id, int64_t now);

/* A token found by its hash, with its session and user. Validity (expiry, revocation, session
 * finished, user locked or deactivated) is the caller's to judge, with its own `now`. */
struct storage_compat_access_lookup {
    struct storage_access_token token;
    struct storage_compat_session session;
    struct storage_user user;
};
struct storage_compat_refresh_lookup {
    struct storage_refresh_token token;
    struct storage_compat_session session;
    struct storage_user user;
};

int storage_compat_access_token_lookup(struct storage_tx *tx, const char *token,
                                       struct storage_compat_access_lookup *out);
/* Sets expires_at to now when later or unset (a refresh retires the previous access token). */
int storage_compat_access_token_expire(struct storage_tx *tx, const char *id, int64_t now);

int storage_compat_refresh_token_lookup(struct storage_tx *tx, const char *token,
                                        struct storage_compat_refresh_lookup *out);

/* ---------------------------------------------------------------------------------------------
 * Introspection: any token by its hash in one point read, with what an introspection answer
 * depends on, copied from the token's own row, its session and its user in the same statement as
 * every change to them (storage_schema.c, migration 4). Validity is the caller's to judge, as
 * with the lookups above. */

enum storage_token_kind {
    STORAGE_TOKEN_COMPAT_ACCESS = 1,
    STORAGE_TOKEN_COMPAT_REFRESH = 2,
    STORAGE_TOKEN_OAUTH_ACCESS = 3,
    STORAGE_TOKEN_OAUTH_REFRESH = 4,
};

struct storage_token_introspection {
    enum storage_token_kind kind;
    char token_id[STORAGE_ID_SIZE];
    char session_id[STORAGE_ID_SIZE];               /* compat or OAuth session, as kind says */
    char user_id[STORAGE_ID_SIZE];                  /* "" for a client_credentials session */
    char username[STORAGE_USERNAME_MAX + 1];        /* "" without a user */
    char device_id[STORAGE_DEVICE_ID_MAX + 1];      /* compat: the session's device, or "" */
    char client_id[STORAGE_ID_SIZE];                /* OAuth: the session's client */
    char scope[STORAGE_SCOPE_MAX + 1];              /* OAuth: the session's scope */
    bool is_synapse_admin;                          /* compat */
    int64_t created_at, expires_at;                 /* expires_at: access tokens, 0 never */
    int64_t revoked_at, consumed_at, first_used_at; /* consumed: refresh; first used: OAuth access */
    int64_t session_finished_at, user_locked_at, user_deactivated_at;
};

/* -ENOENT for a token that was never issued (or whose row was deleted). One SELECT: fit for
 * STORAGE_TX_ONE_STATEMENT and storage_tx_nowait(). */
int storage_token_introspect(struct storage_tx *tx, const char *token,
                             struct storage_token_introspection *out);

/* ---------------------------------------------------------------------------------------------
 * Compat SSO logins (MAS: crates/handlers/src/compat/login_sso_redirect.rs, login_sso_complete.rs,
 * login.rs): created pending by GET /login/sso/redirect, fulfilled when the person confirms in
 * the browser, exchanged once by POST /login with m.login.token. The login token is drawn at
 * fulfilment, as the authorization code is at consent: no token exists before the person said
 * yes, and only its SHA-256 is stored. Until then the row holds a placeholder no token hashes to
 * ("pending:<id>", not 64 hex digits). */

#define STORAGE_COMPAT_SSO_LOGIN_TTL_MS (30 * 60 * 1000) /* MAS: fulfilled within 30 min of creation */
#define STORAGE_COMPAT_SSO_TOKEN_TTL_MS (30 * 1000)      /* MAS: exchanged within 30 s of fulfilment */

struct storage_compat_sso_login {
    char id[STORAGE_ID_SIZE];
    char redirect_uri[STORAGE_URI_MAX + 1];
    int64_t created_at, fulfilled_at, exchanged_at;
    char browser_session_id[STORAGE_ID_SIZE]; /* set when fulfilled */
    char compat_session_id[STORAGE_ID_SIZE];  /* set when exchanged */
};

int storage_compat_sso_login_create(struct storage_tx *tx, const char *redirect_uri, int64_t now,
                                    struct storage_compat_sso_login *out);
int storage_compat_sso_login_get(struct storage_tx *tx, const char *id, struct storage_compat_sso_login *out);
/* By the login token (hashed). -ENOENT for a token never issued. */
int storage_compat_sso_login_lookup(struct storage_tx *tx, const char *login_token,
                                    struct storage_compat_sso_login *out);
/* Compare-and-set: a pending login created at most STORAGE_COMPAT_SSO_LOGIN_TTL_MS before now is
 * fulfilled by the browser session with login_token (clear; stored hashed). 0, -EALREADY (not
 * pending any more, or too old), -ENOENT. */
int storage_compat_sso_login_fulfill(struct storage_tx *tx, const char *id, const char *browser_session_id,
                                     const char *login_token, int64_t now);
/* Compare-and-set: a login fulfilled at most STORAGE_COMPAT_SSO_TOKEN_TTL_MS before now and not
 * exchanged yet is exchanged for the compat session, once. 0, -EALREADY (exchanged already, not
 * fulfilled, or fulfilled too long ago), -ENOENT. */
int storage_compat_sso_login_exchange(struct storage_tx *tx, const char *id, const char *compat_session_id,
                                      int64_t now);
/* masd-worker's clean-up: deletes the logins created before `before` that were never exchanged
 * (anyone may create one; past both windows none can be exchanged any more). *n (may be NULL):
 * how many. */
int storage_compat_sso_login_purge(struct storage_tx *tx, int64_t before, unsigned *n);

/* ---------------------------------------------------------------------------------------------
 * OAuth 2.0: clients, authorization grants, sessions, tokens, device-code grants */

struct storage_oauth_client {
    char id[STORAGE_ID_SIZE];                /* client_id (a ULID, or the configured id) */
    char *encrypted_secret;                  /* secrets.h AEAD output, or NULL (public client) */
    char token_endpoint_auth_method[32];     /* none, client_secret_basic, … */
    char *redirect_uris;                     /* JSON array */
    char *grant_types;                       /* JSON array */
    char *metadata;                          /* JSON object: every other registration field */
    char metadata_digest[STORAGE_HASH_SIZE]; /* SHA-256 of the sorted metadata ("" when none):
                                              * secret-less clients are deduplicated by it */
    bool is_static;                          /* from config.yaml `clients` */
    int64_t created_at;
};

/* in->id empty: a new ULID is made. out (may be in) receives the row. -EEXIST on a duplicate
 * id or digest. */
int storage_oauth_client_create(struct storage_tx *tx, const struct storage_oauth_client *in, int64_t now,
                                struct storage_oauth_client *out);
int storage_oauth_client_get(struct storage_tx *tx, const char *id, struct storage_oauth_client *out);
int storage_oauth_client_find_by_digest(struct storage_tx *tx, const char *digest,
                                        struct storage_oauth_client *out);
/* Frees the heap fields (not c itself). */
void storage_oauth_client_clear(struct storage_oauth_client *c);

struct storage_authorization_grant {
    char id[STORAGE_ID_SIZE];
    char client_id[STORAGE_ID_SIZE];
    char redirect_uri[STORAGE_URI_MAX + 1];
    bool redirect_uri_given; /* the request named it: the token request must too (RFC 6749 §4.1.3) */
    char scope[STORAGE_SCOPE_MAX + 1];
    char state[STORAGE_SHORT_TEXT_MAX + 1]; /* "" when none */
    char nonce[STORAGE_SHORT_TEXT_MAX + 1]; /* "" when none */
    char response_mode[16];                 /* query, fragment, form_post */
    bool response_type_code;                /* a code is due at consent */
    bool response_type_id_token;
    char code_challenge[129];      /* "" without PKCE */
    char code_challenge_method[8]; /* plain, S256, or "" */
    char login_hint[STORAGE_SHORT_TEXT_MAX + 1];
    int64_t created_at, fulfilled_at, cancelled_at, exchanged_at;
    char browser_session_id[STORAGE_ID_SIZE]; /* who consented (set when fulfilled) */
    char session_id[STORAGE_ID_SIZE];         /* the OAuth session made at exchange */
};

/* The grant from *in (id, times and session fields ignored), pending. */
int storage_authorization_grant_create(struct storage_tx *tx, const struct storage_authorization_grant *in,
                                       int64_t now, struct storage_authorization_grant *out);
int storage_authorization_grant_get(struct storage_tx *tx, const char *id,
                                    struct storage_authorization_grant *out);
int storage_authorization_grant_lookup_code(struct storage_tx *tx, const char *code,
                                            struct storage_authorization_grant *out);
/* Compare-and-set, each once: 0, -EALREADY, -ENOENT. Fulfilling records who consented and
 * the authorization code (clear, stored hashed; NULL when the grant has none), drawn then so
 * that no code exists before the person said yes. */
int storage_authorization_grant_fulfill(struct storage_tx *tx, const char *id, const char *browser_session_id,
                                        const char *code, int64_t now);
int storage_authorization_grant_exchange(struct storage_tx *tx, const char *id, const char *session_id,
                                         int64_t now);

struct storage_oauth_session {
    char id[STORAGE_ID_SIZE];
    char client_id[STORAGE_ID_SIZE];
    char user_id[STORAGE_ID_SIZE];            /* "" for client_credentials */
    char browser_session_id[STORAGE_ID_SIZE]; /* "" when none */
    char scope[STORAGE_SCOPE_MAX + 1];
    int64_t created_at, finished_at;
    char human_name[STORAGE_SHORT_TEXT_MAX + 1];
    char user_agent[STORAGE_SHORT_TEXT_MAX + 1];
    int64_t last_active_at;
    char last_active_ip[STORAGE_IP_SIZE];
};

int storage_oauth_session_create(struct storage_tx *tx, const char *client_id, const char *user_id,
                                 const char *browser_session_id, const char *scope, const char *user_agent,
                                 int64_t now, struct storage_oauth_session *out);
/* Claims (user, device) for this session (a device scope). -EEXIST when taken. */
int storage_oauth_session_add_device(struct storage_tx *tx, const char *session_id, const char *device_id);
int storage_oauth_session_get(struct storage_tx *tx, const char *id, struct storage_oauth_session *out);

struct storage_oauth_access_lookup {
    struct storage_access_token token;
    struct storage_oauth_session session;
    bool has_user;
    struct storage_user user; /* when has_user */
};
struct storage_oauth_refresh_lookup {
    struct storage_refresh_token token;
    struct storage_oauth_session session;
    bool has_user;
    struct storage_user user;
};

int storage_oauth_access_token_lookup(struct storage_tx *tx, const char *token,
                                      struct storage_oauth_access_lookup *out);
/* Sets first_used_at once (introspection). 1 set now, 0 already set. */
int storage_oauth_access_token_mark_used(struct storage_tx *tx, const char *id, int64_t now);

int storage_oauth_refresh_token_lookup(struct storage_tx *tx, const char *token,
                                       struct storage_oauth_refresh_lookup *out);
int storage_oauth_refresh_token_revoke(struct storage_tx *tx, const char *id, int64_t now);
/* A token's own row by its ID (the refresh successor rule: MAS: crates/handlers/src/oauth2/token.rs).
 * -ENOENT when there is none (never issued, or deleted by cleanup). */
int storage_oauth_access_token_get(struct storage_tx *tx, const char *id, struct storage_access_token *out);
int storage_oauth_refresh_token_get(struct storage_tx *tx, const char *id, struct storage_refresh_token *out);
/* Compare-and-set of a consumed refresh token's successor: expected_next_id → next_id (a
 * lost-response replay rotates again). 0, -EALREADY when the successor is no longer
 * expected_next_id (a concurrent replay won), -ENOENT for an unknown ID. */
int storage_oauth_refresh_token_relink(struct storage_tx *tx, const char *id, const char *expected_next_id,
                                       const char *next_id);

/* Device-code grants (RFC 8628; docs/architecture.md §9). A grant is pending until a person
 * approves or rejects it at /link, and lives until expires_at; the device polls the token
 * endpoint meanwhile, at most once per interval (§3.5: a poll sooner than that is slow_down,
 * and the grant's interval grows by STORAGE_DEVICE_SLOW_DOWN_MS for good). */
#define STORAGE_DEVICE_SLOW_DOWN_MS 5000
#define STORAGE_USER_CODE_MAX       15

struct storage_device_code_grant {
    char id[STORAGE_ID_SIZE];
    char client_id[STORAGE_ID_SIZE];
    char scope[STORAGE_SCOPE_MAX + 1];
    char user_code[STORAGE_USER_CODE_MAX + 1];
    int64_t created_at, expires_at, fulfilled_at, rejected_at, exchanged_at;
    char browser_session_id[STORAGE_ID_SIZE]; /* who approved or rejected */
    char session_id[STORAGE_ID_SIZE];         /* the OAuth session made at exchange */
    char ip[STORAGE_IP_SIZE];                 /* the requesting device's, at /oauth2/device */
    char user_agent[STORAGE_SHORT_TEXT_MAX + 1];
    int64_t interval_ms;    /* the polling interval the device must keep now */
    int64_t last_polled_at; /* 0: never polled while pending */
};

/* A new pending grant from in->client_id, scope, user_code, expires_at, interval_ms, ip and
 * user_agent (ip, user_agent may be ""); the device code is stored hashed, the user code in
 * clear (a person types it). -EEXIST when the user code is taken by another grant (live or
 * not): the transaction stays usable, so the caller draws another code and tries again in it. */
int storage_device_code_grant_create(struct storage_tx *tx, const struct storage_device_code_grant *in,
                                     const char *device_code, int64_t now,
                                     struct storage_device_code_grant *out);
int storage_device_code_grant_get(struct storage_tx *tx, const char *id,
                                  struct storage_device_code_grant *out);
int storage_device_code_grant_lookup_device_code(struct storage_tx *tx, const char *device_code,
                                                 struct storage_device_code_grant *out);
/* The grant whose user code this is, only while it is pending and not expired at now (what /link
 * may continue to). -ENOENT otherwise. */
int storage_device_code_grant_find_pending(struct storage_tx *tx, const char *user_code, int64_t now,
                                           struct storage_device_code_grant *out);
/* The token endpoint's poll, in one statement when the grant of device_code is pending, not
 * expired and client_id's: records the poll, and when it came less than (interval - grace_ms)
 * after the previous one, adds STORAGE_DEVICE_SLOW_DOWN_MS to the interval and returns 1 (answer
 * slow_down). 0: *out is the grant, pending and polled in time, or in any other state (nothing
 * changed then). -ENOENT for an unknown device code. */
int storage_device_code_grant_poll(struct storage_tx *tx, const char *device_code, const char *client_id,
                                   int64_t now, int64_t grace_ms, struct storage_device_code_grant *out);
/* Compare-and-set, from pending (neither approved nor rejected, not expired at now) only: 0,
 * -EALREADY when the grant is no longer pending, -ENOENT. */
int storage_device_code_grant_fulfill(struct storage_tx *tx, const char *id, const char *browser_session_id,
                                      int64_t now);
int storage_device_code_grant_reject(struct storage_tx *tx, const char *id, const char *browser_session_id,
                                     int64_t now);
/* Compare-and-set, once, from approved: 0, -EALREADY (exchanged already, or not approved), -ENOENT. */
int storage_device_code_grant_exchange(struct storage_tx *tx, const char *id, const char *session_id,
                                       int64_t now);
/* masd-worker's clean-up: deletes the grants that expired before `before`, whatever their state
 * (an exchanged grant's session lives on without it). Until then a late poll still hears
 * expired_token, and the user code stays taken: STORAGE_DEVICE_CODE_KEEP_MS after expiry. */
#define STORAGE_DEVICE_CODE_KEEP_MS (24LL * 3600 * 1000)
int storage_device_code_grant_purge(struct storage_tx *tx, int64_t before, unsigned *n);

/* ---------------------------------------------------------------------------------------------
 * Session activity: written in batches by the per-process activity map (docs/architecture.md §5), never
 * once per request. last_active_at only moves forward; ip NULL keeps the stored one. */

int storage_session_activity_record(struct storage_tx *tx, enum storage_session_kind kind, const char *id,
                                    int64_t at, const char *ip);

/* ---------------------------------------------------------------------------------------------
 * Rate limits: GCRA with one row per key holding the theoretical arrival time, updated by one
 * INSERT … ON CONFLICT … DO UPDATE … RETURNING, so every process and host on the database
 * shares the bucket. burst >= 1 requests may arrive at once; then one per 1/per_second s.
 * Returns 1 allowed, 0 limited (*retry_after_ms > 0: when the next request would pass). */
int storage_rate_limit_check(struct storage_tx *tx, const char *key, unsigned burst, double per_second,
                             int64_t now, int64_t *retry_after_ms);
/* Deletes the rows whose TAT has passed (they mean the same as no row): masd-worker's clean-up.
 * *n (may be NULL): how many. */
int storage_rate_limit_purge(struct storage_tx *tx, int64_t now, unsigned *n);

/* Known login networks: the networks (addr_network(): an IPv4 address or an IPv6 prefix) a
 * user logged in from successfully, with the time of the last such login. A client on one of
 * them within STORAGE_LOGIN_NETWORK_TTL_MS is exempt from the user's per-account login limit,
 * so that guessing from everywhere else cannot lock the owner out. */
#define STORAGE_LOGIN_NETWORK_TTL_MS (30LL * 24 * 3600 * 1000)
#define STORAGE_NETWORK_MAX          64
/* Records a successful login of user_id from network at now (insert or move last_login_at). */
int storage_login_network_record(struct storage_tx *tx, const char *user_id, const char *network,
                                 int64_t now);
/* 1 when user_id logged in from network after `since`, 0 when not. */
int storage_login_network_known(struct storage_tx *tx, const char *user_id, const char *network,
                                int64_t since);
/* Deletes the rows of logins before `before`: masd-worker's clean-up. *n (may be NULL): how many. */
int storage_login_network_purge(struct storage_tx *tx, int64_t before, unsigned *n);

/* ---------------------------------------------------------------------------------------------
 * Job queue. A job is enqueued in the transaction of the change that needs it (so a rollback
 * leaves none). masd-worker claims with a lease; a job whose lease expired (its worker died) is
 * claimable again; failures back off 5 s × 2^(attempt−1) as MAS does, and after
 * STORAGE_JOB_MAX_ATTEMPTS attempts the job is left in the failed state. Jobs must be
 * idempotent: a lease can expire while the job still runs. */

#define STORAGE_JOB_MAX_ATTEMPTS 11 /* the first run and MAS's 10 retries (5 s … 2560 s) */
#define STORAGE_JOB_BACKOFF_MS   5000
#define STORAGE_QUEUE_MAX        63

enum storage_job_status {
    STORAGE_JOB_AVAILABLE,
    STORAGE_JOB_RUNNING,
    STORAGE_JOB_COMPLETED,
    STORAGE_JOB_FAILED
};

struct storage_job {
    char id[STORAGE_ID_SIZE];
    char queue[STORAGE_QUEUE_MAX + 1];
    char *payload; /* JSON text, malloc'd: storage_job_clear() */
    enum storage_job_status status;
    unsigned attempts; /* claims so far, this one included */
    int64_t created_at, scheduled_at, lease_expires_at, completed_at;
    char worker_id[STORAGE_QUEUE_MAX + 1];
    char last_error[STORAGE_SHORT_TEXT_MAX + 1];
};

/* Runs at run_at (0: now). id (may be NULL) receives the job's ID. */
int storage_job_enqueue(struct storage_tx *tx, const char *queue, const char *payload_json, int64_t run_at,
                        int64_t now, char id[STORAGE_ID_SIZE]);
/* In its own write transaction: the next due job of queue (NULL: any queue), leased to
 * worker_id until now + lease_ms. 1 and *job filled, 0 when nothing is due. */
int storage_job_claim(struct storage *st, const char *queue, const char *worker_id, int64_t lease_ms,
                      int64_t now, struct storage_job *job);
/* Both check the lease (same worker, still running): -ESTALE when it was lost, in which case
 * the job belongs to someone else now and the caller must not touch it further. */
int storage_job_complete(struct storage_tx *tx, const char *job_id, const char *worker_id, int64_t now);
/* Reschedules with backoff, or marks failed after the last attempt or when !retry (a job that
 * can never succeed). Returns 1 when retried, 0 when the job is now failed for good. */
int storage_job_fail(struct storage_tx *tx, const char *job_id, const char *worker_id, const char *error,
                     bool retry, int64_t now);
int storage_job_get(struct storage_tx *tx, const char *job_id, struct storage_job *job);
void storage_job_clear(struct storage_job *job);
/* masd-worker's clean-up: completed and failed jobs that ended before `before`. */
int storage_job_purge(struct storage_tx *tx, int64_t before, unsigned *n);

/* ---------------------------------------------------------------------------------------------
 * Homeserver sync (hs_sync.h) */

/* The device IDs of the user's active sessions (compat and OAuth), sorted: what sync_devices
 * sends. *out is malloc'd: storage_strings_free(). */
int storage_user_devices(struct storage_tx *tx, const char *user_id, char ***out, size_t *n);
/* Up to limit user IDs after after_id (NULL: from the start), in ID order: walks every user. */
int storage_user_ids(struct storage_tx *tx, const char *after_id, unsigned limit, char ***out, size_t *n);
void storage_strings_free(char **list, size_t n);

/* The per-user device-sync lock, a lease held by a sync_devices job across reading the device
 * set and calling the homeserver. begin: 1 taken (or renewed by the same holder) until `until`,
 * 0 someone else holds it, -ENOENT no such user. end releases it if holder still has it.
 * busy: 1 when a sync holds it now, 0 when free; a session that brings a device checks it in
 * its own transaction and does not start while it is 1 (storage_tx runs it again later). */
int storage_user_device_sync_begin(struct storage_tx *tx, const char *user_id, const char *holder,
                                   int64_t until, int64_t now);
int storage_user_device_sync_end(struct storage_tx *tx, const char *user_id, const char *holder);
int storage_user_device_sync_busy(struct storage_tx *tx, const char *user_id, int64_t now);

/* ---------------------------------------------------------------------------------------------
 * Registration (storage_registration.c; MAS: crates/storage/src/user/registration*.rs) */

#define STORAGE_REGISTRATION_TOKEN_MAX 255
#define STORAGE_DISPLAY_NAME_MAX       255 /* bytes, as MAS's registration step takes it */
#define STORAGE_URL_MAX                2048

/* A registration token, an invitation the operator hands out. */
struct storage_registration_token {
    char id[STORAGE_ID_SIZE];
    char token[STORAGE_REGISTRATION_TOKEN_MAX + 1];
    int64_t usage_limit; /* -1: unlimited */
    int64_t times_used;
    int64_t created_at, last_used_at, expires_at, revoked_at; /* 0: never */
};
/* usage_limit -1 for unlimited; expires_at 0 for never. -EEXIST when the text is taken, -EINVAL
 * when it is empty, too long or not UTF-8. */
int storage_registration_token_create(struct storage_tx *tx, const char *token, int64_t usage_limit,
                                      int64_t expires_at, int64_t now,
                                      struct storage_registration_token *out);
/* By its exact text; -ENOENT. */
int storage_registration_token_find(struct storage_tx *tx, const char *token,
                                    struct storage_registration_token *out);
/* Not revoked, not expired at now, and not used up. */
bool storage_registration_token_valid(const struct storage_registration_token *t, int64_t now);
/* Counts one use, only while the token is valid (compare-and-set): 0, or -EALREADY when it no
 * longer is (used up, expired or revoked meanwhile), -ENOENT. */
int storage_registration_token_use(struct storage_tx *tx, const char *id, int64_t now);

/* A registration in progress. */
struct storage_registration {
    char id[STORAGE_ID_SIZE];
    char ip_address[46]; /* INET6_ADDRSTRLEN; "" when unknown */
    char user_agent[STORAGE_SHORT_TEXT_MAX + 1];
    char post_auth_action[1024]; /* the post-auth action as its query ("kind=…&id=…"), "" for none */
    char username[STORAGE_USERNAME_MAX + 1];
    char display_name[STORAGE_DISPLAY_NAME_MAX + 1]; /* "" until the display-name step */
    char terms_url[STORAGE_URL_MAX + 1];             /* the terms accepted, "" when none */
    char email_authentication_id[STORAGE_ID_SIZE];   /* "" when no e-mail is asked for */
    char hashed_password[STORAGE_PASSWORD_MAX + 1];  /* "" for none */
    unsigned hashed_password_version;
    char token_id[STORAGE_ID_SIZE]; /* the registration token used, "" when none yet */
    int64_t created_at, completed_at;
};
/* A new registration from in's ip_address, user_agent, post_auth_action, username, terms_url,
 * hashed_password and its version; out receives the row (may be in). */
int storage_registration_create(struct storage_tx *tx, const struct storage_registration *in, int64_t now,
                                struct storage_registration *out);
int storage_registration_get(struct storage_tx *tx, const char *id, struct storage_registration *out);
/* Each only while the registration is not completed: 0, -EALREADY when it is, -ENOENT.
 * set_token with "" forgets the token (it was used up meanwhile). */
int storage_registration_set_token(struct storage_tx *tx, const char *id, const char *token_id);
int storage_registration_set_display_name(struct storage_tx *tx, const char *id, const char *name);
int storage_registration_set_email_authentication(struct storage_tx *tx, const char *id, const char *auth_id);
int storage_registration_complete(struct storage_tx *tx, const char *id, int64_t now);

/* Records that the user accepted the terms at terms_url (MAS: user_terms); again is no error. */
int storage_user_accept_terms(struct storage_tx *tx, const char *user_id, const char *terms_url, int64_t now);

/* ---------------------------------------------------------------------------------------------
 * A user's sessions, a page at a time (storage_session_list.c; MAS: crates/storage/src/
 * pagination.rs, app_session.rs): the account pages and GraphQL's relay connections alike.
 * "App sessions" are the compat and OAuth sessions of a user together, ordered by their ULIDs
 * (their creation time) whatever their kind. Keyset pagination: `first` n after a cursor (IDs
 * ascending), or the `last` n before one (the n highest IDs below it, still returned ascending);
 * one more row is read to tell whether there is more in that direction. */

#define STORAGE_PAGE_MAX 100 /* rows in one page, at most */

enum storage_session_state { STORAGE_STATE_ANY, STORAGE_STATE_ACTIVE, STORAGE_STATE_FINISHED };

struct storage_session_filter {
    enum storage_session_state state; /* active: not finished */
    /* MAS's DateFilter on last_active_at, strictly after / before (0: no bound); a session never
     * seen active has no last_active_at and matches neither bound */
    int64_t last_active_after, last_active_before;
    /* app sessions only (NULL: any): the compat session's device, or an OAuth session whose scope
     * holds the device (either prefix); the browser session it was made from */
    const char *device_id;
    const char *browser_session_id;
};

struct storage_page {
    bool backward;              /* `last` (else `first`) */
    unsigned count;             /* n, at most STORAGE_PAGE_MAX (more is -EINVAL); 0 is an empty page */
    const char *after, *before; /* exclusive ID bounds, NULL or "" for none (both apply either way) */
};

struct storage_app_session {
    enum storage_session_kind kind; /* STORAGE_SESSION_COMPAT or STORAGE_SESSION_OAUTH */
    union {
        struct storage_compat_session compat;
        struct storage_oauth_session oauth;
    };
};

/* Accessors over both kinds. */
const char *storage_app_session_id(const struct storage_app_session *s);
const char *storage_app_session_user_id(const struct storage_app_session *s);

/* A page of the user's app sessions into *out (malloc'd, free(); NULL when *n is 0), IDs
 * ascending; *more: a row lies beyond the page in its direction (forward: hasNextPage, backward:
 * hasPreviousPage). -EINVAL for a count over STORAGE_PAGE_MAX. */
int storage_app_sessions_list(struct storage_tx *tx, const char *user_id,
                              const struct storage_session_filter *f, const struct storage_page *page,
                              struct storage_app_session **out, size_t *n, bool *more);
/* How many match the filter (cursors aside). */
int storage_app_sessions_count(struct storage_tx *tx, const char *user_id,
                               const struct storage_session_filter *f, int64_t *count);
/* The same for browser sessions (device_id and browser_session_id of f are ignored). */
int storage_browser_sessions_list(struct storage_tx *tx, const char *user_id,
                                  const struct storage_session_filter *f, const struct storage_page *page,
                                  struct storage_browser_session **out, size_t *n, bool *more);
int storage_browser_sessions_count(struct storage_tx *tx, const char *user_id,
                                   const struct storage_session_filter *f, int64_t *count);

/* A compat or OAuth session by ID, whichever it is (the owner is out's user_id). -ENOENT. */
int storage_app_session_get(struct storage_tx *tx, const char *id, struct storage_app_session *out);
/* MAS's Query.session: the active session that holds the user's device (a compat session's
 * before an OAuth one's: masd lets only one hold it at a time). -ENOENT when none does. */
int storage_app_session_by_device(struct storage_tx *tx, const char *user_id, const char *device_id,
                                  struct storage_app_session *out);
/* The newest authentication of a browser session (GraphQL's BrowserSession.lastAuthentication):
 * its ID and time. -ENOENT when it has none. */
int storage_browser_session_last_authentication(struct storage_tx *tx, const char *session_id,
                                                char id[STORAGE_ID_SIZE], int64_t *created_at);
/* The compat SSO login a compat session was exchanged for (CompatSession.ssoLogin). -ENOENT. */
int storage_compat_sso_login_by_session(struct storage_tx *tx, const char *compat_session_id,
                                        struct storage_compat_sso_login *out);
/* A session's human name (cut to STORAGE_SHORT_TEXT_MAX; "" clears it). kind is COMPAT or OAUTH.
 * 1 changed, 0 the same already, -ENOENT. */
int storage_session_set_human_name(struct storage_tx *tx, enum storage_session_kind kind, const char *id,
                                   const char *name);

/* ---------------------------------------------------------------------------------------------
 * Account recovery (storage_recovery.c; MAS: crates/storage-pg/src/user/recovery.rs). A session
 * is one request at /recover for an address, made whether or not any account has it (the answer
 * and the work must not tell); starting one queues, in the same transaction,
 * STORAGE_QUEUE_ACCOUNT_RECOVERY_EMAIL with {"user_recovery_session_id"}. masd-worker then adds
 * a ticket for each account with the address and mails its link. A ticket is 32 letters and
 * digits, valid STORAGE_RECOVERY_TICKET_TTL_MS, kept only as its SHA-256 (MAS keeps it in clear).
 * Using a ticket consumes its session (compare-and-set): every ticket of the session is spent,
 * and so is any other unexpired ticket of the same address. */

#define STORAGE_RECOVERY_TICKET_TTL_MS   (10 * 60 * 1000)         /* MAS: add_ticket, 10 minutes */
#define STORAGE_RECOVERY_TICKET_LEN      32                       /* MAS: Alphanumeric, 32 */
#define STORAGE_RECOVERY_SESSION_KEEP_MS (7LL * 24 * 3600 * 1000) /* masd-worker's clean-up */

struct storage_recovery_session {
    char id[STORAGE_ID_SIZE];
    char email[STORAGE_EMAIL_MAX + 1]; /* as typed */
    char user_agent[STORAGE_SHORT_TEXT_MAX + 1];
    char ip_address[STORAGE_IP_SIZE]; /* "" when unknown */
    char locale[STORAGE_LANGUAGE_MAX + 1];
    int64_t created_at, consumed_at;
};

struct storage_recovery_ticket {
    char id[STORAGE_ID_SIZE];
    char session_id[STORAGE_ID_SIZE];
    char user_email_id[STORAGE_ID_SIZE];
    int64_t created_at, expires_at;
};

/* A ticket found by its text, with what using it depends on, in one read. */
struct storage_recovery_lookup {
    struct storage_recovery_ticket ticket;
    struct storage_recovery_session session;
    struct storage_email email; /* the address the ticket was mailed to, now */
    struct storage_user user;   /* its owner */
};

/* A new session for email (any text up to STORAGE_EMAIL_MAX bytes; the caller checks its shape),
 * user_agent (cut), ip_address (NULL or "": unknown) and locale (a BCP 47 tag), and its job.
 * -EINVAL for an empty or over-long address or a bad locale. */
int storage_recovery_session_start(struct storage_tx *tx, const char *email, const char *user_agent,
                                   const char *ip_address, const char *locale, int64_t now,
                                   struct storage_recovery_session *out);
int storage_recovery_session_get(struct storage_tx *tx, const char *id, struct storage_recovery_session *out);
/* Queues the session's job again (MAS: the progress page's "Resend"). -ENOENT, -EALREADY when the
 * session is consumed. */
int storage_recovery_session_resend(struct storage_tx *tx, const char *id, int64_t now);
/* masd-worker: a ticket (STORAGE_RECOVERY_TICKET_LEN letters and digits, else -EINVAL; stored
 * hashed) for the address user_email_id, expiring STORAGE_RECOVERY_TICKET_TTL_MS after now.
 * -ENOENT when the session or the address is gone, -EEXIST when the ticket exists already (draw
 * again: the transaction is still good). */
int storage_recovery_ticket_add(struct storage_tx *tx, const char *session_id, const char *user_email_id,
                                const char *ticket, int64_t now, struct storage_recovery_ticket *out);
/* A ticket that could not be mailed. -ENOENT. */
int storage_recovery_ticket_remove(struct storage_tx *tx, const char *ticket_id);
/* By the ticket's text (hashed here), whatever its state: the caller judges expiry, consumption,
 * the user's state. -ENOENT for a ticket never issued, or whose address or session is gone. */
int storage_recovery_ticket_find(struct storage_tx *tx, const char *ticket,
                                 struct storage_recovery_lookup *out);
/* Compare-and-set: consumes the session, once, and spends every other unexpired ticket of the
 * address user_email_id (expires_at = now). 0 consumed now, -EALREADY consumed before, -ENOENT. */
int storage_recovery_session_consume(struct storage_tx *tx, const char *session_id, const char *user_email_id,
                                     int64_t now);
/* masd-worker's clean-up: sessions created before `before`, with their tickets. */
int storage_recovery_purge(struct storage_tx *tx, int64_t before, unsigned *n);
