/* The homeserver client (homeserver.h): JSON calls to Synapse's /_synapse/mas API over libcurl,
 * mapped to negative errnos, with one human line per failure for logs and a job's last_error.
 * MAS: crates/matrix-synapse/src/modern.rs; Synapse: synapse/rest/synapse/mas/. */
#include "homeserver.h"
#include "config.h"
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistr.h>

#ifdef MASD_VERSION
#define USER_AGENT "masd/" MASD_VERSION
#else
#define USER_AGENT "masd"
#endif

/* Synapse answers {} or a short error; anything bigger is not the API we talk to. */
#define RESPONSE_MAX (64 * 1024)
#define API          "_synapse/mas/"

struct homeserver {
    char *name;
    char *endpoint;
    char *authorization; /* "Authorization: Bearer <secret>", NULL without a secret */
    bool read_only;
};

/* ---- messages -------------------------------------------------------------------------------- */

/* The URL without its userinfo, for messages. */
static void url_for_message(const char *url, char *out, size_t size)
{
    const char *auth = strstr(url, "://");
    auth = auth ? auth + 3 : url;
    size_t alen = strcspn(auth, "/?#");
    const char *at = memrchr(auth, '@', alen);
    snprintf(out, size, "%.*s%s", (int)(auth - url), url, at ? at + 1 : auth);
}

/* Drops an incomplete UTF-8 sequence that truncation left at the end of s. */
static void utf8_trim_tail(char *s)
{
    size_t len = strlen(s), i = len;
    while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80 && len - i < 3)
        i--;
    if (i == 0 || (unsigned char)s[i - 1] < 0x80)
        return;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
    if (len - (i - 1) < want)
        s[i - 1] = '\0';
}

static void set_message(struct homeserver_result *res, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_message(struct homeserver_result *res, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->message, sizeof(res->message), fmt, ap);
    va_end(ap);
    for (char *p = res->message; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    utf8_trim_tail(res->message);
}

static struct homeserver_result *result_begin(struct homeserver_result *res, struct homeserver_result *spare)
{
    if (!res)
        res = spare;
    res->status = 0;
    res->errcode[0] = '\0';
    res->message[0] = '\0';
    return res;
}

/* ---- error bodies ---------------------------------------------------------------------------- */

/* A Matrix errcode as we keep it: 1..63 visible ASCII characters ("M_NOT_FOUND"). */
static bool errcode_valid(const char *s, size_t len)
{
    if (len == 0 || len > HOMESERVER_ERRCODE_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return false;
    return true;
}

/* As homeserver_parse_error, also copying the "error" text (truncated) into error. */
static void parse_error_body(const char *body, size_t len, struct homeserver_result *res, char *error,
                             size_t esize)
{
    res->errcode[0] = '\0';
    if (error)
        error[0] = '\0';
    if (!body || len == 0)
        return;
    json_error_t jerr;
    json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *code = json_object_get(doc, "errcode"), *text = json_object_get(doc, "error");
    if (json_is_object(doc) && json_is_string(code) && json_is_string(text) &&
        errcode_valid(json_string_value(code), json_string_length(code))) {
        memcpy(res->errcode, json_string_value(code), json_string_length(code) + 1);
        if (error) {
            snprintf(error, esize, "%s", json_string_value(text));
            utf8_trim_tail(error);
        }
    }
    json_decref(doc);
}

void homeserver_parse_error(const char *body, size_t len, struct homeserver_result *res)
{
    parse_error_body(body, len, res, NULL, 0);
}

/* ---- the curl handle of this thread ---------------------------------------------------------- */

static pthread_key_t curl_key;
static pthread_once_t curl_key_once = PTHREAD_ONCE_INIT;
static int curl_key_error;
static atomic_int open_count;

static void curl_thread_exit(void *curl)
{
    curl_easy_cleanup(curl);
}

static void curl_key_init(void)
{
    curl_key_error = pthread_key_create(&curl_key, curl_thread_exit);
}

/* This thread's handle, created on first use and kept (with its connections) until the thread
 * exits; every request leaves it reset to default options. */
static CURL *thread_curl(void)
{
    pthread_once(&curl_key_once, curl_key_init);
    if (curl_key_error)
        return NULL;
    CURL *c = pthread_getspecific(curl_key);
    if (!c && (c = curl_easy_init()) && pthread_setspecific(curl_key, c) != 0) {
        curl_easy_cleanup(c);
        c = NULL;
    }
    return c;
}

int homeserver_global_init(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -ENOMEM;
    pthread_once(&curl_key_once, curl_key_init);
    return -curl_key_error;
}

/* ---- open, close ----------------------------------------------------------------------------- */

/* Synapse takes exactly "Bearer <token>", split on one space, decoded as ASCII. */
static bool secret_sendable(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] <= 0x20 || s[i] >= 0x7f)
            return false;
    return len > 0;
}

int homeserver_open(const struct config_matrix *cfg, struct homeserver **out)
{
    *out = NULL;
    const char *kind = cfg->kind ? cfg->kind : "synapse";
    if (strcmp(kind, "synapse_legacy") == 0)
        return -ENOTSUP;
    bool read_only = strcmp(kind, "synapse_read_only") == 0;
    if (!read_only && strcmp(kind, "synapse") != 0 && strcmp(kind, "synapse_modern") != 0)
        return -EINVAL;
    if (!cfg->homeserver || !cfg->endpoint || (cfg->secret && !secret_sendable(cfg->secret, cfg->secret_len)))
        return -EINVAL;
    size_t size = strlen(cfg->endpoint) + 3;
    char *probe = malloc(size);
    if (!probe)
        return -ENOMEM;
    int r = homeserver_url_join(cfg->endpoint, "x", probe, size);
    free(probe);
    if (r < 0)
        return r;

    struct homeserver *hs = calloc(1, sizeof(*hs));
    if (!hs)
        return -ENOMEM;
    pthread_once(&curl_key_once, curl_key_init);
    atomic_fetch_add(&open_count, 1);
    hs->read_only = read_only;
    hs->name = strdup(cfg->homeserver);
    hs->endpoint = strdup(cfg->endpoint);
    if (cfg->secret && asprintf(&hs->authorization, "Authorization: Bearer %.*s", (int)cfg->secret_len,
                                (const char *)cfg->secret) < 0)
        hs->authorization = NULL, r = -ENOMEM;
    if (!hs->name || !hs->endpoint || r < 0) {
        homeserver_close(hs);
        return -ENOMEM;
    }
    *out = hs;
    return 0;
}

void homeserver_close(struct homeserver *hs)
{
    if (!hs)
        return;
    if (hs->authorization)
        OPENSSL_cleanse(hs->authorization, strlen(hs->authorization));
    free(hs->authorization);
    free(hs->name);
    free(hs->endpoint);
    free(hs);
    /* The last one closed: release this thread's handle too (other threads release theirs when
     * they exit), so a process that closes before exit leaves nothing behind. */
    if (atomic_fetch_sub(&open_count, 1) == 1 && !curl_key_error) {
        CURL *c = pthread_getspecific(curl_key);
        if (c) {
            pthread_setspecific(curl_key, NULL);
            curl_easy_cleanup(c);
        }
    }
}

bool homeserver_read_only(const struct homeserver *hs)
{
    return hs->read_only;
}

const char *homeserver_name(const struct homeserver *hs)
{
    return hs->name;
}

/* ---- one request ----------------------------------------------------------------------------- */

struct call {
    const char *name;   /* "provision_user" */
    const char *method; /* "POST" or "GET" */
    char url[256];      /* for messages: without userinfo, maybe truncated */
    char error[192];    /* the homeserver's "error" text */
    bool keep_body;     /* hand the response body over in resp (query_user) */
    char *resp;         /* malloc'd, resp_len bytes; NULL when none came */
    size_t resp_len;
};

struct body {
    char *data;
    size_t len, cap;
    bool too_big;
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct body *b = userdata;
    size_t n = size * nmemb;
    if (n > RESPONSE_MAX - b->len) {
        b->too_big = true;
        return 0;
    }
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n)
            cap *= 2;
        char *data = realloc(b->data, cap);
        if (!data)
            return 0;
        b->data = data, b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    return n;
}

static void free_headers(struct curl_slist *h)
{
    for (struct curl_slist *l = h; l; l = l->next)
        OPENSSL_cleanse(l->data, strlen(l->data));
    curl_slist_free_all(h);
}

static struct curl_slist *request_headers(const struct homeserver *hs, bool post)
{
    const char *lines[] = {
        "Accept: application/json",
        hs->authorization,
        post ? "Content-Type: application/json" : NULL,
        /* No "Expect: 100-continue" (and 1 s waits) on big bodies such as sync_devices'. */
        post ? "Expect:" : NULL,
    };
    struct curl_slist *h = NULL, *t;
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        if (!lines[i])
            continue;
        if (!(t = curl_slist_append(h, lines[i]))) {
            free_headers(h);
            return NULL;
        }
        h = t;
    }
    return h;
}

/* Runs the transfer; on a transport failure, the errno and a message. */
static int perform(CURL *c, struct call *call, const struct body *b, struct homeserver_result *res)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &res->status);
    curl_easy_reset(c); /* drops every pointer into this call; keeps the connections */
    if (rc == CURLE_OK)
        return 0;
    if (rc == CURLE_WRITE_ERROR && b->too_big) {
        set_message(res, "%s: %s %s: %ld: response body over %d KiB", call->name, call->method, call->url,
                    res->status, RESPONSE_MAX / 1024);
        return -EPROTO;
    }
    set_message(res, "%s: %s %s: %s", call->name, call->method, call->url,
                errbuf[0] ? errbuf : curl_easy_strerror(rc));
    switch (rc) {
    case CURLE_OUT_OF_MEMORY:
    case CURLE_WRITE_ERROR: /* our buffer could not grow */
        return -ENOMEM;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_UNSUPPORTED_PROTOCOL: /* an HTTP/0.9 answer */
    case CURLE_BAD_CONTENT_ENCODING:
        return -EPROTO;
    default:
        return -EHOSTDOWN;
    }
}

/* Sends one call: rel is the path (and query) under the endpoint; body (compact JSON) NULL for a
 * GET. Returns 0 when a whole response came (res->status, and for 4xx/5xx res->errcode and
 * call->error), else a negative errno with res->message set. */
static int request(struct homeserver *hs, struct call *call, const char *rel, const char *body,
                   struct homeserver_result *res)
{
    call->method = body ? "POST" : "GET";
    size_t size = strlen(hs->endpoint) + strlen(rel) + 2;
    char *url = malloc(size);
    if (!url) {
        set_message(res, "%s: out of memory", call->name);
        return -ENOMEM;
    }
    int r = homeserver_url_join(hs->endpoint, rel, url, size);
    if (r < 0) { /* checked at open: cannot happen */
        free(url);
        return r;
    }
    url_for_message(url, call->url, sizeof(call->url));
    CURL *c = thread_curl();
    struct curl_slist *headers = request_headers(hs, body != NULL);
    if (!c || !headers) {
        free_headers(headers);
        free(url);
        set_message(res, "%s: %s %s: out of memory", call->name, call->method, call->url);
        return -ENOMEM;
    }
    struct body b = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)HOMESERVER_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)HOMESERVER_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, USER_AGENT);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    } else {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    }
    r = perform(c, call, &b, res);
    if (r >= 0 && res->status >= 400)
        parse_error_body(b.data, b.len, res, call->error, sizeof(call->error));
    free_headers(headers);
    free(url);
    if (r >= 0 && call->keep_body) {
        call->resp = b.data, call->resp_len = b.len;
        b.data = NULL;
    }
    free(b.data);
    return r;
}

/* Fails the call with r and a message naming what the homeserver said. */
static int fail(const struct call *call, struct homeserver_result *res, int r, const char *hint)
{
    set_message(res, "%s: %s %s: %ld%s%s%s%s%s%s", call->name, call->method, call->url, res->status,
                res->errcode[0] ? " " : "", res->errcode, call->error[0] ? ": " : "", call->error,
                hint ? " " : "", hint ? hint : "");
    return r;
}

/* The mapping every call shares (homeserver.h): only 2xx succeeds. */
static int status_result(const struct call *call, struct homeserver_result *res)
{
    long s = res->status;
    if (s >= 200 && s <= 299)
        return 0;
    if (s == 404 && strcmp(res->errcode, "M_NOT_FOUND") == 0)
        return fail(call, res, -ENOENT, NULL);
    if (s == 404) /* Synapse's answer for a path it does not serve */
        return fail(call, res, -EACCES,
                    "(the MAS API is not enabled on the homeserver: matrix_authentication_service.enabled)");
    if (s == 401 || s == 403)
        return fail(call, res, -EACCES,
                    "(is matrix.secret the homeserver's matrix_authentication_service.secret?)");
    if (s >= 300 && s <= 399)
        return fail(call, res, -EPROTO, "(redirects are not followed: check matrix.endpoint)");
    return fail(call, res, -EPROTO, NULL);
}

/* ---- the calls ------------------------------------------------------------------------------- */

static bool utf8_valid(const char *s)
{
    return s && u8_check((const uint8_t *)s, strlen(s)) == NULL;
}

/* Checks before a write: the read-only kind, and that every string argument is UTF-8. */
static int write_allowed(const struct homeserver *hs, const char *name, bool args_valid,
                         struct homeserver_result *res)
{
    if (hs->read_only) {
        set_message(res, "%s is not possible: matrix.kind is synapse_read_only", name);
        return -EROFS;
    }
    if (!args_valid) {
        set_message(res, "%s: an argument is missing or not UTF-8", name);
        return -EINVAL;
    }
    return 0;
}

/* POSTs body (taken) to the call's endpoint: 0 when a response came, as request(). */
static int post(struct homeserver *hs, struct call *call, json_t *body, struct homeserver_result *res)
{
    char rel[64];
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text) {
        set_message(res, "%s: out of memory", call->name);
        return -ENOMEM;
    }
    snprintf(rel, sizeof(rel), API "%s", call->name);
    int r = request(hs, call, rel, text, res);
    free(text);
    return r;
}

/* A POST whose only success is any 2xx. */
static int post_simple(struct homeserver *hs, const char *name, json_t *body, struct homeserver_result *res)
{
    struct call call = {.name = name};
    int r = post(hs, &call, body, res);
    return r < 0 ? r : status_result(&call, res);
}

static json_t *body_new(const char *localpart)
{
    json_t *o = json_object();
    if (o && json_object_set_new(o, "localpart", json_string(localpart)) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Adds key: value to o (a NULL value fails); on failure o is released and NULL returned. */
static json_t *body_add(json_t *o, const char *key, json_t *value)
{
    if (o && value && json_object_set_new(o, key, value) == 0)
        return o;
    json_decref(o);
    if (!o)
        json_decref(value);
    return NULL;
}

static json_t *string_array(const char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_string(v[i])) < 0) {
            json_decref(a);
            a = NULL;
        }
    return a;
}

static bool strings_valid(const char *const *v, size_t n)
{
    if (n && !v)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!utf8_valid(v[i]))
            return false;
    return true;
}

/* set_X, or unset_X: true, or nothing (reference §8.1: never both keys). */
static json_t *body_field(json_t *o, enum homeserver_field f, const char *set, const char *unset,
                          json_t *value)
{
    if (f == HOMESERVER_SET)
        return body_add(o, set, value);
    json_decref(value);
    return f == HOMESERVER_UNSET ? body_add(o, unset, json_true()) : o;
}

int homeserver_provision_user(struct homeserver *hs, const struct homeserver_provision *p,
                              struct homeserver_result *res)
{
    struct homeserver_result spare;
    res = result_begin(res, &spare);
    bool valid = utf8_valid(p->localpart) && (unsigned)p->displayname <= HOMESERVER_UNSET &&
                 (unsigned)p->emails <= HOMESERVER_UNSET &&
                 (p->displayname != HOMESERVER_SET || utf8_valid(p->displayname_value)) &&
                 (p->emails != HOMESERVER_SET || strings_valid(p->emails_value, p->n_emails));
    int r = write_allowed(hs, "provision_user", valid, res);
    if (r < 0)
        return r;
    json_t *o = body_new(p->localpart);
    o = body_field(o, p->displayname, "set_displayname", "unset_displayname",
                   p->displayname == HOMESERVER_SET ? json_string(p->displayname_value) : NULL);
    o = body_field(o, p->emails, "set_emails", "unset_emails",
                   p->emails == HOMESERVER_SET ? string_array(p->emails_value, p->n_emails) : NULL);
    o = body_add(o, "locked", json_boolean(p->locked));
    struct call call = {.name = "provision_user"};
    if ((r = post(hs, &call, o, res)) < 0 || (r = status_result(&call, res)) < 0)
        return r;
    if (res->status == 201 || res->status == 200)
        return res->status == 201;
    return fail(&call, res, -EPROTO, "(expected 201 or 200)");
}

int homeserver_upsert_device(struct homeserver *hs, const char *localpart, const char *device_id,
                             const char *display_name, struct homeserver_result *res)
{
    struct homeserver_result spare;
    res = result_begin(res, &spare);
    bool valid =
        utf8_valid(localpart) && utf8_valid(device_id) && (!display_name || utf8_valid(display_name));
    int r = write_allowed(hs, "upsert_device", valid, res);
    if (r < 0)
        return r;
    json_t *o = body_add(body_new(localpart), "device_id", json_string(device_id));
    if (display_name)
        o = body_add(o, "display_name", json_string(display_name));
    return post_simple(hs, "upsert_device", o, res);
}

int homeserver_update_device_display_name(struct homeserver *hs, const char *localpart, const char *device_id,
                                          const char *display_name, struct homeserver_result *res)
{
    struct homeserver_result spare;
    res = result_begin(res, &spare);
    bool valid = utf8_valid(localpart) && utf8_valid(device_id) && utf8_valid(display_name);
    int r = write_allowed(hs, "update_device_display_name", valid, res);
    if (r < 0)
        return r;
    json_t *o = body_add(body_new(localpart), "device_id", json_string(device_id));
    o = body_add(o, "display_name", json_string(display_name));
    return post_simple(hs, "update_device_display_name", o, res);
}

int homeserver_sync_devices(struct homeserver *hs, const char *localpart, const char *const *device_ids,
                            size_t n, struct homeserver_result *res)
{
    struct homeserver_result spare;
    res = result_begin(res, &spare);
    int r = write_allowed(hs, "sync_devices", utf8_valid(localpart) && strings_valid(device_ids, n), res);
    if (r < 0)
        return r;
    return post_simple(hs, "sync_devices",
                       body_add(body_new(localpart), "devices", string_array(device_ids, n)), res);
}

int homeserver_delete_user(struct homeserver *hs, const char *localpart, bool erase,
                           struct homeserver_result *res)
{
    struct homeserver_result spare;
    res = result_begin(res, &spare);
    int r = write_allowed(hs, "delete_user", utf8_valid(localpart), res);
    if (r < 0)
        return r;
    return post_simple(hs, "delete_user", body_add(body_new(localpart), "erase", json_boolean(erase)), res);
}

int homeserver_reactivate_user(struct homeserver *hs, const char *localpart, struct homeserver_result *res)
{
    struct homeserver_result spare;
    res = result_begin(res, &spare);
    int r = write_allowed(hs, "reactivate_user", utf8_valid(localpart), res);
    if (r < 0)
        return r;
    return post_simple(hs, "reactivate_user", body_new(localpart), res);
}

/* GET <call's name>?localpart=<encoded localpart>: as request(). */
static int get_localpart(struct homeserver *hs, struct call *call, const char *localpart,
                         struct homeserver_result *res)
{
    size_t size = sizeof(API "?localpart=") + strlen(call->name) + 3 * strlen(localpart);
    char *rel = malloc(size);
    if (!rel) {
        set_message(res, "%s: out of memory", call->name);
        return -ENOMEM;
    }
    int n = snprintf(rel, size, API "%s?localpart=", call->name);
    homeserver_url_encode(localpart, rel + n, size - (size_t)n);
    int r = request(hs, call, rel, NULL, res);
    free(rel);
    return r;
}

int homeserver_is_localpart_available(struct homeserver *hs, const char *localpart,
                                      struct homeserver_result *res)
{
    struct homeserver_result spare;
    res = result_begin(res, &spare);
    if (!utf8_valid(localpart)) {
        set_message(res, "is_localpart_available: the localpart is missing or not UTF-8");
        return -EINVAL;
    }
    for (const char *p = localpart; *p; p++)
        if ((unsigned char)*p >= 0x80)
            return 0; /* Synapse decodes query strings as ASCII: it could only answer 400 */
    struct call call = {.name = "is_localpart_available"};
    int r = get_localpart(hs, &call, localpart, res);
    if (r < 0)
        return r;
    if (res->status >= 400 &&
        (strcmp(res->errcode, "M_INVALID_USERNAME") == 0 || strcmp(res->errcode, "M_USER_IN_USE") == 0 ||
         strcmp(res->errcode, "M_EXCLUSIVE") == 0))
        return 0;
    r = status_result(&call, res);
    return r < 0 ? r : 1;
}

int homeserver_allow_cross_signing_reset(struct homeserver *hs, const char *localpart,
                                         struct homeserver_result *res)
{
    struct homeserver_result spare;
    res = result_begin(res, &spare);
    int r = write_allowed(hs, "allow_cross_signing_reset", utf8_valid(localpart), res);
    if (r < 0)
        return r;
    return post_simple(hs, "allow_cross_signing_reset", body_new(localpart), res);
}

int homeserver_set_displayname(struct homeserver *hs, const char *localpart, const char *displayname,
                               struct homeserver_result *res)
{
    struct homeserver_result spare;
    res = result_begin(res, &spare);
    int r = write_allowed(hs, "set_displayname", utf8_valid(localpart) && utf8_valid(displayname), res);
    if (r < 0)
        return r;
    /* "displayname", without the underscore of the other calls' display_name */
    return post_simple(hs, "set_displayname",
                       body_add(body_new(localpart), "displayname", json_string(displayname)), res);
}

int homeserver_unset_displayname(struct homeserver *hs, const char *localpart, struct homeserver_result *res)
{
    struct homeserver_result spare;
    res = result_begin(res, &spare);
    int r = write_allowed(hs, "unset_displayname", utf8_valid(localpart), res);
    if (r < 0)
        return r;
    return post_simple(hs, "unset_displayname", body_new(localpart), res);
}

/* An optional string member: absent or null leaves *has false; a string of at most max_chars
 * characters (and no NUL) is copied. false when the member is anything else. */
static bool opt_string(json_t *doc, const char *key, size_t max_chars, char *out, size_t size, bool *has)
{
    json_t *v = json_object_get(doc, key);
    out[0] = '\0';
    *has = false;
    if (!v || json_is_null(v))
        return true;
    if (!json_is_string(v))
        return false;
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (strlen(s) != len || len >= size || u8_mbsnlen((const uint8_t *)s, len) > max_chars)
        return false;
    memcpy(out, s, len + 1);
    *has = true;
    return true;
}

int homeserver_parse_user(const char *body, size_t len, struct homeserver_user *out)
{
    memset(out, 0, sizeof(*out));
    if (!body || len == 0)
        return -EPROTO;
    json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *id = json_object_get(doc, "user_id");
    json_t *suspended = json_object_get(doc, "is_suspended"),
           *deactivated = json_object_get(doc, "is_deactivated");
    bool ok = json_is_object(doc) && json_is_string(id) && json_is_boolean(suspended) &&
              json_is_boolean(deactivated) && json_string_length(id) < sizeof(out->user_id) &&
              strlen(json_string_value(id)) == json_string_length(id) &&
              opt_string(doc, "display_name", HOMESERVER_DISPLAYNAME_MAX, out->displayname,
                         sizeof(out->displayname), &out->has_displayname) &&
              opt_string(doc, "avatar_url", HOMESERVER_AVATAR_URL_MAX, out->avatar_url,
                         sizeof(out->avatar_url), &out->has_avatar_url);
    if (ok) {
        memcpy(out->user_id, json_string_value(id), json_string_length(id) + 1);
        out->suspended = json_is_true(suspended);
        out->deactivated = json_is_true(deactivated);
    }
    json_decref(doc);
    if (!ok)
        memset(out, 0, sizeof(*out));
    return ok ? 0 : -EPROTO;
}

int homeserver_query_user(struct homeserver *hs, const char *localpart, struct homeserver_user *out,
                          struct homeserver_result *res)
{
    struct homeserver_result spare;
    res = result_begin(res, &spare);
    memset(out, 0, sizeof(*out));
    if (!utf8_valid(localpart)) {
        set_message(res, "query_user: the localpart is missing or not UTF-8");
        return -EINVAL;
    }
    struct call call = {.name = "query_user", .keep_body = true};
    int r = get_localpart(hs, &call, localpart, res);
    if (r >= 0)
        r = status_result(&call, res);
    if (r >= 0 && homeserver_parse_user(call.resp, call.resp_len, out) < 0)
        r = fail(&call, res, -EPROTO, "(the answer is not a user)");
    free(call.resp);
    return r;
}
