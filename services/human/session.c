/* The browser's cookies (human.h): `session` names its browser session, `csrf` backs the forms'
 * tokens. Both in MAS's encrypted format and with its flags (MAS: crates/axum-utils/src/
 * cookies.rs, csrf.rs, session.rs), so a browser signed in to MAS stays signed in under masd. */
#include "activity.h"
#include "base64.h"
#include "clock.h"
#include "cookie_header.h"
#include "form.h"
#include "human.h"
#include "log.h"
#include "random.h"
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CSRF_LIFETIME_S    3600                     /* MAS: one hour, renewed on each form */
#define SESSION_LIFETIME_S (20LL * 365 * 24 * 3600) /* MAS: the cookie crate's "permanent" */

int human_open_cookie(struct masd_request *r, const char *name, char **plain, size_t *len)
{
    masd_str v;
    if (!masd_req_cookie(r, name, &v))
        return -ENOENT;
    return cookie_open(human.jar, name, v.ptr, v.len, plain, len);
}

void human_set_cookie(struct masd_request *r, const char *name, const char *json, bool permanent)
{
    char *value = NULL, expires[64] = "", *line = NULL;
    if (!json || cookie_seal(human.jar, name, json, strlen(json), &value) < 0) {
        log_error("cannot seal the %s cookie", name);
        return;
    }
    if (permanent) {
        time_t t = (time_t)(masd_now() / 1000 + SESSION_LIFETIME_S);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(expires, sizeof(expires), "; Max-Age=630720000; Expires=%a, %d %b %Y %H:%M:%S GMT", &tm);
    }
    if (asprintf(&line, "%s=%s; Path=%s; HttpOnly; SameSite=Lax%s%s", name, value, human.cookie_path, expires,
                 human.secure ? "; Secure" : "") >= 0) {
        masd_add_header(r, "set-cookie", masd_str_from(line));
        free(line);
    }
    free(value);
}

void human_clear_cookie(struct masd_request *r, const char *name)
{
    char *line = NULL;
    if (asprintf(&line,
                 "%s=; Path=%s; HttpOnly; SameSite=Lax; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT%s",
                 name, human.cookie_path, human.secure ? "; Secure" : "") >= 0) {
        masd_add_header(r, "set-cookie", masd_str_from(line));
        free(line);
    }
}

void browser_read_cookie(struct masd_request *r, struct browser *b)
{
    char *plain = NULL;
    size_t len;
    *b = (struct browser){.state = BROWSER_ANONYMOUS};
    int rc = human_open_cookie(r, "session", &plain, &len);
    if (rc == -EBADMSG)
        log_info("session cookie: not one of ours (another secret, or tampered): ignored");
    if (rc == 0 && cookie_session_parse(plain, len, &b->cookie) < 0) {
        log_info("session cookie: sealed by us but not a session: ignored");
        b->cookie = (struct cookie_session){0};
    }
    free(plain);
}

int browser_load(struct storage_tx *tx, struct browser *b)
{
    b->state = BROWSER_ANONYMOUS;
    if (!b->cookie.current[0])
        return 0;
    int r = storage_browser_session_get(tx, b->cookie.current, &b->session);
    if (r == -ENOENT) {
        b->state = BROWSER_GONE;
        return 0;
    }
    if (r < 0 || (r = storage_user_get(tx, b->session.user_id, &b->user)) < 0)
        return r;
    /* MAS: crates/handlers/src/session.rs load_session_or_fallback */
    b->state = b->user.deactivated_at   ? BROWSER_DEACTIVATED
               : b->user.locked_at      ? BROWSER_LOCKED
               : b->session.finished_at ? BROWSER_FINISHED
                                        : BROWSER_ACTIVE;
    return 0;
}

/* The session was used now, from the client's address as the trusted proxies tell it
 * (docs/architecture.md §3). */
static void note_activity(struct masd_request *r, const char *session_id)
{
    char ip[MASD_ADDR_STRLEN];
    human_client_ip(r, ip, sizeof(ip));
    activity_note(STORAGE_SESSION_BROWSER, session_id, masd_now(), ip);
}

void browser_write_cookie(struct masd_request *r, struct browser *b)
{
    if (b->state == BROWSER_GONE) {
        b->cookie.current[0] = '\0';
        b->cookie.logged_out_at = masd_now();
        b->state = BROWSER_ANONYMOUS;
    } else if (b->state == BROWSER_ACTIVE) {
        note_activity(r, b->session.id);
    }
    if (!b->cookie.current[0] && !b->cookie.logged_out_at)
        return; /* nothing to remember: no cookie at all, as MAS sets none for a new browser */
    char *json = cookie_session_render(&b->cookie);
    human_set_cookie(r, "session", json, true);
    free(json);
}

void browser_set_session(struct masd_request *r, const char *session_id)
{
    struct cookie_session c = {0};
    if (session_id) {
        snprintf(c.current, sizeof(c.current), "%s", session_id);
        note_activity(r, session_id); /* a new session's first use: its sign-in (MAS) */
    } else
        c.logged_out_at = masd_now();
    char *json = cookie_session_render(&c);
    human_set_cookie(r, "session", json, true);
    free(json);
}

json_t *browser_current(const struct storage_user *u)
{
    char mxid[STORAGE_USERNAME_MAX + 300];
    snprintf(mxid, sizeof(mxid), "@%s:%s", u->username, human.cfg->matrix.homeserver);
    return json_pack("{s:s, s:s}", "username", u->username, "mxid", mxid);
}

/* The user card: initial and one of six colours, stable per user (MAS: id_color_hash). */
json_t *human_user_card(const struct storage_user *u)
{
    json_t *o = browser_current(u);
    unsigned hash = 0;
    for (const char *c = u->username; *c; c++)
        hash = hash * 31 + (unsigned char)*c;
    char initial[2] = {
        u->username[0] >= 'a' && u->username[0] <= 'z' ? (char)(u->username[0] - 32) : u->username[0], 0};
    json_object_set_new(o, "initial", json_string(initial[0] & 0x80 ? "?" : initial));
    json_object_set_new(o, "color", json_integer(hash % 6 + 1));
    return o;
}

void browser_interstitial(struct masd_request *r, const struct browser *b, const struct action *action)
{
    struct page p = {.data = page_data()};
    const char *csrf = csrf_issue(r);
    if (!p.data || !csrf) {
        json_decref(p.data);
        page_error(r, 500, "internal", "out of memory");
        return;
    }
    json_object_set_new(p.data, "csrf", json_string(csrf));
    json_object_set_new(p.data,
                        b->state == BROWSER_LOCKED        ? "locked"
                        : b->state == BROWSER_DEACTIVATED ? "deactivated"
                                                          : "logged_out",
                        json_true());
    json_object_set_new(p.data, "user", browser_current(&b->user));
    const char *kind = action_kind_name(action->kind);
    if (kind)
        json_object_set_new(p.data, "action", json_pack("{s:s, s:s}", "kind", kind, "id", action->id));
    page_send(r, 200, "interstitial.html", &p);
}

enum csrf_result { CSRF_OK, CSRF_MISSING, CSRF_EXPIRED, CSRF_INVALID, CSRF_MISMATCH };

/* ---- CSRF: double submit (MAS: crates/axum-utils/src/csrf.rs) ---------------------------------- */

static int read_csrf(struct masd_request *r, struct cookie_csrf *c)
{
    char *plain = NULL;
    size_t len;
    int rc = human_open_cookie(r, "csrf", &plain, &len);
    if (rc == 0)
        rc = cookie_csrf_parse(plain, len, c) < 0 ? -EBADMSG : 0;
    free(plain);
    return rc;
}

const char *csrf_issue(struct masd_request *r)
{
    struct cookie_csrf c;
    int64_t now_s = masd_now() / 1000;
    if (read_csrf(r, &c) < 0 || c.expiration <= now_s) {
        if (random_bytes(c.token, sizeof(c.token)) < 0)
            return NULL;
    }
    c.expiration = now_s + CSRF_LIFETIME_S;
    char *json = cookie_csrf_render(&c), *token = base64url_encode(c.token, sizeof(c.token));
    const char *out = NULL;
    if (json && token) {
        human_set_cookie(r, "csrf", json, false);
        char *copy = masd_req_alloc(r, strlen(token) + 1);
        out = strcpy(copy, token);
    }
    free(json);
    free(token);
    OPENSSL_cleanse(&c, sizeof(c));
    return out;
}

static enum csrf_result csrf_verify(struct masd_request *r, masd_str form)
{
    struct cookie_csrf c;
    if (read_csrf(r, &c) < 0)
        return CSRF_MISSING;
    if (masd_now() / 1000 >= c.expiration)
        return CSRF_EXPIRED;
    char *value = NULL;
    unsigned char got[64];
    size_t n = 0;
    int rc = form_get(form, "csrf", &value);
    if (rc != 1) {
        free(value);
        return CSRF_INVALID; /* absent, twice, or not decodable */
    }
    rc = strlen(value) <= 64 ? base64url_decode(value, strlen(value), got, &n) : -EINVAL;
    free(value);
    if (rc < 0 || n != sizeof(c.token))
        return CSRF_INVALID;
    return CRYPTO_memcmp(got, c.token, sizeof(c.token)) == 0 ? CSRF_OK : CSRF_MISMATCH;
}

static void csrf_error(struct masd_request *r, enum csrf_result result)
{
    static const char *const kinds[] = {
        [CSRF_MISSING] = "csrf_missing",
        [CSRF_EXPIRED] = "csrf_expired",
        [CSRF_INVALID] = "csrf_invalid",
        [CSRF_MISMATCH] = "csrf_mismatch",
    };
    page_error(r, 400, result <= CSRF_MISMATCH && kinds[result] ? kinds[result] : "csrf_invalid", NULL);
}

bool csrf_check(struct masd_request *r)
{
    enum csrf_result c = csrf_verify(r, r->body);
    if (c != CSRF_OK)
        csrf_error(r, c);
    return c == CSRF_OK;
}
