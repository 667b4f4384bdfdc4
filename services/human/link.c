/* GET and POST /link: a person enters the user code their device shows (RFC 8628 §3.3; MAS:
 * crates/handlers/src/oauth2/device/link.rs, templates/pages/device_link.html) and goes on to
 * /device/{grant_id}, which signs them in first when needed (device.c). No session is needed
 * here.
 *
 * The code is read case-insensitively, spaces and dashes dropped (link_parse.h); `?code=` fills
 * it in only with oauth.device_code_user_code_auto_fill_enabled (MAS), and is then looked up at
 * once, as MAS does. A code that is not one of a pending, unexpired grant — unknown, expired,
 * approved, denied: not told apart, as MAS — shows the form again with a 404; an empty or
 * malformed one with a 400 (no lookup). With the grant disabled the page is a 404 (MAS: 500).
 *
 * Rate limits (MAS has none; docs/architecture.md §8): a user code is 6 characters of A-Z0-9,
 * about 2.2 billion codes, so it can be guessed given enough tries. Every lookup first passes
 * two GCRA buckets shared by every process on the database: one per client network (the login's
 * keying: an IPv4 address or an IPv6 prefix, rate_limiting.ipv6_prefix_length), LINK_PER_IP, and
 * one per code tried, LINK_PER_CODE, so that no one code is tried over and over from many
 * networks. The limits are constants: MAS's configuration has no key for them, and a key masd
 * invented would make its config.yaml one MAS refuses. */
#include "clock.h"
#include "form.h"
#include "human.h"
#include "link_parse.h"
#include "log.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A person mistypes a code a few times; a guesser gets 120 tries an hour per network. */
#define LINK_PER_IP_BURST        10
#define LINK_PER_IP_PER_SECOND   (1.0 / 30)
#define LINK_PER_CODE_BURST      5
#define LINK_PER_CODE_PER_SECOND (1.0 / 60)

#define TYPED_MAX 64 /* what is shown again of a refused code */

enum link_outcome {
    L_FORM,      /* the empty form */
    L_REQUIRED,  /* POST without a code */
    L_MALFORMED, /* not a code: no lookup */
    L_LOOKUP,    /* a code to look up (link_work) */
    L_FOUND,     /* a pending grant's: on to /device/{id} */
    L_INVALID,   /* no pending grant has it */
    L_LIMITED,
    L_BUSY,
    L_INTERNAL,
};

struct link_job {
    char code[STORAGE_USER_CODE_MAX + 1]; /* normalised */
    char typed[TYPED_MAX + 1];
    char ip_key[32 + MASD_NETWORK_STRLEN];
    int64_t now, retry_after_ms;
    char grant_id[STORAGE_ID_SIZE];
    enum link_outcome outcome;
};

static void render(struct masd_request *r, struct link_job *j)
{
    static const struct {
        enum link_outcome outcome;
        int status;
        const char *error;
    } answers[] = {
        {L_FORM, 200, NULL},         {L_REQUIRED, 400, "required"},    {L_MALFORMED, 400, "invalid"},
        {L_INVALID, 404, "invalid"}, {L_LIMITED, 429, "rate_limited"}, {L_BUSY, 503, "busy"},
    };
    int status = 200;
    const char *error = NULL;
    for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++)
        if (answers[i].outcome == j->outcome)
            status = answers[i].status, error = answers[i].error;
    struct page p = {.data = page_data()};
    const char *csrf = csrf_issue(r);
    json_t *form = json_pack("{s:s, s:{}}", "code", j->typed, "error");
    if (!p.data || !csrf || !form) {
        json_decref(form);
        json_decref(p.data);
        page_error(r, 500, "internal", "out of memory");
        return;
    }
    if (error)
        json_object_set_new(json_object_get(form, "error"), error, json_true());
    json_object_set_new(p.data, "form", form);
    json_object_set_new(p.data, "csrf", json_string(csrf));
    if (j->outcome == L_LIMITED || j->outcome == L_BUSY)
        page_retry_after(r, j->retry_after_ms);
    page_send(r, status, "link.html", &p);
}

static int link_tx(struct storage_tx *tx, void *arg)
{
    struct link_job *j = arg;
    char key[64];
    struct storage_device_code_grant g;
    int r = storage_rate_limit_check(tx, j->ip_key, LINK_PER_IP_BURST, LINK_PER_IP_PER_SECOND, j->now,
                                     &j->retry_after_ms);
    if (r > 0) {
        snprintf(key, sizeof(key), "device_link.per_code:%s", j->code);
        r = storage_rate_limit_check(tx, key, LINK_PER_CODE_BURST, LINK_PER_CODE_PER_SECOND, j->now,
                                     &j->retry_after_ms);
    }
    if (r <= 0) {
        j->outcome = L_LIMITED;
        return r;
    }
    r = storage_device_code_grant_find_pending(tx, j->code, j->now, &g);
    if (r == -ENOENT) {
        j->outcome = L_INVALID;
        return 0;
    }
    if (r < 0)
        return r;
    memcpy(j->grant_id, g.id, sizeof(j->grant_id));
    j->outcome = L_FOUND;
    return 0;
}

static void link_work(void *arg)
{
    struct link_job *j = arg;
    if (storage_tx(human.st, STORAGE_TX_WRITE, link_tx, j) < 0) {
        log_error("link: %s", storage_last_error());
        j->outcome = L_INTERNAL;
    }
}

static void link_done(struct masd_request *r, void *arg)
{
    struct link_job *j = arg;
    if (r) {
        char to[256];
        if (j->outcome == L_INTERNAL) {
            page_error(r, 500, "internal", "the database did not answer");
        } else if (j->outcome == L_FOUND) {
            snprintf(to, sizeof(to), "%s/device/%s", human.root, j->grant_id);
            page_redirect(r, to);
        } else {
            render(r, j);
        }
    }
    free(j);
}

/* The client's per-network bucket, as the login keys its own (common/login/password_login.c). */
static void ip_key(struct masd_request *r, struct link_job *j)
{
    char net[MASD_NETWORK_STRLEN];
    const char *n = addr_network(&r->client, human.cfg->rate_limiting.ipv6_prefix_length, net);
    snprintf(j->ip_key, sizeof(j->ip_key), "device_link.per_ip:%s", n ? n : "-");
}

void human_link(struct masd_request *r)
{
    if (!human.cfg->device_code_grant_enabled) {
        page_error(r, 404, "device_disabled", NULL);
        return;
    }
    bool post = masd_str_eq(r->method, MASD_STR("POST"));
    if (post && !csrf_check(r))
        return;
    struct link_job *j = calloc(1, sizeof(*j));
    if (!j) {
        page_error(r, 500, "internal", "out of memory");
        return;
    }
    char *code = NULL;
    int rc = post                                                 ? form_get(r->body, "code", &code)
             : human.cfg->device_code_user_code_auto_fill_enabled ? form_get(r->query, "code", &code)
                                                                  : 0;
    if (rc < 0 && rc != -ENOMEM) /* twice, or a bad escape */
        rc = 1, code = NULL;
    if (rc == -ENOMEM) {
        free(j);
        page_error(r, 500, "internal", "out of memory");
        return;
    }
    /* shown again as typed, if it is short printable ASCII (a code is) */
    for (size_t i = 0; code && code[i] && i < TYPED_MAX && code[i] >= 0x20 && code[i] < 0x7f; i++)
        j->typed[i] = code[i], j->typed[i + 1] = '\0';
    if (code && strlen(j->typed) != strlen(code))
        j->typed[0] = '\0';
    if (rc == 0 && !post)
        j->outcome = L_FORM;
    else if (!code || !*code)
        j->outcome = post ? L_REQUIRED : L_FORM;
    else if (link_user_code_normalise(code, j->code, sizeof(j->code)) < 0)
        j->outcome = L_MALFORMED;
    else
        j->outcome = L_LOOKUP;
    free(code);
    if (j->outcome != L_LOOKUP) { /* the form, again or for the first time: no database */
        render(r, j);
        free(j);
        return;
    }
    ip_key(r, j);
    j->now = masd_now();
    if (masd_defer(r, link_work, link_done, j) == MASD_DEFER_FULL) {
        j->outcome = L_BUSY, j->retry_after_ms = 1000;
        render(r, j);
        free(j);
    }
}
