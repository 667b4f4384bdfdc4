/* What the sign-in through an upstream provider reads from outside (docs/upstream-oauth.md,
 * "The sign-in flow"): the `upstream-oauth2-sessions` cookie's entries, the parameters of the
 * provider's redirect back to /upstream/callback/{provider}, and the authorization URL sent to the
 * provider. Pure functions, unit-tested (tests/unit/test_upstream_parse.c) and fuzzed
 * (tests/fuzz/fuzz_upstream_parse.c). */
#pragma once
#include "action.h"
#include "str.h"
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UPSTREAM_COOKIE_NAME "upstream-oauth2-sessions"
/* Entries one cookie keeps: a browser that starts more sign-ins than this at once loses the
 * oldest (each entry is about 200 bytes sealed; browsers keep about 4 KiB per cookie). */
#define UPSTREAM_COOKIE_MAX_ENTRIES 8
/* An entry's lifetime, from its session ID's time (MAS: 10 minutes). */
#define UPSTREAM_COOKIE_TTL_MS (10 * 60 * 1000LL)
/* The state masd draws: 16 characters of [A-Za-z0-9] (MAS); a longer one is no state of ours. */
#define UPSTREAM_STATE_LEN 16
#define UPSTREAM_STATE_MAX 64

/* One sign-in this browser started (MAS: crates/handlers/src/upstream_oauth2/cookie.rs). */
struct upstream_cookie_entry {
    char session[STORAGE_ID_SIZE];  /* the authorization session's ULID */
    char provider[STORAGE_ID_SIZE]; /* the provider's ULID */
    char state[UPSTREAM_STATE_MAX + 1];
    char link[STORAGE_ID_SIZE]; /* "" until the callback found the link */
    struct action action;       /* what follows the sign-in (ACTION_NONE: the index) */
};

struct upstream_cookie {
    struct upstream_cookie_entry e[UPSTREAM_COOKIE_MAX_ENTRIES];
    size_t n;
};

/* Parses the cookie's JSON (MAS's shape: [{"session", "provider", "state", "link": null|ULID,
 * "post_auth_action": null|{"kind", "id"|"action"|"device_id"}}, ...]). An entry that is not
 * one is skipped, as are entries beyond the maximum; anything that is not an array is -EINVAL
 * (the caller treats it as no cookie, as MAS). */
int upstream_cookie_parse(const char *json, size_t len, struct upstream_cookie *out);
/* The JSON, malloc'd (NULL when out of memory). */
char *upstream_cookie_render(const struct upstream_cookie *c);
/* The same, dropping the oldest entries until the JSON is at most max bytes (what a sealed cookie
 * may hold: COOKIE_VALUE_MAX / 2); NULL when out of memory or when not even the newest fits. */
char *upstream_cookie_render_fit(struct upstream_cookie *c, size_t max);
/* Drops the entries whose session is older than UPSTREAM_COOKIE_TTL_MS at `now` (ms). */
void upstream_cookie_prune(struct upstream_cookie *c, int64_t now);
/* Appends an entry, dropping the oldest when full. */
void upstream_cookie_add(struct upstream_cookie *c, const struct upstream_cookie_entry *e);
/* The entry of a sign-in at `provider` with `state` that has no link yet; NULL. */
struct upstream_cookie_entry *upstream_cookie_find(struct upstream_cookie *c, const char *provider,
                                                   const char *state);

/* The parameters of the provider's answer at the callback (query or form body). */
struct upstream_callback {
    char *state, *code, *error, *error_description, *error_uri; /* NULL when absent */
    bool reposted;  /* did_mas_repost_to_itself: our own same-site re-post */
    json_t *extra;  /* every other parameter, {"name": "value"} (MAS: extra_callback_parameters) */
    json_t *params; /* every parameter but the flag, in order: [{"name", "value"}] (the re-post) */
};
#define UPSTREAM_CALLBACK_MAX_PARAMS 64
/* Parses the form. -EINVAL: a malformed escape, a value or name that is not UTF-8; -EEXIST: a
 * parameter given twice; -E2BIG: more than UPSTREAM_CALLBACK_MAX_PARAMS; -ENOMEM. *out is then
 * cleared. */
int upstream_callback_parse(masd_str form, struct upstream_callback *out);
void upstream_callback_clear(struct upstream_callback *c);
/* Whether any of state, code, error, error_description, error_uri is present (MAS: else
 * "Missing parameters"). */
bool upstream_callback_any(const struct upstream_callback *c);

/* A parameter of the authorization request. */
struct upstream_param {
    const char *name, *value;
};
/* The authorization endpoint with the parameters appended to its query (its own kept first),
 * encoded as application/x-www-form-urlencoded; a fragment of the endpoint is dropped (RFC 6749
 * §3.1 allows none). malloc'd; NULL when out of memory. */
char *upstream_authorize_url(const char *endpoint, const struct upstream_param *p, size_t n);
