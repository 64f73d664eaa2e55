/* HTTP server and client over loopback HTTPS with a PKI generated per run: routing, status
 * codes, keep-alive reuse, body limits, failing handlers, concurrency, trust (CA, pin, client
 * certificates), error classes and graceful shutdown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "core/log.h"
#include "net/dev_pki.h"
#include "net/http_client.h"
#include "net/http_server.h"

#define MAX_BODY 4096

static char temp_dir[64];
static char other_dir[64];
static dev_pki pki;       /* the servers' PKI */
static dev_pki other_pki; /* an unrelated PKI: wrong CA, wrong pin, foreign client cert */
static http_server *server;
static char base_url[64];

static void sleep_ms(unsigned ms)
{
    struct timespec pause = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&pause, NULL);
}

/* X-Test-Marker and Content-Type as the handler saw them, in X-Test-Seen and X-Test-Content-Type.
 * Request headers are case-insensitive; reply headers are copied before return. */
static void reflect_request_headers(const http_request *request, http_reply *reply)
{
    const char *marker = http_request_header(request, "x-test-marker");
    if (marker != NULL)
        http_reply_add_header(reply, "X-Test-Seen", marker);
    const char *type = http_request_header(request, "content-type");
    if (type != NULL)
        http_reply_add_header(reply, "X-Test-Content-Type", type);
}

static int echo_handler(const http_request *request, http_reply *reply, void *user)
{
    (void)user;
    if (http_reply_copy(reply, 200, "application/octet-stream", request->body, request->body_len) !=
        RSP_OK)
        return -1;
    reflect_request_headers(request, reply);
    return 0;
}

static int failing_handler(const http_request *request, http_reply *reply, void *user)
{
    (void)request;
    (void)user;
    /* Fails after starting a reply: the server must drop it (and free the body). */
    http_reply_copy(reply, 200, "text/plain", "partial", 7);
    return -1;
}

static int prefix_handler(const http_request *request, http_reply *reply, void *user)
{
    (void)user;
    if (http_reply_copy(reply, 200, "text/plain", request->path, strlen(request->path)) != RSP_OK)
        return -1;
    reflect_request_headers(request, reply);
    return 0;
}

static atomic_int slow_entered; /* handlers of /slow entered so far */

static int slow_handler(const http_request *request, http_reply *reply, void *user)
{
    (void)request;
    atomic_fetch_add(&slow_entered, 1);
    unsigned ms = user != NULL ? *(const unsigned *)user : 300;
    sleep_ms(ms);
    http_reply_borrowed(reply, 200, "text/plain", "slow", 4);
    return 0;
}

static int cert_handler(const http_request *request, http_reply *reply, void *user)
{
    (void)user;
    char text[64];
    int n = snprintf(text, sizeof text, "%d %zu", (int)request->client_cert_status,
                     request->client_cert_len);
    if (request->client_cert_status == HTTP_CLIENT_CERT_VERIFIED &&
        (request->client_cert_der == NULL || request->client_cert_der[0] != 0x30))
        return -1;
    return http_reply_copy(reply, 200, "text/plain", text, (size_t)n) == RSP_OK ? 0 : -1;
}

static http_server *start_server(const http_server_config *config)
{
    rsp_error err;
    rsp_error_clear(&err);
    http_server *s = http_server_new(config, &err);
    assert_non_null(s);
    assert_int_equal(http_server_route(s, "POST", "/echo", false, echo_handler, NULL, &err),
                     RSP_OK);
    assert_int_equal(http_server_route(s, "POST", "/fail", false, failing_handler, NULL, &err),
                     RSP_OK);
    assert_int_equal(http_server_route(s, NULL, "/api/", true, prefix_handler, NULL, &err), RSP_OK);
    assert_int_equal(http_server_route(s, "GET", "/slow", false, slow_handler, NULL, &err), RSP_OK);
    assert_int_equal(http_server_route(s, "GET", "/cert", false, cert_handler, NULL, &err), RSP_OK);
    assert_int_equal(http_server_add_health_route(s, "/health", NULL, NULL, &err), RSP_OK);
    assert_int_equal(http_server_add_metrics_route(s, "/metrics", NULL, &err), RSP_OK);
    if (http_server_start(s, &err) != RSP_OK) {
        char text[256];
        fail_msg("server start: %s", rsp_error_format(&err, text, sizeof text));
    }
    assert_true(http_server_port(s) != 0);
    return s;
}

static int setup_group(void **state)
{
    (void)state;
    rsp_error err;
    rsp_error_clear(&err);
    log_set_level(LOG_LEVEL_WARN);
    strcpy(temp_dir, "/tmp/rspkit-net-XXXXXX");
    strcpy(other_dir, "/tmp/rspkit-net-XXXXXX");
    if (mkdtemp(temp_dir) == NULL || mkdtemp(other_dir) == NULL)
        return -1;
    if (dev_pki_create(temp_dir, "localhost", &pki, &err) != RSP_OK ||
        dev_pki_create(other_dir, "localhost", &other_pki, &err) != RSP_OK)
        return -1;
    http_server_config config = {.name = "test",
                                 .listen = "127.0.0.1:0",
                                 .cert_file = pki.server_cert,
                                 .key_file = pki.server_key,
                                 .threads = 2,
                                 .max_body = MAX_BODY};
    server = start_server(&config);
    snprintf(base_url, sizeof base_url, "https://127.0.0.1:%u", http_server_port(server));
    return 0;
}

static int teardown_group(void **state)
{
    (void)state;
    http_server_free(server);
    dev_pki_remove(&pki);
    dev_pki_remove(&other_pki);
    rmdir(temp_dir);
    rmdir(other_dir);
    return 0;
}

static http_client *new_client(const char *ca_file, const char *pin)
{
    rsp_error err;
    rsp_error_clear(&err);
    http_client_config config = {.ca_file = ca_file,
                                 .pinned_public_key = pin,
                                 .connect_timeout_ms = 3000,
                                 .total_timeout_ms = 10000};
    http_client *client = http_client_new(&config, &err);
    assert_non_null(client);
    return client;
}

/* POST to base_url + path; returns the HTTP status (0 on transport failure). */
static long post(http_client *client, const char *base, const char *path, const void *body,
                 size_t len, http_response *response)
{
    char url[160];
    rsp_error err;
    rsp_error_clear(&err);
    snprintf(url, sizeof url, "%s%s", base, path);
    if (http_client_post(client, url, "application/octet-stream", body, len, NULL, response,
                         &err) != RSP_OK)
        return 0;
    return response->status;
}

static long get(http_client *client, const char *base, const char *path, http_response *response)
{
    char url[160];
    rsp_error err;
    rsp_error_clear(&err);
    snprintf(url, sizeof url, "%s%s", base, path);
    if (http_client_get(client, url, NULL, response, &err) != RSP_OK)
        return 0;
    return response->status;
}

/* Writes the SubjectPublicKeyInfo of the certificate in cert_path as DER next to it. */
static void write_public_key_der(const char *cert_path, char *out, size_t size)
{
    FILE *file = fopen(cert_path, "r");
    assert_non_null(file);
    X509 *cert = PEM_read_X509(file, NULL, NULL, NULL);
    fclose(file);
    assert_non_null(cert);
    snprintf(out, size, "%s.spki", cert_path);
    file = fopen(out, "wb");
    assert_non_null(file);
    assert_int_equal(i2d_PUBKEY_fp(file, X509_get0_pubkey(cert)), 1);
    fclose(file);
    X509_free(cert);
}

static void test_post_over_https(void **state)
{
    (void)state;
    http_client *client = new_client(pki.ca_cert, NULL);
    http_response response;
    assert_int_equal(post(client, base_url, "/echo", "hello", 5, &response), 200);
    assert_int_equal(response.body_len, 5);
    assert_memory_equal(response.body, "hello", 5);
    assert_string_equal(response.content_type, "application/octet-stream");
    http_response_free(&response);

    /* Empty body: no buffer at all. */
    assert_int_equal(post(client, base_url, "/echo", NULL, 0, &response), 200);
    assert_int_equal(response.body_len, 0);
    assert_null(response.body);
    http_response_free(&response);

    /* Request headers reach the handler, reply headers reach the client side. */
    const char *headers[] = {"X-Test-Marker: yes", NULL};
    rsp_error err;
    rsp_error_clear(&err);
    char url[160];
    snprintf(url, sizeof url, "%s/echo", base_url);
    assert_int_equal(http_client_post(client, url, "text/plain", "x", 1, headers, &response, &err),
                     RSP_OK);
    assert_int_equal(response.status, 200);
    char value[32];
    assert_true(http_response_header(&response, "x-test-seen", value, sizeof value));
    assert_string_equal(value, "yes");
    assert_true(http_response_header(&response, "Content-Type", value, sizeof value));
    assert_string_equal(value, "application/octet-stream");
    assert_false(http_response_header(&response, "X-Absent", value, sizeof value));
    assert_false(http_response_header(&response, "X-Test-Seen", value, 3)); /* too small */
    http_response_free(&response);
    http_client_free(client);
}

/* One call of the header-list test: POST (or GET when content_type is NULL) with `headers`, and
 * what the handler saw of X-Test-Marker and Content-Type ("-" for absent). */
static void check_request_headers(http_client *client, const char *content_type,
                                  const char *const *headers, const char *marker_seen,
                                  const char *type_seen)
{
    char url[160], value[64];
    rsp_error err;
    rsp_error_clear(&err);
    http_response response;
    snprintf(url, sizeof url, "%s/api/headers", base_url);
    rsp_status st = content_type != NULL ? http_client_post(client, url, content_type, "body", 4,
                                                            headers, &response, &err)
                                         : http_client_get(client, url, headers, &response, &err);
    assert_int_equal(st, RSP_OK);
    assert_int_equal(response.status, 200);
    if (!http_response_header(&response, "X-Test-Seen", value, sizeof value))
        strcpy(value, "-");
    assert_string_equal(value, marker_seen);
    if (!http_response_header(&response, "X-Test-Content-Type", value, sizeof value))
        strcpy(value, "-");
    assert_string_equal(value, type_seen);
    http_response_free(&response);
}

/* The client keeps the header lines of the last call: each call must still send exactly its own
 * (same lines again, other values, fewer, none, another content type, a GET after a POST). */
static void test_request_headers_follow_each_call(void **state)
{
    (void)state;
    http_client *client = new_client(pki.ca_cert, NULL);
    const char *one[] = {"X-Test-Marker: one", NULL};
    const char *two[] = {"X-Test-Marker: two", "X-Other: 1", NULL};
    const char *none[] = {NULL};
    check_request_headers(client, "text/plain", one, "one", "text/plain");
    check_request_headers(client, "text/plain", one, "one", "text/plain");
    check_request_headers(client, "text/plain", two, "two", "text/plain");
    check_request_headers(client, "text/plain", one, "one", "text/plain");
    check_request_headers(client, "text/plain", none, "-", "text/plain");
    check_request_headers(client, "text/plain", NULL, "-", "text/plain");
    check_request_headers(client, "application/json", one, "one", "application/json");
    check_request_headers(client, "application/json", one, "one", "application/json");
    check_request_headers(client, NULL, one, "one", "-");
    check_request_headers(client, NULL, none, "-", "-");
    check_request_headers(client, "text/plain", one, "one", "text/plain");
    http_client_free(client);
}

static void test_keep_alive_reuses_one_connection(void **state)
{
    (void)state;
    http_client *client = new_client(pki.ca_cert, NULL);
    uint64_t before = http_server_connections_total(server);
    long opened = 0;
    for (int i = 0; i < 100; i++) {
        http_response response;
        char body[32];
        int n = snprintf(body, sizeof body, "request %d", i);
        assert_int_equal(post(client, base_url, "/echo", body, (size_t)n, &response), 200);
        assert_int_equal(response.body_len, (size_t)n);
        assert_memory_equal(response.body, body, (size_t)n);
        if (i == 0)
            assert_int_equal(response.new_connections, 1);
        opened += response.new_connections;
        http_response_free(&response);
    }
    assert_int_equal(opened, 1);
    assert_int_equal(http_server_connections_total(server) - before, 1);
    http_client_free(client);
}

/* Bodies arrive intact whether their length is declared (the buffer is sized from it) or only
 * known while reading (chunked: the buffer grows), one after the other on one connection. */
static void test_bodies_declared_and_chunked(void **state)
{
    (void)state;
    http_client *client = new_client(pki.ca_cert, NULL);
    uint8_t *body = malloc(MAX_BODY);
    assert_non_null(body);
    for (size_t i = 0; i < MAX_BODY; i++)
        body[i] = (uint8_t)(i * 31 + 7);
    const char *chunked[] = {"Transfer-Encoding: chunked", NULL};
    const size_t lengths[] = {MAX_BODY, 10, 3000, MAX_BODY, 1};
    char url[160];
    snprintf(url, sizeof url, "%s/echo", base_url);
    for (size_t round = 0; round < 2 * (sizeof lengths / sizeof lengths[0]); round++) {
        size_t len = lengths[round % (sizeof lengths / sizeof lengths[0])];
        const char *const *headers = round % 2 ? chunked : NULL;
        http_response response;
        rsp_error err;
        rsp_error_clear(&err);
        assert_int_equal(http_client_post(client, url, "application/octet-stream", body, len,
                                          headers, &response, &err),
                         RSP_OK);
        assert_int_equal(response.status, 200);
        assert_int_equal(response.body_len, len);
        assert_memory_equal(response.body, body, len);
        http_response_free(&response);
    }
    free(body);
    http_client_free(client);
}

static void test_oversized_body_gets_413(void **state)
{
    (void)state;
    http_client *client = new_client(pki.ca_cert, NULL);
    size_t big_len = MAX_BODY + 1;
    char *big = calloc(1, 3 * MAX_BODY);
    assert_non_null(big);
    http_response response;
    /* Declared with Content-Length: refused before the body is read. */
    assert_int_equal(post(client, base_url, "/echo", big, big_len, &response), 413);
    http_response_free(&response);
    /* Exactly the limit is fine. */
    assert_int_equal(post(client, base_url, "/echo", big, MAX_BODY, &response), 200);
    assert_int_equal(response.body_len, MAX_BODY);
    http_response_free(&response);

    /* Chunked, so the size is only known while reading: drained, 413, connection kept. */
    const char *chunked[] = {"Transfer-Encoding: chunked", NULL};
    char url[160];
    rsp_error err;
    rsp_error_clear(&err);
    snprintf(url, sizeof url, "%s/echo", base_url);
    assert_int_equal(http_client_post(client, url, "application/octet-stream", big, 3 * MAX_BODY,
                                      chunked, &response, &err),
                     RSP_OK);
    assert_int_equal(response.status, 413);
    http_response_free(&response);
    free(big);

    /* The server keeps serving. */
    assert_int_equal(post(client, base_url, "/echo", "ok", 2, &response), 200);
    http_response_free(&response);
    http_client_free(client);
}

static void test_routing_statuses(void **state)
{
    (void)state;
    http_client *client = new_client(pki.ca_cert, NULL);
    http_response response;
    assert_int_equal(post(client, base_url, "/nowhere", "x", 1, &response), 404);
    http_response_free(&response);
    assert_int_equal(get(client, base_url, "/echo", &response), 405);
    char allow[32];
    assert_true(http_response_header(&response, "Allow", allow, sizeof allow));
    assert_string_equal(allow, "POST");
    http_response_free(&response);
    /* Exact routes do not match longer paths. */
    assert_int_equal(post(client, base_url, "/echo/more", "x", 1, &response), 404);
    http_response_free(&response);
    /* Prefix route, any method. */
    assert_int_equal(get(client, base_url, "/api/v1/things?x=1", &response), 200);
    assert_int_equal(response.body_len, strlen("/api/v1/things"));
    assert_memory_equal(response.body, "/api/v1/things", response.body_len);
    http_response_free(&response);
    assert_int_equal(post(client, base_url, "/api/x", "y", 1, &response), 200);
    http_response_free(&response);
    assert_int_equal(get(client, base_url, "/health", &response), 200);
    assert_int_equal(response.body_len, strlen("{\"status\":\"UP\"}"));
    assert_memory_equal(response.body, "{\"status\":\"UP\"}", response.body_len);
    http_response_free(&response);
    http_client_free(client);
}

static void test_failing_handler_gets_500(void **state)
{
    (void)state;
    http_client *client = new_client(pki.ca_cert, NULL);
    http_response response;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(post(client, base_url, "/fail", "x", 1, &response), 500);
        http_response_free(&response);
    }
    assert_int_equal(post(client, base_url, "/echo", "alive", 5, &response), 200);
    http_response_free(&response);
    http_client_free(client);
}

typedef struct {
    int index;
    int failures;
} worker_result;

static void *concurrent_worker(void *context)
{
    worker_result *result = context;
    rsp_error err;
    rsp_error_clear(&err);
    http_client_config config = {.ca_file = pki.ca_cert};
    http_client *client = http_client_new(&config, &err);
    if (client == NULL) {
        result->failures = 1000;
        return NULL;
    }
    for (int i = 0; i < 100; i++) {
        char body[48];
        int n = snprintf(body, sizeof body, "worker %d request %d", result->index, i);
        http_response response;
        if (post(client, base_url, "/echo", body, (size_t)n, &response) != 200 ||
            response.body_len != (size_t)n || memcmp(response.body, body, (size_t)n) != 0)
            result->failures++;
        http_response_free(&response);
    }
    http_client_free(client);
    return NULL;
}

static void test_concurrent_clients(void **state)
{
    (void)state;
    enum { WORKERS = 6 };
    pthread_t threads[WORKERS];
    worker_result results[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        results[i] = (worker_result){i, 0};
        assert_int_equal(pthread_create(&threads[i], NULL, concurrent_worker, &results[i]), 0);
    }
    for (int i = 0; i < WORKERS; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(results[i].failures, 0);
    }
}

static void test_public_key_pinning(void **state)
{
    (void)state;
    http_response response;
    rsp_error err;
    /* The right pin alone is enough (no CA file). */
    http_client *client = new_client(NULL, pki.server_pin);
    assert_int_equal(post(client, base_url, "/echo", "pin", 3, &response), 200);
    http_response_free(&response);
    http_client_free(client);

    /* A wrong pin fails as a TLS error, even with a CA that would verify the chain. */
    client = new_client(pki.ca_cert, other_pki.server_pin);
    char url[160];
    snprintf(url, sizeof url, "%s/echo", base_url);
    rsp_error_clear(&err);
    assert_int_equal(http_client_post(client, url, "text/plain", "x", 1, NULL, &response, &err),
                     RSP_ERR_IO);
    assert_int_equal(response.error, HTTP_CLIENT_ERR_TLS);
    assert_int_equal(response.status, 0);
    http_client_free(client);

    /* Pinning by a DER public key file. */
    char right_key[DEV_PKI_PATH_MAX + 8], wrong_key[DEV_PKI_PATH_MAX + 8];
    write_public_key_der(pki.server_cert, right_key, sizeof right_key);
    write_public_key_der(other_pki.server_cert, wrong_key, sizeof wrong_key);
    client = new_client(NULL, right_key);
    assert_int_equal(post(client, base_url, "/echo", "pin", 3, &response), 200);
    http_response_free(&response);
    http_client_free(client);
    client = new_client(NULL, wrong_key);
    assert_int_equal(post(client, base_url, "/echo", "pin", 3, &response), 0);
    assert_int_equal(response.error, HTTP_CLIENT_ERR_TLS);
    http_client_free(client);
    unlink(right_key);
    unlink(wrong_key);
}

static void test_host_name_verification_and_resolve(void **state)
{
    (void)state;
    rsp_error err;
    char dir[] = "/tmp/rspkit-net-name-XXXXXX";
    dev_pki named;
    assert_non_null(mkdtemp(dir));
    rsp_error_clear(&err);
    assert_int_equal(dev_pki_create(dir, "smdp.example.com", &named, &err), RSP_OK);
    http_server_config config = {.name = "named",
                                 .listen = "127.0.0.1:0",
                                 .cert_file = named.server_cert,
                                 .key_file = named.server_key};
    http_server *s = start_server(&config);
    unsigned port = http_server_port(s);
    char entry[64], url[96];
    snprintf(entry, sizeof entry, "smdp.example.com:%u:127.0.0.1", port);
    const char *resolve[] = {entry, NULL};
    http_client_config client_config = {.ca_file = named.ca_cert, .resolve = resolve};
    http_client *client = http_client_new(&client_config, &err);
    assert_non_null(client);
    http_response response;
    /* The name in the certificate, reached on loopback without DNS. */
    snprintf(url, sizeof url, "https://smdp.example.com:%u", port);
    assert_int_equal(post(client, url, "/echo", "n", 1, &response), 200);
    http_response_free(&response);
    /* A name the certificate does not carry fails verification. */
    snprintf(url, sizeof url, "https://localhost:%u", port);
    assert_int_equal(post(client, url, "/echo", "n", 1, &response), 0);
    assert_int_equal(response.error, HTTP_CLIENT_ERR_TLS);
    http_client_free(client);
    http_server_free(s);
    dev_pki_remove(&named);
    rmdir(dir);
}

/* The GSMA SGP.26 SM-DP+ TLS key files start with an EC PARAMETERS block; the server must load
 * them as published. Their certificates expired on 2026-08-02, so the client trusts the pinned
 * public key file (also as published) rather than the chain. */
static void test_sgp26_tls_files(void **state)
{
    (void)state;
    const char *folder = RSPKIT_SHARED_DIR "/testdata/sgp26/DPtls";
    char cert[512], key[512], public_key[512];
    snprintf(cert, sizeof cert, "%s/CERT_S_SM_DP_TLS_NIST.pem", folder);
    snprintf(key, sizeof key, "%s/SK_S_SM_DP_TLS_NIST.pem", folder);
    snprintf(public_key, sizeof public_key, "%s/PK_S_SM_DP_TLS_NIST.pem", folder);
    if (access(cert, R_OK) != 0 || access(key, R_OK) != 0 || access(public_key, R_OK) != 0) {
        printf("SKIP: %s not found: SGP.26 test data absent\n", cert);
        skip();
    }
    http_server_config config = {
        .name = "sgp26", .listen = "127.0.0.1:0", .cert_file = cert, .key_file = key};
    http_server *s = start_server(&config);
    unsigned port = http_server_port(s);
    char entry[80], url[96];
    snprintf(entry, sizeof entry, "testsmdpplus1.example.com:%u:127.0.0.1", port);
    const char *resolve[] = {entry, NULL};
    rsp_error err;
    rsp_error_clear(&err);
    http_client_config client_config = {.pinned_public_key = public_key, .resolve = resolve};
    http_client *client = http_client_new(&client_config, &err);
    assert_non_null(client);
    snprintf(url, sizeof url, "https://testsmdpplus1.example.com:%u", port);
    http_response response;
    assert_int_equal(post(client, url, "/echo", "dp", 2, &response), 200);
    http_response_free(&response);
    http_client_free(client);
    http_server_free(s);
}

static void test_idle_connections_time_out(void **state)
{
    (void)state;
    rsp_error err;
    rsp_error_clear(&err);
    http_server_config config = {.name = "idle",
                                 .listen = "127.0.0.1:0",
                                 .cert_file = pki.server_cert,
                                 .key_file = pki.server_key,
                                 .idle_timeout_s = 1};
    http_server *idle = start_server(&config);
    char base[64];
    snprintf(base, sizeof base, "https://127.0.0.1:%u", http_server_port(idle));
    http_client *client = new_client(pki.ca_cert, NULL);
    http_response response;
    assert_int_equal(post(client, base, "/echo", "a", 1, &response), 200);
    assert_int_equal(response.new_connections, 1);
    http_response_free(&response);
    assert_int_equal(post(client, base, "/echo", "b", 1, &response), 200);
    assert_int_equal(response.new_connections, 0);
    http_response_free(&response);
    /* Idle past the timeout: the server closed the connection, the client opens another. */
    sleep_ms(2200);
    assert_int_equal(post(client, base, "/echo", "c", 1, &response), 200);
    assert_int_equal(response.new_connections, 1);
    http_response_free(&response);
    assert_int_equal(http_server_connections_total(idle), 2);
    http_client_free(client);
    http_server_free(idle);
}

static void test_unknown_ca_fails(void **state)
{
    (void)state;
    http_response response;
    rsp_error err;
    rsp_error_clear(&err);
    http_client *client = new_client(other_pki.ca_cert, NULL);
    char url[160];
    snprintf(url, sizeof url, "%s/echo", base_url);
    assert_int_equal(http_client_post(client, url, "text/plain", "x", 1, NULL, &response, &err),
                     RSP_ERR_IO);
    assert_int_equal(response.error, HTTP_CLIENT_ERR_TLS);
    assert_non_null(strstr(err.message, "tls"));
    http_client_free(client);
}

static void test_error_classes(void **state)
{
    (void)state;
    rsp_error err;
    http_response response;
    char url[160];

    /* Connection refused: a port that was just bound and released. */
    http_server_config config = {.listen = "127.0.0.1:0"};
    rsp_error_clear(&err);
    http_server *closed = http_server_new(&config, &err);
    assert_non_null(closed);
    assert_int_equal(http_server_start(closed, &err), RSP_OK);
    unsigned port = http_server_port(closed);
    http_server_free(closed);
    http_client *client = new_client(NULL, NULL);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/echo", port);
    rsp_error_clear(&err);
    assert_int_equal(http_client_post(client, url, NULL, "x", 1, NULL, &response, &err),
                     RSP_ERR_IO);
    assert_int_equal(response.error, HTTP_CLIENT_ERR_CONNECT);
    http_client_free(client);

    /* Total timeout: /slow takes 300 ms. */
    rsp_error_clear(&err);
    http_client_config slow_config = {.ca_file = pki.ca_cert, .total_timeout_ms = 100};
    client = http_client_new(&slow_config, &err);
    assert_non_null(client);
    snprintf(url, sizeof url, "%s/slow", base_url);
    assert_int_equal(http_client_get(client, url, NULL, &response, &err), RSP_ERR_IO);
    assert_int_equal(response.error, HTTP_CLIENT_ERR_TIMEOUT);
    http_client_free(client);

    /* Response larger than the client accepts. */
    rsp_error_clear(&err);
    http_client_config small_config = {.ca_file = pki.ca_cert, .max_response = 16};
    client = http_client_new(&small_config, &err);
    assert_non_null(client);
    char body[64];
    memset(body, 'a', sizeof body);
    snprintf(url, sizeof url, "%s/echo", base_url);
    assert_int_equal(http_client_post(client, url, NULL, body, sizeof body, NULL, &response, &err),
                     RSP_ERR_IO);
    assert_int_equal(response.error, HTTP_CLIENT_ERR_TOO_LARGE);
    /* ... but a response within the limit on the same client works. */
    assert_int_equal(post(client, base_url, "/echo", body, 16, &response), 200);
    http_response_free(&response);
    http_client_free(client);
}

static void test_metrics_route(void **state)
{
    (void)state;
    http_client *client = new_client(pki.ca_cert, NULL);
    http_response response;
    assert_int_equal(post(client, base_url, "/echo", "m", 1, &response), 200);
    http_response_free(&response);
    assert_int_equal(get(client, base_url, "/metrics", &response), 200);
    assert_non_null(strstr(response.content_type, "text/plain"));
    char *text = malloc(response.body_len + 1);
    assert_non_null(text);
    memcpy(text, response.body, response.body_len);
    text[response.body_len] = '\0';
    http_response_free(&response);
    assert_non_null(strstr(text, "# TYPE rspkit_http_requests_total counter\n"));
    assert_non_null(
        strstr(text, "rspkit_http_requests_total{server=\"test\",route=\"/echo\",method=\"POST\","
                     "code=\"200\"} "));
    assert_non_null(strstr(text, "rspkit_http_request_duration_seconds_bucket{server=\"test\","
                                 "route=\"/echo\",method=\"POST\",le=\"+Inf\"} "));
    assert_non_null(strstr(text, "route=\"unmatched\""));
    assert_non_null(strstr(text, "rspkit_http_connections_total{server=\"test\"} "));
    free(text);
    assert_true(http_server_requests_total(server) > 0);
    http_client_free(client);
}

static void test_client_certificates(void **state)
{
    (void)state;
    rsp_error err;
    rsp_error_clear(&err);
    http_server_config config = {.name = "mtls",
                                 .listen = "127.0.0.1:0",
                                 .cert_file = pki.server_cert,
                                 .key_file = pki.server_key,
                                 .client_ca_file = pki.ca_cert};
    http_server *mtls = start_server(&config);
    char base[64];
    snprintf(base, sizeof base, "https://127.0.0.1:%u", http_server_port(mtls));
    http_response response;
    char expected[64];

    /* Verified client certificate: the handler gets its DER. */
    http_client_config with_cert = {.ca_file = pki.ca_cert,
                                    .client_cert_file = pki.client_cert,
                                    .client_key_file = pki.client_key};
    http_client *client = http_client_new(&with_cert, &err);
    assert_non_null(client);
    assert_int_equal(get(client, base, "/cert", &response), 200);
    assert_true(response.body_len > 2 && response.body[0] == '0' + HTTP_CLIENT_CERT_VERIFIED);
    http_response_free(&response);
    http_client_free(client);

    /* None presented. */
    client = new_client(pki.ca_cert, NULL);
    assert_int_equal(get(client, base, "/cert", &response), 200);
    snprintf(expected, sizeof expected, "%d 0", (int)HTTP_CLIENT_CERT_NONE);
    assert_int_equal(response.body_len, strlen(expected));
    assert_memory_equal(response.body, expected, response.body_len);
    http_response_free(&response);
    http_client_free(client);

    /* From another CA: reported as invalid, no DER handed out. */
    http_client_config foreign = {.ca_file = pki.ca_cert,
                                  .client_cert_file = other_pki.client_cert,
                                  .client_key_file = other_pki.client_key};
    client = http_client_new(&foreign, &err);
    assert_non_null(client);
    long status = get(client, base, "/cert", &response);
    if (status != 0) {
        snprintf(expected, sizeof expected, "%d 0", (int)HTTP_CLIENT_CERT_INVALID);
        assert_int_equal(status, 200);
        assert_int_equal(response.body_len, strlen(expected));
        assert_memory_equal(response.body, expected, response.body_len);
    } else {
        /* A TLS stack may also refuse the handshake outright; that is acceptable too. */
        assert_int_equal(response.error, HTTP_CLIENT_ERR_TLS);
    }
    http_response_free(&response);
    http_client_free(client);
    http_server_free(mtls);

    /* Mandatory client certificate: 403 without one. */
    config.require_client_cert = true;
    mtls = start_server(&config);
    snprintf(base, sizeof base, "https://127.0.0.1:%u", http_server_port(mtls));
    client = new_client(pki.ca_cert, NULL);
    assert_int_equal(get(client, base, "/cert", &response), 403);
    http_response_free(&response);
    http_client_free(client);
    client = http_client_new(&with_cert, &err);
    assert_non_null(client);
    assert_int_equal(get(client, base, "/cert", &response), 200);
    http_response_free(&response);
    http_client_free(client);
    http_server_free(mtls);
}

typedef struct {
    const char *base;
    long status;
} slow_call;

static void *slow_caller(void *context)
{
    slow_call *call = context;
    http_client *client = new_client(pki.ca_cert, NULL);
    http_response response;
    call->status = get(client, call->base, "/slow", &response);
    http_response_free(&response);
    http_client_free(client);
    return NULL;
}

static void test_graceful_shutdown(void **state)
{
    (void)state;
    http_server_config config = {.name = "drain",
                                 .listen = "127.0.0.1:0",
                                 .cert_file = pki.server_cert,
                                 .key_file = pki.server_key};
    http_server *draining = start_server(&config);
    char base[64];
    snprintf(base, sizeof base, "https://127.0.0.1:%u", http_server_port(draining));
    slow_call call = {base, -1};
    pthread_t thread;
    /* Stop while the request is inside its handler (300 ms long). */
    int entered = atomic_load(&slow_entered);
    assert_int_equal(pthread_create(&thread, NULL, slow_caller, &call), 0);
    for (int i = 0; i < 2000 && atomic_load(&slow_entered) == entered; i++)
        sleep_ms(5);
    assert_int_not_equal(atomic_load(&slow_entered), entered);
    http_server_stop(draining, 5000);
    pthread_join(thread, NULL);
    assert_int_equal(call.status, 200);

    /* Stopped: new connections are refused. */
    http_client *client = new_client(pki.ca_cert, NULL);
    http_response response;
    assert_int_equal(get(client, base, "/health", &response), 0);
    assert_int_equal(response.error, HTTP_CLIENT_ERR_CONNECT);
    http_client_free(client);
    http_server_stop(draining, 0); /* idempotent */
    http_server_free(draining);

    /* Without a grace period the request in progress is cut off: the grace is what saved it. */
    draining = start_server(&config);
    snprintf(base, sizeof base, "https://127.0.0.1:%u", http_server_port(draining));
    call = (slow_call){base, -1};
    entered = atomic_load(&slow_entered);
    assert_int_equal(pthread_create(&thread, NULL, slow_caller, &call), 0);
    for (int i = 0; i < 2000 && atomic_load(&slow_entered) == entered; i++)
        sleep_ms(5);
    http_server_stop(draining, 0);
    pthread_join(thread, NULL);
    assert_int_equal(call.status, 0);
    http_server_free(draining);
}

static void test_plain_http_and_ipv6(void **state)
{
    (void)state;
    rsp_error err;
    rsp_error_clear(&err);
    http_server_config config = {.listen = "[::1]:0", .threads = 1};
    http_server *plain = http_server_new(&config, &err);
    assert_non_null(plain);
    assert_int_equal(http_server_route(plain, "POST", "/echo", false, echo_handler, NULL, &err),
                     RSP_OK);
    if (http_server_start(plain, &err) != RSP_OK) {
        http_server_free(plain);
        printf("SKIP: cannot listen on [::1] here (no IPv6 loopback): %s\n", err.message);
        config.listen = "127.0.0.1:0";
        rsp_error_clear(&err);
        plain = http_server_new(&config, &err);
        assert_non_null(plain);
        assert_int_equal(http_server_route(plain, "POST", "/echo", false, echo_handler, NULL, &err),
                         RSP_OK);
        assert_int_equal(http_server_start(plain, &err), RSP_OK);
    }
    char base[64];
    snprintf(base, sizeof base, "http://%s:%u",
             strcmp(config.listen, "[::1]:0") == 0 ? "[::1]" : "127.0.0.1",
             http_server_port(plain));
    http_client *client = new_client(NULL, NULL);
    http_response response;
    assert_int_equal(post(client, base, "/echo", "plain", 5, &response), 200);
    assert_memory_equal(response.body, "plain", 5);
    http_response_free(&response);
    http_client_free(client);
    http_server_free(plain);
}

static void test_configuration_errors(void **state)
{
    (void)state;
    rsp_error err;
    rsp_error_clear(&err);
    http_server_config no_key = {.listen = "127.0.0.1:0", .cert_file = pki.server_cert};
    assert_null(http_server_new(&no_key, &err));
    assert_int_equal(err.code, RSP_ERR_INVALID_ARGUMENT);

    rsp_error_clear(&err);
    http_server_config missing = {.listen = "127.0.0.1:0",
                                  .cert_file = "/nonexistent/cert.pem",
                                  .key_file = "/nonexistent/key.pem"};
    assert_null(http_server_new(&missing, &err));
    assert_int_equal(err.code, RSP_ERR_IO);

    const char *bad_listens[] = {"127.0.0.1", "127.0.0.1:http", "[::1:80", "127.0.0.1:"};
    for (size_t i = 0; i < sizeof bad_listens / sizeof bad_listens[0]; i++) {
        rsp_error_clear(&err);
        http_server_config config = {.listen = bad_listens[i]};
        http_server *s = http_server_new(&config, &err);
        assert_non_null(s);
        assert_int_equal(http_server_start(s, &err), RSP_ERR_INVALID_ARGUMENT);
        http_server_free(s);
    }

    /* The port of a running server cannot be bound twice. */
    rsp_error_clear(&err);
    char listen[32];
    snprintf(listen, sizeof listen, "127.0.0.1:%u", http_server_port(server));
    http_server_config taken = {.listen = listen};
    http_server *s = http_server_new(&taken, &err);
    assert_non_null(s);
    assert_int_equal(http_server_start(s, &err), RSP_ERR_IO);
    http_server_free(s);

    /* Routes only before start. */
    rsp_error_clear(&err);
    assert_int_equal(http_server_route(server, "GET", "/late", false, echo_handler, NULL, &err),
                     RSP_ERR_STATE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_post_over_https),
        cmocka_unit_test(test_request_headers_follow_each_call),
        cmocka_unit_test(test_keep_alive_reuses_one_connection),
        cmocka_unit_test(test_bodies_declared_and_chunked),
        cmocka_unit_test(test_oversized_body_gets_413),
        cmocka_unit_test(test_routing_statuses),
        cmocka_unit_test(test_failing_handler_gets_500),
        cmocka_unit_test(test_concurrent_clients),
        cmocka_unit_test(test_public_key_pinning),
        cmocka_unit_test(test_unknown_ca_fails),
        cmocka_unit_test(test_idle_connections_time_out),
        cmocka_unit_test(test_host_name_verification_and_resolve),
        cmocka_unit_test(test_sgp26_tls_files),
        cmocka_unit_test(test_error_classes),
        cmocka_unit_test(test_metrics_route),
        cmocka_unit_test(test_client_certificates),
        cmocka_unit_test(test_graceful_shutdown),
        cmocka_unit_test(test_plain_http_and_ipv6),
        cmocka_unit_test(test_configuration_errors),
    };
    return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
