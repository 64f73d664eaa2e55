/* SGP.32 version profiles, the v1.2 message catalogue, and the v1.0 -> v1.2 differences
 * (SGP.32 v1.2 Annex C and the v1.1 change history, as annotated in the public onomondo-ipa
 * SGP32Definitions.asn). */
#include "core/sgp32_version.h"

#include "core/sgp32.h"

/* Every top-level v1.2 message: (type, interface, sent by the responder) */
#define SGP32_V1_2_MESSAGES(X)                                                                     \
    X(sgp32_esipa_message_from_ipa_to_eim_type, SGP32_INTERFACE_ESIPA, false)                      \
    X(sgp32_esipa_message_from_eim_to_ipa_type, SGP32_INTERFACE_ESIPA, true)                       \
    X(sgp32_initiate_authentication_request_esipa_type, SGP32_INTERFACE_ESIPA, false)              \
    X(sgp32_initiate_authentication_response_esipa_type, SGP32_INTERFACE_ESIPA, true)              \
    X(sgp32_authenticate_client_request_esipa_type, SGP32_INTERFACE_ESIPA, false)                  \
    X(sgp32_authenticate_client_response_esipa_type, SGP32_INTERFACE_ESIPA, true)                  \
    X(sgp32_get_bound_profile_package_request_esipa_type, SGP32_INTERFACE_ESIPA, false)            \
    X(sgp32_get_bound_profile_package_response_esipa_type, SGP32_INTERFACE_ESIPA, true)            \
    X(sgp32_cancel_session_request_esipa_type, SGP32_INTERFACE_ESIPA, false)                       \
    X(sgp32_cancel_session_response_esipa_type, SGP32_INTERFACE_ESIPA, true)                       \
    X(sgp32_handle_notification_esipa_type, SGP32_INTERFACE_ESIPA, false)                          \
    X(sgp32_transfer_eim_package_response_type, SGP32_INTERFACE_ESIPA, false)                      \
    X(sgp32_transfer_eim_package_request_type, SGP32_INTERFACE_ESIPA, true)                        \
    X(sgp32_get_eim_package_request_type, SGP32_INTERFACE_ESIPA, false)                            \
    X(sgp32_get_eim_package_response_type, SGP32_INTERFACE_ESIPA, true)                            \
    X(sgp32_provide_eim_package_result_type, SGP32_INTERFACE_ESIPA, false)                         \
    X(sgp32_provide_eim_package_result_response_type, SGP32_INTERFACE_ESIPA, true)                 \
    X(sgp32_euicc_package_request_type, SGP32_INTERFACE_EIM_PACKAGE, false)                        \
    X(sgp32_euicc_package_result_type, SGP32_INTERFACE_EIM_PACKAGE, true)                          \
    X(sgp32_ipa_euicc_data_request_type, SGP32_INTERFACE_EIM_PACKAGE, false)                       \
    X(sgp32_ipa_euicc_data_response_type, SGP32_INTERFACE_EIM_PACKAGE, true)                       \
    X(sgp32_profile_download_trigger_request_type, SGP32_INTERFACE_EIM_PACKAGE, false)             \
    X(sgp32_profile_download_trigger_result_type, SGP32_INTERFACE_EIM_PACKAGE, true)               \
    X(sgp32_eim_acknowledgements_type, SGP32_INTERFACE_EIM_PACKAGE, false)                         \
    X(sgp32_get_eim_configuration_data_request_type, SGP32_INTERFACE_ES10B, false)                 \
    X(sgp32_get_eim_configuration_data_response_type, SGP32_INTERFACE_ES10B, true)                 \
    X(sgp32_get_certs_request_type, SGP32_INTERFACE_ES10B, false)                                  \
    X(sgp32_get_certs_response_type, SGP32_INTERFACE_ES10B, true)                                  \
    X(sgp32_add_initial_eim_request_type, SGP32_INTERFACE_ES10B, false)                            \
    X(sgp32_add_initial_eim_response_type, SGP32_INTERFACE_ES10B, true)                            \
    X(sgp32_profile_rollback_request_type, SGP32_INTERFACE_ES10B, false)                           \
    X(sgp32_profile_rollback_response_type, SGP32_INTERFACE_ES10B, true)                           \
    X(sgp32_configure_immediate_profile_enabling_request_type, SGP32_INTERFACE_ES10B, false)       \
    X(sgp32_configure_immediate_profile_enabling_response_type, SGP32_INTERFACE_ES10B, true)       \
    X(sgp32_immediate_enable_request_type, SGP32_INTERFACE_ES10B, false)                           \
    X(sgp32_immediate_enable_response_type, SGP32_INTERFACE_ES10B, true)                           \
    X(sgp32_enable_emergency_profile_request_type, SGP32_INTERFACE_ES10B, false)                   \
    X(sgp32_enable_emergency_profile_response_type, SGP32_INTERFACE_ES10B, true)                   \
    X(sgp32_disable_emergency_profile_request_type, SGP32_INTERFACE_ES10B, false)                  \
    X(sgp32_disable_emergency_profile_response_type, SGP32_INTERFACE_ES10B, true)                  \
    X(sgp32_execute_fallback_mechanism_request_type, SGP32_INTERFACE_ES10B, false)                 \
    X(sgp32_execute_fallback_mechanism_response_type, SGP32_INTERFACE_ES10B, true)                 \
    X(sgp32_return_from_fallback_request_type, SGP32_INTERFACE_ES10B, false)                       \
    X(sgp32_return_from_fallback_response_type, SGP32_INTERFACE_ES10B, true)                       \
    X(sgp32_get_connectivity_parameters_request_type, SGP32_INTERFACE_ES10B, false)                \
    X(sgp32_get_connectivity_parameters_response_type, SGP32_INTERFACE_ES10B, true)                \
    X(sgp32_euicc_memory_reset_request_type, SGP32_INTERFACE_ES10B, false)                         \
    X(sgp32_euicc_memory_reset_response_type, SGP32_INTERFACE_ES10B, true)                         \
    X(sgp32_set_default_dp_address_request_type, SGP32_INTERFACE_ES10B, false)                     \
    X(sgp32_set_default_dp_address_response_type, SGP32_INTERFACE_ES10B, true)                     \
    X(sgp32_ipae_activation_request_type, SGP32_INTERFACE_ES10B, false)                            \
    X(sgp32_ipae_activation_response_type, SGP32_INTERFACE_ES10B, true)                            \
    X(sgp32_retrieve_notifications_list_request_type, SGP32_INTERFACE_ES10B, false)                \
    X(sgp32_retrieve_notifications_list_response_type, SGP32_INTERFACE_ES10B, true)                \
    X(sgp32_isdr_proprietary_application_template_iot_type, SGP32_INTERFACE_ES10B, true)           \
    X(sgp32_euicc_info2_type, SGP32_INTERFACE_ES10B, true)                                         \
    X(sgp32_profile_info_list_response_type, SGP32_INTERFACE_ES10B, true)                          \
    X(sgp32_authenticate_server_response_type, SGP32_INTERFACE_ES10B, true)                        \
    X(sgp32_prepare_download_response_type, SGP32_INTERFACE_ES10B, true)                           \
    X(sgp32_cancel_session_response_type, SGP32_INTERFACE_ES10B, true)

#define AS_TYPE(TYPE, INTERFACE, RESPONSE) &TYPE,
#define AS_INFO(TYPE, INTERFACE, RESPONSE) {&TYPE, INTERFACE, RESPONSE},

const schema_type *const sgp32_messages[] = {SGP32_V1_2_MESSAGES(AS_TYPE)};
const size_t sgp32_message_count = sizeof(sgp32_messages) / sizeof(sgp32_messages[0]);

static const sgp32_message_info v1_2_messages[] = {SGP32_V1_2_MESSAGES(AS_INFO)};

/* SGP.32 v1.2 Annex C against v1.0: what a v1.0 table set has to do differently */
const sgp32_version_difference sgp32_v1_0_differences[] = {
    {"EuiccPackageSigned.eimTransactionId [2]", "named transactionId", "eimTransactionId"},
    {"EuiccPackageSigned.eimId / EimConfigurationData.eimId / EimIdInfo.eimId",
     "UTF8String, no size constraint", "UTF8String (SIZE(1..128))"},
    {"EimConfigurationData.indirectProfileDownload", "absent", "[9] NULL OPTIONAL (89)"},
    {"Psmo [7]", "configureAutoEnable {autoEnableFlag, smdpOid, smdpAddress}",
     "configureImmediateEnable {immediateEnableFlag, defaultSmdpOid, defaultSmdpAddress}"},
    {"Psmo.setFallbackAttribute / unsetFallbackAttribute / setDefaultDpAddress", "absent",
     "[8] A8 / [9] A9 / [101] BF65"},
    {"IpaEuiccDataRequest.euiccCiPKId", "SubjectKeyIdentifier euiccCiPKId",
     "OCTET STRING euiccCiPKIdentifierToBeUsed (possibly truncated)"},
    {"IpaEuiccDataRequest.searchCriteria [1]", "searchCriteria with euiccPackageResults branch",
     "searchCriteriaNotification {seqNumber, profileManagementOperation}"},
    {"IpaEuiccDataRequest.searchCriteriaEuiccPackageResult / eimTransactionId", "absent",
     "[2] A2 / [3] 83"},
    {"EuiccResultData [7]", "configureAutoEnableResult", "configureImmediateEnableResult"},
    {"EuiccResultData.setFallbackAttributeResult / unsetFallbackAttributeResult / "
     "setDefaultDpAddressResult",
     "absent", "[13] 8D / [14] 8E / [101] BF65"},
    {"EuiccPackageErrorCode", "no ecallActive", "ecallActive(104)"},
    {"EuiccPackageErrorUnsigned.eimTransactionId", "absent", "[2] 82 OPTIONAL"},
    {"EnableProfileResult / DisableProfileResult / DeleteProfileResult",
     "ok, iccidOrAidNotFound, profileNotIn...State, undefinedError",
     "adds disallowedByPolicy(3), catBusy(5), rollbackNotAvailable(20), "
     "returnFallbackProfile(21)"},
    {"AddEimResult.addEimResultCode / AddInitialEimResponse.addInitialEimError (2)",
     "unsignedEimConfigDisallowed", "associatedEimAlreadyExists"},
    {"ListEimResult.listEimError", "commandError(7), undefinedError(127)", "undefinedError(127)"},
    {"EimIdInfo.eimIdType", "[4] (84)", "[2] (82)"},
    {"IpaEuiccDataResponse error alternative", "INTEGER error code",
     "IpaEuiccDataResponseError SEQUENCE {eimTransactionId [0], ipaEuiccDataErrorCode}"},
    {"IpaEuiccData.notificationsList", "[43] RetrieveNotificationsListResponse (BF2B)",
     "[0] SEQUENCE OF PendingNotification (A0)"},
    {"IpaEuiccData.defaultSmdpAddress", "[0] (80)", "[1] (81)"},
    {"IpaEuiccData.euiccPackageResultList / eimTransactionId", "absent", "[2] A2 / [7] 87"},
    {"IpaEuiccData.ipaCapabilities", "[8] primitive (88)", "[8] constructed (A8)"},
    {"ProfileDownloadTriggerResult.profileDownloadError", "SEQUENCE {errorResponse}",
     "adds profileDownloadErrorReason [0] (80)"},
    {"EUICCInfo2 [17] [18] [19]", "rfu2, rfu3, rfu4",
     "euiccCiPKIdListForSigningV3, additionalEuiccInfo, highestSvn"},
    {"IoTSpecificInfo", "iotVersion only", "adds ecallSupported [1], fallbackSupported [2]"},
    {"EuiccMemoryResetRequest/Response", "[52] (BF34)", "[100] (BF64)"},
    {"EuiccMemoryResetRequest.resetOptions", "resetEimConfigData(3), resetAutoEnableConfig(4)",
     "deletePreLoadedTestProfiles(3), deleteProvisioningProfiles(4), resetEimConfigData(5), "
     "resetImmediateEnableConfig(6)"},
    {"EuiccMemoryResetResponse", "resetEimResult [1], resetAutoEnableConfigResult [2]",
     "all components untagged: automatic tags 80, 81, 82; resetResult adds ecallActive"},
    {"RetrieveNotificationsListResponse", "has notificationAndEprList",
     "notificationList, notificationsListResultError, euiccPackageResultList"},
    {"ImmediateEnableRequest (BF5A)", "EnableUsingDDRequest {}",
     "ImmediateEnableRequest {refreshFlag}"},
    {"ConfigureImmediateProfileEnabling (BF59)", "ConfigureAutoProfileEnabling",
     "renamed fields; result adds associatedEimAlreadyExists(2)"},
    {"GetEimConfigurationDataRequest.searchCriteria", "absent", "[0] CHOICE {eimId [0]}"},
    {"ExecuteFallbackMechanism, ReturnFromFallback, EnableEmergencyProfile, "
     "DisableEmergencyProfile, GetConnectivityParameters, SetDefaultDpAddress, IpaeActivation",
     "absent", "BF5D, BF5E, BF5B, BF5C, BF5F, BF65, BF42"},
    {"InitiateAuthenticationRequestEsipa.eimTransactionId", "absent", "[2] (82)"},
    {"InitiateAuthenticationOkEsipa.euiccCiPKIdToBeUsed", "euiccCiPKIdToBeused",
     "euiccCiPKIdentifierToBeUsed"},
    {"GetBoundProfilePackageErrorEsipa (50)", "profileMetadataMismatch", "metadataMismatch"},
    {"HandleNotificationEsipa", "untagged alternatives",
     "pendingNotification [0] (A0), provideEimPackageResult [80] (BF50)"},
    {"GetEimPackageRequest.rPLMN", "[1] (81)", "[2] (82); stateChangeCause takes [1]"},
    {"GetEimPackageResponse.eimPackageError", "noEimPackageAvailable, undefinedError",
     "adds eidNotFound(2), invalidEid(3), missingEid(4)"},
    {"ProvideEimPackageResult (BF50)", "CHOICE of results",
     "SEQUENCE {eidValue OPTIONAL, eimPackageResult CHOICE}"},
    {"ProvideEimPackageResultResponse (BF50)", "SEQUENCE {eimAcknowledgements OPTIONAL}",
     "CHOICE {eimAcknowledgements, emptyResponse, provideEimPackageResultError}"},
    {"ePRAndNotifications.notificationList", "[43] RetrieveNotificationsListResponse",
     "[0] SEQUENCE OF PendingNotification"},
    {"CompactOtherSignedNotification.eidValue", "absent", "5A OPTIONAL (v1.2 CR12008)"},
    {"euiccSignEPR / euiccSignEPE input", "signed data || eimSignature",
     "signed data || associationToken (0 when none)"},
};
const size_t sgp32_v1_0_difference_count =
    sizeof(sgp32_v1_0_differences) / sizeof(sgp32_v1_0_differences[0]);

const sgp32_version_profile sgp32_versions[] = {
    {SGP32_VERSION_1_0, "1.0", {1, 0, 0}, false, NULL, 0, NULL, 0},
    {SGP32_VERSION_1_2,
     "1.2",
     {1, 2, 0},
     true,
     v1_2_messages,
     sizeof(v1_2_messages) / sizeof(v1_2_messages[0]),
     sgp32_v1_0_differences,
     sizeof(sgp32_v1_0_differences) / sizeof(sgp32_v1_0_differences[0])},
};
const size_t sgp32_version_count = sizeof(sgp32_versions) / sizeof(sgp32_versions[0]);

const sgp32_version_profile *sgp32_version_find(sgp32_version_number number)
{
    for (size_t i = 0; i < sgp32_version_count; i++)
        if (sgp32_versions[i].number == number)
            return &sgp32_versions[i];
    return NULL;
}

const sgp32_version_profile *sgp32_version_from_iot_version(der_view version_type)
{
    if (version_type.len != 3 || version_type.data == NULL)
        return NULL;
    for (size_t i = 0; i < sgp32_version_count; i++)
        if (sgp32_versions[i].iot_version[0] == version_type.data[0] &&
            sgp32_versions[i].iot_version[1] == version_type.data[1])
            return &sgp32_versions[i];
    return NULL;
}

const sgp32_version_profile *sgp32_version_effective(const sgp32_version_profile *announced)
{
    const sgp32_version_profile *newest = NULL;
    if (announced != NULL && announced->implemented)
        return announced;
    for (size_t i = 0; i < sgp32_version_count; i++)
        if (sgp32_versions[i].implemented &&
            (newest == NULL || sgp32_versions[i].number > newest->number))
            newest = &sgp32_versions[i];
    return newest;
}

const schema_type *sgp32_message_find(const sgp32_version_profile *profile,
                                      sgp32_interface interface, uint32_t tag, bool response)
{
    if (profile == NULL || tag == 0)
        return NULL;
    for (size_t i = 0; i < profile->message_count; i++) {
        const sgp32_message_info *m = &profile->messages[i];
        if (m->interface == interface && m->response == response && m->type->tag == tag)
            return m->type;
    }
    return NULL;
}
