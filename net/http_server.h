/* HTTP/1.1 server for the SM-DP+ and eIM bindings, on libmicrohttpd (HTTPS through GnuTLS).
 *
 * Model: a fixed pool of threads, each running an event loop over its share of connections
 * (no thread per request or connection); keep-alive on; the request body is accumulated in a
 * per-connection buffer that is reused across the requests of that connection, so an empty
 * poll allocates nothing but libmicrohttpd's response object. Handlers run on a pool thread
 * and must not block for long.
 *
 * Life cycle: http_server_new -> http_server_route (all routes before start) ->
 * http_server_start -> ... -> http_server_stop (graceful) -> http_server_free.
 *
 * Ownership: the request and everything it points to are valid during the handler call only.
 * The reply's body is either owned (malloc'd, freed by the server with free()), borrowed (must
 * stay valid until the response is sent: use it for static data) or copied by the helper.
 * Reply header names/values and content type are copied before the handler's frame unwinds. */
#ifndef RSPKIT_NET_HTTP_SERVER_H
#define RSPKIT_NET_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/error.h"
#include "net/metrics.h"

struct MHD_Connection;

typedef enum {
    HTTP_CLIENT_CERT_NONE = 0, /* plain HTTP, no client CA configured, or none presented */
    HTTP_CLIENT_CERT_VERIFIED, /* presented and verified against client_ca_file */
    HTTP_CLIENT_CERT_INVALID   /* presented but did not verify */
} http_client_cert_status;

typedef struct {
    const char *method;
    const char *path; /* without the query string */
    const uint8_t *body;
    size_t body_len;
    http_client_cert_status client_cert_status;
    /* DER of the client's leaf certificate when VERIFIED, else NULL. */
    const uint8_t *client_cert_der;
    size_t client_cert_len;
    const struct sockaddr *peer;
    struct MHD_Connection *connection; /* for the lookups below */
} http_request;

/* Case-insensitive header lookup; NULL when absent. */
const char *http_request_header(const http_request *request, const char *name);
/* Query-string argument (decoded); NULL when absent. */
const char *http_request_query(const http_request *request, const char *name);

#define HTTP_REPLY_MAX_HEADERS 8

typedef enum {
    HTTP_BODY_BORROWED = 0, /* must outlive the response (static data) */
    HTTP_BODY_OWNED         /* malloc'd; the server calls free() */
} http_body_ownership;

typedef struct {
    int status; /* 100..599; 0 (unset) is answered with 500 */
    const char *content_type;
    const uint8_t *body;
    size_t body_len;
    http_body_ownership ownership;
    size_t header_count;
    struct {
        const char *name;
        const char *value;
    } headers[HTTP_REPLY_MAX_HEADERS];
} http_reply;

/* Sets status and an owned body (takes `body`, even on later failure). */
void http_reply_owned(http_reply *reply, int status, const char *content_type, uint8_t *body,
                      size_t len);
/* Sets status and a borrowed body (static data). */
void http_reply_borrowed(http_reply *reply, int status, const char *content_type, const void *body,
                         size_t len);
/* Sets status and a copy of body; RSP_ERR_NO_MEMORY on failure. */
rsp_status http_reply_copy(http_reply *reply, int status, const char *content_type,
                           const void *body, size_t len);
/* Adds a header (pointers must stay valid until the handler returns); false when full. */
bool http_reply_add_header(http_reply *reply, const char *name, const char *value);

/* Returns 0 when `reply` is to be sent. Any other value makes the server answer 500 (freeing an
 * owned body), so a failing handler costs one request, never the server. */
typedef int (*http_handler_fn)(const http_request *request, http_reply *reply, void *user);

typedef struct {
    const char *name;   /* metrics label server="..."; default "http" */
    const char *listen; /* "127.0.0.1:8443", "[::1]:0", "localhost:80"; port 0 = ephemeral */
    /* TLS: both set = HTTPS, both NULL = plain HTTP. PEM chain (leaf first) and PEM key. */
    const char *cert_file;
    const char *key_file;
    /* Ask clients for a certificate and verify it against this PEM bundle. */
    const char *client_ca_file;
    bool require_client_cert;   /* answer 403 unless the client certificate verified */
    const char *tls_priorities; /* GnuTLS priority string; default TLS 1.3 and 1.2 only */
    unsigned threads;           /* event-loop threads; default 2 */
    size_t max_body;            /* larger bodies get 413; default 1 MiB */
    unsigned idle_timeout_s;    /* close idle connections after this; default 60 */
    unsigned max_connections;   /* default 1000 */
} http_server_config;

typedef struct http_server http_server;

#define HTTP_SERVER_MAX_ROUTES 64

http_server *http_server_new(const http_server_config *config, rsp_error *err);
/* method NULL = any method. prefix: path matches every request path starting with it.
 * The first matching route wins. Only before http_server_start. */
rsp_status http_server_route(http_server *server, const char *method, const char *path, bool prefix,
                             http_handler_fn handler, void *user, rsp_error *err);
/* Readiness check for the health route: return false to answer 503. */
typedef bool (*http_health_fn)(void *user);
/* GET path -> 200 {"status":"UP"} (or 503 {"status":"DOWN"} when ready() says so). */
rsp_status http_server_add_health_route(http_server *server, const char *path, http_health_fn ready,
                                        void *user, rsp_error *err);
/* GET path -> Prometheus text: this server's counters, then the collectors of `extra` (may be
 * NULL; must outlive the server). */
rsp_status http_server_add_metrics_route(http_server *server, const char *path,
                                         metrics_registry *extra, rsp_error *err);
/* Binds and starts the threads. */
rsp_status http_server_start(http_server *server, rsp_error *err);
/* Port actually bound (useful with port 0); 0 before start. */
uint16_t http_server_port(const http_server *server);
/* Graceful stop: stop accepting, let requests in progress finish (at most grace_ms), then close
 * every connection and join the threads. Idempotent. */
void http_server_stop(http_server *server, unsigned grace_ms);
/* Stops (grace 0 if still running) and frees. NULL is fine. */
void http_server_free(http_server *server);

/* Collector for metrics_registry_add(registry, http_server_collect_metrics, server). */
void http_server_collect_metrics(metrics_text *out, void *server);
/* TCP connections accepted so far (for tests and the keep-alive check). */
uint64_t http_server_connections_total(const http_server *server);
/* Requests answered so far. */
uint64_t http_server_requests_total(const http_server *server);

#endif
