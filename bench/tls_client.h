/* A minimal HTTPS/1.1 keep-alive client for benchmarks only (OpenSSL libssl, blocking socket).
 *
 * It exists so that load generators on the same machine as the server cost little CPU per
 * request: a bench that runs its clients next to the server measures the server's rate only
 * when the clients are cheap, and the general client (net/http_client.h, libcurl) spends about
 * as much CPU per small request as the server. One connection per client: POST with
 * Content-Length, response with Content-Length (no chunked bodies, no pipelining, no
 * redirects); anything else is an error. The server certificate is verified against a CA file
 * and the host (a name, or an IP address checked against the certificate's IP SANs).
 * A client is not thread safe: use one per thread. */
#ifndef RSPKIT_BENCH_TLS_CLIENT_H
#define RSPKIT_BENCH_TLS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

typedef struct bench_tls_client bench_tls_client;

typedef struct {
    int status;          /* HTTP status code */
    const uint8_t *body; /* inside the client's buffer: valid until the next call */
    size_t body_len;
} bench_tls_response;

/* Connects to host:port and completes the TLS handshake (TLS 1.2 minimum). NULL on failure,
 * with the reason in error. */
bench_tls_client *bench_tls_client_connect(const char *host, unsigned port, const char *ca_file,
                                           char *error, size_t error_size);

/* One POST on the kept-alive connection. 0 on a complete response (any status), -1 on a
 * transport or protocol failure (then bench_tls_client_error says why and the client is
 * unusable). */
int bench_tls_client_post(bench_tls_client *client, const char *path, const char *content_type,
                          const uint8_t *body, size_t body_len, bench_tls_response *response);

/* The two halves of a POST, so that one thread can keep a request in flight on each of several
 * connections (send on all, then receive on all) and sleep once per round instead of once per
 * request. Each connection still carries one request at a time. Same results as _post. */
int bench_tls_client_send(bench_tls_client *client, const char *path, const char *content_type,
                          const uint8_t *body, size_t body_len);
int bench_tls_client_receive(bench_tls_client *client, bench_tls_response *response);

const char *bench_tls_client_error(const bench_tls_client *client);

void bench_tls_client_free(bench_tls_client *client);

#endif
