/* GraphQL over HTTP (graphql_http.h): the request's parameters, content negotiation, statuses. */
#include "graphql_http.h"
#include "form.h"
#include <errno.h>
#include <stdlib.h>

const char *gql_http_content_type(gql_media media)
{
    return media == GQL_MEDIA_GRAPHQL_RESPONSE ? "application/graphql-response+json; charset=utf-8"
                                               : "application/json; charset=utf-8";
}

/* ---- Accept (RFC 9110 §12.5.1) ---- */

static bool is_token(masd_str s)
{
    if (s.len == 0)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              (c && strchr("!#$%&'*+-.^_`|~", c))))
            return false;
    }
    return true;
}

/* A qvalue in thousandths; -1 when it does not follow the RFC's syntax. */
static int qvalue(masd_str v)
{
    if (v.len == 0 || v.len > 5 || (v.ptr[0] != '0' && v.ptr[0] != '1') || (v.len > 1 && v.ptr[1] != '.'))
        return -1;
    int q = (v.ptr[0] - '0') * 1000, scale = 100;
    for (size_t i = 2; i < v.len; i++, scale /= 10) {
        if (v.ptr[i] < '0' || v.ptr[i] > '9')
            return -1;
        q += (v.ptr[i] - '0') * scale;
    }
    return q <= 1000 ? q : -1;
}

typedef struct {
    const char *type, *subtype;
    int q, specificity; /* of the most specific range that matched; 0: none */
} candidate;

static void consider(candidate *c, masd_str type, masd_str subtype, int q)
{
    int spec = 0;
    if (masd_str_eq(type, MASD_STR("*")) && masd_str_eq(subtype, MASD_STR("*")))
        spec = 1;
    else if (masd_str_caseeq(type, masd_str_from(c->type)))
        spec = masd_str_eq(subtype, MASD_STR("*"))                   ? 2
               : masd_str_caseeq(subtype, masd_str_from(c->subtype)) ? 3
                                                                     : 0;
    if (spec > c->specificity ||
        (spec && spec == c->specificity && q < c->q)) /* a range twice: the lower q */
        c->q = q, c->specificity = spec;
}

int gql_http_accept(const masd_str *values, size_t n)
{
    if (n == 0)
        return GQL_MEDIA_JSON; /* no Accept header: application/json (the spec's legacy rule) */
    candidate c[2] = {{"application", "json", 0, 0}, {"application", "graphql-response+json", 0, 0}};
    for (size_t v = 0; v < n; v++) {
        masd_str rest = values[v], element;
        while (masd_str_next(&rest, ',', &element)) {
            masd_str params = element, range, type, subtype, param;
            masd_str_next(&params, ';', &range);
            range = masd_str_trim(range);
            masd_str_next(&range, '/', &type);
            subtype = range;
            if (!is_token(type) || !is_token(subtype))
                continue;
            int q = 1000;
            while (masd_str_next(&params, ';', &param)) {
                param = masd_str_trim(param);
                if (param.len >= 2 && (param.ptr[0] == 'q' || param.ptr[0] == 'Q') && param.ptr[1] == '=') {
                    q = qvalue((masd_str){param.ptr + 2, param.len - 2});
                    if (q < 0)
                        q = 0; /* unclear: not acceptable */
                }
            }
            for (int i = 0; i < 2; i++)
                consider(&c[i], type, subtype, q);
        }
    }
    bool json_ok = c[0].specificity && c[0].q > 0, gr_ok = c[1].specificity && c[1].q > 0;
    if (!json_ok && !gr_ok)
        return -1;
    if (json_ok != gr_ok)
        return gr_ok ? GQL_MEDIA_GRAPHQL_RESPONSE : GQL_MEDIA_JSON;
    if (c[0].q != c[1].q)
        return c[1].q > c[0].q ? GQL_MEDIA_GRAPHQL_RESPONSE : GQL_MEDIA_JSON;
    if (c[0].specificity != c[1].specificity)
        return c[1].specificity > c[0].specificity ? GQL_MEDIA_GRAPHQL_RESPONSE : GQL_MEDIA_JSON;
    return c[1].specificity == 3 ? GQL_MEDIA_GRAPHQL_RESPONSE : GQL_MEDIA_JSON;
}

/* ---- the parameters ---- */

/* application/json, with no charset or utf-8 (RFC 8259 §8.1: JSON is UTF-8). */
static bool json_content_type(masd_str ct)
{
    if (!masd_media_type_is(ct, MASD_STR("application/json")))
        return false;
    masd_str rest = ct, param;
    masd_str_next(&rest, ';', &param);
    while (masd_str_next(&rest, ';', &param)) {
        param = masd_str_trim(param);
        if (param.len < 8 || strncasecmp(param.ptr, "charset=", 8) != 0)
            continue;
        masd_str v = {param.ptr + 8, param.len - 8};
        if (v.len >= 2 && v.ptr[0] == '"' && v.ptr[v.len - 1] == '"')
            v.ptr++, v.len -= 2;
        if (!masd_str_caseeq(v, MASD_STR("utf-8")) && !masd_str_caseeq(v, MASD_STR("utf8")))
            return false;
    }
    return true;
}

/* A JSON object parameter: 0 (*out an object, or NULL for null), 400 otherwise. */
static int object_param(json_t *v, json_t **out)
{
    if (!v || json_is_null(v))
        return *out = NULL, 0;
    if (!json_is_object(v))
        return 400;
    *out = json_incref(v);
    return 0;
}

static int parse_post(const gql_http_in *in, gql_http_params *out, const char **why)
{
    if (!in->content_type.len || !json_content_type(in->content_type))
        return *why = "POST requests take Content-Type: application/json.", 415;
    if (!in->body.len)
        return *why = "The request has no body.", 400;
    json_t *body = json_loadb(in->body.ptr, in->body.len, JSON_REJECT_DUPLICATES, NULL);
    if (!body || !json_is_object(body))
        return json_decref(body), *why = "The body is not a JSON object.", 400;
    json_t *query = json_object_get(body, "query"), *name = json_object_get(body, "operationName");
    int r = 0;
    if (!json_is_string(query))
        *why = "The body's \"query\" is not a string.", r = 400;
    else if (name && !json_is_null(name) && !json_is_string(name))
        *why = "The body's \"operationName\" is not a string.", r = 400;
    else if (object_param(json_object_get(body, "variables"), &out->variables) ||
             object_param(json_object_get(body, "extensions"), &out->extensions))
        *why = "The body's \"variables\" and \"extensions\" must be objects.", r = 400;
    if (r == 0) {
        out->query_len = json_string_length(query);
        out->query = malloc(out->query_len + 1);
        out->operation_name = json_is_string(name) ? strdup(json_string_value(name)) : NULL;
        if (!out->query || (json_is_string(name) && !out->operation_name))
            r = -ENOMEM;
        else
            memcpy(out->query, json_string_value(query), out->query_len + 1);
    }
    json_decref(body);
    return r;
}

/* A URL parameter: 0 (*out malloc'd, or NULL when absent), 400 when malformed or repeated. */
static int url_param(masd_str query, const char *name, char **out, const char **why)
{
    *out = NULL;
    int r = form_get(query, name, out);
    if (r == -ENOMEM)
        return r;
    if (r == -EEXIST)
        return *why = "A parameter is given more than once.", 400;
    if (r < 0)
        return *why = "A parameter is not correctly URL-encoded.", 400;
    return 0;
}

static int parse_get(const gql_http_in *in, gql_http_params *out, const char **why)
{
    char *variables = NULL, *extensions = NULL;
    out->get = true;
    int r = url_param(in->query_string, "query", &out->query, why);
    if (r == 0)
        r = url_param(in->query_string, "operationName", &out->operation_name, why);
    if (r == 0)
        r = url_param(in->query_string, "variables", &variables, why);
    if (r == 0)
        r = url_param(in->query_string, "extensions", &extensions, why);
    if (r == 0 && !out->query)
        *why = "The URL has no \"query\" parameter.", r = 400;
    for (int i = 0; r == 0 && i < 2; i++) {
        const char *text = i ? extensions : variables;
        json_t *v = text ? json_loads(text, JSON_REJECT_DUPLICATES, NULL) : NULL;
        if (text && (!v || object_param(v, i ? &out->extensions : &out->variables)))
            *why = "The \"variables\" and \"extensions\" parameters must be JSON objects.", r = 400;
        json_decref(v);
    }
    if (out->query)
        out->query_len = strlen(out->query);
    free(variables);
    free(extensions);
    return r;
}

int gql_http_params_parse(const gql_http_in *in, gql_http_params *out, const char **why)
{
    *out = (gql_http_params){0};
    *why = NULL;
    int r;
    if (masd_str_eq(in->method, MASD_STR("POST")))
        r = parse_post(in, out, why);
    else if (masd_str_eq(in->method, MASD_STR("GET")))
        r = parse_get(in, out, why);
    else
        *why = "GraphQL is served over GET and POST only.", r = 405;
    if (r != 0)
        gql_http_params_free(out);
    return r;
}

void gql_http_params_free(gql_http_params *p)
{
    free(p->query);
    free(p->operation_name);
    json_decref(p->variables);
    json_decref(p->extensions);
    *p = (gql_http_params){0};
}

/* ---- the whole request ---- */

static int refuse(gql_http_answer *out, int status, const char *why)
{
    out->status = status;
    out->body = json_pack("{s:[{s:s}]}", "errors", "message", why);
    return out->body ? 0 : -ENOMEM;
}

int gql_http_handle(const gql_schema *schema, const gql_limits *limits, const gql_http_in *in,
                    gql_http_answer *out)
{
    *out = (gql_http_answer){.media = GQL_MEDIA_JSON};
    const char *why;
    gql_http_params p;
    if (!masd_str_eq(in->method, MASD_STR("GET")) && !masd_str_eq(in->method, MASD_STR("POST"))) {
        out->allow = "GET, POST";
        return refuse(out, 405, "GraphQL is served over GET and POST only.");
    }
    int media = gql_http_accept(in->accept, in->naccept);
    if (media < 0)
        return refuse(out, 406, "Accept application/graphql-response+json or application/json.");
    out->media = (gql_media)media;
    int r = gql_http_params_parse(in, &p, &why);
    if (r < 0)
        return r;
    if (r > 0)
        return refuse(out, r, why);
    gql_request req = {p.query, p.query_len, p.operation_name, p.variables, p.get};
    json_t *errors = NULL;
    r = gql_prepare(schema, limits, &req, &out->prepared, &errors);
    gql_http_params_free(&p);
    if (r == -ENOMEM)
        return r;
    if (r == 0) {
        out->status = 200;
        out->operation = gql_prepared_operation(out->prepared);
        return 0;
    }
    if (r == -EPERM) {
        out->status = 405;
        out->allow = "POST";
    } else { /* a request error: no "data" */
        out->status = out->media == GQL_MEDIA_GRAPHQL_RESPONSE ? 400 : 200;
    }
    out->body = gql_error_response(errors);
    return out->body ? 0 : -ENOMEM;
}

void gql_http_answer_free(gql_http_answer *a)
{
    json_decref(a->body);
    gql_prepared_free(a->prepared);
    *a = (gql_http_answer){0};
}
