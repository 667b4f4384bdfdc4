/* GraphQL over HTTP (the GraphQL-over-HTTP specification, the draft graphql-http's audit
 * follows): what an HTTP request asks the engine for, and the status and media type of the
 * answer. Pure functions: an endpoint hands in the request's parts and sends what comes out.
 *
 *   - GET: `query`, `operationName`, `variables` and `extensions` (JSON) in the URL's query; a
 *     mutation is refused with 405 and `Allow: POST`.
 *   - POST: a JSON object {query, operationName?, variables?, extensions?} with Content-Type
 *     application/json (charset utf-8 or none; else 415, absent too).
 *   - Other methods: 405, `Allow: GET, POST`.
 *   - Accept: application/graphql-response+json or application/json, by q-value, the more
 *     specific range first, graphql-response+json at a tie of explicit ranges; no header, or
 *     only wildcards: application/json. Nothing acceptable: 406.
 *   - Status: a malformed HTTP request 400; a request error of GraphQL (syntax, validation,
 *     variables, caps: the response has no "data") 400 with application/graphql-response+json
 *     and 200 with application/json; an executed operation 200. */
#pragma once
#include "graphql.h"
#include "str.h"

typedef enum {
    GQL_MEDIA_JSON,             /* application/json */
    GQL_MEDIA_GRAPHQL_RESPONSE, /* application/graphql-response+json */
} gql_media;

typedef struct {
    masd_str method;
    masd_str query_string;  /* the URL's query, without '?' (empty when none) */
    masd_str content_type;  /* empty when absent */
    const masd_str *accept; /* every Accept header value */
    size_t naccept;
    masd_str body;
} gql_http_in;

/* The answer, or what to execute. */
typedef struct {
    int status;                   /* the HTTP status */
    gql_media media;              /* of the body */
    const char *allow;            /* for a 405: the Allow header's value */
    json_t *body;                 /* the response when nothing is left to execute */
    gql_prepared *prepared;       /* else: the operation to gql_run(); its response gets status 200 */
    gql_operation_type operation; /* of prepared */
} gql_http_answer;

/* Parses the HTTP request and prepares its operation (gql_prepare()). Returns 0 (out filled:
 * either body or prepared), or -ENOMEM. */
int gql_http_handle(const gql_schema *schema, const gql_limits *limits, const gql_http_in *in,
                    gql_http_answer *out);
void gql_http_answer_free(gql_http_answer *a);

/* "application/graphql-response+json; charset=utf-8" or "application/json; charset=utf-8". */
const char *gql_http_content_type(gql_media media);

/* ---- the parts, for tests ---- */

/* The media type for the Accept header values (n == 0: absent); -1 when none is acceptable. */
int gql_http_accept(const masd_str *values, size_t n);

typedef struct {
    char *query;
    size_t query_len;
    char *operation_name;
    json_t *variables;  /* NULL or an object */
    json_t *extensions; /* NULL or an object */
    bool get;
} gql_http_params;

/* The GraphQL parameters of a GET or POST request. Returns 0, or the HTTP status to refuse it
 * with (400, 405, 415) and *why a static explanation; -ENOMEM. */
int gql_http_params_parse(const gql_http_in *in, gql_http_params *out, const char **why);
void gql_http_params_free(gql_http_params *p);
