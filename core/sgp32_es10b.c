/* SGP.32 v1.2 ES10b: the functions SGP.32 adds (eIM configuration, immediate enable, rollback,
 * fallback, emergency profile, connectivity parameters, IPAe activation, ...), the SGP.32
 * forms of SGP.22 structures (EUICCInfo2 with IoTSpecificInfo, compact responses and
 * notifications), IPA capabilities, IpaEuiccData (BF52) and the Profile Download Trigger
 * (BF54). Tagging rules as in core/sgp32_euicc_package.c. */
#include "core/sgp32.h"
#include "core/sgp32_tables.h"

/* ---- Result codes -------------------------------------------------------------------- */

SGP32_NAMED_INTEGER(sgp32_ipa_euicc_data_error_code_type,
                    "IpaEuiccDataErrorCode", [1] = "incorrectTagList", [5] = "euiccCiPKIdNotFound",
                    [104] = "ecallActive", [127] = "undefinedError");
SGP32_NAMED_INTEGER(sgp32_profile_download_error_reason_type,
                    "profileDownloadErrorReason", [104] = "ecallActive", [127] = "undefinedError");
SGP32_NAMED_INTEGER(sgp32_ipae_activation_result_type,
                    "ipaeActivationResult", [0] = "ok", [1] = "notSupported");
SGP32_NAMED_INTEGER(sgp32_euicc_category_type, "euiccCategory", [0] = "other", [1] = "basicEuicc",
                    [2] = "mediumEuicc", [3] = "contactlessEuicc");
SGP32_NAMED_INTEGER(sgp32_ipa_mode_type, "IpaMode", [0] = "ipad", [1] = "ipae");
SGP32_NAMED_INTEGER(
    sgp32_add_initial_eim_error_type, "addInitialEimError", [1] = "insufficientMemory",
    [2] = "associatedEimAlreadyExists", [3] = "ciPKUnknown", [5] = "invalidAssociationToken",
    [6] = "counterValueOutOfRange", [7] = "commandError", [127] = "undefinedError");
SGP32_NAMED_INTEGER(sgp32_reset_result_type, "resetResult", [0] = "ok", [1] = "nothingToDelete",
                    [5] = "catBusy", [104] = "ecallActive", [127] = "undefinedError");
SGP32_NAMED_INTEGER(sgp32_reset_eim_result_type,
                    "resetEimResult", [0] = "ok", [1] = "nothingToDelete",
                    [2] = "eimResetNotSupported", [127] = "undefinedError");
SGP32_NAMED_INTEGER(sgp32_reset_immediate_enable_config_result_type,
                    "resetImmediateEnableConfigResult", [0] = "ok", [1] = "resetIECNotSupported",
                    [127] = "undefinedError");
/* the ASN.1 spells 127 "undfinedError"; printed with the intended spelling */
SGP32_NAMED_INTEGER(sgp32_get_certs_error_type,
                    "getCertsError", [1] = "invalidCiPKId", [127] = "undefinedError");
SGP32_NAMED_INTEGER(sgp32_notifications_list_result_error_type,
                    "notificationsListResultError", [127] = "undefinedError");
SGP32_NAMED_INTEGER(sgp32_immediate_enable_result_type,
                    "immediateEnableResult", [0] = "ok", [1] = "immediateEnableNotAvailable",
                    [4] = "noSessionContext", [5] = "catBusy", [127] = "undefinedError");
SGP32_NAMED_INTEGER(sgp32_profile_rollback_result_type,
                    "cmdResult", [0] = "ok", [1] = "rollbackNotAllowed", [5] = "catBusy",
                    [7] = "commandError", [127] = "undefinedError");
SGP32_NAMED_INTEGER(sgp32_config_immediate_enable_result_type,
                    "configImmediateEnableResult", [0] = "ok", [1] = "insufficientMemory",
                    [2] = "associatedEimAlreadyExists", [127] = "undefinedError");
SGP32_NAMED_INTEGER(sgp32_execute_fallback_mechanism_result_type,
                    "executeFallbackMechanismResult", [0] = "ok", [2] = "profileNotInDisabledState",
                    [5] = "catBusy", [6] = "fallbackNotAvailable", [7] = "commandError",
                    [104] = "ecallActive", [127] = "undefinedError");
SGP32_NAMED_INTEGER(sgp32_return_from_fallback_result_type,
                    "returnFromFallbackResult", [0] = "ok", [5] = "catBusy",
                    [6] = "fallbackNotAvailable", [7] = "commandError", [127] = "undefinedError");
SGP32_NAMED_INTEGER(sgp32_enable_emergency_profile_result_type,
                    "enableEmergencyProfileResult", [0] = "ok", [2] = "profileNotInDisabledState",
                    [5] = "catBusy", [8] = "ecallNotAvailable", [127] = "undefinedError");
SGP32_NAMED_INTEGER(sgp32_disable_emergency_profile_result_type,
                    "disableEmergencyProfileResult", [0] = "ok", [2] = "profileNotInEnabledState",
                    [5] = "catBusy", [127] = "undefinedError");
SGP32_NAMED_INTEGER(
    sgp32_connectivity_parameters_error_type,
    "ConnectivityParametersError", [1] = "parametersNotAvailable", [127] = "undefinedError");
SGP32_NAMED_INTEGER(
    sgp32_cancel_session_response_error_type,
    "cancelSessionResponseError", [5] = "invalidTransactionId", [127] = "undefinedError");

/* ---- EUICCInfo2 (SGP.32 v1.2 section 5.9.2) ------------------------------------------ */

static const schema_type version_list_type =
    SCHEMA_SEQUENCE_OF_TYPE("SEQUENCE OF VersionType", 0x30, sgp22_version_type_type, 0, 0);
static const schema_type utf8_to64_type = SCHEMA_UTF8_TYPE("UTF8String (SIZE(0..64))", 0x0C, 0, 64);
static const schema_type octets_to32_type =
    SCHEMA_OCTETS_TYPE("OCTET STRING (SIZE(0..32))", 0x04, 0, 32);

static const char *const tre_properties_names[] = {"isDiscrete", "isIntegrated",
                                                   "usesRemoteMemory"};
static const schema_type tre_properties_type =
    SCHEMA_BITS_TYPE("treProperties", 0x03, tre_properties_names);

static const schema_field iot_specific_info_fields[] = {
    SCHEMA_FIELD_NAMED("iotVersion", sgp32_iot_specific_info, iot_version, 0xA0, version_list_type),
    SGP32_OPT_NULL("ecallSupported", sgp32_iot_specific_info, ecall_supported, 0x81),
    SGP32_OPT_NULL("fallbackSupported", sgp32_iot_specific_info, fallback_supported, 0x82),
};
const schema_type sgp32_iot_specific_info_type =
    SGP32_SEQUENCE("IoTSpecificInfo", 0x30, sgp32_iot_specific_info, iot_specific_info_fields);

static const schema_field euicc_info2_fields[] = {
    SCHEMA_FIELD_NAMED("profileVersion", sgp32_euicc_info2, profile_version, 0x81,
                       sgp22_version_type_type),
    SCHEMA_FIELD_NAMED("svn", sgp32_euicc_info2, svn, 0x82, sgp22_version_type_type),
    SCHEMA_FIELD_NAMED("euiccFirmwareVer", sgp32_euicc_info2, euicc_firmware_ver, 0x83,
                       sgp22_version_type_type),
    SCHEMA_FIELD_NAMED("extCardResource", sgp32_euicc_info2, ext_card_resource, 0x84,
                       schema_octets),
    SCHEMA_FIELD_NAMED("uiccCapability", sgp32_euicc_info2, uicc_capability, 0x85,
                       sgp22_uicc_capability_type),
    SCHEMA_OPT_NAMED("ts102241Version", sgp32_euicc_info2, ts102241_version, 0x86,
                     sgp22_version_type_type),
    SCHEMA_OPT_NAMED("globalplatformVersion", sgp32_euicc_info2, globalplatform_version, 0x87,
                     sgp22_version_type_type),
    SCHEMA_FIELD_NAMED("rspCapability", sgp32_euicc_info2, rsp_capability, 0x88,
                       sgp22_rsp_capability_type),
    SCHEMA_FIELD_NAMED("euiccCiPKIdListForVerification", sgp32_euicc_info2,
                       euicc_ci_pkid_list_for_verification, 0xA9,
                       sgp22_subject_key_identifier_list_type),
    SCHEMA_FIELD_NAMED("euiccCiPKIdListForSigning", sgp32_euicc_info2,
                       euicc_ci_pkid_list_for_signing, 0xAA,
                       sgp22_subject_key_identifier_list_type),
    SCHEMA_OPT_NAMED("euiccCategory", sgp32_euicc_info2, euicc_category, 0x8B,
                     sgp32_euicc_category_type),
    SCHEMA_OPT_NAMED("forbiddenProfilePolicyRules", sgp32_euicc_info2,
                     forbidden_profile_policy_rules, 0x99, sgp22_ppr_ids_type),
    SCHEMA_FIELD_NAMED("ppVersion", sgp32_euicc_info2, pp_version, 0, sgp22_version_type_type),
    SCHEMA_FIELD_NAMED("sasAcreditationNumber", sgp32_euicc_info2, sas_acreditation_number, 0,
                       utf8_to64_type),
    SCHEMA_OPT_NAMED("certificationDataObject", sgp32_euicc_info2, certification_data_object, 0xAC,
                     sgp22_certification_data_object_type),
    SCHEMA_OPT_NAMED("treProperties", sgp32_euicc_info2, tre_properties, 0x8D, tre_properties_type),
    SCHEMA_OPT_NAMED("treProductReference", sgp32_euicc_info2, tre_product_reference, 0x8E,
                     schema_utf8),
    SCHEMA_OPT_NAMED("additionalEuiccProfilePackageVersions", sgp32_euicc_info2,
                     additional_euicc_profile_package_versions, 0xAF, version_list_type),
    SCHEMA_OPT_NAMED("ipaMode", sgp32_euicc_info2, ipa_mode, 0x90, sgp32_ipa_mode_type),
    SCHEMA_OPT_NAMED("euiccCiPKIdListForSigningV3", sgp32_euicc_info2,
                     euicc_ci_pkid_list_for_signing_v3, 0xB1,
                     sgp22_subject_key_identifier_list_type),
    SCHEMA_OPT_NAMED("additionalEuiccInfo", sgp32_euicc_info2, additional_euicc_info, 0x92,
                     octets_to32_type),
    SCHEMA_OPT_NAMED("highestSvn", sgp32_euicc_info2, highest_svn, 0x93, sgp22_version_type_type),
    SCHEMA_OPT_NAMED("iotSpecificInfo", sgp32_euicc_info2, iot_specific_info, 0xB4,
                     sgp32_iot_specific_info_type),
};
const schema_type sgp32_euicc_info2_type =
    SGP32_SEQUENCE("EUICCInfo2", 0xBF22, sgp32_euicc_info2, euicc_info2_fields);

/* ---- AuthenticateServerResponse with the compact form (SGP.32 v1.2 section 5.14.3) --- */

static const schema_field euicc_signed1_fields[] = {
    SCHEMA_FIELD_NAMED("transactionId", sgp32_euicc_signed1, transaction_id, 0x80,
                       sgp22_transaction_id_type),
    SCHEMA_FIELD_NAMED("serverAddress", sgp32_euicc_signed1, server_address, 0x83, schema_utf8),
    SCHEMA_FIELD_NAMED("serverChallenge", sgp32_euicc_signed1, server_challenge, 0x84,
                       sgp22_octet16_type),
    SCHEMA_FIELD_NAMED("euiccInfo2", sgp32_euicc_signed1, euicc_info2, 0xBF22,
                       sgp32_euicc_info2_type),
    SCHEMA_FIELD_NAMED("ctxParams1", sgp32_euicc_signed1, ctx_params1, 0, sgp22_ctx_params1_type),
};
const schema_type sgp32_euicc_signed1_type =
    SGP32_SEQUENCE("EuiccSigned1", 0x30, sgp32_euicc_signed1, euicc_signed1_fields);

static const schema_field authenticate_response_ok_fields[] = {
    SCHEMA_FIELD_NAMED("euiccSigned1", sgp32_authenticate_response_ok, euicc_signed1, 0,
                       sgp32_euicc_signed1_type),
    SCHEMA_FIELD_NAMED("euiccSignature1", sgp32_authenticate_response_ok, euicc_signature1, 0x5F37,
                       schema_octets),
    SCHEMA_FIELD_NAMED("euiccCertificate", sgp32_authenticate_response_ok, euicc_certificate, 0,
                       sgp22_certificate_type),
    SCHEMA_FIELD_NAMED("eumCertificate", sgp32_authenticate_response_ok, eum_certificate, 0,
                       sgp22_certificate_type),
};
const schema_type sgp32_authenticate_response_ok_type =
    SGP32_SEQUENCE("AuthenticateResponseOk", 0x30, sgp32_authenticate_response_ok,
                   authenticate_response_ok_fields);

static const schema_field compact_euicc_signed1_fields[] = {
    SCHEMA_FIELD_NAMED("extCardResource", sgp32_compact_euicc_signed1, ext_card_resource, 0x84,
                       schema_octets),
    SCHEMA_OPT_NAMED("ctxParams1", sgp32_compact_euicc_signed1, ctx_params1, 0xA2,
                     sgp22_ctx_params1_type),
};
const schema_type sgp32_compact_euicc_signed1_type = SGP32_SEQUENCE(
    "CompactEuiccSigned1", 0x30, sgp32_compact_euicc_signed1, compact_euicc_signed1_fields);

static const schema_field signed_data_alts[] = {
    SGP32_ALT("euiccSigned1", sgp32_signed_data, euicc_signed1, 0, sgp32_euicc_signed1_type),
    SGP32_ALT("compactEuiccSigned1", sgp32_signed_data, compact_euicc_signed1, 0xA0,
              sgp32_compact_euicc_signed1_type),
};
const schema_type sgp32_signed_data_type =
    SGP32_CHOICE("signedData", 0, sgp32_signed_data, signed_data_alts);

static const schema_field compact_authenticate_response_ok_fields[] = {
    SCHEMA_FIELD_NAMED("signedData", sgp32_compact_authenticate_response_ok, signed_data, 0,
                       sgp32_signed_data_type),
    SCHEMA_FIELD_NAMED("euiccSignature1", sgp32_compact_authenticate_response_ok, euicc_signature1,
                       0x5F37, schema_octets),
    SCHEMA_OPT_NAMED("euiccCertificate", sgp32_compact_authenticate_response_ok, euicc_certificate,
                     0xA1, sgp22_certificate_type),
    SCHEMA_OPT_NAMED("eumCertificate", sgp32_compact_authenticate_response_ok, eum_certificate,
                     0xA2, sgp22_certificate_type),
};
const schema_type sgp32_compact_authenticate_response_ok_type =
    SGP32_SEQUENCE("CompactAuthenticateResponseOk", 0x30, sgp32_compact_authenticate_response_ok,
                   compact_authenticate_response_ok_fields);

/* No alternative is tagged: automatic tags [0], [1], [2] */
static const schema_field authenticate_server_response_alts[] = {
    SGP32_ALT("authenticateResponseOk", sgp32_authenticate_server_response,
              authenticate_response_ok, 0xA0, sgp32_authenticate_response_ok_type),
    SGP32_ALT("authenticateResponseError", sgp32_authenticate_server_response,
              authenticate_response_error, 0xA1, sgp22_authenticate_response_error_type),
    SGP32_ALT("compactAuthenticateResponseOk", sgp32_authenticate_server_response,
              compact_authenticate_response_ok, 0xA2, sgp32_compact_authenticate_response_ok_type),
};
const schema_type sgp32_authenticate_server_response_type =
    SGP32_CHOICE("AuthenticateServerResponse", 0xBF38, sgp32_authenticate_server_response,
                 authenticate_server_response_alts);

/* ---- PrepareDownloadResponse with the compact form (SGP.32 v1.2 section 5.14.2) ------ */

static const schema_field compact_euicc_signed2_fields[] = {
    SCHEMA_OPT_NAMED("euiccOtpk", sgp32_compact_euicc_signed2, euicc_otpk, 0x5F49, schema_octets),
    SCHEMA_OPT_NAMED("hashCc", sgp32_compact_euicc_signed2, hash_cc, 0, sgp22_octet32_type),
};
const schema_type sgp32_compact_euicc_signed2_type = SGP32_SEQUENCE(
    "CompactEuiccSigned2", 0x30, sgp32_compact_euicc_signed2, compact_euicc_signed2_fields);

static const schema_field compact_prepare_download_response_ok_fields[] = {
    SCHEMA_FIELD_NAMED("compactEuiccSigned2", sgp32_compact_prepare_download_response_ok,
                       compact_euicc_signed2, 0, sgp32_compact_euicc_signed2_type),
    SCHEMA_FIELD_NAMED("euiccSignature2", sgp32_compact_prepare_download_response_ok,
                       euicc_signature2, 0x5F37, schema_octets),
};
const schema_type sgp32_compact_prepare_download_response_ok_type = SGP32_SEQUENCE(
    "CompactPrepareDownloadResponseOk", 0x30, sgp32_compact_prepare_download_response_ok,
    compact_prepare_download_response_ok_fields);

static const schema_field prepare_download_response_alts[] = {
    SGP32_ALT("downloadResponseOk", sgp32_prepare_download_response, download_response_ok, 0xA0,
              sgp22_prepare_download_response_ok_type),
    SGP32_ALT("downloadResponseError", sgp32_prepare_download_response, download_response_error,
              0xA1, sgp22_prepare_download_response_error_type),
    SGP32_ALT("compactDownloadResponseOk", sgp32_prepare_download_response,
              compact_download_response_ok, 0xA2, sgp32_compact_prepare_download_response_ok_type),
};
const schema_type sgp32_prepare_download_response_type =
    SGP32_CHOICE("PrepareDownloadResponse", 0xBF21, sgp32_prepare_download_response,
                 prepare_download_response_alts);

/* ---- CancelSessionResponse with the compact form (SGP.32 v1.2 section 5.14.8) -------- */

/* single untagged component: automatic tag [0] */
static const schema_field compact_euicc_cancel_session_signed_fields[] = {
    SCHEMA_OPT_NAMED("reason", sgp32_compact_euicc_cancel_session_signed, reason, 0x80,
                     sgp22_cancel_session_reason_type),
};
const schema_type sgp32_compact_euicc_cancel_session_signed_type = SGP32_SEQUENCE(
    "CompactEuiccCancelSessionSigned", 0x30, sgp32_compact_euicc_cancel_session_signed,
    compact_euicc_cancel_session_signed_fields);

static const schema_field compact_cancel_session_response_ok_fields[] = {
    SCHEMA_FIELD_NAMED("compactEuiccCancelSessionSigned", sgp32_compact_cancel_session_response_ok,
                       compact_euicc_cancel_session_signed, 0,
                       sgp32_compact_euicc_cancel_session_signed_type),
    SCHEMA_FIELD_NAMED("euiccCancelSessionSignature", sgp32_compact_cancel_session_response_ok,
                       euicc_cancel_session_signature, 0x5F37, schema_octets),
};
const schema_type sgp32_compact_cancel_session_response_ok_type =
    SGP32_SEQUENCE("CompactCancelSessionResponseOk", 0x30, sgp32_compact_cancel_session_response_ok,
                   compact_cancel_session_response_ok_fields);

static const schema_field cancel_session_response_alts[] = {
    SGP32_ALT("cancelSessionResponseOk", sgp32_cancel_session_response, cancel_session_response_ok,
              0xA0, sgp22_cancel_session_response_ok_type),
    SGP32_ALT("cancelSessionResponseError", sgp32_cancel_session_response,
              cancel_session_response_error, 0x81, sgp32_cancel_session_response_error_type),
    SGP32_ALT("compactCancelSessionResponseOk", sgp32_cancel_session_response,
              compact_cancel_session_response_ok, 0xA2,
              sgp32_compact_cancel_session_response_ok_type),
};
const schema_type sgp32_cancel_session_response_type = SGP32_CHOICE(
    "CancelSessionResponse", 0xBF41, sgp32_cancel_session_response, cancel_session_response_alts);

/* ---- PendingNotification with the compact forms (SGP.32 v1.2 section 5.14.7) --------- */

static const schema_type compact_aid_type =
    SCHEMA_OCTETS_TYPE("OCTET STRING (SIZE(2))", 0x04, 2, 2);

static const schema_field compact_success_result_fields[] = {
    SCHEMA_FIELD_NAMED("compactAid", sgp32_compact_success_result, compact_aid, 0x4F,
                       compact_aid_type),
    SCHEMA_OPT_NAMED("simaResponse", sgp32_compact_success_result, sima_response, 0, schema_octets),
};
const schema_type sgp32_compact_success_result_type = SGP32_SEQUENCE(
    "CompactSuccessResult", 0x30, sgp32_compact_success_result, compact_success_result_fields);

/* both alternatives untagged: automatic tags [0] / [1] */
static const schema_field compact_final_result_alts[] = {
    SGP32_ALT("compactSuccessResult", sgp32_compact_final_result, compact_success_result, 0xA0,
              sgp32_compact_success_result_type),
    SGP32_ALT("errorResult", sgp32_compact_final_result, error_result, 0xA1,
              sgp22_error_result_type),
};
const schema_type sgp32_compact_final_result_type =
    SGP32_CHOICE("compactFinalResult", 0, sgp32_compact_final_result, compact_final_result_alts);

static const schema_field compact_profile_installation_result_data_fields[] = {
    SCHEMA_FIELD_NAMED("transactionId", sgp32_compact_profile_installation_result_data,
                       transaction_id, 0x80, sgp22_transaction_id_type),
    SCHEMA_FIELD_NAMED("seqNumber", sgp32_compact_profile_installation_result_data, seq_number, 0,
                       schema_integer),
    SCHEMA_OPT_NAMED("iccidPresent", sgp32_compact_profile_installation_result_data, iccid_present,
                     0, schema_boolean),
    SCHEMA_FIELD_NAMED("compactFinalResult", sgp32_compact_profile_installation_result_data,
                       compact_final_result, 0xA2, sgp32_compact_final_result_type),
};
const schema_type sgp32_compact_profile_installation_result_data_type = SGP32_SEQUENCE(
    "CompactProfileInstallationResultData", 0x30, sgp32_compact_profile_installation_result_data,
    compact_profile_installation_result_data_fields);

static const schema_field compact_profile_installation_result_fields[] = {
    SCHEMA_FIELD_NAMED("compactProfileInstallationResultData",
                       sgp32_compact_profile_installation_result,
                       compact_profile_installation_result_data, 0xA0,
                       sgp32_compact_profile_installation_result_data_type),
    SCHEMA_FIELD_NAMED("euiccSignPIR", sgp32_compact_profile_installation_result, euicc_sign_pir,
                       0x5F37, schema_octets),
};
const schema_type sgp32_compact_profile_installation_result_type = SGP32_SEQUENCE(
    "CompactProfileInstallationResult", 0x30, sgp32_compact_profile_installation_result,
    compact_profile_installation_result_fields);

static const schema_field compact_other_signed_notification_fields[] = {
    SCHEMA_OPT_NAMED("eidValue", sgp32_compact_other_signed_notification, eid_value, 0x5A,
                     sgp32_eid_type),
    SCHEMA_FIELD_NAMED("tbsOtherNotification", sgp32_compact_other_signed_notification,
                       tbs_other_notification, 0, sgp22_notification_metadata_type),
    SCHEMA_FIELD_NAMED("euiccNotificationSignature", sgp32_compact_other_signed_notification,
                       euicc_notification_signature, 0x5F37, schema_octets),
};
const schema_type sgp32_compact_other_signed_notification_type =
    SGP32_SEQUENCE("CompactOtherSignedNotification", 0x30, sgp32_compact_other_signed_notification,
                   compact_other_signed_notification_fields);

static const schema_field pending_notification_alts[] = {
    SGP32_ALT("profileInstallationResult", sgp32_pending_notification, profile_installation_result,
              0xBF37, sgp22_profile_installation_result_type),
    SGP32_ALT("otherSignedNotification", sgp32_pending_notification, other_signed_notification, 0,
              sgp22_other_signed_notification_type),
    SGP32_ALT("compactProfileInstallationResult", sgp32_pending_notification,
              compact_profile_installation_result, 0xA0,
              sgp32_compact_profile_installation_result_type),
    SGP32_ALT("compactOtherSignedNotification", sgp32_pending_notification,
              compact_other_signed_notification, 0xA1,
              sgp32_compact_other_signed_notification_type),
};
const schema_type sgp32_pending_notification_type =
    SGP32_CHOICE("PendingNotification", 0, sgp32_pending_notification, pending_notification_alts);

const schema_type sgp32_pending_notification_list_type =
    SCHEMA_SEQUENCE_OF_TYPE("PendingNotificationList", 0x30, sgp32_pending_notification_type, 0, 0);

/* ---- IPA capabilities (SGP.32 v1.2 section 4.1) -------------------------------------- */

static const char *const ipa_features_names[] = {
    "directRspServerCommunication", "indirectRspServerCommunication", "eimDownloadDataHandling",
    "eimCtxParams1Generation",      "eimProfileMetadataVerification", "minimizeEsipaBytes",
};
static const schema_type ipa_features_type =
    SCHEMA_BITS_TYPE("ipaFeatures", 0x03, ipa_features_names);
static const char *const ipa_supported_protocols_names[] = {
    "ipaRetrieveHttps", "ipaRetrieveCoaps", "ipaInjectHttps", "ipaInjectCoaps", "ipaProprietary",
};
static const schema_type ipa_supported_protocols_type =
    SCHEMA_BITS_TYPE("ipaSupportedProtocols", 0x03, ipa_supported_protocols_names);

static const schema_field ipa_capabilities_fields[] = {
    SCHEMA_FIELD_NAMED("ipaFeatures", sgp32_ipa_capabilities, ipa_features, 0x80,
                       ipa_features_type),
    SCHEMA_OPT_NAMED("ipaSupportedProtocols", sgp32_ipa_capabilities, ipa_supported_protocols, 0x81,
                     ipa_supported_protocols_type),
};
const schema_type sgp32_ipa_capabilities_type =
    SGP32_SEQUENCE("IpaCapabilities", 0x30, sgp32_ipa_capabilities, ipa_capabilities_fields);

/* ---- IpaEuiccDataRequest (SGP.32 v1.2 section 2.11.1.2) ------------------------------ */

static const schema_field search_criteria_notification_alts[] = {
    SGP32_ALT("seqNumber", sgp32_search_criteria_notification, seq_number, 0x80, schema_integer),
    SGP32_ALT("profileManagementOperation", sgp32_search_criteria_notification,
              profile_management_operation, 0x81, sgp22_notification_event_type),
};
const schema_type sgp32_search_criteria_notification_type =
    SGP32_CHOICE("searchCriteriaNotification", 0, sgp32_search_criteria_notification,
                 search_criteria_notification_alts);

static const schema_field search_criteria_euicc_package_result_alts[] = {
    SGP32_ALT("seqNumber", sgp32_search_criteria_euicc_package_result, seq_number, 0x80,
              schema_integer),
};
const schema_type sgp32_search_criteria_euicc_package_result_type =
    SGP32_CHOICE("searchCriteriaEuiccPackageResult", 0, sgp32_search_criteria_euicc_package_result,
                 search_criteria_euicc_package_result_alts);

static const schema_field ipa_euicc_data_request_fields[] = {
    SCHEMA_FIELD_NAMED("tagList", sgp32_ipa_euicc_data_request, tag_list, 0x5C, schema_octets),
    SCHEMA_OPT_NAMED("euiccCiPKIdentifierToBeUsed", sgp32_ipa_euicc_data_request,
                     euicc_ci_pk_identifier_to_be_used, 0, schema_octets),
    SCHEMA_OPT_NAMED("searchCriteriaNotification", sgp32_ipa_euicc_data_request,
                     search_criteria_notification, 0xA1, sgp32_search_criteria_notification_type),
    SCHEMA_OPT_NAMED("searchCriteriaEuiccPackageResult", sgp32_ipa_euicc_data_request,
                     search_criteria_euicc_package_result, 0xA2,
                     sgp32_search_criteria_euicc_package_result_type),
    SCHEMA_OPT_NAMED("eimTransactionId", sgp32_ipa_euicc_data_request, eim_transaction_id, 0x83,
                     sgp22_transaction_id_type),
};
const schema_type sgp32_ipa_euicc_data_request_type = SGP32_SEQUENCE(
    "IpaEuiccDataRequest", 0xBF52, sgp32_ipa_euicc_data_request, ipa_euicc_data_request_fields);

/* ---- IpaEuiccDataResponse (SGP.32 v1.2 section 2.11.2.2) ----------------------------- */

static const schema_field ipa_euicc_data_fields[] = {
    SCHEMA_OPT_NAMED("notificationsList", sgp32_ipa_euicc_data, notifications_list, 0xA0,
                     sgp32_pending_notification_list_type),
    SCHEMA_OPT_NAMED("defaultSmdpAddress", sgp32_ipa_euicc_data, default_smdp_address, 0x81,
                     schema_utf8),
    SCHEMA_OPT_NAMED("euiccPackageResultList", sgp32_ipa_euicc_data, euicc_package_result_list,
                     0xA2, sgp32_euicc_package_result_list_type),
    SCHEMA_OPT_NAMED("euiccInfo1", sgp32_ipa_euicc_data, euicc_info1, 0xBF20,
                     sgp22_euicc_info1_type),
    SCHEMA_OPT_NAMED("euiccInfo2", sgp32_ipa_euicc_data, euicc_info2, 0xBF22,
                     sgp32_euicc_info2_type),
    SCHEMA_OPT_NAMED("rootSmdsAddress", sgp32_ipa_euicc_data, root_smds_address, 0x83, schema_utf8),
    SCHEMA_OPT_NAMED("associationToken", sgp32_ipa_euicc_data, association_token, 0x84,
                     sgp32_association_token_type),
    SCHEMA_OPT_NAMED("eumCertificate", sgp32_ipa_euicc_data, eum_certificate, 0xA5,
                     sgp22_certificate_type),
    SCHEMA_OPT_NAMED("euiccCertificate", sgp32_ipa_euicc_data, euicc_certificate, 0xA6,
                     sgp22_certificate_type),
    SCHEMA_OPT_NAMED("eimTransactionId", sgp32_ipa_euicc_data, eim_transaction_id, 0x87,
                     sgp22_transaction_id_type),
    SCHEMA_OPT_NAMED("ipaCapabilities", sgp32_ipa_euicc_data, ipa_capabilities, 0xA8,
                     sgp32_ipa_capabilities_type),
    SCHEMA_OPT_NAMED("deviceInfo", sgp32_ipa_euicc_data, device_info, 0xA9, sgp22_device_info_type),
};
const schema_type sgp32_ipa_euicc_data_type =
    SGP32_SEQUENCE("IpaEuiccData", 0x30, sgp32_ipa_euicc_data, ipa_euicc_data_fields);

static const schema_field ipa_euicc_data_response_error_fields[] = {
    SCHEMA_OPT_NAMED("eimTransactionId", sgp32_ipa_euicc_data_response_error, eim_transaction_id,
                     0x80, sgp22_transaction_id_type),
    SCHEMA_FIELD_NAMED("ipaEuiccDataErrorCode", sgp32_ipa_euicc_data_response_error,
                       ipa_euicc_data_error_code, 0, sgp32_ipa_euicc_data_error_code_type),
};
const schema_type sgp32_ipa_euicc_data_response_error_type =
    SGP32_SEQUENCE("IpaEuiccDataResponseError", 0x30, sgp32_ipa_euicc_data_response_error,
                   ipa_euicc_data_response_error_fields);

static const schema_field ipa_euicc_data_response_alts[] = {
    SGP32_ALT("ipaEuiccData", sgp32_ipa_euicc_data_response, ipa_euicc_data, 0xA0,
              sgp32_ipa_euicc_data_type),
    SGP32_ALT("ipaEuiccDataResponseError", sgp32_ipa_euicc_data_response,
              ipa_euicc_data_response_error, 0xA1, sgp32_ipa_euicc_data_response_error_type),
};
const schema_type sgp32_ipa_euicc_data_response_type = SGP32_CHOICE(
    "IpaEuiccDataResponse", 0xBF52, sgp32_ipa_euicc_data_response, ipa_euicc_data_response_alts);

/* ---- Profile Download Trigger (SGP.32 v1.2 sections 2.11.1.3 and 2.11.2.3) ----------- */

static const schema_type activation_code_type =
    SCHEMA_UTF8_TYPE("UTF8String (SIZE(0..255))", 0x0C, 0, 255);

static const schema_field contact_smds_fields[] = {
    SCHEMA_OPT_NAMED("smdsAddress", sgp32_contact_smds, smds_address, 0x80, schema_utf8),
};
const schema_type sgp32_contact_smds_type =
    SGP32_SEQUENCE("contactSmds", 0x30, sgp32_contact_smds, contact_smds_fields);

static const schema_field profile_download_data_alts[] = {
    SGP32_ALT("activationCode", sgp32_profile_download_data, activation_code, 0x80,
              activation_code_type),
    SGP32_ALT_NULL("contactDefaultSmdp", 0x81),
    SGP32_ALT("contactSmds", sgp32_profile_download_data, contact_smds, 0xA2,
              sgp32_contact_smds_type),
};
const schema_type sgp32_profile_download_data_type =
    SGP32_CHOICE("ProfileDownloadData", 0, sgp32_profile_download_data, profile_download_data_alts);

static const schema_field profile_download_trigger_request_fields[] = {
    SCHEMA_OPT_NAMED("profileDownloadData", sgp32_profile_download_trigger_request,
                     profile_download_data, 0xA0, sgp32_profile_download_data_type),
    SCHEMA_OPT_NAMED("eimTransactionId", sgp32_profile_download_trigger_request, eim_transaction_id,
                     0x82, sgp22_transaction_id_type),
};
const schema_type sgp32_profile_download_trigger_request_type =
    SGP32_SEQUENCE("ProfileDownloadTriggerRequest", 0xBF54, sgp32_profile_download_trigger_request,
                   profile_download_trigger_request_fields);

static const schema_field profile_download_error_fields[] = {
    SCHEMA_FIELD_NAMED("profileDownloadErrorReason", sgp32_profile_download_error,
                       profile_download_error_reason, 0x80,
                       sgp32_profile_download_error_reason_type),
    SCHEMA_OPT_NAMED("errorResponse", sgp32_profile_download_error, error_response, 0,
                     schema_octets),
};
const schema_type sgp32_profile_download_error_type = SGP32_SEQUENCE(
    "profileDownloadError", 0x30, sgp32_profile_download_error, profile_download_error_fields);

static const schema_field profile_download_trigger_result_data_alts[] = {
    SGP32_ALT("profileInstallationResult", sgp32_profile_download_trigger_result_data,
              profile_installation_result, 0xBF37, sgp22_profile_installation_result_type),
    SGP32_ALT("profileDownloadError", sgp32_profile_download_trigger_result_data,
              profile_download_error, 0, sgp32_profile_download_error_type),
};
const schema_type sgp32_profile_download_trigger_result_data_type =
    SGP32_CHOICE("profileDownloadTriggerResultData", 0, sgp32_profile_download_trigger_result_data,
                 profile_download_trigger_result_data_alts);

static const schema_field profile_download_trigger_result_fields[] = {
    SCHEMA_OPT_NAMED("eimTransactionId", sgp32_profile_download_trigger_result, eim_transaction_id,
                     0x82, sgp22_transaction_id_type),
    SCHEMA_FIELD_NAMED("profileDownloadTriggerResultData", sgp32_profile_download_trigger_result,
                       profile_download_trigger_result_data, 0,
                       sgp32_profile_download_trigger_result_data_type),
};
const schema_type sgp32_profile_download_trigger_result_type =
    SGP32_SEQUENCE("ProfileDownloadTriggerResult", 0xBF54, sgp32_profile_download_trigger_result,
                   profile_download_trigger_result_fields);

/* ---- ISD-R selection and IPAe activation (SGP.32 v1.2 section 3.8.4) ----------------- */

static const char *const euicc_configuration_names[] = {"ipaeSupported", "enabledProfile"};
static const schema_type euicc_configuration_type =
    SCHEMA_BITS_TYPE("euiccConfiguration", 0x03, euicc_configuration_names);
static const char *const ipae_option_names[] = {"activateIpae"};
static const schema_type ipae_option_type = SCHEMA_BITS_TYPE("ipaeOption", 0x03, ipae_option_names);

static const schema_field isdr_template_iot_fields[] = {
    SCHEMA_FIELD_NAMED("euiccConfiguration", sgp32_isdr_proprietary_application_template_iot,
                       euicc_configuration, 0x80, euicc_configuration_type),
};
const schema_type sgp32_isdr_proprietary_application_template_iot_type =
    SGP32_SEQUENCE("ISDRProprietaryApplicationTemplateIoT", 0xE1,
                   sgp32_isdr_proprietary_application_template_iot, isdr_template_iot_fields);

static const schema_field ipae_activation_request_fields[] = {
    SCHEMA_FIELD_NAMED("ipaeOption", sgp32_ipae_activation_request, ipae_option, 0x80,
                       ipae_option_type),
};
const schema_type sgp32_ipae_activation_request_type = SGP32_SEQUENCE(
    "IpaeActivationRequest", 0xBF42, sgp32_ipae_activation_request, ipae_activation_request_fields);

static const schema_field ipae_activation_response_fields[] = {
    SCHEMA_FIELD_NAMED("ipaeActivationResult", sgp32_ipae_activation_response,
                       ipae_activation_result, 0x80, sgp32_ipae_activation_result_type),
};
const schema_type sgp32_ipae_activation_response_type =
    SGP32_SEQUENCE("IpaeActivationResponse", 0xBF42, sgp32_ipae_activation_response,
                   ipae_activation_response_fields);

/* ---- AddInitialEim (SGP.32 v1.2 section 5.9.4) --------------------------------------- */

static const schema_type eim_configuration_data_list_type = SCHEMA_SEQUENCE_OF_TYPE(
    "SEQUENCE OF EimConfigurationData", 0x30, sgp32_eim_configuration_data_type, 0, 0);

static const schema_field add_initial_eim_request_fields[] = {
    SCHEMA_FIELD_NAMED("eimConfigurationDataList", sgp32_add_initial_eim_request,
                       eim_configuration_data_list, 0xA0, eim_configuration_data_list_type),
};
const schema_type sgp32_add_initial_eim_request_type = SGP32_SEQUENCE(
    "AddInitialEimRequest", 0xBF57, sgp32_add_initial_eim_request, add_initial_eim_request_fields);

static const schema_field add_initial_eim_ok_item_alts[] = {
    SGP32_ALT("associationToken", sgp32_add_initial_eim_ok_item, association_token, 0x84,
              sgp32_association_token_type),
    SGP32_ALT_NULL("addOk", 0),
};
const schema_type sgp32_add_initial_eim_ok_item_type =
    SGP32_CHOICE("CHOICE {associationToken, addOk}", 0, sgp32_add_initial_eim_ok_item,
                 add_initial_eim_ok_item_alts);

static const schema_type add_initial_eim_ok_list_type =
    SCHEMA_SEQUENCE_OF_TYPE("addInitialEimOk", 0x30, sgp32_add_initial_eim_ok_item_type, 0, 0);

static const schema_field add_initial_eim_response_alts[] = {
    SGP32_ALT("addInitialEimOk", sgp32_add_initial_eim_response, add_initial_eim_ok, 0xA0,
              add_initial_eim_ok_list_type),
    SGP32_ALT("addInitialEimError", sgp32_add_initial_eim_response, add_initial_eim_error, 0x81,
              sgp32_add_initial_eim_error_type),
};
const schema_type sgp32_add_initial_eim_response_type = SGP32_CHOICE(
    "AddInitialEimResponse", 0xBF57, sgp32_add_initial_eim_response, add_initial_eim_response_alts);

/* ---- EuiccMemoryReset (SGP.32 v1.2 section 5.9.5) ------------------------------------ */

static const char *const reset_options_names[] = {
    "deleteOperationalProfiles",   "deleteFieldLoadedTestProfiles", "resetDefaultSmdpAddress",
    "deletePreLoadedTestProfiles", "deleteProvisioningProfiles",    "resetEimConfigData",
    "resetImmediateEnableConfig",
};
static const schema_type reset_options_type =
    SCHEMA_BITS_TYPE("resetOptions", 0x03, reset_options_names);

static const schema_field euicc_memory_reset_request_fields[] = {
    SCHEMA_FIELD_NAMED("resetOptions", sgp32_euicc_memory_reset_request, reset_options, 0x82,
                       reset_options_type),
};
const schema_type sgp32_euicc_memory_reset_request_type =
    SGP32_SEQUENCE("EuiccMemoryResetRequest", 0xBF64, sgp32_euicc_memory_reset_request,
                   euicc_memory_reset_request_fields);

/* no component is tagged: automatic tags [0], [1], [2] */
static const schema_field euicc_memory_reset_response_fields[] = {
    SCHEMA_FIELD_NAMED("resetResult", sgp32_euicc_memory_reset_response, reset_result, 0x80,
                       sgp32_reset_result_type),
    SCHEMA_OPT_NAMED("resetEimResult", sgp32_euicc_memory_reset_response, reset_eim_result, 0x81,
                     sgp32_reset_eim_result_type),
    SCHEMA_OPT_NAMED("resetImmediateEnableConfigResult", sgp32_euicc_memory_reset_response,
                     reset_immediate_enable_config_result, 0x82,
                     sgp32_reset_immediate_enable_config_result_type),
};
const schema_type sgp32_euicc_memory_reset_response_type =
    SGP32_SEQUENCE("EuiccMemoryResetResponse", 0xBF64, sgp32_euicc_memory_reset_response,
                   euicc_memory_reset_response_fields);

/* ---- GetCerts (SGP.32 v1.2 section 5.9.10) ------------------------------------------- */

static const schema_field get_certs_request_fields[] = {
    SCHEMA_OPT_NAMED("euiccCiPKId", sgp32_get_certs_request, euicc_ci_pk_id, 0x80,
                     sgp22_subject_key_identifier_type),
};
const schema_type sgp32_get_certs_request_type =
    SGP32_SEQUENCE("GetCertsRequest", 0xBF56, sgp32_get_certs_request, get_certs_request_fields);

static const schema_field certs_fields[] = {
    SCHEMA_FIELD_NAMED("eumCertificate", sgp32_certs, eum_certificate, 0xA5,
                       sgp22_certificate_type),
    SCHEMA_FIELD_NAMED("euiccCertificate", sgp32_certs, euicc_certificate, 0xA6,
                       sgp22_certificate_type),
};
const schema_type sgp32_certs_type = SGP32_SEQUENCE("certs", 0x30, sgp32_certs, certs_fields);

static const schema_field get_certs_response_alts[] = {
    SGP32_ALT("certs", sgp32_get_certs_response, certs, 0xA0, sgp32_certs_type),
    SGP32_ALT("getCertsError", sgp32_get_certs_response, get_certs_error, 0x81,
              sgp32_get_certs_error_type),
};
const schema_type sgp32_get_certs_response_type =
    SGP32_CHOICE("GetCertsResponse", 0xBF56, sgp32_get_certs_response, get_certs_response_alts);

/* ---- RetrieveNotificationsList (SGP.32 v1.2 section 5.9.11) -------------------------- */

static const schema_field retrieve_search_criteria_alts[] = {
    SGP32_ALT("seqNumber", sgp32_retrieve_notifications_search_criteria, seq_number, 0x80,
              schema_integer),
    SGP32_ALT("profileManagementOperation", sgp32_retrieve_notifications_search_criteria,
              profile_management_operation, 0x81, sgp22_notification_event_type),
    SGP32_ALT_NULL("euiccPackageResults", 0x82),
};
const schema_type sgp32_retrieve_notifications_search_criteria_type =
    SGP32_CHOICE("searchCriteria", 0, sgp32_retrieve_notifications_search_criteria,
                 retrieve_search_criteria_alts);

/* single untagged component: automatic tag [0], explicit around the CHOICE */
static const schema_field retrieve_notifications_list_request_fields[] = {
    SCHEMA_OPT_NAMED("searchCriteria", sgp32_retrieve_notifications_list_request, search_criteria,
                     0xA0, sgp32_retrieve_notifications_search_criteria_type),
};
const schema_type sgp32_retrieve_notifications_list_request_type = SGP32_SEQUENCE(
    "RetrieveNotificationsListRequest", 0xBF2B, sgp32_retrieve_notifications_list_request,
    retrieve_notifications_list_request_fields);

static const schema_field retrieve_notifications_list_response_alts[] = {
    SGP32_ALT("notificationList", sgp32_retrieve_notifications_list_response, notification_list,
              0xA0, sgp32_pending_notification_list_type),
    SGP32_ALT("notificationsListResultError", sgp32_retrieve_notifications_list_response,
              notifications_list_result_error, 0x81, sgp32_notifications_list_result_error_type),
    SGP32_ALT("euiccPackageResultList", sgp32_retrieve_notifications_list_response,
              euicc_package_result_list, 0xA2, sgp32_euicc_package_result_list_type),
};
const schema_type sgp32_retrieve_notifications_list_response_type = SGP32_CHOICE(
    "RetrieveNotificationsListResponse", 0xBF2B, sgp32_retrieve_notifications_list_response,
    retrieve_notifications_list_response_alts);

/* ---- Requests carrying only refreshFlag (SGP.32 v1.2 sections 5.9.15, 5.9.16,
 *      5.9.20 to 5.9.23): the single untagged component gets automatic tag [0] ---------- */

static const schema_field refresh_flag_fields[] = {
    SCHEMA_FIELD_NAMED("refreshFlag", sgp32_refresh_flag_request, refresh_flag, 0x80,
                       schema_boolean),
};
const schema_type sgp32_immediate_enable_request_type = SGP32_SEQUENCE(
    "ImmediateEnableRequest", 0xBF5A, sgp32_refresh_flag_request, refresh_flag_fields);
const schema_type sgp32_profile_rollback_request_type = SGP32_SEQUENCE(
    "ProfileRollbackRequest", 0xBF58, sgp32_refresh_flag_request, refresh_flag_fields);
const schema_type sgp32_execute_fallback_mechanism_request_type = SGP32_SEQUENCE(
    "ExecuteFallbackMechanismRequest", 0xBF5D, sgp32_refresh_flag_request, refresh_flag_fields);
const schema_type sgp32_return_from_fallback_request_type = SGP32_SEQUENCE(
    "ReturnFromFallbackRequest", 0xBF5E, sgp32_refresh_flag_request, refresh_flag_fields);
const schema_type sgp32_enable_emergency_profile_request_type = SGP32_SEQUENCE(
    "EnableEmergencyProfileRequest", 0xBF5B, sgp32_refresh_flag_request, refresh_flag_fields);
const schema_type sgp32_disable_emergency_profile_request_type = SGP32_SEQUENCE(
    "DisableEmergencyProfileRequest", 0xBF5C, sgp32_refresh_flag_request, refresh_flag_fields);

/* ---- Responses carrying one [0] result code ------------------------------------------ */

#define RESULT_RESPONSE(VAR, NAME, TAG, FIELD_NAME, RESULT_TYPE)                                   \
    static const schema_field VAR##_fields[] = {                                                   \
        SCHEMA_FIELD_NAMED(FIELD_NAME, sgp32_result_response, result, 0x80, RESULT_TYPE),          \
    };                                                                                             \
    const schema_type VAR = SGP32_SEQUENCE(NAME, TAG, sgp32_result_response, VAR##_fields)

/* SGP.32 v1.2 section 5.9.15 */
RESULT_RESPONSE(sgp32_immediate_enable_response_type, "ImmediateEnableResponse", 0xBF5A,
                "immediateEnableResult", sgp32_immediate_enable_result_type);
/* SGP.32 v1.2 section 5.9.17 */
RESULT_RESPONSE(sgp32_configure_immediate_profile_enabling_response_type,
                "ConfigureImmediateProfileEnablingResponse", 0xBF59, "configImmediateEnableResult",
                sgp32_config_immediate_enable_result_type);
/* SGP.32 v1.2 section 5.9.20 */
RESULT_RESPONSE(sgp32_execute_fallback_mechanism_response_type, "ExecuteFallbackMechanismResponse",
                0xBF5D, "executeFallbackMechanismResult",
                sgp32_execute_fallback_mechanism_result_type);
/* SGP.32 v1.2 section 5.9.21 */
RESULT_RESPONSE(sgp32_return_from_fallback_response_type, "ReturnFromFallbackResponse", 0xBF5E,
                "returnFromFallbackResult", sgp32_return_from_fallback_result_type);
/* SGP.32 v1.2 section 5.9.22 */
RESULT_RESPONSE(sgp32_enable_emergency_profile_response_type, "EnableEmergencyProfileResponse",
                0xBF5B, "enableEmergencyProfileResult", sgp32_enable_emergency_profile_result_type);
/* SGP.32 v1.2 section 5.9.23 */
RESULT_RESPONSE(sgp32_disable_emergency_profile_response_type, "DisableEmergencyProfileResponse",
                0xBF5C, "disableEmergencyProfileResult",
                sgp32_disable_emergency_profile_result_type);

/* ---- ProfileRollback response (SGP.32 v1.2 section 5.9.16) --------------------------- */

/* eUICCPackageResult is tagged, so cmdResult keeps its universal INTEGER tag */
static const schema_field profile_rollback_response_fields[] = {
    SCHEMA_FIELD_NAMED("cmdResult", sgp32_profile_rollback_response, cmd_result, 0,
                       sgp32_profile_rollback_result_type),
    SCHEMA_OPT_NAMED("eUICCPackageResult", sgp32_profile_rollback_response, euicc_package_result,
                     0xBF51, sgp32_euicc_package_result_type),
};
const schema_type sgp32_profile_rollback_response_type =
    SGP32_SEQUENCE("ProfileRollbackResponse", 0xBF58, sgp32_profile_rollback_response,
                   profile_rollback_response_fields);

/* ---- GetEimConfigurationData (SGP.32 v1.2 section 5.9.18) ---------------------------- */

static const schema_field get_eim_configuration_search_alts[] = {
    SGP32_ALT("eimId", sgp32_get_eim_configuration_data_search_criteria, eim_id, 0x80,
              sgp32_eim_id_type),
};
const schema_type sgp32_get_eim_configuration_data_search_criteria_type =
    SGP32_CHOICE("searchCriteria", 0, sgp32_get_eim_configuration_data_search_criteria,
                 get_eim_configuration_search_alts);

/* single untagged component: automatic tag [0], explicit around the CHOICE */
static const schema_field get_eim_configuration_data_request_fields[] = {
    SCHEMA_OPT_NAMED("searchCriteria", sgp32_get_eim_configuration_data_request, search_criteria,
                     0xA0, sgp32_get_eim_configuration_data_search_criteria_type),
};
const schema_type sgp32_get_eim_configuration_data_request_type = SGP32_SEQUENCE(
    "GetEimConfigurationDataRequest", 0xBF55, sgp32_get_eim_configuration_data_request,
    get_eim_configuration_data_request_fields);

static const schema_field get_eim_configuration_data_response_fields[] = {
    SCHEMA_FIELD_NAMED("eimConfigurationDataList", sgp32_get_eim_configuration_data_response,
                       eim_configuration_data_list, 0xA0, eim_configuration_data_list_type),
};
const schema_type sgp32_get_eim_configuration_data_response_type = SGP32_SEQUENCE(
    "GetEimConfigurationDataResponse", 0xBF55, sgp32_get_eim_configuration_data_response,
    get_eim_configuration_data_response_fields);

/* ---- GetConnectivityParameters (SGP.32 v1.2 section 5.9.24) -------------------------- */

const schema_type sgp32_get_connectivity_parameters_request_type = {
    "GetConnectivityParametersRequest",
    SCHEMA_SEQUENCE,
    0xBF5F,
    SCHEMA_EXTENSIBLE,
    sizeof(sgp32_empty),
    NULL,
    0,
    NULL,
    0,
    0,
    NULL,
    0};

static const schema_field connectivity_parameters_fields[] = {
    SCHEMA_OPT_NAMED("httpParams", sgp32_connectivity_parameters, http_params, 0x81, schema_octets),
};
const schema_type sgp32_connectivity_parameters_type = SGP32_SEQUENCE(
    "ConnectivityParameters", 0x30, sgp32_connectivity_parameters, connectivity_parameters_fields);

static const schema_field get_connectivity_parameters_response_alts[] = {
    SGP32_ALT("connectivityParameters", sgp32_get_connectivity_parameters_response,
              connectivity_parameters, 0xA0, sgp32_connectivity_parameters_type),
    SGP32_ALT("connectivityParametersError", sgp32_get_connectivity_parameters_response,
              connectivity_parameters_error, 0x81, sgp32_connectivity_parameters_error_type),
};
const schema_type sgp32_get_connectivity_parameters_response_type = SGP32_CHOICE(
    "GetConnectivityParametersResponse", 0xBF5F, sgp32_get_connectivity_parameters_response,
    get_connectivity_parameters_response_alts);
