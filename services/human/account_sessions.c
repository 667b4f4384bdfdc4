/* A person's actions on their own sessions (account_sessions.h). */
#include "account_sessions.h"
#include "account_parse.h"
#include "clock.h"
#include "hs_sync.h"
#include "human.h"
#include "log.h"
#include "user_agent.h"
#include <errno.h>
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

struct rename_load {
    const char *user_id, *id;
    enum storage_session_kind kind;
    struct storage_app_session s;
    struct storage_user user;
    const char *name;
    bool found;
};

static int rename_load_tx(struct storage_tx *tx, void *arg)
{
    struct rename_load *l = arg;
    l->found = false;
    int r = storage_app_session_get(tx, l->id, &l->s);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return r;
    if (l->s.kind != l->kind || strcmp(storage_app_session_user_id(&l->s), l->user_id) != 0)
        return 0;
    if ((r = storage_user_get(tx, l->user_id, &l->user)) < 0)
        return r;
    l->found = true;
    return 0;
}

static int rename_store_tx(struct storage_tx *tx, void *arg)
{
    struct rename_load *l = arg;
    return storage_session_set_human_name(tx, l->kind, l->id, l->name);
}

int account_session_rename(const char *user_id, enum storage_session_kind kind, const char *id,
                           const char *name, struct homeserver_result *res)
{
    *res = (struct homeserver_result){0};
    if (kind == STORAGE_SESSION_BROWSER)
        return -ENOENT; /* browser sessions have no name */
    char cut[STORAGE_SHORT_TEXT_MAX + 1];
    snprintf(cut, sizeof(cut), "%s", name);
    account_cut_chars(cut, HOMESERVER_DEVICE_NAME_MAX);
    struct rename_load l = {.user_id = user_id, .id = id, .kind = kind, .name = cut};
    int r = storage_tx(human.st, STORAGE_TX_READ, rename_load_tx, &l);
    if (r < 0) {
        log_error("rename session %s: %s", id, storage_last_error());
        return r;
    }
    if (!l.found)
        return -ENOENT;
    char devices[DEVICES_MAX][STORAGE_DEVICE_ID_MAX + 1];
    size_t n = 0;
    bool active = kind == STORAGE_SESSION_COMPAT ? !l.s.compat.finished_at : !l.s.oauth.finished_at;
    if (active && kind == STORAGE_SESSION_COMPAT && l.s.compat.device_id[0])
        memcpy(devices[n++], l.s.compat.device_id, sizeof(devices[0]));
    else if (active && kind == STORAGE_SESSION_OAUTH)
        n = account_scope_devices(l.s.oauth.scope, devices, DEVICES_MAX);
    for (size_t i = 0; i < n && !homeserver_read_only(human.hs); i++) {
        r = homeserver_update_device_display_name(human.hs, l.user.username, devices[i], cut, res);
        if (r < 0) {
            log_warn("rename session %s: %s", id, res->message);
            return r;
        }
    }
    if ((r = storage_tx(human.st, STORAGE_TX_WRITE, rename_store_tx, &l)) < 0) {
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
