/* SGP.32 v1.2 forms of two SGP.22 functions: EuiccMemoryReset (BF64, with the eIM and
 * immediate-enable configuration) and SetDefaultDpAddress (BF65). */
#include <string.h>

#include "euicc/euicc_package.h"
#include "euicc/isdr.h"

static int64_t class_of(const euicc_profile_record *record)
{
    return record->info.has_profile_class ? record->info.profile_class
                                          : SGP22_PROFILE_CLASS_OPERATIONAL;
}

/* Which resetOptions bit deletes a profile of this class. A software eUICC has no
 * pre-loaded profiles: every test profile is field-loaded. */
static unsigned reset_bit_for_class(int64_t profile_class)
{
    switch (profile_class) {
    case SGP22_PROFILE_CLASS_TEST:
        return SGP32_RESET_DELETE_FIELD_LOADED_TEST_PROFILES;
    case SGP22_PROFILE_CLASS_PROVISIONING:
        return SGP32_RESET_DELETE_PROVISIONING_PROFILES;
    default:
        return SGP32_RESET_DELETE_OPERATIONAL_PROFILES;
    }
}

/* Deletes the profiles the options select, disabling the enabled one first; a reset sends
 * no notifications and obeys no profile policy rules. */
static rsp_status reset_profiles(euicc *e, const schema_bits *options, bool *deleted)
{
    const euicc_profile_operation operation = {false, true, true};
    size_t count = euicc_state_count(euicc_get_state_const(e), EUICC_LIST_PROFILES);
    rsp_status status = RSP_OK;
    for (size_t i = count; i-- > 0 && status == RSP_OK;) {
        euicc_loaded_profile profile;
        rsp_error err = {0};
        int64_t code = 0;
        status = euicc_state_profile_load(euicc_get_state_const(e), i, true, &profile, &err);
        if (status != RSP_OK)
            break;
        bool selected = schema_bits_get(options, reset_bit_for_class(class_of(&profile.record)));
        bool enabled = profile.record.info.has_profile_state &&
                       profile.record.info.profile_state == SGP22_PROFILE_STATE_ENABLED;
        euicc_loaded_profile_release(&profile);
        if (!selected)
            continue;
        if (enabled)
            status = euicc_profile_disable(e, i, &operation, &code);
        if (status == RSP_OK)
            status = euicc_profile_delete(e, i, &operation, &code);
        if (status == RSP_OK && code != SGP22_DELETE_RESULT_OK)
            status = RSP_ERR_STATE;
        *deleted = *deleted || status == RSP_OK;
    }
    return status;
}

static rsp_status clear_slot(euicc *e, euicc_slot_id slot, bool *cleared)
{
    euicc_state *s = euicc_get_state(e);
    if (euicc_state_slot(s, slot).len == 0)
        return RSP_OK;
    *cleared = true;
    return euicc_state_set_slot(s, slot, NULL, 0);
}

static rsp_status reset_eims(euicc *e, bool *deleted)
{
    euicc_state *s = euicc_get_state(e);
    rsp_status status = RSP_OK;
    while (status == RSP_OK && euicc_state_count(s, EUICC_LIST_EIMS) > 0) {
        status = euicc_state_remove(s, EUICC_LIST_EIMS, 0);
        *deleted = true;
    }
    return status;
}

/* SGP.32 v1.2 section 5.9.5: EuiccMemoryReset. resetResult covers the profile and address
 * options; the eIM and immediate-enable results are present exactly when asked for. */
rsp_status es10b_euicc_memory_reset_sgp32(euicc *e, unsigned channel, der_view command,
                                          der_writer *response)
{
    (void)channel;
    sgp32_euicc_memory_reset_request request;
    sgp32_euicc_memory_reset_response answer;
    rsp_error err = {0};
    rsp_status status =
        schema_decode(&sgp32_euicc_memory_reset_request_type, command, &request, NULL, &err);
    if (status != RSP_OK)
        return status;
    const schema_bits *options = &request.reset_options;
    memset(&answer, 0, sizeof(answer));
    answer.has_reset_eim_result = schema_bits_get(options, SGP32_RESET_EIM_CONFIG_DATA);
    answer.has_reset_immediate_enable_config_result =
        schema_bits_get(options, SGP32_RESET_IMMEDIATE_ENABLE_CONFIG);
    if (euicc_emergency_active(e)) {
        answer.reset_result = SGP32_RESET_RESULT_ECALL_ACTIVE;
        answer.reset_eim_result = SGP32_RESET_EIM_RESULT_UNDEFINED_ERROR;
        answer.reset_immediate_enable_config_result =
            SGP32_RESET_IMMEDIATE_ENABLE_CONFIG_RESULT_UNDEFINED_ERROR;
        return schema_encode(&sgp32_euicc_memory_reset_response_type, &answer, response);
    }
    bool profiles_done = false, eims_done = false, iec_present = false;
    status = reset_profiles(e, options, &profiles_done);
    if (status == RSP_OK && schema_bits_get(options, SGP32_RESET_DEFAULT_SMDP_ADDRESS))
        status = clear_slot(e, EUICC_SLOT_DEFAULT_DP, &profiles_done);
    if (status == RSP_OK && answer.has_reset_eim_result)
        status = reset_eims(e, &eims_done);
    if (status == RSP_OK && answer.has_reset_immediate_enable_config_result)
        status = clear_slot(e, EUICC_SLOT_IMMEDIATE_ENABLE, &iec_present);
    if (status == RSP_OK && profiles_done) {
        /* what a rollback or a return from fallback would go back to may be gone */
        bool unused = false;
        status = clear_slot(e, EUICC_SLOT_ROLLBACK, &unused);
        if (status == RSP_OK)
            status = clear_slot(e, EUICC_SLOT_FALLBACK, &unused);
    }
    if (status != RSP_OK) {
        euicc_state_rollback(euicc_get_state(e));
        answer.reset_result = SGP32_RESET_RESULT_UNDEFINED_ERROR;
        answer.reset_eim_result = SGP32_RESET_EIM_RESULT_UNDEFINED_ERROR;
        answer.reset_immediate_enable_config_result =
            SGP32_RESET_IMMEDIATE_ENABLE_CONFIG_RESULT_UNDEFINED_ERROR;
    } else {
        answer.reset_result =
            profiles_done ? SGP32_RESET_RESULT_OK : SGP32_RESET_RESULT_NOTHING_TO_DELETE;
        answer.reset_eim_result =
            eims_done ? SGP32_RESET_EIM_RESULT_OK : SGP32_RESET_EIM_RESULT_NOTHING_TO_DELETE;
        /* an absent configuration is already reset: nothing to report but ok */
        answer.reset_immediate_enable_config_result = SGP32_RESET_IMMEDIATE_ENABLE_CONFIG_RESULT_OK;
    }
    return schema_encode(&sgp32_euicc_memory_reset_response_type, &answer, response);
}

/* SGP.32 v1.2 section 5.9.25: SetDefaultDpAddress */
rsp_status es10b_set_default_dp_address_sgp32(euicc *e, unsigned channel, der_view command,
                                              der_writer *response)
{
    (void)channel;
    sgp32_set_default_dp_address_request request;
    sgp32_set_default_dp_address_response answer;
    rsp_error err = {0};
    rsp_status status =
        schema_decode(&sgp32_set_default_dp_address_request_type, command, &request, NULL, &err);
    if (status != RSP_OK)
        return status;
    status = euicc_state_set_slot(euicc_get_state(e), EUICC_SLOT_DEFAULT_DP,
                                  request.default_dp_address.data, request.default_dp_address.len);
    answer.set_default_dp_address_result =
        status == RSP_OK ? SGP32_SET_DEFAULT_DP_ADDRESS_RESULT_OK
                         : SGP32_SET_DEFAULT_DP_ADDRESS_RESULT_UNDEFINED_ERROR;
    if (status != RSP_OK)
        euicc_state_rollback(euicc_get_state(e));
    return schema_encode(&sgp32_set_default_dp_address_response_type, &answer, response);
}
