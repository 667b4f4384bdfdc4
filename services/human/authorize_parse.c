/* The query of GET /authorize, and the rules that need only it and the client (authorize_parse.h). */
#include "authorize_parse.h"
#include "oauth_scope.h"
#include "form.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistr.h>

void authorize_request_clear(struct authorize_request *req)
{
    free(req->client_id);
    free(req->redirect_uri);
    free(req->scope);
    free(req->state);
    free(req->nonce);
    free(req->login_hint);
    free(req->code_challenge);
    *req = (struct authorize_request){.max_age = -1};
}

/* /authorize takes no empty scope (MAS: a required parameter, parsed as a set). */
static int normalise_scope(char *scope)
{
    return *scope ? oauth_scope_normalise(scope) : -EINVAL;
}

/* A space-separated list of words from `allowed` (NULL-terminated); bit i set for allowed[i]. */
static int word_set(const char *value, const char *const *allowed, unsigned *out)
{
    *out = 0;
    const char *p = value;
    if (!*p)
        return -EINVAL;
    while (*p) {
        const char *sp = strchr(p, ' ');
        size_t len = sp ? (size_t)(sp - p) : strlen(p);
        size_t i = 0;
        while (allowed[i] && !(strlen(allowed[i]) == len && memcmp(allowed[i], p, len) == 0))
            i++;
        if (!allowed[i] || len == 0)
            return -EINVAL;
        *out |= 1u << i;
        p += len + (sp ? 1 : 0);
        if (sp && !*p)
            return -EINVAL; /* a trailing space */
    }
    return 0;
}

/* RFC 7636 §4.2: code_challenge = 43*128 unreserved characters. */
static bool challenge_ok(const char *s)
{
    size_t len = strlen(s);
    if (len < 43 || len > 128)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '.' || c == '_' || c == '~'))
            return false;
    }
    return true;
}

/* Decodes one value into *out (malloc'd), checking it is UTF-8 and not too long. */
static int decode_value(masd_str v, char **out)
{
    if (v.len > 3 * AUTHZ_PARAM_MAX)
        return -EINVAL;
    char *s = malloc(v.len + 1);
    if (!s)
        return -ENOMEM;
    long n = form_decode(v, s);
    if (n < 0 || n > AUTHZ_PARAM_MAX || u8_check((const uint8_t *)s, (size_t)n) != NULL) {
        free(s);
        return -EINVAL;
    }
    s[n] = '\0';
    *out = s;
    return 0;
}

static int parse_fields(masd_str query, struct authorize_request *req, const char **why)
{
    char *response_type = NULL, *response_mode = NULL, *method = NULL, *prompt = NULL, *max_age = NULL;
    struct {
        const char *name;
        char **dst;
        bool *present; /* only whether it is there */
    } fields[] = {
        {"client_id", &req->client_id, NULL},
        {"redirect_uri", &req->redirect_uri, NULL},
        {"scope", &req->scope, NULL},
        {"state", &req->state, NULL},
        {"nonce", &req->nonce, NULL},
        {"login_hint", &req->login_hint, NULL},
        {"code_challenge", &req->code_challenge, NULL},
        {"response_type", &response_type, NULL},
        {"response_mode", &response_mode, NULL},
        {"code_challenge_method", &method, NULL},
        {"prompt", &prompt, NULL},
        {"max_age", &max_age, NULL},
        {"request", NULL, &req->has_request},
        {"request_uri", NULL, &req->has_request_uri},
        {"registration", NULL, &req->has_registration},
    };
    int r = 0;
    masd_str rest = query, k, v;
    while (r == 0 && form_next(&rest, &k, &v)) {
        for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
            if (!(k.len == strlen(fields[i].name) && memcmp(k.ptr, fields[i].name, k.len) == 0))
                continue;
            if (fields[i].present)
                *fields[i].present = true;
            else if ((r = decode_value(v, fields[i].dst)) < 0)
                *why = "A parameter is not validly encoded UTF-8, or is too long.";
            break;
        }
    }
    if (r == 0 && (!req->client_id || !response_type || !req->scope))
        r = -EINVAL, *why = "The request lacks client_id, response_type or scope.";
    static const char *const types[] = {"code", "id_token", "token", "none", NULL};
    unsigned set = 0;
    if (r == 0 && (word_set(response_type, types, &set) < 0 || ((set & 8) && set != 8)))
        r = -EINVAL, *why = "The response_type is not one this server knows.";
    req->code = set & 1, req->id_token = set & 2, req->token = set & 4;
    if (r == 0 && (r = normalise_scope(req->scope)) == -EINVAL)
        *why = "The scope is malformed (RFC 6749 section 3.3).";
    static const char *const modes[] = {"query", "fragment", "form_post", NULL};
    unsigned mode = 0;
    if (r == 0 && response_mode) {
        if (word_set(response_mode, modes, &mode) < 0 || (mode & (mode - 1)))
            r = -EINVAL, *why = "The response_mode is not one this server knows.";
        req->response_mode = mode == 1   ? AUTHZ_MODE_QUERY
                             : mode == 2 ? AUTHZ_MODE_FRAGMENT
                                         : AUTHZ_MODE_FORM_POST;
    }
    static const char *const prompts[] = {"none", "login", "consent", "select_account", "create", NULL};
    unsigned p = 0;
    if (r == 0 && prompt && word_set(prompt, prompts, &p) < 0)
        r = -EINVAL, *why = "The prompt is not one this server knows.";
    req->prompt_none = p & 1, req->prompt_login = p & 2, req->prompt_consent = p & 4;
    req->prompt_select_account = p & 8, req->prompt_create = p & 16;
    if (r == 0 && max_age) {
        char *end;
        long long v2 = strtoll(max_age, &end, 10);
        if (!*max_age || *end || v2 < 0 || max_age[0] == '-' || max_age[0] == '+' || v2 > INT32_MAX)
            r = -EINVAL, *why = "The max_age is not a number of seconds.";
        req->max_age = v2;
    }
    /* RFC 7636 §4.3: a challenge without a method is "plain"; an unknown method, or a method
     * without a challenge, is an error the client hears about (MAS drops the challenge). */
    if (r == 0 && (req->code_challenge || method)) {
        if (!req->code_challenge || !challenge_ok(req->code_challenge))
            req->pkce = AUTHZ_PKCE_INVALID;
        else if (!method || strcmp(method, "plain") == 0)
            req->pkce = AUTHZ_PKCE_PLAIN;
        else if (strcmp(method, "S256") == 0)
            req->pkce = AUTHZ_PKCE_S256;
        else
            req->pkce = AUTHZ_PKCE_INVALID;
    }
    free(response_type);
    free(response_mode);
    free(method);
    free(prompt);
    free(max_age);
    return r;
}

int authorize_parse(masd_str query, struct authorize_request *req, const char **why)
{
    *req = (struct authorize_request){.max_age = -1};
    *why = NULL;
    int r = 0;
    if (query.len > AUTHZ_QUERY_MAX)
        r = -EINVAL, *why = "The request is too long.";
    else if ((r = form_check_unique(query)) == -EEXIST)
        r = -EINVAL, *why = "A parameter is included more than once (RFC 6749 section 3.1).";
    else if (r == -EINVAL)
        *why = "A parameter is not validly encoded.";
    if (r == 0)
        r = parse_fields(query, req, why);
    if (r == -ENOMEM)
        *why = "Out of memory.";
    if (r < 0)
        authorize_request_clear(req);
    return r;
}

/* The host and port of an http(s) URI, or false when it has no authority. */
static bool split_uri(const char *uri, masd_str *scheme, masd_str *host, masd_str *port, const char **path)
{
    const char *colon = strstr(uri, "://");
    if (!colon)
        return false;
    *scheme = (masd_str){uri, (size_t)(colon - uri)};
    const char *a = colon + 3, *end = a + strcspn(a, "/?#");
    if (memchr(a, '@', (size_t)(end - a)))
        return false; /* userinfo: never matched leniently */
    const char *pc = NULL;
    if (*a == '[') {
        const char *rb = memchr(a, ']', (size_t)(end - a));
        if (!rb)
            return false;
        *host = (masd_str){a, (size_t)(rb - a + 1)};
        pc = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
    } else {
        pc = memchr(a, ':', (size_t)(end - a));
        *host = (masd_str){a, (size_t)((pc ? pc : end) - a)};
    }
    *port = pc ? (masd_str){pc + 1, (size_t)(end - pc - 1)} : (masd_str){"", 0};
    *path = end;
    return true;
}

static bool loopback(masd_str host)
{
    return masd_str_caseeq(host, MASD_STR("localhost")) || masd_str_eq(host, MASD_STR("127.0.0.1")) ||
           masd_str_eq(host, MASD_STR("[::1]"));
}

/* requested matches registered ignoring the port: both on the same loopback host, the
 * registered one without a port, the same scheme and the same path and query. */
static bool loopback_match(const char *requested, const char *registered)
{
    masd_str s1, h1, p1, s2, h2, p2;
    const char *rest1, *rest2;
    if (!split_uri(requested, &s1, &h1, &p1, &rest1) || !split_uri(registered, &s2, &h2, &p2, &rest2))
        return false;
    if (!loopback(h2) || p2.len != 0 || !masd_str_eq(s1, s2) || !masd_str_caseeq(h1, h2))
        return false;
    for (size_t i = 0; i < p1.len; i++)
        if (p1.ptr[i] < '0' || p1.ptr[i] > '9')
            return false;
    return strcmp(rest1, rest2) == 0;
}

int authorize_resolve_redirect(const char *requested, const char *const *registered, size_t n)
{
    if (!requested)
        return n == 1 ? 0 : -1;
    if (strchr(requested, '#'))
        return -1;
    for (size_t i = 0; i < n; i++)
        if (strcmp(requested, registered[i]) == 0)
            return (int)i;
    for (size_t i = 0; i < n; i++)
        if (loopback_match(requested, registered[i]))
            return (int)i;
    return -1;
}

bool authorize_response_mode_allowed(const struct authorize_request *req)
{
    return !(req->response_mode == AUTHZ_MODE_QUERY && (req->id_token || req->token));
}

enum authorize_response_mode authorize_response_mode(const struct authorize_request *req)
{
    if (req->response_mode != AUTHZ_MODE_DEFAULT)
        return req->response_mode;
    return req->id_token || req->token ? AUTHZ_MODE_FRAGMENT : AUTHZ_MODE_QUERY;
}

const char *authorize_check(const struct authorize_request *req, bool client_grants_code,
                            bool client_grants_implicit, const char **description)
{
#define FAIL(e, d)                                                                                           \
    do {                                                                                                     \
        *description = d;                                                                                    \
        return e;                                                                                            \
    } while (0)
    if (req->has_request)
        FAIL("request_not_supported", "The request parameter is not supported.");
    if (req->has_request_uri)
        FAIL("request_uri_not_supported", "The request_uri parameter is not supported.");
    if (req->token)
        FAIL("unsupported_response_type", "The token response type is not supported.");
    if (req->id_token && !client_grants_implicit)
        FAIL("unauthorized_client", "The client may not ask for an ID token here.");
    if (req->has_registration)
        FAIL("registration_not_supported", "The registration parameter is not supported.");
    if (req->prompt_none)
        FAIL("login_required", "The Authorization Server requires End-User authentication.");
    if (req->code && !client_grants_code)
        FAIL("unauthorized_client", "The client may not use the authorization code grant.");
    if (req->pkce != AUTHZ_PKCE_NONE && !req->code)
        FAIL("invalid_request", "PKCE goes with the code response type only.");
    if (req->pkce == AUTHZ_PKCE_INVALID)
        FAIL("invalid_request", "The code_challenge or its method is invalid (RFC 7636).");
    if (!req->code && !req->id_token)
        FAIL("unsupported_response_type", "The response type gives nothing this server can return.");
    *description = NULL;
    return NULL;
#undef FAIL
}
