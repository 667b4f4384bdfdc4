/* Which client credentials a request presented (client/auth.h): read on the event loop from the
 * Authorization header and the form, before anything is looked up (MAS:
 * crates/axum-utils/src/client_authorization.rs). */
#include "client/auth.h"
#include "form.h"
#include "oauth.h"
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define ASSERTION_TYPE "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

static const char *const method_names[] = {
    [CLIENT_AUTH_NONE] = "none",
    [CLIENT_AUTH_SECRET_BASIC] = "client_secret_basic",
    [CLIENT_AUTH_SECRET_POST] = "client_secret_post",
    [CLIENT_AUTH_SECRET_JWT] = "client_secret_jwt",
    [CLIENT_AUTH_PRIVATE_KEY_JWT] = "private_key_jwt",
};

const char *client_auth_method_name(enum client_auth_method m)
{
    return (unsigned)m < sizeof(method_names) / sizeof(method_names[0]) ? method_names[m] : "?";
}

int client_auth_method_parse(const char *name, enum client_auth_method *out)
{
    for (size_t i = 0; i < sizeof(method_names) / sizeof(method_names[0]); i++)
        if (name && strcmp(name, method_names[i]) == 0) {
            *out = (enum client_auth_method)i;
            return 0;
        }
    return -EINVAL;
}

/* A percent-encoded part of Basic credentials (RFC 6749 §2.3.1) into a new string. */
static char *decode_part(const char *p, size_t len)
{
    char *out = malloc(len + 1);
    long n = out ? form_decode((masd_str){p, len}, out) : -1;
    if (n < 0) {
        free(out);
        return NULL;
    }
    out[n] = '\0';
    return out;
}

/* "Basic base64(id:secret)". */
static int parse_basic(masd_str v, struct client_credentials *c)
{
    if (v.len == 0 || v.len > 4096 || v.len % 4 != 0)
        return -EINVAL;
    unsigned char *raw = malloc(v.len / 4 * 3 + 1);
    if (!raw)
        return -ENOMEM;
    /* Exactly v.len bytes, straight from the header: a NUL inside the value is then a byte that
     * is not base64, not the end of a shorter copy for EVP_DecodeBlock to read past. */
    int n = EVP_DecodeBlock(raw, (const unsigned char *)v.ptr, (int)v.len);
    if (n >= 0) /* EVP_DecodeBlock counts the padding as zero bytes */
        for (size_t i = v.len; i > 0 && v.ptr[i - 1] == '='; i--)
            n--;
    const char *colon = n > 0 ? memchr(raw, ':', (size_t)n) : NULL;
    int r = -EINVAL;
    if (colon) {
        size_t id_len = (size_t)(colon - (const char *)raw);
        c->client_id = decode_part((const char *)raw, id_len);
        c->client_secret = decode_part(colon + 1, (size_t)n - id_len - 1);
        if (c->client_id && c->client_secret && c->client_id[0]) {
            c->method = CLIENT_AUTH_SECRET_BASIC;
            r = 0;
        }
    }
    free(raw);
    return r;
}

static int parse_authorization(struct masd_request *r, struct client_credentials *c, const char **why)
{
    int cursor = -1;
    masd_str v = masd_req_header(r, "authorization", &cursor);
    if (!v.ptr)
        return -ENODATA;
    masd_str scheme;
    masd_str rest = masd_str_trim(v);
    masd_str_next(&rest, ' ', &scheme);
    rest = masd_str_trim(rest);
    if (masd_str_caseeq(scheme, MASD_STR("Bearer")) && rest.len > 0) {
        c->bearer = true;
        c->bearer_token = strndup(rest.ptr, rest.len);
        return c->bearer_token ? 0 : -ENOMEM;
    }
    if (masd_str_caseeq(scheme, MASD_STR("Basic")) && parse_basic(rest, c) == 0)
        return 0;
    *why = "Invalid Authorization header";
    return -EINVAL;
}

/* form_get, with "malformed" turned into -EINVAL and "absent" into NULL. */
static int form_opt(masd_str form, const char *name, char **out)
{
    int r = form_get(form, name, out);
    if (r == 0)
        *out = NULL;
    return r < 0 ? r : 0;
}

int client_credentials_parse(struct masd_request *r, masd_str form, struct client_credentials *c,
                             const char **error, const char **why)
{
    memset(c, 0, sizeof(*c));
    *error = "invalid_request";
    *why = NULL;
    char *form_id = NULL, *form_secret = NULL, *type = NULL;
    int cursor = -1;
    /* the OAuth endpoints take forms only (RFC 6749 §2.3.1, 7662 §2.1, 7009 §2.1): anything else
     * is a client's mistake, never read as an empty form */
    if (!masd_media_type_is(masd_req_header(r, "content-type", &cursor),
                            MASD_STR("application/x-www-form-urlencoded"))) {
        *why = "Content-Type must be application/x-www-form-urlencoded";
        return -EINVAL;
    }
    /* RFC 6749 §3.1: no parameter more than once, whichever (client_id=A&client_id=B would
     * otherwise be read as A here and maybe as B by the next reader) */
    int rc = form_check_unique(form);
    if (rc < 0) {
        *why = rc == -EEXIST ? "A parameter is included more than once" : "The form is malformed";
        return rc == -ENOMEM ? rc : -EINVAL;
    }
    rc = parse_authorization(r, c, why);
    if (rc == -ENODATA)
        rc = 0;
    if (rc == 0)
        rc = form_opt(form, "client_id", &form_id);
    if (rc == 0)
        rc = form_opt(form, "client_secret", &form_secret);
    if (rc == 0)
        rc = form_opt(form, "client_assertion_type", &type);
    if (rc == 0)
        rc = form_opt(form, "client_assertion", &c->assertion);
    if (rc < 0)
        goto out;
    if (c->bearer) {
        /* caller authentication by the homeserver's shared secret; nothing else to read */
    } else if (c->client_id) { /* Basic */
        if (form_id && strcmp(form_id, c->client_id) != 0) {
            *error = "invalid_grant";
            *why = "client_id in the form does not match the Authorization header";
            rc = -EINVAL;
        }
    } else if (type || c->assertion) {
        if (!type || !c->assertion || strcmp(type, ASSERTION_TYPE) != 0) {
            *why = "Invalid client_assertion_type";
            rc = -EINVAL;
        } else {
            c->jwt = true; /* the client id is the assertion's sub, checked on the pool */
            c->client_id = form_id, form_id = NULL;
        }
    } else if (form_id) {
        c->method = form_secret ? CLIENT_AUTH_SECRET_POST : CLIENT_AUTH_NONE;
        c->client_id = form_id, form_id = NULL;
        c->client_secret = form_secret, form_secret = NULL;
    } else {
        *why = "No credentials were presented";
        rc = -ENODATA;
    }
out:
    free(form_id);
    free(form_secret);
    free(type);
    if (rc < 0)
        client_credentials_clear(c);
    return rc;
}

void client_credentials_clear(struct client_credentials *c)
{
    free(c->bearer_token);
    free(c->client_id);
    if (c->client_secret)
        OPENSSL_cleanse(c->client_secret, strlen(c->client_secret));
    free(c->client_secret);
    free(c->assertion);
    memset(c, 0, sizeof(*c));
}

bool client_credentials_read(struct masd_request *r, struct client_credentials *c)
{
    const char *error, *why;
    int rc = client_credentials_parse(r, r->body, c, &error, &why);
    if (rc < 0) {
        oauth_error(r, rc == -ENOMEM ? 500 : 400, rc == -ENOMEM ? "server_error" : error, why);
        return true;
    }
    if (c->bearer) {
        oauth_error(r, 401, "invalid_client", NULL);
        return true;
    }
    return false;
}
