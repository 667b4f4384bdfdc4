/* GET and POST /device/{grant_id}: the person approves or denies what a device asked for (RFC 8628
 * §3.3; MAS: crates/handlers/src/oauth2/device/consent.rs, templates/pages/device_consent.html).
 *
 * The page is the consent page of every grant (consent.c: the client, MAS's default
 * authorization policy, here for the device_code grant type, the scopes, the user) with what a
 * device adds, as MAS shows it: a warning, the device's User-Agent and IP address as it asked at
 * /oauth2/device, when it asked, and its user code; a checkbox the person must tick ("this is my
 * device"), "Grant access" and "Cancel". Both are compare-and-set from pending
 * (storage_device_code_grant_fulfill, _reject); the device learns the outcome at its next poll.
 *
 * Without a session the login comes first and comes back here (continue_device_code_grant). MAS
 * answers most of what can go wrong here with a 500; masd: an unknown grant 404, an expired one
 * 410, one already decided 409 — except for the browser session that decided it, which sees
 * its outcome again ("Access granted", "Access denied"); "Grant access" without the checkbox the
 * page again, 400; the grant disabled 404. */
#include "clock.h"
#include "form.h"
#include "human.h"
#include "log.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum device_outcome {
    D_PAGE,    /* the consent page (or the policy's) */
    D_CONFIRM, /* "Grant access" without the checkbox: the page again */
    D_GRANTED,
    D_DENIED,
    D_LOGIN,
    D_INTERSTITIAL,
    D_NOT_FOUND,
    D_EXPIRED,
    D_USED,
    D_INTERNAL,
};

enum device_action { ACT_NONE, ACT_CONSENT, ACT_REJECT };

struct device_job {
    enum device_action act;
    bool confirmed;
    char grant_id[STORAGE_ID_SIZE];
    char ip[STORAGE_IP_SIZE];
    char user_agent[STORAGE_SHORT_TEXT_MAX + 1];
    int64_t now;
    struct browser browser;
    struct storage_device_code_grant grant;
    struct consent consent;
    enum device_outcome outcome;
};

/* A grant approved or denied already: its outcome again for the browser session that decided,
 * 409 for anyone else. */
static int decided(struct storage_tx *tx, struct device_job *j)
{
    bool mine =
        j->browser.state == BROWSER_ACTIVE && strcmp(j->grant.browser_session_id, j->browser.session.id) == 0;
    if (!mine) {
        j->outcome = D_USED;
        return 0;
    }
    j->outcome = j->grant.rejected_at ? D_DENIED : D_GRANTED;
    return consent_load_client(tx, &j->consent, j->grant.client_id);
}

static bool is_decided(const struct storage_device_code_grant *g)
{
    return g->fulfilled_at || g->rejected_at || g->exchanged_at;
}

static int device_tx(struct storage_tx *tx, void *arg)
{
    struct device_job *j = arg;
    int r = browser_load(tx, &j->browser);
    if (r < 0)
        return r;
    r = storage_device_code_grant_get(tx, j->grant_id, &j->grant);
    if (r == -ENOENT || r == -EINVAL) {
        j->outcome = D_NOT_FOUND;
        return 0;
    }
    if (r < 0)
        return r;
    if (is_decided(&j->grant))
        return decided(tx, j);
    if (j->grant.expires_at <= j->now) {
        j->outcome = D_EXPIRED;
        return 0;
    }
    if (j->browser.state == BROWSER_ANONYMOUS || j->browser.state == BROWSER_GONE) {
        j->outcome = D_LOGIN;
        return 0;
    }
    if (j->browser.state != BROWSER_ACTIVE) {
        j->outcome = D_INTERSTITIAL;
        return 0;
    }
    if ((r = consent_judge(tx, &j->consent, POLICY_GRANT_DEVICE_CODE, j->grant.client_id, j->grant.scope,
                           &j->browser, j->ip, j->user_agent)) < 0 ||
        j->consent.violations || j->act == ACT_NONE)
        return r;
    if (j->act == ACT_CONSENT && !j->confirmed) {
        j->outcome = D_CONFIRM;
        return 0;
    }
    r = j->act == ACT_CONSENT
            ? storage_device_code_grant_fulfill(tx, j->grant.id, j->browser.session.id, j->now)
            : storage_device_code_grant_reject(tx, j->grant.id, j->browser.session.id, j->now);
    if (r == -EALREADY) { /* another tab was first, or it expired meanwhile */
        if ((r = storage_device_code_grant_get(tx, j->grant_id, &j->grant)) < 0)
            return r;
        if (is_decided(&j->grant))
            return decided(tx, j);
        j->outcome = D_EXPIRED;
        return 0;
    }
    if (r >= 0)
        j->outcome = j->act == ACT_CONSENT ? D_GRANTED : D_DENIED;
    return r;
}

static void device_work(void *arg)
{
    struct device_job *j = arg;
    j->outcome = D_PAGE;
    if (storage_tx(human.st, j->act != ACT_NONE ? STORAGE_TX_WRITE : STORAGE_TX_READ, device_tx, j) < 0) {
        log_error("device: %s", storage_last_error());
        j->outcome = D_INTERNAL;
    }
}

static void job_free(struct device_job *j)
{
    consent_clear(&j->consent);
    free(j);
}

/* What the consent page shows of the device: as it asked at /oauth2/device. */
static json_t *device_data(const struct storage_device_code_grant *g)
{
    char when[32], iso[32];
    time_t t = (time_t)(g->created_at / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
    strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_pack("{s:s, s:s, s:s, s:s, s:s}", "user_code", g->user_code, "ip", g->ip, "user_agent",
                     g->user_agent, "requested", when, "requested_iso", iso);
}

static void result_page(struct masd_request *r, struct device_job *j)
{
    struct page p = {.data = page_data()};
    if (!p.data) {
        page_error(r, 500, "internal", "out of memory");
        return;
    }
    json_object_set(p.data, "client", j->consent.client);
    json_object_set_new(p.data, "granted", json_boolean(j->outcome == D_GRANTED));
    page_send(r, 200, "device_result.html", &p);
}

static void device_done(struct masd_request *r, void *arg)
{
    struct device_job *j = arg;
    if (!r) {
        job_free(j);
        return;
    }
    struct action action = {.kind = ACTION_CONTINUE_DEVICE_CODE_GRANT};
    memcpy(action.id, j->grant_id, sizeof(action.id));
    if (j->outcome != D_NOT_FOUND && j->outcome != D_INTERNAL)
        browser_write_cookie(r, &j->browser);
    switch (j->outcome) {
    case D_NOT_FOUND:
        page_error(r, 404, "device_not_found", NULL);
        break;
    case D_EXPIRED:
        page_error(r, 410, "device_expired", NULL);
        break;
    case D_USED:
        page_error(r, 409, "device_used", NULL);
        break;
    case D_INTERNAL:
        page_error(r, 500, "internal", "the database did not answer");
        break;
    case D_LOGIN:
        redirect_to_login(r, &action, NULL);
        break;
    case D_INTERSTITIAL:
        browser_interstitial(r, &j->browser, &action);
        break;
    case D_GRANTED:
    case D_DENIED:
        result_page(r, j);
        break;
    case D_PAGE:
    case D_CONFIRM:
        consent_send(r, j->outcome == D_CONFIRM ? 400 : 200, &j->consent, &j->browser, &action,
                     j->grant.scope,
                     json_pack("{s:o, s:{s:{s:b}}}", "device", device_data(&j->grant), "form", "error",
                               "confirm_required", j->outcome == D_CONFIRM),
                     NULL);
        break;
    }
    job_free(j);
}

/* The form of a POST: `action` (consent, reject) and the checkbox. -EINVAL for anything else. */
static int read_form(struct masd_request *r, struct device_job *j)
{
    char *act = NULL, *confirm = NULL;
    int a = form_get(r->body, "action", &act), c = form_get(r->body, "confirm_device", &confirm);
    int rc = a == -ENOMEM || c == -ENOMEM ? -ENOMEM : a != 1 || c < 0 ? -EINVAL : 0;
    if (rc == 0 && strcmp(act, "consent") == 0)
        j->act = ACT_CONSENT;
    else if (rc == 0 && strcmp(act, "reject") == 0)
        j->act = ACT_REJECT;
    else if (rc == 0)
        rc = -EINVAL;
    j->confirmed = c == 1; /* a ticked checkbox is sent, with any value; an unticked one is not */
    free(act);
    free(confirm);
    return rc;
}

void human_device(struct masd_request *r)
{
    if (!human.cfg->device_code_grant_enabled) {
        page_error(r, 404, "device_disabled", NULL);
        return;
    }
    bool post = masd_str_eq(r->method, MASD_STR("POST"));
    if (post && !csrf_check(r))
        return;
    struct device_job *j = calloc(1, sizeof(*j));
    if (!j) {
        page_error(r, 500, "internal", "out of memory");
        return;
    }
    int rc = post ? read_form(r, j) : 0;
    if (rc < 0) {
        job_free(j);
        page_error(r, rc == -ENOMEM ? 500 : 400, rc == -ENOMEM ? "internal" : "bad_request", NULL);
        return;
    }
    /* the route is /device/{grant_id}: the last segment */
    masd_str id = {r->path.ptr + strlen("/device/"), r->path.len - strlen("/device/")};
    snprintf(j->grant_id, sizeof(j->grant_id), "%.*s", (int)(id.len < STORAGE_ID_SIZE ? id.len : 0), id.ptr);
    human_client_ip(r, j->ip, sizeof(j->ip));
    human_user_agent(r, j->user_agent, sizeof(j->user_agent));
    browser_read_cookie(r, &j->browser);
    j->now = masd_now();
    if (masd_defer(r, device_work, device_done, j) == MASD_DEFER_FULL) {
        job_free(j);
        page_error(r, 503, "busy", NULL);
    }
}
