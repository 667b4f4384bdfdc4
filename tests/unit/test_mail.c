/* Composing e-mail (common/mail/message.c) — headers, encoded words, quoted-printable and base64
 * bodies, and every attempt to add a header or a part through a value — and the transports
 * (common/mail/transport.c, sendmail.c): sendmail with scripts standing in for it, SMTP against a
 * scripted server in a thread, which answers each command with the code a case asks for. */
#include "base64.h"
#include "check.h"
#include "clock.h"
#include "config.h"
#include "message.h"
#include "transport.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define NOW 1700000000123LL /* Tue, 14 Nov 2023 22:13:20 UTC */

static struct mail_mailbox mbox(const char *s)
{
    struct mail_mailbox m;
    const char *why = NULL;
    if (mail_mailbox_parse(masd_str_from(s), &m, &why) < 0)
        fprintf(stderr, "bad test mailbox %s: %s\n", s, why);
    return m;
}

static char *compose(const char *subject, const char *text, const char *html, int *rc)
{
    struct mail_mailbox from = mbox("\"Authentication Service\" <auth@example.com>");
    struct mail_mailbox reply = mbox("No reply <no-reply@example.com>");
    struct mail_mailbox to = mbox("alice <alice@example.org>");
    struct mail_message m = {&from, &reply, &to, subject, text, html, NOW};
    char *out = NULL;
    size_t len = 0;
    *rc = mail_compose(&m, &out, &len);
    CHECK(*rc < 0 || strlen(out) == len);
    return out;
}

/* The header block (up to the first empty line) and the rest. */
static char *headers_of(const char *msg)
{
    const char *end = strstr(msg, "\r\n\r\n");
    return end ? strndup(msg, (size_t)(end - msg) + 2) : strdup("");
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

/* Every line ends in CRLF, none longer than max, no bare CR or LF. */
static bool lines_ok(const char *msg, size_t max)
{
    size_t col = 0;
    for (const char *p = msg; *p; p++) {
        if (*p == '\r') {
            if (p[1] != '\n')
                return false;
            p++, col = 0;
        } else if (*p == '\n') {
            return false;
        } else if (++col > max) {
            fprintf(stderr, "line too long at: %.40s\n", p - col + 1);
            return false;
        }
    }
    return true;
}

/* Decodes quoted-printable (for the checks). */
static char *qp_decode(const char *s, size_t len)
{
    char *out = malloc(len + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '=' && i + 2 < len + 1 && s[i + 1] == '\r' && s[i + 2] == '\n') {
            i += 2;
        } else if (s[i] == '=' && i + 2 < len) {
            out[o++] = (char)(masd_hexval(s[i + 1]) * 16 + masd_hexval(s[i + 2]));
            i += 2;
        } else if (s[i] == '\r' && s[i + 1] == '\n') {
            out[o++] = '\n';
            i++;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

/* The decoded text of encoded words in a header value ("=?UTF-8?B?...?=" separated by folding). */
static char *words_decode(const char *v)
{
    char *out = calloc(1, strlen(v) + 1);
    size_t o = 0;
    for (const char *p = v; (p = strstr(p, "=?UTF-8?B?"));) {
        p += 10;
        const char *end = strstr(p, "?=");
        size_t n = 0;
        CHECK_INT(base64_decode(p, (size_t)(end - p), (unsigned char *)out + o, &n), 0);
        o += n;
        p = end + 2;
    }
    return out;
}

/* The body of the part whose Content-Type starts with type, decoded. */
static char *part(const char *msg, const char *type)
{
    char want[64];
    snprintf(want, sizeof(want), "Content-Type: %s", type);
    const char *h = strstr(msg, want);
    if (!h)
        return strdup("(no such part)");
    const char *body = strstr(h, "\r\n\r\n") + 4;
    const char *end = strstr(body, "\r\n--=_masd_");
    size_t len = end ? (size_t)(end - body) : strlen(body) - 2;
    char cte[32];
    sscanf(strstr(h, "Content-Transfer-Encoding: ") + 27, "%31s", cte);
    if (strcmp(cte, "quoted-printable") == 0)
        return qp_decode(body, len);
    char *flat = malloc(len + 1), *out = malloc(len + 1);
    size_t f = 0, n = 0;
    for (size_t i = 0; i < len; i++)
        if (body[i] != '\r' && body[i] != '\n')
            flat[f++] = body[i];
    CHECK_INT(base64_decode(flat, f, (unsigned char *)out, &n), 0);
    out[n] = '\0';
    free(flat);
    return out;
}

static void test_structure(void)
{
    int rc;
    char *msg = compose("Your code is 123456", "Hello alice,\n\nYour code: 123456\n",
                        "<p>Hello alice,</p>\n<p>Your code: <strong>123456</strong></p>\n", &rc);
    CHECK_INT(rc, 0);
    char *h = headers_of(msg);
    CHECK(strncmp(h, "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n", 39) == 0);
    CHECK(strstr(h, "\r\nFrom: Authentication Service <auth@example.com>\r\n") != NULL);
    CHECK(strstr(h, "\r\nReply-To: No reply <no-reply@example.com>\r\n") != NULL);
    CHECK(strstr(h, "\r\nTo: alice <alice@example.org>\r\n") != NULL);
    CHECK(strstr(h, "\r\nSubject: Your code is 123456\r\n") != NULL);
    CHECK(strstr(h, "\r\nMIME-Version: 1.0\r\n") != NULL);
    CHECK(strstr(h, "\r\nContent-Type: multipart/alternative;\r\n boundary=\"=_masd_") != NULL);
    const char *mid = strstr(h, "\r\nMessage-ID: <");
    CHECK(mid != NULL);
    if (mid) {
        char id[80] = "";
        sscanf(mid + 15, "%79[^>]", id);
        CHECK_INT(strlen(id), 26 + 1 + 11);
        CHECK(strcmp(id + 26, "@example.com") == 0);
    }
    CHECK_INT(count(h, "\r\n"), 9); /* one header a line, Content-Type folded once */
    CHECK(lines_ok(msg, 78));
    char *text = part(msg, "text/plain"), *html = part(msg, "text/html");
    CHECK_STR(text, "Hello alice,\n\nYour code: 123456\n");
    CHECK_STR(html, "<p>Hello alice,</p>\n<p>Your code: <strong>123456</strong></p>\n");
    CHECK_INT(count(msg, "\r\n--=_masd_"), 3);
    CHECK(strstr(msg, "--\r\n") != NULL && msg[strlen(msg) - 1] == '\n');
    free(text), free(html), free(h), free(msg);

    /* text only */
    msg = compose("s", "only text", NULL, &rc);
    CHECK_INT(rc, 0);
    CHECK(strstr(msg, "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: "
                      "quoted-printable\r\n\r\nonly text\r\n") != NULL);
    CHECK(strstr(msg, "multipart") == NULL);
    free(msg);
}

static void test_encoded_words(void)
{
    int rc;
    const char *subject =
        "Votre code de vérification est 123456 — für Jürgen, 日本語のテキストも少し入れます";
    char *msg = compose(subject, "x", NULL, &rc);
    CHECK_INT(rc, 0);
    char *h = headers_of(msg);
    const char *s = strstr(h, "\r\nSubject:");
    CHECK(s != NULL);
    char *value = strndup(s + 10, (size_t)(strstr(s + 2, "\r\nMessage-ID") - s - 10));
    char *decoded = words_decode(value);
    CHECK_STR(decoded, subject);
    CHECK(count(value, "=?UTF-8?B?") >= 3);
    CHECK(lines_ok(msg, 78));
    free(decoded), free(value), free(h), free(msg);

    /* ASCII that looks like an encoded word, a long one, one with a leading space: encoded */
    msg = compose("=?UTF-8?B?SGk=?= spoof", "x", NULL, &rc);
    CHECK(strstr(msg, "Subject: =?UTF-8?B?PT9VVEYtOD9CP1NHaz0/PSBzcG9vZg==?=\r\n") != NULL);
    free(msg);
    msg = compose("A subject long enough that it would not fit on one line of seventy-eight", "x", NULL, &rc);
    CHECK_INT(rc, 0);
    CHECK(lines_ok(msg, 78));
    h = headers_of(msg);
    value = strstr(h, "Subject:");
    decoded = words_decode(value);
    CHECK_STR(decoded, "A subject long enough that it would not fit on one line of seventy-eight");
    free(decoded), free(h), free(msg);
}

static void test_mailboxes(void)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"alice@example.org", "alice@example.org"},
        {"<alice@example.org>", "alice@example.org"},
        {"Alice Smith <alice@example.org>", "Alice Smith <alice@example.org>"},
        {"J. Doe <j@example.org>", "\"J. Doe\" <j@example.org>"},
        {"\"Doe, J. \\\"the one\\\"\" <j@example.org>", "\"Doe, J. \\\"the one\\\"\" <j@example.org>"},
        {"\"a\\\\b\" <j@example.org>", "\"a\\\\b\" <j@example.org>"},
        {"\"  two  spaces \" <j@example.org>", "\"  two  spaces \" <j@example.org>"},
        {"Jürgen <jm@bücher.example>", "=?UTF-8?B?SsO8cmdlbg==?= <jm@xn--bcher-kva.example>"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct mail_mailbox m = mbox(cases[i].in);
        char *s = mail_format_mailbox(&m);
        CHECK_STR(s, cases[i].out);
        free(s);
    }
    /* a long non-ASCII name: several words, folded, decoding to the name */
    struct mail_mailbox m = mbox("Ωμέγα Ωμέγα Ωμέγα Ωμέγα Ωμέγα Ωμέγα Ωμέγα Ωμέγα Ωμέγα <o@example.org>");
    char *s = mail_format_mailbox(&m), *d = words_decode(s);
    CHECK_STR(d, "Ωμέγα Ωμέγα Ωμέγα Ωμέγα Ωμέγα Ωμέγα Ωμέγα Ωμέγα Ωμέγα");
    CHECK(strstr(s, "\r\n =?UTF-8?B?") != NULL);
    free(d), free(s);
}

static void test_quoted_printable(void)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"", ""},
        {"plain text", "plain text"},
        {"a=b", "a=3Db"},
        {"trailing space \nand tab\t\n", "trailing space=20\r\nand tab=09\r\n"},
        {"crlf\r\nlf\ncr\rend", "crlf\r\nlf\r\ncr\r\nend"},
        {".\r\n..dots\n", "=2E\r\n=2E.dots\r\n"}, /* a lone '.' would end SMTP DATA */
        {"From me\nnot From here", "=46rom me\r\nnot From here"},
        {"caf\xc3\xa9", "caf=C3=A9"},
        {"\x01\x7f", "=01=7F"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *q = mail_quoted_printable(cases[i].in, strlen(cases[i].in));
        CHECK_STR(q, cases[i].out);
        free(q);
    }
    /* soft breaks: no line past 76, nothing split inside =XX, and it decodes back */
    char in[1000];
    size_t n = 0;
    for (int i = 0; i < 120; i++)
        n += (size_t)snprintf(in + n, sizeof(in) - n, i % 7 ? "é=x" : ".");
    char *q = mail_quoted_printable(in, n);
    CHECK(lines_ok(q, 76));
    char *back = qp_decode(q, strlen(q));
    CHECK_STR(back, in);
    CHECK(strstr(q, "\r\n.") == NULL);
    free(back), free(q);
}

static void test_base64_body(void)
{
    int rc;
    const char *text = "Здравствуйте, alice!\nВаш код подтверждения: 123456\n";
    char *msg = compose("s", text, "<p>Здравствуйте</p>", &rc);
    CHECK_INT(rc, 0);
    CHECK_INT(count(msg, "Content-Transfer-Encoding: base64"), 2);
    CHECK(lines_ok(msg, 78));
    char *t = part(msg, "text/plain"), *h = part(msg, "text/html");
    CHECK_STR(t, text);
    CHECK_STR(h, "<p>Здравствуйте</p>");
    free(t), free(h), free(msg);
}

/* Values that try to add a header, a recipient or a part. */
static void test_injection(void)
{
    int rc;
    char *msg = compose("Code\r\nBcc: eve@evil.example", "x", NULL, &rc);
    CHECK_INT(rc, -EINVAL);
    CHECK(msg == NULL);
    msg = compose("Code\nBcc: eve@evil.example", "x", NULL, &rc);
    CHECK_INT(rc, -EINVAL);
    msg = compose("Code\rX", "x", NULL, &rc);
    CHECK_INT(rc, -EINVAL);
    msg = compose("Code\tX", "x", NULL, &rc);
    CHECK_INT(rc, -EINVAL);
    msg = compose("bad \xff", "x", NULL, &rc);
    CHECK_INT(rc, -EINVAL);
    msg = compose("s", "bad \xc3", NULL, &rc);
    CHECK_INT(rc, -EINVAL);
    msg = compose("s", "x", "bad \xed\xa0\x80", &rc);
    CHECK_INT(rc, -EINVAL);

    /* bodies that hold an end of headers, a boundary and an end of DATA: all inside the part */
    const char *evil = "line\r\n\r\nBcc: eve@evil.example\r\n--=_masd_000000000000000000000000--\r\n.\r\n"
                       "MAIL FROM:<eve@evil.example>\r\n";
    msg = compose("s", evil, evil, &rc);
    CHECK_INT(rc, 0);
    char *h = headers_of(msg);
    CHECK(strstr(h, "Bcc") == NULL);
    CHECK_INT(count(msg, "\r\n--=_masd_"), 3); /* the boundary in the text was encoded */
    CHECK_INT(count(msg, "\r\n.\r\n"), 0);
    char *t = part(msg, "text/plain");
    CHECK_STR(t, "line\n\nBcc: eve@evil.example\n--=_masd_000000000000000000000000--\n.\nMAIL "
                 "FROM:<eve@evil.example>\n");
    free(t), free(h), free(msg);

    /* a display name with a quote and a backslash stays one quoted string */
    struct mail_mailbox from = mbox("\"Eve\\\" <eve@evil.example>, \\\\\" <auth@example.com>");
    struct mail_mailbox to = mbox("alice@example.org");
    struct mail_message m = {&from, NULL, &to, "s", "x", NULL, NOW};
    char *out;
    size_t len;
    CHECK_INT(mail_compose(&m, &out, &len), 0);
    CHECK(strstr(out, "\r\nFrom: \"Eve\\\" <eve@evil.example>, \\\\\" <auth@example.com>\r\n") != NULL);
    CHECK(strstr(out, "Reply-To") == NULL);
    free(out);

    /* too big */
    size_t big = MAIL_MESSAGE_MAX / 2;
    char *huge = malloc(big + 1);
    memset(huge, 'a', big);
    huge[big] = '\0';
    msg = compose("s", huge, NULL, &rc);
    CHECK_INT(rc, -E2BIG);
    free(huge);
}

/* ---- sendmail ------------------------------------------------------------------------------ */

static char dir[64];

static void script(const char *name, const char *body)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    fprintf(f, "#!/bin/sh\n%s", body);
    fclose(f);
    chmod(path, 0755);
}

static char *slurp(const char *name)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (!f)
        return strdup("(missing)");
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static int send_with(struct config_email *e, const char *msg, char *why, long timeout)
{
    struct mail_transport *t;
    CHECK_INT(mail_transport_open(e, &t), 0);
    if (timeout)
        mail_transport_set_timeout(t, timeout);
    struct mail_mailbox from = mbox("auth@example.com"), to = mbox("-oQ/tmp/x@bücher.example");
    int r = mail_send(t, &from.addr, &to.addr, msg, strlen(msg), why, 512);
    mail_transport_close(t);
    return r;
}

static void test_sendmail(void)
{
    snprintf(dir, sizeof(dir), "/tmp/masd-test-mail.XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    char cmd[128], why[512];
    struct config_email e = {.transport = CONFIG_EMAIL_SENDMAIL, .command = cmd};

    script("ok",
           "d=$(dirname \"$0\"); for a in \"$@\"; do echo \"[$a]\"; done >\"$d/argv\"; cat >\"$d/stdin\"\n");
    snprintf(cmd, sizeof(cmd), "%s/ok", dir);
    CHECK_INT(send_with(&e, "Subject: x\r\n\r\n.\r\nbody\r\n", why, 0), 0);
    char *argv = slurp("argv"), *in = slurp("stdin");
    CHECK_STR(argv, "[-i]\n[-f]\n[auth@example.com]\n[--]\n[-oQ/tmp/x@xn--bcher-kva.example]\n");
    CHECK_STR(in, "Subject: x\r\n\r\n.\r\nbody\r\n"); /* -i: a lone dot is data */
    free(argv), free(in);

    script("nouser", "cat >/dev/null; echo 'alice... User unknown' >&2; exit 67\n");
    snprintf(cmd, sizeof(cmd), "%s/nouser", dir);
    CHECK_INT(send_with(&e, "x", why, 0), -EBADMSG);
    CHECK(strstr(why, "exited with status 67: alice... User unknown") != NULL);

    script("tempfail", "cat >/dev/null; exit 75\n");
    snprintf(cmd, sizeof(cmd), "%s/tempfail", dir);
    CHECK_INT(send_with(&e, "x", why, 0), -EAGAIN);
    CHECK(strstr(why, "exited with status 75") != NULL);

    /* exits without reading a message larger than a pipe: no SIGPIPE, a failure that may pass */
    script("early", "exit 0\n");
    snprintf(cmd, sizeof(cmd), "%s/early", dir);
    size_t big = 1 << 20;
    char *msg = malloc(big + 1);
    memset(msg, 'm', big);
    msg[big] = '\0';
    CHECK_INT(send_with(&e, msg, why, 0), -EAGAIN);
    CHECK(strstr(why, "exited before reading the whole message") != NULL);
    free(msg);

    /* hangs: killed at the timeout */
    script("hang", "exec sleep 30\n");
    snprintf(cmd, sizeof(cmd), "%s/hang", dir);
    int64_t t0 = masd_monotonic_ms();
    CHECK_INT(send_with(&e, "x", why, 300), -EAGAIN);
    CHECK(masd_monotonic_ms() - t0 < 3000);
    CHECK(strstr(why, "did not finish") != NULL);

    /* leaves a process holding its output: the exit is what counts */
    script("daemon", "cat >/dev/null; sleep 5 & exit 0\n");
    snprintf(cmd, sizeof(cmd), "%s/daemon", dir);
    t0 = masd_monotonic_ms();
    CHECK_INT(send_with(&e, "x", why, 3000), 0);
    CHECK(masd_monotonic_ms() - t0 < 2000);

    snprintf(cmd, sizeof(cmd), "%s/missing", dir);
    CHECK_INT(send_with(&e, "x", why, 0), -EAGAIN);
    CHECK(strstr(why, "cannot run") != NULL);
    /* a name is looked up on PATH, as lettre's Command::new does */
    e.command = "masd-no-such-sendmail";
    CHECK_INT(send_with(&e, "x", why, 0), -EAGAIN);

    /* no file descriptor of ours leaks into it */
    script("fds", "[ -e /proc/$$/fd/$LEAK_FD ] && echo leaked >\"$(dirname \"$0\")/leak\"; cat >/dev/null\n");
    snprintf(cmd, sizeof(cmd), "%s/fds", dir);
    e.command = cmd;
    int leak = open("/dev/null", O_RDONLY); /* without O_CLOEXEC */
    char leak_fd[16];
    snprintf(leak_fd, sizeof(leak_fd), "%d", leak);
    setenv("LEAK_FD", leak_fd, 1);
    CHECK_INT(send_with(&e, "x", why, 0), 0);
    char *fds = slurp("leak");
    CHECK_STR(fds, "(missing)");
    free(fds);
    close(leak);

    char rm[96];
    snprintf(rm, sizeof(rm), "rm -rf %s", dir);
    CHECK_INT(system(rm), 0);

    /* blackhole: nothing is sent, and that is no failure */
    struct config_email hole = {.transport = CONFIG_EMAIL_BLACKHOLE};
    CHECK_INT(send_with(&hole, "x", why, 0), 0);
    CHECK(strstr(why, "blackhole") != NULL);
}

/* ---- SMTP against a scripted server -------------------------------------------------------- */

struct fake_smtp {
    int listener, port;
    const char *mail_reply, *rcpt_reply, *data_reply; /* "250 ok", "550 no such user", ... */
    bool close_at_greeting;
    char received[8192];
    char commands[1024];
};

static void say(int fd, const char *s)
{
    if (write(fd, s, strlen(s)) < 0)
        return;
}

static void *fake_smtp_run(void *arg)
{
    struct fake_smtp *f = arg;
    int fd = accept(f->listener, NULL, NULL);
    if (fd < 0)
        return NULL;
    if (f->close_at_greeting) {
        say(fd, "421 closing\r\n");
        close(fd);
        return NULL;
    }
    say(fd, "220 fake ESMTP\r\n");
    char buf[16384];
    size_t have = 0;
    bool data = false;
    for (;;) {
        ssize_t n = read(fd, buf + have, sizeof(buf) - have - 1);
        if (n <= 0)
            break;
        have += (size_t)n;
        buf[have] = '\0';
        char *eol;
        while (!data && (eol = strstr(buf, "\r\n"))) {
            *eol = '\0';
            size_t used_cmd = strlen(f->commands);
            snprintf(f->commands + used_cmd, sizeof(f->commands) - used_cmd, "%.200s|", buf);
            if (!strncmp(buf, "EHLO", 4))
                say(fd, "250-fake\r\n250 SIZE 1000000\r\n");
            else if (!strncmp(buf, "MAIL", 4))
                say(fd, f->mail_reply), say(fd, "\r\n");
            else if (!strncmp(buf, "RCPT", 4))
                say(fd, f->rcpt_reply), say(fd, "\r\n");
            else if (!strncmp(buf, "DATA", 4))
                say(fd, "354 go ahead\r\n"), data = true;
            else if (!strncmp(buf, "QUIT", 4))
                say(fd, "221 bye\r\n");
            else
                say(fd, "502 not implemented\r\n");
            size_t used = (size_t)(eol + 2 - buf);
            memmove(buf, eol + 2, have - used + 1);
            have -= used;
        }
        char *end;
        if (data && (end = strstr(buf, "\r\n.\r\n"))) {
            snprintf(f->received, sizeof(f->received), "%.*s", (int)(end - buf + 2), buf);
            size_t used = (size_t)(end + 5 - buf);
            memmove(buf, end + 5, have - used + 1);
            have -= used;
            data = false;
            say(fd, f->data_reply), say(fd, "\r\n");
        }
    }
    close(fd);
    return NULL;
}

static int smtp_case(struct fake_smtp *f, const char *msg, char *why)
{
    f->listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    CHECK_INT(bind(f->listener, (struct sockaddr *)&sa, sizeof(sa)), 0);
    CHECK_INT(listen(f->listener, 1), 0);
    getsockname(f->listener, (struct sockaddr *)&sa, &sl);
    pthread_t th;
    pthread_create(&th, NULL, fake_smtp_run, f);
    struct config_email e = {.transport = CONFIG_EMAIL_SMTP,
                             .mode = CONFIG_EMAIL_PLAIN,
                             .hostname = "127.0.0.1",
                             .port = ntohs(sa.sin_port)};
    int r = send_with(&e, msg, why, 5000);
    pthread_join(th, NULL);
    close(f->listener);
    return r;
}

static void test_smtp(void)
{
    char why[512];
    struct fake_smtp f = {.mail_reply = "250 ok", .rcpt_reply = "250 ok", .data_reply = "250 queued as 1"};
    CHECK_INT(smtp_case(&f, "Subject: x\r\n\r\n.\r\n..two\r\nend\r\n", why), 0);
    char host[256] = "", want[1024];
    gethostname(host, sizeof(host) - 1);
    snprintf(want, sizeof(want),
             "EHLO %s|MAIL FROM:<auth@example.com> SIZE=29|"
             "RCPT TO:<-oQ/tmp/x@xn--bcher-kva.example>|DATA|QUIT|",
             host);
    CHECK_STR(f.commands, want);
    CHECK_STR(f.received, "Subject: x\r\n\r\n..\r\n...two\r\nend\r\n"); /* dot-stuffed (RFC 5321 §4.5.2) */

    static const struct {
        const char *mail, *rcpt, *data;
        int want;
        const char *said;
    } cases[] = {
        {"250 ok", "550 5.1.1 no such user", "250 ok", -EBADMSG, "550 5.1.1 no such user"},
        {"250 ok", "451 4.3.0 try later", "250 ok", -EAGAIN, "451 4.3.0 try later"},
        {"553 5.1.8 sender refused", "250 ok", "250 ok", -EBADMSG, "553 5.1.8 sender refused"},
        {"421 4.7.0 busy", "250 ok", "250 ok", -EAGAIN, "421 4.7.0 busy"},
        {"250 ok", "250 ok", "554 5.6.0 message refused", -EBADMSG, "554 5.6.0 message refused"},
        {"250 ok", "250 ok", "452 4.3.1 out of space", -EAGAIN, "452 4.3.1 out of space"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        f = (struct fake_smtp){
            .mail_reply = cases[i].mail, .rcpt_reply = cases[i].rcpt, .data_reply = cases[i].data};
        int r = smtp_case(&f, "x\r\n", why);
        if (r != cases[i].want)
            fprintf(stderr, "smtp case %zu: %d, %s\n", i, r, why);
        CHECK_INT(r, cases[i].want);
        if (!strstr(why, cases[i].said))
            fprintf(stderr, "why: %s\n", why);
        CHECK(strstr(why, cases[i].said) != NULL);
    }
    f = (struct fake_smtp){.close_at_greeting = true};
    CHECK_INT(smtp_case(&f, "x\r\n", why), -EAGAIN);

    /* nobody listening: a failure that may pass */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    bind(s, (struct sockaddr *)&sa, sizeof(sa));
    getsockname(s, (struct sockaddr *)&sa, &sl);
    close(s);
    struct config_email e = {.transport = CONFIG_EMAIL_SMTP,
                             .mode = CONFIG_EMAIL_PLAIN,
                             .hostname = "127.0.0.1",
                             .port = ntohs(sa.sin_port)};
    CHECK_INT(send_with(&e, "x", why, 2000), -EAGAIN);
    CHECK(strstr(why, "smtp://127.0.0.1:") != NULL);
    /* STARTTLS required: a server without it is a failure, never plain text */
    f = (struct fake_smtp){.mail_reply = "250 ok", .rcpt_reply = "250 ok", .data_reply = "250 ok"};
    f.listener = socket(AF_INET, SOCK_STREAM, 0);
    sa.sin_port = 0;
    bind(f.listener, (struct sockaddr *)&sa, sizeof(sa));
    listen(f.listener, 1);
    getsockname(f.listener, (struct sockaddr *)&sa, &sl);
    pthread_t th;
    pthread_create(&th, NULL, fake_smtp_run, &f);
    e.mode = CONFIG_EMAIL_STARTTLS;
    e.port = ntohs(sa.sin_port);
    CHECK_INT(send_with(&e, "x", why, 5000), -EAGAIN);
    pthread_join(th, NULL);
    close(f.listener);
    CHECK(strstr(f.commands, "MAIL") == NULL);
}

int main(void)
{
    signal(SIGPIPE, SIG_DFL); /* the sendmail transport must not need it ignored */
    CHECK_INT(mail_global_init(), 0);
    test_structure();
    test_encoded_words();
    test_mailboxes();
    test_quoted_printable();
    test_base64_body();
    test_injection();
    test_sendmail();
    test_smtp();
    return check_report("test_mail");
}
