/* GET /oauth2/keys.json: the public JWKS of secrets.keys, rendered once at setup (the keys only
 * change with the configuration) and served from memory. */
#include "client/auth.h"
#include "log.h"
#include "oauth.h"
#include "jwk.h"
#include <errno.h>
#include <string.h>

static char *jwks;
static size_t jwks_len;

int oauth_keys_render(const struct config *cfg)
{
    char *doc = keys_public_jwks(cfg);
    if (!doc)
        return log_errno(-ENOMEM, "cannot render the public JWKS of secrets.keys");
    free(jwks);
    jwks = doc;
    jwks_len = strlen(doc);
    return 0;
}

void oauth_keys(struct masd_request *r)
{
    if (oauth_cors(r))
        return;
    masd_respond(r, 200, "application/json", (masd_str){jwks, jwks_len});
}
