/* libFuzzer target: one arbitrary ES10 command into euicc_process (every ISD-R dispatch table
 * entry's decoder and handler; seeds in fuzz/corpus/euicc_es10, one per command tag).
 *
 * The eUICC identity (CI -> EUM -> eUICC, an eIM key) is generated in memory once; every input
 * gets a fresh memory-only eUICC whose state is a prepared one (two profiles, one enabled, an
 * eIM with an association token, pending notifications), so the handlers go past "not found".
 * An input that starts with a BPP tag (BF36, A0-A3, 86-88) meets a prepared download session:
 * the harness plays the SM-DP+ half of AuthenticateServer and PrepareDownload first (with an
 * SM-DP+ identity under the same CI), so the BPP decoders run instead of stopping at "no
 * session".
 * Checked per input: no crash, leak or sanitizer report; a successful answer is empty or
 * exactly one DER TLV; the state after the command still encodes and decodes (it could be
 * committed to a file). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/der.h"
#include "core/sgp22.h"
#include "core/sgp32.h"
#include "crypto/certificate.h"
#include "crypto/ecdsa.h"
#include "crypto/key.h"
#include "crypto/pki_generate.h"
#include "euicc/euicc.h"
#include "euicc/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_EID "89049032123451234512345678901235"

/* The eIM key is fixed so that seeds can carry eUICC Packages with a valid eimSignature
 * (EID FUZZ_EID, associationToken 1, the first one this eUICC issues). */
static const uint8_t fuzz_eim_scalar[RSP_EC_FIELD_SIZE] = {
    0x3C, 0x1F, 0x42, 0x77, 0x05, 0x9A, 0xD1, 0x68, 0x2B, 0xE4, 0x11, 0x5D, 0x90, 0x36, 0xC7, 0x0E,
    0x81, 0x4A, 0xF3, 0x2C, 0x65, 0xB8, 0x17, 0xDE, 0x09, 0x73, 0xA5, 0x4E, 0x2F, 0xC1, 0x88, 0x56};

typedef struct {
    rsp_private_key *ci_key, *eum_key, *euicc_key, *eim_key, *dpauth_key, *dppb_key;
    rsp_certificate *ci, *eum, *euicc_certificate, *dpauth, *dppb;
    const rsp_certificate *cis[1];
    euicc_config config;
    uint8_t *base_state; /* encoded prepared state, for euicc_state_decode */
    size_t base_state_len;
} fuzz_world;

static rsp_certificate *issue(rsp_pki_certificate_request *request, const rsp_private_key *key)
{
    rsp_public_key *public_key = NULL;
    rsp_certificate *certificate = NULL;
    rsp_error err = {0};
    if (rsp_private_key_public(key, &public_key, &err) != RSP_OK)
        abort();
    request->subject_key = public_key;
    request->not_before = time(NULL) - 3600;
    if (rsp_pki_issue_certificate(request, &certificate, &err) != RSP_OK)
        abort();
    rsp_public_key_free(public_key);
    return certificate;
}

static void plant_profile(euicc_state *state, const char *iccid_hex, uint8_t aid_last,
                          int64_t profile_state)
{
    static const uint8_t events = 0xF0; /* install, enable, disable, delete */
    uint8_t iccid[10], aid[16];
    if (der_hex_decode(iccid_hex, iccid, sizeof iccid) != 10 ||
        der_hex_decode("A0000005591010FFFFFFFF8900001000", aid, sizeof aid) != 16)
        abort();
    aid[14] = aid_last;
    sgp22_notification_configuration_information notify;
    memset(&notify, 0, sizeof notify);
    notify.profile_management_operation.bytes = der_view_make(&events, 1);
    notify.profile_management_operation.unused_bits = 4;
    notify.notification_address = der_view_make((const uint8_t *)"notify.example.com", 18);
    euicc_profile_record record;
    memset(&record, 0, sizeof record);
    record.info.has_iccid = true;
    record.info.iccid = der_view_make(iccid, 10);
    record.info.has_isdp_aid = true;
    record.info.isdp_aid = der_view_make(aid, 16);
    record.info.has_profile_state = true;
    record.info.profile_state = profile_state;
    record.info.has_profile_class = true;
    record.info.profile_class = SGP22_PROFILE_CLASS_OPERATIONAL;
    record.info.has_profile_name = true;
    record.info.profile_name = der_view_make((const uint8_t *)"fuzz", 4);
    record.info.has_notification_configuration_info = true;
    record.info.notification_configuration_info.count = 1;
    record.info.notification_configuration_info.items = &notify;
    if (euicc_state_profile_add(state, &record) != RSP_OK)
        abort();
}

/* SGP.32 v1.2 section 5.9.4: AddInitialEim with the eIM's public key, asking for a token. */
static void add_eim(fuzz_world *w, euicc *e)
{
    rsp_public_key *public_key = NULL;
    uint8_t *spki = NULL;
    size_t spki_len = 0;
    rsp_error err = {0};
    if (rsp_private_key_public(w->eim_key, &public_key, &err) != RSP_OK ||
        rsp_public_key_to_spki(public_key, &spki, &spki_len, &err) != RSP_OK)
        abort();
    sgp32_eim_configuration_data eim;
    memset(&eim, 0, sizeof eim);
    eim.eim_id = der_view_make((const uint8_t *)"eim.example.com", 15);
    eim.has_counter_value = true;
    eim.has_association_token = true;
    eim.association_token = -1;
    eim.has_eim_public_key_data = true;
    eim.eim_public_key_data.choice = SGP32_EIM_PUBLIC_KEY_DATA_EIM_PUBLIC_KEY;
    eim.eim_public_key_data.u.eim_public_key = der_view_make(spki, spki_len);
    sgp32_add_initial_eim_request request;
    request.eim_configuration_data_list.count = 1;
    request.eim_configuration_data_list.items = &eim;
    der_writer command, response;
    der_writer_init_dynamic(&command, NULL);
    der_writer_init_dynamic(&response, NULL);
    if (schema_encode(&sgp32_add_initial_eim_request_type, &request, &command) != RSP_OK ||
        euicc_process(e, der_writer_view(&command), &response) != RSP_OK)
        abort();
    der_writer_free(&command);
    der_writer_free(&response);
    free(spki);
    rsp_public_key_free(public_key);
}

static void build_world(fuzz_world *w)
{
    rsp_error err = {0};
    if (rsp_private_key_generate(RSP_CURVE_NIST_P256, &w->ci_key, &err) != RSP_OK ||
        rsp_private_key_generate(RSP_CURVE_NIST_P256, &w->eum_key, &err) != RSP_OK ||
        rsp_private_key_generate(RSP_CURVE_NIST_P256, &w->euicc_key, &err) != RSP_OK ||
        rsp_private_key_generate(RSP_CURVE_NIST_P256, &w->dpauth_key, &err) != RSP_OK ||
        rsp_private_key_generate(RSP_CURVE_NIST_P256, &w->dppb_key, &err) != RSP_OK ||
        rsp_private_key_from_scalar(RSP_CURVE_NIST_P256, fuzz_eim_scalar, &w->eim_key, &err) !=
            RSP_OK)
        abort();
    rsp_pki_certificate_request ci = {.role = RSP_CERT_ROLE_CI, .issuer_key = w->ci_key};
    w->ci = issue(&ci, w->ci_key);
    rsp_pki_certificate_request eum = {.role = RSP_CERT_ROLE_EUM,
                                       .eid_prefix = "89049032",
                                       .issuer = w->ci,
                                       .issuer_key = w->ci_key};
    w->eum = issue(&eum, w->eum_key);
    rsp_pki_certificate_request card = {
        .role = RSP_CERT_ROLE_EUICC, .eid = FUZZ_EID, .issuer = w->eum, .issuer_key = w->eum_key};
    w->euicc_certificate = issue(&card, w->euicc_key);
    rsp_pki_certificate_request dpauth = {
        .role = RSP_CERT_ROLE_DP_AUTH, .issuer = w->ci, .issuer_key = w->ci_key};
    w->dpauth = issue(&dpauth, w->dpauth_key);
    rsp_pki_certificate_request dppb = {
        .role = RSP_CERT_ROLE_DP_PB, .issuer = w->ci, .issuer_key = w->ci_key};
    w->dppb = issue(&dppb, w->dppb_key);
    w->cis[0] = w->ci;
    memset(&w->config, 0, sizeof w->config);
    if (der_hex_decode(FUZZ_EID, w->config.eid, sizeof w->config.eid) != 16)
        abort();
    w->config.euicc_key = w->euicc_key;
    w->config.euicc_certificate = rsp_certificate_der(w->euicc_certificate);
    w->config.eum_certificate = rsp_certificate_der(w->eum);
    w->config.ci_certificates = w->cis;
    w->config.ci_count = 1;
    w->config.default_dp_address = "smdp.example.com";

    /* the prepared state: two profiles, an eIM, and the notifications of one profile switch */
    euicc *e = NULL;
    if (euicc_new(&w->config, &e, &err) != RSP_OK)
        abort();
    plant_profile(euicc_get_state(e), "98001032547698103214", 0x10, SGP22_PROFILE_STATE_ENABLED);
    plant_profile(euicc_get_state(e), "98001032547698103224", 0x11, SGP22_PROFILE_STATE_DISABLED);
    add_eim(w, e);
    static const uint8_t enable_second[] = {0xBF, 0x31, 0x11, 0xA0, 0x0C, 0x5A, 0x0A,
                                            0x98, 0x00, 0x10, 0x32, 0x54, 0x76, 0x98,
                                            0x10, 0x32, 0x24, 0x81, 0x01, 0x00};
    der_writer response, encoded;
    der_writer_init_dynamic(&response, NULL);
    der_writer_init_dynamic(&encoded, NULL);
    if (euicc_process(e, der_view_make(enable_second, sizeof enable_second), &response) != RSP_OK ||
        euicc_state_encode(euicc_get_state_const(e), &encoded) != RSP_OK)
        abort();
    w->base_state = malloc(encoded.len);
    if (w->base_state == NULL)
        abort();
    memcpy(w->base_state, encoded.buf, encoded.len);
    w->base_state_len = encoded.len;
    der_writer_free(&response);
    der_writer_free(&encoded);
    euicc_free(e);
}

static fuzz_world *world(void)
{
    static fuzz_world w;
    static bool ready;
    if (!ready) {
        build_world(&w);
        ready = true;
    }
    return &w;
}

/* ---- a prepared download session for BPP inputs ------------------------------------------ */

#define SESSION_SMDP_ADDRESS "smdp.example.com"

static bool is_bpp_input(const uint8_t *data, size_t size)
{
    if (size >= 2 && data[0] == 0xBF && data[1] == 0x36)
        return true;
    return size >= 1 &&
           ((data[0] >= 0xA0 && data[0] <= 0xA3) || (data[0] >= 0x86 && data[0] <= 0x88));
}

/* Runs one command of the harness's own session set-up, which must answer. */
static void run_expecting_ok(euicc *e, der_view command, der_writer *response)
{
    response->len = 0;
    if (euicc_process(e, command, response) != RSP_OK || response->len < 4)
        abort();
}

/* The whole 5F37 TLV inside the A0 alternative of an answer. */
static der_view answer_signature(der_view answer)
{
    der_tlv outer, alternative, item;
    der_reader r;
    rsp_error err = {0};
    if (der_parse_single(answer, &outer, &err) != RSP_OK ||
        der_reader_enter(&outer, 0, &r, &err) != RSP_OK ||
        der_reader_next(&r, &alternative, &err) != RSP_OK || alternative.tag != 0xA0 ||
        der_reader_enter(&alternative, 1, &r, &err) != RSP_OK)
        abort();
    while (!der_reader_at_end(&r)) {
        if (der_reader_next(&r, &item, &err) != RSP_OK)
            abort();
        if (item.tag == 0x5F37)
            return item.whole;
    }
    abort();
}

/* SGP.22 v2.5 section 5.7.13: AuthenticateServerRequest for the eUICC's challenge. */
static void authenticate_server(fuzz_world *w, euicc *e, der_view challenge, der_writer *answer)
{
    static const uint8_t transaction_id[16] = {0x54, 0x49, 0x44};
    static const uint8_t server_challenge[16] = {0x53, 0x43};
    static const uint8_t tac[4] = {0x35, 0x29, 0x06, 0x11};
    sgp22_authenticate_server_request request;
    memset(&request, 0, sizeof request);
    request.server_signed1.transaction_id = der_view_make(transaction_id, 16);
    request.server_signed1.euicc_challenge = challenge;
    request.server_signed1.server_address =
        der_view_make((const uint8_t *)SESSION_SMDP_ADDRESS, strlen(SESSION_SMDP_ADDRESS));
    request.server_signed1.server_challenge = der_view_make(server_challenge, 16);
    der_writer signed1, command;
    der_writer_init_dynamic(&signed1, NULL);
    der_writer_init_dynamic(&command, NULL);
    uint8_t signature[RSP_EC_SIGNATURE_SIZE];
    rsp_error err = {0};
    if (schema_encode(&sgp22_server_signed1_type, &request.server_signed1, &signed1) != RSP_OK ||
        rsp_ecdsa_sign(w->dpauth_key, signed1.buf, signed1.len, signature, &err) != RSP_OK ||
        rsp_certificate_subject_key_id(w->ci, &request.euicc_ci_pkid_to_be_used) != RSP_OK)
        abort();
    request.server_signature1 = der_view_make(signature, sizeof signature);
    request.server_certificate = rsp_certificate_der(w->dpauth);
    request.ctx_params1.choice = SGP22_CTX_PARAMS1_CTX_PARAMS_FOR_COMMON_AUTHENTICATION;
    request.ctx_params1.u.ctx_params_for_common_authentication.device_info.tac =
        der_view_make(tac, 4);
    if (schema_encode(&sgp22_authenticate_server_request_type, &request, &command) != RSP_OK)
        abort();
    run_expecting_ok(e, der_writer_view(&command), answer);
    der_writer_free(&signed1);
    der_writer_free(&command);
}

/* SGP.22 v2.5 section 5.7.5: PrepareDownloadRequest chained to euiccSignature1. */
static void prepare_download(fuzz_world *w, euicc *e, der_view euicc_signature1, der_writer *answer)
{
    static const uint8_t transaction_id[16] = {0x54, 0x49, 0x44};
    sgp22_prepare_download_request request;
    memset(&request, 0, sizeof request);
    request.smdp_signed2.transaction_id = der_view_make(transaction_id, 16);
    der_writer to_sign, command;
    der_writer_init_dynamic(&to_sign, NULL);
    der_writer_init_dynamic(&command, NULL);
    uint8_t signature[RSP_EC_SIGNATURE_SIZE];
    rsp_error err = {0};
    if (schema_encode(&sgp22_smdp_signed2_type, &request.smdp_signed2, &to_sign) != RSP_OK)
        abort();
    der_put_raw(&to_sign, euicc_signature1.data, euicc_signature1.len);
    if (der_writer_status(&to_sign) != RSP_OK ||
        rsp_ecdsa_sign(w->dppb_key, to_sign.buf, to_sign.len, signature, &err) != RSP_OK)
        abort();
    request.smdp_signature2 = der_view_make(signature, sizeof signature);
    request.smdp_certificate = rsp_certificate_der(w->dppb);
    if (schema_encode(&sgp22_prepare_download_request_type, &request, &command) != RSP_OK)
        abort();
    run_expecting_ok(e, der_writer_view(&command), answer);
    der_writer_free(&to_sign);
    der_writer_free(&command);
}

/* Challenge, AuthenticateServer and PrepareDownload on the basic channel. */
static void prepare_session(fuzz_world *w, euicc *e)
{
    static const uint8_t get_challenge[] = {0xBF, 0x2E, 0x00};
    der_writer challenge, authenticated, prepared;
    der_writer_init_dynamic(&challenge, NULL);
    der_writer_init_dynamic(&authenticated, NULL);
    der_writer_init_dynamic(&prepared, NULL);
    run_expecting_ok(e, der_view_make(get_challenge, sizeof get_challenge), &challenge);
    if (challenge.len != 21)
        abort();
    authenticate_server(w, e, der_view_make(challenge.buf + 5, 16), &authenticated);
    prepare_download(w, e, answer_signature(der_writer_view(&authenticated)), &prepared);
    answer_signature(der_writer_view(&prepared)); /* the OK alternative, or abort */
    der_writer_free(&challenge);
    der_writer_free(&authenticated);
    der_writer_free(&prepared);
}

/* The state after any command must be one the eUICC can commit and load again. */
static void check_state_persistable(const euicc *e)
{
    der_writer encoded;
    euicc_state reloaded;
    rsp_error err = {0};
    der_writer_init_dynamic(&encoded, NULL);
    euicc_state_init(&reloaded);
    if (euicc_state_encode(euicc_get_state_const(e), &encoded) != RSP_OK ||
        euicc_state_decode(&reloaded, der_writer_view(&encoded), &err) != RSP_OK)
        abort();
    euicc_state_clear(&reloaded);
    der_writer_free(&encoded);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_world *w = world();
    euicc *e = NULL;
    rsp_error err = {0};
    if (euicc_new(&w->config, &e, &err) != RSP_OK)
        abort();
    if (euicc_state_decode(euicc_get_state(e), der_view_make(w->base_state, w->base_state_len),
                           &err) != RSP_OK)
        abort();
    if (is_bpp_input(data, size))
        prepare_session(w, e);
    der_writer response;
    der_writer_init_dynamic(&response, NULL);
    rsp_status status = euicc_process(e, der_view_make(data, size), &response);
    if (status == RSP_OK && response.len > 0) {
        der_tlv answer;
        if (der_parse_single(der_writer_view(&response), &answer, &err) != RSP_OK)
            abort();
    }
    check_state_persistable(e);
    der_writer_free(&response);
    euicc_free(e);
    return 0;
}
