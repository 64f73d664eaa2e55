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
#include "euicc_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
    fuzz_world *w = world(true);
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
