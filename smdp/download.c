/* SM-DP+ ES9+ download protocol logic (SGP.22 v2.5 sections 3.1.3 and 5.6). */
#include "smdp/download.h"

#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/sgp22.h"
#include "crypto/ecdsa.h"
#include "crypto/random.h"
#include "smdp/binding.h"

#define DECODE_ARENA_SIZE 16384
#define TAG_SIGNATURE     0x5F37

typedef struct {
    const char *name;
    const char *subject;
    const char *reason;
} result_info;

/* SGP.22 v2.5 section 6.5.2 (ES9+ function status codes) */
static const result_info result_table[SMDP_RESULT__COUNT] = {
    [SMDP_OK] = {"ok", NULL, NULL},
    [SMDP_ERR_MALFORMED] = {"malformed request", "1.2", "2.1"},
    [SMDP_ERR_INVALID_SMDP_ADDRESS] = {"SM-DP+ address refused", "8.8.1", "3.8"},
    [SMDP_ERR_SECURITY_CONFIGURATION] = {"security configuration not supported", "8.8.2", "3.1"},
    [SMDP_ERR_UNKNOWN_TRANSACTION] = {"transaction ID unknown", "8.10.1", "3.9"},
    [SMDP_ERR_EUICC_SIGNATURE_INVALID] = {"eUICC signature invalid", "8.1", "6.1"},
    [SMDP_ERR_EUM_CERTIFICATE_INVALID] = {"EUM certificate invalid", "8.1.2", "6.1"},
    [SMDP_ERR_EUM_CERTIFICATE_EXPIRED] = {"EUM certificate expired", "8.1.2", "6.3"},
    [SMDP_ERR_EUICC_CERTIFICATE_INVALID] = {"eUICC certificate invalid", "8.1.3", "6.1"},
    [SMDP_ERR_EUICC_CERTIFICATE_EXPIRED] = {"eUICC certificate expired", "8.1.3", "6.3"},
    [SMDP_ERR_CI_PK_UNKNOWN] = {"CI public key unknown", "8.11.1", "3.9"},
    [SMDP_ERR_EID_REFUSED] = {"EID refused", "8.1.1", "3.8"},
    [SMDP_ERR_MATCHING_ID_REFUSED] = {"matching ID refused", "8.2.6", "3.8"},
    [SMDP_ERR_PROFILE_NOT_AVAILABLE] = {"profile not available", "8.2", "1.2"},
    [SMDP_ERR_CC_MISSING] = {"confirmation code missing", "8.2.7", "2.2"},
    [SMDP_ERR_CC_REFUSED] = {"confirmation code refused", "8.2.7", "3.8"},
    [SMDP_ERR_CC_RETRIES_EXCEEDED] = {"confirmation code retries exceeded", "8.2.7", "6.4"},
    [SMDP_ERR_BPP_REBINDING_REFUSED] = {"BPP rebinding refused", "8.2", "3.7"},
    [SMDP_ERR_DOWNLOAD_ORDER_EXPIRED] = {"download order expired", "8.8.5", "4.10"},
    [SMDP_ERR_EUICC_DOWNLOAD_ERROR] = {"eUICC refused the download", "8.2.10", "4.2"},
    [SMDP_ERR_INVALID_OID] = {"SM-DP+ OID invalid", "8.8", "3.10"},
    [SMDP_ERR_INTERNAL] = {"internal error", NULL, NULL},
};

const char *smdp_result_subject_code(smdp_result result)
{
    return (unsigned)result < SMDP_RESULT__COUNT ? result_table[result].subject : NULL;
}

const char *smdp_result_reason_code(smdp_result result)
{
    return (unsigned)result < SMDP_RESULT__COUNT ? result_table[result].reason : NULL;
}

const char *smdp_result_name(smdp_result result)
{
    return (unsigned)result < SMDP_RESULT__COUNT ? result_table[result].name : "unknown";
}

/* Records why the function failed and returns its status. */
static smdp_result fail(rsp_error *err, smdp_result result, const char *detail)
{
    rsp_error_set(err, result == SMDP_ERR_INTERNAL ? RSP_ERR_CRYPTO : RSP_ERR_VERIFY, 0, 0,
                  "%s: %s", smdp_result_name(result), detail);
    return result;
}

static smdp_result decode_failed(rsp_status status)
{
    return status == RSP_ERR_NO_MEMORY ? SMDP_ERR_INTERNAL : SMDP_ERR_MALFORMED;
}

static bool view_is(der_view view, const uint8_t *bytes, size_t len)
{
    return view.len == len && (len == 0 || memcmp(view.data, bytes, len) == 0);
}

static bool address_matches(der_view address, const char *expected)
{
    size_t len = strlen(expected);
    return address.len == len && strncasecmp((const char *)address.data, expected, len) == 0;
}

static bool transaction_matches(const smdp_download_session *session, der_view transaction_id)
{
    return view_is(transaction_id, session->transaction_id, SMDP_TRANSACTION_ID_SIZE);
}

/* SGP.22 v2.5 section 4.5.2.1.0.4: the SM-DP+ OID is the registeredID subjectAltName */
rsp_status smdp_certificate_oid(const rsp_certificate *certificate, uint8_t out[SMDP_OID_MAX],
                                size_t *len, rsp_error *err)
{
    GENERAL_NAMES *names =
        X509_get_ext_d2i(rsp_certificate_x509(certificate), NID_subject_alt_name, NULL, NULL);
    rsp_status status = RSP_ERR_NOT_FOUND;
    for (int i = 0; names != NULL && i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *name = sk_GENERAL_NAME_value(names, i);
        if (name->type != GEN_RID)
            continue;
        size_t oid_len = OBJ_length(name->d.registeredID);
        if (oid_len == 0 || oid_len > SMDP_OID_MAX) {
            status = RSP_ERR_BAD_VALUE;
            break;
        }
        memcpy(out, OBJ_get0_data(name->d.registeredID), oid_len);
        *len = oid_len;
        status = RSP_OK;
        break;
    }
    GENERAL_NAMES_free(names);
    if (status != RSP_OK)
        rsp_error_set(err, status, 0, 0, "certificate has no usable registeredID");
    return status;
}

/* ---- initiateAuthentication ---------------------------------------------------------- */

static bool list_contains(const schema_list *ids, der_view id)
{
    const der_view *items = ids->items;
    for (size_t i = 0; i < ids->count; i++)
        if (der_view_equal(items[i], id))
            return true;
    return false;
}

/* SGP.22 v2.5 section 3.1.2: the first CI of euiccCiPKIdListForVerification the SM-DP+ has
 * certificates under, provided the eUICC signs with a CI the SM-DP+ trusts. */
static smdp_result select_identity(const smdp_credentials *credentials,
                                   const sgp22_euicc_info1 *info, uint32_t *index, der_view *ci_id,
                                   rsp_error *err)
{
    bool can_verify_euicc = false;
    for (size_t i = 0; i < credentials->ci_count && !can_verify_euicc; i++) {
        der_view id;
        if (rsp_certificate_subject_key_id(credentials->cis[i], &id) == RSP_OK)
            can_verify_euicc = list_contains(&info->euicc_ci_pkid_list_for_signing, id);
    }
    if (!can_verify_euicc)
        return fail(err, SMDP_ERR_SECURITY_CONFIGURATION, "no trusted CI in the signing list");
    const der_view *wanted = info->euicc_ci_pkid_list_for_verification.items;
    for (size_t w = 0; w < info->euicc_ci_pkid_list_for_verification.count; w++) {
        for (size_t i = 0; i < credentials->identity_count; i++) {
            der_view id;
            if (rsp_certificate_subject_key_id(credentials->identities[i].ci, &id) == RSP_OK &&
                der_view_equal(id, wanted[w])) {
                *index = (uint32_t)i;
                *ci_id = id;
                return SMDP_OK;
            }
        }
    }
    return fail(err, SMDP_ERR_SECURITY_CONFIGURATION, "no certificate under the eUICC's CIs");
}

static smdp_result sign_to(const rsp_private_key *key, const uint8_t *data, size_t len,
                           uint8_t signature[RSP_EC_SIGNATURE_SIZE], rsp_error *err)
{
    return rsp_ecdsa_sign(key, data, len, signature, err) == RSP_OK ? SMDP_OK : SMDP_ERR_INTERNAL;
}

/* A transaction ID of a keyed SM-DP+: issue time (4 octets, seconds), index of the identity
 * (1) and random (7), then a tag: the first 4 octets of HMAC-SHA256(key, those 12). The next
 * 16 octets of that HMAC are the serverChallenge: as unpredictable as a random one to anyone
 * without the key (the tag, public, says nothing of them), and the same in every process. */
#define TRANSACTION_TAG_OFFSET 12

/* The transaction's tag and serverChallenge, from its first 12 octets. */
static rsp_status keyed_transaction(const smdp_credentials *credentials,
                                    uint8_t transaction_id[SMDP_TRANSACTION_ID_SIZE],
                                    uint8_t challenge[SMDP_CHALLENGE_SIZE])
{
    enum { TAG_SIZE = SMDP_TRANSACTION_ID_SIZE - TRANSACTION_TAG_OFFSET };
    uint8_t mac[RSP_HMAC_SHA256_SIZE];
    rsp_status status =
        rsp_hmac_sha256(credentials->transaction_key, transaction_id, TRANSACTION_TAG_OFFSET, mac);
    if (status == RSP_OK) {
        memcpy(transaction_id + TRANSACTION_TAG_OFFSET, mac, TAG_SIZE);
        memcpy(challenge, mac + TAG_SIZE, SMDP_CHALLENGE_SIZE);
    }
    OPENSSL_cleanse(mac, sizeof mac);
    return status;
}

static rsp_status new_transaction(const smdp_credentials *credentials, uint32_t identity_index,
                                  time_t now, smdp_download_session *session)
{
    if (credentials->transaction_key == NULL)
        return rsp_random_bytes(session->transaction_id, SMDP_TRANSACTION_ID_SIZE) == RSP_OK
                   ? rsp_random_bytes(session->server_challenge, SMDP_CHALLENGE_SIZE)
                   : RSP_ERR_CRYPTO;
    uint8_t *id = session->transaction_id;
    uint32_t issued = (uint32_t)now;
    id[0] = (uint8_t)(issued >> 24);
    id[1] = (uint8_t)(issued >> 16);
    id[2] = (uint8_t)(issued >> 8);
    id[3] = (uint8_t)issued;
    id[4] = (uint8_t)identity_index;
    rsp_status status = rsp_random_bytes(id + 5, TRANSACTION_TAG_OFFSET - 5);
    if (status == RSP_OK)
        status = keyed_transaction(credentials, id, session->server_challenge);
    return status;
}

/* SGP.22 v2.5 section 5.6.1 (the session initiateAuthentication left, rebuilt) */
smdp_result smdp_session_resume(const smdp_credentials *credentials, der_view transaction_id,
                                time_t now, int64_t lifetime, smdp_download_session *session,
                                rsp_error *err)
{
    memset(session, 0, sizeof *session);
    if (credentials->transaction_key == NULL || transaction_id.len != SMDP_TRANSACTION_ID_SIZE)
        return fail(err, SMDP_ERR_UNKNOWN_TRANSACTION, "not a transaction ID of this SM-DP+");
    const uint8_t *given = transaction_id.data;
    memcpy(session->transaction_id, given, TRANSACTION_TAG_OFFSET);
    if (keyed_transaction(credentials, session->transaction_id, session->server_challenge) !=
        RSP_OK)
        return fail(err, SMDP_ERR_INTERNAL, "transaction key");
    int64_t issued = (int64_t)given[0] << 24 | (int64_t)given[1] << 16 | (int64_t)given[2] << 8 |
                     (int64_t)given[3];
    uint32_t index = given[4];
    /* the tag is compared in constant time: it is what a forger would have to guess */
    if (CRYPTO_memcmp(session->transaction_id + TRANSACTION_TAG_OFFSET,
                      given + TRANSACTION_TAG_OFFSET,
                      SMDP_TRANSACTION_ID_SIZE - TRANSACTION_TAG_OFFSET) != 0 ||
        index >= credentials->identity_count)
        return fail(err, SMDP_ERR_UNKNOWN_TRANSACTION, "not a transaction ID of this SM-DP+");
    /* a minute ahead is another server's clock, not a forgery (the tag vouched for it) */
    if (issued > (int64_t)now + 60 || (int64_t)now - issued >= lifetime)
        return fail(err, SMDP_ERR_UNKNOWN_TRANSACTION, "transaction expired");
    session->identity_index = index;
    session->created = issued;
    session->state = SMDP_SESSION_INITIATED;
    return SMDP_OK;
}

/* SGP.22 v2.5 section 5.6.1 ES9+.InitiateAuthentication */
smdp_result smdp_initiate_authentication(const smdp_credentials *credentials, der_view request,
                                         time_t now, smdp_download_session *session,
                                         der_writer *response, rsp_error *err)
{
    uint8_t *arena_buffer = malloc(DECODE_ARENA_SIZE);
    if (arena_buffer == NULL)
        return fail(err, SMDP_ERR_INTERNAL, "out of memory");
    schema_arena arena;
    schema_arena_init(&arena, arena_buffer, DECODE_ARENA_SIZE);
    sgp22_initiate_authentication_request decoded;
    der_writer signed1;
    der_writer_init_dynamic(&signed1, NULL);
    smdp_result result = SMDP_OK;
    rsp_status status =
        schema_decode(&sgp22_initiate_authentication_request_type, request, &decoded, &arena, err);
    if (status != RSP_OK) {
        result = decode_failed(status);
        goto done;
    }
    if (!address_matches(decoded.smdp_address, credentials->address)) {
        result = fail(err, SMDP_ERR_INVALID_SMDP_ADDRESS, "not this SM-DP+");
        goto done;
    }
    uint32_t index = 0;
    der_view ci_id;
    result = select_identity(credentials, &decoded.euicc_info1, &index, &ci_id, err);
    if (result != SMDP_OK)
        goto done;
    const smdp_identity *identity = &credentials->identities[index];

    memset(session, 0, sizeof *session);
    session->identity_index = index;
    session->created = (int64_t)now;
    memcpy(session->euicc_challenge, decoded.euicc_challenge.data, SMDP_CHALLENGE_SIZE);
    if (new_transaction(credentials, index, now, session) != RSP_OK) {
        result = fail(err, SMDP_ERR_INTERNAL, "no random bytes");
        goto done;
    }
    sgp22_initiate_authentication_response out = {
        .choice = SGP22_INITIATE_AUTHENTICATION_RESPONSE_INITIATE_AUTHENTICATION_OK};
    sgp22_initiate_authentication_ok_es9 *ok = &out.u.initiate_authentication_ok;
    ok->transaction_id = der_view_make(session->transaction_id, SMDP_TRANSACTION_ID_SIZE);
    ok->server_signed1.transaction_id = ok->transaction_id;
    ok->server_signed1.euicc_challenge =
        der_view_make(session->euicc_challenge, SMDP_CHALLENGE_SIZE);
    ok->server_signed1.server_address =
        der_view_make((const uint8_t *)credentials->address, strlen(credentials->address));
    ok->server_signed1.server_challenge =
        der_view_make(session->server_challenge, SMDP_CHALLENGE_SIZE);
    uint8_t signature[RSP_EC_SIGNATURE_SIZE];
    if (schema_encode(&sgp22_server_signed1_type, &ok->server_signed1, &signed1) != RSP_OK) {
        result = fail(err, SMDP_ERR_INTERNAL, "cannot encode serverSigned1");
        goto done;
    }
    result = sign_to(identity->dpauth_key, signed1.buf, signed1.len, signature, err);
    if (result != SMDP_OK)
        goto done;
    ok->server_signature1 = der_view_make(signature, sizeof signature);
    ok->euicc_ci_pkid_to_be_used = ci_id;
    ok->server_certificate = rsp_certificate_der(identity->dpauth_certificate);
    if (schema_encode(&sgp22_initiate_authentication_response_type, &out, response) != RSP_OK) {
        result = fail(err, SMDP_ERR_INTERNAL, "cannot encode the response");
        goto done;
    }
    session->state = SMDP_SESSION_INITIATED;
done:
    der_writer_free(&signed1);
    free(arena_buffer);
    return result;
}

/* ---- authenticateClient -------------------------------------------------------------- */

static smdp_result map_certificate_failure(const rsp_cert_verify_result *verified, rsp_error *err)
{
    bool eum = verified->failed_role == RSP_CERT_ROLE_EUM;
    switch (verified->failure) {
    case RSP_CERT_FAIL_CI_UNKNOWN:
        return fail(err, SMDP_ERR_CI_PK_UNKNOWN, "eUICC chain does not end at the agreed CI");
    case RSP_CERT_FAIL_EXPIRED:
    case RSP_CERT_FAIL_NOT_YET_VALID:
        return fail(err,
                    eum ? SMDP_ERR_EUM_CERTIFICATE_EXPIRED : SMDP_ERR_EUICC_CERTIFICATE_EXPIRED,
                    rsp_cert_failure_name(verified->failure));
    default:
        return fail(err,
                    eum ? SMDP_ERR_EUM_CERTIFICATE_INVALID : SMDP_ERR_EUICC_CERTIFICATE_INVALID,
                    rsp_cert_failure_name(verified->failure));
    }
}

/* SGP.22 v2.5 section 5.6.3 step: EUM and eUICC certificates verified up to the CI that
 * initiateAuthentication agreed on; *euicc_key and eid from the eUICC certificate. */
static smdp_result verify_euicc_chain(const smdp_credentials *credentials,
                                      const smdp_download_session *session,
                                      const sgp22_authenticate_response_ok *ok, time_t now,
                                      rsp_public_key **euicc_key, char eid[RSP_EID_STRING_SIZE],
                                      rsp_error *err)
{
    rsp_certificate *eum = NULL;
    smdp_result result = SMDP_OK;
    rsp_error ignored = {0};
    /* The EUM is the same for a whole batch of eUICCs: parsed once per process (shared) */
    if (rsp_certificate_from_der_shared(ok->eum_certificate.data, ok->eum_certificate.len, &eum,
                                        &ignored) != RSP_OK)
        return fail(err, SMDP_ERR_EUM_CERTIFICATE_INVALID, "EUM certificate unreadable");
    der_view ci_id;
    if (rsp_certificate_subject_key_id(credentials->identities[session->identity_index].ci,
                                       &ci_id) != RSP_OK) {
        rsp_certificate_free(eum);
        return fail(err, SMDP_ERR_INTERNAL, "CI without key identifier");
    }
    rsp_cert_verify_options options = {.now = now,
                                       .crls = credentials->crls,
                                       .crl_count = credentials->crl_count,
                                       .allowed_ci_ids = &ci_id,
                                       .allowed_ci_id_count = 1};
    rsp_cert_verify_result verified = {0};
    rsp_euicc_identity identity;
    if (rsp_euicc_certificate_verify(ok->euicc_certificate, eum, credentials->cis,
                                     credentials->ci_count, &options, &verified, &identity,
                                     &ignored) != RSP_OK)
        result = map_certificate_failure(&verified, err);
    else {
        memcpy(eid, identity.eid, RSP_EID_STRING_SIZE);
        *euicc_key = identity.key;
    }
    rsp_certificate_free(eum);
    return result;
}

/* Signature over data || 5F37 TLV of a previous signature (SGP.22 v2.5 sections 5.7.5). */
static rsp_status signed_with_previous(der_view data, const uint8_t *previous, der_writer *out)
{
    der_put_raw(out, data.data, data.len);
    der_put_tlv(out, TAG_SIGNATURE, previous, RSP_EC_SIGNATURE_SIZE);
    return der_writer_status(out);
}

static smdp_result verify_euicc_signature(const smdp_download_session *session, der_view data,
                                          der_view signature, rsp_error *err)
{
    rsp_public_key *key = NULL;
    rsp_error ignored = {0};
    smdp_result result = SMDP_ERR_EUICC_SIGNATURE_INVALID;
    if (rsp_public_key_from_point((rsp_curve)session->euicc_curve, session->euicc_public_point,
                                  RSP_EC_POINT_SIZE, &key, &ignored) == RSP_OK &&
        rsp_ecdsa_verify(key, data.data, data.len, signature.data, signature.len, &ignored) ==
            RSP_OK)
        result = SMDP_OK;
    rsp_public_key_free(key);
    if (result != SMDP_OK)
        fail(err, result, "signature does not verify");
    return result;
}

static smdp_result check_signed1(const smdp_credentials *credentials,
                                 const smdp_download_session *session,
                                 const sgp22_euicc_signed1 *signed1, rsp_error *err)
{
    /* SGP.22 v2.5 section 5.6.3: the eUICC signed what this session sent it */
    if (!transaction_matches(session, signed1->transaction_id))
        return fail(err, SMDP_ERR_UNKNOWN_TRANSACTION, "euiccSigned1 transactionId");
    if (!address_matches(signed1->server_address, credentials->address))
        return fail(err, SMDP_ERR_INVALID_SMDP_ADDRESS, "euiccSigned1 serverAddress");
    if (!view_is(signed1->server_challenge, session->server_challenge, SMDP_CHALLENGE_SIZE))
        return fail(err, SMDP_ERR_EUICC_SIGNATURE_INVALID, "serverChallenge mismatch");
    return SMDP_OK;
}

/* smdpSigned2 and smdpSignature2 over smdpSigned2 || euiccSignature1 (section 5.6.3) */
static smdp_result build_authenticate_client_ok(const smdp_credentials *credentials,
                                                smdp_download_session *session,
                                                const smdp_order *order, der_writer *response,
                                                rsp_error *err)
{
    const smdp_identity *identity = &credentials->identities[session->identity_index];
    der_writer metadata;
    der_writer to_sign;
    der_writer_init_dynamic(&metadata, NULL);
    der_writer_init_dynamic(&to_sign, NULL);
    uint8_t arena_buffer[1024];
    schema_arena arena;
    schema_arena_init(&arena, arena_buffer, sizeof arena_buffer);
    smdp_result result = SMDP_OK;
    sgp22_authenticate_client_response_es9 out = {
        .choice = SGP22_AUTHENTICATE_CLIENT_RESPONSE_ES9_AUTHENTICATE_CLIENT_OK};
    sgp22_authenticate_client_ok *ok = &out.u.authenticate_client_ok;
    ok->transaction_id = der_view_make(session->transaction_id, SMDP_TRANSACTION_ID_SIZE);
    if (smdp_metadata_build(order, credentials->address, &metadata, err) != RSP_OK ||
        schema_decode(&sgp22_store_metadata_request_type, der_writer_view(&metadata),
                      &ok->profile_meta_data, &arena, err) != RSP_OK) {
        result = fail(err, SMDP_ERR_INTERNAL, "cannot build the profile metadata");
        goto done;
    }
    ok->smdp_signed2.transaction_id = ok->transaction_id;
    ok->smdp_signed2.cc_required_flag = order->cc_required;
    if (session->has_euicc_otpk) {
        ok->smdp_signed2.has_bpp_euicc_otpk = true;
        ok->smdp_signed2.bpp_euicc_otpk = der_view_make(session->euicc_otpk, RSP_EC_POINT_SIZE);
    }
    /* smdpSigned2 followed by the euiccSignature1 data object */
    if (schema_encode(&sgp22_smdp_signed2_type, &ok->smdp_signed2, &to_sign) != RSP_OK ||
        (der_put_tlv(&to_sign, TAG_SIGNATURE, session->euicc_signature1, RSP_EC_SIGNATURE_SIZE),
         der_writer_status(&to_sign)) != RSP_OK) {
        result = fail(err, SMDP_ERR_INTERNAL, "cannot encode smdpSigned2");
        goto done;
    }
    result = sign_to(identity->dppb_key, to_sign.buf, to_sign.len, session->smdp_signature2, err);
    if (result != SMDP_OK)
        goto done;
    ok->smdp_signature2 = der_view_make(session->smdp_signature2, RSP_EC_SIGNATURE_SIZE);
    ok->smdp_certificate = rsp_certificate_der(identity->dppb_certificate);
    if (schema_encode(&sgp22_authenticate_client_response_es9_type, &out, response) != RSP_OK)
        result = fail(err, SMDP_ERR_INTERNAL, "cannot encode the response");
done:
    der_writer_free(&metadata);
    der_writer_free(&to_sign);
    return result;
}

static smdp_result accept_order(smdp_download_session *session, const sgp22_ctx_params1 *ctx_params,
                                const char *eid, smdp_order_lookup lookup, void *lookup_context,
                                smdp_order *order, rsp_error *err)
{
    der_view matching_id = der_view_make((const uint8_t *)"", 0);
    const sgp22_ctx_params_for_common_authentication *common =
        &ctx_params->u.ctx_params_for_common_authentication;
    if (ctx_params->choice == SGP22_CTX_PARAMS1_CTX_PARAMS_FOR_COMMON_AUTHENTICATION &&
        common->has_matching_id)
        matching_id = common->matching_id;
    if (matching_id.len > SMDP_MATCHING_ID_MAX)
        return fail(err, SMDP_ERR_MATCHING_ID_REFUSED, "matching ID too long");
    memset(order, 0, sizeof *order);
    order->profile_class = SGP22_PROFILE_CLASS_OPERATIONAL;
    if (lookup == NULL)
        return fail(err, SMDP_ERR_PROFILE_NOT_AVAILABLE, "no order source");
    smdp_result result = lookup(lookup_context, matching_id, eid, order);
    if (result != SMDP_OK)
        return fail(err, result, "no order for this request");
    if (order->eid != NULL && strcmp(order->eid, eid) != 0)
        return fail(err, SMDP_ERR_EID_REFUSED, "order bound to another EID");
    if (matching_id.len > 0)
        memcpy(session->matching_id, matching_id.data, matching_id.len);
    session->matching_id_len = (uint32_t)matching_id.len;
    return SMDP_OK;
}

/* SGP.22 v2.5 section 5.6.3 ES9+.AuthenticateClient */
smdp_result smdp_authenticate_client(const smdp_credentials *credentials,
                                     smdp_download_session *session, der_view request, time_t now,
                                     smdp_order_lookup lookup, void *lookup_context,
                                     der_writer *response, rsp_error *err)
{
    if (session->state != SMDP_SESSION_INITIATED)
        return fail(err, SMDP_ERR_UNKNOWN_TRANSACTION, "session not waiting for the client");
    uint8_t *arena_buffer = malloc(DECODE_ARENA_SIZE);
    if (arena_buffer == NULL)
        return fail(err, SMDP_ERR_INTERNAL, "out of memory");
    schema_arena arena;
    schema_arena_init(&arena, arena_buffer, DECODE_ARENA_SIZE);
    rsp_public_key *euicc_key = NULL;
    char eid[RSP_EID_STRING_SIZE] = "";
    sgp22_authenticate_client_request decoded;
    smdp_result result = SMDP_OK;
    rsp_status status =
        schema_decode(&sgp22_authenticate_client_request_type, request, &decoded, &arena, err);
    const uint32_t path[] = SGP22_PATH_EUICC_SIGNED1_IN_AUTHENTICATE_CLIENT_REQUEST;
    der_view signed_part;
    if (status == RSP_OK)
        status = sgp22_find_signed_part(request, path, SCHEMA_COUNT(path), &signed_part, err);
    if (status != RSP_OK) {
        result = decode_failed(status);
        goto done;
    }
    if (!transaction_matches(session, decoded.transaction_id)) {
        result = fail(err, SMDP_ERR_UNKNOWN_TRANSACTION, "transactionId");
        goto done;
    }
    if (decoded.authenticate_server_response.choice !=
        SGP22_AUTHENTICATE_SERVER_RESPONSE_AUTHENTICATE_RESPONSE_OK) {
        result = fail(err, SMDP_ERR_MALFORMED, "authenticateResponseError: cancel instead");
        goto done;
    }
    const sgp22_authenticate_response_ok *ok =
        &decoded.authenticate_server_response.u.authenticate_response_ok;
    result = check_signed1(credentials, session, &ok->euicc_signed1, err);
    if (result == SMDP_OK)
        result = verify_euicc_chain(credentials, session, ok, now, &euicc_key, eid, err);
    if (result != SMDP_OK)
        goto done;
    if (rsp_public_key_point(euicc_key, session->euicc_public_point) != RSP_OK ||
        rsp_ecdsa_verify(euicc_key, signed_part.data, signed_part.len, ok->euicc_signature1.data,
                         ok->euicc_signature1.len, err) != RSP_OK) {
        result = fail(err, SMDP_ERR_EUICC_SIGNATURE_INVALID, "euiccSignature1");
        goto done;
    }
    memcpy(session->euicc_signature1, ok->euicc_signature1.data, RSP_EC_SIGNATURE_SIZE);
    session->euicc_curve = (uint32_t)rsp_public_key_curve(euicc_key);
    smdp_order order;
    result = accept_order(session, &ok->euicc_signed1.ctx_params1, eid, lookup, lookup_context,
                          &order, err);
    if (result != SMDP_OK)
        goto done;
    memcpy(session->eid, eid, sizeof session->eid);
    session->cc_required = order.cc_required;
    result = build_authenticate_client_ok(credentials, session, &order, response, err);
    if (result == SMDP_OK)
        session->state = SMDP_SESSION_AUTHENTICATED;
done:
    rsp_public_key_free(euicc_key);
    free(arena_buffer);
    return result;
}

/* ---- getBoundProfilePackage ---------------------------------------------------------- */

/* SGP.22 v2.5 section 5.6.2: hashCc = SHA256(SHA256(CC) || transactionId) */
static smdp_result check_confirmation_code(const smdp_credentials *credentials,
                                           smdp_download_session *session, const smdp_order *order,
                                           const sgp22_euicc_signed2 *signed2, rsp_error *err)
{
    if (!session->cc_required)
        return SMDP_OK;
    if (!signed2->has_hash_cc)
        return fail(err, SMDP_ERR_CC_MISSING, "hashCc absent");
    const uint8_t *parts[] = {order->cc_hash, session->transaction_id};
    const size_t lens[] = {RSP_SHA256_SIZE, SMDP_TRANSACTION_ID_SIZE};
    uint8_t expected[RSP_SHA256_SIZE];
    if (rsp_sha256(parts, lens, 2, expected) != RSP_OK)
        return fail(err, SMDP_ERR_INTERNAL, "SHA-256");
    if (view_is(signed2->hash_cc, expected, sizeof expected))
        return SMDP_OK;
    unsigned retries = credentials->cc_retries ? credentials->cc_retries : SMDP_CC_RETRIES_DEFAULT;
    session->cc_attempts++;
    if (session->cc_attempts >= retries) {
        session->state = SMDP_SESSION_FAILED;
        return fail(err, SMDP_ERR_CC_RETRIES_EXCEEDED, "last confirmation code attempt");
    }
    return fail(err, SMDP_ERR_CC_REFUSED, "hashCc does not match");
}

static smdp_result bind_and_respond(const smdp_credentials *credentials,
                                    smdp_download_session *session, const smdp_order *order,
                                    der_writer *response, rsp_error *err)
{
    const smdp_identity *identity = &credentials->identities[session->identity_index];
    uint8_t eid[SMDP_EID_SIZE];
    rsp_bsp_keys ppk;
    der_writer metadata;
    der_writer_init_dynamic(&metadata, NULL);
    smdp_result result = SMDP_OK;
    if (smdp_eid_bytes(session->eid, eid, err) != RSP_OK ||
        smdp_metadata_build(order, credentials->address, &metadata, err) != RSP_OK) {
        result = fail(err, SMDP_ERR_INTERNAL, "cannot prepare binding");
        goto done;
    }
    if (order->replace_session_keys &&
        (rsp_random_bytes(ppk.s_enc, sizeof ppk.s_enc) != RSP_OK ||
         rsp_random_bytes(ppk.s_mac, sizeof ppk.s_mac) != RSP_OK ||
         rsp_random_bytes(ppk.initial_mcv, sizeof ppk.initial_mcv) != RSP_OK)) {
        result = fail(err, SMDP_ERR_INTERNAL, "no random PPK");
        goto done;
    }
    smdp_binding_input input = {
        .transaction_id = der_view_make(session->transaction_id, SMDP_TRANSACTION_ID_SIZE),
        .euicc_otpk = session->euicc_otpk,
        .eid = eid,
        .dppb_key = identity->dppb_key,
        .metadata = der_writer_view(&metadata),
        .package = order->package,
        .ppk = order->replace_session_keys ? &ppk : NULL,
    };
    size_t outer = der_begin(response, 0xBF3A);
    size_t ok = der_begin(response, 0xA0);
    der_put_tlv(response, 0x80, session->transaction_id, SMDP_TRANSACTION_ID_SIZE);
    rsp_status status = smdp_bind_profile_package_kept(&input, response, &session->binding, err);
    der_end(response, ok);
    der_end(response, outer);
    if (status != RSP_OK || der_writer_status(response) != RSP_OK)
        result = fail(err, SMDP_ERR_INTERNAL, "binding failed");
    session->has_binding = result == SMDP_OK;
done:
    rsp_bsp_keys_clear(&ppk);
    der_writer_free(&metadata);
    return result;
}

/* SGP.22 v2.5 section 3.1.3: the getBoundProfilePackage answer of a bound session again */
smdp_result smdp_bound_profile_package_again(const smdp_credentials *credentials,
                                             const smdp_download_session *session,
                                             const smdp_order *order, der_writer *response,
                                             rsp_error *err)
{
    if (session->state != SMDP_SESSION_BOUND || !session->has_binding)
        return fail(err, SMDP_ERR_UNKNOWN_TRANSACTION, "session not bound");
    uint8_t eid[SMDP_EID_SIZE];
    der_writer metadata;
    der_writer_init_dynamic(&metadata, NULL);
    smdp_result result = SMDP_OK;
    if (smdp_eid_bytes(session->eid, eid, err) != RSP_OK ||
        smdp_metadata_build(order, credentials->address, &metadata, err) != RSP_OK) {
        der_writer_free(&metadata);
        return fail(err, SMDP_ERR_INTERNAL, "cannot prepare binding");
    }
    smdp_binding_input input = {
        .transaction_id = der_view_make(session->transaction_id, SMDP_TRANSACTION_ID_SIZE),
        .eid = eid,
        .metadata = der_writer_view(&metadata),
        .package = order->package,
    };
    size_t outer = der_begin(response, 0xBF3A);
    size_t ok = der_begin(response, 0xA0);
    der_put_tlv(response, 0x80, session->transaction_id, SMDP_TRANSACTION_ID_SIZE);
    rsp_status status = smdp_rebind_profile_package(&input, &session->binding, response, err);
    der_end(response, ok);
    der_end(response, outer);
    if (status != RSP_OK || der_writer_status(response) != RSP_OK)
        result = fail(err, SMDP_ERR_INTERNAL, "rebinding failed");
    der_writer_free(&metadata);
    return result;
}

/* SGP.22 v2.5 section 5.6.2 ES9+.GetBoundProfilePackage */
smdp_result smdp_get_bound_profile_package(const smdp_credentials *credentials,
                                           smdp_download_session *session, der_view request,
                                           const smdp_order *order, der_writer *response,
                                           rsp_error *err)
{
    if (session->state == SMDP_SESSION_BOUND)
        return fail(err, SMDP_ERR_BPP_REBINDING_REFUSED, "already bound in this session");
    if (session->state != SMDP_SESSION_AUTHENTICATED)
        return fail(err, SMDP_ERR_UNKNOWN_TRANSACTION, "session not authenticated");
    uint8_t arena_buffer[512];
    schema_arena arena;
    schema_arena_init(&arena, arena_buffer, sizeof arena_buffer);
    sgp22_get_bound_profile_package_request decoded;
    der_writer to_verify;
    der_writer_init_dynamic(&to_verify, NULL);
    smdp_result result = SMDP_OK;
    const uint32_t path[] = SGP22_PATH_EUICC_SIGNED2_IN_GET_BOUND_PROFILE_PACKAGE_REQUEST;
    der_view signed_part = {0};
    rsp_status status = schema_decode(&sgp22_get_bound_profile_package_request_type, request,
                                      &decoded, &arena, err);
    if (status != RSP_OK) {
        result = decode_failed(status);
        goto done;
    }
    if (!transaction_matches(session, decoded.transaction_id)) {
        result = fail(err, SMDP_ERR_UNKNOWN_TRANSACTION, "transactionId");
        goto done;
    }
    if (decoded.prepare_download_response.choice !=
        SGP22_PREPARE_DOWNLOAD_RESPONSE_DOWNLOAD_RESPONSE_OK) {
        session->state = SMDP_SESSION_FAILED;
        result = fail(err, SMDP_ERR_EUICC_DOWNLOAD_ERROR, "downloadResponseError");
        goto done;
    }
    const sgp22_prepare_download_response_ok *ok =
        &decoded.prepare_download_response.u.download_response_ok;
    if (sgp22_find_signed_part(request, path, SCHEMA_COUNT(path), &signed_part, err) != RSP_OK ||
        signed_with_previous(signed_part, session->smdp_signature2, &to_verify) != RSP_OK) {
        result = fail(err, SMDP_ERR_MALFORMED, "euiccSigned2");
        goto done;
    }
    result =
        verify_euicc_signature(session, der_writer_view(&to_verify), ok->euicc_signature2, err);
    if (result != SMDP_OK)
        goto done;
    if (!transaction_matches(session, ok->euicc_signed2.transaction_id)) {
        result = fail(err, SMDP_ERR_UNKNOWN_TRANSACTION, "euiccSigned2 transactionId");
        goto done;
    }
    if (ok->euicc_signed2.euicc_otpk.len != RSP_EC_POINT_SIZE) {
        result = fail(err, SMDP_ERR_MALFORMED, "euiccOtpk is not an uncompressed point");
        goto done;
    }
    result = check_confirmation_code(credentials, session, order, &ok->euicc_signed2, err);
    if (result != SMDP_OK)
        goto done;
    memcpy(session->euicc_otpk, ok->euicc_signed2.euicc_otpk.data, RSP_EC_POINT_SIZE);
    session->has_euicc_otpk = true;
    result = bind_and_respond(credentials, session, order, response, err);
    if (result == SMDP_OK)
        session->state = SMDP_SESSION_BOUND;
done:
    der_writer_free(&to_verify);
    return result;
}

/* ---- handleNotification and cancelSession -------------------------------------------- */

/* SGP.22 v2.5 section 5.6.4 ES9+.HandleNotification (ProfileInstallationResult) */
smdp_result smdp_handle_install_result(const smdp_credentials *credentials,
                                       smdp_download_session *session, der_view notification,
                                       rsp_error *err)
{
    (void)credentials;
    uint8_t arena_buffer[512];
    schema_arena arena;
    schema_arena_init(&arena, arena_buffer, sizeof arena_buffer);
    sgp22_profile_installation_result decoded;
    const uint32_t path[] = SGP22_PATH_PROFILE_INSTALLATION_RESULT_DATA;
    der_view signed_part;
    rsp_status status =
        schema_decode(&sgp22_profile_installation_result_type, notification, &decoded, &arena, err);
    if (status == RSP_OK)
        status = sgp22_find_signed_part(notification, path, SCHEMA_COUNT(path), &signed_part, err);
    if (status != RSP_OK)
        return decode_failed(status);
    const sgp22_profile_installation_result_data *data = &decoded.profile_installation_result_data;
    if (session->state != SMDP_SESSION_BOUND || !transaction_matches(session, data->transaction_id))
        return fail(err, SMDP_ERR_UNKNOWN_TRANSACTION, "no bound session for this result");
    smdp_result result = verify_euicc_signature(session, signed_part, decoded.euicc_sign_pir, err);
    if (result != SMDP_OK)
        return result;
    if (data->final_result.choice == SGP22_FINAL_RESULT_SUCCESS_RESULT) {
        session->install_success = true;
        session->state = SMDP_SESSION_INSTALLED;
    } else {
        session->install_success = false;
        session->bpp_command_id = data->final_result.u.error_result.bpp_command_id;
        session->error_reason = data->final_result.u.error_result.error_reason;
        session->state = SMDP_SESSION_FAILED;
    }
    return SMDP_OK;
}

/* SGP.22 v2.5 section 5.6.5 ES9+.CancelSession */
smdp_result smdp_cancel_session(const smdp_credentials *credentials, smdp_download_session *session,
                                der_view request, int64_t *reason, rsp_error *err)
{
    uint8_t arena_buffer[512];
    schema_arena arena;
    schema_arena_init(&arena, arena_buffer, sizeof arena_buffer);
    sgp22_cancel_session_request_es9 decoded;
    const uint32_t path[] = SGP22_PATH_EUICC_CANCEL_SESSION_SIGNED_IN_CANCEL_SESSION_REQUEST_ES9;
    der_view signed_part;
    rsp_status status =
        schema_decode(&sgp22_cancel_session_request_es9_type, request, &decoded, &arena, err);
    if (status != RSP_OK)
        return decode_failed(status);
    /* CANCELLED too: the retry of a cancellation whose answer was lost is answered again */
    if ((session->state != SMDP_SESSION_AUTHENTICATED && session->state != SMDP_SESSION_BOUND &&
         session->state != SMDP_SESSION_CANCELLED) ||
        !transaction_matches(session, decoded.transaction_id))
        return fail(err, SMDP_ERR_UNKNOWN_TRANSACTION, "no cancellable session");
    if (decoded.cancel_session_response.choice !=
        SGP22_CANCEL_SESSION_RESPONSE_CANCEL_SESSION_RESPONSE_OK) {
        /* A well-formed answer: the eUICC holds no session for this transaction (e.g.
         * invalidTransactionId after a failed installation). Unsigned, so it proves nothing
         * about a delivered BPP: a bound session waits for the signed installation result,
         * an earlier one ends. */
        *reason = SMDP_CANCEL_REASON_EUICC_ERROR;
        if (session->state == SMDP_SESSION_AUTHENTICATED)
            session->state = SMDP_SESSION_CANCELLED;
        return SMDP_OK;
    }
    if (sgp22_find_signed_part(request, path, SCHEMA_COUNT(path), &signed_part, err) != RSP_OK)
        return SMDP_ERR_MALFORMED;
    const sgp22_cancel_session_response_ok *ok =
        &decoded.cancel_session_response.u.cancel_session_response_ok;
    smdp_result result =
        verify_euicc_signature(session, signed_part, ok->euicc_cancel_session_signature, err);
    if (result != SMDP_OK)
        return result;
    if (!transaction_matches(session, ok->euicc_cancel_session_signed.transaction_id))
        return fail(err, SMDP_ERR_UNKNOWN_TRANSACTION, "signed transactionId");
    uint8_t oid[SMDP_OID_MAX];
    size_t oid_len = 0;
    if (smdp_certificate_oid(credentials->identities[session->identity_index].dpauth_certificate,
                             oid, &oid_len, err) != RSP_OK ||
        !view_is(ok->euicc_cancel_session_signed.smdp_oid, oid, oid_len))
        return fail(err, SMDP_ERR_INVALID_OID, "smdpOid is not this SM-DP+");
    *reason = ok->euicc_cancel_session_signed.reason;
    session->state = SMDP_SESSION_CANCELLED;
    return SMDP_OK;
}

rsp_status smdp_request_transaction_id(der_view request, uint8_t out[SMDP_TRANSACTION_ID_SIZE],
                                       size_t *len, rsp_error *err)
{
    der_tlv outer;
    der_tlv tlv;
    der_reader reader;
    rsp_status status = der_parse_single(request, &outer, err);
    if (status == RSP_OK)
        status = der_reader_enter(&outer, 0, &reader, err);
    if (status == RSP_OK)
        status = der_reader_next(&reader, &tlv, err);
    if (status == RSP_OK && outer.tag == 0xBF37 && tlv.tag == 0xBF27) {
        der_reader data;
        status = der_reader_enter(&tlv, 1, &data, err);
        if (status == RSP_OK)
            status = der_reader_next(&data, &tlv, err);
    }
    if (status != RSP_OK)
        return status;
    if (tlv.tag != 0x80 || tlv.value.len == 0 || tlv.value.len > SMDP_TRANSACTION_ID_SIZE)
        return rsp_error_set(err, RSP_ERR_MISSING_FIELD, tlv.tag, tlv.offset,
                             "no transactionId first");
    memcpy(out, tlv.value.data, tlv.value.len);
    *len = tlv.value.len;
    return RSP_OK;
}

/* ---- persistence ---------------------------------------------------------------------- */

/* Field tags of the stored session: [n] primitive, in this order. */
enum {
    FIELD_STATE,
    FIELD_TRANSACTION_ID,
    FIELD_EUICC_CHALLENGE,
    FIELD_SERVER_CHALLENGE,
    FIELD_IDENTITY_INDEX,
    FIELD_CREATED,
    FIELD_EID,
    FIELD_MATCHING_ID,
    FIELD_EUICC_CURVE,
    FIELD_EUICC_PUBLIC_POINT,
    FIELD_EUICC_SIGNATURE1,
    FIELD_SMDP_SIGNATURE2,
    FIELD_CC_REQUIRED,
    FIELD_CC_ATTEMPTS,
    FIELD_EUICC_OTPK,
    FIELD_INSTALL_SUCCESS,
    FIELD_BPP_COMMAND_ID,
    FIELD_ERROR_REASON,
    FIELD_BINDING, /* optional, last: absent in sessions stored before it existed */
};

/* The binding secrets as one value: host ID, otPK.DP.ECKA, smdpSign, S-ENC, S-MAC, initial MCV,
 * then the three PPK values when there are PPKs. */
#define BINDING_SIZE_KEYS (3 * RSP_BSP_KEY_SIZE)
#define BINDING_SIZE                                                                               \
    (SMDP_HOST_ID_SIZE + RSP_EC_POINT_SIZE + RSP_EC_SIGNATURE_SIZE + BINDING_SIZE_KEYS)
#define BINDING_SIZE_WITH_PPK (BINDING_SIZE + BINDING_SIZE_KEYS)

static uint8_t *put_keys(uint8_t *out, const rsp_bsp_keys *keys)
{
    memcpy(out, keys->s_enc, RSP_BSP_KEY_SIZE);
    memcpy(out + RSP_BSP_KEY_SIZE, keys->s_mac, RSP_BSP_KEY_SIZE);
    memcpy(out + 2 * RSP_BSP_KEY_SIZE, keys->initial_mcv, RSP_BSP_KEY_SIZE);
    return out + BINDING_SIZE_KEYS;
}

static const uint8_t *get_keys(const uint8_t *in, rsp_bsp_keys *keys)
{
    memcpy(keys->s_enc, in, RSP_BSP_KEY_SIZE);
    memcpy(keys->s_mac, in + RSP_BSP_KEY_SIZE, RSP_BSP_KEY_SIZE);
    memcpy(keys->initial_mcv, in + 2 * RSP_BSP_KEY_SIZE, RSP_BSP_KEY_SIZE);
    return in + BINDING_SIZE_KEYS;
}

static size_t binding_encode(const smdp_binding_secrets *binding, uint8_t *out)
{
    uint8_t *p = out;
    memcpy(p, binding->host_id, SMDP_HOST_ID_SIZE);
    p += SMDP_HOST_ID_SIZE;
    memcpy(p, binding->smdp_otpk, RSP_EC_POINT_SIZE);
    p += RSP_EC_POINT_SIZE;
    memcpy(p, binding->signature, RSP_EC_SIGNATURE_SIZE);
    p += RSP_EC_SIGNATURE_SIZE;
    p = put_keys(p, &binding->session_keys);
    if (binding->has_ppk)
        p = put_keys(p, &binding->ppk);
    return (size_t)(p - out);
}

static rsp_status binding_decode(der_view value, smdp_binding_secrets *binding, rsp_error *err)
{
    if (value.len != BINDING_SIZE && value.len != BINDING_SIZE_WITH_PPK)
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "session: binding size");
    const uint8_t *p = value.data;
    memcpy(binding->host_id, p, SMDP_HOST_ID_SIZE);
    p += SMDP_HOST_ID_SIZE;
    memcpy(binding->smdp_otpk, p, RSP_EC_POINT_SIZE);
    p += RSP_EC_POINT_SIZE;
    memcpy(binding->signature, p, RSP_EC_SIGNATURE_SIZE);
    p += RSP_EC_SIGNATURE_SIZE;
    p = get_keys(p, &binding->session_keys);
    binding->has_ppk = value.len == BINDING_SIZE_WITH_PPK;
    if (binding->has_ppk)
        get_keys(p, &binding->ppk);
    return RSP_OK;
}

rsp_status smdp_download_session_encode(const smdp_download_session *session, der_writer *out)
{
    size_t mark = der_begin(out, 0x30);
    der_put_int64(out, DER_CONTEXT(FIELD_STATE), session->state);
    der_put_tlv(out, DER_CONTEXT(FIELD_TRANSACTION_ID), session->transaction_id,
                SMDP_TRANSACTION_ID_SIZE);
    der_put_tlv(out, DER_CONTEXT(FIELD_EUICC_CHALLENGE), session->euicc_challenge,
                SMDP_CHALLENGE_SIZE);
    der_put_tlv(out, DER_CONTEXT(FIELD_SERVER_CHALLENGE), session->server_challenge,
                SMDP_CHALLENGE_SIZE);
    der_put_uint64(out, DER_CONTEXT(FIELD_IDENTITY_INDEX), session->identity_index);
    der_put_int64(out, DER_CONTEXT(FIELD_CREATED), session->created);
    der_put_tlv(out, DER_CONTEXT(FIELD_EID), (const uint8_t *)session->eid,
                strnlen(session->eid, RSP_EID_DIGITS));
    der_put_tlv(out, DER_CONTEXT(FIELD_MATCHING_ID), session->matching_id,
                session->matching_id_len);
    der_put_uint64(out, DER_CONTEXT(FIELD_EUICC_CURVE), session->euicc_curve);
    der_put_tlv(out, DER_CONTEXT(FIELD_EUICC_PUBLIC_POINT), session->euicc_public_point,
                RSP_EC_POINT_SIZE);
    der_put_tlv(out, DER_CONTEXT(FIELD_EUICC_SIGNATURE1), session->euicc_signature1,
                RSP_EC_SIGNATURE_SIZE);
    der_put_tlv(out, DER_CONTEXT(FIELD_SMDP_SIGNATURE2), session->smdp_signature2,
                RSP_EC_SIGNATURE_SIZE);
    der_put_bool(out, DER_CONTEXT(FIELD_CC_REQUIRED), session->cc_required);
    der_put_uint64(out, DER_CONTEXT(FIELD_CC_ATTEMPTS), session->cc_attempts);
    der_put_tlv(out, DER_CONTEXT(FIELD_EUICC_OTPK), session->euicc_otpk,
                session->has_euicc_otpk ? RSP_EC_POINT_SIZE : 0);
    der_put_bool(out, DER_CONTEXT(FIELD_INSTALL_SUCCESS), session->install_success);
    der_put_int64(out, DER_CONTEXT(FIELD_BPP_COMMAND_ID), session->bpp_command_id);
    der_put_int64(out, DER_CONTEXT(FIELD_ERROR_REASON), session->error_reason);
    if (session->has_binding) {
        uint8_t binding[BINDING_SIZE_WITH_PPK];
        size_t len = binding_encode(&session->binding, binding);
        der_put_tlv(out, DER_CONTEXT(FIELD_BINDING), binding, len);
        memset(binding, 0, sizeof binding);
    }
    der_end(out, mark);
    return der_writer_status(out);
}

static rsp_status next_field(der_reader *reader, unsigned field, der_tlv *tlv, rsp_error *err)
{
    rsp_status status = der_reader_next(reader, tlv, err);
    if (status == RSP_OK && tlv->tag != DER_CONTEXT(field))
        status = rsp_error_set(err, RSP_ERR_UNEXPECTED_TAG, tlv->tag, tlv->offset,
                               "session: field %u expected", field);
    return status;
}

/* Copies a field of exactly len bytes (or, when up_to, at most len bytes into *got). */
static rsp_status read_bytes(der_reader *reader, unsigned field, uint8_t *out, size_t len,
                             size_t *got, rsp_error *err)
{
    der_tlv tlv;
    rsp_status status = next_field(reader, field, &tlv, err);
    if (status != RSP_OK)
        return status;
    if (got == NULL ? tlv.value.len != len : tlv.value.len > len)
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, tlv.tag, tlv.offset, "session: size");
    if (tlv.value.len > 0)
        memcpy(out, tlv.value.data, tlv.value.len);
    if (got != NULL)
        *got = tlv.value.len;
    return RSP_OK;
}

static rsp_status read_integer(der_reader *reader, unsigned field, int64_t min, int64_t max,
                               int64_t *out, rsp_error *err)
{
    der_tlv tlv;
    rsp_status status = next_field(reader, field, &tlv, err);
    if (status == RSP_OK)
        status = der_decode_int64(&tlv, out, err);
    if (status == RSP_OK && (*out < min || *out > max))
        status = rsp_error_set(err, RSP_ERR_INTEGER_RANGE, tlv.tag, tlv.offset, "session: range");
    return status;
}

static rsp_status read_flag(der_reader *reader, unsigned field, bool *out, rsp_error *err)
{
    der_tlv tlv;
    rsp_status status = next_field(reader, field, &tlv, err);
    return status == RSP_OK ? der_decode_bool(&tlv, out, err) : status;
}

rsp_status smdp_download_session_decode(der_view input, smdp_download_session *session,
                                        rsp_error *err)
{
    memset(session, 0, sizeof *session);
    der_tlv outer;
    der_reader r;
    int64_t value = 0;
    size_t len = 0;
    rsp_status status = der_parse_single(input, &outer, err);
    if (status == RSP_OK && outer.tag != 0x30)
        status = rsp_error_set(err, RSP_ERR_UNEXPECTED_TAG, outer.tag, 0, "session: not 30");
    if (status == RSP_OK)
        status = der_reader_enter(&outer, 0, &r, err);
    if (status == RSP_OK)
        status = read_integer(&r, FIELD_STATE, 0, SMDP_SESSION_CANCELLED, &value, err);
    session->state = (smdp_session_state)value;
    if (status == RSP_OK)
        status = read_bytes(&r, FIELD_TRANSACTION_ID, session->transaction_id,
                            SMDP_TRANSACTION_ID_SIZE, NULL, err);
    if (status == RSP_OK)
        status = read_bytes(&r, FIELD_EUICC_CHALLENGE, session->euicc_challenge,
                            SMDP_CHALLENGE_SIZE, NULL, err);
    if (status == RSP_OK)
        status = read_bytes(&r, FIELD_SERVER_CHALLENGE, session->server_challenge,
                            SMDP_CHALLENGE_SIZE, NULL, err);
    if (status == RSP_OK)
        status = read_integer(&r, FIELD_IDENTITY_INDEX, 0, UINT32_MAX, &value, err);
    session->identity_index = (uint32_t)value;
    if (status == RSP_OK)
        status = read_integer(&r, FIELD_CREATED, INT64_MIN, INT64_MAX, &session->created, err);
    if (status == RSP_OK)
        status = read_bytes(&r, FIELD_EID, (uint8_t *)session->eid, RSP_EID_DIGITS, &len, err);
    if (status == RSP_OK)
        status = read_bytes(&r, FIELD_MATCHING_ID, session->matching_id, SMDP_MATCHING_ID_MAX, &len,
                            err);
    session->matching_id_len = (uint32_t)len;
    if (status == RSP_OK)
        status = read_integer(&r, FIELD_EUICC_CURVE, 0, RSP_CURVE_BRAINPOOL_P256R1, &value, err);
    session->euicc_curve = (uint32_t)value;
    if (status == RSP_OK)
        status = read_bytes(&r, FIELD_EUICC_PUBLIC_POINT, session->euicc_public_point,
                            RSP_EC_POINT_SIZE, NULL, err);
    if (status == RSP_OK)
        status = read_bytes(&r, FIELD_EUICC_SIGNATURE1, session->euicc_signature1,
                            RSP_EC_SIGNATURE_SIZE, NULL, err);
    if (status == RSP_OK)
        status = read_bytes(&r, FIELD_SMDP_SIGNATURE2, session->smdp_signature2,
                            RSP_EC_SIGNATURE_SIZE, NULL, err);
    if (status == RSP_OK)
        status = read_flag(&r, FIELD_CC_REQUIRED, &session->cc_required, err);
    if (status == RSP_OK)
        status = read_integer(&r, FIELD_CC_ATTEMPTS, 0, UINT32_MAX, &value, err);
    session->cc_attempts = (uint32_t)value;
    if (status == RSP_OK)
        status =
            read_bytes(&r, FIELD_EUICC_OTPK, session->euicc_otpk, RSP_EC_POINT_SIZE, &len, err);
    if (status == RSP_OK && len != 0 && len != RSP_EC_POINT_SIZE)
        status = rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "session: euiccOtpk size");
    session->has_euicc_otpk = len == RSP_EC_POINT_SIZE;
    if (status == RSP_OK)
        status = read_flag(&r, FIELD_INSTALL_SUCCESS, &session->install_success, err);
    if (status == RSP_OK)
        status = read_integer(&r, FIELD_BPP_COMMAND_ID, 0, 127, &session->bpp_command_id, err);
    if (status == RSP_OK)
        status = read_integer(&r, FIELD_ERROR_REASON, 0, 127, &session->error_reason, err);
    if (status == RSP_OK && !der_reader_at_end(&r)) {
        der_tlv binding;
        status = next_field(&r, FIELD_BINDING, &binding, err);
        if (status == RSP_OK)
            status = binding_decode(binding.value, &session->binding, err);
        session->has_binding = status == RSP_OK;
    }
    if (status == RSP_OK)
        status = der_reader_expect_end(&r, err);
    if (status != RSP_OK)
        memset(session, 0, sizeof *session);
    return status;
}
