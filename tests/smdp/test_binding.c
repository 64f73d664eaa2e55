/* SM-DP+ binding core: StoreMetadata from a package, the BPP (opened again here with the
 * crypto module as an eUICC would), its split into LoadBoundProfilePackage pieces, session
 * persistence, status codes and malformed requests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/saip.h"
#include "core/sgp22.h"
#include "crypto/bsp.h"
#include "crypto/ecdsa.h"
#include "crypto/ecka.h"
#include "crypto/kdf.h"
#include "smdp/binding.h"
#include "smdp/download.h"

#define EID "89049032123451234512345678901235"

typedef struct {
    uint8_t *package;
    size_t package_len;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    char path[512];
    snprintf(path, sizeof path, "%s/testdata/ts48/NoBERTLV.der", RSPKIT_SHARED_DIR);
    FILE *file = fopen(path, "rb");
    if (file != NULL) {
        fseek(file, 0, SEEK_END);
        f->package_len = (size_t)ftell(file);
        fseek(file, 0, SEEK_SET);
        f->package = malloc(f->package_len);
        if (f->package == NULL || fread(f->package, 1, f->package_len, file) != f->package_len)
            return -1;
        fclose(file);
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    free(f->package);
    free(f);
    return 0;
}

static void need_package(const fixture *f)
{
    if (f->package == NULL) {
        fprintf(stderr, "SKIPPED: TS.48 package not found under %s/testdata/ts48\n",
                RSPKIT_SHARED_DIR);
        skip();
    }
}

static smdp_order order_for(const fixture *f)
{
    smdp_order order;
    memset(&order, 0, sizeof order);
    order.package = der_view_make(f->package, f->package_len);
    order.service_provider_name = "Operator";
    order.profile_name = "Test profile";
    order.profile_class = SGP22_PROFILE_CLASS_OPERATIONAL;
    return order;
}

static void test_metadata_from_package(void **state)
{
    fixture *f = *state;
    need_package(f);
    smdp_order order = order_for(f);
    order.has_profile_policy_rules = true;
    order.profile_policy_rules = 0x40; /* ppr1 */
    der_writer out;
    der_writer_init_dynamic(&out, NULL);
    rsp_error err = {0};
    assert_int_equal(smdp_metadata_build(&order, "smdp.example", &out, &err), RSP_OK);
    uint8_t arena_buffer[2048];
    schema_arena arena;
    schema_arena_init(&arena, arena_buffer, sizeof arena_buffer);
    sgp22_store_metadata_request metadata;
    assert_int_equal(schema_decode(&sgp22_store_metadata_request_type, der_writer_view(&out),
                                   &metadata, &arena, &err),
                     RSP_OK);
    /* ICCID in EF.ICCID order, from the header's plain digits */
    uint8_t header_arena_buffer[2048];
    schema_arena header_arena;
    schema_arena_init(&header_arena, header_arena_buffer, sizeof header_arena_buffer);
    saip_walker walker;
    saip_element first;
    saip_header header;
    char digits[21];
    uint8_t expected[10];
    saip_walker_init(&walker, order.package);
    assert_int_equal(saip_walker_next(&walker, &first, &err), RSP_OK);
    assert_int_equal(saip_header_decode(first.tlv.whole, &header, &header_arena, &err), RSP_OK);
    assert_int_equal(saip_iccid_digits(header.iccid, digits, &err), RSP_OK);
    assert_true(saip_encode_iccid_ef(digits, expected));
    assert_memory_equal(metadata.iccid.data, expected, 10);
    assert_false(metadata.has_profile_class); /* operational is the DEFAULT: left out */
    assert_int_equal(metadata.notification_configuration_info.count, 1);
    const sgp22_notification_configuration_information *info =
        metadata.notification_configuration_info.items;
    assert_int_equal(info->notification_address.len, strlen("smdp.example"));
    for (unsigned bit = 0; bit < 4; bit++)
        assert_true(schema_bits_get(&info->profile_management_operation, bit));
    assert_true(metadata.has_profile_policy_rules);
    assert_true(schema_bits_get(&metadata.profile_policy_rules, SGP22_PPR1));
    assert_false(schema_bits_get(&metadata.profile_policy_rules, SGP22_PPR2));
    /* a test profile carries its class */
    order.profile_class = SGP22_PROFILE_CLASS_TEST;
    out.len = 0;
    assert_int_equal(smdp_metadata_build(&order, "smdp.example", &out, &err), RSP_OK);
    schema_arena_init(&arena, arena_buffer, sizeof arena_buffer);
    assert_int_equal(schema_decode(&sgp22_store_metadata_request_type, der_writer_view(&out),
                                   &metadata, &arena, &err),
                     RSP_OK);
    assert_true(metadata.has_profile_class);
    assert_int_equal(metadata.profile_class, SGP22_PROFILE_CLASS_TEST);
    /* the ICCID given by the caller instead of the package: the same metadata, no package */
    der_writer from_iccid;
    der_writer_init_dynamic(&from_iccid, NULL);
    smdp_order without_package = order;
    without_package.package = der_view_make(NULL, 0);
    without_package.iccid = digits;
    assert_int_equal(smdp_metadata_build(&without_package, "smdp.example", &from_iccid, &err),
                     RSP_OK);
    assert_int_equal(from_iccid.len, out.len);
    assert_memory_equal(from_iccid.buf, out.buf, out.len);
    without_package.iccid = "1234";
    from_iccid.len = 0;
    assert_int_not_equal(smdp_metadata_build(&without_package, "smdp.example", &from_iccid, &err),
                         RSP_OK);
    der_writer_free(&from_iccid);
    /* a package that does not start with a header is refused */
    order.package = der_view_make(f->package + 1, f->package_len - 1);
    out.len = 0;
    assert_int_not_equal(smdp_metadata_build(&order, "smdp.example", &out, &err), RSP_OK);
    der_writer_free(&out);
}

/* Opens a BPP with the eUICC's one-time key and checks every part. */
static void open_bpp(der_view bpp, const rsp_private_key *euicc_otsk,
                     const uint8_t euicc_otpk[RSP_EC_POINT_SIZE], const rsp_public_key *dppb,
                     const uint8_t *eid, der_view metadata, der_view package, bool with_ppk)
{
    rsp_error err = {0};
    der_view pieces[256];
    size_t count = 0;
    assert_int_equal(smdp_bpp_split(bpp, pieces, 256, &count, &err), RSP_OK);
    /* piece 0: BF36 header + BF23 */
    der_tlv outer;
    assert_int_equal(der_parse_single(bpp, &outer, &err), RSP_OK);
    size_t header = outer.whole.len - outer.value.len;
    der_view channel_bytes = der_view_make(pieces[0].data + header, pieces[0].len - header);
    sgp22_initialise_secure_channel_request channel;
    assert_int_equal(schema_decode(&sgp22_initialise_secure_channel_request_type, channel_bytes,
                                   &channel, NULL, &err),
                     RSP_OK);
    assert_int_equal(channel.remote_op_id, 1);
    assert_int_equal(channel.control_ref_template.key_type.data[0], 0x88);
    assert_int_equal(channel.control_ref_template.key_len.data[0], 0x10);
    /* smdpSign covers the data objects from remoteOpId to smdpOtpk plus euiccOtpk */
    der_tlv channel_tlv;
    der_tlv child;
    der_reader reader;
    assert_int_equal(der_parse_single(channel_bytes, &channel_tlv, &err), RSP_OK);
    assert_int_equal(der_reader_enter(&channel_tlv, 0, &reader, &err), RSP_OK);
    const uint8_t *start = channel_tlv.value.data;
    const uint8_t *end = start;
    do {
        assert_int_equal(der_reader_next(&reader, &child, &err), RSP_OK);
        end = child.whole.data + child.whole.len;
    } while (child.tag != 0x5F49);
    der_writer data;
    der_writer_init_dynamic(&data, NULL);
    der_put_raw(&data, start, (size_t)(end - start));
    der_put_tlv(&data, 0x5F49, euicc_otpk, RSP_EC_POINT_SIZE);
    assert_int_equal(rsp_ecdsa_verify(dppb, data.buf, data.len, channel.smdp_sign.data,
                                      channel.smdp_sign.len, &err),
                     RSP_OK);
    der_writer_free(&data);
    /* session keys */
    uint8_t secret[32];
    rsp_bsp_keys keys;
    assert_int_equal(rsp_ecka_shared_secret(euicc_otsk, channel.smdp_otpk.data,
                                            channel.smdp_otpk.len, secret, &err),
                     RSP_OK);
    assert_int_equal(rsp_bsp_derive_keys(
                         secret, 32, 0x88, 16, channel.control_ref_template.host_id.data,
                         channel.control_ref_template.host_id.len, eid, SMDP_EID_SIZE, &keys, &err),
                     RSP_OK);
    rsp_bsp_session bsp;
    assert_int_equal(rsp_bsp_session_init(&bsp, RSP_BSP_RECEIVER, &keys, &err), RSP_OK);
    size_t i = 1;
    der_writer plain;
    der_writer_init_dynamic(&plain, NULL);
    /* A0 whole: ConfigureISDP */
    assert_int_equal(pieces[i].data[0], 0xA0);
    der_tlv sequence;
    assert_int_equal(der_parse_single(pieces[i], &sequence, &err), RSP_OK);
    assert_int_equal(
        rsp_bsp_decrypt_all(&bsp, 0x87, sequence.value.data, sequence.value.len, &plain, &err),
        RSP_OK);
    assert_int_equal(plain.len, 3);
    assert_int_equal(plain.buf[0], 0xBF);
    assert_int_equal(plain.buf[1], 0x24);
    i++;
    /* A1 header, then 88 segments: the metadata in clear under a MAC */
    assert_int_equal(pieces[i++].data[0], 0xA1);
    plain.len = 0;
    while (pieces[i].data[0] == 0x88) {
        der_view segment_data;
        assert_true(pieces[i].len <= RSP_BSP_SEGMENT_MAX);
        assert_int_equal(
            rsp_bsp_verify_segment(&bsp, 0x88, pieces[i].data, pieces[i].len, &segment_data, &err),
            RSP_OK);
        der_put_raw(&plain, segment_data.data, segment_data.len);
        i++;
    }
    assert_true(der_view_equal(der_writer_view(&plain), metadata));
    if (with_ppk) {
        assert_int_equal(pieces[i].data[0], 0xA2);
        assert_int_equal(der_parse_single(pieces[i], &sequence, &err), RSP_OK);
        plain.len = 0;
        assert_int_equal(
            rsp_bsp_decrypt_all(&bsp, 0x87, sequence.value.data, sequence.value.len, &plain, &err),
            RSP_OK);
        sgp22_replace_session_keys_request replace;
        assert_int_equal(schema_decode(&sgp22_replace_session_keys_request_type,
                                       der_writer_view(&plain), &replace, NULL, &err),
                         RSP_OK);
        rsp_bsp_keys ppk;
        assert_int_equal(rsp_bsp_keys_from_replace_session_keys(
                             replace.ppk_enc.data, replace.ppk_enc.len, replace.ppk_cmac.data,
                             replace.ppk_cmac.len, replace.initial_mac_chaining_value.data,
                             replace.initial_mac_chaining_value.len, &ppk, &err),
                         RSP_OK);
        assert_int_equal(rsp_bsp_session_rekey(&bsp, &ppk, &err), RSP_OK);
        i++;
    }
    /* A3 header, then 86 segments: the package */
    assert_int_equal(pieces[i++].data[0], 0xA3);
    plain.len = 0;
    for (; i < count; i++) {
        uint8_t segment_plain[RSP_BSP_DATA_MAX];
        size_t segment_len = 0;
        assert_int_equal(pieces[i].data[0], 0x86);
        assert_true(pieces[i].len <= RSP_BSP_SEGMENT_MAX);
        assert_int_equal(rsp_bsp_decrypt_segment(&bsp, 0x86, pieces[i].data, pieces[i].len,
                                                 segment_plain, sizeof segment_plain, &segment_len,
                                                 &err),
                         RSP_OK);
        der_put_raw(&plain, segment_plain, segment_len);
    }
    assert_true(der_view_equal(der_writer_view(&plain), package));
    der_writer_free(&plain);
    rsp_bsp_session_cleanup(&bsp);
}

static void bind_on(const fixture *f, rsp_curve curve, bool with_ppk)
{
    rsp_error err = {0};
    rsp_private_key *dppb_key = NULL;
    rsp_public_key *dppb = NULL;
    rsp_private_key *euicc_otsk = NULL;
    uint8_t euicc_otpk[RSP_EC_POINT_SIZE];
    assert_int_equal(rsp_private_key_generate(curve, &dppb_key, &err), RSP_OK);
    assert_int_equal(rsp_private_key_public(dppb_key, &dppb, &err), RSP_OK);
    assert_int_equal(rsp_ecka_one_time_key(curve, &euicc_otsk, euicc_otpk, &err), RSP_OK);
    uint8_t eid[SMDP_EID_SIZE];
    assert_int_equal(smdp_eid_bytes(EID, eid, &err), RSP_OK);
    smdp_order order = order_for(f);
    der_writer metadata;
    der_writer_init_dynamic(&metadata, NULL);
    assert_int_equal(smdp_metadata_build(&order, "smdp.example", &metadata, &err), RSP_OK);
    static const uint8_t tid[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    rsp_bsp_keys ppk;
    memset(&ppk, 0x5A, sizeof ppk);
    smdp_binding_input input = {.transaction_id = der_view_make(tid, sizeof tid),
                                .euicc_otpk = euicc_otpk,
                                .eid = eid,
                                .dppb_key = dppb_key,
                                .metadata = der_writer_view(&metadata),
                                .package = order.package,
                                .ppk = with_ppk ? &ppk : NULL};
    der_writer bpp, again;
    der_writer_init_dynamic(&bpp, NULL);
    der_writer_init_dynamic(&again, NULL);
    smdp_binding_secrets kept;
    assert_int_equal(smdp_bind_profile_package_kept(&input, &bpp, &kept, &err), RSP_OK);
    assert_int_equal(kept.has_ppk, with_ppk);
    /* rebuilt from what was kept and the order alone: the same bytes (SGP.22 3.1.3 retry) */
    smdp_binding_input order_only = {.transaction_id = input.transaction_id,
                                     .eid = eid,
                                     .metadata = input.metadata,
                                     .package = input.package};
    assert_int_equal(smdp_rebind_profile_package(&order_only, &kept, &again, &err), RSP_OK);
    assert_true(der_view_equal(der_writer_view(&again), der_writer_view(&bpp)));
    der_writer_free(&again);
    /* the whole BPP is a valid BoundProfilePackage for the codec too */
    uint8_t *arena_buffer = malloc(65536);
    schema_arena arena;
    schema_arena_init(&arena, arena_buffer, 65536);
    sgp22_bound_profile_package decoded;
    assert_int_equal(schema_decode(&sgp22_bound_profile_package_type, der_writer_view(&bpp),
                                   &decoded, &arena, &err),
                     RSP_OK);
    assert_int_equal(decoded.has_second_sequence_of87, with_ppk);
    free(arena_buffer);
    open_bpp(der_writer_view(&bpp), euicc_otsk, euicc_otpk, dppb, eid, der_writer_view(&metadata),
             order.package, with_ppk);
    der_writer_free(&bpp);
    der_writer_free(&metadata);
    rsp_private_key_free(dppb_key);
    rsp_public_key_free(dppb);
    rsp_private_key_free(euicc_otsk);
}

static void test_bind_and_open_both_curves(void **state)
{
    fixture *f = *state;
    need_package(f);
    bind_on(f, RSP_CURVE_NIST_P256, false);
    bind_on(f, RSP_CURVE_BRAINPOOL_P256R1, false);
    bind_on(f, RSP_CURVE_NIST_P256, true);
    bind_on(f, RSP_CURVE_BRAINPOOL_P256R1, true);
}

static void test_bind_refuses_bad_input(void **state)
{
    (void)state;
    rsp_error err = {0};
    smdp_binding_input input;
    memset(&input, 0, sizeof input);
    der_writer bpp;
    der_writer_init_dynamic(&bpp, NULL);
    assert_int_equal(smdp_bind_profile_package(&input, &bpp, &err), RSP_ERR_INVALID_ARGUMENT);
    uint8_t eid[SMDP_EID_SIZE];
    assert_int_not_equal(smdp_eid_bytes("8904", eid, &err), RSP_OK);
    assert_int_not_equal(smdp_eid_bytes("8904903212345123451234567890123X", eid, &err), RSP_OK);
    der_view pieces[4];
    size_t count = 0;
    static const uint8_t not_bpp[] = {0xBF, 0x37, 0x00};
    assert_int_not_equal(smdp_bpp_split(der_view_make(not_bpp, 3), pieces, 4, &count, &err),
                         RSP_OK);
    static const uint8_t no_channel[] = {0xBF, 0x36, 0x02, 0xA0, 0x00};
    assert_int_not_equal(smdp_bpp_split(der_view_make(no_channel, 5), pieces, 4, &count, &err),
                         RSP_OK);
    der_writer_free(&bpp);
}

static void test_session_round_trip(void **state)
{
    (void)state;
    smdp_download_session session;
    memset(&session, 0, sizeof session);
    session.state = SMDP_SESSION_BOUND;
    for (int i = 0; i < 16; i++) {
        session.transaction_id[i] = (uint8_t)i;
        session.euicc_challenge[i] = (uint8_t)(0x40 + i);
        session.server_challenge[i] = (uint8_t)(0x80 + i);
    }
    session.identity_index = 1;
    session.created = 1700000000;
    memcpy(session.eid, EID, sizeof session.eid);
    memcpy(session.matching_id, "ABC", 3);
    session.matching_id_len = 3;
    session.euicc_curve = RSP_CURVE_BRAINPOOL_P256R1;
    memset(session.euicc_public_point, 0x04, sizeof session.euicc_public_point);
    memset(session.euicc_signature1, 0x11, sizeof session.euicc_signature1);
    memset(session.smdp_signature2, 0x22, sizeof session.smdp_signature2);
    session.cc_required = true;
    session.cc_attempts = 2;
    session.has_euicc_otpk = true;
    memset(session.euicc_otpk, 0x33, sizeof session.euicc_otpk);
    session.bpp_command_id = 5;
    session.error_reason = 8;
    /* the binding secrets, with and without PPKs */
    for (int with_ppk = 0; with_ppk < 2; with_ppk++) {
        smdp_download_session bound = session;
        bound.has_binding = true;
        memset(bound.binding.host_id, 0x44, sizeof bound.binding.host_id);
        memset(bound.binding.smdp_otpk, 0x55, sizeof bound.binding.smdp_otpk);
        memset(bound.binding.signature, 0x66, sizeof bound.binding.signature);
        memset(&bound.binding.session_keys, 0x77, sizeof bound.binding.session_keys);
        bound.binding.has_ppk = with_ppk != 0;
        if (with_ppk)
            memset(&bound.binding.ppk, 0x88, sizeof bound.binding.ppk);
        der_writer encoded;
        der_writer_init_dynamic(&encoded, NULL);
        assert_int_equal(smdp_download_session_encode(&bound, &encoded), RSP_OK);
        smdp_download_session decoded;
        rsp_error decode_err = {0};
        assert_int_equal(
            smdp_download_session_decode(der_writer_view(&encoded), &decoded, &decode_err), RSP_OK);
        assert_memory_equal(&decoded, &bound, sizeof bound);
        der_writer_free(&encoded);
    }
    der_writer out;
    der_writer_init_dynamic(&out, NULL);
    assert_int_equal(smdp_download_session_encode(&session, &out), RSP_OK);
    smdp_download_session back;
    rsp_error err = {0};
    assert_int_equal(smdp_download_session_decode(der_writer_view(&out), &back, &err), RSP_OK);
    assert_memory_equal(&back, &session, sizeof session);
    /* every truncation and a changed tag are refused, leaving a zeroed session */
    for (size_t len = 0; len < out.len; len++)
        assert_int_not_equal(smdp_download_session_decode(der_view_make(out.buf, len), &back, &err),
                             RSP_OK);
    out.buf[2] ^= 0x01; /* first field tag 80 -> 81 */
    assert_int_not_equal(smdp_download_session_decode(der_writer_view(&out), &back, &err), RSP_OK);
    assert_int_equal(back.state, SMDP_SESSION_NONE);
    der_writer_free(&out);
}

static void test_status_codes(void **state)
{
    (void)state;
    for (int r = SMDP_ERR_MALFORMED; r < SMDP_ERR_INTERNAL; r++) {
        assert_non_null(smdp_result_subject_code((smdp_result)r));
        assert_non_null(smdp_result_reason_code((smdp_result)r));
        assert_non_null(smdp_result_name((smdp_result)r));
    }
    assert_null(smdp_result_subject_code(SMDP_OK));
    assert_null(smdp_result_subject_code(SMDP_ERR_INTERNAL));
    assert_string_equal(smdp_result_subject_code(SMDP_ERR_UNKNOWN_TRANSACTION), "8.10.1");
    assert_string_equal(smdp_result_reason_code(SMDP_ERR_UNKNOWN_TRANSACTION), "3.9");
    assert_string_equal(smdp_result_subject_code(SMDP_ERR_EUICC_SIGNATURE_INVALID), "8.1");
    assert_string_equal(smdp_result_reason_code(SMDP_ERR_EUICC_SIGNATURE_INVALID), "6.1");
    assert_string_equal(smdp_result_reason_code(SMDP_ERR_CC_RETRIES_EXCEEDED), "6.4");
    assert_null(smdp_result_subject_code(SMDP_RESULT__COUNT));
}

static void test_transaction_id_lookup(void **state)
{
    (void)state;
    static const uint8_t client[] = {0xBF, 0x3B, 0x05, 0x80, 0x03, 0xAA, 0xBB, 0xCC};
    static const uint8_t result[] = {0xBF, 0x37, 0x07, 0xBF, 0x27, 0x04, 0x80, 0x02, 0x12, 0x34};
    static const uint8_t no_tid[] = {0xBF, 0x3A, 0x03, 0x81, 0x01, 0x00};
    uint8_t tid[SMDP_TRANSACTION_ID_SIZE];
    size_t len = 0;
    rsp_error err = {0};
    assert_int_equal(
        smdp_request_transaction_id(der_view_make(client, sizeof client), tid, &len, &err), RSP_OK);
    assert_int_equal(len, 3);
    assert_int_equal(tid[2], 0xCC);
    assert_int_equal(
        smdp_request_transaction_id(der_view_make(result, sizeof result), tid, &len, &err), RSP_OK);
    assert_int_equal(len, 2);
    assert_int_equal(tid[1], 0x34);
    assert_int_not_equal(
        smdp_request_transaction_id(der_view_make(no_tid, sizeof no_tid), tid, &len, &err), RSP_OK);
}

static void test_malformed_requests(void **state)
{
    (void)state;
    smdp_credentials credentials = {.address = "smdp.example"};
    smdp_download_session session;
    memset(&session, 0, sizeof session);
    der_writer out;
    der_writer_init_dynamic(&out, NULL);
    rsp_error err = {0};
    static const uint8_t garbage[] = {0xBF, 0x39, 0x03, 0x81, 0x01};
    assert_int_equal(smdp_initiate_authentication(&credentials, der_view_make(garbage, 5), 0,
                                                  &session, &out, &err),
                     SMDP_ERR_MALFORMED);
    assert_int_equal(out.len, 0);
    /* functions out of order: no session */
    static const uint8_t client[] = {0xBF, 0x3B, 0x00};
    assert_int_equal(smdp_authenticate_client(&credentials, &session, der_view_make(client, 3), 0,
                                              NULL, NULL, &out, &err),
                     SMDP_ERR_UNKNOWN_TRANSACTION);
    smdp_order order;
    memset(&order, 0, sizeof order);
    assert_int_equal(smdp_get_bound_profile_package(&credentials, &session,
                                                    der_view_make(client, 3), &order, &out, &err),
                     SMDP_ERR_UNKNOWN_TRANSACTION);
    assert_int_equal(out.len, 0);
    der_writer_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metadata_from_package),
        cmocka_unit_test(test_bind_and_open_both_curves),
        cmocka_unit_test(test_bind_refuses_bad_input),
        cmocka_unit_test(test_session_round_trip),
        cmocka_unit_test(test_status_codes),
        cmocka_unit_test(test_transaction_id_lookup),
        cmocka_unit_test(test_malformed_requests),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
