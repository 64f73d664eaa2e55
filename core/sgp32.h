/* GSMA SGP.32 v1.2 message catalogue (IoT eSIM): one C struct and one schema_type table per
 * ASN.1 type of the module SGP32Definitions (AUTOMATIC TAGS, EXTENSIBILITY IMPLIED), for the
 * eIM packages (eUICC Package, IPA eUICC Data, Profile Download Trigger, acknowledgements),
 * the ES10b functions SGP.32 adds or changes, and the ESipa ASN.1 binding.
 *
 * Conventions are those of core/sgp22.h, whose types are reused wherever SGP.32 imports them:
 *  - struct sgp32_<snake_case ASN.1 name>, table sgp32_<snake_case>_type;
 *  - OPTIONAL field f -> `bool has_f` just before `f`; a DEFAULT field is OPTIONAL here
 *    (absent means the default, and an encoder must not emit the default value);
 *  - CHOICE -> `int choice` (SGP32_<TYPE>_<ALT>, 1-based) + `union {...} u`;
 *  - SEQUENCE OF -> schema_list whose items live in the decode arena;
 *  - OCTET STRING / UTF8String / OBJECT IDENTIFIER -> der_view borrowed from the input;
 *  - X.509 Certificate / SubjectPublicKeyInfo -> der_view of the whole TLV (SCHEMA_RAW). When
 *    the field is implicitly tagged ([5] Certificate in IpaEuiccData) the view carries that tag
 *    (A5 ...), exactly as received; replace the first byte by 0x30 to get the X.509 DER.
 * Every SEQUENCE is extensible (unknown fields are skipped on decode). A CHOICE alternative
 * this version does not know is rejected (RSP_ERR_UNEXPECTED_TAG with its tag and offset):
 * the eUICC must answer an unknown PSMO or eCO with a result, never skip it silently.
 *
 * Version: these tables are SGP.32 v1.2. Every difference from v1.0 is recorded in
 * core/sgp32_version.h, the only place that knows about versions.
 *
 * Signed parts: signatures cover exact received bytes, which re-encoding a decoded value may
 * not reproduce (skipped extensions). Decode normally for the values, then take the signed
 * bytes with sgp32_signed_part() and one of the SGP32_PATH_* tag paths below, and build the
 * signature input with sgp32_signature_input() where SGP.32 appends the association token. */
#ifndef RSPKIT_CORE_SGP32_H
#define RSPKIT_CORE_SGP32_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/der.h"
#include "core/error.h"
#include "core/schema.h"
#include "core/sgp22.h"

/* ---- Signed parts ---------------------------------------------------------------------- */

/* The whole TLV reached from message by the tag path (path[0] = the message's own tag, each
 * later entry = first child with that tag): the exact bytes a signature covers, inside
 * message. RSP_ERR_NOT_FOUND when a step is missing. */
rsp_status sgp32_signed_part(der_view message, const uint32_t *path, size_t n, der_view *out,
                             rsp_error *err);

/* Signature input for the eIM signature over a eUICC Package and the eUICC signatures over a
 * eUICC Package Result (SGP.32 v1.2 sections 2.11.1.1 and 2.11.2.1): the signed data TLV
 * followed by the associationToken as `[4] INTEGER` (tag 84, its tag in every SGP.32
 * structure), 0 when no token is configured. Appends to w. */
rsp_status sgp32_signature_input(der_view signed_data, int64_t association_token, der_writer *w);

/* euiccPackageSigned in EuiccPackageRequest (eIM signature eimSignature) */
#define SGP32_PATH_EUICC_PACKAGE_SIGNED                                                            \
    {                                                                                              \
        0xBF51, 0x30                                                                               \
    }
/* eimSignature value in EuiccPackageRequest */
#define SGP32_PATH_EIM_SIGNATURE                                                                   \
    {                                                                                              \
        0xBF51, 0x5F37                                                                             \
    }
/* euiccPackageResultDataSigned in EuiccPackageResult (eUICC signature euiccSignEPR) */
#define SGP32_PATH_EUICC_PACKAGE_RESULT_DATA_SIGNED                                                \
    {                                                                                              \
        0xBF51, 0xA0, 0x30                                                                         \
    }
#define SGP32_PATH_EUICC_SIGN_EPR                                                                  \
    {                                                                                              \
        0xBF51, 0xA0, 0x5F37                                                                       \
    }
/* euiccPackageErrorDataSigned in EuiccPackageResult (eUICC signature euiccSignEPE) */
#define SGP32_PATH_EUICC_PACKAGE_ERROR_DATA_SIGNED                                                 \
    {                                                                                              \
        0xBF51, 0xA1, 0x30                                                                         \
    }
#define SGP32_PATH_EUICC_SIGN_EPE                                                                  \
    {                                                                                              \
        0xBF51, 0xA1, 0x5F37                                                                       \
    }
/* compactEuiccSigned1 / euiccSigned1 in AuthenticateServerResponse compact form (ES10b) */
#define SGP32_PATH_COMPACT_EUICC_SIGNED1                                                           \
    {                                                                                              \
        0xBF38, 0xA2, 0xA0                                                                         \
    }
#define SGP32_PATH_EUICC_SIGNED1_IN_COMPACT_RESPONSE                                               \
    {                                                                                              \
        0xBF38, 0xA2, 0x30                                                                         \
    }
/* compactEuiccSigned2 in PrepareDownloadResponse compact form (ES10b) */
#define SGP32_PATH_COMPACT_EUICC_SIGNED2                                                           \
    {                                                                                              \
        0xBF21, 0xA2, 0x30                                                                         \
    }
/* compactEuiccCancelSessionSigned in CancelSessionResponse compact form (ES10b) */
#define SGP32_PATH_COMPACT_EUICC_CANCEL_SESSION_SIGNED                                             \
    {                                                                                              \
        0xBF41, 0xA2, 0x30                                                                         \
    }

/* ---- Basic types (SGP.32 v1.2 section 2.11 / SGP32Definitions) ----------------------- */

extern const schema_type sgp32_eim_id_type;            /* UTF8String (SIZE(1..128)) */
extern const schema_type sgp32_eid_type;               /* Octet16: EID, tag 5A where used */
extern const schema_type sgp32_counter_value_type;     /* INTEGER (anything that fits int64) */
extern const schema_type sgp32_association_token_type; /* INTEGER */
extern const schema_type sgp32_sequence_number_type;   /* [0] INTEGER */
extern const schema_type sgp32_subject_public_key_info_type; /* X.509 SPKI, verbatim */
extern const schema_type sgp32_empty_sequence_type;          /* SEQUENCE {} */
extern const schema_type sgp32_eim_supported_protocol_type;  /* BIT STRING */

/* C has no empty struct; the member is never encoded */
typedef struct {
    uint8_t unused;
} sgp32_empty;

/* ---- Bit strings (bit numbers as in the ASN.1 named bits) ----------------------------- */

enum {
    SGP32_EIM_RETRIEVE_HTTPS = 0,
    SGP32_EIM_RETRIEVE_COAPS = 1,
    SGP32_EIM_INJECT_HTTPS = 2,
    SGP32_EIM_INJECT_COAPS = 3,
    SGP32_EIM_PROPRIETARY = 4,
};
enum {
    SGP32_IPA_FEATURE_DIRECT_RSP_SERVER_COMMUNICATION = 0,
    SGP32_IPA_FEATURE_INDIRECT_RSP_SERVER_COMMUNICATION = 1,
    SGP32_IPA_FEATURE_EIM_DOWNLOAD_DATA_HANDLING = 2,
    SGP32_IPA_FEATURE_EIM_CTX_PARAMS1_GENERATION = 3,
    SGP32_IPA_FEATURE_EIM_PROFILE_METADATA_VERIFICATION = 4,
    SGP32_IPA_FEATURE_MINIMIZE_ESIPA_BYTES = 5,
};
enum {
    SGP32_IPA_RETRIEVE_HTTPS = 0,
    SGP32_IPA_RETRIEVE_COAPS = 1,
    SGP32_IPA_INJECT_HTTPS = 2,
    SGP32_IPA_INJECT_COAPS = 3,
    SGP32_IPA_PROPRIETARY = 4,
};
enum {
    SGP32_RESET_DELETE_OPERATIONAL_PROFILES = 0,
    SGP32_RESET_DELETE_FIELD_LOADED_TEST_PROFILES = 1,
    SGP32_RESET_DEFAULT_SMDP_ADDRESS = 2,
    SGP32_RESET_DELETE_PRE_LOADED_TEST_PROFILES = 3,
    SGP32_RESET_DELETE_PROVISIONING_PROFILES = 4,
    SGP32_RESET_EIM_CONFIG_DATA = 5,
    SGP32_RESET_IMMEDIATE_ENABLE_CONFIG = 6,
};
enum {
    SGP32_EUICC_CONFIGURATION_IPAE_SUPPORTED = 0,
    SGP32_EUICC_CONFIGURATION_ENABLED_PROFILE = 1
};
enum { SGP32_IPAE_OPTION_ACTIVATE_IPAE = 0 };

/* ---- Named integers (result and error codes) ------------------------------------------ */

enum {
    SGP32_EIM_ID_TYPE_OID = 1,
    SGP32_EIM_ID_TYPE_FQDN = 2,
    SGP32_EIM_ID_TYPE_PROPRIETARY = 3,
};
/* shared by every result enumeration that has them */
enum { SGP32_RESULT_OK = 0, SGP32_RESULT_UNDEFINED_ERROR = 127, SGP32_RESULT_ECALL_ACTIVE = 104 };
enum {
    SGP32_EUICC_PACKAGE_ERROR_INVALID_EID = 3,
    SGP32_EUICC_PACKAGE_ERROR_REPLAY_ERROR = 4,
    SGP32_EUICC_PACKAGE_ERROR_COUNTER_VALUE_OUT_OF_RANGE = 6,
    SGP32_EUICC_PACKAGE_ERROR_SIZE_OVERFLOW = 15,
    SGP32_EUICC_PACKAGE_ERROR_ECALL_ACTIVE = 104,
    SGP32_EUICC_PACKAGE_ERROR_UNDEFINED_ERROR = 127,
};
enum {
    SGP32_CONFIGURE_IMMEDIATE_ENABLE_RESULT_OK = 0,
    SGP32_CONFIGURE_IMMEDIATE_ENABLE_RESULT_INSUFFICIENT_MEMORY = 1,
    SGP32_CONFIGURE_IMMEDIATE_ENABLE_RESULT_COMMAND_ERROR = 7,
    SGP32_CONFIGURE_IMMEDIATE_ENABLE_RESULT_UNDEFINED_ERROR = 127,
};
enum {
    SGP32_ENABLE_PROFILE_RESULT_OK = 0,
    SGP32_ENABLE_PROFILE_RESULT_ICCID_OR_AID_NOT_FOUND = 1,
    SGP32_ENABLE_PROFILE_RESULT_PROFILE_NOT_IN_DISABLED_STATE = 2,
    SGP32_ENABLE_PROFILE_RESULT_DISALLOWED_BY_POLICY = 3,
    SGP32_ENABLE_PROFILE_RESULT_CAT_BUSY = 5,
    SGP32_ENABLE_PROFILE_RESULT_ROLLBACK_NOT_AVAILABLE = 20,
    SGP32_ENABLE_PROFILE_RESULT_UNDEFINED_ERROR = 127,
};
enum {
    SGP32_DISABLE_PROFILE_RESULT_OK = 0,
    SGP32_DISABLE_PROFILE_RESULT_ICCID_OR_AID_NOT_FOUND = 1,
    SGP32_DISABLE_PROFILE_RESULT_PROFILE_NOT_IN_ENABLED_STATE = 2,
    SGP32_DISABLE_PROFILE_RESULT_DISALLOWED_BY_POLICY = 3,
    SGP32_DISABLE_PROFILE_RESULT_CAT_BUSY = 5,
    SGP32_DISABLE_PROFILE_RESULT_UNDEFINED_ERROR = 127,
};
enum {
    SGP32_DELETE_PROFILE_RESULT_OK = 0,
    SGP32_DELETE_PROFILE_RESULT_ICCID_OR_AID_NOT_FOUND = 1,
    SGP32_DELETE_PROFILE_RESULT_PROFILE_NOT_IN_DISABLED_STATE = 2,
    SGP32_DELETE_PROFILE_RESULT_DISALLOWED_BY_POLICY = 3,
    SGP32_DELETE_PROFILE_RESULT_ROLLBACK_NOT_AVAILABLE = 20,
    SGP32_DELETE_PROFILE_RESULT_RETURN_FALLBACK_PROFILE = 21,
    SGP32_DELETE_PROFILE_RESULT_UNDEFINED_ERROR = 127,
};
enum {
    SGP32_PROFILE_INFO_LIST_ERROR_INCORRECT_INPUT_VALUES = 1,
    SGP32_PROFILE_INFO_LIST_ERROR_PROFILE_CHANGE_ONGOING = 11,
    SGP32_PROFILE_INFO_LIST_ERROR_UNDEFINED_ERROR = 127,
};
enum { SGP32_ROLLBACK_PROFILE_RESULT_OK = 0, SGP32_ROLLBACK_PROFILE_RESULT_UNDEFINED_ERROR = 127 };
enum {
    SGP32_SET_FALLBACK_ATTRIBUTE_RESULT_OK = 0,
    SGP32_SET_FALLBACK_ATTRIBUTE_RESULT_ICCID_OR_AID_NOT_FOUND = 1,
    SGP32_SET_FALLBACK_ATTRIBUTE_RESULT_FALLBACK_NOT_ALLOWED = 2,
    SGP32_SET_FALLBACK_ATTRIBUTE_RESULT_FALLBACK_PROFILE_ENABLED = 3,
    SGP32_SET_FALLBACK_ATTRIBUTE_RESULT_UNDEFINED_ERROR = 127,
};
enum {
    SGP32_UNSET_FALLBACK_ATTRIBUTE_RESULT_OK = 0,
    SGP32_UNSET_FALLBACK_ATTRIBUTE_RESULT_NO_FALLBACK_ATTRIBUTE = 2,
    SGP32_UNSET_FALLBACK_ATTRIBUTE_RESULT_FALLBACK_PROFILE_ENABLED = 3,
    SGP32_UNSET_FALLBACK_ATTRIBUTE_RESULT_COMMAND_ERROR = 7,
    SGP32_UNSET_FALLBACK_ATTRIBUTE_RESULT_UNDEFINED_ERROR = 127,
};
enum {
    SGP32_ADD_EIM_RESULT_OK = 0,
    SGP32_ADD_EIM_RESULT_INSUFFICIENT_MEMORY = 1,
    SGP32_ADD_EIM_RESULT_ASSOCIATED_EIM_ALREADY_EXISTS = 2,
    SGP32_ADD_EIM_RESULT_CI_PK_UNKNOWN = 3,
    SGP32_ADD_EIM_RESULT_INVALID_ASSOCIATION_TOKEN = 5,
    SGP32_ADD_EIM_RESULT_COUNTER_VALUE_OUT_OF_RANGE = 6,
    SGP32_ADD_EIM_RESULT_COMMAND_ERROR = 7,
    SGP32_ADD_EIM_RESULT_UNDEFINED_ERROR = 127,
};
enum {
    SGP32_DELETE_EIM_RESULT_OK = 0,
    SGP32_DELETE_EIM_RESULT_EIM_NOT_FOUND = 1,
    SGP32_DELETE_EIM_RESULT_LAST_EIM_DELETED = 2,
    SGP32_DELETE_EIM_RESULT_COMMAND_ERROR = 7,
    SGP32_DELETE_EIM_RESULT_UNDEFINED_ERROR = 127,
};
enum {
    SGP32_UPDATE_EIM_RESULT_OK = 0,
    SGP32_UPDATE_EIM_RESULT_EIM_NOT_FOUND = 1,
    SGP32_UPDATE_EIM_RESULT_CI_PK_UNKNOWN = 3,
    SGP32_UPDATE_EIM_RESULT_COUNTER_VALUE_OUT_OF_RANGE = 6,
    SGP32_UPDATE_EIM_RESULT_COMMAND_ERROR = 7,
    SGP32_UPDATE_EIM_RESULT_UNDEFINED_ERROR = 127,
};
enum { SGP32_LIST_EIM_ERROR_UNDEFINED_ERROR = 127 };
enum {
    SGP32_PROCESSING_TERMINATED_RESULT_SIZE_OVERFLOW = 1,
    SGP32_PROCESSING_TERMINATED_UNKNOWN_OR_DAMAGED_COMMAND = 2,
    SGP32_PROCESSING_TERMINATED_INTERRUPTION = 3,
    SGP32_PROCESSING_TERMINATED_UNDEFINED_ERROR = 127,
};
enum {
    SGP32_SET_DEFAULT_DP_ADDRESS_RESULT_OK = 0,
    SGP32_SET_DEFAULT_DP_ADDRESS_RESULT_UNDEFINED_ERROR = 127,
};
enum {
    SGP32_IPA_EUICC_DATA_ERROR_INCORRECT_TAG_LIST = 1,
    SGP32_IPA_EUICC_DATA_ERROR_EUICC_CI_PK_ID_NOT_FOUND = 5,
    SGP32_IPA_EUICC_DATA_ERROR_ECALL_ACTIVE = 104,
    SGP32_IPA_EUICC_DATA_ERROR_UNDEFINED_ERROR = 127,
};
enum {
    SGP32_PROFILE_DOWNLOAD_ERROR_REASON_ECALL_ACTIVE = 104,
    SGP32_PROFILE_DOWNLOAD_ERROR_REASON_UNDEFINED_ERROR = 127,
};
enum { SGP32_IPAE_ACTIVATION_RESULT_OK = 0, SGP32_IPAE_ACTIVATION_RESULT_NOT_SUPPORTED = 1 };
enum {
    SGP32_EUICC_CATEGORY_OTHER = 0,
    SGP32_EUICC_CATEGORY_BASIC_EUICC = 1,
    SGP32_EUICC_CATEGORY_MEDIUM_EUICC = 2,
    SGP32_EUICC_CATEGORY_CONTACTLESS_EUICC = 3,
};
enum { SGP32_IPA_MODE_IPAD = 0, SGP32_IPA_MODE_IPAE = 1 };
enum {
    SGP32_ADD_INITIAL_EIM_ERROR_INSUFFICIENT_MEMORY = 1,
    SGP32_ADD_INITIAL_EIM_ERROR_ASSOCIATED_EIM_ALREADY_EXISTS = 2,
    SGP32_ADD_INITIAL_EIM_ERROR_CI_PK_UNKNOWN = 3,
    SGP32_ADD_INITIAL_EIM_ERROR_INVALID_ASSOCIATION_TOKEN = 5,
    SGP32_ADD_INITIAL_EIM_ERROR_COUNTER_VALUE_OUT_OF_RANGE = 6,
    SGP32_ADD_INITIAL_EIM_ERROR_COMMAND_ERROR = 7,
    SGP32_ADD_INITIAL_EIM_ERROR_UNDEFINED_ERROR = 127,
};
enum {
    SGP32_RESET_RESULT_OK = 0,
    SGP32_RESET_RESULT_NOTHING_TO_DELETE = 1,
    SGP32_RESET_RESULT_CAT_BUSY = 5,
    SGP32_RESET_RESULT_ECALL_ACTIVE = 104,
    SGP32_RESET_RESULT_UNDEFINED_ERROR = 127,
};
enum {
    SGP32_RESET_EIM_RESULT_OK = 0,
    SGP32_RESET_EIM_RESULT_NOTHING_TO_DELETE = 1,
    SGP32_RESET_EIM_RESULT_EIM_RESET_NOT_SUPPORTED = 2,
    SGP32_RESET_EIM_RESULT_UNDEFINED_ERROR = 127,
};
enum {
    SGP32_RESET_IMMEDIATE_ENABLE_CONFIG_RESULT_OK = 0,
    SGP32_RESET_IMMEDIATE_ENABLE_CONFIG_RESULT_RESET_IEC_NOT_SUPPORTED = 1,
    SGP32_RESET_IMMEDIATE_ENABLE_CONFIG_RESULT_UNDEFINED_ERROR = 127,
};
enum { SGP32_GET_CERTS_ERROR_INVALID_CI_PK_ID = 1, SGP32_GET_CERTS_ERROR_UNDEFINED_ERROR = 127 };
enum { SGP32_NOTIFICATIONS_LIST_RESULT_ERROR_UNDEFINED_ERROR = 127 };
enum {
    SGP32_IMMEDIATE_ENABLE_RESULT_OK = 0,
    SGP32_IMMEDIATE_ENABLE_RESULT_IMMEDIATE_ENABLE_NOT_AVAILABLE = 1,
    SGP32_IMMEDIATE_ENABLE_RESULT_NO_SESSION_CONTEXT = 4,
    SGP32_IMMEDIATE_ENABLE_RESULT_CAT_BUSY = 5,
    SGP32_IMMEDIATE_ENABLE_RESULT_UNDEFINED_ERROR = 127,
};
enum {
    SGP32_PROFILE_ROLLBACK_RESULT_OK = 0,
    SGP32_PROFILE_ROLLBACK_RESULT_ROLLBACK_NOT_ALLOWED = 1,
    SGP32_PROFILE_ROLLBACK_RESULT_CAT_BUSY = 5,
    SGP32_PROFILE_ROLLBACK_RESULT_COMMAND_ERROR = 7,
    SGP32_PROFILE_ROLLBACK_RESULT_UNDEFINED_ERROR = 127,
};
enum {
    SGP32_CONFIG_IMMEDIATE_ENABLE_RESULT_OK = 0,
    SGP32_CONFIG_IMMEDIATE_ENABLE_RESULT_INSUFFICIENT_MEMORY = 1,
    SGP32_CONFIG_IMMEDIATE_ENABLE_RESULT_ASSOCIATED_EIM_ALREADY_EXISTS = 2,
    SGP32_CONFIG_IMMEDIATE_ENABLE_RESULT_UNDEFINED_ERROR = 127,
};
enum {
    SGP32_EXECUTE_FALLBACK_RESULT_OK = 0,
    SGP32_EXECUTE_FALLBACK_RESULT_PROFILE_NOT_IN_DISABLED_STATE = 2,
    SGP32_EXECUTE_FALLBACK_RESULT_CAT_BUSY = 5,
    SGP32_EXECUTE_FALLBACK_RESULT_FALLBACK_NOT_AVAILABLE = 6,
    SGP32_EXECUTE_FALLBACK_RESULT_COMMAND_ERROR = 7,
    SGP32_EXECUTE_FALLBACK_RESULT_ECALL_ACTIVE = 104,
    SGP32_EXECUTE_FALLBACK_RESULT_UNDEFINED_ERROR = 127,
};
enum {
    SGP32_RETURN_FROM_FALLBACK_RESULT_OK = 0,
    SGP32_RETURN_FROM_FALLBACK_RESULT_CAT_BUSY = 5,
    SGP32_RETURN_FROM_FALLBACK_RESULT_FALLBACK_NOT_AVAILABLE = 6,
    SGP32_RETURN_FROM_FALLBACK_RESULT_COMMAND_ERROR = 7,
    SGP32_RETURN_FROM_FALLBACK_RESULT_UNDEFINED_ERROR = 127,
};
enum {
    SGP32_ENABLE_EMERGENCY_PROFILE_RESULT_OK = 0,
    SGP32_ENABLE_EMERGENCY_PROFILE_RESULT_PROFILE_NOT_IN_DISABLED_STATE = 2,
    SGP32_ENABLE_EMERGENCY_PROFILE_RESULT_CAT_BUSY = 5,
    SGP32_ENABLE_EMERGENCY_PROFILE_RESULT_ECALL_NOT_AVAILABLE = 8,
    SGP32_ENABLE_EMERGENCY_PROFILE_RESULT_UNDEFINED_ERROR = 127,
};
enum {
    SGP32_DISABLE_EMERGENCY_PROFILE_RESULT_OK = 0,
    SGP32_DISABLE_EMERGENCY_PROFILE_RESULT_PROFILE_NOT_IN_ENABLED_STATE = 2,
    SGP32_DISABLE_EMERGENCY_PROFILE_RESULT_CAT_BUSY = 5,
    SGP32_DISABLE_EMERGENCY_PROFILE_RESULT_UNDEFINED_ERROR = 127,
};
enum {
    SGP32_CONNECTIVITY_PARAMETERS_ERROR_PARAMETERS_NOT_AVAILABLE = 1,
    SGP32_CONNECTIVITY_PARAMETERS_ERROR_UNDEFINED_ERROR = 127,
};
enum {
    SGP32_CANCEL_SESSION_RESPONSE_ERROR_INVALID_TRANSACTION_ID = 5,
    SGP32_CANCEL_SESSION_RESPONSE_ERROR_UNDEFINED_ERROR = 127,
};
enum {
    SGP32_INITIATE_AUTHENTICATION_ERROR_INVALID_DP_ADDRESS = 1,
    SGP32_INITIATE_AUTHENTICATION_ERROR_EUICC_VERSION_NOT_SUPPORTED_BY_DP = 2,
    SGP32_INITIATE_AUTHENTICATION_ERROR_CI_PK_ID_NOT_SUPPORTED = 3,
    SGP32_INITIATE_AUTHENTICATION_ERROR_SMDP_ADDRESS_MISMATCH = 50,
    SGP32_INITIATE_AUTHENTICATION_ERROR_SMDP_OID_MISMATCH = 51,
    SGP32_INITIATE_AUTHENTICATION_ERROR_INVALID_EIM_TRANSACTION_ID = 52,
    SGP32_INITIATE_AUTHENTICATION_ERROR_UNDEFINED_ERROR = 127,
};
enum {
    SGP32_AUTHENTICATE_CLIENT_ERROR_EUM_CERTIFICATE_INVALID = 1,
    SGP32_AUTHENTICATE_CLIENT_ERROR_EUM_CERTIFICATE_EXPIRED = 2,
    SGP32_AUTHENTICATE_CLIENT_ERROR_EUICC_CERTIFICATE_INVALID = 3,
    SGP32_AUTHENTICATE_CLIENT_ERROR_EUICC_CERTIFICATE_EXPIRED = 4,
    SGP32_AUTHENTICATE_CLIENT_ERROR_EUICC_SIGNATURE_INVALID = 5,
    SGP32_AUTHENTICATE_CLIENT_ERROR_MATCHING_ID_REFUSED = 6,
    SGP32_AUTHENTICATE_CLIENT_ERROR_EID_MISMATCH = 7,
    SGP32_AUTHENTICATE_CLIENT_ERROR_NO_ELIGIBLE_PROFILE = 8,
    SGP32_AUTHENTICATE_CLIENT_ERROR_CI_PK_UNKNOWN = 9,
    SGP32_AUTHENTICATE_CLIENT_ERROR_INVALID_TRANSACTION_ID = 10,
    SGP32_AUTHENTICATE_CLIENT_ERROR_INSUFFICIENT_MEMORY = 11,
    SGP32_AUTHENTICATE_CLIENT_ERROR_PPR_NOT_ALLOWED = 50,
    SGP32_AUTHENTICATE_CLIENT_ERROR_EVENT_ID_UNKNOWN = 56,
    SGP32_AUTHENTICATE_CLIENT_ERROR_UNDEFINED_ERROR = 127,
};
enum {
    SGP32_GET_BOUND_PROFILE_PACKAGE_ERROR_EUICC_SIGNATURE_INVALID = 1,
    SGP32_GET_BOUND_PROFILE_PACKAGE_ERROR_CONFIRMATION_CODE_MISSING = 2,
    SGP32_GET_BOUND_PROFILE_PACKAGE_ERROR_CONFIRMATION_CODE_REFUSED = 3,
    SGP32_GET_BOUND_PROFILE_PACKAGE_ERROR_CONFIRMATION_CODE_RETRIES_EXCEEDED = 4,
    SGP32_GET_BOUND_PROFILE_PACKAGE_ERROR_BPP_REBINDING_REFUSED = 5,
    SGP32_GET_BOUND_PROFILE_PACKAGE_ERROR_DOWNLOAD_ORDER_EXPIRED = 6,
    SGP32_GET_BOUND_PROFILE_PACKAGE_ERROR_METADATA_MISMATCH = 50,
    SGP32_GET_BOUND_PROFILE_PACKAGE_ERROR_INVALID_TRANSACTION_ID = 95,
    SGP32_GET_BOUND_PROFILE_PACKAGE_ERROR_UNDEFINED_ERROR = 127,
};
enum {
    SGP32_CANCEL_SESSION_ERROR_INVALID_TRANSACTION_ID = 1,
    SGP32_CANCEL_SESSION_ERROR_EUICC_SIGNATURE_INVALID = 2,
    SGP32_CANCEL_SESSION_ERROR_UNDEFINED_ERROR = 127,
};
enum {
    SGP32_STATE_CHANGE_CAUSE_OTHER_EIM = 0,
    SGP32_STATE_CHANGE_CAUSE_FALLBACK = 1,
    SGP32_STATE_CHANGE_CAUSE_EMERGENCY_PROFILE = 2,
    SGP32_STATE_CHANGE_CAUSE_LOCAL = 3,
    SGP32_STATE_CHANGE_CAUSE_RESET = 4,
    SGP32_STATE_CHANGE_CAUSE_IMMEDIATE_ENABLE_PROFILE = 5,
    SGP32_STATE_CHANGE_CAUSE_DEVICE_CHANGE = 6,
    SGP32_STATE_CHANGE_CAUSE_UNDEFINED = 127,
};
enum {
    SGP32_EIM_PACKAGE_ERROR_NO_EIM_PACKAGE_AVAILABLE = 1,
    SGP32_EIM_PACKAGE_ERROR_EID_NOT_FOUND = 2,
    SGP32_EIM_PACKAGE_ERROR_INVALID_EID = 3,
    SGP32_EIM_PACKAGE_ERROR_MISSING_EID = 4,
    SGP32_EIM_PACKAGE_ERROR_UNDEFINED_ERROR = 127,
};
/* EimPackageResultErrorCode, also TransferEimPackageResponse.eimPackageError */
enum {
    SGP32_EIM_PACKAGE_RESULT_ERROR_INVALID_PACKAGE_FORMAT = 1,
    SGP32_EIM_PACKAGE_RESULT_ERROR_UNKNOWN_PACKAGE = 2,
    SGP32_EIM_PACKAGE_RESULT_ERROR_UNDEFINED_ERROR = 127,
};
enum {
    SGP32_PROVIDE_EIM_PACKAGE_RESULT_ERROR_EID_NOT_FOUND = 2,
    SGP32_PROVIDE_EIM_PACKAGE_RESULT_ERROR_INVALID_EID = 3,
    SGP32_PROVIDE_EIM_PACKAGE_RESULT_ERROR_MISSING_EID = 4,
    SGP32_PROVIDE_EIM_PACKAGE_RESULT_ERROR_UNDEFINED_ERROR = 127,
};

extern const schema_type sgp32_eim_id_type_type;
extern const schema_type sgp32_euicc_package_error_code_type;
extern const schema_type sgp32_configure_immediate_enable_result_type;
extern const schema_type sgp32_enable_profile_result_type;
extern const schema_type sgp32_disable_profile_result_type;
extern const schema_type sgp32_delete_profile_result_type;
extern const schema_type sgp32_profile_info_list_error_type;
extern const schema_type sgp32_rollback_profile_result_type;
extern const schema_type sgp32_set_fallback_attribute_result_type;
extern const schema_type sgp32_unset_fallback_attribute_result_type;
extern const schema_type sgp32_add_eim_result_code_type;
extern const schema_type sgp32_delete_eim_result_type;
extern const schema_type sgp32_update_eim_result_type;
extern const schema_type sgp32_list_eim_error_type;
extern const schema_type sgp32_processing_terminated_type;
extern const schema_type sgp32_set_default_dp_address_result_type;
extern const schema_type sgp32_ipa_euicc_data_error_code_type;
extern const schema_type sgp32_profile_download_error_reason_type;
extern const schema_type sgp32_ipae_activation_result_type;
extern const schema_type sgp32_euicc_category_type;
extern const schema_type sgp32_ipa_mode_type;
extern const schema_type sgp32_add_initial_eim_error_type;
extern const schema_type sgp32_reset_result_type;
extern const schema_type sgp32_reset_eim_result_type;
extern const schema_type sgp32_reset_immediate_enable_config_result_type;
extern const schema_type sgp32_get_certs_error_type;
extern const schema_type sgp32_notifications_list_result_error_type;
extern const schema_type sgp32_immediate_enable_result_type;
extern const schema_type sgp32_profile_rollback_result_type;
extern const schema_type sgp32_config_immediate_enable_result_type;
extern const schema_type sgp32_execute_fallback_mechanism_result_type;
extern const schema_type sgp32_return_from_fallback_result_type;
extern const schema_type sgp32_enable_emergency_profile_result_type;
extern const schema_type sgp32_disable_emergency_profile_result_type;
extern const schema_type sgp32_connectivity_parameters_error_type;
extern const schema_type sgp32_cancel_session_response_error_type;
extern const schema_type sgp32_initiate_authentication_error_esipa_type;
extern const schema_type sgp32_authenticate_client_error_esipa_type;
extern const schema_type sgp32_get_bound_profile_package_error_esipa_type;
extern const schema_type sgp32_cancel_session_error_esipa_type;
extern const schema_type sgp32_state_change_cause_type;
extern const schema_type sgp32_eim_package_error_type;
extern const schema_type sgp32_eim_package_result_error_code_type;
extern const schema_type sgp32_provide_eim_package_result_error_type;

/* ---- eIM configuration (SGP.32 v1.2 section 2.11.1.1.1) ------------------------------- */

enum {
    SGP32_EIM_PUBLIC_KEY_DATA_EIM_PUBLIC_KEY = 1,
    SGP32_EIM_PUBLIC_KEY_DATA_EIM_CERTIFICATE = 2,
};
/* Alternatives are implicitly tagged [0] / [1]: the views start with A0 / A1. */
typedef struct {
    int choice;
    union {
        der_view eim_public_key;
        der_view eim_certificate;
    } u;
} sgp32_eim_public_key_data;

enum {
    SGP32_TRUSTED_PUBLIC_KEY_DATA_TLS_TRUSTED_EIM_PK_TLS = 1,
    SGP32_TRUSTED_PUBLIC_KEY_DATA_TLS_TRUSTED_CERTIFICATE_TLS = 2,
};
typedef struct {
    int choice;
    union {
        der_view trusted_eim_pk_tls;
        der_view trusted_certificate_tls;
    } u;
} sgp32_trusted_public_key_data_tls;

typedef struct {
    der_view eim_id;
    bool has_eim_fqdn;
    der_view eim_fqdn;
    bool has_eim_id_type;
    int64_t eim_id_type;
    bool has_counter_value;
    int64_t counter_value;
    bool has_association_token;
    int64_t association_token;
    bool has_eim_public_key_data;
    sgp32_eim_public_key_data eim_public_key_data;
    bool has_trusted_public_key_data_tls;
    sgp32_trusted_public_key_data_tls trusted_public_key_data_tls;
    bool has_eim_supported_protocol;
    schema_bits eim_supported_protocol;
    bool has_euicc_ci_pk_id;
    der_view euicc_ci_pk_id;
    bool has_indirect_profile_download; /* NULL */
} sgp32_eim_configuration_data;

extern const schema_type sgp32_eim_public_key_data_type;
extern const schema_type sgp32_trusted_public_key_data_tls_type;
extern const schema_type sgp32_eim_configuration_data_type;

/* ---- eUICC Package (SGP.32 v1.2 section 2.11.1.1) ------------------------------------- */

/* Psmo.enable */
typedef struct {
    der_view iccid;
    bool has_rollback_flag; /* NULL */
} sgp32_psmo_enable;

/* Psmo.disable, .delete, .setFallbackAttribute: SEQUENCE { iccid } */
typedef struct {
    der_view iccid;
} sgp32_psmo_iccid;

/* Psmo.configureImmediateEnable and ConfigureImmediateProfileEnablingRequest (BF59) */
typedef struct {
    bool has_immediate_enable_flag; /* NULL */
    bool has_default_smdp_oid;
    der_view default_smdp_oid;
    bool has_default_smdp_address;
    der_view default_smdp_address;
} sgp32_configure_immediate_profile_enabling_request;

/* SetDefaultDpAddressRequest (BF65), also Psmo.setDefaultDpAddress */
typedef struct {
    der_view default_dp_address;
} sgp32_set_default_dp_address_request;

enum {
    SGP32_PSMO_ENABLE = 1,
    SGP32_PSMO_DISABLE = 2,
    SGP32_PSMO_DELETE = 3,
    SGP32_PSMO_LIST_PROFILE_INFO = 4,
    SGP32_PSMO_GET_RAT = 5,
    SGP32_PSMO_CONFIGURE_IMMEDIATE_ENABLE = 6,
    SGP32_PSMO_SET_FALLBACK_ATTRIBUTE = 7,
    SGP32_PSMO_UNSET_FALLBACK_ATTRIBUTE = 8,
    SGP32_PSMO_SET_DEFAULT_DP_ADDRESS = 9,
};
typedef struct {
    int choice;
    union {
        sgp32_psmo_enable enable;
        sgp32_psmo_iccid disable;
        sgp32_psmo_iccid delete_profile;
        sgp22_profile_info_list_request list_profile_info;
        sgp32_empty get_rat;
        sgp32_configure_immediate_profile_enabling_request configure_immediate_enable;
        sgp32_psmo_iccid set_fallback_attribute;
        sgp32_empty unset_fallback_attribute;
        sgp32_set_default_dp_address_request set_default_dp_address;
    } u;
} sgp32_psmo;

typedef struct {
    der_view eim_id;
} sgp32_delete_eim;

enum {
    SGP32_ECO_ADD_EIM = 1,
    SGP32_ECO_DELETE_EIM = 2,
    SGP32_ECO_UPDATE_EIM = 3,
    SGP32_ECO_LIST_EIM = 4,
};
typedef struct {
    int choice;
    union {
        sgp32_eim_configuration_data add_eim;
        sgp32_delete_eim delete_eim;
        sgp32_eim_configuration_data update_eim;
        sgp32_empty list_eim;
    } u;
} sgp32_eco;

enum { SGP32_EUICC_PACKAGE_PSMO_LIST = 1, SGP32_EUICC_PACKAGE_ECO_LIST = 2 };
typedef struct {
    int choice;
    union {
        schema_list psmo_list; /* of sgp32_psmo */
        schema_list eco_list;  /* of sgp32_eco */
    } u;
} sgp32_euicc_package;

typedef struct {
    der_view eim_id;
    der_view eid_value;
    int64_t counter_value;
    bool has_eim_transaction_id;
    der_view eim_transaction_id;
    sgp32_euicc_package euicc_package;
} sgp32_euicc_package_signed;

/* EuiccPackageRequest (BF51) */
typedef struct {
    sgp32_euicc_package_signed euicc_package_signed;
    der_view eim_signature;
} sgp32_euicc_package_request;

extern const schema_type sgp32_psmo_enable_type;
extern const schema_type sgp32_psmo_iccid_type;
extern const schema_type sgp32_configure_immediate_profile_enabling_request_type;
extern const schema_type sgp32_set_default_dp_address_request_type;
extern const schema_type sgp32_psmo_type;
extern const schema_type sgp32_delete_eim_type;
extern const schema_type sgp32_eco_type;
extern const schema_type sgp32_euicc_package_type;
extern const schema_type sgp32_euicc_package_signed_type;
extern const schema_type sgp32_euicc_package_request_type;

/* ---- ProfileInfo with the SGP.32 additions (SGP.32 v1.2 section 4.4) ------------------ */

/* SGP.22 ProfileInfo plus three extension fields. They sit inside the signed eUICC Package
 * Result, so the type names them: an SGP.22-only decoder would skip them. */
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
    schema_list notification_configuration_info; /* of sgp22_notification_configuration_... */
    bool has_profile_owner;
    sgp22_operator_id profile_owner;
    bool has_dp_proprietary_data;
    sgp22_dp_proprietary_data dp_proprietary_data;
    bool has_profile_policy_rules;
    schema_bits profile_policy_rules;
    bool has_service_specific_data_stored_in_euicc;
    schema_list service_specific_data_stored_in_euicc; /* of sgp22_vendor_specific_... */
    bool has_ecall_indication;
    bool ecall_indication;
    bool has_fallback_attribute; /* DEFAULT FALSE */
    bool fallback_attribute;
    bool has_fallback_allowed;
    bool fallback_allowed;
} sgp32_profile_info;

enum {
    SGP32_PROFILE_INFO_LIST_RESPONSE_PROFILE_INFO_LIST_OK = 1,
    SGP32_PROFILE_INFO_LIST_RESPONSE_PROFILE_INFO_LIST_ERROR = 2,
};
/* ProfileInfoListResponse (BF2D) over sgp32_profile_info */
typedef struct {
    int choice;
    union {
        schema_list profile_info_list_ok; /* of sgp32_profile_info */
        int64_t profile_info_list_error;
    } u;
} sgp32_profile_info_list_response;

extern const schema_type sgp32_profile_info_type;
extern const schema_type sgp32_profile_info_list_response_type;

/* ---- eUICC Package Result (SGP.32 v1.2 section 2.11.2.1) ----------------------------- */

enum { SGP32_ADD_EIM_RESULT_ASSOCIATION_TOKEN = 1, SGP32_ADD_EIM_RESULT_ADD_EIM_RESULT_CODE = 2 };
typedef struct {
    int choice;
    union {
        int64_t association_token;
        int64_t add_eim_result_code;
    } u;
} sgp32_add_eim_result;

typedef struct {
    der_view eim_id;
    bool has_eim_id_type;
    int64_t eim_id_type;
} sgp32_eim_id_info;

enum { SGP32_LIST_EIM_RESULT_EIM_ID_LIST = 1, SGP32_LIST_EIM_RESULT_LIST_EIM_ERROR = 2 };
typedef struct {
    int choice;
    union {
        schema_list eim_id_list; /* of sgp32_eim_id_info */
        int64_t list_eim_error;
    } u;
} sgp32_list_eim_result;

/* SetDefaultDpAddressResponse (BF65) */
typedef struct {
    int64_t set_default_dp_address_result;
} sgp32_set_default_dp_address_response;

enum {
    SGP32_EUICC_RESULT_DATA_ENABLE_RESULT = 1,
    SGP32_EUICC_RESULT_DATA_DISABLE_RESULT = 2,
    SGP32_EUICC_RESULT_DATA_DELETE_RESULT = 3,
    SGP32_EUICC_RESULT_DATA_LIST_PROFILE_INFO_RESULT = 4,
    SGP32_EUICC_RESULT_DATA_GET_RAT_RESULT = 5,
    SGP32_EUICC_RESULT_DATA_CONFIGURE_IMMEDIATE_ENABLE_RESULT = 6,
    SGP32_EUICC_RESULT_DATA_ADD_EIM_RESULT = 7,
    SGP32_EUICC_RESULT_DATA_DELETE_EIM_RESULT = 8,
    SGP32_EUICC_RESULT_DATA_UPDATE_EIM_RESULT = 9,
    SGP32_EUICC_RESULT_DATA_LIST_EIM_RESULT = 10,
    SGP32_EUICC_RESULT_DATA_ROLLBACK_RESULT = 11,
    SGP32_EUICC_RESULT_DATA_SET_FALLBACK_ATTRIBUTE_RESULT = 12,
    SGP32_EUICC_RESULT_DATA_UNSET_FALLBACK_ATTRIBUTE_RESULT = 13,
    SGP32_EUICC_RESULT_DATA_PROCESSING_TERMINATED = 14,
    SGP32_EUICC_RESULT_DATA_SET_DEFAULT_DP_ADDRESS_RESULT = 15,
};
typedef struct {
    int choice;
    union {
        int64_t enable_result;
        int64_t disable_result;
        int64_t delete_result;
        sgp32_profile_info_list_response list_profile_info_result;
        sgp22_rules_authorisation_table get_rat_result;
        int64_t configure_immediate_enable_result;
        sgp32_add_eim_result add_eim_result;
        int64_t delete_eim_result;
        int64_t update_eim_result;
        sgp32_list_eim_result list_eim_result;
        int64_t rollback_result;
        int64_t set_fallback_attribute_result;
        int64_t unset_fallback_attribute_result;
        int64_t processing_terminated;
        sgp32_set_default_dp_address_response set_default_dp_address_result;
    } u;
} sgp32_euicc_result_data;

typedef struct {
    der_view eim_id;
    int64_t counter_value;
    bool has_eim_transaction_id;
    der_view eim_transaction_id;
    int64_t seq_number;
    schema_list euicc_result; /* of sgp32_euicc_result_data */
} sgp32_euicc_package_result_data_signed;

typedef struct {
    sgp32_euicc_package_result_data_signed euicc_package_result_data_signed;
    der_view euicc_sign_epr;
} sgp32_euicc_package_result_signed;

typedef struct {
    der_view eim_id;
    int64_t counter_value;
    bool has_eim_transaction_id;
    der_view eim_transaction_id;
    int64_t euicc_package_error_code;
} sgp32_euicc_package_error_data_signed;

typedef struct {
    sgp32_euicc_package_error_data_signed euicc_package_error_data_signed;
    der_view euicc_sign_epe;
} sgp32_euicc_package_error_signed;

typedef struct {
    der_view eim_id;
    bool has_eim_transaction_id;
    der_view eim_transaction_id;
    bool has_association_token;
    int64_t association_token;
} sgp32_euicc_package_error_unsigned;

enum {
    SGP32_EUICC_PACKAGE_RESULT_EUICC_PACKAGE_RESULT_SIGNED = 1,
    SGP32_EUICC_PACKAGE_RESULT_EUICC_PACKAGE_ERROR_SIGNED = 2,
    SGP32_EUICC_PACKAGE_RESULT_EUICC_PACKAGE_ERROR_UNSIGNED = 3,
};
/* EuiccPackageResult (BF51) */
typedef struct {
    int choice;
    union {
        sgp32_euicc_package_result_signed euicc_package_result_signed;
        sgp32_euicc_package_error_signed euicc_package_error_signed;
        sgp32_euicc_package_error_unsigned euicc_package_error_unsigned;
    } u;
} sgp32_euicc_package_result;

/* EimAcknowledgements (BF53): SEQUENCE OF SequenceNumber, items int64_t */
typedef struct {
    schema_list sequence_numbers; /* of int64_t */
} sgp32_eim_acknowledgements;

extern const schema_type sgp32_add_eim_result_type;
extern const schema_type sgp32_eim_id_info_type;
extern const schema_type sgp32_list_eim_result_type;
extern const schema_type sgp32_set_default_dp_address_response_type;
extern const schema_type sgp32_euicc_result_data_type;
extern const schema_type sgp32_euicc_package_result_data_signed_type;
extern const schema_type sgp32_euicc_package_result_signed_type;
extern const schema_type sgp32_euicc_package_error_data_signed_type;
extern const schema_type sgp32_euicc_package_error_signed_type;
extern const schema_type sgp32_euicc_package_error_unsigned_type;
extern const schema_type sgp32_euicc_package_result_type;
extern const schema_type sgp32_euicc_package_result_list_type; /* SEQUENCE OF, items above */
extern const schema_type sgp32_eim_acknowledgements_type;

/* ---- SGP.32 forms of SGP.22 ES10b/ES9+ structures (SGP.32 v1.2 sections 5.9, 5.14) ---- */

/* IoTSpecificInfo, section 5.9.2 */
typedef struct {
    schema_list iot_version;     /* of der_view (VersionType) */
    bool has_ecall_supported;    /* NULL */
    bool has_fallback_supported; /* NULL */
} sgp32_iot_specific_info;

/* EUICCInfo2 (BF22) as SGP.32 extends it, section 5.9.2 */
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
    bool has_ipa_mode;
    int64_t ipa_mode;
    bool has_euicc_ci_pkid_list_for_signing_v3;
    schema_list euicc_ci_pkid_list_for_signing_v3; /* of der_view */
    bool has_additional_euicc_info;
    der_view additional_euicc_info;
    bool has_highest_svn;
    der_view highest_svn;
    bool has_iot_specific_info;
    sgp32_iot_specific_info iot_specific_info;
} sgp32_euicc_info2;

/* EuiccSigned1 with the SGP.32 EUICCInfo2, section 5.14.3 */
typedef struct {
    der_view transaction_id;
    der_view server_address;
    der_view server_challenge;
    sgp32_euicc_info2 euicc_info2;
    sgp22_ctx_params1 ctx_params1;
} sgp32_euicc_signed1;

typedef struct {
    sgp32_euicc_signed1 euicc_signed1;
    der_view euicc_signature1;
    der_view euicc_certificate;
    der_view eum_certificate;
} sgp32_authenticate_response_ok;

typedef struct {
    der_view ext_card_resource;
    bool has_ctx_params1;
    sgp22_ctx_params1 ctx_params1;
} sgp32_compact_euicc_signed1;

enum { SGP32_SIGNED_DATA_EUICC_SIGNED1 = 1, SGP32_SIGNED_DATA_COMPACT_EUICC_SIGNED1 = 2 };
typedef struct {
    int choice;
    union {
        sgp32_euicc_signed1 euicc_signed1;
        sgp32_compact_euicc_signed1 compact_euicc_signed1;
    } u;
} sgp32_signed_data;

typedef struct {
    sgp32_signed_data signed_data;
    der_view euicc_signature1;
    bool has_euicc_certificate;
    der_view euicc_certificate;
    bool has_eum_certificate;
    der_view eum_certificate;
} sgp32_compact_authenticate_response_ok;

enum {
    SGP32_AUTHENTICATE_SERVER_RESPONSE_AUTHENTICATE_RESPONSE_OK = 1,
    SGP32_AUTHENTICATE_SERVER_RESPONSE_AUTHENTICATE_RESPONSE_ERROR = 2,
    SGP32_AUTHENTICATE_SERVER_RESPONSE_COMPACT_AUTHENTICATE_RESPONSE_OK = 3,
};
/* AuthenticateServerResponse (BF38) with the compact form */
typedef struct {
    int choice;
    union {
        sgp32_authenticate_response_ok authenticate_response_ok;
        sgp22_authenticate_response_error authenticate_response_error;
        sgp32_compact_authenticate_response_ok compact_authenticate_response_ok;
    } u;
} sgp32_authenticate_server_response;

typedef struct {
    bool has_euicc_otpk;
    der_view euicc_otpk;
    bool has_hash_cc;
    der_view hash_cc;
} sgp32_compact_euicc_signed2;

typedef struct {
    sgp32_compact_euicc_signed2 compact_euicc_signed2;
    der_view euicc_signature2;
} sgp32_compact_prepare_download_response_ok;

enum {
    SGP32_PREPARE_DOWNLOAD_RESPONSE_DOWNLOAD_RESPONSE_OK = 1,
    SGP32_PREPARE_DOWNLOAD_RESPONSE_DOWNLOAD_RESPONSE_ERROR = 2,
    SGP32_PREPARE_DOWNLOAD_RESPONSE_COMPACT_DOWNLOAD_RESPONSE_OK = 3,
};
/* PrepareDownloadResponse (BF21) with the compact form */
typedef struct {
    int choice;
    union {
        sgp22_prepare_download_response_ok download_response_ok;
        sgp22_prepare_download_response_error download_response_error;
        sgp32_compact_prepare_download_response_ok compact_download_response_ok;
    } u;
} sgp32_prepare_download_response;

typedef struct {
    bool has_reason;
    int64_t reason;
} sgp32_compact_euicc_cancel_session_signed;

typedef struct {
    sgp32_compact_euicc_cancel_session_signed compact_euicc_cancel_session_signed;
    der_view euicc_cancel_session_signature;
} sgp32_compact_cancel_session_response_ok;

enum {
    SGP32_CANCEL_SESSION_RESPONSE_CANCEL_SESSION_RESPONSE_OK = 1,
    SGP32_CANCEL_SESSION_RESPONSE_CANCEL_SESSION_RESPONSE_ERROR = 2,
    SGP32_CANCEL_SESSION_RESPONSE_COMPACT_CANCEL_SESSION_RESPONSE_OK = 3,
};
/* CancelSessionResponse (BF41) with the compact form */
typedef struct {
    int choice;
    union {
        sgp22_cancel_session_response_ok cancel_session_response_ok;
        int64_t cancel_session_response_error;
        sgp32_compact_cancel_session_response_ok compact_cancel_session_response_ok;
    } u;
} sgp32_cancel_session_response;

typedef struct {
    der_view compact_aid;
    bool has_sima_response;
    der_view sima_response;
} sgp32_compact_success_result;

enum {
    SGP32_COMPACT_FINAL_RESULT_COMPACT_SUCCESS_RESULT = 1,
    SGP32_COMPACT_FINAL_RESULT_ERROR_RESULT = 2,
};
typedef struct {
    int choice;
    union {
        sgp32_compact_success_result compact_success_result;
        sgp22_error_result error_result;
    } u;
} sgp32_compact_final_result;

typedef struct {
    der_view transaction_id;
    int64_t seq_number;
    bool has_iccid_present; /* DEFAULT TRUE */
    bool iccid_present;
    sgp32_compact_final_result compact_final_result;
} sgp32_compact_profile_installation_result_data;

typedef struct {
    sgp32_compact_profile_installation_result_data compact_profile_installation_result_data;
    der_view euicc_sign_pir;
} sgp32_compact_profile_installation_result;

typedef struct {
    bool has_eid_value;
    der_view eid_value;
    sgp22_notification_metadata tbs_other_notification;
    der_view euicc_notification_signature;
} sgp32_compact_other_signed_notification;

enum {
    SGP32_PENDING_NOTIFICATION_PROFILE_INSTALLATION_RESULT = 1,
    SGP32_PENDING_NOTIFICATION_OTHER_SIGNED_NOTIFICATION = 2,
    SGP32_PENDING_NOTIFICATION_COMPACT_PROFILE_INSTALLATION_RESULT = 3,
    SGP32_PENDING_NOTIFICATION_COMPACT_OTHER_SIGNED_NOTIFICATION = 4,
};
/* PendingNotification with the compact forms, section 5.14.7 */
typedef struct {
    int choice;
    union {
        sgp22_profile_installation_result profile_installation_result;
        sgp22_other_signed_notification other_signed_notification;
        sgp32_compact_profile_installation_result compact_profile_installation_result;
        sgp32_compact_other_signed_notification compact_other_signed_notification;
    } u;
} sgp32_pending_notification;

extern const schema_type sgp32_iot_specific_info_type;
extern const schema_type sgp32_euicc_info2_type;
extern const schema_type sgp32_euicc_signed1_type;
extern const schema_type sgp32_authenticate_response_ok_type;
extern const schema_type sgp32_compact_euicc_signed1_type;
extern const schema_type sgp32_signed_data_type;
extern const schema_type sgp32_compact_authenticate_response_ok_type;
extern const schema_type sgp32_authenticate_server_response_type;
extern const schema_type sgp32_compact_euicc_signed2_type;
extern const schema_type sgp32_compact_prepare_download_response_ok_type;
extern const schema_type sgp32_prepare_download_response_type;
extern const schema_type sgp32_compact_euicc_cancel_session_signed_type;
extern const schema_type sgp32_compact_cancel_session_response_ok_type;
extern const schema_type sgp32_cancel_session_response_type;
extern const schema_type sgp32_compact_success_result_type;
extern const schema_type sgp32_compact_final_result_type;
extern const schema_type sgp32_compact_profile_installation_result_data_type;
extern const schema_type sgp32_compact_profile_installation_result_type;
extern const schema_type sgp32_compact_other_signed_notification_type;
extern const schema_type sgp32_pending_notification_type;
extern const schema_type sgp32_pending_notification_list_type; /* SEQUENCE OF the above */

/* ---- IPA capabilities and eUICC data (SGP.32 v1.2 sections 2.11.1.2, 2.11.2.2, 4.1) --- */

typedef struct {
    schema_bits ipa_features;
    bool has_ipa_supported_protocols;
    schema_bits ipa_supported_protocols;
} sgp32_ipa_capabilities;

enum {
    SGP32_SEARCH_CRITERIA_NOTIFICATION_SEQ_NUMBER = 1,
    SGP32_SEARCH_CRITERIA_NOTIFICATION_PROFILE_MANAGEMENT_OPERATION = 2,
};
typedef struct {
    int choice;
    union {
        int64_t seq_number;
        schema_bits profile_management_operation;
    } u;
} sgp32_search_criteria_notification;

enum { SGP32_SEARCH_CRITERIA_EUICC_PACKAGE_RESULT_SEQ_NUMBER = 1 };
typedef struct {
    int choice;
    union {
        int64_t seq_number;
    } u;
} sgp32_search_criteria_euicc_package_result;

/* IpaEuiccDataRequest (BF52) */
typedef struct {
    der_view tag_list;
    bool has_euicc_ci_pk_identifier_to_be_used;
    der_view euicc_ci_pk_identifier_to_be_used;
    bool has_search_criteria_notification;
    sgp32_search_criteria_notification search_criteria_notification;
    bool has_search_criteria_euicc_package_result;
    sgp32_search_criteria_euicc_package_result search_criteria_euicc_package_result;
    bool has_eim_transaction_id;
    der_view eim_transaction_id;
} sgp32_ipa_euicc_data_request;

typedef struct {
    bool has_notifications_list;
    schema_list notifications_list; /* of sgp32_pending_notification */
    bool has_default_smdp_address;
    der_view default_smdp_address;
    bool has_euicc_package_result_list;
    schema_list euicc_package_result_list; /* of sgp32_euicc_package_result */
    bool has_euicc_info1;
    sgp22_euicc_info1 euicc_info1;
    bool has_euicc_info2;
    sgp32_euicc_info2 euicc_info2;
    bool has_root_smds_address;
    der_view root_smds_address;
    bool has_association_token;
    int64_t association_token;
    bool has_eum_certificate;
    der_view eum_certificate; /* tagged A5 as received */
    bool has_euicc_certificate;
    der_view euicc_certificate; /* tagged A6 as received */
    bool has_eim_transaction_id;
    der_view eim_transaction_id;
    bool has_ipa_capabilities;
    sgp32_ipa_capabilities ipa_capabilities;
    bool has_device_info;
    sgp22_device_info device_info;
} sgp32_ipa_euicc_data;

typedef struct {
    bool has_eim_transaction_id;
    der_view eim_transaction_id;
    int64_t ipa_euicc_data_error_code;
} sgp32_ipa_euicc_data_response_error;

enum {
    SGP32_IPA_EUICC_DATA_RESPONSE_IPA_EUICC_DATA = 1,
    SGP32_IPA_EUICC_DATA_RESPONSE_IPA_EUICC_DATA_RESPONSE_ERROR = 2,
};
/* IpaEuiccDataResponse (BF52) */
typedef struct {
    int choice;
    union {
        sgp32_ipa_euicc_data ipa_euicc_data;
        sgp32_ipa_euicc_data_response_error ipa_euicc_data_response_error;
    } u;
} sgp32_ipa_euicc_data_response;

extern const schema_type sgp32_ipa_capabilities_type; /* universal SEQUENCE (30) */
extern const schema_type sgp32_search_criteria_notification_type;
extern const schema_type sgp32_search_criteria_euicc_package_result_type;
extern const schema_type sgp32_ipa_euicc_data_request_type;
extern const schema_type sgp32_ipa_euicc_data_type;
extern const schema_type sgp32_ipa_euicc_data_response_error_type;
extern const schema_type sgp32_ipa_euicc_data_response_type;

/* ---- Profile Download Trigger (SGP.32 v1.2 sections 2.11.1.3, 2.11.2.3) --------------- */

typedef struct {
    bool has_smds_address;
    der_view smds_address;
} sgp32_contact_smds;

enum {
    SGP32_PROFILE_DOWNLOAD_DATA_ACTIVATION_CODE = 1,
    SGP32_PROFILE_DOWNLOAD_DATA_CONTACT_DEFAULT_SMDP = 2,
    SGP32_PROFILE_DOWNLOAD_DATA_CONTACT_SMDS = 3,
};
typedef struct {
    int choice;
    union {
        der_view activation_code;
        sgp32_contact_smds contact_smds;
    } u;
} sgp32_profile_download_data;

/* ProfileDownloadTriggerRequest (BF54) */
typedef struct {
    bool has_profile_download_data;
    sgp32_profile_download_data profile_download_data;
    bool has_eim_transaction_id;
    der_view eim_transaction_id;
} sgp32_profile_download_trigger_request;

typedef struct {
    int64_t profile_download_error_reason;
    bool has_error_response;
    der_view error_response;
} sgp32_profile_download_error;

enum {
    SGP32_PROFILE_DOWNLOAD_TRIGGER_RESULT_DATA_PROFILE_INSTALLATION_RESULT = 1,
    SGP32_PROFILE_DOWNLOAD_TRIGGER_RESULT_DATA_PROFILE_DOWNLOAD_ERROR = 2,
};
typedef struct {
    int choice;
    union {
        sgp22_profile_installation_result profile_installation_result;
        sgp32_profile_download_error profile_download_error;
    } u;
} sgp32_profile_download_trigger_result_data;

/* ProfileDownloadTriggerResult (BF54) */
typedef struct {
    bool has_eim_transaction_id;
    der_view eim_transaction_id;
    sgp32_profile_download_trigger_result_data profile_download_trigger_result_data;
} sgp32_profile_download_trigger_result;

extern const schema_type sgp32_contact_smds_type;
extern const schema_type sgp32_profile_download_data_type;
extern const schema_type sgp32_profile_download_trigger_request_type;
extern const schema_type sgp32_profile_download_error_type;
extern const schema_type sgp32_profile_download_trigger_result_data_type;
extern const schema_type sgp32_profile_download_trigger_result_type;

/* ---- ES10b functions (SGP.32 v1.2 section 5.9) ---------------------------------------- */

/* ISDRProprietaryApplicationTemplateIoT (E1), section 3.8.4 */
typedef struct {
    schema_bits euicc_configuration;
} sgp32_isdr_proprietary_application_template_iot;

typedef struct {
    schema_bits ipae_option;
} sgp32_ipae_activation_request; /* BF42 */
typedef struct {
    int64_t ipae_activation_result;
} sgp32_ipae_activation_response; /* BF42 */

typedef struct {
    schema_list eim_configuration_data_list; /* of sgp32_eim_configuration_data */
} sgp32_add_initial_eim_request;             /* BF57 */

enum { SGP32_ADD_INITIAL_EIM_OK_ASSOCIATION_TOKEN = 1, SGP32_ADD_INITIAL_EIM_OK_ADD_OK = 2 };
typedef struct {
    int choice;
    union {
        int64_t association_token;
    } u;
} sgp32_add_initial_eim_ok_item;

enum {
    SGP32_ADD_INITIAL_EIM_RESPONSE_ADD_INITIAL_EIM_OK = 1,
    SGP32_ADD_INITIAL_EIM_RESPONSE_ADD_INITIAL_EIM_ERROR = 2,
};
typedef struct {
    int choice;
    union {
        schema_list add_initial_eim_ok; /* of sgp32_add_initial_eim_ok_item */
        int64_t add_initial_eim_error;
    } u;
} sgp32_add_initial_eim_response; /* BF57 */

typedef struct {
    schema_bits reset_options;
} sgp32_euicc_memory_reset_request; /* BF64 */
typedef struct {
    int64_t reset_result;
    bool has_reset_eim_result;
    int64_t reset_eim_result;
    bool has_reset_immediate_enable_config_result;
    int64_t reset_immediate_enable_config_result;
} sgp32_euicc_memory_reset_response; /* BF64 */

typedef struct {
    bool has_euicc_ci_pk_id;
    der_view euicc_ci_pk_id;
} sgp32_get_certs_request; /* BF56 */

typedef struct {
    der_view eum_certificate;   /* tagged A5 as received */
    der_view euicc_certificate; /* tagged A6 as received */
} sgp32_certs;

enum { SGP32_GET_CERTS_RESPONSE_CERTS = 1, SGP32_GET_CERTS_RESPONSE_GET_CERTS_ERROR = 2 };
typedef struct {
    int choice;
    union {
        sgp32_certs certs;
        int64_t get_certs_error;
    } u;
} sgp32_get_certs_response; /* BF56 */

enum {
    SGP32_RETRIEVE_NOTIFICATIONS_SEARCH_CRITERIA_SEQ_NUMBER = 1,
    SGP32_RETRIEVE_NOTIFICATIONS_SEARCH_CRITERIA_PROFILE_MANAGEMENT_OPERATION = 2,
    SGP32_RETRIEVE_NOTIFICATIONS_SEARCH_CRITERIA_EUICC_PACKAGE_RESULTS = 3,
};
typedef struct {
    int choice;
    union {
        int64_t seq_number;
        schema_bits profile_management_operation;
    } u;
} sgp32_retrieve_notifications_search_criteria;

typedef struct {
    bool has_search_criteria;
    sgp32_retrieve_notifications_search_criteria search_criteria;
} sgp32_retrieve_notifications_list_request; /* BF2B */

enum {
    SGP32_RETRIEVE_NOTIFICATIONS_LIST_RESPONSE_NOTIFICATION_LIST = 1,
    SGP32_RETRIEVE_NOTIFICATIONS_LIST_RESPONSE_NOTIFICATIONS_LIST_RESULT_ERROR = 2,
    SGP32_RETRIEVE_NOTIFICATIONS_LIST_RESPONSE_EUICC_PACKAGE_RESULT_LIST = 3,
};
typedef struct {
    int choice;
    union {
        schema_list notification_list; /* of sgp32_pending_notification */
        int64_t notifications_list_result_error;
        schema_list euicc_package_result_list; /* of sgp32_euicc_package_result */
    } u;
} sgp32_retrieve_notifications_list_response; /* BF2B */

/* ImmediateEnable, ProfileRollback, ExecuteFallbackMechanism, ReturnFromFallback,
 * EnableEmergencyProfile, DisableEmergencyProfile requests: SEQUENCE { refreshFlag } */
typedef struct {
    bool refresh_flag;
} sgp32_refresh_flag_request;

/* Responses that carry one result code */
typedef struct {
    int64_t result;
} sgp32_result_response;

typedef struct {
    int64_t cmd_result;
    bool has_euicc_package_result;
    sgp32_euicc_package_result euicc_package_result;
} sgp32_profile_rollback_response; /* BF58 */

enum {
    SGP32_GET_EIM_CONFIGURATION_DATA_SEARCH_CRITERIA_EIM_ID = 1,
};
typedef struct {
    int choice;
    union {
        der_view eim_id;
    } u;
} sgp32_get_eim_configuration_data_search_criteria;

typedef struct {
    bool has_search_criteria;
    sgp32_get_eim_configuration_data_search_criteria search_criteria;
} sgp32_get_eim_configuration_data_request; /* BF55 */

typedef struct {
    schema_list eim_configuration_data_list; /* of sgp32_eim_configuration_data */
} sgp32_get_eim_configuration_data_response; /* BF55 */

typedef struct {
    bool has_http_params;
    der_view http_params;
} sgp32_connectivity_parameters;

enum {
    SGP32_GET_CONNECTIVITY_PARAMETERS_RESPONSE_CONNECTIVITY_PARAMETERS = 1,
    SGP32_GET_CONNECTIVITY_PARAMETERS_RESPONSE_CONNECTIVITY_PARAMETERS_ERROR = 2,
};
typedef struct {
    int choice;
    union {
        sgp32_connectivity_parameters connectivity_parameters;
        int64_t connectivity_parameters_error;
    } u;
} sgp32_get_connectivity_parameters_response; /* BF5F */

extern const schema_type sgp32_isdr_proprietary_application_template_iot_type;
extern const schema_type sgp32_ipae_activation_request_type;
extern const schema_type sgp32_ipae_activation_response_type;
extern const schema_type sgp32_add_initial_eim_request_type;
extern const schema_type sgp32_add_initial_eim_ok_item_type;
extern const schema_type sgp32_add_initial_eim_response_type;
extern const schema_type sgp32_euicc_memory_reset_request_type;
extern const schema_type sgp32_euicc_memory_reset_response_type;
extern const schema_type sgp32_get_certs_request_type;
extern const schema_type sgp32_certs_type;
extern const schema_type sgp32_get_certs_response_type;
extern const schema_type sgp32_retrieve_notifications_search_criteria_type;
extern const schema_type sgp32_retrieve_notifications_list_request_type;
extern const schema_type sgp32_retrieve_notifications_list_response_type;
/* struct sgp32_refresh_flag_request */
extern const schema_type sgp32_immediate_enable_request_type;           /* BF5A */
extern const schema_type sgp32_profile_rollback_request_type;           /* BF58 */
extern const schema_type sgp32_execute_fallback_mechanism_request_type; /* BF5D */
extern const schema_type sgp32_return_from_fallback_request_type;       /* BF5E */
extern const schema_type sgp32_enable_emergency_profile_request_type;   /* BF5B */
extern const schema_type sgp32_disable_emergency_profile_request_type;  /* BF5C */
/* struct sgp32_result_response */
extern const schema_type sgp32_immediate_enable_response_type;                     /* BF5A */
extern const schema_type sgp32_configure_immediate_profile_enabling_response_type; /* BF59 */
extern const schema_type sgp32_execute_fallback_mechanism_response_type;           /* BF5D */
extern const schema_type sgp32_return_from_fallback_response_type;                 /* BF5E */
extern const schema_type sgp32_enable_emergency_profile_response_type;             /* BF5B */
extern const schema_type sgp32_disable_emergency_profile_response_type;            /* BF5C */
extern const schema_type sgp32_profile_rollback_response_type;
extern const schema_type sgp32_get_eim_configuration_data_search_criteria_type;
extern const schema_type sgp32_get_eim_configuration_data_request_type;
extern const schema_type sgp32_get_eim_configuration_data_response_type;
/* struct sgp32_empty */
extern const schema_type sgp32_get_connectivity_parameters_request_type; /* BF5F */
extern const schema_type sgp32_connectivity_parameters_type;
extern const schema_type sgp32_get_connectivity_parameters_response_type;

/* ---- ESipa (SGP.32 v1.2 section 6.3) -------------------------------------------------- */

/* InitiateAuthenticationRequestEsipa (BF39) */
typedef struct {
    der_view euicc_challenge;
    bool has_smdp_address;
    der_view smdp_address;
    bool has_euicc_info1;
    sgp22_euicc_info1 euicc_info1;
    bool has_eim_transaction_id;
    der_view eim_transaction_id;
} sgp32_initiate_authentication_request_esipa;

typedef struct {
    bool has_transaction_id;
    der_view transaction_id;
    sgp22_server_signed1 server_signed1;
    der_view server_signature1;
    der_view euicc_ci_pk_identifier_to_be_used;
    der_view server_certificate;
    bool has_matching_id;
    der_view matching_id;
    bool has_ctx_params1;
    sgp22_ctx_params1 ctx_params1;
} sgp32_initiate_authentication_ok_esipa;

enum {
    SGP32_INITIATE_AUTHENTICATION_RESPONSE_ESIPA_OK = 1,
    SGP32_INITIATE_AUTHENTICATION_RESPONSE_ESIPA_ERROR = 2,
};
typedef struct {
    int choice;
    union {
        sgp32_initiate_authentication_ok_esipa initiate_authentication_ok_esipa;
        int64_t initiate_authentication_error_esipa;
    } u;
} sgp32_initiate_authentication_response_esipa; /* BF39 */

typedef struct {
    der_view transaction_id;
    sgp32_authenticate_server_response authenticate_server_response;
} sgp32_authenticate_client_request_esipa; /* BF3B */

typedef struct {
    bool has_transaction_id;
    der_view transaction_id;
    bool has_profile_meta_data;
    sgp22_store_metadata_request profile_meta_data;
    sgp22_smdp_signed2 smdp_signed2;
    der_view smdp_signature2;
    der_view smdp_certificate;
    bool has_hash_cc;
    der_view hash_cc;
} sgp32_authenticate_client_ok_dp_esipa;

typedef struct {
    der_view transaction_id;
    bool has_profile_download_trigger;
    sgp32_profile_download_trigger_request profile_download_trigger;
} sgp32_authenticate_client_ok_ds_esipa;

enum {
    SGP32_AUTHENTICATE_CLIENT_RESPONSE_ESIPA_OK_DP = 1,
    SGP32_AUTHENTICATE_CLIENT_RESPONSE_ESIPA_OK_DS = 2,
    SGP32_AUTHENTICATE_CLIENT_RESPONSE_ESIPA_ERROR = 3,
};
typedef struct {
    int choice;
    union {
        sgp32_authenticate_client_ok_dp_esipa authenticate_client_ok_dp_esipa;
        sgp32_authenticate_client_ok_ds_esipa authenticate_client_ok_ds_esipa;
        int64_t authenticate_client_error_esipa;
    } u;
} sgp32_authenticate_client_response_esipa; /* BF3B */

typedef struct {
    der_view transaction_id;
    sgp32_prepare_download_response prepare_download_response;
} sgp32_get_bound_profile_package_request_esipa; /* BF3A */

typedef struct {
    bool has_transaction_id;
    der_view transaction_id;
    der_view bound_profile_package; /* BF36 TLV kept verbatim: it is large and the eUICC
                                       gets it segmented, not decoded */
} sgp32_get_bound_profile_package_ok_esipa;

enum {
    SGP32_GET_BOUND_PROFILE_PACKAGE_RESPONSE_ESIPA_OK = 1,
    SGP32_GET_BOUND_PROFILE_PACKAGE_RESPONSE_ESIPA_ERROR = 2,
};
typedef struct {
    int choice;
    union {
        sgp32_get_bound_profile_package_ok_esipa get_bound_profile_package_ok_esipa;
        int64_t get_bound_profile_package_error_esipa;
    } u;
} sgp32_get_bound_profile_package_response_esipa; /* BF3A */

typedef struct {
    der_view transaction_id;
    sgp32_cancel_session_response cancel_session_response;
} sgp32_cancel_session_request_esipa; /* BF41 */

enum {
    SGP32_CANCEL_SESSION_RESPONSE_ESIPA_CANCEL_SESSION_OK = 1,
    SGP32_CANCEL_SESSION_RESPONSE_ESIPA_CANCEL_SESSION_ERROR = 2,
};
typedef struct {
    int choice;
    union {
        sgp32_empty cancel_session_ok;
        int64_t cancel_session_error;
    } u;
} sgp32_cancel_session_response_esipa; /* BF41 */

/* GetEimPackageRequest (BF4F) */
typedef struct {
    der_view eid_value;
    bool has_notify_state_change; /* NULL */
    bool has_state_change_cause;
    int64_t state_change_cause;
    bool has_rplmn;
    der_view rplmn;
} sgp32_get_eim_package_request;

enum {
    SGP32_GET_EIM_PACKAGE_RESPONSE_EUICC_PACKAGE_REQUEST = 1,
    SGP32_GET_EIM_PACKAGE_RESPONSE_IPA_EUICC_DATA_REQUEST = 2,
    SGP32_GET_EIM_PACKAGE_RESPONSE_PROFILE_DOWNLOAD_TRIGGER_REQUEST = 3,
    SGP32_GET_EIM_PACKAGE_RESPONSE_EIM_PACKAGE_ERROR = 4,
};
typedef struct {
    int choice;
    union {
        sgp32_euicc_package_request euicc_package_request;
        sgp32_ipa_euicc_data_request ipa_euicc_data_request;
        sgp32_profile_download_trigger_request profile_download_trigger_request;
        int64_t eim_package_error;
    } u;
} sgp32_get_eim_package_response; /* BF4F */

typedef struct {
    bool has_eim_transaction_id;
    der_view eim_transaction_id;
    int64_t eim_package_result_error_code;
} sgp32_eim_package_result_response_error;

typedef struct {
    sgp32_euicc_package_result euicc_package_result;
    schema_list notification_list; /* of sgp32_pending_notification */
} sgp32_epr_and_notifications;

enum {
    SGP32_EIM_PACKAGE_RESULT_EUICC_PACKAGE_RESULT = 1,
    SGP32_EIM_PACKAGE_RESULT_EPR_AND_NOTIFICATIONS = 2,
    SGP32_EIM_PACKAGE_RESULT_IPA_EUICC_DATA_RESPONSE = 3,
    SGP32_EIM_PACKAGE_RESULT_PROFILE_DOWNLOAD_TRIGGER_RESULT = 4,
    SGP32_EIM_PACKAGE_RESULT_EIM_PACKAGE_RESULT_RESPONSE_ERROR = 5,
};
typedef struct {
    int choice;
    union {
        sgp32_euicc_package_result euicc_package_result;
        sgp32_epr_and_notifications epr_and_notifications;
        sgp32_ipa_euicc_data_response ipa_euicc_data_response;
        sgp32_profile_download_trigger_result profile_download_trigger_result;
        sgp32_eim_package_result_response_error eim_package_result_response_error;
    } u;
} sgp32_eim_package_result;

typedef struct {
    bool has_eid_value;
    der_view eid_value;
    sgp32_eim_package_result eim_package_result;
} sgp32_provide_eim_package_result; /* BF50 */

enum {
    SGP32_PROVIDE_EIM_PACKAGE_RESULT_RESPONSE_EIM_ACKNOWLEDGEMENTS = 1,
    SGP32_PROVIDE_EIM_PACKAGE_RESULT_RESPONSE_EMPTY_RESPONSE = 2,
    SGP32_PROVIDE_EIM_PACKAGE_RESULT_RESPONSE_PROVIDE_EIM_PACKAGE_RESULT_ERROR = 3,
};
typedef struct {
    int choice;
    union {
        sgp32_eim_acknowledgements eim_acknowledgements;
        sgp32_empty empty_response;
        int64_t provide_eim_package_result_error;
    } u;
} sgp32_provide_eim_package_result_response; /* BF50 */

enum {
    SGP32_HANDLE_NOTIFICATION_ESIPA_PENDING_NOTIFICATION = 1,
    SGP32_HANDLE_NOTIFICATION_ESIPA_PROVIDE_EIM_PACKAGE_RESULT = 2,
};
typedef struct {
    int choice;
    union {
        sgp32_pending_notification pending_notification;
        sgp32_provide_eim_package_result provide_eim_package_result;
    } u;
} sgp32_handle_notification_esipa; /* BF3D */

enum {
    SGP32_TRANSFER_EIM_PACKAGE_REQUEST_EUICC_PACKAGE_REQUEST = 1,
    SGP32_TRANSFER_EIM_PACKAGE_REQUEST_IPA_EUICC_DATA_REQUEST = 2,
    SGP32_TRANSFER_EIM_PACKAGE_REQUEST_EIM_ACKNOWLEDGEMENTS = 3,
    SGP32_TRANSFER_EIM_PACKAGE_REQUEST_PROFILE_DOWNLOAD_TRIGGER_REQUEST = 4,
};
typedef struct {
    int choice;
    union {
        sgp32_euicc_package_request euicc_package_request;
        sgp32_ipa_euicc_data_request ipa_euicc_data_request;
        sgp32_eim_acknowledgements eim_acknowledgements;
        sgp32_profile_download_trigger_request profile_download_trigger_request;
    } u;
} sgp32_transfer_eim_package_request; /* BF4E */

enum {
    SGP32_TRANSFER_EIM_PACKAGE_RESPONSE_EUICC_PACKAGE_RESULT = 1,
    SGP32_TRANSFER_EIM_PACKAGE_RESPONSE_EPR_AND_NOTIFICATIONS = 2,
    SGP32_TRANSFER_EIM_PACKAGE_RESPONSE_IPA_EUICC_DATA_RESPONSE = 3,
    SGP32_TRANSFER_EIM_PACKAGE_RESPONSE_EIM_PACKAGE_RECEIVED = 4,
    SGP32_TRANSFER_EIM_PACKAGE_RESPONSE_EIM_PACKAGE_ERROR = 5,
};
typedef struct {
    int choice;
    union {
        sgp32_euicc_package_result euicc_package_result;
        sgp32_epr_and_notifications epr_and_notifications;
        sgp32_ipa_euicc_data_response ipa_euicc_data_response;
        int64_t eim_package_error;
    } u;
} sgp32_transfer_eim_package_response; /* BF4E */

enum {
    SGP32_ESIPA_MESSAGE_FROM_IPA_TO_EIM_INITIATE_AUTHENTICATION_REQUEST_ESIPA = 1,
    SGP32_ESIPA_MESSAGE_FROM_IPA_TO_EIM_AUTHENTICATE_CLIENT_REQUEST_ESIPA = 2,
    SGP32_ESIPA_MESSAGE_FROM_IPA_TO_EIM_GET_BOUND_PROFILE_PACKAGE_REQUEST_ESIPA = 3,
    SGP32_ESIPA_MESSAGE_FROM_IPA_TO_EIM_CANCEL_SESSION_REQUEST_ESIPA = 4,
    SGP32_ESIPA_MESSAGE_FROM_IPA_TO_EIM_HANDLE_NOTIFICATION_ESIPA = 5,
    SGP32_ESIPA_MESSAGE_FROM_IPA_TO_EIM_TRANSFER_EIM_PACKAGE_RESPONSE = 6,
    SGP32_ESIPA_MESSAGE_FROM_IPA_TO_EIM_GET_EIM_PACKAGE_REQUEST = 7,
    SGP32_ESIPA_MESSAGE_FROM_IPA_TO_EIM_PROVIDE_EIM_PACKAGE_RESULT = 8,
};
typedef struct {
    int choice;
    union {
        sgp32_initiate_authentication_request_esipa initiate_authentication_request_esipa;
        sgp32_authenticate_client_request_esipa authenticate_client_request_esipa;
        sgp32_get_bound_profile_package_request_esipa get_bound_profile_package_request_esipa;
        sgp32_cancel_session_request_esipa cancel_session_request_esipa;
        sgp32_handle_notification_esipa handle_notification_esipa;
        sgp32_transfer_eim_package_response transfer_eim_package_response;
        sgp32_get_eim_package_request get_eim_package_request;
        sgp32_provide_eim_package_result provide_eim_package_result;
    } u;
} sgp32_esipa_message_from_ipa_to_eim;

enum {
    SGP32_ESIPA_MESSAGE_FROM_EIM_TO_IPA_INITIATE_AUTHENTICATION_RESPONSE_ESIPA = 1,
    SGP32_ESIPA_MESSAGE_FROM_EIM_TO_IPA_AUTHENTICATE_CLIENT_RESPONSE_ESIPA = 2,
    SGP32_ESIPA_MESSAGE_FROM_EIM_TO_IPA_GET_BOUND_PROFILE_PACKAGE_RESPONSE_ESIPA = 3,
    SGP32_ESIPA_MESSAGE_FROM_EIM_TO_IPA_CANCEL_SESSION_RESPONSE_ESIPA = 4,
    SGP32_ESIPA_MESSAGE_FROM_EIM_TO_IPA_TRANSFER_EIM_PACKAGE_REQUEST = 5,
    SGP32_ESIPA_MESSAGE_FROM_EIM_TO_IPA_GET_EIM_PACKAGE_RESPONSE = 6,
    SGP32_ESIPA_MESSAGE_FROM_EIM_TO_IPA_PROVIDE_EIM_PACKAGE_RESULT_RESPONSE = 7,
};
typedef struct {
    int choice;
    union {
        sgp32_initiate_authentication_response_esipa initiate_authentication_response_esipa;
        sgp32_authenticate_client_response_esipa authenticate_client_response_esipa;
        sgp32_get_bound_profile_package_response_esipa get_bound_profile_package_response_esipa;
        sgp32_cancel_session_response_esipa cancel_session_response_esipa;
        sgp32_transfer_eim_package_request transfer_eim_package_request;
        sgp32_get_eim_package_response get_eim_package_response;
        sgp32_provide_eim_package_result_response provide_eim_package_result_response;
    } u;
} sgp32_esipa_message_from_eim_to_ipa;

extern const schema_type sgp32_initiate_authentication_request_esipa_type;
extern const schema_type sgp32_initiate_authentication_ok_esipa_type;
extern const schema_type sgp32_initiate_authentication_response_esipa_type;
extern const schema_type sgp32_authenticate_client_request_esipa_type;
extern const schema_type sgp32_authenticate_client_ok_dp_esipa_type;
extern const schema_type sgp32_authenticate_client_ok_ds_esipa_type;
extern const schema_type sgp32_authenticate_client_response_esipa_type;
extern const schema_type sgp32_get_bound_profile_package_request_esipa_type;
extern const schema_type sgp32_get_bound_profile_package_ok_esipa_type;
extern const schema_type sgp32_get_bound_profile_package_response_esipa_type;
extern const schema_type sgp32_cancel_session_request_esipa_type;
extern const schema_type sgp32_cancel_session_response_esipa_type;
extern const schema_type sgp32_get_eim_package_request_type;
extern const schema_type sgp32_get_eim_package_response_type;
extern const schema_type sgp32_eim_package_result_response_error_type;
extern const schema_type sgp32_epr_and_notifications_type;
extern const schema_type sgp32_eim_package_result_type;
extern const schema_type sgp32_provide_eim_package_result_type;
extern const schema_type sgp32_provide_eim_package_result_response_type;
extern const schema_type sgp32_handle_notification_esipa_type;
extern const schema_type sgp32_transfer_eim_package_request_type;
extern const schema_type sgp32_transfer_eim_package_response_type;
extern const schema_type sgp32_esipa_message_from_ipa_to_eim_type;
extern const schema_type sgp32_esipa_message_from_eim_to_ipa_type;

/* ---- Catalogue ----------------------------------------------------------------------- */

/* Every top-level SGP.32 v1.2 message: ESipa messages and their two envelopes, eIM packages
 * and their results, ES10b requests and responses, and the SGP.32 forms of SGP.22 ES10b
 * responses. Indexed lookups by tag live in core/sgp32_version.h. */
extern const schema_type *const sgp32_messages[];
extern const size_t sgp32_message_count;

#endif
