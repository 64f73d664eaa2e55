/* Minimal HTTPS/1.1 keep-alive benchmark client: see bench/tls_client.h. RFC 9112 message
 * framing, restricted to what a benchmark against our own servers needs. */
#define _POSIX_C_SOURCE 200809L
#include "bench/tls_client.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define INPUT_SIZE   16384 /* a response (headers and body) must fit */
#define OUTPUT_SIZE  4096  /* request headers, and the body when it fits after them */
#define IO_TIMEOUT_S 10    /* a stalled server fails the benchmark instead of hanging it */

struct bench_tls_client {
    SSL_CTX *ctx;
    SSL *ssl;
    int fd;
    bool broken;   /* a failed call leaves the connection in an unknown state */
    bool awaiting; /* a request is sent and its response not yet read */
    char host_port[280];
    /* the request headers of the previous call, reused while path, type and length repeat */
    char last_path[256];
    char last_content_type[128];
    size_t last_body_len;
    size_t header_len;
    uint8_t output[OUTPUT_SIZE];
    uint8_t input[INPUT_SIZE];
    char error[256];
};

static void fail(bench_tls_client *client, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(client->error, sizeof client->error, format, args);
    va_end(args);
    unsigned long code = ERR_get_error();
    if (code != 0) {
        size_t used = strlen(client->error);
        char text[160];
        ERR_error_string_n(code, text, sizeof text);
        snprintf(client->error + used, sizeof client->error - used, " (%s)", text);
    }
    ERR_clear_error();
    client->broken = true;
}

static int open_socket(bench_tls_client *client, const char *host, unsigned port)
{
    char service[8];
    snprintf(service, sizeof service, "%u", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *list = NULL;
    int rc = getaddrinfo(host, service, &hints, &list);
    if (rc != 0) {
        fail(client, "resolve %s: %s", host, gai_strerror(rc));
        return -1;
    }
    for (struct addrinfo *a = list; a != NULL && client->fd < 0; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
            client->fd = fd;
        else
            close(fd);
    }
    freeaddrinfo(list);
    if (client->fd < 0) {
        fail(client, "connect %s:%u refused or unreachable", host, port);
        return -1;
    }
    /* requests are single small writes: do not let Nagle hold them back */
    int one = 1;
    struct timeval timeout = {.tv_sec = IO_TIMEOUT_S};
    setsockopt(client->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(client->fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    setsockopt(client->fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    return 0;
}

/* The peer is checked as libcurl checks it: chain to the CA, then the host against the
 * certificate's DNS names, or its IP addresses when host is an address literal. */
static int start_tls(bench_tls_client *client, const char *host, const char *ca_file)
{
    client->ctx = SSL_CTX_new(TLS_client_method());
    if (client->ctx == NULL || SSL_CTX_set_min_proto_version(client->ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_load_verify_locations(client->ctx, ca_file, NULL) != 1) {
        fail(client, "TLS context with CA %s", ca_file);
        return -1;
    }
    SSL_CTX_set_verify(client->ctx, SSL_VERIFY_PEER, NULL);
    /* read whole socket buffers, not each record's 5-byte header then its body: a response is
     * two records (headers, body), four read calls without read-ahead, one or two with it */
    SSL_CTX_set_read_ahead(client->ctx, 1);
    client->ssl = SSL_new(client->ctx);
    if (client->ssl == NULL || SSL_set_fd(client->ssl, client->fd) != 1) {
        fail(client, "TLS session");
        return -1;
    }
    unsigned char address[sizeof(struct in6_addr)];
    bool literal =
        inet_pton(AF_INET, host, address) == 1 || inet_pton(AF_INET6, host, address) == 1;
    int ok = literal
                 ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(client->ssl), host)
                 : SSL_set1_host(client->ssl, host) && SSL_set_tlsext_host_name(client->ssl, host);
    if (ok != 1) {
        fail(client, "TLS host check for %s", host);
        return -1;
    }
    if (SSL_connect(client->ssl) != 1) {
        long verify = SSL_get_verify_result(client->ssl);
        fail(client, "TLS handshake with %s: %s", host,
             verify == X509_V_OK ? "failed" : X509_verify_cert_error_string(verify));
        return -1;
    }
    return 0;
}

bench_tls_client *bench_tls_client_connect(const char *host, unsigned port, const char *ca_file,
                                           char *error, size_t error_size)
{
    bench_tls_client *client = calloc(1, sizeof *client);
    if (client == NULL) {
        snprintf(error, error_size, "out of memory");
        return NULL;
    }
    client->fd = -1;
    bool literal6 = strchr(host, ':') != NULL;
    snprintf(client->host_port, sizeof client->host_port, literal6 ? "[%s]:%u" : "%s:%u", host,
             port);
    if (open_socket(client, host, port) != 0 || start_tls(client, host, ca_file) != 0) {
        snprintf(error, error_size, "%s", client->error);
        bench_tls_client_free(client);
        return NULL;
    }
    client->broken = false;
    return client;
}

static int write_all(bench_tls_client *client, const uint8_t *data, size_t len)
{
    while (len > 0) {
        int chunk = len > (size_t)1 << 30 ? 1 << 30 : (int)len;
        int n = SSL_write(client->ssl, data, chunk);
        if (n <= 0) {
            fail(client, "TLS write failed (SSL error %d)", SSL_get_error(client->ssl, n));
            return -1;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

static int send_request(bench_tls_client *client, const char *path, const char *content_type,
                        const uint8_t *body, size_t body_len)
{
    if (client->header_len == 0 || body_len != client->last_body_len ||
        strcmp(path, client->last_path) != 0 ||
        strcmp(content_type, client->last_content_type) != 0) {
        int n = snprintf((char *)client->output, sizeof client->output,
                         "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: rspkit-bench\r\n"
                         "Accept: %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                         "X-Admin-Protocol: gsma/rsp/v2.5.0\r\n\r\n",
                         path, client->host_port, content_type, content_type, body_len);
        if (n < 0 || (size_t)n >= sizeof client->output ||
            strlen(path) >= sizeof client->last_path ||
            strlen(content_type) >= sizeof client->last_content_type) {
            fail(client, "request headers too long");
            return -1;
        }
        client->header_len = (size_t)n;
        client->last_body_len = body_len;
        strcpy(client->last_path, path);
        strcpy(client->last_content_type, content_type);
    }
    /* one TLS record for headers and body when they fit: one write, one server read */
    if (client->header_len + body_len <= sizeof client->output) {
        memcpy(client->output + client->header_len, body, body_len);
        return write_all(client, client->output, client->header_len + body_len);
    }
    if (write_all(client, client->output, client->header_len) != 0)
        return -1;
    return write_all(client, body, body_len);
}

static int read_more(bench_tls_client *client, size_t *have)
{
    if (*have == sizeof client->input) {
        fail(client, "response larger than %zu bytes", sizeof client->input);
        return -1;
    }
    int n = SSL_read(client->ssl, client->input + *have, (int)(sizeof client->input - *have));
    if (n <= 0) {
        int code = SSL_get_error(client->ssl, n);
        fail(client, "%s",
             code == SSL_ERROR_ZERO_RETURN ? "server closed the connection"
                                           : "TLS read failed or timed out");
        return -1;
    }
    *have += (size_t)n;
    return 0;
}

static bool header_is(const char *line, size_t len, const char *name, const char **value,
                      size_t *value_len)
{
    size_t name_len = strlen(name);
    if (len <= name_len || line[name_len] != ':' || strncasecmp(line, name, name_len) != 0)
        return false;
    size_t start = name_len + 1, end = len;
    while (start < end && (line[start] == ' ' || line[start] == '\t'))
        start++;
    while (end > start && (line[end - 1] == ' ' || line[end - 1] == '\t'))
        end--;
    *value = line + start;
    *value_len = end - start;
    return true;
}

/* Status line and the headers that frame the body; headers_end points after the blank line. */
static int parse_head(bench_tls_client *client, size_t headers_end, int *status,
                      size_t *content_length)
{
    const char *text = (const char *)client->input;
    if (headers_end < 14 || memcmp(text, "HTTP/1.1 ", 9) != 0 || text[12] != ' ' || text[9] < '1' ||
        text[9] > '5' || text[10] < '0' || text[10] > '9' || text[11] < '0' || text[11] > '9') {
        fail(client, "malformed HTTP/1.1 status line");
        return -1;
    }
    *status = (text[9] - '0') * 100 + (text[10] - '0') * 10 + (text[11] - '0');
    bool have_length = false;
    const char *line = (const char *)memchr(text, '\n', headers_end) + 1;
    const char *end = text + headers_end - 2; /* the blank line's CR LF */
    while (line < end) {
        const char *eol = memchr(line, '\n', (size_t)(end - line) + 1);
        if (eol == NULL) {
            fail(client, "header line not ended by CR LF");
            return -1;
        }
        size_t len = (size_t)(eol - line);
        if (len == 0 || line[len - 1] != '\r') {
            fail(client, "header line not ended by CR LF");
            return -1;
        }
        len--;
        const char *value = NULL;
        size_t value_len = 0;
        if (header_is(line, len, "Content-Length", &value, &value_len)) {
            size_t n = 0;
            for (size_t i = 0; i < value_len; i++) {
                if (value[i] < '0' || value[i] > '9' || n > sizeof client->input) {
                    fail(client, "bad Content-Length");
                    return -1;
                }
                n = n * 10 + (size_t)(value[i] - '0');
            }
            if (value_len == 0 || (have_length && n != *content_length)) {
                fail(client, "bad Content-Length");
                return -1;
            }
            have_length = true;
            *content_length = n;
        } else if (header_is(line, len, "Transfer-Encoding", &value, &value_len)) {
            fail(client, "Transfer-Encoding in the response (not supported here)");
            return -1;
        } else if (header_is(line, len, "Connection", &value, &value_len) && value_len >= 5 &&
                   strncasecmp(value, "close", 5) == 0) {
            fail(client, "server closes the kept-alive connection");
            return -1;
        }
        line = eol + 1;
    }
    if (*status < 200 || !have_length) {
        fail(client, *status < 200 ? "interim response" : "response without Content-Length");
        return -1;
    }
    return 0;
}

static const uint8_t *find_blank_line(const uint8_t *data, size_t len)
{
    for (size_t i = 3; i < len; i++) {
        if (data[i] == '\n' && data[i - 1] == '\r' && data[i - 2] == '\n' && data[i - 3] == '\r')
            return data + i + 1;
    }
    return NULL;
}

int bench_tls_client_send(bench_tls_client *client, const char *path, const char *content_type,
                          const uint8_t *body, size_t body_len)
{
    if (client->broken) {
        snprintf(client->error, sizeof client->error, "connection unusable after an error");
        return -1;
    }
    if (client->awaiting) {
        fail(client, "request sent before the previous response was read (no pipelining)");
        return -1;
    }
    if (send_request(client, path, content_type, body, body_len) != 0)
        return -1;
    client->awaiting = true;
    return 0;
}

int bench_tls_client_receive(bench_tls_client *client, bench_tls_response *response)
{
    *response = (bench_tls_response){0};
    if (client->broken || !client->awaiting) {
        fail(client, client->broken ? "connection unusable after an error"
                                    : "response awaited without a request");
        return -1;
    }
    client->awaiting = false;
    size_t have = 0;
    const uint8_t *body_start = NULL;
    while (body_start == NULL) {
        if (read_more(client, &have) != 0)
            return -1;
        body_start = find_blank_line(client->input, have);
    }
    size_t headers_end = (size_t)(body_start - client->input);
    size_t content_length = 0;
    if (parse_head(client, headers_end, &response->status, &content_length) != 0)
        return -1;
    if (content_length > sizeof client->input - headers_end) {
        fail(client, "response larger than %zu bytes", sizeof client->input);
        return -1;
    }
    while (have < headers_end + content_length) {
        if (read_more(client, &have) != 0)
            return -1;
    }
    if (have != headers_end + content_length) {
        fail(client, "bytes after the response body");
        return -1;
    }
    response->body = body_start;
    response->body_len = content_length;
    return 0;
}

int bench_tls_client_post(bench_tls_client *client, const char *path, const char *content_type,
                          const uint8_t *body, size_t body_len, bench_tls_response *response)
{
    *response = (bench_tls_response){0};
    if (bench_tls_client_send(client, path, content_type, body, body_len) != 0)
        return -1;
    return bench_tls_client_receive(client, response);
}

const char *bench_tls_client_error(const bench_tls_client *client)
{
    return client->error;
}

void bench_tls_client_free(bench_tls_client *client)
{
    if (client == NULL)
        return;
    if (client->ssl != NULL) {
        if (!client->broken)
            SSL_shutdown(client->ssl);
        SSL_free(client->ssl);
    }
    if (client->fd >= 0)
        close(client->fd);
    SSL_CTX_free(client->ctx);
    free(client);
}
