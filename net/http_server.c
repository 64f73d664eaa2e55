#include "net/http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <microhttpd.h>

#include "core/log.h"

#define DEFAULT_THREADS         2
#define DEFAULT_MAX_BODY        (1024 * 1024)
#define DEFAULT_IDLE_TIMEOUT_S  60
#define DEFAULT_MAX_CONNECTIONS 1000
/* TLS 1.2 is the floor for the GSMA RSP interfaces; 1.3 is preferred when both ends have it. */
#define DEFAULT_TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:%SERVER_PRECEDENCE"
/* Per-connection body buffers above this are released after the request rather than kept. */
#define BODY_KEEP_CAPACITY (64 * 1024)
#define STATUS_SLOTS       16

typedef struct {
    _Atomic int status;
    metrics_counter count;
} status_slot;

/* Counters of one route (or of the unmatched requests). */
typedef struct {
    status_slot statuses[STATUS_SLOTS];
    metrics_counter other_statuses;
    metrics_counter bytes_in;
    metrics_counter bytes_out;
    metrics_histogram latency;
} route_stats;

typedef struct {
    char *method; /* NULL = any */
    char *path;
    size_t path_len;
    bool prefix;
    http_handler_fn handler;
    void *user;
} route;

/* State of one TCP connection, reused by each request on it (HTTP/1.1 serialises them). */
typedef struct {
    http_server *server;
    /* current request */
    int route_index; /* -1: no route */
    bool path_matched;
    bool too_large;
    int status;
    uint64_t start_ns;
    size_t bytes_in;
    size_t bytes_out;
    uint8_t *body;
    size_t body_len;
    size_t body_capacity;
    /* client certificate, checked once per connection */
    bool cert_checked;
    http_client_cert_status cert_status;
    uint8_t *cert_der;
    size_t cert_len;
} connection_state;

struct http_server {
    char *name;
    char *listen;
    char *cert_pem;
    char *key_pem;
    char *client_ca_pem;
    char *tls_priorities;
    bool require_client_cert;
    unsigned threads;
    size_t max_body;
    unsigned idle_timeout_s;
    unsigned max_connections;

    route routes[HTTP_SERVER_MAX_ROUTES];
    route_stats route_stats[HTTP_SERVER_MAX_ROUTES + 1]; /* last = unmatched */
    size_t route_count;

    struct MHD_Daemon *daemon;
    uint16_t port;
    _Atomic bool stopping;
    _Atomic int64_t in_flight;
    metrics_counter connections_total;
    metrics_gauge connections_open;
    metrics_counter requests_total;
    metrics_counter handler_failures;
    metrics_counter responses_aborted; /* response queued but not fully sent */

    metrics_registry *metrics_extra;
    http_health_fn health_ready;
    void *health_user;
};

static uint64_t monotonic_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

static char *duplicate(const char *text)
{
    return text != NULL ? strdup(text) : NULL;
}

/* Reads a whole (small) PEM file into a NUL-terminated string. */
static char *read_text_file(const char *path, rsp_error *err)
{
    char *text = NULL;
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        rsp_error_set(err, RSP_ERR_IO, 0, 0, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    size_t capacity = 4096, len = 0;
    text = malloc(capacity);
    while (text != NULL) {
        len += fread(text + len, 1, capacity - len - 1, file);
        if (len < capacity - 1)
            break;
        capacity *= 2;
        char *grown = capacity <= 1024 * 1024 ? realloc(text, capacity) : NULL;
        if (grown == NULL) {
            free(text);
            text = NULL;
        } else {
            text = grown;
        }
    }
    if (text == NULL)
        rsp_error_set(err, RSP_ERR_IO, 0, 0, "cannot read %s (too large or no memory)", path);
    else if (ferror(file)) {
        rsp_error_set(err, RSP_ERR_IO, 0, 0, "cannot read %s", path);
        free(text);
        text = NULL;
    } else
        text[len] = '\0';
    fclose(file);
    return text;
}

/* ---- replies ---- */

void http_reply_owned(http_reply *reply, int status, const char *content_type, uint8_t *body,
                      size_t len)
{
    if (reply->ownership == HTTP_BODY_OWNED && reply->body != body)
        free((void *)reply->body);
    reply->status = status;
    reply->content_type = content_type;
    reply->body = body;
    reply->body_len = body != NULL ? len : 0;
    reply->ownership = HTTP_BODY_OWNED;
}

void http_reply_borrowed(http_reply *reply, int status, const char *content_type, const void *body,
                         size_t len)
{
    if (reply->ownership == HTTP_BODY_OWNED)
        free((void *)reply->body);
    reply->status = status;
    reply->content_type = content_type;
    reply->body = body;
    reply->body_len = body != NULL ? len : 0;
    reply->ownership = HTTP_BODY_BORROWED;
}

rsp_status http_reply_copy(http_reply *reply, int status, const char *content_type,
                           const void *body, size_t len)
{
    uint8_t *copy = malloc(len > 0 ? len : 1);
    if (copy == NULL)
        return RSP_ERR_NO_MEMORY;
    if (len > 0)
        memcpy(copy, body, len);
    http_reply_owned(reply, status, content_type, copy, len);
    return RSP_OK;
}

bool http_reply_add_header(http_reply *reply, const char *name, const char *value)
{
    if (reply->header_count >= HTTP_REPLY_MAX_HEADERS || name == NULL || value == NULL)
        return false;
    reply->headers[reply->header_count].name = name;
    reply->headers[reply->header_count].value = value;
    reply->header_count++;
    return true;
}

const char *http_request_header(const http_request *request, const char *name)
{
    return MHD_lookup_connection_value(request->connection, MHD_HEADER_KIND, name);
}

const char *http_request_query(const http_request *request, const char *name)
{
    return MHD_lookup_connection_value(request->connection, MHD_GET_ARGUMENT_KIND, name);
}

/* ---- metrics ---- */

static void record_status(route_stats *stats, int status)
{
    for (size_t i = 0; i < STATUS_SLOTS; i++) {
        int seen = atomic_load_explicit(&stats->statuses[i].status, memory_order_acquire);
        if (seen == 0) {
            int expected = 0;
            if (atomic_compare_exchange_strong(&stats->statuses[i].status, &expected, status))
                seen = status;
            else
                seen = expected;
        }
        if (seen == status) {
            metrics_counter_add(&stats->statuses[i].count, 1);
            return;
        }
    }
    metrics_counter_add(&stats->other_statuses, 1);
}

static void route_label(const http_server *server, size_t index, char *labels, size_t size)
{
    labels[0] = '\0';
    metrics_label_append(labels, size, "server", server->name);
    if (index == server->route_count) {
        metrics_label_append(labels, size, "route", "unmatched");
        return;
    }
    const route *r = &server->routes[index];
    char pattern[512];
    snprintf(pattern, sizeof pattern, "%s%s", r->path, r->prefix ? "*" : "");
    metrics_label_append(labels, size, "route", pattern);
    metrics_label_append(labels, size, "method", r->method ? r->method : "ANY");
}

void http_server_collect_metrics(metrics_text *out, void *context)
{
    http_server *server = context;
    char labels[768], with_code[800], server_label[256] = "";
    metrics_label_append(server_label, sizeof server_label, "server", server->name);

    metrics_text_family(out, "rspkit_http_requests_total", "HTTP requests answered", "counter");
    for (size_t i = 0; i <= server->route_count; i++) {
        route_stats *stats = &server->route_stats[i];
        route_label(server, i, labels, sizeof labels);
        for (size_t s = 0; s < STATUS_SLOTS; s++) {
            int status = atomic_load(&stats->statuses[s].status);
            if (status == 0)
                break;
            char code[16];
            snprintf(code, sizeof code, "%d", status);
            snprintf(with_code, sizeof with_code, "%s", labels);
            metrics_label_append(with_code, sizeof with_code, "code", code);
            metrics_text_sample_u64(out, "rspkit_http_requests_total", with_code,
                                    metrics_counter_get(&stats->statuses[s].count));
        }
        uint64_t other = metrics_counter_get(&stats->other_statuses);
        if (other > 0) {
            snprintf(with_code, sizeof with_code, "%s", labels);
            metrics_label_append(with_code, sizeof with_code, "code", "other");
            metrics_text_sample_u64(out, "rspkit_http_requests_total", with_code, other);
        }
    }
    metrics_text_family(out, "rspkit_http_request_body_bytes_total", "Request body bytes received",
                        "counter");
    for (size_t i = 0; i <= server->route_count; i++) {
        route_label(server, i, labels, sizeof labels);
        metrics_text_sample_u64(out, "rspkit_http_request_body_bytes_total", labels,
                                metrics_counter_get(&server->route_stats[i].bytes_in));
    }
    metrics_text_family(out, "rspkit_http_response_body_bytes_total", "Response body bytes sent",
                        "counter");
    for (size_t i = 0; i <= server->route_count; i++) {
        route_label(server, i, labels, sizeof labels);
        metrics_text_sample_u64(out, "rspkit_http_response_body_bytes_total", labels,
                                metrics_counter_get(&server->route_stats[i].bytes_out));
    }
    metrics_text_family(out, "rspkit_http_request_duration_seconds",
                        "Time from request headers to response completion", "histogram");
    for (size_t i = 0; i <= server->route_count; i++) {
        route_label(server, i, labels, sizeof labels);
        metrics_text_histogram(out, "rspkit_http_request_duration_seconds", labels,
                               &server->route_stats[i].latency);
    }
    metrics_text_family(out, "rspkit_http_connections_total", "TCP connections accepted",
                        "counter");
    metrics_text_sample_u64(out, "rspkit_http_connections_total", server_label,
                            metrics_counter_get(&server->connections_total));
    metrics_text_family(out, "rspkit_http_connections_open", "TCP connections open", "gauge");
    metrics_text_sample_i64(out, "rspkit_http_connections_open", server_label,
                            metrics_gauge_get(&server->connections_open));
    metrics_text_family(out, "rspkit_http_requests_in_flight", "Requests being processed", "gauge");
    metrics_text_sample_i64(out, "rspkit_http_requests_in_flight", server_label,
                            atomic_load(&server->in_flight));
    metrics_text_family(out, "rspkit_http_handler_failures_total",
                        "Handlers that failed and were answered with 500", "counter");
    metrics_text_sample_u64(out, "rspkit_http_handler_failures_total", server_label,
                            metrics_counter_get(&server->handler_failures));
    metrics_text_family(out, "rspkit_http_responses_aborted_total",
                        "Responses not completely sent (peer gone, timeout, shutdown)", "counter");
    metrics_text_sample_u64(out, "rspkit_http_responses_aborted_total", server_label,
                            metrics_counter_get(&server->responses_aborted));
}

uint64_t http_server_connections_total(const http_server *server)
{
    return metrics_counter_get(&server->connections_total);
}

uint64_t http_server_requests_total(const http_server *server)
{
    return metrics_counter_get(&server->requests_total);
}

/* ---- configuration ---- */

http_server *http_server_new(const http_server_config *config, rsp_error *err)
{
    if (config == NULL || config->listen == NULL) {
        rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "listen address required");
        return NULL;
    }
    if ((config->cert_file == NULL) != (config->key_file == NULL)) {
        rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "cert_file and key_file go together");
        return NULL;
    }
    if (config->cert_file == NULL && (config->client_ca_file || config->require_client_cert)) {
        rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "client certificates need TLS");
        return NULL;
    }
    if (config->require_client_cert && config->client_ca_file == NULL) {
        rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0,
                      "require_client_cert needs client_ca_file");
        return NULL;
    }
    http_server *server = calloc(1, sizeof *server);
    if (server == NULL) {
        rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "out of memory");
        return NULL;
    }
    server->name = strdup(config->name ? config->name : "http");
    server->listen = strdup(config->listen);
    server->tls_priorities =
        strdup(config->tls_priorities ? config->tls_priorities : DEFAULT_TLS_PRIORITIES);
    server->require_client_cert = config->require_client_cert;
    server->threads = config->threads ? config->threads : DEFAULT_THREADS;
    server->max_body = config->max_body ? config->max_body : DEFAULT_MAX_BODY;
    server->idle_timeout_s =
        config->idle_timeout_s ? config->idle_timeout_s : DEFAULT_IDLE_TIMEOUT_S;
    server->max_connections =
        config->max_connections ? config->max_connections : DEFAULT_MAX_CONNECTIONS;
    bool ok = server->name && server->listen && server->tls_priorities;
    if (!ok)
        rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "out of memory");
    if (ok && config->cert_file != NULL) {
        server->cert_pem = read_text_file(config->cert_file, err);
        server->key_pem = server->cert_pem ? read_text_file(config->key_file, err) : NULL;
        ok = server->key_pem != NULL;
    }
    if (ok && config->client_ca_file != NULL) {
        server->client_ca_pem = read_text_file(config->client_ca_file, err);
        ok = server->client_ca_pem != NULL;
    }
    if (!ok) {
        http_server_free(server);
        return NULL;
    }
    return server;
}

rsp_status http_server_route(http_server *server, const char *method, const char *path, bool prefix,
                             http_handler_fn handler, void *user, rsp_error *err)
{
    if (server->daemon != NULL)
        return rsp_error_set(err, RSP_ERR_STATE, 0, 0, "routes must be added before start");
    if (path == NULL || handler == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "route needs path, handler");
    if (server->route_count >= HTTP_SERVER_MAX_ROUTES)
        return rsp_error_set(err, RSP_ERR_TOO_MANY, 0, 0, "more than %d routes",
                             HTTP_SERVER_MAX_ROUTES);
    route *r = &server->routes[server->route_count];
    r->method = duplicate(method);
    r->path = strdup(path);
    if (r->path == NULL || (method != NULL && r->method == NULL)) {
        free(r->method);
        free(r->path);
        memset(r, 0, sizeof *r);
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "out of memory");
    }
    r->path_len = strlen(path);
    r->prefix = prefix;
    r->handler = handler;
    r->user = user;
    server->route_count++;
    return RSP_OK;
}

static int health_handler(const http_request *request, http_reply *reply, void *user)
{
    static const char up[] = "{\"status\":\"UP\"}";
    static const char down[] = "{\"status\":\"DOWN\"}";
    http_server *server = user;
    (void)request;
    if (server->health_ready == NULL || server->health_ready(server->health_user))
        http_reply_borrowed(reply, 200, "application/json", up, sizeof up - 1);
    else
        http_reply_borrowed(reply, 503, "application/json", down, sizeof down - 1);
    return 0;
}

rsp_status http_server_add_health_route(http_server *server, const char *path, http_health_fn ready,
                                        void *user, rsp_error *err)
{
    server->health_ready = ready;
    server->health_user = user;
    return http_server_route(server, "GET", path, false, health_handler, server, err);
}

static int metrics_handler(const http_request *request, http_reply *reply, void *user)
{
    http_server *server = user;
    metrics_text text;
    (void)request;
    metrics_text_init(&text);
    http_server_collect_metrics(&text, server);
    if (server->metrics_extra != NULL)
        metrics_registry_render(server->metrics_extra, &text);
    if (text.failed) {
        metrics_text_free(&text);
        return -1;
    }
    http_reply_owned(reply, 200, METRICS_CONTENT_TYPE, (uint8_t *)text.data, text.len);
    return 0;
}

rsp_status http_server_add_metrics_route(http_server *server, const char *path,
                                         metrics_registry *extra, rsp_error *err)
{
    server->metrics_extra = extra;
    return http_server_route(server, "GET", path, false, metrics_handler, server, err);
}

/* ---- request processing ---- */

static bool route_path_matches(const route *r, const char *path)
{
    if (r->prefix)
        return strncmp(path, r->path, r->path_len) == 0;
    return strcmp(path, r->path) == 0;
}

static void find_route(const http_server *server, const char *method, const char *path,
                       connection_state *state)
{
    state->route_index = -1;
    state->path_matched = false;
    for (size_t i = 0; i < server->route_count; i++) {
        const route *r = &server->routes[i];
        if (!route_path_matches(r, path))
            continue;
        state->path_matched = true;
        if (r->method == NULL || strcmp(r->method, method) == 0) {
            state->route_index = (int)i;
            return;
        }
    }
}

/* "Allow" value for a 405: the methods of every route matching the path. */
static void allowed_methods(const http_server *server, const char *path, char *out, size_t size)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < server->route_count; i++) {
        const route *r = &server->routes[i];
        if (r->method == NULL || !route_path_matches(r, path))
            continue;
        int n = snprintf(out + len, size - len, "%s%s", len ? ", " : "", r->method);
        if (n < 0 || (size_t)n >= size - len)
            break;
        len += (size_t)n;
    }
}

/* Verifies the client certificate once per connection (the TLS session does not change). */
static void check_client_certificate(const http_server *server, struct MHD_Connection *connection,
                                     connection_state *state)
{
    state->cert_checked = true;
    state->cert_status = HTTP_CLIENT_CERT_NONE;
    if (server->client_ca_pem == NULL)
        return;
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (info == NULL || info->tls_session == NULL)
        return;
    gnutls_session_t session = (gnutls_session_t)info->tls_session;
    unsigned count = 0;
    const gnutls_datum_t *chain = gnutls_certificate_get_peers(session, &count);
    if (chain == NULL || count == 0)
        return;
    unsigned verify_status = 0;
    if (gnutls_certificate_verify_peers2(session, &verify_status) != GNUTLS_E_SUCCESS ||
        verify_status != 0) {
        state->cert_status = HTTP_CLIENT_CERT_INVALID;
        return;
    }
    state->cert_der = malloc(chain[0].size);
    if (state->cert_der == NULL) {
        state->cert_status = HTTP_CLIENT_CERT_INVALID;
        return;
    }
    memcpy(state->cert_der, chain[0].data, chain[0].size);
    state->cert_len = chain[0].size;
    state->cert_status = HTTP_CLIENT_CERT_VERIFIED;
}

static enum MHD_Result queue_reply(struct MHD_Connection *connection, connection_state *state,
                                   http_reply *reply)
{
    http_server *server = state->server;
    enum MHD_ResponseMemoryMode mode =
        reply->ownership == HTTP_BODY_OWNED ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT;
    struct MHD_Response *response =
        MHD_create_response_from_buffer(reply->body_len, (void *)reply->body, mode);
    if (response == NULL) {
        if (reply->ownership == HTTP_BODY_OWNED)
            free((void *)reply->body);
        return MHD_NO;
    }
    if (reply->content_type != NULL)
        MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, reply->content_type);
    for (size_t i = 0; i < reply->header_count; i++)
        MHD_add_response_header(response, reply->headers[i].name, reply->headers[i].value);
    /* While draining, tell keep-alive clients to go elsewhere. */
    if (atomic_load_explicit(&server->stopping, memory_order_relaxed))
        MHD_add_response_header(response, MHD_HTTP_HEADER_CONNECTION, "close");
    state->status = reply->status;
    state->bytes_out = reply->body_len;
    enum MHD_Result queued = MHD_queue_response(connection, (unsigned)reply->status, response);
    MHD_destroy_response(response);
    return queued;
}

static enum MHD_Result queue_error(struct MHD_Connection *connection, connection_state *state,
                                   int status, const char *text)
{
    http_reply reply = {0};
    http_reply_borrowed(&reply, status, "text/plain", text, strlen(text));
    return queue_reply(connection, state, &reply);
}

static void release_body(connection_state *state)
{
    if (state->body_capacity > BODY_KEEP_CAPACITY) {
        free(state->body);
        state->body = NULL;
        state->body_capacity = 0;
    }
    state->body_len = 0;
}

/* Makes room for a body of `len` bytes at once (the declared Content-Length, already checked
 * against max_body), so the chunks that follow are copied without growing the buffer. A failed
 * allocation is not an error here: append_body tries again and answers 413 if it fails too. */
static void reserve_body(connection_state *state, size_t len)
{
    if (len <= state->body_capacity)
        return;
    uint8_t *grown = realloc(state->body, len);
    if (grown != NULL) {
        state->body = grown;
        state->body_capacity = len;
    }
}

static bool append_body(connection_state *state, const char *data, size_t len, size_t max)
{
    if (len > max - state->body_len)
        return false;
    if (state->body_len + len > state->body_capacity) {
        size_t capacity = state->body_capacity ? state->body_capacity : 4096;
        while (capacity < state->body_len + len)
            capacity *= 2;
        if (capacity > max)
            capacity = max;
        uint8_t *grown = realloc(state->body, capacity);
        if (grown == NULL)
            return false;
        state->body = grown;
        state->body_capacity = capacity;
    }
    memcpy(state->body + state->body_len, data, len);
    state->body_len += len;
    return true;
}

static enum MHD_Result dispatch(struct MHD_Connection *connection, connection_state *state,
                                const char *method, const char *path)
{
    http_server *server = state->server;
    if (state->too_large)
        return queue_error(connection, state, 413, "Payload Too Large\n");
    if (state->route_index < 0 && !state->path_matched)
        return queue_error(connection, state, 404, "Not Found\n");
    if (state->route_index < 0) {
        char allow[256];
        allowed_methods(server, path, allow, sizeof allow);
        http_reply reply = {0};
        http_reply_borrowed(&reply, 405, "text/plain", "Method Not Allowed\n", 19);
        http_reply_add_header(&reply, MHD_HTTP_HEADER_ALLOW, allow);
        return queue_reply(connection, state, &reply);
    }
    if (!state->cert_checked)
        check_client_certificate(server, connection, state);
    if (server->require_client_cert && state->cert_status != HTTP_CLIENT_CERT_VERIFIED)
        return queue_error(connection, state, 403, "Client Certificate Required\n");

    const route *r = &server->routes[state->route_index];
    const union MHD_ConnectionInfo *peer =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    http_request request = {
        .method = method,
        .path = path,
        .body = state->body_len ? state->body : NULL,
        .body_len = state->body_len,
        .client_cert_status = state->cert_status,
        .client_cert_der = state->cert_status == HTTP_CLIENT_CERT_VERIFIED ? state->cert_der : NULL,
        .client_cert_len = state->cert_status == HTTP_CLIENT_CERT_VERIFIED ? state->cert_len : 0,
        .peer = peer ? peer->client_addr : NULL,
        .connection = connection,
    };
    http_reply reply = {0};
    int rc = r->handler(&request, &reply, r->user);
    if (rc != 0 || reply.status < 100 || reply.status > 599) {
        if (reply.ownership == HTTP_BODY_OWNED)
            free((void *)reply.body);
        metrics_counter_add(&server->handler_failures, 1);
        LOG_WARN("http", "handler failed", LOG_STR("route", r->path), LOG_INT("rc", rc),
                 LOG_INT("status", reply.status));
        return queue_error(connection, state, 500, "Internal Server Error\n");
    }
    return queue_reply(connection, state, &reply);
}

static void begin_request(connection_state *state, const char *method, const char *url)
{
    state->start_ns = monotonic_ns();
    state->too_large = false;
    state->status = 0;
    state->bytes_in = 0;
    state->bytes_out = 0;
    state->body_len = 0;
    find_route(state->server, method, url, state);
}

/* The declared Content-Length: false when absent or unreadable (libmicrohttpd refuses a
 * malformed one itself); *length saturates at ULLONG_MAX. */
static bool declared_content_length(struct MHD_Connection *connection, unsigned long long *length)
{
    const char *text =
        MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (text == NULL)
        return false;
    char *end;
    *length = strtoull(text, &end, 10);
    return end != text;
}

/* libmicrohttpd calls this once when the headers are in, once per body chunk, and once more
 * when the body is complete. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *connection, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **request_context)
{
    http_server *server = cls;
    (void)version;
    connection_state *state = *request_context;
    if (state == NULL) {
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        state = info ? info->socket_context : NULL;
        if (state == NULL)
            return MHD_NO;
        *request_context = state;
        atomic_fetch_add(&server->in_flight, 1);
        begin_request(state, method, url);
        unsigned long long length = 0;
        if (declared_content_length(connection, &length)) {
            /* Refuse a declared oversized body before reading it (no 100 Continue is sent). */
            if (length > server->max_body) {
                state->too_large = true;
                return queue_error(connection, state, 413, "Payload Too Large\n");
            }
            if (state->route_index >= 0)
                reserve_body(state, (size_t)length);
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t chunk = *upload_data_size;
        state->bytes_in += chunk;
        /* Bodies of requests that will be refused anyway are read and dropped, which keeps the
         * connection usable. */
        if (!state->too_large && state->route_index >= 0 &&
            !append_body(state, upload_data, chunk, server->max_body))
            state->too_large = true;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (state->status != 0)
        return MHD_YES; /* already answered (early 413) */
    return dispatch(connection, state, method, url);
}

static void on_completed(void *cls, struct MHD_Connection *connection, void **request_context,
                         enum MHD_RequestTerminationCode code)
{
    http_server *server = cls;
    connection_state *state = *request_context;
    (void)connection;
    if (state == NULL)
        return;
    *request_context = NULL;
    size_t index = state->route_index >= 0 ? (size_t)state->route_index : server->route_count;
    route_stats *stats = &server->route_stats[index];
    if (state->status != 0) {
        record_status(stats, state->status);
        if (code != MHD_REQUEST_TERMINATED_COMPLETED_OK)
            metrics_counter_add(&server->responses_aborted, 1);
        metrics_counter_add(&stats->bytes_in, state->bytes_in);
        metrics_counter_add(&stats->bytes_out, state->bytes_out);
        metrics_histogram_observe_ns(&stats->latency, monotonic_ns() - state->start_ns);
        metrics_counter_add(&server->requests_total, 1);
    }
    release_body(state);
    atomic_fetch_sub(&server->in_flight, 1);
}

/* Once stopping, new connections are closed as soon as they are accepted. This is what
 * MHD_quiesce_daemon() would do, but libmicrohttpd 0.9.75 can abort the process in it when the
 * daemon polls with epoll from its own threads: quiescing removes the listening socket from
 * each thread's epoll set while that thread may be removing it too ("Failed to remove listen
 * FD from epoll set", an unguarded MHD_PANIC; seen in test_http and in the system test). */
static enum MHD_Result accept_policy(void *cls, const struct sockaddr *address, socklen_t length)
{
    (void)address;
    (void)length;
    const http_server *server = cls;
    return atomic_load_explicit(&server->stopping, memory_order_relaxed) ? MHD_NO : MHD_YES;
}

static void on_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    http_server *server = cls;
    (void)connection;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        connection_state *state = calloc(1, sizeof *state);
        if (state != NULL) {
            state->server = server;
            state->route_index = -1;
        }
        *socket_context = state;
        metrics_counter_add(&server->connections_total, 1);
        metrics_gauge_add(&server->connections_open, 1);
        return;
    }
    connection_state *state = *socket_context;
    if (state != NULL) {
        free(state->body);
        free(state->cert_der);
        free(state);
        *socket_context = NULL;
    }
    metrics_gauge_add(&server->connections_open, -1);
}

static void on_library_message(void *cls, const char *fmt, va_list ap)
{
    char text[256];
    (void)cls;
    if (!log_enabled(LOG_LEVEL_DEBUG))
        return; /* not worth formatting */
    vsnprintf(text, sizeof text, fmt, ap);
    size_t len = strlen(text);
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        text[--len] = '\0';
    LOG_DEBUG("http", "libmicrohttpd", LOG_STR("detail", text));
}

/* "host:port" or "[v6]:port" -> socket address. Host names go through getaddrinfo. */
static rsp_status resolve_listen(const char *listen, struct sockaddr_storage *address,
                                 socklen_t *address_len, rsp_error *err)
{
    char host[256], port[16];
    const char *colon;
    if (listen[0] == '[') {
        const char *close = strchr(listen, ']');
        if (close == NULL || close[1] != ':' || (size_t)(close - listen - 1) >= sizeof host)
            return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "bad listen '%s'", listen);
        memcpy(host, listen + 1, (size_t)(close - listen - 1));
        host[close - listen - 1] = '\0';
        colon = close + 1;
    } else {
        colon = strrchr(listen, ':');
        if (colon == NULL || (size_t)(colon - listen) >= sizeof host)
            return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "listen '%s' needs host:port",
                                 listen);
        memcpy(host, listen, (size_t)(colon - listen));
        host[colon - listen] = '\0';
    }
    if (strlen(colon + 1) == 0 || strlen(colon + 1) >= sizeof port ||
        strspn(colon + 1, "0123456789") != strlen(colon + 1))
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "bad port in '%s'", listen);
    strcpy(port, colon + 1);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *found = NULL;
    int rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &found);
    if (rc != 0)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "cannot resolve '%s': %s", listen,
                             gai_strerror(rc));
    memcpy(address, found->ai_addr, found->ai_addrlen);
    *address_len = found->ai_addrlen;
    freeaddrinfo(found);
    return RSP_OK;
}

rsp_status http_server_start(http_server *server, rsp_error *err)
{
    if (server->daemon != NULL)
        return rsp_error_set(err, RSP_ERR_STATE, 0, 0, "server already started");
    struct sockaddr_storage address;
    socklen_t address_len = 0;
    rsp_status st = resolve_listen(server->listen, &address, &address_len, err);
    if (st != RSP_OK)
        return st;
    /* Measured with `rspkit bench http` (TLS, 0.5 and 30 KB answers): epoll with a pool costs
     * the same CPU per request as poll() or a thread per connection, and only epoll scales with
     * the connection count. No socket options are set here: libmicrohttpd 0.9.75 assumes
     * TCP_NODELAY and TCP_CORK off on every accepted socket whatever we set, and on TLS it pushes
     * each answer with one setsockopt(TCP_NODELAY) once a small answer has corked the socket;
     * that call is where the kernel transmits the queued segments, so it is not a spare cost. A
     * body given as one buffer is cheaper than a content-reader callback (one copy less). */
    unsigned flags = MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG | MHD_USE_TURBO;
    if (address.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (server->cert_pem != NULL)
        flags |= MHD_USE_TLS;

    struct MHD_OptionItem options[16];
    size_t n = 0;
    options[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &address};
    options[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT,
                                           (intptr_t)server->idle_timeout_s, NULL};
    options[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT,
                                           (intptr_t)server->max_connections, NULL};
    options[n++] =
        (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, server};
    options[n++] =
        (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, server};
    options[n++] =
        (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)on_library_message, server};
    if (server->threads > 1)
        options[n++] =
            (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)server->threads, NULL};
    if (server->cert_pem != NULL) {
        options[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, server->cert_pem};
        options[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, server->key_pem};
        options[n++] =
            (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, server->tls_priorities};
    }
    if (server->client_ca_pem != NULL)
        options[n++] =
            (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, server->client_ca_pem};
    options[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};

    atomic_store(&server->stopping, false);
    server->daemon = MHD_start_daemon(flags, 0, accept_policy, server, on_request, server,
                                      MHD_OPTION_ARRAY, options, MHD_OPTION_END);
    if (server->daemon == NULL)
        return rsp_error_set(err, RSP_ERR_IO, 0, 0,
                             "cannot start HTTP%s server on %s (address in use, bad "
                             "certificate or key?)",
                             server->cert_pem ? "S" : "", server->listen);
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(server->daemon, MHD_DAEMON_INFO_BIND_PORT);
    server->port = info ? info->port : 0;
    LOG_INFO("http", "server started", LOG_STR("server", server->name),
             LOG_STR("listen", server->listen), LOG_UINT("port", server->port),
             LOG_BOOL("tls", server->cert_pem != NULL), LOG_UINT("threads", server->threads));
    return RSP_OK;
}

uint16_t http_server_port(const http_server *server)
{
    return server->daemon != NULL ? server->port : 0;
}

void http_server_stop(http_server *server, unsigned grace_ms)
{
    if (server == NULL || server->daemon == NULL)
        return;
    atomic_store(&server->stopping, true); /* refuses new connections (accept_policy) */
    uint64_t deadline = monotonic_ns() + (uint64_t)grace_ms * 1000000u;
    while (atomic_load(&server->in_flight) > 0 && monotonic_ns() < deadline) {
        struct timespec pause = {0, 2 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    int64_t abandoned = atomic_load(&server->in_flight);
    MHD_stop_daemon(server->daemon); /* closes the listening socket */
    server->daemon = NULL;
    LOG_INFO("http", "server stopped", LOG_STR("server", server->name),
             LOG_INT("abandoned_requests", abandoned));
}

void http_server_free(http_server *server)
{
    if (server == NULL)
        return;
    http_server_stop(server, 0);
    for (size_t i = 0; i < server->route_count; i++) {
        free(server->routes[i].method);
        free(server->routes[i].path);
    }
    free(server->name);
    free(server->listen);
    free(server->cert_pem);
    free(server->key_pem);
    free(server->client_ca_pem);
    free(server->tls_priorities);
    free(server);
}
