/* Fuzzes the SM-DP+'s HTTP front door: every ES9+ and ES2+ function of a real server (SQLite
 * store, the credentials of a fresh `rspkit pki init`, one TS.48 profile when ../shared has
 * them) receives hostile bodies and headers over a kept-alive loopback connection. The server
 * must answer each request, never with a 5xx, and an answer of 200 must be a JSON object
 * carrying header.functionExecutionStatus.status (SGP.22 v2.5 section 6.5.1.4). TLS is left
 * out so that the inputs reach the handlers unchanged.
 *
 * Input: byte 0 picks the function, byte 1 the header faults (bit 0 wrong Content-Type, bit 1
 * no X-Admin-Protocol, bit 2 no API key), the rest is the body. */
#include <arpa/inet.h>
#include <signal.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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

#include "crypto/pki_generate.h"
#include "net/http_client.h"
#include "smdp/inventory.h"
#include "smdp/server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define API_KEY      "fuzz-operator-key"
#define ANSWER_LIMIT (4u << 20)

static const char *const paths[] = {
    "/gsma/rsp2/es9plus/initiateAuthentication", "/gsma/rsp2/es9plus/authenticateClient",
    "/gsma/rsp2/es9plus/getBoundProfilePackage", "/gsma/rsp2/es9plus/handleNotification",
    "/gsma/rsp2/es9plus/cancelSession",          "/gsma/rsp2/es2plus/downloadOrder",
    "/gsma/rsp2/es2plus/confirmOrder",           "/gsma/rsp2/es2plus/cancelOrder",
    "/gsma/rsp2/es2plus/releaseProfile",
};

static struct {
    char dir[64];
    smdp_server *server;
    uint16_t port;
    int fd;
    uint8_t *answer;
} harness = {.fd = -1};

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_smdp_http: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

static void stop_harness(void)
{

    if (harness.server != NULL) {
        smdp_server_stop(harness.server, 0);
        smdp_server_free(harness.server);
        harness.server = NULL;
    }
    if (harness.dir[0] != '\0') {
        char command[128];
        snprintf(command, sizeof command, "rm -rf '%s'", harness.dir);
        if (system(command) != 0)
            fprintf(stderr, "fuzz_smdp_http: cannot remove %s\n", harness.dir);
    }
    free(harness.answer);
    OPENSSL_cleanup();
}

/* One TS.48 package in the inventory, so that ES2+ calls naming its ICCID go deeper. */
static void import_profile(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/testdata/ts48/NoBERTLV.der", RSPKIT_SHARED_DIR);
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        fprintf(stderr, "fuzz_smdp_http: no TS.48 profile under %s: ES2+ finds none\n",
                RSPKIT_SHARED_DIR);
        return;
    }
    uint8_t *package = malloc(1 << 20);
    size_t len = package != NULL ? fread(package, 1, 1 << 20, file) : 0;
    fclose(file);
    char iccid[SMDP_ICCID_SIZE];
    rsp_error err = {0};
    if (len > 0 && smdp_inventory_import(smdp_server_inventory(harness.server), "op", package, len,
                                         iccid, &err) != RSP_OK)
        die("profile import", err.message);
    free(package);
}

static void start_server(void)
{
    char pki[96], database[128];
    snprintf(harness.dir, sizeof harness.dir, "/tmp/rspkit-fuzz-smdp-XXXXXX");
    if (mkdtemp(harness.dir) == NULL)
        die("mkdtemp", NULL);
    /* OpenSSL is cleaned up by stop_harness, after the server: cleaned up at exit by itself,
     * it could go first and leave the threads' random generators behind, which LeakSanitizer
     * then reports. */
    OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
    atexit(stop_harness);
    signal(SIGPIPE, SIG_IGN); /* a connection the server closed early fails the write instead */
    /* libcurl's global set-up (OpenSSL's per-thread error state with it) in this thread, not in
     * the server's callback sender, where libFuzzer's leak check between inputs would not see
     * what keeps it. */
    http_client_config client_config = {0};
    http_client_free(http_client_new(&client_config, NULL));
    snprintf(pki, sizeof pki, "%s/pki", harness.dir);
    snprintf(database, sizeof database, "sqlite:%s/smdp.db", harness.dir);
    rsp_error err = {0};
    rsp_pki_options options = {.curves = RSP_PKI_CURVE_NIST, .euicc_count = 1};
    if (rsp_pki_init(pki, &options, &err) != RSP_OK)
        die("pki init", err.message);
    smdp_config config;
    smdp_config_init(&config);
    snprintf(config.listen, sizeof config.listen, "127.0.0.1:0");
    snprintf(config.database, sizeof config.database, "%s", database);
    snprintf(config.log_level, sizeof config.log_level, "error");
    /* Relaxed commits: the inputs do not need a sync each to be meaningful. */
    snprintf(config.sqlite_synchronous, sizeof config.sqlite_synchronous, "normal");
    if (smdp_config_use_pki(&config, pki, &err) != RSP_OK ||
        smdp_config_add_operator(&config, "op", API_KEY, NULL, NULL, &err) != RSP_OK)
        die("configuration", err.message);
    config.tls_certificate[0] = '\0';
    config.tls_key[0] = '\0';
    harness.server = smdp_server_new(&config, &err);
    if (harness.server == NULL || smdp_server_start(harness.server, &err) != RSP_OK)
        die("server start", err.message);
    harness.port = smdp_server_port(harness.server);
    harness.answer = malloc(ANSWER_LIMIT + 1);
    if (harness.answer == NULL)
        die("answer buffer", NULL);
    import_profile();
}

static void connect_server(void)
{
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(harness.port)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    harness.fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    if (harness.fd < 0 || setsockopt(harness.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
        connect(harness.fd, (struct sockaddr *)&address, sizeof address) != 0)
        die("the server no longer accepts connections", NULL);
}

static void disconnect(void)
{
    if (harness.fd >= 0)
        close(harness.fd);
    harness.fd = -1;
}

static bool send_all(const struct iovec *parts, int count)
{
    struct iovec left[2];
    memcpy(left, parts, (size_t)count * sizeof *parts);
    int first = 0;
    while (first < count) {
        ssize_t sent = writev(harness.fd, left + first, count - first);
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

/* Reads one answer: its status, and its body into harness.answer. false when the server
 * closed the connection before a complete answer. */
static bool read_answer(int *status, size_t *body_len, bool *closes)
{
    size_t have = 0, header_end = 0;
    long content_length = -1;
    *closes = false;
    for (;;) {
        if (have == ANSWER_LIMIT)
            die("answer larger than the limit", NULL);
        ssize_t got = read(harness.fd, harness.answer + have, ANSWER_LIMIT - have);
        if (got <= 0)
            return false;
        have += (size_t)got;
        harness.answer[have] = '\0';
        if (header_end == 0) {
            char *end = strstr((char *)harness.answer, "\r\n\r\n");
            if (end == NULL)
                continue;
            header_end = (size_t)(end - (char *)harness.answer) + 4;
            if (sscanf((char *)harness.answer, "HTTP/1.1 %d", status) != 1)
                die("status line", (char *)harness.answer);
            char *length = strstr((char *)harness.answer, "\r\nContent-Length:");
            content_length = length != NULL && length < end ? strtol(length + 17, NULL, 10) : 0;
            *closes = strstr((char *)harness.answer, "\r\nConnection: close") != NULL;
        }
        if (have >= header_end + (size_t)content_length) {
            *body_len = (size_t)content_length;
            memmove(harness.answer, harness.answer + header_end, *body_len);
            harness.answer[*body_len] = '\0';
            return true;
        }
    }
}

/* SGP.22 v2.5 section 6.5.1.4: every JSON answer carries the function's execution status. */
static void check_json_answer(size_t len)
{
    json_error_t error;
    json_t *root = json_loadb((const char *)harness.answer, len, 0, &error);
    json_t *status = json_object_get(
        json_object_get(json_object_get(root, "header"), "functionExecutionStatus"), "status");
    if (!json_is_string(status))
        die("an answer of 200 without header.functionExecutionStatus.status",
            (const char *)harness.answer);
    json_decref(root);
}

static void exchange(const char *path, uint8_t faults, const uint8_t *body, size_t body_len)
{
    char head[512];
    int head_len = snprintf(head, sizeof head,
                            "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: %s\r\n%s%s"
                            "Content-Length: %zu\r\n\r\n",
                            path, faults & 1 ? "text/plain" : "application/json",
                            faults & 2 ? "" : "X-Admin-Protocol: gsma/rsp/v2.5.0\r\n",
                            faults & 4 ? "" : "X-API-Key: " API_KEY "\r\n", body_len);
    struct iovec parts[2] = {{head, (size_t)head_len}, {(void *)body, body_len}};
    int status = 0;
    size_t answer_len = 0;
    bool closes = false;
    for (int attempt = 0;; attempt++) {
        if (harness.fd < 0)
            connect_server();
        if (send_all(parts, body_len > 0 ? 2 : 1) && read_answer(&status, &answer_len, &closes))
            break;
        /* A kept-alive connection the server had already closed: once more on a new one. */
        disconnect();
        if (attempt == 1)
            die("no answer", path);
    }
    if (closes)
        disconnect();
    if (status < 200 || status >= 500)
        die("a status outside 2xx-4xx", (const char *)harness.answer);
    if (status == 200)
        check_json_answer(answer_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (harness.server == NULL)
        start_server();
    if (size < 2)
        return 0;
    exchange(paths[data[0] % (sizeof paths / sizeof paths[0])], data[1], data + 2, size - 2);
    return 0;
}
