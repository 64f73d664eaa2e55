/* SGP.32 v1.2 eIM configuration on the eUICC: ES10b GetEimConfigurationData (BF55),
 * AddInitialEim (BF57) and GetCerts (BF56), and the eCOs addEim, deleteEim, updateEim and
 * listEim executed inside eUICC Packages. */
#include <stdlib.h>
#include <string.h>

#include "crypto/certificate.h"
#include "euicc/euicc_package.h"
#include "euicc/isdr.h"

#define TAG_SEQUENCE 0x30

long euicc_eim_find(const euicc_state *s, der_view eim_id, sgp32_eim_configuration_data *out)
{
    size_t count = euicc_state_count(s, EUICC_LIST_EIMS);
    for (size_t i = 0; i < count; i++) {
        sgp32_eim_configuration_data eim;
        rsp_error err = {0};
        if (euicc_state_decode_value(s, EUICC_LIST_EIMS, i, &sgp32_eim_configuration_data_type,
                                     &eim, NULL, &err) != RSP_OK)
            continue;
        if (der_view_equal(eim.eim_id, eim_id)) {
            if (out != NULL)
                *out = eim;
            return (long)i;
        }
    }
    return -1;
}

/* The CHOICE alternatives are implicitly tagged (A0 / A1 replace the X.509 SEQUENCE tag):
 * rebuild the plain DER before handing it to the X.509 parsers. */
static uint8_t *untagged_copy(der_view tagged)
{
    uint8_t *copy = malloc(tagged.len > 0 ? tagged.len : 1);
    if (copy != NULL && tagged.len > 0) {
        memcpy(copy, tagged.data, tagged.len);
        copy[0] = TAG_SEQUENCE;
    }
    return copy;
}

/* The DER of a named-curve SubjectPublicKeyInfo up to its uncompressed point (RFC 5480
 * section 2: id-ecPublicKey, the curve's OID, a BIT STRING of 66 bytes with no unused bits and
 * 04): DER being unique, an SPKI of 65-byte point on that curve is exactly prefix || point. */
static const uint8_t spki_prefix_p256[] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2A, 0x86, 0x48,
                                           0xCE, 0x3D, 0x02, 0x01, 0x06, 0x08, 0x2A, 0x86, 0x48,
                                           0xCE, 0x3D, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00};
static const uint8_t spki_prefix_brainpool[] = {
    0x30, 0x5A, 0x30, 0x14, 0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01, 0x06,
    0x09, 0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x07, 0x03, 0x42, 0x00};

/* An eimPublicKey in the named-curve form goes through the point (its parsed key is shared
 * process-wide by crypto/key.c): OpenSSL's SPKI decoder costs about 20 % of a simulated
 * device's CPU when every eUICC Package parses the key again. The first byte is the CHOICE's
 * implicit tag, checked by the decoder. Returns false when the key has another form. */
static bool eim_key_from_point(der_view tagged, rsp_public_key **out, rsp_status *status,
                               rsp_error *err)
{
    static const struct {
        const uint8_t *prefix;
        size_t len;
        rsp_curve curve;
    } forms[] = {{spki_prefix_p256, sizeof spki_prefix_p256, RSP_CURVE_NIST_P256},
                 {spki_prefix_brainpool, sizeof spki_prefix_brainpool, RSP_CURVE_BRAINPOOL_P256R1}};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        if (tagged.len == forms[i].len + RSP_EC_POINT_SIZE &&
            memcmp(tagged.data + 1, forms[i].prefix + 1, forms[i].len - 1) == 0) {
            *status = rsp_public_key_from_point(forms[i].curve, tagged.data + forms[i].len,
                                                RSP_EC_POINT_SIZE, out, err);
            return true;
        }
    }
    return false;
}

/* SGP.32 v1.2 section 2.11.1.1.1: eimPublicKeyData */
rsp_status euicc_eim_public_key(const sgp32_eim_configuration_data *eim, rsp_public_key **out,
                                rsp_error *err)
{
    if (!eim->has_eim_public_key_data)
        return rsp_error_set(err, RSP_ERR_NOT_FOUND, 0, 0, "eIM has no public key data");
    const sgp32_eim_public_key_data *data = &eim->eim_public_key_data;
    bool is_key = data->choice == SGP32_EIM_PUBLIC_KEY_DATA_EIM_PUBLIC_KEY;
    der_view tagged = is_key ? data->u.eim_public_key : data->u.eim_certificate;
    rsp_status from_point = RSP_OK;
    if (is_key && eim_key_from_point(tagged, out, &from_point, err))
        return from_point;
    uint8_t *plain = untagged_copy(tagged);
    if (plain == NULL)
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "no memory for the eIM key");
    rsp_status status = is_key ? rsp_public_key_from_spki(plain, tagged.len, out, err)
                               : rsp_public_key_from_certificate(plain, tagged.len, out, err);
    free(plain);
    return status;
}

static bool ci_known(const euicc *e, der_view key_id)
{
    size_t count = 0;
    const der_view *ids = euicc_ci_key_ids(e, &count);
    for (size_t i = 0; i < count; i++)
        if (der_view_equal(ids[i], key_id))
            return true;
    return false;
}

/* An eimCertificate must chain to one of the eUICC's CIs (SGP.32 v1.2 section 2.11.1.1.1
 * "ciPKUnknown"). */
static bool eim_certificate_trusted(const euicc *e, der_view tagged)
{
    rsp_certificate *certificate = NULL;
    rsp_error err = {0};
    size_t ci_count = 0;
    const rsp_certificate *const *cis = euicc_ci_certificates(e, &ci_count);
    uint8_t *plain = untagged_copy(tagged);
    bool trusted = false;
    /* shared parse: the same eIM certificate comes back with every eIM configuration change;
     * every check of the verification still runs */
    if (plain != NULL &&
        rsp_certificate_from_der_shared(plain, tagged.len, &certificate, &err) == RSP_OK) {
        rsp_cert_verify_options options;
        memset(&options, 0, sizeof(options));
        options.now = euicc_now(e);
        trusted = rsp_certificate_verify(certificate, RSP_CERT_ROLE_EIM, NULL, cis, ci_count,
                                         &options, NULL, &err) == RSP_OK;
    }
    rsp_certificate_free(certificate);
    free(plain);
    return trusted;
}

/* SGP.32 v1.2 sections 5.9.4 and 2.11.1.1.2: checks common to AddInitialEim, addEim and
 * updateEim. The codes of AddEimResult and UpdateEimResult coincide (3, 6, 7). */
void euicc_eim_check(euicc *e, const sgp32_eim_configuration_data *eim, bool update, int64_t *code)
{
    rsp_public_key *key = NULL;
    rsp_error err = {0};
    *code = SGP32_RESULT_OK;
    /* counterValue is mandatory when an eIM is added (SGP.32 v1.2 section 5.9.4) */
    if (!update && !eim->has_counter_value) {
        *code = SGP32_ADD_EIM_RESULT_COMMAND_ERROR;
        return;
    }
    if (!update && eim->has_association_token &&
        eim->association_token < EUICC_ASSOCIATION_TOKEN_REQUEST) {
        *code = SGP32_ADD_EIM_RESULT_INVALID_ASSOCIATION_TOKEN;
        return;
    }
    if (eim->has_counter_value &&
        (eim->counter_value < 0 || eim->counter_value > EUICC_EIM_COUNTER_MAX)) {
        *code = SGP32_ADD_EIM_RESULT_COUNTER_VALUE_OUT_OF_RANGE;
        return;
    }
    if (eim->has_euicc_ci_pk_id && !ci_known(e, eim->euicc_ci_pk_id)) {
        *code = SGP32_ADD_EIM_RESULT_CI_PK_UNKNOWN;
        return;
    }
    if (!eim->has_eim_public_key_data) {
        /* without a key no package of this eIM could ever be verified */
        if (!update)
            *code = SGP32_ADD_EIM_RESULT_COMMAND_ERROR;
        return;
    }
    if (euicc_eim_public_key(eim, &key, &err) != RSP_OK) {
        *code = SGP32_ADD_EIM_RESULT_COMMAND_ERROR;
        return;
    }
    rsp_public_key_free(key);
    if (eim->eim_public_key_data.choice == SGP32_EIM_PUBLIC_KEY_DATA_EIM_CERTIFICATE &&
        !eim_certificate_trusted(e, eim->eim_public_key_data.u.eim_certificate))
        *code = SGP32_ADD_EIM_RESULT_CI_PK_UNKNOWN;
}

/* SGP.32 v1.2 section 5.9.4 (CR12010): the eUICC fills the optional fields the eIM left
 * out: its first CI for signing, HTTPS retrieval, a proprietary eimId. */
static void apply_defaults(const euicc *e, sgp32_eim_configuration_data *eim, uint8_t *protocol)
{
    size_t count = 0;
    const der_view *ids = euicc_ci_key_ids(e, &count);
    if (!eim->has_eim_id_type) {
        eim->has_eim_id_type = true;
        eim->eim_id_type = SGP32_EIM_ID_TYPE_PROPRIETARY;
    }
    if (!eim->has_euicc_ci_pk_id && count > 0) {
        eim->has_euicc_ci_pk_id = true;
        eim->euicc_ci_pk_id = ids[0];
    }
    if (!eim->has_eim_supported_protocol) {
        *protocol = 0x80; /* eimRetrieveHttps */
        eim->has_eim_supported_protocol = true;
        eim->eim_supported_protocol.bytes = der_view_make(protocol, 1);
        eim->eim_supported_protocol.unused_bits = 7;
    }
}

rsp_status euicc_eim_add(euicc *e, const sgp32_eim_configuration_data *eim, bool *token_issued,
                         int64_t *token)
{
    euicc_state *s = euicc_get_state(e);
    sgp32_eim_configuration_data stored = *eim;
    uint8_t protocol = 0;
    rsp_status status = RSP_OK;
    apply_defaults(e, &stored, &protocol);
    *token_issued = eim->has_association_token;
    *token = eim->association_token;
    if (*token_issued && *token == EUICC_ASSOCIATION_TOKEN_REQUEST)
        status = euicc_state_next_counter(s, EUICC_COUNTER_ASSOCIATION_TOKEN, token);
    stored.association_token = *token;
    if (status == RSP_OK)
        status = euicc_state_append_value(s, EUICC_LIST_EIMS, &sgp32_eim_configuration_data_type,
                                          &stored);
    return status;
}

/* ---- eCOs ------------------------------------------------------------------------------ */

/* SGP.32 v1.2 section 2.11.1.1.2: addEim */
rsp_status euicc_eco_add_eim(euicc *e, const sgp32_eim_configuration_data *eim,
                             sgp32_euicc_result_data *result)
{
    euicc_state *s = euicc_get_state(e);
    int64_t code = SGP32_ADD_EIM_RESULT_OK;
    bool token_issued = false;
    int64_t token = 0;
    result->choice = SGP32_EUICC_RESULT_DATA_ADD_EIM_RESULT;
    if (euicc_eim_find(s, eim->eim_id, NULL) >= 0)
        code = SGP32_ADD_EIM_RESULT_ASSOCIATED_EIM_ALREADY_EXISTS;
    else if (euicc_state_count(s, EUICC_LIST_EIMS) >= EUICC_EIM_MAX)
        code = SGP32_ADD_EIM_RESULT_INSUFFICIENT_MEMORY;
    else
        euicc_eim_check(e, eim, false, &code);
    if (code == SGP32_ADD_EIM_RESULT_OK) {
        rsp_status status = euicc_eim_add(e, eim, &token_issued, &token);
        if (status != RSP_OK)
            return status;
    }
    if (token_issued) {
        result->u.add_eim_result.choice = SGP32_ADD_EIM_RESULT_ASSOCIATION_TOKEN;
        result->u.add_eim_result.u.association_token = token;
    } else {
        result->u.add_eim_result.choice = SGP32_ADD_EIM_RESULT_ADD_EIM_RESULT_CODE;
        result->u.add_eim_result.u.add_eim_result_code = code;
    }
    return RSP_OK;
}

/* SGP.32 v1.2 section 2.11.1.1.2: deleteEim. Deleting the last eIM is done and reported as
 * lastEimDeleted: the eUICC is then open to AddInitialEim again. */
rsp_status euicc_eco_delete_eim(euicc *e, der_view eim_id, sgp32_euicc_result_data *result)
{
    euicc_state *s = euicc_get_state(e);
    result->choice = SGP32_EUICC_RESULT_DATA_DELETE_EIM_RESULT;
    long index = euicc_eim_find(s, eim_id, NULL);
    if (index < 0) {
        result->u.delete_eim_result = SGP32_DELETE_EIM_RESULT_EIM_NOT_FOUND;
        return RSP_OK;
    }
    rsp_status status = euicc_state_remove(s, EUICC_LIST_EIMS, (size_t)index);
    if (status != RSP_OK)
        return status;
    result->u.delete_eim_result = euicc_state_count(s, EUICC_LIST_EIMS) == 0
                                      ? SGP32_DELETE_EIM_RESULT_LAST_EIM_DELETED
                                      : SGP32_DELETE_EIM_RESULT_OK;
    return RSP_OK;
}

/* SGP.32 v1.2 section 2.11.1.1.2: updateEim. Fields present replace the stored ones; the
 * association token stays the one the eUICC issued. */
rsp_status euicc_eco_update_eim(euicc *e, const sgp32_eim_configuration_data *eim,
                                sgp32_euicc_result_data *result)
{
    euicc_state *s = euicc_get_state(e);
    sgp32_eim_configuration_data stored;
    int64_t code = SGP32_UPDATE_EIM_RESULT_OK;
    result->choice = SGP32_EUICC_RESULT_DATA_UPDATE_EIM_RESULT;
    long index = euicc_eim_find(s, eim->eim_id, &stored);
    if (index < 0)
        code = SGP32_UPDATE_EIM_RESULT_EIM_NOT_FOUND;
    else
        euicc_eim_check(e, eim, true, &code);
    result->u.update_eim_result = code;
    if (code != SGP32_UPDATE_EIM_RESULT_OK)
        return RSP_OK;
    if (eim->has_eim_fqdn) {
        stored.has_eim_fqdn = true;
        stored.eim_fqdn = eim->eim_fqdn;
    }
    if (eim->has_eim_id_type) {
        stored.has_eim_id_type = true;
        stored.eim_id_type = eim->eim_id_type;
    }
    if (eim->has_counter_value) {
        stored.has_counter_value = true;
        stored.counter_value = eim->counter_value;
    }
    if (eim->has_eim_public_key_data) {
        stored.has_eim_public_key_data = true;
        stored.eim_public_key_data = eim->eim_public_key_data;
    }
    if (eim->has_trusted_public_key_data_tls) {
        stored.has_trusted_public_key_data_tls = true;
        stored.trusted_public_key_data_tls = eim->trusted_public_key_data_tls;
    }
    if (eim->has_eim_supported_protocol) {
        stored.has_eim_supported_protocol = true;
        stored.eim_supported_protocol = eim->eim_supported_protocol;
    }
    if (eim->has_euicc_ci_pk_id) {
        stored.has_euicc_ci_pk_id = true;
        stored.euicc_ci_pk_id = eim->euicc_ci_pk_id;
    }
    stored.has_indirect_profile_download =
        stored.has_indirect_profile_download || eim->has_indirect_profile_download;
    return euicc_state_replace_value(s, EUICC_LIST_EIMS, (size_t)index,
                                     &sgp32_eim_configuration_data_type, &stored);
}

/* SGP.32 v1.2 section 2.11.1.1.2: listEim */
rsp_status euicc_eco_list_eim(euicc *e, schema_arena *arena, sgp32_euicc_result_data *result)
{
    const euicc_state *s = euicc_get_state_const(e);
    size_t count = euicc_state_count(s, EUICC_LIST_EIMS);
    sgp32_eim_id_info *items = schema_arena_alloc(arena, (count > 0 ? count : 1) * sizeof(*items));
    result->choice = SGP32_EUICC_RESULT_DATA_LIST_EIM_RESULT;
    if (items == NULL) {
        result->u.list_eim_result.choice = SGP32_LIST_EIM_RESULT_LIST_EIM_ERROR;
        result->u.list_eim_result.u.list_eim_error = SGP32_LIST_EIM_ERROR_UNDEFINED_ERROR;
        return RSP_OK;
    }
    for (size_t i = 0; i < count; i++) {
        sgp32_eim_configuration_data eim;
        rsp_error err = {0};
        rsp_status status = euicc_state_decode_value(
            s, EUICC_LIST_EIMS, i, &sgp32_eim_configuration_data_type, &eim, NULL, &err);
        if (status != RSP_OK)
            return status;
        memset(&items[i], 0, sizeof(items[i]));
        items[i].eim_id = eim.eim_id;
        items[i].has_eim_id_type = eim.has_eim_id_type;
        items[i].eim_id_type = eim.eim_id_type;
    }
    result->u.list_eim_result.choice = SGP32_LIST_EIM_RESULT_EIM_ID_LIST;
    result->u.list_eim_result.u.eim_id_list.count = count;
    result->u.list_eim_result.u.eim_id_list.items = items;
    return RSP_OK;
}

/* ---- ES10b functions ------------------------------------------------------------------- */

/* SGP.32 v1.2 section 5.9.18: GetEimConfigurationData */
rsp_status es10b_get_eim_configuration_data(euicc *e, unsigned channel, der_view command,
                                            der_writer *response)
{
    (void)channel;
    sgp32_get_eim_configuration_data_request request;
    rsp_error err = {0};
    rsp_status status = schema_decode(&sgp32_get_eim_configuration_data_request_type, command,
                                      &request, NULL, &err);
    if (status != RSP_OK)
        return status;
    const euicc_state *s = euicc_get_state_const(e);
    size_t count = euicc_state_count(s, EUICC_LIST_EIMS);
    size_t outer = der_begin(response, 0xBF55);
    size_t list = der_begin(response, 0xA0);
    for (size_t i = 0; i < count; i++) {
        der_view record = euicc_state_get(s, EUICC_LIST_EIMS, i);
        if (request.has_search_criteria) {
            sgp32_eim_configuration_data eim;
            status = euicc_state_decode_value(s, EUICC_LIST_EIMS, i,
                                              &sgp32_eim_configuration_data_type, &eim, NULL, &err);
            if (status != RSP_OK)
                return status;
            if (!der_view_equal(eim.eim_id, request.search_criteria.u.eim_id))
                continue;
        }
        der_put_raw(response, record.data, record.len);
    }
    der_end(response, list);
    der_end(response, outer);
    return der_writer_status(response);
}

static rsp_status add_initial_eim_error(der_writer *response, int64_t code)
{
    sgp32_add_initial_eim_response answer;
    memset(&answer, 0, sizeof(answer));
    answer.choice = SGP32_ADD_INITIAL_EIM_RESPONSE_ADD_INITIAL_EIM_ERROR;
    answer.u.add_initial_eim_error = code;
    return schema_encode(&sgp32_add_initial_eim_response_type, &answer, response);
}

/* Every entry is checked before any is stored: the response is either one OK item per eIM
 * or a single error, so the request is all or nothing. */
static int64_t check_initial_list(euicc *e, const sgp32_eim_configuration_data *eims, size_t count)
{
    if (count == 0)
        return SGP32_ADD_INITIAL_EIM_ERROR_COMMAND_ERROR;
    if (count > EUICC_EIM_MAX)
        return SGP32_ADD_INITIAL_EIM_ERROR_INSUFFICIENT_MEMORY;
    for (size_t i = 0; i < count; i++) {
        int64_t code = SGP32_RESULT_OK;
        for (size_t j = 0; j < i; j++)
            if (der_view_equal(eims[i].eim_id, eims[j].eim_id))
                return SGP32_ADD_INITIAL_EIM_ERROR_COMMAND_ERROR;
        euicc_eim_check(e, &eims[i], false, &code);
        if (code != SGP32_RESULT_OK)
            return code;
    }
    return SGP32_RESULT_OK;
}

/* SGP.32 v1.2 section 5.9.4: AddInitialEim, only while no eIM is associated */
rsp_status es10b_add_initial_eim(euicc *e, unsigned channel, der_view command, der_writer *response)
{
    (void)channel;
    uint8_t arena_buffer[EUICC_EIM_MAX * sizeof(sgp32_eim_configuration_data) + 64];
    schema_arena arena;
    sgp32_add_initial_eim_request request;
    rsp_error err = {0};
    schema_arena_init(&arena, arena_buffer, sizeof(arena_buffer));
    rsp_status status =
        schema_decode(&sgp32_add_initial_eim_request_type, command, &request, &arena, &err);
    if (status == RSP_ERR_NO_MEMORY)
        return add_initial_eim_error(response, SGP32_ADD_INITIAL_EIM_ERROR_INSUFFICIENT_MEMORY);
    if (status != RSP_OK)
        return status;
    if (euicc_state_count(euicc_get_state_const(e), EUICC_LIST_EIMS) > 0)
        return add_initial_eim_error(response,
                                     SGP32_ADD_INITIAL_EIM_ERROR_ASSOCIATED_EIM_ALREADY_EXISTS);
    const sgp32_eim_configuration_data *eims = request.eim_configuration_data_list.items;
    size_t count = request.eim_configuration_data_list.count;
    int64_t code = check_initial_list(e, eims, count);
    if (code != SGP32_RESULT_OK)
        return add_initial_eim_error(response, code);
    size_t outer = der_begin(response, 0xBF57);
    size_t list = der_begin(response, 0xA0);
    for (size_t i = 0; i < count && status == RSP_OK; i++) {
        bool token_issued = false;
        int64_t token = 0;
        status = euicc_eim_add(e, &eims[i], &token_issued, &token);
        if (token_issued)
            der_put_int64(response, 0x84, token);
        else
            der_put_tlv(response, 0x05, NULL, 0); /* addOk NULL */
    }
    der_end(response, list);
    der_end(response, outer);
    return status != RSP_OK ? status : der_writer_status(response);
}

/* The CI that issued our EUM certificate (authorityKeyIdentifier), for GetCerts. */
static bool eum_issued_by(const euicc *e, der_view ci_key_id)
{
    der_view eum = euicc_eum_certificate_der(e);
    rsp_certificate *certificate = NULL;
    rsp_error err = {0};
    der_view authority;
    bool match = false;
    if (rsp_certificate_from_der(eum.data, eum.len, &certificate, &err) == RSP_OK &&
        rsp_certificate_authority_key_id(certificate, &authority) == RSP_OK)
        match = der_view_equal(authority, ci_key_id);
    rsp_certificate_free(certificate);
    return match;
}

/* SGP.32 v1.2 section 5.9.10: GetCerts */
rsp_status es10b_get_certs(euicc *e, unsigned channel, der_view command, der_writer *response)
{
    (void)channel;
    sgp32_get_certs_request request;
    sgp32_get_certs_response answer;
    rsp_error err = {0};
    rsp_status status = schema_decode(&sgp32_get_certs_request_type, command, &request, NULL, &err);
    if (status != RSP_OK)
        return status;
    memset(&answer, 0, sizeof(answer));
    if (request.has_euicc_ci_pk_id &&
        !(ci_known(e, request.euicc_ci_pk_id) && eum_issued_by(e, request.euicc_ci_pk_id))) {
        answer.choice = SGP32_GET_CERTS_RESPONSE_GET_CERTS_ERROR;
        answer.u.get_certs_error = SGP32_GET_CERTS_ERROR_INVALID_CI_PK_ID;
    } else {
        answer.choice = SGP32_GET_CERTS_RESPONSE_CERTS;
        answer.u.certs.eum_certificate = euicc_eum_certificate_der(e);
        answer.u.certs.euicc_certificate = euicc_certificate_der(e);
    }
    return schema_encode(&sgp32_get_certs_response_type, &answer, response);
}
