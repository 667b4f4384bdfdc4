/* OAuth 2.0 scopes (oauth_scope.h). */
#include "oauth_scope.h"
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* RFC 6749 §3.3: scope-token = 1*NQCHAR, NQCHAR = %x21 / %x23-5B / %x5D-7E. */
static bool nqchar(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e);
}

static int cmp_token(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int oauth_scope_normalise(char *scope)
{
    size_t n = 1, len = strlen(scope);
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (scope[i] == ' ')
            n++;
        else if (!nqchar((unsigned char)scope[i]))
            return -EINVAL;
    }
    char **tokens = malloc(n * sizeof(*tokens)), *copy = strdup(scope);
    int r = tokens && copy ? 0 : -ENOMEM;
    size_t k = 0;
    for (char *p = copy, *sp; r == 0 && k < n; p = sp + 1) {
        sp = strchr(p, ' ');
        if (sp)
            *sp = '\0';
        if (!*p) /* a double space, or one at either end: an empty token (MAS: an error) */
            r = -EINVAL;
        tokens[k++] = p;
        if (!sp)
            break;
    }
    if (r == 0) {
        qsort(tokens, k, sizeof(*tokens), cmp_token);
        char *o = scope;
        for (size_t i = 0; i < k; i++) {
            if (i > 0 && strcmp(tokens[i], tokens[i - 1]) == 0)
                continue;
            if (o != scope)
                *o++ = ' ';
            size_t l = strlen(tokens[i]);
            memmove(o, tokens[i], l);
            o += l;
        }
        *o = '\0';
    }
    free(tokens);
    free(copy);
    return r;
}
