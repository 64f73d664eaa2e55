#include "net/dev_pki.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "crypto/certificate.h"
#include "crypto/key.h"
#include "crypto/pki_generate.h"

#define VALIDITY_SECONDS (30L * 24 * 3600)
#define ORGANIZATION     "rspkit development"

/* The keys and certificates being issued; freed together whatever happened. */
typedef struct {
    rsp_private_key *ca_key, *server_key, *client_key;
    rsp_public_key *ca_public, *server_public, *client_public;
    rsp_certificate *ca, *server, *client;
} dev_material;

static void material_free(dev_material *m)
{
    rsp_certificate_free(m->ca);
    rsp_certificate_free(m->server);
    rsp_certificate_free(m->client);
    rsp_public_key_free(m->ca_public);
    rsp_public_key_free(m->server_public);
    rsp_public_key_free(m->client_public);
    rsp_private_key_free(m->ca_key);
    rsp_private_key_free(m->server_key);
    rsp_private_key_free(m->client_key);
}

static rsp_status new_key(rsp_private_key **key, rsp_public_key **public_key, rsp_error *err)
{
    rsp_status st = rsp_private_key_generate(RSP_CURVE_NIST_P256, key, err);
    return st == RSP_OK ? rsp_private_key_public(*key, public_key, err) : st;
}

/* RFC 7469 style pin, the form CURLOPT_PINNEDPUBLICKEY takes. */
static rsp_status compute_pin(const rsp_public_key *key, char *out, size_t size, rsp_error *err)
{
    uint8_t *spki = NULL;
    size_t len = 0;
    rsp_status st = rsp_public_key_to_spki(key, &spki, &len, err);
    if (st != RSP_OK)
        return st;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    char encoded[64];
    bool ok = EVP_Digest(spki, len, digest, &digest_len, EVP_sha256(), NULL) == 1 &&
              EVP_EncodeBlock((unsigned char *)encoded, digest, (int)digest_len) > 0;
    free(spki);
    ok = ok && (size_t)snprintf(out, size, "sha256//%s", encoded) < size;
    return ok ? RSP_OK : rsp_error_set(err, RSP_ERR_CRYPTO, 0, 0, "cannot compute the key pin");
}

/* A P-256 CA, a TLS server certificate (EKU serverAuth; SAN: server_name and 127.0.0.1) and a
 * TLS client certificate (EKU clientAuth), all issued through crypto/pki_generate. The CA takes
 * the SGP.26-like CI profile, which TLS peers accept as an ordinary CA. */
static rsp_status issue_all(const char *server_name, dev_material *m, rsp_error *err)
{
    time_t now = time(NULL);
    rsp_pki_certificate_request request = {.role = RSP_CERT_ROLE_CI,
                                           .common_name = "rspkit development CA",
                                           .organization = ORGANIZATION,
                                           .not_before = now - 3600,
                                           .not_after = now + VALIDITY_SECONDS};
    rsp_status st = new_key(&m->ca_key, &m->ca_public, err);
    if (st == RSP_OK) {
        request.subject_key = m->ca_public;
        request.issuer_key = m->ca_key;
        st = rsp_pki_issue_certificate(&request, &m->ca, err);
    }
    if (st == RSP_OK)
        st = new_key(&m->server_key, &m->server_public, err);
    if (st == RSP_OK) {
        request.role = RSP_CERT_ROLE_EIM_TLS; /* the plain TLS server profile: no GSMA policy */
        request.common_name = server_name;
        request.dns_name = server_name;
        request.ip_address = "127.0.0.1";
        request.subject_key = m->server_public;
        request.issuer = m->ca;
        request.extended_key_usage = "serverAuth";
        st = rsp_pki_issue_certificate(&request, &m->server, err);
    }
    if (st == RSP_OK)
        st = new_key(&m->client_key, &m->client_public, err);
    if (st == RSP_OK) {
        request.common_name = "rspkit development client";
        request.dns_name = NULL;
        request.ip_address = NULL;
        request.subject_key = m->client_public;
        request.extended_key_usage = "clientAuth";
        st = rsp_pki_issue_certificate(&request, &m->client, err);
    }
    return st;
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

    dev_material m = {0};
    rsp_status st = issue_all(server_name, &m, err);
    if (st == RSP_OK)
        st = rsp_certificate_write_pem_file(m.ca, out->ca_cert, err);
    if (st == RSP_OK)
        st = rsp_certificate_write_pem_file(m.server, out->server_cert, err);
    if (st == RSP_OK)
        st = rsp_private_key_write_pem_file(m.server_key, out->server_key, err);
    if (st == RSP_OK)
        st = rsp_certificate_write_pem_file(m.client, out->client_cert, err);
    if (st == RSP_OK)
        st = rsp_private_key_write_pem_file(m.client_key, out->client_key, err);
    if (st == RSP_OK)
        st = compute_pin(m.server_public, out->server_pin, sizeof out->server_pin, err);
    material_free(&m);
    if (st != RSP_OK)
        dev_pki_remove(out);
    return st;
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
