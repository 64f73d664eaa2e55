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

static rsp_status check_common(const eim_package_header *header, der_view eim_id,
                               int64_t counter_value, bool has_transaction_id,
                               der_view transaction_id, rsp_error *err)
{
    if (!eim_id_matches(header, eim_id))
        return rsp_error_set(err, RSP_ERR_VERIFY, 0, 0, "result names another eimId");
    if (counter_value != header->counter_value)
        return rsp_error_set(err, RSP_ERR_VERIFY, 0, 0, "result counterValue %lld, package %lld",
                             (long long)counter_value, (long long)header->counter_value);
    if (!transaction_matches(header, has_transaction_id, transaction_id))
        return rsp_error_set(err, RSP_ERR_VERIFY, 0, 0, "eimTransactionId does not match");
    return RSP_OK;
}

static rsp_status fill_outcome(const eim_package_header *header, eim_package_outcome *out,
                               rsp_error *err)
{
    const sgp32_euicc_package_result *result = &out->result;
    if (result->choice == SGP32_EUICC_PACKAGE_RESULT_EUICC_PACKAGE_RESULT_SIGNED) {
        const sgp32_euicc_package_result_data_signed *data =
            &result->u.euicc_package_result_signed.euicc_package_result_data_signed;
        out->kind = EIM_RESULT_SIGNED;
        out->seq_number = data->seq_number;
        out->operations = (const sgp32_euicc_result_data *)data->euicc_result.items;
        out->operation_count = data->euicc_result.count;
        return check_common(header, data->eim_id, data->counter_value, data->has_eim_transaction_id,
                            data->eim_transaction_id, err);
    }
    if (result->choice == SGP32_EUICC_PACKAGE_RESULT_EUICC_PACKAGE_ERROR_SIGNED) {
        const sgp32_euicc_package_error_data_signed *data =
            &result->u.euicc_package_error_signed.euicc_package_error_data_signed;
        out->kind = EIM_RESULT_ERROR_SIGNED;
        out->error_code = data->euicc_package_error_code;
        return check_common(header, data->eim_id, data->counter_value, data->has_eim_transaction_id,
                            data->eim_transaction_id, err);
    }
    const sgp32_euicc_package_error_unsigned *data = &result->u.euicc_package_error_unsigned;
    out->kind = EIM_RESULT_ERROR_UNSIGNED;
    if (!eim_id_matches(header, data->eim_id))
        return rsp_error_set(err, RSP_ERR_VERIFY, 0, 0, "unsigned error names another eimId");
    if (data->has_eim_transaction_id &&
        !transaction_matches(header, true, data->eim_transaction_id))
        return rsp_error_set(err, RSP_ERR_VERIFY, 0, 0, "eimTransactionId does not match");
    return RSP_OK;
}

/* SGP.32 v1.2 section 2.11.2.1: EuiccPackageResult as the eIM checks it */
rsp_status eim_package_result_verify(const eim_result_expectation *expect, der_view result,
                                     schema_arena *arena, eim_package_outcome *out, rsp_error *err)
{
    rsp_public_key *euicc_key = NULL;
    uint32_t alternative = 0;
    der_view signed_data;
    if (expect == NULL || expect->euicc_certificate == NULL || out == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "NULL expectation or outcome");
    rsp_status status = check_header(expect->header, err);
    if (status != RSP_OK)
        return status;
    memset(out, 0, sizeof(*out));
    status = schema_decode(&sgp32_euicc_package_result_type, result, &out->result, arena, err);
    if (status == RSP_OK)
        status = check_certificate_eid(expect->euicc_certificate, expect->header->eid, err);
    if (status == RSP_OK)
        status = rsp_certificate_public_key(expect->euicc_certificate, &euicc_key, err);
    if (status == RSP_OK)
        status = rsp_euicc_package_result_open(euicc_key, result, header_token(expect->header),
                                               &alternative, &signed_data, err);
    if (status == RSP_OK)
        status = fill_outcome(expect->header, out, err);
    rsp_public_key_free(euicc_key);
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
