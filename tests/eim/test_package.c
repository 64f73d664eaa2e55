/* eIM package core: EuiccPackageRequest built and signed over DER(EuiccPackageSigned) ||
 * associationToken, results verified against the eUICC certificate (signature, EID, eimId,
 * counter, transaction), signed and unsigned errors, and the BF52 / BF53 / BF54 builders
 * against hand-written encodings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/der.h"
#include "core/sgp32.h"
#include "crypto/certificate.h"
#include "crypto/pki_generate.h"
#include "crypto/signature_gsma.h"
#include "eim/package.h"

typedef struct {
    char dir[64];
    rsp_private_key *eim_key;
    rsp_public_key *eim_public;
    rsp_private_key *euicc_key;
    rsp_certificate *euicc_certificate;
    rsp_private_key *other_key;
    rsp_certificate *other_certificate;
    char eid[RSP_EID_STRING_SIZE];
    char other_eid[RSP_EID_STRING_SIZE];
} fixture;

static fixture f;

static int read_issued_eids(void)
{
    char path[128];
    char line[128];
    int found = 0;
    snprintf(path, sizeof path, "%s/eids.txt", f.dir);
    FILE *file = fopen(path, "r");
    if (file == NULL)
        return -1;
    while (fgets(line, sizeof line, file) != NULL && found < 2) {
        char *target = found == 0 ? f.eid : f.other_eid;
        if (sscanf(line, "issued %32s", target) == 1)
            found++;
    }
    fclose(file);
    return found == 2 ? 0 : -1;
}

static int load_euicc(const char *eid, rsp_private_key **key, rsp_certificate **certificate)
{
    char path[256];
    rsp_error err = {0};
    snprintf(path, sizeof path, "%s/nist/euicc/SK_EUICC_ECDSA_%s.pem", f.dir, eid);
    if (rsp_private_key_load_file(path, key, &err) != RSP_OK)
        return -1;
    snprintf(path, sizeof path, "%s/nist/euicc/CERT_EUICC_ECDSA_%s.der", f.dir, eid);
    return rsp_certificate_load_file(path, certificate, &err) == RSP_OK ? 0 : -1;
}

static int setup(void **state)
{
    (void)state;
    rsp_error err = {0};
    char path[256];
    snprintf(f.dir, sizeof f.dir, "/tmp/rspkit-eim-package-XXXXXX");
    if (mkdtemp(f.dir) == NULL)
        return -1;
    rsp_pki_options options = {.curves = RSP_PKI_CURVE_NIST, .euicc_count = 2};
    if (rsp_pki_init(f.dir, &options, &err) != RSP_OK) {
        fprintf(stderr, "pki init: %s\n", err.message);
        return -1;
    }
    snprintf(path, sizeof path, "%s/nist/SK_EIM_ECDSA.pem", f.dir);
    if (rsp_private_key_load_file(path, &f.eim_key, &err) != RSP_OK ||
        rsp_private_key_public(f.eim_key, &f.eim_public, &err) != RSP_OK)
        return -1;
    if (read_issued_eids() != 0)
        return -1;
    if (load_euicc(f.eid, &f.euicc_key, &f.euicc_certificate) != 0 ||
        load_euicc(f.other_eid, &f.other_key, &f.other_certificate) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char command[128];
    rsp_private_key_free(f.eim_key);
    rsp_public_key_free(f.eim_public);
    rsp_private_key_free(f.euicc_key);
    rsp_certificate_free(f.euicc_certificate);
    rsp_private_key_free(f.other_key);
    rsp_certificate_free(f.other_certificate);
    snprintf(command, sizeof command, "rm -rf '%s'", f.dir);
    return system(command) == 0 ? 0 : -1;
}

static void header_for(eim_package_header *header, const char *eid, int64_t counter)
{
    memset(header, 0, sizeof(*header));
    header->eim_id = "eim.example.org";
    assert_int_equal(der_hex_decode(eid, header->eid, sizeof header->eid), EIM_EID_SIZE);
    header->counter_value = counter;
    memcpy(header->transaction_id, "\x01\x02\x03\x04", 4);
    header->transaction_id_len = 4;
    header->has_association_token = true;
    header->association_token = 42;
}

static const uint8_t iccid_bytes[10] = {0x98, 0x10, 0x32, 0x54, 0x76, 0x98, 0x10, 0x32, 0x54, 0xF6};

static void test_request_is_signed_over_package_and_token(void **state)
{
    (void)state;
    eim_package_header header;
    rsp_error err = {0};
    der_writer out;
    sgp32_psmo psmos[2];
    header_for(&header, f.eid, 7);
    memset(psmos, 0, sizeof psmos);
    psmos[0].choice = SGP32_PSMO_ENABLE;
    psmos[0].u.enable.iccid = der_view_make(iccid_bytes, sizeof iccid_bytes);
    psmos[0].u.enable.has_rollback_flag = true;
    psmos[1].choice = SGP32_PSMO_GET_RAT;
    der_writer_init_dynamic(&out, NULL);
    assert_int_equal(eim_package_build_psmos(f.eim_key, &header, psmos, 2, &out, &err), RSP_OK);

    /* the request decodes with the catalogue and carries what was asked */
    uint8_t arena_buffer[4096];
    schema_arena arena;
    sgp32_euicc_package_request request;
    schema_arena_init(&arena, arena_buffer, sizeof arena_buffer);
    assert_int_equal(schema_decode(&sgp32_euicc_package_request_type, der_writer_view(&out),
                                   &request, &arena, &err),
                     RSP_OK);
    const sgp32_euicc_package_signed *signed_part = &request.euicc_package_signed;
    assert_int_equal(signed_part->counter_value, 7);
    assert_true(signed_part->has_eim_transaction_id);
    assert_int_equal(signed_part->euicc_package.choice, SGP32_EUICC_PACKAGE_PSMO_LIST);
    assert_int_equal(signed_part->euicc_package.u.psmo_list.count, 2);
    const sgp32_psmo *decoded = signed_part->euicc_package.u.psmo_list.items;
    assert_int_equal(decoded[0].choice, SGP32_PSMO_ENABLE);
    assert_true(decoded[0].u.enable.has_rollback_flag);
    assert_int_equal(decoded[1].choice, SGP32_PSMO_GET_RAT);

    /* the signature covers the token: right token verifies, zero / another token does not */
    der_view inner;
    int64_t wrong = 43;
    assert_int_equal(rsp_eim_package_request_open(f.eim_public, der_writer_view(&out),
                                                  &header.association_token, &inner, &err),
                     RSP_OK);
    rsp_error_clear(&err);
    assert_int_equal(
        rsp_eim_package_request_open(f.eim_public, der_writer_view(&out), NULL, &inner, &err),
        RSP_ERR_VERIFY);
    rsp_error_clear(&err);
    assert_int_equal(
        rsp_eim_package_request_open(f.eim_public, der_writer_view(&out), &wrong, &inner, &err),
        RSP_ERR_VERIFY);
    der_writer_free(&out);
}

static void test_request_refuses_bad_headers(void **state)
{
    (void)state;
    eim_package_header header;
    rsp_error err = {0};
    der_writer out;
    sgp32_eco eco;
    char long_id[140];
    memset(&eco, 0, sizeof eco);
    eco.choice = SGP32_ECO_LIST_EIM;
    header_for(&header, f.eid, 1);
    memset(long_id, 'a', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    header.eim_id = long_id;
    der_writer_init_dynamic(&out, NULL);
    assert_int_equal(eim_package_build_ecos(f.eim_key, &header, &eco, 1, &out, &err),
                     RSP_ERR_INVALID_ARGUMENT);
    header.eim_id = "";
    rsp_error_clear(&err);
    assert_int_equal(eim_package_build_ecos(f.eim_key, &header, &eco, 1, &out, &err),
                     RSP_ERR_INVALID_ARGUMENT);
    assert_int_equal(out.len, 0);
    der_writer_free(&out);
}

/* Plays the eUICC: a signed result (A0) or signed error (A1) over the given data. */
static void sign_result(const rsp_private_key *key, const eim_package_header *header,
                        int64_t counter, bool error, int64_t token, der_writer *out)
{
    der_writer data;
    rsp_error err = {0};
    der_writer_init_dynamic(&data, NULL);
    if (error) {
        sgp32_euicc_package_error_data_signed value;
        memset(&value, 0, sizeof value);
        value.eim_id = der_view_make((const uint8_t *)header->eim_id, strlen(header->eim_id));
        value.counter_value = counter;
        value.has_eim_transaction_id = true;
        value.eim_transaction_id = der_view_make(header->transaction_id, 4);
        value.euicc_package_error_code = SGP32_EUICC_PACKAGE_ERROR_REPLAY_ERROR;
        assert_int_equal(schema_encode(&sgp32_euicc_package_error_data_signed_type, &value, &data),
                         RSP_OK);
    } else {
        sgp32_euicc_result_data results[2];
        sgp32_euicc_package_result_data_signed value;
        memset(results, 0, sizeof results);
        results[0].choice = SGP32_EUICC_RESULT_DATA_ENABLE_RESULT;
        results[0].u.enable_result = SGP32_ENABLE_PROFILE_RESULT_OK;
        results[1].choice = SGP32_EUICC_RESULT_DATA_DELETE_RESULT;
        results[1].u.delete_result = SGP32_DELETE_PROFILE_RESULT_ICCID_OR_AID_NOT_FOUND;
        memset(&value, 0, sizeof value);
        value.eim_id = der_view_make((const uint8_t *)header->eim_id, strlen(header->eim_id));
        value.counter_value = counter;
        value.has_eim_transaction_id = true;
        value.eim_transaction_id = der_view_make(header->transaction_id, 4);
        value.seq_number = 5;
        value.euicc_result.count = 2;
        value.euicc_result.items = results;
        assert_int_equal(schema_encode(&sgp32_euicc_package_result_data_signed_type, &value, &data),
                         RSP_OK);
    }
    assert_int_equal(rsp_euicc_package_result_build(key, error ? 0xA1 : 0xA0,
                                                    der_writer_view(&data), &token, out, &err),
                     RSP_OK);
    der_writer_free(&data);
}

static rsp_status verify(const rsp_certificate *certificate, const eim_package_header *header,
                         der_view result, eim_package_outcome *outcome, rsp_error *err)
{
    static uint8_t arena_buffer[EIM_RESULT_ARENA_SIZE];
    schema_arena arena;
    schema_arena_init(&arena, arena_buffer, sizeof arena_buffer);
    eim_result_expectation expect = {certificate, header};
    rsp_error_clear(err);
    return eim_package_result_verify(&expect, result, &arena, outcome, err);
}

/* A package header for this eUICC with counter, and the eUICC's signed result (or signed
 * error) for it, token 42. */
static void signed_result_for(eim_package_header *header, int64_t counter, bool error,
                              der_writer *result)
{
    header_for(header, f.eid, counter);
    der_writer_init_dynamic(result, NULL);
    sign_result(f.euicc_key, header, counter, error, 42, result);
}

static void test_signed_result_verifies_and_decodes(void **state)
{
    (void)state;
    eim_package_header header;
    eim_package_outcome outcome;
    rsp_error err = {0};
    der_writer result;
    signed_result_for(&header, 9, false, &result);
    assert_int_equal(verify(f.euicc_certificate, &header, der_writer_view(&result), &outcome, &err),
                     RSP_OK);
    assert_int_equal(outcome.kind, EIM_RESULT_SIGNED);
    assert_int_equal(outcome.seq_number, 5);
    assert_int_equal(outcome.operation_count, 2);
    assert_int_equal(outcome.operations[0].choice, SGP32_EUICC_RESULT_DATA_ENABLE_RESULT);
    assert_int_equal(outcome.operations[1].u.delete_result,
                     SGP32_DELETE_PROFILE_RESULT_ICCID_OR_AID_NOT_FOUND);

    /* a result for an older package (counter), another transaction, another token, another
     * eUICC's certificate: all refused */
    eim_package_header other = header;
    other.counter_value = 10;
    assert_int_equal(verify(f.euicc_certificate, &other, der_writer_view(&result), &outcome, &err),
                     RSP_ERR_VERIFY);
    other = header;
    other.transaction_id[0] ^= 1;
    assert_int_equal(verify(f.euicc_certificate, &other, der_writer_view(&result), &outcome, &err),
                     RSP_ERR_VERIFY);
    other = header;
    other.association_token = 41;
    assert_int_equal(verify(f.euicc_certificate, &other, der_writer_view(&result), &outcome, &err),
                     RSP_ERR_VERIFY);
    assert_int_equal(verify(f.other_certificate, &header, der_writer_view(&result), &outcome, &err),
                     RSP_ERR_VERIFY);
    other = header;
    other.eim_id = "eim2.example.org";
    assert_int_equal(verify(f.euicc_certificate, &other, der_writer_view(&result), &outcome, &err),
                     RSP_ERR_VERIFY);

    /* signed by another eUICC's key but presented with this eUICC's certificate */
    der_writer forged;
    der_writer_init_dynamic(&forged, NULL);
    sign_result(f.other_key, &header, 9, false, 42, &forged);
    assert_int_equal(verify(f.euicc_certificate, &header, der_writer_view(&forged), &outcome, &err),
                     RSP_ERR_VERIFY);
    /* one flipped byte in the signed data */
    forged.len = 0;
    der_put_raw(&forged, result.buf, result.len);
    forged.buf[12] ^= 0x01;
    assert_int_not_equal(
        verify(f.euicc_certificate, &header, der_writer_view(&forged), &outcome, &err), RSP_OK);
    der_writer_free(&forged);
    der_writer_free(&result);
}

static void test_signed_error_verifies(void **state)
{
    (void)state;
    eim_package_header header;
    eim_package_outcome outcome;
    rsp_error err = {0};
    der_writer result;
    signed_result_for(&header, 3, true, &result);
    assert_int_equal(verify(f.euicc_certificate, &header, der_writer_view(&result), &outcome, &err),
                     RSP_OK);
    assert_int_equal(outcome.kind, EIM_RESULT_ERROR_SIGNED);
    assert_int_equal(outcome.error_code, SGP32_EUICC_PACKAGE_ERROR_REPLAY_ERROR);
    header.has_association_token = false;
    assert_int_equal(verify(f.euicc_certificate, &header, der_writer_view(&result), &outcome, &err),
                     RSP_ERR_VERIFY);
    der_writer_free(&result);
}

static void test_unsigned_error_is_matched_not_trusted(void **state)
{
    (void)state;
    eim_package_header header;
    eim_package_outcome outcome;
    rsp_error err = {0};
    uint8_t bytes[64];
    header_for(&header, f.eid, 3);
    /* BF51 { A2 { 80 "eim.example.org", 82 01020304 } } */
    long n = der_hex_decode("BF5119A217800F65696D2E6578616D706C652E6F72678204"
                            "01020304",
                            bytes, sizeof bytes);
    assert_true(n > 0);
    assert_int_equal(
        verify(f.euicc_certificate, &header, der_view_make(bytes, (size_t)n), &outcome, &err),
        RSP_OK);
    assert_int_equal(outcome.kind, EIM_RESULT_ERROR_UNSIGNED);
    header.eim_id = "other";
    assert_int_equal(
        verify(f.euicc_certificate, &header, der_view_make(bytes, (size_t)n), &outcome, &err),
        RSP_ERR_VERIFY);
}

static void expect_bytes(const der_writer *w, const char *expected_hex)
{
    uint8_t expected[128];
    long n = der_hex_decode(expected_hex, expected, sizeof expected);
    assert_true(n >= 0);
    assert_int_equal(w->len, (size_t)n);
    assert_memory_equal(w->buf, expected, (size_t)n);
}

static void test_acknowledgements_and_requests(void **state)
{
    (void)state;
    der_writer out;
    int64_t numbers[3] = {5, 7, 300};
    der_writer_init_dynamic(&out, NULL);
    assert_int_equal(eim_acknowledgements_build(numbers, 3, &out), RSP_OK);
    expect_bytes(&out, "BF530A8001058001078002012C");
    out.len = 0;
    assert_int_equal(eim_acknowledgements_build(NULL, 0, &out), RSP_OK);
    expect_bytes(&out, "BF5300");

    /* IpaEuiccDataRequest: tagList 5C, searchCriteriaEuiccPackageResult A2 { 80 }, id 83 */
    uint8_t tags[] = {0xA2, 0xBF, 0x22};
    uint8_t transaction[] = {0xAA, 0xBB};
    eim_ipa_euicc_data_request request = {0};
    request.tag_list = der_view_make(tags, sizeof tags);
    request.has_package_result_seq_number = true;
    request.package_result_seq_number = 4;
    request.transaction_id = der_view_make(transaction, sizeof transaction);
    out.len = 0;
    assert_int_equal(eim_ipa_euicc_data_request_build(&request, &out), RSP_OK);
    expect_bytes(&out, "BF520E5C03A2BF22A203800104"
                       "8302AABB");

    /* ProfileDownloadTriggerRequest: A0 { 80 AC } or A0 { 81 00 } */
    out.len = 0;
    assert_int_equal(eim_profile_download_trigger_build("LPA:1$a$b", der_view_make(NULL, 0), &out),
                     RSP_OK);
    expect_bytes(&out, "BF540DA00B80094C50413A312461246"
                       "2");
    out.len = 0;
    assert_int_equal(eim_profile_download_trigger_build(NULL, der_view_make(transaction, 2), &out),
                     RSP_OK);
    expect_bytes(&out, "BF5408A00281008202AABB");
    der_writer_free(&out);
}

/* An order stores its EuiccPackage encoded; building from those bytes signs the same
 * EuiccPackageSigned as building from the structure, and bytes that are no EuiccPackage are
 * never signed. */
static void test_encoded_package_builds_the_same_request(void **state)
{
    (void)state;
    eim_package_header header;
    rsp_error err = {0};
    sgp32_psmo psmo;
    header_for(&header, f.eid, 11);
    memset(&psmo, 0, sizeof psmo);
    psmo.choice = SGP32_PSMO_DISABLE;
    psmo.u.disable.iccid = der_view_make(iccid_bytes, sizeof iccid_bytes);
    sgp32_euicc_package package = {.choice = SGP32_EUICC_PACKAGE_PSMO_LIST};
    package.u.psmo_list.count = 1;
    package.u.psmo_list.items = &psmo;
    der_writer body, from_struct, from_bytes;
    der_writer_init_dynamic(&body, NULL);
    der_writer_init_dynamic(&from_struct, NULL);
    der_writer_init_dynamic(&from_bytes, NULL);
    assert_int_equal(schema_encode(&sgp32_euicc_package_type, &package, &body), RSP_OK);
    assert_int_equal(eim_package_build_psmos(f.eim_key, &header, &psmo, 1, &from_struct, &err),
                     RSP_OK);
    assert_int_equal(
        eim_package_build_encoded(f.eim_key, &header, der_writer_view(&body), &from_bytes, &err),
        RSP_OK);
    der_view signed_struct, signed_bytes;
    assert_int_equal(rsp_eim_package_request_open(f.eim_public, der_writer_view(&from_struct),
                                                  &header.association_token, &signed_struct, &err),
                     RSP_OK);
    assert_int_equal(rsp_eim_package_request_open(f.eim_public, der_writer_view(&from_bytes),
                                                  &header.association_token, &signed_bytes, &err),
                     RSP_OK);
    assert_true(der_view_equal(signed_struct, signed_bytes));

    static const uint8_t not_a_package[] = {0xA0, 0x02, 0x05, 0x00};
    size_t before = from_bytes.len;
    assert_int_not_equal(eim_package_build_encoded(
                             f.eim_key, &header, der_view_make(not_a_package, sizeof not_a_package),
                             &from_bytes, &err),
                         RSP_OK);
    assert_int_equal(from_bytes.len, before);
    der_writer_free(&body);
    der_writer_free(&from_struct);
    der_writer_free(&from_bytes);
}

/* The server's order of work: open (signature) before the package is known, then match it;
 * and a stored key instead of the certificate. */
static void test_result_open_then_match(void **state)
{
    (void)state;
    eim_package_header header;
    eim_package_outcome outcome;
    rsp_error err = {0};
    der_writer result;
    signed_result_for(&header, 12, false, &result);
    uint8_t arena_buffer[4096];
    schema_arena arena;
    sgp32_euicc_package_result decoded;
    schema_arena_init(&arena, arena_buffer, sizeof arena_buffer);
    assert_int_equal(schema_decode(&sgp32_euicc_package_result_type, der_writer_view(&result),
                                   &decoded, &arena, &err),
                     RSP_OK);
    rsp_public_key *euicc_public = NULL, *other_public = NULL;
    assert_int_equal(rsp_private_key_public(f.euicc_key, &euicc_public, &err), RSP_OK);
    assert_int_equal(rsp_private_key_public(f.other_key, &other_public, &err), RSP_OK);
    int64_t token = 42, wrong_token = 7;

    assert_int_equal(eim_package_result_open(euicc_public, &token, der_writer_view(&result),
                                             &decoded, &outcome, &err),
                     RSP_OK);
    assert_int_equal(outcome.kind, EIM_RESULT_SIGNED);
    assert_int_equal(outcome.counter_value, 12);
    assert_true(outcome.has_transaction_id);
    assert_int_equal(eim_package_result_match(&header, &outcome, &err), RSP_OK);
    eim_package_header other = header;
    other.counter_value = 13;
    assert_int_equal(eim_package_result_match(&other, &outcome, &err), RSP_ERR_VERIFY);
    other = header;
    other.transaction_id_len = 0;
    assert_int_equal(eim_package_result_match(&other, &outcome, &err), RSP_ERR_VERIFY);

    rsp_error_clear(&err);
    assert_int_equal(eim_package_result_open(other_public, &token, der_writer_view(&result),
                                             &decoded, &outcome, &err),
                     RSP_ERR_VERIFY);
    rsp_error_clear(&err);
    assert_int_equal(eim_package_result_open(euicc_public, &wrong_token, der_writer_view(&result),
                                             &decoded, &outcome, &err),
                     RSP_ERR_VERIFY);
    rsp_error_clear(&err);
    assert_int_equal(
        eim_package_result_open(NULL, &token, der_writer_view(&result), &decoded, &outcome, &err),
        RSP_ERR_VERIFY);

    /* the whole check with the stored key in place of the certificate */
    eim_result_expectation expect = {.header = &header, .euicc_key = euicc_public};
    schema_arena_init(&arena, arena_buffer, sizeof arena_buffer);
    rsp_error_clear(&err);
    assert_int_equal(
        eim_package_result_verify(&expect, der_writer_view(&result), &arena, &outcome, &err),
        RSP_OK);
    expect.euicc_key = other_public;
    schema_arena_init(&arena, arena_buffer, sizeof arena_buffer);
    assert_int_equal(
        eim_package_result_verify(&expect, der_writer_view(&result), &arena, &outcome, &err),
        RSP_ERR_VERIFY);
    rsp_public_key_free(euicc_public);
    rsp_public_key_free(other_public);
    der_writer_free(&result);
}

/* Stored BF52 / BF54 requests get the hand-out's transaction id; nothing else is accepted. */
static void test_request_with_transaction(void **state)
{
    (void)state;
    rsp_error err = {0};
    uint8_t tags[] = {0xA2, 0xBF, 0x22};
    uint8_t transaction[] = {0xAA, 0xBB};
    der_writer stored, with_id, expected;
    der_writer_init_dynamic(&stored, NULL);
    der_writer_init_dynamic(&with_id, NULL);
    der_writer_init_dynamic(&expected, NULL);
    eim_ipa_euicc_data_request request = {0};
    request.tag_list = der_view_make(tags, sizeof tags);
    assert_int_equal(eim_ipa_euicc_data_request_build(&request, &stored), RSP_OK);
    request.transaction_id = der_view_make(transaction, sizeof transaction);
    assert_int_equal(eim_ipa_euicc_data_request_build(&request, &expected), RSP_OK);
    assert_int_equal(eim_request_with_transaction(der_writer_view(&stored),
                                                  der_view_make(transaction, 2), &with_id, &err),
                     RSP_OK);
    assert_true(der_view_equal(der_writer_view(&with_id), der_writer_view(&expected)));

    stored.len = with_id.len = expected.len = 0;
    assert_int_equal(
        eim_profile_download_trigger_build("LPA:1$a$b", der_view_make(NULL, 0), &stored), RSP_OK);
    assert_int_equal(
        eim_profile_download_trigger_build("LPA:1$a$b", der_view_make(transaction, 2), &expected),
        RSP_OK);
    assert_int_equal(eim_request_with_transaction(der_writer_view(&stored),
                                                  der_view_make(transaction, 2), &with_id, &err),
                     RSP_OK);
    assert_true(der_view_equal(der_writer_view(&with_id), der_writer_view(&expected)));

    int64_t numbers[1] = {5};
    stored.len = with_id.len = 0;
    assert_int_equal(eim_acknowledgements_build(numbers, 1, &stored), RSP_OK);
    assert_int_equal(eim_request_with_transaction(der_writer_view(&stored),
                                                  der_view_make(transaction, 2), &with_id, &err),
                     RSP_ERR_UNEXPECTED_TAG);
    assert_int_equal(with_id.len, 0);
    der_writer_free(&stored);
    der_writer_free(&with_id);
    der_writer_free(&expected);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_is_signed_over_package_and_token),
        cmocka_unit_test(test_request_refuses_bad_headers),
        cmocka_unit_test(test_signed_result_verifies_and_decodes),
        cmocka_unit_test(test_signed_error_verifies),
        cmocka_unit_test(test_unsigned_error_is_matched_not_trusted),
        cmocka_unit_test(test_acknowledgements_and_requests),
        cmocka_unit_test(test_encoded_package_builds_the_same_request),
        cmocka_unit_test(test_result_open_then_match),
        cmocka_unit_test(test_request_with_transaction),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
