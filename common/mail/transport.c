/* The transports (transport.h): blackhole here, SMTP through libcurl here, sendmail in
 * sendmail.c. */
#include "transport.h"
#include "log.h"
#include "mail_internal.h"
#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mail_transport {
    const struct config_email *cfg;
    char *ca_file; /* SSL_CERT_FILE, or NULL: libcurl's default (the system's CAs) */
    long timeout_ms;
};

int mail_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -ENOMEM;
}

int mail_transport_open(const struct config_email *cfg, struct mail_transport **out)
{
    struct mail_transport *t = calloc(1, sizeof(*t));
    const char *ca = getenv("SSL_CERT_FILE");
    if (!t || (ca && *ca && !(t->ca_file = strdup(ca)))) {
        free(t);
        return -ENOMEM;
    }
    t->cfg = cfg;
    t->timeout_ms = MAIL_TIMEOUT_MS;
    *out = t;
    return 0;
}

void mail_transport_close(struct mail_transport *t)
{
    if (!t)
        return;
    free(t->ca_file);
    free(t);
}

void mail_transport_set_timeout(struct mail_transport *t, long timeout_ms)
{
    t->timeout_ms = timeout_ms;
}

/* ---- SMTP ---------------------------------------------------------------------------------- */

struct upload {
    const char *p;
    size_t left;
};

static size_t read_cb(char *buf, size_t size, size_t n, void *arg)
{
    struct upload *u = arg;
    size_t k = size * n < u->left ? size * n : u->left;
    memcpy(buf, u->p, k);
    u->p += k, u->left -= k;
    return k;
}

/* The server's last answer line, for the message an operator reads: the last refusal (4xx,
 * 5xx) when there was one, not the "221 bye" to libcurl's QUIT after it. */
struct answer {
    char line[160];
    bool refusal;
};

static int debug_cb(CURL *c, curl_infotype type, char *data, size_t size, void *arg)
{
    struct answer *a = arg;
    if (type != CURLINFO_HEADER_IN)
        return 0;
    while (size > 0 && (data[size - 1] == '\n' || data[size - 1] == '\r'))
        size--;
    bool refusal = size > 0 && (data[0] == '4' || data[0] == '5');
    if (refusal || !a->refusal) {
        snprintf(a->line, sizeof(a->line), "%.*s", (int)size, data);
        a->refusal = refusal;
    }
    return 0;
}

/* smtp://host:port or smtps://host:port, an IPv6 address in brackets. */
static int smtp_url(const struct config_email *e, char *url, size_t size)
{
    bool v6 = strchr(e->hostname, ':') != NULL;
    int n = snprintf(url, size, "%s://%s%s%s:%u", e->mode == CONFIG_EMAIL_TLS ? "smtps" : "smtp",
                     v6 ? "[" : "", e->hostname, v6 ? "]" : "", e->port);
    return n > 0 && (size_t)n < size ? 0 : -EINVAL;
}

/* A 5xx answer to MAIL FROM, RCPT TO or the data is the server's final word on this message
 * (RFC 5321 §4.2.1); everything else (no connection, TLS, AUTH, 4xx, a timeout) may pass. */
static int smtp_outcome(CURLcode rc, long code)
{
    if (rc == CURLE_OK)
        return 0;
    if ((rc == CURLE_SEND_ERROR || rc == CURLE_WEIRD_SERVER_REPLY || rc == CURLE_RECV_ERROR) && code >= 500 &&
        code < 600)
        return -EBADMSG;
    return rc == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EAGAIN;
}

static int send_smtp(struct mail_transport *t, const struct mail_address *from, const struct mail_address *to,
                     const char *msg, size_t len, char *why, size_t size)
{
    const struct config_email *e = t->cfg;
    char url[MAIL_DOMAIN_MAX + 32], mail_from[MAIL_ASCII_MAX + 3], rcpt_to[MAIL_ASCII_MAX + 3];
    char errbuf[CURL_ERROR_SIZE] = "";
    if (smtp_url(e, url, sizeof(url)) < 0)
        return snprintf(why, size, "email.hostname is too long"), -EBADMSG;
    snprintf(mail_from, sizeof(mail_from), "<%s>", from->ascii);
    snprintf(rcpt_to, sizeof(rcpt_to), "<%s>", to->ascii);
    CURL *c = curl_easy_init();
    struct curl_slist *rcpt = curl_slist_append(NULL, rcpt_to);
    if (!c || !rcpt) {
        curl_slist_free_all(rcpt);
        curl_easy_cleanup(c);
        return snprintf(why, size, "out of memory"), -ENOMEM;
    }
    struct upload up = {msg, len};
    struct answer ans = {"", false};
    curl_easy_setopt(c, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
#else
    curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_SMTP | CURLPROTO_SMTPS));
#endif
    curl_easy_setopt(c, CURLOPT_USE_SSL,
                     (long)(e->mode == CONFIG_EMAIL_PLAIN ? CURLUSESSL_NONE : CURLUSESSL_ALL));
    if (t->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, t->ca_file);
    if (e->username) {
        curl_easy_setopt(c, CURLOPT_USERNAME, e->username);
        curl_easy_setopt(c, CURLOPT_PASSWORD, e->password ? e->password : "");
    }
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, mail_from);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(c, CURLOPT_READDATA, &up);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(
        c, CURLOPT_CONNECTTIMEOUT_MS,
        (long)(t->timeout_ms < MAIL_CONNECT_TIMEOUT_MS ? t->timeout_ms : MAIL_CONNECT_TIMEOUT_MS));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, t->timeout_ms);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, debug_cb);
    curl_easy_setopt(c, CURLOPT_DEBUGDATA, &ans);
    curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
    CURLcode rc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    int r = smtp_outcome(rc, code);
    if (r < 0)
        snprintf(why, size, "%s: %s%s%s%s", url, errbuf[0] ? errbuf : curl_easy_strerror(rc),
                 ans.line[0] ? " (the server's last answer: " : "", ans.line, ans.line[0] ? ")" : "");
    else
        snprintf(why, size, "%s: %s", url, ans.line);
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(c);
    return r;
}

int mail_send(struct mail_transport *t, const struct mail_address *from, const struct mail_address *to,
              const char *msg, size_t len, char *why, size_t size)
{
    why[0] = '\0';
    switch (t->cfg->transport) {
    case CONFIG_EMAIL_SMTP:
        return send_smtp(t, from, to, msg, len, why, size);
    case CONFIG_EMAIL_SENDMAIL:
        return mail_sendmail(t->cfg->command, from, to, msg, len, t->timeout_ms, why, size);
    case CONFIG_EMAIL_BLACKHOLE:
        break;
    }
    log_warn("an e-mail to %s was not sent: email.transport is blackhole", to->text);
    snprintf(why, size, "not sent: email.transport is blackhole");
    return 0;
}
