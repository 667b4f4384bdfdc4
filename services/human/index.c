/* GET / (who is signed in) and /account (MAS: crates/handlers/src/views/index.rs): /account/ is
 * the profile page (account_page.c); /account, and /account/ with an MSC4191 deep link, send a
 * signed-in browser to the profile and any other to the login, the deep link kept as the
 * post-auth action. */
#include "account_parse.h"
#include "human.h"
#include "log.h"
#include <stdlib.h>
#include <string.h>

struct index_job {
    struct browser browser;
    struct action action; /* /account's deep link */
    bool account;
    bool failed;
};

static void index_load_tx_done(struct masd_request *r, void *arg);

static int index_tx(struct storage_tx *tx, void *arg)
{
    return browser_load(tx, &((struct index_job *)arg)->browser);
}

static void index_work(void *arg)
{
    struct index_job *j = arg;
    if (storage_tx(human.st, STORAGE_TX_READ, index_tx, j) < 0) {
        log_error("index: %s", storage_last_error());
        j->failed = true;
    }
}

static void index_load_tx_done(struct masd_request *r, void *arg)
{
    struct index_job *j = arg;
    if (!r) {
        free(j);
        return;
    }
    if (j->failed) {
        free(j);
        page_error(r, 500, "internal", "the database did not answer");
        return;
    }
    browser_write_cookie(r, &j->browser);
    if (j->account) {
        char to[1024], q[700];
        if (j->browser.state == BROWSER_ACTIVE &&
            account_deep_link(&j->action, human.root, to, sizeof(to)) == 1) {
            /* MSC4191: on to the page the action names */
        } else if (j->browser.state == BROWSER_ACTIVE) {
            snprintf(to, sizeof(to), "%s/account/", human.root);
        } else {
            action_query(&j->action, q, sizeof(q));
            snprintf(to, sizeof(to), "%s/login?%s", human.root, q);
        }
        free(j);
        page_redirect(r, to);
        return;
    }
    if (j->browser.state != BROWSER_ACTIVE && j->browser.state != BROWSER_ANONYMOUS) {
        struct action none = {0};
        browser_interstitial(r, &j->browser, &none);
        free(j);
        return;
    }
    struct page p = {.data = page_data()};
    if (p.data && j->browser.state == BROWSER_ACTIVE) {
        const char *csrf = csrf_issue(r);
        json_object_set_new(p.data, "current", browser_current(&j->browser.user));
        if (csrf)
            json_object_set_new(p.data, "csrf", json_string(csrf));
    }
    free(j);
    page_send(r, 200, "index.html", &p);
}

static void start(struct masd_request *r, bool account)
{
    struct index_job *j = calloc(1, sizeof(*j));
    if (!j) {
        page_error(r, 500, "internal", "out of memory");
        return;
    }
    j->account = account;
    browser_read_cookie(r, &j->browser);
    if (account) {
        /* MSC4191: /account/?action=…&device_id=… continues after the login */
        char q[1024];
        int n = snprintf(q, sizeof(q), "kind=manage_account&%.*s", (int)r->query.len, r->query.ptr);
        action_parse((masd_str){q, n > 0 && (size_t)n < sizeof(q) ? (size_t)n : 0}, &j->action);
        if (j->action.kind != ACTION_MANAGE_ACCOUNT)
            j->action = (struct action){.kind = ACTION_MANAGE_ACCOUNT};
    }
    if (masd_defer(r, index_work, index_load_tx_done, j) == MASD_DEFER_FULL) {
        free(j);
        page_error(r, 503, "busy", NULL);
    }
}

void human_index(struct masd_request *r)
{
    start(r, false);
}

/* /account/ without a deep link (or MSC4191's profile) is the profile page (account_page.c). */
void human_account(struct masd_request *r)
{
    struct action a;
    char q[1024];
    int n = snprintf(q, sizeof(q), "kind=manage_account&%.*s", (int)r->query.len, r->query.ptr);
    action_parse((masd_str){q, n > 0 && (size_t)n < sizeof(q) ? (size_t)n : 0}, &a);
    if (masd_str_eq(r->path, MASD_STR("/account/")) &&
        (!a.account_action[0] || strcmp(a.account_action, "profile") == 0 ||
         strcmp(a.account_action, "org.matrix.profile") == 0)) {
        human_account_profile(r);
        return;
    }
    start(r, true);
}
