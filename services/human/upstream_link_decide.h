/* The decisions of the link page (/upstream/link/{link_id}, upstream_link.c), apart from any I/O so
 * that tests/unit/test_upstream_link.c can state them as a table (MAS:
 * crates/handlers/src/upstream_oauth2/link.rs; docs/upstream-oauth.md "The link page").
 *
 * The handler gathers the facts (who is signed in, whose the link is, what the claims templates
 * render to, whether the name is taken, what the policy and the homeserver say) and these
 * functions say what follows. */
#pragma once
#include "action.h"
#include "config.h"
#include "upstream_parse.h"
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the page does for who is signed in and whose the link is. */
enum link_route {
    LINK_RENEW,    /* signed in as the link's user: the session is authenticated again */
    LINK_MISMATCH, /* signed in as another user than the link's: the mismatch page */
    LINK_SUGGEST,  /* signed in, the link has no user: offer to link it to this account */
    LINK_LOGIN,    /* not signed in, the link has a user: a new session for that user */
    LINK_REGISTER, /* neither: a new account from the claims (or a conflict resolved) */
};
/* browser_user_id: the signed-in user ("" or NULL: nobody); link_user_id: the link's ("" or NULL). */
enum link_route upstream_link_route(const char *browser_user_id, const char *link_user_id);

/* A POST's `action` against the route: "link" only on LINK_SUGGEST, "register" only on
 * LINK_REGISTER; anything else is refused (MAS: InvalidFormAction). */
bool upstream_link_form_allowed(enum link_route route, const char *action);

/* One claims import rendered (displayname, email, localpart) with MAS's action semantics:
 *   ignore  → no value;
 *   suggest → rendered only when `accepted` (the person left the checkbox on, or a GET, which
 *             offers it); a render error or empty result is no value;
 *   force   → rendered; a render error or empty result is no value;
 *   require → rendered; a render error is -EINVAL, an empty result -ENODATA (the error page).
 * Surrounding ASCII whitespace is trimmed (an IdP's " Alice " is "Alice"). *out is malloc'd or
 * NULL (no value); err holds the template's error. 0, -EINVAL, -ENODATA, -ENOMEM. */
int upstream_import_render(const struct config_claims_import *imp, const json_t *vars, bool accepted,
                           char **out, char *err, size_t err_size);
/* force or require: the value is fixed, the person cannot change it. */
bool upstream_import_fixed(enum config_claims_action a);

/* The localpart's explicit normalisation (docs/upstream-oauth.md "Localparts"): surrounding
 * ASCII whitespace trimmed, nothing else changed. The result must be a Matrix localpart as
 * masd registers them: 1 to 255 bytes of a-z 0-9 . _ = - / +. An upper-case letter is refused,
 * not folded: existing names are found case-insensitively, so folding here would let an IdP's
 * `Alice` become local `alice`; an operator who wants folding writes `| lower` in the template,
 * a visible choice. 0 with the result in out, or -EINVAL. */
int upstream_localpart_normalise(const char *in, char *out, size_t size);

/* What is known of the localpart, gathered by the handler in order (each later fact only
 * matters when the earlier ones let the name stand). */
struct localpart_facts {
    enum config_claims_action action;
    enum config_claims_conflict on_conflict;
    bool have_value;        /* the template gave a value that normalised */
    bool exists;            /* a user holds the name (found case-insensitively) */
    bool exists_exact;      /* ... under exactly this spelling */
    int64_t existing_links; /* that user's links to this provider */
    bool policy_denied;     /* the policy refused the name (a violation on `username`) */
    int homeserver;         /* 1 available, 0 not, -1 not asked yet */
};

enum localpart_outcome {
    LP_NONE,             /* no name: the person chooses one (a suggestion dropped, or none) */
    LP_USE,              /* register under it (fixed when forced or required) */
    LP_ASK_HOMESERVER,   /* ask the homeserver first, then decide again */
    LP_LINK_EXISTING,    /* on_conflict add, or set with no link yet: link and sign in */
    LP_REPLACE_EXISTING, /* on_conflict replace: the user's links to the provider go, then link */
    LP_FAIL_EXISTS,      /* on_conflict fail (or a spelling that differs): error page */
    LP_FAIL_SET,         /* on_conflict set, and the user has a link to the provider already */
    LP_FAIL_POLICY,      /* a forced name the policy refuses */
    LP_FAIL_UNAVAILABLE, /* a forced name the homeserver refuses */
};
enum localpart_outcome upstream_localpart_decide(const struct localpart_facts *f);

/* skip_confirmation: the account is made without the registration page only when the name
 * stands (LP_USE), the policy has nothing against the registration as a whole (MAS looks at the
 * username only; docs/upstream-oauth.md), and no terms must be accepted (with branding.tos_uri
 * the page is shown, fixed values and the terms' checkbox only, so that the acceptance recorded
 * is one the person gave). */
bool upstream_skip_confirmation(bool skip_confirmation, enum localpart_outcome lp, bool policy_clean,
                                bool terms_required);

/* ---- the upstream-oauth2-sessions cookie (upstream_parse.h) at the link page ------------------ */

/* The entry whose callback found link_id: the newest session (largest ULID) wins, as MAS's
 * lookup_link; NULL when the browser has none (the sign-in was started elsewhere). */
const struct upstream_cookie_entry *upstream_cookie_find_link(const struct upstream_cookie *c,
                                                              const char *link_id);
/* Drops the entries of link_id (the sign-in is used). */
void upstream_cookie_remove_link(struct upstream_cookie *c, const char *link_id);
