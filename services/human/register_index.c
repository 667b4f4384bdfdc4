/* GET /register (MAS: crates/handlers/src/views/register/mod.rs; docs/upstream-oauth.md
 * "Buttons"): the ways to create an account. Signed in: on to the action. Password registration
 * disabled and exactly one upstream provider: straight to it. Password registration and no
 * provider: the password form. Neither: registration is closed (403). Otherwise a page with a
 * button per provider and, when it is open, the password form's link. */
#include "clock.h"
#include "human.h"
#include "log.h"
#include "upstream_buttons.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct index_job {
    struct action action;
    struct browser browser;
    struct storage_upstream_button_list providers;
    bool failed;
};

static int index_tx(struct storage_tx *tx, void *arg)
{
    struct index_job *j = arg;
    int r = browser_load(tx, &j->browser);
    if (r >= 0 && j->browser.state != BROWSER_ACTIVE)
        r = upstream_buttons_load(tx, &j->providers);
    return r < 0 ? r : 0;
}

static void index_work(void *arg)
{
    struct index_job *j = arg;
    if (storage_tx(human.st, STORAGE_TX_READ, index_tx, j) < 0) {
        log_error("register: %s", storage_last_error());
        j->failed = true;
    }
}

static void with_action(const char *path, const struct action *a, char *out, size_t size)
{
    char q[1024] = "";
    action_query(a, q, sizeof(q));
    snprintf(out, size, "%s%s%s%s", human.root, path, q[0] ? "?" : "", q);
}

static void index_answer(struct masd_request *r, void *arg)
{
    struct index_job *j = arg;
    if (!r)
        goto out;
    bool password = human.cfg->password_registration_enabled && human.cfg->passwords.enabled;
    char to[1400];
    if (j->failed) {
        page_error(r, 500, "internal", "the database did not answer");
        goto out;
    }
    browser_write_cookie(r, &j->browser);
    if (j->browser.state == BROWSER_ACTIVE) {
        if (action_target(&j->action, human.root, "/", to, sizeof(to)) < 0)
            snprintf(to, sizeof(to), "%s/", human.root);
        page_redirect(r, to);
        goto out;
    }
    if (!password && upstream_buttons_single(&j->providers, &j->action, to, sizeof(to))) {
        page_redirect(r, to);
        goto out;
    }
    if (!j->providers.n) {
        if (password) {
            with_action("/register/password", &j->action, to, sizeof(to));
            page_redirect(r, to);
        } else {
            page_error(r, 403, "registration_disabled", NULL);
        }
        goto out;
    }
    struct page p = {.data = page_data()};
    if (!p.data) {
        page_error(r, 500, "internal", "out of memory");
        goto out;
    }
    json_object_set_new(p.data, "providers", upstream_buttons_json(&j->providers, &j->action));
    if (password) {
        with_action("/register/password", &j->action, to, sizeof(to));
        json_object_set_new(p.data, "password_url", json_string(to));
    }
    with_action("/login", &j->action, to, sizeof(to));
    json_object_set_new(p.data, "login_url", json_string(to));
    page_send(r, 200, "register.html", &p);
out:
    storage_upstream_button_list_clear(&j->providers);
    free(j);
}

void human_register(struct masd_request *r)
{
    bool password = human.cfg->password_registration_enabled && human.cfg->passwords.enabled;
    struct action a;
    action_parse(r->query, &a);
    if (!human.cfg->n_upstream_providers) { /* no database needed: as before providers existed */
        char to[1400];
        if (!password) {
            page_error(r, 403, "registration_disabled", NULL);
            return;
        }
        with_action("/register/password", &a, to, sizeof(to));
        page_redirect(r, to);
        return;
    }
    struct index_job *j = calloc(1, sizeof(*j));
    if (!j) {
        page_error(r, 500, "internal", "out of memory");
        return;
    }
    j->action = a;
    browser_read_cookie(r, &j->browser);
    if (masd_defer(r, index_work, index_answer, j) == MASD_DEFER_FULL) {
        free(j);
        page_error(r, 503, "busy", NULL);
    }
}
