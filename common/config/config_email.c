/* The email section (MAS: crates/config/src/sections/email.rs EmailConfig::validate): the
 * transport (blackhole, smtp, sendmail) and the keys each one takes, checked as MAS checks them
 * (smtp needs mode and hostname, username and a password together, one of password and
 * password_file; sendmail takes only command; no key of one transport with the other), with the
 * error at the key at fault.
 *
 * Where masd differs from MAS: from and reply_to are checked whatever the transport (MAS checks
 * them when it builds its mailer, at start-up, outside `config check`); without `transport` the
 * section means blackhole and without `command` sendmail runs `sendmail` (MAS's declared
 * defaults, which its own check refuses to apply); keys that the blackhole transport does not use
 * draw a warning instead of nothing; a command with whitespace in it is refused (it names one
 * program, run without a shell; MAS would fail at the first e-mail). */
#include "config_internal.h"
#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

static const char *const transports[] = {"blackhole", "smtp", "sendmail"};
static const char *const modes[] = {"plain", "starttls", "tls"};
static const unsigned default_ports[] = {25, 587, 465}; /* lettre: SMTP, SUBMISSION, SUBMISSIONS */
static const char *const smtp_keys[] = {"mode", "hostname", "port", "username", "password", "password_file"};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static bool is_set(const struct ynode *m, const char *key)
{
    const struct ynode *v = ynode_get(m, key, NULL);
    return v && !ynode_is_null(v);
}

/* One of names, or -EINVAL at the value with the list. */
static int get_choice(struct config_loader *ld, const struct ynode *m, const char *key,
                      const char *const *names, size_t n, const char *expected, int *out)
{
    char p[CONFIG_PATH_MAX], *s = NULL;
    const struct ynode *v = ynode_get(m, key, NULL);
    int r = config_get_string_or_null(ld, v, config_subpath(p, "email", key), &s);
    if (r < 0 || !s)
        return r;
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (int)i;
            free(s);
            return 1;
        }
    char shown[96];
    config_quote_bytes(s, strlen(s), shown, sizeof(shown));
    free(s);
    return config_error(ld, v, -EINVAL, "email.%s: '%s': expected %s", key, shown, expected);
}

static int get_mailbox(struct config_loader *ld, const struct ynode *m, const char *key,
                       struct mail_mailbox *out)
{
    char p[CONFIG_PATH_MAX], *s = NULL;
    const struct ynode *v = ynode_get(m, key, NULL);
    int r = config_get_string_or_null(ld, v, config_subpath(p, "email", key), &s);
    const char *why = NULL;
    if (r >= 0 && mail_mailbox_parse(masd_str_from(s ? s : CONFIG_EMAIL_DEFAULT_FROM), out, &why) < 0) {
        char shown[96];
        config_quote_bytes(s, strlen(s), shown, sizeof(shown));
        r = config_error(ld, v, -EINVAL,
                         "email.%s: '%s': %s (expected an address such as "
                         "\"Name\" <auth@example.com>)",
                         key, shown, why);
    }
    free(s);
    return r;
}

/* username with password or password_file, or none of them; the password file's content trimmed
 * (MAS: EmailConfig::password). */
static int parse_credentials(struct config_loader *ld, const struct ynode *m, struct config_email *e)
{
    char p[CONFIG_PATH_MAX], *data = NULL;
    size_t len = 0;
    const struct ynode *where = NULL, *user_key;
    const struct ynode *user = ynode_get(m, "username", &user_key);
    int r = config_get_string_or_null(ld, user, config_subpath(p, "email", "username"), &e->username);
    const char *pkey = is_set(m, "password") ? "password" : "password_file";
    bool has_password = is_set(m, "password") || is_set(m, "password_file");
    if (r >= 0 && e->username && !has_password)
        r = config_error(ld, user_key, -EINVAL,
                         "email.username: needs email.password or email.password_file");
    if (r >= 0 && !e->username && has_password)
        r = config_error(ld, ynode_get(m, pkey, NULL), -EINVAL, "email.%s: needs email.username", pkey);
    if (r >= 0)
        r = config_get_secret(ld, m, "email", "password", true, &data, &len, &where);
    if (r >= 0 && data && where == ynode_get(m, "password_file", NULL)) {
        size_t start = 0;
        while (start < len && strchr(" \t\r\n\v\f", data[start]) && data[start])
            start++;
        while (len > start && strchr(" \t\r\n\v\f", data[len - 1]) && data[len - 1])
            len--;
        size_t whole = strlen(data);
        memmove(data, data + start, len - start);
        len -= start;
        memset(data + len, 0, whole - len); /* no copy of the password's tail left behind */
    }
    if (r >= 0 && data && (len == 0 || memchr(data, '\0', len)))
        r = config_error(ld, where, -EINVAL, "email.%s: the password is empty or holds a NUL byte",
                         where == ynode_get(m, "password_file", NULL) ? "password_file" : "password");
    if (r >= 0) {
        e->password = data;
        return r;
    }
    if (data)
        OPENSSL_cleanse(data, len);
    free(data);
    return r;
}

static int parse_smtp(struct config_loader *ld, const struct ynode *m, struct config_email *e)
{
    char p[CONFIG_PATH_MAX];
    int mode = 0;
    const struct ynode *key;
    int r = get_choice(ld, m, "mode", modes, N(modes), "plain, starttls or tls", &mode);
    if (r == 0)
        r = config_error(ld, m, -EINVAL, "email.mode: required with transport smtp (plain, starttls or tls)");
    if (r < 0)
        return r;
    e->mode = (enum config_email_mode)mode;
    const struct ynode *host = ynode_get(m, "hostname", NULL);
    if ((r = config_get_string_or_null(ld, host, config_subpath(p, "email", "hostname"), &e->hostname)) < 0)
        return r;
    const char *why;
    if (!e->hostname)
        return config_error(ld, m, -EINVAL, "email.hostname: required with transport smtp");
    if (mail_host_check(masd_str_from(e->hostname), &why) < 0) {
        char shown[96];
        config_quote_bytes(e->hostname, strlen(e->hostname), shown, sizeof(shown));
        return config_error(ld, host, -EINVAL, "email.hostname: '%s': %s", shown, why);
    }
    e->port = default_ports[mode];
    const struct ynode *port = ynode_get(m, "port", NULL);
    long long v;
    if (port && !ynode_is_null(port)) {
        if ((r = config_get_int(ld, port, "email.port", 1, 65535, &v)) < 0)
            return r;
        e->port = (unsigned)v;
    }
    if ((r = parse_credentials(ld, m, e)) < 0)
        return r;
    if (ynode_get(m, "command", &key) && is_set(m, "command"))
        return config_error(ld, key, -EINVAL, "email.command: only for transport sendmail");
    return 0;
}

static int parse_sendmail(struct config_loader *ld, const struct ynode *m, struct config_email *e)
{
    char p[CONFIG_PATH_MAX];
    const struct ynode *key, *cmd = ynode_get(m, "command", NULL);
    for (size_t i = 0; i < N(smtp_keys); i++)
        if (ynode_get(m, smtp_keys[i], &key) && is_set(m, smtp_keys[i]))
            return config_error(ld, key, -EINVAL, "email.%s: only for transport smtp", smtp_keys[i]);
    int r = config_get_string_or_null(ld, cmd, config_subpath(p, "email", "command"), &e->command);
    if (r >= 0 && !e->command && !(e->command = strdup(CONFIG_EMAIL_DEFAULT_COMMAND)))
        r = config_error(ld, NULL, -ENOMEM, "out of memory");
    if (r >= 0 && (!e->command[0] || strpbrk(e->command, " \t\r\n\v\f")))
        r = config_error(ld, cmd, -EINVAL,
                         "email.command: expected one program (a path, or a name found on PATH) without "
                         "arguments: masd runs it without a shell as COMMAND -i -f FROM -- TO");
    return r;
}

int config_email_parse(struct config_loader *ld, const struct ynode *m)
{
    struct config_email *e = &ld->cfg->email;
    static const struct ynode empty = {.kind = YNODE_MAPPING};
    if (!m || ynode_is_null(m))
        m = &empty;
    int r = config_expect_mapping(ld, m, "email", true);
    int transport = CONFIG_EMAIL_BLACKHOLE;
    if (r >= 0)
        r = get_choice(ld, m, "transport", transports, N(transports), "blackhole, smtp or sendmail",
                       &transport);
    if (r < 0)
        return r;
    e->transport = (enum config_email_transport)transport;
    if ((r = get_mailbox(ld, m, "from", &e->from)) < 0 ||
        (r = get_mailbox(ld, m, "reply_to", &e->reply_to)) < 0)
        return r;
    if (e->transport == CONFIG_EMAIL_SMTP)
        return parse_smtp(ld, m, e);
    if (e->transport == CONFIG_EMAIL_SENDMAIL)
        return parse_sendmail(ld, m, e);
    /* blackhole: what the other transports would use is ignored, and said so */
    const struct ynode *key;
    for (size_t i = 0; i <= N(smtp_keys); i++) {
        const char *k = i < N(smtp_keys) ? smtp_keys[i] : "command";
        if (ynode_get(m, k, &key) && is_set(m, k) &&
            (r = config_warning(
                 ld, key, "email.%s is ignored: email.transport is blackhole (nothing is sent)", k)) < 0)
            return r;
    }
    return 0;
}

void config_email_free(struct config_email *e)
{
    free(e->hostname);
    free(e->username);
    if (e->password)
        OPENSSL_cleanse(e->password, strlen(e->password));
    free(e->password);
    free(e->command);
    memset(e, 0, sizeof(*e));
}
