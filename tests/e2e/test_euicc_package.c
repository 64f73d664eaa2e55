/* End to end in one process, through real APDUs: each TS.48 package is downloaded from the
 * SM-DP+ core into the software eUICC, then enabled, disabled and deleted by eUICC Packages
 * that a test eIM signs (SGP.32 v1.2 section 3.3.1), with every result signature checked
 * against the eUICC certificate, the profile notifications queued, and each result removed
 * once acknowledged. The eIM is played with the crypto module alone (signature_gsma.h), so
 * this test checks the eUICC independently of the eIM package core. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/sgp22.h"
#include "core/sgp32.h"
#include "crypto/pki_generate.h"
#include "crypto/signature_gsma.h"
#include "euicc/euicc.h"
#include "smdp/binding.h"
#include "smdp/download.h"

#include "e2e_fixture.h"

#define SMDP_ADDRESS "smdp.rspkit.test"
#define MATCHING_ID  "MATCH-PACKAGES"
#define EIM_ID       "eim.rspkit.test"
#define PIECES_MAX   512

typedef struct {
    char dir[64];
    rsp_certificate *euicc_cert;
    rsp_private_key *euicc_key, *eim_key;
    rsp_public_key *euicc_public;
    char eid[RSP_EID_STRING_SIZE];
    e2e_smdp smdp; /* CI, EUM, the SM-DP+ identity and its credentials */
    smdp_order order;
    uint8_t *package;
    size_t package_len;
    euicc *card;
    uint8_t resp[600];
    int64_t counter;
    int64_t token;
} fixture;

static rsp_certificate *certificate(fixture *f, const char *name)
{
    char path[256];
    rsp_certificate *out = NULL;
    rsp_error err = {0};
    snprintf(path, sizeof path, "%s/nist/%s", f->dir, name);
    return rsp_certificate_load_file(path, &out, &err) == RSP_OK ? out : NULL;
}

static rsp_private_key *key(fixture *f, const char *name)
{
    char path[256];
    rsp_private_key *out = NULL;
    rsp_error err = {0};
    snprintf(path, sizeof path, "%s/nist/%s", f->dir, name);
    return rsp_private_key_load_file(path, &out, &err) == RSP_OK ? out : NULL;
}

static int group_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    rsp_error err = {0};
    if (f == NULL || !e2e_make_pki_folder(f->dir, sizeof f->dir, "package", RSP_PKI_CURVE_NIST, 1))
        return -1;
    e2e_read_eids(f->dir, &f->eid, 1);
    e2e_smdp_load(&f->smdp, f->dir, SMDP_ADDRESS);
    char name[128];
    snprintf(name, sizeof name, "euicc/CERT_EUICC_ECDSA_%s.der", f->eid);
    f->euicc_cert = certificate(f, name);
    snprintf(name, sizeof name, "euicc/SK_EUICC_ECDSA_%s.pem", f->eid);
    f->euicc_key = key(f, name);
    f->eim_key = key(f, "SK_EIM_ECDSA.pem");
    if (f->euicc_cert == NULL || f->eim_key == NULL ||
        rsp_certificate_public_key(f->euicc_cert, &f->euicc_public, &err) != RSP_OK)
        return -1;
    *state = f;
    return 0;
}

static int group_teardown(void **state)
{
    fixture *f = *state;
    char command[128];
    e2e_smdp_free(&f->smdp);
    rsp_certificate_free(f->euicc_cert);
    rsp_private_key_free(f->euicc_key);
    rsp_private_key_free(f->eim_key);
    rsp_public_key_free(f->euicc_public);
    snprintf(command, sizeof command, "rm -rf '%s'", f->dir);
    int rc = system(command);
    free(f);
    return rc == 0 ? 0 : -1;
}

/* ---- the card, through APDUs --------------------------------------------------------- */

static void new_card(fixture *f)
{
    euicc_config config;
    rsp_error err = {0};
    memset(&config, 0, sizeof config);
    assert_int_equal(der_hex_decode(f->eid, config.eid, sizeof config.eid), 16);
    config.euicc_key = f->euicc_key;
    config.euicc_certificate = rsp_certificate_der(f->euicc_cert);
    config.eum_certificate = rsp_certificate_der(f->smdp.eum);
    config.ci_certificates = f->smdp.cis;
    config.ci_count = 1;
    euicc_free(f->card);
    f->card = NULL;
    assert_int_equal(euicc_new(&config, &f->card, &err), RSP_OK);
    static const uint8_t select[] = {0x00, 0xA4, 0x04, 0x00, 0x10, 0xA0, 0x00, 0x00,
                                     0x05, 0x59, 0x10, 0x10, 0xFF, 0xFF, 0xFF, 0xFF,
                                     0x89, 0x00, 0x00, 0x01, 0x00, 0x00};
    size_t len = euicc_transmit(f->card, select, sizeof select, f->resp, sizeof f->resp);
    assert_true(len >= 2 && f->resp[len - 2] == 0x90);
}

/* STORE DATA in blocks of 255 bytes, GET RESPONSE while 61xx; returns the status word. */
static unsigned es10(fixture *f, der_view command, der_writer *out)
{
    size_t blocks = (command.len + 254) / 255;
    size_t len = 0;
    for (size_t b = 0; b < blocks; b++) {
        uint8_t apdu[E2E_STORE_DATA_MAX];
        size_t apdu_len = e2e_store_data_apdu(command, b, blocks, apdu);
        len = euicc_transmit(f->card, apdu, apdu_len, f->resp, sizeof f->resp);
        assert_true(len >= 2);
    }
    for (;;) {
        der_put_raw(out, f->resp, len - 2);
        unsigned sw = (unsigned)(f->resp[len - 2] << 8 | f->resp[len - 1]);
        if ((sw & 0xFF00) != 0x6100)
            return sw;
        uint8_t get_response[] = {0x80, 0xC0, 0x00, 0x00, (uint8_t)(sw & 0xFF)};
        len = euicc_transmit(f->card, get_response, sizeof get_response, f->resp, sizeof f->resp);
        assert_true(len >= 2);
    }
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

/* SGP.22 v2.5 section 3.1.3, the LPA's part: challenge, AuthenticateServer, PrepareDownload,
 * then the BPP piece by piece. */
static void download(fixture *f)
{
    smdp_download_session session;
    der_writer w[6];
    der_tlv items[8];
    rsp_error err = {0};
    for (int i = 0; i < 6; i++)
        der_writer_init_dynamic(&w[i], NULL);
    static const uint8_t get_challenge[] = {0xBF, 0x2E, 0x00};
    static const uint8_t get_info1[] = {0xBF, 0x20, 0x00};
    assert_int_equal(es10(f, der_view_make(get_challenge, 3), &w[0]), 0x9000);
    assert_int_equal(es10(f, der_view_make(get_info1, 3), &w[1]), 0x9000);
    e2e_initiate_authentication_request(&w[2], w[0].buf + 5, SMDP_ADDRESS, der_writer_view(&w[1]));
    memset(&session, 0, sizeof session);
    w[0].len = 0;
    assert_int_equal(smdp_initiate_authentication(&f->smdp.credentials, der_writer_view(&w[2]), 0,
                                                  &session, &w[0], &err),
                     SMDP_OK);
    /* AuthenticateServer */
    assert_int_equal(e2e_ok_children(der_writer_view(&w[0]), items, 8), 5);
    w[2].len = 0;
    e2e_authenticate_server_request(&w[2], items, MATCHING_ID);
    w[1].len = 0;
    assert_int_equal(es10(f, der_writer_view(&w[2]), &w[1]), 0x9000);
    /* AuthenticateClient */
    w[2].len = 0;
    e2e_relay_request(&w[2], 0xBF3B, session.transaction_id, der_writer_view(&w[1]));
    assert_int_equal(smdp_authenticate_client(&f->smdp.credentials, &session,
                                              der_writer_view(&w[2]), 0, lookup_order, f, &w[3],
                                              &err),
                     SMDP_OK);
    /* PrepareDownload */
    assert_int_equal(e2e_ok_children(der_writer_view(&w[3]), items, 8), 5);
    w[2].len = 0;
    e2e_prepare_download_request(&w[2], items, NULL);
    w[1].len = 0;
    assert_int_equal(es10(f, der_writer_view(&w[2]), &w[1]), 0x9000);
    /* GetBoundProfilePackage and LoadBoundProfilePackage */
    w[2].len = 0;
    e2e_relay_request(&w[2], 0xBF3A, session.transaction_id, der_writer_view(&w[1]));
    assert_int_equal(smdp_get_bound_profile_package(&f->smdp.credentials, &session,
                                                    der_writer_view(&w[2]), &f->order, &w[4], &err),
                     SMDP_OK);
    assert_int_equal(e2e_ok_children(der_writer_view(&w[4]), items, 2), 2);
    der_view pieces[PIECES_MAX];
    size_t count = 0;
    assert_int_equal(smdp_bpp_split(items[1].whole, pieces, PIECES_MAX, &count, &err), RSP_OK);
    for (size_t i = 0; i < count && w[5].len == 0; i++)
        assert_int_equal(es10(f, pieces[i], &w[5]), 0x9000);
    assert_true(w[5].len > 2 && w[5].buf[0] == 0xBF && w[5].buf[1] == 0x37);
    assert_int_equal(
        smdp_handle_install_result(&f->smdp.credentials, &session, der_writer_view(&w[5]), &err),
        SMDP_OK);
    assert_int_equal(session.state, SMDP_SESSION_INSTALLED);
    for (int i = 0; i < 6; i++)
        der_writer_free(&w[i]);
}

/* ---- the eIM, played with the crypto module ------------------------------------------ */

/* AddInitialEim with the eIM's key and a token request (-1); keeps the token. */
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
    assert_int_equal(es10(f, der_writer_view(&command), &answer), 0x9000);
    /* BF57 { A0 { 84 01 token } } */
    assert_int_equal(answer.len, 8);
    assert_int_equal(answer.buf[5], 0x84);
    f->token = answer.buf[7];
    f->counter = 0;
    free(spki);
    rsp_public_key_free(public_key);
    der_writer_free(&command);
    der_writer_free(&answer);
}

/* One PSMO package for iccid; returns the operation's result code after checking the
 * euiccSignEPR, counter and transaction; *seq_number receives the result's seqNumber. */
static int64_t run_psmo(fixture *f, int choice, der_view iccid, int64_t *seq_number)
{
    sgp32_psmo psmo;
    memset(&psmo, 0, sizeof psmo);
    psmo.choice = choice;
    if (choice == SGP32_PSMO_ENABLE)
        psmo.u.enable.iccid = iccid;
    else if (choice == SGP32_PSMO_DISABLE)
        psmo.u.disable.iccid = iccid;
    else
        psmo.u.delete_profile.iccid = iccid;
    uint8_t eid[16], transaction[2] = {0xE2, (uint8_t)++f->counter};
    assert_int_equal(der_hex_decode(f->eid, eid, sizeof eid), 16);
    sgp32_euicc_package_signed signed_part;
    memset(&signed_part, 0, sizeof signed_part);
    signed_part.eim_id = der_view_make((const uint8_t *)EIM_ID, strlen(EIM_ID));
    signed_part.eid_value = der_view_make(eid, 16);
    signed_part.counter_value = f->counter;
    signed_part.has_eim_transaction_id = true;
    signed_part.eim_transaction_id = der_view_make(transaction, 2);
    signed_part.euicc_package.choice = SGP32_EUICC_PACKAGE_PSMO_LIST;
    signed_part.euicc_package.u.psmo_list.count = 1;
    signed_part.euicc_package.u.psmo_list.items = &psmo;
    der_writer data, request, answer;
    rsp_error err = {0};
    der_writer_init_dynamic(&data, NULL);
    der_writer_init_dynamic(&request, NULL);
    der_writer_init_dynamic(&answer, NULL);
    assert_int_equal(schema_encode(&sgp32_euicc_package_signed_type, &signed_part, &data), RSP_OK);
    assert_int_equal(rsp_eim_package_request_build(f->eim_key, der_writer_view(&data), &f->token,
                                                   &request, &err),
                     RSP_OK);
    assert_int_equal(es10(f, der_writer_view(&request), &answer), 0x9000);

    uint32_t alternative = 0;
    der_view result_data;
    assert_int_equal(rsp_euicc_package_result_open(f->euicc_public, der_writer_view(&answer),
                                                   &f->token, &alternative, &result_data, &err),
                     RSP_OK);
    assert_int_equal(alternative, 0xA0);
    sgp32_euicc_package_result_data_signed decoded;
    uint8_t arena_buffer[1024];
    schema_arena arena;
    schema_arena_init(&arena, arena_buffer, sizeof arena_buffer);
    assert_int_equal(schema_decode(&sgp32_euicc_package_result_data_signed_type, result_data,
                                   &decoded, &arena, &err),
                     RSP_OK);
    assert_int_equal(decoded.counter_value, f->counter);
    assert_true(der_view_equal(decoded.eim_transaction_id, der_view_make(transaction, 2)));
    assert_int_equal(decoded.euicc_result.count, 1);
    const sgp32_euicc_result_data *result = decoded.euicc_result.items;
    assert_int_equal(result->choice, choice); /* enable/disable/delete results are 1..3 too */
    *seq_number = decoded.seq_number;
    int64_t code = result->u.enable_result;
    der_writer_free(&data);
    der_writer_free(&request);
    der_writer_free(&answer);
    return code;
}

/* SGP.32 v1.2 section 3.3.1 steps 15-17: the IPA removes the acknowledged result. */
static void acknowledge(fixture *f, int64_t seq_number)
{
    uint8_t command[] = {0xBF, 0x30, 0x03, 0x80, 0x01, (uint8_t)seq_number};
    der_writer answer;
    der_writer_init_dynamic(&answer, NULL);
    assert_true(seq_number > 0 && seq_number < 128);
    assert_int_equal(es10(f, der_view_make(command, sizeof command), &answer), 0x9000);
    /* NotificationSentResponse deleteNotificationStatus ok */
    assert_int_equal(answer.buf[answer.len - 1], 0x00);
    der_writer_free(&answer);
}

static void test_ts48_profiles_through_eim_packages(void **state)
{
    fixture *f = *state;
    static const char *const packages[] = {"BERTLV_SUCI.der", "BERTLV_SUCI_NoRAMRFM.der",
                                           "NoBERTLV.der", "NoBERTLV_NoRAMRFM.der"};
    if (!e2e_shared_data_present(packages[0]))
        skip();
    char path[512];
    for (size_t p = 0; p < sizeof packages / sizeof packages[0]; p++) {
        snprintf(path, sizeof path, "%s/testdata/ts48/%s", RSPKIT_SHARED_DIR, packages[p]);
        free(f->package);
        f->package = e2e_read_file(path, &f->package_len);
        assert_non_null(f->package);
        assert_true(f->package_len > 0);
        memset(&f->order, 0, sizeof f->order);
        f->order.package = der_view_make(f->package, f->package_len);
        f->order.service_provider_name = "rspkit operator";
        f->order.profile_name = packages[p];
        f->order.profile_class = SGP22_PROFILE_CLASS_OPERATIONAL;

        new_card(f);
        download(f);
        associate(f);
        const euicc_state *s = euicc_get_state_const(f->card);
        assert_int_equal(euicc_state_count(s, EUICC_LIST_PROFILES), 1);
        euicc_loaded_profile profile;
        rsp_error err = {0};
        assert_int_equal(euicc_state_profile_load(s, 0, true, &profile, &err), RSP_OK);
        uint8_t iccid[10];
        memcpy(iccid, profile.record.info.iccid.data, sizeof iccid);
        euicc_loaded_profile_release(&profile);

        static const int operations[3] = {SGP32_PSMO_ENABLE, SGP32_PSMO_DISABLE, SGP32_PSMO_DELETE};
        static const long enabled_after[3] = {0, -1, -1};
        for (int i = 0; i < 3; i++) {
            size_t notifications = euicc_state_count(s, EUICC_LIST_NOTIFICATIONS);
            int64_t seq_number = 0;
            assert_int_equal(run_psmo(f, operations[i], der_view_make(iccid, 10), &seq_number), 0);
            assert_int_equal(euicc_state_find_enabled_profile(s), enabled_after[i]);
            /* the SM-DP+'s metadata asks for every notification: one per operation */
            assert_int_equal(euicc_state_count(s, EUICC_LIST_NOTIFICATIONS), notifications + 1);
            assert_true(euicc_state_find_package_result(s, seq_number) >= 0);
            acknowledge(f, seq_number);
            assert_int_equal(euicc_state_find_package_result(s, seq_number), -1);
        }
        assert_int_equal(euicc_state_count(s, EUICC_LIST_PROFILES), 0);
    }
    euicc_free(f->card);
    f->card = NULL;
    free(f->package);
    f->package = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ts48_profiles_through_eim_packages),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
