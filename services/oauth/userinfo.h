/* GET and POST /oauth2/userinfo (OIDC Core §5.3; MAS: crates/handlers/src/oauth2/userinfo.rs):
 * who the user of an access token is. Its pure steps are exposed for the unit tests and the fuzz
 * target; oauth_userinfo() (oauth.h) runs them. */
#pragma once
#include "server.h"
#include "storage.h"
#include <stdint.h>

/* The access token the request presents (RFC 6750 §2.1, §2.2, §2.3): `Authorization: Bearer`
 * or the access_token parameter, of the form body (POST, a form Content-Type) or of the query
 * (GET), as MAS's UserAuthorization reads it. *token malloc'd. Returns 0; -EINVAL for a
 * malformed or repeated header, a malformed form, access_token twice, a token in both places or
 * in neither (400 invalid_request, *why says which); -ENOMEM. */
int userinfo_token(struct masd_request *r, char **token, const char **why);

/* Whether the looked-up token lets its holder read userinfo: an OAuth access token, not revoked
 * or expired, its session not finished, with a user who is neither locked nor deactivated, and
 * `openid` among the session's scope tokens. 0, or -EACCES (*why). */
int userinfo_judge(const struct storage_token_introspection *t, int64_t now, const char **why);

/* The answer: {"sub","username"} as JSON when alg is NULL; otherwise a JWT of the same claims
 * with iss (the issuer) and aud (client_id), signed for alg with oauth.keys. *body malloc'd,
 * *content_type static. Returns 0, -ENOKEY (no key for alg: 500, as MAS), -ENOMEM, -EIO. */
int userinfo_answer(const char *sub, const char *username, const char *client_id, const char *alg,
                    char **body, const char **content_type);
