/* SGP.22 v2.5 ES10a/ES10b/ES10c commands and responses (section 5.7), as the LPA/IPA sends
 * them to the ISD-R in STORE DATA. Tags follow RSPDefinitions with AUTOMATIC TAGS: a tagged
 * CHOICE is explicit, a single untagged component gets [0]. */
#include "core/sgp22.h"

#include <stddef.h>

/* ---- Result code names --------------------------------------------------------------- */

static const char *const enable_result_names[128] = {[0] = "ok",
                                                     [1] = "iccidOrAidNotFound",
                                                     [2] = "profileNotInDisabledState",
                                                     [3] = "disallowedByPolicy",
                                                     [4] = "wrongProfileReenabling",
                                                     [5] = "catBusy",
                                                     [127] = "undefinedError"};
static const schema_type enable_result_type =
    SCHEMA_NAMED_INTEGER_TYPE("enableResult", 0x02, 0, 0, enable_result_names);

static const char *const disable_result_names[128] = {[0] = "ok",
                                                      [1] = "iccidOrAidNotFound",
                                                      [2] = "profileNotInEnabledState",
                                                      [3] = "disallowedByPolicy",
                                                      [5] = "catBusy",
                                                      [127] = "undefinedError"};
static const schema_type disable_result_type =
    SCHEMA_NAMED_INTEGER_TYPE("disableResult", 0x02, 0, 0, disable_result_names);

static const char *const delete_result_names[128] = {[0] = "ok",
                                                     [1] = "iccidOrAidNotFound",
                                                     [2] = "profileNotInDisabledState",
                                                     [3] = "disallowedByPolicy",
                                                     [127] = "undefinedError"};
static const schema_type delete_result_type =
    SCHEMA_NAMED_INTEGER_TYPE("deleteResult", 0x02, 0, 0, delete_result_names);

static const char *const reset_result_names[128] = {
    [0] = "ok", [1] = "nothingToDelete", [5] = "catBusy", [127] = "undefinedError"};
static const schema_type reset_result_type =
    SCHEMA_NAMED_INTEGER_TYPE("resetResult", 0x02, 0, 0, reset_result_names);

static const char *const delete_notification_status_names[128] = {
    [0] = "ok", [1] = "nothingToDelete", [127] = "undefinedError"};
static const schema_type delete_notification_status_type = SCHEMA_NAMED_INTEGER_TYPE(
    "deleteNotificationStatus", 0x02, 0, 0, delete_notification_status_names);

static const char *const set_nickname_result_names[128] = {
    [0] = "ok", [1] = "iccidNotFound", [127] = "undefinedError"};
static const schema_type set_nickname_result_type =
    SCHEMA_NAMED_INTEGER_TYPE("setNicknameResult", 0x02, 0, 0, set_nickname_result_names);

static const char *const ok_or_undefined_names[128] = {[0] = "ok", [127] = "undefinedError"};
static const schema_type set_default_dp_address_result_type =
    SCHEMA_NAMED_INTEGER_TYPE("setDefaultDpAddressResult", 0x02, 0, 0, ok_or_undefined_names);

static const char *const undefined_error_names[128] = {[127] = "undefinedError"};
static const schema_type undefined_error_type =
    SCHEMA_NAMED_INTEGER_TYPE("INTEGER {undefinedError(127)}", 0x02, 0, 0, undefined_error_names);

static const char *const cancel_session_error_names[128] = {
    [5] = "invalidTransactionId", [127] = "undefinedError"};
static const schema_type cancel_session_error_type =
    SCHEMA_NAMED_INTEGER_TYPE("cancelSessionResponseError", 0x02, 0, 0, cancel_session_error_names);

static const char *const load_crl_error_names[128] = {
    [1] = "invalidSignature",        [2] = "invalidCRLFormat",        [3] = "notEnoughMemorySpace",
    [4] = "verificationKeyNotFound", [5] = "fresherCrlAlreadyLoaded", [6] = "baseCrlMissing",
    [127] = "undefinedError"};
const schema_type sgp22_load_crl_response_error_type =
    SCHEMA_NAMED_INTEGER_TYPE("LoadCRLResponseError", 0x02, 0, 0, load_crl_error_names);

static const char *const lpae_activation_result_names[] = {"ok", "notSupported"};
static const schema_type lpae_activation_result_type =
    SCHEMA_NAMED_INTEGER_TYPE("lpaeActivationResult", 0x02, 0, 0, lpae_activation_result_names);

static const char *const reset_options_names[] = {
    "deleteOperationalProfiles", "deleteFieldLoadedTestProfiles", "resetDefaultSmdpAddress"};
static const schema_type reset_options_type =
    SCHEMA_BITS_TYPE("resetOptions", 0x03, reset_options_names);

static const char *const ppr_flags_names[] = {"consentRequired"};
static const schema_type ppr_flags_type = SCHEMA_BITS_TYPE("pprFlags", 0x03, ppr_flags_names);

static const char *const lpae_support_names[] = {"lpaeUsingCat", "lpaeUsingScws"};
static const schema_type lpae_support_type =
    SCHEMA_BITS_TYPE("lpaeSupport", 0x03, lpae_support_names);

static const char *const lpae_option_names[] = {"activateCatBasedLpae", "activateScwsBasedLpae"};
static const schema_type lpae_option_type = SCHEMA_BITS_TYPE("lpaeOption", 0x03, lpae_option_names);

/* ---- Empty requests ------------------------------------------------------------------ */

/* SGP.22 v2.5 section 5.7.8 */
const schema_type sgp22_get_euicc_info1_request_type =
    SGP22_EMPTY_SEQUENCE_TYPE("GetEuiccInfo1Request", 0xBF20);
/* SGP.22 v2.5 section 5.7.8 */
const schema_type sgp22_get_euicc_info2_request_type =
    SGP22_EMPTY_SEQUENCE_TYPE("GetEuiccInfo2Request", 0xBF22);
/* SGP.22 v2.5 section 5.7.7 */
const schema_type sgp22_get_euicc_challenge_request_type =
    SGP22_EMPTY_SEQUENCE_TYPE("GetEuiccChallengeRequest", 0xBF2E);
/* SGP.22 v2.5 section 5.7.3 */
const schema_type sgp22_euicc_configured_addresses_request_type =
    SGP22_EMPTY_SEQUENCE_TYPE("EuiccConfiguredAddressesRequest", 0xBF3C);
/* SGP.22 v2.5 section 5.7.22 */
const schema_type sgp22_get_rat_request_type = SGP22_EMPTY_SEQUENCE_TYPE("GetRatRequest", 0xBF43);

/* ---- ES10a --------------------------------------------------------------------------- */

/* SGP.22 v2.5 section 5.7.3: EuiccConfiguredAddressesResponse (automatic tags) */
static const schema_field euicc_configured_addresses_response_fields[] = {
    SCHEMA_OPT_NAMED("defaultDpAddress", sgp22_euicc_configured_addresses_response,
                     default_dp_address, 0x80, schema_utf8),
    SCHEMA_FIELD_NAMED("rootDsAddress", sgp22_euicc_configured_addresses_response, root_ds_address,
                       0x81, schema_utf8),
};
const schema_type sgp22_euicc_configured_addresses_response_type = SCHEMA_SEQUENCE_TYPE(
    "EuiccConfiguredAddressesResponse", 0xBF3C, sgp22_euicc_configured_addresses_response,
    euicc_configured_addresses_response_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.7.4: SetDefaultDpAddressRequest */
static const schema_field set_default_dp_address_request_fields[] = {
    SCHEMA_FIELD_NAMED("defaultDpAddress", sgp22_set_default_dp_address_request, default_dp_address,
                       0x80, schema_utf8),
};
const schema_type sgp22_set_default_dp_address_request_type =
    SCHEMA_SEQUENCE_TYPE("SetDefaultDpAddressRequest", 0xBF3F, sgp22_set_default_dp_address_request,
                         set_default_dp_address_request_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.7.4: SetDefaultDpAddressResponse */
static const schema_field set_default_dp_address_response_fields[] = {
    SCHEMA_FIELD_NAMED("setDefaultDpAddressResult", sgp22_set_default_dp_address_response,
                       set_default_dp_address_result, 0x80, set_default_dp_address_result_type),
};
const schema_type sgp22_set_default_dp_address_response_type = SCHEMA_SEQUENCE_TYPE(
    "SetDefaultDpAddressResponse", 0xBF3F, sgp22_set_default_dp_address_response,
    set_default_dp_address_response_fields, SCHEMA_EXTENSIBLE);

/* ---- ES10b: download --------------------------------------------------------------- */

/* SGP.22 v2.5 section 5.7.7: GetEuiccChallengeResponse */
static const schema_field get_euicc_challenge_response_fields[] = {
    SCHEMA_FIELD_NAMED("euiccChallenge", sgp22_get_euicc_challenge_response, euicc_challenge, 0x80,
                       sgp22_octet16_type),
};
const schema_type sgp22_get_euicc_challenge_response_type =
    SCHEMA_SEQUENCE_TYPE("GetEuiccChallengeResponse", 0xBF2E, sgp22_get_euicc_challenge_response,
                         get_euicc_challenge_response_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.7.5: PrepareDownloadRequest */
static const schema_field prepare_download_request_fields[] = {
    SCHEMA_FIELD_NAMED("smdpSigned2", sgp22_prepare_download_request, smdp_signed2, 0,
                       sgp22_smdp_signed2_type),
    SCHEMA_FIELD_NAMED("smdpSignature2", sgp22_prepare_download_request, smdp_signature2, 0,
                       sgp22_signature_type),
    SCHEMA_OPT_NAMED("hashCc", sgp22_prepare_download_request, hash_cc, 0, sgp22_octet32_type),
    SCHEMA_FIELD_NAMED("smdpCertificate", sgp22_prepare_download_request, smdp_certificate, 0,
                       sgp22_certificate_type),
};
const schema_type sgp22_prepare_download_request_type =
    SCHEMA_SEQUENCE_TYPE("PrepareDownloadRequest", 0xBF21, sgp22_prepare_download_request,
                         prepare_download_request_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.7.5: PrepareDownloadResponseOk */
static const schema_field prepare_download_response_ok_fields[] = {
    SCHEMA_FIELD_NAMED("euiccSigned2", sgp22_prepare_download_response_ok, euicc_signed2, 0,
                       sgp22_euicc_signed2_type),
    SCHEMA_FIELD_NAMED("euiccSignature2", sgp22_prepare_download_response_ok, euicc_signature2, 0,
                       sgp22_signature_type),
};
const schema_type sgp22_prepare_download_response_ok_type =
    SCHEMA_SEQUENCE_TYPE("PrepareDownloadResponseOk", 0x30, sgp22_prepare_download_response_ok,
                         prepare_download_response_ok_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.7.5: PrepareDownloadResponseError */
static const schema_field prepare_download_response_error_fields[] = {
    SCHEMA_FIELD_NAMED("transactionId", sgp22_prepare_download_response_error, transaction_id, 0x80,
                       sgp22_transaction_id_type),
    SCHEMA_FIELD_NAMED("downloadErrorCode", sgp22_prepare_download_response_error,
                       download_error_code, 0, sgp22_download_error_code_type),
};
const schema_type sgp22_prepare_download_response_error_type = SCHEMA_SEQUENCE_TYPE(
    "PrepareDownloadResponseError", 0x30, sgp22_prepare_download_response_error,
    prepare_download_response_error_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.7.5: PrepareDownloadResponse */
static const schema_field prepare_download_response_alternatives[] = {
    SCHEMA_ALT(sgp22_prepare_download_response, download_response_ok, 0xA0,
               sgp22_prepare_download_response_ok_type),
    SCHEMA_ALT(sgp22_prepare_download_response, download_response_error, 0xA1,
               sgp22_prepare_download_response_error_type),
};
const schema_type sgp22_prepare_download_response_type =
    SCHEMA_CHOICE_TYPE("PrepareDownloadResponse", 0xBF21, sgp22_prepare_download_response,
                       prepare_download_response_alternatives, 0);

/* SGP.22 v2.5 section 5.7.13: AuthenticateServerRequest */
static const schema_field authenticate_server_request_fields[] = {
    SCHEMA_FIELD_NAMED("serverSigned1", sgp22_authenticate_server_request, server_signed1, 0,
                       sgp22_server_signed1_type),
    SCHEMA_FIELD_NAMED("serverSignature1", sgp22_authenticate_server_request, server_signature1, 0,
                       sgp22_signature_type),
    SCHEMA_FIELD_NAMED("euiccCiPKIdToBeUsed", sgp22_authenticate_server_request,
                       euicc_ci_pkid_to_be_used, 0, sgp22_subject_key_identifier_type),
    SCHEMA_FIELD_NAMED("serverCertificate", sgp22_authenticate_server_request, server_certificate,
                       0, sgp22_certificate_type),
    SCHEMA_FIELD_NAMED("ctxParams1", sgp22_authenticate_server_request, ctx_params1, 0,
                       sgp22_ctx_params1_type),
};
const schema_type sgp22_authenticate_server_request_type =
    SCHEMA_SEQUENCE_TYPE("AuthenticateServerRequest", 0xBF38, sgp22_authenticate_server_request,
                         authenticate_server_request_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.7.13: AuthenticateResponseOk */
static const schema_field authenticate_response_ok_fields[] = {
    SCHEMA_FIELD_NAMED("euiccSigned1", sgp22_authenticate_response_ok, euicc_signed1, 0,
                       sgp22_euicc_signed1_type),
    SCHEMA_FIELD_NAMED("euiccSignature1", sgp22_authenticate_response_ok, euicc_signature1, 0,
                       sgp22_signature_type),
    SCHEMA_FIELD_NAMED("euiccCertificate", sgp22_authenticate_response_ok, euicc_certificate, 0,
                       sgp22_certificate_type),
    SCHEMA_FIELD_NAMED("eumCertificate", sgp22_authenticate_response_ok, eum_certificate, 0,
                       sgp22_certificate_type),
};
const schema_type sgp22_authenticate_response_ok_type =
    SCHEMA_SEQUENCE_TYPE("AuthenticateResponseOk", 0x30, sgp22_authenticate_response_ok,
                         authenticate_response_ok_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.7.13: AuthenticateResponseError */
static const schema_field authenticate_response_error_fields[] = {
    SCHEMA_FIELD_NAMED("transactionId", sgp22_authenticate_response_error, transaction_id, 0x80,
                       sgp22_transaction_id_type),
    SCHEMA_FIELD_NAMED("authenticateErrorCode", sgp22_authenticate_response_error,
                       authenticate_error_code, 0, sgp22_authenticate_error_code_type),
};
const schema_type sgp22_authenticate_response_error_type =
    SCHEMA_SEQUENCE_TYPE("AuthenticateResponseError", 0x30, sgp22_authenticate_response_error,
                         authenticate_response_error_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.7.13: AuthenticateServerResponse */
static const schema_field authenticate_server_response_alternatives[] = {
    SCHEMA_ALT(sgp22_authenticate_server_response, authenticate_response_ok, 0xA0,
               sgp22_authenticate_response_ok_type),
    SCHEMA_ALT(sgp22_authenticate_server_response, authenticate_response_error, 0xA1,
               sgp22_authenticate_response_error_type),
};
const schema_type sgp22_authenticate_server_response_type =
    SCHEMA_CHOICE_TYPE("AuthenticateServerResponse", 0xBF38, sgp22_authenticate_server_response,
                       authenticate_server_response_alternatives, 0);

/* SGP.22 v2.5 section 5.7.14: CancelSessionRequest (automatic tags) */
static const schema_field cancel_session_request_fields[] = {
    SCHEMA_FIELD_NAMED("transactionId", sgp22_cancel_session_request, transaction_id, 0x80,
                       sgp22_transaction_id_type),
    SCHEMA_FIELD(sgp22_cancel_session_request, reason, 0x81, sgp22_cancel_session_reason_type),
};
const schema_type sgp22_cancel_session_request_type =
    SCHEMA_SEQUENCE_TYPE("CancelSessionRequest", 0xBF41, sgp22_cancel_session_request,
                         cancel_session_request_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.7.14: CancelSessionResponseOk */
static const schema_field cancel_session_response_ok_fields[] = {
    SCHEMA_FIELD_NAMED("euiccCancelSessionSigned", sgp22_cancel_session_response_ok,
                       euicc_cancel_session_signed, 0, sgp22_euicc_cancel_session_signed_type),
    SCHEMA_FIELD_NAMED("euiccCancelSessionSignature", sgp22_cancel_session_response_ok,
                       euicc_cancel_session_signature, 0, sgp22_signature_type),
};
const schema_type sgp22_cancel_session_response_ok_type =
    SCHEMA_SEQUENCE_TYPE("CancelSessionResponseOk", 0x30, sgp22_cancel_session_response_ok,
                         cancel_session_response_ok_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.7.14: CancelSessionResponse */
static const schema_field cancel_session_response_alternatives[] = {
    SCHEMA_ALT(sgp22_cancel_session_response, cancel_session_response_ok, 0xA0,
               sgp22_cancel_session_response_ok_type),
    SCHEMA_ALT(sgp22_cancel_session_response, cancel_session_response_error, 0x81,
               cancel_session_error_type),
};
const schema_type sgp22_cancel_session_response_type =
    SCHEMA_CHOICE_TYPE("CancelSessionResponse", 0xBF41, sgp22_cancel_session_response,
                       cancel_session_response_alternatives, 0);

/* SGP.22 v2.5 section 5.7.12: LoadCRLRequest; the lone component is automatically [0] */
static const schema_field load_crl_request_fields[] = {
    SCHEMA_FIELD(sgp22_load_crl_request, crl, 0xA0, sgp22_certificate_list_type),
};
const schema_type sgp22_load_crl_request_type = SCHEMA_SEQUENCE_TYPE(
    "LoadCRLRequest", 0xBF35, sgp22_load_crl_request, load_crl_request_fields, SCHEMA_EXTENSIBLE);

static const schema_type missing_parts_type =
    SCHEMA_SEQUENCE_OF_TYPE("SEQUENCE OF INTEGER", 0x30, schema_integer, 0, 0);

/* SGP.22 v2.5 section 5.7.12: LoadCRLResponseOk */
static const schema_field load_crl_response_ok_fields[] = {
    SCHEMA_OPT_NAMED("missingParts", sgp22_load_crl_response_ok, missing_parts, 0xA0,
                     missing_parts_type),
};
const schema_type sgp22_load_crl_response_ok_type =
    SCHEMA_SEQUENCE_TYPE("LoadCRLResponseOk", 0x30, sgp22_load_crl_response_ok,
                         load_crl_response_ok_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.7.12: LoadCRLResponse */
static const schema_field load_crl_response_alternatives[] = {
    SCHEMA_ALT(sgp22_load_crl_response, load_crl_response_ok, 0xA0,
               sgp22_load_crl_response_ok_type),
    SCHEMA_ALT(sgp22_load_crl_response, load_crl_response_error, 0x81,
               sgp22_load_crl_response_error_type),
};
const schema_type sgp22_load_crl_response_type = SCHEMA_CHOICE_TYPE(
    "LoadCRLResponse", 0xBF35, sgp22_load_crl_response, load_crl_response_alternatives, 0);

/* ---- ES10b: notifications and RAT -------------------------------------------------- */

/* SGP.22 v2.5 section 5.7.9: ListNotificationRequest */
static const schema_field list_notification_request_fields[] = {
    SCHEMA_OPT_NAMED("profileManagementOperation", sgp22_list_notification_request,
                     profile_management_operation, 0x81, sgp22_notification_event_type),
};
const schema_type sgp22_list_notification_request_type =
    SCHEMA_SEQUENCE_TYPE("ListNotificationRequest", 0xBF28, sgp22_list_notification_request,
                         list_notification_request_fields, SCHEMA_EXTENSIBLE);

static const schema_type notification_metadata_list_type = SCHEMA_SEQUENCE_OF_TYPE(
    "SEQUENCE OF NotificationMetadata", 0x30, sgp22_notification_metadata_type, 0, 0);

/* SGP.22 v2.5 section 5.7.9: ListNotificationResponse */
static const schema_field list_notification_response_alternatives[] = {
    SCHEMA_ALT(sgp22_list_notification_response, notification_metadata_list, 0xA0,
               notification_metadata_list_type),
    SCHEMA_ALT(sgp22_list_notification_response, list_notifications_result_error, 0x81,
               undefined_error_type),
};
const schema_type sgp22_list_notification_response_type =
    SCHEMA_CHOICE_TYPE("ListNotificationResponse", 0xBF28, sgp22_list_notification_response,
                       list_notification_response_alternatives, 0);

/* SGP.22 v2.5 section 5.7.10: RetrieveNotificationsListRequest.searchCriteria */
static const schema_field notification_search_criteria_alternatives[] = {
    SCHEMA_ALT(sgp22_notification_search_criteria, seq_number, 0x80, schema_integer),
    SCHEMA_ALT(sgp22_notification_search_criteria, profile_management_operation, 0x81,
               sgp22_notification_event_type),
};
const schema_type sgp22_notification_search_criteria_type =
    SCHEMA_CHOICE_TYPE("searchCriteria", 0, sgp22_notification_search_criteria,
                       notification_search_criteria_alternatives, 0);

/* SGP.22 v2.5 section 5.7.10: RetrieveNotificationsListRequest; the lone untagged CHOICE
 * component is automatically (and, being a CHOICE, explicitly) tagged [0] */
static const schema_field retrieve_notifications_list_request_fields[] = {
    SCHEMA_OPT_NAMED("searchCriteria", sgp22_retrieve_notifications_list_request, search_criteria,
                     0xA0, sgp22_notification_search_criteria_type),
};
const schema_type sgp22_retrieve_notifications_list_request_type = SCHEMA_SEQUENCE_TYPE(
    "RetrieveNotificationsListRequest", 0xBF2B, sgp22_retrieve_notifications_list_request,
    retrieve_notifications_list_request_fields, SCHEMA_EXTENSIBLE);

static const schema_type pending_notification_list_type = SCHEMA_SEQUENCE_OF_TYPE(
    "SEQUENCE OF PendingNotification", 0x30, sgp22_pending_notification_type, 0, 0);

/* SGP.22 v2.5 section 5.7.10: RetrieveNotificationsListResponse */
static const schema_field retrieve_notifications_list_response_alternatives[] = {
    SCHEMA_ALT(sgp22_retrieve_notifications_list_response, notification_list, 0xA0,
               pending_notification_list_type),
    SCHEMA_ALT(sgp22_retrieve_notifications_list_response, notifications_list_result_error, 0x81,
               undefined_error_type),
};
const schema_type sgp22_retrieve_notifications_list_response_type = SCHEMA_CHOICE_TYPE(
    "RetrieveNotificationsListResponse", 0xBF2B, sgp22_retrieve_notifications_list_response,
    retrieve_notifications_list_response_alternatives, 0);

/* SGP.22 v2.5 section 5.7.11: NotificationSentRequest */
static const schema_field notification_sent_request_fields[] = {
    SCHEMA_FIELD_NAMED("seqNumber", sgp22_notification_sent_request, seq_number, 0x80,
                       schema_integer),
};
const schema_type sgp22_notification_sent_request_type =
    SCHEMA_SEQUENCE_TYPE("NotificationSentRequest", 0xBF30, sgp22_notification_sent_request,
                         notification_sent_request_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.7.11: NotificationSentResponse */
static const schema_field notification_sent_response_fields[] = {
    SCHEMA_FIELD_NAMED("deleteNotificationStatus", sgp22_notification_sent_response,
                       delete_notification_status, 0x80, delete_notification_status_type),
};
const schema_type sgp22_notification_sent_response_type =
    SCHEMA_SEQUENCE_TYPE("NotificationSentResponse", 0xBF30, sgp22_notification_sent_response,
                         notification_sent_response_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 2.9.2.2: ProfilePolicyAuthorisationRule (automatic tags) */
static const schema_type operator_id_list_type =
    SCHEMA_SEQUENCE_OF_TYPE("SEQUENCE OF OperatorId", 0x30, sgp22_operator_id_type, 0, 0);
static const schema_field profile_policy_authorisation_rule_fields[] = {
    SCHEMA_FIELD_NAMED("pprIds", sgp22_profile_policy_authorisation_rule, ppr_ids, 0x80,
                       sgp22_ppr_ids_type),
    SCHEMA_FIELD_NAMED("allowedOperators", sgp22_profile_policy_authorisation_rule,
                       allowed_operators, 0xA1, operator_id_list_type),
    SCHEMA_FIELD_NAMED("pprFlags", sgp22_profile_policy_authorisation_rule, ppr_flags, 0x82,
                       ppr_flags_type),
};
const schema_type sgp22_profile_policy_authorisation_rule_type = SCHEMA_SEQUENCE_TYPE(
    "ProfilePolicyAuthorisationRule", 0x30, sgp22_profile_policy_authorisation_rule,
    profile_policy_authorisation_rule_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 2.9.2.2: RulesAuthorisationTable */
const schema_type sgp22_rules_authorisation_table_type = SCHEMA_SEQUENCE_OF_TYPE(
    "RulesAuthorisationTable", 0x30, sgp22_profile_policy_authorisation_rule_type, 0, 0);

/* SGP.22 v2.5 section 5.7.22: GetRatResponse */
static const schema_field get_rat_response_fields[] = {
    SCHEMA_FIELD(sgp22_get_rat_response, rat, 0xA0, sgp22_rules_authorisation_table_type),
};
const schema_type sgp22_get_rat_response_type = SCHEMA_SEQUENCE_TYPE(
    "GetRatResponse", 0xBF43, sgp22_get_rat_response, get_rat_response_fields, SCHEMA_EXTENSIBLE);

/* ---- ES10c: local profile management ---------------------------------------------- */

/* SGP.22 v2.5 section 5.7.15: ProfileInfoListRequest.searchCriteria */
static const schema_field profile_info_list_search_criteria_alternatives[] = {
    SCHEMA_ALT(sgp22_profile_info_list_search_criteria, isdp_aid, 0x4F, sgp22_octet_to16_type),
    SCHEMA_ALT(sgp22_profile_info_list_search_criteria, iccid, 0, sgp22_iccid_type),
    SCHEMA_ALT(sgp22_profile_info_list_search_criteria, profile_class, 0x95,
               sgp22_profile_class_type),
};
const schema_type sgp22_profile_info_list_search_criteria_type =
    SCHEMA_CHOICE_TYPE("searchCriteria", 0, sgp22_profile_info_list_search_criteria,
                       profile_info_list_search_criteria_alternatives, 0);

/* SGP.22 v2.5 section 5.7.15: ProfileInfoListRequest */
static const schema_field profile_info_list_request_fields[] = {
    SCHEMA_OPT_NAMED("searchCriteria", sgp22_profile_info_list_request, search_criteria, 0xA0,
                     sgp22_profile_info_list_search_criteria_type),
    SCHEMA_OPT_NAMED("tagList", sgp22_profile_info_list_request, tag_list, 0x5C, schema_octets),
};
const schema_type sgp22_profile_info_list_request_type =
    SCHEMA_SEQUENCE_TYPE("ProfileInfoListRequest", 0xBF2D, sgp22_profile_info_list_request,
                         profile_info_list_request_fields, SCHEMA_EXTENSIBLE);

static const schema_type profile_info_list_type =
    SCHEMA_SEQUENCE_OF_TYPE("SEQUENCE OF ProfileInfo", 0x30, sgp22_profile_info_type, 0, 0);

/* SGP.22 v2.5 section 5.7.15: ProfileInfoListResponse */
static const schema_field profile_info_list_response_alternatives[] = {
    SCHEMA_ALT(sgp22_profile_info_list_response, profile_info_list_ok, 0xA0,
               profile_info_list_type),
    SCHEMA_ALT(sgp22_profile_info_list_response, profile_info_list_error, 0x81,
               sgp22_profile_info_list_error_type),
};
const schema_type sgp22_profile_info_list_response_type =
    SCHEMA_CHOICE_TYPE("ProfileInfoListResponse", 0xBF2D, sgp22_profile_info_list_response,
                       profile_info_list_response_alternatives, 0);

/* SGP.22 v2.5 sections 5.7.16/5.7.17: profileIdentifier */
static const schema_field profile_identifier_alternatives[] = {
    SCHEMA_ALT(sgp22_profile_identifier, isdp_aid, 0x4F, sgp22_octet_to16_type),
    SCHEMA_ALT(sgp22_profile_identifier, iccid, 0, sgp22_iccid_type),
};
const schema_type sgp22_profile_identifier_type = SCHEMA_CHOICE_TYPE(
    "profileIdentifier", 0, sgp22_profile_identifier, profile_identifier_alternatives, 0);

/* SGP.22 v2.5 section 5.7.16: EnableProfileRequest (automatic tags) */
static const schema_field enable_profile_request_fields[] = {
    SCHEMA_FIELD_NAMED("profileIdentifier", sgp22_enable_profile_request, profile_identifier, 0xA0,
                       sgp22_profile_identifier_type),
    SCHEMA_FIELD_NAMED("refreshFlag", sgp22_enable_profile_request, refresh_flag, 0x81,
                       schema_boolean),
};
const schema_type sgp22_enable_profile_request_type =
    SCHEMA_SEQUENCE_TYPE("EnableProfileRequest", 0xBF31, sgp22_enable_profile_request,
                         enable_profile_request_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.7.16: EnableProfileResponse */
static const schema_field enable_profile_response_fields[] = {
    SCHEMA_FIELD_NAMED("enableResult", sgp22_enable_profile_response, enable_result, 0x80,
                       enable_result_type),
};
const schema_type sgp22_enable_profile_response_type =
    SCHEMA_SEQUENCE_TYPE("EnableProfileResponse", 0xBF31, sgp22_enable_profile_response,
                         enable_profile_response_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.7.17: DisableProfileRequest (automatic tags) */
static const schema_field disable_profile_request_fields[] = {
    SCHEMA_FIELD_NAMED("profileIdentifier", sgp22_disable_profile_request, profile_identifier, 0xA0,
                       sgp22_profile_identifier_type),
    SCHEMA_FIELD_NAMED("refreshFlag", sgp22_disable_profile_request, refresh_flag, 0x81,
                       schema_boolean),
};
const schema_type sgp22_disable_profile_request_type =
    SCHEMA_SEQUENCE_TYPE("DisableProfileRequest", 0xBF32, sgp22_disable_profile_request,
                         disable_profile_request_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.7.17: DisableProfileResponse */
static const schema_field disable_profile_response_fields[] = {
    SCHEMA_FIELD_NAMED("disableResult", sgp22_disable_profile_response, disable_result, 0x80,
                       disable_result_type),
};
const schema_type sgp22_disable_profile_response_type =
    SCHEMA_SEQUENCE_TYPE("DisableProfileResponse", 0xBF32, sgp22_disable_profile_response,
                         disable_profile_response_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.7.18: DeleteProfileRequest, a tagged (so explicit) CHOICE */
static const schema_field delete_profile_request_alternatives[] = {
    SCHEMA_ALT(sgp22_delete_profile_request, isdp_aid, 0x4F, sgp22_octet_to16_type),
    SCHEMA_ALT(sgp22_delete_profile_request, iccid, 0, sgp22_iccid_type),
};
const schema_type sgp22_delete_profile_request_type =
    SCHEMA_CHOICE_TYPE("DeleteProfileRequest", 0xBF33, sgp22_delete_profile_request,
                       delete_profile_request_alternatives, 0);

/* SGP.22 v2.5 section 5.7.18: DeleteProfileResponse */
static const schema_field delete_profile_response_fields[] = {
    SCHEMA_FIELD_NAMED("deleteResult", sgp22_delete_profile_response, delete_result, 0x80,
                       delete_result_type),
};
const schema_type sgp22_delete_profile_response_type =
    SCHEMA_SEQUENCE_TYPE("DeleteProfileResponse", 0xBF33, sgp22_delete_profile_response,
                         delete_profile_response_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.7.19: EuiccMemoryResetRequest */
static const schema_field euicc_memory_reset_request_fields[] = {
    SCHEMA_FIELD_NAMED("resetOptions", sgp22_euicc_memory_reset_request, reset_options, 0x82,
                       reset_options_type),
};
const schema_type sgp22_euicc_memory_reset_request_type =
    SCHEMA_SEQUENCE_TYPE("EuiccMemoryResetRequest", 0xBF34, sgp22_euicc_memory_reset_request,
                         euicc_memory_reset_request_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.7.19: EuiccMemoryResetResponse */
static const schema_field euicc_memory_reset_response_fields[] = {
    SCHEMA_FIELD_NAMED("resetResult", sgp22_euicc_memory_reset_response, reset_result, 0x80,
                       reset_result_type),
};
const schema_type sgp22_euicc_memory_reset_response_type =
    SCHEMA_SEQUENCE_TYPE("EuiccMemoryResetResponse", 0xBF34, sgp22_euicc_memory_reset_response,
                         euicc_memory_reset_response_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.7.20: GetEuiccDataRequest */
static const schema_field get_euicc_data_request_fields[] = {
    SCHEMA_FIELD_NAMED("tagList", sgp22_get_euicc_data_request, tag_list, 0x5C, sgp22_octet1_type),
};
const schema_type sgp22_get_euicc_data_request_type =
    SCHEMA_SEQUENCE_TYPE("GetEuiccDataRequest", 0xBF3E, sgp22_get_euicc_data_request,
                         get_euicc_data_request_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.7.20: GetEuiccDataResponse */
static const schema_field get_euicc_data_response_fields[] = {
    SCHEMA_FIELD_NAMED("eidValue", sgp22_get_euicc_data_response, eid_value, 0x5A,
                       sgp22_octet16_type),
};
const schema_type sgp22_get_euicc_data_response_type =
    SCHEMA_SEQUENCE_TYPE("GetEuiccDataResponse", 0xBF3E, sgp22_get_euicc_data_response,
                         get_euicc_data_response_fields, SCHEMA_EXTENSIBLE);

static const schema_type nickname_type = SCHEMA_UTF8_TYPE("UTF8String (SIZE(0..64))", 0x0C, 0, 64);

/* SGP.22 v2.5 section 5.7.21: SetNicknameRequest */
static const schema_field set_nickname_request_fields[] = {
    SCHEMA_FIELD(sgp22_set_nickname_request, iccid, 0, sgp22_iccid_type),
    SCHEMA_FIELD_NAMED("profileNickname", sgp22_set_nickname_request, profile_nickname, 0x90,
                       nickname_type),
};
const schema_type sgp22_set_nickname_request_type =
    SCHEMA_SEQUENCE_TYPE("SetNicknameRequest", 0xBF29, sgp22_set_nickname_request,
                         set_nickname_request_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.7.21: SetNicknameResponse */
static const schema_field set_nickname_response_fields[] = {
    SCHEMA_FIELD_NAMED("setNicknameResult", sgp22_set_nickname_response, set_nickname_result, 0x80,
                       set_nickname_result_type),
};
const schema_type sgp22_set_nickname_response_type =
    SCHEMA_SEQUENCE_TYPE("SetNicknameResponse", 0xBF29, sgp22_set_nickname_response,
                         set_nickname_response_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 2.2.3 (ISD-R SELECT response): ISDRProprietaryApplicationTemplate */
static const schema_field isdr_proprietary_application_template_fields[] = {
    SCHEMA_FIELD(sgp22_isdr_proprietary_application_template, svn, 0x82, sgp22_version_type_type),
    SCHEMA_OPT_NAMED("lpaeSupport", sgp22_isdr_proprietary_application_template, lpae_support, 0,
                     lpae_support_type),
};
const schema_type sgp22_isdr_proprietary_application_template_type = SCHEMA_SEQUENCE_TYPE(
    "ISDRProprietaryApplicationTemplate", 0xE0, sgp22_isdr_proprietary_application_template,
    isdr_proprietary_application_template_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.7.23: LpaeActivationRequest */
static const schema_field lpae_activation_request_fields[] = {
    SCHEMA_FIELD_NAMED("lpaeOption", sgp22_lpae_activation_request, lpae_option, 0x80,
                       lpae_option_type),
};
const schema_type sgp22_lpae_activation_request_type =
    SCHEMA_SEQUENCE_TYPE("LpaeActivationRequest", 0xBF42, sgp22_lpae_activation_request,
                         lpae_activation_request_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.7.23: LpaeActivationResponse */
static const schema_field lpae_activation_response_fields[] = {
    SCHEMA_FIELD_NAMED("lpaeActivationResult", sgp22_lpae_activation_response,
                       lpae_activation_result, 0x80, lpae_activation_result_type),
};
const schema_type sgp22_lpae_activation_response_type =
    SCHEMA_SEQUENCE_TYPE("LpaeActivationResponse", 0xBF42, sgp22_lpae_activation_response,
                         lpae_activation_response_fields, SCHEMA_EXTENSIBLE);
