/* The account's session pages (MAS's SPA: frontend/src/routes/_account.sessions.*.tsx,
 * _account.devices.$.tsx; here server-rendered, no JavaScript needed):
 *
 *   GET  /account/sessions[?inactive=true][&before=ID|&after=ID]
 *        the user's active app sessions (compat and OAuth), newest first, six a page; with
 *        inactive=true only those not seen for 90 days; and a summary of the browser sessions
 *   GET  /account/sessions/browsers[?before=ID|&after=ID]   the active browser sessions
 *   GET  /account/sessions/{id}      one session ({id}: a ULID or a node ID such as
 *                                    "compat_session:01H…"): what it is, a rename form, an end form
 *   POST /account/sessions/{id}      action=rename&name=…, or action=end (CSRF); then 303
 *   GET  /account/devices/{device}   303 to the session that holds the device (MSC4191's
 *                                    session_view, session_end), or the 404 page
 *
 * A signed-out browser goes to the login first and comes back (the post-auth action
 * manage_account). Only the owner sees a session: anyone else's is the same 404 page as one that
 * does not exist. Ending the browser session this page runs in signs the browser out. */
#include "account_parse.h"
#include "account_sessions.h"
#include "clock.h"
#include "form.h"
#include "human.h"
#include "log.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PAGE_SIZE      6                         /* MAS: frontend/src/routes/_account.sessions.index.tsx */
#define INACTIVE_MS    (90LL * 24 * 3600 * 1000) /* MAS: getNinetyDaysAgo() */
#define NAME_INPUT_MAX (4 * HOMESERVER_DEVICE_NAME_MAX) /* bytes of a posted name before it is cut */

enum sessions_page { PAGE_LIST, PAGE_BROWSERS, PAGE_DETAIL, PAGE_DEVICE };

enum outcome {
    OUT_PAGE,     /* render the page */
    OUT_REDIRECT, /* 303 to location */
    OUT_LOGIN,    /* signed out: to the login, continuing with `action` */
    OUT_INTERSTITIAL,
    OUT_NOT_FOUND,
    OUT_INTERNAL,
    OUT_RENAME, /* the POST goes on to the outbound pool */
};

struct sessions_job {
    enum sessions_page page;
    bool post, inactive;
    char after[STORAGE_ID_SIZE], before[STORAGE_ID_SIZE];
    char id[STORAGE_ID_SIZE];       /* the detail page's session */
    enum storage_session_kind kind; /* its kind, when the node ID said it */
    bool kind_known;
    char device_id[STORAGE_DEVICE_ID_MAX + 1];
    char verb[16]; /* POST: rename, end */
    char name[NAME_INPUT_MAX + 1];
    struct browser browser;
    struct action action;
    enum outcome out;
    json_t *data;
    char location[512];
    bool signed_out; /* ended its own browser session */
    int rename_status;
};

static void job_free(struct sessions_job *j)
{
    json_decref(j->data);
    free(j);
}

/* ---- presenting sessions ------------------------------------------------------------------- */

/* "2026-12-07 17:21 UTC" for ms since the epoch; NULL for 0. */
static json_t *time_json(int64_t ms)
{
    if (!ms)
        return NULL;
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char buf[32];
    if (!gmtime_r(&t, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M UTC", &tm))
        return NULL;
    return json_string(buf);
}

static void set_opt(json_t *o, const char *key, json_t *v)
{
    if (v)
        json_object_set_new(o, key, v);
}

static void set_text(json_t *o, const char *key, const char *s)
{
    if (s && s[0])
        json_object_set_new(o, key, json_string(s));
}

/* The client of an OAuth session: {client_id, name, uri}. */
static json_t *client_json(struct storage_tx *tx, const char *client_id)
{
    struct storage_oauth_client c = {0};
    if (storage_oauth_client_get(tx, client_id, &c) < 0)
        return json_pack("{s:s, s:s}", "client_id", client_id, "name", client_id);
    json_t *meta = json_loads(c.metadata ? c.metadata : "{}", 0, NULL);
    const char *name = json_string_value(json_object_get(meta, "client_name"));
    const char *uri = json_string_value(json_object_get(meta, "client_uri"));
    json_t *o =
        json_pack("{s:s, s:s, s:s?}", "client_id", c.id, "name", name && *name ? name : c.id, "uri", uri);
    json_decref(meta);
    storage_oauth_client_clear(&c);
    return o;
}

static json_t *common_json(const char *id, int64_t created, int64_t finished, int64_t last_active,
                           const char *ip, const char *user_agent)
{
    json_t *o = json_object();
    char url[128];
    snprintf(url, sizeof(url), "%s/account/sessions/%s", human.root, id);
    json_object_set_new(o, "id", json_string(id));
    json_object_set_new(o, "url", json_string(url));
    set_opt(o, "created_at", time_json(created));
    set_opt(o, "finished_at", time_json(finished));
    set_opt(o, "last_active_at", time_json(last_active));
    set_text(o, "last_active_ip", ip);
    json_t *ua = account_user_agent_json(user_agent);
    if (ua) { /* the template tells the types apart by a flag each */
        char flag[32];
        snprintf(flag, sizeof(flag), "type_%s", json_string_value(json_object_get(ua, "device_type")));
        json_object_set_new(ua, flag, json_true());
        json_object_set_new(o, "user_agent", ua);
    }
    json_object_set_new(o, "active", json_boolean(!finished));
    return o;
}

static json_t *app_session_json(struct storage_tx *tx, const struct storage_app_session *s)
{
    if (s->kind == STORAGE_SESSION_COMPAT) {
        const struct storage_compat_session *c = &s->compat;
        json_t *o = common_json(c->id, c->created_at, c->finished_at, c->last_active_at, c->last_active_ip,
                                c->user_agent);
        json_object_set_new(o, "compat", json_true());
        json_object_set_new(o, "sso", json_boolean(c->browser_session_id[0]));
        set_text(o, "device_id", c->device_id);
        set_text(o, "human_name", c->human_name);
        return o;
    }
    const struct storage_oauth_session *a = &s->oauth;
    json_t *o = common_json(a->id, a->created_at, a->finished_at, a->last_active_at, a->last_active_ip,
                            a->user_agent);
    json_object_set_new(o, "oauth", json_true());
    json_object_set_new(o, "client", client_json(tx, a->client_id));
    set_text(o, "human_name", a->human_name);
    set_text(o, "scope", a->scope);
    char devices[1][STORAGE_DEVICE_ID_MAX + 1];
    if (account_scope_devices(a->scope, devices, 1))
        json_object_set_new(o, "device_id", json_string(devices[0]));
    return o;
}

static json_t *browser_session_json(const struct storage_browser_session *b, const char *current_id)
{
    json_t *o = common_json(b->id, b->created_at, b->finished_at, b->last_active_at, b->last_active_ip,
                            b->user_agent);
    json_object_set_new(o, "browser", json_true());
    json_object_set_new(o, "current", json_boolean(strcmp(b->id, current_id) == 0));
    return o;
}

/* The pager's links: a page is shown newest first; "older" goes on below its last row,
 * "newer" above its first. */
static void pager(json_t *data, const char *base, const char *extra, const char *newest, const char *oldest,
                  bool older, bool newer)
{
    char url[256];
    if (older) {
        snprintf(url, sizeof(url), "%s?%sbefore=%s", base, extra, oldest);
        json_object_set_new(data, "older_url", json_string(url));
    }
    if (newer) {
        snprintf(url, sizeof(url), "%s?%safter=%s", base, extra, newest);
        json_object_set_new(data, "newer_url", json_string(url));
    }
}

/* The page the cursors ask for: newest first by default (the last n), else after/before. */
static struct storage_page page_of(const struct sessions_job *j)
{
    if (j->after[0])
        return (struct storage_page){.count = PAGE_SIZE, .after = j->after};
    return (struct storage_page){.backward = true, .count = PAGE_SIZE, .before = j->before};
}

/* ---- the pages' transactions ---------------------------------------------------------------- */

static int list_tx(struct storage_tx *tx, struct sessions_job *j)
{
    const char *user_id = j->browser.user.id;
    int64_t cut = masd_now() - INACTIVE_MS;
    struct storage_session_filter active = {.state = STORAGE_STATE_ACTIVE};
    struct storage_session_filter f = active;
    if (j->inactive)
        f.last_active_before = cut;
    struct storage_page p = page_of(j);
    struct storage_app_session *s = NULL;
    size_t n = 0;
    bool more = false;
    int64_t total = 0, inactive = 0, browsers = 0;
    int r = storage_app_sessions_list(tx, user_id, &f, &p, &s, &n, &more);
    if (r >= 0)
        r = storage_app_sessions_count(tx, user_id, &f, &total);
    struct storage_session_filter old = {.state = STORAGE_STATE_ACTIVE, .last_active_before = cut};
    if (r >= 0)
        r = storage_app_sessions_count(tx, user_id, &old, &inactive);
    if (r >= 0)
        r = storage_browser_sessions_count(tx, user_id, &active, &browsers);
    if (r < 0) {
        free(s);
        return r;
    }
    json_t *list = json_array();
    for (size_t i = n; i-- > 0;) /* newest first */
        json_array_append_new(list, app_session_json(tx, &s[i]));
    json_object_set_new(j->data, "sessions", list);
    json_object_set_new(j->data, "total", json_integer(total));
    json_object_set_new(j->data, "inactive_count", json_integer(inactive));
    json_object_set_new(j->data, "inactive", json_boolean(j->inactive));
    json_object_set_new(j->data, "browser_count", json_integer(browsers));
    json_object_set_new(j->data, "current_browser",
                        browser_session_json(&j->browser.session, j->browser.session.id));
    char base[128];
    snprintf(base, sizeof(base), "%s/account/sessions", human.root);
    if (n)
        pager(j->data, base, j->inactive ? "inactive=true&" : "", storage_app_session_id(&s[n - 1]),
              storage_app_session_id(&s[0]), p.backward ? more : true, p.backward ? j->before[0] != 0 : more);
    free(s);
    return 0;
}

static int browsers_tx(struct storage_tx *tx, struct sessions_job *j)
{
    struct storage_session_filter active = {.state = STORAGE_STATE_ACTIVE};
    struct storage_page p = page_of(j);
    struct storage_browser_session *s = NULL;
    size_t n = 0;
    bool more = false;
    int64_t total = 0;
    int r = storage_browser_sessions_list(tx, j->browser.user.id, &active, &p, &s, &n, &more);
    if (r >= 0)
        r = storage_browser_sessions_count(tx, j->browser.user.id, &active, &total);
    if (r < 0) {
        free(s);
        return r;
    }
    json_t *list = json_array();
    for (size_t i = n; i-- > 0;)
        json_array_append_new(list, browser_session_json(&s[i], j->browser.session.id));
    json_object_set_new(j->data, "sessions", list);
    json_object_set_new(j->data, "total", json_integer(total));
    char base[128];
    snprintf(base, sizeof(base), "%s/account/sessions/browsers", human.root);
    if (n)
        pager(j->data, base, "", s[n - 1].id, s[0].id, p.backward ? more : true,
              p.backward ? j->before[0] != 0 : more);
    free(s);
    return 0;
}

/* The detail page's session, the user's own: 1 found (*kind set), 0 not the user's or none. */
static int find_session(struct storage_tx *tx, struct sessions_job *j, struct storage_app_session *app,
                        struct storage_browser_session *b)
{
    int r;
    if (!j->kind_known || j->kind != STORAGE_SESSION_BROWSER) {
        r = storage_app_session_get(tx, j->id, app);
        if (r >= 0 && (!j->kind_known || app->kind == j->kind) &&
            strcmp(storage_app_session_user_id(app), j->browser.user.id) == 0) {
            j->kind = app->kind;
            return 1;
        }
        if (r < 0 && r != -ENOENT)
            return r;
    }
    if (!j->kind_known || j->kind == STORAGE_SESSION_BROWSER) {
        r = storage_browser_session_get(tx, j->id, b);
        if (r >= 0 && strcmp(b->user_id, j->browser.user.id) == 0) {
            j->kind = STORAGE_SESSION_BROWSER;
            return 1;
        }
        if (r < 0 && r != -ENOENT)
            return r;
    }
    return 0;
}

static int detail_tx(struct storage_tx *tx, struct sessions_job *j)
{
    struct storage_app_session app;
    struct storage_browser_session b;
    int r = find_session(tx, j, &app, &b);
    if (r <= 0) {
        if (r == 0)
            j->out = OUT_NOT_FOUND;
        return r;
    }
    if (j->post && strcmp(j->verb, "end") == 0) {
        if ((r = account_session_end(tx, j->browser.user.id, j->kind, j->id, masd_now())) < 0)
            return r;
        j->signed_out = j->kind == STORAGE_SESSION_BROWSER && strcmp(j->id, j->browser.session.id) == 0;
        snprintf(j->location, sizeof(j->location), "%s/account/sessions%s", human.root,
                 j->kind == STORAGE_SESSION_BROWSER ? "/browsers" : "");
        if (j->signed_out)
            snprintf(j->location, sizeof(j->location), "%s/login", human.root);
        j->out = OUT_REDIRECT;
        return 0;
    }
    if (j->post) { /* rename: the homeserver first, on the outbound pool */
        j->out = j->kind == STORAGE_SESSION_BROWSER ? OUT_NOT_FOUND : OUT_RENAME;
        return 0;
    }
    json_t *s = j->kind == STORAGE_SESSION_BROWSER ? browser_session_json(&b, j->browser.session.id)
                                                   : app_session_json(tx, &app);
    json_object_set_new(j->data, "s", s);
    return 0;
}

static int device_tx(struct storage_tx *tx, struct sessions_job *j)
{
    struct storage_app_session s;
    int r = storage_app_session_by_device(tx, j->browser.user.id, j->device_id, &s);
    if (r == -ENOENT) {
        j->out = OUT_NOT_FOUND;
        return 0;
    }
    if (r < 0)
        return r;
    snprintf(j->location, sizeof(j->location), "%s/account/sessions/%s", human.root,
             storage_app_session_id(&s));
    j->out = OUT_REDIRECT;
    return 0;
}

static int page_tx(struct storage_tx *tx, void *arg)
{
    struct sessions_job *j = arg;
    json_decref(j->data);
    j->data = json_object();
    j->out = OUT_PAGE;
    int r = browser_load(tx, &j->browser);
    if (r < 0 || !j->data)
        return r < 0 ? r : -ENOMEM;
    if (j->browser.state != BROWSER_ACTIVE) {
        j->out = j->browser.state == BROWSER_ANONYMOUS || j->browser.state == BROWSER_GONE ? OUT_LOGIN
                                                                                           : OUT_INTERSTITIAL;
        return 0;
    }
    switch (j->page) {
    case PAGE_LIST:
        return list_tx(tx, j);
    case PAGE_BROWSERS:
        return browsers_tx(tx, j);
    case PAGE_DETAIL:
        return detail_tx(tx, j);
    default:
        return device_tx(tx, j);
    }
}

static void page_work(void *arg)
{
    struct sessions_job *j = arg;
    unsigned flags = j->post ? STORAGE_TX_WRITE : STORAGE_TX_READ;
    if (storage_tx(human.st, flags, page_tx, j) < 0) {
        log_error("account sessions: %s", storage_last_error());
        j->out = OUT_INTERNAL;
    }
}

static void rename_work(void *arg)
{
    struct sessions_job *j = arg;
    struct homeserver_result res;
    j->rename_status = account_session_rename(j->browser.user.id, j->kind, j->id, j->name, &res);
}

/* ---- answering ----------------------------------------------------------------------------- */

static void render(struct masd_request *r, struct sessions_job *j, int status)
{
    static const char *const templates[] = {
        [PAGE_LIST] = "sessions.html",
        [PAGE_BROWSERS] = "sessions_browsers.html",
        [PAGE_DETAIL] = "session.html",
    };
    struct page p = {.data = page_data()};
    const char *csrf = csrf_issue(r);
    if (!p.data || !csrf) {
        json_decref(p.data);
        page_error(r, 500, "internal", "out of memory");
        return;
    }
    json_object_update(p.data, j->data);
    json_object_set_new(p.data, "csrf", json_string(csrf));
    json_object_set_new(p.data, "current", browser_current(&j->browser.user));
    page_send(r, status, templates[j->page], &p);
}

static void answer(struct masd_request *r, void *arg)
{
    struct sessions_job *j = arg;
    if (!r) {
        job_free(j);
        return;
    }
    if (j->out == OUT_RENAME) {
        j->out = OUT_REDIRECT;
        snprintf(j->location, sizeof(j->location), "%s/account/sessions/%s", human.root, j->id);
        if (masd_defer_outbound(r, rename_work, answer, j) == MASD_DEFER_QUEUED)
            return;
        job_free(j);
        page_error(r, 503, "busy", NULL);
        return;
    }
    if (j->out == OUT_REDIRECT && j->rename_status < 0) { /* after the rename */
        if (j->rename_status == -ENOENT) {
            j->out = OUT_NOT_FOUND;
        } else {
            job_free(j);
            page_error(r, 502, "homeserver", "the homeserver did not take the new device name");
            return;
        }
    }
    if (j->out != OUT_LOGIN && j->out != OUT_INTERNAL && !j->signed_out)
        browser_write_cookie(r, &j->browser);
    char q[700], to[1024];
    switch (j->out) {
    case OUT_PAGE:
        render(r, j, 200);
        break;
    case OUT_REDIRECT:
        if (j->signed_out)
            browser_set_session(r, NULL);
        page_redirect(r, j->location);
        break;
    case OUT_LOGIN:
        browser_write_cookie(r, &j->browser);
        action_query(&j->action, q, sizeof(q));
        snprintf(to, sizeof(to), "%s/login?%s", human.root, q);
        page_redirect(r, to);
        break;
    case OUT_INTERSTITIAL:
        browser_interstitial(r, &j->browser, &j->action);
        break;
    case OUT_NOT_FOUND:
        page_error(r, 404, "session_not_found", NULL);
        break;
    default:
        page_error(r, 500, "internal", "the sessions could not be read");
        break;
    }
    job_free(j);
}

static struct sessions_job *new_job(struct masd_request *r, enum sessions_page page)
{
    struct sessions_job *j = calloc(1, sizeof(*j));
    if (!j) {
        page_error(r, 500, "internal", "out of memory");
        return NULL;
    }
    j->page = page;
    j->post = masd_str_eq(r->method, MASD_STR("POST"));
    j->action.kind = ACTION_MANAGE_ACCOUNT;
    browser_read_cookie(r, &j->browser);
    return j;
}

static void start(struct masd_request *r, struct sessions_job *j)
{
    if (masd_defer(r, page_work, answer, j) == MASD_DEFER_FULL) {
        job_free(j);
        page_error(r, 503, "busy", NULL);
    }
}

/* A query or form parameter into out: 1 found, 0 absent, -1 twice, too long or not valid. */
static int param(masd_str form, const char *name, char *out, size_t size)
{
    char *v = NULL;
    int rc = form_get(form, name, &v);
    out[0] = '\0';
    if (rc < 0)
        return -1;
    if (!v)
        return 0;
    bool ok = strlen(v) < size;
    if (ok)
        memcpy(out, v, strlen(v) + 1);
    free(v);
    return ok ? 1 : -1;
}

/* The list pages' cursors: a ULID each, at most one of them. false: a 400 was sent. */
static bool read_cursors(struct masd_request *r, struct sessions_job *j)
{
    if (param(r->query, "after", j->after, sizeof(j->after)) < 0 ||
        param(r->query, "before", j->before, sizeof(j->before)) < 0 ||
        (j->after[0] && !account_is_ulid(j->after)) || (j->before[0] && !account_is_ulid(j->before)) ||
        (j->after[0] && j->before[0])) {
        job_free(j);
        page_error(r, 400, "bad_request", "after and before take one session ID, and not both");
        return false;
    }
    return true;
}

void human_account_sessions(struct masd_request *r)
{
    struct sessions_job *j = new_job(r, PAGE_LIST);
    if (!j || !read_cursors(r, j))
        return;
    char inactive[8];
    j->inactive = param(r->query, "inactive", inactive, sizeof(inactive)) == 1 && !strcmp(inactive, "true");
    snprintf(j->action.account_action, sizeof(j->action.account_action), "org.matrix.sessions_list");
    start(r, j);
}

void human_account_browsers(struct masd_request *r)
{
    struct sessions_job *j = new_job(r, PAGE_BROWSERS);
    if (!j || !read_cursors(r, j))
        return;
    snprintf(j->action.account_action, sizeof(j->action.account_action), "org.matrix.sessions_list");
    start(r, j);
}

/* The path's segment after `prefix`, decoded. */
static bool segment(struct masd_request *r, const char *prefix, char *out, size_t size)
{
    size_t plen = strlen(prefix);
    return account_path_segment((masd_str){r->path.ptr + plen, r->path.len - plen}, out, size);
}

void human_account_session(struct masd_request *r)
{
    char raw[64], id[STORAGE_ID_SIZE];
    bool kind_known = false;
    enum storage_session_kind kind = STORAGE_SESSION_COMPAT;
    if (!segment(r, "/account/sessions/", raw, sizeof(raw)) ||
        !account_session_ref(raw, id, &kind, &kind_known)) {
        page_error(r, 404, "session_not_found", NULL);
        return;
    }
    bool post = masd_str_eq(r->method, MASD_STR("POST"));
    if (post && !csrf_check(r))
        return;
    struct sessions_job *j = new_job(r, PAGE_DETAIL);
    if (!j)
        return;
    memcpy(j->id, id, STORAGE_ID_SIZE);
    j->kind = kind;
    j->kind_known = kind_known;
    if (post) {
        bool ok = param(r->body, "action", j->verb, sizeof(j->verb)) == 1 &&
                  (!strcmp(j->verb, "end") || !strcmp(j->verb, "rename"));
        if (ok && !strcmp(j->verb, "rename")) {
            ok = param(r->body, "name", j->name, sizeof(j->name)) == 1;
            masd_str t = masd_str_trim(masd_str_from(j->name));
            memmove(j->name, t.ptr, t.len);
            j->name[t.len] = '\0';
            ok = ok && j->name[0];
        }
        if (!ok) {
            job_free(j);
            page_error(r, 400, "bad_request", "action is end or rename, and a rename needs a name");
            return;
        }
    }
    start(r, j);
}

void human_account_device(struct masd_request *r)
{
    struct sessions_job *j = new_job(r, PAGE_DEVICE);
    if (!j)
        return;
    if (!segment(r, "/account/devices/", j->device_id, sizeof(j->device_id))) {
        job_free(j);
        page_error(r, 404, "session_not_found", NULL);
        return;
    }
    snprintf(j->action.account_action, sizeof(j->action.account_action), "org.matrix.session_view");
    snprintf(j->action.device_id, sizeof(j->action.device_id), "%s", j->device_id);
    start(r, j);
}
