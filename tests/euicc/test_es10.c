/* ES10a/b/c functions of the eUICC core through euicc_process: EUICCInfo1/2, EID, RAT,
 * configured addresses, GetProfilesInfo (each search criterion, tag lists), Enable / Disable
 * / Delete with states and PPRs, notifications, nickname and memory reset. */
#include "test_es10_fixture.h"

#define ICCID1        "98001032547698103214"
#define ICCID2        "98001032547698103225"
#define ICCID3        "98001032547698103236"
#define ICCID_UNKNOWN "98001032547698109999"

/* Builds "TAG LEN VALUE" in hex from hex parts (short lengths only, enough for these tests). */
static const char *tlv(const char *tag, const char *value)
{
    static char ring[8][1024];
    static unsigned next;
    char *out = ring[next++ % 8];
    size_t len = strlen(value) / 2;
    assert_true(len < 128);
    snprintf(out, sizeof(ring[0]), "%s%02zX%s", tag, len, value);
    return out;
}

static const char *text_hex(const char *text)
{
    static char ring[4][512];
    static unsigned next;
    char *out = ring[next++ % 4];
    der_hex_encode((const uint8_t *)text, strlen(text), out, true);
    return out;
}

static const char *cat(const char *a, const char *b)
{
    static char ring[8][1024];
    static unsigned next;
    char *out = ring[next++ % 8];
    snprintf(out, sizeof(ring[0]), "%s%s", a, b);
    return out;
}

static void plant_three(fixture *f)
{
    planted_profile p1 = {
        ICCID1, 0x10,      SGP22_PROFILE_STATE_ENABLED, SGP22_PROFILE_CLASS_OPERATIONAL, "One",
        0,      ALL_EVENTS};
    planted_profile p2 = {ICCID2,
                          0x11,
                          SGP22_PROFILE_STATE_DISABLED,
                          SGP22_PROFILE_CLASS_OPERATIONAL,
                          "Two",
                          1u << SGP22_PPR2,
                          ALL_EVENTS};
    planted_profile p3 = {
        ICCID3, 0x12, SGP22_PROFILE_STATE_DISABLED, SGP22_PROFILE_CLASS_TEST, "Three", 0, 0};
    fixture_plant(f, &p1);
    fixture_plant(f, &p2);
    fixture_plant(f, &p3);
}

/* ---- EUICCInfo, EID, RAT, addresses ------------------------------------------------------ */

static void test_euicc_info1(void **state)
{
    fixture *f = *state;
    command_result r = fixture_run(f, "BF2000");
    sgp22_euicc_info1 info;
    uint8_t arena_buf[512];
    fixture_decode(&r, &sgp22_euicc_info1_type, &info, arena_buf, sizeof(arena_buf));
    assert_hex_equal(info.svn.data, info.svn.len, "020500");
    der_view ski;
    assert_int_equal(rsp_certificate_subject_key_id(f->ci, &ski), RSP_OK);
    assert_int_equal(info.euicc_ci_pkid_list_for_verification.count, 1);
    assert_int_equal(info.euicc_ci_pkid_list_for_signing.count, 1);
    der_view *ids = info.euicc_ci_pkid_list_for_verification.items;
    assert_true(der_view_equal(ids[0], ski));
    /* A request with content it does not allow is a decoding error. */
    assert_int_equal(fixture_run(f, "BF200101").status != RSP_OK, true);
}

static void test_euicc_info2_iot(void **state)
{
    fixture *f = *state;
    command_result r = fixture_run(f, "BF2200");
    sgp32_euicc_info2 info;
    uint8_t arena_buf[1024];
    fixture_decode(&r, &sgp32_euicc_info2_type, &info, arena_buf, sizeof(arena_buf));
    assert_hex_equal(info.svn.data, info.svn.len, "020500");
    assert_true(info.has_iot_specific_info);
    assert_int_equal(info.iot_specific_info.iot_version.count, 1);
    der_view *versions = info.iot_specific_info.iot_version.items;
    assert_hex_equal(versions[0].data, versions[0].len, "010200");
    assert_true(info.iot_specific_info.has_fallback_supported);
    assert_true(schema_bits_get(&info.rsp_capability, SGP22_RSP_CAPABILITY_CRL_SUPPORT));
    assert_true(schema_bits_get(&info.uicc_capability, 1)); /* usimSupport */
    assert_int_equal(info.euicc_ci_pkid_list_for_verification.count, 1);
    /* extCardResource: no applications installed yet */
    assert_true(info.ext_card_resource.len >= 3);
    assert_hex_equal(info.ext_card_resource.data, 3, "810100");
}

static void test_claimed_version_must_be_implemented(void **state)
{
    fixture *f = *state;
    euicc_config config = fixture_config(f, NULL);
    euicc *e = NULL;
    rsp_error err = {0};
    config.sgp32_version = SGP32_VERSION_1_0; /* described, not implemented */
    assert_int_equal(euicc_new(&config, &e, &err), RSP_ERR_UNSUPPORTED);
    assert_null(e);
    config.sgp32_version = SGP32_VERSION_1_2;
    assert_int_equal(euicc_new(&config, &e, &err), RSP_OK);
    assert_int_equal(euicc_sgp32_version(e)->number, SGP32_VERSION_1_2);
    euicc_free(e);
}

static void test_get_eid(void **state)
{
    fixture *f = *state;
    command_result r = fixture_run(f, "BF3E035C015A");
    assert_int_equal(r.status, RSP_OK);
    assert_hex_equal(r.data, r.len, "BF3E125A10" FIXTURE_EID);
    /* Only the EID can be asked for. */
    assert_int_equal(fixture_run(f, "BF3E035C014F").status, RSP_ERR_NOT_FOUND);
    assert_true(fixture_run(f, "BF3E00").status != RSP_OK);
}

static void test_get_rat(void **state)
{
    fixture *f = *state;
    command_result r = fixture_run(f, "BF4300");
    sgp22_get_rat_response rat;
    uint8_t arena_buf[512];
    fixture_decode(&r, &sgp22_get_rat_response_type, &rat, arena_buf, sizeof(arena_buf));
    assert_int_equal(rat.rat.count, 1);
    sgp22_profile_policy_authorisation_rule *rule = rat.rat.items;
    assert_true(schema_bits_get(&rule->ppr_ids, SGP22_PPR1));
    assert_true(schema_bits_get(&rule->ppr_ids, SGP22_PPR2));
    assert_int_equal(rule->allowed_operators.count, 1);
}

static void test_configured_addresses(void **state)
{
    fixture *f = *state;
    const char *root = text_hex("lpa.ds.gsma.com");
    command_result r = fixture_run(f, "BF3C00");
    assert_int_equal(r.status, RSP_OK);
    assert_hex_equal(r.data, r.len,
                     tlv("BF3C", cat(tlv("80", text_hex(FIXTURE_DEFAULT_DP)), tlv("81", root))));
    assert_int_equal(fixture_result_code(f, tlv("BF3F", tlv("80", text_hex("dp2.example.org")))),
                     SGP22_RESULT_OK);
    r = fixture_run(f, "BF3C00");
    assert_hex_equal(r.data, r.len,
                     tlv("BF3C", cat(tlv("80", text_hex("dp2.example.org")), tlv("81", root))));
    /* An empty address removes the default. */
    assert_int_equal(fixture_result_code(f, "BF3F028000"), SGP22_RESULT_OK);
    r = fixture_run(f, "BF3C00");
    assert_hex_equal(r.data, r.len, tlv("BF3C", tlv("81", root)));
}

/* ---- GetProfilesInfo ---------------------------------------------------------------------- */

typedef struct {
    sgp32_profile_info_list_response response;
    uint8_t arena_buf[16384];
} profile_list;

static void profiles_info(fixture *f, const char *request_hex, profile_list *out)
{
    command_result r = fixture_run(f, request_hex);
    assert_int_equal(r.status, RSP_OK);
    schema_arena arena;
    schema_arena_init(&arena, out->arena_buf, sizeof(out->arena_buf));
    rsp_error err = {0};
    /* keep the bytes alive with the decoded views */
    static uint8_t keep[8192];
    memcpy(keep, r.data, r.len);
    assert_int_equal(schema_decode(&sgp32_profile_info_list_response_type,
                                   der_view_make(keep, r.len), &out->response, &arena, &err),
                     RSP_OK);
}

static size_t profile_count(const profile_list *l)
{
    assert_int_equal(l->response.choice, SGP32_PROFILE_INFO_LIST_RESPONSE_PROFILE_INFO_LIST_OK);
    return l->response.u.profile_info_list_ok.count;
}

static const sgp32_profile_info *profile_at(const profile_list *l, size_t i)
{
    return &((const sgp32_profile_info *)l->response.u.profile_info_list_ok.items)[i];
}

static void assert_name(const sgp32_profile_info *p, const char *name)
{
    assert_true(p->has_profile_name);
    assert_int_equal(p->profile_name.len, strlen(name));
    assert_memory_equal(p->profile_name.data, name, strlen(name));
}

static void test_profiles_info_default(void **state)
{
    fixture *f = *state;
    plant_three(f);
    static profile_list l;
    profiles_info(f, "BF2D00", &l);
    assert_int_equal(profile_count(&l), 3);
    const sgp32_profile_info *p = profile_at(&l, 0);
    assert_true(p->has_iccid && p->has_isdp_aid && p->has_profile_state && p->has_profile_class);
    assert_hex_equal(p->iccid.data, p->iccid.len, ICCID1);
    assert_int_equal(p->profile_state, SGP22_PROFILE_STATE_ENABLED);
    assert_name(p, "One");
    /* Not in the default set: PPRs, notification configuration. */
    assert_false(profile_at(&l, 1)->has_profile_policy_rules);
    assert_false(p->has_notification_configuration_info);
    assert_int_equal(profile_at(&l, 2)->profile_class, SGP22_PROFILE_CLASS_TEST);
}

static void test_profiles_info_search_criteria(void **state)
{
    fixture *f = *state;
    plant_three(f);
    static profile_list l;
    profiles_info(f, tlv("BF2D", tlv("A0", tlv("5A", ICCID2))), &l);
    assert_int_equal(profile_count(&l), 1);
    assert_name(profile_at(&l, 0), "Two");
    profiles_info(f, tlv("BF2D", tlv("A0", tlv("4F", "A0000005591010FFFFFFFF8900001200"))), &l);
    assert_int_equal(profile_count(&l), 1);
    assert_name(profile_at(&l, 0), "Three");
    profiles_info(f, tlv("BF2D", tlv("A0", "950100")), &l); /* class test */
    assert_int_equal(profile_count(&l), 1);
    assert_name(profile_at(&l, 0), "Three");
    profiles_info(f, tlv("BF2D", tlv("A0", "950102")), &l); /* class operational */
    assert_int_equal(profile_count(&l), 2);
    profiles_info(f, tlv("BF2D", tlv("A0", tlv("5A", ICCID_UNKNOWN))), &l);
    assert_int_equal(profile_count(&l), 0);
}

static void test_profiles_info_tag_list(void **state)
{
    fixture *f = *state;
    plant_three(f);
    static profile_list l;
    profiles_info(f, tlv("BF2D", tlv("5C", "5A9F70")), &l);
    assert_int_equal(profile_count(&l), 3);
    const sgp32_profile_info *p = profile_at(&l, 1);
    assert_true(p->has_iccid && p->has_profile_state);
    assert_false(p->has_isdp_aid || p->has_profile_name || p->has_profile_class);
    /* PPRs and the notification configuration when asked for */
    profiles_info(f, cat(tlv("BF2D", cat(tlv("A0", tlv("5A", ICCID2)), tlv("5C", "99B6"))), ""),
                  &l);
    assert_int_equal(profile_count(&l), 1);
    p = profile_at(&l, 0);
    assert_false(p->has_iccid);
    assert_true(p->has_profile_policy_rules);
    assert_true(schema_bits_get(&p->profile_policy_rules, SGP22_PPR2));
    assert_true(p->has_notification_configuration_info);
    /* A malformed tag list: incorrectInputValues */
    command_result r = fixture_run(f, tlv("BF2D", tlv("5C", "5A9F")));
    assert_int_equal(r.status, RSP_OK);
    assert_hex_equal(r.data, r.len, "BF2D03810101");
}

/* ---- Enable / Disable / Delete ----------------------------------------------------------- */

static const char *enable_iccid(const char *iccid)
{
    return tlv("BF31", cat(tlv("A0", tlv("5A", iccid)), "810100"));
}
static const char *disable_iccid(const char *iccid)
{
    return tlv("BF32", cat(tlv("A0", tlv("5A", iccid)), "810100"));
}
static const char *delete_iccid(const char *iccid)
{
    return tlv("BF33", tlv("5A", iccid));
}

static int64_t state_of(fixture *f, const char *iccid)
{
    static profile_list l;
    profiles_info(f, tlv("BF2D", tlv("A0", tlv("5A", iccid))), &l);
    if (profile_count(&l) == 0)
        return -1;
    return profile_at(&l, 0)->profile_state;
}

typedef struct {
    int64_t seq;
    unsigned event;
    char iccid[21];
} listed_notification;

static size_t list_notifications(fixture *f, const char *request, listed_notification *out,
                                 size_t cap)
{
    command_result r = fixture_run(f, request);
    sgp22_list_notification_response list;
    uint8_t arena_buf[4096];
    fixture_decode(&r, &sgp22_list_notification_response_type, &list, arena_buf, sizeof(arena_buf));
    assert_int_equal(list.choice, SGP22_LIST_NOTIFICATION_RESPONSE_NOTIFICATION_METADATA_LIST);
    const sgp22_notification_metadata *items = list.u.notification_metadata_list.items;
    size_t n = list.u.notification_metadata_list.count;
    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++) {
        out[i].seq = items[i].seq_number;
        out[i].event = 99;
        for (unsigned bit = 0; bit < 4; bit++)
            if (schema_bits_get(&items[i].profile_management_operation, bit))
                out[i].event = bit;
        out[i].iccid[0] = '\0';
        if (items[i].has_iccid)
            der_hex_encode(items[i].iccid.data, items[i].iccid.len, out[i].iccid, true);
        assert_int_equal(items[i].notification_address.len, strlen(FIXTURE_NOTIFY_ADDR));
    }
    return n;
}

static void test_enable_disable_delete(void **state)
{
    fixture *f = *state;
    plant_three(f);
    assert_int_equal(fixture_result_code(f, enable_iccid(ICCID2)), SGP22_ENABLE_RESULT_OK);
    assert_int_equal(state_of(f, ICCID2), SGP22_PROFILE_STATE_ENABLED);
    assert_int_equal(state_of(f, ICCID1), SGP22_PROFILE_STATE_DISABLED);
    assert_int_equal(fixture_result_code(f, enable_iccid(ICCID2)),
                     SGP22_ENABLE_RESULT_PROFILE_NOT_IN_DISABLED_STATE);
    assert_int_equal(fixture_result_code(f, disable_iccid(ICCID3)),
                     SGP22_DISABLE_RESULT_PROFILE_NOT_IN_ENABLED_STATE);
    assert_int_equal(fixture_result_code(f, delete_iccid(ICCID2)),
                     SGP22_DELETE_RESULT_PROFILE_NOT_IN_DISABLED_STATE);
    assert_int_equal(fixture_result_code(f, disable_iccid(ICCID2)), SGP22_DISABLE_RESULT_OK);
    /* PPR2: deletion not allowed */
    assert_int_equal(fixture_result_code(f, delete_iccid(ICCID2)),
                     SGP22_DELETE_RESULT_DISALLOWED_BY_POLICY);
    assert_int_equal(fixture_result_code(f, delete_iccid(ICCID1)), SGP22_DELETE_RESULT_OK);
    assert_int_equal(state_of(f, ICCID1), -1);
    assert_int_equal(fixture_result_code(f, enable_iccid(ICCID_UNKNOWN)),
                     SGP22_ENABLE_RESULT_ICCID_OR_AID_NOT_FOUND);
    assert_int_equal(fixture_result_code(f, disable_iccid(ICCID_UNKNOWN)),
                     SGP22_DISABLE_RESULT_ICCID_OR_AID_NOT_FOUND);
    assert_int_equal(fixture_result_code(f, delete_iccid(ICCID_UNKNOWN)),
                     SGP22_DELETE_RESULT_ICCID_OR_AID_NOT_FOUND);
    /* By ISD-P AID */
    assert_int_equal(
        fixture_result_code(
            f,
            tlv("BF31", cat(tlv("A0", tlv("4F", "A0000005591010FFFFFFFF8900001200")), "8101FF"))),
        SGP22_ENABLE_RESULT_OK);
    assert_int_equal(state_of(f, ICCID3), SGP22_PROFILE_STATE_ENABLED);
    assert_int_equal(
        fixture_result_code(f, tlv("BF33", tlv("4F", "A0000005591010FFFFFFFF8900001100"))),
        SGP22_DELETE_RESULT_DISALLOWED_BY_POLICY);

    /* Notifications, in order: disable 1, enable 2, disable 2, delete 1. Profile 3 asks for
     * none. */
    listed_notification n[8];
    assert_int_equal(list_notifications(f, "BF2800", n, 8), 4);
    static const unsigned events[] = {SGP22_NOTIFICATION_DISABLE, SGP22_NOTIFICATION_ENABLE,
                                      SGP22_NOTIFICATION_DISABLE, SGP22_NOTIFICATION_DELETE};
    static const char *const iccids[] = {ICCID1, ICCID2, ICCID2, ICCID1};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(n[i].seq, (int64_t)i + 1);
        assert_int_equal(n[i].event, events[i]);
        assert_string_equal(n[i].iccid, iccids[i]);
    }
    /* Filter on the operation */
    assert_int_equal(list_notifications(f, "BF280481020520", n, 8), 2);
    assert_int_equal(n[0].seq, 1);
    assert_int_equal(n[1].seq, 3);
}

static void test_ppr1_blocks_disable_and_switch(void **state)
{
    fixture *f = *state;
    planted_profile p1 = {
        ICCID1,           0x10, SGP22_PROFILE_STATE_ENABLED, SGP22_PROFILE_CLASS_OPERATIONAL, "One",
        1u << SGP22_PPR1, 0};
    planted_profile p2 = {
        ICCID2, 0x11, SGP22_PROFILE_STATE_DISABLED, SGP22_PROFILE_CLASS_OPERATIONAL, "Two", 0, 0};
    fixture_plant(f, &p1);
    fixture_plant(f, &p2);
    assert_int_equal(fixture_result_code(f, disable_iccid(ICCID1)),
                     SGP22_DISABLE_RESULT_DISALLOWED_BY_POLICY);
    assert_int_equal(fixture_result_code(f, enable_iccid(ICCID2)),
                     SGP22_ENABLE_RESULT_DISALLOWED_BY_POLICY);
    assert_int_equal(state_of(f, ICCID1), SGP22_PROFILE_STATE_ENABLED);
    assert_int_equal(state_of(f, ICCID2), SGP22_PROFILE_STATE_DISABLED);
    /* The PSMO path of SGP.32 fallback may override the rules. */
    euicc_profile_operation options = {false, true, true};
    int64_t result = -1;
    assert_int_equal(euicc_profile_enable(f->e, 1, &options, &result), RSP_OK);
    assert_int_equal(result, SGP22_ENABLE_RESULT_OK);
    assert_int_equal(state_of(f, ICCID2), SGP22_PROFILE_STATE_ENABLED);
}

/* ---- Notifications ---------------------------------------------------------------------- */

static void verify_other_signed_notification(fixture *f, der_view notification, int64_t seq)
{
    sgp22_other_signed_notification signed_form;
    rsp_error err = {0};
    assert_int_equal(schema_decode(&sgp22_other_signed_notification_type, notification,
                                   &signed_form, NULL, &err),
                     RSP_OK);
    assert_int_equal(signed_form.tbs_other_notification.seq_number, seq);
    const uint32_t path[] = SGP22_PATH_TBS_OTHER_NOTIFICATION;
    der_view tbs;
    assert_int_equal(sgp22_find_signed_part(notification, path, 2, &tbs, &err), RSP_OK);
    rsp_public_key *key = NULL;
    assert_int_equal(rsp_certificate_public_key(f->euicc_cert, &key, &err), RSP_OK);
    assert_int_equal(rsp_ecdsa_verify(key, tbs.data, tbs.len,
                                      signed_form.euicc_notification_signature.data,
                                      signed_form.euicc_notification_signature.len, &err),
                     RSP_OK);
    rsp_public_key_free(key);
    assert_true(der_view_equal(signed_form.euicc_certificate, rsp_certificate_der(f->euicc_cert)));
    assert_true(der_view_equal(signed_form.eum_certificate, rsp_certificate_der(f->eum)));
}

static size_t retrieve(fixture *f, const char *request,
                       sgp32_retrieve_notifications_list_response *out, uint8_t *keep,
                       schema_arena *arena)
{
    command_result r = fixture_run(f, request);
    assert_int_equal(r.status, RSP_OK);
    memcpy(keep, r.data, r.len);
    rsp_error err = {0};
    assert_int_equal(schema_decode(&sgp32_retrieve_notifications_list_response_type,
                                   der_view_make(keep, r.len), out, arena, &err),
                     RSP_OK);
    if (out->choice == SGP32_RETRIEVE_NOTIFICATIONS_LIST_RESPONSE_NOTIFICATION_LIST)
        return out->u.notification_list.count;
    assert_int_equal(out->choice,
                     SGP32_RETRIEVE_NOTIFICATIONS_LIST_RESPONSE_EUICC_PACKAGE_RESULT_LIST);
    return out->u.euicc_package_result_list.count;
}

static void test_notifications_retrieve_and_remove(void **state)
{
    fixture *f = *state;
    plant_three(f);
    assert_int_equal(fixture_result_code(f, enable_iccid(ICCID2)), SGP22_ENABLE_RESULT_OK);
    assert_int_equal(fixture_result_code(f, disable_iccid(ICCID2)), SGP22_DISABLE_RESULT_OK);

    static uint8_t keep[8192], arena_buf[16384];
    schema_arena arena;
    schema_arena_init(&arena, arena_buf, sizeof(arena_buf));
    sgp32_retrieve_notifications_list_response list;
    assert_int_equal(retrieve(f, "BF2B00", &list, keep, &arena), 3);

    /* Each is an OtherSignedNotification verifiable with the eUICC certificate. */
    command_result r = fixture_run(f, "BF2B00");
    der_tlv outer, inner, item;
    der_reader reader, items;
    rsp_error err = {0};
    assert_int_equal(der_parse_single(der_view_make(r.data, r.len), &outer, &err), RSP_OK);
    assert_int_equal(der_reader_enter(&outer, 0, &reader, &err), RSP_OK);
    assert_int_equal(der_reader_next(&reader, &inner, &err), RSP_OK);
    assert_int_equal(inner.tag, 0xA0);
    assert_int_equal(der_reader_enter(&inner, 1, &items, &err), RSP_OK);
    for (int64_t seq = 1; seq <= 3; seq++) {
        assert_int_equal(der_reader_next(&items, &item, &err), RSP_OK);
        verify_other_signed_notification(f, item.whole, seq);
    }

    schema_arena_init(&arena, arena_buf, sizeof(arena_buf));
    assert_int_equal(retrieve(f, "BF2B05A003800102", &list, keep, &arena), 1);
    schema_arena_init(&arena, arena_buf, sizeof(arena_buf));
    assert_int_equal(retrieve(f, "BF2B06A00481020520", &list, keep, &arena), 2); /* disable */
    schema_arena_init(&arena, arena_buf, sizeof(arena_buf));
    assert_int_equal(retrieve(f, "BF2B05A003800109", &list, keep, &arena), 0);

    assert_int_equal(fixture_result_code(f, "BF3003800102"), SGP22_DELETE_NOTIFICATION_OK);
    assert_int_equal(fixture_result_code(f, "BF3003800102"),
                     SGP22_DELETE_NOTIFICATION_NOTHING_TO_DELETE);
    listed_notification n[4];
    assert_int_equal(list_notifications(f, "BF2800", n, 4), 2);
    assert_int_equal(n[0].seq, 1);
    assert_int_equal(n[1].seq, 3);
    /* The sequence continues after removals. */
    assert_int_equal(fixture_result_code(f, enable_iccid(ICCID1)), SGP22_ENABLE_RESULT_OK);
    assert_int_equal(list_notifications(f, "BF2800", n, 4), 3);
    assert_int_equal(n[2].seq, 4);
}

static void test_package_results_listed_and_acknowledged(void **state)
{
    fixture *f = *state;
    static uint8_t keep[8192], arena_buf[16384];
    schema_arena arena;
    schema_arena_init(&arena, arena_buf, sizeof(arena_buf));
    sgp32_retrieve_notifications_list_response list;
    assert_int_equal(retrieve(f, "BF2B04A0028200", &list, keep, &arena), 0);

    /* A stored result, as the SGP.32 package code keeps it until acknowledged: an unsigned
     * error result BF51 { A2 { 80 eimId, 81 counterValue?... } } is enough for listing. */
    int64_t seq = 0;
    assert_int_equal(euicc_notification_next_seq(f->e, &seq), RSP_OK);
    uint8_t result_der[] = {0xBF, 0x51, 0x0A, 0xA2, 0x08, 0x80, 0x03,
                            'e',  'i',  'm',  0x81, 0x01, 0x01};
    euicc_package_result_record record = {seq, true, der_view_make((const uint8_t *)"eim", 3),
                                          der_view_make(result_der, sizeof(result_der))};
    assert_int_equal(euicc_state_append_value(euicc_get_state(f->e), EUICC_LIST_PACKAGE_RESULTS,
                                              &euicc_package_result_record_type, &record),
                     RSP_OK);
    command_result r = fixture_run(f, "BF2B04A0028200");
    assert_int_equal(r.status, RSP_OK);
    assert_hex_equal(r.data, r.len,
                     "BF2B0FA20D"
                     "BF510AA2088003"
                     "65696D"
                     "810101");
    /* RemoveNotificationFromList acknowledges it */
    char remove[32];
    snprintf(remove, sizeof(remove), "BF30038001%02X", (unsigned)seq);
    assert_int_equal(fixture_result_code(f, remove), SGP22_DELETE_NOTIFICATION_OK);
    assert_int_equal(euicc_state_count(euicc_get_state(f->e), EUICC_LIST_PACKAGE_RESULTS), 0);
}

/* ---- Nickname, memory reset ---------------------------------------------------------------- */

static void test_set_nickname(void **state)
{
    fixture *f = *state;
    plant_three(f);
    assert_int_equal(
        fixture_result_code(f, tlv("BF29", cat(tlv("5A", ICCID3), tlv("90", text_hex("work"))))),
        SGP22_SET_NICKNAME_OK);
    assert_int_equal(fixture_result_code(
                         f, tlv("BF29", cat(tlv("5A", ICCID_UNKNOWN), tlv("90", text_hex("x"))))),
                     SGP22_SET_NICKNAME_ICCID_NOT_FOUND);
    static profile_list l;
    profiles_info(f, tlv("BF2D", cat(tlv("A0", tlv("5A", ICCID3)), tlv("5C", "90"))), &l);
    assert_int_equal(profile_count(&l), 1);
    assert_true(profile_at(&l, 0)->has_profile_nickname);
    assert_memory_equal(profile_at(&l, 0)->profile_nickname.data, "work", 4);
}

static void test_memory_reset(void **state)
{
    fixture *f = *state;
    plant_three(f);
    static profile_list l;
    /* deleteOperationalProfiles: the enabled one and the PPR2 one go too, silently */
    assert_int_equal(fixture_result_code(f, "BF340482020780"), SGP22_RESET_RESULT_OK);
    profiles_info(f, "BF2D00", &l);
    assert_int_equal(profile_count(&l), 1);
    assert_name(profile_at(&l, 0), "Three");
    listed_notification n[2];
    assert_int_equal(list_notifications(f, "BF2800", n, 2), 0);
    /* deleteFieldLoadedTestProfiles */
    assert_int_equal(fixture_result_code(f, "BF340482020640"), SGP22_RESET_RESULT_OK);
    profiles_info(f, "BF2D00", &l);
    assert_int_equal(profile_count(&l), 0);
    assert_int_equal(fixture_result_code(f, "BF340482020640"),
                     SGP22_RESET_RESULT_NOTHING_TO_DELETE);
    /* resetDefaultSmdpAddress */
    assert_int_equal(fixture_result_code(f, "BF340482020520"), SGP22_RESET_RESULT_OK);
    command_result r = fixture_run(f, "BF3C00");
    assert_hex_equal(r.data, r.len, tlv("BF3C", tlv("81", text_hex("lpa.ds.gsma.com"))));
    assert_int_equal(fixture_result_code(f, "BF340482020520"),
                     SGP22_RESET_RESULT_NOTHING_TO_DELETE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_euicc_info1, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_euicc_info2_iot, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_claimed_version_must_be_implemented, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_get_eid, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_get_rat, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_configured_addresses, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_profiles_info_default, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_profiles_info_search_criteria, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_profiles_info_tag_list, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_enable_disable_delete, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_ppr1_blocks_disable_and_switch, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_notifications_retrieve_and_remove, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_package_results_listed_and_acknowledged, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_set_nickname, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_memory_reset, fixture_setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
