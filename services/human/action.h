/* The post-authentication action: what the browser goes on to after it signed in (or out).
 * MAS carries it in the query of /login (and /register, /upstream/...) and in hidden fields of
 * the sign-out forms, as `kind` plus `id` (MAS: crates/router/src/endpoints.rs PostAuthAction),
 * and reads it leniently: anything it does not understand is simply no action. */
#pragma once
#include "str.h"
#include "storage.h"
#include <stdbool.h>

enum action_kind {
    ACTION_NONE,
    ACTION_CONTINUE_AUTHORIZATION_GRANT, /* → /consent/{id} */
    ACTION_CONTINUE_DEVICE_CODE_GRANT,   /* → /device/{id} */
    ACTION_CONTINUE_COMPAT_SSO_LOGIN,    /* → /complete-compat-sso/{id} */
    ACTION_CHANGE_PASSWORD,              /* → /account/password/change */
    ACTION_LINK_UPSTREAM,                /* → /upstream/link/{id} */
    ACTION_MANAGE_ACCOUNT,               /* → /account/[?action=…&device_id=…] (MSC4191) */
};

#define ACTION_PARAM_MAX 255

struct action {
    enum action_kind kind;
    char id[STORAGE_ID_SIZE];                  /* a ULID, for the kinds that take one */
    char account_action[ACTION_PARAM_MAX + 1]; /* manage_account: MSC4191 `action`, "" when none */
    char device_id[ACTION_PARAM_MAX + 1];      /* manage_account: `device_id`, "" when none */
};

/* Reads `kind`, `id` (and for manage_account `action`, `device_id`) from an encoded query or
 * form. An unknown kind, a missing or malformed id, a parameter given twice: no action. */
void action_parse(masd_str form, struct action *a);

/* The action as query parameters ("kind=…&id=…", encoded), "" for none. Returns the length, or
 * -ENOSPC when size is too small. */
int action_query(const struct action *a, char *out, size_t size);

/* The path the action continues at, below `root` (public_base's path without its last '/'):
 * "/consent/01H…". For ACTION_NONE: `fallback` ("/" after a login, "/login" after a logout). */
int action_target(const struct action *a, const char *root, const char *fallback, char *out, size_t size);

/* The action's kind as MAS spells it ("continue_authorization_grant"), NULL for none. */
const char *action_kind_name(enum action_kind kind);
