/* A driver of the relying party (common/upstream/upstream_rp.h) for tests/integration/upstream_rp.sh:
 * loads a masd config.yaml (its upstream_oauth2 providers and secrets.keys), keeps one struct
 * upstream_rp (so its caches live across commands) and answers one line per command read on
 * stdin:
 *   exchange N CODE REDIRECT_URI VERIFIER|- NONCE|-  → OK sub=… name=… userinfo_sub=… | ERR STATUS message
 *   metadata N                                        → OK pkce=0|1 token=URL | ERR …
 *   logout N TOKEN                                    → OK sub=… sid=… jti=… | ERR …
 *   timeouts MS CONNECT_MS                            → OK
 *   clock SECONDS                                     → OK (moves the probe's clock forward)
 *   jwks-fetches                                      → OK N (JWKS downloads so far)
 * N is the index of the provider in the config. */
#include "config.h"
#include "jose.h"
#include "upstream_rp.h"
#include "upstream_rp_state.h"
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *status_name(enum upstream_rp_status s)
{
    static const char *const names[] = {"OK",      "UNREACHABLE",   "IDP_ERROR", "BAD_ANSWER",
                                        "INVALID", "MISCONFIGURED", "NOMEM"};
    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

static const char *opt(const char *s)
{
    return s && strcmp(s, "-") != 0 ? s : NULL;
}

static const char *claim(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "-";
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CONFIG.yaml < commands\n", argv[0]);
        return 2;
    }
    struct config *cfg = NULL;
    char *error = NULL;
    struct jose_keyset *ks = NULL;
    struct upstream_rp *rp = NULL;
    if (config_load(argv[1], &cfg, &error) < 0) {
        fprintf(stderr, "%s\n", error);
        return 1;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || jose_keyset_from_config(cfg, &ks) < 0 ||
        upstream_rp_open(ks, &rp) < 0)
        return 1;
    signal(SIGPIPE, SIG_IGN); /* as the services that call the relying party */
    int64_t offset = 0;
    char line[65536];
    setvbuf(stdout, NULL, _IOLBF, 0);
    while (fgets(line, sizeof(line), stdin)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *w[8] = {0};
        int n = 0;
        for (char *t = strtok(line, " "); t && n < 8; t = strtok(NULL, " "))
            w[n++] = t;
        if (n == 0)
            continue;
        int64_t now = (int64_t)time(NULL) + offset;
        struct upstream_rp_error err = {0};
        size_t idx = n > 1 ? strtoul(w[1], NULL, 10) : 0;
        const struct config_upstream_provider *p =
            idx < cfg->n_upstream_providers ? &cfg->upstream_providers[idx] : NULL;
        if (strcmp(w[0], "exchange") == 0 && n == 6 && p) {
            struct upstream_rp_exchange in = {
                .code = w[2], .redirect_uri = w[3], .verifier = opt(w[4]), .nonce = opt(w[5]), .now = now};
            struct upstream_rp_result res;
            if (upstream_rp_exchange(rp, p, &in, &res, &err) == 0) {
                printf("OK sub=%s name=%s userinfo_sub=%s userinfo_email=%s\n",
                       claim(res.id_token_claims, "sub"), claim(res.id_token_claims, "name"),
                       claim(res.userinfo, "sub"), claim(res.userinfo, "email"));
                upstream_rp_result_clear(&res);
            } else {
                printf("ERR %s %s\n", status_name(err.status), err.message);
            }
        } else if (strcmp(w[0], "metadata") == 0 && n == 2 && p) {
            struct upstream_rp_metadata m;
            if (upstream_rp_metadata(rp, p, now, &m, &err) == 0) {
                printf("OK pkce=%d token=%s\n", m.pkce_s256, m.token_endpoint);
                upstream_rp_metadata_clear(&m);
            } else {
                printf("ERR %s %s\n", status_name(err.status), err.message);
            }
        } else if (strcmp(w[0], "logout") == 0 && n == 3 && p) {
            json_t *c = NULL;
            if (upstream_rp_logout_token(rp, p, w[2], now, &c, &err) == 0) {
                printf("OK sub=%s sid=%s jti=%s\n", claim(c, "sub"), claim(c, "sid"), claim(c, "jti"));
                json_decref(c);
            } else {
                printf("ERR %s %s\n", status_name(err.status), err.message);
            }
        } else if (strcmp(w[0], "timeouts") == 0 && n == 3) {
            upstream_rp_set_timeouts(rp, strtol(w[1], NULL, 10), strtol(w[2], NULL, 10));
            printf("OK\n");
        } else if (strcmp(w[0], "clock") == 0 && n == 2) {
            offset += strtoll(w[1], NULL, 10);
            printf("OK\n");
        } else if (strcmp(w[0], "jwks-fetches") == 0) {
            pthread_mutex_lock(&rp->lock);
            printf("OK %lu\n", rp->jwks_fetches);
            pthread_mutex_unlock(&rp->lock);
        } else {
            printf("ERR USAGE unknown command or arguments\n");
        }
    }
    upstream_rp_close(rp);
    jose_keyset_free(ks);
    config_free(cfg);
    curl_global_cleanup();
    return 0;
}
