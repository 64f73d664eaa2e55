#include "net/dev_pki.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define VALIDITY_SECONDS (30L * 24 * 3600)

static bool add_extension(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX context;
    X509V3_set_ctx_nodb(&context);
    X509V3_set_ctx(&context, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *extension = X509V3_EXT_conf_nid(NULL, &context, nid, value);
    bool ok = extension != NULL && X509_add_ext(cert, extension, -1) == 1;
    X509_EXTENSION_free(extension);
    return ok;
}

/* One X.509 v3 certificate for `key`, signed by issuer_key (self-signed when issuer is NULL). */
static X509 *make_certificate(EVP_PKEY *key, const char *common_name, X509 *issuer,
                              EVP_PKEY *issuer_key, bool is_ca, const char *alt_names,
                              const char *extended_usage)
{
    X509 *cert = X509_new();
    unsigned char serial_bytes[16];
    BIGNUM *serial = NULL;
    bool ok = cert != NULL && RAND_bytes(serial_bytes, sizeof serial_bytes) == 1;
    if (ok) {
        serial_bytes[0] &= 0x7F; /* positive */
        serial = BN_bin2bn(serial_bytes, sizeof serial_bytes, NULL);
        ok = serial != NULL && BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert)) != NULL;
    }
    ok = ok && X509_set_version(cert, 2) == 1;
    ok = ok && X509_gmtime_adj(X509_getm_notBefore(cert), -3600) != NULL;
    ok = ok && X509_gmtime_adj(X509_getm_notAfter(cert), VALIDITY_SECONDS) != NULL;
    ok = ok && X509_set_pubkey(cert, key) == 1;
    X509_NAME *name = ok ? X509_get_subject_name(cert) : NULL;
    ok = ok &&
         X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                    (const unsigned char *)"rspkit development", -1, -1, 0) == 1;
    ok = ok && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                          (const unsigned char *)common_name, -1, -1, 0) == 1;
    X509 *signer = issuer != NULL ? issuer : cert;
    ok = ok && X509_set_issuer_name(cert, X509_get_subject_name(signer)) == 1;
    ok = ok && add_extension(cert, signer, NID_basic_constraints,
                             is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    ok = ok && add_extension(cert, signer, NID_key_usage,
                             is_ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
    ok = ok && add_extension(cert, signer, NID_subject_key_identifier, "hash");
    if (issuer != NULL)
        ok = ok && add_extension(cert, signer, NID_authority_key_identifier, "keyid:always");
    if (alt_names != NULL)
        ok = ok && add_extension(cert, signer, NID_subject_alt_name, alt_names);
    if (extended_usage != NULL)
        ok = ok && add_extension(cert, signer, NID_ext_key_usage, extended_usage);
    ok = ok && X509_sign(cert, issuer_key, EVP_sha256()) > 0;
    BN_free(serial);
    if (!ok) {
        X509_free(cert);
        return NULL;
    }
    return cert;
}

static bool write_certificate(const char *path, X509 *cert)
{
    FILE *file = fopen(path, "w");
    if (file == NULL)
        return false;
    bool ok = PEM_write_X509(file, cert) == 1;
    return fclose(file) == 0 && ok;
}

static bool write_key(const char *path, EVP_PKEY *key)
{
    FILE *file = fopen(path, "w");
    if (file == NULL)
        return false;
    bool ok = PEM_write_PrivateKey(file, key, NULL, NULL, 0, NULL, NULL) == 1;
    return fclose(file) == 0 && ok;
}

/* RFC 7469 style pin, the form CURLOPT_PINNEDPUBLICKEY takes. */
static bool compute_pin(EVP_PKEY *key, char *out, size_t size)
{
    unsigned char *spki = NULL;
    int len = i2d_PUBKEY(key, &spki);
    unsigned char digest[32];
    unsigned int digest_len = 0;
    bool ok = len > 0 && EVP_Digest(spki, (size_t)len, digest, &digest_len, EVP_sha256(), NULL);
    OPENSSL_free(spki);
    char encoded[64];
    ok = ok && EVP_EncodeBlock((unsigned char *)encoded, digest, (int)digest_len) > 0;
    return ok && (size_t)snprintf(out, size, "sha256//%s", encoded) < size;
}

static bool make_path(char *out, const char *dir, const char *file)
{
    int n = snprintf(out, DEV_PKI_PATH_MAX, "%s/%s", dir, file);
    return n > 0 && n < DEV_PKI_PATH_MAX;
}

rsp_status dev_pki_create(const char *dir, const char *server_name, dev_pki *out, rsp_error *err)
{
    memset(out, 0, sizeof *out);
    if (!make_path(out->ca_cert, dir, "ca.pem") ||
        !make_path(out->server_cert, dir, "server.pem") ||
        !make_path(out->server_key, dir, "server.key") ||
        !make_path(out->client_cert, dir, "client.pem") ||
        !make_path(out->client_key, dir, "client.key"))
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "folder name too long");

    char alt_names[320];
    snprintf(alt_names, sizeof alt_names, "DNS:%s,IP:127.0.0.1,IP:::1", server_name);
    EVP_PKEY *ca_key = EVP_EC_gen("P-256");
    EVP_PKEY *server_key = EVP_EC_gen("P-256");
    EVP_PKEY *client_key = EVP_EC_gen("P-256");
    X509 *ca = NULL, *server = NULL, *client = NULL;
    bool ok = ca_key && server_key && client_key;
    if (ok)
        ca = make_certificate(ca_key, "rspkit development CA", NULL, ca_key, true, NULL, NULL);
    if (ca != NULL)
        server =
            make_certificate(server_key, server_name, ca, ca_key, false, alt_names, "serverAuth");
    if (ca != NULL)
        client = make_certificate(client_key, "rspkit development client", ca, ca_key, false, NULL,
                                  "clientAuth");
    ok = ca && server && client;
    ok = ok && write_certificate(out->ca_cert, ca) && write_certificate(out->server_cert, server);
    ok = ok && write_key(out->server_key, server_key);
    ok =
        ok && write_certificate(out->client_cert, client) && write_key(out->client_key, client_key);
    ok = ok && compute_pin(server_key, out->server_pin, sizeof out->server_pin);
    X509_free(ca);
    X509_free(server);
    X509_free(client);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(server_key);
    EVP_PKEY_free(client_key);
    if (!ok) {
        dev_pki_remove(out);
        return rsp_error_set(err, RSP_ERR_CRYPTO, 0, 0, "cannot create development PKI in %s", dir);
    }
    return RSP_OK;
}

void dev_pki_remove(const dev_pki *pki)
{
    const char *paths[] = {pki->ca_cert, pki->server_cert, pki->server_key, pki->client_cert,
                           pki->client_key};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        if (paths[i][0] != '\0')
            unlink(paths[i]);
    }
}
