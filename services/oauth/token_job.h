/* POST /oauth2/token: the request as it travels through the pools, and what the files of the
 * endpoint share. token.c is the endpoint (the form, the dispatch, the answer) with the grants
 * that need nothing from a person (refresh_token, client_credentials); token_session.c holds
 * what the two grants a person approved have in common — the OAuth session they create, the
 * same way for both, and its devices on the homeserver — and the authorization_code grant;
 * token_device.c the device_code grant (RFC 8628). */
#pragma once
#include "homeserver.h"
#include "client/auth.h"
#include "storage.h"
#include "token.h"
#include "token_request.h"
#include <stdbool.h>
#include <stdint.h>

#define TOKEN_MAX_DEVICES     4
#define TOKEN_CLIENT_NAME_MAX 256

struct token_job {
    /* in, read on the loop */
    struct client_credentials creds;
    struct token_request req;
    int parse_rc; /* token_request_parse's, answered after the client authenticated (as MAS) */
    const char *parse_why;
    char *user_agent;
    char ip[STORAGE_IP_SIZE];
    /* the answer: an error (status != 0) or the tokens */
    int rc; /* < 0: 500 */
    int status;
    const char *error;
    const char *why;
    char *why_owned; /* a policy's violations, joined */
    struct client_auth_result auth;
    char access_token[TOKEN_LEN + 1], refresh_token[TOKEN_LEN + 1];
    int64_t now, expires_at;
    char scope[STORAGE_SCOPE_MAX + 1];
    char *id_token;
    /* an approved grant's OAuth session: what the homeserver is told after the commit */
    struct storage_user user;
    char session_id[STORAGE_ID_SIZE];
    char device_buf[STORAGE_SCOPE_MAX + TOKEN_MAX_DEVICES + 1];
    const char *devices[TOKEN_MAX_DEVICES];
    size_t n_devices;
    char device_name[HOMESERVER_DEVICE_NAME_MAX + 1]; /* bytes: never more characters than that */
    /* device_code: the poll found the grant approved; its exchange follows on the outbound pool
     * for the client that authenticated (an assertion's jti is spent: it is not checked twice) */
    bool exchange_due;
    char client_id[STORAGE_ID_SIZE];
    char device_grant_id[STORAGE_ID_SIZE];
};

/* token.c */

/* Sets the error answer; returns 0 (the transaction still commits). */
int token_fail(struct token_job *j, int status, const char *error, const char *why);
/* Clears what a run of a transaction function fills (storage_tx may run it again). */
void token_reset(struct token_job *j);
/* client_authenticate_for() with the request's credentials and form: 1 authenticated (*client
 * to be cleared), 0 answered (j->status), < 0 error. */
int token_authenticate(struct storage_tx *tx, struct token_job *j, struct storage_oauth_client *client,
                       const char *grant);
/* A string of the client's metadata into out ("" when absent). */
void token_client_meta(const struct storage_oauth_client *c, const char *key, char *out, size_t size);
/* Issues the access token (and the refresh token when `refresh`) of the session. */
int token_issue_pair(struct storage_tx *tx, struct token_job *j, const char *session_id, bool refresh,
                     struct storage_access_token *at, struct storage_refresh_token *rt);
/* Ends an OAuth session and queues the device sync that tells the homeserver. */
int token_end_session(struct storage_tx *tx, const char *session_id, const char *user_id, int64_t now);

/* token_session.c */

/* The browser session that approved a grant must still be active, and its user neither locked
 * nor deactivated (j->user is filled): 1, 0 answered (invalid_grant), < 0 error. */
int token_approver(struct storage_tx *tx, struct token_job *j, const char *browser_session_id);
/* The OAuth session of an approved grant, the same for every such grant: its devices taken over
 * (one active session per user and device), the session, the access token (and a refresh token
 * when `refresh`), the ID token when the scope has openid (nonce and code may be NULL). Fills
 * j->session_id, j->scope, j->devices and j->device_name for the homeserver. 0, or < 0 (-EBUSY
 * while a device sync of the user runs: hs_session_tx waits and runs the transaction again). */
int token_start_session(struct storage_tx *tx, struct token_job *j, const struct storage_oauth_client *client,
                        const char *browser_session_id, const char *scope, const char *nonce,
                        const char *code, bool refresh);
/* On the outbound pool: the exchange of an approved grant in one transaction (authorization_code,
 * or device_code once its poll found it approved), then its devices on the homeserver before the
 * answer; a failure there ends the session (500 server_error). */
void token_exchange_work(void *arg);

/* token_device.c */

/* On the worker pool: the poll of a device code (RFC 8628 §3.4–3.5). Sets j->exchange_due when
 * the grant is approved. */
int token_device_poll_tx(struct storage_tx *tx, void *arg);
/* In token_exchange_work's transaction: the approved device grant becomes the OAuth session. */
int token_device_exchange_tx(struct storage_tx *tx, void *arg);
