/* GSMA SGP.22 v2.5 message catalogue: one C struct and one schema_type table per ASN.1 type
 * of the module RSPDefinitions (AUTOMATIC TAGS, EXTENSIBILITY IMPLIED), for the ES10a/b/c
 * commands, the ES9+/ES11 ASN.1 binding and the Bound Profile Package.
 *
 * Conventions (other modules code against them):
 *  - struct sgp22_<snake_case ASN.1 name>, table sgp22_<snake_case>_type;
 *  - OPTIONAL field f -> `bool has_f` just before `f`; DEFAULT fields are OPTIONAL here
 *    (absent means the default; encoders omit the default value as DER requires);
 *  - CHOICE -> `int choice` (SGP22_<TYPE>_<ALT>, 1-based) + `union {...} u`;
 *  - SEQUENCE OF -> schema_list whose items live in the decode arena;
 *  - OCTET STRING / UTF8String / OBJECT IDENTIFIER -> der_view borrowed from the input;
 *  - X.509 Certificate and CertificateList -> der_view of the whole TLV (SCHEMA_RAW).
 * Every SEQUENCE is extensible (unknown trailing fields are skipped on decode); a CHOICE
 * with an alternative this version does not know is rejected, because no caller could act
 * on it and it could not be re-encoded.
 *
 * Signed sub-structures: the eUICC and the SM-DP+ verify signatures over the exact bytes
 * received, which a re-encoding may not reproduce (skipped extensions). Decode the message
 * normally for the values, and take the signed bytes with sgp22_find_signed_part() and one
 * of the SGP22_PATH_* tag paths below. */
#ifndef RSPKIT_CORE_SGP22_H
#define RSPKIT_CORE_SGP22_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/der.h"
#include "core/error.h"
#include "core/schema.h"

/* ---- Signed parts ---------------------------------------------------------------------- */

/* Finds the TLV reached by following path[0..n-1] from message: path[0] is the tag of the
 * message itself, each later entry is the tag of the first child with that tag inside the
 * previous TLV. *out is the whole TLV (tag, length, value) inside message: the exact bytes a
 * signature covers. RSP_ERR_NOT_FOUND when a step is missing, decoding errors as usual. */
rsp_status sgp22_find_signed_part(der_view message, const uint32_t *path, size_t n, der_view *out,
                                  rsp_error *err);

/* Tag paths, used as `const uint32_t path[] = SGP22_PATH_...;` */
/* serverSigned1 in AuthenticateServerRequest (ES10b) */
#define SGP22_PATH_SERVER_SIGNED1_IN_AUTHENTICATE_SERVER_REQUEST                                   \
    {                                                                                              \
        0xBF38, 0x30                                                                               \
    }
/* serverSigned1 in InitiateAuthenticationResponse (ES9+) */
#define SGP22_PATH_SERVER_SIGNED1_IN_INITIATE_AUTHENTICATION_RESPONSE                              \
    {                                                                                              \
        0xBF39, 0xA0, 0x30                                                                         \
    }
/* euiccSigned1 in AuthenticateServerResponse (ES10b) */
#define SGP22_PATH_EUICC_SIGNED1_IN_AUTHENTICATE_SERVER_RESPONSE                                   \
    {                                                                                              \
        0xBF38, 0xA0, 0x30                                                                         \
    }
/* euiccSigned1 in AuthenticateClientRequest (ES9+) */
#define SGP22_PATH_EUICC_SIGNED1_IN_AUTHENTICATE_CLIENT_REQUEST                                    \
    {                                                                                              \
        0xBF3B, 0xBF38, 0xA0, 0x30                                                                 \
    }
/* smdpSigned2 in PrepareDownloadRequest (ES10b) */
#define SGP22_PATH_SMDP_SIGNED2_IN_PREPARE_DOWNLOAD_REQUEST                                        \
    {                                                                                              \
        0xBF21, 0x30                                                                               \
    }
/* smdpSigned2 in AuthenticateClientResponseEs9 (ES9+) */
#define SGP22_PATH_SMDP_SIGNED2_IN_AUTHENTICATE_CLIENT_RESPONSE                                    \
    {                                                                                              \
        0xBF3B, 0xA0, 0x30                                                                         \
    }
/* euiccSigned2 in PrepareDownloadResponse (ES10b) */
#define SGP22_PATH_EUICC_SIGNED2_IN_PREPARE_DOWNLOAD_RESPONSE                                      \
    {                                                                                              \
        0xBF21, 0xA0, 0x30                                                                         \
    }
/* euiccSigned2 in GetBoundProfilePackageRequest (ES9+) */
#define SGP22_PATH_EUICC_SIGNED2_IN_GET_BOUND_PROFILE_PACKAGE_REQUEST                              \
    {                                                                                              \
        0xBF3A, 0xBF21, 0xA0, 0x30                                                                 \
    }
/* euiccCancelSessionSigned in CancelSessionResponse (ES10b) */
#define SGP22_PATH_EUICC_CANCEL_SESSION_SIGNED_IN_CANCEL_SESSION_RESPONSE                          \
    {                                                                                              \
        0xBF41, 0xA0, 0x30                                                                         \
    }
/* euiccCancelSessionSigned in CancelSessionRequestEs9 (ES9+) */
#define SGP22_PATH_EUICC_CANCEL_SESSION_SIGNED_IN_CANCEL_SESSION_REQUEST_ES9                       \
    {                                                                                              \
        0xBF41, 0xA1, 0xA0, 0x30                                                                   \
    }
/* profileInstallationResultData in ProfileInstallationResult */
#define SGP22_PATH_PROFILE_INSTALLATION_RESULT_DATA                                                \
    {                                                                                              \
        0xBF37, 0xBF27                                                                             \
    }
/* tbsOtherNotification in OtherSignedNotification */
#define SGP22_PATH_TBS_OTHER_NOTIFICATION                                                          \
    {                                                                                              \
        0x30, 0xBF2F                                                                               \
    }
/* InitialiseSecureChannelRequest in a BoundProfilePackage: the SM-DP+ signs its content
 * from remoteOpId to smdpOtpk plus euiccOtpk (SGP.22 v2.5 section 5.5.1) */
#define SGP22_PATH_INITIALISE_SECURE_CHANNEL_IN_BPP                                                \
    {                                                                                              \
        0xBF36, 0xBF23                                                                             \
    }

/* ---- Basic types (SGP.22 v2.5 section 2.5 / RSPDefinitions) --------------------------- */

extern const schema_type sgp22_octet1_type;         /* OCTET STRING (SIZE(1)) */
extern const schema_type sgp22_octet4_type;         /* OCTET STRING (SIZE(4)) */
extern const schema_type sgp22_octet8_type;         /* OCTET STRING (SIZE(8)) */
extern const schema_type sgp22_octet16_type;        /* OCTET STRING (SIZE(16)) */
extern const schema_type sgp22_octet_to16_type;     /* OCTET STRING (SIZE(1..16)) */
extern const schema_type sgp22_octet32_type;        /* OCTET STRING (SIZE(32)) */
extern const schema_type sgp22_version_type_type;   /* VersionType: OCTET STRING (SIZE(3)) */
extern const schema_type sgp22_iccid_type;          /* [APPLICATION 26] SIZE(10), tag 5A */
extern const schema_type sgp22_transaction_id_type; /* OCTET STRING (SIZE(1..16)) */
extern const schema_type sgp22_subject_key_identifier_type; /* OCTET STRING */
extern const schema_type sgp22_certificate_type;            /* X.509 Certificate, kept verbatim */
extern const schema_type sgp22_certificate_list_type;       /* X.509 CertificateList, verbatim */
extern const schema_type sgp22_subject_key_identifier_list_type; /* SEQUENCE OF SKI */
/* [APPLICATION 55] OCTET STRING (5F37), the signature fields; the ES9+ JSON binding carries
 * them base64-encoded as whole TLVs */
extern const schema_type sgp22_signature_type;

/* ---- Bit strings (bit numbers as in the ASN.1 named bits) ----------------------------- */

enum {
    SGP22_RSP_CAPABILITY_ADDITIONAL_PROFILE = 0,
    SGP22_RSP_CAPABILITY_CRL_SUPPORT = 1,
    SGP22_RSP_CAPABILITY_RPM_SUPPORT = 2,
    SGP22_RSP_CAPABILITY_TEST_PROFILE_SUPPORT = 3,
    SGP22_RSP_CAPABILITY_DEVICE_INFO_EXTENSIBILITY_SUPPORT = 4,
    SGP22_RSP_CAPABILITY_SERVICE_SPECIFIC_DATA_SUPPORT = 5,
};
enum {
    SGP22_PPR_UPDATE_CONTROL = 0,
    SGP22_PPR1 = 1,
    SGP22_PPR2 = 2,
};
enum {
    SGP22_NOTIFICATION_INSTALL = 0,
    SGP22_NOTIFICATION_ENABLE = 1,
    SGP22_NOTIFICATION_DISABLE = 2,
    SGP22_NOTIFICATION_DELETE = 3,
};
enum {
    SGP22_TRE_IS_DISCRETE = 0,
    SGP22_TRE_IS_INTEGRATED = 1,
    SGP22_TRE_USES_REMOTE_MEMORY = 2,
};
enum {
    SGP22_RESET_DELETE_OPERATIONAL_PROFILES = 0,
    SGP22_RESET_DELETE_FIELD_LOADED_TEST_PROFILES = 1,
    SGP22_RESET_DEFAULT_SMDP_ADDRESS = 2,
};
enum { SGP22_PPR_FLAG_CONSENT_REQUIRED = 0 };

extern const schema_type sgp22_uicc_capability_type;    /* UICCCapability (SAIP) */
extern const schema_type sgp22_rsp_capability_type;     /* RspCapability */
extern const schema_type sgp22_ppr_ids_type;            /* PprIds */
extern const schema_type sgp22_notification_event_type; /* NotificationEvent */
extern const schema_type sgp22_certificate_info_type;   /* CertificateInfo */

/* ---- Named integers ------------------------------------------------------------------- */

enum { SGP22_ICON_TYPE_JPG = 0, SGP22_ICON_TYPE_PNG = 1 };
enum { SGP22_PROFILE_STATE_DISABLED = 0, SGP22_PROFILE_STATE_ENABLED = 1 };
enum {
    SGP22_PROFILE_CLASS_TEST = 0,
    SGP22_PROFILE_CLASS_PROVISIONING = 1,
    SGP22_PROFILE_CLASS_OPERATIONAL = 2,
};
enum {
    SGP22_EUICC_CATEGORY_OTHER = 0,
    SGP22_EUICC_CATEGORY_BASIC = 1,
    SGP22_EUICC_CATEGORY_MEDIUM = 2,
    SGP22_EUICC_CATEGORY_CONTACTLESS = 3,
};
enum { SGP22_REMOTE_OP_ID_INSTALL_BOUND_PROFILE_PACKAGE = 1 };
/* shared by several results: ok(0) ... undefinedError(127) */
enum { SGP22_RESULT_OK = 0, SGP22_RESULT_UNDEFINED_ERROR = 127 };
enum {
    SGP22_PROFILE_INFO_LIST_ERROR_INCORRECT_INPUT_VALUES = 1,
    SGP22_PROFILE_INFO_LIST_ERROR_UNDEFINED_ERROR = 127,
};
enum {
    SGP22_DOWNLOAD_ERROR_INVALID_CERTIFICATE = 1,
    SGP22_DOWNLOAD_ERROR_INVALID_SIGNATURE = 2,
    SGP22_DOWNLOAD_ERROR_UNSUPPORTED_CURVE = 3,
    SGP22_DOWNLOAD_ERROR_NO_SESSION_CONTEXT = 4,
    SGP22_DOWNLOAD_ERROR_INVALID_TRANSACTION_ID = 5,
    SGP22_DOWNLOAD_ERROR_UNDEFINED_ERROR = 127,
};
enum {
    SGP22_AUTHENTICATE_ERROR_INVALID_CERTIFICATE = 1,
    SGP22_AUTHENTICATE_ERROR_INVALID_SIGNATURE = 2,
    SGP22_AUTHENTICATE_ERROR_UNSUPPORTED_CURVE = 3,
    SGP22_AUTHENTICATE_ERROR_NO_SESSION_CONTEXT = 4,
    SGP22_AUTHENTICATE_ERROR_INVALID_OID = 5,
    SGP22_AUTHENTICATE_ERROR_EUICC_CHALLENGE_MISMATCH = 6,
    SGP22_AUTHENTICATE_ERROR_CI_PK_UNKNOWN = 7,
    SGP22_AUTHENTICATE_ERROR_UNDEFINED_ERROR = 127,
};
enum {
    SGP22_CANCEL_SESSION_REASON_END_USER_REJECTION = 0,
    SGP22_CANCEL_SESSION_REASON_POSTPONED = 1,
    SGP22_CANCEL_SESSION_REASON_TIMEOUT = 2,
    SGP22_CANCEL_SESSION_REASON_PPR_NOT_ALLOWED = 3,
    SGP22_CANCEL_SESSION_REASON_METADATA_MISMATCH = 4,
    SGP22_CANCEL_SESSION_REASON_LOAD_BPP_EXECUTION_ERROR = 5,
    SGP22_CANCEL_SESSION_REASON_UNDEFINED_REASON = 127,
};
enum {
    SGP22_CANCEL_SESSION_ERROR_INVALID_TRANSACTION_ID = 5,
    SGP22_CANCEL_SESSION_ERROR_UNDEFINED_ERROR = 127,
};
enum {
    SGP22_BPP_COMMAND_INITIALISE_SECURE_CHANNEL = 0,
    SGP22_BPP_COMMAND_CONFIGURE_ISDP = 1,
    SGP22_BPP_COMMAND_STORE_METADATA = 2,
    SGP22_BPP_COMMAND_STORE_METADATA2 = 3,
    SGP22_BPP_COMMAND_REPLACE_SESSION_KEYS = 4,
    SGP22_BPP_COMMAND_LOAD_PROFILE_ELEMENTS = 5,
};
enum {
    SGP22_ERROR_REASON_INCORRECT_INPUT_VALUES = 1,
    SGP22_ERROR_REASON_INVALID_SIGNATURE = 2,
    SGP22_ERROR_REASON_INVALID_TRANSACTION_ID = 3,
    SGP22_ERROR_REASON_UNSUPPORTED_CRT_VALUES = 4,
    SGP22_ERROR_REASON_UNSUPPORTED_REMOTE_OPERATION_TYPE = 5,
    SGP22_ERROR_REASON_UNSUPPORTED_PROFILE_CLASS = 6,
    SGP22_ERROR_REASON_SCP03T_STRUCTURE_ERROR = 7,
    SGP22_ERROR_REASON_SCP03T_SECURITY_ERROR = 8,
    SGP22_ERROR_REASON_ICCID_ALREADY_EXISTS_ON_EUICC = 9,
    SGP22_ERROR_REASON_INSUFFICIENT_MEMORY_FOR_PROFILE = 10,
    SGP22_ERROR_REASON_INTERRUPTION = 11,
    SGP22_ERROR_REASON_PE_PROCESSING_ERROR = 12,
    SGP22_ERROR_REASON_DATA_MISMATCH = 13,
    SGP22_ERROR_REASON_TEST_PROFILE_INVALID_NAA_KEY = 14,
    SGP22_ERROR_REASON_PPR_NOT_ALLOWED = 15,
    SGP22_ERROR_REASON_UNKNOWN_ERROR = 127,
};
enum {
    SGP22_ENABLE_RESULT_OK = 0,
    SGP22_ENABLE_RESULT_ICCID_OR_AID_NOT_FOUND = 1,
    SGP22_ENABLE_RESULT_PROFILE_NOT_IN_DISABLED_STATE = 2,
    SGP22_ENABLE_RESULT_DISALLOWED_BY_POLICY = 3,
    SGP22_ENABLE_RESULT_WRONG_PROFILE_REENABLING = 4,
    SGP22_ENABLE_RESULT_CAT_BUSY = 5,
    SGP22_ENABLE_RESULT_UNDEFINED_ERROR = 127,
};
enum {
    SGP22_DISABLE_RESULT_OK = 0,
    SGP22_DISABLE_RESULT_ICCID_OR_AID_NOT_FOUND = 1,
    SGP22_DISABLE_RESULT_PROFILE_NOT_IN_ENABLED_STATE = 2,
    SGP22_DISABLE_RESULT_DISALLOWED_BY_POLICY = 3,
    SGP22_DISABLE_RESULT_CAT_BUSY = 5,
    SGP22_DISABLE_RESULT_UNDEFINED_ERROR = 127,
};
enum {
    SGP22_DELETE_RESULT_OK = 0,
    SGP22_DELETE_RESULT_ICCID_OR_AID_NOT_FOUND = 1,
    SGP22_DELETE_RESULT_PROFILE_NOT_IN_DISABLED_STATE = 2,
    SGP22_DELETE_RESULT_DISALLOWED_BY_POLICY = 3,
    SGP22_DELETE_RESULT_UNDEFINED_ERROR = 127,
};
enum {
    SGP22_RESET_RESULT_OK = 0,
    SGP22_RESET_RESULT_NOTHING_TO_DELETE = 1,
    SGP22_RESET_RESULT_CAT_BUSY = 5,
    SGP22_RESET_RESULT_UNDEFINED_ERROR = 127,
};
enum {
    SGP22_DELETE_NOTIFICATION_OK = 0,
    SGP22_DELETE_NOTIFICATION_NOTHING_TO_DELETE = 1,
    SGP22_DELETE_NOTIFICATION_UNDEFINED_ERROR = 127,
};
enum {
    SGP22_SET_NICKNAME_OK = 0,
    SGP22_SET_NICKNAME_ICCID_NOT_FOUND = 1,
    SGP22_SET_NICKNAME_UNDEFINED_ERROR = 127,
};
enum {
    SGP22_LOAD_CRL_ERROR_INVALID_SIGNATURE = 1,
    SGP22_LOAD_CRL_ERROR_INVALID_CRL_FORMAT = 2,
    SGP22_LOAD_CRL_ERROR_NOT_ENOUGH_MEMORY_SPACE = 3,
    SGP22_LOAD_CRL_ERROR_VERIFICATION_KEY_NOT_FOUND = 4,
    SGP22_LOAD_CRL_ERROR_FRESHER_CRL_ALREADY_LOADED = 5,
    SGP22_LOAD_CRL_ERROR_BASE_CRL_MISSING = 6,
    SGP22_LOAD_CRL_ERROR_UNDEFINED_ERROR = 127,
};
enum {
    SGP22_INITIATE_AUTHENTICATION_ERROR_INVALID_DP_ADDRESS = 1,
    SGP22_INITIATE_AUTHENTICATION_ERROR_EUICC_VERSION_NOT_SUPPORTED_BY_DP = 2,
    SGP22_INITIATE_AUTHENTICATION_ERROR_CI_PK_NOT_SUPPORTED = 3,
};
enum {
    SGP22_AUTHENTICATE_CLIENT_ERROR_EUM_CERTIFICATE_INVALID = 1,
    SGP22_AUTHENTICATE_CLIENT_ERROR_EUM_CERTIFICATE_EXPIRED = 2,
    SGP22_AUTHENTICATE_CLIENT_ERROR_EUICC_CERTIFICATE_INVALID = 3,
    SGP22_AUTHENTICATE_CLIENT_ERROR_EUICC_CERTIFICATE_EXPIRED = 4,
    SGP22_AUTHENTICATE_CLIENT_ERROR_EUICC_SIGNATURE_INVALID = 5,
    SGP22_AUTHENTICATE_CLIENT_ERROR_MATCHING_ID_REFUSED = 6,
    SGP22_AUTHENTICATE_CLIENT_ERROR_EID_MISMATCH = 7,
    SGP22_AUTHENTICATE_CLIENT_ERROR_NO_ELIGIBLE_PROFILE = 8,
    SGP22_AUTHENTICATE_CLIENT_ERROR_CI_PK_UNKNOWN = 9,
    SGP22_AUTHENTICATE_CLIENT_ERROR_INVALID_TRANSACTION_ID = 10,
    SGP22_AUTHENTICATE_CLIENT_ERROR_INSUFFICIENT_MEMORY = 11,
    SGP22_AUTHENTICATE_CLIENT_ERROR_UNDEFINED_ERROR = 127,
};
enum {
    SGP22_GET_BPP_ERROR_EUICC_SIGNATURE_INVALID = 1,
    SGP22_GET_BPP_ERROR_CONFIRMATION_CODE_MISSING = 2,
    SGP22_GET_BPP_ERROR_CONFIRMATION_CODE_REFUSED = 3,
    SGP22_GET_BPP_ERROR_CONFIRMATION_CODE_RETRIES_EXCEEDED = 4,
    SGP22_GET_BPP_ERROR_BPP_REBINDING_REFUSED = 5,
    SGP22_GET_BPP_ERROR_DOWNLOAD_ORDER_EXPIRED = 6,
    SGP22_GET_BPP_ERROR_INVALID_TRANSACTION_ID = 95,
    SGP22_GET_BPP_ERROR_UNDEFINED_ERROR = 127,
};
enum {
    SGP22_CANCEL_SESSION_ES9_ERROR_INVALID_TRANSACTION_ID = 1,
    SGP22_CANCEL_SESSION_ES9_ERROR_EUICC_SIGNATURE_INVALID = 2,
    SGP22_CANCEL_SESSION_ES9_ERROR_UNDEFINED_ERROR = 127,
};
enum {
    SGP22_AUTHENTICATE_CLIENT_ES11_ERROR_EUM_CERTIFICATE_INVALID = 1,
    SGP22_AUTHENTICATE_CLIENT_ES11_ERROR_EUM_CERTIFICATE_EXPIRED = 2,
    SGP22_AUTHENTICATE_CLIENT_ES11_ERROR_EUICC_CERTIFICATE_INVALID = 3,
    SGP22_AUTHENTICATE_CLIENT_ES11_ERROR_EUICC_CERTIFICATE_EXPIRED = 4,
    SGP22_AUTHENTICATE_CLIENT_ES11_ERROR_EUICC_SIGNATURE_INVALID = 5,
    SGP22_AUTHENTICATE_CLIENT_ES11_ERROR_EVENT_ID_UNKNOWN = 6,
    SGP22_AUTHENTICATE_CLIENT_ES11_ERROR_INVALID_TRANSACTION_ID = 7,
    SGP22_AUTHENTICATE_CLIENT_ES11_ERROR_UNDEFINED_ERROR = 127,
};

/* Named INTEGER types, for printing (`rspkit asn1 decode`) */
extern const schema_type sgp22_icon_type_type;
extern const schema_type sgp22_profile_state_type;
extern const schema_type sgp22_profile_class_type;
extern const schema_type sgp22_profile_info_list_error_type;
extern const schema_type sgp22_download_error_code_type;
extern const schema_type sgp22_authenticate_error_code_type;
extern const schema_type sgp22_cancel_session_reason_type;
extern const schema_type sgp22_bpp_command_id_type;
extern const schema_type sgp22_error_reason_type;
extern const schema_type sgp22_load_crl_response_error_type;

/* ---- Shared structures ---------------------------------------------------------------- */

/* SGP.22 v2.5 section 4.3: GetEuiccInfo1Request and the other empty requests. C has no
 * empty struct; the member is never encoded. */
typedef struct {
    uint8_t unused;
} sgp22_empty;

/* Table for an empty SEQUENCE {} with tag TAG, value type sgp22_empty */
#define SGP22_EMPTY_SEQUENCE_TYPE(NAME, TAG)                                                       \
    {                                                                                              \
        NAME, SCHEMA_SEQUENCE, (TAG), SCHEMA_EXTENSIBLE, sizeof(sgp22_empty), NULL, 0, NULL, 0, 0, \
            NULL, 0                                                                                \
    }

/* SGP.22 v2.5 section 4.3: EUICCInfo1 (BF20) */
typedef struct {
    der_view svn;
    schema_list euicc_ci_pkid_list_for_verification; /* of der_view */
    schema_list euicc_ci_pkid_list_for_signing;      /* of der_view */
} sgp22_euicc_info1;

/* SGP.22 v2.5 section 4.3: CertificationDataObject */
typedef struct {
    der_view platform_label;
    der_view discovery_base_url;
} sgp22_certification_data_object;

/* SGP.22 v2.5 section 4.3: EUICCInfo2 (BF22) */
typedef struct {
    der_view profile_version;
    der_view svn;
    der_view euicc_firmware_ver;
    der_view ext_card_resource;
    schema_bits uicc_capability;
    bool has_ts102241_version;
    der_view ts102241_version;
    bool has_globalplatform_version;
    der_view globalplatform_version;
    schema_bits rsp_capability;
    schema_list euicc_ci_pkid_list_for_verification; /* of der_view */
    schema_list euicc_ci_pkid_list_for_signing;      /* of der_view */
    bool has_euicc_category;
    int64_t euicc_category;
    bool has_forbidden_profile_policy_rules;
    schema_bits forbidden_profile_policy_rules;
    der_view pp_version;
    der_view sas_acreditation_number;
    bool has_certification_data_object;
    sgp22_certification_data_object certification_data_object;
    bool has_tre_properties;
    schema_bits tre_properties;
    bool has_tre_product_reference;
    der_view tre_product_reference;
    bool has_additional_euicc_profile_package_versions;
    schema_list additional_euicc_profile_package_versions; /* of der_view */
} sgp22_euicc_info2;

/* SGP.22 v2.5 section 4.3: DeviceAdditionalFeatureSupport */
typedef struct {
    bool has_nai_support;
    der_view nai_support;
} sgp22_device_additional_feature_support;

/* SGP.22 v2.5 section 4.2: DeviceCapabilities */
typedef struct {
    bool has_gsm_supported_release;
    der_view gsm_supported_release;
    bool has_utran_supported_release;
    der_view utran_supported_release;
    bool has_cdma2000onex_supported_release;
    der_view cdma2000onex_supported_release;
    bool has_cdma2000hrpd_supported_release;
    der_view cdma2000hrpd_supported_release;
    bool has_cdma2000ehrpd_supported_release;
    der_view cdma2000ehrpd_supported_release;
    bool has_eutran_epc_supported_release;
    der_view eutran_epc_supported_release;
    bool has_contactless_supported_release;
    der_view contactless_supported_release;
    bool has_rsp_crl_supported_version;
    der_view rsp_crl_supported_version;
    bool has_nr_epc_supported_release;
    der_view nr_epc_supported_release;
    bool has_nr5gc_supported_release;
    der_view nr5gc_supported_release;
    bool has_eutran5gc_supported_release;
    der_view eutran5gc_supported_release;
    bool has_lpa_svn;
    der_view lpa_svn;
    bool has_cat_supported_classes;
    schema_bits cat_supported_classes;
    bool has_euicc_form_factor_type;
    int64_t euicc_form_factor_type;
    bool has_device_additional_feature_support;
    sgp22_device_additional_feature_support device_additional_feature_support;
} sgp22_device_capabilities;

/* SGP.22 v2.5 section 4.2: DeviceInfo */
typedef struct {
    der_view tac;
    sgp22_device_capabilities device_capabilities;
    bool has_imei;
    der_view imei;
} sgp22_device_info;

/* SGP.22 v2.5 section 5.7.13: CtxParamsForCommonAuthentication */
typedef struct {
    bool has_matching_id;
    der_view matching_id;
    sgp22_device_info device_info;
} sgp22_ctx_params_for_common_authentication;

/* SGP.22 v2.5 section 5.7.13: CtxParams1 */
enum { SGP22_CTX_PARAMS1_CTX_PARAMS_FOR_COMMON_AUTHENTICATION = 1 };
typedef struct {
    int choice;
    union {
        sgp22_ctx_params_for_common_authentication ctx_params_for_common_authentication;
    } u;
} sgp22_ctx_params1;

/* SGP.22 v2.5 section 2.4a.1: OperatorId */
typedef struct {
    der_view mcc_mnc;
    bool has_gid1;
    der_view gid1;
    bool has_gid2;
    der_view gid2;
} sgp22_operator_id;

/* SGP.22 v2.5 section 2.4a.1: NotificationConfigurationInformation */
typedef struct {
    schema_bits profile_management_operation;
    der_view notification_address;
} sgp22_notification_configuration_information;

/* SGP.22 v2.5 section 2.4a.1: one VendorSpecificExtension entry; vendorSpecificData is an
 * open type kept as its whole TLV */
typedef struct {
    der_view vendor_oid;
    der_view vendor_specific_data;
} sgp22_vendor_specific_extension_entry;

/* SGP.22 v2.5 section 5.5.2 (ES8+.ConfigureISDP): DpProprietaryData */
typedef struct {
    der_view dp_oid;
} sgp22_dp_proprietary_data;

/* SGP.22 v2.5 section 5.7.15: ProfileInfo (E3) */
typedef struct {
    bool has_iccid;
    der_view iccid;
    bool has_isdp_aid;
    der_view isdp_aid;
    bool has_profile_state;
    int64_t profile_state;
    bool has_profile_nickname;
    der_view profile_nickname;
    bool has_service_provider_name;
    der_view service_provider_name;
    bool has_profile_name;
    der_view profile_name;
    bool has_icon_type;
    int64_t icon_type;
    bool has_icon;
    der_view icon;
    bool has_profile_class;
    int64_t profile_class;
    bool has_notification_configuration_info;
    schema_list notification_configuration_info; /* of notification_configuration_information */
    bool has_profile_owner;
    sgp22_operator_id profile_owner;
    bool has_dp_proprietary_data;
    sgp22_dp_proprietary_data dp_proprietary_data;
    bool has_profile_policy_rules;
    schema_bits profile_policy_rules;
    bool has_service_specific_data_stored_in_euicc;
    schema_list service_specific_data_stored_in_euicc; /* of vendor_specific_extension_entry */
} sgp22_profile_info;

/* SGP.22 v2.5 section 2.5.3: StoreMetadataRequest (BF25), the profile metadata */
typedef struct {
    der_view iccid;
    der_view service_provider_name;
    der_view profile_name;
    bool has_icon_type;
    int64_t icon_type;
    bool has_icon;
    der_view icon;
    bool has_profile_class; /* DEFAULT operational */
    int64_t profile_class;
    bool has_notification_configuration_info;
    schema_list notification_configuration_info;
    bool has_profile_owner;
    sgp22_operator_id profile_owner;
    bool has_profile_policy_rules;
    schema_bits profile_policy_rules;
    bool has_service_specific_data_stored_in_euicc;
    schema_list service_specific_data_stored_in_euicc;
    bool has_service_specific_data_not_stored_in_euicc;
    schema_list service_specific_data_not_stored_in_euicc;
} sgp22_store_metadata_request;

/* SGP.22 v2.5 section 5.7.19 (UpdateMetadata): UpdateMetadataRequest (BF2A) */
typedef struct {
    bool has_service_provider_name;
    der_view service_provider_name;
    bool has_profile_name;
    der_view profile_name;
    bool has_icon_type;
    int64_t icon_type;
    bool has_icon;
    der_view icon;
    bool has_profile_policy_rules;
    schema_bits profile_policy_rules;
    bool has_service_specific_data_stored_in_euicc;
    schema_list service_specific_data_stored_in_euicc;
} sgp22_update_metadata_request;

/* SGP.22 v2.5 section 4.5: NotificationMetadata (BF2F) */
typedef struct {
    int64_t seq_number;
    schema_bits profile_management_operation;
    der_view notification_address;
    bool has_iccid;
    der_view iccid;
} sgp22_notification_metadata;

/* SGP.22 v2.5 section 5.7.6 (LoadBoundProfilePackage): SuccessResult */
typedef struct {
    der_view aid;
    der_view sima_response;
} sgp22_success_result;

/* SGP.22 v2.5 section 5.7.6: ErrorResult */
typedef struct {
    int64_t bpp_command_id;
    int64_t error_reason;
    bool has_sima_response;
    der_view sima_response;
} sgp22_error_result;

/* SGP.22 v2.5 section 5.7.6: ProfileInstallationResultData.finalResult */
enum { SGP22_FINAL_RESULT_SUCCESS_RESULT = 1, SGP22_FINAL_RESULT_ERROR_RESULT = 2 };
typedef struct {
    int choice;
    union {
        sgp22_success_result success_result;
        sgp22_error_result error_result;
    } u;
} sgp22_final_result;

/* SGP.22 v2.5 section 5.7.6: ProfileInstallationResultData (BF27) */
typedef struct {
    der_view transaction_id;
    sgp22_notification_metadata notification_metadata;
    der_view smdp_oid;
    sgp22_final_result final_result;
} sgp22_profile_installation_result_data;

/* SGP.22 v2.5 section 5.7.6: ProfileInstallationResult (BF37) */
typedef struct {
    sgp22_profile_installation_result_data profile_installation_result_data;
    der_view euicc_sign_pir;
} sgp22_profile_installation_result;

/* SGP.22 v2.5 section 5.7.10: OtherSignedNotification */
typedef struct {
    sgp22_notification_metadata tbs_other_notification;
    der_view euicc_notification_signature;
    der_view euicc_certificate;
    der_view eum_certificate;
} sgp22_other_signed_notification;

/* SGP.22 v2.5 section 5.7.10: PendingNotification */
enum {
    SGP22_PENDING_NOTIFICATION_PROFILE_INSTALLATION_RESULT = 1,
    SGP22_PENDING_NOTIFICATION_OTHER_SIGNED_NOTIFICATION = 2,
};
typedef struct {
    int choice;
    union {
        sgp22_profile_installation_result profile_installation_result;
        sgp22_other_signed_notification other_signed_notification;
    } u;
} sgp22_pending_notification;

/* SGP.22 v2.5 section 5.7.13: ServerSigned1 */
typedef struct {
    der_view transaction_id;
    der_view euicc_challenge;
    der_view server_address;
    der_view server_challenge;
} sgp22_server_signed1;

/* SGP.22 v2.5 section 5.7.13: EuiccSigned1 */
typedef struct {
    der_view transaction_id;
    der_view server_address;
    der_view server_challenge;
    sgp22_euicc_info2 euicc_info2;
    sgp22_ctx_params1 ctx_params1;
} sgp22_euicc_signed1;

/* SGP.22 v2.5 section 5.7.5: SmdpSigned2 */
typedef struct {
    der_view transaction_id;
    bool cc_required_flag;
    bool has_bpp_euicc_otpk;
    der_view bpp_euicc_otpk;
} sgp22_smdp_signed2;

/* SGP.22 v2.5 section 5.7.5: EUICCSigned2 */
typedef struct {
    der_view transaction_id;
    der_view euicc_otpk;
    bool has_hash_cc;
    der_view hash_cc;
} sgp22_euicc_signed2;

/* SGP.22 v2.5 section 5.7.14: EuiccCancelSessionSigned */
typedef struct {
    der_view transaction_id;
    der_view smdp_oid;
    int64_t reason;
} sgp22_euicc_cancel_session_signed;

extern const schema_type sgp22_euicc_info1_type;
extern const schema_type sgp22_euicc_info2_type;
extern const schema_type sgp22_certification_data_object_type;
extern const schema_type sgp22_device_additional_feature_support_type;
extern const schema_type sgp22_device_capabilities_type;
extern const schema_type sgp22_device_info_type;
extern const schema_type sgp22_ctx_params_for_common_authentication_type;
extern const schema_type sgp22_ctx_params1_type;
extern const schema_type sgp22_operator_id_type;
extern const schema_type sgp22_notification_configuration_information_type;
extern const schema_type sgp22_vendor_specific_extension_type; /* SEQUENCE OF entry */
extern const schema_type sgp22_vendor_specific_extension_entry_type;
extern const schema_type sgp22_dp_proprietary_data_type;
extern const schema_type sgp22_profile_info_type;
extern const schema_type sgp22_store_metadata_request_type;
extern const schema_type sgp22_update_metadata_request_type;
extern const schema_type sgp22_notification_metadata_type;
extern const schema_type sgp22_success_result_type;
extern const schema_type sgp22_error_result_type;
extern const schema_type sgp22_final_result_type;
extern const schema_type sgp22_profile_installation_result_data_type;
extern const schema_type sgp22_profile_installation_result_type;
extern const schema_type sgp22_other_signed_notification_type;
extern const schema_type sgp22_pending_notification_type;
extern const schema_type sgp22_server_signed1_type;
extern const schema_type sgp22_euicc_signed1_type;
extern const schema_type sgp22_smdp_signed2_type;
extern const schema_type sgp22_euicc_signed2_type;
extern const schema_type sgp22_euicc_cancel_session_signed_type;

/* ---- ES10 (SGP.22 v2.5 section 5.7) -------------------------------------------------- */

typedef sgp22_empty sgp22_get_euicc_info1_request;            /* BF20, section 5.7.8 */
typedef sgp22_empty sgp22_get_euicc_info2_request;            /* BF22, section 5.7.8 */
typedef sgp22_empty sgp22_get_euicc_challenge_request;        /* BF2E, section 5.7.7 */
typedef sgp22_empty sgp22_euicc_configured_addresses_request; /* BF3C, section 5.7.3 */
typedef sgp22_empty sgp22_get_rat_request;                    /* BF43, section 5.7.22 */

/* SGP.22 v2.5 section 5.7.15: ProfileInfoListRequest.searchCriteria */
enum {
    SGP22_PROFILE_INFO_LIST_SEARCH_CRITERIA_ISDP_AID = 1,
    SGP22_PROFILE_INFO_LIST_SEARCH_CRITERIA_ICCID = 2,
    SGP22_PROFILE_INFO_LIST_SEARCH_CRITERIA_PROFILE_CLASS = 3,
};
typedef struct {
    int choice;
    union {
        der_view isdp_aid;
        der_view iccid;
        int64_t profile_class;
    } u;
} sgp22_profile_info_list_search_criteria;

/* SGP.22 v2.5 section 5.7.15: ProfileInfoListRequest (BF2D) */
typedef struct {
    bool has_search_criteria;
    sgp22_profile_info_list_search_criteria search_criteria;
    bool has_tag_list;
    der_view tag_list;
} sgp22_profile_info_list_request;

/* SGP.22 v2.5 section 5.7.15: ProfileInfoListResponse (BF2D) */
enum {
    SGP22_PROFILE_INFO_LIST_RESPONSE_PROFILE_INFO_LIST_OK = 1,
    SGP22_PROFILE_INFO_LIST_RESPONSE_PROFILE_INFO_LIST_ERROR = 2,
};
typedef struct {
    int choice;
    union {
        schema_list profile_info_list_ok; /* of sgp22_profile_info */
        int64_t profile_info_list_error;
    } u;
} sgp22_profile_info_list_response;

/* SGP.22 v2.5 section 5.7.5: PrepareDownloadRequest (BF21) */
typedef struct {
    sgp22_smdp_signed2 smdp_signed2;
    der_view smdp_signature2;
    bool has_hash_cc;
    der_view hash_cc;
    der_view smdp_certificate;
} sgp22_prepare_download_request;

typedef struct {
    sgp22_euicc_signed2 euicc_signed2;
    der_view euicc_signature2;
} sgp22_prepare_download_response_ok;

typedef struct {
    der_view transaction_id;
    int64_t download_error_code;
} sgp22_prepare_download_response_error;

/* SGP.22 v2.5 section 5.7.5: PrepareDownloadResponse (BF21) */
enum {
    SGP22_PREPARE_DOWNLOAD_RESPONSE_DOWNLOAD_RESPONSE_OK = 1,
    SGP22_PREPARE_DOWNLOAD_RESPONSE_DOWNLOAD_RESPONSE_ERROR = 2,
};
typedef struct {
    int choice;
    union {
        sgp22_prepare_download_response_ok download_response_ok;
        sgp22_prepare_download_response_error download_response_error;
    } u;
} sgp22_prepare_download_response;

/* SGP.22 v2.5 section 5.7.13: AuthenticateServerRequest (BF38) */
typedef struct {
    sgp22_server_signed1 server_signed1;
    der_view server_signature1;
    der_view euicc_ci_pkid_to_be_used;
    der_view server_certificate;
    sgp22_ctx_params1 ctx_params1;
} sgp22_authenticate_server_request;

typedef struct {
    sgp22_euicc_signed1 euicc_signed1;
    der_view euicc_signature1;
    der_view euicc_certificate;
    der_view eum_certificate;
} sgp22_authenticate_response_ok;

typedef struct {
    der_view transaction_id;
    int64_t authenticate_error_code;
} sgp22_authenticate_response_error;

/* SGP.22 v2.5 section 5.7.13: AuthenticateServerResponse (BF38) */
enum {
    SGP22_AUTHENTICATE_SERVER_RESPONSE_AUTHENTICATE_RESPONSE_OK = 1,
    SGP22_AUTHENTICATE_SERVER_RESPONSE_AUTHENTICATE_RESPONSE_ERROR = 2,
};
typedef struct {
    int choice;
    union {
        sgp22_authenticate_response_ok authenticate_response_ok;
        sgp22_authenticate_response_error authenticate_response_error;
    } u;
} sgp22_authenticate_server_response;

/* SGP.22 v2.5 section 5.7.14: CancelSessionRequest (BF41) */
typedef struct {
    der_view transaction_id;
    int64_t reason;
} sgp22_cancel_session_request;

typedef struct {
    sgp22_euicc_cancel_session_signed euicc_cancel_session_signed;
    der_view euicc_cancel_session_signature;
} sgp22_cancel_session_response_ok;

/* SGP.22 v2.5 section 5.7.14: CancelSessionResponse (BF41) */
enum {
    SGP22_CANCEL_SESSION_RESPONSE_CANCEL_SESSION_RESPONSE_OK = 1,
    SGP22_CANCEL_SESSION_RESPONSE_CANCEL_SESSION_RESPONSE_ERROR = 2,
};
typedef struct {
    int choice;
    union {
        sgp22_cancel_session_response_ok cancel_session_response_ok;
        int64_t cancel_session_response_error;
    } u;
} sgp22_cancel_session_response;

/* SGP.22 v2.5 section 5.7.9: ListNotificationRequest (BF28) */
typedef struct {
    bool has_profile_management_operation;
    schema_bits profile_management_operation;
} sgp22_list_notification_request;

/* SGP.22 v2.5 section 5.7.9: ListNotificationResponse (BF28) */
enum {
    SGP22_LIST_NOTIFICATION_RESPONSE_NOTIFICATION_METADATA_LIST = 1,
    SGP22_LIST_NOTIFICATION_RESPONSE_LIST_NOTIFICATIONS_RESULT_ERROR = 2,
};
typedef struct {
    int choice;
    union {
        schema_list notification_metadata_list; /* of sgp22_notification_metadata */
        int64_t list_notifications_result_error;
    } u;
} sgp22_list_notification_response;

/* SGP.22 v2.5 section 5.7.10: RetrieveNotificationsListRequest.searchCriteria */
enum {
    SGP22_NOTIFICATION_SEARCH_CRITERIA_SEQ_NUMBER = 1,
    SGP22_NOTIFICATION_SEARCH_CRITERIA_PROFILE_MANAGEMENT_OPERATION = 2,
};
typedef struct {
    int choice;
    union {
        int64_t seq_number;
        schema_bits profile_management_operation;
    } u;
} sgp22_notification_search_criteria;

/* SGP.22 v2.5 section 5.7.10: RetrieveNotificationsListRequest (BF2B) */
typedef struct {
    bool has_search_criteria;
    sgp22_notification_search_criteria search_criteria;
} sgp22_retrieve_notifications_list_request;

/* SGP.22 v2.5 section 5.7.10: RetrieveNotificationsListResponse (BF2B) */
enum {
    SGP22_RETRIEVE_NOTIFICATIONS_LIST_RESPONSE_NOTIFICATION_LIST = 1,
    SGP22_RETRIEVE_NOTIFICATIONS_LIST_RESPONSE_NOTIFICATIONS_LIST_RESULT_ERROR = 2,
};
typedef struct {
    int choice;
    union {
        schema_list notification_list; /* of sgp22_pending_notification */
        int64_t notifications_list_result_error;
    } u;
} sgp22_retrieve_notifications_list_response;

/* SGP.22 v2.5 section 5.7.11: NotificationSentRequest / Response (BF30) */
typedef struct {
    int64_t seq_number;
} sgp22_notification_sent_request;
typedef struct {
    int64_t delete_notification_status;
} sgp22_notification_sent_response;

/* SGP.22 v2.5 sections 5.7.16/5.7.17: profileIdentifier of Enable/DisableProfileRequest */
enum { SGP22_PROFILE_IDENTIFIER_ISDP_AID = 1, SGP22_PROFILE_IDENTIFIER_ICCID = 2 };
typedef struct {
    int choice;
    union {
        der_view isdp_aid;
        der_view iccid;
    } u;
} sgp22_profile_identifier;

/* SGP.22 v2.5 section 5.7.16: EnableProfileRequest / Response (BF31) */
typedef struct {
    sgp22_profile_identifier profile_identifier;
    bool refresh_flag;
} sgp22_enable_profile_request;
typedef struct {
    int64_t enable_result;
} sgp22_enable_profile_response;

/* SGP.22 v2.5 section 5.7.17: DisableProfileRequest / Response (BF32) */
typedef struct {
    sgp22_profile_identifier profile_identifier;
    bool refresh_flag;
} sgp22_disable_profile_request;
typedef struct {
    int64_t disable_result;
} sgp22_disable_profile_response;

/* SGP.22 v2.5 section 5.7.18: DeleteProfileRequest (BF33, a CHOICE) / Response */
enum { SGP22_DELETE_PROFILE_REQUEST_ISDP_AID = 1, SGP22_DELETE_PROFILE_REQUEST_ICCID = 2 };
typedef struct {
    int choice;
    union {
        der_view isdp_aid;
        der_view iccid;
    } u;
} sgp22_delete_profile_request;
typedef struct {
    int64_t delete_result;
} sgp22_delete_profile_response;

/* SGP.22 v2.5 section 5.7.19: EuiccMemoryResetRequest / Response (BF34) */
typedef struct {
    schema_bits reset_options;
} sgp22_euicc_memory_reset_request;
typedef struct {
    int64_t reset_result;
} sgp22_euicc_memory_reset_response;

/* SGP.22 v2.5 section 5.7.20: GetEuiccDataRequest / Response (BF3E, EID) */
typedef struct {
    der_view tag_list;
} sgp22_get_euicc_data_request;
typedef struct {
    der_view eid_value;
} sgp22_get_euicc_data_response;

/* SGP.22 v2.5 section 5.7.7: GetEuiccChallengeResponse (BF2E) */
typedef struct {
    der_view euicc_challenge;
} sgp22_get_euicc_challenge_response;

/* SGP.22 v2.5 section 5.7.21: SetNicknameRequest / Response (BF29) */
typedef struct {
    der_view iccid;
    der_view profile_nickname;
} sgp22_set_nickname_request;
typedef struct {
    int64_t set_nickname_result;
} sgp22_set_nickname_response;

/* SGP.22 v2.5 section 5.7.4: SetDefaultDpAddressRequest / Response (BF3F) */
typedef struct {
    der_view default_dp_address;
} sgp22_set_default_dp_address_request;
typedef struct {
    int64_t set_default_dp_address_result;
} sgp22_set_default_dp_address_response;

/* SGP.22 v2.5 section 5.7.3: EuiccConfiguredAddressesResponse (BF3C) */
typedef struct {
    bool has_default_dp_address;
    der_view default_dp_address;
    der_view root_ds_address;
} sgp22_euicc_configured_addresses_response;

/* SGP.22 v2.5 section 2.9.2.2: ProfilePolicyAuthorisationRule */
typedef struct {
    schema_bits ppr_ids;
    schema_list allowed_operators; /* of sgp22_operator_id */
    schema_bits ppr_flags;
} sgp22_profile_policy_authorisation_rule;

/* RulesAuthorisationTable is the SEQUENCE OF itself (tag 30, value a schema_list of
 * sgp22_profile_policy_authorisation_rule); the GetRAT response that carries it in BF43 is
 * sgp22_get_rat_response. */
typedef schema_list sgp22_rules_authorisation_table;

/* SGP.22 v2.5 section 5.7.22: GetRatResponse (BF43) */
typedef struct {
    sgp22_rules_authorisation_table rat;
} sgp22_get_rat_response;

/* SGP.22 v2.5 section 5.7.12: LoadCRLRequest (BF35). AUTOMATIC TAGS make the CRL [0]
 * IMPLICIT: crl is the whole TLV as received, starting with A0 instead of 30. */
typedef struct {
    der_view crl;
} sgp22_load_crl_request;

typedef struct {
    bool has_missing_parts;
    schema_list missing_parts; /* of int64_t */
} sgp22_load_crl_response_ok;

/* SGP.22 v2.5 section 5.7.12: LoadCRLResponse (BF35) */
enum {
    SGP22_LOAD_CRL_RESPONSE_LOAD_CRL_RESPONSE_OK = 1,
    SGP22_LOAD_CRL_RESPONSE_LOAD_CRL_RESPONSE_ERROR = 2,
};
typedef struct {
    int choice;
    union {
        sgp22_load_crl_response_ok load_crl_response_ok;
        int64_t load_crl_response_error;
    } u;
} sgp22_load_crl_response;

/* SGP.22 v2.5 section 2.2.3 (ISD-R SELECT response): ISDRProprietaryApplicationTemplate (E0, SELECT
 * response) */
typedef struct {
    der_view svn;
    bool has_lpae_support;
    schema_bits lpae_support;
} sgp22_isdr_proprietary_application_template;

/* SGP.22 v2.5 section 5.7.23: LpaeActivationRequest / Response (BF42) */
typedef struct {
    schema_bits lpae_option;
} sgp22_lpae_activation_request;
typedef struct {
    int64_t lpae_activation_result;
} sgp22_lpae_activation_response;

extern const schema_type sgp22_get_euicc_info1_request_type;
extern const schema_type sgp22_get_euicc_info2_request_type;
extern const schema_type sgp22_get_euicc_challenge_request_type;
extern const schema_type sgp22_get_euicc_challenge_response_type;
extern const schema_type sgp22_euicc_configured_addresses_request_type;
extern const schema_type sgp22_euicc_configured_addresses_response_type;
extern const schema_type sgp22_profile_info_list_search_criteria_type;
extern const schema_type sgp22_profile_info_list_request_type;
extern const schema_type sgp22_profile_info_list_response_type;
extern const schema_type sgp22_prepare_download_request_type;
extern const schema_type sgp22_prepare_download_response_ok_type;
extern const schema_type sgp22_prepare_download_response_error_type;
extern const schema_type sgp22_prepare_download_response_type;
extern const schema_type sgp22_authenticate_server_request_type;
extern const schema_type sgp22_authenticate_response_ok_type;
extern const schema_type sgp22_authenticate_response_error_type;
extern const schema_type sgp22_authenticate_server_response_type;
extern const schema_type sgp22_cancel_session_request_type;
extern const schema_type sgp22_cancel_session_response_ok_type;
extern const schema_type sgp22_cancel_session_response_type;
extern const schema_type sgp22_list_notification_request_type;
extern const schema_type sgp22_list_notification_response_type;
extern const schema_type sgp22_notification_search_criteria_type;
extern const schema_type sgp22_retrieve_notifications_list_request_type;
extern const schema_type sgp22_retrieve_notifications_list_response_type;
extern const schema_type sgp22_notification_sent_request_type;
extern const schema_type sgp22_notification_sent_response_type;
extern const schema_type sgp22_profile_identifier_type;
extern const schema_type sgp22_enable_profile_request_type;
extern const schema_type sgp22_enable_profile_response_type;
extern const schema_type sgp22_disable_profile_request_type;
extern const schema_type sgp22_disable_profile_response_type;
extern const schema_type sgp22_delete_profile_request_type;
extern const schema_type sgp22_delete_profile_response_type;
extern const schema_type sgp22_euicc_memory_reset_request_type;
extern const schema_type sgp22_euicc_memory_reset_response_type;
extern const schema_type sgp22_get_euicc_data_request_type;
extern const schema_type sgp22_get_euicc_data_response_type;
extern const schema_type sgp22_set_nickname_request_type;
extern const schema_type sgp22_set_nickname_response_type;
extern const schema_type sgp22_set_default_dp_address_request_type;
extern const schema_type sgp22_set_default_dp_address_response_type;
extern const schema_type sgp22_profile_policy_authorisation_rule_type;
extern const schema_type sgp22_rules_authorisation_table_type;
extern const schema_type sgp22_get_rat_request_type;
extern const schema_type sgp22_get_rat_response_type;
extern const schema_type sgp22_load_crl_request_type;
extern const schema_type sgp22_load_crl_response_ok_type;
extern const schema_type sgp22_load_crl_response_type;
extern const schema_type sgp22_isdr_proprietary_application_template_type;
extern const schema_type sgp22_lpae_activation_request_type;
extern const schema_type sgp22_lpae_activation_response_type;

/* ---- ES9+ / ES11 ASN.1 binding (SGP.22 v2.5 sections 5.6 and 6.6) --------------------- */

/* SGP.22 v2.5 section 5.6.1: InitiateAuthenticationRequest (BF39) */
typedef struct {
    der_view euicc_challenge;
    der_view smdp_address;
    sgp22_euicc_info1 euicc_info1;
} sgp22_initiate_authentication_request;

typedef struct {
    der_view transaction_id;
    sgp22_server_signed1 server_signed1;
    der_view server_signature1;
    der_view euicc_ci_pkid_to_be_used;
    der_view server_certificate;
} sgp22_initiate_authentication_ok_es9;

/* SGP.22 v2.5 section 5.6.1: InitiateAuthenticationResponse (BF39) */
enum {
    SGP22_INITIATE_AUTHENTICATION_RESPONSE_INITIATE_AUTHENTICATION_OK = 1,
    SGP22_INITIATE_AUTHENTICATION_RESPONSE_INITIATE_AUTHENTICATION_ERROR = 2,
};
typedef struct {
    int choice;
    union {
        sgp22_initiate_authentication_ok_es9 initiate_authentication_ok;
        int64_t initiate_authentication_error;
    } u;
} sgp22_initiate_authentication_response;

/* SGP.22 v2.5 section 5.6.3: AuthenticateClientRequest (BF3B) */
typedef struct {
    der_view transaction_id;
    sgp22_authenticate_server_response authenticate_server_response;
} sgp22_authenticate_client_request;

typedef struct {
    der_view transaction_id;
    sgp22_store_metadata_request profile_meta_data;
    sgp22_smdp_signed2 smdp_signed2;
    der_view smdp_signature2;
    der_view smdp_certificate;
} sgp22_authenticate_client_ok;

/* SGP.22 v2.5 section 5.6.3: AuthenticateClientResponseEs9 (BF3B) */
enum {
    SGP22_AUTHENTICATE_CLIENT_RESPONSE_ES9_AUTHENTICATE_CLIENT_OK = 1,
    SGP22_AUTHENTICATE_CLIENT_RESPONSE_ES9_AUTHENTICATE_CLIENT_ERROR = 2,
};
typedef struct {
    int choice;
    union {
        sgp22_authenticate_client_ok authenticate_client_ok;
        int64_t authenticate_client_error;
    } u;
} sgp22_authenticate_client_response_es9;

/* SGP.22 v2.5 section 5.6.2: GetBoundProfilePackageRequest (BF3A) */
typedef struct {
    der_view transaction_id;
    sgp22_prepare_download_response prepare_download_response;
} sgp22_get_bound_profile_package_request;

/* SGP.22 v2.5 section 2.5.3: ControlRefTemplate */
typedef struct {
    der_view key_type;
    der_view key_len;
    der_view host_id;
} sgp22_control_ref_template;

/* SGP.22 v2.5 section 2.5.3: InitialiseSecureChannelRequest (BF23) */
typedef struct {
    int64_t remote_op_id;
    der_view transaction_id;
    sgp22_control_ref_template control_ref_template;
    der_view smdp_otpk;
    der_view smdp_sign;
} sgp22_initialise_secure_channel_request;

/* SGP.22 v2.5 section 2.5.3: ConfigureISDPRequest (BF24) */
typedef struct {
    bool has_dp_proprietary_data;
    sgp22_dp_proprietary_data dp_proprietary_data;
} sgp22_configure_isdp_request;

/* SGP.22 v2.5 section 2.5.3: ReplaceSessionKeysRequest (BF26) */
typedef struct {
    der_view initial_mac_chaining_value;
    der_view ppk_enc;
    der_view ppk_cmac;
} sgp22_replace_session_keys_request;

/* SGP.22 v2.5 section 2.5.4: BoundProfilePackage (BF36); the segment lists hold der_view
 * values (content of each 87/88/86 TLV) */
typedef struct {
    sgp22_initialise_secure_channel_request initialise_secure_channel_request;
    schema_list first_sequence_of87;
    schema_list sequence_of88;
    bool has_second_sequence_of87;
    schema_list second_sequence_of87;
    schema_list sequence_of86;
} sgp22_bound_profile_package;

typedef struct {
    der_view transaction_id;
    sgp22_bound_profile_package bound_profile_package;
} sgp22_get_bound_profile_package_ok;

/* SGP.22 v2.5 section 5.6.2: GetBoundProfilePackageResponse (BF3A) */
enum {
    SGP22_GET_BOUND_PROFILE_PACKAGE_RESPONSE_GET_BOUND_PROFILE_PACKAGE_OK = 1,
    SGP22_GET_BOUND_PROFILE_PACKAGE_RESPONSE_GET_BOUND_PROFILE_PACKAGE_ERROR = 2,
};
typedef struct {
    int choice;
    union {
        sgp22_get_bound_profile_package_ok get_bound_profile_package_ok;
        int64_t get_bound_profile_package_error;
    } u;
} sgp22_get_bound_profile_package_response;

/* SGP.22 v2.5 section 5.6.4: HandleNotification (BF3D) */
typedef struct {
    sgp22_pending_notification pending_notification;
} sgp22_handle_notification;

/* SGP.22 v2.5 section 5.6.5: CancelSessionRequestEs9 (BF41) */
typedef struct {
    der_view transaction_id;
    sgp22_cancel_session_response cancel_session_response;
} sgp22_cancel_session_request_es9;

/* SGP.22 v2.5 section 5.6.5: CancelSessionResponseEs9 (BF41); cancelSessionOk is an empty
 * SEQUENCE */
enum {
    SGP22_CANCEL_SESSION_RESPONSE_ES9_CANCEL_SESSION_OK = 1,
    SGP22_CANCEL_SESSION_RESPONSE_ES9_CANCEL_SESSION_ERROR = 2,
};
typedef struct {
    int choice;
    union {
        sgp22_empty cancel_session_ok;
        int64_t cancel_session_error;
    } u;
} sgp22_cancel_session_response_es9;

/* SGP.22 v2.5 section 5.8.2: EventEntries */
typedef struct {
    der_view event_id;
    der_view rsp_server_address;
} sgp22_event_entries;

typedef struct {
    der_view transaction_id;
    schema_list event_entries; /* of sgp22_event_entries */
} sgp22_authenticate_client_ok_es11;

/* SGP.22 v2.5 section 5.8.2: AuthenticateClientResponseEs11 (BF40) */
enum {
    SGP22_AUTHENTICATE_CLIENT_RESPONSE_ES11_AUTHENTICATE_CLIENT_OK = 1,
    SGP22_AUTHENTICATE_CLIENT_RESPONSE_ES11_AUTHENTICATE_CLIENT_ERROR = 2,
};
typedef struct {
    int choice;
    union {
        sgp22_authenticate_client_ok_es11 authenticate_client_ok;
        int64_t authenticate_client_error;
    } u;
} sgp22_authenticate_client_response_es11;

/* SGP.22 v2.5 section 6.6: RemoteProfileProvisioningRequest (A2) */
enum {
    SGP22_REMOTE_PROFILE_PROVISIONING_REQUEST_INITIATE_AUTHENTICATION_REQUEST = 1,
    SGP22_REMOTE_PROFILE_PROVISIONING_REQUEST_AUTHENTICATE_CLIENT_REQUEST = 2,
    SGP22_REMOTE_PROFILE_PROVISIONING_REQUEST_GET_BOUND_PROFILE_PACKAGE_REQUEST = 3,
    SGP22_REMOTE_PROFILE_PROVISIONING_REQUEST_CANCEL_SESSION_REQUEST_ES9 = 4,
    SGP22_REMOTE_PROFILE_PROVISIONING_REQUEST_HANDLE_NOTIFICATION = 5,
};
typedef struct {
    int choice;
    union {
        sgp22_initiate_authentication_request initiate_authentication_request;
        sgp22_authenticate_client_request authenticate_client_request;
        sgp22_get_bound_profile_package_request get_bound_profile_package_request;
        sgp22_cancel_session_request_es9 cancel_session_request_es9;
        sgp22_handle_notification handle_notification;
    } u;
} sgp22_remote_profile_provisioning_request;

/* SGP.22 v2.5 section 6.6: RemoteProfileProvisioningResponse (A2) */
enum {
    SGP22_REMOTE_PROFILE_PROVISIONING_RESPONSE_INITIATE_AUTHENTICATION_RESPONSE = 1,
    SGP22_REMOTE_PROFILE_PROVISIONING_RESPONSE_AUTHENTICATE_CLIENT_RESPONSE_ES9 = 2,
    SGP22_REMOTE_PROFILE_PROVISIONING_RESPONSE_GET_BOUND_PROFILE_PACKAGE_RESPONSE = 3,
    SGP22_REMOTE_PROFILE_PROVISIONING_RESPONSE_CANCEL_SESSION_RESPONSE_ES9 = 4,
    SGP22_REMOTE_PROFILE_PROVISIONING_RESPONSE_AUTHENTICATE_CLIENT_RESPONSE_ES11 = 5,
};
typedef struct {
    int choice;
    union {
        sgp22_initiate_authentication_response initiate_authentication_response;
        sgp22_authenticate_client_response_es9 authenticate_client_response_es9;
        sgp22_get_bound_profile_package_response get_bound_profile_package_response;
        sgp22_cancel_session_response_es9 cancel_session_response_es9;
        sgp22_authenticate_client_response_es11 authenticate_client_response_es11;
    } u;
} sgp22_remote_profile_provisioning_response;

extern const schema_type sgp22_initiate_authentication_request_type;
extern const schema_type sgp22_initiate_authentication_ok_es9_type;
extern const schema_type sgp22_initiate_authentication_response_type;
extern const schema_type sgp22_authenticate_client_request_type;
extern const schema_type sgp22_authenticate_client_ok_type;
extern const schema_type sgp22_authenticate_client_response_es9_type;
extern const schema_type sgp22_get_bound_profile_package_request_type;
extern const schema_type sgp22_get_bound_profile_package_ok_type;
extern const schema_type sgp22_get_bound_profile_package_response_type;
extern const schema_type sgp22_handle_notification_type;
extern const schema_type sgp22_cancel_session_request_es9_type;
extern const schema_type sgp22_cancel_session_ok_type;
extern const schema_type sgp22_cancel_session_response_es9_type;
extern const schema_type sgp22_event_entries_type;
extern const schema_type sgp22_authenticate_client_ok_es11_type;
extern const schema_type sgp22_authenticate_client_response_es11_type;
extern const schema_type sgp22_remote_profile_provisioning_request_type;
extern const schema_type sgp22_remote_profile_provisioning_response_type;

/* ---- Bound Profile Package (SGP.22 v2.5 section 2.5) ---------------------------------- */

extern const schema_type sgp22_control_ref_template_type;
extern const schema_type sgp22_initialise_secure_channel_request_type;
extern const schema_type sgp22_configure_isdp_request_type;
extern const schema_type sgp22_replace_session_keys_request_type;
extern const schema_type sgp22_bound_profile_package_type;

/* ---- Registry ------------------------------------------------------------------------- */

/* Every top-level SGP.22 message (travels alone: ES10 commands and responses, ES9+/ES11
 * ASN.1 forms, the BPP and its commands, and the signed structures). Several share a tag
 * (BF38 request and response, ...): the direction tells them apart, not the bytes. */
extern const schema_type *const sgp22_messages[];
extern const size_t sgp22_message_count;

#endif
