/* The IPA against the real software eUICC (euicc/euicc.h, through APDUs) and the SM-DP+ core
 * (smdp/download.h) behind a test eIM: AddInitialEim, an indirect TS.48 download relayed step
 * by step, then eUICC Packages signed with the eIM key (enable, disable, delete) with results,
 * notifications and acknowledgements, all through libipa. The eIM's ESipa side is the
 * schema-checking fake of support/; the ES9+ steps go to the SM-DP+ core. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/sgp32.h"
#include "crypto/pki_generate.h"
#include "crypto/signature_gsma.h"
#include "euicc/euicc.h"
#include "core/log.h"
#include "ipa/ipa.h"
#include "ipa/platform/platform.h"
#include "ipa_fakes.h"
#include "smdp/download.h"
#include "smdp/server.h"

#define SMDP_ADDRESS "smdp.rspkit.test"
#define EIM_ID       "eim.rspkit.test"

typedef struct {
    char dir[64];
    rsp_certificate *ci, *eum, *dpauth, *dppb, *euicc_cert;
    rsp_private_key *dpauth_key, *dppb_key, *euicc_key, *eim_key;
    char eid[RSP_EID_STRING_SIZE];
    uint8_t eid_bytes[16];
    smdp_identity identity;
    const rsp_certificate *cis[1];
    smdp_credentials credentials;
    smdp_order order;
    smdp_download_session session;
    uint8_t *package;
    size_t package_len;
    char profile_name[64]; /* what order.profile_name points at */
    euicc *card;
    ipa_fixture fx; /* storage hooks and the ESipa fake */
    ipa_instance *ipa;
    int64_t token;
    int64_t counter;
    unsigned smdp_calls;
    ipa_http *http; /* direct download: the real SM-DP+ server over HTTPS */
    unsigned es9_calls;
    unsigned es9_executed;            /* answers with functionExecutionStatus Executed-Success */
    unsigned es9_unknown_transaction; /* answers with subjectCode 8.10.1 (transaction) */
} fixture;

/* snprintf that fails the test instead of truncating (and keeps release builds' format
 * checks quiet) */
#define format_checked(buf, ...)                                                                   \
    do {                                                                                           \
        int n_ = snprintf((buf), sizeof(buf), __VA_ARGS__);                                        \
        if (n_ < 0 || (size_t)n_ >= sizeof(buf))                                                   \
            fail_msg("path too long");                                                             \
    } while (0)

static uint8_t *read_whole(const char *path, size_t *len)
{
    FILE *file = fopen(path, "rb");
    if (file == NULL)
        return NULL;
    fseek(file, 0, SEEK_END);
    long size = ftell(file);
    fseek(file, 0, SEEK_SET);
    uint8_t *data = size > 0 ? malloc((size_t)size) : NULL;
    if (data != NULL && fread(data, 1, (size_t)size, file) != (size_t)size) {
        free(data);
        data = NULL;
    }
    fclose(file);
    *len = data != NULL ? (size_t)size : 0;
    return data;
}

static rsp_certificate *certificate(fixture *f, const char *name)
{
    char path[256];
    rsp_certificate *out = NULL;
    rsp_error err = {0};
    format_checked(path, "%s/nist/%s", f->dir, name);
    return rsp_certificate_load_file(path, &out, &err) == RSP_OK ? out : NULL;
}

static rsp_private_key *key(fixture *f, const char *name)
{
    char path[256];
    rsp_private_key *out = NULL;
    rsp_error err = {0};
    format_checked(path, "%s/nist/%s", f->dir, name);
    return rsp_private_key_load_file(path, &out, &err) == RSP_OK ? out : NULL;
}

static smdp_result lookup_order(void *context, der_view matching_id, const char *eid,
                                smdp_order *order)
{
    fixture *f = context;
    (void)eid;
    (void)matching_id;
    *order = f->order;
    return SMDP_OK;
}

/* The ES9+ functions the eIM relays (SGP.32 v1.2 section 3.2.3): the ESipa messages have the
 * ES9+ shapes, so the relay forwards them to the SM-DP+ core. */
static long relay_to_smdp(fixture *f, uint32_t tag, der_view body, der_writer *answer)
{
    smdp_result r = SMDP_ERR_INTERNAL;
    rsp_error err = {0};
    f->smdp_calls++;
    if (tag == 0xBF39) {
        memset(&f->session, 0, sizeof f->session);
        r = smdp_initiate_authentication(&f->credentials, body, 0, &f->session, answer, &err);
    } else if (tag == 0xBF3B) {
        r = smdp_authenticate_client(&f->credentials, &f->session, body, 0, lookup_order, f, answer,
                                     &err);
    } else if (tag == 0xBF3A) {
        r = smdp_get_bound_profile_package(&f->credentials, &f->session, body, &f->order, answer,
                                           &err);
    }
    if (r != SMDP_OK)
        fprintf(stderr, "SM-DP+ %X: %s (%s)\n", (unsigned)tag, smdp_result_name(r), err.message);
    return r == SMDP_OK ? 200 : 500;
}

static rsp_status eim_post(void *ctx, const ipa_http_request *request, der_writer *response,
                           long *http_status, rsp_error *err)
{
    fixture *f = ctx;
    der_view body = request->body;
    uint32_t tag = body.len > 1 ? (uint32_t)(body.data[0] << 8 | body.data[1]) : 0;
    if (tag == 0xBF39 || tag == 0xBF3B || tag == 0xBF3A)
        *http_status = relay_to_smdp(f, tag, body, response);
    else
        *http_status = fake_eim_handle(&f->fx.eim, body, response);
    if (*http_status < 0)
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "unreachable (test)");
    return RSP_OK;
}

static rsp_status apdu(void *ctx, const uint8_t *command, size_t command_len, uint8_t *response,
                       size_t response_cap, size_t *response_len, rsp_error *err)
{
    fixture *f = ctx;
    (void)err;
    *response_len = euicc_transmit(f->card, command, command_len, response, response_cap);
    return RSP_OK;
}

static int setup(void **state)
{
    static fixture fx_static;
    fixture *f = &fx_static;
    memset(f, 0, sizeof *f);
    char path[256], line[128], name[128];
    rsp_error err = {0};
    snprintf(f->dir, sizeof f->dir, "/tmp/rspkit-ipa-real-XXXXXX");
    rsp_pki_options options = {.curves = RSP_PKI_CURVE_NIST, .euicc_count = 1};
    if (mkdtemp(f->dir) == NULL || rsp_pki_init(f->dir, &options, &err) != RSP_OK)
        return -1;
    format_checked(path, "%s/eids.txt", f->dir);
    FILE *eids = fopen(path, "r");
    while (eids != NULL && fgets(line, sizeof line, eids) != NULL)
        if (sscanf(line, "issued %32s", f->eid) == 1)
            break;
    if (eids != NULL)
        fclose(eids);
    f->ci = certificate(f, "CERT_CI_ECDSA.der");
    f->eum = certificate(f, "CERT_EUM_ECDSA.der");
    f->dpauth = certificate(f, "CERT_S_SM_DPauth_ECDSA.der");
    f->dppb = certificate(f, "CERT_S_SM_DPpb_ECDSA.der");
    format_checked(name, "euicc/CERT_EUICC_ECDSA_%s.der", f->eid);
    f->euicc_cert = certificate(f, name);
    format_checked(name, "euicc/SK_EUICC_ECDSA_%s.pem", f->eid);
    f->euicc_key = key(f, name);
    f->dpauth_key = key(f, "SK_S_SM_DPauth_ECDSA.pem");
    f->dppb_key = key(f, "SK_S_SM_DPpb_ECDSA.pem");
    f->eim_key = key(f, "SK_EIM_ECDSA.pem");
    if (!f->euicc_cert || !f->eim_key || !f->dppb_key || !f->euicc_key ||
        der_hex_decode(f->eid, f->eid_bytes, 16) != 16)
        return -1;
    f->identity = (smdp_identity){f->ci, f->dpauth, f->dpauth_key, f->dppb, f->dppb_key};
    f->cis[0] = f->ci;
    f->credentials = (smdp_credentials){.address = SMDP_ADDRESS,
                                        .identities = &f->identity,
                                        .identity_count = 1,
                                        .cis = f->cis,
                                        .ci_count = 1};
    euicc_config config;
    memset(&config, 0, sizeof config);
    memcpy(config.eid, f->eid_bytes, 16);
    config.euicc_key = f->euicc_key;
    config.euicc_certificate = rsp_certificate_der(f->euicc_cert);
    config.eum_certificate = rsp_certificate_der(f->eum);
    config.ci_certificates = f->cis;
    config.ci_count = 1;
    if (euicc_new(&config, &f->card, &err) != RSP_OK)
        return -1;
    ipa_fixture_init(&f->fx);
    f->fx.platform.apdu_transmit = apdu;
    f->fx.platform.apdu_ctx = f;
    f->fx.platform.http_post = eim_post;
    f->fx.platform.http_ctx = f;
    f->fx.config.eim_url = "https://eim.rspkit.test/gsma/rsp2/asn1";
    if (ipa_new(&f->fx.platform, &f->fx.config, &f->ipa, &err) != RSP_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char command[128];
    ipa_free(f->ipa);
    ipa_fixture_free(&f->fx);
    euicc_free(f->card);
    rsp_certificate_free(f->ci);
    rsp_certificate_free(f->eum);
    rsp_certificate_free(f->dpauth);
    rsp_certificate_free(f->dppb);
    rsp_certificate_free(f->euicc_cert);
    rsp_private_key_free(f->dpauth_key);
    rsp_private_key_free(f->dppb_key);
    rsp_private_key_free(f->euicc_key);
    rsp_private_key_free(f->eim_key);
    free(f->package);
    format_checked(command, "rm -rf '%s'", f->dir);
    return system(command) == 0 ? 0 : -1;
}

/* AddInitialEim through the IPA, with the eIM's public key and a token request (-1). */
static void associate(fixture *f)
{
    rsp_public_key *public_key = NULL;
    uint8_t *spki = NULL;
    size_t spki_len = 0;
    rsp_error err = {0};
    assert_int_equal(rsp_private_key_public(f->eim_key, &public_key, &err), RSP_OK);
    assert_int_equal(rsp_public_key_to_spki(public_key, &spki, &spki_len, &err), RSP_OK);
    sgp32_eim_configuration_data eim;
    memset(&eim, 0, sizeof eim);
    eim.eim_id = der_view_make((const uint8_t *)EIM_ID, strlen(EIM_ID));
    eim.has_eim_fqdn = true;
    eim.eim_fqdn = eim.eim_id;
    eim.has_counter_value = true;
    eim.has_association_token = true;
    eim.association_token = -1;
    eim.has_eim_public_key_data = true;
    eim.eim_public_key_data.choice = SGP32_EIM_PUBLIC_KEY_DATA_EIM_PUBLIC_KEY;
    eim.eim_public_key_data.u.eim_public_key = der_view_make(spki, spki_len);
    sgp32_add_initial_eim_request request = {{1, &eim}};
    der_writer command, answer;
    der_writer_init_dynamic(&command, NULL);
    der_writer_init_dynamic(&answer, NULL);
    assert_int_equal(schema_encode(&sgp32_add_initial_eim_request_type, &request, &command),
                     RSP_OK);
    assert_int_equal(ipa_add_initial_eim(f->ipa, der_writer_view(&command), &answer, &err), RSP_OK);
    /* BF57 { A0 { 84 01 token } } */
    assert_int_equal(answer.len, 8);
    assert_int_equal(answer.buf[5], 0x84);
    f->token = answer.buf[7];
    free(spki);
    rsp_public_key_free(public_key);
    der_writer_free(&command);
    der_writer_free(&answer);
}

static void queue_psmo(fixture *f, int choice, const uint8_t iccid[10])
{
    sgp32_psmo psmo;
    memset(&psmo, 0, sizeof psmo);
    psmo.choice = choice;
    der_view id = der_view_make(iccid, 10);
    if (choice == SGP32_PSMO_ENABLE) {
        psmo.u.enable.iccid = id;
    } else if (choice == SGP32_PSMO_CONFIGURE_IMMEDIATE_ENABLE) {
        /* enable right after download what comes from this test's SM-DP+ */
        psmo.u.configure_immediate_enable.has_immediate_enable_flag = true;
        psmo.u.configure_immediate_enable.has_default_smdp_address = true;
        psmo.u.configure_immediate_enable.default_smdp_address =
            der_view_make((const uint8_t *)SMDP_ADDRESS, strlen(SMDP_ADDRESS));
    } else if (choice == SGP32_PSMO_DISABLE)
        psmo.u.disable.iccid = id;
    else
        psmo.u.delete_profile.iccid = id;
    uint8_t transaction[2] = {0xE2, (uint8_t)++f->counter};
    sgp32_euicc_package_signed signed_part;
    memset(&signed_part, 0, sizeof signed_part);
    signed_part.eim_id = der_view_make((const uint8_t *)EIM_ID, strlen(EIM_ID));
    signed_part.eid_value = der_view_make(f->eid_bytes, 16);
    signed_part.counter_value = f->counter;
    signed_part.has_eim_transaction_id = true;
    signed_part.eim_transaction_id = der_view_make(transaction, 2);
    signed_part.euicc_package.choice = SGP32_EUICC_PACKAGE_PSMO_LIST;
    signed_part.euicc_package.u.psmo_list.count = 1;
    signed_part.euicc_package.u.psmo_list.items = &psmo;
    der_writer data, request;
    rsp_error err = {0};
    der_writer_init_dynamic(&data, NULL);
    der_writer_init_dynamic(&request, NULL);
    assert_int_equal(schema_encode(&sgp32_euicc_package_signed_type, &signed_part, &data), RSP_OK);
    assert_int_equal(rsp_eim_package_request_build(f->eim_key, der_writer_view(&data), &f->token,
                                                   &request, &err),
                     RSP_OK);
    fake_eim_queue(&f->fx.eim, der_writer_view(&request));
    der_writer_free(&data);
    der_writer_free(&request);
}

/* Profiles as the eUICC lists them: count, ICCID of the first, whether it is enabled. */
static size_t profiles(fixture *f, uint8_t iccid[10], bool *enabled)
{
    der_writer list;
    rsp_error err = {0};
    static uint8_t arena_buf[16384];
    schema_arena arena;
    sgp32_profile_info_list_response decoded;
    der_writer_init_dynamic(&list, NULL);
    schema_arena_init(&arena, arena_buf, sizeof arena_buf);
    assert_int_equal(ipa_list_profiles(f->ipa, &list, &err), RSP_OK);
    assert_int_equal(schema_decode(&sgp32_profile_info_list_response_type, der_writer_view(&list),
                                   &decoded, &arena, &err),
                     RSP_OK);
    size_t count = decoded.u.profile_info_list_ok.count;
    if (count > 0) {
        const sgp32_profile_info *first = decoded.u.profile_info_list_ok.items;
        memcpy(iccid, first->iccid.data, 10);
        *enabled = first->has_profile_state && first->profile_state == 1;
    }
    der_writer_free(&list);
    return count;
}

static void poll_ok(fixture *f, ipa_poll_report *report)
{
    rsp_error err = {0};
    rsp_status st = ipa_poll_once(f->ipa, report, &err);
    if (st != RSP_OK)
        print_message("poll: %s\n", err.message);
    assert_int_equal(st, RSP_OK);
    assert_int_equal(f->fx.eim.schema_failures, 0);
    assert_int_equal(f->fx.eim.duplicates, 0);
}

/* Makes the TS.48 profile <name>.der the SM-DP+'s order, named "TS.48 <name>"; false, said
 * aloud, when the shared test profiles are absent. */
static bool order_ts48_profile(fixture *f, const char *name)
{
    char path[512];
    format_checked(path, "%s/testdata/ts48/%s.der", RSPKIT_SHARED_DIR, name);
    if (access(path, R_OK) != 0) {
        printf("SKIPPED: TS.48 test profiles not found under %s/testdata/ts48\n",
               RSPKIT_SHARED_DIR);
        return false;
    }
    f->package = read_whole(path, &f->package_len);
    assert_non_null(f->package);
    f->order.package = der_view_make(f->package, f->package_len);
    f->order.service_provider_name = "rspkit operator";
    format_checked(f->profile_name, "TS.48 %s", name);
    f->order.profile_name = f->profile_name;
    f->order.profile_class = SGP22_PROFILE_CLASS_OPERATIONAL;
    return true;
}

static void test_download_and_packages_on_the_real_euicc(void **state)
{
    fixture *f = *state;
    if (!order_ts48_profile(f, "BERTLV_SUCI"))
        skip();
    ipa_poll_report report;

    associate(f);
    /* indirect download relayed through the eIM */
    uint8_t trigger[128];
    size_t len = build_download_trigger(trigger, sizeof trigger, "1$" SMDP_ADDRESS "$MATCH-1");
    fake_eim_queue(&f->fx.eim, der_view_make(trigger, len));
    poll_ok(f, &report);
    assert_int_equal(f->smdp_calls, 3);
    assert_int_equal(f->session.state, SMDP_SESSION_BOUND);
    uint8_t iccid[10];
    bool enabled = true;
    assert_int_equal(profiles(f, iccid, &enabled), 1);
    assert_false(enabled);
    /* the eIM got the installation result; the SM-DP+ accepts it */
    const sgp32_eim_package_result *package_result = fake_eim_last_result(&f->fx.eim);
    assert_non_null(package_result);
    assert_int_equal(package_result->choice,
                     SGP32_EIM_PACKAGE_RESULT_PROFILE_DOWNLOAD_TRIGGER_RESULT);
    const sgp32_profile_download_trigger_result *result =
        &package_result->u.profile_download_trigger_result;
    rsp_error err = {0};
    assert_int_equal(result->profile_download_trigger_result_data.choice,
                     SGP32_PROFILE_DOWNLOAD_TRIGGER_RESULT_DATA_PROFILE_INSTALLATION_RESULT);
    der_view pir;
    der_tlv outer;
    assert_int_equal(
        der_parse_single(der_view_make(f->fx.eim.last_result, f->fx.eim.last_result_len), &outer,
                         &err),
        RSP_OK);
    der_reader r;
    der_tlv child;
    der_reader_init(&r, outer.value, 0, 1);
    do
        assert_int_equal(der_reader_next(&r, &child, &err), RSP_OK);
    while (child.tag != 0xBF54);
    der_reader_init(&r, child.value, 0, 2);
    do
        assert_int_equal(der_reader_next(&r, &child, &err), RSP_OK);
    while (child.tag != 0xBF37);
    pir = child.whole;
    assert_int_equal(smdp_handle_install_result(&f->credentials, &f->session, pir, &err), SMDP_OK);
    assert_int_equal(f->session.state, SMDP_SESSION_INSTALLED);

    /* eUICC Packages signed by the eIM, results acknowledged and removed */
    static const int operations[3] = {SGP32_PSMO_ENABLE, SGP32_PSMO_DISABLE, SGP32_PSMO_DELETE};
    for (int i = 0; i < 3; i++) {
        unsigned before = f->fx.eim.provide_results;
        queue_psmo(f, operations[i], iccid);
        poll_ok(f, &report);
        assert_int_equal(f->fx.eim.provide_results, before + 1);
        assert_int_equal(report.results_delivered, 1);
        assert_true(report.acknowledged >= 1);
        if (operations[i] == SGP32_PSMO_ENABLE) {
            assert_int_equal(profiles(f, iccid, &enabled), 1);
            assert_true(enabled);
        }
    }
    assert_int_equal(profiles(f, iccid, &enabled), 0);
    /* nothing left behind on the eUICC: every result and notification was delivered */
    der_writer list;
    static const uint8_t all_results[] = {0xBF, 0x2B, 0x04, 0xA0, 0x02, 0x82, 0x00};
    static const uint8_t all_notifications[] = {0xBF, 0x2B, 0x00};
    der_writer_init_dynamic(&list, NULL);
    assert_int_equal(ipa_es10(f->ipa, der_view_make(all_results, sizeof all_results), &list, &err),
                     RSP_OK);
    assert_true(list.len <= 5); /* BF2B 02 A2 00 */
    list.len = 0;
    assert_int_equal(
        ipa_es10(f->ipa, der_view_make(all_notifications, sizeof all_notifications), &list, &err),
        RSP_OK);
    assert_true(list.len <= 5);
    der_writer_free(&list);
    printf("ipa with the real eUICC: peak heap %zu bytes\n", ipa_peak_bytes(f->ipa));
}

/* The eIM configured immediate enabling for the SM-DP+: the IPA has the eUICC enable the
 * profile right after the download and tells the eIM with its next GetEimPackage. */
static void test_immediate_enable_after_download(void **state)
{
    fixture *f = *state;
    if (!order_ts48_profile(f, "NoBERTLV_NoRAMRFM"))
        skip();
    associate(f);
    static const uint8_t no_iccid[10];
    queue_psmo(f, SGP32_PSMO_CONFIGURE_IMMEDIATE_ENABLE, no_iccid);
    ipa_poll_report report;
    poll_ok(f, &report);
    assert_int_equal(report.results_delivered, 1);
    uint8_t trigger[128];
    size_t len = build_download_trigger(trigger, sizeof trigger, "1$" SMDP_ADDRESS "$MATCH-2");
    fake_eim_queue(&f->fx.eim, der_view_make(trigger, len));
    poll_ok(f, &report);
    uint8_t iccid[10];
    bool enabled = false;
    assert_int_equal(profiles(f, iccid, &enabled), 1);
    assert_true(enabled);
    /* the same poll asked for the next package with the state change; only once */
    assert_true(f->fx.eim.last_get_had_state_change);
    assert_int_equal(f->fx.eim.last_state_change_cause,
                     SGP32_STATE_CHANGE_CAUSE_IMMEDIATE_ENABLE_PROFILE);
    poll_ok(f, &report);
    assert_false(f->fx.eim.last_get_had_state_change);
}

/* contactDefaultSmdp: the IPA takes the SM-DP+ address from the eUICC's configuration. */
static void test_download_from_the_default_smdp(void **state)
{
    fixture *f = *state;
    if (!order_ts48_profile(f, "BERTLV_SUCI_NoRAMRFM"))
        skip();
    /* a card whose default SM-DP+ is this test's */
    euicc_config config;
    rsp_error err = {0};
    memset(&config, 0, sizeof config);
    memcpy(config.eid, f->eid_bytes, 16);
    config.euicc_key = f->euicc_key;
    config.euicc_certificate = rsp_certificate_der(f->euicc_cert);
    config.eum_certificate = rsp_certificate_der(f->eum);
    config.ci_certificates = f->cis;
    config.ci_count = 1;
    config.default_dp_address = SMDP_ADDRESS;
    euicc_free(f->card);
    assert_int_equal(euicc_new(&config, &f->card, &err), RSP_OK);
    associate(f);
    uint8_t trigger[64];
    size_t len = build_download_trigger_default_smdp(trigger, sizeof trigger);
    fake_eim_queue(&f->fx.eim, der_view_make(trigger, len));
    ipa_poll_report report;
    poll_ok(f, &report);
    assert_int_equal(f->smdp_calls, 3);
    uint8_t iccid[10];
    bool enabled = true;
    assert_int_equal(profiles(f, iccid, &enabled), 1);
    assert_int_equal(report.results_delivered, 1);
}

/* ESipa to the fake eIM, ES9+ JSON to the real SM-DP+ server. */
static rsp_status direct_post(void *ctx, const ipa_http_request *request, der_writer *response,
                              long *http_status, rsp_error *err)
{
    fixture *f = ctx;
    if (strstr(request->url, "/gsma/rsp2/es9plus/") != NULL) {
        f->es9_calls++;
        size_t before = response->len;
        rsp_status st = ipa_http_post(f->http, request, response, http_status, err);
        static const char executed[] = "Executed-Success";
        for (size_t i = before; st == RSP_OK && i + sizeof executed - 1 <= response->len; i++)
            if (memcmp(response->buf + i, executed, sizeof executed - 1) == 0) {
                f->es9_executed++;
                break;
            }
        static const char transaction[] = "\"subjectCode\":\"8.10.1\"";
        for (size_t i = before; st == RSP_OK && i + sizeof transaction - 1 <= response->len; i++)
            if (memcmp(response->buf + i, transaction, sizeof transaction - 1) == 0) {
                f->es9_unknown_transaction++;
                break;
            }
        if (getenv("IPA_TEST_TRACE"))
            print_message("SM-DP+ %s: HTTP %ld %.*s\n", request->url, *http_status,
                          (int)(response->len - before), (const char *)response->buf + before);
        if (st == RSP_OK && *http_status >= 400)
            print_message("SM-DP+ %s: HTTP %ld %.*s\nrequest %.*s\n", request->url, *http_status,
                          (int)(response->len - before), (const char *)response->buf + before,
                          (int)request->body.len, (const char *)request->body.data);
        return st;
    }
    *http_status = fake_eim_handle(&f->fx.eim, request->body, response);
    return RSP_OK;
}

/* Imports a personalised TS.48 copy, orders it for this EID and releases it (ES2+). */
static void order_profile(smdp_server *server, const char *eid, const uint8_t *package, size_t len,
                          char iccid[SMDP_ICCID_SIZE], char matching_id[SMDP_MATCHING_SIZE])
{
    uint8_t *copy = NULL;
    size_t copy_len = 0;
    rsp_error err = {0};
    smdp_inventory *inventory = smdp_server_inventory(server);
    assert_int_equal(smdp_personalise_copy(package, len, 7, &copy, &copy_len, &err), RSP_OK);
    assert_int_equal(smdp_inventory_import(inventory, "op", copy, copy_len, iccid, &err), RSP_OK);
    free(copy);
    char got[SMDP_ICCID_SIZE];
    smdp_download_order download_order = {.operator_id = "op", .iccid = iccid, .eid = eid};
    assert_int_equal(smdp_order_download(inventory, &download_order, got, &err), SMDP_STATUS_OK);
    smdp_confirm_order confirm = {.operator_id = "op", .iccid = iccid, .release = true};
    smdp_confirm_result result;
    assert_int_equal(smdp_order_confirm(inventory, &confirm, &result, &err), SMDP_STATUS_OK);
    memcpy(matching_id, result.matching_id, SMDP_MATCHING_SIZE);
}

/* The SM-DP+ server with one released order for this eUICC, and the IPA switched to direct
 * download over HTTPS; returns the server. */
static smdp_server *start_direct(fixture *f, smdp_config *config, char iccid[SMDP_ICCID_SIZE],
                                 char matching_id[SMDP_MATCHING_SIZE])
{
    char path[512];
    format_checked(path, "%s/testdata/ts48/NoBERTLV.der", RSPKIT_SHARED_DIR);
    f->package = read_whole(path, &f->package_len);
    assert_non_null(f->package);
    log_set_level(LOG_LEVEL_WARN);
    rsp_error err = {0};
    smdp_config_init(config);
    assert_int_equal(smdp_config_use_pki(config, f->dir, &err), RSP_OK);
    snprintf(config->listen, sizeof config->listen, "127.0.0.1:0");
    format_checked(config->database, "sqlite:%s/smdp.db", f->dir);
    assert_int_equal(smdp_config_add_operator(config, "op", "key", NULL, NULL, &err), RSP_OK);
    smdp_server *server = smdp_server_new(config, &err);
    assert_non_null(server);
    assert_int_equal(smdp_server_start(server, &err), RSP_OK);
    order_profile(server, f->eid, f->package, f->package_len, iccid, matching_id);
    char ca[300];
    format_checked(ca, "%s/nist/CERT_CI_ECDSA.pem", f->dir);
    f->http = ipa_http_new(ca, 30000, &err);
    assert_non_null(f->http);
    ipa_free(f->ipa);
    f->fx.platform.http_post = direct_post;
    f->fx.config.direct_download = true;
    assert_int_equal(ipa_new(&f->fx.platform, &f->fx.config, &f->ipa, &err), RSP_OK);
    associate(f);
    return server;
}

static void stop_direct(fixture *f, smdp_server *server)
{
    smdp_server_stop(server, 0);
    smdp_server_free(server);
    ipa_http_free(f->http);
    f->http = NULL;
}

static bool ts48_present(void)
{
    char path[512];
    format_checked(path, "%s/testdata/ts48/NoBERTLV.der", RSPKIT_SHARED_DIR);
    if (access(path, R_OK) == 0)
        return true;
    printf("SKIPPED: TS.48 test profiles not found under %s/testdata/ts48\n", RSPKIT_SHARED_DIR);
    return false;
}

static void queue_trigger(fixture *f, smdp_server *server, const char *matching_id)
{
    char code[200];
    format_checked(code, "1$%s$%s", smdp_server_address(server), matching_id);
    uint8_t trigger[256];
    size_t len = build_download_trigger(trigger, sizeof trigger, code);
    fake_eim_queue(&f->fx.eim, der_view_make(trigger, len));
}

static void test_direct_download_from_the_smdp_server(void **state)
{
    fixture *f = *state;
    if (!ts48_present())
        skip();
    static smdp_config config;
    char iccid[SMDP_ICCID_SIZE], matching_id[SMDP_MATCHING_SIZE];
    smdp_server *server = start_direct(f, &config, iccid, matching_id);
    queue_trigger(f, server, matching_id);
    ipa_poll_report report;
    poll_ok(f, &report);
    /* initiateAuthentication, authenticateClient, getBoundProfilePackage, handleNotification */
    assert_int_equal(f->es9_calls, 4);
    assert_int_equal(f->smdp_calls, 0);
    uint8_t installed[10];
    bool enabled = true;
    assert_int_equal(profiles(f, installed, &enabled), 1);
    smdp_profile_info info;
    rsp_error err = {0};
    assert_int_equal(smdp_inventory_get(smdp_server_inventory(server), iccid, &info, &err), RSP_OK);
    assert_int_equal(info.state, SMDP_PROFILE_INSTALLED);
    assert_int_equal(report.results_delivered, 1);
    stop_direct(f, server);
}

/* The SM-DP+ refuses the matching ID: the IPA cancels the eUICC session and relays the
 * eUICC's signed cancellation (ES9+ cancelSession, its CancelSessionResponse back under its
 * own tag); the SM-DP+ parses it and answers that it already closed the transaction when it
 * refused. The eIM gets the download error. */
static void test_direct_download_refused_then_cancelled(void **state)
{
    fixture *f = *state;
    if (!ts48_present())
        skip();
    static smdp_config config;
    char iccid[SMDP_ICCID_SIZE], matching_id[SMDP_MATCHING_SIZE];
    smdp_server *server = start_direct(f, &config, iccid, matching_id);
    queue_trigger(f, server, "NOT-THE-MATCHING-ID");
    ipa_poll_report report;
    poll_ok(f, &report);
    /* initiateAuthentication (ok), authenticateClient (refused), cancelSession (closed) */
    assert_int_equal(f->es9_calls, 3);
    assert_int_equal(f->es9_executed, 1);
    assert_int_equal(f->es9_unknown_transaction, 1);
    uint8_t installed[10];
    bool enabled = false;
    assert_int_equal(profiles(f, installed, &enabled), 0);
    assert_int_equal(report.results_delivered, 1);
    const sgp32_eim_package_result *package_result = fake_eim_last_result(&f->fx.eim);
    assert_non_null(package_result);
    assert_int_equal(package_result->choice,
                     SGP32_EIM_PACKAGE_RESULT_PROFILE_DOWNLOAD_TRIGGER_RESULT);
    assert_int_equal(package_result->u.profile_download_trigger_result
                         .profile_download_trigger_result_data.choice,
                     SGP32_PROFILE_DOWNLOAD_TRIGGER_RESULT_DATA_PROFILE_DOWNLOAD_ERROR);
    stop_direct(f, server);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_download_and_packages_on_the_real_euicc, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_immediate_enable_after_download, setup, teardown),
        cmocka_unit_test_setup_teardown(test_download_from_the_default_smdp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_direct_download_from_the_smdp_server, setup, teardown),
        cmocka_unit_test_setup_teardown(test_direct_download_refused_then_cancelled, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
