/* A person's actions on their own sessions (account_sessions.h). */
#include "account_sessions.h"
#include "account_parse.h"
#include "clock.h"
#include "hs_sync.h"
#include "human.h"
#include "log.h"
#include "user_agent.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define DEVICES_MAX 8 /* device scopes of one OAuth session we act on */

int account_session_end(struct storage_tx *tx, const char *user_id, enum storage_session_kind kind,
                        const char *id, int64_t now)
{
    int r;
    if (kind == STORAGE_SESSION_BROWSER) {
        struct storage_browser_session b;
        r = storage_browser_session_get(tx, id, &b);
        if (r < 0)
            return r;
        if (strcmp(b.user_id, user_id) != 0)
            return -ENOENT;
        return storage_browser_session_finish(tx, id, now);
    }
    struct storage_app_session s;
    r = storage_app_session_get(tx, id, &s);
    if (r < 0)
        return r;
    if (s.kind != kind || strcmp(storage_app_session_user_id(&s), user_id) != 0)
        return -ENOENT;
    return hs_session_end(tx, &human.cfg->matrix, kind, id, user_id, now);
}

int account_rename_prepare(struct storage_tx *tx, const char *user_id, enum storage_session_kind kind,
                           const char *id, const char *name, struct account_rename *out)
{
    memset(out, 0, sizeof(*out));
    if (kind == STORAGE_SESSION_BROWSER)
        return 0; /* browser sessions have no name */
    int r = storage_app_session_get(tx, id, &out->session);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return r;
    if (out->session.kind != kind || strcmp(storage_app_session_user_id(&out->session), user_id) != 0)
        return 0;
    if ((r = storage_user_get(tx, user_id, &out->user)) < 0)
        return r;
    snprintf(out->name, sizeof(out->name), "%s", name);
    account_cut_chars(out->name, HOMESERVER_DEVICE_NAME_MAX);
    /* a finished session's device is gone from the homeserver already */
    if (kind == STORAGE_SESSION_COMPAT && !out->session.compat.finished_at &&
        out->session.compat.device_id[0])
        memcpy(out->devices[out->n_devices++], out->session.compat.device_id, sizeof(out->devices[0]));
    else if (kind == STORAGE_SESSION_OAUTH && !out->session.oauth.finished_at)
        out->n_devices =
            account_scope_devices(out->session.oauth.scope, out->devices, ACCOUNT_RENAME_DEVICES);
    return 1;
}

int account_rename_push(struct homeserver *hs, const struct account_rename *rn, struct homeserver_result *res)
{
    *res = (struct homeserver_result){0};
    for (size_t i = 0; i < rn->n_devices && !homeserver_read_only(hs); i++) {
        int r = homeserver_update_device_display_name(hs, rn->user.username, rn->devices[i], rn->name, res);
        if (r < 0) {
            log_warn("rename session %s: %s", storage_app_session_id(&rn->session), res->message);
            return r;
        }
    }
    return 0;
}

bool account_rename_same(const struct account_rename *a, const struct account_rename *b)
{
    if (a->session.kind != b->session.kind ||
        strcmp(storage_app_session_id(&a->session), storage_app_session_id(&b->session)) != 0 ||
        strcmp(a->user.id, b->user.id) != 0 || strcmp(a->user.username, b->user.username) != 0 ||
        strcmp(a->name, b->name) != 0 || a->n_devices != b->n_devices)
        return false;
    for (size_t i = 0; i < a->n_devices; i++)
        if (strcmp(a->devices[i], b->devices[i]) != 0)
            return false;
    return true;
}

int account_rename_store(struct storage_tx *tx, struct account_rename *rn)
{
    int r =
        storage_session_set_human_name(tx, rn->session.kind, storage_app_session_id(&rn->session), rn->name);
    if (r >= 0) {
        char *human_name = rn->session.kind == STORAGE_SESSION_COMPAT ? rn->session.compat.human_name
                                                                      : rn->session.oauth.human_name;
        snprintf(human_name, STORAGE_SHORT_TEXT_MAX + 1, "%s", rn->name);
    }
    return r;
}

struct rename_job {
    const char *user_id, *id, *name;
    enum storage_session_kind kind;
    struct account_rename rn;
    int found;
};

static int rename_load_tx(struct storage_tx *tx, void *arg)
{
    struct rename_job *j = arg;
    j->found = account_rename_prepare(tx, j->user_id, j->kind, j->id, j->name, &j->rn);
    return j->found < 0 ? j->found : 0;
}

static int rename_store_tx(struct storage_tx *tx, void *arg)
{
    return account_rename_store(tx, &((struct rename_job *)arg)->rn);
}

int account_session_rename(const char *user_id, enum storage_session_kind kind, const char *id,
                           const char *name, struct homeserver_result *res)
{
    struct rename_job j = {.user_id = user_id, .id = id, .name = name, .kind = kind};
    *res = (struct homeserver_result){0};
    int r = storage_tx(human.st, STORAGE_TX_READ, rename_load_tx, &j);
    if (r < 0) {
        log_error("rename session %s: %s", id, storage_last_error());
        return r;
    }
    if (!j.found)
        return -ENOENT;
    if ((r = account_rename_push(human.hs, &j.rn, res)) < 0)
        return r;
    if ((r = storage_tx(human.st, STORAGE_TX_WRITE, rename_store_tx, &j)) < 0) {
        log_error("rename session %s: %s", id, storage_last_error());
        return r;
    }
    return 1;
}

static void set_field(json_t *o, const char *key, const char *value)
{
    if (value[0])
        json_object_set_new(o, key, json_string(value));
}

json_t *account_user_agent_json(const char *header)
{
    if (!header || !header[0])
        return NULL;
    struct user_agent ua;
    user_agent_parse(masd_str_from(header), &ua);
    json_t *o = json_object();
    if (!o)
        return NULL;
    set_field(o, "raw", header);
    set_field(o, "name", ua.name);
    set_field(o, "version", ua.version);
    set_field(o, "os", ua.os);
    set_field(o, "os_version", ua.os_version);
    set_field(o, "model", ua.model);
    json_object_set_new(o, "device_type", json_string(user_agent_device_type_name(ua.device_type)));
    return o;
}
