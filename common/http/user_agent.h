/* What a User-Agent header says about the device behind a session: the application, its
 * platform and model, and whether it is a computer, a phone or a tablet. The session lists and
 * the consent pages show it, and a new OAuth session's device on the homeserver is named from
 * it ("Element on iPhone").
 *
 * Two kinds of header are understood, as MAS understands them (MAS:
 * crates/data-model/src/user_agent.rs):
 *  - a native Matrix client's "Name/version (model; OS version; …)", e.g. Element Android's
 *    "Element/1.6.10 (Google Pixel 7; Android 14; …)" or Element X's
 *    "Element X/25.01.0 (iPhone15,2; iOS 18.2; Scale/3.00)";
 *  - a browser's "Mozilla/5.0 (platform) engine browser/version", including Electron apps such
 *    as Element Desktop, whose own name/version sits among the browser tokens.
 * Anything else that begins with "name/version" gives at least that name. The header is
 * outside input: the fields hold printable ASCII only, cut to their size. */
#pragma once
#include "str.h"
#include <stddef.h>

enum ua_device_type {
    UA_DEVICE_UNKNOWN,
    UA_DEVICE_PC,
    UA_DEVICE_MOBILE,
    UA_DEVICE_TABLET,
};

#define UA_FIELD_MAX 64

/* Each field is "" when the header does not tell it. */
struct user_agent {
    char name[UA_FIELD_MAX];       /* "Firefox", "Element" */
    char version[UA_FIELD_MAX];    /* "128.0" */
    char os[UA_FIELD_MAX];         /* "Windows", "macOS", "iOS", "Android", "Linux" */
    char os_version[UA_FIELD_MAX]; /* "11"; "" where browsers freeze it (Chromium's UA reduction) */
    char model[UA_FIELD_MAX];      /* "iPhone", "Pixel 7" */
    enum ua_device_type device_type;
};

void user_agent_parse(masd_str header, struct user_agent *out);

/* "pc", "mobile", "tablet", "unknown" (MAS's DeviceType names, as GraphQL shows them). */
const char *user_agent_device_type_name(enum ua_device_type t);

/* The name MAS gives a new OAuth session's device (MAS: templates/device_name.txt):
 * "<client> on <model>", else "<client> on <app> for <OS>", "<client> on <app>",
 * "<client> on Unknown device". Cut to size (size > 0). Returns the length written. */
size_t user_agent_device_name(const struct user_agent *ua, const char *client_name, char *out, size_t size);
