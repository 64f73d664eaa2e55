/* ES2+ over real HTTPS on loopback (SGP.22 v2.5 sections 5.3 and 6.5.2): operator
 * authentication by API key and by TLS client certificate, the order flow and its exact status
 * codes, one operator never touching another's profiles, HTTP-level refusals (content type,
 * malformed JSON, oversized body) without state change, and HandleDownloadProgressInfo
 * callbacks delivered to a test receiver, with a retry after the receiver failed. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "smdp_fixture.h"

#include "core/log.h"
#include "crypto/pki_generate.h"
#include "net/dev_pki.h"
#include "smdp/server.h"

#define EID_A "89049032123451234512345678901235"

/* ---- callback receiver ---- */

typedef struct {
    pthread_mutex_t lock;
    char bodies[16][2048];
    unsigned count;
    unsigned fail_next; /* answer 500 to this many requests first */
    unsigned refused;
} receiver;

static int receive(const http_request *request, http_reply *reply, void *user)
{
    receiver *r = user;
    pthread_mutex_lock(&r->lock);
    bool fail = r->fail_next > 0;
    if (fail) {
        r->fail_next--;
        r->refused++;
    } else if (r->count < 16) {
        snprintf(r->bodies[r->count++], sizeof r->bodies[0], "%.*s", (int)request->body_len,
                 (const char *)request->body);
    }
    pthread_mutex_unlock(&r->lock);
    http_reply_borrowed(reply, fail ? 500 : 204, "text/plain", "", 0);
    return 0;
}

typedef struct {
    char dir[64];
    dev_pki client_pki;
    http_server *callback_server;
    receiver rx;
    smdp_server *server;
    char base[96];
    http_client *client;      /* API key clients */
    http_client *cert_client; /* TLS client certificate */
    uint8_t *package;
    size_t package_len;
    char ca_file[256];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    char path[256];
    snprintf(path, sizeof path, "%s/testdata/ts48/NoBERTLV.der", RSPKIT_SHARED_DIR);
    f->package = read_file(path, &f->package_len);
    if (f->package == NULL) {
        print_message("SKIPPED LOUDLY: %s is absent (GSMA TS.48 test data)\n", path);
        free(f);
        *state = NULL;
        return 0;
    }
    log_set_level(LOG_LEVEL_WARN);
    rsp_error err = {0};
    snprintf(f->dir, sizeof f->dir, "/tmp/smdp-es2-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    rsp_pki_options options = {.curves = RSP_PKI_CURVE_NIST, .euicc_count = 1};
    check(rsp_pki_init(f->dir, &options, &err), &err);
    check(dev_pki_create(f->dir, "localhost", &f->client_pki, &err), &err);

    pthread_mutex_init(&f->rx.lock, NULL);
    http_server_config rx_config = {.name = "receiver", .listen = "127.0.0.1:0", .threads = 1};
    f->callback_server = http_server_new(&rx_config, &err);
    assert_non_null(f->callback_server);
    check(http_server_route(f->callback_server, "POST", "/progress", false, receive, &f->rx, &err),
          &err);
    check(http_server_start(f->callback_server, &err), &err);

    smdp_config config;
    smdp_config_init(&config);
    check(smdp_config_use_pki(&config, f->dir, &err), &err);
    snprintf(config.listen, sizeof config.listen, "127.0.0.1:0");
    snprintf(config.database, sizeof config.database, "sqlite:%s/smdp.db", f->dir);
    snprintf(config.es2_client_ca, sizeof config.es2_client_ca, "%s", f->client_pki.ca_cert);
    config.max_body = 16 * 1024;
    config.callback_interval_ms = 50;
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/progress",
             (unsigned)http_server_port(f->callback_server));
    check(smdp_config_add_operator(&config, "op-a", "key-a", NULL, url, &err), &err);
    check(smdp_config_add_operator(&config, "op-b", "key-b", NULL, NULL, &err), &err);
    check(smdp_config_add_operator(&config, "op-c", NULL, f->client_pki.client_cert, NULL, &err),
          &err);
    f->server = smdp_server_new(&config, &err);
    if (f->server == NULL)
        print_message("server: %s\n", err.message);
    assert_non_null(f->server);
    check(smdp_server_start(f->server, &err), &err);
    snprintf(f->base, sizeof f->base, "https://localhost:%u",
             (unsigned)smdp_server_port(f->server));
    snprintf(f->ca_file, sizeof f->ca_file, "%s/nist/CERT_CI_ECDSA.pem", f->dir);
    http_client_config client_config = {.ca_file = f->ca_file};
    f->client = http_client_new(&client_config, &err);
    assert_non_null(f->client);
    client_config.client_cert_file = f->client_pki.client_cert;
    client_config.client_key_file = f->client_pki.client_key;
    f->cert_client = http_client_new(&client_config, &err);
    assert_non_null(f->cert_client);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f == NULL)
        return 0;
    http_client_free(f->client);
    http_client_free(f->cert_client);
    smdp_server_free(f->server);
    http_server_free(f->callback_server);
    pthread_mutex_destroy(&f->rx.lock);
    free(f->package);
    char command[128];
    snprintf(command, sizeof command, "rm -rf %s", f->dir);
    assert_int_equal(system(command), 0);
    free(f);
    return 0;
}

#define SKIP_WITHOUT_DATA(f)                                                                       \
    do {                                                                                           \
        if ((f) == NULL) {                                                                         \
            print_message("SKIPPED LOUDLY: no TS.48 data\n");                                      \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/* POSTs body to /gsma/rsp2/es2plus/<function>; returns the HTTP status and the parsed JSON
 * answer in *out (NULL when none). */
static long call(fixture *f, http_client *client, const char *function, const char *api_key,
                 const char *content_type, const char *body, json_t **out)
{
    char url[192], key_header[128];
    snprintf(url, sizeof url, "%s/gsma/rsp2/es2plus/%s", f->base, function);
    snprintf(key_header, sizeof key_header, SMDP_API_KEY_HEADER ": %s", api_key);
    const char *headers[] = {RSP_ADMIN_PROTOCOL_HEADER ": gsma/rsp/v2.5.0",
                             api_key != NULL ? key_header : NULL, NULL};
    http_response response = {0};
    rsp_error err = {0};
    check(http_client_post(client, url, content_type, body, strlen(body), headers, &response, &err),
          &err);
    if (out != NULL) {
        *out = NULL;
        if (response.body_len > 0 && response.body[0] == '{')
            *out =
                rsp_json_parse_object((const char *)response.body, response.body_len, 65536, &err);
    }
    long status = response.status;
    http_response_free(&response);
    return status;
}

/* The oversized-body answer: the server answers 413 as soon as it has the headers and closes
 * the connection, so a client still sending the body may instead see its send fail (broken
 * pipe, reset). Either is a refusal; what matters is that the server keeps serving. */
static long call_oversized(fixture *f, const char *function, const char *body)
{
    char url[192];
    snprintf(url, sizeof url, "%s/gsma/rsp2/es2plus/%s", f->base, function);
    const char *headers[] = {RSP_ADMIN_PROTOCOL_HEADER ": gsma/rsp/v2.5.0",
                             SMDP_API_KEY_HEADER ": key-a", NULL};
    http_response response = {0};
    rsp_error err = {0};
    rsp_status st = http_client_post(f->client, url, RSP_JSON_CONTENT_TYPE, body, strlen(body),
                                     headers, &response, &err);
    long status = st == RSP_OK ? response.status : 413;
    if (st != RSP_OK)
        print_message("oversized body refused while sending: %s\n", err.message);
    http_response_free(&response);
    return status;
}

/* Checks header.functionExecutionStatus of answer. */
static void expect_status(json_t *answer, const char *status, const char *subject,
                          const char *reason)
{
    assert_non_null(answer);
    rsp_execution_status execution;
    rsp_status_code_data data;
    rsp_error err = {0};
    check(rsp_json_parse_response_header(answer, &execution, &data, &err), &err);
    assert_string_equal(rsp_execution_status_name(execution), status);
    if (subject != NULL) {
        assert_non_null(data.subject_code);
        assert_string_equal(data.subject_code, subject);
        assert_string_equal(data.reason_code, reason);
    }
}

/* A JSON ES2+ call, which must be answered 200 with the given header outcome. */
static void call_expect(fixture *f, const char *function, const char *api_key, const char *body,
                        const char *status, const char *subject, const char *reason)
{
    json_t *answer = NULL;
    assert_int_equal(call(f, f->client, function, api_key, RSP_JSON_CONTENT_TYPE, body, &answer),
                     200);
    expect_status(answer, status, subject, reason);
    json_decref(answer);
}

static const char *text_field(json_t *answer, const char *key)
{
    json_t *value = json_object_get(answer, key);
    return json_is_string(value) ? json_string_value(value) : NULL;
}

static void import(fixture *f, const char *operator_id, uint64_t index, char iccid[SMDP_ICCID_SIZE])
{
    uint8_t *copy = NULL;
    size_t len = 0;
    rsp_error err = {0};
    check(smdp_personalise_copy(f->package, f->package_len, index, &copy, &len, &err), &err);
    check(smdp_inventory_import(smdp_server_inventory(f->server), operator_id, copy, len, iccid,
                                &err),
          &err);
    free(copy);
}

static smdp_profile_state state_of(fixture *f, const char *iccid)
{
    return inventory_state(smdp_server_inventory(f->server), iccid);
}

#define HEADER                                                                                     \
    "\"header\":{\"functionRequesterIdentifier\":\"op\",\"functionCallIdentifier\":\"1\"}"

static void test_authentication(void **state)
{
    fixture *f = *state;
    SKIP_WITHOUT_DATA(f);
    char iccid[SMDP_ICCID_SIZE], body[256];
    import(f, "op-a", 1, iccid);
    snprintf(body, sizeof body, "{" HEADER ",\"iccid\":\"%s\"}", iccid);
    json_t *answer = NULL;
    /* No credentials, a wrong key: 401 with 1.1 / 1.1, nothing changes. */
    assert_int_equal(
        call(f, f->client, "downloadOrder", NULL, RSP_JSON_CONTENT_TYPE, body, &answer), 401);
    expect_status(answer, "Failed", "1.1", "1.1");
    json_decref(answer);
    assert_int_equal(
        call(f, f->client, "downloadOrder", "key-x", RSP_JSON_CONTENT_TYPE, body, &answer), 401);
    json_decref(answer);
    assert_int_equal(state_of(f, iccid), SMDP_PROFILE_AVAILABLE);
    /* Another operator's key: 8.2.1 / 1.2 (not allowed). */
    call_expect(f, "downloadOrder", "key-b", body, "Failed", "8.2.1", "1.2");
    /* TLS client certificate of op-c: authenticated, but op-a's profile is not its own. */
    assert_int_equal(
        call(f, f->cert_client, "downloadOrder", NULL, RSP_JSON_CONTENT_TYPE, body, &answer), 200);
    expect_status(answer, "Failed", "8.2.1", "1.2");
    json_decref(answer);
    assert_int_equal(state_of(f, iccid), SMDP_PROFILE_AVAILABLE);
    /* op-c with its own profile. */
    char own[SMDP_ICCID_SIZE];
    import(f, "op-c", 2, own);
    snprintf(body, sizeof body, "{" HEADER ",\"iccid\":\"%s\"}", own);
    assert_int_equal(
        call(f, f->cert_client, "downloadOrder", NULL, RSP_JSON_CONTENT_TYPE, body, &answer), 200);
    expect_status(answer, "Executed-Success", NULL, NULL);
    assert_string_equal(text_field(answer, "iccid"), own);
    json_decref(answer);
    assert_int_equal(state_of(f, own), SMDP_PROFILE_ALLOCATED);
}

static void test_malformed_requests(void **state)
{
    fixture *f = *state;
    SKIP_WITHOUT_DATA(f);
    char iccid[SMDP_ICCID_SIZE], body[256];
    import(f, "op-a", 3, iccid);
    snprintf(body, sizeof body, "{" HEADER ",\"iccid\":\"%s\"}", iccid);
    assert_int_equal(call(f, f->client, "downloadOrder", "key-a", "text/plain", body, NULL), 415);
    assert_int_equal(
        call(f, f->client, "downloadOrder", "key-a", RSP_JSON_CONTENT_TYPE, "{\"header\":", NULL),
        400);
    assert_int_equal(
        call(f, f->client, "downloadOrder", "key-a", RSP_JSON_CONTENT_TYPE, "[1,2,3]", NULL), 400);
    /* Duplicate keys are refused (two spellings of one request). */
    snprintf(body, sizeof body, "{" HEADER ",\"iccid\":\"%s\",\"iccid\":\"1\"}", iccid);
    assert_int_equal(
        call(f, f->client, "downloadOrder", "key-a", RSP_JSON_CONTENT_TYPE, body, NULL), 400);
    /* Oversized: 413 from the HTTP layer. */
    size_t big_len = 32 * 1024;
    char *big = malloc(big_len + 1);
    memset(big, ' ', big_len);
    big[0] = '{';
    big[big_len - 1] = '}';
    big[big_len] = '\0';
    assert_int_equal(call_oversized(f, "downloadOrder", big), 413);
    free(big);
    /* No request header: 1.2 / 2.2; wrong JSON type: 1.2 / 2.1; bad ICCID: 8.2.1 / 2.1. */
    snprintf(body, sizeof body, "{\"iccid\":\"%s\"}", iccid);
    call_expect(f, "downloadOrder", "key-a", body, "Failed", "1.2", "2.2");
    call_expect(f, "downloadOrder", "key-a", "{" HEADER ",\"iccid\":42}", "Failed", "1.2", "2.1");
    call_expect(f, "downloadOrder", "key-a", "{" HEADER ",\"iccid\":\"12AB\"}", "Failed", "8.2.1",
                "2.1");
    assert_int_equal(state_of(f, iccid), SMDP_PROFILE_AVAILABLE);
    /* The server keeps serving. */
    call_expect(f, "releaseProfile", "key-a", "{" HEADER ",\"iccid\":\"8949000000000000001\"}",
                "Failed", "8.2.1", "3.9");
}

static void test_order_flow(void **state)
{
    fixture *f = *state;
    SKIP_WITHOUT_DATA(f);
    char iccid[SMDP_ICCID_SIZE], body[512];
    import(f, "op-a", 4, iccid);
    json_t *answer = NULL;
    /* 19-digit ICCIDs may come F-padded to 20 (SGP.22 section 5.3); this one has 20 digits. */
    snprintf(body, sizeof body, "{" HEADER ",\"iccid\":\"%s%s\",\"eid\":\"%s\"}", iccid,
             strlen(iccid) == 19 ? "F" : "", EID_A);
    call_expect(f, "downloadOrder", "key-a", body, "Executed-Success", NULL, NULL);
    assert_int_equal(state_of(f, iccid), SMDP_PROFILE_LINKED);
    /* Again: already in use. */
    call_expect(f, "downloadOrder", "key-a", body, "Failed", "8.2.1", "3.3");
    /* confirmOrder without releaseFlag: mandatory element missing. */
    snprintf(body, sizeof body, "{" HEADER ",\"iccid\":\"%s\"}", iccid);
    call_expect(f, "confirmOrder", "key-a", body, "Failed", "1.2", "2.2");
    snprintf(body, sizeof body,
             "{" HEADER ",\"iccid\":\"%s\",\"confirmationCode\":\"1234\",\"releaseFlag\":false}",
             iccid);
    assert_int_equal(
        call(f, f->client, "confirmOrder", "key-a", RSP_JSON_CONTENT_TYPE, body, &answer), 200);
    expect_status(answer, "Executed-Success", NULL, NULL);
    assert_string_equal(text_field(answer, "eid"), EID_A);
    assert_non_null(text_field(answer, "matchingId"));
    assert_string_equal(text_field(answer, "smdpAddress"), smdp_server_address(f->server));
    json_decref(answer);
    assert_int_equal(state_of(f, iccid), SMDP_PROFILE_CONFIRMED);
    snprintf(body, sizeof body, "{" HEADER ",\"iccid\":\"%s\"}", iccid);
    call_expect(f, "releaseProfile", "key-b", body, "Failed", "8.2.1", "1.2");
    call_expect(f, "releaseProfile", "key-a", body, "Executed-Success", NULL, NULL);
    assert_int_equal(state_of(f, iccid), SMDP_PROFILE_RELEASED);
    /* cancelOrder: bad indicator, then back to Available. */
    snprintf(body, sizeof body,
             "{" HEADER ",\"iccid\":\"%s\",\"finalProfileStatusIndicator\":\"Gone\"}", iccid);
    call_expect(f, "cancelOrder", "key-a", body, "Failed", "1.2", "2.1");
    snprintf(body, sizeof body,
             "{" HEADER ",\"iccid\":\"%s\",\"finalProfileStatusIndicator\":\"Available\"}", iccid);
    call_expect(f, "cancelOrder", "key-a", body, "Executed-Success", NULL, NULL);
    assert_int_equal(state_of(f, iccid), SMDP_PROFILE_AVAILABLE);
    call_expect(f, "cancelOrder", "key-a", body, "Failed", "8.2.1", "3.5");
}

static unsigned received(fixture *f, unsigned want, unsigned timeout_ms)
{
    unsigned count = 0;
    for (unsigned waited = 0; waited <= timeout_ms; waited += 20) {
        pthread_mutex_lock(&f->rx.lock);
        count = f->rx.count;
        pthread_mutex_unlock(&f->rx.lock);
        if (count >= want)
            break;
        usleep(20000);
    }
    return count;
}

static void test_progress_callbacks(void **state)
{
    fixture *f = *state;
    SKIP_WITHOUT_DATA(f);
    char iccid[SMDP_ICCID_SIZE], got[SMDP_ICCID_SIZE];
    import(f, "op-a", 7, iccid);
    smdp_inventory *inventory = smdp_server_inventory(f->server);
    rsp_error err = {0};
    smdp_download_order order = {.operator_id = "op-a", .iccid = iccid};
    assert_int_equal(smdp_order_download(inventory, &order, got, &err), SMDP_STATUS_OK);
    smdp_confirm_order confirm = {.operator_id = "op-a", .iccid = iccid, .release = true};
    smdp_confirm_result result;
    assert_int_equal(smdp_order_confirm(inventory, &confirm, &result, &err), SMDP_STATUS_OK);
    /* The receiver fails the first delivery: the outbox retries after its back-off. */
    pthread_mutex_lock(&f->rx.lock);
    f->rx.fail_next = 1;
    unsigned before = f->rx.count;
    pthread_mutex_unlock(&f->rx.lock);
    bool cc = false;
    assert_int_equal(smdp_order_begin_download(inventory, result.matching_id, EID_A,
                                               "00112233445566778899AABBCCDDEEFF", got, &cc, &err),
                     SMDP_STATUS_OK);
    assert_int_equal(smdp_order_downloaded(inventory, iccid, EID_A, NULL, 0, &err), SMDP_STATUS_OK);
    assert_int_equal(received(f, before + 2, 5000), before + 2);
    pthread_mutex_lock(&f->rx.lock);
    assert_int_equal(f->rx.refused, 1);
    char joined[4096];
    snprintf(joined, sizeof joined, "%s|%s", f->rx.bodies[before], f->rx.bodies[before + 1]);
    pthread_mutex_unlock(&f->rx.lock);
    print_message("callbacks: %s\n", joined);
    assert_non_null(strstr(joined, "\"notificationPointId\":1"));
    assert_non_null(strstr(joined, "\"notificationPointId\":3"));
    assert_non_null(strstr(joined, iccid));
    assert_non_null(strstr(joined, EID_A));
    assert_non_null(strstr(joined, "\"profileType\""));
    assert_non_null(strstr(joined, "\"timestamp\""));
    assert_non_null(strstr(joined, "Executed-Success"));
    /* the sender records the delivery after the receiver has answered: wait for it */
    int64_t pending = -1;
    for (int i = 0; i < 500 && pending != 0; i++) {
        check(smdp_outbox_pending(inventory, &pending, &err), &err);
        if (pending != 0)
            usleep(10 * 1000);
    }
    assert_int_equal(pending, 0);
}

static void test_metrics_and_health(void **state)
{
    fixture *f = *state;
    SKIP_WITHOUT_DATA(f);
    char url[192];
    http_response response = {0};
    rsp_error err = {0};
    snprintf(url, sizeof url, "%s/health", f->base);
    check(http_client_get(f->client, url, NULL, &response, &err), &err);
    assert_int_equal(response.status, 200);
    http_response_free(&response);
    assert_int_equal(call(f, f->client, "downloadOrder", NULL, RSP_JSON_CONTENT_TYPE, "{}", NULL),
                     401);
    snprintf(url, sizeof url, "%s/metrics", f->base);
    check(http_client_get(f->client, url, NULL, &response, &err), &err);
    assert_int_equal(response.status, 200);
    assert_non_null(response.body);
    char *text = strndup((const char *)response.body, response.body_len);
    assert_non_null(strstr(text, "rspkit_smdp_es2_unauthenticated_total"));
    assert_non_null(
        strstr(text, "rspkit_smdp_es9_requests_total{function=\"initiateAuthentication\"}"));
    assert_non_null(strstr(text, "rspkit_smdp_callbacks_pending"));
    free(text);
    http_response_free(&response);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_authentication),     cmocka_unit_test(test_malformed_requests),
        cmocka_unit_test(test_order_flow),         cmocka_unit_test(test_progress_callbacks),
        cmocka_unit_test(test_metrics_and_health),
    };
    return cmocka_run_group_tests_name("smdp_es2plus", tests, setup, teardown);
}
