/* What the eIM's download relay commits, and how durably (eim/relay.c): the session steps of a
 * relayed download commit without waiting for the disk (a session lost to a power cut only
 * makes the next ES9+ step answer undefinedError, and the IPA's new InitiateAuthentication
 * succeeds), while a notification is in the outbox, durably and in one commit with its history
 * and audit entries and the outcome of its first forwarding, before the IPA is acknowledged;
 * the worker's claims and retries are relaxed. Counted with store_stats on SQLite and on PostgreSQL
 * (when RSPKIT_TEST_POSTGRES is set, see scripts/with-postgres.sh). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/sgp32.h"
#include "crypto/key.h"
#include "eim/server.h"
#include "eim/storage.h"
#include "net/dev_pki.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "net/json.h"
#include "net/json_http.h"
#include "store/store.h"

#include "eim_fixture.h"

#define EIM_ID    "eim.commits.example"
#define ADMIN_KEY "admin-secret"
#define EID       "89049032123451234512345678901235"

static const uint8_t smdp_txid[] = {0xA1, 0xB2, 0xC3, 0xD4};
static const uint8_t blob[] = {0x30, 0x03, 0x02, 0x01, 0x07};
static const uint8_t signature[] = {0x5F, 0x37, 0x03, 0x01, 0x02, 0x03};
static const uint8_t ci_pkid[] = {0x04, 0x02, 0xF5, 0x41};
static const uint8_t bpp[] = {0xBF, 0x36, 0x03, 0xBF, 0x23, 0x00};

/* The stand-in SM-DP+: answers every ES9+ call with success, counting them. */
typedef struct {
    pthread_mutex_t lock;
    unsigned calls;
    unsigned notifications;
    unsigned fail_notifications; /* the next ones answered HTTP 500 */
} smdp_state;

typedef struct {
    char dir[64];
    char key_path[128];
    char db_url[512];
    char schema[64];
    bool postgres;
    dev_pki tls;
    eim_server *server;
    http_server *smdp;
    smdp_state smdp_state;
    char smdp_address[64];
    char base[64];
    char api_key[EIM_API_KEY_SIZE];
} fixture;

static int smdp_handler(const http_request *request, http_reply *reply, void *user)
{
    smdp_state *s = user;
    json_t *body = NULL;
    const char *function = eim_fixture_smdp_function(request, &body);
    if (function == NULL)
        return -1;
    json_decref(body);
    pthread_mutex_lock(&s->lock);
    s->calls++;
    pthread_mutex_unlock(&s->lock);
    if (strcmp(function, "handleNotification") == 0)
        return eim_fixture_smdp_notification(&s->lock, &s->notifications, &s->fail_notifications,
                                             reply);
    json_t *answer = eim_fixture_smdp_answer();
    rsp_json_set_hex(answer, "transactionId", smdp_txid, sizeof smdp_txid);
    if (strcmp(function, "initiateAuthentication") == 0) {
        rsp_json_set_base64(answer, "serverSigned1", blob, sizeof blob);
        rsp_json_set_base64(answer, "serverSignature1", signature, sizeof signature);
        rsp_json_set_base64(answer, "euiccCiPKIdToBeUsed", ci_pkid, sizeof ci_pkid);
        rsp_json_set_base64(answer, "serverCertificate", blob, sizeof blob);
    } else if (strcmp(function, "authenticateClient") == 0) {
        rsp_json_set_base64(answer, "smdpSigned2", blob, sizeof blob);
        rsp_json_set_base64(answer, "smdpSignature2", signature, sizeof signature);
        rsp_json_set_base64(answer, "smdpCertificate", blob, sizeof blob);
    } else if (strcmp(function, "getBoundProfilePackage") == 0) {
        rsp_json_set_base64(answer, "boundProfilePackage", bpp, sizeof bpp);
    }
    return eim_fixture_smdp_reply(reply, answer);
}

static unsigned smdp_calls(fixture *f)
{
    pthread_mutex_lock(&f->smdp_state.lock);
    unsigned calls = f->smdp_state.calls;
    pthread_mutex_unlock(&f->smdp_state.lock);
    return calls;
}

static json_t *rest(fixture *f, const char *path, json_t *body, long expect)
{
    return eim_fixture_post_json_fresh(f->tls.ca_cert, f->base, f->api_key, ADMIN_KEY, path, body,
                                       expect);
}

static int setup_common(void **state, bool postgres)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->postgres = postgres;
    snprintf(f->dir, sizeof f->dir, "/tmp/rspkit-relay-commits-XXXXXX");
    eim_fixture_folder(f->dir, &f->tls, "eim.pem", f->key_path, sizeof f->key_path);
    pthread_mutex_init(&f->smdp_state.lock, NULL);
    f->smdp = eim_fixture_smdp_start(&f->tls, smdp_handler, &f->smdp_state, f->smdp_address,
                                     sizeof f->smdp_address);
    eim_fixture_database(postgres, f->dir, "rspkit_relay", f->schema, f->db_url, sizeof f->db_url);
    /* the worker runs once at the start, then not for a minute: the test runs it itself */
    eim_server_config config =
        eim_fixture_server_config(&f->tls, f->db_url, EIM_ID, f->key_path, ADMIN_KEY);
    config.smdp_ca_file = f->tls.ca_cert;
    config.worker_period_ms = 600000;
    eim_fixture_server_start(&config, &f->server, f->base, sizeof f->base);
    eim_fixture_take_api_key(rest(f, "tenants", json_pack("{s:s}", "name", "commits"), 201),
                             f->api_key);
    json_decref(rest(f, "devices", json_pack("{s:s}", "eid", EID), 201));
    *state = f;
    return 0;
}

static int setup_sqlite(void **state)
{
    return setup_common(state, false);
}

static int setup_postgres(void **state)
{
    if (getenv("RSPKIT_TEST_POSTGRES") == NULL) {
        print_message("SKIPPED: RSPKIT_TEST_POSTGRES is not set (run under "
                      "scripts/with-postgres.sh for the PostgreSQL variant)\n");
        *state = NULL;
        return 0;
    }
    return setup_common(state, true);
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f == NULL)
        return 0;
    eim_server_free(f->server);
    http_server_free(f->smdp);
    pthread_mutex_destroy(&f->smdp_state.lock);
    if (f->postgres)
        eim_fixture_drop_schema(f->schema);
    eim_fixture_remove_folder(f->dir, &f->tls);
    free(f);
    return 0;
}

static fixture *fixture_or_skip(void **state)
{
    fixture *f = *state;
    if (f == NULL)
        skip();
    return f;
}

/* One ESipa request (ASN.1 binding) with its HTTP status checked. */
static void esipa_expect(fixture *f, const uint8_t *body, size_t len, long expect,
                         der_writer *answer)
{
    eim_fixture_esipa_asn1(f->tls.ca_cert, f->base, body, len, expect, answer);
}

/* Whether the ESipa answer is the function's success alternative: tag { A0 ... }. */
static bool answered_ok(const der_writer *answer, uint32_t tag)
{
    der_tlv outer, first;
    der_reader reader;
    rsp_error err = {0};
    return der_parse_single(der_writer_view(answer), &outer, &err) == RSP_OK && outer.tag == tag &&
           der_reader_enter(&outer, 0, &reader, &err) == RSP_OK &&
           der_reader_next(&reader, &first, &err) == RSP_OK && first.tag == 0xA0;
}

/* Orders a download from the stand-in SM-DP+ and takes the trigger: its eimTransactionId. */
static void trigger(fixture *f, uint8_t txid[16])
{
    char code[128];
    snprintf(code, sizeof code, "1$%s$MATCHING-7", f->smdp_address);
    json_decref(rest(f, "devices/" EID "/operations",
                     json_pack("{s:s, s:s}", "type", "download", "activationCode", code), 201));
    eim_fixture_poll_trigger(f->tls.ca_cert, f->base, EID, txid);
}

static void initiate(fixture *f, const uint8_t txid[16], der_writer *answer)
{
    eim_fixture_initiate_authentication(f->tls.ca_cert, f->base, f->smdp_address, txid, answer);
}

/* A download ordered and started: the trigger taken, InitiateAuthentication relayed. */
static void start_download(fixture *f, uint8_t txid[16])
{
    trigger(f, txid);
    der_writer answer;
    initiate(f, txid, &answer);
    der_writer_free(&answer);
}

/* AuthenticateClient (BF3B) or GetBoundProfilePackage (BF3A) in the stand-in's session. */
static void in_session(fixture *f, uint32_t tag, der_writer *answer)
{
    static const uint8_t server_response[] = {0xBF, 0x38, 0x02, 0xA1, 0x00};
    static const uint8_t prepare[] = {0xBF, 0x21, 0x02, 0xA0, 0x00};
    uint8_t buf[128];
    der_writer w;
    der_writer_init_fixed(&w, buf, sizeof buf);
    size_t mark = der_begin(&w, tag);
    der_put_tlv(&w, 0x80, smdp_txid, sizeof smdp_txid);
    if (tag == 0xBF3B)
        der_put_raw(&w, server_response, sizeof server_response);
    else
        der_put_raw(&w, prepare, sizeof prepare);
    der_end(&w, mark);
    esipa_expect(f, buf, w.len, 200, answer);
}

static void expect_step_ok(fixture *f, uint32_t tag)
{
    der_writer answer;
    in_session(f, tag, &answer);
    assert_true(answered_ok(&answer, tag));
    der_writer_free(&answer);
}

/* HandleNotificationEsipa with a ProfileInstallationResult for the stand-in's transactionId,
 * naming the stand-in SM-DP+. */
static size_t install_notification(fixture *f, uint8_t seq, uint8_t *buf, size_t size)
{
    return eim_fixture_install_notification(f->smdp_address, smdp_txid, sizeof smdp_txid, seq, buf,
                                            size);
}

static int64_t query(fixture *f, const char *sql)
{
    store_conn *conn = NULL;
    rsp_error err = {0};
    check(store_borrow(eim_server_store(f->server), &conn, &err), &err, "borrow");
    int64_t value = -1;
    check(store_query_int64(conn, sql, NULL, 0, &value, &err), &err, sql);
    store_return(conn);
    return value;
}

static store_statistics stats(fixture *f)
{
    store_statistics s;
    store_stats(eim_server_store(f->server), &s);
    return s;
}

/* A relayed download completes; its session steps (the session row with the relay.started
 * history entry at InitiateAuthentication, the finished marker at GetBoundProfilePackage)
 * are two relaxed commits and no durable one. */
static void test_download_session_commits_relaxed(void **state)
{
    fixture *f = fixture_or_skip(state);
    uint8_t txid[16];
    trigger(f, txid);
    store_statistics before = stats(f);
    der_writer answer;
    initiate(f, txid, &answer);
    assert_true(answered_ok(&answer, 0xBF39));
    der_writer_free(&answer);
    expect_step_ok(f, 0xBF3B);
    expect_step_ok(f, 0xBF3A);
    store_statistics after = stats(f);
    assert_int_equal(after.commits - before.commits, 2);
    assert_int_equal(after.durable_commits - before.durable_commits, 0);
    assert_int_equal(smdp_calls(f), 3);
    assert_int_equal(query(f, "SELECT COUNT(*) FROM eim_audit WHERE action = 'relay.started'"), 1);
    assert_int_equal(query(f, "SELECT COUNT(*) FROM eim_relay_sessions WHERE finished_at IS NOT "
                              "NULL AND device_id IS NOT NULL"),
                     1);
}

/* The session row lost (as a power cut may lose a relaxed commit): AuthenticateClient is
 * answered undefinedError without reaching the SM-DP+, and the IPA's download started over
 * with the same trigger completes. */
static void test_lost_session_started_over(void **state)
{
    fixture *f = fixture_or_skip(state);
    uint8_t txid[16];
    start_download(f, txid);
    der_writer answer;
    assert_int_equal(query(f, "DELETE FROM eim_relay_sessions RETURNING 1"), 1);
    unsigned calls = smdp_calls(f);
    in_session(f, 0xBF3B, &answer);
    static const uint8_t undefined[] = {0xBF, 0x3B, 0x03, 0x82, 0x01, 0x7F};
    assert_int_equal(answer.len, sizeof undefined);
    assert_memory_equal(answer.buf, undefined, sizeof undefined);
    der_writer_free(&answer);
    assert_int_equal(smdp_calls(f), calls);
    initiate(f, txid, &answer);
    assert_true(answered_ok(&answer, 0xBF39));
    der_writer_free(&answer);
    expect_step_ok(f, 0xBF3B);
    expect_step_ok(f, 0xBF3A);
    assert_int_equal(smdp_calls(f), calls + 3);
}

/* A notification is forwarded, then acknowledged after exactly one commit, durable, holding
 * its outbox row with the delivery, its history and audit entries. A repeat from the IPA
 * writes the audit entry again, durably, and is not forwarded twice. */
static void test_notification_durable_once(void **state)
{
    fixture *f = fixture_or_skip(state);
    uint8_t txid[16];
    start_download(f, txid);
    der_writer answer;
    uint8_t buf[512];
    size_t len = install_notification(f, 1, buf, sizeof buf);
    store_statistics before = stats(f);
    esipa_expect(f, buf, len, 204, &answer);
    der_writer_free(&answer);
    store_statistics after = stats(f);
    assert_int_equal(after.durable_commits - before.durable_commits, 1);
    assert_int_equal(after.commits - before.commits, 1);
    assert_int_equal(f->smdp_state.notifications, 1);
    assert_int_equal(query(f, "SELECT COUNT(*) FROM eim_notification_outbox WHERE delivered_at "
                              "IS NOT NULL AND attempts = 1"),
                     1);
    assert_int_equal(query(f, "SELECT COUNT(*) FROM eim_audit WHERE action IN "
                              "('notification.received', 'esipa.notification')"),
                     2);
    before = after;
    esipa_expect(f, buf, len, 204, &answer);
    der_writer_free(&answer);
    after = stats(f);
    assert_int_equal(after.durable_commits - before.durable_commits, 1);
    assert_int_equal(after.commits - before.commits, 1);
    assert_int_equal(f->smdp_state.notifications, 1);
    assert_int_equal(query(f, "SELECT COUNT(*) FROM eim_notification_outbox"), 1);
}

/* The SM-DP+ fails the forward: the notification acknowledged to the IPA is in the outbox
 * (durably), and the worker's claim and the delivery it records are relaxed commits. */
static void test_undelivered_notification_in_outbox(void **state)
{
    fixture *f = fixture_or_skip(state);
    uint8_t txid[16];
    start_download(f, txid);
    der_writer answer;
    f->smdp_state.fail_notifications = 1;
    uint8_t buf[512];
    size_t len = install_notification(f, 2, buf, sizeof buf);
    store_statistics before = stats(f);
    esipa_expect(f, buf, len, 204, &answer);
    der_writer_free(&answer);
    store_statistics after = stats(f);
    assert_int_equal(after.durable_commits - before.durable_commits, 1);
    assert_int_equal(query(f, "SELECT COUNT(*) FROM eim_notification_outbox WHERE delivered_at "
                              "IS NULL AND attempts = 1"),
                     1);
    /* the worker's other passes commit the same with or without a notification due */
    query(f, "UPDATE eim_notification_outbox SET next_attempt_at = 4000000000 RETURNING 1");
    before = stats(f);
    eim_server_run_background(f->server);
    after = stats(f);
    uint64_t idle_durable = after.durable_commits - before.durable_commits;
    assert_int_equal(f->smdp_state.notifications, 1);
    query(f, "UPDATE eim_notification_outbox SET next_attempt_at = 0 RETURNING 1");
    before = stats(f);
    eim_server_run_background(f->server);
    after = stats(f);
    assert_int_equal(f->smdp_state.notifications, 2);
    assert_int_equal(query(f, "SELECT COUNT(*) FROM eim_notification_outbox WHERE delivered_at "
                              "IS NOT NULL AND attempts = 2"),
                     1);
    assert_true(after.commits - before.commits >= 2);
    assert_int_equal(after.durable_commits - before.durable_commits, idle_durable);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_download_session_commits_relaxed, setup_sqlite,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_lost_session_started_over, setup_sqlite, teardown),
        cmocka_unit_test_setup_teardown(test_notification_durable_once, setup_sqlite, teardown),
        cmocka_unit_test_setup_teardown(test_undelivered_notification_in_outbox, setup_sqlite,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_download_session_commits_relaxed, setup_postgres,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_lost_session_started_over, setup_postgres, teardown),
        cmocka_unit_test_setup_teardown(test_notification_durable_once, setup_postgres, teardown),
        cmocka_unit_test_setup_teardown(test_undelivered_notification_in_outbox, setup_postgres,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
