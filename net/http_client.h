/* HTTP(S) client on libcurl for the IPA (ESipa), the eIM (ES9+ towards the SM-DP+) and tests.
 *
 * One http_client keeps one libcurl handle, so consecutive calls reuse the TCP/TLS connection
 * (keep-alive). A client is not thread safe: use one per thread.
 *
 * Trust: with ca_file the server chain and host name are verified against it; with
 * pinned_public_key the server key must match the pin; with both, both apply. With only a
 * pin, the pin alone is the trust decision (chain and host name are not checked), which is
 * what an IPA provisioned with its eIM's key needs. With neither, the system CA store is used.
 * TLS 1.2 is the minimum in every case. */
#ifndef RSPKIT_NET_HTTP_CLIENT_H
#define RSPKIT_NET_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct {
    const char *ca_file; /* PEM bundle of trusted roots */
    /* "sha256//<base64 of SHA-256 of the DER SubjectPublicKeyInfo>" (several joined by ';'),
     * or a path to a PEM or DER public key file. */
    const char *pinned_public_key;
    const char *client_cert_file; /* PEM; with client_key_file */
    const char *client_key_file;
    long connect_timeout_ms; /* default 5000 */
    long total_timeout_ms;   /* whole transfer; default 30000 */
    size_t max_response;     /* larger bodies fail with HTTP_CLIENT_ERR_TOO_LARGE; default 1 MiB */
    const char *user_agent;  /* default "rspkit" */
    /* NULL-terminated "HOST:PORT:ADDRESS" entries that bypass name resolution, so a test can
     * reach a server on loopback under the DNS name its certificate carries. */
    const char *const *resolve;
} http_client_config;

typedef enum {
    HTTP_CLIENT_OK = 0,
    HTTP_CLIENT_ERR_DNS,       /* host name did not resolve */
    HTTP_CLIENT_ERR_CONNECT,   /* TCP connection refused or unreachable */
    HTTP_CLIENT_ERR_TLS,       /* handshake, certificate, host name or pin failure */
    HTTP_CLIENT_ERR_TIMEOUT,   /* connect or total timeout */
    HTTP_CLIENT_ERR_TOO_LARGE, /* response body above max_response */
    HTTP_CLIENT_ERR_PROTOCOL,  /* malformed HTTP, connection dropped mid-response, ... */
    HTTP_CLIENT_ERR_OTHER
} http_client_error;

typedef struct {
    long status;   /* HTTP status; 0 when no response was received */
    uint8_t *body; /* owned; NULL when empty; freed by http_response_free */
    size_t body_len;
    char content_type[128];
    long new_connections; /* connections opened for this call: 0 = an existing one was reused */
    http_client_error error;
    char *headers; /* owned: the final response's header lines, "Name: value\r\n" each */
    size_t headers_len;
} http_response;

typedef struct http_client http_client;

http_client *http_client_new(const http_client_config *config, rsp_error *err);
void http_client_free(http_client *client);

/* headers: NULL-terminated array of "Name: value" lines, or NULL. Returns RSP_OK when an HTTP
 * response was received (whatever its status); otherwise RSP_ERR_IO with response->error set
 * and a detailed message in err. */
rsp_status http_client_post(http_client *client, const char *url, const char *content_type,
                            const void *body, size_t body_len, const char *const *headers,
                            http_response *response, rsp_error *err);
rsp_status http_client_get(http_client *client, const char *url, const char *const *headers,
                           http_response *response, rsp_error *err);
void http_response_free(http_response *response);
/* Copies the value of the first response header called `name` (case-insensitive, surrounding
 * blanks trimmed) into out; false when absent or when it does not fit. */
bool http_response_header(const http_response *response, const char *name, char *out, size_t size);
const char *http_client_error_name(http_client_error error);

#endif
