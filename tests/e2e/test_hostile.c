/* Hostile input against a file-backed eUICC, everything through APDUs (issue 4, "State and
 * faults"): a replayed eUICC Package (the very bytes sent before), a package for another EID,
 * one signed by a key the eUICC does not know, one with a flipped byte, a BPP bound to another
 * eUICC and a BPP with one flipped byte. Each is refused with the standard's error and leaves
 * the state file byte-identical; the BPP refusals add exactly the one thing SGP.22 asks for,
 * the signed ProfileInstallationResult with the error kept as a pending notification, and the
 * rest of the file keeps its bytes. tests/eim/test_package_euicc.c covers the package refusals
 * in memory with re-signed packages; this file adds the APDU path, the file on disk and the
 * BPP cases. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <unistd.h>

#include "core/saip.h"
#include "core/sgp22.h"
#include "core/sgp32.h"
#include "crypto/ecdsa.h"
#include "crypto/pki_generate.h"
#include "crypto/signature_gsma.h"
#include "euicc/euicc.h"
#include "euicc/euicc_package.h"
#include "smdp/binding.h"
#include "smdp/download.h"

#include "e2e_fixture.h"

#define SMDP_ADDRESS "smdp.rspkit.test"
#define MATCHING_ID  "HOSTILE-0001"
#define EIM_ID       "eim.rspkit.test"
#define OTHER_ICCID  "8949449999999990049"
#define PIECES_MAX   512

typedef struct {
    euicc *card;
    uint8_t resp[600];
} lpa;

typedef struct {
    char dir[64];
    char state_path[128];
    rsp_certificate *euicc_cert[2];
    rsp_private_key *eim_key, *stranger_key;
    rsp_private_key *euicc_key[2];
    uint8_t eid[2][16];
    e2e_smdp smdp; /* CI, EUM, the SM-DP+ identity and its credentials */
    smdp_order order;
    uint8_t *package;
    size_t package_len;
    lpa card;  /* eUICC 0, on the state file */
    lpa other; /* eUICC 1, in memory */
    int64_t eim_token;
    int64_t eim_counter;
} fixture;

/* ---- files, PKI ----------------------------------------------------------------------- */

static void load_euiccs(fixture *f)
{
    char eid[2][RSP_EID_STRING_SIZE];
    assert_int_equal(e2e_read_eids(f->dir, eid, 2), 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(der_hex_decode(eid[i], f->eid[i], 16), 16);
        e2e_load_euicc_identity(f->dir, "nist", eid[i], &f->euicc_cert[i], &f->euicc_key[i]);
    }
}

static int group_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    if (!e2e_make_pki_folder(f->dir, sizeof f->dir, "hostile", RSP_PKI_CURVE_NIST, 2))
        return -1;
    snprintf(f->state_path, sizeof f->state_path, "%s/euicc.state", f->dir);
    load_euiccs(f);
    e2e_smdp_load(&f->smdp, f->dir, SMDP_ADDRESS);
    rsp_error err = {0};
    if (rsp_private_key_generate(RSP_CURVE_NIST_P256, &f->eim_key, &err) != RSP_OK ||
        rsp_private_key_generate(RSP_CURVE_NIST_P256, &f->stranger_key, &err) != RSP_OK)
        return -1;
    *state = f;
    return 0;
}

static int group_teardown(void **state)
{
    fixture *f = *state;
    euicc_free(f->card.card);
    euicc_free(f->other.card);
    e2e_smdp_free(&f->smdp);
    rsp_private_key_free(f->eim_key);
    rsp_private_key_free(f->stranger_key);
    for (int i = 0; i < 2; i++) {
        rsp_certificate_free(f->euicc_cert[i]);
        rsp_private_key_free(f->euicc_key[i]);
    }
    free(f->package);
    e2e_remove_tree(f->dir);
    free(f);
    return 0;
}

/* ---- the LPA/IPA side ------------------------------------------------------------------ */

static void open_euicc(fixture *f, int n, lpa *l)
{
    euicc_config config;
    memset(&config, 0, sizeof config);
    memcpy(config.eid, f->eid[n], 16);
    config.euicc_key = f->euicc_key[n];
    config.euicc_certificate = rsp_certificate_der(f->euicc_cert[n]);
    config.eum_certificate = rsp_certificate_der(f->smdp.eum);
    config.ci_certificates = f->smdp.cis;
    config.ci_count = 1;
    config.state_path = n == 0 ? f->state_path : NULL;
    rsp_error err = {0};
    euicc_free(l->card);
    l->card = NULL;
    assert_int_equal(euicc_new(&config, &l->card, &err), RSP_OK);
    static const uint8_t select[] = {0x00, 0xA4, 0x04, 0x00, 0x10, 0xA0, 0x00, 0x00,
                                     0x05, 0x59, 0x10, 0x10, 0xFF, 0xFF, 0xFF, 0xFF,
                                     0x89, 0x00, 0x00, 0x01, 0x00, 0x00};
    size_t len = euicc_transmit(l->card, select, sizeof select, l->resp, sizeof l->resp);
    assert_true(len >= 2);
    assert_int_equal(l->resp[len - 2], 0x90);
}

static smdp_result lookup_order(void *context, der_view matching_id, const char *eid,
                                smdp_order *order)
{
    fixture *f = context;
    (void)matching_id;
    (void)eid;
    *order = f->order;
    return SMDP_OK;
}

static void set_order(fixture *f, const char *iccid)
{
    char path[512];
    size_t len = 0;
    snprintf(path, sizeof path, "%s/testdata/ts48/BERTLV_SUCI.der", RSPKIT_SHARED_DIR);
    uint8_t *published = e2e_read_file(path, &len);
    assert_non_null(published);
    free(f->package);
    f->package = published;
    f->package_len = len;
    if (iccid != NULL) {
        der_writer changed;
        rsp_error err = {0};
        der_writer_init_dynamic(&changed, NULL);
        assert_int_equal(saip_set_iccid(der_view_make(published, len), iccid, &changed, &err),
                         RSP_OK);
        f->package = malloc(changed.len);
        assert_non_null(f->package);
        memcpy(f->package, changed.buf, changed.len);
        f->package_len = changed.len;
        der_writer_free(&changed);
        free(published);
    }
    memset(&f->order, 0, sizeof f->order);
    f->order.package = der_view_make(f->package, f->package_len);
    f->order.service_provider_name = "rspkit operator";
    f->order.profile_name = "hostile test";
    f->order.profile_class = SGP22_PROFILE_CLASS_OPERATIONAL;
    f->order.replace_session_keys = true;
}

typedef e2e_download download;

/* STORE DATA blocks of at most 255 bytes, then GET RESPONSE while the card says 61xx. */
static unsigned es10(lpa *l, der_view command, der_writer *out)
{
    return e2e_es10(l->card, l->resp, sizeof l->resp, command, out);
}

/* Everything up to the BPP (SGP.22 v2.5 section 3.1.3), asserting each step. */
static void run_until_bpp(fixture *f, lpa *l, download *d)
{
    e2e_download_init(d);
    static const uint8_t get_challenge[] = {0xBF, 0x2E, 0x00};
    static const uint8_t get_info1[] = {0xBF, 0x20, 0x00};
    der_writer challenge, info1, request;
    der_writer_init_dynamic(&challenge, NULL);
    der_writer_init_dynamic(&info1, NULL);
    der_writer_init_dynamic(&request, NULL);
    rsp_error err = {0};
    assert_int_equal(es10(l, der_view_make(get_challenge, 3), &challenge), 0x9000);
    assert_int_equal(challenge.len, 21);
    assert_int_equal(es10(l, der_view_make(get_info1, 3), &info1), 0x9000);
    e2e_initiate_authentication_request(&request, challenge.buf + 5, SMDP_ADDRESS,
                                        der_writer_view(&info1));
    assert_int_equal(smdp_initiate_authentication(&f->smdp.credentials, der_writer_view(&request),
                                                  0, &d->session, &d->initiate, &err),
                     SMDP_OK);
    der_tlv items[8];
    assert_int_equal(e2e_ok_children(der_writer_view(&d->initiate), items, 8), 5);
    request.len = 0;
    e2e_authenticate_server_request(&request, items, MATCHING_ID);
    assert_int_equal(es10(l, der_writer_view(&request), &d->authenticate), 0x9000);

    request.len = 0;
    e2e_relay_request(&request, 0xBF3B, d->session.transaction_id,
                      der_writer_view(&d->authenticate));
    assert_int_equal(smdp_authenticate_client(&f->smdp.credentials, &d->session,
                                              der_writer_view(&request), 0, lookup_order, f,
                                              &d->client, &err),
                     SMDP_OK);
    assert_int_equal(e2e_ok_children(der_writer_view(&d->client), items, 8), 5);
    request.len = 0;
    e2e_prepare_download_request(&request, items, NULL);
    assert_int_equal(es10(l, der_writer_view(&request), &d->prepare), 0x9000);

    request.len = 0;
    e2e_relay_request(&request, 0xBF3A, d->session.transaction_id, der_writer_view(&d->prepare));
    assert_int_equal(smdp_get_bound_profile_package(&f->smdp.credentials, &d->session,
                                                    der_writer_view(&request), &f->order, &d->bound,
                                                    &err),
                     SMDP_OK);
    assert_int_equal(e2e_ok_children(der_writer_view(&d->bound), items, 2), 2);
    assert_int_equal(items[1].tag, 0xBF36);
    d->bpp = items[1].whole;
    der_writer_free(&challenge);
    der_writer_free(&info1);
    der_writer_free(&request);
}

/* Sends the BPP pieces (one byte of the first piece starting with flip_tag flipped, when
 * flip_tag is not 0) until the eUICC answers with its ProfileInstallationResult. */
static void load_bpp(lpa *l, der_view bpp, uint32_t flip_tag, der_writer *result)
{
    der_view pieces[PIECES_MAX];
    size_t count = 0;
    rsp_error err = {0};
    bool flipped = flip_tag == 0;
    assert_int_equal(smdp_bpp_split(bpp, pieces, PIECES_MAX, &count, &err), RSP_OK);
    for (size_t i = 0; i < count && result->len == 0; i++) {
        uint32_t first = pieces[i].data[0] == 0xBF ? 0xBF36 : pieces[i].data[0];
        if (!flipped && first == flip_tag && pieces[i].len > 16) {
            uint8_t *copy = malloc(pieces[i].len);
            assert_non_null(copy);
            memcpy(copy, pieces[i].data, pieces[i].len);
            /* BF36: inside smdpSign, its last 64 bytes; a segment: inside its MAC'ed data */
            copy[flip_tag == 0xBF36 ? pieces[i].len - 10 : pieces[i].len / 2] ^= 0x01;
            assert_int_equal(es10(l, der_view_make(copy, pieces[i].len), result), 0x9000);
            free(copy);
            flipped = true;
            continue;
        }
        assert_int_equal(es10(l, pieces[i], result), 0x9000);
    }
    assert_true(flipped);
    assert_true(result->len > 2);
    assert_int_equal(result->buf[0], 0xBF);
    assert_int_equal(result->buf[1], 0x37);
}

/* ---- eUICC Packages --------------------------------------------------------------------- */

typedef struct {
    const rsp_private_key *key;
    const uint8_t *eid;
    int64_t counter;
    bool flip_signature;
} package_spec;

/* SGP.32 v1.2 section 2.11.1.1: EuiccPackageRequest with one PSMO on iccid. */
static void build_package(fixture *f, const package_spec *spec, int choice, der_view iccid,
                          der_writer *out)
{
    sgp32_psmo psmo;
    memset(&psmo, 0, sizeof psmo);
    psmo.choice = choice;
    if (choice == SGP32_PSMO_ENABLE)
        psmo.u.enable.iccid = iccid;
    else
        psmo.u.disable.iccid = iccid;
    static const uint8_t transaction[2] = {0x48, 0x01};
    sgp32_euicc_package_signed signed_part;
    memset(&signed_part, 0, sizeof signed_part);
    signed_part.eim_id = der_view_make((const uint8_t *)EIM_ID, strlen(EIM_ID));
    signed_part.eid_value = der_view_make(spec->eid, 16);
    signed_part.counter_value = spec->counter;
    signed_part.has_eim_transaction_id = true;
    signed_part.eim_transaction_id = der_view_make(transaction, 2);
    signed_part.euicc_package.choice = SGP32_EUICC_PACKAGE_PSMO_LIST;
    signed_part.euicc_package.u.psmo_list.count = 1;
    signed_part.euicc_package.u.psmo_list.items = &psmo;
    der_writer encoded;
    der_writer_init_dynamic(&encoded, NULL);
    rsp_error err = {0};
    assert_int_equal(schema_encode(&sgp32_euicc_package_signed_type, &signed_part, &encoded),
                     RSP_OK);
    assert_int_equal(rsp_eim_package_request_build(spec->key, der_writer_view(&encoded),
                                                   &f->eim_token, out, &err),
                     RSP_OK);
    if (spec->flip_signature)
        out->buf[out->len - 5] ^= 0x80;
    der_writer_free(&encoded);
}

/* Sends a package and decodes the EuiccPackageResult; signed alternatives are verified with
 * the eUICC's certificate. Returns the alternative (SGP32_EUICC_PACKAGE_RESULT_*); *code gets
 * the error code or the first operation's result. */
static int send_package(fixture *f, der_view package, int64_t *code)
{
    der_writer result;
    der_writer_init_dynamic(&result, NULL);
    assert_int_equal(es10(&f->card, package, &result), 0x9000);
    rsp_error err = {0};
    uint8_t arena_buffer[4096];
    schema_arena arena;
    schema_arena_init(&arena, arena_buffer, sizeof arena_buffer);
    sgp32_euicc_package_result decoded;
    assert_int_equal(schema_decode(&sgp32_euicc_package_result_type, der_writer_view(&result),
                                   &decoded, &arena, &err),
                     RSP_OK);
    if (decoded.choice != SGP32_EUICC_PACKAGE_RESULT_EUICC_PACKAGE_ERROR_UNSIGNED) {
        rsp_public_key *euicc_public = NULL;
        uint32_t alternative = 0;
        der_view signed_data;
        assert_int_equal(rsp_certificate_public_key(f->euicc_cert[0], &euicc_public, &err), RSP_OK);
        assert_int_equal(rsp_euicc_package_result_open(euicc_public, der_writer_view(&result),
                                                       &f->eim_token, &alternative, &signed_data,
                                                       &err),
                         RSP_OK);
        rsp_public_key_free(euicc_public);
    }
    if (decoded.choice == SGP32_EUICC_PACKAGE_RESULT_EUICC_PACKAGE_RESULT_SIGNED) {
        const sgp32_euicc_package_result_data_signed *data =
            &decoded.u.euicc_package_result_signed.euicc_package_result_data_signed;
        assert_int_equal(data->euicc_result.count, 1);
        const sgp32_euicc_result_data *first = data->euicc_result.items;
        *code = first->u.enable_result; /* enable and disable results share the layout */
    } else if (decoded.choice == SGP32_EUICC_PACKAGE_RESULT_EUICC_PACKAGE_ERROR_SIGNED) {
        *code = decoded.u.euicc_package_error_signed.euicc_package_error_data_signed
                    .euicc_package_error_code;
    } else {
        *code = -1;
    }
    der_writer_free(&result);
    return decoded.choice;
}

static void add_initial_eim(fixture *f)
{
    der_writer command, answer;
    der_writer_init_dynamic(&command, NULL);
    der_writer_init_dynamic(&answer, NULL);
    e2e_add_initial_eim_command(f->eim_key, EIM_ID, false, &command);
    assert_int_equal(es10(&f->card, der_writer_view(&command), &answer), 0x9000);
    f->eim_token = e2e_association_token(der_writer_view(&answer));
    f->eim_counter = 0;
    der_writer_free(&command);
    der_writer_free(&answer);
}

/* ---- state checks --------------------------------------------------------------------- */

typedef struct {
    uint8_t *bytes;
    size_t len;
} file_copy;

static file_copy snapshot(const fixture *f)
{
    file_copy copy;
    copy.bytes = e2e_read_file(f->state_path, &copy.len);
    assert_non_null(copy.bytes);
    return copy;
}

static void assert_file_unchanged(const fixture *f, file_copy *before)
{
    file_copy after = snapshot(f);
    assert_int_equal(after.len, before->len);
    assert_memory_equal(after.bytes, before->bytes, before->len);
    free(after.bytes);
    free(before->bytes);
    before->bytes = NULL;
}

/* The file after a refused BPP: every record and slot byte-identical, no profile added, and
 * exactly one new pending notification, the signed install result pir. */
static void assert_only_failure_notification_added(const fixture *f, file_copy *before,
                                                   der_view pir)
{
    euicc_state old_state, new_state;
    rsp_error err = {0};
    euicc_state_init(&old_state);
    euicc_state_init(&new_state);
    assert_int_equal(
        euicc_state_decode(&old_state, der_view_make(before->bytes, before->len), &err), RSP_OK);
    assert_int_equal(euicc_state_load(&new_state, f->state_path, &err), RSP_OK);
    for (int list = 0; list < EUICC_LIST__COUNT; list++) {
        size_t count = euicc_state_count(&old_state, (euicc_list_id)list);
        size_t added = list == EUICC_LIST_NOTIFICATIONS ? 1 : 0;
        assert_int_equal(euicc_state_count(&new_state, (euicc_list_id)list), count + added);
        for (size_t i = 0; i < count; i++)
            assert_true(der_view_equal(euicc_state_get(&old_state, (euicc_list_id)list, i),
                                       euicc_state_get(&new_state, (euicc_list_id)list, i)));
    }
    for (int slot = 0; slot < EUICC_SLOT__COUNT; slot++)
        assert_true(der_view_equal(euicc_state_slot(&old_state, (euicc_slot_id)slot),
                                   euicc_state_slot(&new_state, (euicc_slot_id)slot)));
    for (int c = 0; c < EUICC_COUNTER__COUNT; c++)
        assert_int_equal(new_state.counters[c],
                         old_state.counters[c] + (c == EUICC_COUNTER_NOTIFICATION ? 1 : 0));
    size_t last = euicc_state_count(&new_state, EUICC_LIST_NOTIFICATIONS) - 1;
    euicc_notification_record record;
    assert_int_equal(euicc_state_notification_decode(&new_state, last, &record, &err), RSP_OK);
    assert_true(der_view_equal(record.pending_notification, pir));
    euicc_state_clear(&old_state);
    euicc_state_clear(&new_state);
    free(before->bytes);
    before->bytes = NULL;
}

/* The SM-DP+ verifies the eUICC's signature on the install result and reads the error. */
static void assert_install_error(fixture *f, download *d, der_view pir, int64_t command,
                                 int64_t reason)
{
    rsp_error err = {0};
    assert_int_equal(smdp_handle_install_result(&f->smdp.credentials, &d->session, pir, &err),
                     SMDP_OK);
    assert_int_equal(d->session.state, SMDP_SESSION_FAILED);
    assert_int_equal(d->session.bpp_command_id, command);
    assert_int_equal(d->session.error_reason, reason);
}

static der_view installed_iccid(fixture *f, uint8_t out[10])
{
    const euicc_state *s = euicc_get_state_const(f->card.card);
    assert_int_equal(euicc_state_count(s, EUICC_LIST_PROFILES), 1);
    euicc_loaded_profile p;
    rsp_error err = {0};
    assert_int_equal(euicc_state_profile_load(s, 0, true, &p, &err), RSP_OK);
    assert_int_equal(p.record.info.iccid.len, 10);
    memcpy(out, p.record.info.iccid.data, 10);
    euicc_loaded_profile_release(&p);
    return der_view_make(out, 10);
}

/* ---- tests ---------------------------------------------------------------------------- */

/* A file-backed eUICC with an eIM and one installed, enabled profile. */
static void prepare_card(fixture *f, uint8_t iccid_buffer[10], der_view *iccid)
{
    unlink(f->state_path);
    open_euicc(f, 0, &f->card);
    add_initial_eim(f);
    set_order(f, NULL);
    download d;
    run_until_bpp(f, &f->card, &d);
    der_writer pir;
    der_writer_init_dynamic(&pir, NULL);
    load_bpp(&f->card, d.bpp, 0, &pir);
    rsp_error err = {0};
    assert_int_equal(
        smdp_handle_install_result(&f->smdp.credentials, &d.session, der_writer_view(&pir), &err),
        SMDP_OK);
    assert_int_equal(d.session.state, SMDP_SESSION_INSTALLED);
    der_writer_free(&pir);
    e2e_download_free(&d);
    *iccid = installed_iccid(f, iccid_buffer);
}

static void test_hostile_packages(void **state)
{
    fixture *f = *state;
    if (!e2e_shared_data_present("BERTLV_SUCI.der"))
        skip();
    uint8_t iccid_buffer[10];
    der_view iccid;
    prepare_card(f, iccid_buffer, &iccid);
    int64_t code = 0;

    /* a genuine package: enable, counter 1 */
    der_writer genuine;
    der_writer_init_dynamic(&genuine, NULL);
    package_spec spec = {f->eim_key, f->eid[0], 1, false};
    build_package(f, &spec, SGP32_PSMO_ENABLE, iccid, &genuine);
    assert_int_equal(send_package(f, der_writer_view(&genuine), &code),
                     SGP32_EUICC_PACKAGE_RESULT_EUICC_PACKAGE_RESULT_SIGNED);
    assert_int_equal(code, SGP32_ENABLE_PROFILE_RESULT_OK);

    /* the same bytes again: replayError (SGP.32 v1.2 section 5.9.1), signed, nothing stored */
    file_copy before = snapshot(f);
    assert_int_equal(send_package(f, der_writer_view(&genuine), &code),
                     SGP32_EUICC_PACKAGE_RESULT_EUICC_PACKAGE_ERROR_SIGNED);
    assert_int_equal(code, SGP32_EUICC_PACKAGE_ERROR_REPLAY_ERROR);
    assert_file_unchanged(f, &before);

    /* well signed, next counter, for another EID: invalidEid */
    der_writer package;
    der_writer_init_dynamic(&package, NULL);
    spec = (package_spec){f->eim_key, f->eid[1], 2, false};
    build_package(f, &spec, SGP32_PSMO_DISABLE, iccid, &package);
    before = snapshot(f);
    assert_int_equal(send_package(f, der_writer_view(&package), &code),
                     SGP32_EUICC_PACKAGE_RESULT_EUICC_PACKAGE_ERROR_SIGNED);
    assert_int_equal(code, SGP32_EUICC_PACKAGE_ERROR_INVALID_EID);
    assert_file_unchanged(f, &before);

    /* under the eIM's name, signed by a key the eUICC does not know: unsigned error */
    package.len = 0;
    spec = (package_spec){f->stranger_key, f->eid[0], 2, false};
    build_package(f, &spec, SGP32_PSMO_DISABLE, iccid, &package);
    before = snapshot(f);
    assert_int_equal(send_package(f, der_writer_view(&package), &code),
                     SGP32_EUICC_PACKAGE_RESULT_EUICC_PACKAGE_ERROR_UNSIGNED);
    assert_file_unchanged(f, &before);

    /* the right key, one bit of the signature flipped: unsigned error */
    package.len = 0;
    spec = (package_spec){f->eim_key, f->eid[0], 2, true};
    build_package(f, &spec, SGP32_PSMO_DISABLE, iccid, &package);
    before = snapshot(f);
    assert_int_equal(send_package(f, der_writer_view(&package), &code),
                     SGP32_EUICC_PACKAGE_RESULT_EUICC_PACKAGE_ERROR_UNSIGNED);
    assert_file_unchanged(f, &before);

    /* none of the refusals used up counter 2, and the profile is still enabled */
    assert_int_equal(euicc_state_find_enabled_profile(euicc_get_state_const(f->card.card)), 0);
    package.len = 0;
    spec = (package_spec){f->eim_key, f->eid[0], 2, false};
    build_package(f, &spec, SGP32_PSMO_DISABLE, iccid, &package);
    assert_int_equal(send_package(f, der_writer_view(&package), &code),
                     SGP32_EUICC_PACKAGE_RESULT_EUICC_PACKAGE_RESULT_SIGNED);
    assert_int_equal(code, SGP32_DISABLE_PROFILE_RESULT_OK);
    /* and the eUICC reopened from the file still knows the refusals were refusals */
    open_euicc(f, 0, &f->card);
    assert_int_equal(send_package(f, der_writer_view(&genuine), &code),
                     SGP32_EUICC_PACKAGE_RESULT_EUICC_PACKAGE_ERROR_SIGNED);
    assert_int_equal(code, SGP32_EUICC_PACKAGE_ERROR_REPLAY_ERROR);
    der_writer_free(&genuine);
    der_writer_free(&package);
}

/* A BPP refused at pieces: the install result, the error, and the file. */
static void refused_bpp(fixture *f, bool other_euicc, uint32_t flip_tag, int64_t command,
                        int64_t reason)
{
    set_order(f, OTHER_ICCID);
    download mine, theirs;
    run_until_bpp(f, &f->card, &mine);
    if (other_euicc) {
        open_euicc(f, 1, &f->other);
        run_until_bpp(f, &f->other, &theirs);
    }
    der_view bpp = other_euicc ? theirs.bpp : mine.bpp;
    file_copy before = snapshot(f);
    der_writer pir;
    der_writer_init_dynamic(&pir, NULL);
    load_bpp(&f->card, bpp, flip_tag, &pir);
    assert_install_error(f, &mine, der_writer_view(&pir), command, reason);
    assert_only_failure_notification_added(f, &before, der_writer_view(&pir));
    der_writer_free(&pir);
    e2e_download_free(&mine);
    if (other_euicc)
        e2e_download_free(&theirs);
}

static void test_hostile_bpps(void **state)
{
    fixture *f = *state;
    if (!e2e_shared_data_present("BERTLV_SUCI.der"))
        skip();
    uint8_t iccid_buffer[10];
    der_view iccid;
    prepare_card(f, iccid_buffer, &iccid);

    /* bound to eUICC 1's session keys and transaction: SGP.22 v2.5 section 5.7.6 */
    refused_bpp(f, true, 0, SGP22_BPP_COMMAND_INITIALISE_SECURE_CHANNEL,
                SGP22_ERROR_REASON_INVALID_TRANSACTION_ID);
    /* one byte flipped in smdpSign, in a ConfigureISDP, and in a profile element segment */
    refused_bpp(f, false, 0xBF36, SGP22_BPP_COMMAND_INITIALISE_SECURE_CHANNEL,
                SGP22_ERROR_REASON_INVALID_SIGNATURE);
    refused_bpp(f, false, 0xA0, SGP22_BPP_COMMAND_CONFIGURE_ISDP,
                SGP22_ERROR_REASON_SCP03T_SECURITY_ERROR);
    refused_bpp(f, false, 0x86, SGP22_BPP_COMMAND_LOAD_PROFILE_ELEMENTS,
                SGP22_ERROR_REASON_SCP03T_SECURITY_ERROR);

    /* after the refusals the same eUICC, reopened from its file, installs that profile */
    open_euicc(f, 0, &f->card);
    download d;
    run_until_bpp(f, &f->card, &d);
    der_writer pir;
    der_writer_init_dynamic(&pir, NULL);
    load_bpp(&f->card, d.bpp, 0, &pir);
    rsp_error err = {0};
    assert_int_equal(
        smdp_handle_install_result(&f->smdp.credentials, &d.session, der_writer_view(&pir), &err),
        SMDP_OK);
    assert_int_equal(d.session.state, SMDP_SESSION_INSTALLED);
    assert_int_equal(euicc_state_count(euicc_get_state_const(f->card.card), EUICC_LIST_PROFILES),
                     2);
    der_writer_free(&pir);
    e2e_download_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostile_packages),
        cmocka_unit_test(test_hostile_bpps),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
