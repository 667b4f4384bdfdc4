/* The User-Agent parser (common/http/user_agent.c) over headers real clients send. */
#include "check.h"
#include "user_agent.h"

struct expect {
    const char *header, *name, *version, *os, *os_version, *model, *type, *device;
};

static const struct expect cases[] = {
    /* native Matrix clients */
    {"Element/1.6.10 (Google Pixel 7; Android 14; UQ1A.240205.004; Flavour GooglePlay; MatrixAndroidSdk2 "
     "1.6.10)",
     "Element", "1.6.10", "Android", "14", "Google Pixel 7", "mobile", "App on Google Pixel 7"},
    {"Element X/25.01.0 (iPhone15,2; iOS 18.2; Scale/3.00)", "Element X", "25.01.0", "iOS", "18.2",
     "iPhone15,2", "mobile", "App on iPhone15,2"},
    {"Element X/1.4 (iPad13,4; iOS 17.1; Scale/2.00)", "Element X", "1.4", "iOS", "17.1", "iPad13,4",
     "tablet", "App on iPad13,4"},
    {"Element/1.0 (Xiaomi Mi 9T Build/RKQ1.200826.002; Android 11)", "Element", "1.0", "Android", "11",
     "Xiaomi Mi 9T", "mobile", "App on Xiaomi Mi 9T"},
    {"Dalvik/2.1.0 (Linux; U; Android 9; Nexus 5X Build/PPR1.180610.011)", "Dalvik", "2.1.0", "Android", "9",
     "Nexus 5X", "mobile", "App on Nexus 5X"},
    /* browsers */
    {"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox", "128.0", "Linux",
     "", "", "pc", "App on Firefox for Linux"},
    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
     "Safari/537.36",
     "Chrome", "131.0.0.0", "Windows", "", "", "pc", "App on Chrome for Windows"},
    {"Mozilla/5.0 (Windows NT 6.1; WOW64; rv:52.0) Gecko/20100101 Firefox/52.0", "Firefox", "52.0", "Windows",
     "7", "", "pc", "App on Firefox for Windows"},
    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
     "Safari/537.36 Edg/131.0.2903.86",
     "Edge", "131.0.2903.86", "Windows", "", "", "pc", "App on Edge for Windows"},
    {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.3.1 "
     "Safari/605.1.15",
     "Safari", "17.3.1", "macOS", "", "", "pc", "App on Safari for macOS"},
    {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/14.1 "
     "Safari/605.1.15",
     "Safari", "14.1", "macOS", "10.14.6", "", "pc", "App on Safari for macOS"},
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.4 Mobile/15E148 Safari/604.1",
     "Safari", "17.4", "iOS", "17.4", "iPhone", "mobile", "App on iPhone"},
    {"Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "CriOS/120.0.6099.119 "
     "Mobile/15E148 Safari/604.1",
     "Chrome", "120.0.6099.119", "iPadOS", "16.6", "iPad", "tablet", "App on iPad"},
    {"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile "
     "Safari/537.36",
     "Chrome", "131.0.0.0", "Android", "", "", "mobile", "App on Chrome for Android"},
    {"Mozilla/5.0 (Linux; Android 13; SM-S901B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/112.0.0.0 "
     "Mobile "
     "Safari/537.36",
     "Chrome", "112.0.0.0", "Android", "13", "", "mobile", "App on Chrome for Android"},
    {"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/107.0.0.0 "
     "Safari/537.36",
     "Chrome", "107.0.0.0", "Chrome OS", "", "", "pc", "App on Chrome for Chrome OS"},
    {"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 "
     "OPR/106.0.0.0",
     "Opera", "106.0.0.0", "Linux", "", "", "pc", "App on Opera for Linux"},
    /* Element Desktop: Electron names the app among the engine's tokens */
    {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Element/1.11.85 "
     "Chrome/130.0.6723.137 Electron/33.2.1 Safari/537.36",
     "Element", "1.11.85", "macOS", "", "", "pc", "App on Element for macOS"},
    /* others: the leading product, nothing more */
    {"curl/8.1.2", "curl", "8.1.2", "", "", "", "unknown", "App on curl"},
    {"matrix-nio/0.24.0 (Python)", "matrix-nio", "0.24.0", "", "", "", "unknown", "App on matrix-nio"},
    {"", "", "", "", "", "", "unknown", "App on Unknown device"},
    {"Mozilla/5.0", "", "", "", "", "", "unknown", "App on Unknown device"},
    {"(;;;)", "", "", "", "", "", "unknown", "App on Unknown device"},
    {"a/ ()", "a", "", "", "", "", "unknown", "App on a"},
    {"a/b ()", "a", "b", "", "", "", "unknown", "App on a"},
    {"a/b (x)", "a", "b", "", "", "", "unknown", "App on a"},
    {"a/b (;)", "a", "b", "", "", "", "unknown", "App on a"},
};

int main(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct expect *e = &cases[i];
        int before = check_failures;
        struct user_agent ua;
        user_agent_parse(masd_str_from(e->header), &ua);
        char device[128];
        user_agent_device_name(&ua, "App", device, sizeof(device));
        CHECK_STR(ua.name, e->name);
        CHECK_STR(ua.version, e->version);
        CHECK_STR(ua.os, e->os);
        CHECK_STR(ua.os_version, e->os_version);
        CHECK_STR(ua.model, e->model);
        CHECK_STR(user_agent_device_type_name(ua.device_type), e->type);
        CHECK_STR(device, e->device);
        if (check_failures != before)
            fprintf(stderr, "  in case %zu: %s\n", i, e->header);
    }

    /* outside input: control characters and non-ASCII bytes never reach a field */
    struct user_agent ua;
    user_agent_parse(masd_str_from("Ev\x01il\xc3\xa9/1\x7f.0 (Mod\nel; Andr\roid 1)"), &ua);
    CHECK_STR(ua.name, "Evil");
    CHECK_STR(ua.version, "1.0");
    CHECK_STR(ua.model, "Model");
    /* fields are cut to their size */
    char long_ua[400];
    memset(long_ua, 'x', sizeof(long_ua) - 1);
    long_ua[sizeof(long_ua) - 1] = '\0';
    memcpy(long_ua + 100, "/1 (", 4);
    memcpy(long_ua + 390, "; iOS 1)", 9);
    user_agent_parse(masd_str_from(long_ua), &ua);
    CHECK(strlen(ua.name) == UA_FIELD_MAX - 1 && strlen(ua.model) == UA_FIELD_MAX - 1);
    CHECK_STR(ua.os, "iOS");
    /* the length counts, not a NUL */
    user_agent_parse((masd_str){"curl/8.1.2 trailing", 6}, &ua);
    CHECK_STR(ua.version, "8");

    /* a device name cut to size never ends inside a UTF-8 sequence */
    char small[12];
    user_agent_parse(masd_str_from("curl/1"), &ua);
    size_t n = user_agent_device_name(&ua, "Caf\xc3\xa9 \xe2\x82\xac\xe2\x82\xac", small, sizeof(small));
    CHECK(n == strlen(small));
    CHECK_STR(small, "Caf\xc3\xa9 \xe2\x82\xac");
    n = user_agent_device_name(&ua, "abcdefghi\xe2\x82\xac", small, sizeof(small));
    CHECK_STR(small, "abcdefghi");
    CHECK(n == 9);
    return check_report(__FILE__);
}
