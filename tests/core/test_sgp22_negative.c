/* SGP.22 decoding must refuse what the ASN.1 forbids (missing mandatory fields, size
 * constraints, unknown CHOICE alternatives, trailing bytes), the encoder must refuse values
 * that break the schema, and the signed-part lookup must find the exact received bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/sgp22.h"

#define ICCID_TLV "5A0A98001032547698103214"

/* Decodes hex as type and returns the status, with the error in *err. */
static rsp_status decode_hex(const schema_type *type, const char *hex, void *value, rsp_error *err)
{
    static uint8_t der[2048];
    static uint8_t arena_buf[16384];
    schema_arena arena;
    long n = der_hex_decode(hex, der, sizeof der);
    assert_true(n > 0);
    schema_arena_init(&arena, arena_buf, sizeof arena_buf);
    rsp_error_clear(err);
    return schema_decode(type, der_view_make(der, (size_t)n), value, &arena, err);
}

static void test_missing_mandatory_field(void **state)
{
    (void)state;
    rsp_error err;
    sgp22_enable_profile_request enable;
    /* refreshFlag absent */
    assert_int_equal(
        decode_hex(&sgp22_enable_profile_request_type, "BF310EA00C" ICCID_TLV, &enable, &err),
        RSP_ERR_MISSING_FIELD);
    sgp22_store_metadata_request metadata;
    /* profileName absent */
    assert_int_equal(decode_hex(&sgp22_store_metadata_request_type,
                                "BF2512" ICCID_TLV "910454657374", &metadata, &err),
                     RSP_ERR_MISSING_FIELD);
    sgp22_profile_installation_result_data data;
    /* smdpOid is mandatory in v2.5 */
    assert_int_equal(decode_hex(&sgp22_profile_installation_result_data_type,
                                "BF271C800101BF2F09800101810207800C00"
                                "A20BA0094F05A0000005590400",
                                &data, &err),
                     RSP_ERR_MISSING_FIELD);
    sgp22_authenticate_server_response response;
    /* AuthenticateResponseError without its error code */
    assert_int_equal(
        decode_hex(&sgp22_authenticate_server_response_type, "BF3805A103800101", &response, &err),
        RSP_ERR_MISSING_FIELD);
}

static void test_wrong_sizes(void **state)
{
    (void)state;
    rsp_error err;
    sgp22_delete_profile_request deletion;
    /* ICCID of 9 and 11 bytes */
    assert_int_equal(decode_hex(&sgp22_delete_profile_request_type, "BF330B5A09980010325476981032",
                                &deletion, &err),
                     RSP_ERR_BAD_VALUE);
    assert_int_equal(err.tag, 0x5A);
    assert_int_equal(decode_hex(&sgp22_delete_profile_request_type,
                                "BF330D5A0B9800103254769810321400", &deletion, &err),
                     RSP_ERR_BAD_VALUE);
    sgp22_cancel_session_request cancel;
    /* transactionId of 17 bytes, then of 0 bytes */
    assert_int_equal(decode_hex(&sgp22_cancel_session_request_type,
                                "BF41168011000102030405060708090A0B0C0D0E0F10810100", &cancel,
                                &err),
                     RSP_ERR_BAD_VALUE);
    assert_int_equal(err.tag, 0x80);
    assert_int_equal(
        decode_hex(&sgp22_cancel_session_request_type, "BF41058000810100", &cancel, &err),
        RSP_ERR_BAD_VALUE);
    sgp22_get_euicc_challenge_response challenge;
    /* euiccChallenge is Octet16 */
    assert_int_equal(decode_hex(&sgp22_get_euicc_challenge_response_type,
                                "BF2E11800F000102030405060708090A0B0C0D0E", &challenge, &err),
                     RSP_ERR_BAD_VALUE);
    sgp22_set_nickname_request nickname;
    /* profileNickname of 65 bytes breaks SIZE(0..64) */
    char hex[400];
    snprintf(hex, sizeof hex, "BF294F%s9041", ICCID_TLV);
    for (int i = 0; i < 65; i++)
        strcat(hex, "61");
    assert_int_equal(decode_hex(&sgp22_set_nickname_request_type, hex, &nickname, &err),
                     RSP_ERR_BAD_VALUE);
    /* VersionType is three bytes */
    sgp22_euicc_info1 info1;
    assert_int_equal(decode_hex(&sgp22_euicc_info1_type, "BF2008820202 00A900AA00", &info1, &err),
                     RSP_ERR_BAD_VALUE);
}

static void test_unknown_alternative(void **state)
{
    (void)state;
    rsp_error err;
    sgp22_delete_profile_request deletion;
    assert_int_equal(decode_hex(&sgp22_delete_profile_request_type,
                                "BF330C800A98001032547698103214", &deletion, &err),
                     RSP_ERR_UNEXPECTED_TAG);
    assert_int_equal(err.tag, 0x80);
    sgp22_profile_info_list_response list;
    assert_int_equal(
        decode_hex(&sgp22_profile_info_list_response_type, "BF2D03820101", &list, &err),
        RSP_ERR_UNEXPECTED_TAG);
    sgp22_pending_notification pending;
    assert_int_equal(decode_hex(&sgp22_pending_notification_type, "A5020500", &pending, &err),
                     RSP_ERR_UNEXPECTED_TAG);
    sgp22_prepare_download_response prepare;
    /* 81 is neither alternative: downloadResponseOk is A0, downloadResponseError A1 */
    assert_int_equal(
        decode_hex(&sgp22_prepare_download_response_type, "BF2103810101", &prepare, &err),
        RSP_ERR_UNEXPECTED_TAG);
}

static void test_trailing_bytes(void **state)
{
    (void)state;
    rsp_error err;
    sgp22_get_euicc_data_request request;
    assert_int_equal(
        decode_hex(&sgp22_get_euicc_data_request_type, "BF3E035C015A00", &request, &err),
        RSP_ERR_TRAILING);
    sgp22_delete_profile_request deletion;
    /* a second alternative inside the explicit BF33 wrapper */
    assert_int_equal(decode_hex(&sgp22_delete_profile_request_type, "BF3318" ICCID_TLV ICCID_TLV,
                                &deletion, &err),
                     RSP_ERR_TRAILING);
    sgp22_enable_profile_request enable;
    /* a duplicated refreshFlag */
    assert_int_equal(decode_hex(&sgp22_enable_profile_request_type,
                                "BF3114A00C" ICCID_TLV "8101FF8101FF", &enable, &err),
                     RSP_ERR_UNEXPECTED_TAG);
}

/* EXTENSIBILITY IMPLIED: a field this version does not know (here SGP.32 ipaMode [16]) is
 * skipped, the known ones still decode. */
static void test_unknown_extension_is_skipped(void **state)
{
    (void)state;
    rsp_error err;
    sgp22_euicc_info2 info;
    assert_int_equal(decode_hex(&sgp22_euicc_info2_type,
                                "BF222C810302030182030202008303010000840085020000880100"
                                "A900AA0004030100000C00"
                                "900101BF6403800100",
                                &info, &err),
                     RSP_OK);
    assert_int_equal(info.pp_version.len, 3);
    assert_int_equal(info.sas_acreditation_number.len, 0);
    assert_false(info.has_certification_data_object);
}

static void test_encoder_refuses_bad_values(void **state)
{
    (void)state;
    uint8_t buf[256];
    der_writer w;
    uint8_t long_id[17] = {0};

    sgp22_cancel_session_request cancel = {0};
    cancel.transaction_id = der_view_make(long_id, sizeof long_id);
    der_writer_init_fixed(&w, buf, sizeof buf);
    assert_int_equal(schema_encode(&sgp22_cancel_session_request_type, &cancel, &w),
                     RSP_ERR_BAD_VALUE);

    sgp22_delete_profile_request deletion = {0}; /* choice 0: no alternative chosen */
    der_writer_init_fixed(&w, buf, sizeof buf);
    assert_int_not_equal(schema_encode(&sgp22_delete_profile_request_type, &deletion, &w), RSP_OK);

    sgp22_delete_profile_request by_iccid = {0};
    by_iccid.choice = SGP22_DELETE_PROFILE_REQUEST_ICCID;
    by_iccid.u.iccid = der_view_make(long_id, 10);
    der_writer_init_fixed(&w, buf, sizeof buf);
    assert_int_equal(schema_encode(&sgp22_delete_profile_request_type, &by_iccid, &w), RSP_OK);
    static const uint8_t expected[] = {0xBF, 0x33, 0x0C, 0x5A, 0x0A, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(w.len, sizeof expected);
    assert_memory_equal(w.buf, expected, sizeof expected);
}

/* An AuthenticateServerResponse whose euiccSigned1 carries an extension field: decoding
 * skips it and re-encoding drops it, while the signed-part lookup returns the bytes the eUICC
 * signed. */
static void test_signed_part_keeps_received_bytes(void **state)
{
    (void)state;
    static const uint8_t euicc_signed1[] = {
        0x30, 0x4E,       /* euiccSigned1 */
        0x80, 0x01, 0x01, /* transactionId */
        0x83, 0x01, 'a',  /* serverAddress */
        0x84, 0x10, 1,    2,    3,    4,    5,    6,    7,    8,    9,    10,
        11,   12,   13,   14,   15,   16, /* serverChallenge */
        0xBF, 0x22, 0x23,                 /* euiccInfo2 */
        0x81, 0x03, 0x02, 0x03, 0x01, 0x82, 0x03, 0x02, 0x02, 0x00, 0x83, 0x03,
        0x01, 0x00, 0x00, 0x84, 0x00, 0x85, 0x02, 0x00, 0x00, 0x88, 0x01, 0x00,
        0xA9, 0x00, 0xAA, 0x00, 0x04, 0x03, 0x01, 0x00, 0x00, 0x0C, 0x00, 0xA0,
        0x0A, 0xA1, 0x08, 0x80, 0x04, 0x35, 0x29, 0x06, 0x11, 0xA1, 0x00, /* ctxParams1 */
        0x9F, 0x7F, 0x01, 0x2A, /* an extension of a later version */
    };
    static const uint8_t tail[] = {0x5F, 0x37, 0x01, 0x00, 0x30, 0x03, 0x02,
                                   0x01, 0x01, 0x30, 0x03, 0x02, 0x01, 0x02};
    uint8_t der[160];
    size_t n = 0;
    der[n++] = 0xBF;
    der[n++] = 0x38;
    der[n++] = (uint8_t)(2 + sizeof euicc_signed1 + sizeof tail);
    der[n++] = 0xA0;
    der[n++] = (uint8_t)(sizeof euicc_signed1 + sizeof tail);
    memcpy(der + n, euicc_signed1, sizeof euicc_signed1);
    n += sizeof euicc_signed1;
    memcpy(der + n, tail, sizeof tail);
    n += sizeof tail;

    const uint32_t path[] = SGP22_PATH_EUICC_SIGNED1_IN_AUTHENTICATE_SERVER_RESPONSE;
    der_view part;
    rsp_error err = {0};
    assert_int_equal(
        sgp22_find_signed_part(der_view_make(der, n), path, SCHEMA_COUNT(path), &part, &err),
        RSP_OK);
    assert_ptr_equal(part.data, der + 5);
    assert_int_equal(part.len, sizeof euicc_signed1);

    sgp22_authenticate_server_response response;
    uint8_t arena_buf[1024];
    schema_arena arena;
    schema_arena_init(&arena, arena_buf, sizeof arena_buf);
    assert_int_equal(schema_decode(&sgp22_authenticate_server_response_type, der_view_make(der, n),
                                   &response, &arena, &err),
                     RSP_OK);
    der_writer w;
    der_writer_init_dynamic(&w, NULL);
    assert_int_equal(schema_encode(&sgp22_euicc_signed1_type,
                                   &response.u.authenticate_response_ok.euicc_signed1, &w),
                     RSP_OK);
    assert_int_equal(w.len, sizeof euicc_signed1 - 4); /* the extension is gone */
    der_writer_free(&w);

    /* the path must start at the message's own tag, and every step must exist */
    const uint32_t wrong_top[] = SGP22_PATH_SERVER_SIGNED1_IN_INITIATE_AUTHENTICATION_RESPONSE;
    rsp_error_clear(&err);
    assert_int_equal(sgp22_find_signed_part(der_view_make(der, n), wrong_top,
                                            SCHEMA_COUNT(wrong_top), &part, &err),
                     RSP_ERR_UNEXPECTED_TAG);
    const uint32_t missing[] = {0xBF38, 0xA1, 0x30};
    rsp_error_clear(&err);
    assert_int_equal(
        sgp22_find_signed_part(der_view_make(der, n), missing, SCHEMA_COUNT(missing), &part, &err),
        RSP_ERR_NOT_FOUND);
    rsp_error_clear(&err);
    assert_int_not_equal(
        sgp22_find_signed_part(der_view_make(der, n - 1), path, SCHEMA_COUNT(path), &part, &err),
        RSP_OK);
}

/* The ES9+ JSON binding carries signatures as whole 5F37 TLVs */
static void test_standalone_signature(void **state)
{
    (void)state;
    rsp_error err;
    der_view signature;
    assert_int_equal(decode_hex(&sgp22_signature_type, "5F3703010203", &signature, &err), RSP_OK);
    assert_int_equal(signature.len, 3);
    assert_int_equal(signature.data[2], 0x03);
    assert_int_equal(decode_hex(&sgp22_signature_type, "5F3603010203", &signature, &err),
                     RSP_ERR_UNEXPECTED_TAG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_missing_mandatory_field),
        cmocka_unit_test(test_wrong_sizes),
        cmocka_unit_test(test_unknown_alternative),
        cmocka_unit_test(test_trailing_bytes),
        cmocka_unit_test(test_unknown_extension_is_skipped),
        cmocka_unit_test(test_encoder_refuses_bad_values),
        cmocka_unit_test(test_signed_part_keeps_received_bytes),
        cmocka_unit_test(test_standalone_signature),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
