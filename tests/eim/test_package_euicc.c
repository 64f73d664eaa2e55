/* eUICC Packages end to end: the eIM core (eim/package.h) builds and signs, the software
 * eUICC (SGP.32 v1.2 ES10b) verifies and executes, the eIM verifies the signed result.
 * AddInitialEim, every PSMO and eCO, per-operation results, notifications, sequence numbers
 * and acknowledgement, rollback, fallback, emergency profile, memory reset, and the refusals:
 * replay, another EID, an unknown key or eIM, counter out of range, oversized package, eCall
 * active, and an eIM handover after which the old eIM is refused. */
#include "../euicc/test_es10_fixture.h"

#include "core/saip.h"
#include "crypto/signature_gsma.h"
#include "eim/package.h"
#include "euicc/euicc_package.h"

#define EIM1 "eim1.example.org"
#define EIM2 "eim2.example.org"

static const char iccid_a[] = "98001032547698103214"; /* enabled at start */
static const char iccid_b[] = "98001032547698103224";
static const char iccid_unknown[] = "98001032547698103294";

typedef struct {
    const char *eim_id;
    rsp_private_key *key;
    int64_t counter;
    bool has_token;
    int64_t token;
} test_eim;

typedef struct {
    fixture *f;
    test_eim eim1, eim2, stranger;
    uint8_t arena[EIM_RESULT_ARENA_SIZE];
    eim_package_outcome outcome;
    der_writer last_result;
} context;

static int setup(void **state)
{
    fixture_setup(state);
    context *c = calloc(1, sizeof(*c));
    rsp_error err = {0};
    c->f = *state;
    c->eim1.eim_id = EIM1;
    c->eim2.eim_id = EIM2;
    c->stranger.eim_id = EIM1;
    if (rsp_private_key_generate(RSP_CURVE_NIST_P256, &c->eim1.key, &err) != RSP_OK ||
        rsp_private_key_generate(RSP_CURVE_NIST_P256, &c->eim2.key, &err) != RSP_OK ||
        rsp_private_key_generate(RSP_CURVE_NIST_P256, &c->stranger.key, &err) != RSP_OK)
        return -1;
    der_writer_init_dynamic(&c->last_result, NULL);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    context *c = *state;
    rsp_private_key_free(c->eim1.key);
    rsp_private_key_free(c->eim2.key);
    rsp_private_key_free(c->stranger.key);
    der_writer_free(&c->last_result);
    void *f = c->f;
    free(c);
    return fixture_teardown(&f);
}

/* ---- helpers -------------------------------------------------------------------------- */

static void plant(context *c, const char *iccid, uint8_t aid_last, int64_t state)
{
    planted_profile p = {iccid, aid_last, state,     SGP22_PROFILE_CLASS_OPERATIONAL,
                         "P",   0,        ALL_EVENTS};
    fixture_plant(c->f, &p);
}

static der_view iccid_view(const char *hex, uint8_t *buffer)
{
    assert_int_equal(der_hex_decode(hex, buffer, EUICC_ICCID_SIZE), EUICC_ICCID_SIZE);
    return der_view_make(buffer, EUICC_ICCID_SIZE);
}

/* ES10b ProfileRollback (BF58) into *r, asserted to succeed; answer points into r and arena. */
static void rollback_ok(context *c, command_result *r, sgp32_profile_rollback_response *answer,
                        uint8_t *arena, size_t arena_size)
{
    *r = fixture_run(c->f, "BF5803800100");
    fixture_decode(r, &sgp32_profile_rollback_response_type, answer, arena, arena_size);
    assert_int_equal(answer->cmd_result, SGP32_PROFILE_ROLLBACK_RESULT_OK);
}

static int64_t profile_state_of(context *c, const char *iccid)
{
    uint8_t buffer[EUICC_ICCID_SIZE];
    long index = euicc_profile_find(c->f->e, false, iccid_view(iccid, buffer));
    if (index < 0)
        return -1;
    return euicc_state_find_enabled_profile(euicc_get_state(c->f->e)) == index
               ? SGP22_PROFILE_STATE_ENABLED
               : SGP22_PROFILE_STATE_DISABLED;
}

/* EimConfigurationData with the eIM's public key as eimPublicKey [0] SubjectPublicKeyInfo */
static void eim_configuration(const test_eim *eim, bool want_token, uint8_t *spki_buffer,
                              size_t cap, sgp32_eim_configuration_data *out)
{
    rsp_public_key *public_key = NULL;
    uint8_t *spki = NULL;
    size_t spki_len = 0;
    rsp_error err = {0};
    assert_int_equal(rsp_private_key_public(eim->key, &public_key, &err), RSP_OK);
    assert_int_equal(rsp_public_key_to_spki(public_key, &spki, &spki_len, &err), RSP_OK);
    assert_true(spki_len <= cap);
    memcpy(spki_buffer, spki, spki_len);
    free(spki);
    rsp_public_key_free(public_key);
    memset(out, 0, sizeof(*out));
    out->eim_id = der_view_make((const uint8_t *)eim->eim_id, strlen(eim->eim_id));
    out->has_eim_fqdn = true;
    out->eim_fqdn = out->eim_id;
    out->has_counter_value = true;
    out->counter_value = 0;
    out->has_association_token = want_token;
    out->association_token = EUICC_ASSOCIATION_TOKEN_REQUEST;
    out->has_eim_public_key_data = true;
    out->eim_public_key_data.choice = SGP32_EIM_PUBLIC_KEY_DATA_EIM_PUBLIC_KEY;
    out->eim_public_key_data.u.eim_public_key = der_view_make(spki_buffer, spki_len);
}

static command_result run_value(context *c, const schema_type *type, const void *value)
{
    der_writer w;
    der_writer_init_dynamic(&w, NULL);
    assert_int_equal(schema_encode(type, value, &w), RSP_OK);
    char hex[8192];
    assert_true(w.len * 2 < sizeof(hex));
    der_hex_encode(w.buf, w.len, hex, true);
    der_writer_free(&w);
    return fixture_run(c->f, hex);
}

static void add_initial_eim(context *c, test_eim *eim)
{
    uint8_t spki[128];
    sgp32_add_initial_eim_request request;
    sgp32_eim_configuration_data configuration;
    eim_configuration(eim, true, spki, sizeof(spki), &configuration);
    request.eim_configuration_data_list.count = 1;
    request.eim_configuration_data_list.items = &configuration;
    command_result r = run_value(c, &sgp32_add_initial_eim_request_type, &request);
    sgp32_add_initial_eim_response answer;
    uint8_t arena_buffer[256];
    fixture_decode(&r, &sgp32_add_initial_eim_response_type, &answer, arena_buffer,
                   sizeof(arena_buffer));
    assert_int_equal(answer.choice, SGP32_ADD_INITIAL_EIM_RESPONSE_ADD_INITIAL_EIM_OK);
    assert_int_equal(answer.u.add_initial_eim_ok.count, 1);
    const sgp32_add_initial_eim_ok_item *item = answer.u.add_initial_eim_ok.items;
    assert_int_equal(item->choice, SGP32_ADD_INITIAL_EIM_OK_ASSOCIATION_TOKEN);
    eim->has_token = true;
    eim->token = item->u.association_token;
}

static void header_of(context *c, const test_eim *eim, eim_package_header *header)
{
    memset(header, 0, sizeof(*header));
    header->eim_id = eim->eim_id;
    memcpy(header->eid, c->f->eid, EIM_EID_SIZE);
    header->counter_value = eim->counter;
    header->transaction_id[0] = (uint8_t)eim->counter;
    header->transaction_id[1] = 0x5A;
    header->transaction_id_len = 2;
    header->has_association_token = eim->has_token;
    header->association_token = eim->token;
}

/* Sends a package (next counter unless counter_override >= 0) and verifies the answer as
 * the eIM does; returns the outcome kind. */
static eim_result_kind send_package(context *c, test_eim *eim, bool psmos, const void *items,
                                    size_t count, int64_t counter_override)
{
    eim_package_header header;
    der_writer request;
    rsp_error err = {0};
    eim->counter = counter_override >= 0 ? counter_override : eim->counter + 1;
    header_of(c, eim, &header);
    der_writer_init_dynamic(&request, NULL);
    rsp_status status =
        psmos ? eim_package_build_psmos(eim->key, &header, items, count, &request, &err)
              : eim_package_build_ecos(eim->key, &header, items, count, &request, &err);
    assert_int_equal(status, RSP_OK);
    c->last_result.len = 0;
    assert_int_equal(euicc_process(c->f->e, der_writer_view(&request), &c->last_result), RSP_OK);
    der_writer_free(&request);
    schema_arena arena;
    schema_arena_init(&arena, c->arena, sizeof(c->arena));
    eim_result_expectation expect = {c->f->euicc_cert, &header};
    status = eim_package_result_verify(&expect, der_writer_view(&c->last_result), &arena,
                                       &c->outcome, &err);
    if (status != RSP_OK)
        fail_msg("result verification: %s", err.message);
    return c->outcome.kind;
}

static void acknowledge(context *c, int64_t seq_number)
{
    char hex[64];
    /* BF30 { 80 01 seq } */
    assert_true(seq_number > 0 && seq_number < 128);
    snprintf(hex, sizeof(hex), "BF3003800 1%02X", (unsigned)seq_number);
    command_result r = fixture_run(c->f, hex);
    assert_int_equal(r.status, RSP_OK);
}

static size_t pending(context *c, euicc_list_id list)
{
    return euicc_state_count(euicc_get_state(c->f->e), list);
}

static sgp32_psmo psmo_iccid(int choice, const char *iccid, uint8_t *buffer)
{
    sgp32_psmo psmo;
    memset(&psmo, 0, sizeof(psmo));
    psmo.choice = choice;
    der_view view = iccid_view(iccid, buffer);
    if (choice == SGP32_PSMO_ENABLE)
        psmo.u.enable.iccid = view;
    else if (choice == SGP32_PSMO_DISABLE)
        psmo.u.disable.iccid = view;
    else if (choice == SGP32_PSMO_DELETE)
        psmo.u.delete_profile.iccid = view;
    else
        psmo.u.set_fallback_attribute.iccid = view;
    return psmo;
}

static rsp_status encode_state(context *c, der_writer *out)
{
    der_writer_init_dynamic(out, NULL);
    return euicc_state_encode(euicc_get_state(c->f->e), out);
}

/* ---- tests ---------------------------------------------------------------------------- */

static void test_add_initial_eim_configuration_and_certs(void **state)
{
    context *c = *state;
    add_initial_eim(c, &c->eim1);
    assert_int_equal(c->eim1.token, 1);

    /* GetEimConfigurationData: the eIM with its counter (0) and token */
    command_result r = fixture_run(c->f, "BF5500");
    sgp32_get_eim_configuration_data_response configs;
    uint8_t arena_buffer[2048];
    fixture_decode(&r, &sgp32_get_eim_configuration_data_response_type, &configs, arena_buffer,
                   sizeof(arena_buffer));
    rsp_error err = {0};
    assert_int_equal(configs.eim_configuration_data_list.count, 1);
    const sgp32_eim_configuration_data *stored = configs.eim_configuration_data_list.items;
    assert_true(stored->has_counter_value);
    assert_int_equal(stored->counter_value, 0);
    assert_true(stored->has_association_token);
    assert_int_equal(stored->association_token, 1);
    assert_true(stored->has_euicc_ci_pk_id);
    /* search criteria: another eimId gives an empty list */
    r = fixture_run(c->f, "BF5505A003800178");
    assert_int_equal(r.status, RSP_OK);
    assert_hex_equal(r.data, r.len, "BF5502A000");

    /* a second AddInitialEim is refused: an eIM is associated */
    uint8_t spki[128];
    sgp32_add_initial_eim_request request;
    sgp32_eim_configuration_data configuration;
    eim_configuration(&c->eim2, false, spki, sizeof(spki), &configuration);
    request.eim_configuration_data_list.count = 1;
    request.eim_configuration_data_list.items = &configuration;
    r = run_value(c, &sgp32_add_initial_eim_request_type, &request);
    assert_int_equal(r.status, RSP_OK);
    assert_hex_equal(r.data, r.len, "BF5703810102");

    /* GetCerts returns the two certificates under A5 / A6; an unknown CI id is refused */
    r = fixture_run(c->f, "BF5600");
    assert_int_equal(r.status, RSP_OK);
    sgp32_get_certs_response certs;
    assert_int_equal(schema_decode(&sgp32_get_certs_response_type, der_view_make(r.data, r.len),
                                   &certs, NULL, &err),
                     RSP_OK);
    assert_int_equal(certs.choice, SGP32_GET_CERTS_RESPONSE_CERTS);
    der_view euicc_der = rsp_certificate_der(c->f->euicc_cert);
    assert_int_equal(certs.u.certs.euicc_certificate.len, euicc_der.len);
    assert_memory_equal(certs.u.certs.euicc_certificate.data + 1, euicc_der.data + 1,
                        euicc_der.len - 1);
    assert_int_equal(certs.u.certs.euicc_certificate.data[0], 0xA6);
    r = fixture_run(c->f, "BF5606800401020304");
    assert_hex_equal(r.data, r.len, "BF5603810101");
}

static void test_psmos_results_notifications_and_acknowledgement(void **state)
{
    context *c = *state;
    uint8_t b1[10], b2[10], b3[10];
    plant(c, iccid_a, 0x10, SGP22_PROFILE_STATE_ENABLED);
    plant(c, iccid_b, 0x11, SGP22_PROFILE_STATE_DISABLED);
    add_initial_eim(c, &c->eim1);
    size_t notifications = pending(c, EUICC_LIST_NOTIFICATIONS);

    /* list the profiles, read the RAT, enable B */
    sgp32_psmo first[3];
    memset(&first[0], 0, sizeof(first[0]));
    first[0].choice = SGP32_PSMO_LIST_PROFILE_INFO;
    memset(&first[1], 0, sizeof(first[1]));
    first[1].choice = SGP32_PSMO_GET_RAT;
    first[2] = psmo_iccid(SGP32_PSMO_ENABLE, iccid_b, b1);
    assert_int_equal(send_package(c, &c->eim1, true, first, 3, -1), EIM_RESULT_SIGNED);
    assert_int_equal(c->outcome.operation_count, 3);
    assert_int_equal(c->outcome.operations[2].choice, SGP32_EUICC_RESULT_DATA_ENABLE_RESULT);
    assert_int_equal(c->outcome.operations[2].u.enable_result, SGP32_ENABLE_PROFILE_RESULT_OK);
    assert_int_equal(c->outcome.operations[0].choice,
                     SGP32_EUICC_RESULT_DATA_LIST_PROFILE_INFO_RESULT);
    const sgp32_profile_info_list_response *list =
        &c->outcome.operations[0].u.list_profile_info_result;
    assert_int_equal(list->choice, SGP32_PROFILE_INFO_LIST_RESPONSE_PROFILE_INFO_LIST_OK);
    assert_int_equal(list->u.profile_info_list_ok.count, 2);
    const sgp32_profile_info *infos = list->u.profile_info_list_ok.items;
    assert_int_equal(infos[0].profile_state, SGP22_PROFILE_STATE_ENABLED); /* before B's enable */
    assert_int_equal(c->outcome.operations[1].choice, SGP32_EUICC_RESULT_DATA_GET_RAT_RESULT);
    assert_int_equal(profile_state_of(c, iccid_b), SGP22_PROFILE_STATE_ENABLED);
    /* disable A + enable B notifications, and the result kept until acknowledged */
    assert_int_equal(pending(c, EUICC_LIST_NOTIFICATIONS), notifications + 2);
    int64_t first_seq = c->outcome.seq_number;
    assert_true(euicc_state_find_package_result(euicc_get_state(c->f->e), first_seq) >= 0);
    assert_true(first_seq > 0);

    /* acknowledgement (RemoveNotificationFromList with the seqNumber) removes it */
    acknowledge(c, first_seq);
    assert_int_equal(euicc_state_find_package_result(euicc_get_state(c->f->e), first_seq), -1);

    /* disable then delete B: two results, a delete notification; sequence numbers grow */
    sgp32_psmo second[2] = {psmo_iccid(SGP32_PSMO_DISABLE, iccid_b, b1),
                            psmo_iccid(SGP32_PSMO_DELETE, iccid_b, b2)};
    assert_int_equal(send_package(c, &c->eim1, true, second, 2, -1), EIM_RESULT_SIGNED);
    assert_int_equal(c->outcome.operation_count, 2);
    assert_int_equal(c->outcome.operations[0].u.disable_result, 0);
    assert_int_equal(c->outcome.operations[1].u.delete_result, 0);
    assert_true(c->outcome.seq_number > first_seq);
    assert_int_equal(profile_state_of(c, iccid_b), -1);
    assert_int_equal(pending(c, EUICC_LIST_NOTIFICATIONS), notifications + 4);

    /* the first failure ends the package: enable A after a failed delete never runs */
    sgp32_psmo third[2] = {psmo_iccid(SGP32_PSMO_DELETE, iccid_unknown, b1),
                           psmo_iccid(SGP32_PSMO_ENABLE, iccid_a, b2)};
    assert_int_equal(send_package(c, &c->eim1, true, third, 2, -1), EIM_RESULT_SIGNED);
    assert_int_equal(c->outcome.operation_count, 1);
    assert_int_equal(c->outcome.operations[0].u.delete_result,
                     SGP32_DELETE_PROFILE_RESULT_ICCID_OR_AID_NOT_FOUND);
    assert_int_equal(profile_state_of(c, iccid_a), SGP22_PROFILE_STATE_DISABLED);

    /* a list after a profile change of the same package: profileChangeOngoing ends it */
    sgp32_psmo changed[3];
    changed[0] = psmo_iccid(SGP32_PSMO_ENABLE, iccid_a, b1);
    memset(&changed[1], 0, sizeof(changed[1]));
    changed[1].choice = SGP32_PSMO_LIST_PROFILE_INFO;
    memset(&changed[2], 0, sizeof(changed[2]));
    changed[2].choice = SGP32_PSMO_GET_RAT;
    assert_int_equal(send_package(c, &c->eim1, true, changed, 3, -1), EIM_RESULT_SIGNED);
    assert_int_equal(c->outcome.operation_count, 2);
    assert_int_equal(c->outcome.operations[1].u.list_profile_info_result.choice,
                     SGP32_PROFILE_INFO_LIST_RESPONSE_PROFILE_INFO_LIST_ERROR);
    assert_int_equal(c->outcome.operations[1].u.list_profile_info_result.u.profile_info_list_error,
                     SGP32_PROFILE_INFO_LIST_ERROR_PROFILE_CHANGE_ONGOING);
    sgp32_psmo back = psmo_iccid(SGP32_PSMO_DISABLE, iccid_a, b1);
    assert_int_equal(send_package(c, &c->eim1, true, &back, 1, -1), EIM_RESULT_SIGNED);

    /* configuration PSMOs */
    sgp32_psmo fourth[4];
    memset(fourth, 0, sizeof(fourth));
    fourth[0].choice = SGP32_PSMO_CONFIGURE_IMMEDIATE_ENABLE;
    fourth[0].u.configure_immediate_enable.has_immediate_enable_flag = true;
    fourth[1] = psmo_iccid(SGP32_PSMO_SET_FALLBACK_ATTRIBUTE, iccid_a, b3);
    fourth[2].choice = SGP32_PSMO_UNSET_FALLBACK_ATTRIBUTE;
    fourth[3].choice = SGP32_PSMO_SET_DEFAULT_DP_ADDRESS;
    fourth[3].u.set_default_dp_address.default_dp_address =
        der_view_make((const uint8_t *)"dp.example.net", 14);
    assert_int_equal(send_package(c, &c->eim1, true, fourth, 4, -1), EIM_RESULT_SIGNED);
    assert_int_equal(c->outcome.operation_count, 4);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(c->outcome.operations[i].u.enable_result, 0);
    assert_int_equal(c->outcome.operations[3].choice,
                     SGP32_EUICC_RESULT_DATA_SET_DEFAULT_DP_ADDRESS_RESULT);
    der_view dp = euicc_state_slot(euicc_get_state(c->f->e), EUICC_SLOT_DEFAULT_DP);
    assert_int_equal(dp.len, 14);
    assert_memory_equal(dp.data, "dp.example.net", 14);
    assert_true(euicc_state_slot(euicc_get_state(c->f->e), EUICC_SLOT_IMMEDIATE_ENABLE).len > 0);
    /* unset with no attribute left: noFallbackAttribute, a failure */
    sgp32_psmo fifth;
    memset(&fifth, 0, sizeof(fifth));
    fifth.choice = SGP32_PSMO_UNSET_FALLBACK_ATTRIBUTE;
    assert_int_equal(send_package(c, &c->eim1, true, &fifth, 1, -1), EIM_RESULT_SIGNED);
    assert_int_equal(c->outcome.operations[0].u.unset_fallback_attribute_result,
                     SGP32_UNSET_FALLBACK_ATTRIBUTE_RESULT_NO_FALLBACK_ATTRIBUTE);
}

static void test_rollback(void **state)
{
    context *c = *state;
    uint8_t b1[10];
    plant(c, iccid_a, 0x10, SGP22_PROFILE_STATE_ENABLED);
    plant(c, iccid_b, 0x11, SGP22_PROFILE_STATE_DISABLED);
    add_initial_eim(c, &c->eim1);
    /* no rollback granted yet */
    assert_hex_equal(fixture_run(c->f, "BF5803800100").data, 6, "BF5803020101");

    sgp32_psmo enable = psmo_iccid(SGP32_PSMO_ENABLE, iccid_b, b1);
    enable.u.enable.has_rollback_flag = true;
    assert_int_equal(send_package(c, &c->eim1, true, &enable, 1, -1), EIM_RESULT_SIGNED);
    int64_t granted_seq = c->outcome.seq_number;
    int64_t granted_counter = c->eim1.counter;
    assert_int_equal(profile_state_of(c, iccid_b), SGP22_PROFILE_STATE_ENABLED);

    sgp32_profile_rollback_response answer;
    uint8_t arena_buffer[1024];
    command_result r;
    rollback_ok(c, &r, &answer, arena_buffer, sizeof arena_buffer);
    assert_true(answer.has_euicc_package_result);
    assert_int_equal(profile_state_of(c, iccid_a), SGP22_PROFILE_STATE_ENABLED);

    /* the rollback result is signed for the granting package (same counter) */
    rsp_error err = {0};
    der_tlv outer, inner;
    assert_int_equal(der_parse_single(der_view_make(r.data, r.len), &outer, &err), RSP_OK);
    der_reader reader;
    assert_int_equal(der_reader_enter(&outer, 0, &reader, &err), RSP_OK);
    assert_int_equal(der_reader_next(&reader, &inner, &err), RSP_OK);
    assert_int_equal(der_reader_next(&reader, &inner, &err), RSP_OK);
    eim_package_header header;
    header_of(c, &c->eim1, &header);
    header.counter_value = granted_counter;
    schema_arena arena;
    schema_arena_init(&arena, c->arena, sizeof(c->arena));
    eim_result_expectation expect = {c->f->euicc_cert, &header};
    assert_int_equal(eim_package_result_verify(&expect, inner.whole, &arena, &c->outcome, &err),
                     RSP_OK);
    assert_int_equal(c->outcome.operations[0].choice, SGP32_EUICC_RESULT_DATA_ROLLBACK_RESULT);
    assert_true(c->outcome.seq_number > granted_seq);

    /* once used (or once its result is acknowledged) rollback is no longer allowed */
    assert_hex_equal(fixture_run(c->f, "BF5803800100").data, 6, "BF5803020101");
    assert_int_equal(send_package(c, &c->eim1, true, &enable, 1, -1), EIM_RESULT_SIGNED);
    acknowledge(c, c->outcome.seq_number);
    assert_hex_equal(fixture_run(c->f, "BF5803800100").data, 6, "BF5803020101");
}

static void test_refusals_leave_state_unchanged(void **state)
{
    context *c = *state;
    uint8_t b1[10];
    plant(c, iccid_a, 0x10, SGP22_PROFILE_STATE_ENABLED);
    plant(c, iccid_b, 0x11, SGP22_PROFILE_STATE_DISABLED);
    add_initial_eim(c, &c->eim1);
    sgp32_psmo enable = psmo_iccid(SGP32_PSMO_ENABLE, iccid_b, b1);
    c->eim1.counter = 10;
    sgp32_psmo get_rat;
    memset(&get_rat, 0, sizeof(get_rat));
    get_rat.choice = SGP32_PSMO_GET_RAT;
    assert_int_equal(send_package(c, &c->eim1, true, &get_rat, 1, -1), EIM_RESULT_SIGNED);

    der_writer before, after;
    assert_int_equal(encode_state(c, &before), RSP_OK);

    /* replay of counter 11 and an older counter: replayError */
    assert_int_equal(send_package(c, &c->eim1, true, &enable, 1, 11), EIM_RESULT_ERROR_SIGNED);
    assert_int_equal(c->outcome.error_code, SGP32_EUICC_PACKAGE_ERROR_REPLAY_ERROR);
    assert_int_equal(send_package(c, &c->eim1, true, &enable, 1, 3), EIM_RESULT_ERROR_SIGNED);
    assert_int_equal(c->outcome.error_code, SGP32_EUICC_PACKAGE_ERROR_REPLAY_ERROR);
    /* counter beyond what the eUICC supports */
    assert_int_equal(
        send_package(c, &c->eim1, true, &enable, 1, (int64_t)EUICC_EIM_COUNTER_MAX + 1),
        EIM_RESULT_ERROR_SIGNED);
    assert_int_equal(c->outcome.error_code, SGP32_EUICC_PACKAGE_ERROR_COUNTER_VALUE_OUT_OF_RANGE);

    /* another EID: invalidEid */
    eim_package_header header;
    der_writer request;
    rsp_error err = {0};
    c->eim1.counter = 20;
    header_of(c, &c->eim1, &header);
    header.eid[15] ^= 0x01;
    der_writer_init_dynamic(&request, NULL);
    assert_int_equal(eim_package_build_psmos(c->eim1.key, &header, &enable, 1, &request, &err),
                     RSP_OK);
    c->last_result.len = 0;
    assert_int_equal(euicc_process(c->f->e, der_writer_view(&request), &c->last_result), RSP_OK);
    sgp32_euicc_package_result result;
    assert_int_equal(schema_decode(&sgp32_euicc_package_result_type,
                                   der_writer_view(&c->last_result), &result, NULL, &err),
                     RSP_OK);
    assert_int_equal(result.choice, SGP32_EUICC_PACKAGE_RESULT_EUICC_PACKAGE_ERROR_SIGNED);
    assert_int_equal(result.u.euicc_package_error_signed.euicc_package_error_data_signed
                         .euicc_package_error_code,
                     SGP32_EUICC_PACKAGE_ERROR_INVALID_EID);
    der_writer_free(&request);

    /* signed by a key the eUICC does not know, under eim1's name: unsigned error with the
     * configured token */
    c->stranger.counter = 30;
    assert_int_equal(send_package(c, &c->stranger, true, &enable, 1, -1),
                     EIM_RESULT_ERROR_UNSIGNED);
    assert_true(c->outcome.result.u.euicc_package_error_unsigned.has_association_token);
    /* an eIM the eUICC does not know at all */
    c->eim2.counter = 0;
    assert_int_equal(send_package(c, &c->eim2, true, &enable, 1, -1), EIM_RESULT_ERROR_UNSIGNED);
    assert_false(c->outcome.result.u.euicc_package_error_unsigned.has_association_token);

    assert_int_equal(encode_state(c, &after), RSP_OK);
    assert_int_equal(before.len, after.len);
    assert_memory_equal(before.buf, after.buf, before.len);
    assert_int_equal(profile_state_of(c, iccid_b), SGP22_PROFILE_STATE_DISABLED);
    der_writer_free(&before);
    der_writer_free(&after);

    /* oversized package: sizeOverflow, nothing executed, the counter consumed */
    size_t count = EUICC_PACKAGE_MAX_SIZE / 4;
    sgp32_psmo *many = calloc(count, sizeof(*many));
    for (size_t i = 0; i < count; i++)
        many[i].choice = SGP32_PSMO_GET_RAT;
    c->eim1.counter = 40;
    assert_int_equal(send_package(c, &c->eim1, true, many, count, -1), EIM_RESULT_ERROR_SIGNED);
    assert_int_equal(c->outcome.error_code, SGP32_EUICC_PACKAGE_ERROR_SIZE_OVERFLOW);
    free(many);
    assert_int_equal(send_package(c, &c->eim1, true, &get_rat, 1, 41), EIM_RESULT_ERROR_SIGNED);
    assert_int_equal(c->outcome.error_code, SGP32_EUICC_PACKAGE_ERROR_REPLAY_ERROR);
}

static void test_eim_handover(void **state)
{
    context *c = *state;
    add_initial_eim(c, &c->eim1);
    uint8_t spki[128];

    /* eim1 adds eim2 (asking for an association token) */
    sgp32_eco add;
    memset(&add, 0, sizeof(add));
    add.choice = SGP32_ECO_ADD_EIM;
    eim_configuration(&c->eim2, true, spki, sizeof(spki), &add.u.add_eim);
    assert_int_equal(send_package(c, &c->eim1, false, &add, 1, -1), EIM_RESULT_SIGNED);
    assert_int_equal(c->outcome.operations[0].choice, SGP32_EUICC_RESULT_DATA_ADD_EIM_RESULT);
    const sgp32_add_eim_result *added = &c->outcome.operations[0].u.add_eim_result;
    assert_int_equal(added->choice, SGP32_ADD_EIM_RESULT_ASSOCIATION_TOKEN);
    c->eim2.has_token = true;
    c->eim2.token = added->u.association_token;
    assert_int_not_equal(c->eim2.token, c->eim1.token);
    /* adding it again: associatedEimAlreadyExists */
    assert_int_equal(send_package(c, &c->eim1, false, &add, 1, -1), EIM_RESULT_SIGNED);
    assert_int_equal(c->outcome.operations[0].u.add_eim_result.u.add_eim_result_code,
                     SGP32_ADD_EIM_RESULT_ASSOCIATED_EIM_ALREADY_EXISTS);

    /* eim1 deletes itself (not the last eIM) */
    sgp32_eco remove;
    memset(&remove, 0, sizeof(remove));
    remove.choice = SGP32_ECO_DELETE_EIM;
    remove.u.delete_eim.eim_id = der_view_make((const uint8_t *)EIM1, strlen(EIM1));
    assert_int_equal(send_package(c, &c->eim1, false, &remove, 1, -1), EIM_RESULT_SIGNED);
    assert_int_equal(c->outcome.operations[0].u.delete_eim_result, SGP32_DELETE_EIM_RESULT_OK);

    /* eim1 is refused from now on; eim2 works and lists only itself */
    sgp32_eco list;
    memset(&list, 0, sizeof(list));
    list.choice = SGP32_ECO_LIST_EIM;
    assert_int_equal(send_package(c, &c->eim1, false, &list, 1, -1), EIM_RESULT_ERROR_UNSIGNED);
    assert_int_equal(send_package(c, &c->eim2, false, &list, 1, -1), EIM_RESULT_SIGNED);
    const sgp32_list_eim_result *listed = &c->outcome.operations[0].u.list_eim_result;
    assert_int_equal(listed->choice, SGP32_LIST_EIM_RESULT_EIM_ID_LIST);
    assert_int_equal(listed->u.eim_id_list.count, 1);
    const sgp32_eim_id_info *info = listed->u.eim_id_list.items;
    assert_int_equal(info->eim_id.len, strlen(EIM2));

    /* updateEim of itself (new counter base), then delete of the last eIM */
    sgp32_eco update;
    memset(&update, 0, sizeof(update));
    update.choice = SGP32_ECO_UPDATE_EIM;
    update.u.update_eim.eim_id = der_view_make((const uint8_t *)EIM2, strlen(EIM2));
    update.u.update_eim.has_counter_value = true;
    update.u.update_eim.counter_value = 100;
    assert_int_equal(send_package(c, &c->eim2, false, &update, 1, -1), EIM_RESULT_SIGNED);
    assert_int_equal(c->outcome.operations[0].u.update_eim_result, SGP32_UPDATE_EIM_RESULT_OK);
    assert_int_equal(send_package(c, &c->eim2, false, &list, 1, -1), EIM_RESULT_ERROR_SIGNED);
    assert_int_equal(c->outcome.error_code, SGP32_EUICC_PACKAGE_ERROR_REPLAY_ERROR);
    remove.u.delete_eim.eim_id = der_view_make((const uint8_t *)EIM2, strlen(EIM2));
    assert_int_equal(send_package(c, &c->eim2, false, &remove, 1, 101), EIM_RESULT_SIGNED);
    assert_int_equal(c->outcome.operations[0].u.delete_eim_result,
                     SGP32_DELETE_EIM_RESULT_LAST_EIM_DELETED);
    /* with no eIM left, AddInitialEim is possible again */
    c->eim1.counter = 0;
    add_initial_eim(c, &c->eim1);
}

static void set_emergency(context *c, const char *iccid)
{
    uint8_t buffer[EUICC_ICCID_SIZE];
    long index = euicc_profile_find(c->f->e, false, iccid_view(iccid, buffer));
    assert_true(index >= 0);
    euicc_loaded_profile profile;
    rsp_error err = {0};
    euicc_state *s = euicc_get_state(c->f->e);
    assert_int_equal(euicc_state_profile_load(s, (size_t)index, false, &profile, &err), RSP_OK);
    profile.record.info.has_ecall_indication = true;
    profile.record.info.ecall_indication = true;
    assert_int_equal(euicc_state_profile_update(s, (size_t)index, &profile.record), RSP_OK);
    euicc_loaded_profile_release(&profile);
    assert_int_equal(euicc_state_commit(s, c->f->state_path, false, &err), RSP_OK);
}

static void test_fallback_emergency_and_reset(void **state)
{
    context *c = *state;
    uint8_t b1[10];
    static const char iccid_e[] = "98001032547698103234";
    plant(c, iccid_a, 0x10, SGP22_PROFILE_STATE_ENABLED);
    plant(c, iccid_b, 0x11, SGP22_PROFILE_STATE_DISABLED);
    plant(c, iccid_e, 0x12, SGP22_PROFILE_STATE_DISABLED);
    set_emergency(c, iccid_e);
    add_initial_eim(c, &c->eim1);

    /* no fallback profile yet */
    assert_int_equal(fixture_result_code(c->f, "BF5D03800100"),
                     SGP32_EXECUTE_FALLBACK_RESULT_FALLBACK_NOT_AVAILABLE);
    sgp32_psmo set = psmo_iccid(SGP32_PSMO_SET_FALLBACK_ATTRIBUTE, iccid_b, b1);
    assert_int_equal(send_package(c, &c->eim1, true, &set, 1, -1), EIM_RESULT_SIGNED);
    assert_int_equal(c->outcome.operations[0].u.set_fallback_attribute_result, 0);
    /* the fallback profile cannot be deleted */
    sgp32_psmo del = psmo_iccid(SGP32_PSMO_DELETE, iccid_b, b1);
    assert_int_equal(send_package(c, &c->eim1, true, &del, 1, -1), EIM_RESULT_SIGNED);
    assert_int_equal(c->outcome.operations[0].u.delete_result,
                     SGP32_DELETE_PROFILE_RESULT_RETURN_FALLBACK_PROFILE);

    assert_int_equal(fixture_result_code(c->f, "BF5D03800100"), SGP32_EXECUTE_FALLBACK_RESULT_OK);
    assert_int_equal(profile_state_of(c, iccid_b), SGP22_PROFILE_STATE_ENABLED);
    assert_int_equal(fixture_result_code(c->f, "BF5D03800100"),
                     SGP32_EXECUTE_FALLBACK_RESULT_PROFILE_NOT_IN_DISABLED_STATE);
    assert_int_equal(fixture_result_code(c->f, "BF5E03800100"),
                     SGP32_RETURN_FROM_FALLBACK_RESULT_OK);
    assert_int_equal(profile_state_of(c, iccid_a), SGP22_PROFILE_STATE_ENABLED);
    assert_int_equal(fixture_result_code(c->f, "BF5E03800100"),
                     SGP32_RETURN_FROM_FALLBACK_RESULT_COMMAND_ERROR);

    /* emergency profile: packages are refused with ecallActive while it is enabled */
    assert_int_equal(fixture_result_code(c->f, "BF5C03800100"),
                     SGP32_DISABLE_EMERGENCY_PROFILE_RESULT_PROFILE_NOT_IN_ENABLED_STATE);
    assert_int_equal(fixture_result_code(c->f, "BF5B03800100"),
                     SGP32_ENABLE_EMERGENCY_PROFILE_RESULT_OK);
    assert_int_equal(profile_state_of(c, iccid_e), SGP22_PROFILE_STATE_ENABLED);
    sgp32_psmo get_rat;
    memset(&get_rat, 0, sizeof(get_rat));
    get_rat.choice = SGP32_PSMO_GET_RAT;
    assert_int_equal(send_package(c, &c->eim1, true, &get_rat, 1, -1), EIM_RESULT_ERROR_SIGNED);
    assert_int_equal(c->outcome.error_code, SGP32_EUICC_PACKAGE_ERROR_ECALL_ACTIVE);
    assert_int_equal(fixture_result_code(c->f, "BF5D03800100"),
                     SGP32_EXECUTE_FALLBACK_RESULT_ECALL_ACTIVE);
    assert_int_equal(fixture_result_code(c->f, "BF5C03800100"),
                     SGP32_DISABLE_EMERGENCY_PROFILE_RESULT_OK);
    assert_int_equal(profile_state_of(c, iccid_a), SGP22_PROFILE_STATE_ENABLED);
    assert_int_equal(send_package(c, &c->eim1, true, &get_rat, 1, -1), EIM_RESULT_SIGNED);

    /* connectivity parameters: none stored */
    command_result r = fixture_run(c->f, "BF5F00");
    assert_hex_equal(r.data, r.len, "BF5F03810101");

    /* SGP.32 SetDefaultDpAddress, then memory reset of operational profiles, the default
     * address and the eIM configuration */
    r = fixture_run(c->f, "BF650B8009736D64702E74657374");
    assert_hex_equal(r.data, r.len, "BF6503800100");
    r = fixture_run(c->f, "BF6404820202A4");
    assert_int_equal(r.status, RSP_OK);
    assert_hex_equal(r.data, r.len, "BF6406800100810100");
    assert_int_equal(pending(c, EUICC_LIST_PROFILES), 0);
    assert_int_equal(pending(c, EUICC_LIST_EIMS), 0);
    assert_int_equal(euicc_state_slot(euicc_get_state(c->f->e), EUICC_SLOT_DEFAULT_DP).len, 0);
    /* again: nothing left */
    r = fixture_run(c->f, "BF6404820202A4");
    assert_hex_equal(r.data, r.len, "BF6406800101810101");
}

/* CR111007R00: a fallback switch without refresh keeps a pending rollback; a refreshing one
 * (outside the eIM's packages, like an emergency switch) withdraws it */
static void test_fallback_and_rollback(void **state)
{
    context *c = *state;
    uint8_t b1[10], b2[10];
    static const char iccid_f[] = "98001032547698103234";
    plant(c, iccid_a, 0x10, SGP22_PROFILE_STATE_ENABLED);
    plant(c, iccid_b, 0x11, SGP22_PROFILE_STATE_DISABLED);
    plant(c, iccid_f, 0x12, SGP22_PROFILE_STATE_DISABLED);
    add_initial_eim(c, &c->eim1);
    sgp32_psmo set = psmo_iccid(SGP32_PSMO_SET_FALLBACK_ATTRIBUTE, iccid_f, b1);
    assert_int_equal(send_package(c, &c->eim1, true, &set, 1, -1), EIM_RESULT_SIGNED);
    sgp32_psmo enable = psmo_iccid(SGP32_PSMO_ENABLE, iccid_b, b2);
    enable.u.enable.has_rollback_flag = true;

    assert_int_equal(send_package(c, &c->eim1, true, &enable, 1, -1), EIM_RESULT_SIGNED);
    assert_int_equal(fixture_result_code(c->f, "BF5D03800100"), SGP32_EXECUTE_FALLBACK_RESULT_OK);
    assert_int_equal(profile_state_of(c, iccid_f), SGP22_PROFILE_STATE_ENABLED);
    assert_int_equal(fixture_result_code(c->f, "BF5E03800100"),
                     SGP32_RETURN_FROM_FALLBACK_RESULT_OK);
    assert_int_equal(profile_state_of(c, iccid_b), SGP22_PROFILE_STATE_ENABLED);
    sgp32_profile_rollback_response answer;
    uint8_t arena_buffer[1024];
    command_result r;
    rollback_ok(c, &r, &answer, arena_buffer, sizeof arena_buffer);
    assert_int_equal(profile_state_of(c, iccid_a), SGP22_PROFILE_STATE_ENABLED);

    assert_int_equal(send_package(c, &c->eim1, true, &enable, 1, -1), EIM_RESULT_SIGNED);
    assert_int_equal(profile_state_of(c, iccid_b), SGP22_PROFILE_STATE_ENABLED);
    assert_int_equal(fixture_result_code(c->f, "BF5D038001FF"), SGP32_EXECUTE_FALLBACK_RESULT_OK);
    assert_int_equal(fixture_result_code(c->f, "BF5E038001FF"),
                     SGP32_RETURN_FROM_FALLBACK_RESULT_OK);
    assert_int_equal(profile_state_of(c, iccid_b), SGP22_PROFILE_STATE_ENABLED);
    assert_hex_equal(fixture_run(c->f, "BF5803800100").data, 6, "BF5803020101");
    assert_int_equal(profile_state_of(c, iccid_b), SGP22_PROFILE_STATE_ENABLED);
}

static void test_immediate_enable(void **state)
{
    context *c = *state;
    plant(c, iccid_a, 0x10, SGP22_PROFILE_STATE_ENABLED);
    plant(c, iccid_b, 0x11, SGP22_PROFILE_STATE_DISABLED);
    assert_int_equal(fixture_result_code(c->f, "BF5A03800100"),
                     SGP32_IMMEDIATE_ENABLE_RESULT_IMMEDIATE_ENABLE_NOT_AVAILABLE);
    /* unsigned configuration while no eIM is associated; a default SM-DP+ restricts it to
     * the profiles that SM-DP+ installed (these planted ones name none) */
    assert_int_equal(fixture_result_code(c->f, "BF59058000820178"),
                     SGP32_CONFIG_IMMEDIATE_ENABLE_RESULT_OK);
    assert_int_equal(fixture_result_code(c->f, "BF5A03800100"),
                     SGP32_IMMEDIATE_ENABLE_RESULT_IMMEDIATE_ENABLE_NOT_AVAILABLE);
    assert_int_equal(fixture_result_code(c->f, "BF59028000"),
                     SGP32_CONFIG_IMMEDIATE_ENABLE_RESULT_OK);
    assert_int_equal(fixture_result_code(c->f, "BF5A03800100"), SGP32_IMMEDIATE_ENABLE_RESULT_OK);
    assert_int_equal(profile_state_of(c, iccid_b), SGP22_PROFILE_STATE_ENABLED);
    assert_int_equal(fixture_result_code(c->f, "BF5A03800100"),
                     SGP32_IMMEDIATE_ENABLE_RESULT_NO_SESSION_CONTEXT);
    add_initial_eim(c, &c->eim1);
    assert_int_equal(fixture_result_code(c->f, "BF59028000"),
                     SGP32_CONFIG_IMMEDIATE_ENABLE_RESULT_ASSOCIATED_EIM_ALREADY_EXISTS);
}

/* A TS.48 package installed straight into the state, then enabled, disabled and deleted by
 * eIM packages with the notifications its configuration asks for. */
static void test_ts48_profile_through_packages(void **state)
{
    context *c = *state;
    char path[512];
    snprintf(path, sizeof(path), "%s/testdata/ts48/NoBERTLV.der", RSPKIT_SHARED_DIR);
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        printf("SKIPPED: %s is absent (shared TS.48 test data not installed)\n", path);
        skip();
    }
    static uint8_t package[65536];
    size_t len = fread(package, 1, sizeof(package), file);
    fclose(file);
    assert_true(len > 0 && len < sizeof(package));
    saip_walker walker;
    saip_element element;
    saip_header header;
    uint8_t arena_buffer[4096];
    schema_arena arena;
    rsp_error err = {0};
    saip_walker_init(&walker, der_view_make(package, len));
    assert_int_equal(saip_walker_next(&walker, &element, &err), RSP_OK);
    schema_arena_init(&arena, arena_buffer, sizeof(arena_buffer));
    assert_int_equal(saip_header_decode(element.tlv.whole, &header, &arena, &err), RSP_OK);
    /* ProfileInfo carries the ICCID nibble-swapped, the SAIP header in plain BCD */
    uint8_t iccid[EUICC_ICCID_SIZE];
    for (size_t i = 0; i < EUICC_ICCID_SIZE; i++)
        iccid[i] = (uint8_t)((header.iccid.data[i] << 4) | (header.iccid.data[i] >> 4));
    char iccid_hex[2 * EUICC_ICCID_SIZE + 1];
    der_hex_encode(iccid, EUICC_ICCID_SIZE, iccid_hex, true);
    planted_profile p = {
        iccid_hex, 0x13, SGP22_PROFILE_STATE_DISABLED, SGP22_PROFILE_CLASS_OPERATIONAL, "TS.48", 0,
        ALL_EVENTS};
    fixture_plant(c->f, &p);
    add_initial_eim(c, &c->eim1);

    uint8_t b1[10];
    size_t notifications = pending(c, EUICC_LIST_NOTIFICATIONS);
    static const int operations[3] = {SGP32_PSMO_ENABLE, SGP32_PSMO_DISABLE, SGP32_PSMO_DELETE};
    for (size_t i = 0; i < 3; i++) {
        sgp32_psmo psmo = psmo_iccid(operations[i], iccid_hex, b1);
        assert_int_equal(send_package(c, &c->eim1, true, &psmo, 1, -1), EIM_RESULT_SIGNED);
        assert_int_equal(c->outcome.operation_count, 1);
        assert_int_equal(c->outcome.operations[0].u.enable_result, 0);
        assert_int_equal(pending(c, EUICC_LIST_NOTIFICATIONS), notifications + i + 1);
        int64_t acknowledgement[1] = {c->outcome.seq_number};
        der_writer ack;
        der_writer_init_dynamic(&ack, NULL);
        assert_int_equal(eim_acknowledgements_build(acknowledgement, 1, &ack), RSP_OK);
        der_writer_free(&ack);
        acknowledge(c, c->outcome.seq_number);
    }
    assert_int_equal(profile_state_of(c, iccid_hex), -1);
    assert_int_equal(pending(c, EUICC_LIST_PACKAGE_RESULTS), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_add_initial_eim_configuration_and_certs, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_psmos_results_notifications_and_acknowledgement, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals_leave_state_unchanged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eim_handover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fallback_emergency_and_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fallback_and_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_immediate_enable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ts48_profile_through_packages, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
