/* ES10b download functions of the ISD-R before the BPP arrives: GetEUICCChallenge,
 * AuthenticateServer, PrepareDownload, CancelSession, and LoadCRL (SGP.22 v2.5 sections
 * 5.7.5, 5.7.7, 5.7.12 to 5.7.14). */
#include "euicc/es10b_download.h"

#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/ecdsa.h"
#include "crypto/ecka.h"
#include "crypto/random.h"
#include "euicc/isdr.h"

#define TAG_SIGNATURE 0x5F37
#define TAG_OTPK      0x5F49

/* ---- session storage -------------------------------------------------------------------- */

static void session_free(void *data)
{
    euicc_download_session *session = data;
    if (session == NULL)
        return;
    rsp_public_key_free(session->dppb_key);
    rsp_private_key_free(session->otsk);
    if (session->bsp_ready)
        rsp_bsp_session_cleanup(&session->bsp);
    if (session->package.buf != NULL)
        memset(session->package.buf, 0, session->package.len);
    der_writer_free(&session->metadata);
    der_writer_free(&session->package);
    memset(session, 0, sizeof *session);
    free(session);
}

euicc_download_session *euicc_download_session_get(euicc *e, unsigned channel)
{
    return euicc_session_get(e, channel, EUICC_SESSION_DOWNLOAD);
}

void euicc_download_session_end(euicc *e, unsigned channel)
{
    euicc_session_set(e, channel, EUICC_SESSION_DOWNLOAD, NULL, NULL);
}

rsp_status euicc_download_crls_load(const euicc *e, rsp_crl ***crls, size_t *count)
{
    const euicc_state *state = euicc_get_state_const(e);
    size_t stored = euicc_state_count(state, EUICC_LIST_CRLS);
    *crls = NULL;
    *count = 0;
    if (stored == 0)
        return RSP_OK;
    rsp_crl **loaded = calloc(stored, sizeof *loaded);
    if (loaded == NULL)
        return RSP_ERR_NO_MEMORY;
    for (size_t i = 0; i < stored; i++) {
        der_view der = euicc_state_get(state, EUICC_LIST_CRLS, i);
        rsp_error err = {0};
        if (rsp_crl_load(der.data, der.len, &loaded[*count], &err) == RSP_OK)
            (*count)++;
    }
    *crls = loaded;
    return RSP_OK;
}

void euicc_download_crls_free(rsp_crl **crls, size_t count)
{
    for (size_t i = 0; i < count; i++)
        rsp_crl_free(crls[i]);
    free(crls);
}

/* ---- helpers ------------------------------------------------------------------------ */

static bool view_is(der_view view, const uint8_t *bytes, size_t len)
{
    return view.len == len && (len == 0 || memcmp(view.data, bytes, len) == 0);
}

/* SGP.22 v2.5 section 4.5.2.1.0.4: the SM-DP+ OID is the subjectAltName registeredID */
static bool certificate_oid(const rsp_certificate *certificate, uint8_t *out, size_t *len)
{
    GENERAL_NAMES *names =
        X509_get_ext_d2i(rsp_certificate_x509(certificate), NID_subject_alt_name, NULL, NULL);
    bool found = false;
    for (int i = 0; names != NULL && i < sk_GENERAL_NAME_num(names) && !found; i++) {
        const GENERAL_NAME *name = sk_GENERAL_NAME_value(names, i);
        size_t oid_len = name->type == GEN_RID ? OBJ_length(name->d.registeredID) : 0;
        if (oid_len > 0 && oid_len <= EUICC_DOWNLOAD_OID_MAX) {
            memcpy(out, OBJ_get0_data(name->d.registeredID), oid_len);
            *len = oid_len;
            found = true;
        }
    }
    GENERAL_NAMES_free(names);
    return found;
}

typedef enum { CHECK_OK, CHECK_CI_UNKNOWN, CHECK_CURVE, CHECK_INVALID } certificate_check;

/* An SM-DP+ certificate (role DPauth or DPpb) verified up to the CI named by ci_id. */
static certificate_check check_smdp_certificate(const euicc *e, der_view der, rsp_cert_role role,
                                                der_view ci_id, rsp_certificate **out)
{
    size_t ci_count = 0;
    const rsp_certificate *const *cis = euicc_ci_certificates(e, &ci_count);
    size_t id_count = 0;
    const der_view *ids = euicc_ci_key_ids(e, &id_count);
    bool known = false;
    for (size_t i = 0; i < id_count && !known; i++)
        known = der_view_equal(ids[i], ci_id);
    if (!known)
        return CHECK_CI_UNKNOWN;
    rsp_error err = {0};
    rsp_certificate *certificate = NULL;
    /* shared parse: a device downloads from few SM-DP+; every check below still runs */
    if (rsp_certificate_from_der_shared(der.data, der.len, &certificate, &err) != RSP_OK)
        return CHECK_INVALID;
    rsp_crl **crls = NULL;
    size_t crl_count = 0;
    if (euicc_download_crls_load(e, &crls, &crl_count) != RSP_OK) {
        rsp_certificate_free(certificate);
        return CHECK_INVALID;
    }
    rsp_cert_verify_options options = {.now = euicc_now(e),
                                       .crls = (const rsp_crl *const *)crls,
                                       .crl_count = crl_count,
                                       .allowed_ci_ids = &ci_id,
                                       .allowed_ci_id_count = 1};
    rsp_cert_verify_result result = {0};
    rsp_status status =
        rsp_certificate_verify(certificate, role, NULL, cis, ci_count, &options, &result, &err);
    euicc_download_crls_free(crls, crl_count);
    if (status != RSP_OK) {
        rsp_certificate_free(certificate);
        /* the agreed CI is known: a chain that does not reach it is an invalid certificate */
        return result.failure == RSP_CERT_FAIL_CURVE ? CHECK_CURVE : CHECK_INVALID;
    }
    *out = certificate;
    return CHECK_OK;
}

static bool verify_with_certificate(const rsp_certificate *certificate, der_view data,
                                    der_view signature)
{
    rsp_public_key *key = NULL;
    rsp_error err = {0};
    bool ok =
        rsp_certificate_public_key(certificate, &key, &err) == RSP_OK &&
        rsp_ecdsa_verify(key, data.data, data.len, signature.data, signature.len, &err) == RSP_OK;
    rsp_public_key_free(key);
    return ok;
}

static rsp_status sign(euicc *e, const uint8_t *data, size_t len,
                       uint8_t signature[RSP_EC_SIGNATURE_SIZE])
{
    rsp_error err = {0};
    return rsp_ecdsa_sign(euicc_key(e), data, len, signature, &err);
}

/* Signature over data || 5F37 TLV of the peer's signature (SGP.22 v2.5 section 5.7.5). */
static void put_chained(der_writer *w, der_view data, const uint8_t *previous)
{
    der_put_raw(w, data.data, data.len);
    der_put_tlv(w, TAG_SIGNATURE, previous, RSP_EC_SIGNATURE_SIZE);
}

/* ---- GetEUICCChallenge -------------------------------------------------------------- */

/* SGP.22 v2.5 section 5.7.7: a new challenge starts a new download session on the channel. */
rsp_status es10b_get_euicc_challenge(euicc *e, unsigned channel, der_view command,
                                     der_writer *response)
{
    rsp_error err = {0};
    sgp22_get_euicc_challenge_request request;
    rsp_status status =
        schema_decode(&sgp22_get_euicc_challenge_request_type, command, &request, NULL, &err);
    if (status != RSP_OK)
        return status;
    euicc_download_session *session = calloc(1, sizeof *session);
    if (session == NULL)
        return RSP_ERR_NO_MEMORY;
    der_writer_init_dynamic(&session->metadata, NULL);
    der_writer_init_dynamic(&session->package, NULL);
    if (rsp_random_bytes(session->euicc_challenge, EUICC_DOWNLOAD_CHALLENGE_SIZE) != RSP_OK) {
        session_free(session);
        return RSP_ERR_CRYPTO;
    }
    session->stage = EUICC_DOWNLOAD_CHALLENGED;
    euicc_session_set(e, channel, EUICC_SESSION_DOWNLOAD, session, session_free);
    size_t mark = der_begin(response, 0xBF2E);
    der_put_tlv(response, 0x80, session->euicc_challenge, EUICC_DOWNLOAD_CHALLENGE_SIZE);
    der_end(response, mark);
    return der_writer_status(response);
}

/* ---- AuthenticateServer ------------------------------------------------------------- */

/* The eUICC's own copy of a CI key identifier it knows (lives as long as the eUICC). */
static der_view agreed_ci_id(const euicc *e, der_view id)
{
    size_t count = 0;
    const der_view *ids = euicc_ci_key_ids(e, &count);
    for (size_t i = 0; i < count; i++)
        if (der_view_equal(ids[i], id))
            return ids[i];
    return der_view_make(NULL, 0);
}

/* The error answer of AuthenticateServer (BF38, section 5.7.13) and of PrepareDownload (BF21,
 * section 5.7.5), alike in SGP.22 v2.5: [1] SEQUENCE {transactionId [0], errorCode}. */
static rsp_status session_error(der_writer *response, uint32_t outer_tag, der_view transaction_id,
                                int64_t code)
{
    size_t outer = der_begin(response, outer_tag);
    size_t error = der_begin(response, 0xA1);
    der_put_tlv(response, 0x80, transaction_id.data, transaction_id.len);
    der_put_int64(response, 0x02, code);
    der_end(response, error);
    der_end(response, outer);
    return der_writer_status(response);
}

/* SGP.22 v2.5 section 5.7.13: euiccSigned1 and euiccSignature1, then the OK answer. */
static rsp_status authenticate_ok(euicc *e, euicc_download_session *session, der_view ctx_params,
                                  der_writer *response)
{
    der_writer signed1;
    der_writer_init_dynamic(&signed1, NULL);
    size_t mark = der_begin(&signed1, 0x30);
    der_put_tlv(&signed1, 0x80, session->transaction_id, session->transaction_id_len);
    der_put_tlv(&signed1, 0x83, session->server_address, session->server_address_len);
    der_put_tlv(&signed1, 0x84, session->server_challenge, EUICC_DOWNLOAD_CHALLENGE_SIZE);
    rsp_status status = euicc_info2_encode(e, 0xBF22, &signed1);
    der_put_raw(&signed1, ctx_params.data, ctx_params.len);
    der_end(&signed1, mark);
    if (status == RSP_OK)
        status = der_writer_status(&signed1);
    if (status == RSP_OK)
        status = sign(e, signed1.buf, signed1.len, session->euicc_signature1);
    if (status == RSP_OK) {
        size_t outer = der_begin(response, 0xBF38);
        size_t ok = der_begin(response, 0xA0);
        der_put_raw(response, signed1.buf, signed1.len);
        der_put_tlv(response, TAG_SIGNATURE, session->euicc_signature1, RSP_EC_SIGNATURE_SIZE);
        der_view euicc_cert = euicc_certificate_der(e);
        der_view eum_cert = euicc_eum_certificate_der(e);
        der_put_raw(response, euicc_cert.data, euicc_cert.len);
        der_put_raw(response, eum_cert.data, eum_cert.len);
        der_end(response, ok);
        der_end(response, outer);
        status = der_writer_status(response);
    }
    der_writer_free(&signed1);
    return status;
}

/* SGP.22 v2.5 section 5.7.13 ES10b.AuthenticateServer */
rsp_status es10b_authenticate_server(euicc *e, unsigned channel, der_view command,
                                     der_writer *response)
{
    uint8_t arena_buffer[4096];
    schema_arena arena;
    schema_arena_init(&arena, arena_buffer, sizeof arena_buffer);
    sgp22_authenticate_server_request request;
    rsp_error err = {0};
    rsp_status status =
        schema_decode(&sgp22_authenticate_server_request_type, command, &request, &arena, &err);
    const uint32_t signed_path[] = SGP22_PATH_SERVER_SIGNED1_IN_AUTHENTICATE_SERVER_REQUEST;
    const uint32_t ctx_path[] = {0xBF38, 0xA0};
    der_view signed_part;
    der_view ctx_params;
    if (status == RSP_OK)
        status = sgp22_find_signed_part(command, signed_path, 2, &signed_part, &err);
    if (status == RSP_OK)
        status = sgp22_find_signed_part(command, ctx_path, 2, &ctx_params, &err);
    if (status != RSP_OK)
        return status;
    const sgp22_server_signed1 *signed1 = &request.server_signed1;
    der_view tid = signed1->transaction_id;
    euicc_download_session *session = euicc_download_session_get(e, channel);
    if (session == NULL || session->stage != EUICC_DOWNLOAD_CHALLENGED)
        return session_error(response, 0xBF38, tid, SGP22_AUTHENTICATE_ERROR_NO_SESSION_CONTEXT);
    rsp_certificate *dpauth = NULL;
    certificate_check check =
        check_smdp_certificate(e, request.server_certificate, RSP_CERT_ROLE_DP_AUTH,
                               request.euicc_ci_pkid_to_be_used, &dpauth);
    int64_t error = 0;
    if (check == CHECK_CI_UNKNOWN)
        error = SGP22_AUTHENTICATE_ERROR_CI_PK_UNKNOWN;
    else if (check == CHECK_CURVE)
        error = SGP22_AUTHENTICATE_ERROR_UNSUPPORTED_CURVE;
    else if (check != CHECK_OK)
        error = SGP22_AUTHENTICATE_ERROR_INVALID_CERTIFICATE;
    else if (!verify_with_certificate(dpauth, signed_part, request.server_signature1))
        error = SGP22_AUTHENTICATE_ERROR_INVALID_SIGNATURE;
    else if (!view_is(signed1->euicc_challenge, session->euicc_challenge,
                      EUICC_DOWNLOAD_CHALLENGE_SIZE))
        error = SGP22_AUTHENTICATE_ERROR_EUICC_CHALLENGE_MISMATCH;
    else if (tid.len > EUICC_DOWNLOAD_TID_MAX ||
             signed1->server_address.len > EUICC_DOWNLOAD_ADDRESS_MAX ||
             signed1->server_challenge.len != EUICC_DOWNLOAD_CHALLENGE_SIZE ||
             !certificate_oid(dpauth, session->smdp_oid, &session->smdp_oid_len))
        error = SGP22_AUTHENTICATE_ERROR_INVALID_OID;
    if (error != 0) {
        rsp_certificate_free(dpauth);
        /* a failed authentication ends the session: the LPA starts again with a challenge */
        euicc_download_session_end(e, channel);
        return session_error(response, 0xBF38, tid, error);
    }
    session->curve = rsp_certificate_curve(dpauth);
    session->ci_id = agreed_ci_id(e, request.euicc_ci_pkid_to_be_used);
    rsp_certificate_free(dpauth);
    memcpy(session->transaction_id, tid.data, tid.len);
    session->transaction_id_len = tid.len;
    memcpy(session->server_address, signed1->server_address.data, signed1->server_address.len);
    session->server_address_len = signed1->server_address.len;
    memcpy(session->server_challenge, signed1->server_challenge.data,
           EUICC_DOWNLOAD_CHALLENGE_SIZE);
    status = authenticate_ok(e, session, ctx_params, response);
    if (status == RSP_OK)
        session->stage = EUICC_DOWNLOAD_AUTHENTICATED;
    return status;
}

/* ---- PrepareDownload ---------------------------------------------------------------- */

/* SGP.22 v2.5 section 5.7.5: euiccSigned2 signed together with smdpSignature2. */
static rsp_status prepare_ok(euicc *e, euicc_download_session *session,
                             const sgp22_prepare_download_request *request, der_writer *response)
{
    sgp22_euicc_signed2 signed2 = {
        .transaction_id = der_view_make(session->transaction_id, session->transaction_id_len),
        .euicc_otpk = der_view_make(session->otpk, RSP_EC_POINT_SIZE),
        .has_hash_cc = request->has_hash_cc,
        .hash_cc = request->hash_cc,
    };
    der_writer encoded;
    der_writer to_sign;
    der_writer_init_dynamic(&encoded, NULL);
    der_writer_init_dynamic(&to_sign, NULL);
    uint8_t signature[RSP_EC_SIGNATURE_SIZE];
    rsp_status status = schema_encode(&sgp22_euicc_signed2_type, &signed2, &encoded);
    if (status == RSP_OK) {
        put_chained(&to_sign, der_writer_view(&encoded), request->smdp_signature2.data);
        status = der_writer_status(&to_sign);
    }
    if (status == RSP_OK)
        status = sign(e, to_sign.buf, to_sign.len, signature);
    if (status == RSP_OK) {
        size_t outer = der_begin(response, 0xBF21);
        size_t ok = der_begin(response, 0xA0);
        der_put_raw(response, encoded.buf, encoded.len);
        der_put_tlv(response, TAG_SIGNATURE, signature, sizeof signature);
        der_end(response, ok);
        der_end(response, outer);
        status = der_writer_status(response);
    }
    der_writer_free(&encoded);
    der_writer_free(&to_sign);
    return status;
}

/* SGP.22 v2.5 section 5.7.5 ES10b.PrepareDownload */
rsp_status es10b_prepare_download(euicc *e, unsigned channel, der_view command,
                                  der_writer *response)
{
    uint8_t arena_buffer[256];
    schema_arena arena;
    schema_arena_init(&arena, arena_buffer, sizeof arena_buffer);
    sgp22_prepare_download_request request;
    rsp_error err = {0};
    rsp_status status =
        schema_decode(&sgp22_prepare_download_request_type, command, &request, &arena, &err);
    const uint32_t path[] = SGP22_PATH_SMDP_SIGNED2_IN_PREPARE_DOWNLOAD_REQUEST;
    der_view signed_part;
    if (status == RSP_OK)
        status = sgp22_find_signed_part(command, path, 2, &signed_part, &err);
    if (status != RSP_OK)
        return status;
    der_view tid = request.smdp_signed2.transaction_id;
    euicc_download_session *session = euicc_download_session_get(e, channel);
    if (session == NULL || session->stage != EUICC_DOWNLOAD_AUTHENTICATED)
        return session_error(response, 0xBF21, tid, SGP22_DOWNLOAD_ERROR_NO_SESSION_CONTEXT);
    /* CERT.DPpb must chain to the CI agreed in AuthenticateServer */
    rsp_certificate *dppb = NULL;
    certificate_check check = check_smdp_certificate(e, request.smdp_certificate,
                                                     RSP_CERT_ROLE_DP_PB, session->ci_id, &dppb);
    der_writer to_verify;
    der_writer_init_dynamic(&to_verify, NULL);
    put_chained(&to_verify, signed_part, session->euicc_signature1);
    int64_t error = 0;
    if (check != CHECK_OK)
        error = SGP22_DOWNLOAD_ERROR_INVALID_CERTIFICATE;
    else if (rsp_certificate_curve(dppb) != session->curve)
        error = SGP22_DOWNLOAD_ERROR_UNSUPPORTED_CURVE;
    else if (der_writer_status(&to_verify) != RSP_OK ||
             !verify_with_certificate(dppb, der_writer_view(&to_verify), request.smdp_signature2))
        error = SGP22_DOWNLOAD_ERROR_INVALID_SIGNATURE;
    else if (!view_is(tid, session->transaction_id, session->transaction_id_len))
        error = SGP22_DOWNLOAD_ERROR_INVALID_TRANSACTION_ID;
    der_writer_free(&to_verify);
    if (error == 0 && request.smdp_signed2.cc_required_flag && !request.has_hash_cc)
        error = SGP22_DOWNLOAD_ERROR_UNDEFINED_ERROR; /* the LPA must supply hashCc */
    if (error == 0 && rsp_certificate_public_key(dppb, &session->dppb_key, &err) != RSP_OK)
        error = SGP22_DOWNLOAD_ERROR_INVALID_CERTIFICATE;
    rsp_certificate_free(dppb);
    if (error != 0) {
        euicc_download_session_end(e, channel);
        return session_error(response, 0xBF21, tid, error);
    }
    /* bppEuiccOtpk asks for a key of an earlier attempt; this eUICC keeps none across
     * sessions, so it makes a new pair (SGP.22 v2.5 section 5.7.5) */
    status = rsp_ecka_one_time_key(session->curve, &session->otsk, session->otpk, &err);
    if (status == RSP_OK)
        status = prepare_ok(e, session, &request, response);
    if (status == RSP_OK)
        session->stage = EUICC_DOWNLOAD_PREPARED;
    return status;
}

/* ---- CancelSession ------------------------------------------------------------------ */

/* SGP.22 v2.5 section 5.7.14 ES10b.CancelSession */
rsp_status es10b_cancel_session(euicc *e, unsigned channel, der_view command, der_writer *response)
{
    sgp22_cancel_session_request request;
    rsp_error err = {0};
    rsp_status status =
        schema_decode(&sgp22_cancel_session_request_type, command, &request, NULL, &err);
    if (status != RSP_OK)
        return status;
    euicc_download_session *session = euicc_download_session_get(e, channel);
    if (session == NULL || session->stage < EUICC_DOWNLOAD_AUTHENTICATED ||
        !view_is(request.transaction_id, session->transaction_id, session->transaction_id_len)) {
        size_t mark = der_begin(response, 0xBF41);
        der_put_int64(response, 0x81, SGP22_CANCEL_SESSION_ERROR_INVALID_TRANSACTION_ID);
        der_end(response, mark);
        return der_writer_status(response);
    }
    sgp22_euicc_cancel_session_signed signed_data = {
        .transaction_id = request.transaction_id,
        .smdp_oid = der_view_make(session->smdp_oid, session->smdp_oid_len),
        .reason = request.reason,
    };
    der_writer encoded;
    der_writer_init_dynamic(&encoded, NULL);
    uint8_t signature[RSP_EC_SIGNATURE_SIZE];
    status = schema_encode(&sgp22_euicc_cancel_session_signed_type, &signed_data, &encoded);
    if (status == RSP_OK)
        status = sign(e, encoded.buf, encoded.len, signature);
    if (status == RSP_OK) {
        size_t outer = der_begin(response, 0xBF41);
        size_t ok = der_begin(response, 0xA0);
        der_put_raw(response, encoded.buf, encoded.len);
        der_put_tlv(response, TAG_SIGNATURE, signature, sizeof signature);
        der_end(response, ok);
        der_end(response, outer);
        status = der_writer_status(response);
    }
    der_writer_free(&encoded);
    if (status == RSP_OK)
        euicc_download_session_end(e, channel);
    return status;
}

/* ---- LoadCRL ------------------------------------------------------------------------ */

static rsp_status load_crl_answer(der_writer *response, int64_t error)
{
    size_t outer = der_begin(response, 0xBF35);
    if (error == 0) {
        size_t ok = der_begin(response, 0xA0);
        der_end(response, ok);
    } else {
        der_put_int64(response, 0x81, error);
    }
    der_end(response, outer);
    return der_writer_status(response);
}

/* The trusted CI whose key verifies the CRL, or NULL. */
static const rsp_certificate *crl_issuer(const euicc *e, const rsp_crl *crl)
{
    size_t ci_count = 0;
    const rsp_certificate *const *cis = euicc_ci_certificates(e, &ci_count);
    X509_CRL *x509_crl = rsp_crl_x509(crl);
    for (size_t i = 0; i < ci_count; i++) {
        X509 *ci = rsp_certificate_x509(cis[i]);
        if (X509_NAME_cmp(X509_CRL_get_issuer(x509_crl), X509_get_subject_name(ci)) == 0 &&
            X509_CRL_verify(x509_crl, X509_get0_pubkey(ci)) == 1)
            return cis[i];
    }
    return NULL;
}

/* crlNumber of a CRL (RFC 5280 section 5.2.3), -1 when absent. */
static int64_t crl_number(const rsp_crl *crl)
{
    ASN1_INTEGER *number = X509_CRL_get_ext_d2i(rsp_crl_x509(crl), NID_crl_number, NULL, NULL);
    int64_t value = -1;
    if (number != NULL && ASN1_INTEGER_get_int64(&value, number) != 1)
        value = -1;
    ASN1_INTEGER_free(number);
    return value;
}

/* Where a new CRL goes: *index of the stored CRL of the same issuer it replaces (or the
 * count, to append). Refuses a CRL not newer than the stored one of its issuer. */
static int64_t crl_slot(const euicc *e, const rsp_crl *crl, size_t *index)
{
    const euicc_state *state = euicc_get_state_const(e);
    size_t count = euicc_state_count(state, EUICC_LIST_CRLS);
    *index = count;
    for (size_t i = 0; i < count; i++) {
        der_view der = euicc_state_get(state, EUICC_LIST_CRLS, i);
        rsp_crl *stored = NULL;
        rsp_error err = {0};
        if (rsp_crl_load(der.data, der.len, &stored, &err) != RSP_OK)
            continue;
        bool same_issuer = X509_NAME_cmp(X509_CRL_get_issuer(rsp_crl_x509(stored)),
                                         X509_CRL_get_issuer(rsp_crl_x509(crl))) == 0;
        bool fresher = crl_number(stored) >= crl_number(crl);
        rsp_crl_free(stored);
        if (same_issuer && fresher)
            return SGP22_LOAD_CRL_ERROR_FRESHER_CRL_ALREADY_LOADED;
        if (same_issuer)
            *index = i;
    }
    return 0;
}

/* SGP.22 v2.5 section 5.7.12 ES10b.LoadCRL: a CRL signed by a trusted CI replaces the older
 * one of its issuer and is used for every later SM-DP+ certificate check. */
rsp_status es10b_load_crl(euicc *e, unsigned channel, der_view command, der_writer *response)
{
    (void)channel;
    sgp22_load_crl_request request;
    rsp_error err = {0};
    rsp_status status = schema_decode(&sgp22_load_crl_request_type, command, &request, NULL, &err);
    if (status != RSP_OK)
        return status;
    /* [0] IMPLICIT CertificateList: the same bytes with the SEQUENCE tag */
    uint8_t *der = malloc(request.crl.len);
    if (der == NULL)
        return RSP_ERR_NO_MEMORY;
    memcpy(der, request.crl.data, request.crl.len);
    der[0] = 0x30;
    rsp_crl *crl = NULL;
    int64_t error = 0;
    if (rsp_crl_load(der, request.crl.len, &crl, &err) != RSP_OK)
        error = SGP22_LOAD_CRL_ERROR_INVALID_CRL_FORMAT;
    else if (crl_issuer(e, crl) == NULL)
        error = SGP22_LOAD_CRL_ERROR_INVALID_SIGNATURE;
    size_t index = 0;
    if (error == 0)
        error = crl_slot(e, crl, &index);
    euicc_state *state = euicc_get_state(e);
    der_view stored = der_view_make(der, request.crl.len);
    if (error == 0)
        status = index < euicc_state_count(state, EUICC_LIST_CRLS)
                     ? euicc_state_replace(state, EUICC_LIST_CRLS, index, stored)
                     : euicc_state_append(state, EUICC_LIST_CRLS, stored);
    rsp_crl_free(crl);
    free(der);
    if (status == RSP_ERR_NO_MEMORY)
        error = SGP22_LOAD_CRL_ERROR_NOT_ENOUGH_MEMORY_SPACE;
    else if (status != RSP_OK)
        return status;
    return load_crl_answer(response, error);
}
