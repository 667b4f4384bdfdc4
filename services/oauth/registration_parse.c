/* POST /oauth2/registration's body, judged in MAS's order (MAS: crates/handlers/src/oauth2/
 * registration.rs post): the JSON document, each field's shape (serde's typed deserialisation of
 * ClientMetadata), ClientMetadata::validate's coherence rules, the public-suffix rule, then the
 * client_registration policy. Every refusal says which field is wrong and how. */
#include "registration_parse.h"
#include "compat/parse.h"
#include "storage.h"
#include <errno.h>
#include <libpsl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int fail(struct registration_error *err, const char *error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct registration_error *err, const char *error, const char *fmt, ...)
{
    err->status = 400;
    err->error = error;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->description, sizeof(err->description), fmt, ap);
    va_end(ap);
    return -EINVAL;
}
#define META     "invalid_client_metadata"
#define REDIRECT "invalid_redirect_uri"

/* --- shapes ------------------------------------------------------------------------------- */

/* An absolute URI (RFC 3986 §4.3) as far as a client's metadata needs: a scheme, no space or
 * control character, a host for http and https. *fragment: it has one. */
static bool uri_ok(const char *s, bool *fragment)
{
    *fragment = false;
    size_t n = 0;
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
        return false;
    while (s[n] && (strchr("+.-", s[n]) || (s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
                    (s[n] >= '0' && s[n] <= '9')))
        n++;
    if (s[n] != ':')
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p == 0x7f)
            return false;
    *fragment = strchr(s, '#') != NULL;
    bool web = (n == 4 && strncasecmp(s, "http", 4) == 0) || (n == 5 && strncasecmp(s, "https", 5) == 0);
    if (!web)
        return true;
    const char *a = s + n + 1;
    if (strncmp(a, "//", 2) != 0)
        return false;
    a += 2;
    size_t alen = strcspn(a, "/?#");
    const char *at = memrchr(a, '@', alen);
    if (at) {
        alen -= (size_t)(at + 1 - a);
        a = at + 1;
    }
    return alen > 0 && a[0] != ':';
}

static bool is_https(const char *s)
{
    return strncasecmp(s, "https:", 6) == 0;
}

/* BCP 47, loosely (MAS: language_tags::LanguageTag::parse): subtags of 1 to 8 letters or
 * digits joined by '-', the first of letters only. */
static bool language_tag_ok(const char *t)
{
    size_t len = strlen(t), seg = 0;
    if (len == 0 || len > 64)
        return false;
    bool first = true;
    for (size_t i = 0; i <= len; i++) {
        char c = t[i];
        if (c == '-' || c == '\0') {
            if (seg == 0 || seg > 8)
                return false;
            seg = 0;
            first = false;
            continue;
        }
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!alpha && (first || !(c >= '0' && c <= '9')))
            return false;
        seg++;
    }
    return true;
}

static int array_of_strings(const char *key, const json_t *v, struct registration_error *err)
{
    if (!json_is_array(v))
        return fail(err, META, "%s must be an array of strings", key);
    size_t i;
    const json_t *x;
    json_array_foreach(v, i, x)
    {
        if (!json_is_string(x))
            return fail(err, META, "%s[%zu] must be a string", key, i);
        if (strlen(json_string_value(x)) != json_string_length(x))
            return fail(err, META, "%s[%zu] contains a NUL character", key, i);
    }
    return 0;
}

/* A string value (of `key`, which may be a localized "client_uri#fr"); a URI when uri. */
static int string_field(const char *key, const json_t *v, bool uri, struct registration_error *err)
{
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
        return fail(err, META, "%s must be a string", key);
    if (json_string_length(v) > STORAGE_URI_MAX)
        return fail(err, META, "%s is longer than %d bytes", key, STORAGE_URI_MAX);
    bool fragment;
    if (uri && !uri_ok(json_string_value(v), &fragment))
        return fail(err, META, "%s must be an absolute URL, such as https://example.com/", key);
    return 0;
}

static int cmp_strings(const void *a, const void *b)
{
    return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

/* MAS: ClientMetadata::sorted. A new array of v's strings, sorted (Rust's byte order). */
static json_t *sorted(const json_t *v)
{
    size_t n = json_array_size(v);
    json_t **items = calloc(n + 1, sizeof(*items));
    json_t *out = json_array();
    if (!items || !out) {
        free(items);
        json_decref(out);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        items[i] = json_array_get(v, i);
    qsort(items, n, sizeof(*items), cmp_strings);
    for (size_t i = 0; i < n; i++)
        if (json_array_append(out, items[i]) < 0) {
            json_decref(out);
            out = NULL;
            break;
        }
    free(items);
    return out;
}

/* --- response types (MAS: crates/oauth2-types/src/response_type.rs) ------------------------ */

enum { RT_CODE = 1, RT_ID_TOKEN = 2, RT_TOKEN = 4, RT_NONE = 8 };

/* A response type: space-separated, no repeat, "none" alone. Its bits, or -1. *canon gets the
 * tokens in a fixed order. */
static int response_type(const char *s, char canon[32])
{
    static const char *const names[] = {"code", "id_token", "token", "none"};
    int bits = 0;
    const char *p = s;
    while (*p) {
        size_t len = strcspn(p, " ");
        int bit = 0;
        for (int i = 0; i < 4; i++)
            if (len == strlen(names[i]) && memcmp(p, names[i], len) == 0)
                bit = 1 << i;
        if (!bit || (bits & bit))
            return -1;
        bits |= bit;
        p += len;
        if (*p == ' ' && *++p == '\0')
            return -1;
    }
    if (!bits || ((bits & RT_NONE) && bits != RT_NONE))
        return -1;
    canon[0] = '\0';
    for (int i = 0; i < 4; i++)
        if (bits & (1 << i))
            snprintf(canon + strlen(canon), 32 - strlen(canon), "%s%s", canon[0] ? " " : "", names[i]);
    return bits;
}

/* --- algorithms ----------------------------------------------------------------------------- */

static bool in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return true;
    return false;
}
/* What masd signs ID tokens and userinfo with, and verifies client assertions with
 * (services/oauth/client/assertion.c). */
static const char *const asymmetric_algs[] = {"RS256", "RS384", "RS512", "PS256",  "PS384",
                                              "PS512", "ES256", "ES384", "ES256K", NULL};
static const char *const hmac_algs[] = {"HS256", "HS384", "HS512", NULL};
static const char *const auth_methods[] = {
    "none", "client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", NULL};

/* --- the public suffix list ----------------------------------------------------------------- */

static const psl_ctx_t *psl;
static pthread_once_t psl_once = PTHREAD_ONCE_INIT;

/* The newest of libpsl's built-in list and the system's (the publicsuffix package's
 * /usr/share/publicsuffix/public_suffix_list.dafsa), read once. */
static void psl_load(void)
{
    psl = psl_latest(NULL);
    if (!psl)
        psl = psl_builtin();
}

bool registration_host_is_public_suffix(const char *uri)
{
    const char *a = strstr(uri, "://");
    if (!a)
        return false; /* no authority, no host (a private-use scheme) */
    a += 3;
    size_t alen = strcspn(a, "/?#");
    const char *at = memrchr(a, '@', alen);
    if (at) {
        alen -= (size_t)(at + 1 - a);
        a = at + 1;
    }
    if (alen == 0 || a[0] == '[')
        return false; /* no host, or an IPv6 literal */
    size_t hlen = 0;
    while (hlen < alen && a[hlen] != ':')
        hlen++;
    char host[256];
    if (hlen >= sizeof(host))
        return false; /* longer than any DNS name */
    for (size_t i = 0; i < hlen; i++)
        host[i] = (a[i] >= 'A' && a[i] <= 'Z') ? (char)(a[i] - 'A' + 'a') : a[i];
    host[hlen] = '\0';
    /* MAS counts "com", ".com", "com." and ".com." as the suffix itself */
    char *h = host;
    if (hlen && h[hlen - 1] == '.')
        h[--hlen] = '\0';
    if (*h == '.')
        h++;
    if (!*h)
        return false;
    pthread_once(&psl_once, psl_load);
    return psl && psl_is_public_suffix2(psl, h, PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE);
}

/* --- the document --------------------------------------------------------------------------- */

static const char *const localized_fields[] = {"client_name", "logo_uri", "client_uri",
                                               "policy_uri",  "tos_uri",  NULL};

/* Reads each field masd keeps into out (a new object); fields it does not keep are ignored
 * (RFC 7591 §2: unknown metadata is ignored). */
static int read_fields(const json_t *doc, json_t *out, struct registration_error *err)
{
    const char *key;
    json_t *v;
    int r;
    json_object_foreach((json_t *)doc, key, v)
    {
        const char *hash = strchr(key, '#');
        if (hash) {
            /* MAS: client_metadata_serde.rs: any "x#y" key needs a language tag y; those of
             * the five localized fields are kept */
            if (!language_tag_ok(hash + 1))
                return fail(err, META, "'%s': '%s' is not a language tag (BCP 47, such as fr or pt-BR)", key,
                            hash + 1);
            char base[32];
            size_t blen = (size_t)(hash - key);
            if (blen >= sizeof(base))
                continue;
            memcpy(base, key, blen);
            base[blen] = '\0';
            if (!in_list(base, localized_fields))
                continue;
            if (!json_object_get(doc, base))
                return fail(err, META, "'%s' needs the field '%s' too (the value without a language)", key,
                            base);
            if ((r = string_field(key, v, strcmp(base, "client_name") != 0, err)) < 0)
                return r;
        } else if (in_list(key, localized_fields)) {
            if ((r = string_field(key, v, strcmp(key, "client_name") != 0, err)) < 0)
                return r;
        } else if (strcmp(key, "jwks_uri") == 0 || strcmp(key, "initiate_login_uri") == 0) {
            if ((r = string_field(key, v, true, err)) < 0)
                return r;
        } else if (strcmp(key, "software_id") == 0 || strcmp(key, "software_version") == 0) {
            if ((r = string_field(key, v, false, err)) < 0)
                return r;
        } else if (strcmp(key, "application_type") == 0) {
            if (!json_is_string(v) ||
                (strcmp(json_string_value(v), "web") && strcmp(json_string_value(v), "native")))
                return fail(err, META, "application_type must be \"web\" or \"native\"");
        } else if (strcmp(key, "token_endpoint_auth_method") == 0) {
            if (!json_is_string(v) || !in_list(json_string_value(v), auth_methods))
                return fail(err, META,
                            "token_endpoint_auth_method must be one of none, client_secret_basic, "
                            "client_secret_post, client_secret_jwt, private_key_jwt");
        } else if (strcmp(key, "token_endpoint_auth_signing_alg") == 0 ||
                   strcmp(key, "id_token_signed_response_alg") == 0 ||
                   strcmp(key, "userinfo_signed_response_alg") == 0) {
            if (!json_is_string(v) || strlen(json_string_value(v)) > 16)
                return fail(err, META, "%s must be a JWS algorithm name, such as RS256", key);
        } else if (strcmp(key, "redirect_uris") == 0 || strcmp(key, "response_types") == 0 ||
                   strcmp(key, "grant_types") == 0 || strcmp(key, "contacts") == 0) {
            if ((r = array_of_strings(key, v, err)) < 0)
                return r;
            v = sorted(v);
            if (!v || json_object_set_new(out, key, v) < 0)
                return -ENOMEM;
            continue;
        } else if (strcmp(key, "jwks") == 0) {
            if (!json_is_object(v) || !json_is_array(json_object_get(v, "keys")))
                return fail(err, META,
                            "jwks must be a JWK Set: an object with a \"keys\" array (RFC 7517 §5)");
            size_t i;
            json_t *k;
            json_array_foreach(json_object_get(v, "keys"), i, k) if (!json_is_object(k)) return fail(
                err, META, "jwks.keys[%zu] must be a JWK (an object)", i);
        } else {
            continue;
        }
        if (json_object_set(out, key, v) < 0)
            return -ENOMEM;
    }
    return 0;
}

static bool has_string(const json_t *array, const char *s)
{
    size_t i;
    const json_t *v;
    json_array_foreach(array, i, v) if (strcmp(json_string_value(v), s) == 0) return true;
    return false;
}

static const char *str(const json_t *md, const char *key)
{
    return json_string_value(json_object_get(md, key));
}

/* MAS: ClientMetadata::validate, rule for rule, then the checks masd adds (lengths, what it
 * can sign with). */
static int validate(json_t *md, const char *method, struct registration_error *err)
{
    const json_t *grants = json_object_get(md, "grant_types");
    bool has_code = grants ? has_string(grants, "authorization_code") : true;
    bool has_implicit = grants && has_string(grants, "implicit");
    const json_t *uris = json_object_get(md, "redirect_uris");
    size_t i;
    const json_t *v;
    if (uris) {
        json_array_foreach(uris, i, v)
        {
            const char *u = json_string_value(v);
            bool fragment;
            if (strlen(u) > STORAGE_URI_MAX)
                return fail(err, REDIRECT, "redirect_uris: '%.64s…' is longer than %d bytes", u,
                            STORAGE_URI_MAX);
            if (!uri_ok(u, &fragment))
                return fail(err, META, "redirect_uris: '%.200s' is not an absolute URL", u);
            if (fragment)
                return fail(err, REDIRECT,
                            "redirect_uris: '%.200s' has a fragment (#…), which a redirect URI "
                            "may not have (RFC 6749 §3.1.2)",
                            u);
        }
    } else if (has_code || has_implicit) {
        return fail(err, REDIRECT,
                    "redirect_uris is missing: the authorization_code and implicit grants need "
                    "at least one (authorization_code is the default grant)");
    }
    /* response types: by default code, when the client uses a grant that has one */
    const json_t *rts = json_object_get(md, "response_types");
    size_t n_rt = rts ? json_array_size(rts) : (has_code || has_implicit) ? 1 : 0;
    bool id_token_response = false;
    json_t *canon_rts = rts ? json_array() : NULL;
    if (rts && !canon_rts)
        return -ENOMEM;
    for (i = 0; i < n_rt; i++) {
        const char *name = rts ? json_string_value(json_array_get(rts, i)) : "code";
        char canon[32];
        int bits = response_type(name, canon);
        if (bits < 0) {
            json_decref(canon_rts);
            return fail(err, META,
                        "response_types: '%.64s' is not a response type (code, id_token, token, "
                        "none, or several of the first three separated by spaces)",
                        name);
        }
        bool c = bits & RT_CODE, id = bits & RT_ID_TOKEN, t = bits & RT_TOKEN;
        id_token_response |= id;
        bool both = has_code && has_implicit;
        bool ok = (c && both) || (!c && has_implicit) || (has_code && !id && !t) || (!c && !id && !t);
        if (!ok) {
            json_decref(canon_rts);
            return fail(err, META,
                        "response_types: '%s' does not go with the grant_types (code needs "
                        "authorization_code, id_token and token need implicit)",
                        name);
        }
        if (canon_rts && json_array_append_new(canon_rts, json_string(canon)) < 0) {
            json_decref(canon_rts);
            return -ENOMEM;
        }
    }
    if (canon_rts) {
        json_t *s = sorted(canon_rts);
        json_decref(canon_rts);
        if (!s || json_object_set_new(md, "response_types", s) < 0)
            return -ENOMEM;
    }
    bool jwks = json_object_get(md, "jwks"), jwks_uri = json_object_get(md, "jwks_uri");
    if (jwks && jwks_uri)
        return fail(err, META, "jwks and jwks_uri are mutually exclusive: send one of them");
    if (strcmp(method, "private_key_jwt") == 0 && !jwks && !jwks_uri)
        return fail(err, META, "private_key_jwt needs the client's public keys: send jwks or jwks_uri");
    const char *auth_alg = str(md, "token_endpoint_auth_signing_alg");
    bool secret_jwt = strcmp(method, "client_secret_jwt") == 0,
         key_jwt = strcmp(method, "private_key_jwt") == 0;
    if (auth_alg && strcmp(auth_alg, "none") == 0)
        return fail(err, META, "token_endpoint_auth_signing_alg may not be none");
    if (!auth_alg && (secret_jwt || key_jwt))
        return fail(err, META, "%s needs token_endpoint_auth_signing_alg (%s)", method,
                    secret_jwt ? "HS256, HS384 or HS512" : "such as RS256 or ES256");
    /* masd verifies client assertions with these only (client/assertion.c) */
    if (auth_alg && secret_jwt && !in_list(auth_alg, hmac_algs))
        return fail(err, META,
                    "token_endpoint_auth_signing_alg must be HS256, HS384 or HS512 for client_secret_jwt");
    if (auth_alg && key_jwt && !in_list(auth_alg, asymmetric_algs))
        return fail(err, META,
                    "token_endpoint_auth_signing_alg must be one of RS256, RS384, RS512, PS256, "
                    "PS384, PS512, ES256, ES384, ES256K for private_key_jwt");
    const char *id_alg = str(md, "id_token_signed_response_alg");
    if (id_alg && strcmp(id_alg, "none") == 0) {
        if (id_token_response)
            return fail(err, META,
                        "id_token_signed_response_alg may not be none when response_types include "
                        "id_token");
    } else if (id_alg && !in_list(id_alg, asymmetric_algs)) {
        return fail(err, META,
                    "id_token_signed_response_alg must be one of RS256, RS384, RS512, PS256, PS384, "
                    "PS512, ES256, ES384, ES256K");
    }
    const char *ui_alg = str(md, "userinfo_signed_response_alg");
    if (ui_alg && !in_list(ui_alg, asymmetric_algs))
        return fail(err, META,
                    "userinfo_signed_response_alg must be one of RS256, RS384, RS512, PS256, PS384, "
                    "PS512, ES256, ES384, ES256K (leave it out for unsigned userinfo)");
    const char *login = str(md, "initiate_login_uri");
    if (login && !is_https(login))
        return fail(err, META, "initiate_login_uri must use https");
    return 0;
}

/* MAS: registration.rs, the public-suffix checks, in its order. */
static int public_suffixes(const json_t *md, struct registration_error *err)
{
    static const char *const fields[] = {"client_uri", "logo_uri", "policy_uri", "tos_uri", NULL};
    for (const char *const *f = fields; *f; f++) {
        const char *key;
        json_t *v;
        size_t flen = strlen(*f);
        json_object_foreach((json_t *)md, key, v)
        {
            if (strncmp(key, *f, flen) != 0 || (key[flen] && key[flen] != '#'))
                continue;
            if (registration_host_is_public_suffix(json_string_value(v)))
                return fail(err, META,
                            "%s is not using a valid domain: '%s' is a public suffix (its host must be "
                            "a domain under one, such as example.com)",
                            *f, json_string_value(v));
        }
    }
    const char *login = str(md, "initiate_login_uri");
    if (login && registration_host_is_public_suffix(login))
        return fail(err, META, "initiate_login_uri is not using a valid domain: its host is a public suffix");
    const json_t *uris = json_object_get(md, "redirect_uris");
    size_t i;
    const json_t *v;
    json_array_foreach(uris, i, v) if (registration_host_is_public_suffix(json_string_value(v))) return fail(
        err, REDIRECT, "redirect_uri is not using a valid domain: '%.200s' is on a public suffix",
        json_string_value(v));
    return 0;
}

/* MAS: registration.rs PolicyDenied: the messages joined with "; ", invalid_redirect_uri when
 * one mentions redirect_uri. masd names the refused redirect URIs too. */
static int policy_denied(const struct policy_result *res, struct registration_error *err)
{
    bool redirect = false;
    size_t used = 0;
    char *d = err->description;
    d[0] = '\0';
    for (size_t i = 0; i < res->n; i++) {
        const struct policy_violation *v = &res->violations[i];
        redirect |= strstr(v->msg, "redirect_uri") != NULL;
        int w = v->redirect_uri
                    ? snprintf(d + used, sizeof(err->description) - used, "%s%s '%s'", i ? "; " : "", v->msg,
                               v->redirect_uri)
                    : snprintf(d + used, sizeof(err->description) - used, "%s%s", i ? "; " : "", v->msg);
        if (w < 0 || (size_t)w >= sizeof(err->description) - used)
            break;
        used += (size_t)w;
    }
    err->status = 400;
    err->error = redirect ? REDIRECT : META;
    return -EINVAL;
}

int registration_parse(masd_str content_type, masd_str body, bool device_code_enabled, const struct policy *p,
                       struct registration *out, struct registration_error *err)
{
    *out = (struct registration){0};
    *err = (struct registration_error){0};
    if (body.len > REGISTRATION_BODY_MAX) {
        fail(err, "invalid_request", "The body is larger than %d bytes", REGISTRATION_BODY_MAX);
        err->status = 413;
        return -EINVAL;
    }
    json_t *doc;
    struct compat_error cerr;
    if (compat_json_body(content_type, body, false, &doc, &cerr) < 0)
        return fail(err, "invalid_request", "%s",
                    strstr(cerr.error, "Content-Type")
                        ? "The Content-Type must be application/json"
                        : "The body must be one JSON object, without duplicate keys");
    if (!json_is_object(doc)) {
        json_decref(doc);
        return fail(err, META, "The body must be a JSON object of client metadata (RFC 7591 §2)");
    }
    json_t *md = json_object();
    int r = md ? read_fields(doc, md, err) : -ENOMEM;
    json_decref(doc);
    /* MAS: registration.rs drops the device code grant when it is disabled, silently */
    json_t *grants = md ? json_object_get(md, "grant_types") : NULL;
    for (size_t i = 0; r == 0 && !device_code_enabled && i < json_array_size(grants);)
        if (strcmp(json_string_value(json_array_get(grants, i)),
                   "urn:ietf:params:oauth:grant-type:device_code") == 0)
            json_array_remove(grants, i);
        else
            i++;
    const char *method = md ? str(md, "token_endpoint_auth_method") : NULL;
    if (!method)
        method = "client_secret_basic";
    if (r == 0)
        r = validate(md, method, err);
    if (r == 0)
        r = public_suffixes(md, err);
    if (r == 0) {
        struct policy_result res = {0};
        if ((r = policy_client_registration(p, md, &res)) == 0 && res.n)
            r = policy_denied(&res, err);
        policy_result_clear(&res);
    }
    char *text = r == 0 ? json_dumps(md, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (r == 0 && !text)
        r = -ENOMEM;
    if (r < 0) {
        json_decref(md);
        return r;
    }
    storage_token_hash(text, out->digest);
    free(text);
    out->metadata = md;
    out->auth_method = auth_methods[0];
    for (const char *const *m = auth_methods; *m; m++)
        if (strcmp(*m, method) == 0)
            out->auth_method = *m;
    out->needs_secret = strncmp(out->auth_method, "client_secret_", 14) == 0;
    return 0;
}

void registration_clear(struct registration *r)
{
    json_decref(r->metadata);
    *r = (struct registration){0};
}
