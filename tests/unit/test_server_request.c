/* The parts of the request front end that read what a client sent: which X-Forwarded-For lines
 * count. */
#include "check.h"
#include "client_ip.h"
#include "server_internal.h"

static h2o_mem_pool_t pool;

static void add_xff(h2o_headers_t *h, const char *value)
{
    h2o_add_header(&pool, h, H2O_TOKEN_X_FORWARDED_FOR, NULL, value, strlen(value));
}

static void add_other(h2o_headers_t *h)
{
    h2o_add_header(&pool, h, H2O_TOKEN_USER_AGENT, NULL, H2O_STRLIT("curl"));
}

/* The client IP a trusted proxy at 127.0.0.1 forwards, through server_xff_last(). */
static const char *client_of(const h2o_headers_t *h, char buf[MASD_ADDR_STRLEN])
{
    struct masd_cidr trusted;
    struct masd_addr peer, out;
    masd_str xff[16];
    cidr_parse(MASD_STR("127.0.0.0/8"), &trusted);
    addr_parse(MASD_STR("127.0.0.1"), &peer);
    struct client_ip_input in = {
        .peer = &peer,
        .xff = xff,
        .n_xff = server_xff_last(h, xff, 16),
        .trusted = &trusted,
        .n_trusted = 1,
    };
    client_ip_resolve(&in, &out);
    return addr_format(&out, buf);
}

/* haproxy's `option forwardfor` appends one line: a client that sends N lines of its own before
 * it must not choose its address, however large N is. */
static void test_many_forged_lines(void)
{
    char buf[MASD_ADDR_STRLEN];
    for (int forged = 0; forged <= 40; forged++) {
        h2o_headers_t h = {0};
        for (int i = 0; i < forged; i++) {
            add_xff(&h, "6.6.6.6");
            add_other(&h);
        }
        add_xff(&h, "203.0.113.7"); /* the proxy's line: the client it saw */
        CHECK_STR(client_of(&h, buf), "203.0.113.7");
    }
}

/* Values come back in order, the last ones kept. */
static void test_last_values(void)
{
    h2o_headers_t h = {0};
    masd_str out[3];
    static const char *const v[] = {"a", "b", "c", "d", "e"};
    for (int i = 0; i < 5; i++) {
        add_xff(&h, v[i]);
        add_other(&h);
    }
    CHECK_INT(server_xff_last(&h, out, 3), 3);
    CHECK(masd_str_eq(out[0], MASD_STR("c")) && masd_str_eq(out[1], MASD_STR("d")) &&
          masd_str_eq(out[2], MASD_STR("e")));
    CHECK_INT(server_xff_last(&h, out, 1), 1);
    CHECK(masd_str_eq(out[0], MASD_STR("e")));

    h2o_headers_t two = {0};
    add_xff(&two, "x");
    add_other(&two);
    add_xff(&two, "y");
    CHECK_INT(server_xff_last(&two, out, 3), 2);
    CHECK(masd_str_eq(out[0], MASD_STR("x")) && masd_str_eq(out[1], MASD_STR("y")));

    h2o_headers_t none = {0};
    add_other(&none);
    CHECK_INT(server_xff_last(&none, out, 3), 0);
}

/* Trusted hops beyond the bound: the walk ends at a trusted hop, never further left. */
static void test_hop_bound(void)
{
    char buf[MASD_ADDR_STRLEN];
    h2o_headers_t h = {0};
    add_xff(&h, "6.6.6.6");
    for (int i = 0; i < 20; i++)
        add_xff(&h, "127.0.0.2, 127.0.0.3, 127.0.0.4, 127.0.0.5");
    CHECK_STR(client_of(&h, buf), "127.0.0.2");
}

int main(void)
{
    h2o_mem_init_pool(&pool);
    test_many_forged_lines();
    test_last_values();
    test_hop_bound();
    h2o_mem_clear_pool(&pool);
    return check_report("test_server_request");
}
