/* Claims templates (common/claims/claims_template.h): MAS's documented examples (MAS:
 * docs/setup/sso.md, crates/handlers/src/upstream_oauth2/template.rs tests), the grammar, the
 * filters, render errors, and the bounds. */
#include "check.h"
#include "claims_template.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static json_t *vars;

/* Renders src over vars; returns the output (static buffer) or "ERROR: ..." */
static const char *render(const char *src)
{
    static char result[CLAIMS_TEMPLATE_MAX_OUTPUT + 100];
    char err[256];
    struct claims_template *t = NULL;
    int r = claims_template_compile(src, strlen(src), &t, err, sizeof(err));
    if (r < 0) {
        snprintf(result, sizeof(result), "PARSE: %s", err);
        return result;
    }
    char *out = NULL;
    r = claims_template_render(t, vars, &out, err, sizeof(err));
    if (r < 0)
        snprintf(result, sizeof(result), "ERROR: %s", err);
    else
        snprintf(result, sizeof(result), "%s", out);
    free(out);
    claims_template_free(t);
    return result;
}

static void test_mas_examples(void)
{
    json_t *id = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:n, s:b}", "sub", "abc123", "preferred_username",
                           "Alice", "name", "Alice Liddell", "email", "alice@example.com", "given_name",
                           "Alice", "id", 12345, "nil", "verified", 1);
    json_t *ui = json_pack("{s:s, s:s, s:s, s:i}", "login", "alice-gh", "name", "from userinfo", "extra",
                           "only in userinfo", "id", 42);
    json_t *extra = json_pack("{s:s, s:s}", "iss", "https://idp.example", "user",
                              "{\"name\":{\"firstName\":\"Alice\",\"lastName\":\"Liddell\"},"
                              "\"email\":\"a@privaterelay.appleid.com\"}");
    vars = claims_template_context(id, ui, extra);
    CHECK_STR(render("{{ user.sub }}"), "abc123");
    CHECK_STR(render("{{ user.preferred_username }}"), "Alice");
    CHECK_STR(render("{{ user.preferred_username | lower }}"), "alice");
    CHECK_STR(render("@{{ user.preferred_username }}"), "@Alice");
    /* the ID token wins over userinfo; userinfo fills the rest */
    CHECK_STR(render("{{ user.name }}"), "Alice Liddell");
    CHECK_STR(render("{{ user.extra }}"), "only in userinfo");
    CHECK_STR(render("{{ userinfo_claims.name }}|{{ id_token_claims.name }}"), "from userinfo|Alice Liddell");
    CHECK_STR(render("@{{ userinfo_claims.login }}"), "@alice-gh");
    CHECK_STR(render("{{ userinfo_claims.id }}"), "42");
    CHECK_STR(render("{{ user.id }}"), "12345");
    CHECK_STR(render("{{ extra_callback_parameters.iss }}"), "https://idp.example");
    /* Apple's user parameter (MAS: docs/setup/sso.md) */
    CHECK_STR(render("{%- set u = extra_callback_parameters[\"user\"] | from_json -%}\n"
                     "            {{- u.name.firstName }} {{ u.name.lastName -}}\n"),
              "Alice Liddell");
    /* Azure AD's UPN: the part before @ (MAS: docs/setup/sso.md) */
    CHECK_STR(render("{{ (user.email | split('@'))[0] }}"), "alice");
    /* MAS's own tests (template.rs) */
    CHECK_STR(render("{{ 'foo, bar' | split(', ') | join(\" | \") }}"), "foo | bar");
    CHECK_STR(render("{{ 'cGFkZGluZw==' | b64decode }}"), "padding");
    CHECK_STR(render("{{ 'dW5wYWRkZWQ' | b64decode }}"), "unpadded");
    CHECK_STR(
        render(
            "\n                    {%- set tlv = 'Cg0wLTM4NS0yODA4OS0wEgRtb2Nr' | b64decode | tlvdecode -%}\n"
            "                    {%- if tlv[18]|string != 'mock' -%}\n"
            "                        {{ \"FAIL\"/0 }}\n"
            "                    {%- endif -%}\n"
            "                    {{- tlv[10]|string -}}\n                "),
        "0-385-28089-0");
    /* a plain string renders as itself; the trailing newline is dropped */
    CHECK_STR(render("static value\n"), "static value");
    CHECK_STR(render("{{ user.missing }}"), "");
    CHECK_STR(render("{{ user.missing | default('x') }}"), "x");
    /* masd: JSON null is empty, so require fails on it (MAS prints "none") */
    CHECK_STR(render("{{ user.nil }}"), "");
    CHECK_STR(render("{{ user.nil | default('d') }}"), "d");
    CHECK_STR(render("{{ user.verified }}"), "true");
    /* looking inside undefined or null is an error */
    CHECK_STR(render("{{ nothing.sub }}"),
              "ERROR: line 1, column 11: cannot look up 'sub' in an undefined value");
    CHECK_STR(render("{{ user.nil.x }}"), "ERROR: line 1, column 12: cannot look up 'x' in none");
    CHECK_STR(render("{{ \"FAIL\"/0 }}"), "ERROR: line 1, column 10: '/' needs two numbers");
    CHECK_STR(render("{{ 1 / 0 }}"), "ERROR: line 1, column 6: division by zero");
    json_decref(vars);

    /* without an ID token or userinfo, user is undefined: {{ user.sub }} is an error */
    vars = claims_template_context(NULL, NULL, extra);
    CHECK_STR(render("{{ user.sub }}"),
              "ERROR: line 1, column 8: cannot look up 'sub' in an undefined value");
    CHECK_STR(render("{% if user is defined %}y{% else %}n{% endif %}"), "n");
    json_decref(vars);
    json_decref(id), json_decref(ui), json_decref(extra);
}

static void test_grammar(void)
{
    vars = json_pack("{s:{s:s, s:[s,s,s], s:i, s:f, s:s, s:{s:s}}, s:b}", "user", "s", "Hello World", "l",
                     "a", "b", "c", "n", 7, "f", 2.5, "e", "", "m", "k", "v", "logged_out", 1);
    CHECK_STR(render("{{ user.s ~ '!' ~ user.n }}"), "Hello World!7");
    CHECK_STR(render("{{ user['s'] }}{{ user.l[1] }}{{ user.l[-1] }}{{ user.l.0 }}{{ user.l[9] }}"),
              "Hello Worldbca");
    CHECK_STR(render("{{ 'yes' if user.n > 5 else 'no' }}"), "yes");
    CHECK_STR(render("{{ 'yes' if user.n < 5 }}"), "");
    CHECK_STR(render("{% if user.n == 7 and not user.e %}a{% elif user.n %}b{% else %}c{% endif %}"), "a");
    CHECK_STR(render("{% if user.n != 7 %}a{% elif user.s %}b{% else %}c{% endif %}"), "b");
    CHECK_STR(render("{% if false %}a{% elif none %}b{% else %}c{% endif %}"), "c");
    CHECK_STR(render("{% if logged_out %}login{% endif %}"), "login");
    CHECK_STR(render("{{ user.e or 'fallback' }}|{{ user.s and 'both' }}"), "fallback|both");
    CHECK_STR(render("{{ 'b' in user.l }}{{ 'z' not in user.l }}{{ 'World' in user.s }}{{ 'k' in user.m }}"),
              "truetruetruetrue");
    CHECK_STR(
        render("{{ 1 + 2 * 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ 1 / 2 }} {{ 2.0 }} {{ -user.n }}"),
        "7 3 -4 1 0.5 2.0 -7");
    CHECK_STR(render("{{ 'a' + 'b' }}{{ [1, 'x'] }}{{ {'k': 1} }}"), "ab[1, \"x\"]{\"k\": 1}");
    CHECK_STR(
        render("{{ user.f }} {{ user.n is number }} {{ user.s is string }} {{ user.x is not defined }}"),
        "2.5 true true true");
    CHECK_STR(render("{{ user.s is startingwith('Hello') }}{{ user.s is endingwith('x') }}"), "truefalse");
    CHECK_STR(render("{# a comment #}x {{- ' y ' -}} z"), "x y z");
    CHECK_STR(render("a  {%- if true -%}  b  {%- endif -%}  c"), "abc");
    CHECK_STR(render("{{ \"\\u00e9\\n\" }}"), "\xc3\xa9\n");
    CHECK_STR(render("{% set x = user.n * 2 %}{% set x = x + 1 %}{{ x }}"), "15");
    CHECK_STR(render("{{ user.l | first }}{{ user.l | last }}{{ user.l | length }}{{ user.s | length }}"),
              "ac311");
    json_decref(vars);
}

static void test_filters(void)
{
    vars = json_pack("{s:{s:s, s:s, s:i, s:n}}", "user", "s", "  Élan Vital  ", "u", "ǅemal", "n", 5, "z");
    CHECK_STR(render("{{ user.s | trim | lower }}|{{ user.s | trim | upper }}"), "élan vital|ÉLAN VITAL");
    CHECK_STR(render("{{ 'hello wORLD' | title }}|{{ 'hello wORLD' | capitalize }}"),
              "Hello World|Hello world");
    CHECK_STR(render("{{ 'xxaxx' | trim('x') }}"), "a");
    CHECK_STR(render("{{ 'a-b-c' | replace('-', '+') }}|{{ 'a-b-c' | replace('-', '', 1) }}"), "a+b+c|ab-c");
    CHECK_STR(render("{{ ' a  b c ' | split | join(',') }}|{{ 'a,b,c' | split(',', 1) | join('|') }}"),
              "a,b,c|a|b,c");
    CHECK_STR(render("{{ user.n | string ~ 'x' }}|{{ '42' | int + 1 }}"), "5x|43");
    CHECK_STR(render("{{ 'hi' | b64encode }}|{{ 'aGk' | b64decode | b64encode }}"), "aGk=|aGk=");
    CHECK_STR(render("{{ '-_8' | b64decode | b64encode }}"), "+/8=");
    CHECK_STR(render("{{ '{\"a\":[1,2]}' | from_json | tojson }}"), "{\"a\":[1,2]}");
    CHECK_STR(render("{{ '' | default('e', true) }}|{{ 0 | d('zero', true) }}|{{ 'x' | default('no') }}"),
              "e|zero|x");
    CHECK_STR(render("{{ user.z | lower }}|{{ undefined_var | upper }}"), "|");
    /* bytes print as lossy UTF-8 */
    CHECK_STR(render("{{ '_w' | b64decode }}"), "\xEF\xBF\xBD");
    /* render errors */
    CHECK_STR(render("{{ 'not base64!' | b64decode }}"), "ERROR: line 1, column 18: b64decode: not base64");
    CHECK_STR(render("{{ 'AQ==' | b64decode | tlvdecode }}"),
              "ERROR: line 1, column 23: tlvdecode: truncated input");
    CHECK_STR(render("{{ '{' | from_json }}"),
              "ERROR: line 1, column 8: from_json: not JSON (string or '}' expected near end of file)");
    CHECK(strncmp(render("{{ '{x' | from_json }}"), "ERROR: line 1, column 9: from_json: not JSON", 44) == 0);
    CHECK_STR(render("{{ 'a' < 1 }}"), "ERROR: line 1, column 8: cannot compare these values with '<'");
    CHECK_STR(render("{{ [1] | lower }}"), "ERROR: line 1, column 8: this filter expects a string");
    CHECK_STR(render("{{ 'x' | replace('a') }}"), "ERROR: line 1, column 8: replace takes 2 to 3 arguments");
    json_decref(vars);
}

static void test_parse_errors(void)
{
    vars = json_object();
    CHECK_STR(render("{{ user.sub "), "PARSE: line 1, column 13: expected '}}'");
    CHECK_STR(render("{% for x in y %}{% endfor %}"),
              "PARSE: line 1, column 4: 'for' is not supported in claims templates (only if and set)");
    CHECK_STR(render("{% if x %}a"), "PARSE: line 1, column 12: {% if %} without {% endif %}");
    CHECK_STR(render("{% endif %}"),
              "PARSE: line 1, column 4: 'endif' is not supported in claims templates (only if and set)");
    CHECK_STR(render("{{ user.sub | nope }}"), "PARSE: line 1, column 15: unknown filter 'nope'");
    CHECK_STR(render("{{ x is nope }}"), "PARSE: line 1, column 9: unknown test 'nope'");
    CHECK_STR(
        render("{{ user.name.lower() }}"),
        "PARSE: line 1, column 19: calls are not supported in claims templates (use a filter: x | lower)");
    CHECK_STR(render("{{ x[1:2] }}"),
              "PARSE: line 1, column 7: slices are not supported in claims templates");
    CHECK_STR(render("{{ 'abc }}"), "PARSE: line 1, column 4: a string that is not closed");
    CHECK_STR(render("{{ }}"), "PARSE: line 1, column 4: an expression is missing");
    CHECK_STR(render("{# open"), "PARSE: line 1, column 1: a comment that is not closed");
    CHECK_STR(render("a\n{{ x | default(boolean=true) }}"),
              "PARSE: line 2, column 16: keyword arguments are not supported in claims templates");
    CHECK_STR(render("{{ '\\q' }}"), "PARSE: line 1, column 6: unknown escape '\\q'");
    CHECK_STR(render("{{ 1 ** 2 }}"), "PARSE: line 1, column 6: '**' is not supported in claims templates");
    CHECK_STR(render("{{ x @ y }}"), "PARSE: line 1, column 6: unexpected character '@'");
    json_decref(vars);
}

static void test_bounds(void)
{
    vars = json_pack("{s:s}", "s", "0123456789abcdef");
    char *src = malloc(CLAIMS_TEMPLATE_MAX_SOURCE + 2);
    /* size */
    memset(src, 'a', CLAIMS_TEMPLATE_MAX_SOURCE + 1);
    src[CLAIMS_TEMPLATE_MAX_SOURCE + 1] = '\0';
    CHECK_STR(render(src), "PARSE: the template is longer than 8192 bytes");
    src[CLAIMS_TEMPLATE_MAX_SOURCE] = '\0';
    CHECK_INT(strlen(render(src)), CLAIMS_TEMPLATE_MAX_SOURCE);
    /* depth */
    size_t o = 0;
    o += (size_t)sprintf(src, "{{ ");
    for (int i = 0; i < 40; i++)
        src[o++] = '(';
    src[o++] = '1';
    for (int i = 0; i < 40; i++)
        src[o++] = ')';
    strcpy(src + o, " }}");
    CHECK(strstr(render(src), "nested too deeply") != NULL);
    o = 0;
    for (int i = 0; i < 40; i++)
        o += (size_t)sprintf(src + o, "{%% if 1 %%}");
    CHECK(strstr(render(src), "nested too deeply") != NULL);
    o = 0;
    for (int i = 0; i < 40; i++)
        o += (size_t)sprintf(src + o, "-");
    strcpy(src + o, "1");
    char wrapped[200];
    snprintf(wrapped, sizeof(wrapped), "{{ %s }}", src);
    CHECK(strstr(render(wrapped), "nested too deeply") != NULL);
    /* nodes */
    o = 0;
    for (int i = 0; i < 1600; i++) /* 8000 bytes of source, 3200 nodes */
        o += (size_t)sprintf(src + o, "{{x}}");
    CHECK(strstr(render(src), "too complex") != NULL);
    /* height: chains of operators and of filters */
    o = (size_t)sprintf(src, "{{ 1");
    for (int i = 0; i < 200; i++)
        o += (size_t)sprintf(src + o, "+1");
    strcpy(src + o, " }}");
    CHECK(strstr(render(src), "the expression is too long") != NULL);
    o = (size_t)sprintf(src, "{{ s");
    for (int i = 0; i < 200; i++)
        o += (size_t)sprintf(src + o, "|lower");
    strcpy(src + o, " }}");
    CHECK(strstr(render(src), "the expression is too long") != NULL);
    o = (size_t)sprintf(src, "{{ s");
    for (int i = 0; i < 100; i++)
        o += (size_t)sprintf(src + o, "|upper");
    strcpy(src + o, " }}");
    CHECK_STR(render(src), "0123456789ABCDEF");
    /* a value may not grow past the limit: doubling by set */
    o = (size_t)sprintf(src, "{%% set x = s %%}");
    for (int i = 0; i < 14; i++)
        o += (size_t)sprintf(src + o, "{%% set x = x ~ x %%}");
    strcpy(src + o, "{{ x | length }}");
    CHECK(strstr(render(src), "longer than") != NULL);
    /* output */
    o = (size_t)sprintf(src, "{%% set x = s %%}");
    for (int i = 0; i < 9; i++)
        o += (size_t)sprintf(src + o, "{%% set x = x ~ x %%}");
    strcpy(src + o, "{{ x }}{{ x }}{{ x }}");
    CHECK_STR(render(src), "ERROR: line 1, column 201: the output is longer than 16384 bytes");
    /* not UTF-8 */
    CHECK_STR(render("\xff"), "PARSE: the template is not UTF-8 text (or holds a NUL byte)");
    struct claims_template *t = NULL;
    char err[100];
    CHECK_INT(claims_template_compile("a\0b", 3, &t, err, sizeof(err)), -EINVAL);
    CHECK(t == NULL);
    free(src);
    json_decref(vars);
}

int main(void)
{
    test_mas_examples();
    test_grammar();
    test_filters();
    test_parse_errors();
    test_bounds();
    return check_report("test_claims_template");
}
