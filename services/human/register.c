/* Registration with a password (MAS: crates/handlers/src/views/register/): /register,
 * /register/password, then the steps of /register/steps/{id}/ until `finish` creates the account.
 *
 *   GET  /register                      register_index.c: the ways in (providers, password)
 *   GET  /register/password             the form: username, e-mail (when required), password
 *                                         twice, the terms (when branding.tos_uri is set)
 *   POST /register/password             checks, then a registration row and 303 to finish
 *   GET  /register/steps/{id}/finish    what is still missing: 303 to its step; else the account
 *   GET, POST …/token                   a registration token (account.*registration_token_required)
 *   GET, POST …/verify-email            the six-digit code mailed to the address, or another one
 *                                         (account.password_registration_email_required)
 *   GET, POST …/display-name            a display name, or skip it (the username is used)
 *
 * The POST of the form runs on four threads in turn, each doing only what it may: the worker
 * pool (the database's checks, the policy, the password's strength, the per-IP limit), the
 * outbound pool (whether the homeserver would take the username: MAS asks it too), the
 * password-hashing thread, and the worker pool again (the row). A registration belongs to the
 * browser that started it: its ID goes into the `user-registration-sessions` cookie (MAS's
 * format: a JSON list of ULIDs, sealed), and every step refuses an ID the cookie does not name.
 * `finish` creates the user, its password and the browser session in one transaction, counts
 * the registration token's use there (a single-use token cannot serve two), and provisions the
 * user on the homeserver before it answers, so that the user exists there before the first
 * device of any client (the queued job remains as the fallback). A registration from an upstream
 * provider's claims (upstream_link.c) has no password: `finish` links the provider's account to
 * the new user and signs in through the provider's authorization session, which it consumes. */
#include "clock.h"
#include "form.h"
#include "hs_sync.h"
#include "human.h"
#include "log.h"
#include "mail_address.h"
#include "passwords.h"
#include "policy.h"
#include "storage_upstream.h"
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REGISTRATION_COOKIE     "user-registration-sessions"
#define REGISTRATION_MAX_AGE_MS (3600 * 1000LL) /* MAS: a registration lasts an hour */
#define REGISTRATION_COOKIE_MAX 16              /* IDs kept in the cookie, the newest */

/* ---- the user-registration-sessions cookie ------------------------------------------------- */

struct reg_cookie {
    char ids[REGISTRATION_COOKIE_MAX][STORAGE_ID_SIZE];
    size_t n;
};

/* The ULID's time (its first 10 characters, Crockford base32): when the registration started. */
static int64_t ulid_ms(const char *id)
{
    static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    int64_t t = 0;
    for (int i = 0; i < 10; i++) {
        const char *p = id[i] ? strchr(alphabet, id[i]) : NULL;
        if (!p)
            return -1;
        t = t * 32 + (p - alphabet);
    }
    return t;
}

/* Reads the cookie; a missing or unreadable one is empty, an expired ID is dropped. */
static void cookie_read(struct masd_request *r, struct reg_cookie *c)
{
    *c = (struct reg_cookie){0};
    char *plain = NULL;
    size_t len;
    if (human_open_cookie(r, REGISTRATION_COOKIE, &plain, &len) < 0)
        return;
    json_t *list = json_loadb(plain, len, 0, NULL);
    free(plain);
    size_t i;
    json_t *v;
    int64_t now = masd_now();
    json_array_foreach(list, i, v)
    {
        const char *id = json_string_value(v);
        int64_t t = id && strlen(id) == STORAGE_ID_SIZE - 1 ? ulid_ms(id) : -1;
        if (t >= 0 && now - t < REGISTRATION_MAX_AGE_MS && c->n < REGISTRATION_COOKIE_MAX)
            memcpy(c->ids[c->n++], id, STORAGE_ID_SIZE);
    }
    json_decref(list);
}

static bool cookie_has(const struct reg_cookie *c, const char *id)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->ids[i], id) == 0)
            return true;
    return false;
}

static void cookie_write(struct masd_request *r, const struct reg_cookie *c)
{
    if (!c->n) {
        human_clear_cookie(r, REGISTRATION_COOKIE);
        return;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < c->n; i++)
        json_array_append_new(list, json_string(c->ids[i]));
    char *json = json_dumps(list, JSON_COMPACT);
    human_set_cookie(r, REGISTRATION_COOKIE, json, false);
    free(json);
    json_decref(list);
}

static void cookie_add(struct reg_cookie *c, const char *id)
{
    if (c->n == REGISTRATION_COOKIE_MAX) { /* the oldest goes */
        memmove(c->ids[0], c->ids[1], sizeof(c->ids[0]) * (REGISTRATION_COOKIE_MAX - 1));
        c->n--;
    }
    memcpy(c->ids[c->n++], id, STORAGE_ID_SIZE);
}

static void cookie_remove(struct reg_cookie *c, const char *id)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->ids[i], id) == 0) {
            memmove(c->ids[i], c->ids[i + 1], sizeof(c->ids[0]) * (c->n - i - 1));
            c->n--;
            return;
        }
}

void register_cookie_add(struct masd_request *r, const char *id)
{
    struct reg_cookie c;
    cookie_read(r, &c);
    cookie_add(&c, id);
    cookie_write(r, &c);
}

/* ---- the job ------------------------------------------------------------------------------- */

enum reg_page { PAGE_INDEX, PAGE_PASSWORD, PAGE_FINISH, PAGE_TOKEN, PAGE_DISPLAY_NAME, PAGE_VERIFY_EMAIL };

enum reg_outcome {
    OUT_FORM,      /* the page's form (again, with its errors) */
    OUT_REDIRECT,  /* 303 to `location` */
    OUT_ERROR,     /* an error page: status, kind */
    OUT_BUSY,      /* a queue was full */
    OUT_INTERNAL,  /* logged */
    OUT_SIGNED_IN, /* finish: the account and its session exist: cookie, then `location` */
    OUT_CONTINUE,  /* the POST goes on to the next thread */
};

struct reg_job {
    enum reg_page page;
    bool post;
    struct action action;
    struct browser browser;
    struct reg_cookie cookie;
    struct masd_addr client;
    char ip[MASD_ADDR_STRLEN];
    char user_agent[STORAGE_SHORT_TEXT_MAX + 1];
    char id[STORAGE_ID_SIZE]; /* the registration of a step */
    struct storage_registration reg;
    /* the password form */
    char username[STORAGE_USERNAME_MAX + 1];
    char email[STORAGE_EMAIL_MAX + 1];
    char *password; /* malloc'd, wiped */
    size_t password_len;
    bool accept_terms;
    json_t *errors;      /* field errors: {"username_required": true, …} */
    json_t *form_errors; /* the form's: {"rate_limited": true, "policy": ["…"]} */
    bool username_ok;    /* no error on the username so far: ask the homeserver */
    int stage;           /* the POST's: how many of its threads have done their part */
    /* the token and display-name steps */
    char value[STORAGE_REGISTRATION_TOKEN_MAX + 1];
    bool skip;   /* display-name: action=skip */
    bool resend; /* verify-email: action=resend */
    struct storage_email_authentication auth;
    /* outcome */
    enum reg_outcome out;
    int status;
    const char *kind;
    char location[2048];
    char session_id[STORAGE_ID_SIZE];
    struct storage_user user;
};

static void job_free(struct reg_job *j)
{
    if (j->password) {
        OPENSSL_cleanse(j->password, j->password_len);
        free(j->password);
    }
    json_decref(j->errors);
    json_decref(j->form_errors);
    free(j);
}

static void field_error(struct reg_job *j, const char *flag)
{
    json_object_set_new(j->errors, flag, json_true());
}

static void form_error(struct reg_job *j, const char *flag)
{
    json_object_set_new(j->form_errors, flag, json_true());
}

static bool has_errors(const struct reg_job *j)
{
    return json_object_size(j->errors) || json_object_size(j->form_errors);
}

static void step_redirect(struct reg_job *j, const char *step)
{
    snprintf(j->location, sizeof(j->location), "%s/register/steps/%s/%s", human.root, j->id, step);
    j->out = OUT_REDIRECT;
}

static void to_action(struct reg_job *j)
{
    if (action_target(&j->action, human.root, "/", j->location, sizeof(j->location)) < 0)
        snprintf(j->location, sizeof(j->location), "%s/", human.root);
    j->out = OUT_REDIRECT;
}

static void error_page(struct reg_job *j, int status, const char *kind)
{
    j->out = OUT_ERROR, j->status = status, j->kind = kind;
}

/* ---- rendering ----------------------------------------------------------------------------- */

static void render(struct masd_request *r, struct reg_job *j, int status)
{
    static const char *const templates[] = {
        [PAGE_PASSWORD] = "register_password.html",
        [PAGE_TOKEN] = "register_token.html",
        [PAGE_DISPLAY_NAME] = "register_display_name.html",
        [PAGE_VERIFY_EMAIL] = "register_verify_email.html",
    };
    struct page p = {.data = page_data()};
    const char *csrf = csrf_issue(r);
    if (!p.data || !csrf || !templates[j->page]) {
        json_decref(p.data);
        page_error(r, 500, "internal", "out of memory");
        return;
    }
    json_t *form = json_pack("{s:s, s:s, s:b, s:O, s:O}", "username", j->username, "email", j->email,
                             "accept_terms", j->accept_terms, "errors", j->errors, "error", j->form_errors);
    json_object_set_new(p.data, "form", form);
    json_object_set_new(p.data, "csrf", json_string(csrf));
    json_object_set_new(p.data, "email_required",
                        json_boolean(human.cfg->password_registration_email_required));
    char q[1024] = "", url[1200];
    action_query(&j->action, q, sizeof(q));
    snprintf(url, sizeof(url), "%s/login%s%s", human.root, q[0] ? "?" : "", q);
    json_object_set_new(p.data, "login_url", json_string(url));
    if (j->page != PAGE_PASSWORD) {
        json_object_set_new(
            p.data, "registration",
            json_pack("{s:s, s:s, s:s}", "id", j->id, "username", j->reg.username, "email", j->auth.email));
        json_object_set_new(p.data, "value", json_string(j->value));
    }
    page_send(r, status, templates[j->page], &p);
}

/* ---- the password form --------------------------------------------------------------------- */

/* What the form alone tells (on the loop): empty fields, the two passwords, the terms, the
 * e-mail's shape. */
static void check_form(struct reg_job *j, const char *confirm)
{
    const struct config *cfg = human.cfg;
    if (!j->username[0])
        field_error(j, "username_required");
    struct mail_address a;
    const char *why;
    if (cfg->password_registration_email_required && !j->email[0])
        field_error(j, "email_required");
    else if (cfg->password_registration_email_required &&
             mail_address_parse(masd_str_from(j->email), &a, &why) < 0)
        field_error(j, "email_invalid");
    if (!j->password_len)
        field_error(j, "password_required");
    if (!*confirm)
        field_error(j, "password_confirm_required");
    else if (j->password_len && strcmp(j->password, confirm) != 0)
        field_error(j, "password_mismatch");
    if (cfg->branding.tos_uri && !j->accept_terms)
        field_error(j, "accept_terms_required");
}

/* The policy's violations, onto the fields they name (MAS: register/password.rs). */
static void add_violations(struct reg_job *j, const struct policy_result *res)
{
    for (size_t i = 0; i < res->n; i++) {
        const struct policy_violation *v = &res->violations[i];
        if (v->field && v->code) {
            char flag[64];
            snprintf(flag, sizeof(flag), "%s", v->code); /* "username-banned" → "username_banned" */
            for (char *c = flag; *c; c++)
                if (*c == '-')
                    *c = '_';
            field_error(j, flag);
            if (strcmp(v->field, "username") == 0)
                j->username_ok = false;
        } else {
            json_t *list = json_object_get(j->form_errors, "policy");
            if (!list)
                json_object_set_new(j->form_errors, "policy", list = json_array());
            json_array_append_new(list, json_string(v->msg));
        }
    }
}

static int password_checks_tx(struct storage_tx *tx, void *arg)
{
    struct reg_job *j = arg;
    int r = browser_load(tx, &j->browser);
    if (r < 0)
        return r;
    if (j->browser.state == BROWSER_ACTIVE) {
        to_action(j);
        return 0;
    }
    j->username_ok = j->username[0] != '\0';
    if (j->username_ok) {
        struct storage_user u;
        r = storage_user_find(tx, j->username, &u);
        if (r == 0) {
            field_error(j, "username_exists");
            j->username_ok = false;
        } else if (r != -ENOENT && r != -EINVAL) {
            return r;
        }
    }
    struct policy_register_input in = {
        .method = POLICY_REGISTRATION_PASSWORD,
        .username = j->username,
        .email = human.cfg->password_registration_email_required && j->email[0] ? j->email : NULL,
        .requester = {.ip = j->ip[0] ? j->ip : NULL, .user_agent = j->user_agent[0] ? j->user_agent : NULL},
    };
    struct policy_result res = {0};
    if (policy_register(human.policy, &in, &res) < 0)
        return -ENOMEM;
    add_violations(j, &res);
    policy_result_clear(&res);
    if (j->password_len && password_check_complexity(&human.cfg->passwords, j->password) == -EPERM)
        field_error(j, "password_weak");
    return 0;
}

/* MAS: the registration limit is taken only by a form that would register: after every check,
 * the homeserver's included, and before the password's hash costs anything. */
static int limit_tx(struct storage_tx *tx, void *arg)
{
    struct reg_job *j = arg;
    char key[32 + MASD_NETWORK_STRLEN], net[MASD_NETWORK_STRLEN];
    const struct config_rate_limit *l = &human.cfg->rate_limiting.registration;
    snprintf(key, sizeof(key), "registration:%s",
             addr_network(&j->client, human.cfg->rate_limiting.ipv6_prefix_length, net) ? net : "-");
    int64_t retry = 0;
    int64_t now = masd_now();
    int r = storage_rate_limit_check(tx, key, l->burst, l->per_second, now, &retry);
    if (r == 0)
        form_error(j, "rate_limited");
    if (r <= 0 || !human.cfg->password_registration_email_required)
        return r < 0 ? r : 0;
    /* MAS: the code e-mail's limits too, per network and per address (folded) */
    const struct config_rate_limiting *rl = &human.cfg->rate_limiting;
    snprintf(key, sizeof(key), "email.per_ip:%s",
             addr_network(&j->client, rl->ipv6_prefix_length, net) ? net : "-");
    r = storage_rate_limit_check(tx, key, rl->email_per_ip.burst, rl->email_per_ip.per_second, now, &retry);
    if (r == 1) {
        char per_address[STORAGE_EMAIL_MAX + 32];
        int n = snprintf(per_address, sizeof(per_address), "email.per_address:%s", j->email);
        for (char *c = per_address + n - strlen(j->email); *c; c++)
            *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
        r = storage_rate_limit_check(tx, per_address, rl->email_per_address.burst,
                                     rl->email_per_address.per_second, now, &retry);
    }
    if (r == 0)
        form_error(j, "rate_limited");
    return r < 0 ? r : 0;
}

static void limit_work(void *arg)
{
    struct reg_job *j = arg;
    if (storage_tx(human.st, STORAGE_TX_WRITE, limit_tx, j) < 0) {
        log_error("register: %s", storage_last_error());
        j->out = OUT_INTERNAL;
    }
}

static void password_answer(struct masd_request *r, void *arg);

/* GET: only whether the browser is signed in already. */
static int browser_tx(struct storage_tx *tx, void *arg)
{
    struct reg_job *j = arg;
    int r = browser_load(tx, &j->browser);
    if (r >= 0 && j->browser.state == BROWSER_ACTIVE)
        to_action(j);
    return r < 0 ? r : 0;
}

static void browser_work(void *arg)
{
    struct reg_job *j = arg;
    j->out = OUT_FORM;
    if (storage_tx(human.st, STORAGE_TX_READ, browser_tx, j) < 0) {
        log_error("register: %s", storage_last_error());
        j->out = OUT_INTERNAL;
    }
}

static void password_checks_work(void *arg)
{
    struct reg_job *j = arg;
    j->out = OUT_CONTINUE;
    if (storage_tx(human.st, STORAGE_TX_WRITE, password_checks_tx, j) < 0) {
        log_error("register: %s", storage_last_error());
        j->out = OUT_INTERNAL;
    }
}

/* MAS asks the homeserver whether it would take the name (a name Synapse reserves, an
 * application service's namespace); a "no" is the same error as a name taken here. */
static void homeserver_work(void *arg)
{
    struct reg_job *j = arg;
    if (!j->username_ok)
        return;
    struct homeserver_result res = {0};
    int r = homeserver_is_localpart_available(human.hs, j->username, &res);
    if (r == 0)
        field_error(j, "username_exists");
    else if (r < 0) {
        log_error("register: the homeserver cannot say whether '%s' is free: %s", j->username, res.message);
        form_error(j, "homeserver");
    }
}

static void hash_work(void *arg)
{
    struct reg_job *j = arg;
    char *hash = NULL;
    if (password_hash(&human.cfg->passwords, j->password, j->password_len, &hash,
                      &j->reg.hashed_password_version) < 0 ||
        strlen(hash) >= sizeof(j->reg.hashed_password)) {
        j->out = OUT_INTERNAL;
        log_error("register: cannot hash the password");
    } else {
        snprintf(j->reg.hashed_password, sizeof(j->reg.hashed_password), "%s", hash);
    }
    if (hash) {
        OPENSSL_cleanse(hash, strlen(hash));
        free(hash);
    }
}

static int create_tx(struct storage_tx *tx, void *arg)
{
    struct reg_job *j = arg;
    struct storage_registration *g = &j->reg;
    snprintf(g->username, sizeof(g->username), "%s", j->username);
    snprintf(g->ip_address, sizeof(g->ip_address), "%s", j->ip);
    snprintf(g->user_agent, sizeof(g->user_agent), "%s", j->user_agent);
    action_query(&j->action, g->post_auth_action, sizeof(g->post_auth_action));
    snprintf(g->terms_url, sizeof(g->terms_url), "%s",
             human.cfg->branding.tos_uri ? human.cfg->branding.tos_uri : "");
    int64_t now = masd_now();
    int r = storage_registration_create(tx, g, now, g);
    if (r < 0 || !human.cfg->password_registration_email_required)
        return r;
    /* the code e-mail is a job of this same transaction (masd-worker sends it) */
    struct storage_email_authentication auth;
    if ((r = storage_email_authentication_start(tx, j->email, NULL, "en", now, &auth)) < 0)
        return r;
    memcpy(g->email_authentication_id, auth.id, sizeof(auth.id));
    return storage_registration_set_email_authentication(tx, g->id, auth.id);
}

static void create_work(void *arg)
{
    struct reg_job *j = arg;
    if (storage_tx(human.st, STORAGE_TX_WRITE, create_tx, j) < 0) {
        log_error("register: %s", storage_last_error());
        j->out = OUT_INTERNAL;
        return;
    }
    memcpy(j->id, j->reg.id, sizeof(j->id));
    step_redirect(j, "finish");
}

typedef enum masd_defer_status (*defer_fn)(struct masd_request *, void (*)(void *),
                                           void (*)(struct masd_request *, void *), void *);

/* Each thread's part is done: the next one, or the answer. */
static void password_answer(struct masd_request *r, void *arg)
{
    struct reg_job *j = arg;
    if (!r) {
        job_free(j);
        return;
    }
    /* the checks (done), the homeserver, the limit, the hash, the row: each only while no
     * error turned up */
    static void (*const stages[])(void *) = {homeserver_work, limit_work, hash_work, create_work};
    static const defer_fn defers[] = {masd_defer_outbound, masd_defer, masd_defer_cpu, masd_defer};
    enum masd_defer_status st = MASD_DEFER_QUEUED;
    if (j->out == OUT_CONTINUE && !has_errors(j) && j->stage < 4) {
        int k = j->stage++;
        st = defers[k](r, stages[k], password_answer, j);
    } else {
        if (j->out == OUT_CONTINUE)
            j->out = OUT_FORM;
        if (j->out == OUT_REDIRECT && j->id[0]) { /* registered: on to the steps */
            cookie_add(&j->cookie, j->id);
            cookie_write(r, &j->cookie);
        } else if (j->out == OUT_REDIRECT) { /* signed in meanwhile: on to the action */
            browser_write_cookie(r, &j->browser);
        }
        int status = !j->post                                          ? 200
                     : json_object_get(j->form_errors, "rate_limited") ? 429
                     : json_object_get(j->form_errors, "homeserver")   ? 503
                                                                       : 400;
        switch (j->out) {
        case OUT_FORM:
            render(r, j, status);
            break;
        case OUT_REDIRECT:
            page_redirect(r, j->location);
            break;
        default:
            page_error(r, 500, "internal", "the registration could not be stored");
            break;
        }
        job_free(j);
        return;
    }
    if (st == MASD_DEFER_FULL) {
        form_error(j, "busy");
        render(r, j, 503);
        job_free(j);
    }
}

/* ---- the steps ----------------------------------------------------------------------------- */

/* The registration of a step, and whether this browser may go on with it. */
static int load_registration(struct storage_tx *tx, struct reg_job *j)
{
    int r = storage_registration_get(tx, j->id, &j->reg);
    if (r == -ENOENT || r == -EINVAL) {
        error_page(j, 404, "registration_not_found");
        return 1;
    }
    if (r < 0)
        return r;
    action_parse(masd_str_from(j->reg.post_auth_action), &j->action);
    if (j->reg.completed_at) {
        to_action(j); /* MAS: a completed registration goes on to its action */
        return 1;
    }
    if (masd_now() - j->reg.created_at >= REGISTRATION_MAX_AGE_MS) {
        error_page(j, 410, "registration_expired");
        return 1;
    }
    if (!cookie_has(&j->cookie, j->id)) {
        error_page(j, 403, "registration_not_yours");
        return 1;
    }
    return 0;
}

static int finish_tx(struct storage_tx *tx, void *arg)
{
    struct reg_job *j = arg;
    int r = load_registration(tx, j);
    if (r != 0)
        return r < 0 ? r : 0;
    if ((r = storage_user_find(tx, j->reg.username, &j->user)) == 0) {
        error_page(j, 409, "registration_username_taken");
        return 0;
    }
    if (r != -ENOENT)
        return r;
    /* a registration from an upstream provider's claims (upstream_link.c): its authorization
     * session must still be unused, and the provider may ask for a token too */
    char upstream[STORAGE_ID_SIZE] = "";
    struct storage_upstream_link link = {0};
    const struct config_upstream_provider *provider = NULL;
    if ((r = storage_registration_upstream_session(tx, j->id, upstream)) < 0)
        return r;
    if (upstream[0]) {
        struct storage_upstream_session us;
        if ((r = storage_upstream_session_get(tx, upstream, &us)) < 0)
            return r;
        bool used = us.consumed_at != 0;
        r = us.link_id[0] ? storage_upstream_link_get(tx, us.link_id, &link) : -ENOENT;
        provider = config_upstream_provider(human.cfg, us.provider_id, strlen(us.provider_id));
        storage_upstream_session_clear(&us);
        if (r < 0 && r != -ENOENT)
            return r;
        if (used || r == -ENOENT || link.user_id[0]) {
            error_page(j, 409, "upstream_used");
            return 0;
        }
    }
    if ((human.cfg->registration_token_required || (provider && provider->registration_token_required)) &&
        !j->reg.token_id[0]) {
        step_redirect(j, "token");
        return 0;
    }
    if (j->reg.email_authentication_id[0]) {
        if ((r = storage_email_authentication_get(tx, j->reg.email_authentication_id, &j->auth)) < 0)
            return r;
        if (!j->auth.completed_at) {
            step_redirect(j, "verify-email");
            return 0;
        }
        struct storage_email e;
        if ((r = storage_email_find(tx, j->auth.email, &e)) == 0) {
            error_page(j, 409, "registration_email_in_use");
            return 0;
        }
        if (r != -ENOENT)
            return r;
    }
    if (!j->reg.display_name[0]) {
        step_redirect(j, "display-name");
        return 0;
    }
    int64_t now = masd_now();
    r = 0; /* the lookups above leave -ENOENT ("not found", as wanted) */
    if (j->reg.token_id[0] && (r = storage_registration_token_use(tx, j->reg.token_id, now)) == -EALREADY) {
        /* used up, expired or revoked since the step took it: ask for another */
        if ((r = storage_registration_set_token(tx, j->id, "")) < 0)
            return r;
        step_redirect(j, "token");
        return 0;
    }
    char password_id[STORAGE_ID_SIZE], auth_id[STORAGE_ID_SIZE];
    struct storage_password pw;
    struct storage_browser_session s;
    if (r >= 0)
        r = storage_user_create(tx, j->reg.username, false, now, &j->user);
    if (r >= 0 && j->reg.hashed_password[0])
        r = storage_password_add(tx, j->user.id, j->reg.hashed_password, j->reg.hashed_password_version, NULL,
                                 now, &pw);
    if (r >= 0 && j->reg.hashed_password[0])
        memcpy(password_id, pw.id, sizeof(password_id));
    if (r >= 0 && j->auth.completed_at)
        r = storage_email_add(tx, j->user.id, j->auth.email, now, NULL);
    if (r >= 0 && j->reg.terms_url[0])
        r = storage_user_accept_terms(tx, j->user.id, j->reg.terms_url, now);
    if (r >= 0)
        r = storage_browser_session_create(tx, j->user.id, j->user_agent[0] ? j->user_agent : NULL, now, &s);
    if (r >= 0 && upstream[0]) {
        /* the link gets its user, the authorization session is used by this browser session */
        r = storage_upstream_link_associate(tx, link.id, j->user.id);
        if (r >= 0)
            r = storage_upstream_session_consume(tx, upstream, s.id, now);
        if (r >= 0)
            r = storage_browser_session_authenticate_upstream(tx, s.id, upstream, now, auth_id);
        if (r == -EALREADY) {
            error_page(j, 409, "upstream_used");
            return r;
        }
    } else if (r >= 0) {
        r = storage_browser_session_authenticate(tx, s.id, password_id, now, auth_id);
    }
    if (r >= 0)
        r = hs_queue_provision_user(tx, &human.cfg->matrix, j->user.id, j->reg.display_name, now);
    if (r >= 0)
        r = storage_registration_complete(tx, j->id, now);
    if (r == -EEXIST || r == -EALREADY) { /* a concurrent registration of the name won the race */
        error_page(j, 409, "registration_username_taken");
        return r;
    }
    if (r < 0)
        return r;
    memcpy(j->session_id, s.id, sizeof(j->session_id));
    j->out = OUT_SIGNED_IN;
    return 0;
}

/* One limit of rate_limiting.email_authentication, keyed by the authentication: 1 passes. */
static int email_limit(struct storage_tx *tx, struct reg_job *j, const char *what,
                       const struct config_rate_limit *l)
{
    char key[64];
    int64_t retry;
    snprintf(key, sizeof(key), "email.%s:%s", what, j->auth.id);
    int r = storage_rate_limit_check(tx, key, l->burst, l->per_second, masd_now(), &retry);
    if (r == 0)
        form_error(j, "rate_limited");
    return r;
}

/* POST verify-email: another code (action=resend), or the code typed. The attempts are limited
 * per authentication (six digits can be guessed, one in a million a try), before the lookup. */
static int verify_email(struct storage_tx *tx, struct reg_job *j)
{
    const struct config_rate_limiting *rl = &human.cfg->rate_limiting;
    int r;
    if (j->resend) {
        if ((r = email_limit(tx, j, "emails_per_session", &rl->email_emails_per_session)) != 1)
            return r < 0 ? r : 0;
        if ((r = storage_email_authentication_resend(tx, j->auth.id, "en", masd_now())) < 0)
            return r;
        form_error(j, "code_sent");
        return 0;
    }
    if ((r = email_limit(tx, j, "attempt_per_session", &rl->email_attempt_per_session)) != 1)
        return r < 0 ? r : 0;
    struct storage_email_authentication_code c;
    r = strlen(j->value) == 6 ? storage_email_authentication_code_find(tx, j->auth.id, j->value, &c)
                              : -ENOENT;
    if (r == -ENOENT || r == -EINVAL || (r == 0 && c.expires_at <= masd_now())) {
        field_error(j, j->value[0] ? "code_invalid" : "code_required");
        return 0;
    }
    if (r < 0 ||
        ((r = storage_email_authentication_complete(tx, j->auth.id, masd_now())) < 0 && r != -EALREADY))
        return r;
    step_redirect(j, "finish");
    return 0;
}

/* A step's GET and POST: the registration, then the step's own work. */
static int step_tx(struct storage_tx *tx, void *arg)
{
    struct reg_job *j = arg;
    int r = load_registration(tx, j);
    if (r != 0)
        return r < 0 ? r : 0;
    j->out = OUT_FORM;
    if (j->page == PAGE_VERIFY_EMAIL) {
        if (!j->reg.email_authentication_id[0]) {
            step_redirect(j, "finish"); /* nothing to verify */
            return 0;
        }
        if ((r = storage_email_authentication_get(tx, j->reg.email_authentication_id, &j->auth)) < 0)
            return r;
        if (j->auth.completed_at) {
            step_redirect(j, "finish");
            return 0;
        }
    }
    if (!j->post)
        return 0;
    if (j->page == PAGE_VERIFY_EMAIL)
        return verify_email(tx, j);
    if (j->page == PAGE_TOKEN) {
        struct storage_registration_token t;
        r = j->value[0] ? storage_registration_token_find(tx, j->value, &t) : -ENOENT;
        if (r == -ENOENT || r == -EINVAL || (r == 0 && !storage_registration_token_valid(&t, masd_now()))) {
            field_error(j, j->value[0] ? "token_invalid" : "token_required");
            return 0;
        }
        if (r < 0 || (r = storage_registration_set_token(tx, j->id, t.id)) < 0)
            return r;
    } else {
        const char *name = j->skip ? j->reg.username : j->value;
        if (!name[0]) {
            field_error(j, "display_name_required");
            return 0;
        }
        if ((r = storage_registration_set_display_name(tx, j->id, name)) < 0)
            return r;
    }
    step_redirect(j, "finish");
    return 0;
}

static void step_answer(struct masd_request *r, void *arg);

/* After finish committed: the user on the homeserver before anything else of it. */
static void provision_work(void *arg)
{
    struct reg_job *j = arg;
    struct homeserver_result res = {0};
    if (hs_config_read_only(&human.cfg->matrix))
        return;
    if (hs_provision_user(human.st, human.hs, j->user.id, j->reg.display_name, &res) < 0)
        log_warn("register: user %s: the homeserver did not take it yet (%s); the queued job retries",
                 j->user.id, res.message);
}

static void step_work(void *arg)
{
    struct reg_job *j = arg;
    int r = storage_tx(human.st, STORAGE_TX_WRITE | (j->page == PAGE_FINISH ? STORAGE_TX_DURABLE : 0),
                       j->page == PAGE_FINISH ? finish_tx : step_tx, j);
    if (r < 0 && j->out == OUT_ERROR) /* rolled back on purpose: the page says why */
        return;
    if (r < 0) {
        log_error("register: %s", storage_last_error());
        j->out = OUT_INTERNAL;
    }
}

static void step_answer(struct masd_request *r, void *arg)
{
    struct reg_job *j = arg;
    if (!r) {
        job_free(j);
        return;
    }
    if (j->out == OUT_SIGNED_IN && !j->location[0]) {
        to_action(j);
        j->out = OUT_SIGNED_IN;
        if (masd_defer_outbound(r, provision_work, step_answer, j) == MASD_DEFER_QUEUED)
            return;
    }
    switch (j->out) {
    case OUT_SIGNED_IN:
        cookie_remove(&j->cookie, j->id);
        cookie_write(r, &j->cookie);
        /* a new session under a new ID, as after a login */
        browser_set_session(r, j->session_id);
        page_redirect(r, j->location);
        break;
    case OUT_REDIRECT:
        page_redirect(r, j->location);
        break;
    case OUT_FORM:
        render(r, j,
               !j->post                                          ? 200
               : json_object_get(j->form_errors, "rate_limited") ? 429
               : json_object_get(j->form_errors, "code_sent")    ? 200
                                                                 : 400);
        break;
    case OUT_ERROR:
        page_error(r, j->status, j->kind, NULL);
        break;
    default:
        page_error(r, 500, "internal", "the registration could not be read");
        break;
    }
    job_free(j);
}

/* ---- the handlers -------------------------------------------------------------------------- */

static struct reg_job *new_job(struct masd_request *r, enum reg_page page)
{
    struct reg_job *j = calloc(1, sizeof(*j));
    if (!j || !(j->errors = json_object()) || !(j->form_errors = json_object())) {
        if (j)
            job_free(j);
        page_error(r, 500, "internal", "out of memory");
        return NULL;
    }
    j->page = page;
    j->post = masd_str_eq(r->method, MASD_STR("POST"));
    j->client = r->client;
    human_client_ip(r, j->ip, sizeof(j->ip));
    human_user_agent(r, j->user_agent, sizeof(j->user_agent));
    browser_read_cookie(r, &j->browser);
    cookie_read(r, &j->cookie);
    return j;
}

static void defer(struct masd_request *r, struct reg_job *j, void (*work)(void *),
                  void (*answer)(struct masd_request *, void *))
{
    if (masd_defer(r, work, answer, j) == MASD_DEFER_FULL) {
        job_free(j);
        page_error(r, 503, "busy", NULL);
    }
}

void human_register_password(struct masd_request *r)
{
    bool post = masd_str_eq(r->method, MASD_STR("POST"));
    bool enabled = human.cfg->password_registration_enabled && human.cfg->passwords.enabled;
    if (post && !enabled) { /* nothing to go on to: a form for a registration that is closed */
        page_error(r, 403, "registration_disabled", NULL);
        return;
    }
    if (!enabled) {
        struct action a;
        action_parse(r->query, &a);
        char q[1024] = "", to[1200];
        action_query(&a, q, sizeof(q));
        snprintf(to, sizeof(to), "%s/login%s%s", human.root, q[0] ? "?" : "", q);
        page_redirect(r, to); /* MAS: to the login */
        return;
    }
    if (post && !csrf_check(r))
        return;
    struct reg_job *j = new_job(r, PAGE_PASSWORD);
    if (!j)
        return;
    action_parse(r->query, &j->action);
    if (!post) {
        human_form_field(r->query, "username", j->username, sizeof(j->username));
        defer(r, j, browser_work, password_answer);
        return;
    }
    char confirm[1024] = "", terms[8] = "", *password = NULL;
    bool ok = human_form_field(r->body, "username", j->username, sizeof(j->username)) &&
              human_form_field(r->body, "email", j->email, sizeof(j->email)) &&
              human_form_field(r->body, "password_confirm", confirm, sizeof(confirm)) &&
              human_form_field(r->body, "accept_terms", terms, sizeof(terms)) &&
              form_get(r->body, "password", &password) >= 0;
    if (!ok || (password && strlen(password) >= sizeof(confirm))) {
        if (password)
            OPENSSL_cleanse(password, strlen(password));
        free(password);
        OPENSSL_cleanse(confirm, sizeof(confirm));
        job_free(j);
        page_error(r, 400, "bad_request", "a field was given twice or is too long");
        return;
    }
    j->password = password ? password : strdup("");
    j->password_len = strlen(j->password);
    j->accept_terms = strcmp(terms, "on") == 0;
    check_form(j, confirm);
    OPENSSL_cleanse(confirm, sizeof(confirm));
    defer(r, j, password_checks_work, password_answer);
}

/* /register/steps/{id}/{step}: the ID and the step from the path. */
void human_register_step(struct masd_request *r)
{
    masd_str rest = {r->path.ptr + strlen("/register/steps/"), r->path.len - strlen("/register/steps/")};
    const char *slash = memchr(rest.ptr, '/', rest.len);
    size_t id_len = slash ? (size_t)(slash - rest.ptr) : 0;
    masd_str step = slash ? (masd_str){slash + 1, rest.len - id_len - 1} : (masd_str){0};
    enum reg_page page;
    bool post = masd_str_eq(r->method, MASD_STR("POST"));
    if (masd_str_eq(step, MASD_STR("finish")))
        page = PAGE_FINISH;
    else if (masd_str_eq(step, MASD_STR("token")))
        page = PAGE_TOKEN;
    else if (masd_str_eq(step, MASD_STR("display-name")))
        page = PAGE_DISPLAY_NAME;
    else if (masd_str_eq(step, MASD_STR("verify-email")))
        page = PAGE_VERIFY_EMAIL;
    else {
        page_error(r, 404, "not_found", NULL);
        return;
    }
    if (id_len != STORAGE_ID_SIZE - 1) {
        page_error(r, 404, "registration_not_found", NULL);
        return;
    }
    if (post && page == PAGE_FINISH) {
        page_error(r, 405, "method_not_allowed", NULL);
        return;
    }
    if (post && !csrf_check(r))
        return;
    struct reg_job *j = new_job(r, page);
    if (!j)
        return;
    memcpy(j->id, rest.ptr, id_len);
    if (post) {
        bool ok = true;
        if (page == PAGE_TOKEN) {
            ok = human_form_field(r->body, "token", j->value, sizeof(j->value));
        } else if (page == PAGE_VERIFY_EMAIL) {
            char act[16] = "";
            ok = human_form_field(r->body, "action", act, sizeof(act)) &&
                 human_form_field(r->body, "code", j->value, sizeof(j->value));
            j->resend = strcmp(act, "resend") == 0;
        } else {
            char act[16] = "";
            ok = human_form_field(r->body, "action", act, sizeof(act)) &&
                 human_form_field(r->body, "display_name", j->value, sizeof(j->value));
            j->skip = strcmp(act, "skip") == 0;
            if (ok && !j->skip && strcmp(act, "set") != 0)
                ok = false;
        }
        if (!ok) {
            job_free(j);
            page_error(r, 400, "bad_request",
                       "a field was given twice, is too long, or the action is unknown");
            return;
        }
        /* MAS trims the token and the name; a code loses every space ("123 456" as mailed) */
        masd_str t = masd_str_trim(masd_str_from(j->value));
        memmove(j->value, t.ptr, t.len);
        j->value[t.len] = '\0';
        if (page == PAGE_VERIFY_EMAIL) {
            size_t k = 0;
            for (size_t i = 0; j->value[i]; i++)
                if (j->value[i] != ' ')
                    j->value[k++] = j->value[i];
            j->value[k] = '\0';
        }
    }
    defer(r, j, step_work, step_answer);
}
