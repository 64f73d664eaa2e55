/* The libipa HTTP hook on net/http_client (libcurl): ESipa POSTs with the eIM's TLS trust from
 * the eUICC (trustedPublicKeyDataTls) turned into a public key pin. */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include "ipa/platform/platform.h"
#include "net/http_client.h"

#define PIN_MAX 128

struct ipa_http {
    http_client *client;
    char trust[PIN_MAX]; /* trust the client was created with ("" = ca_file or system) */
    char *ca_file;
    char ca_temp[64]; /* PEM of a CA certificate from trustedCertificateTls ("" = none) */
    long timeout_ms;
};

ipa_http *ipa_http_new(const char *ca_file, long timeout_ms, rsp_error *err)
{
    ipa_http *http = calloc(1, sizeof *http);
    if (!http) {
        rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "out of memory");
        return NULL;
    }
    http->ca_file = ca_file ? strdup(ca_file) : NULL;
    http->timeout_ms = timeout_ms > 0 ? timeout_ms : 30000;
    return http;
}

void ipa_http_free(ipa_http *http)
{
    if (!http)
        return;
    http_client_free(http->client);
    if (http->ca_temp[0])
        unlink(http->ca_temp);
    free(http->ca_file);
    free(http);
}

/* "sha256//<base64>" of data (RFC 7469 pin form, the libcurl format). */
static rsp_status sha256_text(const uint8_t *data, size_t len, char *out, rsp_error *err)
{
    uint8_t digest[32];
    unsigned digest_len = 0;
    if (!EVP_Digest(data, len, digest, &digest_len, EVP_sha256(), NULL))
        return rsp_error_set(err, RSP_ERR_CRYPTO, 0, 0, "SHA-256 failed");
    memcpy(out, "sha256//", 8);
    EVP_EncodeBlock((unsigned char *)out + 8, digest, (int)digest_len);
    return RSP_OK;
}

/* A CA certificate from trustedCertificateTls becomes the trust anchor (a PEM file for
 * libcurl); the chain and host name are then verified against it. */
static rsp_status use_ca(ipa_http *http, X509 *ca, rsp_error *err)
{
    if (!http->ca_temp[0]) {
        snprintf(http->ca_temp, sizeof http->ca_temp, "/tmp/rspkit-ipa-ca-XXXXXX");
        int fd = mkstemp(http->ca_temp);
        if (fd < 0) {
            http->ca_temp[0] = 0;
            return rsp_error_set(err, RSP_ERR_IO, 0, 0, "cannot create a CA file");
        }
        close(fd);
    }
    FILE *f = fopen(http->ca_temp, "w");
    bool ok = f && PEM_write_X509(f, ca) == 1;
    if (f)
        ok = fclose(f) == 0 && ok;
    return ok ? RSP_OK : rsp_error_set(err, RSP_ERR_IO, 0, 0, "cannot write the CA file");
}

/* SGP.32 v1.2 section 2.11.1.1.1 trustedPublicKeyDataTls: the eIM's public key, or a
 * certificate that is the eIM's own (its key is pinned) or a CA's (it becomes the trust
 * anchor). *trust identifies the choice so that a change recreates the client. */
static rsp_status make_trust(ipa_http *http, const ipa_http_request *request, char *trust, bool *ca,
                             rsp_error *err)
{
    trust[0] = 0;
    *ca = false;
    if (request->trusted_public_key.len > 0)
        return sha256_text(request->trusted_public_key.data, request->trusted_public_key.len, trust,
                           err);
    if (request->trusted_certificate.len == 0)
        return RSP_OK;
    const uint8_t *p = request->trusted_certificate.data;
    X509 *cert = d2i_X509(NULL, &p, (long)request->trusted_certificate.len);
    uint8_t *spki = NULL;
    int n = cert ? i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &spki) : -1;
    rsp_status st = n > 0 ? RSP_OK
                          : rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0,
                                          "trustedCertificateTls is not an X.509 certificate");
    if (st == RSP_OK && X509_check_ca(cert) > 0) {
        *ca = true;
        st = sha256_text(request->trusted_certificate.data, request->trusted_certificate.len, trust,
                         err);
        trust[0] = 'C'; /* a CA's certificate hash, never equal to a key pin */
        if (st == RSP_OK && strcmp(trust, http->trust) != 0)
            st = use_ca(http, cert, err);
    } else if (st == RSP_OK) {
        st = sha256_text(spki, (size_t)n, trust, err);
    }
    OPENSSL_free(spki);
    X509_free(cert);
    return st;
}

/* SGP.32 v1.2 section 6.1: HTTPS POST, ASN.1 body both ways. */
rsp_status ipa_http_post(void *ctx, const ipa_http_request *request, der_writer *response,
                         long *http_status, rsp_error *err)
{
    ipa_http *http = ctx;
    char trust[PIN_MAX];
    bool ca = false;
    rsp_status st = make_trust(http, request, trust, &ca, err);
    if (st != RSP_OK)
        return st;
    if (http->client && strcmp(trust, http->trust) != 0) {
        http_client_free(http->client);
        http->client = NULL;
    }
    if (!http->client) {
        http_client_config config = {
            .ca_file = ca ? http->ca_temp : http->ca_file,
            .pinned_public_key = trust[0] && !ca ? trust : NULL,
            .total_timeout_ms = http->timeout_ms,
            .max_response = 4u << 20, /* a BPP is at most a few hundred KiB */
            .user_agent = "rspkit-ipa",
        };
        http->client = http_client_new(&config, err);
        if (!http->client)
            return RSP_ERR_IO;
        strcpy(http->trust, trust);
    }
    char accept[96];
    snprintf(accept, sizeof accept, "Accept: %s", request->content_type);
    const char *headers[] = {accept, "X-Admin-Protocol: gsma/rsp/v2.5.0", NULL};
    http_response reply;
    memset(&reply, 0, sizeof reply);
    st = http_client_post(http->client, request->url, request->content_type, request->body.data,
                          request->body.len, headers, &reply, err);
    if (st == RSP_OK) {
        *http_status = reply.status;
        der_put_raw(response, reply.body, reply.body_len);
        st = der_writer_status(response);
    }
    http_response_free(&reply);
    return st;
}
