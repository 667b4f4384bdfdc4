/* What the handlers of masd-oauth share: the configuration, the database, and the request
 * plumbing of the compat API (CORS, JSON bodies, Bearer tokens). */
#pragma once
#include "client/auth.h" /* oauth_cors(): the same CORS rules as the compat API router */
#include "compat/parse.h"
#include "config.h"
#include "server.h"
#include "storage.h"

/* Compat access tokens issued with a refresh token expire after this (MAS's default
 * experimental.compat_token_ttl; the experimental section is not implemented yet). */
#define COMPAT_TOKEN_TTL_MS (300 * 1000)

extern const struct config *oauth_config;
extern struct storage *oauth_storage;
extern struct homeserver *oauth_homeserver;

/* The request's JSON body under compat_json_body's rules; on failure the Matrix error is sent
 * and -EINVAL returned. */
int compat_request_json(struct masd_request *r, bool empty_ok, json_t **doc);

/* A copy of the Bearer token (request memory), or NULL after answering 401 M_MISSING_TOKEN. */
char *compat_request_bearer(struct masd_request *r);

/* A copy of a request header's first value (request memory, NUL-terminated, cut to max bytes
 * on a UTF-8 boundary), or NULL when absent. */
char *compat_request_header(struct masd_request *r, const char *name, size_t max);

/* Handlers (compat/login.c, compat/logout.c, compat/refresh.c). */
void compat_login(struct masd_request *r);
void compat_logout(struct masd_request *r);
void compat_logout_all(struct masd_request *r);
void compat_refresh(struct masd_request *r);
int compat_login_setup(const struct config *cfg);
