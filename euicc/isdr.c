/* ISD-R command dispatch: the table of ES10 functions and the transaction around each. */
#include "euicc/isdr.h"

#include <stddef.h>

/* SGP.22 v2.5 section 5.7 (ES10a/b/c) and SGP.32 v1.2 section 5.9 (ES10b): the first tag of
 * the STORE DATA command data names the function. */
const isdr_command isdr_commands[] = {
    /* ES10a */
    {0xBF3C, "GetEuiccConfiguredAddresses", es10a_get_euicc_configured_addresses, false},
    {0xBF3F, "SetDefaultDpAddress", es10a_set_default_dp_address, false},
    /* ES10b, SGP.22 */
    {0xBF20, "GetEUICCInfo1", es10b_get_euicc_info1, false},
    {0xBF22, "GetEUICCInfo2", es10b_get_euicc_info2, false},
    {0xBF2E, "GetEUICCChallenge", es10b_get_euicc_challenge, false},
    {0xBF38, "AuthenticateServer", es10b_authenticate_server, false},
    {0xBF21, "PrepareDownload", es10b_prepare_download, false},
    {0xBF41, "CancelSession", es10b_cancel_session, false},
    {0xBF35, "LoadCRL", es10b_load_crl, false},
    /* LoadBoundProfilePackage: the BPP arrives in segments, each its own STORE DATA sequence
     * (SGP.22 v2.5 section 5.7.6); only the first starts with BF36. */
    {0xBF36, "LoadBoundProfilePackage", es10b_load_bound_profile_package, true},
    {0xA0, "LoadBoundProfilePackage (firstSequenceOf87)", es10b_load_bound_profile_package, true},
    {0xA1, "LoadBoundProfilePackage (sequenceOf88)", es10b_load_bound_profile_package, true},
    {0xA2, "LoadBoundProfilePackage (secondSequenceOf87)", es10b_load_bound_profile_package, true},
    {0xA3, "LoadBoundProfilePackage (sequenceOf86)", es10b_load_bound_profile_package, true},
    {0x86, "LoadBoundProfilePackage (86 segment)", es10b_load_bound_profile_package, true},
    {0x87, "LoadBoundProfilePackage (87 segment)", es10b_load_bound_profile_package, true},
    {0x88, "LoadBoundProfilePackage (88 segment)", es10b_load_bound_profile_package, true},
    {0xBF28, "ListNotification", es10b_list_notification, false},
    {0xBF2B, "RetrieveNotificationsList", es10b_retrieve_notifications_list, false},
    {0xBF30, "RemoveNotificationFromList", es10b_remove_notification_from_list, false},
    {0xBF43, "GetRAT", es10b_get_rat, false},
    /* ES10c */
    {0xBF2D, "GetProfilesInfo", es10c_get_profiles_info, false},
    {0xBF31, "EnableProfile", es10c_enable_profile, false},
    {0xBF32, "DisableProfile", es10c_disable_profile, false},
    {0xBF33, "DeleteProfile", es10c_delete_profile, false},
    {0xBF34, "EuiccMemoryReset", es10c_euicc_memory_reset, false},
    {0xBF3E, "GetEID", es10c_get_eid, false},
    {0xBF29, "SetNickname", es10c_set_nickname, false},
    /* ES10b, SGP.32 v1.2 */
    {0xBF55, "GetEimConfigurationData", es10b_get_eim_configuration_data, false},
    {0xBF57, "AddInitialEim", es10b_add_initial_eim, false},
    {0xBF51, "LoadEuiccPackage", es10b_load_euicc_package, false},
    {0xBF56, "GetCerts", es10b_get_certs, false},
    {0xBF58, "ProfileRollback", es10b_profile_rollback, false},
    {0xBF59, "ConfigureImmediateProfileEnabling", es10b_configure_immediate_profile_enabling,
     false},
    {0xBF5A, "ImmediateEnable", es10b_immediate_enable, false},
    {0xBF5B, "EnableEmergencyProfile", es10b_enable_emergency_profile, false},
    {0xBF5C, "DisableEmergencyProfile", es10b_disable_emergency_profile, false},
    {0xBF5D, "ExecuteFallbackMechanism", es10b_execute_fallback_mechanism, false},
    {0xBF5E, "ReturnFromFallback", es10b_return_from_fallback, false},
    {0xBF5F, "GetConnectivityParameters", es10b_get_connectivity_parameters, false},
    {0xBF64, "EuiccMemoryReset (SGP.32)", es10b_euicc_memory_reset_sgp32, false},
    {0xBF65, "SetDefaultDpAddress (SGP.32)", es10b_set_default_dp_address_sgp32, false},
};
const size_t isdr_command_count = sizeof(isdr_commands) / sizeof(isdr_commands[0]);

const isdr_command *isdr_find(uint32_t tag)
{
    for (size_t i = 0; i < isdr_command_count; i++)
        if (isdr_commands[i].tag == tag)
            return &isdr_commands[i];
    return NULL;
}

rsp_status isdr_not_yet(euicc *e, unsigned channel, der_view command, der_writer *response)
{
    (void)e;
    (void)channel;
    (void)command;
    (void)response;
    return RSP_ERR_UNSUPPORTED;
}

/* Runs the handler inside a state transaction and commits before the response is released. */
static rsp_status run_in_transaction(euicc *e, const isdr_command *entry, unsigned channel,
                                     der_view command, der_writer *response)
{
    euicc_state *state = euicc_get_state(e);
    rsp_status status = euicc_state_begin(state);
    if (status != RSP_OK)
        return status;
    status = entry->handler(e, channel, command, response);
    if (status == RSP_OK)
        status = der_writer_status(response);
    if (status == RSP_OK && state->dirty) {
        rsp_error err = {0};
        status = euicc_state_commit(state, euicc_state_path(e), euicc_durable(e), &err);
    }
    if (status != RSP_OK)
        euicc_state_rollback(state);
    euicc_state_end(state);
    return status;
}

/* SGP.22 v2.5 section 5.7.2: one ES10 command per STORE DATA sequence. */
rsp_status isdr_dispatch(euicc *e, unsigned channel, der_view command, der_writer *response)
{
    der_reader reader;
    uint32_t tag = 0;
    der_reader_init(&reader, command, 0, 0);
    if (!der_reader_peek_tag(&reader, &tag))
        return RSP_ERR_TRUNCATED;
    const isdr_command *entry = isdr_find(tag);
    if (entry == NULL)
        return RSP_ERR_UNSUPPORTED;
    if (!entry->segment) {
        der_tlv tlv;
        rsp_error err = {0};
        rsp_status framing = der_parse_single(command, &tlv, &err);
        if (framing != RSP_OK)
            return framing;
    }
    size_t response_start = response->len;
    rsp_status status = run_in_transaction(e, entry, channel, command, response);
    if (status != RSP_OK && response->status == RSP_OK)
        response->len = response_start; /* no partial answer for a failed command */
    return status;
}
