/* The email section (common/config/config_email.c): MAS's defaults, each transport with the keys
 * it takes and the ports lettre would pick, the password from a file, and every error at its line
 * and column. */
#include "config_check.h"
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_defaults(void)
{
    struct config *cfg = load("");
    CHECK_INT(cfg->email.transport, CONFIG_EMAIL_BLACKHOLE);
    CHECK_STR(cfg->email.from.name, "Authentication Service");
    CHECK_STR(cfg->email.from.addr.ascii, "root@localhost");
    CHECK_STR(cfg->email.reply_to.name, "Authentication Service");
    CHECK_STR(cfg->email.reply_to.addr.ascii, "root@localhost");
    CHECK(cfg->email.hostname == NULL);
    CHECK(cfg->email.command == NULL);
    CHECK_INT(cfg->n_warnings, 0);
    config_free(cfg);
    cfg = load("email: ~\n");
    CHECK_INT(cfg->email.transport, CONFIG_EMAIL_BLACKHOLE);
    config_free(cfg);
    /* MAS's documented example */
    cfg = load("email:\n  from: '\"The almighty auth service\" <auth@example.com>'\n"
               "  reply_to: '\"No reply\" <no-reply@example.com>'\n  transport: blackhole\n");
    CHECK_INT(cfg->email.transport, CONFIG_EMAIL_BLACKHOLE);
    CHECK_STR(cfg->email.from.name, "The almighty auth service");
    CHECK_STR(cfg->email.from.addr.text, "auth@example.com");
    CHECK_STR(cfg->email.reply_to.name, "No reply");
    CHECK_STR(cfg->email.reply_to.addr.text, "no-reply@example.com");
    CHECK_INT(cfg->n_warnings, 0);
    config_free(cfg);
    /* without transport: blackhole, and what it does not use is said to be ignored */
    cfg = load("email:\n  from: auth@example.com\n  hostname: smtp.example.com\n  command: sendmail\n");
    CHECK_INT(cfg->email.transport, CONFIG_EMAIL_BLACKHOLE);
    CHECK_STR(cfg->email.from.name, "");
    CHECK_STR(cfg->email.reply_to.addr.ascii, "root@localhost");
    CHECK_INT(cfg->n_warnings, 2);
    if (cfg->n_warnings == 2) {
        CHECK_STR(cfg->warnings[0],
                  "config.yaml:3:3: email.hostname is ignored: email.transport is blackhole "
                  "(nothing is sent)");
        CHECK_STR(cfg->warnings[1], "config.yaml:4:3: email.command is ignored: email.transport is blackhole "
                                    "(nothing is sent)");
    }
    config_free(cfg);
}

static void test_smtp(void)
{
    static const struct {
        const char *mode;
        enum config_email_mode want;
        unsigned port;
    } modes[] = {{"plain", CONFIG_EMAIL_PLAIN, 25},
                 {"starttls", CONFIG_EMAIL_STARTTLS, 587},
                 {"tls", CONFIG_EMAIL_TLS, 465}};
    for (size_t i = 0; i < 3; i++) {
        char yaml[256];
        snprintf(yaml, sizeof(yaml), "email:\n  transport: smtp\n  mode: %s\n  hostname: smtp.example.com\n",
                 modes[i].mode);
        struct config *cfg = load(yaml);
        CHECK_INT(cfg->email.transport, CONFIG_EMAIL_SMTP);
        CHECK_INT(cfg->email.mode, modes[i].want);
        CHECK_INT(cfg->email.port, modes[i].port);
        CHECK_STR(cfg->email.hostname, "smtp.example.com");
        CHECK(cfg->email.username == NULL && cfg->email.password == NULL);
        config_free(cfg);
    }
    struct config *cfg = load("email:\n  transport: smtp\n  mode: starttls\n  hostname: 192.0.2.25\n"
                              "  port: 2525\n  username: masd\n  password: ' s3cret '\n"
                              "  from: Jürgen <auth@bücher.example>\n");
    CHECK_INT(cfg->email.port, 2525);
    CHECK_STR(cfg->email.hostname, "192.0.2.25");
    CHECK_STR(cfg->email.username, "masd");
    CHECK_STR(cfg->email.password, " s3cret "); /* inline: as written */
    CHECK_STR(cfg->email.from.name, "Jürgen");
    CHECK_STR(cfg->email.from.addr.ascii, "auth@xn--bcher-kva.example");
    config_free(cfg);
    cfg = load("email:\n  transport: smtp\n  mode: tls\n  hostname: '::1'\n  port: ~\n");
    CHECK_STR(cfg->email.hostname, "::1");
    CHECK_INT(cfg->email.port, 465);
    config_free(cfg);

    /* password_file: trimmed (MAS), relative to the config's directory; not read without secrets */
    char dir[] = "/tmp/masd-test-email-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char pw[300], conf[300];
    snprintf(pw, sizeof(pw), "%s/smtp-password", dir);
    snprintf(conf, sizeof(conf), "%s/config.yaml", dir);
    FILE *f = fopen(pw, "w");
    CHECK(f != NULL);
    fputs("\n  pa ss\t\n\n", f);
    fclose(f);
    f = fopen(conf, "w");
    fputs("email:\n  transport: smtp\n  mode: plain\n  hostname: localhost\n  username: u\n"
          "  password_file: smtp-password\n",
          f);
    fclose(f);
    char *err = NULL;
    CHECK_INT(config_load(conf, &cfg, &err), 0);
    CHECK(err == NULL);
    CHECK_STR(cfg->email.password, "pa ss");
    config_free(cfg);
    CHECK_INT(config_load_flags(conf, CONFIG_NO_SECRETS, &cfg, &err), 0);
    CHECK(cfg->email.password == NULL);
    CHECK_STR(cfg->email.username, "u");
    config_free(cfg);
    f = fopen(pw, "w");
    fputs(" \n", f);
    fclose(f);
    CHECK_INT(config_load(conf, &cfg, &err), -EINVAL);
    char want[1024];
    snprintf(want, sizeof(want), "%s:6:18: email.password_file: the password is empty or holds a NUL byte",
             conf);
    CHECK_STR(err, want);
    free(err);
    unlink(pw);
    CHECK_INT(config_load(conf, &cfg, &err), -ENOENT);
    snprintf(want, sizeof(want),
             "%s:6:18: email.password_file: cannot read 'smtp-password' (%s): No such file or directory",
             conf, pw);
    CHECK_STR(err, want);
    free(err);
    unlink(conf);
    rmdir(dir);
}

static void test_sendmail(void)
{
    struct config *cfg = load("email:\n  transport: sendmail\n");
    CHECK_INT(cfg->email.transport, CONFIG_EMAIL_SENDMAIL);
    CHECK_STR(cfg->email.command, "sendmail");
    config_free(cfg);
    cfg = load("email:\n  transport: sendmail\n  command: /usr/sbin/sendmail\n  from: a@b.example\n");
    CHECK_STR(cfg->email.command, "/usr/sbin/sendmail");
    CHECK(cfg->email.hostname == NULL);
    config_free(cfg);
}

static void test_errors(void)
{
    CHECK_ERROR("email: [1]\n", "config.yaml:1:8: email: expected a mapping, found a list");
    CHECK_ERROR("email:\n  transport: postfix\n",
                "config.yaml:2:14: email.transport: 'postfix': expected blackhole, smtp or sendmail");
    CHECK_ERROR("email:\n  transport: [smtp]\n", "config.yaml:2:14: email.transport: expected a string");
    CHECK_ERROR("email:\n  bcc: x@example.com\n", "config.yaml:2:3: unknown key 'email.bcc'");
    /* from and reply_to: a mailbox, whatever the transport; no header can ride along */
    CHECK_ERROR("email:\n  from: not an address\n",
                "config.yaml:2:9: email.from: 'not an address': an address needs an @ (expected an address "
                "such as \"Name\" <auth@example.com>)");
    CHECK_ERROR("email:\n  reply_to: \"a@example.com\\r\\nBcc: eve@evil.example\"\n",
                "config.yaml:2:13: email.reply_to: 'a@example.com\\x0d\\x0aBcc: eve@evil.example': a control "
                "character (a line break, a tab) in the address (expected an address such as \"Name\" "
                "<auth@example.com>)");
    CHECK_ERROR("email:\n  from: \"\\\"Evil\\nBcc: e@x.y\\\" <a@b.c>\"\n",
                "config.yaml:2:9: email.from: '\"Evil\\x0aBcc: e@x.y\" <a@b.c>': a control character (a line "
                "break, a tab) in the address (expected an address such as \"Name\" <auth@example.com>)");
    CHECK_ERROR(
        "email:\n  from: 'Doe, J. <j@example.com>'\n",
        "config.yaml:2:9: email.from: 'Doe, J. <j@example.com>': a character in the display name that "
        "needs quoting: write it as \"Name\" <user@example.com> (expected an address such as \"Name\" "
        "<auth@example.com>)");
    CHECK_ERROR("email:\n  from: {a: 1}\n", "config.yaml:2:9: email.from: expected a string");
    /* smtp: what it needs, what it refuses */
    CHECK_ERROR("email:\n  transport: smtp\n  hostname: smtp.example.com\n",
                "config.yaml:2:3: email.mode: required with transport smtp (plain, starttls or tls)");
    CHECK_ERROR("email:\n  transport: smtp\n  mode: ssl\n  hostname: x\n",
                "config.yaml:3:9: email.mode: 'ssl': expected plain, starttls or tls");
    CHECK_ERROR("email:\n  transport: smtp\n  mode: tls\n",
                "config.yaml:2:3: email.hostname: required with transport smtp");
    CHECK_ERROR("email:\n  transport: smtp\n  mode: tls\n  hostname: 'smtp.example.com/x'\n",
                "config.yaml:4:13: email.hostname: 'smtp.example.com/x': a character that is not allowed in "
                "a domain");
    CHECK_ERROR("email:\n  transport: smtp\n  mode: tls\n  hostname: 'user@smtp.example.com'\n",
                "config.yaml:4:13: email.hostname: 'user@smtp.example.com': a character that is not allowed "
                "in a domain");
    CHECK_ERROR("email:\n  transport: smtp\n  mode: tls\n  hostname: x\n  port: 0\n",
                "config.yaml:5:9: email.port: 0 is out of range (1 to 65535)");
    CHECK_ERROR("email:\n  transport: smtp\n  mode: tls\n  hostname: x\n  port: 65536\n",
                "config.yaml:5:9: email.port: 65536 is out of range (1 to 65535)");
    CHECK_ERROR("email:\n  transport: smtp\n  mode: tls\n  hostname: x\n  port: smtp\n",
                "config.yaml:5:9: email.port: expected an integer");
    CHECK_ERROR("email:\n  transport: smtp\n  mode: tls\n  hostname: x\n  username: u\n",
                "config.yaml:5:3: email.username: needs email.password or email.password_file");
    CHECK_ERROR("email:\n  transport: smtp\n  mode: tls\n  hostname: x\n  password: p\n",
                "config.yaml:5:13: email.password: needs email.username");
    CHECK_ERROR("email:\n  transport: smtp\n  mode: tls\n  hostname: x\n  password_file: /nonexistent\n",
                "config.yaml:5:18: email.password_file: needs email.username");
    CHECK_ERROR("email:\n  transport: smtp\n  mode: tls\n  hostname: x\n  username: u\n  password: p\n"
                "  password_file: f\n",
                "config.yaml:7:3: email: set either password or password_file, not both");
    CHECK_ERROR("email:\n  transport: smtp\n  mode: tls\n  hostname: x\n  username: u\n  password: ''\n",
                "config.yaml:6:13: email.password: the password is empty or holds a NUL byte");
    CHECK_ERROR("email:\n  transport: smtp\n  mode: tls\n  hostname: x\n  command: sendmail\n",
                "config.yaml:5:3: email.command: only for transport sendmail");
    /* sendmail: only command */
    CHECK_ERROR("email:\n  transport: sendmail\n  hostname: x\n",
                "config.yaml:3:3: email.hostname: only for transport smtp");
    CHECK_ERROR("email:\n  transport: sendmail\n  command: sendmail\n  port: 25\n",
                "config.yaml:4:3: email.port: only for transport smtp");
    CHECK_ERROR("email:\n  transport: sendmail\n  password_file: /x\n",
                "config.yaml:3:3: email.password_file: only for transport smtp");
    CHECK_ERROR("email:\n  transport: sendmail\n  command: /usr/sbin/sendmail -t\n",
                "config.yaml:3:12: email.command: expected one program (a path, or a name found on PATH) "
                "without arguments: masd runs it without a shell as COMMAND -i -f FROM -- TO");
    CHECK_ERROR("email:\n  transport: sendmail\n  command: ''\n",
                "config.yaml:3:12: email.command: expected one program (a path, or a name found on PATH) "
                "without arguments: masd runs it without a shell as COMMAND -i -f FROM -- TO");
}

int main(void)
{
    test_defaults();
    test_smtp();
    test_sendmail();
    test_errors();
    return check_report("test_config_email");
}
