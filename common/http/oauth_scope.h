/* OAuth 2.0 scopes (RFC 6749 §3.3), as MAS keeps them: a set, stored sorted and without
 * duplicates. One parser for every endpoint that reads one (/authorize, /oauth2/token). */
#pragma once

/* scope = scope-token *( SP scope-token ), scope-token = 1*NQCHAR. Normalised in place: tokens
 * sorted, duplicates dropped, one space apart. "" is the empty scope (0); a double space or one at
 * either end is an empty token (-EINVAL, as MAS). 0, -EINVAL or -ENOMEM. */
int oauth_scope_normalise(char *scope);
