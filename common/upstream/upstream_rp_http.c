/* Outbound HTTP of the relying party (upstream_rp_http.h), over libcurl as the homeserver client
 * does: a handle per thread kept with its connections, no redirects, http and https only. */
#include "upstream_rp_http.h"
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define USER_AGENT "masd-upstream"

static pthread_key_t curl_key;
static pthread_once_t curl_key_once = PTHREAD_ONCE_INIT;
static int curl_key_error;

static void curl_thread_exit(void *c)
{
    curl_easy_cleanup(c);
}

static void curl_key_init(void)
{
    curl_key_error = pthread_key_create(&curl_key, curl_thread_exit);
}

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

void rp_response_clear(struct rp_response *res)
{
    free(res->body);
    memset(res, 0, sizeof(*res));
}

struct body {
    char *data;
    size_t len, cap;
    bool too_big;
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct body *b = userdata;
    size_t n = size * nmemb;
    if (n > UPSTREAM_RP_RESPONSE_MAX - b->len) {
        b->too_big = true;
        return 0;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *data = realloc(b->data, cap);
        if (!data)
            return 0;
        b->data = data, b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

static void essence(const char *ct, char *out, size_t size)
{
    size_t n = 0;
    while (ct && (*ct == ' ' || *ct == '\t'))
        ct++;
    for (; ct && *ct && *ct != ';' && *ct != ' ' && n + 1 < size; ct++)
        out[n++] = (char)tolower((unsigned char)*ct);
    out[n] = '\0';
}

static void free_headers(struct curl_slist *h)
{
    for (struct curl_slist *l = h; l; l = l->next)
        OPENSSL_cleanse(l->data, strlen(l->data));
    curl_slist_free_all(h);
}

int rp_http(long timeout_ms, long connect_timeout_ms, const struct rp_request *req, struct rp_response *res,
            struct upstream_rp_error *err)
{
    char accept[96], url[96], *auth = NULL;
    memset(res, 0, sizeof(*res));
    rp_printable(req->url, url, sizeof(url));
    snprintf(accept, sizeof(accept), "Accept: %s", req->accept);
    CURL *c = thread_curl();
    struct curl_slist *h = NULL, *t;
    bool ok = c && (h = curl_slist_append(NULL, accept));
    if (ok && req->form &&
        (!(t = curl_slist_append(h, "Expect:")) || !(h = t) ||
         !(t = curl_slist_append(h, "Content-Type: application/x-www-form-urlencoded")) || !(h = t)))
        ok = false;
    if (ok && req->authorization &&
        (asprintf(&auth, "Authorization: %s", req->authorization) < 0 || !(t = curl_slist_append(h, auth)) ||
         !(h = t)))
        ok = false;
    if (auth) {
        OPENSSL_cleanse(auth, strlen(auth));
        free(auth);
    }
    if (!ok) {
        free_headers(h);
        return rp_fail(err, UPSTREAM_RP_NOMEM, "%s: out of memory", req->what);
    }
    struct body b = {0};
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, req->url);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, USER_AGENT);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    if (req->form) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(req->form));
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->form);
    } else {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    }
    CURLcode rc = curl_easy_perform(c);
    const char *ct = NULL;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &res->status);
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    essence(ct, res->content_type, sizeof(res->content_type));
    curl_easy_reset(c); /* drops every pointer into this call; keeps the connections */
    free_headers(h);
    int r = 0;
    if (rc == CURLE_WRITE_ERROR && b.too_big)
        r = rp_fail(err, UPSTREAM_RP_BAD_ANSWER, "%s (%s) answered with more than %d KiB", req->what, url,
                    UPSTREAM_RP_RESPONSE_MAX / 1024);
    else if (rc == CURLE_OUT_OF_MEMORY || rc == CURLE_WRITE_ERROR)
        r = rp_fail(err, UPSTREAM_RP_NOMEM, "%s: out of memory", req->what);
    else if (rc != CURLE_OK)
        r = rp_fail(err, UPSTREAM_RP_UNREACHABLE, "could not reach %s (%s): %s", req->what, url,
                    errbuf[0] ? errbuf : curl_easy_strerror(rc));
    if (r < 0) {
        free(b.data);
        res->status = 0;
        return r;
    }
    if (!b.data && !(b.data = calloc(1, 1)))
        return rp_fail(err, UPSTREAM_RP_NOMEM, "%s: out of memory", req->what);
    res->body = b.data, res->len = b.len;
    return 0;
}

char *rp_form_encode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = malloc(strlen(s) * 3 + 1), *o = out;
    if (!out)
        return NULL;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '*')
            *o++ = (char)ch;
        else if (ch == ' ')
            *o++ = '+';
        else
            *o++ = '%', *o++ = hex[ch >> 4], *o++ = hex[ch & 15];
    }
    *o = '\0';
    return out;
}

int rp_form_add(char **buf, const char *name, const char *value)
{
    char *v = rp_form_encode(value), *n = NULL;
    int r = v && asprintf(&n, "%s%s%s=%s", *buf ? *buf : "", *buf ? "&" : "", name, v) >= 0 ? 0 : -ENOMEM;
    if (v) {
        OPENSSL_cleanse(v, strlen(v));
        free(v);
    }
    if (r < 0)
        return r;
    if (*buf) {
        OPENSSL_cleanse(*buf, strlen(*buf));
        free(*buf);
    }
    *buf = n;
    return 0;
}
