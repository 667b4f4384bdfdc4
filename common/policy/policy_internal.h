/* Shared by the policy's files (policy*.c): the data as read once by policy_new(), and the
 * helpers every policy uses to report violations. */
#pragma once
#include "addr.h"
#include "policy.h"
#include <jansson.h>
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

/* A list of strings from the data (admin_users, a constraint's literals). */
struct policy_strings {
    char **items;
    size_t n;
};

/* MAS: policies/common/common.rego matches_string_constraints: regexes, substrings,
 * literals, suffixes, prefixes. */
struct policy_string_constraints {
    bool present; /* the object was in the data (Rego: `not data.x` is false) */
    regex_t *regexes;
    size_t n_regexes;
    struct policy_strings substrings, literals, suffixes, prefixes;
};

/* Reads the constraints object at `path` (absent or null: empty, not present); -EINVAL with
 * *error for a value that could never match (policy_constraints.c). */
int policy_constraints_load(const json_t *c, const char *path, struct policy_string_constraints *out,
                            char **error);
void policy_constraints_free(struct policy_string_constraints *c);
/* MAS: common.rego matches_string_constraints */
bool policy_constraints_match(const struct policy_string_constraints *c, const char *s);

/* data.requester (MAS: common.rego requester_banned). */
struct policy_requester_rules {
    struct masd_cidr *banned_ips;
    size_t n_banned_ips;
    struct policy_string_constraints banned_user_agents;
};

struct policy {
    json_t *data; /* the merged data, for the policies to come */
    struct policy_strings admin_users, admin_clients;
    struct policy_requester_rules requester;
    /* data.session_limit */
    bool session_limit;  /* not null */
    bool has_soft_limit; /* session_limit.soft_limit is set */
    int64_t soft_limit;
    bool has_hard_limit; /* session_limit.hard_limit is set */
    int64_t hard_limit;
    bool has_max_threshold; /* session_limit.max_session_threshold is set (not null) */
    int64_t max_threshold;
    /* data.client_registration (absent: false) */
    bool allow_insecure_uris, allow_host_mismatch, allow_missing_client_uri;
    /* data.client_metadata.client_uri is truthy: MAS's Rego reads it (not input's) in
     * host_matches_client_uri, so with allow_missing_client_uri it is normally undefined */
    bool data_client_uri;
    /* register and email (policy_register.c) */
    struct policy_string_constraints allowed_usernames, banned_usernames, allowed_addresses, banned_addresses;
    struct policy_strings allowed_domains, banned_domains;
    bool has_allowed_domains; /* data.allowed_domains is set: an address must match one */
};

/* The longest domain glob (data.allowed_domains, banned_domains) policy_new accepts. */
#define POLICY_GLOB_MAX 255
/* Reads and frees what register and email read (policy_register.c). */
int policy_register_load(struct policy *p, char **error);
void policy_register_free(struct policy *p);
/* MAS: glob.match(pattern, ["."], domain), as policy_register.c explains; for the unit tests. */
bool policy_domain_glob_match(const char *pattern, const char *domain);

/* "object", "array", "string", "number", "boolean" or "null": for error messages. */
const char *policy_json_kind(const json_t *v);

/* Sets *error (malloc'd) to the formatted message and returns r. */
int policy_fail(char **error, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

bool policy_strings_contains(const struct policy_strings *l, const char *s);

/* Appends a violation (msg printf-formatted). Returns 0 or -ENOMEM. */
int policy_violation_add(struct policy_result *r, const char *code, uint64_t need_to_remove, const char *fmt,
                         ...) __attribute__((format(printf, 4, 5)));
/* Reads data.client_registration (policy_client_registration.c). */
int policy_client_registration_load(struct policy *p, char **error);
/* Appends a violation about a form field (field and code are static strings). */
int policy_violation_add_field(struct policy_result *r, const char *field, const char *code, const char *msg);
/* Sorts the violations and drops repeats: Rego's `violation` is a set. */
void policy_result_finish(struct policy_result *r);

/* Reads data.requester into *rules; -EINVAL with *error set for a value that could never match. */
int policy_requester_rules_load(const json_t *requester, struct policy_requester_rules *rules, char **error);
void policy_requester_rules_free(struct policy_requester_rules *rules);
/* MAS: common.rego requester_banned */
bool policy_requester_banned(const struct policy_requester_rules *rules, const struct policy_requester *req);
/* Adds "Requester [...] isn't allowed to do this action" when the requester is banned. */
int policy_check_requester(const struct policy *p, const struct policy_requester *req,
                           struct policy_result *r);

/* Reads a list of strings at data `key` (absent or null: empty); *error names `path`. */
int policy_strings_load(const json_t *parent, const char *key, const char *path, struct policy_strings *out,
                        char **error);
void policy_strings_free(struct policy_strings *l);

/* client_registration's helpers, for the unit tests (MAS: client_registration.rego). */
struct policy_span {
    const char *s;
    size_t len;
};
/* parse_uri's captures, pointing into the string; len 0 for a group that did not match (OPA
 * reports "") */
struct policy_uri {
    struct policy_span scheme, authority, host, port, path, query;
};
/* MAS: parse_uri (its regex, matched as RE2 does). */
bool policy_parse_uri(const char *s, struct policy_uri *out);
/* MAS: is_subdomain(host, other) when !other_reversed, reverse_dns_match(host, other) when it is. */
bool policy_labels_prefix(struct policy_span host, struct policy_span other, bool other_reversed);
