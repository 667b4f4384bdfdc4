/* What the account's session pages read from outside (services/human/account_parse.c): the path's
 * session reference and device ID, MSC4191's deep links, a name cut by characters, the device IDs
 * of an OAuth scope. */
#include "account_parse.h"
#include "check.h"
#include <errno.h>
#include <string.h>

#define ULID "01HQ8Z4ZQ0ABCDEFGHJKMNPQRS"

static void segment(const char *in, bool ok, const char *want)
{
    char out[16] = "garbage";
    CHECK_INT(account_path_segment(masd_str_from(in), out, sizeof(out)), ok);
    CHECK_STR(out, ok ? want : "");
}

static void ref(const char *in, bool ok, enum storage_session_kind kind, bool known)
{
    char id[STORAGE_ID_SIZE] = "";
    enum storage_session_kind k;
    bool kk = true;
    CHECK_INT(account_session_ref(in, id, &k, &kk), ok);
    if (ok) {
        CHECK_STR(id, ULID);
        CHECK_INT(kk, known);
        if (known)
            CHECK_INT(k, kind);
    } else {
        CHECK(!kk);
    }
}

static void link(const char *action, const char *device, int r, const char *want)
{
    struct action a = {.kind = ACTION_MANAGE_ACCOUNT};
    snprintf(a.account_action, sizeof(a.account_action), "%s", action);
    snprintf(a.device_id, sizeof(a.device_id), "%s", device);
    char out[64] = "";
    CHECK_INT(account_deep_link(&a, "/auth", out, sizeof(out)), r);
    if (r == 1)
        CHECK_STR(out, want);
}

int main(void)
{
    segment("ABCDEF", true, "ABCDEF");
    segment("a%2Fb%20c", true, "a/b c");
    segment("%e2%82%ac", true, "\xe2\x82\xac");
    segment("", false, "");
    segment("%", false, "");
    segment("%4", false, "");
    segment("%zz", false, "");
    segment("%00x", false, "");  /* NUL */
    segment("a%0Ab", false, ""); /* a line break */
    segment("a\x7f", false, "");
    segment("0123456789abcde", true, "0123456789abcde"); /* 15 + NUL fits */
    segment("0123456789abcdef", false, "");
    segment("%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41", true, "AAAAAAAAAAAAAAA");

    ref(ULID, true, 0, false);
    ref("compat_session:" ULID, true, STORAGE_SESSION_COMPAT, true);
    ref("oauth2_session:" ULID, true, STORAGE_SESSION_OAUTH, true);
    ref("browser_session:" ULID, true, STORAGE_SESSION_BROWSER, true);
    ref("user:" ULID, false, 0, false);
    ref("compat_session:", false, 0, false);
    ref("01hq8z4zq0abcdefghjkmnpqrs", false, 0, false); /* lower case */
    ref("81HQ8Z4ZQ0ABCDEFGHJKMNPQRS", false, 0, false); /* past the largest ULID */
    ref("01HQ8Z4ZQ0ABCDEFGHJKMNPQRI", false, 0, false); /* I is not Crockford */
    ref(ULID "0", false, 0, false);
    ref("compat_session:oauth2_session:" ULID, false, 0, false);

    link("org.matrix.sessions_list", "", 1, "/auth/account/sessions");
    link("org.matrix.devices_list", "X", 1, "/auth/account/sessions");
    link("sessions_list", "", 1, "/auth/account/sessions");
    link("org.matrix.session_view", "ABC", 1, "/auth/account/devices/ABC");
    link("org.matrix.device_view", "A B/C", 1, "/auth/account/devices/A%20B%2FC");
    link("org.matrix.session_end", "x?y#z", 1, "/auth/account/devices/x%3Fy%23z");
    link("org.matrix.device_delete", "D", 1, "/auth/account/devices/D");
    link("session_view", "D", 1, "/auth/account/devices/D");
    link("session_end", "D", 1, "/auth/account/devices/D");
    link("org.matrix.session_view", "", 1, "/auth/account/sessions"); /* no device: the list */
    link("org.matrix.cross_signing_reset", "", 1, "/auth/account/reset-cross-signing");
    link("org.matrix.cross_signing_reset", "D", 1, "/auth/account/reset-cross-signing"); /* no device */
    link("cross_signing_reset", "", 0, ""); /* MAS has no unprefixed name for it */
    {
        struct action a = {.kind = ACTION_MANAGE_ACCOUNT};
        char small[33]; /* "/auth/account/reset-cross-signing" is 33 characters */
        snprintf(a.account_action, sizeof(a.account_action), "org.matrix.cross_signing_reset");
        CHECK_INT(account_deep_link(&a, "/auth", small, sizeof(small)), -ENOSPC);
    }
    link("org.matrix.profile", "D", 0, "");
    link("org.matrix.frobnicate", "D", 0, "");
    link("", "D", 0, "");
    link("ORG.MATRIX.SESSIONS_LIST", "", 0, "");
    link("org.matrix.session_view", "01234567890123456789012345678901234567890123456789", -ENOSPC, "");

    char name[64];
    snprintf(name, sizeof(name), "héllo wörld");
    account_cut_chars(name, 2);
    CHECK_STR(name, "h\xc3\xa9");
    snprintf(name, sizeof(name), "héllo");
    account_cut_chars(name, 5);
    CHECK_STR(name, "héllo");
    account_cut_chars(name, 0);
    CHECK_STR(name, "");
    snprintf(name, sizeof(name), "\xf0\x9f\x98\x80\xf0\x9f\x98\x80");
    account_cut_chars(name, 1);
    CHECK_STR(name, "\xf0\x9f\x98\x80");

    char ids[3][STORAGE_DEVICE_ID_MAX + 1];
    CHECK_INT(account_scope_devices("openid urn:matrix:client:device:AAA urn:matrix:client:api:*", ids, 3),
              1);
    CHECK_STR(ids[0], "AAA");
    CHECK_INT(account_scope_devices(
                  "urn:matrix:org.matrix.msc2967.client:device:B  urn:matrix:client:device:C", ids, 3),
              2);
    CHECK_STR(ids[0], "B");
    CHECK_STR(ids[1], "C");
    CHECK_INT(account_scope_devices("urn:matrix:client:device: openid", ids, 3), 0); /* empty ID */
    CHECK_INT(account_scope_devices("xurn:matrix:client:device:D", ids, 3), 0);
    CHECK_INT(account_scope_devices("urn:matrix:client:device:E urn:matrix:client:device:F", ids, 1), 1);
    CHECK_STR(ids[0], "E");
    CHECK_INT(account_scope_devices("", ids, 3), 0);
    return check_report(__FILE__);
}
