/* The eUICC world shared by the eUICC fuzz harnesses: an identity generated in memory once
 * (CI -> EUM -> eUICC, a fixed eIM key, optionally an SM-DP+ under the same CI) and a prepared
 * state every input starts from (two profiles, one enabled, an eIM with an association token,
 * the notifications of one profile switch). A header of static functions because the fuzz
 * build makes one executable per fuzz_*.c. Set-up failures abort: they are harness bugs. */
#ifndef RSPKIT_FUZZ_EUICC_FIXTURE_H
#define RSPKIT_FUZZ_EUICC_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/der.h"
#include "core/sgp22.h"
#include "core/sgp32.h"
#include "crypto/key.h"
#include "crypto/pki_generate.h"
#include "euicc/euicc.h"
#include "euicc/state.h"

#define FUZZ_EID "89049032123451234512345678901235"

/* The eIM key is fixed so that seeds can carry eUICC Packages with a valid eimSignature
 * (EID FUZZ_EID, associationToken 1, the first one this eUICC issues). */
static const uint8_t fuzz_eim_scalar[RSP_EC_FIELD_SIZE] = {
    0x3C, 0x1F, 0x42, 0x77, 0x05, 0x9A, 0xD1, 0x68, 0x2B, 0xE4, 0x11, 0x5D, 0x90, 0x36, 0xC7, 0x0E,
    0x81, 0x4A, 0xF3, 0x2C, 0x65, 0xB8, 0x17, 0xDE, 0x09, 0x73, 0xA5, 0x4E, 0x2F, 0xC1, 0x88, 0x56};

typedef struct {
    rsp_private_key *ci_key, *eum_key, *euicc_key, *eim_key;
    rsp_certificate *ci, *eum, *euicc_certificate;
    rsp_private_key *dpauth_key, *dppb_key; /* NULL unless built with_smdp */
    rsp_certificate *dpauth, *dppb;
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

/* An SM-DP+ under the same CI (DPauth and DPpb), for harnesses that play the server half of a
 * download session. */
static void issue_smdp_identity(fuzz_world *w)
{
    rsp_error err = {0};
    if (rsp_private_key_generate(RSP_CURVE_NIST_P256, &w->dpauth_key, &err) != RSP_OK ||
        rsp_private_key_generate(RSP_CURVE_NIST_P256, &w->dppb_key, &err) != RSP_OK)
        abort();
    rsp_pki_certificate_request dpauth = {
        .role = RSP_CERT_ROLE_DP_AUTH, .issuer = w->ci, .issuer_key = w->ci_key};
    w->dpauth = issue(&dpauth, w->dpauth_key);
    rsp_pki_certificate_request dppb = {
        .role = RSP_CERT_ROLE_DP_PB, .issuer = w->ci, .issuer_key = w->ci_key};
    w->dppb = issue(&dppb, w->dppb_key);
}

static void build_world(fuzz_world *w, bool with_smdp)
{
    rsp_error err = {0};
    if (rsp_private_key_generate(RSP_CURVE_NIST_P256, &w->ci_key, &err) != RSP_OK ||
        rsp_private_key_generate(RSP_CURVE_NIST_P256, &w->eum_key, &err) != RSP_OK ||
        rsp_private_key_generate(RSP_CURVE_NIST_P256, &w->euicc_key, &err) != RSP_OK ||
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
    if (with_smdp)
        issue_smdp_identity(w);
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

/* The identity and prepared state, built on the first call and kept for the process; the
 * SM-DP+ identity only when with_smdp (the same value on every call). */
static fuzz_world *world(bool with_smdp)
{
    static fuzz_world w;
    static bool ready;
    if (!ready) {
        build_world(&w, with_smdp);
        ready = true;
    }
    return &w;
}

#endif
