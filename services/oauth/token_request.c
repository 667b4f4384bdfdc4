/* The token and device authorization endpoints' pure parts (token_request.h). */
#include "token_request.h"
#include "base64.h"
#include "form.h"
#include "oauth_scope.h"
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistr.h>

#define DEVICE_PREFIX      "urn:matrix:client:device:"
#define DEVICE_PREFIX_UNST "urn:matrix:org.matrix.msc2967.client:device:"

void token_request_clear(struct token_request *req)
{
    free(req->code);
    free(req->redirect_uri);
    if (req->code_verifier)
        OPENSSL_cleanse(req->code_verifier, strlen(req->code_verifier));
    free(req->code_verifier);
    if (req->refresh_token)
        OPENSSL_cleanse(req->refresh_token, strlen(req->refresh_token));
    free(req->refresh_token);
    free(req->device_code);
    free(req->scope);
    *req = (struct token_request){0};
}

static int decode_value(masd_str v, char **out)
{
    if (v.len > 3 * TOKEN_PARAM_MAX)
        return -EINVAL;
    char *s = malloc(v.len + 1);
    if (!s)
        return -ENOMEM;
    long n = form_decode(v, s);
    if (n < 0 || n > TOKEN_PARAM_MAX || u8_check((const uint8_t *)s, (size_t)n) != NULL) {
        free(s);
        return -EINVAL;
    }
    s[n] = '\0';
    free(*out); /* form_check_unique ran first: never reached twice for one name */
    *out = s;
    return 0;
}

/* An absolute URI (RFC 3986 §4.3): a scheme, ':', something; no whitespace or control byte
 * (MAS parses redirect_uri as a Url). */
static bool absolute_uri(const char *s)
{
    size_t i = 0;
    if (!((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z'))
        return false;
    while (s[i] && s[i] != ':') {
        unsigned char c = (unsigned char)s[i];
        if (!(((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '-' ||
              c == '.'))
            return false;
        i++;
    }
    if (s[i] != ':' || !s[i + 1])
        return false;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return false;
    return true;
}

static enum token_grant grant_of(const char *s)
{
    if (strcmp(s, "authorization_code") == 0)
        return TOKEN_GRANT_AUTHORIZATION_CODE;
    if (strcmp(s, "refresh_token") == 0)
        return TOKEN_GRANT_REFRESH_TOKEN;
    if (strcmp(s, "client_credentials") == 0)
        return TOKEN_GRANT_CLIENT_CREDENTIALS;
    if (strcmp(s, "urn:ietf:params:oauth:grant-type:device_code") == 0)
        return TOKEN_GRANT_DEVICE_CODE;
    return TOKEN_GRANT_UNSUPPORTED;
}

struct field {
    const char *name;
    char **dst;
};

/* The named parameters of an OAuth form, decoded, each into its *dst (the others are ignored):
 * 0, -EINVAL with *why (a parameter twice, RFC 6749 §3.1; a bad escape; not UTF-8; too long),
 * -ENOMEM. What was decoded stays in *dst for the caller to free. */
static int read_fields(masd_str form, const struct field *fields, size_t n, const char **why)
{
    int r = form_check_unique(form);
    if (r == -EEXIST || r == -EINVAL)
        r = -EINVAL, *why = "A parameter is given more than once, or is malformed.";
    masd_str rest = form, k, v;
    while (r == 0 && form_next(&rest, &k, &v)) {
        for (size_t i = 0; i < n; i++) {
            if (!(k.len == strlen(fields[i].name) && memcmp(k.ptr, fields[i].name, k.len) == 0))
                continue;
            if ((r = decode_value(v, fields[i].dst)) == -EINVAL)
                *why = "A parameter is not validly encoded UTF-8, or is too long.";
            break;
        }
    }
    return r;
}

int token_request_parse(masd_str form, struct token_request *req, const char **why)
{
    *req = (struct token_request){0};
    char *grant_type = NULL;
    const struct field fields[] = {
        {"grant_type", &grant_type},
        {"code", &req->code},
        {"redirect_uri", &req->redirect_uri},
        {"code_verifier", &req->code_verifier},
        {"refresh_token", &req->refresh_token},
        {"device_code", &req->device_code},
        {"scope", &req->scope},
    };
    int r = read_fields(form, fields, sizeof(fields) / sizeof(fields[0]), why);
    if (r == 0 && !grant_type)
        r = -EINVAL, *why = "The grant_type parameter is missing.";
    if (r == 0)
        req->grant = grant_of(grant_type);
    free(grant_type);
    if (r == 0) {
        switch (req->grant) {
        case TOKEN_GRANT_AUTHORIZATION_CODE:
            if (!req->code)
                r = -EINVAL, *why = "The code parameter is missing.";
            else if (req->redirect_uri && !absolute_uri(req->redirect_uri))
                r = -EINVAL, *why = "The redirect_uri is not an absolute URI.";
            break;
        case TOKEN_GRANT_REFRESH_TOKEN:
            if (!req->refresh_token)
                r = -EINVAL, *why = "The refresh_token parameter is missing.";
            break;
        case TOKEN_GRANT_DEVICE_CODE:
            if (!req->device_code)
                r = -EINVAL, *why = "The device_code parameter is missing.";
            break;
        default:
            break;
        }
    }
    if (r == 0 && req->scope &&
        (req->grant == TOKEN_GRANT_REFRESH_TOKEN || req->grant == TOKEN_GRANT_CLIENT_CREDENTIALS)) {
        if ((r = oauth_scope_normalise(req->scope)) == -EINVAL)
            *why = "The scope is malformed (RFC 6749 section 3.3).";
    }
    if (r < 0)
        token_request_clear(req);
    return r;
}

int device_request_parse(masd_str form, char **scope, const char **why)
{
    *scope = NULL;
    const struct field fields[] = {{"scope", scope}};
    int r = read_fields(form, fields, 1, why);
    if (r == 0 && !*scope && !(*scope = strdup("")))
        r = -ENOMEM;
    if (r == 0 && (r = oauth_scope_normalise(*scope)) == -EINVAL)
        *why = "The scope is malformed (RFC 6749 section 3.3).";
    if (r < 0) {
        free(*scope);
        *scope = NULL;
    }
    return r;
}

/* RFC 7636 §4.1: code-verifier = 43*128unreserved. */
static bool verifier_ok(const char *v)
{
    size_t n = strlen(v);
    if (n < 43 || n > 128)
        return false;
    for (; *v; v++) {
        unsigned char c = (unsigned char)*v;
        if (!(((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
              c == '_' || c == '~'))
            return false;
    }
    return true;
}

int token_pkce_verify(const char *method, const char *challenge, const char *verifier, const char **why)
{
    if (!verifier_ok(verifier)) {
        *why = "the code_verifier is not 43 to 128 unreserved characters (RFC 7636 section 4.1)";
        return -EACCES;
    }
    if (!method[0] || strcmp(method, "plain") == 0) {
        size_t n = strlen(verifier);
        if (strlen(challenge) == n && CRYPTO_memcmp(challenge, verifier, n) == 0)
            return 0;
    } else if (strcmp(method, "S256") == 0) {
        unsigned char digest[SHA256_DIGEST_LENGTH];
        SHA256((const unsigned char *)verifier, strlen(verifier), digest);
        char *enc = base64url_encode(digest, sizeof(digest));
        if (!enc) {
            *why = "out of memory";
            return -ENOMEM;
        }
        size_t n = strlen(enc);
        bool ok = strlen(challenge) == n && CRYPTO_memcmp(challenge, enc, n) == 0;
        free(enc);
        if (ok)
            return 0;
    } else {
        *why = "unknown code_challenge_method";
        return -EACCES;
    }
    *why = "the code_verifier does not match the code_challenge";
    return -EACCES;
}

size_t token_scope_devices(const char *scope, char *out_buf, const char **out, size_t max)
{
    size_t n = 0;
    char *o = out_buf;
    for (const char *s = scope; *s && n < max;) {
        size_t len = strcspn(s, " ");
        const char *id = NULL;
        size_t idlen = 0;
        if (len > strlen(DEVICE_PREFIX) && strncmp(s, DEVICE_PREFIX, strlen(DEVICE_PREFIX)) == 0)
            id = s + strlen(DEVICE_PREFIX), idlen = len - strlen(DEVICE_PREFIX);
        else if (len > strlen(DEVICE_PREFIX_UNST) &&
                 strncmp(s, DEVICE_PREFIX_UNST, strlen(DEVICE_PREFIX_UNST)) == 0)
            id = s + strlen(DEVICE_PREFIX_UNST), idlen = len - strlen(DEVICE_PREFIX_UNST);
        if (id) {
            bool seen = false;
            for (size_t i = 0; i < n; i++)
                seen |= strlen(out[i]) == idlen && memcmp(out[i], id, idlen) == 0;
            if (!seen) {
                memcpy(o, id, idlen);
                o[idlen] = '\0';
                out[n++] = o;
                o += idlen + 1;
            }
        }
        s += len;
        while (*s == ' ')
            s++;
    }
    return n;
}
