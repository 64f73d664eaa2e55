/* eIM-side eUICC Package core: build + sign requests, verify results (SGP.32 v1.2 sections
 * 2.11.1 and 2.11.2). */
#include "eim/package.h"

#include <stdio.h>
#include <string.h>

#include "crypto/signature_gsma.h"

#define TAG_ALTERNATIVE_RESULT_SIGNED  0xA0
#define TAG_ALTERNATIVE_ERROR_SIGNED   0xA1
#define TAG_ALTERNATIVE_ERROR_UNSIGNED 0xA2

static const int64_t *header_token(const eim_package_header *header)
{
    return header->has_association_token ? &header->association_token : NULL;
}

static der_view header_transaction_id(const eim_package_header *header)
{
    return der_view_make(header->transaction_id, header->transaction_id_len);
}

static rsp_status check_header(const eim_package_header *header, rsp_error *err)
{
    if (header == NULL || header->eim_id == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "no package header / eimId");
    size_t id_len = strlen(header->eim_id);
    if (id_len == 0 || id_len > 128)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "eimId must be 1..128 bytes");
    if (header->transaction_id_len > EIM_TRANSACTION_ID_MAX)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0,
                             "eimTransactionId longer than 16 bytes");
    return RSP_OK;
}

/* SGP.32 v1.2 section 2.11.1.1: EuiccPackageRequest */
rsp_status eim_package_build(const rsp_private_key *eim_key, const eim_package_header *header,
                             const sgp32_euicc_package *package, der_writer *out, rsp_error *err)
{
    sgp32_euicc_package_signed signed_part;
    der_writer signed_writer;
    rsp_status status = check_header(header, err);
    if (status != RSP_OK)
        return status;
    if (package == NULL || out == NULL || eim_key == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "NULL key, package or writer");
    memset(&signed_part, 0, sizeof(signed_part));
    signed_part.eim_id = der_view_make((const uint8_t *)header->eim_id, strlen(header->eim_id));
    signed_part.eid_value = der_view_make(header->eid, EIM_EID_SIZE);
    signed_part.counter_value = header->counter_value;
    signed_part.has_eim_transaction_id = header->transaction_id_len > 0;
    signed_part.eim_transaction_id = header_transaction_id(header);
    signed_part.euicc_package = *package;

    der_writer_init_dynamic(&signed_writer, NULL);
    status = schema_encode(&sgp32_euicc_package_signed_type, &signed_part, &signed_writer);
    if (status != RSP_OK)
        rsp_error_set(err, status, 0, 0, "cannot encode EuiccPackageSigned");
    else
        status = rsp_eim_package_request_build(eim_key, der_writer_view(&signed_writer),
                                               header_token(header), out, err);
    der_writer_free(&signed_writer);
    return status;
}

/* SGP.32 v1.2 section 2.11.1.1: EuiccPackageRequest from an encoded EuiccPackage */
rsp_status eim_package_build_encoded(const rsp_private_key *eim_key,
                                     const eim_package_header *header, der_view euicc_package,
                                     der_writer *out, rsp_error *err)
{
    /* Stored packages are a few operations; the arena holds their lists. */
    uint8_t arena_buffer[4096];
    schema_arena arena;
    sgp32_euicc_package package;
    schema_arena_init(&arena, arena_buffer, sizeof(arena_buffer));
    rsp_status status =
        schema_decode(&sgp32_euicc_package_type, euicc_package, &package, &arena, err);
    if (status == RSP_OK)
        status = eim_package_build(eim_key, header, &package, out, err);
    return status;
}

/* SGP.32 v1.2 section 2.11.1.1.3: psmoList */
rsp_status eim_package_build_psmos(const rsp_private_key *eim_key, const eim_package_header *header,
                                   const sgp32_psmo *psmos, size_t count, der_writer *out,
                                   rsp_error *err)
{
    sgp32_euicc_package package;
    memset(&package, 0, sizeof(package));
    package.choice = SGP32_EUICC_PACKAGE_PSMO_LIST;
    package.u.psmo_list.count = count;
    package.u.psmo_list.items = (void *)psmos;
    return eim_package_build(eim_key, header, &package, out, err);
}

/* SGP.32 v1.2 section 2.11.1.1.2: ecoList */
rsp_status eim_package_build_ecos(const rsp_private_key *eim_key, const eim_package_header *header,
                                  const sgp32_eco *ecos, size_t count, der_writer *out,
                                  rsp_error *err)
{
    sgp32_euicc_package package;
    memset(&package, 0, sizeof(package));
    package.choice = SGP32_EUICC_PACKAGE_ECO_LIST;
    package.u.eco_list.count = count;
    package.u.eco_list.items = (void *)ecos;
    return eim_package_build(eim_key, header, &package, out, err);
}

/* ---- Result verification ------------------------------------------------------------- */

static bool transaction_matches(const eim_package_header *header, bool has_id, der_view id)
{
    if (header->transaction_id_len == 0)
        return !has_id;
    return has_id && der_view_equal(id, header_transaction_id(header));
}

static bool eim_id_matches(const eim_package_header *header, der_view eim_id)
{
    return eim_id.len == strlen(header->eim_id) &&
           memcmp(eim_id.data, header->eim_id, eim_id.len) == 0;
}

/* The certificate's serialNumber is the EID in decimal digits (SGP.22 v2.5 section
 * 4.5.2.1.0.2); the package carries it as 16 BCD octets. */
static rsp_status check_certificate_eid(const rsp_certificate *certificate, const uint8_t *eid,
                                        rsp_error *err)
{
    char certificate_eid[RSP_EID_STRING_SIZE];
    char expected[RSP_EID_STRING_SIZE];
    rsp_status status = rsp_certificate_eid(certificate, certificate_eid, err);
    if (status != RSP_OK)
        return status;
    der_hex_encode(eid, EIM_EID_SIZE, expected, true);
    if (strcmp(certificate_eid, expected) != 0)
        return rsp_error_set(err, RSP_ERR_VERIFY, 0, 0,
                             "eUICC certificate is for EID %s, the package for %s", certificate_eid,
                             expected);
    return RSP_OK;
}

/* The fields of the decoded result the eIM matches and reports; no check. */
static void fill_outcome(const sgp32_euicc_package_result *result, eim_package_outcome *out)
{
    memset(out, 0, sizeof(*out));
    out->result = *result;
    if (result->choice == SGP32_EUICC_PACKAGE_RESULT_EUICC_PACKAGE_RESULT_SIGNED) {
        const sgp32_euicc_package_result_data_signed *data =
            &result->u.euicc_package_result_signed.euicc_package_result_data_signed;
        out->kind = EIM_RESULT_SIGNED;
        out->seq_number = data->seq_number;
        out->operations = (const sgp32_euicc_result_data *)data->euicc_result.items;
        out->operation_count = data->euicc_result.count;
        out->eim_id = data->eim_id;
        out->counter_value = data->counter_value;
        out->has_transaction_id = data->has_eim_transaction_id;
        out->transaction_id = data->eim_transaction_id;
    } else if (result->choice == SGP32_EUICC_PACKAGE_RESULT_EUICC_PACKAGE_ERROR_SIGNED) {
        const sgp32_euicc_package_error_data_signed *data =
            &result->u.euicc_package_error_signed.euicc_package_error_data_signed;
        out->kind = EIM_RESULT_ERROR_SIGNED;
        out->error_code = data->euicc_package_error_code;
        out->eim_id = data->eim_id;
        out->counter_value = data->counter_value;
        out->has_transaction_id = data->has_eim_transaction_id;
        out->transaction_id = data->eim_transaction_id;
    } else {
        const sgp32_euicc_package_error_unsigned *data = &result->u.euicc_package_error_unsigned;
        out->kind = EIM_RESULT_ERROR_UNSIGNED;
        out->eim_id = data->eim_id;
        out->has_transaction_id = data->has_eim_transaction_id;
        out->transaction_id = data->eim_transaction_id;
    }
}

/* SGP.32 v1.2 section 2.11.2.1: euiccSignEPR / euiccSignEPE checked on a decoded result */
rsp_status eim_package_result_open(const rsp_public_key *euicc_key,
                                   const int64_t *association_token, der_view raw,
                                   const sgp32_euicc_package_result *decoded,
                                   eim_package_outcome *out, rsp_error *err)
{
    static const uint32_t alternative_tags[] = {TAG_ALTERNATIVE_RESULT_SIGNED,
                                                TAG_ALTERNATIVE_ERROR_SIGNED,
                                                TAG_ALTERNATIVE_ERROR_UNSIGNED};
    if (decoded == NULL || out == NULL || decoded->choice < 1 || decoded->choice > 3)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "no decoded result");
    fill_outcome(decoded, out);
    if (out->kind == EIM_RESULT_ERROR_UNSIGNED)
        return RSP_OK;
    if (euicc_key == NULL)
        return rsp_error_set(err, RSP_ERR_VERIFY, 0, 0, "no eUICC key to verify the result");
    uint32_t alternative = 0;
    der_view signed_data;
    rsp_status status = rsp_euicc_package_result_open(euicc_key, raw, association_token,
                                                      &alternative, &signed_data, err);
    if (status == RSP_OK && alternative != alternative_tags[decoded->choice - 1])
        status = rsp_error_set(err, RSP_ERR_VERIFY, alternative, 0,
                               "signed bytes are not the decoded result");
    return status;
}

/* SGP.32 v1.2 section 2.11.2.1: the result answers this package */
rsp_status eim_package_result_match(const eim_package_header *header,
                                    const eim_package_outcome *outcome, rsp_error *err)
{
    rsp_status status = check_header(header, err);
    if (status != RSP_OK)
        return status;
    if (!eim_id_matches(header, outcome->eim_id))
        return rsp_error_set(err, RSP_ERR_VERIFY, 0, 0, "result names another eimId");
    if (outcome->kind == EIM_RESULT_ERROR_UNSIGNED) {
        /* eimTransactionId is OPTIONAL in the unsigned error: compared when present */
        if (outcome->has_transaction_id &&
            !transaction_matches(header, true, outcome->transaction_id))
            return rsp_error_set(err, RSP_ERR_VERIFY, 0, 0, "eimTransactionId does not match");
        return RSP_OK;
    }
    if (outcome->counter_value != header->counter_value)
        return rsp_error_set(err, RSP_ERR_VERIFY, 0, 0, "result counterValue %lld, package %lld",
                             (long long)outcome->counter_value, (long long)header->counter_value);
    if (!transaction_matches(header, outcome->has_transaction_id, outcome->transaction_id))
        return rsp_error_set(err, RSP_ERR_VERIFY, 0, 0, "eimTransactionId does not match");
    return RSP_OK;
}

/* SGP.32 v1.2 section 2.11.2.1: EuiccPackageResult as the eIM checks it */
rsp_status eim_package_result_verify(const eim_result_expectation *expect, der_view result,
                                     schema_arena *arena, eim_package_outcome *out, rsp_error *err)
{
    rsp_public_key *certificate_key = NULL;
    sgp32_euicc_package_result decoded;
    if (expect == NULL || out == NULL ||
        (expect->euicc_certificate == NULL && expect->euicc_key == NULL))
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "NULL expectation or outcome");
    rsp_status status = check_header(expect->header, err);
    if (status != RSP_OK)
        return status;
    memset(out, 0, sizeof(*out));
    status = schema_decode(&sgp32_euicc_package_result_type, result, &decoded, arena, err);
    const rsp_public_key *key = expect->euicc_key;
    if (status == RSP_OK && expect->euicc_certificate != NULL) {
        status = check_certificate_eid(expect->euicc_certificate, expect->header->eid, err);
        if (status == RSP_OK)
            status = rsp_certificate_public_key(expect->euicc_certificate, &certificate_key, err);
        key = certificate_key;
    }
    if (status == RSP_OK)
        status =
            eim_package_result_open(key, header_token(expect->header), result, &decoded, out, err);
    if (status == RSP_OK)
        status = eim_package_result_match(expect->header, out, err);
    rsp_public_key_free(certificate_key);
    return status;
}

/* SGP.32 v1.2 section 2.11.1.4: EimAcknowledgements */
rsp_status eim_acknowledgements_build(const int64_t *seq_numbers, size_t count, der_writer *out)
{
    if (out == NULL || (seq_numbers == NULL && count > 0))
        return RSP_ERR_INVALID_ARGUMENT;
    schema_list list = {count, (void *)seq_numbers};
    return schema_encode(&sgp32_eim_acknowledgements_type, &list, out);
}

/* SGP.32 v1.2 section 2.11.1.2: IpaEuiccDataRequest */
rsp_status eim_ipa_euicc_data_request_build(const eim_ipa_euicc_data_request *request,
                                            der_writer *out)
{
    sgp32_ipa_euicc_data_request value;
    if (request == NULL || out == NULL || request->tag_list.data == NULL)
        return RSP_ERR_INVALID_ARGUMENT;
    memset(&value, 0, sizeof(value));
    value.tag_list = request->tag_list;
    value.has_euicc_ci_pk_identifier_to_be_used = request->euicc_ci_pk_identifier.len > 0;
    value.euicc_ci_pk_identifier_to_be_used = request->euicc_ci_pk_identifier;
    if (request->has_notification_seq_number) {
        value.has_search_criteria_notification = true;
        value.search_criteria_notification.choice = SGP32_SEARCH_CRITERIA_NOTIFICATION_SEQ_NUMBER;
        value.search_criteria_notification.u.seq_number = request->notification_seq_number;
    }
    if (request->has_package_result_seq_number) {
        value.has_search_criteria_euicc_package_result = true;
        value.search_criteria_euicc_package_result.choice =
            SGP32_SEARCH_CRITERIA_EUICC_PACKAGE_RESULT_SEQ_NUMBER;
        value.search_criteria_euicc_package_result.u.seq_number =
            request->package_result_seq_number;
    }
    value.has_eim_transaction_id = request->transaction_id.len > 0;
    value.eim_transaction_id = request->transaction_id;
    return schema_encode(&sgp32_ipa_euicc_data_request_type, &value, out);
}

/* SGP.32 v1.2 sections 2.11.1.2 and 2.11.1.3: eimTransactionId added to a stored request */
rsp_status eim_request_with_transaction(der_view request, der_view transaction_id, der_writer *out,
                                        rsp_error *err)
{
    union {
        sgp32_ipa_euicc_data_request data;
        sgp32_profile_download_trigger_request trigger;
    } value;
    uint8_t arena_buffer[4096];
    schema_arena arena;
    der_tlv tlv;
    if (out == NULL || transaction_id.len == 0 || transaction_id.len > EIM_TRANSACTION_ID_MAX)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0,
                             "eimTransactionId must be 1..16 bytes");
    rsp_status status = der_parse_single(request, &tlv, err);
    if (status != RSP_OK)
        return status;
    const schema_type *type = tlv.tag == 0xBF52   ? &sgp32_ipa_euicc_data_request_type
                              : tlv.tag == 0xBF54 ? &sgp32_profile_download_trigger_request_type
                                                  : NULL;
    if (type == NULL)
        return rsp_error_set(err, RSP_ERR_UNEXPECTED_TAG, tlv.tag, 0,
                             "not an IpaEuiccDataRequest or ProfileDownloadTriggerRequest");
    schema_arena_init(&arena, arena_buffer, sizeof(arena_buffer));
    status = schema_decode(type, request, &value, &arena, err);
    if (status != RSP_OK)
        return status;
    if (type == &sgp32_ipa_euicc_data_request_type) {
        value.data.has_eim_transaction_id = true;
        value.data.eim_transaction_id = transaction_id;
    } else {
        value.trigger.has_eim_transaction_id = true;
        value.trigger.eim_transaction_id = transaction_id;
    }
    status = schema_encode(type, &value, out);
    if (status != RSP_OK)
        rsp_error_set(err, status, tlv.tag, 0, "cannot encode the request");
    return status;
}

/* SGP.32 v1.2 section 2.11.1.3: ProfileDownloadTriggerRequest */
rsp_status eim_profile_download_trigger_build(const char *activation_code, der_view transaction_id,
                                              der_writer *out)
{
    sgp32_profile_download_trigger_request value;
    if (out == NULL || (activation_code != NULL && strlen(activation_code) > 255))
        return RSP_ERR_INVALID_ARGUMENT;
    memset(&value, 0, sizeof(value));
    value.has_profile_download_data = true;
    if (activation_code != NULL) {
        value.profile_download_data.choice = SGP32_PROFILE_DOWNLOAD_DATA_ACTIVATION_CODE;
        value.profile_download_data.u.activation_code =
            der_view_make((const uint8_t *)activation_code, strlen(activation_code));
    } else {
        value.profile_download_data.choice = SGP32_PROFILE_DOWNLOAD_DATA_CONTACT_DEFAULT_SMDP;
    }
    value.has_eim_transaction_id = transaction_id.len > 0;
    value.eim_transaction_id = transaction_id;
    return schema_encode(&sgp32_profile_download_trigger_request_type, &value, out);
}
