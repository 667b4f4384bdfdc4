/* The schema and its versioned migrations, embedded in the binary.
 *
 * One DDL text serves both backends: only BIGINT (int64 milliseconds, counters), SMALLINT (0/1
 * flags, with a CHECK), and TEXT (ULIDs, names, SHA-256 hex, JSON) are used, which SQLite and
 * PostgreSQL both accept and store the same way (SQLite gives BIGINT/SMALLINT INTEGER affinity).
 * No DEFAULT, no expression index, no backend-specific type: what one backend holds, the other
 * holds byte for byte (test_storage_schema compares the two catalogues). Primary-key columns are
 * declared NOT NULL: SQLite, for historical reasons, would otherwise accept NULL in a primary
 * key that is not an INTEGER one, where PostgreSQL never does.
 *
 * Migrations only ever get appended; a released one is never edited. */
#include "clock.h"
#include "storage_internal.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>

struct migration {
    unsigned version;
    const char *name;
    const char *sql;
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

static const struct migration migrations[] = {
    {1, "initial schema", migration_1},
    {2, "client assertion jtis, config digests", migration_2},
    {3, "device-sync lock, job purge index", migration_3},
    {4, "known login networks", migration_4},
};

#define N_MIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))

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
    if (current < latest)
        return storage_fail(
            -ESTALE,
            "%s: the database has %u pending migration%s (at version %u, this masd needs %u): "
            "run `masctl database migrate`",
            st->describe, latest - current, latest - current == 1 ? "" : "s", current, latest);
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
        r = tx->conn->st->ops->script(tx->conn, migrations[i].sql);
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
