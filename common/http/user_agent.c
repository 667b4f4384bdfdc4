/* User-Agent headers into application, platform, model and device type: see user_agent.h. */
#include "user_agent.h"
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static bool is_word(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Copies s (trimmed) into a field, printable ASCII only, cut to the field's size. */
static void set(char dst[UA_FIELD_MAX], masd_str s)
{
    s = masd_str_trim(s);
    size_t n = 0;
    for (size_t i = 0; i < s.len && n + 1 < UA_FIELD_MAX; i++)
        if (s.ptr[i] >= 0x20 && s.ptr[i] <= 0x7e)
            dst[n++] = s.ptr[i];
    dst[n] = '\0';
}

static const char *find(masd_str h, const char *needle)
{
    return h.ptr && h.len ? memmem(h.ptr, h.len, needle, strlen(needle)) : NULL;
}

/* The run of word characters and dots after `needle` ("Firefox/" → "128.0"); false when the
 * header does not contain the needle. */
static bool version_after(masd_str h, const char *needle, masd_str *v)
{
    const char *p = find(h, needle);
    if (!p)
        return false;
    const char *start = p + strlen(needle), *end = h.ptr + h.len, *q = start;
    while (q < end && (is_word(*q) || *q == '.'))
        q++;
    *v = (masd_str){start, (size_t)(q - start)};
    return true;
}

/* Like version_after, with "_" read as "." ("Mac OS X 10_15_7" → "10.15.7"). */
static void dotted_version_after(masd_str h, const char *needle, char dst[UA_FIELD_MAX])
{
    masd_str v;
    if (!version_after(h, needle, &v))
        return;
    set(dst, v);
    for (char *c = dst; *c; c++)
        if (*c == '_')
            *c = '.';
}

/* ---- native clients: "Name/version (segment; segment; …)" -------------------------------- */

static masd_str segment(masd_str *rest)
{
    const char *semi = rest->len ? memchr(rest->ptr, ';', rest->len) : NULL;
    size_t n = semi ? (size_t)(semi - rest->ptr) : rest->len;
    masd_str s = {rest->ptr, n};
    rest->ptr += semi ? n + 1 : n;
    rest->len -= semi ? n + 1 : n;
    return masd_str_trim(s);
}

static bool parse_native(masd_str h, struct user_agent *ua)
{
    const char *end = h.ptr + h.len;
    const char *slash = h.len ? memchr(h.ptr, '/', h.len) : NULL;
    if (!slash || slash == h.ptr)
        return false;
    const char *space = memchr(slash + 1, ' ', (size_t)(end - slash - 1));
    if (!space || space == slash + 1 || end - space < 4 || space[1] != '(' || end[-1] != ')')
        return false;

    masd_str rest = {space + 2, (size_t)(end - 1 - (space + 2))}, seg[4];
    size_t n = 0;
    while (n < 4 && (rest.len || n == 0))
        seg[n++] = segment(&rest);
    masd_str model, os;
    if (n == 4 && masd_str_eq(seg[0], MASD_STR("Linux")) && masd_str_eq(seg[1], MASD_STR("U")))
        os = seg[2], model = seg[3]; /* old Android: "Linux; U; Android 2.3; Nexus S Build/…" */
    else if (n >= 2)
        model = seg[0], os = seg[1];
    else
        return false;

    /* Android models carry "/<build>" or "Build/<build>": not part of the model. */
    const char *cut = model.len ? memchr(model.ptr, '/', model.len) : NULL;
    if (cut)
        model.len = (size_t)(cut - model.ptr);
    if (model.len >= 5 && memcmp(model.ptr + model.len - 5, "Build", 5) == 0)
        model.len -= 5;
    const char *os_space = os.len ? memchr(os.ptr, ' ', os.len) : NULL;
    if (os_space) {
        set(ua->os_version, (masd_str){os_space + 1, (size_t)(os.ptr + os.len - os_space - 1)});
        os.len = (size_t)(os_space - os.ptr);
    }

    set(ua->name, (masd_str){h.ptr, (size_t)(slash - h.ptr)});
    set(ua->version, (masd_str){slash + 1, (size_t)(space - slash - 1)});
    set(ua->model, model);
    set(ua->os, os);
    if (strcmp(ua->os, "Android") == 0 || strcmp(ua->os, "iOS") == 0)
        ua->device_type = UA_DEVICE_MOBILE;
    if (strstr(ua->model, "iPad"))
        ua->device_type = UA_DEVICE_TABLET;
    return true;
}

/* ---- browsers ---------------------------------------------------------------------------- */

/* The platform. Browsers that follow Chromium's UA reduction freeze the OS version
 * (https://www.chromium.org/updates/ua-reduction/): a frozen value says nothing, so it is left
 * out, as MAS does. The iOS checks come first (their header says "like Mac OS X"), Android and
 * ChromeOS before Linux. */
static void browser_platform(masd_str h, struct user_agent *ua)
{
    if (find(h, "iPad")) {
        set(ua->os, MASD_STR("iPadOS"));
        set(ua->model, MASD_STR("iPad"));
        dotted_version_after(h, "CPU OS ", ua->os_version);
        ua->device_type = UA_DEVICE_TABLET;
    } else if (find(h, "iPhone") || find(h, "iPod")) {
        set(ua->os, MASD_STR("iOS"));
        set(ua->model, find(h, "iPhone") ? MASD_STR("iPhone") : MASD_STR("iPod"));
        dotted_version_after(h, "iPhone OS ", ua->os_version);
        ua->device_type = UA_DEVICE_MOBILE;
    } else if (find(h, "Android")) {
        set(ua->os, MASD_STR("Android"));
        if (!find(h, "Linux; Android 10; K"))
            dotted_version_after(h, "Android ", ua->os_version);
        ua->device_type = UA_DEVICE_MOBILE;
    } else if (find(h, "CrOS")) {
        set(ua->os, MASD_STR("Chrome OS"));
        ua->device_type = UA_DEVICE_PC;
    } else if (find(h, "Windows NT ")) {
        static const struct {
            const char *nt, *name;
        } windows[] = {{"10.0", "10"}, {"6.3", "8.1"},   {"6.2", "8"},
                       {"6.1", "7"},   {"6.0", "Vista"}, {"5.1", "XP"}};
        masd_str nt = {0};
        version_after(h, "Windows NT ", &nt);
        set(ua->os, MASD_STR("Windows"));
        for (size_t i = 0; i < sizeof(windows) / sizeof(windows[0]); i++)
            if (masd_str_eq(nt, masd_str_from(windows[i].nt)))
                set(ua->os_version, masd_str_from(windows[i].name));
        if (find(h, "Windows NT 10.0; Win64; x64")) /* frozen: Windows 11 says the same */
            ua->os_version[0] = '\0';
        ua->device_type = UA_DEVICE_PC;
    } else if (find(h, "Mac OS X") || find(h, "Macintosh")) {
        set(ua->os, MASD_STR("macOS"));
        if (!find(h, "Mac OS X 10_15_7"))
            dotted_version_after(h, "Mac OS X ", ua->os_version);
        ua->device_type = UA_DEVICE_PC;
    } else if (find(h, "Linux")) {
        set(ua->os, MASD_STR("Linux"));
        ua->device_type = UA_DEVICE_PC;
    }
}

/* The browser, most specific token first: Edge and Opera also say "Chrome/", Chrome also says
 * "Safari/". */
static void browser_name(masd_str h, struct user_agent *ua)
{
    static const struct {
        const char *token, *name;
    } browsers[] = {
        {"Edg/", "Edge"},        {"Edge/", "Edge"},    {"OPR/", "Opera"},     {"FxiOS/", "Firefox"},
        {"Firefox/", "Firefox"}, {"CriOS/", "Chrome"}, {"Chrome/", "Chrome"}, {"Version/", "Safari"},
    };
    masd_str v;
    for (size_t i = 0; i < sizeof(browsers) / sizeof(browsers[0]); i++) {
        if (!version_after(h, browsers[i].token, &v))
            continue;
        if (strcmp(browsers[i].name, "Safari") == 0 && !find(h, "Safari/"))
            continue;
        set(ua->name, masd_str_from(browsers[i].name));
        set(ua->version, v);
        return;
    }
}

/* An Electron application (Element Desktop) names itself among the browser's tokens: the first
 * "word/version" that is not one of the engine's. */
static void electron_app(masd_str h, struct user_agent *ua)
{
    static const char *const engine[] = {"Mozilla", "AppleWebKit", "Chrome", "Electron", "Safari"};
    const char *p = h.ptr, *end = h.ptr + h.len;
    while (p < end) {
        const char *w = p;
        while (p < end && is_word(*p))
            p++;
        if (p == w || p + 1 >= end || *p != '/' || !(is_word(p[1]) || p[1] == '.')) {
            p = p == w ? p + 1 : p;
            continue;
        }
        masd_str word = {w, (size_t)(p - w)};
        const char *v = ++p;
        while (p < end && (is_word(*p) || *p == '.'))
            p++;
        bool is_engine = false;
        for (size_t i = 0; i < sizeof(engine) / sizeof(engine[0]); i++)
            is_engine |= masd_str_eq(word, masd_str_from(engine[i]));
        if (!is_engine) {
            set(ua->name, word);
            set(ua->version, (masd_str){v, (size_t)(p - v)});
            return;
        }
    }
}

/* Anything else that starts with "name/version" ("curl/8.1.2", "matrix-nio/0.24.0"). */
static void leading_product(masd_str h, struct user_agent *ua)
{
    const char *end = h.ptr + h.len, *p = h.ptr;
    while (p < end && *p != '/' && *p != ' ' && *p != '(')
        p++;
    if (p == h.ptr || p == end || *p != '/')
        return;
    const char *v = ++p;
    while (p < end && *p != ' ')
        p++;
    set(ua->name, (masd_str){h.ptr, (size_t)(v - 1 - h.ptr)});
    set(ua->version, (masd_str){v, (size_t)(p - v)});
}

void user_agent_parse(masd_str h, struct user_agent *ua)
{
    memset(ua, 0, sizeof(*ua));
    h = masd_str_trim(h);
    if (!find(h, "Mozilla/") && parse_native(h, ua))
        return;
    if (!find(h, "Mozilla/")) {
        leading_product(h, ua);
        return;
    }
    browser_platform(h, ua);
    browser_name(h, ua);
    if (find(h, "Electron/"))
        electron_app(h, ua);
}

const char *user_agent_device_type_name(enum ua_device_type t)
{
    switch (t) {
    case UA_DEVICE_PC:
        return "pc";
    case UA_DEVICE_MOBILE:
        return "mobile";
    case UA_DEVICE_TABLET:
        return "tablet";
    case UA_DEVICE_UNKNOWN:
        break;
    }
    return "unknown";
}

size_t user_agent_device_name(const struct user_agent *ua, const char *client_name, char *out, size_t size)
{
    int n;
    if (ua->model[0])
        n = snprintf(out, size, "%s on %s", client_name, ua->model);
    else if (ua->name[0] && ua->os[0])
        n = snprintf(out, size, "%s on %s for %s", client_name, ua->name, ua->os);
    else if (ua->name[0])
        n = snprintf(out, size, "%s on %s", client_name, ua->name);
    else
        n = snprintf(out, size, "%s on Unknown device", client_name);
    if (n < 0) {
        out[0] = '\0';
        return 0;
    }
    size_t len = (size_t)n < size ? (size_t)n : size - 1;
    if ((size_t)n >= size) { /* cut: not inside a UTF-8 sequence of the client's name */
        size_t i = len;
        while (i > 0 && ((unsigned char)out[i - 1] & 0xc0) == 0x80)
            i--;
        unsigned char lead = i > 0 ? (unsigned char)out[i - 1] : 0;
        size_t need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
        if (lead >= 0xc0 && len - (i - 1) < need)
            len = i - 1;
        out[len] = '\0';
    }
    return len;
}
