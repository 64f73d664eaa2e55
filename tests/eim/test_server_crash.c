/* Durability: an eIM process killed (SIGKILL) in the middle of traffic and started again on
 * the same database loses no order, gives no counter twice, and finishes every order once.
 * The server runs in a child process; the test process plays the owner and the devices. */
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/log.h"
#include "core/sgp32.h"
#include "crypto/certificate.h"
#include "crypto/key.h"
#include "crypto/pki_generate.h"
#include "crypto/signature_gsma.h"
#include "eim/server.h"
#include "eim/storage.h"
#include "net/dev_pki.h"
#include "net/http_client.h"
#include "net/json.h"
#include "store/store.h"

#include "eim_fixture.h"

#define EIM_ID    "eim.crash.example"
#define ADMIN_KEY "admin-secret"
#define ASN1_TYPE "application/x-gsma-rsp-asn1"
#define DEVICES   8
#define ORDERS    6 /* per device */

typedef struct {
    char dir[64];
    char db_url[128];
    char key_path[128];
    dev_pki tls;
    rsp_private_key *euicc_key;
    char certificate_b64[2048];
    pid_t child;
    char base[64];
    char api_key[EIM_API_KEY_SIZE];
    http_client *client;
} fixture;

static void eid_of(int n, char out[33])
{
    snprintf(out, 33, "890490320000000000000000%08u", (unsigned)n % 100000000u);
}

/* Starts the server in a child process; its port comes back through a pipe. With
 * die_after_ms the child is terminated by SIGALRM that long after it starts serving: at a
 * moment nobody chose, possibly inside a request or a transaction. */
static void spawn(fixture *f, long die_after_ms)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    f->child = fork();
    assert_true(f->child >= 0);
    if (f->child == 0) {
        close(fds[0]);
        log_set_level(LOG_LEVEL_WARN);
        eim_server_config config =
            eim_fixture_server_config(&f->tls, f->db_url, EIM_ID, f->key_path, ADMIN_KEY);
        config.worker_period_ms = 100;
        eim_server *server = NULL;
        rsp_error err = {0};
        uint16_t port = 0;
        if (eim_server_new(&config, &server, &err) == RSP_OK &&
            eim_server_start(server, &err) == RSP_OK)
            port = eim_server_port(server);
        if (die_after_ms > 0) {
            struct itimerval timer = {.it_value = {.tv_sec = die_after_ms / 1000,
                                                   .tv_usec = (die_after_ms % 1000) * 1000}};
            setitimer(ITIMER_REAL, &timer, NULL);
        }
        if (write(fds[1], &port, sizeof port) != (ssize_t)sizeof port)
            _exit(1);
        for (;;)
            pause();
    }
    close(fds[1]);
    uint16_t port = 0;
    assert_int_equal(read(fds[0], &port, sizeof port), (ssize_t)sizeof port);
    close(fds[0]);
    assert_true(port != 0);
    snprintf(f->base, sizeof f->base, "https://127.0.0.1:%u", port);
}

static void kill_child(fixture *f)
{
    if (f->child <= 0)
        return;
    kill(f->child, SIGKILL);
    int status = 0;
    waitpid(f->child, &status, 0);
    f->child = 0;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/rspkit-eim-crash-XXXXXX");
    eim_fixture_folder(f->dir, &f->tls, "eim.pem", f->key_path, sizeof f->key_path);
    eim_fixture_fleet_euicc(&f->euicc_key, f->certificate_b64, sizeof f->certificate_b64);
    eim_fixture_database(false, f->dir, NULL, NULL, f->db_url, sizeof f->db_url);
    rsp_error err = {0};
    /* the child is forked before this process starts any thread */
    spawn(f, 0);
    http_client_config config = {
        .ca_file = f->tls.ca_cert, .connect_timeout_ms = 2000, .total_timeout_ms = 10000};
    f->client = http_client_new(&config, &err);
    assert_non_null(f->client);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f->child > 0)
        kill_child(f);
    http_client_free(f->client);
    rsp_private_key_free(f->euicc_key);
    eim_fixture_remove_folder(f->dir, &f->tls);
    free(f);
    return 0;
}

static json_t *rest(fixture *f, const char *path, json_t *body, long expect)
{
    return eim_fixture_post_json(f->client, f->base, f->api_key, ADMIN_KEY, path, body, expect);
}

/* One device step: poll, answer the package if any. Returns the counter handed out (0 for
 * none, -1 when the server did not answer: it may be dead). */
static int64_t step(fixture *f, int n)
{
    char url[96], eid[33];
    snprintf(url, sizeof url, "%s/gsma/rsp2/asn1", f->base);
    eid_of(n, eid);
    uint8_t poll[21] = {0xBF, 0x4F, 18, 0x5A, 16};
    der_hex_decode(eid, poll + 5, 16);
    http_response response = {0};
    rsp_error err = {0};
    if (http_client_post(f->client, url, ASN1_TYPE, poll, sizeof poll, NULL, &response, &err) !=
            RSP_OK ||
        response.status != 200) {
        http_response_free(&response);
        return -1;
    }
    sgp32_get_eim_package_response value;
    uint8_t arena_buf[4096];
    schema_arena arena;
    schema_arena_init(&arena, arena_buf, sizeof arena_buf);
    check(schema_decode(&sgp32_get_eim_package_response_type,
                        der_view_make(response.body, response.body_len), &value, &arena, &err),
          &err, "decode");
    if (value.choice != SGP32_GET_EIM_PACKAGE_RESPONSE_EUICC_PACKAGE_REQUEST) {
        http_response_free(&response);
        return 0;
    }
    const sgp32_euicc_package_signed *s = &value.u.euicc_package_request.euicc_package_signed;
    int64_t counter = s->counter_value;
    sgp32_euicc_result_data item = {.choice = SGP32_EUICC_RESULT_DATA_GET_RAT_RESULT};
    sgp32_euicc_package_result_data_signed data = {
        .eim_id = s->eim_id,
        .counter_value = counter,
        .has_eim_transaction_id = true,
        .eim_transaction_id = s->eim_transaction_id,
        .seq_number = counter,
        .euicc_result = {.count = 1, .items = &item},
    };
    uint8_t signed_buf[256], body[512];
    der_writer signed_w, w;
    der_writer_init_fixed(&signed_w, signed_buf, sizeof signed_buf);
    assert_int_equal(schema_encode(&sgp32_euicc_package_result_data_signed_type, &data, &signed_w),
                     RSP_OK);
    der_writer_init_fixed(&w, body, sizeof body);
    size_t mark = der_begin(&w, 0xBF50);
    der_put_tlv(&w, 0x5A, poll + 5, 16);
    check(rsp_euicc_package_result_build(f->euicc_key, 0xA0, der_writer_view(&signed_w), NULL, &w,
                                         &err),
          &err, "result");
    der_end(&w, mark);
    http_response_free(&response);
    /* the answer may be lost if the server dies now: the next poll gets the same package */
    if (http_client_post(f->client, url, ASN1_TYPE, w.buf, w.len, NULL, &response, &err) != RSP_OK)
        counter = -1;
    http_response_free(&response);
    return counter;
}

static void test_killed_at_random_and_restarted(void **state)
{
    fixture *f = *state;
    eim_fixture_take_api_key(rest(f, "tenants", json_pack("{s:s}", "name", "crash"), 201),
                             f->api_key);
    for (int n = 0; n < DEVICES; n++) {
        char eid[33], path[96];
        eid_of(n, eid);
        json_decref(
            rest(f, "devices",
                 json_pack("{s:s, s:s}", "eid", eid, "euiccCertificate", f->certificate_b64), 201));
        snprintf(path, sizeof path, "devices/%s/operations", eid);
        for (int k = 0; k < ORDERS; k++)
            json_decref(rest(f, path, json_pack("{s:s}", "type", "getRat"), 201));
    }
    /* the devices work while the server dies at random moments, three times, and is started
     * again on the same database each time */
    kill_child(f);
    srand((unsigned)time(NULL));
    int deaths = 0;
    spawn(f, 30 + rand() % 60);
    int64_t last[DEVICES] = {0};
    for (int round = 0; round < 2000; round++) {
        int done = 0, failed = 0;
        for (int n = 0; n < DEVICES; n++) {
            int64_t counter = step(f, n);
            if (counter > 0) {
                /* a counter is never smaller than one seen before for this EID */
                assert_true(counter >= last[n]);
                last[n] = counter;
            }
            done += counter == 0;
            failed += counter < 0;
        }
        int status = 0;
        if (failed > 0 && waitpid(f->child, &status, WNOHANG) == f->child) {
            assert_true(WIFSIGNALED(status));
            deaths++;
            spawn(f, deaths < 3 ? 30 + rand() % 60 : 0);
        }
        if (done == DEVICES && deaths == 3)
            break;
    }
    assert_int_equal(deaths, 3);
    /* every order finished once; counters 1..ORDERS per device, none given twice */
    kill_child(f);
    store *st = NULL;
    rsp_error err = {0};
    check(store_open(f->db_url, NULL, &st, &err), &err, "open");
    store_conn *conn = NULL;
    check(store_borrow(st, &conn, &err), &err, "borrow");
    int64_t value = 0;
    check(store_query_int64(conn, "SELECT COUNT(*) FROM eim_orders WHERE state = 'succeeded'", NULL,
                            0, &value, &err),
          &err, "succeeded");
    assert_int_equal(value, DEVICES * ORDERS);
    check(store_query_int64(conn,
                            "SELECT COUNT(*) FROM (SELECT DISTINCT device_id, counter_value FROM "
                            "eim_orders) AS x",
                            NULL, 0, &value, &err),
          &err, "distinct");
    assert_int_equal(value, DEVICES * ORDERS);
    check(store_query_int64(conn, "SELECT MAX(counter) FROM eim_devices", NULL, 0, &value, &err),
          &err, "max");
    assert_int_equal(value, ORDERS);
    check(store_query_int64(conn, "SELECT COUNT(*) FROM eim_results", NULL, 0, &value, &err), &err,
          "results");
    assert_int_equal(value, DEVICES * ORDERS);
    store_return(conn);
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_killed_at_random_and_restarted, setup, teardown),
    };
    return cmocka_run_group_tests_name("eim server killed and restarted", tests, NULL, NULL);
}
