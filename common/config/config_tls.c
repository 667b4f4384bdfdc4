/* http.listeners[].tls: the certificate chain and private key, inline or from files, read and
 * checked at load time so a mistake is reported with its position, not at the first handshake. */
#include "config_internal.h"
#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void config_tls_free(struct config_tls *tls)
{
    if (!tls)
        return;
    free(tls->certificate);
    if (tls->key)
        OPENSSL_cleanse(tls->key, tls->key_len);
    free(tls->key);
    if (tls->password)
        OPENSSL_cleanse(tls->password, strlen(tls->password));
    free(tls->password);
    free(tls);
}

/* The first certificate of a PEM chain; NULL when there is none (MAS: "TLS certificate chain is
 * empty (or invalid)"). */
static X509 *first_certificate(const char *pem, size_t len)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    X509 *leaf = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    ERR_clear_error();
    return leaf;
}

static int read_certificate(struct config_loader *ld, const struct ynode *n, const char *path,
                            struct config_tls *tls, X509 **leaf)
{
    char p[CONFIG_PATH_MAX], shown[96], *file = NULL;
    size_t len = 0;
    const struct ynode *v = ynode_get(n, "certificate", NULL);
    bool from_file = !v || ynode_is_null(v);
    if (from_file)
        v = ynode_get(n, "certificate_file", NULL);
    config_subpath(p, path, from_file ? "certificate_file" : "certificate");
    int r = config_get_string(ld, v, p, from_file ? &file : &tls->certificate);
    if (r >= 0 && from_file)
        r = config_read_file(ld, v, p, file, &tls->certificate, &len);
    free(file);
    if (r < 0)
        return r;
    len = from_file ? len : strlen(tls->certificate);
    if (strlen(tls->certificate) != len || len > CONFIG_FILE_MAX ||
        !(*leaf = first_certificate(tls->certificate, len))) {
        config_quote(v, shown, sizeof(shown));
        return from_file ? config_error(ld, v, -EINVAL, "%s: '%s' holds no PEM certificate", p, shown)
                         : config_error(ld, v, -EINVAL, "%s: no PEM certificate found", p);
    }
    return 0;
}

int config_tls_parse(struct config_loader *ld, const struct ynode *n, const char *path,
                     struct config_tls **out)
{
    struct key_material km = {0};
    X509 *leaf = NULL;
    *out = NULL;
    int r = config_expect_mapping(ld, n, path, false);
    if (r < 0)
        return r;
    if ((r = config_one_of(ld, n, path, "certificate", "certificate_file", true)) < 0 ||
        (r = config_one_of(ld, n, path, "key", "key_file", true)) < 0 ||
        (r = config_one_of(ld, n, path, "password", "password_file", false)) < 0)
        return r;
    struct config_tls *tls = *out = calloc(1, sizeof(*tls));
    if (!tls)
        return config_error(ld, NULL, -ENOMEM, "out of memory");
    if ((r = read_certificate(ld, n, path, tls, &leaf)) < 0)
        return r;
    if ((r = config_key_material(ld, n, path, &km)) < 0)
        goto out;
    if (X509_check_private_key(leaf, km.pkey) != 1) {
        ERR_clear_error();
        r = config_error(ld, km.at, -EINVAL, "%s: the private key does not belong to the certificate",
                         km.what);
        goto out;
    }
    tls->key = km.data;
    tls->key_len = km.len;
    tls->password = km.password;
    km.data = km.password = NULL;
out:
    key_material_clear(&km);
    X509_free(leaf);
    return r;
}
