/* Accept-Encoding negotiation (RFC 9110 §12.5.3) for pre-compressed variants.
 *
 * Unlike h2o 2.2.5, which compares whole tokens and so never matches "gzip;q=1.0", the
 * header is parsed as the RFC defines it:
 *
 *   Accept-Encoding = #( codings [ OWS ";" OWS "q=" qvalue ] )
 *   qvalue          = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
 *
 * Exact semantics:
 *  - All header values are read as one comma list; empty elements are skipped (RFC 9110
 *    §5.6.1). Codings are case-insensitive tokens; "x-gzip" is gzip (§8.4.1.3). Elements whose
 *    coding is not a token are ignored, as are codings we never serve (deflate, zstd, ...).
 *  - A malformed q ("q=abc", "q=1.5", "q=0.1234", "q = 0.5", "q=") makes that coding
 *    unacceptable (q=0): when the client's intent is unclear we do not send it an encoding it
 *    may not decode. Parameters other than q are ignored.
 *  - A coding listed more than once gets its lowest q (the most cautious reading).
 *  - `*` gives its q to every coding not listed explicitly, identity included.
 *  - identity is acceptable by default: when neither it nor `*` is listed it gets the lowest
 *    possible weight (0.001), so it is chosen only when nothing the client named is available.
 *    It is forbidden only by "identity;q=0", or by "*;q=0" without an identity entry.
 *  - The highest q among the available, acceptable (q > 0) encodings wins. At equal q the
 *    preference is br, then gzip, for codings the client named, then identity, then codings
 *    accepted only through `*`: "anything" is not a request for compression, so a bare `*`
 *    gets identity, as with h2o and nginx.
 *  - No header at all (n == 0): identity (if available; otherwise any variant, as the RFC
 *    deems every coding acceptable then). An empty header value lists nothing, so only
 *    identity is acceptable.
 *  - 0 is returned only when no available encoding is acceptable.
 */
#include "accept_encoding.h"

#define Q_UNSET   (-1)
#define Q_MAX     1000 /* q-values are kept in thousandths */
#define Q_DEFAULT 1    /* identity's implicit weight: acceptable, below anything named */

struct ae_prefs {
    int br, gzip, identity, star; /* thousandths, or Q_UNSET */
};

static bool is_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool is_token(masd_str s)
{
    if (s.len == 0)
        return false;
    for (size_t i = 0; i < s.len; i++)
        if (!is_tchar(s.ptr[i]))
            return false;
    return true;
}

/* Returns the qvalue in thousandths, or -1 when it does not match the RFC syntax. */
static int parse_qvalue(masd_str v)
{
    int q, scale = 100;

    if (v.len == 0 || v.len > 5 || (v.ptr[0] != '0' && v.ptr[0] != '1'))
        return -1;
    q = (v.ptr[0] - '0') * Q_MAX;
    if (v.len == 1)
        return q;
    if (v.ptr[1] != '.')
        return -1;
    for (size_t i = 2; i < v.len; i++, scale /= 10) {
        if (v.ptr[i] < '0' || v.ptr[i] > '9')
            return -1;
        q += (v.ptr[i] - '0') * scale;
    }
    return q <= Q_MAX ? q : -1;
}

/* Reads the parameters after the coding; returns its q, 0 when a q parameter is malformed. */
static int parse_weight(masd_str params)
{
    masd_str param;
    int q = Q_MAX;
    bool malformed = false;

    while (masd_str_next(&params, ';', &param)) {
        param = masd_str_trim(param);
        const char *eq = param.len ? memchr(param.ptr, '=', param.len) : NULL;
        masd_str name = {param.ptr, eq ? (size_t)(eq - param.ptr) : param.len};
        if (!masd_str_caseeq(masd_str_trim(name), MASD_STR("q")))
            continue;
        /* No whitespace is allowed around '=' in a weight. */
        int v = eq && name.len == 1 ? parse_qvalue((masd_str){eq + 1, param.len - 2}) : -1;
        if (v < 0)
            malformed = true;
        else
            q = v;
    }
    return malformed ? 0 : q;
}

static void note(int *slot, int q)
{
    if (*slot == Q_UNSET || q < *slot)
        *slot = q;
}

static void parse_element(masd_str element, struct ae_prefs *p)
{
    masd_str coding;

    masd_str_next(&element, ';', &coding);
    coding = masd_str_trim(coding);
    if (!is_token(coding))
        return;

    int q = parse_weight(element);
    if (masd_str_caseeq(coding, MASD_STR("br")))
        note(&p->br, q);
    else if (masd_str_caseeq(coding, MASD_STR("gzip")) || masd_str_caseeq(coding, MASD_STR("x-gzip")))
        note(&p->gzip, q);
    else if (masd_str_caseeq(coding, MASD_STR("identity")))
        note(&p->identity, q);
    else if (masd_str_caseeq(coding, MASD_STR("*")))
        note(&p->star, q);
}

struct candidate {
    unsigned encoding;
    int q;
    int rank; /* tie-break at equal q: higher wins */
};

static struct candidate candidate_for(unsigned encoding, int listed, int rank_named, int rank_star,
                                      const struct ae_prefs *p)
{
    if (listed != Q_UNSET)
        return (struct candidate){encoding, listed, rank_named};
    return (struct candidate){encoding, p->star != Q_UNSET ? p->star : 0, rank_star};
}

unsigned accept_encoding_choose(const masd_str *values, size_t n, unsigned available)
{
    struct ae_prefs p = {Q_UNSET, Q_UNSET, Q_UNSET, Q_UNSET};
    masd_str rest, element;

    if (n == 0)
        p.star = Q_MAX; /* no header: every coding is acceptable, identity first */
    for (size_t i = 0; i < n; i++)
        for (rest = values[i]; masd_str_next(&rest, ',', &element);)
            parse_element(element, &p);

    int identity = p.identity != Q_UNSET ? p.identity : p.star != Q_UNSET ? p.star : Q_DEFAULT;
    const struct candidate c[] = {
        candidate_for(ENCODING_BR, p.br, 4, 1, &p),
        candidate_for(ENCODING_GZIP, p.gzip, 3, 0, &p),
        {ENCODING_IDENTITY, identity, 2},
    };

    const struct candidate *best = NULL;
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        if (!(available & c[i].encoding) || c[i].q <= 0)
            continue;
        if (!best || c[i].q > best->q || (c[i].q == best->q && c[i].rank > best->rank))
            best = &c[i];
    }
    return best ? best->encoding : 0;
}
