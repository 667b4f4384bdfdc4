/* MAS token format: generation, CRC quirk, and TokenType::check's rules. */
#include "check.h"
#include "token.h"
#include <errno.h>
#include <stdint.h>

static int check_str(const char *s, enum token_kind *kind)
{
    return token_check(s, strlen(s), kind);
}

static void test_known_tokens(void)
{
    enum token_kind k = TOKEN_ACCESS;
    /* A token of MAS's format (MAS: crates/data-model/src/tokens.rs) */
    CHECK_INT(check_str("mct_cxG6gZXyvelQWW9XqfNbm5KAQovodf_XvJz43", &k), 0);
    CHECK_INT(k, TOKEN_COMPAT_ACCESS);
    /* CRCs below 62^5 and 62^4: fewer than 6 base62 digits, padded with '0' on the left of the
     * least-significant-first digits (vectors computed independently with Python's zlib). */
    CHECK_INT(check_str("mct_8jzPde0IgxLd6GncfBAepfJBd0Kh8o_0iZrBy", &k), 0);
    CHECK_INT(k, TOKEN_COMPAT_ACCESS);
    CHECK_INT(check_str("mar_iVJrkqrwZQVkPFMxi21I7KHMlqfoqV_00QuL9", &k), 0);
    CHECK_INT(k, TOKEN_REFRESH);
    CHECK_INT(check_str("mpt_zZdYgjPh0hRW3eQXs1LM2I8kupMfJh_00OdDt", &k), 0);
    CHECK_INT(k, TOKEN_PERSONAL_ACCESS);
    /* The same CRC digits in conventional order, or padded on the right, are wrong. */
    CHECK_INT(check_str("mar_iVJrkqrwZQVkPFMxi21I7KHMlqfoqV_9LuQ00", NULL), -EINVAL);
    CHECK_INT(check_str("mar_iVJrkqrwZQVkPFMxi21I7KHMlqfoqV_QuL900", NULL), -EINVAL);

    char crc[7];
    token_crc("mct_cxG6gZXyvelQWW9XqfNbm5KAQovodf", 34, crc);
    CHECK_STR(crc, "XvJz43");
}

static void test_generate(void)
{
    const enum token_kind kinds[] = {TOKEN_ACCESS, TOKEN_REFRESH, TOKEN_COMPAT_ACCESS, TOKEN_COMPAT_REFRESH,
                                     TOKEN_PERSONAL_ACCESS};
    const char *prefixes[] = {"mat_", "mar_", "mct_", "mcr_", "mpt_"};
    int bad = 0;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        char prev[TOKEN_LEN + 1] = "";
        for (int n = 0; n < 500; n++) {
            char t[TOKEN_LEN + 1];
            enum token_kind k;
            if (token_generate(kinds[i], t) != 0 || strlen(t) != TOKEN_LEN ||
                strncmp(t, prefixes[i], 4) != 0 || token_check(t, TOKEN_LEN, &k) != 0 || k != kinds[i] ||
                strcmp(t, prev) == 0)
                bad++;
            for (int j = 4; j < 34; j++)
                if (!((t[j] >= 'A' && t[j] <= 'Z') || (t[j] >= 'a' && t[j] <= 'z') ||
                      (t[j] >= '0' && t[j] <= '9')))
                    bad++;
            memcpy(prev, t, sizeof(prev));
        }
    }
    CHECK_INT(bad, 0);
    char t[TOKEN_LEN + 1];
    CHECK_INT(token_generate((enum token_kind)99, t), -EINVAL);
    CHECK_STR(token_kind_prefix(TOKEN_COMPAT_REFRESH), "mcr");
    CHECK(token_kind_prefix((enum token_kind)99) == NULL);
}

static void test_rejections(void)
{
    const char *bad[] = {
        "",
        "mct",
        "mct_",
        "mct_cxG6gZXyvelQWW9XqfNbm5KAQovodf_XvJz44",  /* CRC off by one */
        "mct_cxG6gZXyvelQWW9XqfNbm5KAQovodg_XvJz43",  /* random part changed */
        "mat_cxG6gZXyvelQWW9XqfNbm5KAQovodf_XvJz43",  /* CRC covers the prefix */
        "xyz_cxG6gZXyvelQWW9XqfNbm5KAQovodf_XvJz43",  /* unknown prefix */
        "MCT_cxG6gZXyvelQWW9XqfNbm5KAQovodf_XvJz43",  /* prefixes are case-sensitive */
        "mct_cxG6gZXyvelQWW9XqfNbm5KAQovod_XvJz43",   /* 29 random characters */
        "mct_cxG6gZXyvelQWW9XqfNbm5KAQovodff_XvJz43", /* 31 */
        "mct_cxG6gZXyvelQWW9XqfNbm5KAQovodf_XvJz43_", /* four parts */
        "mct_cxG6gZXyvelQWW9XqfNbm5KAQovodf_XvJz4",   /* short CRC */
        "mctt_cxG6gZXyvelQWW9XqfNbm5KAQovodf_XvJz43", /* long prefix */
        "mct_cxG6gZXyvelQWW9_qfNbm5KAQovodf_XvJz43",  /* '_' inside the random part */
        " mct_cxG6gZXyvelQWW9XqfNbm5KAQovodf_XvJz43", /* leading space */
        "mct_cxG6gZXyvelQWW9XqfNbm5KAQovodf_XvJz43 ", /* trailing space */
        "Bearer mct_cxG6gZXyvelQWW9XqfNbm5KAQovodf_XvJz43",
    };
    int accepted = 0;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (check_str(bad[i], NULL) != -EINVAL) {
            fprintf(stderr, "accepted: '%s'\n", bad[i]);
            accepted++;
        }
    }
    CHECK_INT(accepted, 0);
    /* Length-delimited: a valid token followed by more bytes, or with a NUL inside. */
    const char *t = "mct_cxG6gZXyvelQWW9XqfNbm5KAQovodf_XvJz43xyz";
    CHECK_INT(token_check(t, 41, NULL), 0);
    CHECK_INT(token_check(t, 42, NULL), -EINVAL);
    CHECK_INT(token_check(t, 40, NULL), -EINVAL);
    char withnul[41];
    memcpy(withnul, t, 41);
    withnul[10] = '\0';
    CHECK_INT(token_check(withnul, 41, NULL), -EINVAL);
    CHECK_INT(token_check(NULL, 0, NULL), -EINVAL);
}

static void test_synapse(void)
{
    enum token_kind k = TOKEN_ACCESS;
    /* Migrated Synapse tokens are accepted as they are, whatever follows the prefix. */
    CHECK_INT(check_str("syt_YWxpY2U_ZkPUGzVCrAvGWVavrSVu_1vCAAi", &k), 0);
    CHECK_INT(k, TOKEN_COMPAT_ACCESS);
    CHECK_INT(check_str("syt_", &k), 0);
    CHECK_INT(check_str("syr_YWxpY2U_abc", &k), 0);
    CHECK_INT(k, TOKEN_COMPAT_REFRESH);
    CHECK_INT(check_str("syt", NULL), -EINVAL);
    CHECK_INT(check_str("Syt_abc", NULL), -EINVAL);

    /* MAS's own test vectors for macaroon sniffing: the prefix of a Synapse macaroon... */
    k = TOKEN_ACCESS;
    CHECK_INT(check_str("MDAxYmxvY2F0aW9uIGxpYnJlcHVzaC5uZXQKMDAx", &k), 0);
    CHECK_INT(k, TOKEN_COMPAT_ACCESS);
    /* ...a macaroon whose unpadded length is not a multiple of 4 (base64ct's Base64Url is
     * padded, so MAS does not decode it)... */
    CHECK_INT(
        check_str("MDAxY2xvY2F0aW9uIGh0dHA6Ly9teWJhbmsvCjAwMjZpZGVudGlmaWVyIHdlIHVzZWQgb3VyIHNlY3JldCBrZXkK"
                  "MDAyZnNpZ25hdHVyZSDj2eApCFJsTAA5rhURQRXZf91ovyujebNCqvD2F9BVLwo",
                  NULL),
        -EINVAL);
    /* ...and things that are not macaroons. */
    CHECK_INT(check_str("eyJARTOhearotnaeisahtoarsnhiasra.arsohenaor.oarnsteao", NULL), -EINVAL);
    CHECK_INT(check_str("....", NULL), -EINVAL);
    CHECK_INT(check_str("aaa", NULL), -EINVAL);

    /* A padded one: "001blocation librepush.net\n00" is 29 bytes, 40 characters ending in '='. */
    CHECK(token_is_synapse_macaroon("MDAxYmxvY2F0aW9uIGxpYnJlcHVzaC5uZXQKMDA=", 40));
    /* Non-zero unused bits before the padding: not canonical, refused as base64ct does. */
    CHECK(!token_is_synapse_macaroon("MDAxYmxvY2F0aW9uIGxpYnJlcHVzaC5uZXQKMDB=", 40));
    /* '=' in the middle, a lone '=' before a data character, standard-alphabet characters. */
    CHECK(!token_is_synapse_macaroon("MDAxYmxvY2F0aW9uIGxpYnJlcHVzaC5uZXQK=DAx", 40));
    CHECK(!token_is_synapse_macaroon("MDAxYmxvY2F0aW9uIGxpYnJlcHVzaC5uZXQKMD=x", 40));
    CHECK(!token_is_synapse_macaroon("MDAxYmxvY2F0aW9uIGxpYnJlcHVzaC5uZXQ+MDAx", 40));
    /* Too short to hold bytes 4..12. */
    CHECK(!token_is_synapse_macaroon("MDAxYmxvY2F0aW9u", 16));
    /* Decodes, but bytes 4..12 are not "location ". */
    CHECK(!token_is_synapse_macaroon("MDAxYmlkZW50aWZpZXIgbGlicmVwdXNoLm5ldAo=", 40));
}

int main(void)
{
    test_known_tokens();
    test_generate();
    test_rejections();
    test_synapse();
    return check_report(__FILE__);
}
