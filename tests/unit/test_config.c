/* config.yaml as MAS writes it: every bind kind and resource option, MAS's defaults, keys and
 * TLS material, and every error with its exact line and column. Runs in tests/unit (data/). */
#include "config_check.h"
#include "config.h"
#include "yaml_tree.h"
#include "oauth.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool cidr_is(const struct masd_cidr *c, const char *text)
{
    struct masd_cidr want;
    return cidr_parse(masd_str_from(text), &want) == 0 && want.family == c->family &&
           want.prefix == c->prefix && memcmp(want.bytes, c->bytes, sizeof(want.bytes)) == 0;
}

/* The start of a config with one listener; tests append the rest of the listener. */
#define HTTP  "http:\n  public_base: https://auth.example.com/\n  listeners:\n"
#define RES   "    - resources: [{name: discovery}]\n"
#define BINDS "      binds: [{address: \"[::]:8080\"}]\n"
/* A second listener's binds: two listeners cannot share an address. */
#define BINDS2 "      binds: [{address: \"[::]:8081\"}]\n"

static void test_defaults_without_http(void)
{
    struct config *cfg = load("");
    CHECK_STR(cfg->path, "config.yaml");
    CHECK_STR(cfg->public_base, "http://[::]:8080/");
    CHECK_STR(cfg->issuer, "http://[::]:8080/");
    CHECK_INT(cfg->n_trusted_proxies, 6);
    CHECK(cidr_is(&cfg->trusted_proxies[0], "192.168.0.0/16"));
    CHECK(cidr_is(&cfg->trusted_proxies[1], "172.16.0.0/12"));
    CHECK(cidr_is(&cfg->trusted_proxies[2], "10.0.0.0/10"));
    CHECK(cidr_is(&cfg->trusted_proxies[3], "127.0.0.0/8"));
    CHECK(cidr_is(&cfg->trusted_proxies[4], "fd00::/8"));
    CHECK(cidr_is(&cfg->trusted_proxies[5], "::1/128"));
    CHECK_INT(cfg->n_listeners, 2);
    const struct config_listener *web = &cfg->listeners[0], *internal = &cfg->listeners[1];
    CHECK_STR(web->name, "web");
    CHECK_INT(web->n_resources, 6);
    const char *names[] = {"discovery", "human", "oauth", "compat", "graphql", "assets"};
    for (size_t i = 0; i < 6 && i < web->n_resources; i++)
        CHECK_STR(web->resources[i].name, names[i]);
    CHECK(!config_listener_resource(web, "graphql")->playground);
    CHECK(!config_listener_resource(web, "graphql")->undocumented_oauth2_access);
    CHECK_STR(config_listener_resource(web, "assets")->path, "./frontend/dist/");
    CHECK(config_listener_resource(web, "health") == NULL);
    CHECK_INT(web->n_binds, 1);
    CHECK_INT(web->binds[0].kind, BIND_ADDRESS);
    CHECK_STR(web->binds[0].address, "[::]:8080");
    CHECK(web->prefix == NULL && web->tls == NULL && !web->proxy_protocol && !web->http2);
    CHECK_STR(internal->name, "internal");
    CHECK_INT(internal->n_resources, 1);
    CHECK_STR(internal->resources[0].name, "health");
    CHECK_INT(internal->n_binds, 1);
    CHECK_INT(internal->binds[0].kind, BIND_HOST_PORT);
    CHECK_STR(internal->binds[0].host, "localhost");
    CHECK_INT(internal->binds[0].port, 8081);
    CHECK(!cfg->password_registration_enabled);
    CHECK(cfg->device_code_grant_enabled);
    CHECK(!cfg->login_with_email_allowed);
    /* MAS's account defaults */
    CHECK(cfg->password_registration_email_required && !cfg->registration_token_required &&
          !cfg->password_recovery_enabled && cfg->password_change_allowed && cfg->email_change_allowed &&
          cfg->displayname_change_allowed && cfg->account_deactivation_allowed);
    CHECK(!cfg->branding.service_name && !cfg->branding.policy_uri && !cfg->branding.tos_uri &&
          !cfg->branding.imprint);
    CHECK_INT(cfg->n_keys, 0);
    CHECK_INT(cfg->n_warnings, 0);
    config_free(cfg);

    /* a document that is only a comment, or null, is empty too */
    cfg = load("# nothing here\n");
    CHECK_INT(cfg->n_listeners, 2);
    config_free(cfg);
    cfg = load("~\n");
    CHECK_INT(cfg->n_listeners, 2);
    config_free(cfg);
}

static void test_public_base_and_issuer(void)
{
    struct config *cfg = load("http:\n  public_base: https://auth.example.com/mas\n");
    CHECK_STR(cfg->public_base, "https://auth.example.com/mas/");
    CHECK_STR(cfg->issuer, "https://auth.example.com/mas/");
    CHECK_INT(cfg->n_listeners, 0); /* http present without listeners: none, as in MAS */
    CHECK_INT(cfg->n_trusted_proxies, 6);
    config_free(cfg);

    cfg = load("http:\n  public_base: HTTPS://Auth.Example.COM:443\n  issuer: https://example.com\n");
    CHECK_STR(cfg->public_base, "https://auth.example.com/");
    CHECK_STR(cfg->issuer, "https://example.com/");
    config_free(cfg);

    cfg = load("http:\n  public_base: http://[0:0::1]:80/a/\n  issuer: http://example.com:8080/x\n");
    CHECK_STR(cfg->public_base, "http://[::1]/a/");
    CHECK_STR(cfg->issuer, "http://example.com:8080/x");
    config_free(cfg);

    cfg = load("http:\n  public_base: http://localhost:8080/\n  issuer: ~\n");
    CHECK_STR(cfg->public_base, "http://localhost:8080/");
    CHECK_STR(cfg->issuer, "http://localhost:8080/");
    config_free(cfg);

    CHECK_ERROR("database: {}\nhttp:\n  listeners: []\n",
                "config.yaml:2:1: http.public_base is required when the http section is present");
    CHECK_ERROR("http:\n", "config.yaml:1:1: http.public_base is required when the http section is present");
    CHECK_ERROR("http:\n  public_base: https://a.example/?x=1\n",
                "config.yaml:2:16: http.public_base: the URL must not have a query ('?')");
    CHECK_ERROR("http:\n  public_base: https://a.example/#top\n",
                "config.yaml:2:16: http.public_base: the URL must not have a fragment ('#')");
    CHECK_ERROR("http:\n  public_base: https://user:pw@a.example/\n",
                "config.yaml:2:16: http.public_base: the URL must not contain a user name or password");
    CHECK_ERROR("http:\n  public_base: ftp://a.example/\n",
                "config.yaml:2:16: http.public_base: the URL is not an absolute http:// or https:// URL");
    CHECK_ERROR("http:\n  public_base: /relative\n",
                "config.yaml:2:16: http.public_base: the URL is not an absolute http:// or https:// URL");
    CHECK_ERROR("http:\n  public_base: https://a.example:99999/\n",
                "config.yaml:2:16: http.public_base: the URL has a port above 65535");
    CHECK_ERROR(
        "http:\n  public_base: \"https://a example/\"\n",
        "config.yaml:2:16: http.public_base: the URL has a host name with a character other than letters, "
        "digits, '-', '.', '_', '~'");
    CHECK_ERROR("http:\n  public_base: https://a.example/a b\n",
                "config.yaml:2:16: http.public_base: the URL has a character that must be percent-encoded");
    CHECK_ERROR("http:\n  public_base: https://a.example/../b\n",
                "config.yaml:2:16: http.public_base: the URL must not contain '.' or '..' path segments");
    CHECK_ERROR("http:\n  public_base: https://[::g]/\n",
                "config.yaml:2:16: http.public_base: the URL has an invalid IPv6 host");
    CHECK_ERROR("http:\n  public_base: [https://a.example/]\n",
                "config.yaml:2:16: http.public_base: expected a URL");
    CHECK_ERROR("http:\n  public_base: \"https://a.example/\\0\"\n",
                "config.yaml:2:16: http.public_base: expected a URL");
    CHECK_ERROR("http:\n  public_base: https://a.example/\n  issuer: https://a.example/?q\n",
                "config.yaml:3:11: http.issuer: the URL must not have a query ('?')");
    CHECK_ERROR("http: [1]\n", "config.yaml:1:7: http: expected a mapping, found a list");
}

/* The placeholder of `masctl config generate` (and MAS's default) is valid, with a warning. */
static void test_placeholder_public_base(void)
{
    static const char *const placeholders[] = {"http://[::]:8080/", "http://0.0.0.0:8080/",
                                               "https://[0::0]/mas/"};
    for (size_t i = 0; i < 3; i++) {
        char yaml[128], want[512];
        snprintf(yaml, sizeof(yaml), "http:\n  public_base: %s\n", placeholders[i]);
        struct config *cfg = load(yaml);
        CHECK_INT(cfg->n_warnings, 1);
        snprintf(want, sizeof(want),
                 "config.yaml:2:16: http.public_base: %s is a placeholder: no client can reach an "
                 "unspecified address. Set the URL clients and the homeserver use to reach masd (for "
                 "example https://auth.example.com/)",
                 cfg->public_base);
        CHECK_STR(cfg->n_warnings ? cfg->warnings[0] : NULL, want);
        config_free(cfg);
    }
    static const char *const reachable[] = {"http://[::1]:8080/", "http://127.0.0.1/", "https://a.example/",
                                            "http://[::2]/", "http://0.0.0.1/"};
    for (size_t i = 0; i < 5; i++) {
        char yaml[128];
        snprintf(yaml, sizeof(yaml), "http:\n  public_base: %s\n", reachable[i]);
        struct config *cfg = load(yaml);
        CHECK_INT(cfg->n_warnings, 0);
        config_free(cfg);
    }
}

/* Two binds on one address, in one listener or in two (of any binaries): refused at load with
 * both positions. */
static void test_bind_clashes(void)
{
#define L(name, binds) "    - name: " name "\n      resources: [{name: discovery}]\n      binds: " binds "\n"
    CHECK_ERROR(HTTP L("a", "[{address: \"127.0.0.1:8080\"}]") L("b", "[{address: \"127.0.0.1:8080\"}]"),
                "config.yaml:9:15: http.listeners[1].binds[0]: address 127.0.0.1:8080 takes the address of "
                "address 127.0.0.1:8080 of listener 'a' (config.yaml:6:15): two binds cannot listen on one "
                "address");
    CHECK_ERROR(
        HTTP L("a", "[{port: 9000}]") "    - resources: [{name: assets}]\n      binds: [{address: "
                                      "\"[::1]:9000\"}]\n",
        "config.yaml:8:15: http.listeners[1].binds[0]: address [::1]:9000 takes the address of host "
        "(every address) port 9000 of listener 'a' (config.yaml:6:15): two binds cannot listen on one "
        "address");
    CHECK_ERROR(HTTP L("a", "[{address: \"[::]:80\"}]") L("b", "[{address: \"10.0.0.1:80\"}]"),
                "config.yaml:9:15: http.listeners[1].binds[0]: address 10.0.0.1:80 takes the address of "
                "address [::]:80 of listener 'a' (config.yaml:6:15): two binds cannot listen on one address");
    CHECK_ERROR(
        HTTP L("a", "[{address: \"10.0.0.1:80\"}, {address: \"0.0.0.0:80\"}]"),
        "config.yaml:6:41: http.listeners[0].binds[1]: address 0.0.0.0:80 takes the address of address "
        "10.0.0.1:80 of listener 'a' (config.yaml:6:15): two binds cannot listen on one address");
    CHECK_ERROR(
        HTTP L("a", "[{host: Localhost, port: 81}]") L("b", "[{host: localhost, port: 81}]"),
        "config.yaml:9:15: http.listeners[1].binds[0]: host localhost port 81 takes the address of host "
        "Localhost port 81 of listener 'a' (config.yaml:6:15): two binds cannot listen on one address");
    CHECK_ERROR(HTTP L("a", "[{socket: /run/masd/x.sock}]") L("b", "[{socket: /run/masd/x.sock}]"),
                "config.yaml:9:15: http.listeners[1].binds[0]: socket /run/masd/x.sock takes the address of "
                "socket /run/masd/x.sock of listener 'a' (config.yaml:6:15): two binds cannot listen on one "
                "address");
    /* Different addresses, ports, families; ephemeral ports; passed sockets: all fine. */
    struct config *cfg = load(
        HTTP L("a", "[{address: \"127.0.0.1:80\"}, {address: \"127.0.0.2:80\"}, {address: \"[::1]:80\"}, "
                    "{address: \"0.0.0.0:81\"}, {address: \"[::1]:81\"}]")
            L("b", "[{address: \"127.0.0.1:0\"}, {port: 0}, {fd: 0}, {fd_name: x}, {socket: /run/a.sock}]")
                L("c", "[{fd: 0}, {fd_name: x}, {socket: /run/b.sock}, {host: localhost, port: 82}, "
                       "{host: example.com, port: 82}]"));
    CHECK_INT(cfg->n_listeners, 3);
    config_free(cfg);
#undef L
}

static void test_trusted_proxies(void)
{
    struct config *cfg =
        load("http:\n  public_base: https://a.example/\n  trusted_proxies:\n    - 10.0.0.0/8\n"
             "    - 2001:db8::/32\n    - 192.0.2.7\n");
    CHECK_INT(cfg->n_trusted_proxies, 3);
    CHECK(cidr_is(&cfg->trusted_proxies[0], "10.0.0.0/8"));
    CHECK(cidr_is(&cfg->trusted_proxies[1], "2001:db8::/32"));
    CHECK(cidr_is(&cfg->trusted_proxies[2], "192.0.2.7/32"));
    config_free(cfg);

    cfg = load("http:\n  public_base: https://a.example/\n  trusted_proxies: []\n");
    CHECK_INT(cfg->n_trusted_proxies, 0);
    config_free(cfg);

    /* MAS reads "127.0.0.1/8" as 127.0.0.0/8; configs written for it load unchanged. */
    cfg = load("http:\n  public_base: https://a.example/\n  trusted_proxies: [127.0.0.1/8]\n");
    CHECK(cidr_is(&cfg->trusted_proxies[0], "127.0.0.0/8"));
    config_free(cfg);

    CHECK_ERROR("http:\n  public_base: https://a.example/\n  trusted_proxies: [10.0.0.0/33]\n",
                "config.yaml:3:21: http.trusted_proxies[0]: '10.0.0.0/33' is not an IP range "
                "(address/prefix-length, e.g. 10.0.0.0/8)");
    CHECK_ERROR("http:\n  public_base: https://a.example/\n  trusted_proxies: [{a: 1}]\n",
                "config.yaml:3:21: http.trusted_proxies[0]: expected an IP range such as 10.0.0.0/8");
    CHECK_ERROR("http:\n  public_base: https://a.example/\n  trusted_proxies: 10.0.0.0/8\n",
                "config.yaml:3:20: http.trusted_proxies: expected a list, found a scalar");
}

static void test_bind_kinds(void)
{
    struct config *cfg = load(HTTP RES "      binds:\n"
                                       "        - address: \"[::1]:8080\"\n"
                                       "        - address: 0.0.0.0:80\n"
                                       "        - host: localhost\n          port: 8081\n"
                                       "        - port: 0x1F92\n"
                                       "        - {host: ~, port: 9000}\n"
                                       "        - socket: /run/masd/web.sock\n          mode: \"660\"\n"
                                       "        - {socket: /run/a.sock, mode: \"0600\"}\n"
                                       "        - {socket: /run/b.sock, mode: 660}\n"
                                       "        - {socket: /run/c.sock, mode: 0o640}\n"
                                       "        - socket: /run/d.sock\n"
                                       "        - fd: 1\n          kind: unix\n"
                                       "        - fd: 0\n"
                                       "        - kind: tcp\n"
                                       "        - fd_name: masd-discovery\n"
                                       "        - {fd_name: masd-web, kind: unix}\n");
    const struct config_listener *l = &cfg->listeners[0];
    CHECK_INT(l->n_binds, 15);
    const struct config_bind *b = l->binds;
    CHECK_INT(b[0].kind, BIND_ADDRESS);
    CHECK_STR(b[0].address, "[::1]:8080");
    CHECK_INT(b[0].pos.line, 6);
    CHECK_INT(b[0].pos.column, 11);
    CHECK_STR(b[1].address, "0.0.0.0:80");
    CHECK_INT(b[2].kind, BIND_HOST_PORT);
    CHECK_STR(b[2].host, "localhost");
    CHECK_INT(b[2].port, 8081);
    CHECK_INT(b[3].kind, BIND_HOST_PORT);
    CHECK(b[3].host == NULL);
    CHECK_INT(b[3].port, 8082);
    CHECK(b[4].host == NULL);
    CHECK_INT(b[4].port, 9000);
    CHECK_INT(b[5].kind, BIND_SOCKET);
    CHECK_STR(b[5].socket, "/run/masd/web.sock");
    CHECK_INT(b[5].mode, 0660);
    CHECK_INT(b[6].mode, 0600);
    CHECK_INT(b[7].mode, 0660);
    CHECK_INT(b[8].mode, 0640);
    CHECK_INT(b[9].mode, -1);
    CHECK_INT(b[10].kind, BIND_FD);
    CHECK_INT(b[10].fd, 1);
    CHECK_INT(b[10].socket_kind, BIND_SOCKET_UNIX);
    CHECK_INT(b[11].kind, BIND_FD);
    CHECK_INT(b[11].fd, 0);
    CHECK_INT(b[11].socket_kind, BIND_SOCKET_TCP);
    CHECK_INT(b[12].kind, BIND_FD); /* kind alone: MAS's fd defaults to 0 */
    CHECK_INT(b[12].fd, 0);
    CHECK_INT(b[12].socket_kind, BIND_SOCKET_TCP);
    CHECK_INT(b[13].kind, BIND_FD_NAME);
    CHECK_STR(b[13].fd_name, "masd-discovery");
    CHECK_INT(b[13].socket_kind, BIND_SOCKET_ANY);
    CHECK_STR(b[14].fd_name, "masd-web");
    CHECK_INT(b[14].socket_kind, BIND_SOCKET_UNIX);
    config_free(cfg);
}

static void test_bind_errors(void)
{
    CHECK_ERROR(HTTP RES "      binds:\n        - host: localhost\n          port: 70000\n",
                "config.yaml:7:17: http.listeners[0].binds[0].port: 70000 is not a port number (0 to 65535)");
    CHECK_ERROR(HTTP RES "      binds: [{port: -1}]\n",
                "config.yaml:5:22: http.listeners[0].binds[0].port: -1 is not a port number (0 to 65535)");
    CHECK_ERROR(HTTP RES "      binds: [{port: \"8080\"}]\n",
                "config.yaml:5:22: http.listeners[0].binds[0].port: expected a port number (0 to 65535)");
    CHECK_ERROR(HTTP RES "      binds: [{host: localhost}]\n",
                "config.yaml:5:15: http.listeners[0].binds[0]: port is required with host");
    CHECK_ERROR(HTTP RES "      binds: [{host: \"\", port: 1}]\n",
                "config.yaml:5:22: http.listeners[0].binds[0].host: must not be empty");
    static const char *const bad_addresses[] = {"localhost:8080",   "\"::1:8080\"",   "\"[::1]\"",
                                                "1.2.3.4:99999",    "1.2.3.4",        "\"[::1]:\"",
                                                "\"[1.2.3.4]:80\"", "\"1.2.3.4:+80\""};
    for (size_t i = 0; i < sizeof(bad_addresses) / sizeof(bad_addresses[0]); i++) {
        char yaml[512];
        snprintf(yaml, sizeof(yaml), HTTP RES "      binds: [{address: %s}]\n", bad_addresses[i]);
        CHECK_ERROR(yaml,
                    "config.yaml:5:25: http.listeners[0].binds[0].address: expected an IP address and port "
                    "such as \"[::]:8080\" or \"0.0.0.0:8080\" (no host name; IPv6 in brackets)");
    }
    static const char *const bad_modes[] = {"\"999\"", "\"0o1000\"", "abc", "1777", "\"\"", "[1]", "\"-1\""};
    for (size_t i = 0; i < sizeof(bad_modes) / sizeof(bad_modes[0]); i++) {
        char yaml[512];
        snprintf(yaml, sizeof(yaml),
                 HTTP RES "      binds:\n        - socket: /run/x.sock\n          mode: %s\n", bad_modes[i]);
        CHECK_ERROR(yaml,
                    "config.yaml:7:17: http.listeners[0].binds[0].mode: expected an octal file mode such as "
                    "\"660\" or \"0600\" (at most 0777)");
    }
    CHECK_ERROR(
        HTTP RES "      binds:\n        - address: \"[::]:8080\"\n          port: 8080\n",
        "config.yaml:7:11: http.listeners[0].binds[0]: 'port' cannot be combined with 'address' in one bind "
        "(a bind is one of: address; host and port; socket and mode; fd and kind; fd_name and kind)");
    CHECK_ERROR(
        HTTP RES "      binds: [{socket: /run/x.sock, fd: 3}]\n",
        "config.yaml:5:37: http.listeners[0].binds[0]: 'fd' cannot be combined with 'socket' in one bind "
        "(a bind is one of: address; host and port; socket and mode; fd and kind; fd_name and kind)");
    CHECK_ERROR(
        HTTP RES "      binds: [{kind: unix, fd_name: x, fd: 3}]\n",
        "config.yaml:5:40: http.listeners[0].binds[0]: 'fd' cannot be combined with 'fd_name' in one bind "
        "(a bind is one of: address; host and port; socket and mode; fd and kind; fd_name and kind)");
    CHECK_ERROR(HTTP RES "      binds: [{mode: \"600\"}]\n",
                "config.yaml:5:15: http.listeners[0].binds[0]: socket is required");
    CHECK_ERROR(
        HTTP RES "      binds: [{}]\n",
        "config.yaml:5:15: http.listeners[0].binds[0]: empty bind: give one of address; host and port; "
        "socket and mode; fd and kind; fd_name and kind");
    CHECK_ERROR(HTTP RES "      binds: []\n",
                "config.yaml:5:14: http.listeners[0]: listener does not bind to any address");
    CHECK_ERROR(HTTP RES, "config.yaml:4:7: http.listeners[0]: binds is required");
    CHECK_ERROR(HTTP RES "      binds: [\"[::]:8080\"]\n",
                "config.yaml:5:15: http.listeners[0].binds[0]: expected a mapping, found a scalar");
    CHECK_ERROR(HTTP RES "      binds: [{fd: 1, kind: udp}]\n",
                "config.yaml:5:29: http.listeners[0].binds[0].kind: expected tcp or unix");
    CHECK_ERROR(HTTP RES "      binds: [{fd: -1}]\n",
                "config.yaml:5:20: http.listeners[0].binds[0].fd: -1 is out of range (0 to 2147483644)");
    CHECK_ERROR(
        HTTP RES "      binds: [{fd_name: \"a:b\"}]\n",
        "config.yaml:5:25: http.listeners[0].binds[0].fd_name: expected a FileDescriptorName= (1 to 255 "
        "printable ASCII characters, no ':')");
    CHECK_ERROR(
        HTTP RES
        "      binds: [{socket: "
        "/run/"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock}]\n",
        "config.yaml:5:24: http.listeners[0].binds[0].socket: the path is longer than 95 bytes (the limit of "
        "a "
        "UNIX socket address)");
    CHECK_ERROR(HTTP RES "      binds: [{bogus: 1}]\n",
                "config.yaml:5:16: unknown key 'http.listeners[0].binds[0].bogus'");
}

static void test_resources(void)
{
    struct config *cfg =
        load(HTTP "    - name: all\n      resources:\n"
                  "        - name: health\n        - name: prometheus\n        - name: discovery\n"
                  "        - name: human\n"
                  "        - {name: graphql, playground: true, undocumented_oauth2_access: true}\n"
                  "        - name: oauth\n        - name: compat\n"
                  "        - {name: assets, path: /usr/share/masd/assets/}\n"
                  "        - name: adminapi\n        - name: connection-info\n" BINDS
                  "    - resources:\n        - name: graphql\n        - name: assets\n" BINDS2);
    const struct config_listener *l = &cfg->listeners[0];
    CHECK_STR(l->name, "all");
    CHECK_INT(l->n_resources, 10);
    const struct config_resource *g = config_listener_resource(l, "graphql");
    CHECK(g && g->playground && g->undocumented_oauth2_access);
    CHECK_STR(config_listener_resource(l, "assets")->path, "/usr/share/masd/assets/");
    const char *names[] = {"health", "prometheus", "discovery", "human",    "graphql",
                           "oauth",  "compat",     "assets",    "adminapi", "connection-info"};
    for (size_t i = 0; i < 10; i++)
        CHECK(config_listener_resource(l, names[i]) == &l->resources[i]);
    CHECK_INT(l->resources[0].pos.line, 6);
    CHECK_INT(l->resources[0].pos.column, 11);
    l = &cfg->listeners[1];
    CHECK(l->name == NULL);
    g = config_listener_resource(l, "graphql");
    CHECK(g && !g->playground && !g->undocumented_oauth2_access);
    CHECK_STR(config_listener_resource(l, "assets")->path, "./frontend/dist/");
    CHECK_INT(cfg->n_warnings, 0);
    config_free(cfg);

    CHECK_ERROR(HTTP "    - resources: [{name: spa}]\n" BINDS,
                "config.yaml:4:26: http.listeners[0].resources[0].name: unknown resource 'spa' (expected one "
                "of health, "
                "prometheus, discovery, human, graphql, oauth, compat, assets, adminapi, connection-info)");
    CHECK_ERROR(
        HTTP "    - resources:\n        - name: health\n          playground: true\n" BINDS,
        "config.yaml:6:11: http.listeners[0].resources[0]: the health resource has no option 'playground'");
    CHECK_ERROR(
        HTTP "    - resources: [{name: graphql, path: /x}]\n" BINDS,
        "config.yaml:4:35: http.listeners[0].resources[0]: the graphql resource has no option 'path'");
    CHECK_ERROR(HTTP "    - resources: [{name: graphql, bogus: 1}]\n" BINDS,
                "config.yaml:4:35: unknown key 'http.listeners[0].resources[0].bogus'");
    CHECK_ERROR(
        HTTP "    - resources: [{playground: true}]\n" BINDS,
        "config.yaml:4:19: http.listeners[0].resources[0]: name is required (one of health, prometheus, "
        "discovery, human, graphql, oauth, compat, assets, adminapi, connection-info)");
    CHECK_ERROR(HTTP "    - resources: [discovery]\n" BINDS,
                "config.yaml:4:19: http.listeners[0].resources[0]: expected a mapping, found a scalar");
    CHECK_ERROR(HTTP "    - resources: []\n" BINDS,
                "config.yaml:4:18: http.listeners[0]: listener has no resources");
    CHECK_ERROR(HTTP "    - binds: [{port: 1}]\n",
                "config.yaml:4:7: http.listeners[0]: resources is required");
    CHECK_ERROR(
        HTTP "    - resources: [{name: oauth}, {name: oauth}]\n" BINDS,
        "config.yaml:4:41: http.listeners[0].resources[1].name: resource 'oauth' is already listed in this "
        "listener");
    CHECK_ERROR(HTTP "    - resources: [{name: graphql, playground: yes}]\n" BINDS,
                "config.yaml:4:47: http.listeners[0].resources[0].playground: expected a boolean");
    CHECK_ERROR(HTTP "    - resources: [{name: assets, path: [a]}]\n" BINDS,
                "config.yaml:4:40: http.listeners[0].resources[0].path: expected a string");
    CHECK_ERROR(
        HTTP "    - resources: [{name: Health}]\n" BINDS,
        "config.yaml:4:26: http.listeners[0].resources[0].name: unknown resource 'Health' (expected one of "
        "health, prometheus, discovery, human, graphql, oauth, compat, assets, adminapi, connection-info)");
    CHECK_ERROR(HTTP "    - 42\n", "config.yaml:4:7: http.listeners[0]: expected a mapping, found a scalar");

    /* graphql's introspection: masd's switch, true by default; another value is warned about */
    cfg = load(HTTP "    - resources: [{name: graphql, introspection: authenticated_only}]\n" BINDS);
    CHECK_INT(cfg->n_warnings, 1);
    CHECK_STR(cfg->warnings[0],
              "config.yaml:4:50: http.listeners[0].resources[0].introspection: only true or "
              "false is understood; introspection stays on");
    CHECK(cfg->listeners[0].resources[0].introspection);
    config_free(cfg);
    cfg = load(HTTP "    - resources: [{name: graphql, introspection: false}]\n" BINDS);
    CHECK_INT(cfg->n_warnings, 0);
    CHECK(!cfg->listeners[0].resources[0].introspection);
    config_free(cfg);
    cfg = load(HTTP "    - resources: [{name: graphql}]\n" BINDS);
    CHECK(cfg->listeners[0].resources[0].introspection);
    config_free(cfg);
}

static void test_prefix(void)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"/auth/", "/auth"}, {"/auth", "/auth"}, {"/", NULL},        {"\"\"", NULL},
        {"///", NULL},       {"~", NULL},        {"/a/b//", "/a/b"}, {"/%41b", "/%41b"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char yaml[512];
        snprintf(yaml, sizeof(yaml), HTTP RES BINDS "      prefix: %s\n", cases[i].in);
        struct config *cfg = load(yaml);
        if (cases[i].out)
            CHECK_STR(cfg->listeners[0].prefix, cases[i].out);
        else
            CHECK(cfg->listeners[0].prefix == NULL);
        config_free(cfg);
    }
    CHECK_ERROR(HTTP RES BINDS "      prefix: auth\n",
                "config.yaml:6:15: http.listeners[0].prefix: expected a path starting with '/'");
    CHECK_ERROR(
        HTTP RES BINDS "      prefix: /a//b\n",
        "config.yaml:6:15: http.listeners[0].prefix: the prefix must not contain an empty segment ('//')");
    CHECK_ERROR(HTTP RES BINDS "      prefix: /a?b\n",
                "config.yaml:6:15: http.listeners[0].prefix: the prefix must not have a query ('?')");
    CHECK_ERROR(
        HTTP RES BINDS "      prefix: /a/../b\n",
        "config.yaml:6:15: http.listeners[0].prefix: the prefix must not contain '.' or '..' path segments");
    CHECK_ERROR(HTTP RES BINDS "      prefix: {a: 1}\n",
                "config.yaml:6:15: http.listeners[0].prefix: expected a path such as /auth");
}

static void test_listener_flags(void)
{
    struct config *cfg = load(HTTP RES BINDS "      proxy_protocol: true\n      http2: True\n" RES BINDS2
                                             "      proxy_protocol: FALSE\n");
    CHECK(cfg->listeners[0].proxy_protocol);
    CHECK(cfg->listeners[0].http2);
    CHECK(!cfg->listeners[1].proxy_protocol);
    CHECK(!cfg->listeners[1].http2);
    CHECK_INT(cfg->listeners[1].pos.line, 8);
    CHECK_INT(cfg->listeners[1].pos.column, 7);
    config_free(cfg);

    CHECK_ERROR("http:\n  public_base: https://a.example/\n  listeners:\n    - {resources: [{name: oauth}],\n"
                "       proxy_protocol: yes, binds: [{port: 1}]}\n",
                "config.yaml:5:24: http.listeners[0].proxy_protocol: expected a boolean");
    CHECK_ERROR(HTTP RES BINDS "      proxy_protocol: \"true\"\n",
                "config.yaml:6:23: http.listeners[0].proxy_protocol: expected a boolean");
    CHECK_ERROR(HTTP RES BINDS "      http2: 1\n",
                "config.yaml:6:14: http.listeners[0].http2: expected a boolean");
    CHECK_ERROR(HTTP RES BINDS "      name: [web]\n",
                "config.yaml:6:13: http.listeners[0].name: expected a string");
}

static char *read_data(const char *path)
{
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    if (!f)
        return strdup("");
    char *buf = calloc(1, 65536);
    size_t n = fread(buf, 1, 65535, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* A YAML literal block holding `text`, indented by `indent` spaces. */
static char *literal_block(const char *text, int indent)
{
    char *out = calloc(1, strlen(text) * 2 + 1024), *o = out;
    o += sprintf(o, "|\n");
    for (const char *line = text; *line;) {
        size_t n = strcspn(line, "\n");
        o += sprintf(o, "%*s%.*s\n", indent, "", (int)n, line);
        line += n + (line[n] == '\n');
    }
    return out;
}

static void test_tls(void)
{
    char *cert = read_data("data/tls-ec.crt"), *key = read_data("data/ec-p256.pem");
    char *cert_block = literal_block(cert, 10), *key_block = literal_block(key, 10);
    char *yaml = malloc(strlen(cert_block) + strlen(key_block) + 1024);
    sprintf(yaml, HTTP RES BINDS "      tls:\n        certificate: %s        key: %s", cert_block, key_block);
    struct config *cfg = load(yaml);
    const struct config_tls *tls = cfg->listeners[0].tls;
    CHECK(tls != NULL);
    CHECK_STR(tls->certificate, cert);
    CHECK_STR(tls->key, key);
    CHECK_INT(tls->key_len, strlen(key));
    CHECK(tls->password == NULL);
    config_free(cfg);
    free(yaml);
    free(cert_block);
    free(key_block);

    cfg = load(HTTP RES BINDS "      tls:\n        certificate_file: data/tls-ec.crt\n"
                              "        key_file: data/ec-p256-sec1.der\n");
    tls = cfg->listeners[0].tls;
    CHECK_STR(tls->certificate, cert);
    CHECK_INT(tls->key_len, 121);
    config_free(cfg);
    free(cert);
    free(key);

    /* an encrypted PKCS#8 key: inline password, and a password file ending with a newline */
    cfg = load(HTTP RES BINDS
               "      tls:\n        certificate_file: data/tls-rsa.crt\n"
               "        key_file: data/rsa-encrypted.pem\n        password: masd-test-password\n" RES BINDS2
               "      tls:\n        certificate_file: data/tls-rsa.crt\n"
               "        key_file: data/rsa-encrypted.pem\n        password_file: data/password.txt\n");
    CHECK_STR(cfg->listeners[0].tls->password, "masd-test-password");
    CHECK_STR(cfg->listeners[1].tls->password, "masd-test-password");
    config_free(cfg);
}

static void test_tls_errors(void)
{
#define TLS HTTP RES BINDS "      tls:\n"
    CHECK_ERROR(
        TLS "        certificate_file: data/tls-ec.crt\n        certificate: x\n        key_file: "
            "data/ec-p256.pem\n",
        "config.yaml:8:9: http.listeners[0].tls: set either certificate or certificate_file, not both");
    CHECK_ERROR(TLS "        key_file: data/ec-p256.pem\n",
                "config.yaml:7:9: http.listeners[0].tls: certificate or certificate_file is required");
    CHECK_ERROR(TLS "        certificate_file: data/tls-ec.crt\n",
                "config.yaml:7:9: http.listeners[0].tls: key or key_file is required");
    CHECK_ERROR(TLS "        certificate_file: data/tls-ec.crt\n        key_file: data/ec-p256.pem\n"
                    "        password: a\n        password_file: data/password.txt\n",
                "config.yaml:10:9: http.listeners[0].tls: set either password or password_file, not both");
    CHECK_ERROR(
        TLS "        certificate_file: data/missing.crt\n        key_file: data/ec-p256.pem\n",
        "config.yaml:7:27: http.listeners[0].tls.certificate_file: cannot read 'data/missing.crt': No such "
        "file or directory");
    CHECK_ERROR(
        TLS "        certificate_file: data\n        key_file: data/ec-p256.pem\n",
        "config.yaml:7:27: http.listeners[0].tls.certificate_file: cannot read 'data': Is a directory");
    CHECK_ERROR(TLS "        certificate_file: data/ec-p256.pem\n        key_file: data/ec-p256.pem\n",
                "config.yaml:7:27: http.listeners[0].tls.certificate_file: 'data/ec-p256.pem' holds no PEM "
                "certificate");
    CHECK_ERROR(TLS "        certificate: not a certificate\n        key_file: data/ec-p256.pem\n",
                "config.yaml:7:22: http.listeners[0].tls.certificate: no PEM certificate found");
    CHECK_ERROR(
        TLS "        certificate_file: data/tls-ec.crt\n        key_file: data/missing.pem\n",
        "config.yaml:8:19: http.listeners[0].tls.key_file: cannot read 'data/missing.pem': No such file or "
        "directory");
    CHECK_ERROR(TLS "        certificate_file: data/tls-ec.crt\n        key_file: data/rsa.pem\n",
                "config.yaml:8:19: http.listeners[0].tls.key_file: 'data/rsa.pem': the private key does not "
                "belong to "
                "the certificate");
    CHECK_ERROR(
        TLS "        certificate_file: data/tls-rsa.crt\n        key_file: data/rsa-encrypted.pem\n"
            "        password: wrong\n",
        "config.yaml:8:19: http.listeners[0].tls.key_file: 'data/rsa-encrypted.pem': cannot use the private "
        "key: wrong password");
    CHECK_ERROR(
        TLS "        certificate_file: data/tls-rsa.crt\n        key_file: data/rsa-encrypted.pem\n",
        "config.yaml:8:19: http.listeners[0].tls.key_file: 'data/rsa-encrypted.pem': cannot use the private "
        "key: the key is encrypted: set password or password_file");
    CHECK_ERROR(
        TLS
        "        certificate_file: data/tls-rsa.crt\n        key_file: data/rsa.pem\n        password: x\n",
        "config.yaml:8:19: http.listeners[0].tls.key_file: 'data/rsa.pem': cannot use the private key: a "
        "password is set but the key is not encrypted");
    CHECK_ERROR(TLS "        certificate_file: data/tls-rsa.crt\n        key: not a key\n",
                "config.yaml:8:14: http.listeners[0].tls.key: cannot use the private key: not a PEM or DER "
                "private key "
                "(PKCS#1, PKCS#8 or SEC1)");
    CHECK_ERROR(TLS "        certificate_file: data/tls-rsa.crt\n        key_file: data/rsa-public.pem\n",
                "config.yaml:8:19: http.listeners[0].tls.key_file: 'data/rsa-public.pem': cannot use the "
                "private key: "
                "not a PEM or DER private key (PKCS#1, PKCS#8 or SEC1)");
    CHECK_ERROR(
        TLS "        certificate_file: data/tls-rsa.crt\n        key_file: data/rsa.pem\n        bogus: 1\n",
        "config.yaml:9:9: unknown key 'http.listeners[0].tls.bogus'");
    CHECK_ERROR(TLS "        certificate_file: /dev/null/x\n        key_file: data/rsa.pem\n",
                "config.yaml:7:27: http.listeners[0].tls.certificate_file: cannot read '/dev/null/x': Not a "
                "directory");
    CHECK_ERROR(
        TLS "        certificate_file: /dev/zero\n        key_file: data/rsa.pem\n",
        "config.yaml:7:27: http.listeners[0].tls.certificate_file: cannot read '/dev/zero': not a regular "
        "file");
#undef TLS
}

static void check_keys(const char *yaml, size_t n, const enum key_family *families, const char *const *kids)
{
    struct config *cfg = load(yaml);
    if (!cfg)
        return;
    CHECK_INT(cfg->n_keys, n);
    for (size_t i = 0; i < n && i < cfg->n_keys; i++) {
        CHECK_INT(cfg->keys[i].family, families[i]);
        if (kids[i])
            CHECK_STR(cfg->keys[i].kid, kids[i]);
        else
            CHECK(cfg->keys[i].kid == NULL);
    }
    config_free(cfg);
}

static void test_secrets(void)
{
    char *p256 = read_data("data/ec-p256.pem"), *block = literal_block(p256, 8);
    char *yaml = malloc(strlen(block) + 4096);
    sprintf(
        yaml,
        "secrets:\n  encryption: 0000111122223333444455556666777788889999aaaabbbbccccddddeeeeffff\n  keys:\n"
        "    - kid: inline\n      key: %s"
        "    - {kid: rsa8, key_file: data/rsa.pem}\n    - {kid: rsa1, key_file: data/rsa-pkcs1.pem}\n"
        "    - key_file: data/rsa-pkcs1.der\n    - key_file: data/ec-p256-sec1.der\n"
        "    - key_file: data/ec-p384.pem\n    - key_file: data/ec-p384-pkcs8.der\n"
        "    - {kid: k, key_file: data/ec-secp256k1.pem}\n"
        "    - {key_file: data/rsa-encrypted.pem, password: masd-test-password}\n"
        "    - {key_file: data/rsa-encrypted.pem, password_file: data/password.txt}\n",
        block);
    static const enum key_family fam[] = {KEY_EC_P256, KEY_RSA,     KEY_RSA,          KEY_RSA, KEY_EC_P256,
                                          KEY_EC_P384, KEY_EC_P384, KEY_EC_SECP256K1, KEY_RSA, KEY_RSA};
    static const char *const kids[] = {"inline", "rsa8", "rsa1", NULL, NULL, NULL, NULL, "k", NULL, NULL};
    check_keys(yaml, 10, fam, kids);
    struct config *cfg = load(yaml);
    CHECK_INT(cfg->n_warnings, 0); /* secrets.encryption is implemented: no warning */
    config_free(cfg);
    free(yaml);
    free(block);
    free(p256);

    /* keys_dir: regular files in name order (subdirectories skipped), before the inline keys */
    static const enum key_family dir_fam[] = {KEY_RSA, KEY_EC_P384, KEY_EC_SECP256K1};
    static const char *const dir_kids[] = {NULL, NULL, "x"};
#define SECRETS "secrets:\n  encryption: 0000111122223333444455556666777788889999aaaabbbbccccddddeeeeffff\n"
    check_keys(SECRETS "  keys_dir: data/keys\n  keys: [{kid: x, key_file: data/ec-secp256k1.pem}]\n", 3,
               dir_fam, dir_kids);
    check_keys(SECRETS "  keys: ~\n  keys_dir: ~\n", 0, NULL, NULL);
#undef SECRETS
    /* as in MAS, the section needs its encryption secret */
    CHECK_ERROR("secrets: ~\n", "config.yaml:1:10: secrets: encryption or encryption_file is required");

    CHECK_ERROR(
        "secrets:\n  keys:\n    - key_file: data/ed25519.pem\n",
        "config.yaml:3:17: secrets.keys[0].key_file: 'data/ed25519.pem': unsupported key type ED25519 "
        "(expected RSA, or EC on P-256, P-384 or secp256k1)");
    CHECK_ERROR(
        "secrets:\n  keys:\n    - key_file: data/ec-p521.pem\n",
        "config.yaml:3:17: secrets.keys[0].key_file: 'data/ec-p521.pem': unsupported key type EC on curve "
        "secp521r1 (expected RSA, or EC on P-256, P-384 or secp256k1)");
    CHECK_ERROR("secrets:\n  keys:\n    - kid: a\n",
                "config.yaml:3:7: secrets.keys[0]: key or key_file is required");
    CHECK_ERROR("secrets:\n  keys:\n    - {key: x, key_file: data/rsa.pem}\n",
                "config.yaml:3:16: secrets.keys[0]: set either key or key_file, not both");
    CHECK_ERROR(
        "secrets:\n  keys:\n    - {kid: a, key_file: data/rsa.pem}\n    - {kid: a, key_file: data/rsa.pem}\n",
        "config.yaml:4:13: secrets.keys[1].kid: kid 'a' is already used by another key");
    CHECK_ERROR(
        "secrets:\n  keys:\n    - {kid: a, key_file: data/rsa-encrypted.pem, password_file: data/rsa.pem}\n",
        "config.yaml:3:26: secrets.keys[0].key_file: 'data/rsa-encrypted.pem': cannot use the private key: "
        "wrong password");
    CHECK_ERROR("secrets:\n  keys_dir: data/keys-bad\n",
                "config.yaml:2:13: secrets.keys_dir: 'data/keys-bad/b-notes.txt': cannot use the private "
                "key: not a PEM "
                "or DER private key (PKCS#1, PKCS#8 or SEC1)");
    CHECK_ERROR("secrets:\n  keys_dir: data/missing\n",
                "config.yaml:2:13: secrets.keys_dir: cannot read directory 'data/missing': No such file or "
                "directory");
    CHECK_ERROR("secrets:\n  keys: {kid: a}\n",
                "config.yaml:2:9: secrets.keys: expected a list, found a mapping");
    CHECK_ERROR("secrets:\n  keys: [data/rsa.pem]\n",
                "config.yaml:2:10: secrets.keys[0]: expected a mapping, found a scalar");
    CHECK_ERROR("secrets:\n  keys:\n    - {kid: a, key_file: data/rsa.pem, bogus: 1}\n",
                "config.yaml:3:40: unknown key 'secrets.keys[0].bogus'");
}

static void test_account_and_oauth(void)
{
    struct config *cfg =
        load("account:\n  password_registration_enabled: true\n  email_change_allowed: false\n"
             "oauth:\n  device_code_grant_enabled: false\n  device_code_user_code_auto_fill_enabled: true\n");
    CHECK(cfg->password_registration_enabled);
    CHECK(!cfg->device_code_grant_enabled);
    CHECK(cfg->device_code_user_code_auto_fill_enabled);
    CHECK(!cfg->email_change_allowed); /* the account pages and GraphQL enforce it */
    CHECK(cfg->displayname_change_allowed && cfg->password_change_allowed &&
          cfg->account_deactivation_allowed);
    CHECK_INT(cfg->n_warnings, 0);
    config_free(cfg);
    cfg = load("account: {}\noauth: ~\n");
    CHECK(!cfg->password_registration_enabled);
    CHECK(cfg->device_code_grant_enabled);
    CHECK(!cfg->device_code_user_code_auto_fill_enabled);
    config_free(cfg);
    CHECK_ERROR("oauth:\n  device_code_user_code_auto_fill_enabled: 1\n",
                "config.yaml:2:44: oauth.device_code_user_code_auto_fill_enabled: expected a boolean");
    CHECK_ERROR("account:\n  password_registration_enabled: 1\n",
                "config.yaml:2:34: account.password_registration_enabled: expected a boolean");
    CHECK_ERROR("oauth:\n  device_code_grant_enabled: \"false\"\n",
                "config.yaml:2:30: oauth.device_code_grant_enabled: expected a boolean");
    CHECK_ERROR("oauth: [1]\n", "config.yaml:1:8: oauth: expected a mapping, found a list");
}

static void test_login_with_email(void)
{
    struct config *cfg = load("account:\n  login_with_email_allowed: true\n");
    CHECK(cfg->login_with_email_allowed);
    CHECK_INT(cfg->n_warnings, 0); /* implemented: no warning */
    config_free(cfg);
    cfg = load("account:\n  login_with_email_allowed: false\n  password_registration_enabled: true\n");
    CHECK(!cfg->login_with_email_allowed);
    CHECK(cfg->password_registration_enabled);
    config_free(cfg);
    CHECK_ERROR("account:\n  login_with_email_allowed: yes please\n",
                "config.yaml:2:29: account.login_with_email_allowed: expected a boolean");
    CHECK_ERROR("account:\n  login_with_email_allowed: [true]\n",
                "config.yaml:2:29: account.login_with_email_allowed: expected a boolean");
}

/* The registration's switches; either token key requires a token (MAS reads both). */
static void test_registration_switches(void)
{
    struct config *cfg = load("account:\n  password_registration_email_required: false\n"
                              "  password_registration_token_required: true\n");
    CHECK(!cfg->password_registration_email_required && cfg->registration_token_required);
    CHECK_INT(cfg->n_warnings, 0);
    config_free(cfg);
    cfg = load("account:\n  registration_token_required: true\n");
    CHECK(cfg->registration_token_required);
    config_free(cfg);
    cfg = load(
        "account:\n  registration_token_required: false\n  password_registration_token_required: false\n");
    CHECK(!cfg->registration_token_required);
    config_free(cfg);
    CHECK_ERROR("account:\n  password_registration_token_required: 1\n",
                "config.yaml:2:41: account.password_registration_token_required: expected a boolean");
}

/* captcha and experimental.plan_management_iframe_uri: what GraphQL's siteConfig shows */
static void test_captcha(void)
{
    struct config *cfg = load("captcha:\n  service: hcaptcha\n  site_key: k1\n  secret_key: s\n"
                              "experimental:\n  plan_management_iframe_uri: https://plans.example.com/\n");
    CHECK_STR(cfg->captcha.service, "H_CAPTCHA");
    CHECK_STR(cfg->captcha.site_key, "k1");
    CHECK_STR(cfg->plan_management_iframe_uri, "https://plans.example.com/");
    CHECK_INT(cfg->n_warnings, 1); /* the secret key: registration shows no captcha yet */
    config_free(cfg);
    cfg = load("captcha:\n  service: recaptcha_v2\n  site_key: k\n");
    CHECK_STR(cfg->captcha.service, "RECAPTCHA_V2");
    config_free(cfg);
    cfg = load("captcha:\n  service: cloudflare_turnstile\n  site_key: k\n");
    CHECK_STR(cfg->captcha.service, "CLOUDFLARE_TURNSTILE");
    config_free(cfg);
    cfg = load("captcha: {}\n");
    CHECK(!cfg->captcha.service && !cfg->captcha.site_key && !cfg->plan_management_iframe_uri);
    config_free(cfg);
    cfg = load("captcha:\n  service: ~\n");
    CHECK(!cfg->captcha.service);
    config_free(cfg);
    CHECK_ERROR(
        "captcha:\n  service: friendly_captcha\n  site_key: k\n",
        "config.yaml:2:12: captcha.service: expected one of recaptcha_v2, cloudflare_turnstile, hcaptcha");
    CHECK_ERROR("captcha:\n  service: hcaptcha\n",
                "config.yaml:2:3: captcha.site_key is required with captcha.service");
    CHECK_ERROR("experimental:\n  plan_management_iframe_uri: [1]\n",
                "config.yaml:2:31: experimental.plan_management_iframe_uri: expected a string");
}

static void test_branding(void)
{
    struct config *cfg = load("branding:\n  service_name: Example Chat\n"
                              "  policy_uri: https://example.com/privacy\n"
                              "  tos_uri: https://example.com/tos\n"
                              "  imprint: \"Example Ltd, 1 Main Street\"\n");
    CHECK_STR(cfg->branding.service_name, "Example Chat");
    CHECK_STR(cfg->branding.policy_uri, "https://example.com/privacy");
    CHECK_STR(cfg->branding.tos_uri, "https://example.com/tos");
    CHECK_STR(cfg->branding.imprint, "Example Ltd, 1 Main Street");
    CHECK_INT(cfg->n_warnings, 0); /* implemented: no warning */
    config_free(cfg);
    /* each key optional, null as absent */
    cfg = load("branding:\n  imprint: x\n  tos_uri: ~\n");
    CHECK(!cfg->branding.service_name && !cfg->branding.policy_uri && !cfg->branding.tos_uri);
    CHECK_STR(cfg->branding.imprint, "x");
    config_free(cfg);
    cfg = load("branding: ~\n");
    CHECK(!cfg->branding.service_name && !cfg->branding.imprint);
    config_free(cfg);
    cfg = load("branding: {}\n");
    CHECK(!cfg->branding.service_name);
    config_free(cfg);
    CHECK_ERROR("branding:\n  service_name: [a, b]\n",
                "config.yaml:2:17: branding.service_name: expected a string");
    CHECK_ERROR("branding:\n  policy_uri: {a: 1}\n",
                "config.yaml:2:15: branding.policy_uri: expected a string");
    CHECK_ERROR("branding:\n  imprint: x\n  logo_uri: https://example.com/logo.png\n",
                "config.yaml:3:3: unknown key 'branding.logo_uri'");
    CHECK_ERROR("branding: [1]\n", "config.yaml:1:11: branding: expected a mapping, found a list");
}

static void test_known_keys_warn_once(void)
{
    struct config *cfg =
        load("templates:\n  path: x\n  assets_manifest: y\n"
             "  translations_path: {a: [1, 2]}\n"
             "policy:\n  data:\n    anything: {goes: [here]}\n"      /* implemented: no warning */
             "matrix:\n  kind: synapse\n  homeserver: example.com\n" /* implemented: no warning */
             "captcha:\n  secret_key: x\n"
             "telemetry: ~\n");
    static const char *const want[] = {
        "config.yaml:2:3: templates.path is not implemented yet and is ignored",
        "config.yaml:3:3: templates.assets_manifest is not implemented yet and is ignored",
        "config.yaml:4:3: templates.translations_path is not implemented yet and is ignored",
        "config.yaml:12:3: captcha.secret_key is not implemented yet and is ignored",
        "config.yaml:13:1: telemetry is not implemented yet and is ignored",
    };
    CHECK_INT(cfg->n_warnings, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < cfg->n_warnings && i < sizeof(want) / sizeof(want[0]); i++)
        CHECK_STR(cfg->warnings[i], want[i]);
    CHECK_INT(cfg->n_listeners, 2); /* http absent: MAS's defaults */
    config_free(cfg);
}

static void test_unknown_and_duplicate_keys(void)
{
    CHECK_ERROR("database:\n  uri: x\nbogus: 1\n", "config.yaml:3:1: unknown key 'bogus'");
    CHECK_ERROR("database:\n  bogus: 1\n", "config.yaml:2:3: unknown key 'database.bogus'");
    CHECK_ERROR(HTTP RES BINDS "      bogus: 1\n", "config.yaml:6:7: unknown key 'http.listeners[0].bogus'");
    CHECK_ERROR("http.public_base: https://a.example/\n", "config.yaml:1:1: unknown key 'http.public_base'");
    CHECK_ERROR("clients:\n  - client_id: a\n  - client_idd: b\n",
                "config.yaml:3:5: unknown key 'clients[1].client_idd'");
    CHECK_ERROR("rate_limiting:\n  login:\n    per_ip: {burst: 3, per_minute: 1}\n",
                "config.yaml:3:24: unknown key 'rate_limiting.login.per_ip.per_minute'");
    CHECK_ERROR("\"bad\\x01key\": 1\n", "config.yaml:1:1: unknown key 'bad\\x01key'");
    CHECK_ERROR("? [a]\n: 1\n", "config.yaml:1:3: expected a key name, not a list");
    CHECK_ERROR("http:\n  public_base: https://a.example/\n  public_base: https://b.example/\n",
                "config.yaml:3:3: duplicate key 'http.public_base'");
    CHECK_ERROR("account: {}\naccount: {}\n", "config.yaml:2:1: duplicate key 'account'");
    CHECK_ERROR(HTTP "    - resources: [{name: oauth, name: compat}]\n" BINDS,
                "config.yaml:4:33: duplicate key 'http.listeners[0].resources[0].name'");
    CHECK_ERROR("policy:\n  data:\n    a: {b: 1, b: 2}\n",
                "config.yaml:3:15: duplicate key 'b' under 'policy.data'");
    CHECK_ERROR("[1, 2]\n",
                "config.yaml:1:1: expected a mapping of sections (http, database, ...) at the top level");
}

static void test_yaml_errors(void)
{
    CHECK_ERROR("http:\n  public_base: a: b\n",
                "config.yaml:2:17: mapping values are not allowed in this context");
    CHECK_ERROR("http:\n  public_base: [a\n",
                "config.yaml:3:1: did not find expected ',' or ']' (while parsing a flow sequence at 2:16)");
    CHECK_ERROR("a: 1\n b: 2\n", "config.yaml:2:3: mapping values are not allowed in this context");
    CHECK_ERROR("a: \"x\n",
                "config.yaml:2:1: found unexpected end of stream (while scanning a quoted scalar at 1:4)");
    CHECK_ERROR("a: *nope\n", "config.yaml:1:4: found undefined alias");
    CHECK_ERROR("account: {}\n---\noauth: {}\n",
                "config.yaml:2:1: a second YAML document is not supported (one document only)");
    CHECK_ERROR("a: \x01\n", "config.yaml:1:4: control characters are not allowed (#1)");
    CHECK_ERROR("a: \xff\n", "config.yaml:1:4: invalid leading UTF-8 octet (#FF)");
    /* an alias inside its own anchor, and a nesting bomb */
    CHECK_ERROR("policy:\n  data: &a [*a]\n",
                "config.yaml:2:9: nesting is deeper than 64 levels (or an alias refers to its own parent)");
    char deep[512] = "policy:\n  data: ";
    for (int i = 0; i < 70; i++)
        strcat(deep, "[");
    for (int i = 0; i < 70; i++)
        strcat(deep, "]");
    strcat(deep, "\n");
    CHECK_ERROR(deep, "config.yaml:2:71: nesting is deeper than 64 levels");
    /* 200000 levels: refused in a first pass, before libyaml's per-level cost adds up */
    size_t big = 400000;
    char *bomb = malloc(big + 32);
    strcpy(bomb, "a: ");
    memset(bomb + 3, '[', big / 2);
    memset(bomb + 3 + big / 2, ']', big / 2);
    strcpy(bomb + 3 + big, "\n");
    CHECK_ERROR(bomb, "config.yaml:1:67: nesting is deeper than 64 levels");
    free(bomb);
    CHECK_ERROR(
        "policy:\n  data:\n    a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n    b: &b [*a, *a, *a, *a, *a, *a, *a, "
        "*a, "
        "*a, *a]\n    c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n    d: &d [*c, *c, *c, *c, *c, *c, *c, "
        "*c, *c, *c]\n    e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n    f: [*e, *e, *e]\n",
        "config.yaml:3:39: document has more than 200000 nodes after expanding aliases");
    /* aliases within the budget are expanded */
    struct config *cfg = load("http:\n  public_base: &base https://a.example/\n  issuer: *base\n");
    CHECK_STR(cfg->issuer, "https://a.example/");
    config_free(cfg);
}

static void test_scalars(void)
{
    struct ynode *root;
    char *err;
    const char *doc =
        "[true, True, TRUE, false, False, FALSE, yes, \"true\", ~, null, '', 0x10, 0o17, -12, +7, 012, "
        "9223372036854775807, -9223372036854775808, 9223372036854775808, 1_000, !!str 5]";
    CHECK_INT(yaml_tree_load("t.yaml", doc, strlen(doc), &root, &err), 0);
    CHECK(err == NULL);
    CHECK_INT(root->n_items, 21);
    bool b;
    for (size_t i = 0; i < 6; i++) {
        CHECK_INT(ynode_bool(root->items[i], &b), 0);
        CHECK(b == (i < 3));
    }
    CHECK_INT(ynode_bool(root->items[6], &b), -EINVAL);
    CHECK_INT(ynode_bool(root->items[7], &b), -EINVAL);
    CHECK(ynode_is_null(root->items[8]) && ynode_is_null(root->items[9]));
    CHECK(!ynode_is_null(root->items[10])); /* quoted: an empty string */
    const char *s;
    CHECK_INT(ynode_string(root->items[10], &s), 0);
    CHECK_STR(s, "");
    CHECK_INT(ynode_string(root->items[8], &s), -EINVAL);
    long long v;
    const long long want[] = {16, 15, -12, 7, 12};
    for (size_t i = 0; i < 5; i++) {
        CHECK_INT(ynode_int(root->items[11 + i], -100, 100, &v), 0);
        CHECK_INT(v, want[i]);
    }
    CHECK_INT(ynode_int(root->items[16], 0, 9223372036854775807LL, &v), 0);
    CHECK_INT(v, 9223372036854775807LL);
    CHECK_INT(ynode_int(root->items[17], -9223372036854775807LL - 1, 0, &v), 0);
    CHECK_INT(v, -9223372036854775807LL - 1);
    CHECK_INT(ynode_int(root->items[18], 0, 9223372036854775807LL, &v), -ERANGE);
    CHECK_INT(ynode_int(root->items[19], 0, 10000, &v), -EINVAL);
    CHECK_INT(ynode_int(root->items[11], 0, 15, &v), -ERANGE);
    CHECK_INT(ynode_int(root->items[7], 0, 15, &v), -EINVAL);
    CHECK_INT(ynode_string(root->items[20], &s), 0);
    CHECK_STR(s, "5");
    CHECK_INT(root->items[12]->line, 1);
    CHECK_INT(root->items[12]->column, 73);
    yaml_tree_free(root);
    CHECK_INT(yaml_tree_load("t.yaml", NULL, 0, &root, &err), 0);
    CHECK(root == NULL && err == NULL);
}

static void test_load_file(void)
{
    struct config *cfg;
    char *err;
    CHECK_INT(config_load("data/missing.yaml", &cfg, &err), -ENOENT);
    CHECK(cfg == NULL);
    CHECK_STR(err, "data/missing.yaml: no such file. `masctl config generate -o data/missing.yaml` writes a "
                   "new configuration there (then set http.public_base and the matrix section)");
    free(err);

    char path[] = "/tmp/masd-test-config-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    const char *yaml =
        "http:\n  public_base: https://a.example/\n  listeners:\n" RES "      binds: [{port: 8080}]\n"
        "templates:\n  path: x\n";
    CHECK_INT(write(fd, yaml, strlen(yaml)), (long long)strlen(yaml));
    close(fd);
    CHECK_INT(config_load(path, &cfg, &err), 0);
    CHECK(err == NULL);
    CHECK_STR(cfg->path, path);
    CHECK_INT(cfg->n_listeners, 1);
    CHECK_INT(cfg->n_warnings, 1);
    config_free(cfg);

    fd = open(path, O_WRONLY | O_TRUNC);
    CHECK_INT(write(fd, "oauth: {bogus: 1}\n", 18), 18);
    close(fd);
    CHECK_INT(config_load(path, &cfg, &err), -EINVAL);
    char want[256];
    snprintf(want, sizeof(want), "%s:1:9: unknown key 'oauth.bogus'", path);
    CHECK_STR(err, want);
    free(err);
    unlink(path);
    config_free(NULL);
    CHECK(config_listener_resource(NULL, "oauth") == NULL);
}

/* policy.data is kept as JSON with YAML 1.2 core types (MAS reads it into a serde_json::Value);
 * the WASM module and entrypoints are accepted only with MAS's defaults. */
static void test_policy(void)
{
    struct config *cfg = load("");
    CHECK_STR(cfg->policy_data, "{}");
    CHECK(cfg->session_limit == NULL);
    config_free(cfg);
    cfg = load("policy:\n  data: ~\n");
    CHECK_STR(cfg->policy_data, "{}");
    config_free(cfg);
    cfg = load("policy:\n"
               "  wasm_module: /usr/local/share/mas-cli/policy.wasm\n"
               "  authorization_grant_entrypoint: authorization_grant/violation\n"
               "  password_entrypoint: password/violation\n"
               "  data:\n"
               "    admin_users: [alice, \"007\", 007]\n"
               "    admin_clients: []\n"
               "    requester:\n"
               "      banned_ips: [10.0.0.0/8, \"::1\"]\n"
               "      banned_user_agents: {regexes: ['^curl/']}\n"
               "    x: {n: ~, t: true, f: False, i: -12, h: 0x10, r: 1.5e2, s: '1', inf: .inf, y: yes}\n");
    CHECK_STR(
        cfg->policy_data,
        "{\"admin_clients\":[],\"admin_users\":[\"alice\",\"007\",7],\"requester\":{\"banned_ips\":"
        "[\"10.0.0.0/8\",\"::1\"],\"banned_user_agents\":{\"regexes\":[\"^curl/\"]}},\"x\":{\"f\":false,"
        "\"h\":16,\"i\":-12,\"inf\":\".inf\",\"n\":null,\"r\":150.0,\"s\":\"1\",\"t\":true,\"y\":\"yes\"}}");
    CHECK_INT(cfg->n_warnings, 0);
    config_free(cfg);
    CHECK_ERROR("policy:\n  wasm_module: /etc/mas/custom.wasm\n",
                "config.yaml:2:16: policy.wasm_module: masd cannot run OPA policies; it applies only MAS's "
                "default policy, which policy.data configures (remove this key)");
    CHECK_ERROR("policy:\n  email_entrypoint: custom/violation\n",
                "config.yaml:2:21: policy.email_entrypoint: masd cannot run OPA policies; it applies only "
                "MAS's default policy, which policy.data configures (remove this key)");
    CHECK_ERROR("policy:\n  register_entrypoint: [a]\n",
                "config.yaml:2:24: policy.register_entrypoint: expected a string");
    CHECK_ERROR("policy:\n  data: [1]\n", "config.yaml:2:9: policy.data: expected a mapping, found a list");
    CHECK_ERROR("policy: 1\n", "config.yaml:1:9: policy: expected a mapping, found a scalar");
    CHECK_ERROR("policy:\n  data:\n    a: \"\\0\"\n",
                "config.yaml:3:8: policy.data: not valid UTF-8 (or a NUL byte)");
    CHECK_ERROR("policy:\n  data:\n    ? [a]\n    : 1\n",
                "config.yaml:3:7: policy.data: expected a key name, not a list");
}

/* experimental.session_limit (MAS: crates/config/src/sections/experimental.rs). */
static void test_session_limit(void)
{
    struct config *cfg = load("experimental:\n  session_limit: {soft_limit: 32, hard_limit: 64}\n");
    CHECK(cfg->session_limit != NULL);
    CHECK_INT(cfg->session_limit->soft_limit, 32);
    CHECK_INT(cfg->session_limit->hard_limit, 64);
    CHECK_INT(cfg->session_limit->max_session_threshold, 0);
    CHECK(!cfg->session_limit->dangerous_hard_limit_eviction);
    CHECK_INT(cfg->n_warnings, 0);
    config_free(cfg);
    cfg = load("experimental:\n  session_limit:\n    soft_limit: 2\n    hard_limit: 2\n"
               "    max_session_threshold: 100\n    dangerous_hard_limit_eviction: true\n");
    CHECK_INT(cfg->session_limit->max_session_threshold, 100);
    CHECK(cfg->session_limit->dangerous_hard_limit_eviction);
    config_free(cfg);
    cfg = load("experimental:\n  session_limit: ~\n");
    CHECK(cfg->session_limit == NULL);
    config_free(cfg);
    CHECK_ERROR("experimental:\n  session_limit: {soft_limit: 3, hard_limit: 2}\n",
                "config.yaml:2:46: experimental.session_limit.hard_limit: must be greater than or equal to "
                "soft_limit");
    CHECK_ERROR(
        "experimental:\n  session_limit: {soft_limit: 1, hard_limit: 1, dangerous_hard_limit_eviction: "
        "true}\n",
        "config.yaml:2:46: experimental.session_limit.hard_limit: must be at least 2 when "
        "dangerous_hard_limit_eviction is set");
    CHECK_ERROR("experimental:\n  session_limit: {soft_limit: 0, hard_limit: 2}\n",
                "config.yaml:2:31: experimental.session_limit.soft_limit: 0 is out of range (1 to "
                "9223372036854775807)");
    CHECK_ERROR("experimental:\n  session_limit: {hard_limit: 2}\n",
                "config.yaml:2:18: experimental.session_limit: soft_limit is required");
    CHECK_ERROR("experimental:\n  session_limit: {soft_limit: 1, hard_limit: 2, other: 1}\n",
                "config.yaml:2:49: unknown key 'experimental.session_limit.other'");
}

int main(void)
{
    test_defaults_without_http();
    test_public_base_and_issuer();
    test_trusted_proxies();
    test_bind_kinds();
    test_bind_errors();
    test_bind_clashes();
    test_placeholder_public_base();
    test_resources();
    test_prefix();
    test_listener_flags();
    test_tls();
    test_tls_errors();
    test_secrets();
    test_account_and_oauth();
    test_login_with_email();
    test_registration_switches();
    test_branding();
    test_captcha();
    test_known_keys_warn_once();
    test_unknown_and_duplicate_keys();
    test_yaml_errors();
    test_scalars();
    test_policy();
    test_session_limit();
    test_load_file();
    return check_report(__FILE__);
}
