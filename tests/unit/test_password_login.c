/* The password login every login form runs (common/login/password_login.h), on both backends:
 * the per-IP limit before the lookup, the per-account limit by the name as typed and the known
 * network's exemption, user IDs of our server and of others, the lookup by e-mail address,
 * locked and deactivated accounts told apart only after a right password, one verification of
 * equal cost on every path, and the re-hash of an old scheme's password.
 *
 * Every verification is counted (password_verify and password_verify_dummy are wrapped with
 * -Wl,--wrap, tests/meson.build): a login that tells nothing must still pay for exactly one. */
#include "password_login.h"
#include "passwords.h"
#include "storage_test.h"
#include <stdlib.h>

static int n_verify, n_dummy;

int __real_password_verify(const struct config_passwords *cfg, unsigned version, const char *hash,
                           const char *password, size_t len, bool *upgrade);
int __wrap_password_verify(const struct config_passwords *cfg, unsigned version, const char *hash,
                           const char *password, size_t len, bool *upgrade);
int __real_password_verify_dummy(const struct config_passwords *cfg, const char *password, size_t len);
int __wrap_password_verify_dummy(const struct config_passwords *cfg, const char *password, size_t len);

int __wrap_password_verify(const struct config_passwords *cfg, unsigned version, const char *hash,
                           const char *password, size_t len, bool *upgrade)
{
    n_verify++;
    return __real_password_verify(cfg, version, hash, password, len, upgrade);
}

int __wrap_password_verify_dummy(const struct config_passwords *cfg, const char *password, size_t len)
{
    n_dummy++;
    return __real_password_verify_dummy(cfg, password, len);
}

#define PW "correct horse battery staple"

/* argon2id is the current scheme, bcrypt (cost 4, to be quick) an old one; small buckets that do
 * not refill during a test. */
#define CONFIG_YAML(email_allowed)                                                                           \
    "matrix:\n  homeserver: example.com\n"                                                                   \
    "passwords:\n  schemes:\n"                                                                               \
    "    - {version: 2, algorithm: argon2id}\n"                                                              \
    "    - {version: 1, algorithm: bcrypt, cost: 4}\n"                                                       \
    "account:\n  login_with_email_allowed: " email_allowed "\n"                                              \
    "rate_limiting:\n  login:\n"                                                                             \
    "    per_ip: {burst: 3, per_second: 0.0001}\n"                                                           \
    "    per_account: {burst: 3, per_second: 0.0001}\n"

static struct config *cfg;
static struct storage *st;

static struct config *load(const char *yaml)
{
    struct config *c = NULL;
    char *error = NULL;
    if (config_load_buffer("test.yaml", yaml, strlen(yaml), &c, &error) < 0) {
        fprintf(stderr, "config: %s\n", error);
        exit(1);
    }
    return c;
}

/* A user with a password hashed by `scheme` (2 the current, 1 the old one; 0 none). */
static struct storage_user make_user(const char *name, const char *password, unsigned scheme)
{
    struct storage_user u;
    struct storage_password p;
    struct config_passwords pw = cfg->passwords;
    char *hash = NULL;
    unsigned version;
    if (scheme == 1) /* the schemes are sorted highest version first */
        pw.schemes++, pw.n_schemes--;
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_user_create(tx, name, false, masd_now(), &u), 0);
    if (scheme) {
        CHECK_INT(password_hash(&pw, password, strlen(password), &hash, &version), 0);
        CHECK_INT(version, scheme);
        CHECK_INT(storage_password_add(tx, u.id, hash, version, NULL, masd_now(), &p), 0);
    }
    CHECK_INT(test_tx_end(tx, true), 0);
    free(hash);
    return u;
}

static int precheck(struct storage_tx *tx, void *arg)
{
    return password_login_precheck(tx, arg);
}

static int record(struct storage_tx *tx, void *arg)
{
    return password_login_record(tx, arg, masd_now());
}

/* One login as a caller runs it: precheck, verify when it says OK, record when verify says OK.
 * The job is left for the test to look at (password_login_clear it). */
static enum password_login_outcome login(struct password_login *j, const char *input, const char *password,
                                         const char *ip, unsigned flags)
{
    struct masd_addr client = {.family = AF_UNSPEC};
    if (ip)
        CHECK_INT(addr_parse(masd_str_from(ip), &client), 0);
    memset(j, 0, sizeof(*j));
    n_verify = n_dummy = 0;
    CHECK_INT(password_login_init(j, cfg, input, password, strlen(password), &client, flags), 0);
    if (storage_tx(st, STORAGE_TX_WRITE, precheck, j) < 0)
        return PASSWORD_LOGIN_INTERNAL;
    if (j->outcome != PASSWORD_LOGIN_OK)
        return j->outcome;
    password_login_verify(j, cfg);
    CHECK_INT(n_verify + n_dummy, 1); /* every verified login pays for one verification */
    if (j->outcome == PASSWORD_LOGIN_OK &&
        storage_tx(st, STORAGE_TX_WRITE | (j->upgrade ? STORAGE_TX_DURABLE : 0), record, j) < 0)
        return PASSWORD_LOGIN_INTERNAL;
    return j->outcome;
}

/* The outcome of a login, the job cleared. */
static enum password_login_outcome login_outcome(const char *input, const char *password, const char *ip,
                                                 unsigned flags)
{
    struct password_login j;
    enum password_login_outcome o = login(&j, input, password, ip, flags);
    password_login_clear(&j);
    return o;
}

static void test_usernames(void)
{
    struct config c = {.matrix.homeserver = (char *)"example.com"};
    char out[64];
    static const char *const cases[][2] = {
        {"alice", "alice"},
        {"@alice:example.com", "alice"},
        {"@Alice:example.com", "Alice"}, /* case is folded by the lookup */
        {"@alice:other.example", "@alice:other.example"},
        {"@alice:example.com:8448", "@alice:example.com:8448"},
        {"@:example.com", "@:example.com"},
        {"alice:example.com", "alice:example.com"},
        {" alice ", " alice "}, /* MAS trims nothing: crates/handlers/src/views/login.rs */
        {"alice@example.com", "alice@example.com"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        long n = password_login_username(&c, cases[i][0], out, sizeof(out));
        CHECK_INT(n, strlen(cases[i][1]));
        CHECK_STR(n < 0 ? "(too long)" : out, cases[i][1]);
    }
    CHECK_INT(password_login_username(&c, "0123456789012345678901234567890123456789012345678901234567890123",
                                      out, sizeof(out)),
              -ENAMETOOLONG);
    CHECK_INT(password_login_username(&c, "@012345678901234567890123456789012345678901234567890:example.com",
                                      out, sizeof(out)),
              51);
}

/* A limited address is answered before any lookup: the same for an account that exists and
 * one that does not, and no verification runs. */
static void test_per_ip_first(void)
{
    struct password_login j;
    make_user("ipuser", PW, 2);
    for (int i = 0; i < 3; i++)
        CHECK_INT(login_outcome("nobody-ip", PW, "192.0.2.1", 0), PASSWORD_LOGIN_FORBIDDEN);
    CHECK_INT(login(&j, "nobody-ip", PW, "192.0.2.1", 0), PASSWORD_LOGIN_LIMITED);
    CHECK(j.retry_after_ms > 0);
    CHECK_INT(n_verify + n_dummy, 0);
    password_login_clear(&j);
    CHECK_INT(login(&j, "ipuser", PW, "192.0.2.1", 0), PASSWORD_LOGIN_LIMITED);
    CHECK(!j.found); /* not even looked up */
    CHECK_INT(n_verify + n_dummy, 0);
    password_login_clear(&j);
    /* another address is not limited; IPv6 clients share their /64 */
    CHECK_INT(login_outcome("ipuser", PW, "192.0.2.2", 0), PASSWORD_LOGIN_OK);
    for (int i = 0; i < 3; i++)
        CHECK_INT(login_outcome("nobody-ip6", "wrong", i % 2 ? "2001:db8:1:1::1" : "2001:db8:1:1::2", 0),
                  PASSWORD_LOGIN_FORBIDDEN);
    CHECK_INT(login_outcome("nobody-ip6", "wrong", "2001:db8:1:1:ffff::3", 0), PASSWORD_LOGIN_LIMITED);
    /* without a client address every such request shares one bucket */
    for (int i = 0; i < 3; i++)
        CHECK_INT(login_outcome("nobody-noaddr", "wrong", NULL, 0), PASSWORD_LOGIN_FORBIDDEN);
    CHECK_INT(login_outcome("ipuser", PW, NULL, 0), PASSWORD_LOGIN_LIMITED);
}

/* The per-account bucket is the folded name as typed, for accounts that do not exist too; a
 * network the owner logged in from is exempt. */
static void test_per_account(void)
{
    struct password_login j;
    make_user("acct", PW, 2);
    CHECK_INT(login(&j, "acct", PW, "198.51.100.1", 0), PASSWORD_LOGIN_OK); /* the owner's network */
    password_login_clear(&j);
    CHECK_INT(login_outcome("ACCT", "wrong", "198.51.100.2", 0), PASSWORD_LOGIN_FORBIDDEN);
    CHECK_INT(login_outcome("@Acct:example.com", "wrong", "198.51.100.3", 0), PASSWORD_LOGIN_FORBIDDEN);
    CHECK_INT(login_outcome("acct", PW, "198.51.100.4", 0), PASSWORD_LOGIN_LIMITED); /* 4th in the bucket */
    CHECK_INT(login_outcome("acct", PW, "198.51.100.1", 0), PASSWORD_LOGIN_OK);      /* exempt */
    for (int i = 0; i < 3; i++)
        CHECK_INT(login_outcome(i ? "NoSuchAcct" : "nosuchacct", "x", i ? "203.0.113.1" : "203.0.113.2", 0),
                  PASSWORD_LOGIN_FORBIDDEN);
    CHECK_INT(login_outcome("nosuchacct", "x", "203.0.113.3", 0), PASSWORD_LOGIN_LIMITED);
}

/* A user ID of our server names its localpart; one of another server is looked up as it is. */
static void test_user_ids(void)
{
    struct password_login j;
    struct storage_user u = make_user("mxid", PW, 2);
    CHECK_INT(login(&j, "@mxid:example.com", PW, "192.0.2.10", 0), PASSWORD_LOGIN_OK);
    CHECK_STR(j.user.id, u.id);
    password_login_clear(&j);
    CHECK_INT(login(&j, "@mxid:other.example", PW, "192.0.2.11", PASSWORD_LOGIN_EMAIL),
              PASSWORD_LOGIN_FORBIDDEN);
    CHECK(!j.found);
    CHECK_INT(n_dummy, 1);
    password_login_clear(&j);
}

/* By e-mail address only where the caller takes them (the HTML login) and the config allows;
 * an unknown address costs the same as a known one. */
static void test_email(void)
{
    struct password_login j;
    struct storage_user u = make_user("mailer", PW, 2);
    struct storage_email e;
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_email_add(tx, u.id, "Mailer@Example.org", masd_now(), &e), 0);
    CHECK_INT(test_tx_end(tx, true), 0);
    CHECK_INT(login(&j, "mailer@example.org", PW, "192.0.2.20", PASSWORD_LOGIN_EMAIL), PASSWORD_LOGIN_OK);
    CHECK_STR(j.user.id, u.id);
    CHECK_INT(n_verify, 1);
    password_login_clear(&j);
    CHECK_INT(login_outcome("MAILER@EXAMPLE.ORG", "wrong", "192.0.2.20", PASSWORD_LOGIN_EMAIL),
              PASSWORD_LOGIN_FORBIDDEN);
    /* an unknown address: one dummy verification */
    CHECK_INT(login(&j, "nobody@example.org", PW, "192.0.2.21", PASSWORD_LOGIN_EMAIL),
              PASSWORD_LOGIN_FORBIDDEN);
    CHECK(!j.found);
    CHECK_INT(n_dummy, 1);
    password_login_clear(&j);
    /* the compat API takes no address */
    CHECK_INT(login(&j, "mailer@example.org", PW, "192.0.2.22", 0), PASSWORD_LOGIN_FORBIDDEN);
    CHECK(!j.found);
    CHECK_INT(n_dummy, 1);
    password_login_clear(&j);
    /* nor does the HTML login when account.login_with_email_allowed is false (the default) */
    struct config *on = cfg;
    cfg = load(CONFIG_YAML("false"));
    CHECK(!cfg->login_with_email_allowed);
    CHECK_INT(login(&j, "mailer@example.org", PW, "192.0.2.23", PASSWORD_LOGIN_EMAIL),
              PASSWORD_LOGIN_FORBIDDEN);
    CHECK(!j.found);
    password_login_clear(&j);
    config_free(cfg);
    cfg = on;
    /* a username is still a username with the e-mail lookup on */
    CHECK_INT(login_outcome("mailer", PW, "192.0.2.24", PASSWORD_LOGIN_EMAIL), PASSWORD_LOGIN_OK);
}

/* Locked or deactivated is told only after a right password; with a wrong one it is FORBIDDEN,
 * at the cost of one verification. Nothing is written for them. */
static void test_locked_and_deactivated(void)
{
    struct password_login j;
    struct storage_user locked = make_user("locked", PW, 1), gone = make_user("gone", PW, 2),
                        both = make_user("both", PW, 2), gone_nopw = make_user("gone-nopw", NULL, 0);
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_WRITE);
    CHECK_INT(storage_user_lock(tx, locked.id, masd_now()), 1);
    CHECK_INT(storage_user_deactivate(tx, gone.id, masd_now()), 1);
    CHECK_INT(storage_user_deactivate(tx, gone_nopw.id, masd_now()), 1);
    CHECK_INT(storage_user_lock(tx, both.id, masd_now()), 1);
    CHECK_INT(storage_user_deactivate(tx, both.id, masd_now()), 1);
    CHECK_INT(test_tx_end(tx, true), 0);

    CHECK_INT(login(&j, "locked", "wrong", "192.0.2.30", 0), PASSWORD_LOGIN_FORBIDDEN);
    CHECK_INT(n_verify, 1);
    password_login_clear(&j);
    CHECK_INT(login(&j, "locked", PW, "192.0.2.30", 0), PASSWORD_LOGIN_LOCKED);
    CHECK(!j.upgrade); /* an old scheme's hash, but the login ends here */
    password_login_clear(&j);

    CHECK_INT(login(&j, "gone", "wrong", "192.0.2.31", 0), PASSWORD_LOGIN_FORBIDDEN);
    CHECK_INT(n_verify + n_dummy, 1);
    password_login_clear(&j);
    CHECK_INT(login(&j, "gone", PW, "192.0.2.31", 0), PASSWORD_LOGIN_DEACTIVATED);
    password_login_clear(&j);
    CHECK_INT(login(&j, "both", PW, "192.0.2.31", 0), PASSWORD_LOGIN_DEACTIVATED); /* before locked */
    password_login_clear(&j);
    CHECK_INT(login(&j, "gone-nopw", PW, "192.0.2.32", 0), PASSWORD_LOGIN_FORBIDDEN);
    CHECK_INT(n_dummy, 1);
    password_login_clear(&j);

    /* no password at all: as a wrong one */
    make_user("nopw", NULL, 0);
    CHECK_INT(login(&j, "nopw", "", "192.0.2.33", 0), PASSWORD_LOGIN_FORBIDDEN);
    CHECK(j.found && j.dummy);
    CHECK_INT(n_dummy, 1);
    password_login_clear(&j);

    tx = test_tx_begin(st, STORAGE_TX_READ);
    CHECK_INT(storage_login_network_known(tx, locked.id, "192.0.2.30", 0), 0);
    CHECK_INT(storage_login_network_known(tx, gone.id, "192.0.2.31", 0), 0);
    test_tx_end(tx, true);
}

/* A right password stored under an old scheme is re-hashed with the current one, the new row
 * pointing at the old; the network is recorded. */
static void test_upgrade(void)
{
    struct password_login j;
    struct storage_password before, after;
    struct storage_user u = make_user("upgrader", PW, 1);
    struct storage_tx *tx = test_tx_begin(st, STORAGE_TX_READ);
    CHECK_INT(storage_password_get_active(tx, u.id, &before), 0);
    test_tx_end(tx, true);
    CHECK_INT(login(&j, "upgrader", "wrong", "192.0.2.40", 0), PASSWORD_LOGIN_FORBIDDEN);
    CHECK(!j.upgrade);
    password_login_clear(&j);
    CHECK_INT(login(&j, "upgrader", PW, "192.0.2.40", 0), PASSWORD_LOGIN_OK);
    CHECK(j.upgrade);
    CHECK_INT(j.new_version, 2);
    tx = test_tx_begin(st, STORAGE_TX_READ);
    CHECK_INT(storage_password_get_active(tx, u.id, &after), 0);
    CHECK_INT(after.version, 2);
    CHECK_STR(after.upgraded_from, before.id);
    CHECK_STR(password_login_password_id(&j), after.id);
    CHECK_INT(storage_login_network_known(tx, u.id, "192.0.2.40", 0), 1);
    test_tx_end(tx, true);
    password_login_clear(&j);
    /* once is enough */
    CHECK_INT(login(&j, "upgrader", PW, "192.0.2.40", 0), PASSWORD_LOGIN_OK);
    CHECK(!j.upgrade);
    CHECK_STR(password_login_password_id(&j), after.id);
    password_login_clear(&j);
}

static void run(enum storage_backend b, const char *uri)
{
    st = test_open(uri);
    test_per_ip_first();
    test_per_account();
    test_user_ids();
    test_email();
    test_locked_and_deactivated();
    test_upgrade();
    storage_close(st);
}

int main(void)
{
    test_init();
    test_usernames();
    cfg = load(CONFIG_YAML("true"));
    test_each_backend("login", run);
    config_free(cfg);
    return check_report(__FILE__);
}
