/* End-to-end profile download in one process: the SM-DP+ core (smdp/download.h) against the
 * software eUICC through real APDUs, with the LPA/IPA part played here (SGP.22 v2.5 section
 * 3.1.3): every TS.48 package on both curves, with and without ReplaceSessionKeys, and the
 * negative cases (another eUICC, flipped bytes per segment kind, wrong address, wrong
 * challenge, untrusted CI, expired certificates, confirmation code, cancel session, SGP.26). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <dirent.h>

#include "core/sgp22.h"
#include "crypto/ecdsa.h"
#include "crypto/pki_generate.h"
#include "euicc/apdu.h"
#include "euicc/euicc.h"
#include "smdp/binding.h"
#include "smdp/download.h"

#include "e2e_fixture.h"

#define SMDP_ADDRESS "smdp.rspkit.test"
#define MATCHING_ID  "MATCH-0001"
#define PIECES_MAX   512
#define YEAR         (365 * 24 * 3600L)

typedef struct {
    rsp_certificate *ci;
    rsp_certificate *eum;
    rsp_certificate *dpauth;
    rsp_certificate *dppb;
    rsp_private_key *dpauth_key;
    rsp_private_key *dppb_key;
    rsp_certificate *euicc_cert[2];
    rsp_private_key *euicc_key[2];
    char eid[2][RSP_EID_STRING_SIZE];
} curve_pki;

typedef struct {
    char dir[64];
    curve_pki pki[2]; /* 0: NIST, 1: brainpool */
    /* SM-DP+ side */
    smdp_identity identity;
    const rsp_certificate *smdp_cis[2];
    smdp_credentials credentials;
    smdp_order order;
    uint8_t *package;
    size_t package_len;
    /* the eUICC under test */
    euicc *card;
    const char *state_path; /* NULL: memory only */
    uint8_t resp[600];
} fixture;

/* ---- files and PKI ------------------------------------------------------------------- */

static void load_curve(const char *dir, const char *sub, curve_pki *pki)
{
    assert_int_equal(e2e_read_eids(dir, pki->eid, 2), 2);
    pki->ci = e2e_load_certificate(dir, sub, "CERT_CI_ECDSA.der");
    pki->eum = e2e_load_certificate(dir, sub, "CERT_EUM_ECDSA.der");
    pki->dpauth = e2e_load_certificate(dir, sub, "CERT_S_SM_DPauth_ECDSA.der");
    pki->dppb = e2e_load_certificate(dir, sub, "CERT_S_SM_DPpb_ECDSA.der");
    pki->dpauth_key = e2e_load_key(dir, sub, "SK_S_SM_DPauth_ECDSA.pem");
    pki->dppb_key = e2e_load_key(dir, sub, "SK_S_SM_DPpb_ECDSA.pem");
    for (int i = 0; i < 2; i++)
        e2e_load_euicc_identity(dir, sub, pki->eid[i], &pki->euicc_cert[i], &pki->euicc_key[i]);
}

static void free_curve(curve_pki *pki)
{
    rsp_certificate_free(pki->ci);
    rsp_certificate_free(pki->eum);
    rsp_certificate_free(pki->dpauth);
    rsp_certificate_free(pki->dppb);
    rsp_private_key_free(pki->dpauth_key);
    rsp_private_key_free(pki->dppb_key);
    for (int i = 0; i < 2; i++) {
        rsp_certificate_free(pki->euicc_cert[i]);
        rsp_private_key_free(pki->euicc_key[i]);
    }
}

static int group_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    if (!e2e_make_pki_folder(f->dir, sizeof f->dir, "download", RSP_PKI_CURVE_BOTH, 2))
        return -1;
    load_curve(f->dir, "nist", &f->pki[0]);
    load_curve(f->dir, "brainpool", &f->pki[1]);
    *state = f;
    return 0;
}

static int group_teardown(void **state)
{
    fixture *f = *state;
    free_curve(&f->pki[0]);
    free_curve(&f->pki[1]);
    e2e_remove_tree(f->dir);
    free(f);
    return 0;
}

/* ---- the two parties ----------------------------------------------------------------- */

static smdp_result lookup_order(void *context, der_view matching_id, const char *eid,
                                smdp_order *order)
{
    fixture *f = context;
    (void)eid;
    if (matching_id.len != strlen(MATCHING_ID) ||
        memcmp(matching_id.data, MATCHING_ID, matching_id.len) != 0)
        return SMDP_ERR_MATCHING_ID_REFUSED;
    *order = f->order;
    return SMDP_OK;
}

/* SM-DP+ credentials of curve c (its own CI trusted for eUICC chains) and an order. */
static void setup_smdp(fixture *f, int c, const char *package_name)
{
    f->identity = (smdp_identity){f->pki[c].ci, f->pki[c].dpauth, f->pki[c].dpauth_key,
                                  f->pki[c].dppb, f->pki[c].dppb_key};
    f->smdp_cis[0] = f->pki[0].ci;
    f->smdp_cis[1] = f->pki[1].ci;
    f->credentials = (smdp_credentials){.address = SMDP_ADDRESS,
                                        .identities = &f->identity,
                                        .identity_count = 1,
                                        .cis = f->smdp_cis,
                                        .ci_count = 2};
    char path[512];
    snprintf(path, sizeof path, "%s/testdata/ts48/%s", RSPKIT_SHARED_DIR, package_name);
    free(f->package);
    f->package = e2e_read_file(path, &f->package_len);
    assert_non_null(f->package);
    memset(&f->order, 0, sizeof f->order);
    f->order.package = der_view_make(f->package, f->package_len);
    f->order.service_provider_name = "rspkit operator";
    f->order.profile_name = package_name;
    f->order.profile_class = SGP22_PROFILE_CLASS_OPERATIONAL;
}

/* eUICC number n of curve c, trusting that curve's CI (plus extra_ci when set). */
static void setup_euicc(fixture *f, int c, int n, const rsp_certificate *extra_ci,
                        time_t fixed_time)
{
    static const rsp_certificate *cis[2];
    cis[0] = extra_ci != NULL ? extra_ci : f->pki[c].ci;
    cis[1] = f->pki[c].ci;
    euicc_config config;
    memset(&config, 0, sizeof config);
    assert_int_equal(der_hex_decode(f->pki[c].eid[n], config.eid, sizeof config.eid), 16);
    config.euicc_key = f->pki[c].euicc_key[n];
    config.euicc_certificate = rsp_certificate_der(f->pki[c].euicc_cert[n]);
    config.eum_certificate = rsp_certificate_der(f->pki[c].eum);
    config.ci_certificates = cis;
    config.ci_count = extra_ci != NULL ? 2 : 1;
    config.fixed_time = fixed_time;
    config.state_path = f->state_path;
    rsp_error err = {0};
    euicc_free(f->card);
    f->card = NULL;
    assert_int_equal(euicc_new(&config, &f->card, &err), RSP_OK);
    static const uint8_t select[] = {0x00, 0xA4, 0x04, 0x00, 0x10, 0xA0, 0x00, 0x00,
                                     0x05, 0x59, 0x10, 0x10, 0xFF, 0xFF, 0xFF, 0xFF,
                                     0x89, 0x00, 0x00, 0x01, 0x00, 0x00};
    size_t len = euicc_transmit(f->card, select, sizeof select, f->resp, sizeof f->resp);
    assert_true(len >= 2);
    assert_int_equal(f->resp[len - 2], 0x90);
}

static int test_setup(void **state)
{
    (void)state;
    return 0;
}

static int test_teardown(void **state)
{
    fixture *f = *state;
    euicc_free(f->card);
    f->card = NULL;
    free(f->package);
    f->package = NULL;
    return 0;
}

/* Tag of the alternative a response carries (A0 ok, 81/A1 error) and its first integer. */
static uint32_t alternative_of(der_view message, int64_t *code)
{
    der_tlv outer;
    der_tlv alternative;
    der_reader r;
    rsp_error err = {0};
    assert_int_equal(der_parse_single(message, &outer, &err), RSP_OK);
    assert_int_equal(der_reader_enter(&outer, 0, &r, &err), RSP_OK);
    assert_int_equal(der_reader_next(&r, &alternative, &err), RSP_OK);
    if (code != NULL && alternative.tag == 0xA1) {
        der_tlv item;
        assert_int_equal(der_reader_enter(&alternative, 1, &r, &err), RSP_OK);
        while (!der_reader_at_end(&r)) {
            assert_int_equal(der_reader_next(&r, &item, &err), RSP_OK);
            if (item.tag == 0x02)
                assert_int_equal(der_decode_int64(&item, code, &err), RSP_OK);
        }
    }
    return alternative.tag;
}

typedef e2e_download download;

/* The LPA side of ES10: STORE DATA blocks of at most 255 bytes, then GET RESPONSE while the
 * card says 61xx. Returns the status word; the response data is appended to out. */
static unsigned es10(fixture *f, der_view command, der_writer *out)
{
    return e2e_es10(f->card, f->resp, sizeof f->resp, command, out);
}

/* GetEUICCChallenge and GetEUICCInfo1, then ES9+.InitiateAuthentication at time now. */
static smdp_result initiate_at(fixture *f, download *d, const char *address, time_t now)
{
    static const uint8_t get_challenge[] = {0xBF, 0x2E, 0x00};
    der_writer out;
    der_writer_init_dynamic(&out, NULL);
    assert_int_equal(es10(f, der_view_make(get_challenge, 3), &out), 0x9000);
    assert_int_equal(out.len, 3 + 2 + 16);
    memcpy(d->challenge, out.buf + 5, 16);
    der_writer_free(&out);

    /* EUICCInfo1 as the eUICC reports it */
    static const uint8_t get_info1[] = {0xBF, 0x20, 0x00};
    der_writer info1;
    der_writer_init_dynamic(&info1, NULL);
    assert_int_equal(es10(f, der_view_make(get_info1, 3), &info1), 0x9000);
    der_writer request;
    der_writer_init_dynamic(&request, NULL);
    e2e_initiate_authentication_request(&request, d->challenge, address, der_writer_view(&info1));
    der_writer_free(&info1);
    rsp_error err = {0};
    smdp_result result = smdp_initiate_authentication(&f->credentials, der_writer_view(&request),
                                                      now, &d->session, &d->initiate, &err);
    der_writer_free(&request);
    return result;
}

static smdp_result initiate(fixture *f, download *d, const char *address)
{
    return initiate_at(f, d, address, 0);
}

/* ES10b.AuthenticateServer with the SM-DP+'s answer; returns the response alternative tag. */
static uint32_t authenticate_server(fixture *f, download *d, int64_t *error)
{
    der_tlv items[8];
    assert_int_equal(e2e_ok_children(der_writer_view(&d->initiate), items, 8), 5);
    der_writer request;
    der_writer_init_dynamic(&request, NULL);
    e2e_authenticate_server_request(&request, items, MATCHING_ID);
    assert_int_equal(es10(f, der_writer_view(&request), &d->authenticate), 0x9000);
    der_writer_free(&request);
    return alternative_of(der_writer_view(&d->authenticate), error);
}

static smdp_result authenticate_client(fixture *f, download *d, time_t now)
{
    der_writer request;
    der_writer_init_dynamic(&request, NULL);
    e2e_relay_request(&request, 0xBF3B, d->session.transaction_id,
                      der_writer_view(&d->authenticate));
    rsp_error err = {0};
    smdp_result result =
        smdp_authenticate_client(&f->credentials, &d->session, der_writer_view(&request), now,
                                 lookup_order, f, &d->client, &err);
    der_writer_free(&request);
    return result;
}

/* ES10b.PrepareDownload; hash_cc NULL for none. Returns the response alternative tag. */
static uint32_t prepare_download(fixture *f, download *d, const uint8_t *hash_cc, int64_t *error)
{
    der_tlv items[8];
    assert_int_equal(e2e_ok_children(der_writer_view(&d->client), items, 8), 5);
    der_writer request;
    der_writer_init_dynamic(&request, NULL);
    e2e_prepare_download_request(&request, items, hash_cc);
    assert_int_equal(es10(f, der_writer_view(&request), &d->prepare), 0x9000);
    der_writer_free(&request);
    return alternative_of(der_writer_view(&d->prepare), error);
}

static smdp_result get_bpp(fixture *f, download *d)
{
    der_writer request;
    der_writer_init_dynamic(&request, NULL);
    e2e_relay_request(&request, 0xBF3A, d->session.transaction_id, der_writer_view(&d->prepare));
    rsp_error err = {0};
    d->bound.len = 0;
    smdp_result result = smdp_get_bound_profile_package(
        &f->credentials, &d->session, der_writer_view(&request), &f->order, &d->bound, &err);
    der_writer_free(&request);
    if (result == SMDP_OK) {
        der_tlv items[2];
        assert_int_equal(e2e_ok_children(der_writer_view(&d->bound), items, 2), 2);
        assert_int_equal(items[1].tag, 0xBF36);
        d->bpp = items[1].whole;
    }
    return result;
}

/* The SM-DP+ with the NoBERTLV order and the first eUICC, both of curve c, with no extra CI or
 * clock shift: the setting most tests start from. */
static void start_plain(fixture *f, int c, download *d)
{
    setup_smdp(f, c, "NoBERTLV.der");
    setup_euicc(f, c, 0, NULL, 0);
    e2e_download_init(d);
}

/* InitiateAuthentication and AuthenticateServer, both asserted to succeed: the mutual
 * authentication most tests start from. */
static void authenticate_both(fixture *f, download *d)
{
    assert_int_equal(initiate(f, d, SMDP_ADDRESS), SMDP_OK);
    assert_int_equal(authenticate_server(f, d, NULL), 0xA0);
}

/* Everything up to the BPP; asserts each step succeeds. */
static void run_until_bpp(fixture *f, download *d, const uint8_t *hash_cc)
{
    authenticate_both(f, d);
    assert_int_equal(authenticate_client(f, d, 0), SMDP_OK);
    assert_int_equal(prepare_download(f, d, hash_cc, NULL), 0xA0);
    assert_int_equal(get_bpp(f, d), SMDP_OK);
}

/* Sends the BPP piece by piece as an IPA does; every piece but the one that ends the load
 * gets an empty answer. The ProfileInstallationResult is left in result. */
static void load_bpp(fixture *f, der_view bpp, der_writer *result)
{
    der_view pieces[PIECES_MAX];
    size_t count = 0;
    rsp_error err = {0};
    assert_int_equal(smdp_bpp_split(bpp, pieces, PIECES_MAX, &count, &err), RSP_OK);
    assert_true(count >= 6);
    for (size_t i = 0; i < count; i++) {
        assert_int_equal(es10(f, pieces[i], result), 0x9000);
        if (result->len > 0)
            break;
    }
    assert_true(result->len > 0);
    assert_int_equal(result->buf[0], 0xBF);
    assert_int_equal(result->buf[1], 0x37);
}

/* The install result as the eUICC answered and as the SM-DP+ verified it. */
static void check_result(fixture *f, download *d, der_view pir, bool success, int64_t command,
                         int64_t reason)
{
    rsp_error err = {0};
    assert_int_equal(smdp_handle_install_result(&f->credentials, &d->session, pir, &err), SMDP_OK);
    assert_int_equal(d->session.state, success ? SMDP_SESSION_INSTALLED : SMDP_SESSION_FAILED);
    if (!success) {
        assert_int_equal(d->session.bpp_command_id, command);
        assert_int_equal(d->session.error_reason, reason);
    }
    /* the same bytes wait as the pending install notification */
    const euicc_state *state = euicc_get_state_const(f->card);
    size_t count = euicc_state_count(state, EUICC_LIST_NOTIFICATIONS);
    assert_true(count >= 1);
    euicc_notification_record record;
    assert_int_equal(euicc_state_notification_decode(state, count - 1, &record, &err), RSP_OK);
    assert_true(der_view_equal(record.pending_notification, pir));
}

static void check_installed(fixture *f)
{
    const euicc_state *state = euicc_get_state_const(f->card);
    assert_int_equal(euicc_state_count(state, EUICC_LIST_PROFILES), 1);
    size_t arena_size = 65536;
    uint8_t *arena_buffer = malloc(arena_size);
    assert_non_null(arena_buffer);
    schema_arena arena;
    schema_arena_init(&arena, arena_buffer, arena_size);
    euicc_profile_record record;
    rsp_error err = {0};
    assert_int_equal(euicc_state_profile_decode(state, 0, &record, &arena, &err), RSP_OK);
    /* the metadata the SM-DP+ built from the package is what the eUICC stored */
    der_writer metadata;
    der_writer_init_dynamic(&metadata, NULL);
    assert_int_equal(smdp_metadata_build(&f->order, SMDP_ADDRESS, &metadata, &err), RSP_OK);
    sgp22_store_metadata_request expected;
    uint8_t expected_arena_buffer[2048];
    schema_arena expected_arena;
    schema_arena_init(&expected_arena, expected_arena_buffer, sizeof expected_arena_buffer);
    assert_int_equal(schema_decode(&sgp22_store_metadata_request_type, der_writer_view(&metadata),
                                   &expected, &expected_arena, &err),
                     RSP_OK);
    assert_true(der_view_equal(record.info.iccid, expected.iccid));
    assert_true(der_view_equal(record.info.profile_name, expected.profile_name));
    assert_true(der_view_equal(record.info.service_provider_name, expected.service_provider_name));
    assert_int_equal(record.info.profile_state, SGP22_PROFILE_STATE_DISABLED);
    assert_int_equal(record.info.notification_configuration_info.count, 1);
    assert_true(record.has_saip_package);
    assert_int_equal(record.saip_package.len, f->package_len);
    assert_memory_equal(record.saip_package.data, f->package, f->package_len);
    der_writer_free(&metadata);
    free(arena_buffer);
}

static size_t profile_count(fixture *f)
{
    return euicc_state_count(euicc_get_state_const(f->card), EUICC_LIST_PROFILES);
}

/* ---- positive ------------------------------------------------------------------------ */

static void download_one(fixture *f, int curve, const char *package, bool replace_keys)
{
    setup_smdp(f, curve, package);
    f->order.replace_session_keys = replace_keys;
    setup_euicc(f, curve, 0, NULL, 0);
    download d;
    e2e_download_init(&d);
    run_until_bpp(f, &d, NULL);
    der_writer pir;
    der_writer_init_dynamic(&pir, NULL);
    load_bpp(f, d.bpp, &pir);
    check_result(f, &d, der_writer_view(&pir), true, 0, 0);
    check_installed(f);
    der_writer_free(&pir);
    e2e_download_free(&d);
}

static void test_every_ts48_package_both_curves(void **state)
{
    fixture *f = *state;
    if (!e2e_shared_data_present("BERTLV_SUCI.der"))
        skip();
    static const char *const packages[] = {"BERTLV_SUCI.der", "BERTLV_SUCI_NoRAMRFM.der",
                                           "NoBERTLV.der", "NoBERTLV_NoRAMRFM.der"};
    for (size_t p = 0; p < 4; p++)
        for (int curve = 0; curve < 2; curve++)
            download_one(f, curve, packages[p], false);
}

static void test_replace_session_keys_both_curves(void **state)
{
    fixture *f = *state;
    if (!e2e_shared_data_present("BERTLV_SUCI.der"))
        skip();
    download_one(f, 0, "BERTLV_SUCI.der", true);
    download_one(f, 1, "NoBERTLV.der", true);
}

static void test_confirmation_code(void **state)
{
    fixture *f = *state;
    if (!e2e_shared_data_present("BERTLV_SUCI.der"))
        skip();
    setup_smdp(f, 0, "NoBERTLV.der");
    const uint8_t *code[] = {(const uint8_t *)"12345678"};
    const size_t code_len[] = {8};
    assert_int_equal(rsp_sha256(code, code_len, 1, f->order.cc_hash), RSP_OK);
    f->order.cc_required = true;
    setup_euicc(f, 0, 0, NULL, 0);
    download d;
    e2e_download_init(&d);
    authenticate_both(f, &d);
    assert_int_equal(authenticate_client(f, &d, 0), SMDP_OK);
    uint8_t hash[32];
    const uint8_t *parts[] = {f->order.cc_hash, d.session.transaction_id};
    const size_t lens[] = {32, 16};
    assert_int_equal(rsp_sha256(parts, lens, 2, hash), RSP_OK);
    assert_int_equal(prepare_download(f, &d, hash, NULL), 0xA0);
    assert_int_equal(get_bpp(f, &d), SMDP_OK);
    der_writer pir;
    der_writer_init_dynamic(&pir, NULL);
    load_bpp(f, d.bpp, &pir);
    check_result(f, &d, der_writer_view(&pir), true, 0, 0);
    der_writer_free(&pir);
    e2e_download_free(&d);
}

/* ---- negative ------------------------------------------------------------------------ */

static void test_wrong_confirmation_code_until_blocked(void **state)
{
    fixture *f = *state;
    if (!e2e_shared_data_present("BERTLV_SUCI.der"))
        skip();
    setup_smdp(f, 0, "NoBERTLV.der");
    memset(f->order.cc_hash, 0x11, sizeof f->order.cc_hash);
    f->order.cc_required = true;
    setup_euicc(f, 0, 0, NULL, 0);
    download d;
    e2e_download_init(&d);
    authenticate_both(f, &d);
    assert_int_equal(authenticate_client(f, &d, 0), SMDP_OK);
    uint8_t wrong[32];
    memset(wrong, 0x22, sizeof wrong);
    assert_int_equal(prepare_download(f, &d, wrong, NULL), 0xA0);
    assert_int_equal(get_bpp(f, &d), SMDP_ERR_CC_REFUSED);
    assert_string_equal(smdp_result_subject_code(SMDP_ERR_CC_REFUSED), "8.2.7");
    assert_string_equal(smdp_result_reason_code(SMDP_ERR_CC_REFUSED), "3.8");
    assert_int_equal(get_bpp(f, &d), SMDP_ERR_CC_REFUSED);
    assert_int_equal(get_bpp(f, &d), SMDP_ERR_CC_RETRIES_EXCEEDED);
    assert_int_equal(d.session.state, SMDP_SESSION_FAILED);
    /* without hashCc at all */
    download e;
    e2e_download_init(&e);
    setup_euicc(f, 0, 0, NULL, 0);
    authenticate_both(f, &e);
    assert_int_equal(authenticate_client(f, &e, 0), SMDP_OK);
    int64_t error = 0;
    /* the eUICC refuses a PrepareDownload that lacks the required hashCc */
    assert_int_equal(prepare_download(f, &e, NULL, &error), 0xA1);
    assert_int_equal(profile_count(f), 0);
    e2e_download_free(&d);
    e2e_download_free(&e);
}

static void test_bpp_for_another_euicc(void **state)
{
    fixture *f = *state;
    if (!e2e_shared_data_present("BERTLV_SUCI.der"))
        skip();
    setup_smdp(f, 0, "NoBERTLV.der");
    /* eUICC 0 gets its BPP, but the pieces go to eUICC 1 in its own prepared session */
    setup_euicc(f, 0, 0, NULL, 0);
    download mine;
    e2e_download_init(&mine);
    run_until_bpp(f, &mine, NULL);
    setup_euicc(f, 0, 1, NULL, 0);
    download other;
    e2e_download_init(&other);
    run_until_bpp(f, &other, NULL);
    der_writer pir;
    der_writer_init_dynamic(&pir, NULL);
    load_bpp(f, mine.bpp, &pir);
    check_result(f, &other, der_writer_view(&pir), false,
                 SGP22_BPP_COMMAND_INITIALISE_SECURE_CHANNEL,
                 SGP22_ERROR_REASON_INVALID_TRANSACTION_ID);
    assert_int_equal(profile_count(f), 0);
    der_writer_free(&pir);
    e2e_download_free(&mine);
    e2e_download_free(&other);
}

/* Flips one byte in the middle of the value of the first piece whose tag is `tag` (for the
 * BF36 piece: inside smdpSign) and expects the matching error result. */
static void flipped_piece(fixture *f, uint32_t tag, int64_t command, int64_t reason)
{
    setup_smdp(f, 0, "BERTLV_SUCI.der");
    f->order.replace_session_keys = true;
    setup_euicc(f, 0, 0, NULL, 0);
    download d;
    e2e_download_init(&d);
    run_until_bpp(f, &d, NULL);
    der_view pieces[PIECES_MAX];
    size_t count = 0;
    rsp_error err = {0};
    assert_int_equal(smdp_bpp_split(d.bpp, pieces, PIECES_MAX, &count, &err), RSP_OK);
    size_t notifications =
        euicc_state_count(euicc_get_state_const(f->card), EUICC_LIST_NOTIFICATIONS);
    der_writer pir;
    der_writer_init_dynamic(&pir, NULL);
    bool flipped = false;
    for (size_t i = 0; i < count && pir.len == 0; i++) {
        uint32_t first = pieces[i].data[0];
        if (first == 0xBF)
            first = 0xBF36;
        uint8_t copy[1100];
        der_view piece = pieces[i];
        if (!flipped && first == tag && piece.len > 8) {
            assert_true(piece.len <= sizeof copy || tag == 0xBF36);
            uint8_t *bytes = tag == 0xBF36 ? malloc(piece.len) : copy;
            memcpy(bytes, piece.data, piece.len);
            /* smdpSign is the last 64 bytes of the BF36 piece; segments: their middle */
            bytes[tag == 0xBF36 ? piece.len - 10 : piece.len / 2] ^= 0x01;
            assert_int_equal(es10(f, der_view_make(bytes, piece.len), &pir), 0x9000);
            if (bytes != copy)
                free(bytes);
            flipped = true;
            continue;
        }
        assert_int_equal(es10(f, piece, &pir), 0x9000);
    }
    assert_true(flipped);
    assert_true(pir.len > 0);
    check_result(f, &d, der_writer_view(&pir), false, command, reason);
    assert_int_equal(profile_count(f), 0);
    assert_int_equal(euicc_state_count(euicc_get_state_const(f->card), EUICC_LIST_NOTIFICATIONS),
                     notifications + 1);
    der_writer_free(&pir);
    e2e_download_free(&d);
}

static void test_flipped_byte_in_each_segment_kind(void **state)
{
    fixture *f = *state;
    if (!e2e_shared_data_present("BERTLV_SUCI.der"))
        skip();
    flipped_piece(f, 0xBF36, SGP22_BPP_COMMAND_INITIALISE_SECURE_CHANNEL,
                  SGP22_ERROR_REASON_INVALID_SIGNATURE);
    flipped_piece(f, 0xA0, SGP22_BPP_COMMAND_CONFIGURE_ISDP,
                  SGP22_ERROR_REASON_SCP03T_SECURITY_ERROR);
    flipped_piece(f, 0x88, SGP22_BPP_COMMAND_STORE_METADATA,
                  SGP22_ERROR_REASON_SCP03T_SECURITY_ERROR);
    flipped_piece(f, 0xA2, SGP22_BPP_COMMAND_REPLACE_SESSION_KEYS,
                  SGP22_ERROR_REASON_SCP03T_SECURITY_ERROR);
    flipped_piece(f, 0x86, SGP22_BPP_COMMAND_LOAD_PROFILE_ELEMENTS,
                  SGP22_ERROR_REASON_SCP03T_SECURITY_ERROR);
}

static void test_wrong_server_address(void **state)
{
    fixture *f = *state;
    if (!e2e_shared_data_present("BERTLV_SUCI.der"))
        skip();
    download d;
    start_plain(f, 0, &d);
    assert_int_equal(initiate(f, &d, "other.smdp.example"), SMDP_ERR_INVALID_SMDP_ADDRESS);
    assert_string_equal(smdp_result_subject_code(SMDP_ERR_INVALID_SMDP_ADDRESS), "8.8.1");
    assert_string_equal(smdp_result_reason_code(SMDP_ERR_INVALID_SMDP_ADDRESS), "3.8");
    e2e_download_free(&d);
}

static void test_wrong_challenge(void **state)
{
    fixture *f = *state;
    if (!e2e_shared_data_present("BERTLV_SUCI.der"))
        skip();
    download d;
    start_plain(f, 0, &d);
    assert_int_equal(initiate(f, &d, SMDP_ADDRESS), SMDP_OK);
    /* a new challenge on the card: the SM-DP+ signed the old one */
    static const uint8_t get_challenge[] = {0xBF, 0x2E, 0x00};
    der_writer out;
    der_writer_init_dynamic(&out, NULL);
    assert_int_equal(es10(f, der_view_make(get_challenge, 3), &out), 0x9000);
    der_writer_free(&out);
    int64_t error = 0;
    assert_int_equal(authenticate_server(f, &d, &error), 0xA1);
    assert_int_equal(error, SGP22_AUTHENTICATE_ERROR_EUICC_CHALLENGE_MISMATCH);
    e2e_download_free(&d);
}

/* A keyed SM-DP+ keeps nothing of initiateAuthentication: smdp_session_resume() rebuilds the
 * session from the transaction ID alone (in any process holding the key), and refuses an ID
 * it did not issue, one issued too long ago or too far ahead, and one under another key. */
static void test_transaction_id_resumed(void **state)
{
    fixture *f = *state;
    if (!e2e_shared_data_present("BERTLV_SUCI.der"))
        skip();
    uint8_t secret[SMDP_TRANSACTION_KEY_SIZE];
    rsp_hmac_key *key = NULL, *other_key = NULL;
    rsp_error key_err = {0};
    memset(secret, 0x5A, sizeof secret);
    assert_int_equal(rsp_hmac_key_new(secret, sizeof secret, &key, &key_err), RSP_OK);
    memset(secret, 0xA5, sizeof secret);
    assert_int_equal(rsp_hmac_key_new(secret, sizeof secret, &other_key, &key_err), RSP_OK);
    download d;
    start_plain(f, 0, &d);
    f->credentials.transaction_key = key;
    assert_int_equal(initiate(f, &d, SMDP_ADDRESS), SMDP_OK); /* issued at 0 */
    assert_int_equal(authenticate_server(f, &d, NULL), 0xA0);
    der_view id = der_view_make(d.session.transaction_id, SMDP_TRANSACTION_ID_SIZE);
    smdp_download_session resumed;
    rsp_error err = {0};
    assert_int_equal(smdp_session_resume(&f->credentials, id, 599, 600, &resumed, &err), SMDP_OK);
    assert_memory_equal(resumed.server_challenge, d.session.server_challenge, SMDP_CHALLENGE_SIZE);
    assert_int_equal(resumed.identity_index, d.session.identity_index);
    assert_int_equal(resumed.state, SMDP_SESSION_INITIATED);
    assert_int_equal(smdp_session_resume(&f->credentials, id, 600, 600, &resumed, &err),
                     SMDP_ERR_UNKNOWN_TRANSACTION);
    uint8_t changed[SMDP_TRANSACTION_ID_SIZE];
    for (size_t i = 0; i < SMDP_TRANSACTION_ID_SIZE; i++) {
        memcpy(changed, d.session.transaction_id, sizeof changed);
        changed[i] ^= 0x01;
        assert_int_equal(smdp_session_resume(&f->credentials,
                                             der_view_make(changed, sizeof changed), 1, 600,
                                             &resumed, &err),
                         SMDP_ERR_UNKNOWN_TRANSACTION);
    }
    assert_int_equal(
        smdp_session_resume(&f->credentials, der_view_make(changed, 15), 1, 600, &resumed, &err),
        SMDP_ERR_UNKNOWN_TRANSACTION);
    f->credentials.transaction_key = other_key;
    assert_int_equal(smdp_session_resume(&f->credentials, id, 1, 600, &resumed, &err),
                     SMDP_ERR_UNKNOWN_TRANSACTION);
    f->credentials.transaction_key = key;
    /* issued "now" by a server whose clock is a minute ahead: accepted; further: refused */
    time_t later = 10000;
    d.initiate.len = 0;
    d.authenticate.len = 0;
    assert_int_equal(initiate_at(f, &d, SMDP_ADDRESS, later), SMDP_OK);
    id = der_view_make(d.session.transaction_id, SMDP_TRANSACTION_ID_SIZE);
    assert_int_equal(smdp_session_resume(&f->credentials, id, later - 60, 600, &resumed, &err),
                     SMDP_OK);
    assert_int_equal(smdp_session_resume(&f->credentials, id, later - 61, 600, &resumed, &err),
                     SMDP_ERR_UNKNOWN_TRANSACTION);
    /* the resumed session is the one the eUICC authenticated */
    assert_int_equal(authenticate_server(f, &d, NULL), 0xA0);
    assert_int_equal(smdp_session_resume(&f->credentials, id, later, 600, &resumed, &err), SMDP_OK);
    d.session = resumed;
    assert_int_equal(authenticate_client(f, &d, 0), SMDP_OK);
    f->credentials.transaction_key = NULL;
    rsp_hmac_key_free(key);
    rsp_hmac_key_free(other_key);
    e2e_download_free(&d);
}

static void test_smdp_certificate_from_untrusted_ci(void **state)
{
    fixture *f = *state;
    if (!e2e_shared_data_present("BERTLV_SUCI.der"))
        skip();
    /* NIST CI named (so the eUICC's list matches) but DPauth issued under the brainpool CI */
    setup_smdp(f, 0, "NoBERTLV.der");
    f->identity.dpauth_certificate = f->pki[1].dpauth;
    f->identity.dpauth_key = f->pki[1].dpauth_key;
    setup_euicc(f, 0, 0, NULL, 0);
    download d;
    e2e_download_init(&d);
    assert_int_equal(initiate(f, &d, SMDP_ADDRESS), SMDP_OK);
    int64_t error = 0;
    assert_int_equal(authenticate_server(f, &d, &error), 0xA1);
    assert_int_equal(error, SGP22_AUTHENTICATE_ERROR_INVALID_CERTIFICATE);
    e2e_download_free(&d);
    /* a good DPauth, but CERT.DPpb from the other CI: PrepareDownload refuses it */
    setup_smdp(f, 0, "NoBERTLV.der");
    f->identity.dppb_certificate = f->pki[1].dppb;
    f->identity.dppb_key = f->pki[1].dppb_key;
    setup_euicc(f, 0, 0, NULL, 0);
    e2e_download_init(&d);
    authenticate_both(f, &d);
    assert_int_equal(authenticate_client(f, &d, 0), SMDP_OK);
    assert_int_equal(prepare_download(f, &d, NULL, &error), 0xA1);
    assert_int_equal(error, SGP22_DOWNLOAD_ERROR_INVALID_CERTIFICATE);
    e2e_download_free(&d);
}

static void test_expired_certificates(void **state)
{
    fixture *f = *state;
    if (!e2e_shared_data_present("BERTLV_SUCI.der"))
        skip();
    setup_smdp(f, 0, "NoBERTLV.der");
    /* eUICC clock 20 years ahead: the 10-year DPauth certificate has expired */
    setup_euicc(f, 0, 0, NULL, time(NULL) + 20 * YEAR);
    download d;
    e2e_download_init(&d);
    assert_int_equal(initiate(f, &d, SMDP_ADDRESS), SMDP_OK);
    int64_t error = 0;
    assert_int_equal(authenticate_server(f, &d, &error), 0xA1);
    assert_int_equal(error, SGP22_AUTHENTICATE_ERROR_INVALID_CERTIFICATE);
    e2e_download_free(&d);
    /* SM-DP+ clock 32 years ahead: the 30-year EUM certificate has expired */
    setup_euicc(f, 0, 0, NULL, 0);
    e2e_download_init(&d);
    authenticate_both(f, &d);
    assert_int_equal(authenticate_client(f, &d, time(NULL) + 32 * YEAR),
                     SMDP_ERR_EUM_CERTIFICATE_EXPIRED);
    e2e_download_free(&d);
}

static void test_matching_id_refused(void **state)
{
    fixture *f = *state;
    if (!e2e_shared_data_present("BERTLV_SUCI.der"))
        skip();
    setup_smdp(f, 0, "NoBERTLV.der");
    f->order.eid = f->pki[0].eid[1]; /* the order is for the other eUICC */
    setup_euicc(f, 0, 0, NULL, 0);
    download d;
    e2e_download_init(&d);
    authenticate_both(f, &d);
    assert_int_equal(authenticate_client(f, &d, 0), SMDP_ERR_EID_REFUSED);
    e2e_download_free(&d);
}

static void test_cancel_session(void **state)
{
    fixture *f = *state;
    if (!e2e_shared_data_present("BERTLV_SUCI.der"))
        skip();
    download d;
    start_plain(f, 1, &d);
    authenticate_both(f, &d);
    assert_int_equal(authenticate_client(f, &d, 0), SMDP_OK);
    /* a wrong transaction ID is refused by the eUICC */
    uint8_t command[3 + 18 + 3];
    der_writer request;
    der_writer_init_fixed(&request, command, sizeof command);
    size_t outer = der_begin(&request, 0xBF41);
    uint8_t wrong[16];
    memset(wrong, 0xEE, sizeof wrong);
    der_put_tlv(&request, 0x80, wrong, 16);
    der_put_int64(&request, 0x81, SGP22_CANCEL_SESSION_REASON_POSTPONED);
    der_end(&request, outer);
    der_writer response;
    der_writer_init_dynamic(&response, NULL);
    assert_int_equal(es10(f, der_writer_view(&request), &response), 0x9000);
    assert_int_equal(alternative_of(der_writer_view(&response), NULL), 0x81);
    /* the right one: signed cancellation the SM-DP+ accepts */
    memcpy(command + 5, d.session.transaction_id, 16);
    response.len = 0;
    assert_int_equal(es10(f, der_writer_view(&request), &response), 0x9000);
    assert_int_equal(alternative_of(der_writer_view(&response), NULL), 0xA0);
    der_tlv outer_tlv;
    rsp_error err = {0};
    assert_int_equal(der_parse_single(der_writer_view(&response), &outer_tlv, &err), RSP_OK);
    der_writer es9;
    der_writer_init_dynamic(&es9, NULL);
    outer = der_begin(&es9, 0xBF41);
    der_put_tlv(&es9, 0x80, d.session.transaction_id, 16);
    der_put_tlv(&es9, 0xA1, outer_tlv.value.data, outer_tlv.value.len);
    der_end(&es9, outer);
    int64_t reason = -1;
    smdp_download_session copy = d.session;
    /* a byte of the signature flipped: refused */
    es9.buf[es9.len - 5] ^= 0x01;
    assert_int_equal(
        smdp_cancel_session(&f->credentials, &copy, der_writer_view(&es9), &reason, &err),
        SMDP_ERR_EUICC_SIGNATURE_INVALID);
    es9.buf[es9.len - 5] ^= 0x01;
    assert_int_equal(
        smdp_cancel_session(&f->credentials, &d.session, der_writer_view(&es9), &reason, &err),
        SMDP_OK);
    assert_int_equal(reason, SGP22_CANCEL_SESSION_REASON_POSTPONED);
    assert_int_equal(d.session.state, SMDP_SESSION_CANCELLED);
    /* the eUICC dropped its session: a PrepareDownload now finds none */
    int64_t error = 0;
    assert_int_equal(prepare_download(f, &d, NULL, &error), 0xA1);
    assert_int_equal(error, SGP22_DOWNLOAD_ERROR_NO_SESSION_CONTEXT);
    der_writer_free(&response);
    der_writer_free(&es9);
    e2e_download_free(&d);
}

/* AuthenticateClient with the eUICC's answer changed by edit (then re-signed with the eUICC
 * key when resign is set). */
static smdp_result client_with(fixture *f, download *d, size_t offset_in_signed1, uint8_t value,
                               bool resign, bool flip_signature)
{
    der_tlv items[4];
    assert_int_equal(e2e_ok_children(der_writer_view(&d->authenticate), items, 4), 4);
    uint8_t signed1[2048];
    assert_true(items[0].whole.len <= sizeof signed1);
    memcpy(signed1, items[0].whole.data, items[0].whole.len);
    if (offset_in_signed1 > 0)
        signed1[offset_in_signed1] = value;
    uint8_t signature[RSP_EC_SIGNATURE_SIZE];
    memcpy(signature, items[1].value.data, sizeof signature);
    rsp_error err = {0};
    if (resign)
        assert_int_equal(
            rsp_ecdsa_sign(f->pki[0].euicc_key[0], signed1, items[0].whole.len, signature, &err),
            RSP_OK);
    if (flip_signature)
        signature[7] ^= 0x01;
    der_writer response;
    der_writer_init_dynamic(&response, NULL);
    size_t outer = der_begin(&response, 0xBF38);
    size_t ok = der_begin(&response, 0xA0);
    der_put_raw(&response, signed1, items[0].whole.len);
    der_put_tlv(&response, 0x5F37, signature, sizeof signature);
    der_put_raw(&response, items[2].whole.data, items[2].whole.len);
    der_put_raw(&response, items[3].whole.data, items[3].whole.len);
    der_end(&response, ok);
    der_end(&response, outer);
    der_writer saved = d->authenticate;
    d->authenticate = response;
    smdp_download_session before = d->session;
    smdp_result result = authenticate_client(f, d, 0);
    d->session = before;
    d->authenticate = saved;
    der_writer_free(&response);
    return result;
}

static void test_smdp_checks_the_euicc_answer(void **state)
{
    fixture *f = *state;
    if (!e2e_shared_data_present("BERTLV_SUCI.der"))
        skip();
    download d;
    start_plain(f, 0, &d);
    authenticate_both(f, &d);
    /* euiccSigned1 = 30 len 80 10 <tid> 83 len <address> 84 10 <challenge> ... */
    der_tlv items[4];
    assert_int_equal(e2e_ok_children(der_writer_view(&d.authenticate), items, 4), 4);
    size_t header = items[0].whole.len - items[0].value.len;
    size_t tid_byte = header + 2;
    size_t address_byte = header + 18 + 2;
    size_t challenge_byte = header + 18 + 2 + strlen(SMDP_ADDRESS) + 2;
    assert_int_equal(items[0].whole.data[header + 18], 0x83);
    assert_int_equal(items[0].whole.data[challenge_byte - 2], 0x84);
    assert_int_equal(client_with(f, &d, 0, 0, false, true), SMDP_ERR_EUICC_SIGNATURE_INVALID);
    assert_int_equal(client_with(f, &d, address_byte, 'X', false, false),
                     SMDP_ERR_INVALID_SMDP_ADDRESS);
    assert_int_equal(client_with(f, &d, address_byte, 'X', true, false),
                     SMDP_ERR_INVALID_SMDP_ADDRESS);
    assert_int_equal(client_with(f, &d, challenge_byte, 0x00, true, false),
                     SMDP_ERR_EUICC_SIGNATURE_INVALID);
    assert_int_equal(
        client_with(f, &d, tid_byte, (uint8_t)~d.session.transaction_id[0], true, false),
        SMDP_ERR_UNKNOWN_TRANSACTION);
    /* unchanged, it is accepted; a second AuthenticateClient is out of sequence */
    assert_int_equal(client_with(f, &d, 0, 0, false, false), SMDP_OK);
    assert_int_equal(authenticate_client(f, &d, 0), SMDP_OK);
    assert_int_equal(authenticate_client(f, &d, 0), SMDP_ERR_UNKNOWN_TRANSACTION);
    e2e_download_free(&d);
}

static void test_bpp_pieces_out_of_order(void **state)
{
    fixture *f = *state;
    if (!e2e_shared_data_present("BERTLV_SUCI.der"))
        skip();
    download d;
    start_plain(f, 0, &d);
    run_until_bpp(f, &d, NULL);
    der_view pieces[PIECES_MAX];
    size_t count = 0;
    rsp_error err = {0};
    assert_int_equal(smdp_bpp_split(d.bpp, pieces, PIECES_MAX, &count, &err), RSP_OK);
    der_writer pir;
    der_writer_init_dynamic(&pir, NULL);
    assert_int_equal(es10(f, pieces[0], &pir), 0x9000);
    assert_int_equal(pir.len, 0);
    /* the sequenceOf88 header before ConfigureISDP */
    assert_int_equal(pieces[2].data[0], 0xA1);
    assert_int_equal(es10(f, pieces[2], &pir), 0x9000);
    check_result(f, &d, der_writer_view(&pir), false, SGP22_BPP_COMMAND_CONFIGURE_ISDP,
                 SGP22_ERROR_REASON_SCP03T_STRUCTURE_ERROR);
    assert_int_equal(profile_count(f), 0);
    /* the session is over: the rest is refused without a result */
    pir.len = 0;
    assert_int_equal(es10(f, pieces[1], &pir), 0x6985);
    der_writer_free(&pir);
    e2e_download_free(&d);
}

/* ---- CRLs, reset, persistence --------------------------------------------------------- */

/* CRL of curve c's CI revoking revoked (may be NULL), signed with signer's CI key. */
static rsp_crl *issue_crl_at(fixture *f, int c, int signer, const rsp_certificate *revoked,
                             time_t issued)
{
    char sub[16];
    snprintf(sub, sizeof sub, "%s", signer == 0 ? "nist" : "brainpool");
    rsp_private_key *ci_key = e2e_load_key(f->dir, sub, "SK_CI_ECDSA.pem");
    const rsp_certificate *list[] = {revoked};
    rsp_crl *crl = NULL;
    rsp_error err = {0};
    assert_int_equal(rsp_pki_issue_crl(f->pki[c].ci, ci_key, list, revoked != NULL ? 1 : 0, issued,
                                       issued + 30 * 24 * 3600, &crl, &err),
                     RSP_OK);
    rsp_private_key_free(ci_key);
    return crl;
}

static rsp_crl *issue_crl(fixture *f, int c, int signer, const rsp_certificate *revoked)
{
    return issue_crl_at(f, c, signer, revoked, time(NULL) - 3600);
}

/* ES10b.LoadCRL; returns the answer's alternative tag (A0 ok, 81 error) and the error. */
static uint32_t load_crl(fixture *f, const rsp_crl *crl, int64_t *error)
{
    char path[600];
    snprintf(path, sizeof path, "%s/loaded.crl", f->dir);
    rsp_error err = {0};
    assert_int_equal(rsp_crl_write_der_file(crl, path, &err), RSP_OK);
    size_t len = 0;
    uint8_t *der = e2e_read_file(path, &len);
    assert_non_null(der);
    remove(path);
    der[0] = 0xA0; /* LoadCRLRequest: crl [0] IMPLICIT CertificateList */
    der_writer request;
    der_writer response;
    der_writer_init_dynamic(&request, NULL);
    der_writer_init_dynamic(&response, NULL);
    size_t outer = der_begin(&request, 0xBF35);
    der_put_raw(&request, der, len);
    der_end(&request, outer);
    assert_int_equal(es10(f, der_writer_view(&request), &response), 0x9000);
    der_tlv tlv;
    der_tlv alternative;
    der_reader r;
    assert_int_equal(der_parse_single(der_writer_view(&response), &tlv, &err), RSP_OK);
    assert_int_equal(der_reader_enter(&tlv, 0, &r, &err), RSP_OK);
    assert_int_equal(der_reader_next(&r, &alternative, &err), RSP_OK);
    if (alternative.tag == 0x81)
        assert_int_equal(der_decode_int64(&alternative, error, &err), RSP_OK);
    free(der);
    der_writer_free(&request);
    der_writer_free(&response);
    return alternative.tag;
}

static void test_load_crl_revokes_smdp(void **state)
{
    fixture *f = *state;
    if (!e2e_shared_data_present("BERTLV_SUCI.der"))
        skip();
    setup_smdp(f, 0, "NoBERTLV.der");
    setup_euicc(f, 0, 0, NULL, 0);
    /* a CRL claiming the NIST CI but signed by the brainpool CI is refused */
    rsp_crl *forged = issue_crl(f, 0, 1, f->pki[0].dpauth);
    int64_t error = 0;
    assert_int_equal(load_crl(f, forged, &error), 0x81);
    assert_int_equal(error, SGP22_LOAD_CRL_ERROR_INVALID_SIGNATURE);
    rsp_crl_free(forged);
    /* the real one is stored, and from then on the revoked DPauth certificate fails */
    rsp_crl *crl = issue_crl(f, 0, 0, f->pki[0].dpauth);
    assert_int_equal(load_crl(f, crl, &error), 0xA0);
    assert_int_equal(euicc_state_count(euicc_get_state_const(f->card), EUICC_LIST_CRLS), 1);
    rsp_crl_free(crl);
    /* an older CRL of the same CI is refused; a newer one replaces the stored one */
    rsp_crl *older = issue_crl_at(f, 0, 0, NULL, time(NULL) - 7200);
    assert_int_equal(load_crl(f, older, &error), 0x81);
    assert_int_equal(error, SGP22_LOAD_CRL_ERROR_FRESHER_CRL_ALREADY_LOADED);
    rsp_crl_free(older);
    rsp_crl *newer = issue_crl_at(f, 0, 0, f->pki[0].dpauth, time(NULL) - 60);
    assert_int_equal(load_crl(f, newer, &error), 0xA0);
    assert_int_equal(euicc_state_count(euicc_get_state_const(f->card), EUICC_LIST_CRLS), 1);
    rsp_crl_free(newer);
    download d;
    e2e_download_init(&d);
    assert_int_equal(initiate(f, &d, SMDP_ADDRESS), SMDP_OK);
    assert_int_equal(authenticate_server(f, &d, &error), 0xA1);
    assert_int_equal(error, SGP22_AUTHENTICATE_ERROR_INVALID_CERTIFICATE);
    e2e_download_free(&d);
}

static void test_smdp_applies_crl_to_eum(void **state)
{
    fixture *f = *state;
    if (!e2e_shared_data_present("BERTLV_SUCI.der"))
        skip();
    setup_smdp(f, 0, "NoBERTLV.der");
    rsp_crl *crl = issue_crl(f, 0, 0, f->pki[0].eum);
    const rsp_crl *crls[] = {crl};
    f->credentials.crls = crls;
    f->credentials.crl_count = 1;
    setup_euicc(f, 0, 0, NULL, 0);
    download d;
    e2e_download_init(&d);
    authenticate_both(f, &d);
    assert_int_equal(authenticate_client(f, &d, time(NULL)), SMDP_ERR_EUM_CERTIFICATE_INVALID);
    assert_string_equal(smdp_result_subject_code(SMDP_ERR_EUM_CERTIFICATE_INVALID), "8.1.2");
    e2e_download_free(&d);
    rsp_crl_free(crl);
}

static void test_reset_drops_the_session(void **state)
{
    fixture *f = *state;
    if (!e2e_shared_data_present("BERTLV_SUCI.der"))
        skip();
    download d;
    start_plain(f, 0, &d);
    run_until_bpp(f, &d, NULL);
    euicc_reset(f->card);
    static const uint8_t select[] = {0x00, 0xA4, 0x04, 0x00, 0x10, 0xA0, 0x00, 0x00,
                                     0x05, 0x59, 0x10, 0x10, 0xFF, 0xFF, 0xFF, 0xFF,
                                     0x89, 0x00, 0x00, 0x01, 0x00, 0x00};
    size_t len = euicc_transmit(f->card, select, sizeof select, f->resp, sizeof f->resp);
    assert_int_equal(f->resp[len - 2], 0x90);
    der_view pieces[PIECES_MAX];
    size_t count = 0;
    rsp_error err = {0};
    assert_int_equal(smdp_bpp_split(d.bpp, pieces, PIECES_MAX, &count, &err), RSP_OK);
    der_writer out;
    der_writer_init_dynamic(&out, NULL);
    /* no session: conditions of use not satisfied, nothing installed or queued */
    assert_int_equal(es10(f, pieces[0], &out), 0x6985);
    assert_int_equal(out.len, 0);
    assert_int_equal(profile_count(f), 0);
    assert_int_equal(euicc_state_count(euicc_get_state_const(f->card), EUICC_LIST_NOTIFICATIONS),
                     0);
    der_writer_free(&out);
    e2e_download_free(&d);
}

static void test_installed_profile_survives_restart(void **state)
{
    fixture *f = *state;
    if (!e2e_shared_data_present("BERTLV_SUCI.der"))
        skip();
    char path[600];
    snprintf(path, sizeof path, "%s/euicc.state", f->dir);
    f->state_path = path;
    setup_smdp(f, 1, "BERTLV_SUCI.der");
    setup_euicc(f, 1, 0, NULL, 0);
    download d;
    e2e_download_init(&d);
    run_until_bpp(f, &d, NULL);
    der_writer pir;
    der_writer_init_dynamic(&pir, NULL);
    load_bpp(f, d.bpp, &pir);
    /* a new instance on the same file sees the profile and the pending notification */
    setup_euicc(f, 1, 0, NULL, 0);
    check_installed(f);
    check_result(f, &d, der_writer_view(&pir), true, 0, 0);
    f->state_path = NULL;
    remove(path);
    der_writer_free(&pir);
    e2e_download_free(&d);
}

/* ---- SGP.26 -------------------------------------------------------------------------- */

/* The real SGP.26 DPauth key signs serverSigned1; our eUICC, trusting the SGP.26 CI, accepts
 * it (the download cannot go further: no eUICC certificate exists under that CI). */
static void sgp26_on(fixture *f, const char *dir, int c, const char *suffix)
{
    char name[128];
    snprintf(name, sizeof name, "CERT_CI_ECDSA_%s.der", suffix);
    rsp_certificate *ci = e2e_load_certificate(dir, "CertificateIssuer", name);
    snprintf(name, sizeof name, "CERT_S_SM_DPauth_ECDSA_%s.der", suffix);
    rsp_certificate *dpauth = e2e_load_certificate(dir, "DPauth", name);
    snprintf(name, sizeof name, "SK_S_SM_DPauth_ECDSA_%s.pem", suffix);
    rsp_private_key *dpauth_key = e2e_load_key(dir, "DPauth", name);
    snprintf(name, sizeof name, "CERT_S_SM_DPpb_ECDSA_%s.der", suffix);
    rsp_certificate *dppb = e2e_load_certificate(dir, "DPpb", name);
    snprintf(name, sizeof name, "SK_S_SM_DPpb_ECDSA_%s.pem", suffix);
    rsp_private_key *dppb_key = e2e_load_key(dir, "DPpb", name);
    f->identity = (smdp_identity){ci, dpauth, dpauth_key, dppb, dppb_key};
    f->smdp_cis[0] = f->pki[c].ci;
    f->credentials = (smdp_credentials){.address = SMDP_ADDRESS,
                                        .identities = &f->identity,
                                        .identity_count = 1,
                                        .cis = f->smdp_cis,
                                        .ci_count = 1};
    /* the eUICC trusts the SGP.26 CI first, then its own */
    setup_euicc(f, c, 0, ci, 0);
    download d;
    e2e_download_init(&d);
    assert_int_equal(initiate(f, &d, SMDP_ADDRESS), SMDP_OK);
    der_tlv items[8];
    assert_int_equal(e2e_ok_children(der_writer_view(&d.initiate), items, 8), 5);
    der_view sgp26_id;
    assert_int_equal(rsp_certificate_subject_key_id(ci, &sgp26_id), RSP_OK);
    assert_true(der_view_equal(items[3].value, sgp26_id));
    assert_int_equal(authenticate_server(f, &d, NULL), 0xA0);
    e2e_download_free(&d);
    rsp_certificate_free(ci);
    rsp_certificate_free(dpauth);
    rsp_certificate_free(dppb);
    rsp_private_key_free(dpauth_key);
    rsp_private_key_free(dppb_key);
}

static void test_sgp26_dpauth_verified_by_euicc(void **state)
{
    fixture *f = *state;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/testdata/sgp26", RSPKIT_SHARED_DIR);
    if (access(dir, R_OK) != 0) {
        fprintf(stderr, "SKIPPED: SGP.26 test certificates not found under %s\n", dir);
        skip();
    }
    sgp26_on(f, dir, 0, "NIST");
    sgp26_on(f, dir, 1, "BRP");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_ts48_package_both_curves, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_replace_session_keys_both_curves, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_confirmation_code, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_wrong_confirmation_code_until_blocked, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_bpp_for_another_euicc, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_flipped_byte_in_each_segment_kind, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_wrong_server_address, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_wrong_challenge, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_transaction_id_resumed, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_smdp_certificate_from_untrusted_ci, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_expired_certificates, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_matching_id_refused, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_cancel_session, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_smdp_checks_the_euicc_answer, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_bpp_pieces_out_of_order, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_load_crl_revokes_smdp, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_smdp_applies_crl_to_eum, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_reset_drops_the_session, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_installed_profile_survives_restart, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_sgp26_dpauth_verified_by_euicc, test_setup,
                                        test_teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
