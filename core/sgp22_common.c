/* SGP.22 v2.5 types shared by ES10, ES9+ and the Bound Profile Package: basic types,
 * EUICCInfo1/2, DeviceInfo, profile metadata, notifications and the signed structures.
 * Tags follow RSPDefinitions (AUTOMATIC TAGS): a SEQUENCE in which no component carries a
 * textual tag gets [0], [1], ... in order; otherwise untagged components keep their
 * universal tags. */
#include "core/sgp22.h"

/* ---- Basic types --------------------------------------------------------------------- */

const schema_type sgp22_octet1_type = SCHEMA_OCTETS_TYPE("Octet1", 0x04, 1, 1);
const schema_type sgp22_octet4_type = SCHEMA_OCTETS_TYPE("Octet4", 0x04, 4, 4);
const schema_type sgp22_octet8_type = SCHEMA_OCTETS_TYPE("Octet8", 0x04, 8, 8);
const schema_type sgp22_octet16_type = SCHEMA_OCTETS_TYPE("Octet16", 0x04, 16, 16);
const schema_type sgp22_octet_to16_type = SCHEMA_OCTETS_TYPE("OctetTo16", 0x04, 1, 16);
const schema_type sgp22_octet32_type = SCHEMA_OCTETS_TYPE("Octet32", 0x04, 32, 32);
const schema_type sgp22_version_type_type = SCHEMA_OCTETS_TYPE("VersionType", 0x04, 3, 3);
const schema_type sgp22_iccid_type = SCHEMA_OCTETS_TYPE("Iccid", 0x5A, 10, 10);
const schema_type sgp22_transaction_id_type = SCHEMA_OCTETS_TYPE("TransactionId", 0x04, 1, 16);
const schema_type sgp22_subject_key_identifier_type =
    SCHEMA_OCTETS_TYPE("SubjectKeyIdentifier", 0x04, 0, 0);
const schema_type sgp22_certificate_type = SCHEMA_RAW_TYPE("Certificate", 0x30);
/* SGP.22 v2.5 section 5.7.13 (serverSignature1 and the other signatures): a raw ECDSA
 * signature r||s in a 5F37 TLV */
const schema_type sgp22_signature_type = SCHEMA_OCTETS_TYPE("Signature", 0x5F37, 0, 0);
const schema_type sgp22_certificate_list_type = SCHEMA_RAW_TYPE("CertificateList", 0x30);
const schema_type sgp22_subject_key_identifier_list_type = SCHEMA_SEQUENCE_OF_TYPE(
    "SEQUENCE OF SubjectKeyIdentifier", 0x30, sgp22_subject_key_identifier_type, 0, 0);

static const schema_type utf8_to32_type = SCHEMA_UTF8_TYPE("UTF8String (SIZE(0..32))", 0x0C, 0, 32);
static const schema_type utf8_to64_type = SCHEMA_UTF8_TYPE("UTF8String (SIZE(0..64))", 0x0C, 0, 64);
static const schema_type icon_data_type =
    SCHEMA_OCTETS_TYPE("OCTET STRING (SIZE(0..1024))", 0x04, 0, 1024);
static const schema_type mcc_mnc_type = SCHEMA_OCTETS_TYPE("OCTET STRING (SIZE(3))", 0x04, 3, 3);
static const schema_type aid_type = SCHEMA_OCTETS_TYPE("OCTET STRING (SIZE(5..16))", 0x04, 5, 16);
static const schema_type version_list_type =
    SCHEMA_SEQUENCE_OF_TYPE("SEQUENCE OF VersionType", 0x30, sgp22_version_type_type, 0, 0);

/* ---- Bit strings --------------------------------------------------------------------- */

/* SGP.22 v2.5 section 5.7.8, UICCCapability as imported from SAIP PEDefinitions v3 */
static const char *const uicc_capability_names[] = {
    "contactlessSupport",
    "usimSupport",
    "isimSupport",
    "csimSupport",
    "akaMilenage",
    "akaCave",
    "akaTuak128",
    "akaTuak256",
    "usimTestAlgorithm",
    "rfu2",
    "gbaAuthenUsim",
    "gbaAuthenISim",
    "mbmsAuthenUsim",
    "eapClient",
    "javacard",
    "multos",
    "multipleUsimSupport",
    "multipleIsimSupport",
    "multipleCsimSupport",
    "berTlvFileSupport",
    "dfLinkSupport",
    "catTp",
    "getIdentity",
    "profile-a-x25519",
    "profile-b-p256",
    "suciCalculatorApi",
    "dns-resolution",
    "scp11ac",
    "scp11c-authorization-mechanism",
    "s16mode",
    "eaka",
    "iotminimal",
};
const schema_type sgp22_uicc_capability_type =
    SCHEMA_BITS_TYPE("UICCCapability", 0x03, uicc_capability_names);

/* SGP.22 v2.5 section 5.7.8 */
static const char *const rsp_capability_names[] = {
    "additionalProfile",
    "crlSupport",
    "rpmSupport",
    "testProfileSupport",
    "deviceInfoExtensibilitySupport",
    "serviceSpecificDataSupport",
};
const schema_type sgp22_rsp_capability_type =
    SCHEMA_BITS_TYPE("RspCapability", 0x03, rsp_capability_names);

/* SGP.22 v2.5 section 2.4a.1.1 */
static const char *const ppr_ids_names[] = {"pprUpdateControl", "ppr1", "ppr2"};
const schema_type sgp22_ppr_ids_type = SCHEMA_BITS_TYPE("PprIds", 0x03, ppr_ids_names);

/* SGP.22 v2.5 section 2.4a.1.1 */
static const char *const notification_event_names[] = {"notificationInstall", "notificationEnable",
                                                       "notificationDisable", "notificationDelete"};
const schema_type sgp22_notification_event_type =
    SCHEMA_BITS_TYPE("NotificationEvent", 0x03, notification_event_names);

/* SGP.22 v2.5 section 4.3 */
static const char *const certificate_info_names[] = {
    "reserved", "certSigningX509", "rfu2", "rfu3", "reserved2", "certVerificationX509"};
const schema_type sgp22_certificate_info_type =
    SCHEMA_BITS_TYPE("CertificateInfo", 0x03, certificate_info_names);

static const char *const tre_properties_names[] = {"isDiscrete", "isIntegrated",
                                                   "usesRemoteMemory"};
static const schema_type tre_properties_type =
    SCHEMA_BITS_TYPE("treProperties", 0x03, tre_properties_names);

/* ---- Named integers ------------------------------------------------------------------ */

static const char *const icon_type_names[] = {"jpg", "png"};
const schema_type sgp22_icon_type_type =
    SCHEMA_NAMED_INTEGER_TYPE("IconType", 0x02, 0, 0, icon_type_names);

static const char *const profile_state_names[] = {"disabled", "enabled"};
const schema_type sgp22_profile_state_type =
    SCHEMA_NAMED_INTEGER_TYPE("ProfileState", 0x02, 0, 0, profile_state_names);

static const char *const profile_class_names[] = {"test", "provisioning", "operational"};
const schema_type sgp22_profile_class_type =
    SCHEMA_NAMED_INTEGER_TYPE("ProfileClass", 0x02, 0, 0, profile_class_names);

static const char *const profile_info_list_error_names[128] = {
    [1] = "incorrectInputValues", [127] = "undefinedError"};
const schema_type sgp22_profile_info_list_error_type =
    SCHEMA_NAMED_INTEGER_TYPE("ProfileInfoListError", 0x02, 0, 0, profile_info_list_error_names);

static const char *const download_error_code_names[128] = {
    [1] = "invalidCertificate", [2] = "invalidSignature",     [3] = "unsupportedCurve",
    [4] = "noSessionContext",   [5] = "invalidTransactionId", [127] = "undefinedError"};
const schema_type sgp22_download_error_code_type =
    SCHEMA_NAMED_INTEGER_TYPE("DownloadErrorCode", 0x02, 0, 0, download_error_code_names);

static const char *const authenticate_error_code_names[128] = {
    [1] = "invalidCertificate", [2] = "invalidSignature", [3] = "unsupportedCurve",
    [4] = "noSessionContext",   [5] = "invalidOid",       [6] = "euiccChallengeMismatch",
    [7] = "ciPKUnknown",        [127] = "undefinedError"};
const schema_type sgp22_authenticate_error_code_type =
    SCHEMA_NAMED_INTEGER_TYPE("AuthenticateErrorCode", 0x02, 0, 0, authenticate_error_code_names);

static const char *const cancel_session_reason_names[128] = {
    [0] = "endUserRejection", [1] = "postponed",        [2] = "timeout",
    [3] = "pprNotAllowed",    [4] = "metadataMismatch", [5] = "loadBppExecutionError",
    [127] = "undefinedReason"};
const schema_type sgp22_cancel_session_reason_type =
    SCHEMA_NAMED_INTEGER_TYPE("CancelSessionReason", 0x02, 0, 0, cancel_session_reason_names);

static const char *const bpp_command_id_names[] = {
    "initialiseSecureChannel", "configureISDP",      "storeMetadata",
    "storeMetadata2",          "replaceSessionKeys", "loadProfileElements"};
const schema_type sgp22_bpp_command_id_type =
    SCHEMA_NAMED_INTEGER_TYPE("BppCommandId", 0x02, 0, 0, bpp_command_id_names);

static const char *const error_reason_names[128] = {
    [1] = "incorrectInputValues",
    [2] = "invalidSignature",
    [3] = "invalidTransactionId",
    [4] = "unsupportedCrtValues",
    [5] = "unsupportedRemoteOperationType",
    [6] = "unsupportedProfileClass",
    [7] = "scp03tStructureError",
    [8] = "scp03tSecurityError",
    [9] = "installFailedDueToIccidAlreadyExistsOnEuicc",
    [10] = "installFailedDueToInsufficientMemoryForProfile",
    [11] = "installFailedDueToInterruption",
    [12] = "installFailedDueToPEProcessingError",
    [13] = "installFailedDueToDataMismatch",
    [14] = "testProfileInstallFailedDueToInvalidNaaKey",
    [15] = "pprNotAllowed",
    [127] = "installFailedDueToUnknownError"};
const schema_type sgp22_error_reason_type =
    SCHEMA_NAMED_INTEGER_TYPE("ErrorReason", 0x02, 0, 0, error_reason_names);

static const char *const euicc_category_names[] = {"other", "basicEuicc", "mediumEuicc",
                                                   "contactlessEuicc"};
static const schema_type euicc_category_type =
    SCHEMA_NAMED_INTEGER_TYPE("euiccCategory", 0x02, 0, 0, euicc_category_names);

/* ---- EUICCInfo1 / EUICCInfo2 --------------------------------------------------------- */

/* SGP.22 v2.5 section 4.3: EUICCInfo1 */
static const schema_field euicc_info1_fields[] = {
    SCHEMA_FIELD(sgp22_euicc_info1, svn, 0x82, sgp22_version_type_type),
    SCHEMA_FIELD_NAMED("euiccCiPKIdListForVerification", sgp22_euicc_info1,
                       euicc_ci_pkid_list_for_verification, 0xA9,
                       sgp22_subject_key_identifier_list_type),
    SCHEMA_FIELD_NAMED("euiccCiPKIdListForSigning", sgp22_euicc_info1,
                       euicc_ci_pkid_list_for_signing, 0xAA,
                       sgp22_subject_key_identifier_list_type),
};
const schema_type sgp22_euicc_info1_type = SCHEMA_SEQUENCE_TYPE(
    "EUICCInfo1", 0xBF20, sgp22_euicc_info1, euicc_info1_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 4.3: CertificationDataObject (automatic tags) */
static const schema_field certification_data_object_fields[] = {
    SCHEMA_FIELD_NAMED("platformLabel", sgp22_certification_data_object, platform_label, 0x80,
                       schema_utf8),
    SCHEMA_FIELD_NAMED("discoveryBaseURL", sgp22_certification_data_object, discovery_base_url,
                       0x81, schema_utf8),
};
const schema_type sgp22_certification_data_object_type =
    SCHEMA_SEQUENCE_TYPE("CertificationDataObject", 0x30, sgp22_certification_data_object,
                         certification_data_object_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 4.3: EUICCInfo2 */
static const schema_field euicc_info2_fields[] = {
    SCHEMA_FIELD_NAMED("profileVersion", sgp22_euicc_info2, profile_version, 0x81,
                       sgp22_version_type_type),
    SCHEMA_FIELD_NAMED("svn", sgp22_euicc_info2, svn, 0x82, sgp22_version_type_type),
    SCHEMA_FIELD_NAMED("euiccFirmwareVer", sgp22_euicc_info2, euicc_firmware_ver, 0x83,
                       sgp22_version_type_type),
    SCHEMA_FIELD_NAMED("extCardResource", sgp22_euicc_info2, ext_card_resource, 0x84,
                       schema_octets),
    SCHEMA_FIELD_NAMED("uiccCapability", sgp22_euicc_info2, uicc_capability, 0x85,
                       sgp22_uicc_capability_type),
    SCHEMA_OPT_NAMED("ts102241Version", sgp22_euicc_info2, ts102241_version, 0x86,
                     sgp22_version_type_type),
    SCHEMA_OPT_NAMED("globalplatformVersion", sgp22_euicc_info2, globalplatform_version, 0x87,
                     sgp22_version_type_type),
    SCHEMA_FIELD_NAMED("rspCapability", sgp22_euicc_info2, rsp_capability, 0x88,
                       sgp22_rsp_capability_type),
    SCHEMA_FIELD_NAMED("euiccCiPKIdListForVerification", sgp22_euicc_info2,
                       euicc_ci_pkid_list_for_verification, 0xA9,
                       sgp22_subject_key_identifier_list_type),
    SCHEMA_FIELD_NAMED("euiccCiPKIdListForSigning", sgp22_euicc_info2,
                       euicc_ci_pkid_list_for_signing, 0xAA,
                       sgp22_subject_key_identifier_list_type),
    SCHEMA_OPT_NAMED("euiccCategory", sgp22_euicc_info2, euicc_category, 0x8B, euicc_category_type),
    SCHEMA_OPT_NAMED("forbiddenProfilePolicyRules", sgp22_euicc_info2,
                     forbidden_profile_policy_rules, 0x99, sgp22_ppr_ids_type),
    SCHEMA_FIELD_NAMED("ppVersion", sgp22_euicc_info2, pp_version, 0, sgp22_version_type_type),
    SCHEMA_FIELD_NAMED("sasAcreditationNumber", sgp22_euicc_info2, sas_acreditation_number, 0,
                       utf8_to64_type),
    SCHEMA_OPT_NAMED("certificationDataObject", sgp22_euicc_info2, certification_data_object, 0xAC,
                     sgp22_certification_data_object_type),
    SCHEMA_OPT_NAMED("treProperties", sgp22_euicc_info2, tre_properties, 0x8D, tre_properties_type),
    SCHEMA_OPT_NAMED("treProductReference", sgp22_euicc_info2, tre_product_reference, 0x8E,
                     schema_utf8),
    SCHEMA_OPT_NAMED("additionalEuiccProfilePackageVersions", sgp22_euicc_info2,
                     additional_euicc_profile_package_versions, 0xAF, version_list_type),
};
const schema_type sgp22_euicc_info2_type = SCHEMA_SEQUENCE_TYPE(
    "EUICCInfo2", 0xBF22, sgp22_euicc_info2, euicc_info2_fields, SCHEMA_EXTENSIBLE);

/* ---- DeviceInfo and CtxParams1 (all automatic tags) ----------------------------------- */

/* SGP.22 v2.5 section 4.2: DeviceAdditionalFeatureSupport */
static const schema_field device_additional_feature_support_fields[] = {
    SCHEMA_OPT_NAMED("naiSupport", sgp22_device_additional_feature_support, nai_support, 0x80,
                     sgp22_version_type_type),
};
const schema_type sgp22_device_additional_feature_support_type = SCHEMA_SEQUENCE_TYPE(
    "DeviceAdditionalFeatureSupport", 0x30, sgp22_device_additional_feature_support,
    device_additional_feature_support_fields, SCHEMA_EXTENSIBLE);

#define DEVICE_RELEASE(NAME, F, TAG)                                                               \
    SCHEMA_OPT_NAMED(NAME, sgp22_device_capabilities, F, TAG, sgp22_version_type_type)

/* SGP.22 v2.5 section 4.2: DeviceCapabilities */
static const schema_field device_capabilities_fields[] = {
    DEVICE_RELEASE("gsmSupportedRelease", gsm_supported_release, 0x80),
    DEVICE_RELEASE("utranSupportedRelease", utran_supported_release, 0x81),
    DEVICE_RELEASE("cdma2000onexSupportedRelease", cdma2000onex_supported_release, 0x82),
    DEVICE_RELEASE("cdma2000hrpdSupportedRelease", cdma2000hrpd_supported_release, 0x83),
    DEVICE_RELEASE("cdma2000ehrpdSupportedRelease", cdma2000ehrpd_supported_release, 0x84),
    DEVICE_RELEASE("eutranEpcSupportedRelease", eutran_epc_supported_release, 0x85),
    DEVICE_RELEASE("contactlessSupportedRelease", contactless_supported_release, 0x86),
    DEVICE_RELEASE("rspCrlSupportedVersion", rsp_crl_supported_version, 0x87),
    DEVICE_RELEASE("nrEpcSupportedRelease", nr_epc_supported_release, 0x88),
    DEVICE_RELEASE("nr5gcSupportedRelease", nr5gc_supported_release, 0x89),
    DEVICE_RELEASE("eutran5gcSupportedRelease", eutran5gc_supported_release, 0x8A),
    DEVICE_RELEASE("lpaSvn", lpa_svn, 0x8B),
    SCHEMA_OPT_NAMED("catSupportedClasses", sgp22_device_capabilities, cat_supported_classes, 0x8C,
                     schema_bit_string),
    SCHEMA_OPT_NAMED("euiccFormFactorType", sgp22_device_capabilities, euicc_form_factor_type, 0x8D,
                     schema_integer),
    SCHEMA_OPT_NAMED("deviceAdditionalFeatureSupport", sgp22_device_capabilities,
                     device_additional_feature_support, 0xAE,
                     sgp22_device_additional_feature_support_type),
};
const schema_type sgp22_device_capabilities_type =
    SCHEMA_SEQUENCE_TYPE("DeviceCapabilities", 0x30, sgp22_device_capabilities,
                         device_capabilities_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 4.2: DeviceInfo */
static const schema_field device_info_fields[] = {
    SCHEMA_FIELD(sgp22_device_info, tac, 0x80, sgp22_octet4_type),
    SCHEMA_FIELD_NAMED("deviceCapabilities", sgp22_device_info, device_capabilities, 0xA1,
                       sgp22_device_capabilities_type),
    SCHEMA_OPT(sgp22_device_info, imei, 0x82, sgp22_octet8_type),
};
const schema_type sgp22_device_info_type = SCHEMA_SEQUENCE_TYPE(
    "DeviceInfo", 0x30, sgp22_device_info, device_info_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.7.13: CtxParamsForCommonAuthentication */
static const schema_field ctx_params_for_common_authentication_fields[] = {
    SCHEMA_OPT_NAMED("matchingId", sgp22_ctx_params_for_common_authentication, matching_id, 0x80,
                     schema_utf8),
    SCHEMA_FIELD_NAMED("deviceInfo", sgp22_ctx_params_for_common_authentication, device_info, 0xA1,
                       sgp22_device_info_type),
};
const schema_type sgp22_ctx_params_for_common_authentication_type = SCHEMA_SEQUENCE_TYPE(
    "CtxParamsForCommonAuthentication", 0x30, sgp22_ctx_params_for_common_authentication,
    ctx_params_for_common_authentication_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.7.13: CtxParams1 (its one alternative is automatically tagged [0]) */
static const schema_field ctx_params1_alternatives[] = {
    SCHEMA_ALT(sgp22_ctx_params1, ctx_params_for_common_authentication, 0xA0,
               sgp22_ctx_params_for_common_authentication_type),
};
const schema_type sgp22_ctx_params1_type =
    SCHEMA_CHOICE_TYPE("CtxParams1", 0, sgp22_ctx_params1, ctx_params1_alternatives, 0);

/* ---- Profile metadata ---------------------------------------------------------------- */

/* SGP.22 v2.5 section 2.4a.1: OperatorId (automatic tags) */
static const schema_field operator_id_fields[] = {
    SCHEMA_FIELD_NAMED("mccMnc", sgp22_operator_id, mcc_mnc, 0x80, mcc_mnc_type),
    SCHEMA_OPT(sgp22_operator_id, gid1, 0x81, schema_octets),
    SCHEMA_OPT(sgp22_operator_id, gid2, 0x82, schema_octets),
};
const schema_type sgp22_operator_id_type = SCHEMA_SEQUENCE_TYPE(
    "OperatorId", 0x30, sgp22_operator_id, operator_id_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 2.4a.1: NotificationConfigurationInformation (automatic tags) */
static const schema_field notification_configuration_information_fields[] = {
    SCHEMA_FIELD_NAMED("profileManagementOperation", sgp22_notification_configuration_information,
                       profile_management_operation, 0x80, sgp22_notification_event_type),
    SCHEMA_FIELD_NAMED("notificationAddress", sgp22_notification_configuration_information,
                       notification_address, 0x81, schema_utf8),
};
const schema_type sgp22_notification_configuration_information_type = SCHEMA_SEQUENCE_TYPE(
    "NotificationConfigurationInformation", 0x30, sgp22_notification_configuration_information,
    notification_configuration_information_fields, SCHEMA_EXTENSIBLE);
static const schema_type notification_configuration_list_type =
    SCHEMA_SEQUENCE_OF_TYPE("SEQUENCE OF NotificationConfigurationInformation", 0x30,
                            sgp22_notification_configuration_information_type, 0, 0);

/* SGP.22 v2.5 section 2.4a.1: VendorSpecificExtension entry; [1] holds an open type, which
 * is always explicitly tagged */
static const schema_field vendor_specific_extension_entry_fields[] = {
    SCHEMA_FIELD_NAMED("vendorOid", sgp22_vendor_specific_extension_entry, vendor_oid, 0x80,
                       schema_oid),
    {"vendorSpecificData", 0xA1,
     offsetof(sgp22_vendor_specific_extension_entry, vendor_specific_data), SCHEMA_NO_PRESENCE,
     SCHEMA_EXPLICIT, &schema_raw_any},
};
const schema_type sgp22_vendor_specific_extension_entry_type = SCHEMA_SEQUENCE_TYPE(
    "VendorSpecificExtension entry", 0x30, sgp22_vendor_specific_extension_entry,
    vendor_specific_extension_entry_fields, SCHEMA_EXTENSIBLE);
const schema_type sgp22_vendor_specific_extension_type = SCHEMA_SEQUENCE_OF_TYPE(
    "VendorSpecificExtension", 0x30, sgp22_vendor_specific_extension_entry_type, 0, 0);

/* SGP.22 v2.5 section 5.7.15: DpProprietaryData (automatic tags: dpOid is [0]) */
static const schema_field dp_proprietary_data_fields[] = {
    SCHEMA_FIELD_NAMED("dpOid", sgp22_dp_proprietary_data, dp_oid, 0x80, schema_oid),
};
const schema_type sgp22_dp_proprietary_data_type =
    SCHEMA_SEQUENCE_TYPE("DpProprietaryData", 0x30, sgp22_dp_proprietary_data,
                         dp_proprietary_data_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.7.15: ProfileInfo */
static const schema_field profile_info_fields[] = {
    SCHEMA_OPT(sgp22_profile_info, iccid, 0, sgp22_iccid_type),
    SCHEMA_OPT_NAMED("isdpAid", sgp22_profile_info, isdp_aid, 0x4F, sgp22_octet_to16_type),
    SCHEMA_OPT_NAMED("profileState", sgp22_profile_info, profile_state, 0x9F70,
                     sgp22_profile_state_type),
    SCHEMA_OPT_NAMED("profileNickname", sgp22_profile_info, profile_nickname, 0x90, utf8_to64_type),
    SCHEMA_OPT_NAMED("serviceProviderName", sgp22_profile_info, service_provider_name, 0x91,
                     utf8_to32_type),
    SCHEMA_OPT_NAMED("profileName", sgp22_profile_info, profile_name, 0x92, utf8_to64_type),
    SCHEMA_OPT_NAMED("iconType", sgp22_profile_info, icon_type, 0x93, sgp22_icon_type_type),
    SCHEMA_OPT(sgp22_profile_info, icon, 0x94, icon_data_type),
    SCHEMA_OPT_NAMED("profileClass", sgp22_profile_info, profile_class, 0x95,
                     sgp22_profile_class_type),
    SCHEMA_OPT_NAMED("notificationConfigurationInfo", sgp22_profile_info,
                     notification_configuration_info, 0xB6, notification_configuration_list_type),
    SCHEMA_OPT_NAMED("profileOwner", sgp22_profile_info, profile_owner, 0xB7,
                     sgp22_operator_id_type),
    SCHEMA_OPT_NAMED("dpProprietaryData", sgp22_profile_info, dp_proprietary_data, 0xB8,
                     sgp22_dp_proprietary_data_type),
    SCHEMA_OPT_NAMED("profilePolicyRules", sgp22_profile_info, profile_policy_rules, 0x99,
                     sgp22_ppr_ids_type),
    SCHEMA_OPT_NAMED("serviceSpecificDataStoredInEuicc", sgp22_profile_info,
                     service_specific_data_stored_in_euicc, 0xBF22,
                     sgp22_vendor_specific_extension_type),
};
const schema_type sgp22_profile_info_type = SCHEMA_SEQUENCE_TYPE(
    "ProfileInfo", 0xE3, sgp22_profile_info, profile_info_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 2.5.3: StoreMetadataRequest */
static const schema_field store_metadata_request_fields[] = {
    SCHEMA_FIELD(sgp22_store_metadata_request, iccid, 0, sgp22_iccid_type),
    SCHEMA_FIELD_NAMED("serviceProviderName", sgp22_store_metadata_request, service_provider_name,
                       0x91, utf8_to32_type),
    SCHEMA_FIELD_NAMED("profileName", sgp22_store_metadata_request, profile_name, 0x92,
                       utf8_to64_type),
    SCHEMA_OPT_NAMED("iconType", sgp22_store_metadata_request, icon_type, 0x93,
                     sgp22_icon_type_type),
    SCHEMA_OPT(sgp22_store_metadata_request, icon, 0x94, icon_data_type),
    SCHEMA_OPT_NAMED("profileClass", sgp22_store_metadata_request, profile_class, 0x95,
                     sgp22_profile_class_type),
    SCHEMA_OPT_NAMED("notificationConfigurationInfo", sgp22_store_metadata_request,
                     notification_configuration_info, 0xB6, notification_configuration_list_type),
    SCHEMA_OPT_NAMED("profileOwner", sgp22_store_metadata_request, profile_owner, 0xB7,
                     sgp22_operator_id_type),
    SCHEMA_OPT_NAMED("profilePolicyRules", sgp22_store_metadata_request, profile_policy_rules, 0x99,
                     sgp22_ppr_ids_type),
    SCHEMA_OPT_NAMED("serviceSpecificDataStoredInEuicc", sgp22_store_metadata_request,
                     service_specific_data_stored_in_euicc, 0xBF22,
                     sgp22_vendor_specific_extension_type),
    SCHEMA_OPT_NAMED("serviceSpecificDataNotStoredInEuicc", sgp22_store_metadata_request,
                     service_specific_data_not_stored_in_euicc, 0xBF23,
                     sgp22_vendor_specific_extension_type),
};
const schema_type sgp22_store_metadata_request_type =
    SCHEMA_SEQUENCE_TYPE("StoreMetadataRequest", 0xBF25, sgp22_store_metadata_request,
                         store_metadata_request_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.4.1 (ES6.UpdateMetadata): UpdateMetadataRequest */
static const schema_field update_metadata_request_fields[] = {
    SCHEMA_OPT_NAMED("serviceProviderName", sgp22_update_metadata_request, service_provider_name,
                     0x91, utf8_to32_type),
    SCHEMA_OPT_NAMED("profileName", sgp22_update_metadata_request, profile_name, 0x92,
                     utf8_to64_type),
    SCHEMA_OPT_NAMED("iconType", sgp22_update_metadata_request, icon_type, 0x93,
                     sgp22_icon_type_type),
    SCHEMA_OPT(sgp22_update_metadata_request, icon, 0x94, icon_data_type),
    SCHEMA_OPT_NAMED("profilePolicyRules", sgp22_update_metadata_request, profile_policy_rules,
                     0x99, sgp22_ppr_ids_type),
    SCHEMA_OPT_NAMED("serviceSpecificDataStoredInEuicc", sgp22_update_metadata_request,
                     service_specific_data_stored_in_euicc, 0xBF22,
                     sgp22_vendor_specific_extension_type),
};
const schema_type sgp22_update_metadata_request_type =
    SCHEMA_SEQUENCE_TYPE("UpdateMetadataRequest", 0xBF2A, sgp22_update_metadata_request,
                         update_metadata_request_fields, SCHEMA_EXTENSIBLE);

/* ---- Notifications and the installation result --------------------------------------- */

/* SGP.22 v2.5 section 4.5: NotificationMetadata */
static const schema_field notification_metadata_fields[] = {
    SCHEMA_FIELD_NAMED("seqNumber", sgp22_notification_metadata, seq_number, 0x80, schema_integer),
    SCHEMA_FIELD_NAMED("profileManagementOperation", sgp22_notification_metadata,
                       profile_management_operation, 0x81, sgp22_notification_event_type),
    SCHEMA_FIELD_NAMED("notificationAddress", sgp22_notification_metadata, notification_address, 0,
                       schema_utf8),
    SCHEMA_OPT(sgp22_notification_metadata, iccid, 0, sgp22_iccid_type),
};
const schema_type sgp22_notification_metadata_type =
    SCHEMA_SEQUENCE_TYPE("NotificationMetadata", 0xBF2F, sgp22_notification_metadata,
                         notification_metadata_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.7.6 (LoadBoundProfilePackage): SuccessResult */
static const schema_field success_result_fields[] = {
    SCHEMA_FIELD(sgp22_success_result, aid, 0x4F, aid_type),
    SCHEMA_FIELD_NAMED("simaResponse", sgp22_success_result, sima_response, 0, schema_octets),
};
const schema_type sgp22_success_result_type = SCHEMA_SEQUENCE_TYPE(
    "SuccessResult", 0x30, sgp22_success_result, success_result_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.7.6: ErrorResult (automatic tags) */
static const schema_field error_result_fields[] = {
    SCHEMA_FIELD_NAMED("bppCommandId", sgp22_error_result, bpp_command_id, 0x80,
                       sgp22_bpp_command_id_type),
    SCHEMA_FIELD_NAMED("errorReason", sgp22_error_result, error_reason, 0x81,
                       sgp22_error_reason_type),
    SCHEMA_OPT_NAMED("simaResponse", sgp22_error_result, sima_response, 0x82, schema_octets),
};
const schema_type sgp22_error_result_type = SCHEMA_SEQUENCE_TYPE(
    "ErrorResult", 0x30, sgp22_error_result, error_result_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.7.6: finalResult, alternatives automatically tagged [0] and [1] */
static const schema_field final_result_alternatives[] = {
    SCHEMA_ALT(sgp22_final_result, success_result, 0xA0, sgp22_success_result_type),
    SCHEMA_ALT(sgp22_final_result, error_result, 0xA1, sgp22_error_result_type),
};
const schema_type sgp22_final_result_type =
    SCHEMA_CHOICE_TYPE("finalResult", 0, sgp22_final_result, final_result_alternatives, 0);

/* SGP.22 v2.5 section 5.7.6: ProfileInstallationResultData */
static const schema_field profile_installation_result_data_fields[] = {
    SCHEMA_FIELD_NAMED("transactionId", sgp22_profile_installation_result_data, transaction_id,
                       0x80, sgp22_transaction_id_type),
    SCHEMA_FIELD_NAMED("notificationMetadata", sgp22_profile_installation_result_data,
                       notification_metadata, 0xBF2F, sgp22_notification_metadata_type),
    SCHEMA_FIELD_NAMED("smdpOid", sgp22_profile_installation_result_data, smdp_oid, 0, schema_oid),
    SCHEMA_FIELD_NAMED("finalResult", sgp22_profile_installation_result_data, final_result, 0xA2,
                       sgp22_final_result_type),
};
const schema_type sgp22_profile_installation_result_data_type = SCHEMA_SEQUENCE_TYPE(
    "ProfileInstallationResultData", 0xBF27, sgp22_profile_installation_result_data,
    profile_installation_result_data_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.7.6: ProfileInstallationResult */
static const schema_field profile_installation_result_fields[] = {
    SCHEMA_FIELD_NAMED("profileInstallationResultData", sgp22_profile_installation_result,
                       profile_installation_result_data, 0xBF27,
                       sgp22_profile_installation_result_data_type),
    SCHEMA_FIELD_NAMED("euiccSignPIR", sgp22_profile_installation_result, euicc_sign_pir, 0,
                       sgp22_signature_type),
};
const schema_type sgp22_profile_installation_result_type =
    SCHEMA_SEQUENCE_TYPE("ProfileInstallationResult", 0xBF37, sgp22_profile_installation_result,
                         profile_installation_result_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.7.10: OtherSignedNotification */
static const schema_field other_signed_notification_fields[] = {
    SCHEMA_FIELD_NAMED("tbsOtherNotification", sgp22_other_signed_notification,
                       tbs_other_notification, 0, sgp22_notification_metadata_type),
    SCHEMA_FIELD_NAMED("euiccNotificationSignature", sgp22_other_signed_notification,
                       euicc_notification_signature, 0, sgp22_signature_type),
    SCHEMA_FIELD_NAMED("euiccCertificate", sgp22_other_signed_notification, euicc_certificate, 0,
                       sgp22_certificate_type),
    SCHEMA_FIELD_NAMED("eumCertificate", sgp22_other_signed_notification, eum_certificate, 0,
                       sgp22_certificate_type),
};
const schema_type sgp22_other_signed_notification_type =
    SCHEMA_SEQUENCE_TYPE("OtherSignedNotification", 0x30, sgp22_other_signed_notification,
                         other_signed_notification_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.7.10: PendingNotification */
static const schema_field pending_notification_alternatives[] = {
    SCHEMA_ALT(sgp22_pending_notification, profile_installation_result, 0xBF37,
               sgp22_profile_installation_result_type),
    SCHEMA_ALT(sgp22_pending_notification, other_signed_notification, 0x30,
               sgp22_other_signed_notification_type),
};
const schema_type sgp22_pending_notification_type = SCHEMA_CHOICE_TYPE(
    "PendingNotification", 0, sgp22_pending_notification, pending_notification_alternatives, 0);

/* ---- Signed structures --------------------------------------------------------------- */

/* SGP.22 v2.5 section 5.7.13: ServerSigned1 */
static const schema_field server_signed1_fields[] = {
    SCHEMA_FIELD_NAMED("transactionId", sgp22_server_signed1, transaction_id, 0x80,
                       sgp22_transaction_id_type),
    SCHEMA_FIELD_NAMED("euiccChallenge", sgp22_server_signed1, euicc_challenge, 0x81,
                       sgp22_octet16_type),
    SCHEMA_FIELD_NAMED("serverAddress", sgp22_server_signed1, server_address, 0x83, schema_utf8),
    SCHEMA_FIELD_NAMED("serverChallenge", sgp22_server_signed1, server_challenge, 0x84,
                       sgp22_octet16_type),
};
const schema_type sgp22_server_signed1_type = SCHEMA_SEQUENCE_TYPE(
    "ServerSigned1", 0x30, sgp22_server_signed1, server_signed1_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.7.13: EuiccSigned1 */
static const schema_field euicc_signed1_fields[] = {
    SCHEMA_FIELD_NAMED("transactionId", sgp22_euicc_signed1, transaction_id, 0x80,
                       sgp22_transaction_id_type),
    SCHEMA_FIELD_NAMED("serverAddress", sgp22_euicc_signed1, server_address, 0x83, schema_utf8),
    SCHEMA_FIELD_NAMED("serverChallenge", sgp22_euicc_signed1, server_challenge, 0x84,
                       sgp22_octet16_type),
    SCHEMA_FIELD_NAMED("euiccInfo2", sgp22_euicc_signed1, euicc_info2, 0xBF22,
                       sgp22_euicc_info2_type),
    SCHEMA_FIELD_NAMED("ctxParams1", sgp22_euicc_signed1, ctx_params1, 0, sgp22_ctx_params1_type),
};
const schema_type sgp22_euicc_signed1_type = SCHEMA_SEQUENCE_TYPE(
    "EuiccSigned1", 0x30, sgp22_euicc_signed1, euicc_signed1_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.7.5: SmdpSigned2 */
static const schema_field smdp_signed2_fields[] = {
    SCHEMA_FIELD_NAMED("transactionId", sgp22_smdp_signed2, transaction_id, 0x80,
                       sgp22_transaction_id_type),
    SCHEMA_FIELD_NAMED("ccRequiredFlag", sgp22_smdp_signed2, cc_required_flag, 0, schema_boolean),
    SCHEMA_OPT_NAMED("bppEuiccOtpk", sgp22_smdp_signed2, bpp_euicc_otpk, 0x5F49, schema_octets),
};
const schema_type sgp22_smdp_signed2_type = SCHEMA_SEQUENCE_TYPE(
    "SmdpSigned2", 0x30, sgp22_smdp_signed2, smdp_signed2_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.7.5: EUICCSigned2 */
static const schema_field euicc_signed2_fields[] = {
    SCHEMA_FIELD_NAMED("transactionId", sgp22_euicc_signed2, transaction_id, 0x80,
                       sgp22_transaction_id_type),
    SCHEMA_FIELD_NAMED("euiccOtpk", sgp22_euicc_signed2, euicc_otpk, 0x5F49, schema_octets),
    SCHEMA_OPT_NAMED("hashCc", sgp22_euicc_signed2, hash_cc, 0, sgp22_octet32_type),
};
const schema_type sgp22_euicc_signed2_type = SCHEMA_SEQUENCE_TYPE(
    "EUICCSigned2", 0x30, sgp22_euicc_signed2, euicc_signed2_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.7.14: EuiccCancelSessionSigned (automatic tags) */
static const schema_field euicc_cancel_session_signed_fields[] = {
    SCHEMA_FIELD_NAMED("transactionId", sgp22_euicc_cancel_session_signed, transaction_id, 0x80,
                       sgp22_transaction_id_type),
    SCHEMA_FIELD_NAMED("smdpOid", sgp22_euicc_cancel_session_signed, smdp_oid, 0x81, schema_oid),
    SCHEMA_FIELD(sgp22_euicc_cancel_session_signed, reason, 0x82, sgp22_cancel_session_reason_type),
};
const schema_type sgp22_euicc_cancel_session_signed_type =
    SCHEMA_SEQUENCE_TYPE("EuiccCancelSessionSigned", 0x30, sgp22_euicc_cancel_session_signed,
                         euicc_cancel_session_signed_fields, SCHEMA_EXTENSIBLE);

/* ---- Signed part lookup -------------------------------------------------------------- */

static rsp_status find_child(const der_tlv *parent, unsigned depth, uint32_t tag, der_tlv *out,
                             rsp_error *err)
{
    der_reader r;
    rsp_status st = der_reader_enter(parent, depth, &r, err);
    while (st == RSP_OK && !der_reader_at_end(&r)) {
        st = der_reader_next(&r, out, err);
        if (st == RSP_OK && out->tag == tag)
            return RSP_OK;
    }
    if (st != RSP_OK)
        return st;
    return rsp_error_set(err, RSP_ERR_NOT_FOUND, tag, parent->offset,
                         "signed part: no child with tag %X", (unsigned)tag);
}

rsp_status sgp22_find_signed_part(der_view message, const uint32_t *path, size_t n, der_view *out,
                                  rsp_error *err)
{
    der_tlv tlv;
    rsp_status st;
    if (path == NULL || n == 0 || out == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "signed part: empty path");
    if ((st = der_parse_single(message, &tlv, err)) != RSP_OK)
        return st;
    if (tlv.tag != path[0])
        return rsp_error_set(err, RSP_ERR_UNEXPECTED_TAG, tlv.tag, 0,
                             "signed part: message tag is not %X", (unsigned)path[0]);
    for (size_t i = 1; i < n && st == RSP_OK; i++) {
        der_tlv child;
        st = find_child(&tlv, (unsigned)i - 1, path[i], &child, err);
        tlv = child;
    }
    if (st == RSP_OK)
        *out = tlv.whole;
    return st;
}

/* ---- Registry ------------------------------------------------------------------------ */

const schema_type *const sgp22_messages[] = {
    /* ES10a */
    &sgp22_euicc_configured_addresses_request_type,
    &sgp22_euicc_configured_addresses_response_type,
    &sgp22_set_default_dp_address_request_type,
    &sgp22_set_default_dp_address_response_type,
    /* ES10b */
    &sgp22_get_euicc_info1_request_type,
    &sgp22_euicc_info1_type,
    &sgp22_get_euicc_info2_request_type,
    &sgp22_euicc_info2_type,
    &sgp22_get_euicc_challenge_request_type,
    &sgp22_get_euicc_challenge_response_type,
    &sgp22_authenticate_server_request_type,
    &sgp22_authenticate_server_response_type,
    &sgp22_prepare_download_request_type,
    &sgp22_prepare_download_response_type,
    &sgp22_cancel_session_request_type,
    &sgp22_cancel_session_response_type,
    &sgp22_load_crl_request_type,
    &sgp22_load_crl_response_type,
    &sgp22_list_notification_request_type,
    &sgp22_list_notification_response_type,
    &sgp22_retrieve_notifications_list_request_type,
    &sgp22_retrieve_notifications_list_response_type,
    &sgp22_notification_sent_request_type,
    &sgp22_notification_sent_response_type,
    &sgp22_get_rat_request_type,
    &sgp22_get_rat_response_type,
    /* ES10c */
    &sgp22_profile_info_list_request_type,
    &sgp22_profile_info_list_response_type,
    &sgp22_enable_profile_request_type,
    &sgp22_enable_profile_response_type,
    &sgp22_disable_profile_request_type,
    &sgp22_disable_profile_response_type,
    &sgp22_delete_profile_request_type,
    &sgp22_delete_profile_response_type,
    &sgp22_euicc_memory_reset_request_type,
    &sgp22_euicc_memory_reset_response_type,
    &sgp22_get_euicc_data_request_type,
    &sgp22_get_euicc_data_response_type,
    &sgp22_set_nickname_request_type,
    &sgp22_set_nickname_response_type,
    &sgp22_isdr_proprietary_application_template_type,
    &sgp22_lpae_activation_request_type,
    &sgp22_lpae_activation_response_type,
    &sgp22_update_metadata_request_type,
    /* ES9+ / ES11 */
    &sgp22_initiate_authentication_request_type,
    &sgp22_initiate_authentication_response_type,
    &sgp22_authenticate_client_request_type,
    &sgp22_authenticate_client_response_es9_type,
    &sgp22_get_bound_profile_package_request_type,
    &sgp22_get_bound_profile_package_response_type,
    &sgp22_handle_notification_type,
    &sgp22_cancel_session_request_es9_type,
    &sgp22_cancel_session_response_es9_type,
    &sgp22_authenticate_client_response_es11_type,
    &sgp22_remote_profile_provisioning_request_type,
    &sgp22_remote_profile_provisioning_response_type,
    /* Bound Profile Package and its commands */
    &sgp22_bound_profile_package_type,
    &sgp22_initialise_secure_channel_request_type,
    &sgp22_configure_isdp_request_type,
    &sgp22_store_metadata_request_type,
    &sgp22_replace_session_keys_request_type,
    /* signed structures and notifications */
    &sgp22_server_signed1_type,
    &sgp22_euicc_signed1_type,
    &sgp22_smdp_signed2_type,
    &sgp22_euicc_signed2_type,
    &sgp22_euicc_cancel_session_signed_type,
    &sgp22_notification_metadata_type,
    &sgp22_profile_installation_result_type,
    &sgp22_profile_installation_result_data_type,
    &sgp22_other_signed_notification_type,
    &sgp22_pending_notification_type,
};
const size_t sgp22_message_count = sizeof(sgp22_messages) / sizeof(sgp22_messages[0]);
