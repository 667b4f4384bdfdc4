/* What every handler of masd-human shares: the service's state (set up once at start-up, then
 * read-only), how a page is answered (human.c: the render, the security headers, the error page,
 * the redirect), the browser's session and CSRF cookies (session.c), and the handlers that the
 * route table in main.c binds. docs/architecture.md §8 describes the browser side. */
#pragma once
#include "action.h"
#include "config.h"
#include "cookie.h"
#include "policy.h"
#include "server.h"
#include "storage.h"
#include <jansson.h>
#include <stdbool.h>

struct policy;
struct policy_result;
struct upstream_rp;
struct jose_keyset;

struct human_service {
    const struct config *cfg;
    struct storage *st;       /* NULL under --check */
    struct cookie_jar *jar;   /* from secrets.encryption */
    struct policy *policy;    /* MAS's default policy over policy.data */
    struct homeserver *hs;    /* the homeserver's API (NULL under --check) */
    char *root;               /* public_base's path without its last '/': "" or "/auth" */
    char *cookie_path;        /* public_base's path: "/" or "/auth/" (MAS: Path=<public_base path>) */
    char *origin;             /* "https://auth.example.com": the origin every form posts to */
    char *css;                /* the stylesheet's path: root + "/assets/" + its hashed name */
    bool secure;              /* public_base is https: Secure cookies, HSTS */
    json_t *branding;         /* {"server_name", "policy_uri", "tos_uri", "imprint"} */
    struct upstream_rp *rp;   /* the relying party of the upstream providers (NULL under --check) */
    struct jose_keyset *keys; /* secrets.keys, for private_key_jwt; NULL when no provider uses it */
};
extern struct human_service human;

/* ---- human.c: answering ------------------------------------------------------------------ */

/* Render pages into at most this much memory: a page that would be larger is a 500. */
#define HUMAN_PAGE_MAX (256 * 1024)

/* A page about to be rendered: the template's data and what its headers need. */
struct page {
    json_t *data;            /* the template's data; the common keys are added by page_send */
    const char *form_action; /* another origin a form on this page posts or redirects to, for
                              * the CSP's form-action (the client's redirect URI); NULL */
    bool script;             /* the page has its one inline script (form_post): a nonce */
};

/* A new page's data with the common keys (docs/architecture.md §8): lang, root, css, branding. */
json_t *page_data(void);
/* Renders `template` with p->data (which it frees) and answers with `status`, the security
 * headers and Cache-Control: no-store. A failed render is a 500 error page. */
void page_send(struct masd_request *r, int status, const char *template, struct page *p);

/* The HTML error page: `kind` is the flag the template explains ("csrf_expired", "not_found",
 * …: templates/error.html), `detail` an optional technical sentence about the request (shown on
 * a 4xx; the OAuth parser's words, like an error_description). A 5xx shows only a reference;
 * the log line with the same reference holds the detail. */
void page_error(struct masd_request *r, int status, const char *kind, const char *detail);
/* The same with `extra`'s keys (freed) merged into the page's data ("back": the way back's href,
 * "client_return": returning an error to an OAuth client), and another origin its forms post to
 * (NULL: none). */
void page_error_with(struct masd_request *r, int status, const char *kind, const char *detail, json_t *extra,
                     const char *form_action);
/* What the policy page (templates/policy_violation.html) shows of a refusal: {"violations":
 * [{"msg"}…], "too_many_sessions": {"need_to_remove"} when the session limit is among them}, to
 * merge into its data. NULL when res has no violation, or when out of memory. */
json_t *page_policy_denial(const struct policy_result *res);
/* Retry-After: the seconds until `ms` have passed (at least 1), for a 429 or 503. */
void page_retry_after(struct masd_request *r, int64_t ms);
/* 303 See Other to `location` (a path below the origin, or a client's redirect URI). */
void page_redirect(struct masd_request *r, const char *location);
/* The same with another redirect status (307: the upstream provider's authorization). */
void page_redirect_status(struct masd_request *r, int status, const char *location);

/* The client's address (docs/architecture.md §3) as text into out, "" when it has none. */
void human_client_ip(struct masd_request *r, char *out, size_t size);
/* The request's User-Agent into out (cut to size), "" without one. */
void human_user_agent(struct masd_request *r, char *out, size_t size);
/* A form (or query) field into a fixed buffer: "" when absent; false when given twice or too
 * long. The decoded copy is wiped (a field may be a password). */
bool human_form_field(masd_str form, const char *name, char *out, size_t size);
/* 303 to the login, continuing with the action afterwards (a grant), with the authorization's
 * login_hint (NULL: none). */
void redirect_to_login(struct masd_request *r, const struct action *a, const char *login_hint);

/* The error pages of the route table's misses. */
void human_not_found(struct masd_request *r);
void human_method_not_allowed(struct masd_request *r);

/* ---- session.c: the browser's session and CSRF cookies -------------------------------------- */

enum browser_state {
    BROWSER_ANONYMOUS,   /* no session cookie, or it names no session */
    BROWSER_ACTIVE,      /* signed in */
    BROWSER_GONE,        /* the cookie names a session the database does not have: forgotten */
    BROWSER_FINISHED,    /* the session was ended elsewhere: interstitial "logged out" */
    BROWSER_LOCKED,      /* the user was locked: interstitial */
    BROWSER_DEACTIVATED, /* the user was deactivated: interstitial */
};

struct browser {
    struct cookie_session cookie; /* as read (current "" when none) */
    enum browser_state state;
    struct storage_browser_session session; /* when the cookie named one that exists */
    struct storage_user user;
};

/* Reads the session cookie (on the loop: one AES-GCM open). An unreadable cookie is none. */
void browser_read_cookie(struct masd_request *r, struct browser *b);
/* Looks the cookie's session and its user up (in a transaction on the worker pool). */
int browser_load(struct storage_tx *tx, struct browser *b);
/* Writes the session cookie back (MAS re-sends it on every request that read it), and notes the
 * activity of an active session (batched, docs/architecture.md §5). A session the database does
 * not have is forgotten: current=null, logged_out_at=now. */
void browser_write_cookie(struct masd_request *r, struct browser *b);
/* Sets the session cookie to `session_id` (NULL: signed out now). */
void browser_set_session(struct masd_request *r, const char *session_id);
/* The interstitial of a browser whose session is not usable any more (FINISHED, LOCKED,
 * DEACTIVATED): a page with a sign-out form carrying `action`. */
void browser_interstitial(struct masd_request *r, const struct browser *b, const struct action *action);
/* {"username", "mxid"} of the signed-in user for the templates' `current`. */
json_t *browser_current(const struct storage_user *u);
/* The user card of the consent pages: browser_current's, with the initial and one of six colours,
 * stable per user. */
json_t *human_user_card(const struct storage_user *u);

/* The cookie `name` of the request, opened: *plain malloc'd with a NUL after its len bytes;
 * -ENOENT when absent, -EBADMSG when it is not one we sealed under that name. */
int human_open_cookie(struct masd_request *r, const char *name, char **plain, size_t *len);
/* Set-Cookie with MAS's flags: HttpOnly, SameSite=Lax, Path=<public_base path>, Secure on https;
 * `json` sealed (MAS's private jar); a 20-year lifetime when permanent, else a browser-session
 * cookie. */
void human_set_cookie(struct masd_request *r, const char *name, const char *json, bool permanent);
/* Set-Cookie that removes the cookie `name`. */
void human_clear_cookie(struct masd_request *r, const char *name);

/* The token for the page's forms (base64url), in request memory, and the csrf cookie that
 * backs it: the browser's unexpired token is reused with a new hour (MAS: csrf.rs), else a new
 * one is drawn. NULL when out of memory. */
const char *csrf_issue(struct masd_request *r);
/* Checks the posted form's `csrf` value against the cookie (double submit, MAS: csrf.rs). On a
 * failure (missing, expired, undecodable or mismatched) the request is answered with a 400 page
 * saying which, and false is returned. */
bool csrf_check(struct masd_request *r);

/* ---- consent.c: the consent page, for authorization grants (/consent) and device-code grants
 * (/device): the same page, the same policy ---------------------------------------------------- */

struct consent {
    json_t *client; /* {client_id, name, uri, uri_host, logo_uri} */
    json_t
        *violations; /* MAS's authorization_grant policy refused: page_policy_denial(); NULL when allowed */
};

/* The grant's client into c->client. 0, -ENOENT, < 0. */
int consent_load_client(struct storage_tx *tx, struct consent *c, const char *client_id);
/* In the grant's transaction, for a signed-in browser: the grant's client, then MAS's
 * authorization_grant policy for its user, the grant's type and scope and the browser's IP and
 * User-Agent ("" when unknown). 0 (c->violations set when refused), or < 0. */
int consent_judge(struct storage_tx *tx, struct consent *c, enum policy_grant_type type,
                  const char *client_id, const char *scope, const struct browser *b, const char *ip,
                  const char *user_agent);
void consent_clear(struct consent *c);
/* On the loop: the policy-violation page (403) when c->violations, else the consent page with
 * `status`: the client, the user, the scopes a person must know about, the forms (the sign-out
 * form continues with `a`), and `extra`'s keys (freed): what the grant's kind adds (cancel,
 * device, form errors). form_action: another origin the page's forms lead to, or NULL. */
void consent_send(struct masd_request *r, int status, const struct consent *c, const struct browser *b,
                  const struct action *a, const char *scope, json_t *extra, const char *form_action);

/* ---- the handlers --------------------------------------------------------------------------- */
void human_index(struct masd_request *r);             /* index.c: GET / */
void human_account(struct masd_request *r);           /* index.c: GET /account, /account/… */
void human_login(struct masd_request *r);             /* login.c: GET, POST /login */
void human_logout(struct masd_request *r);            /* login.c: POST /logout */
void human_authorize(struct masd_request *r);         /* authorize.c: GET /authorize */
void human_consent(struct masd_request *r);           /* consent.c: GET, POST /consent/{grant_id} */
void human_register(struct masd_request *r);          /* register.c: GET /register */
void human_register_password(struct masd_request *r); /* register.c: GET, POST /register/password */
void human_register_step(struct masd_request *r);     /* register.c: /register/steps/{id}/{step} */
/* register.c: the registration `id` joins the browser's user-registration-sessions cookie (a
 * registration started elsewhere: the upstream link page) */
void register_cookie_add(struct masd_request *r, const char *id);
void human_upstream_link(struct masd_request *r);    /* upstream_link.c: GET, POST /upstream/link/{link_id} */
void human_compat_sso(struct masd_request *r);       /* compat_sso.c: GET, POST /complete-compat-sso/{id} */
void human_link(struct masd_request *r);             /* link.c: GET, POST /link */
void human_device(struct masd_request *r);           /* device.c: GET, POST /device/{grant_id} */
void human_account_sessions(struct masd_request *r); /* sessions.c: GET /account/sessions */
void human_account_browsers(struct masd_request *r); /* sessions.c: GET /account/sessions/browsers */
void human_account_session(struct masd_request *r);  /* sessions.c: GET, POST /account/sessions/{id} */
void human_account_device(struct masd_request *r);   /* sessions.c: GET /account/devices/{device_id} */
/* account_page.c: the account pages */
void human_account_profile(struct masd_request *r);             /* GET, POST /account/ */
void human_account_verify_email(struct masd_request *r);        /* GET, POST /account/emails/{id}/verify */
void human_account_password(struct masd_request *r);            /* GET, POST /account/password/change */
void human_account_deactivate(struct masd_request *r);          /* GET, POST /account/deactivate */
void human_account_reset_cross_signing(struct masd_request *r); /* GET, POST /account/reset-cross-signing */
void human_change_password_well_known(struct masd_request *r);  /* GET /.well-known/change-password */
/* upstream providers (docs/upstream-oauth.md): upstream.c's GET /upstream/authorize/{provider} and
 * GET, POST /upstream/callback/{provider}; upstream_backchannel.c's POST
 * /upstream/backchannel-logout/{provider} */
void human_upstream_authorize(struct masd_request *r);
void human_upstream_callback(struct masd_request *r);
void human_upstream_backchannel_logout(struct masd_request *r);
/* account recovery (recovery.h) */
void human_recover(struct masd_request *r);           /* recover.c: GET, POST /recover */
void human_recover_progress(struct masd_request *r);  /* recover.c: GET, POST /recover/progress/{id} */
void human_recovery_password(struct masd_request *r); /* recovery_password.c: GET, POST
                                                       * /account/password/recovery?ticket=… */
