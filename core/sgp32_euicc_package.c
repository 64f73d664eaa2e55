/* SGP.32 v1.2 eUICC Packages and their results: basic types, result codes, eIM configuration
 * data, PSMOs, eCOs, EuiccPackageRequest (BF51), EuiccPackageResult (BF51), the SGP.32
 * ProfileInfo and EimAcknowledgements (BF53), plus the signed-part helpers.
 * Tags follow SGP32Definitions (AUTOMATIC TAGS): a SEQUENCE or CHOICE none of whose
 * components carries a textual tag gets [0], [1], ... in order; otherwise untagged components
 * keep their universal tags. A tagged CHOICE is always explicit. */
#include "core/sgp32.h"
#include "core/sgp32_tables.h"

/* ---- Basic types --------------------------------------------------------------------- */

const schema_type sgp32_eim_id_type = SCHEMA_UTF8_TYPE("UTF8String (SIZE(1..128))", 0x0C, 1, 128);
const schema_type sgp32_eid_type = SCHEMA_OCTETS_TYPE("Octet16", 0x04, 16, 16);
const schema_type sgp32_counter_value_type = SCHEMA_INTEGER_TYPE("INTEGER", 0x02, 0, 0);
const schema_type sgp32_association_token_type = SCHEMA_INTEGER_TYPE("INTEGER", 0x02, 0, 0);
/* SGP.32 v1.2 section 2.11.1.4: SequenceNumber ::= [0] INTEGER */
const schema_type sgp32_sequence_number_type = SCHEMA_INTEGER_TYPE("SequenceNumber", 0x80, 0, 0);
const schema_type sgp32_subject_public_key_info_type =
    SCHEMA_RAW_TYPE("SubjectPublicKeyInfo", 0x30);
/* `SEQUENCE {}`: no fields, any extension skipped */
const schema_type sgp32_empty_sequence_type = {"SEQUENCE {}",
                                               SCHEMA_SEQUENCE,
                                               0x30,
                                               SCHEMA_EXTENSIBLE,
                                               sizeof(sgp32_empty),
                                               NULL,
                                               0,
                                               NULL,
                                               0,
                                               0,
                                               NULL,
                                               0};

/* SGP.32 v1.2 section 2.11.1.1.1: EimSupportedProtocol */
static const char *const eim_supported_protocol_names[] = {
    "eimRetrieveHttps", "eimRetrieveCoaps", "eimInjectHttps", "eimInjectCoaps", "eimProprietary",
};
const schema_type sgp32_eim_supported_protocol_type =
    SCHEMA_BITS_TYPE("EimSupportedProtocol", 0x03, eim_supported_protocol_names);

/* ---- Result codes (SGP.32 v1.2 section 2.11.2.1) ------------------------------------- */

SGP32_NAMED_INTEGER(
    sgp32_eim_id_type_type,
    "EimIdType", [1] = "eimIdTypeOid", [2] = "eimIdTypeFqdn", [3] = "eimIdTypeProprietary");
SGP32_NAMED_INTEGER(sgp32_euicc_package_error_code_type, "EuiccPackageErrorCode",
                    [3] = "invalidEid", [4] = "replayError", [6] = "counterValueOutOfRange",
                    [15] = "sizeOverflow", [104] = "ecallActive", [127] = "undefinedError");
SGP32_NAMED_INTEGER(sgp32_configure_immediate_enable_result_type,
                    "ConfigureImmediateEnableResult", [0] = "ok", [1] = "insufficientMemory",
                    [7] = "commandError", [127] = "undefinedError");
SGP32_NAMED_INTEGER(sgp32_enable_profile_result_type,
                    "EnableProfileResult", [0] = "ok", [1] = "iccidOrAidNotFound",
                    [2] = "profileNotInDisabledState", [3] = "disallowedByPolicy", [5] = "catBusy",
                    [20] = "rollbackNotAvailable", [127] = "undefinedError");
SGP32_NAMED_INTEGER(sgp32_disable_profile_result_type, "DisableProfileResult", [0] = "ok",
                    [1] = "iccidOrAidNotFound", [2] = "profileNotInEnabledState",
                    [3] = "disallowedByPolicy", [5] = "catBusy", [127] = "undefinedError");
SGP32_NAMED_INTEGER(
    sgp32_delete_profile_result_type, "DeleteProfileResult", [0] = "ok", [1] = "iccidOrAidNotFound",
    [2] = "profileNotInDisabledState", [3] = "disallowedByPolicy", [20] = "rollbackNotAvailable",
    [21] = "returnFallbackProfile", [127] = "undefinedError");
SGP32_NAMED_INTEGER(sgp32_profile_info_list_error_type,
                    "ProfileInfoListError", [1] = "incorrectInputValues",
                    [11] = "profileChangeOngoing", [127] = "undefinedError");
SGP32_NAMED_INTEGER(sgp32_rollback_profile_result_type,
                    "RollbackProfileResult", [0] = "ok", [127] = "undefinedError");
SGP32_NAMED_INTEGER(
    sgp32_set_fallback_attribute_result_type,
    "SetFallbackAttributeResult", [0] = "ok", [1] = "iccidOrAidNotFound",
    [2] = "fallbackNotAllowed", [3] = "fallbackProfileEnabled", [127] = "undefinedError");
SGP32_NAMED_INTEGER(sgp32_unset_fallback_attribute_result_type,
                    "UnsetFallbackAttributeResult", [0] = "ok", [2] = "noFallbackAttribute",
                    [3] = "fallbackProfileEnabled", [7] = "commandError", [127] = "undefinedError");
SGP32_NAMED_INTEGER(
    sgp32_add_eim_result_code_type, "addEimResultCode", [0] = "ok", [1] = "insufficientMemory",
    [2] = "associatedEimAlreadyExists", [3] = "ciPKUnknown", [5] = "invalidAssociationToken",
    [6] = "counterValueOutOfRange", [7] = "commandError", [127] = "undefinedError");
SGP32_NAMED_INTEGER(sgp32_delete_eim_result_type,
                    "DeleteEimResult", [0] = "ok", [1] = "eimNotFound", [2] = "lastEimDeleted",
                    [7] = "commandError", [127] = "undefinedError");
SGP32_NAMED_INTEGER(sgp32_update_eim_result_type,
                    "UpdateEimResult", [0] = "ok", [1] = "eimNotFound", [3] = "ciPKUnknown",
                    [6] = "counterValueOutOfRange", [7] = "commandError", [127] = "undefinedError");
SGP32_NAMED_INTEGER(sgp32_list_eim_error_type, "listEimError", [127] = "undefinedError");
SGP32_NAMED_INTEGER(
    sgp32_processing_terminated_type, "processingTerminated", [1] = "resultSizeOverflow",
    [2] = "unknownOrDamagedCommand", [3] = "interruption", [127] = "undefinedError");
SGP32_NAMED_INTEGER(sgp32_set_default_dp_address_result_type,
                    "setDefaultDpAddressResult", [0] = "ok", [127] = "undefinedError");

/* ---- eIM configuration data (SGP.32 v1.2 section 2.11.1.1.1) ------------------------- */

/* Both alternatives are SEQUENCEs, hence automatic tags [0] / [1] (implicit) */
static const schema_field eim_public_key_data_alts[] = {
    SGP32_ALT("eimPublicKey", sgp32_eim_public_key_data, eim_public_key, 0xA0,
              sgp32_subject_public_key_info_type),
    SGP32_ALT("eimCertificate", sgp32_eim_public_key_data, eim_certificate, 0xA1,
              sgp22_certificate_type),
};
const schema_type sgp32_eim_public_key_data_type =
    SGP32_CHOICE("eimPublicKeyData", 0, sgp32_eim_public_key_data, eim_public_key_data_alts);

static const schema_field trusted_public_key_data_tls_alts[] = {
    SGP32_ALT("trustedEimPkTls", sgp32_trusted_public_key_data_tls, trusted_eim_pk_tls, 0xA0,
              sgp32_subject_public_key_info_type),
    SGP32_ALT("trustedCertificateTls", sgp32_trusted_public_key_data_tls, trusted_certificate_tls,
              0xA1, sgp22_certificate_type),
};
const schema_type sgp32_trusted_public_key_data_tls_type =
    SGP32_CHOICE("trustedPublicKeyDataTls", 0, sgp32_trusted_public_key_data_tls,
                 trusted_public_key_data_tls_alts);

/* SGP.32 v1.2 section 2.11.1.1.1: EimConfigurationData */
static const schema_field eim_configuration_data_fields[] = {
    SCHEMA_FIELD_NAMED("eimId", sgp32_eim_configuration_data, eim_id, 0x80, sgp32_eim_id_type),
    SCHEMA_OPT_NAMED("eimFqdn", sgp32_eim_configuration_data, eim_fqdn, 0x81, schema_utf8),
    SCHEMA_OPT_NAMED("eimIdType", sgp32_eim_configuration_data, eim_id_type, 0x82,
                     sgp32_eim_id_type_type),
    SCHEMA_OPT_NAMED("counterValue", sgp32_eim_configuration_data, counter_value, 0x83,
                     sgp32_counter_value_type),
    SCHEMA_OPT_NAMED("associationToken", sgp32_eim_configuration_data, association_token, 0x84,
                     sgp32_association_token_type),
    SCHEMA_OPT_NAMED("eimPublicKeyData", sgp32_eim_configuration_data, eim_public_key_data, 0xA5,
                     sgp32_eim_public_key_data_type),
    SCHEMA_OPT_NAMED("trustedPublicKeyDataTls", sgp32_eim_configuration_data,
                     trusted_public_key_data_tls, 0xA6, sgp32_trusted_public_key_data_tls_type),
    SCHEMA_OPT_NAMED("eimSupportedProtocol", sgp32_eim_configuration_data, eim_supported_protocol,
                     0x87, sgp32_eim_supported_protocol_type),
    SCHEMA_OPT_NAMED("euiccCiPKId", sgp32_eim_configuration_data, euicc_ci_pk_id, 0x88,
                     sgp22_subject_key_identifier_type),
    SGP32_OPT_NULL("indirectProfileDownload", sgp32_eim_configuration_data,
                   indirect_profile_download, 0x89),
};
const schema_type sgp32_eim_configuration_data_type = SGP32_SEQUENCE(
    "EimConfigurationData", 0x30, sgp32_eim_configuration_data, eim_configuration_data_fields);

/* ---- PSMOs (SGP.32 v1.2 section 2.11.1.1.3) ------------------------------------------ */

static const schema_field psmo_enable_fields[] = {
    SCHEMA_FIELD_NAMED("iccid", sgp32_psmo_enable, iccid, 0, sgp22_iccid_type),
    SGP32_OPT_NULL("rollbackFlag", sgp32_psmo_enable, rollback_flag, 0),
};
const schema_type sgp32_psmo_enable_type =
    SGP32_SEQUENCE("enable", 0x30, sgp32_psmo_enable, psmo_enable_fields);

static const schema_field psmo_iccid_fields[] = {
    SCHEMA_FIELD_NAMED("iccid", sgp32_psmo_iccid, iccid, 0, sgp22_iccid_type),
};
const schema_type sgp32_psmo_iccid_type =
    SGP32_SEQUENCE("SEQUENCE {iccid}", 0x30, sgp32_psmo_iccid, psmo_iccid_fields);

/* SGP.32 v1.2 section 5.9.17: ConfigureImmediateProfileEnablingRequest, also the PSMO
 * configureImmediateEnable [7] */
static const schema_field configure_immediate_fields[] = {
    SGP32_OPT_NULL("immediateEnableFlag", sgp32_configure_immediate_profile_enabling_request,
                   immediate_enable_flag, 0x80),
    SCHEMA_OPT_NAMED("defaultSmdpOid", sgp32_configure_immediate_profile_enabling_request,
                     default_smdp_oid, 0x81, schema_oid),
    SCHEMA_OPT_NAMED("defaultSmdpAddress", sgp32_configure_immediate_profile_enabling_request,
                     default_smdp_address, 0x82, schema_utf8),
};
const schema_type sgp32_configure_immediate_profile_enabling_request_type =
    SGP32_SEQUENCE("ConfigureImmediateProfileEnablingRequest", 0xBF59,
                   sgp32_configure_immediate_profile_enabling_request, configure_immediate_fields);

/* SGP.32 v1.2 section 5.9.25: SetDefaultDpAddressRequest (single untagged component: [0]) */
static const schema_field set_default_dp_address_request_fields[] = {
    SCHEMA_FIELD_NAMED("defaultDpAddress", sgp32_set_default_dp_address_request, default_dp_address,
                       0x80, schema_utf8),
};
const schema_type sgp32_set_default_dp_address_request_type =
    SGP32_SEQUENCE("SetDefaultDpAddressRequest", 0xBF65, sgp32_set_default_dp_address_request,
                   set_default_dp_address_request_fields);

/* SGP.32 v1.2 section 5.9.25: SetDefaultDpAddressResponse */
static const schema_field set_default_dp_address_response_fields[] = {
    SCHEMA_FIELD_NAMED("setDefaultDpAddressResult", sgp32_set_default_dp_address_response,
                       set_default_dp_address_result, 0x80,
                       sgp32_set_default_dp_address_result_type),
};
const schema_type sgp32_set_default_dp_address_response_type =
    SGP32_SEQUENCE("SetDefaultDpAddressResponse", 0xBF65, sgp32_set_default_dp_address_response,
                   set_default_dp_address_response_fields);

/* SGP.32 v1.2 section 2.11.1.1.3: Psmo */
static const schema_field psmo_alts[] = {
    SGP32_ALT("enable", sgp32_psmo, enable, 0xA3, sgp32_psmo_enable_type),
    SGP32_ALT("disable", sgp32_psmo, disable, 0xA4, sgp32_psmo_iccid_type),
    SGP32_ALT("delete", sgp32_psmo, delete_profile, 0xA5, sgp32_psmo_iccid_type),
    SGP32_ALT("listProfileInfo", sgp32_psmo, list_profile_info, 0xBF2D,
              sgp22_profile_info_list_request_type),
    SGP32_ALT("getRAT", sgp32_psmo, get_rat, 0xA6, sgp32_empty_sequence_type),
    SGP32_ALT("configureImmediateEnable", sgp32_psmo, configure_immediate_enable, 0xA7,
              sgp32_configure_immediate_profile_enabling_request_type),
    SGP32_ALT("setFallbackAttribute", sgp32_psmo, set_fallback_attribute, 0xA8,
              sgp32_psmo_iccid_type),
    SGP32_ALT("unsetFallbackAttribute", sgp32_psmo, unset_fallback_attribute, 0xA9,
              sgp32_empty_sequence_type),
    SGP32_ALT("setDefaultDpAddress", sgp32_psmo, set_default_dp_address, 0xBF65,
              sgp32_set_default_dp_address_request_type),
};
const schema_type sgp32_psmo_type = SGP32_CHOICE("Psmo", 0, sgp32_psmo, psmo_alts);

/* ---- eCOs (SGP.32 v1.2 section 2.11.1.1.2) ------------------------------------------- */

static const schema_field delete_eim_fields[] = {
    SCHEMA_FIELD_NAMED("eimId", sgp32_delete_eim, eim_id, 0x80, sgp32_eim_id_type),
};
const schema_type sgp32_delete_eim_type =
    SGP32_SEQUENCE("deleteEim", 0x30, sgp32_delete_eim, delete_eim_fields);

static const schema_field eco_alts[] = {
    SGP32_ALT("addEim", sgp32_eco, add_eim, 0xA8, sgp32_eim_configuration_data_type),
    SGP32_ALT("deleteEim", sgp32_eco, delete_eim, 0xA9, sgp32_delete_eim_type),
    SGP32_ALT("updateEim", sgp32_eco, update_eim, 0xAA, sgp32_eim_configuration_data_type),
    SGP32_ALT("listEim", sgp32_eco, list_eim, 0xAB, sgp32_empty_sequence_type),
};
const schema_type sgp32_eco_type = SGP32_CHOICE("Eco", 0, sgp32_eco, eco_alts);

/* ---- eUICC Package (SGP.32 v1.2 section 2.11.1.1) ------------------------------------ */

static const schema_type psmo_list_type =
    SCHEMA_SEQUENCE_OF_TYPE("SEQUENCE OF Psmo", 0x30, sgp32_psmo_type, 0, 0);
static const schema_type eco_list_type =
    SCHEMA_SEQUENCE_OF_TYPE("SEQUENCE OF Eco", 0x30, sgp32_eco_type, 0, 0);

/* Alternatives are untagged SEQUENCE OFs: automatic tags [0] / [1] */
static const schema_field euicc_package_alts[] = {
    SGP32_ALT("psmoList", sgp32_euicc_package, psmo_list, 0xA0, psmo_list_type),
    SGP32_ALT("ecoList", sgp32_euicc_package, eco_list, 0xA1, eco_list_type),
};
const schema_type sgp32_euicc_package_type =
    SGP32_CHOICE("EuiccPackage", 0, sgp32_euicc_package, euicc_package_alts);

static const schema_field euicc_package_signed_fields[] = {
    SCHEMA_FIELD_NAMED("eimId", sgp32_euicc_package_signed, eim_id, 0x80, sgp32_eim_id_type),
    SCHEMA_FIELD_NAMED("eidValue", sgp32_euicc_package_signed, eid_value, 0x5A, sgp32_eid_type),
    SCHEMA_FIELD_NAMED("counterValue", sgp32_euicc_package_signed, counter_value, 0x81,
                       sgp32_counter_value_type),
    SCHEMA_OPT_NAMED("eimTransactionId", sgp32_euicc_package_signed, eim_transaction_id, 0x82,
                     sgp22_transaction_id_type),
    SCHEMA_FIELD_NAMED("euiccPackage", sgp32_euicc_package_signed, euicc_package, 0,
                       sgp32_euicc_package_type),
};
const schema_type sgp32_euicc_package_signed_type = SGP32_SEQUENCE(
    "EuiccPackageSigned", 0x30, sgp32_euicc_package_signed, euicc_package_signed_fields);

/* SGP.32 v1.2 section 2.11.1.1: EuiccPackageRequest */
static const schema_field euicc_package_request_fields[] = {
    SCHEMA_FIELD_NAMED("euiccPackageSigned", sgp32_euicc_package_request, euicc_package_signed, 0,
                       sgp32_euicc_package_signed_type),
    SCHEMA_FIELD_NAMED("eimSignature", sgp32_euicc_package_request, eim_signature, 0x5F37,
                       schema_octets),
};
const schema_type sgp32_euicc_package_request_type = SGP32_SEQUENCE(
    "EuiccPackageRequest", 0xBF51, sgp32_euicc_package_request, euicc_package_request_fields);

/* ---- ProfileInfo (SGP.32 v1.2 section 4.4) ------------------------------------------- */

static const schema_type utf8_to32_type = SCHEMA_UTF8_TYPE("UTF8String (SIZE(0..32))", 0x0C, 0, 32);
static const schema_type utf8_to64_type = SCHEMA_UTF8_TYPE("UTF8String (SIZE(0..64))", 0x0C, 0, 64);
static const schema_type icon_type =
    SCHEMA_OCTETS_TYPE("OCTET STRING (SIZE(0..1024))", 0x04, 0, 1024);
static const schema_type notification_configuration_list_type =
    SCHEMA_SEQUENCE_OF_TYPE("SEQUENCE OF NotificationConfigurationInformation", 0x30,
                            sgp22_notification_configuration_information_type, 0, 0);

static const schema_field profile_info_fields[] = {
    SCHEMA_OPT_NAMED("iccid", sgp32_profile_info, iccid, 0, sgp22_iccid_type),
    SCHEMA_OPT_NAMED("isdpAid", sgp32_profile_info, isdp_aid, 0x4F, sgp22_octet_to16_type),
    SCHEMA_OPT_NAMED("profileState", sgp32_profile_info, profile_state, 0x9F70,
                     sgp22_profile_state_type),
    SCHEMA_OPT_NAMED("profileNickname", sgp32_profile_info, profile_nickname, 0x90, utf8_to64_type),
    SCHEMA_OPT_NAMED("serviceProviderName", sgp32_profile_info, service_provider_name, 0x91,
                     utf8_to32_type),
    SCHEMA_OPT_NAMED("profileName", sgp32_profile_info, profile_name, 0x92, utf8_to64_type),
    SCHEMA_OPT_NAMED("iconType", sgp32_profile_info, icon_type, 0x93, sgp22_icon_type_type),
    SCHEMA_OPT_NAMED("icon", sgp32_profile_info, icon, 0x94, icon_type),
    SCHEMA_OPT_NAMED("profileClass", sgp32_profile_info, profile_class, 0x95,
                     sgp22_profile_class_type),
    SCHEMA_OPT_NAMED("notificationConfigurationInfo", sgp32_profile_info,
                     notification_configuration_info, 0xB6, notification_configuration_list_type),
    SCHEMA_OPT_NAMED("profileOwner", sgp32_profile_info, profile_owner, 0xB7,
                     sgp22_operator_id_type),
    SCHEMA_OPT_NAMED("dpProprietaryData", sgp32_profile_info, dp_proprietary_data, 0xB8,
                     sgp22_dp_proprietary_data_type),
    SCHEMA_OPT_NAMED("profilePolicyRules", sgp32_profile_info, profile_policy_rules, 0x99,
                     sgp22_ppr_ids_type),
    SCHEMA_OPT_NAMED("serviceSpecificDataStoredInEuicc", sgp32_profile_info,
                     service_specific_data_stored_in_euicc, 0xBF22,
                     sgp22_vendor_specific_extension_type),
    SCHEMA_OPT_NAMED("ecallIndication", sgp32_profile_info, ecall_indication, 0x9F7B,
                     schema_boolean),
    SCHEMA_OPT_NAMED("fallbackAttribute", sgp32_profile_info, fallback_attribute, 0x9F26,
                     schema_boolean),
    SCHEMA_OPT_NAMED("fallbackAllowed", sgp32_profile_info, fallback_allowed, 0x9F67,
                     schema_boolean),
};
const schema_type sgp32_profile_info_type =
    SGP32_SEQUENCE("ProfileInfo", 0xE3, sgp32_profile_info, profile_info_fields);

static const schema_type profile_info_list_type =
    SCHEMA_SEQUENCE_OF_TYPE("SEQUENCE OF ProfileInfo", 0x30, sgp32_profile_info_type, 0, 0);

/* SGP.32 v1.2 section 2.11.2.1: ProfileInfoListResponse (automatic tags [0] / [1]) */
static const schema_field profile_info_list_response_alts[] = {
    SGP32_ALT("profileInfoListOk", sgp32_profile_info_list_response, profile_info_list_ok, 0xA0,
              profile_info_list_type),
    SGP32_ALT("profileInfoListError", sgp32_profile_info_list_response, profile_info_list_error,
              0x81, sgp32_profile_info_list_error_type),
};
const schema_type sgp32_profile_info_list_response_type =
    SGP32_CHOICE("ProfileInfoListResponse", 0xBF2D, sgp32_profile_info_list_response,
                 profile_info_list_response_alts);

/* ---- eUICC Package Result (SGP.32 v1.2 section 2.11.2.1) ----------------------------- */

static const schema_field add_eim_result_alts[] = {
    SGP32_ALT("associationToken", sgp32_add_eim_result, association_token, 0x84,
              sgp32_association_token_type),
    SGP32_ALT("addEimResultCode", sgp32_add_eim_result, add_eim_result_code, 0,
              sgp32_add_eim_result_code_type),
};
const schema_type sgp32_add_eim_result_type =
    SGP32_CHOICE("AddEimResult", 0, sgp32_add_eim_result, add_eim_result_alts);

static const schema_field eim_id_info_fields[] = {
    SCHEMA_FIELD_NAMED("eimId", sgp32_eim_id_info, eim_id, 0x80, sgp32_eim_id_type),
    SCHEMA_OPT_NAMED("eimIdType", sgp32_eim_id_info, eim_id_type, 0x82, sgp32_eim_id_type_type),
};
const schema_type sgp32_eim_id_info_type =
    SGP32_SEQUENCE("EimIdInfo", 0x30, sgp32_eim_id_info, eim_id_info_fields);

static const schema_type eim_id_list_type =
    SCHEMA_SEQUENCE_OF_TYPE("SEQUENCE OF EimIdInfo", 0x30, sgp32_eim_id_info_type, 0, 0);

/* No alternative is tagged: automatic tags [0] / [1] */
static const schema_field list_eim_result_alts[] = {
    SGP32_ALT("eimIdList", sgp32_list_eim_result, eim_id_list, 0xA0, eim_id_list_type),
    SGP32_ALT("listEimError", sgp32_list_eim_result, list_eim_error, 0x81,
              sgp32_list_eim_error_type),
};
const schema_type sgp32_list_eim_result_type =
    SGP32_CHOICE("ListEimResult", 0, sgp32_list_eim_result, list_eim_result_alts);

static const schema_field euicc_result_data_alts[] = {
    SGP32_ALT("enableResult", sgp32_euicc_result_data, enable_result, 0x83,
              sgp32_enable_profile_result_type),
    SGP32_ALT("disableResult", sgp32_euicc_result_data, disable_result, 0x84,
              sgp32_disable_profile_result_type),
    SGP32_ALT("deleteResult", sgp32_euicc_result_data, delete_result, 0x85,
              sgp32_delete_profile_result_type),
    SGP32_ALT("listProfileInfoResult", sgp32_euicc_result_data, list_profile_info_result, 0xBF2D,
              sgp32_profile_info_list_response_type),
    SGP32_ALT("getRATResult", sgp32_euicc_result_data, get_rat_result, 0xA6,
              sgp22_rules_authorisation_table_type),
    SGP32_ALT("configureImmediateEnableResult", sgp32_euicc_result_data,
              configure_immediate_enable_result, 0x87,
              sgp32_configure_immediate_enable_result_type),
    SGP32_ALT("addEimResult", sgp32_euicc_result_data, add_eim_result, 0xA8,
              sgp32_add_eim_result_type),
    SGP32_ALT("deleteEimResult", sgp32_euicc_result_data, delete_eim_result, 0x89,
              sgp32_delete_eim_result_type),
    SGP32_ALT("updateEimResult", sgp32_euicc_result_data, update_eim_result, 0x8A,
              sgp32_update_eim_result_type),
    SGP32_ALT("listEimResult", sgp32_euicc_result_data, list_eim_result, 0xAB,
              sgp32_list_eim_result_type),
    SGP32_ALT("rollbackResult", sgp32_euicc_result_data, rollback_result, 0x8C,
              sgp32_rollback_profile_result_type),
    SGP32_ALT("setFallbackAttributeResult", sgp32_euicc_result_data, set_fallback_attribute_result,
              0x8D, sgp32_set_fallback_attribute_result_type),
    SGP32_ALT("unsetFallbackAttributeResult", sgp32_euicc_result_data,
              unset_fallback_attribute_result, 0x8E, sgp32_unset_fallback_attribute_result_type),
    SGP32_ALT("processingTerminated", sgp32_euicc_result_data, processing_terminated, 0,
              sgp32_processing_terminated_type),
    SGP32_ALT("setDefaultDpAddressResult", sgp32_euicc_result_data, set_default_dp_address_result,
              0xBF65, sgp32_set_default_dp_address_response_type),
};
const schema_type sgp32_euicc_result_data_type =
    SGP32_CHOICE("EuiccResultData", 0, sgp32_euicc_result_data, euicc_result_data_alts);

static const schema_type euicc_result_list_type = SCHEMA_SEQUENCE_OF_TYPE(
    "SEQUENCE OF EuiccResultData", 0x30, sgp32_euicc_result_data_type, 0, 0);

static const schema_field euicc_package_result_data_signed_fields[] = {
    SCHEMA_FIELD_NAMED("eimId", sgp32_euicc_package_result_data_signed, eim_id, 0x80,
                       sgp32_eim_id_type),
    SCHEMA_FIELD_NAMED("counterValue", sgp32_euicc_package_result_data_signed, counter_value, 0x81,
                       sgp32_counter_value_type),
    SCHEMA_OPT_NAMED("eimTransactionId", sgp32_euicc_package_result_data_signed, eim_transaction_id,
                     0x82, sgp22_transaction_id_type),
    SCHEMA_FIELD_NAMED("seqNumber", sgp32_euicc_package_result_data_signed, seq_number, 0x83,
                       schema_integer),
    SCHEMA_FIELD_NAMED("euiccResult", sgp32_euicc_package_result_data_signed, euicc_result, 0,
                       euicc_result_list_type),
};
const schema_type sgp32_euicc_package_result_data_signed_type =
    SGP32_SEQUENCE("EuiccPackageResultDataSigned", 0x30, sgp32_euicc_package_result_data_signed,
                   euicc_package_result_data_signed_fields);

static const schema_field euicc_package_result_signed_fields[] = {
    SCHEMA_FIELD_NAMED("euiccPackageResultDataSigned", sgp32_euicc_package_result_signed,
                       euicc_package_result_data_signed, 0,
                       sgp32_euicc_package_result_data_signed_type),
    SCHEMA_FIELD_NAMED("euiccSignEPR", sgp32_euicc_package_result_signed, euicc_sign_epr, 0x5F37,
                       schema_octets),
};
const schema_type sgp32_euicc_package_result_signed_type =
    SGP32_SEQUENCE("EuiccPackageResultSigned", 0x30, sgp32_euicc_package_result_signed,
                   euicc_package_result_signed_fields);

static const schema_field euicc_package_error_data_signed_fields[] = {
    SCHEMA_FIELD_NAMED("eimId", sgp32_euicc_package_error_data_signed, eim_id, 0x80,
                       sgp32_eim_id_type),
    SCHEMA_FIELD_NAMED("counterValue", sgp32_euicc_package_error_data_signed, counter_value, 0x81,
                       sgp32_counter_value_type),
    SCHEMA_OPT_NAMED("eimTransactionId", sgp32_euicc_package_error_data_signed, eim_transaction_id,
                     0x82, sgp22_transaction_id_type),
    SCHEMA_FIELD_NAMED("euiccPackageErrorCode", sgp32_euicc_package_error_data_signed,
                       euicc_package_error_code, 0, sgp32_euicc_package_error_code_type),
};
const schema_type sgp32_euicc_package_error_data_signed_type =
    SGP32_SEQUENCE("EuiccPackageErrorDataSigned", 0x30, sgp32_euicc_package_error_data_signed,
                   euicc_package_error_data_signed_fields);

static const schema_field euicc_package_error_signed_fields[] = {
    SCHEMA_FIELD_NAMED("euiccPackageErrorDataSigned", sgp32_euicc_package_error_signed,
                       euicc_package_error_data_signed, 0,
                       sgp32_euicc_package_error_data_signed_type),
    SCHEMA_FIELD_NAMED("euiccSignEPE", sgp32_euicc_package_error_signed, euicc_sign_epe, 0x5F37,
                       schema_octets),
};
const schema_type sgp32_euicc_package_error_signed_type =
    SGP32_SEQUENCE("EuiccPackageErrorSigned", 0x30, sgp32_euicc_package_error_signed,
                   euicc_package_error_signed_fields);

static const schema_field euicc_package_error_unsigned_fields[] = {
    SCHEMA_FIELD_NAMED("eimId", sgp32_euicc_package_error_unsigned, eim_id, 0x80,
                       sgp32_eim_id_type),
    SCHEMA_OPT_NAMED("eimTransactionId", sgp32_euicc_package_error_unsigned, eim_transaction_id,
                     0x82, sgp22_transaction_id_type),
    SCHEMA_OPT_NAMED("associationToken", sgp32_euicc_package_error_unsigned, association_token,
                     0x84, sgp32_association_token_type),
};
const schema_type sgp32_euicc_package_error_unsigned_type =
    SGP32_SEQUENCE("EuiccPackageErrorUnsigned", 0x30, sgp32_euicc_package_error_unsigned,
                   euicc_package_error_unsigned_fields);

/* SGP.32 v1.2 section 2.11.2.1: EuiccPackageResult ::= [81] CHOICE; no alternative is
 * tagged, so they get automatic tags [0], [1], [2] under the explicit BF51 */
static const schema_field euicc_package_result_alts[] = {
    SGP32_ALT("euiccPackageResultSigned", sgp32_euicc_package_result, euicc_package_result_signed,
              0xA0, sgp32_euicc_package_result_signed_type),
    SGP32_ALT("euiccPackageErrorSigned", sgp32_euicc_package_result, euicc_package_error_signed,
              0xA1, sgp32_euicc_package_error_signed_type),
    SGP32_ALT("euiccPackageErrorUnsigned", sgp32_euicc_package_result, euicc_package_error_unsigned,
              0xA2, sgp32_euicc_package_error_unsigned_type),
};
const schema_type sgp32_euicc_package_result_type = SGP32_CHOICE(
    "EuiccPackageResult", 0xBF51, sgp32_euicc_package_result, euicc_package_result_alts);

const schema_type sgp32_euicc_package_result_list_type =
    SCHEMA_SEQUENCE_OF_TYPE("EuiccPackageResultList", 0x30, sgp32_euicc_package_result_type, 0, 0);

/* SGP.32 v1.2 section 2.11.1.4: EimAcknowledgements ::= [83] SEQUENCE OF SequenceNumber */
const schema_type sgp32_eim_acknowledgements_type =
    SCHEMA_SEQUENCE_OF_TYPE("EimAcknowledgements", 0xBF53, sgp32_sequence_number_type, 0, 0);

/* ---- Signed parts -------------------------------------------------------------------- */

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
    return rsp_error_set(err, RSP_ERR_NOT_FOUND, tag, parent->offset, "no child with tag %X",
                         (unsigned)tag);
}

rsp_status sgp32_signed_part(der_view message, const uint32_t *path, size_t n, der_view *out,
                             rsp_error *err)
{
    der_tlv tlv;
    rsp_status st;
    if (n == 0 || path == NULL || out == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "empty tag path");
    if ((st = der_parse_single(message, &tlv, err)) != RSP_OK)
        return st;
    if (tlv.tag != path[0])
        return rsp_error_set(err, RSP_ERR_NOT_FOUND, tlv.tag, tlv.offset, "message tag is not %X",
                             (unsigned)path[0]);
    for (size_t i = 1; i < n; i++) {
        der_tlv child;
        if ((st = find_child(&tlv, (unsigned)i - 1, path[i], &child, err)) != RSP_OK)
            return st;
        tlv = child;
    }
    *out = tlv.whole;
    return RSP_OK;
}

/* SGP.32 v1.2 sections 2.11.1.1 and 2.11.2.1: signed data || associationToken */
rsp_status sgp32_signature_input(der_view signed_data, int64_t association_token, der_writer *w)
{
    der_put_raw(w, signed_data.data, signed_data.len);
    der_put_int64(w, 0x84, association_token);
    return der_writer_status(w);
}
