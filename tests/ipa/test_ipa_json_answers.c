/* The IPA's ESipa JSON binding against a scripted eIM: the automatic switch from the ASN.1
 * binding, the shape of the JSON requests, and malformed JSON answers (no crash, a clear
 * error, no package run from garbage, no result lost). The eUICC is the ES10 fake. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/json_min.h"
#include "core/schema.h"
#include "core/sgp32.h"
#include "ipa/ipa.h"
#include "ipa/ipa_internal.h"
#include "ipa_fakes.h"

#define OK_HEADER  "{\"header\":{\"functionExecutionStatus\":{\"status\":\"Executed-Success\"}}"
#define NO_PACKAGE OK_HEADER ",\"eimPackageError\":1}"

typedef struct {
    ipa_fixture fx;
    ipa_instance *ipa;
    long asn1_status; /* answer of the ASN.1 path */
    unsigned asn1_posts;
    unsigned json_posts;
    char get_answer[4096]; /* body answered to getEimPackage */
    long get_status;
    char provide_answer[4096];
    long provide_status;
    char last_function[48];
    uint8_t last_body[8192];
    size_t last_body_len;
    uint8_t last_provide[8192];
    size_t last_provide_len;
} state;

static rsp_status scripted_post(void *ctx, const ipa_http_request *request, der_writer *response,
                                long *http_status, rsp_error *err)
{
    state *s = ctx;
    const char *prefix = "https://eim.example/gsma/rsp2/esipa/";
    if (strcmp(request->url, "https://eim.example/gsma/rsp2/asn1") == 0) {
        s->asn1_posts++;
        *http_status = s->asn1_status;
        return RSP_OK;
    }
    if (strncmp(request->url, prefix, strlen(prefix)) != 0)
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "unexpected URL %s", request->url);
    s->json_posts++;
    snprintf(s->last_function, sizeof s->last_function, "%s", request->url + strlen(prefix));
    s->last_body_len = request->body.len < sizeof s->last_body ? request->body.len : 0;
    memcpy(s->last_body, request->body.data, s->last_body_len);
    const char *answer = "";
    *http_status = 204;
    if (strcmp(s->last_function, "getEimPackage") == 0) {
        der_put_raw(response, (const uint8_t *)s->get_answer, strlen(s->get_answer));
        *http_status = s->get_status;
        /* a package is handed out once */
        if (strstr(s->get_answer, "euiccPackageRequest") != NULL)
            snprintf(s->get_answer, sizeof s->get_answer, "%s", NO_PACKAGE);
    } else if (strcmp(s->last_function, "provideEimPackageResult") == 0) {
        memcpy(s->last_provide, s->last_body, s->last_body_len);
        s->last_provide_len = s->last_body_len;
        answer = s->provide_answer;
        *http_status = s->provide_status;
    }
    der_put_raw(response, (const uint8_t *)answer, strlen(answer));
    return RSP_OK;
}

static int setup_binding(void **ctx, ipa_esipa_binding binding)
{
    static state s;
    memset(&s, 0, sizeof s);
    ipa_fixture_init(&s.fx);
    s.fx.platform.http_post = scripted_post;
    s.fx.platform.http_ctx = &s;
    s.fx.config.esipa_binding = binding;
    s.asn1_status = 404;
    s.get_status = 200;
    s.provide_status = 200;
    snprintf(s.get_answer, sizeof s.get_answer, "%s", NO_PACKAGE);
    snprintf(s.provide_answer, sizeof s.provide_answer, "%s",
             OK_HEADER ",\"eimAcknowledgements\":[]}");
    rsp_error err = {0};
    if (ipa_new(&s.fx.platform, &s.fx.config, &s.ipa, &err) != RSP_OK)
        return -1;
    *ctx = &s;
    return 0;
}

static int setup_auto(void **ctx)
{
    return setup_binding(ctx, IPA_ESIPA_BINDING_AUTO);
}

static int setup_json(void **ctx)
{
    return setup_binding(ctx, IPA_ESIPA_BINDING_JSON);
}

static int teardown(void **ctx)
{
    state *s = *ctx;
    ipa_free(s->ipa);
    ipa_fixture_free(&s->fx);
    return 0;
}

/* The string member `name` of the JSON text, decoded; "" when absent. */
static const char *member_text(const uint8_t *json, size_t len, const char *name)
{
    static char text[4096];
    der_view value;
    der_writer w;
    der_writer_init_fixed(&w, (uint8_t *)text, sizeof text - 1);
    text[0] = 0;
    if (json_min_member(der_view_make(json, len), name, &value, NULL) == RSP_OK &&
        json_min_string(value, &w, NULL) == RSP_OK)
        text[w.len] = 0;
    return text;
}

/* getEimPackage answers an enable package for the fake eUICC (base64 of its BF51 TLV). */
static void answer_enable_package(state *s)
{
    uint8_t package[512];
    size_t len = build_euicc_package_enable(package, sizeof package, s->fx.euicc.eid, 2, 1, false);
    assert_true(len > 0);
    der_writer w;
    der_writer_init_fixed(&w, (uint8_t *)s->get_answer, sizeof s->get_answer - 1);
    json_min_put_raw(&w, OK_HEADER ",\"euiccPackageRequest\":");
    json_min_put_base64(&w, der_view_make(package, len));
    json_min_put_raw(&w, "}");
    assert_int_equal(der_writer_status(&w), RSP_OK);
    s->get_answer[w.len] = 0;
}

static void test_auto_switches_to_json_when_asn1_is_not_served(void **ctx)
{
    state *s = *ctx;
    ipa_poll_report report;
    rsp_error err = {0};
    assert_int_equal(ipa_poll_once(s->ipa, &report, &err), RSP_OK);
    assert_int_equal(s->asn1_posts, 1);
    assert_int_equal(s->json_posts, 1);
    assert_string_equal(s->last_function, "getEimPackage");
    /* the request: SGP.22 header, the EID as hex */
    der_view body = der_view_make(s->last_body, s->last_body_len), header, value;
    assert_int_equal(json_min_validate(body, 8, &err), RSP_OK);
    assert_int_equal(json_min_member(body, "header", &header, &err), RSP_OK);
    assert_int_equal(json_min_member(header, "functionCallIdentifier", &value, &err), RSP_OK);
    char eid[33];
    der_hex_encode(s->fx.euicc.eid, 16, eid, true);
    assert_string_equal(member_text(s->last_body, s->last_body_len, "eidValue"), eid);
    assert_int_equal(json_min_member(body, "rPLMN", &value, NULL), RSP_ERR_NOT_FOUND);
    /* the JSON binding stays chosen */
    assert_int_equal(ipa_poll_once(s->ipa, &report, &err), RSP_OK);
    assert_int_equal(s->asn1_posts, 1);
    assert_int_equal(s->json_posts, 2);
}

static void test_explicit_asn1_does_not_switch(void **ctx)
{
    state *s = *ctx;
    ipa_free(s->ipa);
    s->fx.config.esipa_binding = IPA_ESIPA_BINDING_ASN1;
    rsp_error err = {0};
    assert_int_equal(ipa_new(&s->fx.platform, &s->fx.config, &s->ipa, &err), RSP_OK);
    ipa_poll_report report;
    assert_int_equal(ipa_poll_once(s->ipa, &report, &err), RSP_ERR_IO);
    assert_non_null(strstr(err.message, "404"));
    assert_int_equal(s->json_posts, 0);
}

static void test_state_change_and_rplmn_in_json(void **ctx)
{
    state *s = *ctx;
    static const uint8_t plmn[3] = {0x62, 0xF2, 0x10};
    ipa_set_state_change(s->ipa, 3);
    ipa_set_rplmn(s->ipa, plmn);
    ipa_poll_report report;
    rsp_error err = {0};
    assert_int_equal(ipa_poll_once(s->ipa, &report, &err), RSP_OK);
    der_view body = der_view_make(s->last_body, s->last_body_len), value;
    bool flag = false;
    int64_t cause = 0;
    assert_int_equal(json_min_member(body, "notifyStateChange", &value, &err), RSP_OK);
    assert_int_equal(json_min_bool(value, &flag, &err), RSP_OK);
    assert_true(flag);
    assert_int_equal(json_min_member(body, "stateChangeCause", &value, &err), RSP_OK);
    assert_int_equal(json_min_int64(value, &cause, &err), RSP_OK);
    assert_int_equal(cause, 3);
    assert_string_equal(member_text(s->last_body, s->last_body_len, "rPLMN"), "62F210");
}

/* Answers to ProvideEimPackageResult that must not cost the stored result. */
static const char *const bad_provide_answers[] = {
    "",
    "{",
    "not json",
    "[]",
    "{\"header\":{}}",
    OK_HEADER,                                                    /* no closing brace */
    OK_HEADER ",\"eimAcknowledgements\":[1,\"two\"]}",            /* not integers */
    OK_HEADER ",\"eimAcknowledgements\":\"AAAA\"}",               /* not EimAcknowledgements */
    OK_HEADER ",\"eimAcknowledgements\":[99999999999999999999]}", /* out of range */
    OK_HEADER ",\"eimAcknowledgements\":[],\"eimAcknowledgements\":[]}", /* duplicate */
    OK_HEADER ",\"provideEimPackageResultError\":1,\"x\":\"\xC0\xAF\"}", /* overlong UTF-8 */
    OK_HEADER ",\"x\":\"\\ud800\"}",                                     /* lone surrogate */
    "{\"header\":{\"functionExecutionStatus\":{\"status\":\"Failed\",\"statusCodeData\":"
    "{\"subjectCode\":\"1.2\",\"reasonCode\":\"2.1\",\"message\":\"unreadable\"}}}}",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]"
    "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
};

static void test_malformed_result_answers_keep_the_result(void **ctx)
{
    state *s = *ctx;
    ipa_poll_report report;
    rsp_error err = {0};
    answer_enable_package(s);
    snprintf(s->provide_answer, sizeof s->provide_answer, "%s", bad_provide_answers[0]);
    assert_int_not_equal(ipa_poll_once(s->ipa, &report, &err), RSP_OK);
    assert_int_equal(s->fx.euicc.packages_loaded, 1);
    assert_true(fake_storage_has(&s->fx.storage, IPA_STORAGE_PENDING));
    /* the result request: the EID as hex, the EimPackageResult as base64 of its TLV */
    char eid[33];
    der_hex_encode(s->fx.euicc.eid, 16, eid, true);
    assert_string_equal(member_text(s->last_provide, s->last_provide_len, "eidValue"), eid);
    der_view body = der_view_make(s->last_provide, s->last_provide_len), value;
    uint8_t result[4096];
    der_writer w;
    der_writer_init_fixed(&w, result, sizeof result);
    assert_int_equal(json_min_member(body, "eimPackageResult", &value, &err), RSP_OK);
    assert_int_equal(json_min_base64(value, &w, &err), RSP_OK);
    der_tlv tlv;
    assert_int_equal(der_parse_single(der_writer_view(&w), &tlv, &err), RSP_OK);
    s->get_status = 500; /* a package must not be fetched while a result waits */
    for (size_t i = 1; i < sizeof bad_provide_answers / sizeof bad_provide_answers[0]; i++) {
        snprintf(s->provide_answer, sizeof s->provide_answer, "%s", bad_provide_answers[i]);
        memset(&err, 0, sizeof err);
        rsp_status st = ipa_poll_once(s->ipa, &report, &err);
        if (st == RSP_OK)
            fail_msg("answer %zu accepted: %s", i, bad_provide_answers[i]);
        assert_true(err.message[0] != 0);
        assert_true(report.pending_left);
        assert_true(fake_storage_has(&s->fx.storage, IPA_STORAGE_PENDING));
        assert_int_equal(s->fx.euicc.packages_loaded, 1);
        assert_string_equal(s->last_function, "provideEimPackageResult");
        if (strstr(bad_provide_answers[i], "Failed"))
            assert_non_null(strstr(err.message, "unreadable"));
    }
    /* a good answer delivers it, once */
    s->get_status = 200;
    snprintf(s->get_answer, sizeof s->get_answer, "%s", NO_PACKAGE);
    snprintf(s->provide_answer, sizeof s->provide_answer, "%s",
             OK_HEADER ",\"eimAcknowledgements\":[]}");
    memset(&err, 0, sizeof err);
    assert_int_equal(ipa_poll_once(s->ipa, &report, &err), RSP_OK);
    assert_int_equal(report.results_delivered, 1);
    assert_false(fake_storage_has(&s->fx.storage, IPA_STORAGE_PENDING));
    assert_int_equal(s->fx.euicc.packages_loaded, 1);
}

/* A second enable package (counter 2) for the next poll. */
static void answer_second_package(state *s)
{
    uint8_t package[512];
    size_t len = build_euicc_package_enable(package, sizeof package, s->fx.euicc.eid, 3, 2, false);
    der_writer w;
    der_writer_init_fixed(&w, (uint8_t *)s->get_answer, sizeof s->get_answer - 1);
    json_min_put_raw(&w, OK_HEADER ",\"euiccPackageRequest\":");
    json_min_put_base64(&w, der_view_make(package, len));
    json_min_put_raw(&w, "}");
    assert_int_equal(der_writer_status(&w), RSP_OK);
    s->get_answer[w.len] = 0;
}

static bool has_notification(const state *s, int64_t seq)
{
    for (size_t i = 0; i < s->fx.euicc.notification_count; i++)
        if (s->fx.euicc.notifications[i].seq == seq)
            return true;
    return false;
}

static void test_acknowledgements_remove_notifications(void **ctx)
{
    state *s = *ctx;
    static const uint8_t iccid[10] = {0x98, 0x44, 0, 0, 0, 0, 0, 0, 0, 0x01};
    fake_euicc_add_notification(&s->fx.euicc, iccid, 1);
    int64_t first = s->fx.euicc.notifications[s->fx.euicc.notification_count - 1].seq;
    answer_enable_package(s);
    /* both spellings public implementations use: an array of integers... */
    snprintf(s->provide_answer, sizeof s->provide_answer,
             OK_HEADER ",\"eimAcknowledgements\":[%lld]}", (long long)first);
    ipa_poll_report report;
    rsp_error err = {0};
    assert_int_equal(ipa_poll_once(s->ipa, &report, &err), RSP_OK);
    assert_int_equal(report.results_delivered, 1);
    assert_true(report.acknowledged >= 1);
    assert_false(has_notification(s, first));

    /* ...and base64 of the EimAcknowledgements TLV (BF53 { INTEGER }) */
    fake_euicc_add_notification(&s->fx.euicc, iccid, 2);
    int64_t second = s->fx.euicc.notifications[s->fx.euicc.notification_count - 1].seq;
    assert_true(second > 0 && second < 128);
    uint8_t acks[6] = {0xBF, 0x53, 0x03, 0x80, 0x01, (uint8_t)second};
    der_writer w;
    der_writer_init_fixed(&w, (uint8_t *)s->provide_answer, sizeof s->provide_answer - 1);
    json_min_put_raw(&w, OK_HEADER ",\"eimAcknowledgements\":");
    json_min_put_base64(&w, der_view_make(acks, sizeof acks));
    json_min_put_raw(&w, "}");
    s->provide_answer[w.len] = 0;
    answer_second_package(s);
    assert_int_equal(ipa_poll_once(s->ipa, &report, &err), RSP_OK);
    assert_int_equal(report.results_delivered, 1);
    assert_false(has_notification(s, second));
}

/* The array form becomes the DER the ASN.1 binding carries: SequenceNumber is [0] INTEGER
 * (80), so the answer decodes as ProvideEimPackageResultResponse (SGP.32 v1.2 section 6.3.2.7). */
static void test_array_acknowledgements_decode_as_asn1(void **ctx)
{
    state *s = *ctx;
    snprintf(s->provide_answer, sizeof s->provide_answer, "%s",
             OK_HEADER ",\"eimAcknowledgements\":[5,300]}");
    uint8_t message[64];
    der_writer w;
    der_writer_init_fixed(&w, message, sizeof message);
    size_t mark = der_begin(&w, 0xBF50);
    der_put_tlv(&w, 0x5A, s->fx.euicc.eid, 16);
    der_put_tlv(&w, 0xBF51, NULL, 0);
    der_end(&w, mark);
    assert_int_equal(der_writer_status(&w), RSP_OK);

    der_writer answer;
    der_writer_init_dynamic(&answer, NULL);
    rsp_error err = {0};
    assert_int_equal(ipa_esipa_exchange(s->ipa, der_writer_view(&w), &answer, &err), RSP_OK);
    static const uint8_t expected[] = {0xBF, 0x50, 0x0A, 0xBF, 0x53, 0x07, 0x80,
                                       0x01, 0x05, 0x80, 0x02, 0x01, 0x2C};
    assert_int_equal(answer.len, sizeof expected);
    assert_memory_equal(answer.buf, expected, sizeof expected);

    sgp32_provide_eim_package_result_response decoded;
    uint8_t arena_buf[512];
    schema_arena arena;
    schema_arena_init(&arena, arena_buf, sizeof arena_buf);
    assert_int_equal(schema_decode(&sgp32_provide_eim_package_result_response_type,
                                   der_writer_view(&answer), &decoded, &arena, &err),
                     RSP_OK);
    assert_int_equal(decoded.choice,
                     SGP32_PROVIDE_EIM_PACKAGE_RESULT_RESPONSE_EIM_ACKNOWLEDGEMENTS);
    assert_int_equal(decoded.u.eim_acknowledgements.sequence_numbers.count, 2);
    const int64_t *seqs = decoded.u.eim_acknowledgements.sequence_numbers.items;
    assert_int_equal(seqs[0], 5);
    assert_int_equal(seqs[1], 300);
    der_writer_free(&answer);
}

/* Answers to GetEimPackage from which nothing may run. */
static const char *const bad_package_answers[] = {
    "",
    "{}",
    OK_HEADER "}",                                  /* no alternative */
    OK_HEADER ",\"euiccPackageRequest\":\"v1E=\"}", /* not one TLV */
    OK_HEADER ",\"euiccPackageRequest\":\"vz8A\"}", /* another tag */
    OK_HEADER ",\"euiccPackageRequest\":\"vz9=\"}", /* non-canonical padding */
    OK_HEADER ",\"euiccPackageRequest\":\"v1EA\",\"eimPackageError\":1}", /* two alternatives */
    OK_HEADER ",\"euiccPackageRequest\":\"v1EA\",\"ipaEuiccDataRequest\":\"v1IA\"}",
    OK_HEADER ",\"eimPackageError\":\"1\"}", /* a string */
    OK_HEADER ",\"eimPackageError\":1.5}",   /* not an integer */
    OK_HEADER ",\"euiccPackageRequest\":null}",
    "{\"header\":{\"functionExecutionStatus\":{\"status\":\"Expired\"}}}",
    "<html>502 Bad Gateway</html>",
};

static void test_malformed_package_answers_run_nothing(void **ctx)
{
    state *s = *ctx;
    for (size_t i = 0; i < sizeof bad_package_answers / sizeof bad_package_answers[0]; i++) {
        snprintf(s->get_answer, sizeof s->get_answer, "%s", bad_package_answers[i]);
        ipa_poll_report report;
        rsp_error err = {0};
        rsp_status st = ipa_poll_once(s->ipa, &report, &err);
        if (st == RSP_OK && report.packages > 0)
            fail_msg("answer %zu ran a package: %s", i, bad_package_answers[i]);
        if (st == RSP_OK)
            fail_msg("answer %zu accepted: %s", i, bad_package_answers[i]);
        assert_true(err.message[0] != 0);
        assert_int_equal(s->fx.euicc.packages_loaded, 0);
        assert_false(fake_storage_has(&s->fx.storage, IPA_STORAGE_IN_PROGRESS));
    }
    s->get_status = 503;
    snprintf(s->get_answer, sizeof s->get_answer, "%s", NO_PACKAGE);
    ipa_poll_report report;
    rsp_error err = {0};
    assert_int_equal(ipa_poll_once(s->ipa, &report, &err), RSP_ERR_IO);
    assert_non_null(strstr(err.message, "503"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_auto_switches_to_json_when_asn1_is_not_served,
                                        setup_auto, teardown),
        cmocka_unit_test_setup_teardown(test_explicit_asn1_does_not_switch, setup_auto, teardown),
        cmocka_unit_test_setup_teardown(test_state_change_and_rplmn_in_json, setup_json, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_result_answers_keep_the_result, setup_json,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_acknowledgements_remove_notifications, setup_json,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_array_acknowledgements_decode_as_asn1, setup_json,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_malformed_package_answers_run_nothing, setup_json,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
