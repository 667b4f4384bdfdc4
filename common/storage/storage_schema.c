/* The schema and its versioned migrations, embedded in the binary.
 *
 * One DDL text serves both backends: only BIGINT (int64 milliseconds, counters), SMALLINT (0/1
 * flags and small enumerations, with a CHECK), and TEXT (ULIDs, names, SHA-256 hex, JSON) are used, which
 * SQLite and PostgreSQL both accept and store the same way (SQLite gives BIGINT/SMALLINT INTEGER affinity).
 * No DEFAULT, no expression index, no backend-specific type: what one backend holds, the other
 * holds byte for byte (test_storage_schema compares the two catalogues). Primary-key columns are
 * declared NOT NULL: SQLite, for historical reasons, would otherwise accept NULL in a primary
 * key that is not an INTEGER one, where PostgreSQL never does. What the two dialects cannot say
 * alike (WITHOUT ROWID, triggers: migration 4) each backend gets in its own words, with the same
 * table, index and trigger names on both.
 *
 * Migrations only ever get appended; a released one is never edited. */
#include "clock.h"
#include "storage_internal.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* A migration's text for both backends (sql), after the text for the backend at hand (sqlite or
 * pg, either may be NULL): what the two dialects cannot say alike (WITHOUT ROWID, triggers). */
struct migration {
    unsigned version;
    const char *name;
    const char *sql;
    const char *sqlite;
    const char *pg;
};

static const char migration_1[] =
    /* Users. username_folded (storage_username_fold) is what lookups and uniqueness use. */
    "CREATE TABLE users ("
    " user_id TEXT NOT NULL PRIMARY KEY,"
    " username TEXT NOT NULL,"
    " username_folded TEXT NOT NULL,"
    " created_at BIGINT NOT NULL,"
    " locked_at BIGINT,"
    " deactivated_at BIGINT,"
    " can_request_admin SMALLINT NOT NULL,"
    " CONSTRAINT users_can_request_admin_check CHECK (can_request_admin IN (0, 1)));"
    "CREATE UNIQUE INDEX users_username_folded_unique ON users (username_folded);"

    "CREATE TABLE user_passwords ("
    " user_password_id TEXT NOT NULL PRIMARY KEY,"
    " user_id TEXT NOT NULL REFERENCES users (user_id),"
    " hashed_password TEXT NOT NULL,"
    " version BIGINT NOT NULL,"
    " upgraded_from_id TEXT REFERENCES user_passwords (user_password_id),"
    " created_at BIGINT NOT NULL);"
    "CREATE INDEX user_passwords_user_idx ON user_passwords (user_id, created_at);"

    "CREATE TABLE user_emails ("
    " user_email_id TEXT NOT NULL PRIMARY KEY,"
    " user_id TEXT NOT NULL REFERENCES users (user_id),"
    " email TEXT NOT NULL,"
    " email_folded TEXT NOT NULL,"
    " created_at BIGINT NOT NULL);"
    "CREATE UNIQUE INDEX user_emails_email_folded_unique ON user_emails (email_folded);"
    "CREATE INDEX user_emails_user_idx ON user_emails (user_id);"

    "CREATE TABLE browser_sessions ("
    " browser_session_id TEXT NOT NULL PRIMARY KEY,"
    " user_id TEXT NOT NULL REFERENCES users (user_id),"
    " created_at BIGINT NOT NULL,"
    " finished_at BIGINT,"
    " user_agent TEXT,"
    " last_active_at BIGINT,"
    " last_active_ip TEXT);"
    "CREATE INDEX browser_sessions_user_idx ON browser_sessions (user_id);"

    "CREATE TABLE browser_session_authentications ("
    " browser_session_authentication_id TEXT NOT NULL PRIMARY KEY,"
    " browser_session_id TEXT NOT NULL REFERENCES browser_sessions (browser_session_id),"
    " user_password_id TEXT REFERENCES user_passwords (user_password_id),"
    " created_at BIGINT NOT NULL);"
    "CREATE INDEX browser_session_authentications_session_idx"
    " ON browser_session_authentications (browser_session_id, created_at);"

    /* OAuth 2.0 clients: the registration metadata as JSON, the secret encrypted (secrets.h). */
    "CREATE TABLE oauth2_clients ("
    " oauth2_client_id TEXT NOT NULL PRIMARY KEY,"
    " encrypted_client_secret TEXT,"
    " token_endpoint_auth_method TEXT NOT NULL,"
    " redirect_uris TEXT NOT NULL,"
    " grant_types TEXT NOT NULL,"
    " metadata TEXT NOT NULL,"
    " metadata_digest TEXT,"
    " is_static SMALLINT NOT NULL,"
    " created_at BIGINT NOT NULL,"
    " CONSTRAINT oauth2_clients_is_static_check CHECK (is_static IN (0, 1)));"
    "CREATE UNIQUE INDEX oauth2_clients_metadata_digest_unique ON oauth2_clients (metadata_digest);"

    "CREATE TABLE oauth2_sessions ("
    " oauth2_session_id TEXT NOT NULL PRIMARY KEY,"
    " oauth2_client_id TEXT NOT NULL REFERENCES oauth2_clients (oauth2_client_id),"
    " user_id TEXT REFERENCES users (user_id),"
    " browser_session_id TEXT REFERENCES browser_sessions (browser_session_id),"
    " scope TEXT NOT NULL,"
    " created_at BIGINT NOT NULL,"
    " finished_at BIGINT,"
    " human_name TEXT,"
    " user_agent TEXT,"
    " last_active_at BIGINT,"
    " last_active_ip TEXT);"
    "CREATE INDEX oauth2_sessions_user_idx ON oauth2_sessions (user_id);"

    "CREATE TABLE oauth2_authorization_grants ("
    " oauth2_authorization_grant_id TEXT NOT NULL PRIMARY KEY,"
    " oauth2_client_id TEXT NOT NULL REFERENCES oauth2_clients (oauth2_client_id),"
    " redirect_uri TEXT NOT NULL,"
    " scope TEXT NOT NULL,"
    " state TEXT,"
    " nonce TEXT,"
    " response_mode TEXT NOT NULL,"
    " response_type_id_token SMALLINT NOT NULL,"
    " code_hash TEXT,"
    " code_challenge TEXT,"
    " code_challenge_method TEXT,"
    " login_hint TEXT,"
    " created_at BIGINT NOT NULL,"
    " fulfilled_at BIGINT,"
    " cancelled_at BIGINT,"
    " exchanged_at BIGINT,"
    " browser_session_id TEXT REFERENCES browser_sessions (browser_session_id),"
    " oauth2_session_id TEXT REFERENCES oauth2_sessions (oauth2_session_id),"
    " CONSTRAINT oauth2_authorization_grants_id_token_check CHECK (response_type_id_token IN (0, 1)));"
    "CREATE UNIQUE INDEX oauth2_authorization_grants_code_unique ON oauth2_authorization_grants (code_hash);"

    "CREATE TABLE oauth2_access_tokens ("
    " oauth2_access_token_id TEXT NOT NULL PRIMARY KEY,"
    " oauth2_session_id TEXT NOT NULL REFERENCES oauth2_sessions (oauth2_session_id),"
    " token_hash TEXT NOT NULL,"
    " created_at BIGINT NOT NULL,"
    " expires_at BIGINT,"
    " revoked_at BIGINT,"
    " first_used_at BIGINT);"
    "CREATE UNIQUE INDEX oauth2_access_tokens_hash_unique ON oauth2_access_tokens (token_hash);"
    "CREATE INDEX oauth2_access_tokens_session_idx ON oauth2_access_tokens (oauth2_session_id);"

    "CREATE TABLE oauth2_refresh_tokens ("
    " oauth2_refresh_token_id TEXT NOT NULL PRIMARY KEY,"
    " oauth2_session_id TEXT NOT NULL REFERENCES oauth2_sessions (oauth2_session_id),"
    " oauth2_access_token_id TEXT REFERENCES oauth2_access_tokens (oauth2_access_token_id),"
    " token_hash TEXT NOT NULL,"
    " created_at BIGINT NOT NULL,"
    " consumed_at BIGINT,"
    " revoked_at BIGINT,"
    " next_oauth2_refresh_token_id TEXT REFERENCES oauth2_refresh_tokens (oauth2_refresh_token_id));"
    "CREATE UNIQUE INDEX oauth2_refresh_tokens_hash_unique ON oauth2_refresh_tokens (token_hash);"
    "CREATE INDEX oauth2_refresh_tokens_session_idx ON oauth2_refresh_tokens (oauth2_session_id);"

    "CREATE TABLE oauth2_device_code_grants ("
    " oauth2_device_code_grant_id TEXT NOT NULL PRIMARY KEY,"
    " oauth2_client_id TEXT NOT NULL REFERENCES oauth2_clients (oauth2_client_id),"
    " scope TEXT NOT NULL,"
    " device_code_hash TEXT NOT NULL,"
    " user_code TEXT NOT NULL,"
    " created_at BIGINT NOT NULL,"
    " expires_at BIGINT NOT NULL,"
    " fulfilled_at BIGINT,"
    " rejected_at BIGINT,"
    " exchanged_at BIGINT,"
    " browser_session_id TEXT REFERENCES browser_sessions (browser_session_id),"
    " oauth2_session_id TEXT REFERENCES oauth2_sessions (oauth2_session_id),"
    " ip_address TEXT,"
    " user_agent TEXT);"
    "CREATE UNIQUE INDEX oauth2_device_code_grants_device_code_unique"
    " ON oauth2_device_code_grants (device_code_hash);"
    "CREATE UNIQUE INDEX oauth2_device_code_grants_user_code_unique ON oauth2_device_code_grants (user_code);"

    /* Compat (Matrix C-S API) sessions and tokens. */
    "CREATE TABLE compat_sessions ("
    " compat_session_id TEXT NOT NULL PRIMARY KEY,"
    " user_id TEXT NOT NULL REFERENCES users (user_id),"
    " device_id TEXT,"
    " browser_session_id TEXT REFERENCES browser_sessions (browser_session_id),"
    " created_at BIGINT NOT NULL,"
    " finished_at BIGINT,"
    " is_synapse_admin SMALLINT NOT NULL,"
    " human_name TEXT,"
    " user_agent TEXT,"
    " last_active_at BIGINT,"
    " last_active_ip TEXT,"
    " CONSTRAINT compat_sessions_is_synapse_admin_check CHECK (is_synapse_admin IN (0, 1)));"
    "CREATE INDEX compat_sessions_user_idx ON compat_sessions (user_id);"

    "CREATE TABLE compat_access_tokens ("
    " compat_access_token_id TEXT NOT NULL PRIMARY KEY,"
    " compat_session_id TEXT NOT NULL REFERENCES compat_sessions (compat_session_id),"
    " token_hash TEXT NOT NULL,"
    " created_at BIGINT NOT NULL,"
    " expires_at BIGINT,"
    " revoked_at BIGINT);"
    "CREATE UNIQUE INDEX compat_access_tokens_hash_unique ON compat_access_tokens (token_hash);"
    "CREATE INDEX compat_access_tokens_session_idx ON compat_access_tokens (compat_session_id);"

    "CREATE TABLE compat_refresh_tokens ("
    " compat_refresh_token_id TEXT NOT NULL PRIMARY KEY,"
    " compat_session_id TEXT NOT NULL REFERENCES compat_sessions (compat_session_id),"
    " compat_access_token_id TEXT REFERENCES compat_access_tokens (compat_access_token_id),"
    " token_hash TEXT NOT NULL,"
    " created_at BIGINT NOT NULL,"
    " consumed_at BIGINT,"
    " revoked_at BIGINT,"
    " next_compat_refresh_token_id TEXT REFERENCES compat_refresh_tokens (compat_refresh_token_id));"
    "CREATE UNIQUE INDEX compat_refresh_tokens_hash_unique ON compat_refresh_tokens (token_hash);"
    "CREATE INDEX compat_refresh_tokens_session_idx ON compat_refresh_tokens (compat_session_id);"

    "CREATE TABLE compat_sso_logins ("
    " compat_sso_login_id TEXT NOT NULL PRIMARY KEY,"
    " login_token_hash TEXT NOT NULL,"
    " redirect_uri TEXT NOT NULL,"
    " created_at BIGINT NOT NULL,"
    " fulfilled_at BIGINT,"
    " exchanged_at BIGINT,"
    " browser_session_id TEXT REFERENCES browser_sessions (browser_session_id),"
    " compat_session_id TEXT REFERENCES compat_sessions (compat_session_id));"
    "CREATE UNIQUE INDEX compat_sso_logins_token_unique ON compat_sso_logins (login_token_hash);"

    /* At most one active session per (user, device) across compat and OAuth sessions: the
     * primary key is the unique index. A row lives exactly as long as its session is active. */
    "CREATE TABLE session_devices ("
    " user_id TEXT NOT NULL REFERENCES users (user_id),"
    " device_id TEXT NOT NULL,"
    " compat_session_id TEXT REFERENCES compat_sessions (compat_session_id),"
    " oauth2_session_id TEXT REFERENCES oauth2_sessions (oauth2_session_id),"
    " created_at BIGINT NOT NULL,"
    " PRIMARY KEY (user_id, device_id),"
    " CONSTRAINT session_devices_one_session_check"
    " CHECK ((compat_session_id IS NULL) <> (oauth2_session_id IS NULL)));"
    "CREATE INDEX session_devices_compat_idx ON session_devices (compat_session_id);"
    "CREATE INDEX session_devices_oauth2_idx ON session_devices (oauth2_session_id);"

    /* GCRA: the theoretical arrival time in microseconds (a millisecond is too coarse for the
     * rates MAS accepts), and whether the last check passed (RETURNING cannot see old values). */
    "CREATE TABLE rate_limits ("
    " rate_limit_key TEXT NOT NULL PRIMARY KEY,"
    " tat_us BIGINT NOT NULL,"
    " allowed SMALLINT NOT NULL,"
    " CONSTRAINT rate_limits_allowed_check CHECK (allowed IN (0, 1)));"

    "CREATE TABLE queue_jobs ("
    " queue_job_id TEXT NOT NULL PRIMARY KEY,"
    " queue_name TEXT NOT NULL,"
    " payload TEXT NOT NULL,"
    " status TEXT NOT NULL,"
    " attempts BIGINT NOT NULL,"
    " created_at BIGINT NOT NULL,"
    " scheduled_at BIGINT NOT NULL,"
    " worker_id TEXT,"
    " lease_expires_at BIGINT,"
    " completed_at BIGINT,"
    " last_error TEXT,"
    " CONSTRAINT queue_jobs_status_check"
    " CHECK (status IN ('available', 'running', 'completed', 'failed')));"
    "CREATE INDEX queue_jobs_available_idx ON queue_jobs (status, scheduled_at);"
    "CREATE INDEX queue_jobs_lease_idx ON queue_jobs (status, lease_expires_at);";

/* Client-assertion replay protection (storage_jti.c) and the digest of the last sync of the
 * configuration's static clients. */
static const char migration_2[] = "CREATE TABLE client_assertion_jtis ("
                                  " client_id TEXT NOT NULL,"
                                  " jti TEXT NOT NULL,"
                                  " expires_at BIGINT NOT NULL,"
                                  " PRIMARY KEY (client_id, jti));"
                                  "CREATE TABLE config_digests ("
                                  " name TEXT NOT NULL PRIMARY KEY,"
                                  " digest TEXT NOT NULL,"
                                  " updated_at BIGINT NOT NULL);";

/* The homeserver sync's per-user device-sync lock (storage_hs.c) and the worker's purge of old
 * jobs. */
static const char migration_3[] = "ALTER TABLE users ADD COLUMN device_sync_until BIGINT;"
                                  "ALTER TABLE users ADD COLUMN device_sync_holder TEXT;"
                                  "CREATE INDEX queue_jobs_completed_idx ON queue_jobs (completed_at);";

/* The networks each user logged in from (storage_ratelimit.c): a client that logged in to an
 * account before is exempt from the account's login limit. */
static const char migration_4[] =
    "CREATE TABLE user_login_networks ("
    " user_id TEXT NOT NULL REFERENCES users (user_id),"
    " network TEXT NOT NULL,"
    " last_login_at BIGINT NOT NULL,"
    " PRIMARY KEY (user_id, network));"
    "CREATE INDEX user_login_networks_last_idx ON user_login_networks (last_login_at);";

/* Introspection's single point read (services/oauth/introspect.c): every token, compat and OAuth,
 * access and refresh, by its hash, with everything an introspection answer depends on: the token's
 * own times, its session's (finished_at, device, admin flag; client and scope), its user's
 * (username, locked_at, deactivated_at). One B-tree descent on SQLite (WITHOUT ROWID: the row is
 * stored in the primary key's tree) instead of a join of three tables by their text keys.
 *
 * The copy is kept by triggers on the tables it copies, so it changes in the same transaction,
 * by the same statement, as every change that can change an answer — whoever writes: masd, masctl,
 * or an operator's own SQL. A token row inserted, updated (revoked, consumed, expired, first
 * used) or deleted rebuilds or deletes its copy; a session's end, device, admin flag, client or
 * scope, and a user's name, lock and deactivation are copied to every token of theirs (through
 * the session and user indexes). The activity columns (last_active_at, last_active_ip) and the
 * device-sync lock are not copied, so the activity flusher's updates fire nothing. Sessions and
 * tokens never change user or session, so those columns are not watched.
 *
 * The key is the token's SHA-256 as the token tables store it (lowercase hex): SQLite 3.40, the
 * version Debian 12 ships, has no unhex(), so a trigger could not derive a BLOB key from the row,
 * and a copy kept by masd's C code alone would go stale under anyone else's SQL. (The SQL
 * below is laid out by hand: clang-format would break it mid-clause.) */
/* clang-format off */
#define INTROSPECTION_COLS                                                                   \
    "token_hash, kind, token_id, session_id, user_id, username, device_id, client_id,"       \
    " scope, is_synapse_admin, created_at, expires_at, revoked_at, consumed_at,"             \
    " first_used_at, session_finished_at, user_locked_at, user_deactivated_at"
#define INTROSPECTION_TABLE                                                                  \
    "CREATE TABLE introspection_tokens ("                                                    \
    " token_hash TEXT NOT NULL PRIMARY KEY,"                                                 \
    " kind SMALLINT NOT NULL,"                                                               \
    " token_id TEXT NOT NULL,"                                                               \
    " session_id TEXT NOT NULL,"                                                             \
    " user_id TEXT,"                                                                         \
    " username TEXT,"                                                                        \
    " device_id TEXT,"                                                                       \
    " client_id TEXT,"                                                                       \
    " scope TEXT,"                                                                           \
    " is_synapse_admin SMALLINT NOT NULL,"                                                   \
    " created_at BIGINT NOT NULL,"                                                           \
    " expires_at BIGINT,"                                                                    \
    " revoked_at BIGINT,"                                                                    \
    " consumed_at BIGINT,"                                                                   \
    " first_used_at BIGINT,"                                                                 \
    " session_finished_at BIGINT,"                                                           \
    " user_locked_at BIGINT,"                                                                \
    " user_deactivated_at BIGINT,"                                                           \
    " CONSTRAINT introspection_tokens_kind_check CHECK (kind IN (1, 2, 3, 4)),"              \
    " CONSTRAINT introspection_tokens_is_synapse_admin_check"                                \
    " CHECK (is_synapse_admin IN (0, 1)))"

/* The copy of one token row r (NEW in a trigger, t in the backfill), kinds as enum
 * storage_token_kind (storage.h), from its session s and user u. */
#define COMPAT_ACCESS_ROW(r)                                                                 \
    "SELECT " r ".token_hash, 1, " r ".compat_access_token_id, s.compat_session_id,"         \
    " u.user_id, u.username, s.device_id, NULL, NULL, s.is_synapse_admin,"                   \
    " " r ".created_at, " r ".expires_at, " r ".revoked_at, NULL, NULL,"                     \
    " s.finished_at, u.locked_at, u.deactivated_at"
#define COMPAT_REFRESH_ROW(r)                                                                \
    "SELECT " r ".token_hash, 2, " r ".compat_refresh_token_id, s.compat_session_id,"        \
    " u.user_id, u.username, s.device_id, NULL, NULL, s.is_synapse_admin,"                   \
    " " r ".created_at, NULL, " r ".revoked_at, " r ".consumed_at, NULL,"                    \
    " s.finished_at, u.locked_at, u.deactivated_at"
#define OAUTH_ACCESS_ROW(r)                                                                  \
    "SELECT " r ".token_hash, 3, " r ".oauth2_access_token_id, s.oauth2_session_id,"         \
    " u.user_id, u.username, NULL, s.oauth2_client_id, s.scope, 0,"                          \
    " " r ".created_at, " r ".expires_at, " r ".revoked_at, NULL, " r ".first_used_at,"      \
    " s.finished_at, u.locked_at, u.deactivated_at"
#define OAUTH_REFRESH_ROW(r)                                                                 \
    "SELECT " r ".token_hash, 4, " r ".oauth2_refresh_token_id, s.oauth2_session_id,"        \
    " u.user_id, u.username, NULL, s.oauth2_client_id, s.scope, 0,"                          \
    " " r ".created_at, NULL, " r ".revoked_at, " r ".consumed_at, NULL,"                    \
    " s.finished_at, u.locked_at, u.deactivated_at"
/* The session and user of a token: s and u (client_credentials sessions have no user). */
#define COMPAT_JOIN "compat_sessions s JOIN users u ON u.user_id = s.user_id"
#define OAUTH_JOIN  "oauth2_sessions s LEFT JOIN users u ON u.user_id = s.user_id"
#define INSERT_COPY(ROW, JOIN, key)                                                          \
    "INSERT INTO introspection_tokens (" INTROSPECTION_COLS ") "                             \
    ROW("NEW") " FROM " JOIN " WHERE s." key " = NEW." key
#define DELETE_COPY "DELETE FROM introspection_tokens WHERE token_hash = OLD.token_hash"
#define BACKFILL(table, ROW, JOIN, key)                                                      \
    "INSERT INTO introspection_tokens (" INTROSPECTION_COLS ") "                             \
    ROW("t") " FROM " table " t, " JOIN " WHERE s." key " = t." key ";"

/* What a session's or a user's change copies to its tokens, and the columns watched. */
#define COMPAT_SESSION_COLS "finished_at, device_id, is_synapse_admin"
#define COMPAT_SESSION_COPY                                                                  \
    "UPDATE introspection_tokens SET session_finished_at = NEW.finished_at,"                 \
    " device_id = NEW.device_id, is_synapse_admin = NEW.is_synapse_admin"                    \
    " WHERE session_id = NEW.compat_session_id AND kind IN (1, 2)"
#define OAUTH_SESSION_COLS "finished_at, oauth2_client_id, scope"
#define OAUTH_SESSION_COPY                                                                   \
    "UPDATE introspection_tokens SET session_finished_at = NEW.finished_at,"                 \
    " client_id = NEW.oauth2_client_id, scope = NEW.scope"                                   \
    " WHERE session_id = NEW.oauth2_session_id AND kind IN (3, 4)"
#define USER_COLS_WATCHED "username, locked_at, deactivated_at"
#define USER_COPY                                                                            \
    "UPDATE introspection_tokens SET username = NEW.username,"                               \
    " user_locked_at = NEW.locked_at, user_deactivated_at = NEW.deactivated_at"              \
    " WHERE user_id = NEW.user_id"

/* SQLite: three triggers per token table (insert, update, delete); one per session table and
 * for users, on the watched columns only. */
#define SQLITE_TOKEN_TRIGGERS(table, ROW, JOIN, key)                                         \
    "CREATE TRIGGER " table "_introspection_insert AFTER INSERT ON " table                   \
    " BEGIN " INSERT_COPY(ROW, JOIN, key) "; END;"                                           \
    "CREATE TRIGGER " table "_introspection_update AFTER UPDATE ON " table                   \
    " BEGIN " DELETE_COPY "; " INSERT_COPY(ROW, JOIN, key) "; END;"                          \
    "CREATE TRIGGER " table "_introspection_delete AFTER DELETE ON " table                   \
    " BEGIN " DELETE_COPY "; END;"
#define SQLITE_COPY_TRIGGER(table, cols, COPY)                                               \
    "CREATE TRIGGER " table "_introspection_update AFTER UPDATE OF " cols " ON " table       \
    " BEGIN " COPY "; END;"

/* PostgreSQL: a trigger function per table, and the same triggers under the same names.
 * Writers run at READ COMMITTED, concurrently: a token copied while another transaction locks
 * its user (or ends its session) and has not committed would copy the old state, and that
 * transaction's own trigger cannot see the new, uncommitted token: the copy would stay stale.
 * So a token's copy first share-locks its user and session rows (in that order, the order in
 * which a deactivation locks the user and then ends the sessions) — waiting for such a
 * transaction to end — and then reads them with a fresh snapshot (each statement of a volatile
 * function takes one at READ COMMITTED); a lock that comes later waits for the token's
 * transaction instead, and its trigger then sees the committed copy. SQLite has one writer at a
 * time. */
#define PG_TOKEN_TRIGGERS(table, name, ROW, sessions, JOIN, key)                             \
    "CREATE FUNCTION " name "() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"                \
    " IF TG_OP <> 'INSERT' THEN " DELETE_COPY "; END IF;"                                    \
    " IF TG_OP <> 'DELETE' THEN"                                                             \
    " PERFORM 1 FROM users u WHERE u.user_id ="                                              \
    " (SELECT s.user_id FROM " sessions " s WHERE s." key " = NEW." key ") FOR SHARE;"       \
    " PERFORM 1 FROM " sessions " s WHERE s." key " = NEW." key " FOR SHARE;"                \
    " " INSERT_COPY(ROW, JOIN, key) "; END IF;"                                              \
    " RETURN NULL; END $$;"                                                                  \
    "CREATE TRIGGER " table "_introspection_insert AFTER INSERT ON " table                   \
    " FOR EACH ROW EXECUTE FUNCTION " name "();"                                             \
    "CREATE TRIGGER " table "_introspection_update AFTER UPDATE ON " table                   \
    " FOR EACH ROW EXECUTE FUNCTION " name "();"                                             \
    "CREATE TRIGGER " table "_introspection_delete AFTER DELETE ON " table                   \
    " FOR EACH ROW EXECUTE FUNCTION " name "();"
#define PG_COPY_TRIGGER(table, name, cols, COPY)                                             \
    "CREATE FUNCTION " name "() RETURNS trigger LANGUAGE plpgsql AS $$"                      \
    " BEGIN " COPY "; RETURN NULL; END $$;"                                                  \
    "CREATE TRIGGER " table "_introspection_update AFTER UPDATE OF " cols " ON " table       \
    " FOR EACH ROW EXECUTE FUNCTION " name "();"

static const char migration_5_sqlite[] =
    INTROSPECTION_TABLE " WITHOUT ROWID;"
    SQLITE_TOKEN_TRIGGERS("compat_access_tokens", COMPAT_ACCESS_ROW, COMPAT_JOIN, "compat_session_id")
    SQLITE_TOKEN_TRIGGERS("compat_refresh_tokens", COMPAT_REFRESH_ROW, COMPAT_JOIN, "compat_session_id")
    SQLITE_TOKEN_TRIGGERS("oauth2_access_tokens", OAUTH_ACCESS_ROW, OAUTH_JOIN, "oauth2_session_id")
    SQLITE_TOKEN_TRIGGERS("oauth2_refresh_tokens", OAUTH_REFRESH_ROW, OAUTH_JOIN, "oauth2_session_id")
    SQLITE_COPY_TRIGGER("compat_sessions", COMPAT_SESSION_COLS, COMPAT_SESSION_COPY)
    SQLITE_COPY_TRIGGER("oauth2_sessions", OAUTH_SESSION_COLS, OAUTH_SESSION_COPY)
    SQLITE_COPY_TRIGGER("users", USER_COLS_WATCHED, USER_COPY);

static const char migration_5_pg[] =
    INTROSPECTION_TABLE ";"
    PG_TOKEN_TRIGGERS("compat_access_tokens", "introspection_compat_access",
                      COMPAT_ACCESS_ROW, "compat_sessions", COMPAT_JOIN, "compat_session_id")
    PG_TOKEN_TRIGGERS("compat_refresh_tokens", "introspection_compat_refresh",
                      COMPAT_REFRESH_ROW, "compat_sessions", COMPAT_JOIN, "compat_session_id")
    PG_TOKEN_TRIGGERS("oauth2_access_tokens", "introspection_oauth2_access",
                      OAUTH_ACCESS_ROW, "oauth2_sessions", OAUTH_JOIN, "oauth2_session_id")
    PG_TOKEN_TRIGGERS("oauth2_refresh_tokens", "introspection_oauth2_refresh",
                      OAUTH_REFRESH_ROW, "oauth2_sessions", OAUTH_JOIN, "oauth2_session_id")
    PG_COPY_TRIGGER("compat_sessions", "introspection_compat_session",
                    COMPAT_SESSION_COLS, COMPAT_SESSION_COPY)
    PG_COPY_TRIGGER("oauth2_sessions", "introspection_oauth2_session",
                    OAUTH_SESSION_COLS, OAUTH_SESSION_COPY)
    PG_COPY_TRIGGER("users", "introspection_user", USER_COLS_WATCHED, USER_COPY);

/* The indexes the copying updates use, and the tokens that exist already. */
static const char migration_5[] =
    "CREATE INDEX introspection_tokens_session_idx ON introspection_tokens (session_id);"
    "CREATE INDEX introspection_tokens_user_idx ON introspection_tokens (user_id);"
    BACKFILL("compat_access_tokens", COMPAT_ACCESS_ROW, COMPAT_JOIN, "compat_session_id")
    BACKFILL("compat_refresh_tokens", COMPAT_REFRESH_ROW, COMPAT_JOIN, "compat_session_id")
    BACKFILL("oauth2_access_tokens", OAUTH_ACCESS_ROW, OAUTH_JOIN, "oauth2_session_id")
    BACKFILL("oauth2_refresh_tokens", OAUTH_REFRESH_ROW, OAUTH_JOIN, "oauth2_session_id");
/* clang-format on */

/* The authorization endpoint (services/human/authorize.c) records whether the request named its
 * redirect URI: then the token request must name the same one (RFC 6749 §4.1.3). The code is
 * drawn when the person consents (only its hash is stored, docs/architecture.md §5), so whether
 * one is due is a column of its own. */
static const char migration_6[] =
    "ALTER TABLE oauth2_authorization_grants ADD COLUMN redirect_uri_given SMALLINT NOT NULL DEFAULT 0;"
    "ALTER TABLE oauth2_authorization_grants ADD COLUMN response_type_code SMALLINT NOT NULL DEFAULT 0;"
    "UPDATE oauth2_authorization_grants SET response_type_code = 1 WHERE code_hash IS NOT NULL;";

/* Device-code grants (RFC 8628 §3.5): the interval a device must keep between polls, which grows
 * by 5 s with every slow_down, the time of its last poll, and whether that poll came too soon
 * (kept in the row so that the poll's one UPDATE … RETURNING can tell; storage_device_codes.c). */
static const char migration_7[] =
    "ALTER TABLE oauth2_device_code_grants ADD COLUMN poll_interval_ms BIGINT NOT NULL DEFAULT 5000;"
    "ALTER TABLE oauth2_device_code_grants ADD COLUMN last_polled_at BIGINT;"
    "ALTER TABLE oauth2_device_code_grants ADD COLUMN poll_too_fast SMALLINT NOT NULL DEFAULT 0;";

/* Proving that a person can read an e-mail address (MAS: crates/storage-pg/migrations/
 * 20250109105709_user_email_authentication_codes.sql, storage_email_auth.c): an authentication is
 * started for a browser session (adding an address; a registration's column comes with the
 * registrations table, as in MAS's own history), and each code mailed for it is a row of its own,
 * so that a code sent again does not void one in flight. Codes are six digits, kept as MAS keeps
 * them (a hash of one of a million values would hide nothing); each is unique within its
 * authentication. masd-worker deletes authentications a week old (MAS:
 * crates/tasks/src/cleanup/user.rs), their codes with them. */
static const char migration_8[] =
    "CREATE TABLE user_email_authentications ("
    " user_email_authentication_id TEXT NOT NULL PRIMARY KEY,"
    " browser_session_id TEXT REFERENCES browser_sessions (browser_session_id) ON DELETE SET NULL,"
    " email TEXT NOT NULL,"
    " created_at BIGINT NOT NULL,"
    " completed_at BIGINT);"
    "CREATE INDEX user_email_authentications_session_idx ON user_email_authentications (browser_session_id);"
    "CREATE INDEX user_email_authentications_created_idx ON user_email_authentications (created_at);"
    "CREATE TABLE user_email_authentication_codes ("
    " user_email_authentication_code_id TEXT NOT NULL PRIMARY KEY,"
    " user_email_authentication_id TEXT NOT NULL"
    "  REFERENCES user_email_authentications (user_email_authentication_id) ON DELETE CASCADE,"
    " code TEXT NOT NULL,"
    " created_at BIGINT NOT NULL,"
    " expires_at BIGINT NOT NULL,"
    " CONSTRAINT user_email_authentication_codes_code_check CHECK (LENGTH(code) = 6));"
    "CREATE UNIQUE INDEX user_email_authentication_codes_auth_code_unique"
    " ON user_email_authentication_codes (user_email_authentication_id, code);";

/* Registration (MAS: crates/storage-pg/migrations/20250113102144_user_registrations.sql,
 * 20250602212100_user_registration_tokens.sql): the tokens an operator issues (masctl manage
 * issue-user-registration-token; looked up by their text, as MAS does: they are invitations an
 * operator hands out, not credentials of an account), and a registration in progress, from the
 * password form to the account (services/human/register.c). */
static const char migration_9[] =
    "CREATE TABLE user_registration_tokens ("
    " user_registration_token_id TEXT NOT NULL PRIMARY KEY,"
    " token TEXT NOT NULL,"
    " usage_limit BIGINT,"
    " times_used BIGINT NOT NULL DEFAULT 0,"
    " created_at BIGINT NOT NULL,"
    " last_used_at BIGINT,"
    " expires_at BIGINT,"
    " revoked_at BIGINT);"
    "CREATE UNIQUE INDEX user_registration_tokens_token_unique ON user_registration_tokens (token);"
    "CREATE TABLE user_registrations ("
    " user_registration_id TEXT NOT NULL PRIMARY KEY,"
    " ip_address TEXT,"
    " user_agent TEXT,"
    " post_auth_action TEXT,"
    " username TEXT NOT NULL,"
    " display_name TEXT,"
    " terms_url TEXT,"
    " email_authentication_id TEXT"
    "  REFERENCES user_email_authentications (user_email_authentication_id) ON DELETE SET NULL,"
    " hashed_password TEXT,"
    " hashed_password_version BIGINT,"
    " created_at BIGINT NOT NULL,"
    " completed_at BIGINT,"
    " user_registration_token_id TEXT REFERENCES user_registration_tokens (user_registration_token_id));"
    "CREATE TABLE user_terms ("
    " user_terms_id TEXT NOT NULL PRIMARY KEY,"
    " user_id TEXT NOT NULL REFERENCES users (user_id),"
    " terms_url TEXT NOT NULL,"
    " created_at BIGINT NOT NULL);"
    "CREATE UNIQUE INDEX user_terms_user_url_unique ON user_terms (user_id, terms_url);";

/* masd-worker deletes compat SSO logins that can no longer be exchanged by their age; anyone can
 * create one (GET /login/sso/redirect), so the clean-up must not scan the table. */
static const char migration_10[] =
    "CREATE INDEX compat_sso_logins_created_idx ON compat_sso_logins (created_at);";

/* Account recovery (MAS: crates/storage-pg/migrations/20240621080509_user_recovery.sql and the
 * indexes of 20250410000035/36/45; storage_recovery.c): a session is one request at /recover for
 * an address, whether or not an account has it; each ticket is one mailed link, for one of the
 * user_emails rows with that address. MAS keeps the ticket in clear and finds it by its text;
 * masd keeps only its SHA-256 (ticket_hash), like every token, so that a read of the database
 * gives no link that works. A ticket goes with its address (ON DELETE CASCADE, as MAS), and a
 * session is consumed once: every ticket of it is spent then. masd-worker deletes sessions a
 * week old (created_at), their tickets with them. */
static const char migration_11[] =
    "CREATE TABLE user_recovery_sessions ("
    " user_recovery_session_id TEXT NOT NULL PRIMARY KEY,"
    " email TEXT NOT NULL,"
    " user_agent TEXT NOT NULL,"
    " ip_address TEXT,"
    " locale TEXT NOT NULL,"
    " created_at BIGINT NOT NULL,"
    " consumed_at BIGINT);"
    "CREATE INDEX user_recovery_sessions_created_idx ON user_recovery_sessions (created_at);"
    "CREATE TABLE user_recovery_tickets ("
    " user_recovery_ticket_id TEXT NOT NULL PRIMARY KEY,"
    " user_recovery_session_id TEXT NOT NULL"
    "  REFERENCES user_recovery_sessions (user_recovery_session_id) ON DELETE CASCADE,"
    " user_email_id TEXT NOT NULL REFERENCES user_emails (user_email_id) ON DELETE CASCADE,"
    " ticket_hash TEXT NOT NULL,"
    " created_at BIGINT NOT NULL,"
    " expires_at BIGINT NOT NULL);"
    "CREATE UNIQUE INDEX user_recovery_tickets_ticket_hash_unique ON user_recovery_tickets (ticket_hash);"
    "CREATE INDEX user_recovery_tickets_session_idx ON user_recovery_tickets (user_recovery_session_id);"
    "CREATE INDEX user_recovery_tickets_user_email_idx ON user_recovery_tickets (user_email_id);";
/* The account pages and GraphQL list a user's sessions a page at a time, in ID order
 * (storage_session_list.c): (user_id, id) indexes serve each page as one short walk, in order,
 * where the user_id indexes of migration 1 made every page read and sort all of the user's
 * sessions; finished_at in them lets a count by state (GraphQL's totalCount, the pages' numbers)
 * read the index alone. They take the old ones' place. */
static const char migration_12[] =
    "DROP INDEX compat_sessions_user_idx;"
    "DROP INDEX oauth2_sessions_user_idx;"
    "DROP INDEX browser_sessions_user_idx;"
    "CREATE INDEX compat_sessions_user_id_idx ON compat_sessions (user_id, compat_session_id, finished_at);"
    "CREATE INDEX oauth2_sessions_user_id_idx ON oauth2_sessions (user_id, oauth2_session_id, finished_at);"
    "CREATE INDEX browser_sessions_user_id_idx ON browser_sessions (user_id, browser_session_id, "
    "finished_at);";

/* Upstream OAuth 2.0 / OpenID Connect providers (MAS: crates/storage-pg/migrations/
 * 20221121151402_upstream_oauth.sql and the later *upstream_oauth* ones; storage_upstream.c): the
 * providers of config.yaml's upstream_oauth2 as the sync writes them (a removed or disabled one
 * is kept, marked by disabled_at, until `masctl config sync --prune`), the links between a
 * provider's subject and a user (no user until registration or linking completes), and the
 * authorization sessions of the sign-in flow. JSON columns are TEXT, as everywhere in masd.
 * Where masd differs from MAS: the ID token's sub and sid are kept in columns of their own
 * (back-channel logout finds sessions by them; MAS indexes an expression over its JSONB), and
 * synapse_idp_id is stored (compat SSO's /login/sso/redirect/{idp} picks a provider by it). */
static const char migration_13[] =
    "CREATE TABLE upstream_oauth_providers ("
    " upstream_oauth_provider_id TEXT NOT NULL PRIMARY KEY,"
    " issuer TEXT,"
    " human_name TEXT,"
    " brand_name TEXT,"
    " synapse_idp_id TEXT,"
    " scope TEXT NOT NULL,"
    " client_id TEXT NOT NULL,"
    " encrypted_client_secret TEXT,"
    " token_endpoint_auth_method TEXT NOT NULL,"
    " token_endpoint_signing_alg TEXT,"
    " id_token_signed_response_alg TEXT NOT NULL,"
    " userinfo_signed_response_alg TEXT,"
    " fetch_userinfo SMALLINT NOT NULL CONSTRAINT upstream_oauth_providers_fetch_userinfo_check CHECK "
    "(fetch_userinfo IN (0, 1)),"
    " claims_imports TEXT NOT NULL,"
    " authorization_endpoint_override TEXT,"
    " token_endpoint_override TEXT,"
    " userinfo_endpoint_override TEXT,"
    " jwks_uri_override TEXT,"
    " discovery_mode TEXT NOT NULL,"
    " pkce_mode TEXT NOT NULL,"
    " response_mode TEXT,"
    " additional_parameters TEXT NOT NULL,"
    " forward_login_hint SMALLINT NOT NULL CONSTRAINT upstream_oauth_providers_forward_login_hint_check "
    "CHECK (forward_login_hint IN (0, 1)),"
    " ui_order BIGINT NOT NULL,"
    " on_backchannel_logout TEXT NOT NULL,"
    " registration_token_required SMALLINT NOT NULL CONSTRAINT "
    "upstream_oauth_providers_registration_token_required_check CHECK (registration_token_required IN (0, "
    "1)),"
    " created_at BIGINT NOT NULL,"
    " disabled_at BIGINT);"
    "CREATE TABLE upstream_oauth_links ("
    " upstream_oauth_link_id TEXT NOT NULL PRIMARY KEY,"
    " upstream_oauth_provider_id TEXT NOT NULL"
    "  REFERENCES upstream_oauth_providers (upstream_oauth_provider_id),"
    " user_id TEXT REFERENCES users (user_id),"
    " subject TEXT NOT NULL,"
    " human_account_name TEXT,"
    " created_at BIGINT NOT NULL);"
    "CREATE UNIQUE INDEX upstream_oauth_links_subject_unique"
    " ON upstream_oauth_links (upstream_oauth_provider_id, subject);"
    "CREATE INDEX upstream_oauth_links_user_idx ON upstream_oauth_links (user_id);"
    "CREATE INDEX upstream_oauth_links_created_idx ON upstream_oauth_links (created_at);"
    "CREATE TABLE upstream_oauth_authorization_sessions ("
    " upstream_oauth_authorization_session_id TEXT NOT NULL PRIMARY KEY,"
    " upstream_oauth_provider_id TEXT NOT NULL"
    "  REFERENCES upstream_oauth_providers (upstream_oauth_provider_id),"
    " upstream_oauth_link_id TEXT REFERENCES upstream_oauth_links (upstream_oauth_link_id),"
    " state TEXT NOT NULL,"
    " code_challenge_verifier TEXT,"
    " nonce TEXT,"
    " id_token TEXT,"
    " id_token_claims TEXT,"
    " id_token_sub TEXT,"
    " id_token_sid TEXT,"
    " extra_callback_parameters TEXT,"
    " userinfo TEXT,"
    " browser_session_id TEXT REFERENCES browser_sessions (browser_session_id) ON DELETE SET NULL,"
    " created_at BIGINT NOT NULL,"
    " completed_at BIGINT,"
    " consumed_at BIGINT,"
    " unlinked_at BIGINT);"
    "CREATE UNIQUE INDEX upstream_oauth_authorization_sessions_state_unique"
    " ON upstream_oauth_authorization_sessions (state);"
    "CREATE INDEX upstream_oauth_authorization_sessions_provider_idx"
    " ON upstream_oauth_authorization_sessions (upstream_oauth_provider_id, id_token_sub, id_token_sid);"
    "CREATE INDEX upstream_oauth_authorization_sessions_link_idx"
    " ON upstream_oauth_authorization_sessions (upstream_oauth_link_id);"
    "CREATE INDEX upstream_oauth_authorization_sessions_session_idx"
    " ON upstream_oauth_authorization_sessions (browser_session_id);"
    "CREATE INDEX upstream_oauth_authorization_sessions_created_idx"
    " ON upstream_oauth_authorization_sessions (created_at);";

/* A sign-in through an upstream provider (services/human/upstream_link.c; MAS:
 * 20230828143553_user_session_authentication_source.sql and the upstream column of
 * 20250113102144_user_registrations.sql): the browser session's authentication names the
 * authorization session it came from (back-channel logout finds browser sessions by it), and a
 * registration started from a provider's claims names it too, so that `finish` links the new user
 * and consumes it. Both are set to NULL when the authorization session goes (a pruned provider). */
static const char migration_15[] =
    "ALTER TABLE browser_session_authentications ADD COLUMN upstream_oauth_authorization_session_id TEXT"
    " REFERENCES upstream_oauth_authorization_sessions (upstream_oauth_authorization_session_id)"
    " ON DELETE SET NULL;"
    "CREATE INDEX browser_session_authentications_upstream_idx"
    " ON browser_session_authentications (upstream_oauth_authorization_session_id);"
    "ALTER TABLE user_registrations ADD COLUMN upstream_oauth_authorization_session_id TEXT"
    " REFERENCES upstream_oauth_authorization_sessions (upstream_oauth_authorization_session_id)"
    " ON DELETE SET NULL;"
    "CREATE INDEX user_registrations_upstream_idx"
    " ON user_registrations (upstream_oauth_authorization_session_id);";

static const struct migration migrations[] = {
    {1, "initial schema", migration_1, NULL, NULL},
    {2, "client assertion jtis, config digests", migration_2, NULL, NULL},
    {3, "device-sync lock, job purge index", migration_3, NULL, NULL},
    {4, "known login networks", migration_4, NULL, NULL},
    {5, "introspection by token hash", migration_5, migration_5_sqlite, migration_5_pg},
    {6, "authorization grants: redirect URI named, code due", migration_6, NULL, NULL},
    {7, "device-code grants: polling interval, last poll", migration_7, NULL, NULL},
    {8, "e-mail authentications and their codes", migration_8, NULL, NULL},
    {9, "user registrations, registration tokens, accepted terms", migration_9, NULL, NULL},
    {10, "compat SSO logins by age", migration_10, NULL, NULL},
    {11, "account recovery sessions and tickets", migration_11, NULL, NULL},
    {12, "sessions by user in ID order", migration_12, NULL, NULL},
    {13, "upstream OAuth providers, links and authorization sessions", migration_13, NULL, NULL},
    {15, "authentications and registrations by upstream authorization session", migration_15, NULL, NULL},
};

#define N_MIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))

unsigned storage_schema_count_after(unsigned version)
{
    unsigned n = 0;
    for (size_t i = 0; i < N_MIGRATIONS; i++)
        n += migrations[i].version > version;
    return n;
}

unsigned storage_schema_latest(void)
{
    return migrations[N_MIGRATIONS - 1].version;
}

static struct storage_stmt table_exists = {
    .sqlite = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
    .pg = "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = "
          "'schema_migrations'",
};
STORAGE_STMT(max_version, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
STORAGE_STMT(insert_version, "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)");
/* Every migrator takes this lock first (held to the end of its transaction), so two
 * `masctl database migrate` never apply the same migration twice. SQLite: BEGIN IMMEDIATE. */
static struct storage_stmt migrate_lock = {
    .sqlite = "SELECT 1",
    .pg = "SELECT pg_advisory_xact_lock(7233690436470112611)",
};

static int read_version(struct storage_tx *tx, unsigned *version)
{
    *version = 0;
    int r = sq_one(tx, &table_exists, NULL, 0, NULL, NULL);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return r;
    struct sq q;
    if ((r = sq_run(tx, &max_version, NULL, 0, &q)) < 0)
        return r;
    if ((r = sq_next(&q)) > 0)
        *version = (unsigned)sq_int(&q, 0);
    sq_done(&q);
    return r < 0 ? r : 0;
}

static int version_fn(struct storage_tx *tx, void *arg)
{
    return read_version(tx, arg);
}

int storage_schema_version(struct storage *st, unsigned *current, unsigned *latest)
{
    if (latest)
        *latest = storage_schema_latest();
    unsigned v = 0;
    int r = storage_tx(st, STORAGE_TX_READ, version_fn, &v);
    if (current)
        *current = v;
    return r;
}

int storage_check_migrations(struct storage *st)
{
    unsigned current, latest;
    int r = storage_schema_version(st, &current, &latest);
    if (r < 0)
        return r;
    if (current > latest)
        return storage_fail(-EPROTO,
                            "%s: the database schema is at version %u, newer than this masd knows (%u): "
                            "upgrade masd",
                            st->describe, current, latest);
    unsigned pending = 0; /* counted: versions may have gaps while branches meet */
    for (size_t i = 0; i < N_MIGRATIONS; i++)
        pending += migrations[i].version > current;
    if (current < latest)
        return storage_fail(
            -ESTALE,
            "%s: the database has %u pending migration%s (at version %u, this masd needs %u): "
            "run `masctl database migrate`",
            st->describe, pending, pending == 1 ? "" : "s", current, latest);
    return 0;
}

struct step {
    unsigned applied_now;
    bool done;
};

/* One migration per transaction: the lock, then the version re-read under it. */
static int migrate_step(struct storage_tx *tx, void *arg)
{
    struct step *s = arg;
    s->done = false;
    int r = sq_one(tx, &migrate_lock, NULL, 0, NULL, NULL);
    if (r >= 0)
        r = tx->conn->st->ops->script(tx->conn, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                                " version BIGINT NOT NULL PRIMARY KEY,"
                                                " applied_at BIGINT NOT NULL)");
    unsigned v = 0;
    if (r >= 0)
        r = read_version(tx, &v);
    if (r < 0)
        return tx->error = r;
    if (v > storage_schema_latest())
        return storage_fail(-EPROTO, "the database schema is at version %u, newer than this masd knows (%u)",
                            v, storage_schema_latest());
    for (size_t i = 0; i < N_MIGRATIONS; i++) {
        if (migrations[i].version <= v)
            continue;
        const struct migration *m = &migrations[i];
        const char *own = tx->conn->st->backend == STORAGE_SQLITE ? m->sqlite : m->pg;
        r = own ? tx->conn->st->ops->script(tx->conn, own) : 0;
        if (r >= 0)
            r = tx->conn->st->ops->script(tx->conn, m->sql);
        if (r < 0) {
            char why[512];
            snprintf(why, sizeof(why), "%s", storage_last_error());
            return tx->error = storage_fail(r, "migration %u (%s): %s", migrations[i].version,
                                            migrations[i].name, why);
        }
        r = sq_exec(tx, &insert_version, SQ_ARGS(P_INT(migrations[i].version), P_INT(masd_now())), NULL);
        if (r < 0)
            return r;
        s->applied_now = migrations[i].version;
        return 0;
    }
    s->done = true;
    return 0;
}

int storage_migrate(struct storage *st, unsigned *applied)
{
    unsigned n = 0;
    for (;;) {
        struct step s = {0};
        int r = storage_tx(st, STORAGE_TX_DURABLE, migrate_step, &s);
        if (r < 0) {
            if (applied)
                *applied = n;
            return r;
        }
        if (s.done)
            break;
        n++;
    }
    if (applied)
        *applied = n;
    return 0;
}
