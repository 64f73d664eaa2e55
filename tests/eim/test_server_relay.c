/* The eIM's download relay against a stand-in SM-DP+ (ES9+ JSON over HTTPS, answers fixed in
 * the test): every ESipa call becomes the right ES9+ call with the exact bytes, every ES9+
 * answer becomes the right ESipa answer with the exact bytes; the session is bound to the
 * device of the trigger's eimTransactionId and continues over a new TCP connection; a blocked
 * device and the SM-DP+ of another order are refused. Notifications reach the SM-DP+ they name
 * also after the order finished (204 No Content is success), through an outbox that retries
 * until the SM-DP+ takes them, once each. ES9+ calls reuse one connection per eIM thread. */
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

#include "eim_fixture.h"

#define EIM_ID    "eim.relay.example"
#define ADMIN_KEY "admin-secret"
#define EID       "89049032123451234512345678901235"

/* Well-formed stand-ins for the signed values: the relay must pass them on untouched. */
static const uint8_t server_signed1[] = {0x30, 0x05, 0x80, 0x03, 0x0A, 0x0B, 0x0C};
static const uint8_t server_signature1[] = {0x5F, 0x37, 0x03, 0x01, 0x02, 0x03};
static const uint8_t ci_pkid[] = {0x04, 0x02, 0xF5, 0x41};
static const uint8_t server_certificate[] = {0x30, 0x03, 0x02, 0x01, 0x07};
static const uint8_t profile_metadata[] = {0xBF, 0x25, 0x03, 0x5A, 0x01, 0x98};
static const uint8_t smdp_signed2[] = {0x30, 0x03, 0x80, 0x01, 0x0D};
static const uint8_t smdp_signature2[] = {0x5F, 0x37, 0x02, 0x0E, 0x0F};
static const uint8_t smdp_certificate[] = {0x30, 0x03, 0x02, 0x01, 0x08};
static const uint8_t bpp[] = {0xBF, 0x36, 0x03, 0xBF, 0x23, 0x00};
static const uint8_t smdp_txid[] = {0xA1, 0xB2, 0xC3, 0xD4};

typedef struct {
    pthread_mutex_t lock;
    unsigned calls;
    char last_function[64];
    json_t *last_request;
    unsigned notifications;      /* handleNotification calls */
    unsigned fail_notifications; /* the next ones answered HTTP 500 */
    const char *refuse_function; /* answered Failed with the code below, or HTTP 500 */
    const char *refuse_subject;  /* NULL: HTTP 500 */
    const char *refuse_reason;
} smdp_state;

typedef struct {
    char dir[64];
    char key_path[128];
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
    pthread_mutex_lock(&s->lock);
    s->calls++;
    snprintf(s->last_function, sizeof s->last_function, "%s", function);
    json_decref(s->last_request);
    s->last_request = body;
    pthread_mutex_unlock(&s->lock);
    if (strcmp(function, "handleNotification") == 0)
        return eim_fixture_smdp_notification(&s->lock, &s->notifications, &s->fail_notifications,
                                             reply);
    if (s->refuse_function != NULL && strcmp(function, s->refuse_function) == 0) {
        rsp_status_code_data code = {.subject_code = s->refuse_subject,
                                     .reason_code = s->refuse_reason};
        json_t *refusal = json_object();
        json_object_set_new(refusal, "header",
                            rsp_json_response_header(RSP_EXECUTION_FAILED, &code));
        rsp_status st =
            rsp_json_reply(reply, s->refuse_subject ? 200 : 500, s->refuse_subject ? refusal : NULL,
                           RSP_ADMIN_PROTOCOL_SGP22_V2_5);
        json_decref(refusal);
        return st == RSP_OK ? 0 : -1;
    }
    json_t *answer = eim_fixture_smdp_answer();
    if (strcmp(function, "initiateAuthentication") == 0) {
        rsp_json_set_hex(answer, "transactionId", smdp_txid, sizeof smdp_txid);
        rsp_json_set_base64(answer, "serverSigned1", server_signed1, sizeof server_signed1);
        rsp_json_set_base64(answer, "serverSignature1", server_signature1,
                            sizeof server_signature1);
        rsp_json_set_base64(answer, "euiccCiPKIdToBeUsed", ci_pkid, sizeof ci_pkid);
        rsp_json_set_base64(answer, "serverCertificate", server_certificate,
                            sizeof server_certificate);
    } else if (strcmp(function, "authenticateClient") == 0) {
        rsp_json_set_hex(answer, "transactionId", smdp_txid, sizeof smdp_txid);
        rsp_json_set_base64(answer, "profileMetadata", profile_metadata, sizeof profile_metadata);
        rsp_json_set_base64(answer, "smdpSigned2", smdp_signed2, sizeof smdp_signed2);
        rsp_json_set_base64(answer, "smdpSignature2", smdp_signature2, sizeof smdp_signature2);
        rsp_json_set_base64(answer, "smdpCertificate", smdp_certificate, sizeof smdp_certificate);
    } else if (strcmp(function, "getBoundProfilePackage") == 0) {
        rsp_json_set_hex(answer, "transactionId", smdp_txid, sizeof smdp_txid);
        rsp_json_set_base64(answer, "boundProfilePackage", bpp, sizeof bpp);
    }
    return eim_fixture_smdp_reply(reply, answer);
}

static json_t *rest(fixture *f, const char *path, json_t *body, long expect)
{
    return eim_fixture_post_json_fresh(f->tls.ca_cert, f->base, f->api_key, ADMIN_KEY, path, body,
                                       expect);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/rspkit-eim-relay-XXXXXX");
    eim_fixture_folder(f->dir, &f->tls, "eim.pem", f->key_path, sizeof f->key_path);
    pthread_mutex_init(&f->smdp_state.lock, NULL);
    f->smdp = eim_fixture_smdp_start(&f->tls, smdp_handler, &f->smdp_state, f->smdp_address,
                                     sizeof f->smdp_address);
    char db[128];
    eim_fixture_database(false, f->dir, NULL, NULL, db, sizeof db);
    eim_server_config config =
        eim_fixture_server_config(&f->tls, db, EIM_ID, f->key_path, ADMIN_KEY);
    config.smdp_ca_file = f->tls.ca_cert;
    eim_fixture_server_start(&config, &f->server, f->base, sizeof f->base);
    eim_fixture_take_api_key(rest(f, "tenants", json_pack("{s:s}", "name", "relay"), 201),
                             f->api_key);
    json_decref(rest(f, "devices", json_pack("{s:s}", "eid", EID), 201));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    eim_server_free(f->server);
    http_server_free(f->smdp);
    json_decref(f->smdp_state.last_request);
    pthread_mutex_destroy(&f->smdp_state.lock);
    eim_fixture_remove_folder(f->dir, &f->tls);
    free(f);
    return 0;
}

/* One ESipa request on a fresh TCP/TLS connection (the IPA may reconnect at any step). */
static void esipa_expect(fixture *f, const uint8_t *body, size_t len, long expect,
                         der_writer *answer)
{
    assert_int_equal(eim_fixture_esipa_asn1(f->tls.ca_cert, f->base, body, len, expect, answer), 1);
}

static void esipa(fixture *f, const uint8_t *body, size_t len, der_writer *answer)
{
    esipa_expect(f, body, len, 200, answer);
}

/* Orders a download from the stand-in SM-DP+ and takes the trigger: its eimTransactionId. */
static void trigger(fixture *f, const char *address, uint8_t txid[16])
{
    char code[128];
    snprintf(code, sizeof code, "1$%s$MATCHING-7", address);
    json_decref(rest(f, "devices/" EID "/operations",
                     json_pack("{s:s, s:s}", "type", "download", "activationCode", code), 201));
    assert_int_equal(eim_fixture_poll_trigger(f->tls.ca_cert, f->base, EID, txid), 1);
}

static void initiate(fixture *f, const char *address, const uint8_t txid[16], der_writer *answer)
{
    assert_int_equal(
        eim_fixture_initiate_authentication(f->tls.ca_cert, f->base, address, txid, answer), 1);
}

static void expect_bytes(const der_writer *w, const uint8_t *expected, size_t len)
{
    assert_int_equal(w->len, len);
    assert_memory_equal(w->buf, expected, len);
}

/* A call inside the relay session, on a fresh connection: ESipa tag { 80 smdp_txid, payload }. */
static void esipa_in_session(fixture *f, uint32_t tag, const uint8_t *payload, size_t payload_len,
                             der_writer *answer)
{
    uint8_t buf[128];
    der_writer w;
    der_writer_init_fixed(&w, buf, sizeof buf);
    size_t mark = der_begin(&w, tag);
    der_put_tlv(&w, 0x80, smdp_txid, sizeof smdp_txid);
    der_put_raw(&w, payload, payload_len);
    der_end(&w, mark);
    assert_int_equal(der_writer_status(&w), RSP_OK);
    esipa(f, buf, w.len, answer);
}

/* Asserts that answer is exactly tag { A0 { 80 smdp_txid, the TLVs of parts in order } }, the
 * SM-DP+'s fields relayed byte for byte, and frees answer. */
static void expect_relayed_ok(der_writer *answer, uint32_t tag, const der_view *parts,
                              size_t part_count)
{
    der_writer expected;
    der_writer_init_dynamic(&expected, NULL);
    size_t outer = der_begin(&expected, tag), ok = der_begin(&expected, 0xA0);
    der_put_tlv(&expected, 0x80, smdp_txid, sizeof smdp_txid);
    for (size_t i = 0; i < part_count; i++)
        der_put_raw(&expected, parts[i].data, parts[i].len);
    der_end(&expected, ok);
    der_end(&expected, outer);
    expect_bytes(answer, expected.buf, expected.len);
    der_writer_free(&expected);
    der_writer_free(answer);
}

/* The SM-DP+ stand-in's last request was function, with field set to value. */
static void expect_relayed_request(fixture *f, const char *function, const char *field,
                                   const char *value)
{
    assert_string_equal(f->smdp_state.last_function, function);
    assert_string_equal(json_string_value(json_object_get(f->smdp_state.last_request, field)),
                        value);
}

static void test_download_relayed_byte_for_byte(void **state)
{
    fixture *f = *state;
    uint8_t txid[16];
    trigger(f, f->smdp_address, txid);
    der_writer answer;
    initiate(f, f->smdp_address, txid, &answer);
    /* ES9+ request: challenge and euiccInfo1 as sent, the SM-DP+ address */
    expect_relayed_request(f, "initiateAuthentication", "smdpAddress", f->smdp_address);
    expect_relayed_request(f, "initiateAuthentication", "euiccInfo1", "vyADggEC");
    /* ESipa answer: BF39 { A0 { 80 txid, the four TLVs exactly } } */
    const der_view initiate_parts[] = {
        der_view_make(server_signed1, sizeof server_signed1),
        der_view_make(server_signature1, sizeof server_signature1),
        der_view_make(ci_pkid, sizeof ci_pkid),
        der_view_make(server_certificate, sizeof server_certificate)};
    expect_relayed_ok(&answer, 0xBF39, initiate_parts, 4);

    /* AuthenticateClient on a new connection: BF3B { 80 txid, BF38 ... } */
    static const uint8_t server_response[] = {0xBF, 0x38, 0x02, 0xA1, 0x00};
    esipa_in_session(f, 0xBF3B, server_response, sizeof server_response, &answer);
    expect_relayed_request(f, "authenticateClient", "transactionId", "A1B2C3D4");
    expect_relayed_request(f, "authenticateClient", "authenticateServerResponse", "vzgCoQA=");
    const der_view authenticate_parts[] = {
        der_view_make(profile_metadata, sizeof profile_metadata),
        der_view_make(smdp_signed2, sizeof smdp_signed2),
        der_view_make(smdp_signature2, sizeof smdp_signature2),
        der_view_make(smdp_certificate, sizeof smdp_certificate)};
    expect_relayed_ok(&answer, 0xBF3B, authenticate_parts, 4);

    /* GetBoundProfilePackage: BF3A { A0 { 80 txid, BF36 ... } } */
    static const uint8_t prepare[] = {0xBF, 0x21, 0x02, 0xA0, 0x00};
    esipa_in_session(f, 0xBF3A, prepare, sizeof prepare, &answer);
    const der_view bpp_parts[] = {der_view_make(bpp, sizeof bpp)};
    expect_relayed_ok(&answer, 0xBF3A, bpp_parts, 1);

    /* the session is over: a late call is not relayed */
    unsigned calls = f->smdp_state.calls;
    esipa_in_session(f, 0xBF3A, prepare, sizeof prepare, &answer);
    static const uint8_t refused[] = {0xBF, 0x3A, 0x03, 0x81, 0x01, 0x7F};
    expect_bytes(&answer, refused, sizeof refused);
    der_writer_free(&answer);
    assert_int_equal(f->smdp_state.calls, calls);
    /* keep-alive: the 3 ES9+ calls came from the eIM's 2 threads, one connection per thread */
    assert_int_equal(calls, 3);
    assert_true(http_server_connections_total(f->smdp) <= 2);
}

/* GetBoundProfilePackage relayed in an open session (initiate and authenticate done). */
static void relay_get_bpp(fixture *f, der_writer *answer)
{
    static const uint8_t server_response[] = {0xBF, 0x38, 0x02, 0xA1, 0x00};
    static const uint8_t prepare[] = {0xBF, 0x21, 0x02, 0xA0, 0x00};
    uint8_t txid[16];
    trigger(f, f->smdp_address, txid);
    initiate(f, f->smdp_address, txid, answer);
    der_writer_free(answer);
    esipa_in_session(f, 0xBF3B, server_response, sizeof server_response, answer);
    der_writer_free(answer);
    esipa_in_session(f, 0xBF3A, prepare, sizeof prepare, answer);
}

/* An SM-DP+ refusal becomes the function's specific ESipa error (SGP.22 v2.5 section 5.6.2
 * onto SGP.32 v1.2 section 6.3.2.3), which the IPA takes as final: a wrong confirmation code
 * reaches the SM-DP+ once. undefinedError (127) stays for an SM-DP+ that gave no answer. */
static void test_smdp_refusal_mapped(void **state)
{
    fixture *f = *state;
    f->smdp_state.refuse_function = "getBoundProfilePackage";
    f->smdp_state.refuse_subject = "8.2.7";
    f->smdp_state.refuse_reason = "3.8";
    unsigned before = f->smdp_state.calls;
    der_writer answer;
    relay_get_bpp(f, &answer);
    static const uint8_t refused[] = {
        0xBF, 0x3A, 0x03,
        0x81, 0x01, SGP32_GET_BOUND_PROFILE_PACKAGE_ERROR_CONFIRMATION_CODE_REFUSED};
    expect_bytes(&answer, refused, sizeof refused);
    der_writer_free(&answer);
    assert_string_equal(f->smdp_state.last_function, "getBoundProfilePackage");
    assert_int_equal(f->smdp_state.calls - before, 3); /* one each: no hidden retry */

    f->smdp_state.refuse_function = "authenticateClient";
    f->smdp_state.refuse_subject = "8.2.6";
    f->smdp_state.refuse_reason = "3.8";
    uint8_t txid[16];
    trigger(f, f->smdp_address, txid);
    initiate(f, f->smdp_address, txid, &answer);
    der_writer_free(&answer);
    static const uint8_t server_response[] = {0xBF, 0x38, 0x02, 0xA1, 0x00};
    esipa_in_session(f, 0xBF3B, server_response, sizeof server_response, &answer);
    static const uint8_t matching_id[] = {
        0xBF, 0x3B, 0x03, 0x82, 0x01, SGP32_AUTHENTICATE_CLIENT_ERROR_MATCHING_ID_REFUSED};
    expect_bytes(&answer, matching_id, sizeof matching_id);
    der_writer_free(&answer);

    /* no ES9+ answer (HTTP 500): the transient undefinedError */
    f->smdp_state.refuse_function = "getBoundProfilePackage";
    f->smdp_state.refuse_subject = NULL;
    relay_get_bpp(f, &answer);
    static const uint8_t transient[] = {0xBF, 0x3A, 0x03, 0x81, 0x01, 0x7F};
    expect_bytes(&answer, transient, sizeof transient);
    der_writer_free(&answer);
}

static void test_blocked_and_foreign_smdp(void **state)
{
    fixture *f = *state;
    uint8_t txid[16];
    trigger(f, f->smdp_address, txid);
    /* the trigger names this SM-DP+: another address is refused (invalidDpAddress) */
    der_writer answer;
    initiate(f, "127.0.0.1:1", txid, &answer);
    static const uint8_t invalid[] = {0xBF, 0x39, 0x03, 0x81, 0x01, 0x01};
    expect_bytes(&answer, invalid, sizeof invalid);
    der_writer_free(&answer);
    /* blocked: no relay at all */
    json_decref(rest(f, "devices/" EID "/block", json_object(), 200));
    initiate(f, f->smdp_address, txid, &answer);
    static const uint8_t undefined[] = {0xBF, 0x39, 0x03, 0x81, 0x01, 0x7F};
    expect_bytes(&answer, undefined, sizeof undefined);
    der_writer_free(&answer);
    assert_int_equal(f->smdp_state.calls, 0);
}

/* HandleNotificationEsipa with a successful ProfileInstallationResult for the stand-in
 * SM-DP+'s transactionId, naming address. */
static size_t install_notification(const char *address, uint8_t seq, uint8_t *buf, size_t size,
                                   der_view *notification)
{
    size_t len =
        eim_fixture_install_notification(address, smdp_txid, sizeof smdp_txid, seq, buf, size);
    der_tlv outer, inner;
    rsp_error err = {0};
    check(der_parse_single(der_view_make(buf, len), &outer, &err), &err, "notification");
    der_reader reader;
    check(der_reader_enter(&outer, 0, &reader, &err), &err, "wrapper");
    check(der_reader_next(&reader, &inner, &err), &err, "wrapper");
    check(der_reader_enter(&inner, 0, &reader, &err), &err, "pir");
    check(der_reader_next(&reader, &inner, &err), &err, "pir");
    *notification = inner.whole;
    return len;
}

static int64_t outbox_query(fixture *f, const char *sql)
{
    store_conn *conn = NULL;
    rsp_error err = {0};
    check(store_borrow(eim_server_store(f->server), &conn, &err), &err, "borrow");
    int64_t value = -1;
    check(store_query_int64(conn, sql, NULL, 0, &value, &err), &err, sql);
    store_return(conn);
    return value;
}

/* The download order finished before the installation notification arrives (the IPA sends
 * notifications after the result): the notification still goes to the SM-DP+, whose 204 is
 * success; a repeat of the same notification is acknowledged without a second forward. */
static void test_notification_after_order_finished(void **state)
{
    fixture *f = *state;
    uint8_t txid[16];
    trigger(f, f->smdp_address, txid);
    der_writer answer;
    initiate(f, f->smdp_address, txid, &answer);
    der_writer_free(&answer);
    outbox_query(f, "UPDATE eim_orders SET state = 'succeeded' RETURNING 1");
    uint8_t buf[512];
    der_view notification;
    size_t len = install_notification(f->smdp_address, 1, buf, sizeof buf, &notification);
    esipa_expect(f, buf, len, 204, &answer);
    der_writer_free(&answer);
    assert_int_equal(f->smdp_state.notifications, 1);
    assert_string_equal(f->smdp_state.last_function, "handleNotification");
    uint8_t *sent = NULL;
    size_t sent_len = 0;
    rsp_error err = {0};
    check(rsp_json_get_base64(f->smdp_state.last_request, "pendingNotification", true, 4096, &sent,
                              &sent_len, NULL, &err),
          &err, "pendingNotification");
    assert_int_equal(sent_len, notification.len);
    assert_memory_equal(sent, notification.data, sent_len);
    free(sent);
    assert_int_equal(outbox_query(f, "SELECT COUNT(*) FROM eim_notification_outbox WHERE "
                                     "delivered_at IS NOT NULL AND attempts = 1"),
                     1);
    esipa_expect(f, buf, len, 204, &answer);
    der_writer_free(&answer);
    assert_int_equal(f->smdp_state.notifications, 1);
}

/* The SM-DP+ fails the first forward: the IPA is acknowledged all the same (the notification
 * is in the outbox) and the worker's next pass delivers it. A notification naming an SM-DP+
 * no order of the device named is recorded, not forwarded. */
static void test_notification_retried_and_foreign_address(void **state)
{
    fixture *f = *state;
    uint8_t txid[16];
    trigger(f, f->smdp_address, txid);
    der_writer answer;
    initiate(f, f->smdp_address, txid, &answer);
    der_writer_free(&answer);
    f->smdp_state.fail_notifications = 1;
    uint8_t buf[512];
    der_view notification;
    size_t len = install_notification(f->smdp_address, 2, buf, sizeof buf, &notification);
    esipa_expect(f, buf, len, 204, &answer);
    der_writer_free(&answer);
    assert_int_equal(f->smdp_state.notifications, 1);
    assert_int_equal(outbox_query(f, "SELECT COUNT(*) FROM eim_notification_outbox WHERE "
                                     "delivered_at IS NULL AND attempts = 1"),
                     1);
    eim_server_run_background(f->server); /* not due yet: back-off */
    assert_int_equal(f->smdp_state.notifications, 1);
    outbox_query(f, "UPDATE eim_notification_outbox SET next_attempt_at = 0 RETURNING 1");
    eim_server_run_background(f->server);
    assert_int_equal(f->smdp_state.notifications, 2);
    assert_int_equal(outbox_query(f, "SELECT COUNT(*) FROM eim_notification_outbox WHERE "
                                     "delivered_at IS NOT NULL AND attempts = 2"),
                     1);
    len = install_notification("127.0.0.1:1", 3, buf, sizeof buf, &notification);
    esipa_expect(f, buf, len, 204, &answer);
    der_writer_free(&answer);
    assert_int_equal(outbox_query(f, "SELECT COUNT(*) FROM eim_notification_outbox"), 1);
    assert_int_equal(f->smdp_state.notifications, 2);
}

/* One ESipa JSON call without a request header (as onomondo-ipa sends them). */
static json_t *esipa_json(fixture *f, const char *function, json_t *request, long *status)
{
    http_client_config config = {.ca_file = f->tls.ca_cert};
    rsp_error err = {0};
    http_client *client = http_client_new(&config, &err);
    char url[160];
    snprintf(url, sizeof url, "%s/gsma/rsp2/esipa/%s", f->base, function);
    json_t *answer = NULL;
    check(rsp_json_call(client, url, request, RSP_ADMIN_PROTOCOL_SGP22_V2_5, NULL, 1u << 20, status,
                        &answer, NULL, &err),
          &err, function);
    json_decref(request);
    http_client_free(client);
    return answer;
}

/* The JSON binding's names: euiccCiPKIdentifierToBeUsed (SGP.32 v1.1 and later), and a
 * pendingNotification relayed like its ASN.1 form. */
static void test_json_binding(void **state)
{
    fixture *f = *state;
    uint8_t txid[16];
    trigger(f, f->smdp_address, txid);
    static const uint8_t challenge[16] = {9, 8, 7};
    static const uint8_t info1[] = {0xBF, 0x20, 0x03, 0x82, 0x01, 0x02};
    json_t *request = json_pack("{s:s}", "smdpAddress", f->smdp_address);
    rsp_json_set_base64(request, "euiccChallenge", challenge, sizeof challenge);
    rsp_json_set_base64(request, "euiccInfo1", info1, sizeof info1);
    rsp_json_set_hex(request, "eimTransactionId", txid, 16);
    long status = 0;
    json_t *answer = esipa_json(f, "initiateAuthentication", request, &status);
    assert_int_equal(status, 200);
    assert_null(json_object_get(answer, "euiccCiPKIdToBeUsed"));
    assert_string_equal(json_string_value(json_object_get(answer, "euiccCiPKIdentifierToBeUsed")),
                        "BAL1QQ==");
    json_decref(answer);
    uint8_t buf[512];
    der_view notification;
    install_notification(f->smdp_address, 4, buf, sizeof buf, &notification);
    request = json_object();
    rsp_json_set_base64(request, "pendingNotification", notification.data, notification.len);
    answer = esipa_json(f, "handleNotification", request, &status);
    assert_int_equal(status, 204);
    assert_null(answer);
    assert_int_equal(f->smdp_state.notifications, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_download_relayed_byte_for_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocked_and_foreign_smdp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_smdp_refusal_mapped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_notification_after_order_finished, setup, teardown),
        cmocka_unit_test_setup_teardown(test_notification_retried_and_foreign_address, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_json_binding, setup, teardown),
    };
    return cmocka_run_group_tests_name("eim download relay", tests, NULL, NULL);
}
