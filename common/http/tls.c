/* TLS termination: one SSL_CTX per TLS listener. HTTP/2 is offered through ALPN only on
 * listeners that opt in (http2: true): Debian's libh2o 2.2.5 has no rapid-reset mitigation. */
#include <h2o.h>
#include <h2o/http2.h>
#include "log.h"
#include "server_internal.h"
#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

static const h2o_iovec_t http1_only[] = {{H2O_STRLIT("http/1.1")}, {NULL, 0}};

static int ssl_error(const char *what)
{
    char buf[256];
    ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
    ERR_clear_error();
    log_error("tls: %s: %s", what, buf);
    return -EINVAL;
}

static int use_chain(SSL_CTX *ctx, const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *leaf = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    int r = 0;
    if (!leaf || SSL_CTX_use_certificate(ctx, leaf) != 1)
        r = ssl_error("cannot use the certificate");
    X509 *extra;
    while (r == 0 && (extra = PEM_read_bio_X509(bio, NULL, NULL, NULL)))
        if (SSL_CTX_add0_chain_cert(ctx, extra) != 1) {
            X509_free(extra);
            r = ssl_error("cannot add a chain certificate");
        }
    ERR_clear_error(); /* the loop ends on "no start line" */
    X509_free(leaf);
    BIO_free(bio);
    return r;
}

static int use_key(SSL_CTX *ctx, const struct config_tls *tls)
{
    BIO *bio = BIO_new_mem_buf(tls->key, (int)tls->key_len);
    EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, tls->password) : NULL;
    if (!key && bio) { /* DER: PKCS#8 (maybe encrypted), then PKCS#1/SEC1 */
        ERR_clear_error();
        BIO_reset(bio);
        key = d2i_PKCS8PrivateKey_bio(bio, NULL, NULL, tls->password);
        if (!key) {
            const unsigned char *p = (const unsigned char *)tls->key;
            key = d2i_AutoPrivateKey(NULL, &p, (long)tls->key_len);
        }
    }
    BIO_free(bio);
    int r = 0;
    if (!key || SSL_CTX_use_PrivateKey(ctx, key) != 1 || SSL_CTX_check_private_key(ctx) != 1)
        r = ssl_error("cannot use the private key (wrong password, or not the certificate's key?)");
    EVP_PKEY_free(key);
    return r;
}

int tls_context_create(const struct config_tls *tls, bool http2, SSL_CTX **out)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx)
        return ssl_error("SSL_CTX_new");
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx,
                        SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    int r = use_chain(ctx, tls->certificate);
    if (r == 0)
        r = use_key(ctx, tls);
    if (r < 0) {
        SSL_CTX_free(ctx);
        return r;
    }
    h2o_ssl_register_alpn_protocols(ctx, http2 ? h2o_http2_alpn_protocols : http1_only);
    *out = ctx;
    return 0;
}
