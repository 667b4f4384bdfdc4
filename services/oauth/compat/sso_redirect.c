/* GET /_matrix/client/{version}/login/sso/redirect[/][{idp}] (MAS:
 * crates/handlers/src/compat/login_sso_redirect.rs): a legacy Matrix client opens this in a
 * browser with its redirectUrl. masd records a pending compat SSO login (storage.h) and sends the
 * browser on to masd-human's confirmation page, {public_base}complete-compat-sso/{id}, with
 * MSC3824's action (as `action` and `org.matrix.msc3824.action`, as MAS does); the login token
 * is drawn only when the person confirms there.
 *
 * With an identity provider's segment (redirect/{idp}; MAS ignores it) and upstream providers
 * configured (without any, the segment is ignored as MAS does), masd picks the enabled
 * upstream provider whose ID or synapse_idp_id is {idp}, read from the database, and sends the
 * browser to its /upstream/authorize/{id} with the compat login as the post-auth action: after
 * the provider, the person lands on the same confirmation page. An {idp} no enabled provider has
 * is a 404 M_NOT_FOUND in Matrix JSON, like every error here, and no login is recorded
 * (docs/upstream-oauth.md "Compat SSO").
 *
 * A redirectUrl that is missing or not acceptable is a 400 in Matrix JSON, M_MISSING_PARAM or
 * M_INVALID_PARAM with the rule it broke (compat_redirect_url_parse), where MAS renders its HTML
 * error page. The route is part of the Matrix client-server API, whose errors are
 * {"errcode","error"} documents: Synapse, which every such client was written against, answers a
 * missing redirectUrl with M_MISSING_PARAM, and a client or its developer probing the URL can
 * read the errcode. The person in the browser reads the same sentence in the JSON (browsers show
 * it as text), and masd-oauth keeps one error format for the whole compat resource instead of a
 * second copy of masd-human's page machinery. */
#include "clock.h"
#include "compat/compat.h"
#include "compat/matrix_error.h"
#include "hs_sync.h"
#include "log.h"
#include "oauth.h"
#include "storage_upstream.h"
#include <string.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

struct sso_job {
    struct compat_sso_redirect_request req;
    struct storage_compat_sso_login login;
    char idp[256];                     /* "" without one */
    char provider_id[STORAGE_ID_SIZE]; /* the provider {idp} names */
    bool unknown_idp;
    int r;
};

/* The enabled provider whose ID or synapse_idp_id is j->idp. */
static int find_provider(struct storage_tx *tx, struct sso_job *j)
{
    struct storage_upstream_button_list l;
    int r = storage_upstream_provider_buttons(tx, &l);
    if (r < 0)
        return r;
    for (size_t i = 0; i < l.n && !j->provider_id[0]; i++)
        if (strcmp(l.items[i].id, j->idp) == 0 || strcmp(l.items[i].synapse_idp_id, j->idp) == 0)
            memcpy(j->provider_id, l.items[i].id, sizeof(j->provider_id));
    storage_upstream_button_list_clear(&l);
    j->unknown_idp = !j->provider_id[0];
    return 0;
}

static int create_tx(struct storage_tx *tx, void *arg)
{
    struct sso_job *j = arg;
    int r;
    if (j->idp[0] && ((r = find_provider(tx, j)) < 0 || j->unknown_idp))
        return r < 0 ? r : 0;
    return storage_compat_sso_login_create(tx, j->req.redirect_url, masd_now(), &j->login);
}

static void create_work(void *arg)
{
    struct sso_job *j = arg;
    j->r = storage_tx(oauth.st, STORAGE_TX_WRITE, create_tx, j);
    if (j->r < 0)
        log_error("compat SSO login: %s", storage_last_error());
}

static void create_done(struct masd_request *r, void *arg)
{
    struct sso_job *j = arg;
    if (r && j->r < 0) {
        matrix_error_internal(r);
    } else if (r && j->unknown_idp) {
        matrix_error(r, 404, "M_NOT_FOUND", "Unknown identity provider");
    } else if (r && j->provider_id[0]) {
        char *location = NULL;
        if (asprintf(&location, "%supstream/authorize/%s?kind=continue_compat_sso_login&id=%s",
                     oauth.cfg->public_base, j->provider_id, j->login.id) < 0) {
            matrix_error_internal(r);
        } else {
            masd_add_header(r, "location", masd_str_from(location));
            masd_add_header(r, "cache-control", MASD_STR("no-store"));
            masd_respond(r, 303, NULL, MASD_STR(""));
            free(location);
        }
    } else if (r) {
        static const char *const names[] = {
            [COMPAT_SSO_ACTION_LOGIN] = "login", [COMPAT_SSO_ACTION_REGISTER] = "register"};
        const char *action = j->req.action != COMPAT_SSO_ACTION_NONE ? names[j->req.action] : NULL;
        char *location = NULL;
        /* public_base ends with '/' (config_http.c) */
        if (asprintf(&location, "%scomplete-compat-sso/%s%s%s%s%s", oauth.cfg->public_base, j->login.id,
                     action ? "?action=" : "", action ? action : "",
                     action ? "&org.matrix.msc3824.action=" : "", action ? action : "") < 0) {
            matrix_error_internal(r);
        } else {
            masd_add_header(r, "location", masd_str_from(location));
            masd_add_header(r, "cache-control", MASD_STR("no-store"));
            masd_respond(r, 303, NULL, MASD_STR(""));
            free(location);
        }
    }
    free(j);
}

void compat_sso_redirect(struct masd_request *r)
{
    struct compat_error err;
    struct sso_job *j = calloc(1, sizeof(*j));
    if (!j) {
        matrix_error_internal(r);
        return;
    }
    if (compat_sso_redirect_parse(r->query, &j->req, &err) < 0) {
        free(j);
        matrix_error(r, err.status, err.errcode, err.error);
        return;
    }
    /* without providers the segment is ignored, as MAS ignores it */
    int idp =
        oauth.cfg->n_upstream_providers ? compat_sso_idp_parse(r->path, j->idp, sizeof(j->idp)) : -ENOENT;
    if (idp == -EINVAL) {
        free(j);
        matrix_error(r, 404, "M_NOT_FOUND", "Unknown identity provider");
        return;
    }
    /* the login would end in a device masd cannot create: say so before the person signs in */
    if (hs_config_read_only(&oauth.cfg->matrix)) {
        free(j);
        matrix_error(r, 400, "M_UNKNOWN",
                     "SSO login is not possible: masd cannot create devices on the homeserver "
                     "(matrix.kind is synapse_read_only)");
        return;
    }
    if (masd_defer(r, create_work, create_done, j) != MASD_DEFER_QUEUED) {
        free(j);
        matrix_error_limited(r, "The server is busy", 1000);
    }
}
