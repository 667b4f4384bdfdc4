/* A password login's steps (password_login.h holds the rules). */
#include "password_login.h"
#include "clock.h"
#include "log.h"
#include "passwords.h"
#include <errno.h>
#include <openssl/crypto.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

long password_login_username(const struct config *cfg, const char *input, char *out, size_t size)
{
    const char *local = input, *homeserver = cfg->matrix.homeserver;
    size_t len = strlen(input);
    const char *colon = input[0] == '@' ? strchr(input, ':') : NULL;
    /* A user ID on our homeserver ("@alice:example.com") names its localpart; a non-empty
     * localpart is required, as in a user ID (MAS: HomeserverConnection::localpart). */
    if (colon && colon > input + 1 && homeserver && strcmp(colon + 1, homeserver) == 0) {
        local = input + 1;
        len = (size_t)(colon - local);
    }
    if (len + 1 > size)
        return -ENAMETOOLONG;
    memcpy(out, local, len);
    out[len] = '\0';
    return (long)len;
}

/* The client's network and its per-IP bucket. Without a client address (a UNIX-socket peer that
 * sent no usable X-Forwarded-For) every such request shares one bucket (docs/architecture.md §3):
 * warn the operator, at most once a minute, to fix the proxy. */
static void login_ip_key(struct password_login *j, const struct masd_addr *client)
{
    static _Atomic int64_t last_warned;
    if (client && addr_network(client, j->cfg->rate_limiting.ipv6_prefix_length, j->network)) {
        snprintf(j->ip_key, sizeof(j->ip_key), "login.per_ip:%s", j->network);
        return;
    }
    j->network[0] = '\0';
    snprintf(j->ip_key, sizeof(j->ip_key), "login.per_ip:-");
    int64_t now = masd_now(), prev = atomic_load(&last_warned);
    if (now - prev >= 60000 && atomic_compare_exchange_strong(&last_warned, &prev, now))
        log_warn("login: a request without a client address: every such request shares one rate-limit "
                 "bucket; let the proxy send X-Forwarded-For or the PROXY protocol");
}

int password_login_init(struct password_login *j, const struct config *cfg, const char *input,
                        const char *password, size_t password_len, const struct masd_addr *client,
                        unsigned flags)
{
    j->cfg = cfg;
    long n = password_login_username(cfg, input, j->name, sizeof(j->name));
    if (n < 0)
        j->name[0] = '\0';
    j->by_email =
        (flags & PASSWORD_LOGIN_EMAIL) && cfg->login_with_email_allowed && n >= 0 && strchr(j->name, '@');
    /* A name no lookup can match still goes through the same steps, at the same cost. */
    j->name_too_long = n < 0 || (n > STORAGE_USERNAME_MAX && !j->by_email);
    login_ip_key(j, client);
    j->password_len = password_len;
    j->password = malloc(password_len + 1);
    if (!j->password)
        return -ENOMEM;
    memcpy(j->password, password, password_len);
    j->password[password_len] = '\0';
    return 0;
}

void password_login_clear(struct password_login *j)
{
    if (j->password)
        OPENSSL_cleanse(j->password, j->password_len);
    free(j->password);
    free(j->new_hash);
    j->password = j->new_hash = NULL;
}

/* The account the name names: by e-mail address first when asked (MAS:
 * get_user_by_email_or_by_username; user_emails holds confirmed addresses only), then by
 * username. Sets j->found; returns 0 or a storage error. */
static int login_lookup(struct storage_tx *tx, struct password_login *j)
{
    struct storage_email email;
    int r;
    if (j->name_too_long)
        return 0;
    if (j->by_email) {
        r = storage_email_find(tx, j->name, &email);
        if (r >= 0)
            r = storage_user_get(tx, email.user_id, &j->user);
        if (r >= 0) {
            j->found = true;
            return 0;
        }
        if (r != -ENOENT)
            return r;
    }
    r = storage_user_find(tx, j->name, &j->user);
    j->found = r >= 0;
    return r == -ENOENT ? 0 : r;
}

/* The per-account bucket of the name as typed, ASCII-folded (storage_username_fold's rule, for
 * e-mail addresses too, which may be longer than a username). */
static void login_account_key(const struct password_login *j, char *key, size_t size)
{
    size_t n = (size_t)snprintf(key, size, "login.per_account:");
    for (const char *p = j->name; *p && n + 1 < size; p++)
        key[n++] = *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p;
    key[n] = '\0';
}

int password_login_precheck(struct storage_tx *tx, struct password_login *j)
{
    const struct config_rate_limiting *rl = &j->cfg->rate_limiting;
    int64_t now = masd_now();
    char key[32 + PASSWORD_LOGIN_NAME_MAX];
    j->outcome = PASSWORD_LOGIN_OK, j->found = false, j->has_password = false, j->dummy = true;
    int r = storage_rate_limit_check(tx, j->ip_key, rl->login_per_ip.burst, rl->login_per_ip.per_second, now,
                                     &j->retry_after_ms);
    if (r <= 0) {
        j->outcome = r < 0 ? PASSWORD_LOGIN_INTERNAL : PASSWORD_LOGIN_LIMITED;
        return r;
    }
    if ((r = login_lookup(tx, j)) < 0)
        goto fail;
    bool exempt = false;
    if (j->found && !j->user.deactivated_at && j->network[0]) {
        r = storage_login_network_known(tx, j->user.id, j->network, now - STORAGE_LOGIN_NETWORK_TTL_MS);
        if (r < 0)
            goto fail;
        exempt = r == 1;
    }
    if (!exempt && !j->name_too_long) { /* a too-long name cannot name an account */
        login_account_key(j, key, sizeof(key));
        r = storage_rate_limit_check(tx, key, rl->login_per_account.burst, rl->login_per_account.per_second,
                                     now, &j->retry_after_ms);
        if (r <= 0) {
            j->outcome = r < 0 ? PASSWORD_LOGIN_INTERNAL : PASSWORD_LOGIN_LIMITED;
            return r;
        }
    }
    if (!j->found)
        return 0;
    r = storage_password_get_active(tx, j->user.id, &j->pw);
    if (r == -ENOENT)
        return 0; /* no password set: as a wrong one, at the same cost */
    if (r < 0)
        goto fail;
    j->has_password = true, j->dummy = false;
    return 0;
fail:
    j->outcome = PASSWORD_LOGIN_INTERNAL;
    return r;
}

void password_login_verify(struct password_login *j, const struct config *cfg)
{
    const struct config_passwords *pw = &cfg->passwords;
    j->upgrade = false;
    if (j->dummy) {
        j->verify = password_verify_dummy(pw, j->password, j->password_len);
        j->outcome = PASSWORD_LOGIN_FORBIDDEN;
        return;
    }
    j->verify = password_verify(pw, j->pw.version, j->pw.hash, j->password, j->password_len, &j->upgrade);
    if (j->verify < 0) {
        if (j->verify != -EPERM)
            log_warn("login: the stored password of user %s cannot be used: %s", j->user.id,
                     strerror(-j->verify));
        j->outcome = PASSWORD_LOGIN_FORBIDDEN, j->upgrade = false;
        return;
    }
    /* MAS: crates/handlers/src/views/login.rs tells deactivated before locked. Either way the
     * login ends here and nothing is written. */
    j->outcome = j->user.deactivated_at ? PASSWORD_LOGIN_DEACTIVATED
                 : j->user.locked_at    ? PASSWORD_LOGIN_LOCKED
                                        : PASSWORD_LOGIN_OK;
    if (j->outcome != PASSWORD_LOGIN_OK)
        j->upgrade = false;
    if (j->upgrade && password_hash(pw, j->password, j->password_len, &j->new_hash, &j->new_version) < 0) {
        log_warn("cannot re-hash the password of user %s with the newest scheme", j->user.id);
        j->upgrade = false; /* the login still succeeds; the upgrade waits for the next one */
    }
}

int password_login_record(struct storage_tx *tx, struct password_login *j, int64_t now)
{
    int r = 0;
    if (j->upgrade)
        r = storage_password_add(tx, j->user.id, j->new_hash, j->new_version, j->pw.id, now, &j->new_pw);
    if (r >= 0 && j->network[0])
        r = storage_login_network_record(tx, j->user.id, j->network, now);
    return r;
}

const char *password_login_password_id(const struct password_login *j)
{
    return j->upgrade ? j->new_pw.id : j->pw.id;
}
