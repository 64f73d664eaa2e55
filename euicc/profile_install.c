/* Installation of a downloaded profile and its ProfileInstallationResult (SGP.22 v2.5
 * section 5.7.6). The whole installation happens in the command that delivers the last 86
 * segment, inside the ISD-R's state transaction: the profile and its install notification are
 * committed together, or on failure the state is rolled back and only the failure
 * notification is kept. */
#include "euicc/profile_install.h"

#include <stdlib.h>
#include <string.h>

#include "core/saip.h"
#include "core/sgp22.h"
#include "crypto/ecdsa.h"
#include "euicc/notification.h"

/* SAIP EUICCResponse { peStatus { { status ok } } }: the package was processed as a whole. */
static const uint8_t sima_response_ok[] = {0x30, 0x07, 0xA0, 0x05, 0x30, 0x03, 0x80, 0x01, 0x00};
/* NotificationEvent with only notificationInstall (bit 0) set */
static const uint8_t install_event = 0x80;

/* SGP.22 v2.5 section 5.7.6: ProfileInstallationResult signed over its data, queued as the
 * install notification and written to response. */
static rsp_status answer_result(euicc *e, euicc_download_session *session,
                                const sgp22_final_result *final_result, der_writer *response)
{
    int64_t seq_number = 0;
    rsp_status status = euicc_notification_next_seq(e, &seq_number);
    if (status != RSP_OK)
        return status;
    der_view address = der_view_make(session->server_address, session->server_address_len);
    der_view iccid = der_view_make(session->has_iccid ? session->iccid : NULL,
                                   session->has_iccid ? sizeof session->iccid : 0);
    sgp22_profile_installation_result result;
    memset(&result, 0, sizeof result);
    sgp22_profile_installation_result_data *data = &result.profile_installation_result_data;
    data->transaction_id = der_view_make(session->transaction_id, session->transaction_id_len);
    data->notification_metadata.seq_number = seq_number;
    data->notification_metadata.profile_management_operation.bytes =
        der_view_make(&install_event, 1);
    data->notification_metadata.profile_management_operation.unused_bits = 7;
    data->notification_metadata.notification_address = address;
    data->notification_metadata.has_iccid = session->has_iccid;
    data->notification_metadata.iccid = iccid;
    data->smdp_oid = der_view_make(session->smdp_oid, session->smdp_oid_len);
    data->final_result = *final_result;

    der_writer signed_data;
    der_writer pir;
    der_writer_init_dynamic(&signed_data, NULL);
    der_writer_init_dynamic(&pir, NULL);
    uint8_t signature[RSP_EC_SIGNATURE_SIZE];
    rsp_error err = {0};
    status = schema_encode(&sgp22_profile_installation_result_data_type, data, &signed_data);
    if (status == RSP_OK)
        status = rsp_ecdsa_sign(euicc_key(e), signed_data.buf, signed_data.len, signature, &err);
    if (status == RSP_OK) {
        result.euicc_sign_pir = der_view_make(signature, sizeof signature);
        status = schema_encode(&sgp22_profile_installation_result_type, &result, &pir);
    }
    if (status == RSP_OK)
        status = euicc_notification_queue(e, seq_number, SGP22_NOTIFICATION_INSTALL, address, iccid,
                                          der_writer_view(&pir));
    if (status == RSP_OK) {
        der_put_raw(response, pir.buf, pir.len);
        status = der_writer_status(response);
    }
    der_writer_free(&signed_data);
    der_writer_free(&pir);
    return status;
}

rsp_status euicc_profile_install_failed(euicc *e, euicc_download_session *session,
                                        int64_t bpp_command_id, int64_t error_reason,
                                        der_writer *response)
{
    euicc_state_rollback(euicc_get_state(e));
    sgp22_final_result final_result;
    memset(&final_result, 0, sizeof final_result);
    final_result.choice = SGP22_FINAL_RESULT_ERROR_RESULT;
    final_result.u.error_result.bpp_command_id = bpp_command_id;
    final_result.u.error_result.error_reason = error_reason;
    return answer_result(e, session, &final_result, response);
}

/* The elements of the package, as the stored profile lists them. */
static rsp_status list_elements(der_view package, euicc_stored_element **out, size_t *count)
{
    size_t total = 0;
    rsp_error err = {0};
    rsp_status status = saip_validate(package, &total, &err);
    if (status != RSP_OK)
        return status;
    euicc_stored_element *elements = calloc(total, sizeof *elements);
    if (elements == NULL)
        return RSP_ERR_NO_MEMORY;
    saip_walker walker;
    saip_walker_init(&walker, package);
    for (size_t i = 0; i < total && status == RSP_OK; i++) {
        saip_element element;
        status = saip_walker_next(&walker, &element, &err);
        elements[i].element_type = element.type;
        elements[i].offset = (int64_t)element.tlv.offset;
        elements[i].length = (int64_t)element.tlv.whole.len;
    }
    if (status != RSP_OK) {
        free(elements);
        return status;
    }
    *out = elements;
    *count = total;
    return RSP_OK;
}

/* The package header names the same ICCID as the metadata (SGP.22 v2.5 section 2.5.3). */
static bool header_matches_metadata(der_view package, der_view metadata_iccid)
{
    uint8_t arena_buffer[2048];
    schema_arena arena;
    schema_arena_init(&arena, arena_buffer, sizeof arena_buffer);
    saip_walker walker;
    saip_element first;
    saip_header header;
    char digits[21];
    uint8_t encoded[10];
    rsp_error err = {0};
    saip_walker_init(&walker, package);
    return saip_walker_next(&walker, &first, &err) == RSP_OK &&
           saip_header_decode(first.tlv.whole, &header, &arena, &err) == RSP_OK &&
           saip_iccid_digits(header.iccid, digits, &err) == RSP_OK &&
           saip_encode_iccid_ef(digits, encoded) && metadata_iccid.len == sizeof encoded &&
           memcmp(metadata_iccid.data, encoded, sizeof encoded) == 0;
}

static void record_from_metadata(euicc_profile_record *record,
                                 const sgp22_store_metadata_request *metadata)
{
    sgp32_profile_info *info = &record->info;
    info->has_iccid = true;
    info->iccid = metadata->iccid;
    info->has_profile_state = true;
    info->profile_state = SGP22_PROFILE_STATE_DISABLED;
    info->has_service_provider_name = true;
    info->service_provider_name = metadata->service_provider_name;
    info->has_profile_name = true;
    info->profile_name = metadata->profile_name;
    info->has_icon_type = metadata->has_icon_type;
    info->icon_type = metadata->icon_type;
    info->has_icon = metadata->has_icon;
    info->icon = metadata->icon;
    info->has_profile_class = true;
    info->profile_class =
        metadata->has_profile_class ? metadata->profile_class : SGP22_PROFILE_CLASS_OPERATIONAL;
    info->has_notification_configuration_info = metadata->has_notification_configuration_info;
    info->notification_configuration_info = metadata->notification_configuration_info;
    info->has_profile_owner = metadata->has_profile_owner;
    info->profile_owner = metadata->profile_owner;
    info->has_profile_policy_rules = metadata->has_profile_policy_rules;
    info->profile_policy_rules = metadata->profile_policy_rules;
    info->has_service_specific_data_stored_in_euicc =
        metadata->has_service_specific_data_stored_in_euicc;
    info->service_specific_data_stored_in_euicc = metadata->service_specific_data_stored_in_euicc;
}

/* SGP.22 v2.5 section 5.7.6: the profile is installed disabled, in a new ISD-P. */
static int64_t install(euicc *e, euicc_download_session *session, uint8_t aid[EUICC_AID_MAX],
                       size_t *aid_len)
{
    uint8_t arena_buffer[4096];
    schema_arena arena;
    schema_arena_init(&arena, arena_buffer, sizeof arena_buffer);
    sgp22_store_metadata_request metadata;
    rsp_error err = {0};
    der_view package = der_writer_view(&session->package);
    if (schema_decode(&sgp22_store_metadata_request_type, der_writer_view(&session->metadata),
                      &metadata, &arena, &err) != RSP_OK)
        return SGP22_ERROR_REASON_INCORRECT_INPUT_VALUES;
    euicc_stored_element *elements = NULL;
    size_t element_count = 0;
    rsp_status status = list_elements(package, &elements, &element_count);
    if (status == RSP_ERR_NO_MEMORY)
        return SGP22_ERROR_REASON_INSUFFICIENT_MEMORY_FOR_PROFILE;
    if (status != RSP_OK)
        return SGP22_ERROR_REASON_PE_PROCESSING_ERROR;
    int64_t reason = 0;
    euicc_state *state = euicc_get_state(e);
    if (!header_matches_metadata(package, metadata.iccid))
        reason = SGP22_ERROR_REASON_DATA_MISMATCH;
    else if (euicc_state_find_profile_by_iccid(state, metadata.iccid) >= 0)
        reason = SGP22_ERROR_REASON_ICCID_ALREADY_EXISTS_ON_EUICC;
    else if (euicc_state_allocate_isdp_aid(state, aid, aid_len) != RSP_OK)
        reason = SGP22_ERROR_REASON_INSUFFICIENT_MEMORY_FOR_PROFILE;
    if (reason == 0) {
        euicc_profile_record record;
        memset(&record, 0, sizeof record);
        record_from_metadata(&record, &metadata);
        record.info.has_isdp_aid = true;
        record.info.isdp_aid = der_view_make(aid, *aid_len);
        record.has_smdp_address = true;
        record.smdp_address = der_view_make(session->server_address, session->server_address_len);
        record.has_smdp_oid = session->smdp_oid_len > 0;
        record.smdp_oid = der_view_make(session->smdp_oid, session->smdp_oid_len);
        record.has_saip_package = true;
        record.saip_package = package;
        record.has_elements = true;
        record.elements.count = element_count;
        record.elements.items = elements;
        if (euicc_state_profile_add(state, &record) != RSP_OK)
            reason = SGP22_ERROR_REASON_INSUFFICIENT_MEMORY_FOR_PROFILE;
    }
    free(elements);
    return reason;
}

rsp_status euicc_profile_install(euicc *e, euicc_download_session *session, der_writer *response)
{
    uint8_t aid[EUICC_AID_MAX];
    size_t aid_len = 0;
    int64_t reason = install(e, session, aid, &aid_len);
    if (reason != 0)
        return euicc_profile_install_failed(e, session, SGP22_BPP_COMMAND_LOAD_PROFILE_ELEMENTS,
                                            reason, response);
    sgp22_final_result final_result;
    memset(&final_result, 0, sizeof final_result);
    final_result.choice = SGP22_FINAL_RESULT_SUCCESS_RESULT;
    final_result.u.success_result.aid = der_view_make(aid, aid_len);
    final_result.u.success_result.sima_response =
        der_view_make(sima_response_ok, sizeof sima_response_ok);
    return answer_result(e, session, &final_result, response);
}
