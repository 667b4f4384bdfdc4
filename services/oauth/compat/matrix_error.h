/* The one place that renders Matrix C-S API responses in JSON: `{"errcode","error"}` errors
 * (every compat error, /refresh included) and the JSON bodies of successes. */
#pragma once
#include "server.h"
#include <jansson.h>

/* Takes ownership of doc; renders it compactly with Content-Type application/json, never to be
 * cached (Cache-Control: no-store, Pragma: no-cache); a 401 with a Bearer challenge. */
void matrix_respond_json(struct masd_request *r, int status, json_t *doc);

void matrix_error(struct masd_request *r, int status, const char *errcode, const char *error);

/* 401 M_UNKNOWN_TOKEN with "soft_logout": false (clients then drop the session), and
 * WWW-Authenticate: Bearer …, error="invalid_token". */
void matrix_error_unknown_token(struct masd_request *r, const char *error);

/* 429 M_LIMIT_EXCEEDED with retry_after_ms. */
void matrix_error_limited(struct masd_request *r, const char *error, long long retry_after_ms);

/* 500 M_UNKNOWN: a database failure the client can only retry. */
void matrix_error_internal(struct masd_request *r);
