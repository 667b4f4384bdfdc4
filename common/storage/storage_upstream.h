/* Upstream OAuth 2.0 / OpenID Connect providers, their links to users and the authorization
 * sessions of a sign-in (migration 13, storage_schema.c). Same conventions as storage.h. */
#pragma once
#include "config.h"
#include "storage.h"

/* A provider row (heap fields: storage_upstream_provider_clear). JSON columns as text. */
struct storage_upstream_provider {
    char id[STORAGE_ID_SIZE];
    char *issuer, *human_name, *brand_name, *synapse_idp_id, *scope, *client_id;
    char *encrypted_client_secret; /* secrets_seal(purpose "upstream-client-secret"); NULL: none */
    char *token_endpoint_auth_method, *token_endpoint_signing_alg, *id_token_signed_response_alg;
    char *userinfo_signed_response_alg;
    bool fetch_userinfo, forward_login_hint, registration_token_required;
    char *claims_imports; /* {"subject": {"template": ...}, "localpart": {"action": ...}, ...} */
    char *authorization_endpoint_override, *token_endpoint_override, *userinfo_endpoint_override;
    char *jwks_uri_override;
    char *discovery_mode, *pkce_mode, *response_mode, *on_backchannel_logout;
    char *additional_parameters;               /* [["name", "template"], ...] */
    int64_t ui_order, created_at, disabled_at; /* disabled_at 0: enabled */
};
void storage_upstream_provider_clear(struct storage_upstream_provider *p);

/* Insert or overwrite by ID from the configuration (created_at kept, disabled_at cleared). */
int storage_upstream_provider_upsert(struct storage_tx *tx, const struct storage_upstream_provider *in,
                                     int64_t now);
/* -ENOENT when there is none by that ID. */
int storage_upstream_provider_get(struct storage_tx *tx, const char *id,
                                  struct storage_upstream_provider *out);
/* Every provider's ID and disabled_at (0: enabled), by ID (*ids and *disabled malloc'd). */
int storage_upstream_provider_list(struct storage_tx *tx, char (**ids)[STORAGE_ID_SIZE], int64_t **disabled,
                                   size_t *n);
/* Marks an enabled provider disabled: 1 when it was enabled, 0 when it was disabled already,
 * -ENOENT when there is none. */
int storage_upstream_provider_disable(struct storage_tx *tx, const char *id, int64_t now);
/* Deletes a provider with its authorization sessions and its links (MAS's prune). */
int storage_upstream_provider_delete(struct storage_tx *tx, const char *id);

/* A link between a provider's subject and (once known) a user. */
struct storage_upstream_link {
    char id[STORAGE_ID_SIZE];
    char provider_id[STORAGE_ID_SIZE];
    char user_id[STORAGE_ID_SIZE]; /* "" until registration or linking completes */
    char subject[256];
    char human_account_name[256]; /* "" when none */
    int64_t created_at;
};
/* -EEXIST when the provider has a link for that subject already. */
int storage_upstream_link_create(struct storage_tx *tx, const char *provider_id, const char *subject,
                                 const char *human_account_name, int64_t now,
                                 struct storage_upstream_link *out);
int storage_upstream_link_find(struct storage_tx *tx, const char *provider_id, const char *subject,
                               struct storage_upstream_link *out);

/* An authorization session, as the flow starts it: state, PKCE verifier, nonce (may be NULL). */
int storage_upstream_session_create(struct storage_tx *tx, const char *provider_id, const char *state,
                                    const char *verifier, const char *nonce, int64_t now,
                                    char id[STORAGE_ID_SIZE]);
/* The session's ID and provider by its state; -ENOENT. */
int storage_upstream_session_find_state(struct storage_tx *tx, const char *state, char id[STORAGE_ID_SIZE],
                                        char provider_id[STORAGE_ID_SIZE]);

/* How long a sign-in at a provider may take, from /upstream/authorize to the callback and on to
 * the link page: MAS's 10 minutes, which MAS keeps only in the cookie; masd checks it on the row
 * too (docs/upstream-oauth.md). */
#define STORAGE_UPSTREAM_SESSION_TTL_MS (10 * 60 * 1000LL)

/* masd-worker's clean-up (MAS: cleanup-upstream-oauth-sessions and -links), of what is older than
 * `before` (STORAGE_UPSTREAM_KEEP_MS ago): the authorization sessions no browser session came of
 * (abandoned, refused, or whose browser session was deleted), and the links that never got a user,
 * with their sessions. Sessions that signed a browser in stay: back-channel logout finds the
 * browser sessions through them. *sessions, *links (may be NULL): how many went. */
#define STORAGE_UPSTREAM_KEEP_MS (7LL * 24 * 3600 * 1000)
int storage_upstream_purge(struct storage_tx *tx, int64_t before, unsigned *sessions, unsigned *links);

/* A whole authorization session row (heap fields: storage_upstream_session_clear). Pending: no
 * completed_at; completed: link_id and the callback's data set; consumed: consumed_at. */
struct storage_upstream_session {
    char id[STORAGE_ID_SIZE];
    char provider_id[STORAGE_ID_SIZE];
    char link_id[STORAGE_ID_SIZE]; /* "" until completed (or after unlinking) */
    char state[256];
    char verifier[129];                                           /* the PKCE verifier, "" without PKCE */
    char nonce[256];                                              /* "" without (no openid scope) */
    char *id_token;                                               /* the raw ID token; NULL when none */
    char *id_token_claims, *extra_callback_parameters, *userinfo; /* JSON text; NULL when none */
    char id_token_sub[256], id_token_sid[256];                    /* "" when none */
    char browser_session_id[STORAGE_ID_SIZE];                     /* "" until consumed */
    int64_t created_at, completed_at, consumed_at, unlinked_at;   /* 0: not yet */
};
void storage_upstream_session_clear(struct storage_upstream_session *s);

/* -ENOENT when there is none by that ID. */
int storage_upstream_session_get(struct storage_tx *tx, const char *id, struct storage_upstream_session *out);

/* What the callback proved, stored on a pending session. */
struct storage_upstream_completion {
    const char *link_id;
    const char *id_token;                    /* NULL: none */
    const char *id_token_claims;             /* JSON object text, NULL: none */
    const char *id_token_sub, *id_token_sid; /* the claims' sub and sid (for back-channel logout) */
    const char *extra_callback_parameters;   /* JSON object text (may be "{}") */
    const char *userinfo;                    /* JSON object text, NULL: none */
};
/* Completes a pending session, compare-and-set: 0, -EALREADY when it was completed already (a
 * replayed callback), -ENOENT. */
int storage_upstream_session_complete(struct storage_tx *tx, const char *id,
                                      const struct storage_upstream_completion *c, int64_t now);

/* The newest session completed with this link (MAS: the link page's lookup); -ENOENT. */
int storage_upstream_session_find_link(struct storage_tx *tx, const char *link_id,
                                       struct storage_upstream_session *out);

/* Consumes a completed session for a browser session (NULL: none yet), compare-and-set: 0,
 * -EALREADY when consumed already or not completed, -ENOENT. */
int storage_upstream_session_consume(struct storage_tx *tx, const char *id, const char *browser_session_id,
                                     int64_t now);
/* ---- the link page (storage_upstream_link.c; services/human/upstream_link.c) ------------------ */

/* A link by its ID; -ENOENT. */
int storage_upstream_link_get(struct storage_tx *tx, const char *id, struct storage_upstream_link *out);
/* Gives a link without a user the user: 0, -EALREADY when it has one already, -ENOENT. */
int storage_upstream_link_associate(struct storage_tx *tx, const char *link_id, const char *user_id);
/* How many links of the provider the user has. */
int storage_upstream_link_count_for_user(struct storage_tx *tx, const char *provider_id, const char *user_id,
                                         int64_t *count);
/* Removes the user's links to the provider (on_conflict: replace), their sessions marked
 * unlinked; *removed (may be NULL): how many. */
int storage_upstream_link_remove_for_user(struct storage_tx *tx, const char *provider_id, const char *user_id,
                                          int64_t now, int64_t *removed);

/* Records that the browser session authenticated through the upstream authorization session. */
int storage_browser_session_authenticate_upstream(struct storage_tx *tx, const char *session_id,
                                                  const char *upstream_session_id, int64_t now,
                                                  char auth_id[STORAGE_ID_SIZE]);
/* The upstream authorization session of an authentication ("" for a password's); -ENOENT. */
int storage_browser_session_authentication_upstream(struct storage_tx *tx, const char *auth_id,
                                                    char upstream_session_id[STORAGE_ID_SIZE]);
/* A registration started from an upstream sign-in: 0, -EALREADY when completed, -ENOENT. */
int storage_registration_set_upstream_session(struct storage_tx *tx, const char *id,
                                              const char *upstream_session_id);
/* Its upstream authorization session ("" when none); -ENOENT. */
int storage_registration_upstream_session(struct storage_tx *tx, const char *id,
                                          char upstream_session_id[STORAGE_ID_SIZE]);
/* An e-mail authentication completed at once: the address came from the provider's claims
 * (MAS: complete_authentication_with_upstream); no code, no e-mail sent. */
int storage_email_authentication_create_completed(struct storage_tx *tx, const char *email, int64_t now,
                                                  char id[STORAGE_ID_SIZE]);

/* An enabled provider as the login and register pages and the compat login list it. */
struct storage_upstream_button {
    char id[STORAGE_ID_SIZE];
    char human_name[256], issuer[512], brand_name[64], synapse_idp_id[256]; /* "" when unset */
};
struct storage_upstream_button_list {
    struct storage_upstream_button *items;
    size_t n, cap;
};
/* The enabled providers by ui_order, then ID. */
int storage_upstream_provider_buttons(struct storage_tx *tx, struct storage_upstream_button_list *out);
void storage_upstream_button_list_clear(struct storage_upstream_button_list *l);
/* "Continue with <label>": human_name, else the issuer without its scheme, else the ID. */
const char *storage_upstream_button_label(const struct storage_upstream_button *b);

/* ---- Back-channel logout (OpenID Connect Back-Channel Logout 1.0; docs/upstream-oauth.md) ---- */

/* What a logout token ended. users: each user once, for a sync-devices job each (malloc'd). */
struct storage_upstream_logout {
    unsigned browser_sessions, oauth_sessions, compat_sessions;
    char (*users)[STORAGE_ID_SIZE];
    size_t n_users;
};
void storage_upstream_logout_clear(struct storage_upstream_logout *out);

/* The browser sessions that sign-ins through provider_id opened, whose ID token had this sub
 * (NULL: any) and this sid (NULL: any; never both NULL), and that signed in at or before
 * issued_at (a logout token does not end a sign-in made after it was issued: a replay of a
 * sub-only token within its lifetime then ends nothing new). Active ones are ended; with
 * all_sessions, so are the active OAuth 2.0 and compat sessions started from them (MAS's
 * logout_all), their devices freed. Counts and users to *out. */
int storage_upstream_backchannel_logout(struct storage_tx *tx, const char *provider_id, const char *sub,
                                        const char *sid, int64_t issued_at, bool all_sessions, int64_t now,
                                        struct storage_upstream_logout *out);
