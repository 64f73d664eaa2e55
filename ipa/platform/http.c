/* The libipa HTTP hook on net/http_client (libcurl): ESipa POSTs with the eIM's TLS trust from
 * the eUICC (trustedPublicKeyDataTls) turned into a public key pin. */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ipa/platform/platform.h"
#include "net/http_client.h"

#define PIN_MAX 128

struct ipa_http {
    http_client *client;
    char pin[PIN_MAX]; /* pin the client was created with ("" = none) */
    char *ca_file;
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
    free(http->ca_file);
    free(http);
}

/* "sha256//<base64>" of the SubjectPublicKeyInfo (RFC 7469 pin, the libcurl format). */
static rsp_status make_pin(const ipa_http_request *request, char *pin, rsp_error *err)
{
    uint8_t *spki_owned = NULL;
    const uint8_t *spki = request->trusted_public_key.data;
    size_t spki_len = request->trusted_public_key.len;
    pin[0] = 0;
    if (spki_len == 0 && request->trusted_certificate.len == 0)
        return RSP_OK;
    if (spki_len == 0) {
        const uint8_t *p = request->trusted_certificate.data;
        X509 *cert = d2i_X509(NULL, &p, (long)request->trusted_certificate.len);
        int n = cert ? i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &spki_owned) : -1;
        X509_free(cert);
        if (n <= 0)
            return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0,
                                 "trustedCertificateTls is not an X.509 certificate");
        spki = spki_owned;
        spki_len = (size_t)n;
    }
    uint8_t digest[32];
    unsigned digest_len = 0;
    int ok = EVP_Digest(spki, spki_len, digest, &digest_len, EVP_sha256(), NULL);
    OPENSSL_free(spki_owned);
    if (!ok)
        return rsp_error_set(err, RSP_ERR_CRYPTO, 0, 0, "SHA-256 failed");
    memcpy(pin, "sha256//", 8);
    EVP_EncodeBlock((unsigned char *)pin + 8, digest, (int)digest_len);
    return RSP_OK;
}

/* SGP.32 v1.2 section 6.1: HTTPS POST, ASN.1 body both ways. */
rsp_status ipa_http_post(void *ctx, const ipa_http_request *request, der_writer *response,
                         long *http_status, rsp_error *err)
{
    ipa_http *http = ctx;
    char pin[PIN_MAX];
    rsp_status st = make_pin(request, pin, err);
    if (st != RSP_OK)
        return st;
    if (http->client && strcmp(pin, http->pin) != 0) {
        http_client_free(http->client);
        http->client = NULL;
    }
    if (!http->client) {
        http_client_config config = {
            .ca_file = http->ca_file,
            .pinned_public_key = pin[0] ? pin : NULL,
            .total_timeout_ms = http->timeout_ms,
            .max_response = 4u << 20, /* a BPP is at most a few hundred KiB */
            .user_agent = "rspkit-ipa",
        };
        http->client = http_client_new(&config, err);
        if (!http->client)
            return RSP_ERR_IO;
        strcpy(http->pin, pin);
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
