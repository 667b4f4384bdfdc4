/* masd-discovery: the OpenID Connect discovery document and WebFinger. No state, no network of
 * its own: everything it answers follows from the configuration. */
#include "discovery.h"
#include "form.h"
#include "log.h"
#include "server.h"
#include <jansson.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ISSUER_REL "http://openid.net/specs/connect/1.0/issuer"

static char *document;
static size_t document_len;
static const char *issuer;

/* CORS as MAS's discovery router: any origin and method. */
static bool cors(struct masd_request *r)
{
    return masd_cors(r, "authorization, accept, accept-language, content-language, content-type, "
                        "traceparent, tracestate, baggage");
}

static void openid_configuration(struct masd_request *r)
{
    if (cors(r))
        return;
    masd_respond(r, 200, "application/json", (masd_str){document, document_len});
}

static void free_string(void *p)
{
    free(p);
}

static void webfinger(struct masd_request *r)
{
    if (cors(r))
        return;
    char *resource = NULL;
    int found = form_get(r->query, "resource", &resource);
    if (found <= 0) {
        masd_respond_text(r, 400,
                          found == -EEXIST ? "Invalid query: more than one 'resource' parameter"
                                           : "Invalid query: the 'resource' parameter is required");
        return;
    }
    bool issuer_rel = false;
    masd_str rest = r->query, key, value;
    char buf[sizeof(ISSUER_REL)];
    while (form_next(&rest, &key, &value))
        if (masd_str_eq(key, MASD_STR("rel")) && value.len <= 3 * sizeof(buf)) {
            char *v = malloc(value.len + 1);
            long n = v ? form_decode(value, v) : -1;
            issuer_rel |= n == (long)strlen(ISSUER_REL) && memcmp(v, ISSUER_REL, (size_t)n) == 0;
            free(v);
        }
    json_t *links = json_array();
    if (issuer_rel)
        json_array_append_new(links, json_pack("{s:s, s:s}", "rel", ISSUER_REL, "href", issuer));
    json_t *doc = json_pack("{s:s?, s:o}", "subject", resource, "links", links);
    free(resource);
    char *body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!body) { /* resource was not valid UTF-8: jansson refuses it */
        masd_respond_text(r, 400, "Invalid query: 'resource' is not valid UTF-8");
        return;
    }
    masd_req_on_dispose(r, free_string, body);
    masd_respond(r, 200, "application/jrd+json", masd_str_from(body));
}

static int setup(const struct config *cfg)
{
    document = discovery_document_render(cfg);
    if (!document)
        return log_errno(-ENOMEM, "cannot render the discovery document");
    document_len = strlen(document);
    issuer = cfg->issuer;
    return 0;
}

static const char *const resources[] = {"discovery", NULL};

static const struct masd_route routes[] = {
    {"discovery", "/.well-known/openid-configuration", ROUTE_EXACT, "GET, HEAD, OPTIONS",
     openid_configuration},
    {"discovery", "/.well-known/webfinger", ROUTE_EXACT, "GET, HEAD, OPTIONS", webfinger},
    {0},
};

static const struct masd_service service = {
    .name = "masd-discovery",
    .summary = "Serves the OpenID Connect discovery document and WebFinger of masd.",
    .resources = resources,
    .routes = routes,
    .setup = setup,
    .check = setup,           /* renders the document: no state */
    .max_request_body = 1024, /* its routes take no body */
    .no_secrets = true,       /* the signing keys' families only: secrets.keys[].type */
};

int main(int argc, char **argv)
{
    return masd_main(argc, argv, &service);
}
