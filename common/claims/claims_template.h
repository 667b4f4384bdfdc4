/* Claims templates: the subset of MiniJinja that MAS evaluates over the claims an upstream
 * identity provider returns (MAS: crates/handlers/src/upstream_oauth2/template.rs), written in
 * upstream_oauth2.providers[].claims_imports and additional_authorization_parameters
 * (docs/claims-templates.md).
 *
 * A template is outside input (an operator's config, evaluated over an identity provider's
 * claims): compiling is bounded in size, nesting and node count, the language has no loops,
 * calls or macros, and rendering is bounded in output and in the size of every value it makes.
 * Compile once at config load (a template that does not parse is a config error); render many
 * times, from any thread (a compiled template is read-only). */
#pragma once
#include <jansson.h>
#include <stddef.h>

#define CLAIMS_TEMPLATE_MAX_SOURCE 8192  /* bytes of template text */
#define CLAIMS_TEMPLATE_MAX_DEPTH  32    /* nesting of expressions and blocks */
#define CLAIMS_TEMPLATE_MAX_NODES  2048  /* syntax nodes of one template */
#define CLAIMS_TEMPLATE_MAX_HEIGHT 128   /* expression tree height: a ~ b ~ ... or x | f | ... chains */
#define CLAIMS_TEMPLATE_MAX_OUTPUT 16384 /* bytes one rendering may produce */
#define CLAIMS_TEMPLATE_MAX_VALUE  65536 /* bytes of any string, list or decoded value made */
#define CLAIMS_TEMPLATE_MAX_SETS   32    /* variables {% set %} may define */

struct claims_template;

/* Compiles src (len bytes, UTF-8). Returns 0, or -EINVAL with "line L, column C: why" in err
 * (-ENOMEM when out of memory). */
int claims_template_compile(const char *src, size_t len, struct claims_template **out, char *err,
                            size_t err_size);
void claims_template_free(struct claims_template *t);

/* Renders t with the members of vars (a JSON object: user, id_token_claims, ...) as its
 * variables. *out is malloc'd, NUL-terminated, UTF-8. Returns 0, or -EINVAL with what went
 * wrong in err (a render error: MAS's "could not be rendered"), -E2BIG when a bound was hit,
 * -ENOMEM. */
int claims_template_render(const struct claims_template *t, const json_t *vars, char **out, char *err,
                           size_t err_size);

/* The variables of a claims import (MAS: AttributeMappingContext): `user` is the userinfo
 * claims overlaid by the ID token's claims (absent when neither is given), `id_token_claims`,
 * `userinfo_claims` and `extra_callback_parameters` when given. Arguments may be NULL; they are
 * not consumed. NULL when out of memory. */
json_t *claims_template_context(const json_t *id_token_claims, const json_t *userinfo_claims,
                                const json_t *extra_callback_parameters);
