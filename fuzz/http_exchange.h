/* The client side of the front-door fuzzers (fuzz_smdp_http.c, fuzz_eim_http.c): one kept-alive
 * plain HTTP/1.1 connection to a server in the fuzzer's own process, one request at a time, the
 * answer's status and body read back. Static inline so that each fuzzer includes only what it
 * uses. */
#ifndef RSPKIT_FUZZ_HTTP_EXCHANGE_H
#define RSPKIT_FUZZ_HTTP_EXCHANGE_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "net/http_client.h"

#define FUZZ_HTTP_ANSWER_LIMIT (4u << 20)

typedef struct {
    const char *name; /* the fuzzer, for messages */
    uint16_t port;
    int fd;
    uint8_t *answer; /* FUZZ_HTTP_ANSWER_LIMIT + 1 bytes: the last answer's body, NUL-ended */
    size_t answer_len;
    int status;
} fuzz_http;

static inline void fuzz_http_die(const fuzz_http *http, const char *what, const char *detail)
{
    fprintf(stderr, "%s: %s%s%s\n", http->name, what, detail ? ": " : "", detail ? detail : "");
    abort();
}

static inline void fuzz_http_init(fuzz_http *http, const char *name, uint16_t port)
{
    *http = (fuzz_http){.name = name, .port = port, .fd = -1};
    http->answer = malloc(FUZZ_HTTP_ANSWER_LIMIT + 1);
    if (http->answer == NULL)
        fuzz_http_die(http, "answer buffer", NULL);
    signal(SIGPIPE, SIG_IGN); /* a connection the server closed early fails the write instead */
}

static inline void fuzz_http_disconnect(fuzz_http *http)
{
    if (http->fd >= 0)
        close(http->fd);
    http->fd = -1;
}

static inline void fuzz_http_free(fuzz_http *http)
{
    fuzz_http_disconnect(http);
    free(http->answer);
    http->answer = NULL;
}

static inline void fuzz_http_connect(fuzz_http *http)
{
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(http->port)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    http->fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    if (http->fd < 0 || setsockopt(http->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
        connect(http->fd, (struct sockaddr *)&address, sizeof address) != 0)
        fuzz_http_die(http, "the server no longer accepts connections", NULL);
}

static inline bool fuzz_http_send_all(fuzz_http *http, const struct iovec *parts, int count)
{
    struct iovec left[2];
    memcpy(left, parts, (size_t)count * sizeof *parts);
    int first = 0;
    while (first < count) {
        ssize_t sent = writev(http->fd, left + first, count - first);
        if (sent <= 0)
            return false;
        for (size_t done = (size_t)sent; done > 0 && first < count;) {
            size_t step = done < left[first].iov_len ? done : left[first].iov_len;
            left[first].iov_base = (uint8_t *)left[first].iov_base + step;
            left[first].iov_len -= step;
            done -= step;
            if (left[first].iov_len == 0)
                first++;
        }
    }
    return true;
}

/* One answer: status and body into http; false when the server closed the connection first.
 * *closes: the server announced it closes the connection after this answer. */
static inline bool fuzz_http_read_answer(fuzz_http *http, bool *closes)
{
    size_t have = 0, header_end = 0;
    long content_length = 0;
    char *text = (char *)http->answer;
    *closes = false;
    for (;;) {
        if (have == FUZZ_HTTP_ANSWER_LIMIT)
            fuzz_http_die(http, "answer larger than the limit", NULL);
        ssize_t got = read(http->fd, http->answer + have, FUZZ_HTTP_ANSWER_LIMIT - have);
        if (got <= 0)
            return false;
        have += (size_t)got;
        http->answer[have] = '\0';
        if (header_end == 0) {
            char *end = strstr(text, "\r\n\r\n");
            if (end == NULL)
                continue;
            header_end = (size_t)(end - text) + 4;
            if (sscanf(text, "HTTP/1.1 %d", &http->status) != 1)
                fuzz_http_die(http, "status line", text);
            char *length = strstr(text, "\r\nContent-Length:");
            content_length = length != NULL && length < end ? strtol(length + 17, NULL, 10) : 0;
            if (content_length < 0 || (size_t)content_length > FUZZ_HTTP_ANSWER_LIMIT)
                fuzz_http_die(http, "Content-Length", text);
            *closes = strstr(text, "\r\nConnection: close") != NULL;
        }
        if (have >= header_end + (size_t)content_length) {
            http->answer_len = (size_t)content_length;
            memmove(http->answer, http->answer + header_end, http->answer_len);
            http->answer[http->answer_len] = '\0';
            return true;
        }
    }
}

/* Sends head (the request line and headers, blank line included) and body, and reads the
 * answer into http; a connection the server had closed is opened again once. The server must
 * answer, and never with a 5xx. */
static inline void fuzz_http_exchange(fuzz_http *http, const char *head, size_t head_len,
                                      const uint8_t *body, size_t body_len)
{
    struct iovec parts[2] = {{(void *)head, head_len}, {(void *)body, body_len}};
    bool closes = false;
    for (int attempt = 0;; attempt++) {
        if (http->fd < 0)
            fuzz_http_connect(http);
        if (fuzz_http_send_all(http, parts, body_len > 0 ? 2 : 1) &&
            fuzz_http_read_answer(http, &closes))
            break;
        fuzz_http_disconnect(http);
        if (attempt == 1)
            fuzz_http_die(http, "no answer", head);
    }
    if (closes)
        fuzz_http_disconnect(http);
    if (http->status < 200 || http->status >= 500)
        fuzz_http_die(http, "a status outside 2xx-4xx", (const char *)http->answer);
}

/* The process set-up of a front-door fuzzer before its server starts: a private folder made
 * from dir (a mkdtemp template), and stop registered to run at exit. stop must end with
 * OPENSSL_cleanup(): left to its own exit handler, OpenSSL could be cleaned up before the
 * server stops and leave the server threads' random generators behind, which LeakSanitizer
 * reports. libcurl's global set-up (with OpenSSL's per-thread error state) runs here, not in
 * a server thread, where libFuzzer's leak check between inputs would not see what keeps it. */
static inline bool fuzz_http_prepare_process(char *dir, void (*stop)(void))
{
    if (mkdtemp(dir) == NULL)
        return false;
    OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
    atexit(stop);
    http_client_config client_config = {0};
    http_client_free(http_client_new(&client_config, NULL));
    return true;
}

static inline void fuzz_http_remove_folder(const char *dir)
{
    char command[160];
    if (dir[0] == '\0')
        return;
    snprintf(command, sizeof command, "rm -rf '%s'", dir);
    if (system(command) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

/* The answer as JSON (NULL when it is not JSON); the caller decrefs. */
static inline json_t *fuzz_http_json(const fuzz_http *http)
{
    json_error_t error;
    return json_loadb((const char *)http->answer, http->answer_len, 0, &error);
}

#endif
