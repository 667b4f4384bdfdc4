/* ID tokens (id_token.h). MAS: crates/handlers/src/oauth2/mod.rs generate_id_token; the claims
 * are OIDC Core §2's, the hashes §3.1.3.6 (at_hash) and §3.3.2.11 (c_hash). */
#include "id_token.h"
#include "jose.h"
#include "oauth.h"
#include <errno.h>
#include <jansson.h>

static int set_hash(json_t *claims, const char *name, const char *alg, const char *token)
{
    char hash[88];
    if (!token)
        return 0;
    int r = jose_token_hash(alg, token, hash);
    if (r < 0)
        return r;
    return json_object_set_new(claims, name, json_string(hash)) == 0 ? 0 : -ENOMEM;
}

int oauth_id_token(const struct oauth_id_token_in *in, char **out)
{
    const char *alg = in->alg && in->alg[0] ? in->alg : "RS256";
    const struct jose_key *key = jose_keyset_find(oauth.keys, alg);
    *out = NULL;
    if (!key)
        return -ENOKEY;
    json_int_t iat = (json_int_t)(in->now_ms / 1000);
    json_t *claims = json_pack("{s:s, s:s, s:s, s:I, s:I}", "iss", oauth.cfg->issuer, "sub", in->sub, "aud",
                               in->client_id, "iat", iat, "exp", iat + OAUTH_ID_TOKEN_LIFETIME_S);
    int r = claims ? 0 : -ENOMEM;
    if (r == 0 && in->nonce && json_object_set_new(claims, "nonce", json_string(in->nonce)) < 0)
        r = -ENOMEM;
    if (r == 0 && in->auth_time_ms > 0 &&
        json_object_set_new(claims, "auth_time", json_integer((json_int_t)(in->auth_time_ms / 1000))) < 0)
        r = -ENOMEM;
    if (r == 0)
        r = set_hash(claims, "at_hash", alg, in->access_token);
    if (r == 0)
        r = set_hash(claims, "c_hash", alg, in->code);
    if (r == 0)
        r = jose_sign(key, alg, claims, out);
    json_decref(claims);
    return r;
}
