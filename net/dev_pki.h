/* Throw-away TLS PKI for loopback servers in tests, benchmarks and local demos: a P-256 CA, a
 * server certificate (SAN: the given DNS name and 127.0.0.1) and a client certificate, issued by
 * crypto/pki_generate and written as PEM files into a folder (keys with mode 0600). Never for
 * production: keys are unencrypted on disk. */
#ifndef RSPKIT_NET_DEV_PKI_H
#define RSPKIT_NET_DEV_PKI_H

#include "core/error.h"

#define DEV_PKI_PATH_MAX 512

typedef struct {
    char ca_cert[DEV_PKI_PATH_MAX];
    char server_cert[DEV_PKI_PATH_MAX];
    char server_key[DEV_PKI_PATH_MAX];
    char client_cert[DEV_PKI_PATH_MAX];
    char client_key[DEV_PKI_PATH_MAX];
    /* "sha256//<base64>" of the server's SubjectPublicKeyInfo, for pinning. */
    char server_pin[96];
} dev_pki;

/* Creates the files in `dir` (which must exist). */
rsp_status dev_pki_create(const char *dir, const char *server_name, dev_pki *out, rsp_error *err);
/* Removes the files dev_pki_create wrote (not the folder). */
void dev_pki_remove(const dev_pki *pki);

#endif
