/* How masd-human answers (human.h): pages rendered from the compiled templates with the common
 * data, the security headers every answer carries, the error page and the redirect. */
#include "human.h"
#include "callback.h"
#include "gql.h"
#include "base64.h"
#include "form.h"
#include "human_templates.h"
#include "log.h"
#include "policy.h"
#include "random.h"
#include "template.h"
#include "ulid.h"
#include <openssl/crypto.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistr.h>

struct human_service human;

json_t *page_data(void)
{
    json_t *d = json_object();
    if (!d)
        return NULL;
    json_object_set_new(d, "lang", json_string("en"));
    json_object_set_new(d, "root", json_string(human.root));
    json_object_set_new(d, "css", json_string(human.css));
    json_object_set(d, "branding", human.branding);
    json_object_set_new(
        d, "registration",
        json_boolean(human.cfg->password_registration_enabled && human.cfg->passwords.enabled));
    return d;
}

/* The headers of every answer (docs/architecture.md §6): nothing of masd-human may be framed,
 * cached, sniffed or leak its URLs (which carry grant IDs) in a Referer (RFC 9700 §4.2.4). The
 * CSP allows our stylesheet, https images (client logos), forms posting to ourselves and, where
 * one is given, to the client's redirect URI (Chromium applies form-action to the redirect that
 * follows a form too), and scripts only by the page's nonce. */
static void security_headers(struct masd_request *r, const char *form_action, const char *nonce)
{
    char csp[1024];
    int n =
        snprintf(csp, sizeof(csp),
                 "default-src 'none'; style-src 'self'; img-src 'self' https: data:; form-action 'self'%s%s; "
                 "frame-ancestors 'none'; base-uri 'none'%s%s%s",
                 form_action ? " " : "", form_action ? form_action : "", nonce ? "; script-src 'nonce-" : "",
                 nonce ? nonce : "", nonce ? "'" : "");
    if (n < 0 || (size_t)n >= sizeof(csp)) /* a form-action source too long to name: none at all */
        snprintf(csp, sizeof(csp),
                 "default-src 'none'; style-src 'self'; img-src 'self' https: data:; "
                 "form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    masd_add_header(r, "content-security-policy", masd_str_from(csp));
    masd_add_header(r, "x-frame-options", MASD_STR("DENY"));
    masd_add_header(r, "x-content-type-options", MASD_STR("nosniff"));
    masd_add_header(r, "referrer-policy", MASD_STR("no-referrer"));
    masd_add_header(r, "cross-origin-opener-policy", MASD_STR("same-origin"));
    masd_add_header(r, "cache-control", MASD_STR("no-store"));
    if (human.secure)
        masd_add_header(r, "strict-transport-security", MASD_STR("max-age=31536000"));
}

static void respond_500_plain(struct masd_request *r)
{
    security_headers(r, NULL, NULL);
    masd_respond_text(r, 500, "Internal Server Error");
}

static void free_buf(void *arg)
{
    html_buf_free(arg);
}

void page_send(struct masd_request *r, int status, const char *template, struct page *p)
{
    char nonce_buf[32] = "";
    const char *nonce = NULL;
    if (!p->data) {
        respond_500_plain(r);
        return;
    }
    if (p->script) {
        unsigned char raw[16];
        char *enc = random_bytes(raw, sizeof(raw)) == 0 ? base64url_encode(raw, sizeof(raw)) : NULL;
        if (!enc) {
            json_decref(p->data);
            respond_500_plain(r);
            return;
        }
        snprintf(nonce_buf, sizeof(nonce_buf), "%s", enc);
        free(enc);
        nonce = nonce_buf;
        json_object_set_new(p->data, "nonce", json_string(nonce));
    }
    const struct template *t = template_find(human_templates, template, "en");
    struct html_buf *b = masd_req_alloc(r, sizeof(*b));
    html_buf_init(b, HUMAN_PAGE_MAX);
    masd_req_on_dispose(r, free_buf, b);
    int rc = t ? template_render(t, p->data, b) : -ENOENT;
    json_decref(p->data);
    p->data = NULL;
    if (rc < 0) {
        log_error("page %s: cannot render it: %s", template, strerror(-rc));
        respond_500_plain(r);
        return;
    }
    security_headers(r, p->form_action, nonce);
    masd_respond(r, status, "text/html; charset=utf-8", (masd_str){b->ptr, b->len});
}

void page_error(struct masd_request *r, int status, const char *kind, const char *detail)
{
    page_error_with(r, status, kind, detail, NULL, NULL);
}

void page_error_with(struct masd_request *r, int status, const char *kind, const char *detail, json_t *extra,
                     const char *form_action)
{
    struct page p = {.data = page_data(), .form_action = form_action};
    json_t *flags = json_object();
    if (p.data && extra)
        json_object_update(p.data, extra);
    json_decref(extra);
    if (!p.data || !flags) {
        json_decref(flags);
        json_decref(p.data);
        respond_500_plain(r);
        return;
    }
    json_object_set_new(flags, kind, json_true());
    json_object_set_new(p.data, "error", flags);
    json_object_set_new(p.data, "status", json_integer(status));
    /* a technical sentence about the request may help the person; one about the server is
     * for the log only */
    if (detail && status < 500)
        json_object_set_new(p.data, "detail", json_string(detail));
    if (status >= 500) {
        /* The person gets a reference, the log gets the story (OWASP Error Handling). */
        char id[ULID_LEN + 1];
        ulid_generate(id);
        json_object_set_new(p.data, "request_id", json_string(id));
        log_error("request %s: %d %s%s%s", id, status, kind, detail ? ": " : "", detail ? detail : "");
    }
    page_send(r, status, "error.html", &p);
}

json_t *page_policy_denial(const struct policy_result *res)
{
    if (!res->n)
        return NULL;
    json_t *list = json_array(), *o = json_object();
    for (size_t i = 0; list && i < res->n; i++) {
        const struct policy_violation *v = &res->violations[i];
        json_array_append_new(list, json_pack("{s:s}", "msg", v->msg));
        if (v->code && strcmp(v->code, "too-many-sessions") == 0 && v->need_to_remove > 0)
            json_object_set_new(o, "too_many_sessions",
                                json_pack("{s:I}", "need_to_remove", (json_int_t)v->need_to_remove));
    }
    if (!list || !o || json_object_set_new(o, "violations", list) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

void page_retry_after(struct masd_request *r, int64_t ms)
{
    char s[24];
    snprintf(s, sizeof(s), "%lld", (long long)((ms + 999) / 1000 > 0 ? (ms + 999) / 1000 : 1));
    masd_add_header(r, "retry-after", masd_str_from(s));
}

void page_redirect(struct masd_request *r, const char *location)
{
    page_redirect_status(r, 303, location);
}

void page_redirect_status(struct masd_request *r, int status, const char *location)
{
    security_headers(r, NULL, NULL);
    masd_add_header(r, "location", masd_str_from(location));
    masd_respond(r, status, NULL, MASD_STR(""));
}

void human_client_ip(struct masd_request *r, char *out, size_t size)
{
    char buf[MASD_ADDR_STRLEN];
    out[0] = '\0';
    if (r->client.family == AF_INET || r->client.family == AF_INET6)
        snprintf(out, size, "%s", addr_format(&r->client, buf));
}

void human_user_agent(struct masd_request *r, char *out, size_t size)
{
    int cursor = -1;
    masd_str ua = masd_req_header(r, "user-agent", &cursor);
    size_t n = ua.ptr ? (ua.len < size ? ua.len : size - 1) : 0;
    memcpy(out, ua.ptr ? ua.ptr : "", n);
    out[n] = '\0';
    /* it is stored as text, which must be UTF-8: a header that is not (or was cut inside a
     * character) keeps its ASCII, the rest becomes '?' */
    if (u8_check((const uint8_t *)out, n))
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)out[i] >= 0x80)
                out[i] = '?';
}

void redirect_to_login(struct masd_request *r, const struct action *a, const char *login_hint)
{
    char q[1024], to[2048], *hint = NULL;
    action_query(a, q, sizeof(q));
    if (login_hint && *login_hint) {
        struct callback_param p = {"login_hint", login_hint};
        hint = callback_url("", AUTHZ_MODE_FRAGMENT, &p, 1); /* "#login_hint=…", encoded */
    }
    snprintf(to, sizeof(to), "%s/login?%s%s%s", human.root, q, hint ? "&" : "", hint ? hint + 1 : "");
    free(hint);
    page_redirect(r, to);
}

void human_not_found(struct masd_request *r)
{
    page_error(r, 404, "not_found", NULL);
}

void human_method_not_allowed(struct masd_request *r)
{
    if (r->route && strcmp(r->route->resource, "graphql") == 0) {
        human_graphql_method_not_allowed(r);
        return;
    }
    page_error(r, 405, "method_not_allowed", NULL);
}

/* The authorization response (callback.h): a redirect, or the form_post page. */
void callback_deliver(struct masd_request *r, const char *redirect_uri, enum authorize_response_mode mode,
                      const struct callback_param *p, size_t n)
{
    if (mode != AUTHZ_MODE_FORM_POST) {
        char *url = callback_url(redirect_uri, mode, p, n);
        if (!url) {
            page_error(r, 500, "internal", "out of memory");
            return;
        }
        page_redirect(r, url);
        free(url);
        return;
    }
    char source[512];
    struct page page = {.data = page_data(), .script = true};
    json_t *params = json_array();
    if (!page.data || !params) {
        json_decref(params);
        json_decref(page.data);
        page_error(r, 500, "internal", "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++)
        if (p[i].value)
            json_array_append_new(params, json_pack("{s:s, s:s}", "name", p[i].name, "value", p[i].value));
    json_object_set_new(page.data, "redirect_uri", json_string(redirect_uri));
    json_object_set_new(page.data, "params", params);
    if (callback_csp_source(redirect_uri, source, sizeof(source)))
        page.form_action = source;
    page_send(r, 200, "form_post.html", &page);
}

bool human_form_field(masd_str form, const char *name, char *out, size_t size)
{
    char *v = NULL;
    int rc = form_get(form, name, &v);
    bool ok = rc >= 0 && (!v || strlen(v) < size);
    snprintf(out, size, "%s", ok && v ? v : "");
    if (v)
        OPENSSL_cleanse(v, strlen(v));
    free(v);
    return ok;
}
