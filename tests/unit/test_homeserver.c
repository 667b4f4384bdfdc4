/* The homeserver client: URL joining and encoding, Matrix error bodies, and every call made for
 * real against a small HTTP/1.1 server on 127.0.0.1 that records each raw request and answers
 * what the test told it to. */
#include "check.h"
#include "config.h"
#include "homeserver.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- pure helpers ------------------------------------------------------------------------------ */

static const char *join(const char *base, const char *rel)
{
    static char out[256];
    int r = homeserver_url_join(base, rel, out, sizeof(out));
    if (r == -EINVAL)
        return "(EINVAL)";
    if (r == -ENOSPC)
        return "(ENOSPC)";
    return r == (int)strlen(out) ? out : "(bad length)";
}

static void test_url_join(void)
{
    const char *rel = "_synapse/mas/provision_user";
    CHECK_STR(join("http://hs/", rel), "http://hs/_synapse/mas/provision_user");
    CHECK_STR(join("http://hs", rel), "http://hs/_synapse/mas/provision_user");
    CHECK_STR(join("http://hs/prefix", rel), "http://hs/_synapse/mas/provision_user");
    CHECK_STR(join("http://hs/prefix/", rel), "http://hs/prefix/_synapse/mas/provision_user");
    CHECK_STR(join("http://hs/a/b", rel), "http://hs/a/_synapse/mas/provision_user");
    CHECK_STR(join("https://hs:8448/matrix/", rel), "https://hs:8448/matrix/_synapse/mas/provision_user");
    CHECK_STR(join("http://hs/p/?q=1#frag", rel), "http://hs/p/_synapse/mas/provision_user");
    CHECK_STR(join("http://hs/p?q=/x/", rel), "http://hs/_synapse/mas/provision_user");
    CHECK_STR(join("http://hs?q=1", rel), "http://hs/_synapse/mas/provision_user");
    CHECK_STR(join("http://hs#f", rel), "http://hs/_synapse/mas/provision_user");
    CHECK_STR(join("HTTP://HS/", "x?localpart=a%2B"), "http://HS/x?localpart=a%2B");
    CHECK_STR(join("http://[::1]:8008/", "x"), "http://[::1]:8008/x");
    CHECK_STR(join("http://u:p@hs:1/", "x"), "http://u:p@hs:1/x");
    CHECK_STR(join("http://hs:/", "x"), "http://hs:/x");
    CHECK_STR(join("http://hs/a/../b/./", "x"), "http://hs/b/x");
    CHECK_STR(join("http://hs/../", "x"), "http://hs/x");
    CHECK_STR(join("http://hs/a/..", "x"), "http://hs/a/x"); /* last segment ".." is replaced */
    /* not absolute http(s) URLs */
    CHECK_STR(join("", rel), "(EINVAL)");
    CHECK_STR(join("hs/", rel), "(EINVAL)");
    CHECK_STR(join("/_synapse/", rel), "(EINVAL)");
    CHECK_STR(join("ftp://hs/", rel), "(EINVAL)");
    CHECK_STR(join("file:///etc/", rel), "(EINVAL)");
    CHECK_STR(join("http:/hs/", rel), "(EINVAL)");
    CHECK_STR(join("http://", rel), "(EINVAL)");
    CHECK_STR(join("http:///path/", rel), "(EINVAL)");
    CHECK_STR(join("http://u@/", rel), "(EINVAL)");
    CHECK_STR(join("http://:80/", rel), "(EINVAL)");
    CHECK_STR(join("http://hs:80x/", rel), "(EINVAL)");
    CHECK_STR(join("http://hs:65536/", rel), "(EINVAL)");
    CHECK_STR(join("http://[]/", rel), "(EINVAL)");
    CHECK_STR(join("http://[::1/", rel), "(EINVAL)");
    CHECK_STR(join("http://h s/", rel), "(EINVAL)");
    CHECK_STR(join("http://hs/a b/", rel), "(EINVAL)");
    CHECK_STR(join("http://hs/\r\n", rel), "(EINVAL)");
    CHECK_STR(join("http://hs\\evil/", rel), "(EINVAL)");
    CHECK_STR(join("http://hé/", rel), "(EINVAL)");
    CHECK_STR(join("http://hs/", "/absolute"), "(EINVAL)");
    /* sizes: exactly enough, one byte short */
    char out[32];
    CHECK_INT(homeserver_url_join("http://hs", "abc", out, sizeof("http://hs/abc")), 13);
    CHECK_STR(out, "http://hs/abc");
    CHECK_INT(homeserver_url_join("http://hs", "abc", out, sizeof("http://hs/abc") - 1), -ENOSPC);
    CHECK_INT(homeserver_url_join("http://hs/", "abc", out, 0), -ENOSPC);
}

static const char *encode(const char *in)
{
    static char out[128];
    int r = homeserver_url_encode(in, out, sizeof(out));
    if (r < 0)
        return "(error)";
    return r == (int)strlen(out) ? out : "(bad length)";
}

static void test_url_encode(void)
{
    CHECK_STR(encode("alice"), "alice");
    CHECK_STR(encode(""), "");
    CHECK_STR(encode("AZaz09-_.~"), "AZaz09-_.~");
    CHECK_STR(encode("a+b/c d"), "a%2Bb%2Fc%20d");
    CHECK_STR(encode("@lp:server"), "%40lp%3Aserver");
    CHECK_STR(encode("=?&#%"), "%3D%3F%26%23%25");
    CHECK_STR(encode("b\xc3\xb6"
                     "b"),
              "b%C3%B6b");
    CHECK_STR(encode("\x01\x7f\xff"), "%01%7F%FF");
    char out[8];
    CHECK_INT(homeserver_url_encode("abcdefg", out, 8), 7);
    CHECK_INT(homeserver_url_encode("abcdefgh", out, 8), -ENOSPC);
    CHECK_INT(homeserver_url_encode("abcd/", out, 8), 7); /* "abcd%2F" and its NUL: 8 bytes */
    CHECK_INT(homeserver_url_encode("abcde/", out, 8), -ENOSPC);
    CHECK_INT(homeserver_url_encode("abc/", out, 8), 6);
    CHECK_INT(homeserver_url_encode("", out, 0), -ENOSPC);
}

static const char *errcode_of(const char *body, size_t len)
{
    static struct homeserver_result res;
    memset(&res, 'x', sizeof(res)); /* must be overwritten */
    homeserver_parse_error(body, len, &res);
    return res.errcode;
}
#define ERRCODE(lit) errcode_of(lit, sizeof(lit) - 1)

static void test_parse_error(void)
{
    CHECK_STR(ERRCODE("{\"errcode\":\"M_NOT_FOUND\",\"error\":\"User not found\"}"), "M_NOT_FOUND");
    CHECK_STR(ERRCODE(" {\"error\":\"\",\"errcode\":\"M_USER_IN_USE\",\"extra\":[1]} "), "M_USER_IN_USE");
    CHECK_STR(ERRCODE("{\"errcode\":\"M_NOT_FOUND\"}"), "");   /* error is required */
    CHECK_STR(ERRCODE("{\"error\":\"x\"}"), "");               /* errcode is required */
    CHECK_STR(ERRCODE("{\"errcode\":1,\"error\":\"x\"}"), ""); /* strings only */
    CHECK_STR(ERRCODE("{\"errcode\":\"M_X\",\"error\":null}"), "");
    CHECK_STR(ERRCODE("[\"M_NOT_FOUND\"]"), "");
    CHECK_STR(ERRCODE("\"M_NOT_FOUND\""), "");
    CHECK_STR(ERRCODE("<html>404 Not Found</html>"), "");
    CHECK_STR(ERRCODE("{\"errcode\":\"M_X\",\"error\":\"x\""), ""); /* truncated */
    CHECK_STR(ERRCODE("{\"errcode\":\"M_X\",\"error\":\"x\"} junk"), "");
    CHECK_STR(ERRCODE("{\"errcode\":\"M_X\",\"errcode\":\"M_Y\",\"error\":\"x\"}"), ""); /* duplicate */
    CHECK_STR(ERRCODE(""), "");
    CHECK_STR(errcode_of(NULL, 0), "");
    /* NUL bytes: inside the document, or escaped into the errcode */
    CHECK_STR(ERRCODE("{\"errcode\":\"M_X\",\0\"error\":\"x\"}"), "");
    CHECK_STR(ERRCODE("{\"errcode\":\"M_X\\u0000Y\",\"error\":\"x\"}"), "");
    CHECK_STR(ERRCODE("{\"errcode\":\"M_X\",\"error\":\"a\\u0000b\"}"), "");
    /* the length bounds the parse: the body need not be NUL-terminated */
    const char *two = "{\"errcode\":\"M_A\",\"error\":\"x\"}{\"more\":1}";
    CHECK_STR(errcode_of(two, 29), "M_A");
    /* an errcode we would not keep: empty, too long, spaces or control characters */
    CHECK_STR(ERRCODE("{\"errcode\":\"\",\"error\":\"x\"}"), "");
    CHECK_STR(ERRCODE("{\"errcode\":\"M_ A\",\"error\":\"x\"}"), "");
    CHECK_STR(ERRCODE("{\"errcode\":\"M_\\nA\",\"error\":\"x\"}"), "");
    char body[256];
    snprintf(body, sizeof(body), "{\"errcode\":\"%063d\",\"error\":\"x\"}", 0);
    CHECK_INT(strlen(errcode_of(body, strlen(body))), 63);
    snprintf(body, sizeof(body), "{\"errcode\":\"%064d\",\"error\":\"x\"}", 0);
    CHECK_STR(errcode_of(body, strlen(body)), "");
    CHECK_STR(ERRCODE("{\"errcode\":\"M_\xc3\xa9\",\"error\":\"x\"}"), "");
    CHECK_STR(ERRCODE("{\"errcode\":\"M_X\",\"error\":\"\xff\"}"), ""); /* not UTF-8: not JSON */
}

/* ---- the test server ----------------------------------------------------------------------------- */

enum mode { ANSWER, ANSWER_BIG, CLOSE };

static struct {
    pthread_mutex_t lock;
    int fd, port;
    /* the answer to the next requests */
    enum mode mode;
    int status;
    const char *headers; /* extra header lines, each ending in \r\n */
    const char *body;
    /* what came */
    char request[65536];
    int requests, connections;
} srv = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void send_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n <= 0)
            return;
        p += n, len -= (size_t)n;
    }
}

/* Reads one request into buf (headers, then Content-Length bytes of body); 0 at EOF. */
static size_t read_request(int fd, char *buf, size_t size)
{
    size_t len = 0, need = 0;
    for (;;) {
        char *end = need ? NULL : memmem(buf, len, "\r\n\r\n", 4);
        if (end) {
            const char *cl = strcasestr(buf, "\r\nContent-Length:");
            need = (size_t)(end + 4 - buf) + (cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
        }
        if (need && len >= need)
            return need;
        if (len + 1 >= size)
            return 0;
        ssize_t n = recv(fd, buf + len, size - 1 - len, 0);
        if (n <= 0)
            return 0;
        len += (size_t)n;
        buf[len] = '\0';
    }
}

static void *serve_connection(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[sizeof(srv.request)];
    size_t len;
    while ((len = read_request(fd, buf, sizeof(buf))) > 0) {
        pthread_mutex_lock(&srv.lock);
        memcpy(srv.request, buf, len);
        srv.request[len] = '\0';
        srv.requests++;
        enum mode mode = srv.mode;
        char head[512];
        const char *body = srv.body ? srv.body : "";
        size_t blen = mode == ANSWER_BIG ? 100 * 1024 : strlen(body);
        snprintf(head, sizeof(head),
                 "HTTP/1.1 %d Something\r\n%sContent-Type: application/json\r\n"
                 "Content-Length: %zu\r\n\r\n",
                 srv.status, srv.headers ? srv.headers : "", blen);
        pthread_mutex_unlock(&srv.lock);
        if (mode == CLOSE)
            break;
        send_all(fd, head, strlen(head));
        if (mode == ANSWER_BIG) {
            char *big = malloc(blen);
            memset(big, 'x', blen);
            send_all(fd, big, blen);
            free(big);
        } else {
            send_all(fd, body, blen);
        }
    }
    close(fd);
    return NULL;
}

static void *serve(void *arg)
{
    for (;;) {
        int fd = accept(srv.fd, NULL, NULL);
        if (fd < 0)
            return NULL;
        int one = 1; /* head and body go in two writes: no Nagle wait for the client's ACK */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        pthread_mutex_lock(&srv.lock);
        srv.connections++;
        pthread_mutex_unlock(&srv.lock);
        pthread_t t;
        if (pthread_create(&t, NULL, serve_connection, (void *)(intptr_t)fd) == 0)
            pthread_detach(t);
        else
            close(fd);
    }
}

/* A loopback socket on an ephemeral port; listening or just bound (nothing accepts there). */
static int loopback_socket(bool listening, int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || (listening && listen(fd, 16) < 0) ||
        getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
        perror("loopback socket");
        exit(1);
    }
    *port = ntohs(a.sin_port);
    return fd;
}

static void server_start(void)
{
    srv.fd = loopback_socket(true, &srv.port);
    pthread_t t;
    if (pthread_create(&t, NULL, serve, NULL) != 0)
        exit(1);
    pthread_detach(t);
}

static void answer_full(enum mode mode, int status, const char *headers, const char *body)
{
    pthread_mutex_lock(&srv.lock);
    srv.mode = mode, srv.status = status, srv.headers = headers, srv.body = body;
    srv.request[0] = '\0';
    pthread_mutex_unlock(&srv.lock);
}

static void answer(int status, const char *body)
{
    answer_full(ANSWER, status, NULL, body);
}

static int requests(void)
{
    pthread_mutex_lock(&srv.lock);
    int n = srv.requests;
    pthread_mutex_unlock(&srv.lock);
    return n;
}

static int connections(void)
{
    pthread_mutex_lock(&srv.lock);
    int n = srv.connections;
    pthread_mutex_unlock(&srv.lock);
    return n;
}

/* The last request as received. */
static const char *req(void)
{
    static char copy[sizeof(srv.request)];
    pthread_mutex_lock(&srv.lock);
    memcpy(copy, srv.request, sizeof(copy));
    pthread_mutex_unlock(&srv.lock);
    return copy;
}

static const char *req_line(void)
{
    static char line[1024];
    const char *r = req();
    size_t n = strcspn(r, "\r");
    snprintf(line, sizeof(line), "%.*s", (int)n, r);
    return line;
}

static const char *req_body(void)
{
    static char body[sizeof(srv.request)];
    const char *r = req(), *end = strstr(r, "\r\n\r\n");
    snprintf(body, sizeof(body), "%s", end ? end + 4 : "(no end of headers)");
    return body;
}

/* The value of header `name` in the last request, or "(none)"; "(twice)" if repeated. */
static const char *req_header(const char *name)
{
    static char value[1024];
    char key[128];
    snprintf(key, sizeof(key), "\r\n%s:", name);
    const char *r = req(), *end = strstr(r, "\r\n\r\n"), *h = strcasestr(r, key);
    if (!h || !end || h > end)
        return "(none)";
    const char *again = strcasestr(h + 1, key);
    if (again && again < end)
        return "(twice)";
    h += strlen(key);
    while (*h == ' ')
        h++;
    snprintf(value, sizeof(value), "%.*s", (int)strcspn(h, "\r"), h);
    return value;
}

static struct homeserver *open_hs(const char *endpoint, const char *kind, const char *secret)
{
    struct config_matrix cfg = {.homeserver = "example.com",
                                .endpoint = (char *)endpoint,
                                .kind = (char *)kind,
                                .secret = (unsigned char *)secret,
                                .secret_len = secret ? strlen(secret) : 0};
    struct homeserver *hs = NULL;
    int r = homeserver_open(&cfg, &hs);
    CHECK_INT(r, 0);
    if (r < 0)
        exit(check_report(__FILE__));
    return hs;
}

static char base[128];

/* "call: METHOD http://127.0.0.1:port/_synapse/mas/<path>: <rest>" */
static const char *msg(const char *call, const char *method, const char *path, const char *rest)
{
    static char out[HOMESERVER_MESSAGE_MAX + 1];
    snprintf(out, sizeof(out), "%s: %s %s%s: %s", call, method, base, path, rest);
    return out;
}

/* ---- the calls ----------------------------------------------------------------------------------- */

static void test_provision_user(struct homeserver *hs)
{
    struct homeserver_result res;
    const char *emails[] = {"alice@example.com", "a@b.c"};
    struct homeserver_provision p = {.localpart = "alice",
                                     .displayname = HOMESERVER_SET,
                                     .displayname_value = "Alice \xc3\xa9\"\n",
                                     .emails = HOMESERVER_SET,
                                     .emails_value = emails,
                                     .n_emails = 2};
    answer(201, "{}");
    CHECK_INT(homeserver_provision_user(hs, &p, &res), 1);
    CHECK_STR(req_line(), "POST /_synapse/mas/provision_user HTTP/1.1");
    CHECK_STR(req_header("Authorization"), "Bearer s3cret");
    CHECK_STR(req_header("Content-Type"), "application/json");
    CHECK(strncmp(req_header("User-Agent"), "masd", 4) == 0);
    CHECK_STR(req_header("Expect"), "(none)");
    CHECK_STR(req_body(), "{\"localpart\":\"alice\",\"set_displayname\":\"Alice \xc3\xa9\\\"\\n\","
                          "\"set_emails\":[\"alice@example.com\",\"a@b.c\"],\"locked\":false}");
    CHECK_INT(res.status, 201);
    CHECK_STR(res.errcode, "");
    CHECK_STR(res.message, "");

    /* nothing to change: only localpart and locked (always sent) */
    p = (struct homeserver_provision){.localpart = "alice", .locked = true};
    answer(200, "{}");
    CHECK_INT(homeserver_provision_user(hs, &p, &res), 0);
    CHECK_STR(req_body(), "{\"localpart\":\"alice\",\"locked\":true}");
    CHECK_INT(res.status, 200);

    /* unset: the unset_ key only, never set_ with it */
    p = (struct homeserver_provision){.localpart = "alice",
                                      .displayname = HOMESERVER_UNSET,
                                      .displayname_value = "ignored",
                                      .emails = HOMESERVER_UNSET,
                                      .emails_value = emails,
                                      .n_emails = 2};
    answer(200, "{}");
    CHECK_INT(homeserver_provision_user(hs, &p, NULL), 0);
    CHECK_STR(req_body(),
              "{\"localpart\":\"alice\",\"unset_displayname\":true,\"unset_emails\":true,\"locked\":false}");

    /* an empty e-mail set is sent as such; another 2xx is not a provision answer */
    p = (struct homeserver_provision){.localpart = "alice", .emails = HOMESERVER_SET};
    answer(204, "");
    CHECK_INT(homeserver_provision_user(hs, &p, &res), -EPROTO);
    CHECK_STR(req_body(), "{\"localpart\":\"alice\",\"set_emails\":[],\"locked\":false}");
    CHECK_INT(res.status, 204);
    CHECK_STR(res.message,
              msg("provision_user", "POST", "_synapse/mas/provision_user", "204 (expected 201 or 200)"));

    /* arguments that are not UTF-8, or missing: nothing is sent */
    int before = requests();
    const char *bad_emails[] = {"ok@example.com", "\xc0\xaf@example.com"};
    p = (struct homeserver_provision){
        .localpart = "alice", .emails = HOMESERVER_SET, .emails_value = bad_emails, .n_emails = 2};
    CHECK_INT(homeserver_provision_user(hs, &p, &res), -EINVAL);
    p = (struct homeserver_provision){
        .localpart = "alice", .displayname = HOMESERVER_SET, .displayname_value = "\xed\xa0\x80"};
    CHECK_INT(homeserver_provision_user(hs, &p, &res), -EINVAL);
    p = (struct homeserver_provision){.localpart = "alice", .displayname = HOMESERVER_SET};
    CHECK_INT(homeserver_provision_user(hs, &p, &res), -EINVAL);
    p = (struct homeserver_provision){.localpart = "al\xff"};
    CHECK_INT(homeserver_provision_user(hs, &p, &res), -EINVAL);
    CHECK(strstr(res.message, "provision_user") != NULL);
    CHECK_INT(requests(), before);
}

static void test_device_calls(struct homeserver *hs)
{
    struct homeserver_result res;
    answer(201, "{}");
    CHECK_INT(homeserver_upsert_device(hs, "alice", "ABCDEFGHIJ", "Element on Firefox", &res), 0);
    CHECK_STR(req_line(), "POST /_synapse/mas/upsert_device HTTP/1.1");
    CHECK_STR(
        req_body(),
        "{\"localpart\":\"alice\",\"device_id\":\"ABCDEFGHIJ\",\"display_name\":\"Element on Firefox\"}");
    CHECK_INT(res.status, 201);
    answer(200, "{}");
    CHECK_INT(homeserver_upsert_device(hs, "alice", "ABCDEFGHIJ", NULL, &res), 0);
    CHECK_STR(req_body(), "{\"localpart\":\"alice\",\"device_id\":\"ABCDEFGHIJ\"}");
    CHECK_INT(homeserver_upsert_device(hs, "alice", "\x80", NULL, &res), -EINVAL);
    CHECK_INT(homeserver_upsert_device(hs, "alice", NULL, NULL, &res), -EINVAL);

    answer(200, "{}");
    CHECK_INT(homeserver_update_device_display_name(hs, "alice", "ABCDEFGHIJ", "Work laptop \xc3\xa9", &res),
              0);
    CHECK_STR(req_line(), "POST /_synapse/mas/update_device_display_name HTTP/1.1");
    CHECK_STR(
        req_body(),
        "{\"localpart\":\"alice\",\"device_id\":\"ABCDEFGHIJ\",\"display_name\":\"Work laptop \xc3\xa9\"}");
    answer(404, "{\"errcode\":\"M_NOT_FOUND\",\"error\":\"Device not found\"}");
    CHECK_INT(homeserver_update_device_display_name(hs, "alice", "GONE", "n", &res), -ENOENT);
    CHECK_STR(res.errcode, "M_NOT_FOUND");
    int sent = requests();
    CHECK_INT(homeserver_update_device_display_name(hs, "alice", "ABCDEFGHIJ", NULL, &res), -EINVAL);
    CHECK_INT(homeserver_update_device_display_name(hs, "alice", "ABCDEFGHIJ", "\xff", &res), -EINVAL);
    CHECK_INT(requests(), sent);

    const char *ids[] = {"ABCDEFGHIJ", "mobile-1"};
    answer(200, "{}");
    CHECK_INT(homeserver_sync_devices(hs, "alice", ids, 2, &res), 0);
    CHECK_STR(req_line(), "POST /_synapse/mas/sync_devices HTTP/1.1");
    CHECK_STR(req_body(), "{\"localpart\":\"alice\",\"devices\":[\"ABCDEFGHIJ\",\"mobile-1\"]}");
    CHECK_INT(homeserver_sync_devices(hs, "alice", NULL, 0, &res), 0);
    CHECK_STR(req_body(), "{\"localpart\":\"alice\",\"devices\":[]}");

    /* a body over 1 KiB goes at once: no "Expect: 100-continue" (older libcurl sent one) */
    static const char *many[200];
    for (size_t i = 0; i < 200; i++)
        many[i] = "DEVICEIDXX";
    CHECK_INT(homeserver_sync_devices(hs, "alice", many, 200, &res), 0);
    CHECK_STR(req_header("Expect"), "(none)");
    CHECK_INT(strlen(req_body()), strlen("{\"localpart\":\"alice\",\"devices\":[]}") + 200 * 13 - 1);
}

static void test_user_calls(struct homeserver *hs)
{
    struct homeserver_result res;
    answer(200, "{}");
    CHECK_INT(homeserver_delete_user(hs, "alice", true, &res), 0);
    CHECK_STR(req_line(), "POST /_synapse/mas/delete_user HTTP/1.1");
    CHECK_STR(req_body(), "{\"localpart\":\"alice\",\"erase\":true}");
    CHECK_INT(homeserver_delete_user(hs, "alice", false, &res), 0);
    CHECK_STR(req_body(), "{\"localpart\":\"alice\",\"erase\":false}");

    answer(204, "");
    CHECK_INT(homeserver_reactivate_user(hs, "alice", &res), 0);
    CHECK_STR(req_line(), "POST /_synapse/mas/reactivate_user HTTP/1.1");
    CHECK_STR(req_body(), "{\"localpart\":\"alice\"}");
    CHECK_INT(res.status, 204);
    CHECK_STR(res.message, "");
}

static void test_is_localpart_available(struct homeserver *hs)
{
    struct homeserver_result res;
    answer(200, "{}");
    CHECK_INT(homeserver_is_localpart_available(hs, "a+b/c d", &res), 1);
    CHECK_STR(req_line(), "GET /_synapse/mas/is_localpart_available?localpart=a%2Bb%2Fc%20d HTTP/1.1");
    CHECK_STR(req_header("Authorization"), "Bearer s3cret");
    CHECK_STR(req_header("Content-Type"), "(none)");
    CHECK_STR(req_header("Content-Length"), "(none)");
    CHECK_STR(req_body(), "");

    const char *unavailable[] = {"M_USER_IN_USE", "M_INVALID_USERNAME", "M_EXCLUSIVE"};
    char body[128];
    for (size_t i = 0; i < 3; i++) {
        snprintf(body, sizeof(body), "{\"errcode\":\"%s\",\"error\":\"no\"}", unavailable[i]);
        answer(400, body);
        CHECK_INT(homeserver_is_localpart_available(hs, "bob", &res), 0);
        CHECK_STR(res.errcode, unavailable[i]);
        CHECK_INT(res.status, 400);
    }
    answer(500, "{\"errcode\":\"M_USER_IN_USE\",\"error\":\"no\"}");
    CHECK_INT(homeserver_is_localpart_available(hs, "bob", NULL), 0);
    answer(400, "{\"errcode\":\"M_UNKNOWN\",\"error\":\"Missing localpart\"}");
    CHECK_INT(homeserver_is_localpart_available(hs, "bob", &res), -EPROTO);
    CHECK_STR(res.message,
              msg("is_localpart_available", "GET", "_synapse/mas/is_localpart_available?localpart=bob",
                  "400 M_UNKNOWN: Missing localpart"));
    answer(200, "{\"errcode\":\"M_USER_IN_USE\",\"error\":\"ignored on 2xx\"}");
    CHECK_INT(homeserver_is_localpart_available(hs, "bob", &res), 1);
    CHECK_STR(res.errcode, "");
    answer(403, "{\"errcode\":\"M_UNKNOWN\",\"error\":\"This endpoint must only be called by MAS\"}");
    CHECK_INT(homeserver_is_localpart_available(hs, "bob", &res), -EACCES);

    /* non-ASCII: unavailable without asking; not UTF-8: refused */
    int before = requests();
    CHECK_INT(homeserver_is_localpart_available(hs,
                                                "b\xc3\xb6"
                                                "b",
                                                &res),
              0);
    CHECK_INT(res.status, 0);
    CHECK_INT(homeserver_is_localpart_available(hs,
                                                "b\xf6"
                                                "b",
                                                &res),
              -EINVAL);
    CHECK_INT(homeserver_is_localpart_available(hs, NULL, &res), -EINVAL);
    CHECK_INT(requests(), before);
}

static void test_status_mapping(struct homeserver *hs)
{
    struct homeserver_result res;
    const char *path = "_synapse/mas/reactivate_user";
    answer(404, "{\"errcode\":\"M_NOT_FOUND\",\"error\":\"User not found\"}");
    CHECK_INT(homeserver_reactivate_user(hs, "alice", &res), -ENOENT);
    CHECK_INT(res.status, 404);
    CHECK_STR(res.errcode, "M_NOT_FOUND");
    CHECK_STR(res.message, msg("reactivate_user", "POST", path, "404 M_NOT_FOUND: User not found"));

    /* a 404 without M_NOT_FOUND: the API is not there; retrying cannot help */
    answer(404, "{\"errcode\":\"M_UNRECOGNIZED\",\"error\":\"Unrecognized request\"}");
    CHECK_INT(homeserver_reactivate_user(hs, "alice", &res), -EACCES);
    CHECK_STR(res.errcode, "M_UNRECOGNIZED");
    CHECK(strstr(res.message, "404 M_UNRECOGNIZED: Unrecognized request (the MAS API is not enabled") !=
          NULL);
    answer(404, "<html>Not Found</html>");
    CHECK_INT(homeserver_reactivate_user(hs, "alice", &res), -EACCES);
    CHECK_STR(res.errcode, "");

    answer(403, "{\"errcode\":\"M_UNKNOWN\",\"error\":\"This endpoint must only be called by MAS\"}");
    CHECK_INT(homeserver_upsert_device(hs, "alice", "D", NULL, &res), -EACCES);
    CHECK_INT(res.status, 403);
    CHECK_STR(res.errcode, "M_UNKNOWN");
    CHECK(strncmp(res.message,
                  msg("upsert_device", "POST", "_synapse/mas/upsert_device",
                      "403 M_UNKNOWN: This endpoint must only be called by MAS"),
                  strlen(msg("upsert_device", "POST", "_synapse/mas/upsert_device",
                             "403 M_UNKNOWN: This endpoint must only be called by MAS"))) == 0);
    CHECK(strstr(res.message, "s3cret") == NULL);
    answer(401, "{\"errcode\":\"M_MISSING_TOKEN\",\"error\":\"Missing access token\"}");
    CHECK_INT(homeserver_delete_user(hs, "alice", false, &res), -EACCES);

    answer(500, "{\"errcode\":\"M_UNKNOWN\",\"error\":\"Internal server error\\nline two\"}");
    CHECK_INT(homeserver_reactivate_user(hs, "alice", &res), -EPROTO);
    CHECK_INT(res.status, 500);
    CHECK_STR(res.message,
              msg("reactivate_user", "POST", path, "500 M_UNKNOWN: Internal server error line two"));
    answer(502, "Bad gateway");
    CHECK_INT(homeserver_reactivate_user(hs, "alice", &res), -EPROTO);
    CHECK_STR(res.message, msg("reactivate_user", "POST", path, "502"));
    answer(400, "{\"errcode\":\"M_BAD_JSON\",\"error\":\"x\"}");
    CHECK_INT(homeserver_sync_devices(hs, "alice", NULL, 0, &res), -EPROTO);

    /* a redirect is an error, and is not followed (the target would refuse the connection) */
    int before = requests();
    int dead_port;
    int dead = loopback_socket(false, &dead_port);
    char location[128];
    snprintf(location, sizeof(location), "Location: http://127.0.0.1:%d/elsewhere\r\n", dead_port);
    answer_full(ANSWER, 302, location, "");
    CHECK_INT(homeserver_reactivate_user(hs, "alice", &res), -EPROTO);
    CHECK_INT(res.status, 302);
    CHECK(strstr(res.message, "302 (redirects are not followed") != NULL);
    CHECK_INT(requests(), before + 1);
    close(dead);

    /* a body over 64 KiB is not buffered */
    answer_full(ANSWER_BIG, 200, NULL, NULL);
    CHECK_INT(homeserver_reactivate_user(hs, "alice", &res), -EPROTO);
    CHECK_INT(res.status, 200);
    CHECK_STR(res.message, msg("reactivate_user", "POST", path, "200: response body over 64 KiB"));
    answer_full(ANSWER_BIG, 500, NULL, NULL);
    CHECK_INT(homeserver_reactivate_user(hs, "alice", &res), -EPROTO);

    /* the connection closes without an answer */
    answer_full(CLOSE, 0, NULL, NULL);
    CHECK_INT(homeserver_reactivate_user(hs, "alice", &res), -EHOSTDOWN);
    CHECK_INT(res.status, 0);
    CHECK(strncmp(res.message, msg("reactivate_user", "POST", path, ""),
                  strlen(msg("reactivate_user", "POST", path, ""))) == 0);
    CHECK(strlen(res.message) > strlen(msg("reactivate_user", "POST", path, "")));
    answer(200, "{}");
    CHECK_INT(homeserver_reactivate_user(hs, "alice", &res), 0);
}

static void test_profile_calls(struct homeserver *hs)
{
    struct homeserver_result res;
    answer(200, "{}");
    CHECK_INT(homeserver_set_displayname(hs, "alice", "Alice \xc3\xa9\"", &res), 0);
    CHECK_STR(req_line(), "POST /_synapse/mas/set_displayname HTTP/1.1");
    CHECK_STR(req_header("Authorization"), "Bearer s3cret");
    CHECK_STR(req_body(), "{\"localpart\":\"alice\",\"displayname\":\"Alice \xc3\xa9\\\"\"}");
    CHECK_INT(homeserver_unset_displayname(hs, "alice", &res), 0);
    CHECK_STR(req_line(), "POST /_synapse/mas/unset_displayname HTTP/1.1");
    CHECK_STR(req_body(), "{\"localpart\":\"alice\"}");
    CHECK_INT(homeserver_allow_cross_signing_reset(hs, "alice", &res), 0);
    CHECK_STR(req_line(), "POST /_synapse/mas/allow_cross_signing_reset HTTP/1.1");
    CHECK_STR(req_body(), "{\"localpart\":\"alice\"}");
    answer(400, "{\"errcode\":\"M_TOO_LARGE\",\"error\":\"Display name is too long (max 256)\"}");
    CHECK_INT(homeserver_set_displayname(hs, "alice", "x", &res), -EPROTO);
    CHECK_STR(res.errcode, "M_TOO_LARGE");
    answer(404, "{\"errcode\":\"M_NOT_FOUND\",\"error\":\"User not found\"}");
    CHECK_INT(homeserver_unset_displayname(hs, "nobody", &res), -ENOENT);
    int before = requests();
    CHECK_INT(homeserver_set_displayname(hs, "alice", NULL, &res), -EINVAL);
    CHECK_INT(homeserver_set_displayname(hs, "alice", "\xff", &res), -EINVAL);
    CHECK_INT(requests(), before);

    struct homeserver_user u;
    answer(200, "{\"user_id\":\"@a+b:example.com\",\"display_name\":\"A \xc3\xa9\",\"avatar_url\":null,"
                "\"is_suspended\":false,\"is_deactivated\":true}");
    CHECK_INT(homeserver_query_user(hs, "a+b", &u, &res), 0);
    CHECK_STR(req_line(), "GET /_synapse/mas/query_user?localpart=a%2Bb HTTP/1.1");
    CHECK_STR(req_header("Authorization"), "Bearer s3cret");
    CHECK_STR(req_body(), "");
    CHECK_STR(u.user_id, "@a+b:example.com");
    CHECK(u.has_displayname && !u.has_avatar_url && !u.suspended && u.deactivated);
    CHECK_STR(u.displayname, "A \xc3\xa9");
    answer(200, "{\"user_id\":\"@a:example.com\",\"is_suspended\":false,\"is_deactivated\":false}");
    CHECK_INT(homeserver_query_user(hs, "a", &u, &res), 0);
    CHECK(!u.has_displayname && !u.deactivated);
    CHECK_STR(u.displayname, "");
    answer(404, "{\"errcode\":\"M_NOT_FOUND\",\"error\":\"User not found\"}");
    CHECK_INT(homeserver_query_user(hs, "nobody", &u, &res), -ENOENT);
    CHECK_STR(u.user_id, "");
    answer(200, "{\"user_id\":\"@a:example.com\"}");
    CHECK_INT(homeserver_query_user(hs, "a", &u, &res), -EPROTO);
    CHECK_STR(res.message, msg("query_user", "GET", "_synapse/mas/query_user?localpart=a",
                               "200 (the answer is not a user)"));
    answer(500, "{\"errcode\":\"M_UNKNOWN\",\"error\":\"boom\"}");
    CHECK_INT(homeserver_query_user(hs, "a", &u, &res), -EPROTO);
    CHECK_INT(homeserver_query_user(hs, "\xc0", &u, &res), -EINVAL);
}

static int parse_user(const char *body, struct homeserver_user *u)
{
    return homeserver_parse_user(body, strlen(body), u);
}

static void test_parse_user(void)
{
    struct homeserver_user u;
    CHECK_INT(
        parse_user("{\"user_id\":\"@a:b\",\"is_suspended\":true,\"is_deactivated\":false,\"x\":[1]}", &u), 0);
    CHECK(u.suspended && !u.deactivated && !u.has_displayname);
    CHECK_INT(parse_user("{\"user_id\":\"@a:b\",\"is_suspended\":false,\"is_deactivated\":false,"
                         "\"display_name\":\"\",\"avatar_url\":\"mxc://b/c\"}",
                         &u),
              0);
    CHECK(u.has_displayname && u.has_avatar_url);
    CHECK_STR(u.displayname, "");
    CHECK_STR(u.avatar_url, "mxc://b/c");
    /* required members, and their types */
    CHECK_INT(parse_user("{\"is_suspended\":false,\"is_deactivated\":false}", &u), -EPROTO);
    CHECK_INT(parse_user("{\"user_id\":\"@a:b\",\"is_deactivated\":false}", &u), -EPROTO);
    CHECK_INT(parse_user("{\"user_id\":\"@a:b\",\"is_suspended\":false}", &u), -EPROTO);
    CHECK_INT(parse_user("{\"user_id\":1,\"is_suspended\":false,\"is_deactivated\":false}", &u), -EPROTO);
    CHECK_INT(parse_user("{\"user_id\":\"@a:b\",\"is_suspended\":0,\"is_deactivated\":false}", &u), -EPROTO);
    CHECK_INT(parse_user("{\"user_id\":\"@a:b\",\"is_suspended\":false,\"is_deactivated\":false,"
                         "\"display_name\":5}",
                         &u),
              -EPROTO);
    CHECK_INT(parse_user("{\"user_id\":\"@a:b\",\"is_suspended\":false,\"is_deactivated\":false,"
                         "\"display_name\":\"a\\u0000b\"}",
                         &u),
              -EPROTO);
    CHECK_STR(u.user_id, "");
    CHECK_INT(parse_user("[]", &u), -EPROTO);
    CHECK_INT(parse_user("", &u), -EPROTO);
    CHECK_INT(homeserver_parse_user(NULL, 0, &u), -EPROTO);
    CHECK_INT(
        parse_user(
            "{\"user_id\":\"@a:b\",\"user_id\":\"@c:d\",\"is_suspended\":false,\"is_deactivated\":false}",
            &u),
        -EPROTO);
    /* the limits: 256 characters of display name (multi-byte ones too), 255 bytes of user ID */
    char body[4096], name[1100];
    name[0] = '\0';
    for (int i = 0; i < 256; i++)
        strcat(name, "\xc3\xa9");
    snprintf(body, sizeof(body),
             "{\"user_id\":\"@a:b\",\"is_suspended\":false,\"is_deactivated\":false,\"display_name\":\"%s\"}",
             name);
    CHECK_INT(parse_user(body, &u), 0);
    CHECK_INT(strlen(u.displayname), 512);
    snprintf(
        body, sizeof(body),
        "{\"user_id\":\"@a:b\",\"is_suspended\":false,\"is_deactivated\":false,\"display_name\":\"%sx\"}",
        name);
    CHECK_INT(parse_user(body, &u), -EPROTO);
    snprintf(body, sizeof(body), "{\"user_id\":\"@%0254d\",\"is_suspended\":false,\"is_deactivated\":false}",
             0);
    CHECK_INT(parse_user(body, &u), 0);
    snprintf(body, sizeof(body), "{\"user_id\":\"@%0255d\",\"is_suspended\":false,\"is_deactivated\":false}",
             0);
    CHECK_INT(parse_user(body, &u), -EPROTO);
}

/* One connection per thread, kept alive across calls. */
static void *other_thread(void *arg)
{
    answer(200, "{}");
    return (void *)(intptr_t)homeserver_reactivate_user(arg, "alice", NULL);
}

static void test_keep_alive(struct homeserver *hs)
{
    int before = connections();
    answer(200, "{}");
    for (int i = 0; i < 5; i++)
        CHECK_INT(homeserver_reactivate_user(hs, "alice", NULL), 0);
    CHECK_INT(connections(), before);
    pthread_t t;
    void *ret = NULL;
    CHECK_INT(pthread_create(&t, NULL, other_thread, hs), 0);
    pthread_join(t, &ret);
    CHECK_INT((intptr_t)ret, 0);
    CHECK_INT(connections(), before + 1);
    CHECK_INT(homeserver_reactivate_user(hs, "alice", NULL), 0);
    CHECK_INT(connections(), before + 1);
}

static void test_endpoints(void)
{
    struct homeserver_result res;
    char endpoint[160];
    answer(200, "{}");
    snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d/prefix/", srv.port);
    struct homeserver *hs = open_hs(endpoint, "synapse_modern", "s3cret");
    CHECK_INT(homeserver_reactivate_user(hs, "alice", &res), 0);
    CHECK_STR(req_line(), "POST /prefix/_synapse/mas/reactivate_user HTTP/1.1");
    homeserver_close(hs);
    snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d/prefix?x=1#y", srv.port);
    hs = open_hs(endpoint, NULL, "s3cret");
    CHECK_INT(homeserver_reactivate_user(hs, "alice", &res), 0);
    CHECK_STR(req_line(), "POST /_synapse/mas/reactivate_user HTTP/1.1");
    homeserver_close(hs);

    /* userinfo stays out of messages */
    snprintf(endpoint, sizeof(endpoint), "http://user:pa55@127.0.0.1:%d/", srv.port);
    hs = open_hs(endpoint, "synapse", "s3cret");
    answer(500, "");
    CHECK_INT(homeserver_reactivate_user(hs, "alice", &res), -EPROTO);
    CHECK_STR(res.message, msg("reactivate_user", "POST", "_synapse/mas/reactivate_user", "500"));
    homeserver_close(hs);

    /* without a secret: no Authorization header at all */
    snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", srv.port);
    hs = open_hs(endpoint, "synapse", NULL);
    answer(401, "{\"errcode\":\"M_MISSING_TOKEN\",\"error\":\"Missing access token\"}");
    CHECK_INT(homeserver_reactivate_user(hs, "alice", &res), -EACCES);
    CHECK_STR(req_header("Authorization"), "(none)");
    CHECK_STR(res.errcode, "M_MISSING_TOKEN");
    homeserver_close(hs);

    /* nothing listens: no response */
    int port;
    int fd = loopback_socket(false, &port);
    snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d/", port);
    hs = open_hs(endpoint, "synapse", "s3cret");
    CHECK_INT(homeserver_reactivate_user(hs, "alice", &res), -EHOSTDOWN);
    CHECK_INT(res.status, 0);
    CHECK_STR(res.errcode, "");
    char prefix[128];
    snprintf(prefix, sizeof(prefix),
             "reactivate_user: POST http://127.0.0.1:%d/_synapse/mas/reactivate_user: ", port);
    CHECK(strncmp(res.message, prefix, strlen(prefix)) == 0 && strlen(res.message) > strlen(prefix));
    CHECK_INT(homeserver_is_localpart_available(hs, "bob", NULL), -EHOSTDOWN);
    homeserver_close(hs);
    close(fd);
}

static void test_read_only(void)
{
    struct homeserver_result res;
    char endpoint[160];
    snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d/", srv.port);
    struct homeserver *hs = open_hs(endpoint, "synapse_read_only", "s3cret");
    CHECK(homeserver_read_only(hs));
    CHECK_STR(homeserver_name(hs), "example.com");
    int before = requests(), conns = connections();
    struct homeserver_provision p = {.localpart = "alice"};
    CHECK_INT(homeserver_provision_user(hs, &p, &res), -EROFS);
    CHECK_STR(res.message, "provision_user is not possible: matrix.kind is synapse_read_only");
    CHECK_INT(res.status, 0);
    CHECK_INT(homeserver_upsert_device(hs, "alice", "D", NULL, &res), -EROFS);
    CHECK_STR(res.message, "upsert_device is not possible: matrix.kind is synapse_read_only");
    CHECK_INT(homeserver_sync_devices(hs, "alice", NULL, 0, &res), -EROFS);
    CHECK_INT(homeserver_update_device_display_name(hs, "alice", "D", "n", &res), -EROFS);
    CHECK_STR(res.message, "update_device_display_name is not possible: matrix.kind is synapse_read_only");
    CHECK_INT(homeserver_delete_user(hs, "alice", true, &res), -EROFS);
    CHECK_INT(homeserver_reactivate_user(hs, "alice", NULL), -EROFS);
    CHECK_INT(homeserver_set_displayname(hs, "alice", "A", NULL), -EROFS);
    CHECK_INT(homeserver_unset_displayname(hs, "alice", NULL), -EROFS);
    CHECK_INT(homeserver_allow_cross_signing_reset(hs, "alice", NULL), -EROFS);
    CHECK_INT(requests(), before);
    CHECK_INT(connections(), conns);
    /* reads still go */
    answer(200, "{}");
    CHECK_INT(homeserver_is_localpart_available(hs, "bob", &res), 1);
    CHECK_INT(requests(), before + 1);
    struct homeserver_user u;
    answer(200, "{\"user_id\":\"@bob:example.com\",\"is_suspended\":false,\"is_deactivated\":false}");
    CHECK_INT(homeserver_query_user(hs, "bob", &u, &res), 0);
    CHECK_INT(requests(), before + 2);
    homeserver_close(hs);
}

static void test_open(void)
{
    struct config_matrix cfg = {.homeserver = "hs", .endpoint = "http://hs/", .kind = "synapse_legacy"};
    struct homeserver *hs = (struct homeserver *)&cfg;
    CHECK_INT(homeserver_open(&cfg, &hs), -ENOTSUP);
    CHECK(hs == NULL);
    cfg.kind = "synapse_fancy";
    CHECK_INT(homeserver_open(&cfg, &hs), -EINVAL);
    cfg.kind = "synapse";
    cfg.endpoint = "ftp://hs/";
    CHECK_INT(homeserver_open(&cfg, &hs), -EINVAL);
    cfg.endpoint = "http://hs/";
    const char *bad[] = {"two words", "line\n", "\x7f", "caf\xc3\xa9"};
    for (size_t i = 0; i < 4; i++) {
        cfg.secret = (unsigned char *)bad[i], cfg.secret_len = strlen(bad[i]);
        CHECK_INT(homeserver_open(&cfg, &hs), -EINVAL);
    }
    cfg.secret = (unsigned char *)"ok\0tail", cfg.secret_len = 7; /* NUL inside */
    CHECK_INT(homeserver_open(&cfg, &hs), -EINVAL);
    cfg.secret = (unsigned char *)"s3cretXYZ", cfg.secret_len = 6; /* bytes, not a C string */
    CHECK_INT(homeserver_open(&cfg, &hs), 0);
    CHECK(!homeserver_read_only(hs));
    CHECK_STR(homeserver_name(hs), "hs");
    homeserver_close(hs);
    homeserver_close(NULL);
}

int main(void)
{
    const char *proxies[] = {"http_proxy",  "HTTP_PROXY", "https_proxy",
                             "HTTPS_PROXY", "all_proxy",  "ALL_PROXY"};
    for (size_t i = 0; i < sizeof(proxies) / sizeof(proxies[0]); i++)
        unsetenv(proxies[i]);
    CHECK_INT(homeserver_global_init(), 0);

    test_url_join();
    test_url_encode();
    test_parse_error();
    test_parse_user();
    test_open();

    server_start();
    snprintf(base, sizeof(base), "http://127.0.0.1:%d/", srv.port);
    struct homeserver *hs = open_hs(base, "synapse", "s3cret");
    CHECK(!homeserver_read_only(hs));
    test_provision_user(hs);
    test_device_calls(hs);
    test_user_calls(hs);
    test_is_localpart_available(hs);
    test_profile_calls(hs);
    CHECK_INT(connections(), 1); /* every call so far on one kept-alive connection */
    test_keep_alive(hs);
    test_status_mapping(hs);
    test_read_only();
    test_endpoints();
    homeserver_close(hs);
    return check_report(__FILE__);
}
