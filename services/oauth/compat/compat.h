/* The Matrix compat API of masd-oauth: its handlers, bound by main.c's route table, and the
 * request plumbing they share (request.c). */
#pragma once
#include "compat/parse.h"
#include "oauth.h"

/* Compat access tokens issued with a refresh token expire after this (MAS's default
 * experimental.compat_token_ttl; the experimental section is not implemented yet). */
#define COMPAT_TOKEN_TTL_MS (300 * 1000)

/* The request's JSON body under compat_json_body's rules; on failure the Matrix error is sent
 * and -EINVAL returned. */
int compat_request_json(struct masd_request *r, bool empty_ok, json_t **doc);
/* A copy of the Bearer token (request memory), or NULL after answering 401 M_MISSING_TOKEN. */
char *compat_request_bearer(struct masd_request *r);
/* A copy of a request header's first value (request memory, NUL-terminated, cut to max bytes
 * on a UTF-8 boundary), or NULL when absent. */
char *compat_request_header(struct masd_request *r, const char *name, size_t max);

/* The compat API (compat/login.c, compat/logout.c, compat/refresh.c, compat/sso_redirect.c). */
void compat_login(struct masd_request *r);
void compat_sso_redirect(struct masd_request *r);
void compat_logout(struct masd_request *r);
void compat_logout_all(struct masd_request *r);
void compat_refresh(struct masd_request *r);
int compat_login_setup(const struct config *cfg);
