/* SGP.32 v1.2 ESipa ASN.1 binding (section 6.3): the two message envelopes
 * EsipaMessageFromIpaToEim / EsipaMessageFromEimToIpa and every function they carry, for the
 * indirect profile download (relayed ES9+) and the eIM package transfer. Tagging rules as in
 * core/sgp32_euicc_package.c. */
#include "core/sgp32.h"
#include "core/sgp32_tables.h"

/* ---- Error codes --------------------------------------------------------------------- */

SGP32_NAMED_INTEGER(
    sgp32_initiate_authentication_error_esipa_type,
    "initiateAuthenticationErrorEsipa", [1] = "invalidDpAddress",
    [2] = "euiccVersionNotSupportedByDp", [3] = "ciPKIdNotSupported", [50] = "smdpAddressMismatch",
    [51] = "smdpOidMismatch", [52] = "invalidEimTransactionId", [127] = "undefinedError");
SGP32_NAMED_INTEGER(
    sgp32_authenticate_client_error_esipa_type,
    "authenticateClientErrorEsipa", [1] = "eumCertificateInvalid", [2] = "eumCertificateExpired",
    [3] = "euiccCertificateInvalid", [4] = "euiccCertificateExpired", [5] = "euiccSignatureInvalid",
    [6] = "matchingIdRefused", [7] = "eidMismatch", [8] = "noEligibleProfile", [9] = "ciPKUnknown",
    [10] = "invalidTransactionId", [11] = "insufficientMemory", [50] = "pprNotAllowed",
    [56] = "eventIdUnknown", [127] = "undefinedError");
SGP32_NAMED_INTEGER(sgp32_get_bound_profile_package_error_esipa_type,
                    "getBoundProfilePackageErrorEsipa", [1] = "euiccSignatureInvalid",
                    [2] = "confirmationCodeMissing", [3] = "confirmationCodeRefused",
                    [4] = "confirmationCodeRetriesExceeded", [5] = "bppRebindingRefused",
                    [6] = "downloadOrderExpired", [50] = "metadataMismatch",
                    [95] = "invalidTransactionId", [127] = "undefinedError");
SGP32_NAMED_INTEGER(sgp32_cancel_session_error_esipa_type,
                    "cancelSessionError", [1] = "invalidTransactionId",
                    [2] = "euiccSignatureInvalid", [127] = "undefinedError");
SGP32_NAMED_INTEGER(
    sgp32_state_change_cause_type,
    "StateChangeCause", [0] = "otherEim", [1] = "fallback", [2] = "emergencyProfile", [3] = "local",
    [4] = "reset", [5] = "immediateEnableProfile", [6] = "deviceChange", [127] = "undefined");
SGP32_NAMED_INTEGER(sgp32_eim_package_error_type,
                    "eimPackageError", [1] = "noEimPackageAvailable", [2] = "eidNotFound",
                    [3] = "invalidEid", [4] = "missingEid", [127] = "undefinedError");
SGP32_NAMED_INTEGER(sgp32_eim_package_result_error_code_type, "EimPackageResultErrorCode",
                    [1] = "invalidPackageFormat", [2] = "unknownPackage", [127] = "undefinedError");
SGP32_NAMED_INTEGER(sgp32_provide_eim_package_result_error_type,
                    "provideEimPackageResultError", [2] = "eidNotFound", [3] = "invalidEid",
                    [4] = "missingEid", [127] = "undefinedError");

/* ---- InitiateAuthentication (SGP.32 v1.2 section 6.3.2.1) ---------------------------- */

static const schema_field initiate_authentication_request_esipa_fields[] = {
    SCHEMA_FIELD_NAMED("euiccChallenge", sgp32_initiate_authentication_request_esipa,
                       euicc_challenge, 0x81, sgp22_octet16_type),
    SCHEMA_OPT_NAMED("smdpAddress", sgp32_initiate_authentication_request_esipa, smdp_address, 0x83,
                     schema_utf8),
    SCHEMA_OPT_NAMED("euiccInfo1", sgp32_initiate_authentication_request_esipa, euicc_info1, 0,
                     sgp22_euicc_info1_type),
    SCHEMA_OPT_NAMED("eimTransactionId", sgp32_initiate_authentication_request_esipa,
                     eim_transaction_id, 0x82, sgp22_transaction_id_type),
};
const schema_type sgp32_initiate_authentication_request_esipa_type = SGP32_SEQUENCE(
    "InitiateAuthenticationRequestEsipa", 0xBF39, sgp32_initiate_authentication_request_esipa,
    initiate_authentication_request_esipa_fields);

static const schema_field initiate_authentication_ok_esipa_fields[] = {
    SCHEMA_OPT_NAMED("transactionId", sgp32_initiate_authentication_ok_esipa, transaction_id, 0x80,
                     sgp22_transaction_id_type),
    SCHEMA_FIELD_NAMED("serverSigned1", sgp32_initiate_authentication_ok_esipa, server_signed1, 0,
                       sgp22_server_signed1_type),
    SCHEMA_FIELD_NAMED("serverSignature1", sgp32_initiate_authentication_ok_esipa,
                       server_signature1, 0x5F37, schema_octets),
    SCHEMA_FIELD_NAMED("euiccCiPKIdentifierToBeUsed", sgp32_initiate_authentication_ok_esipa,
                       euicc_ci_pk_identifier_to_be_used, 0, schema_octets),
    SCHEMA_FIELD_NAMED("serverCertificate", sgp32_initiate_authentication_ok_esipa,
                       server_certificate, 0, sgp22_certificate_type),
    SCHEMA_OPT_NAMED("matchingId", sgp32_initiate_authentication_ok_esipa, matching_id, 0,
                     schema_utf8),
    SCHEMA_OPT_NAMED("ctxParams1", sgp32_initiate_authentication_ok_esipa, ctx_params1, 0xA2,
                     sgp22_ctx_params1_type),
};
const schema_type sgp32_initiate_authentication_ok_esipa_type =
    SGP32_SEQUENCE("InitiateAuthenticationOkEsipa", 0x30, sgp32_initiate_authentication_ok_esipa,
                   initiate_authentication_ok_esipa_fields);

static const schema_field initiate_authentication_response_esipa_alts[] = {
    SGP32_ALT("initiateAuthenticationOkEsipa", sgp32_initiate_authentication_response_esipa,
              initiate_authentication_ok_esipa, 0xA0, sgp32_initiate_authentication_ok_esipa_type),
    SGP32_ALT("initiateAuthenticationErrorEsipa", sgp32_initiate_authentication_response_esipa,
              initiate_authentication_error_esipa, 0x81,
              sgp32_initiate_authentication_error_esipa_type),
};
const schema_type sgp32_initiate_authentication_response_esipa_type = SGP32_CHOICE(
    "InitiateAuthenticationResponseEsipa", 0xBF39, sgp32_initiate_authentication_response_esipa,
    initiate_authentication_response_esipa_alts);

/* ---- AuthenticateClient (SGP.32 v1.2 section 6.3.2.2) -------------------------------- */

static const schema_field authenticate_client_request_esipa_fields[] = {
    SCHEMA_FIELD_NAMED("transactionId", sgp32_authenticate_client_request_esipa, transaction_id,
                       0x80, sgp22_transaction_id_type),
    SCHEMA_FIELD_NAMED("authenticateServerResponse", sgp32_authenticate_client_request_esipa,
                       authenticate_server_response, 0xBF38,
                       sgp32_authenticate_server_response_type),
};
const schema_type sgp32_authenticate_client_request_esipa_type = SGP32_SEQUENCE(
    "AuthenticateClientRequestEsipa", 0xBF3B, sgp32_authenticate_client_request_esipa,
    authenticate_client_request_esipa_fields);

static const schema_field authenticate_client_ok_dp_esipa_fields[] = {
    SCHEMA_OPT_NAMED("transactionId", sgp32_authenticate_client_ok_dp_esipa, transaction_id, 0x80,
                     sgp22_transaction_id_type),
    SCHEMA_OPT_NAMED("profileMetaData", sgp32_authenticate_client_ok_dp_esipa, profile_meta_data,
                     0xBF25, sgp22_store_metadata_request_type),
    SCHEMA_FIELD_NAMED("smdpSigned2", sgp32_authenticate_client_ok_dp_esipa, smdp_signed2, 0,
                       sgp22_smdp_signed2_type),
    SCHEMA_FIELD_NAMED("smdpSignature2", sgp32_authenticate_client_ok_dp_esipa, smdp_signature2,
                       0x5F37, schema_octets),
    SCHEMA_FIELD_NAMED("smdpCertificate", sgp32_authenticate_client_ok_dp_esipa, smdp_certificate,
                       0, sgp22_certificate_type),
    SCHEMA_OPT_NAMED("hashCc", sgp32_authenticate_client_ok_dp_esipa, hash_cc, 0,
                     sgp22_octet32_type),
};
const schema_type sgp32_authenticate_client_ok_dp_esipa_type =
    SGP32_SEQUENCE("AuthenticateClientOkDPEsipa", 0x30, sgp32_authenticate_client_ok_dp_esipa,
                   authenticate_client_ok_dp_esipa_fields);

static const schema_field authenticate_client_ok_ds_esipa_fields[] = {
    SCHEMA_FIELD_NAMED("transactionId", sgp32_authenticate_client_ok_ds_esipa, transaction_id, 0x80,
                       sgp22_transaction_id_type),
    SCHEMA_OPT_NAMED("profileDownloadTrigger", sgp32_authenticate_client_ok_ds_esipa,
                     profile_download_trigger, 0xBF54, sgp32_profile_download_trigger_request_type),
};
const schema_type sgp32_authenticate_client_ok_ds_esipa_type =
    SGP32_SEQUENCE("AuthenticateClientOkDSEsipa", 0x30, sgp32_authenticate_client_ok_ds_esipa,
                   authenticate_client_ok_ds_esipa_fields);

/* no alternative is tagged: automatic tags [0], [1], [2] */
static const schema_field authenticate_client_response_esipa_alts[] = {
    SGP32_ALT("authenticateClientOkDPEsipa", sgp32_authenticate_client_response_esipa,
              authenticate_client_ok_dp_esipa, 0xA0, sgp32_authenticate_client_ok_dp_esipa_type),
    SGP32_ALT("authenticateClientOkDSEsipa", sgp32_authenticate_client_response_esipa,
              authenticate_client_ok_ds_esipa, 0xA1, sgp32_authenticate_client_ok_ds_esipa_type),
    SGP32_ALT("authenticateClientErrorEsipa", sgp32_authenticate_client_response_esipa,
              authenticate_client_error_esipa, 0x82, sgp32_authenticate_client_error_esipa_type),
};
const schema_type sgp32_authenticate_client_response_esipa_type =
    SGP32_CHOICE("AuthenticateClientResponseEsipa", 0xBF3B,
                 sgp32_authenticate_client_response_esipa, authenticate_client_response_esipa_alts);

/* ---- GetBoundProfilePackage (SGP.32 v1.2 section 6.3.2.3) ---------------------------- */

static const schema_type bound_profile_package_raw_type =
    SCHEMA_RAW_TYPE("BoundProfilePackage", 0xBF36);

static const schema_field get_bound_profile_package_request_esipa_fields[] = {
    SCHEMA_FIELD_NAMED("transactionId", sgp32_get_bound_profile_package_request_esipa,
                       transaction_id, 0x80, sgp22_transaction_id_type),
    SCHEMA_FIELD_NAMED("prepareDownloadResponse", sgp32_get_bound_profile_package_request_esipa,
                       prepare_download_response, 0xBF21, sgp32_prepare_download_response_type),
};
const schema_type sgp32_get_bound_profile_package_request_esipa_type = SGP32_SEQUENCE(
    "GetBoundProfilePackageRequestEsipa", 0xBF3A, sgp32_get_bound_profile_package_request_esipa,
    get_bound_profile_package_request_esipa_fields);

static const schema_field get_bound_profile_package_ok_esipa_fields[] = {
    SCHEMA_OPT_NAMED("transactionId", sgp32_get_bound_profile_package_ok_esipa, transaction_id,
                     0x80, sgp22_transaction_id_type),
    SCHEMA_FIELD_NAMED("boundProfilePackage", sgp32_get_bound_profile_package_ok_esipa,
                       bound_profile_package, 0xBF36, bound_profile_package_raw_type),
};
const schema_type sgp32_get_bound_profile_package_ok_esipa_type =
    SGP32_SEQUENCE("GetBoundProfilePackageOkEsipa", 0x30, sgp32_get_bound_profile_package_ok_esipa,
                   get_bound_profile_package_ok_esipa_fields);

static const schema_field get_bound_profile_package_response_esipa_alts[] = {
    SGP32_ALT("getBoundProfilePackageOkEsipa", sgp32_get_bound_profile_package_response_esipa,
              get_bound_profile_package_ok_esipa, 0xA0,
              sgp32_get_bound_profile_package_ok_esipa_type),
    SGP32_ALT("getBoundProfilePackageErrorEsipa", sgp32_get_bound_profile_package_response_esipa,
              get_bound_profile_package_error_esipa, 0x81,
              sgp32_get_bound_profile_package_error_esipa_type),
};
const schema_type sgp32_get_bound_profile_package_response_esipa_type = SGP32_CHOICE(
    "GetBoundProfilePackageResponseEsipa", 0xBF3A, sgp32_get_bound_profile_package_response_esipa,
    get_bound_profile_package_response_esipa_alts);

/* ---- CancelSession (SGP.32 v1.2 section 6.3.2.5) ------------------------------------- */

/* Neither component is textually tagged, so both get automatic tags: transactionId [0] and
 * cancelSessionResponse [1], which wraps the [65] CHOICE (A1 { A0 ... }) */
static const schema_field cancel_session_request_esipa_fields[] = {
    SCHEMA_FIELD_NAMED("transactionId", sgp32_cancel_session_request_esipa, transaction_id, 0x80,
                       sgp22_transaction_id_type),
    SCHEMA_FIELD_NAMED("cancelSessionResponse", sgp32_cancel_session_request_esipa,
                       cancel_session_response, 0xA1, sgp32_cancel_session_response_type),
};
const schema_type sgp32_cancel_session_request_esipa_type =
    SGP32_SEQUENCE("CancelSessionRequestEsipa", 0xBF41, sgp32_cancel_session_request_esipa,
                   cancel_session_request_esipa_fields);

static const schema_field cancel_session_response_esipa_alts[] = {
    SGP32_ALT("cancelSessionOk", sgp32_cancel_session_response_esipa, cancel_session_ok, 0xA0,
              sgp32_empty_sequence_type),
    SGP32_ALT("cancelSessionError", sgp32_cancel_session_response_esipa, cancel_session_error, 0x81,
              sgp32_cancel_session_error_esipa_type),
};
const schema_type sgp32_cancel_session_response_esipa_type =
    SGP32_CHOICE("CancelSessionResponseEsipa", 0xBF41, sgp32_cancel_session_response_esipa,
                 cancel_session_response_esipa_alts);

/* ---- GetEimPackage (SGP.32 v1.2 section 6.3.2.6) ------------------------------------- */

static const schema_type rplmn_type = SCHEMA_OCTETS_TYPE("OCTET STRING (SIZE(3))", 0x04, 3, 3);

static const schema_field get_eim_package_request_fields[] = {
    SCHEMA_FIELD_NAMED("eidValue", sgp32_get_eim_package_request, eid_value, 0x5A, sgp32_eid_type),
    SGP32_OPT_NULL("notifyStateChange", sgp32_get_eim_package_request, notify_state_change, 0x80),
    SCHEMA_OPT_NAMED("stateChangeCause", sgp32_get_eim_package_request, state_change_cause, 0x81,
                     sgp32_state_change_cause_type),
    SCHEMA_OPT_NAMED("rPLMN", sgp32_get_eim_package_request, rplmn, 0x82, rplmn_type),
};
const schema_type sgp32_get_eim_package_request_type = SGP32_SEQUENCE(
    "GetEimPackageRequest", 0xBF4F, sgp32_get_eim_package_request, get_eim_package_request_fields);

static const schema_field get_eim_package_response_alts[] = {
    SGP32_ALT("euiccPackageRequest", sgp32_get_eim_package_response, euicc_package_request, 0xBF51,
              sgp32_euicc_package_request_type),
    SGP32_ALT("ipaEuiccDataRequest", sgp32_get_eim_package_response, ipa_euicc_data_request, 0xBF52,
              sgp32_ipa_euicc_data_request_type),
    SGP32_ALT("profileDownloadTriggerRequest", sgp32_get_eim_package_response,
              profile_download_trigger_request, 0xBF54,
              sgp32_profile_download_trigger_request_type),
    SGP32_ALT("eimPackageError", sgp32_get_eim_package_response, eim_package_error, 0,
              sgp32_eim_package_error_type),
};
const schema_type sgp32_get_eim_package_response_type = SGP32_CHOICE(
    "GetEimPackageResponse", 0xBF4F, sgp32_get_eim_package_response, get_eim_package_response_alts);

/* ---- ProvideEimPackageResult (SGP.32 v1.2 section 6.3.2.7) --------------------------- */

static const schema_field eim_package_result_response_error_fields[] = {
    SCHEMA_OPT_NAMED("eimTransactionId", sgp32_eim_package_result_response_error,
                     eim_transaction_id, 0x80, sgp22_transaction_id_type),
    SCHEMA_FIELD_NAMED("eimPackageResultErrorCode", sgp32_eim_package_result_response_error,
                       eim_package_result_error_code, 0, sgp32_eim_package_result_error_code_type),
};
const schema_type sgp32_eim_package_result_response_error_type =
    SGP32_SEQUENCE("EimPackageResultResponseError", 0x30, sgp32_eim_package_result_response_error,
                   eim_package_result_response_error_fields);

static const schema_field epr_and_notifications_fields[] = {
    SCHEMA_FIELD_NAMED("euiccPackageResult", sgp32_epr_and_notifications, euicc_package_result,
                       0xBF51, sgp32_euicc_package_result_type),
    SCHEMA_FIELD_NAMED("notificationList", sgp32_epr_and_notifications, notification_list, 0xA0,
                       sgp32_pending_notification_list_type),
};
const schema_type sgp32_epr_and_notifications_type = SGP32_SEQUENCE(
    "ePRAndNotifications", 0x30, sgp32_epr_and_notifications, epr_and_notifications_fields);

static const schema_field eim_package_result_alts[] = {
    SGP32_ALT("euiccPackageResult", sgp32_eim_package_result, euicc_package_result, 0xBF51,
              sgp32_euicc_package_result_type),
    SGP32_ALT("ePRAndNotifications", sgp32_eim_package_result, epr_and_notifications, 0,
              sgp32_epr_and_notifications_type),
    SGP32_ALT("ipaEuiccDataResponse", sgp32_eim_package_result, ipa_euicc_data_response, 0xBF52,
              sgp32_ipa_euicc_data_response_type),
    SGP32_ALT("profileDownloadTriggerResult", sgp32_eim_package_result,
              profile_download_trigger_result, 0xBF54, sgp32_profile_download_trigger_result_type),
    SGP32_ALT("eimPackageResultResponseError", sgp32_eim_package_result,
              eim_package_result_response_error, 0xA0,
              sgp32_eim_package_result_response_error_type),
};
const schema_type sgp32_eim_package_result_type =
    SGP32_CHOICE("EimPackageResult", 0, sgp32_eim_package_result, eim_package_result_alts);

static const schema_field provide_eim_package_result_fields[] = {
    SCHEMA_OPT_NAMED("eidValue", sgp32_provide_eim_package_result, eid_value, 0x5A, sgp32_eid_type),
    SCHEMA_FIELD_NAMED("eimPackageResult", sgp32_provide_eim_package_result, eim_package_result, 0,
                       sgp32_eim_package_result_type),
};
const schema_type sgp32_provide_eim_package_result_type =
    SGP32_SEQUENCE("ProvideEimPackageResult", 0xBF50, sgp32_provide_eim_package_result,
                   provide_eim_package_result_fields);

static const schema_field provide_eim_package_result_response_alts[] = {
    SGP32_ALT("eimAcknowledgements", sgp32_provide_eim_package_result_response,
              eim_acknowledgements, 0xBF53, sgp32_eim_acknowledgements_type),
    SGP32_ALT("emptyResponse", sgp32_provide_eim_package_result_response, empty_response, 0,
              sgp32_empty_sequence_type),
    SGP32_ALT("provideEimPackageResultError", sgp32_provide_eim_package_result_response,
              provide_eim_package_result_error, 0, sgp32_provide_eim_package_result_error_type),
};
const schema_type sgp32_provide_eim_package_result_response_type = SGP32_CHOICE(
    "ProvideEimPackageResultResponse", 0xBF50, sgp32_provide_eim_package_result_response,
    provide_eim_package_result_response_alts);

/* ---- HandleNotification (SGP.32 v1.2 section 6.3.2.4) -------------------------------- */

static const schema_field handle_notification_esipa_alts[] = {
    SGP32_ALT("pendingNotification", sgp32_handle_notification_esipa, pending_notification, 0xA0,
              sgp32_pending_notification_type),
    SGP32_ALT("provideEimPackageResult", sgp32_handle_notification_esipa,
              provide_eim_package_result, 0xBF50, sgp32_provide_eim_package_result_type),
};
const schema_type sgp32_handle_notification_esipa_type =
    SGP32_CHOICE("HandleNotificationEsipa", 0xBF3D, sgp32_handle_notification_esipa,
                 handle_notification_esipa_alts);

/* ---- TransferEimPackage (SGP.32 v1.2 section 6.3.3.1) -------------------------------- */

static const schema_field transfer_eim_package_request_alts[] = {
    SGP32_ALT("euiccPackageRequest", sgp32_transfer_eim_package_request, euicc_package_request,
              0xBF51, sgp32_euicc_package_request_type),
    SGP32_ALT("ipaEuiccDataRequest", sgp32_transfer_eim_package_request, ipa_euicc_data_request,
              0xBF52, sgp32_ipa_euicc_data_request_type),
    SGP32_ALT("eimAcknowledgements", sgp32_transfer_eim_package_request, eim_acknowledgements,
              0xBF53, sgp32_eim_acknowledgements_type),
    SGP32_ALT("profileDownloadTriggerRequest", sgp32_transfer_eim_package_request,
              profile_download_trigger_request, 0xBF54,
              sgp32_profile_download_trigger_request_type),
};
const schema_type sgp32_transfer_eim_package_request_type =
    SGP32_CHOICE("TransferEimPackageRequest", 0xBF4E, sgp32_transfer_eim_package_request,
                 transfer_eim_package_request_alts);

static const schema_field transfer_eim_package_response_alts[] = {
    SGP32_ALT("euiccPackageResult", sgp32_transfer_eim_package_response, euicc_package_result,
              0xBF51, sgp32_euicc_package_result_type),
    SGP32_ALT("ePRAndNotifications", sgp32_transfer_eim_package_response, epr_and_notifications, 0,
              sgp32_epr_and_notifications_type),
    SGP32_ALT("ipaEuiccDataResponse", sgp32_transfer_eim_package_response, ipa_euicc_data_response,
              0xBF52, sgp32_ipa_euicc_data_response_type),
    SGP32_ALT_NULL("eimPackageReceived", 0),
    SGP32_ALT("eimPackageError", sgp32_transfer_eim_package_response, eim_package_error, 0,
              sgp32_eim_package_result_error_code_type),
};
const schema_type sgp32_transfer_eim_package_response_type =
    SGP32_CHOICE("TransferEimPackageResponse", 0xBF4E, sgp32_transfer_eim_package_response,
                 transfer_eim_package_response_alts);

/* ---- Envelopes (SGP.32 v1.2 section 6.3.1) ------------------------------------------- */

static const schema_field esipa_message_from_ipa_to_eim_alts[] = {
    SGP32_ALT("initiateAuthenticationRequestEsipa", sgp32_esipa_message_from_ipa_to_eim,
              initiate_authentication_request_esipa, 0xBF39,
              sgp32_initiate_authentication_request_esipa_type),
    SGP32_ALT("authenticateClientRequestEsipa", sgp32_esipa_message_from_ipa_to_eim,
              authenticate_client_request_esipa, 0xBF3B,
              sgp32_authenticate_client_request_esipa_type),
    SGP32_ALT("getBoundProfilePackageRequestEsipa", sgp32_esipa_message_from_ipa_to_eim,
              get_bound_profile_package_request_esipa, 0xBF3A,
              sgp32_get_bound_profile_package_request_esipa_type),
    SGP32_ALT("cancelSessionRequestEsipa", sgp32_esipa_message_from_ipa_to_eim,
              cancel_session_request_esipa, 0xBF41, sgp32_cancel_session_request_esipa_type),
    SGP32_ALT("handleNotificationEsipa", sgp32_esipa_message_from_ipa_to_eim,
              handle_notification_esipa, 0xBF3D, sgp32_handle_notification_esipa_type),
    SGP32_ALT("transferEimPackageResponse", sgp32_esipa_message_from_ipa_to_eim,
              transfer_eim_package_response, 0xBF4E, sgp32_transfer_eim_package_response_type),
    SGP32_ALT("getEimPackageRequest", sgp32_esipa_message_from_ipa_to_eim, get_eim_package_request,
              0xBF4F, sgp32_get_eim_package_request_type),
    SGP32_ALT("provideEimPackageResult", sgp32_esipa_message_from_ipa_to_eim,
              provide_eim_package_result, 0xBF50, sgp32_provide_eim_package_result_type),
};
const schema_type sgp32_esipa_message_from_ipa_to_eim_type =
    SGP32_CHOICE("EsipaMessageFromIpaToEim", 0, sgp32_esipa_message_from_ipa_to_eim,
                 esipa_message_from_ipa_to_eim_alts);

static const schema_field esipa_message_from_eim_to_ipa_alts[] = {
    SGP32_ALT("initiateAuthenticationResponseEsipa", sgp32_esipa_message_from_eim_to_ipa,
              initiate_authentication_response_esipa, 0xBF39,
              sgp32_initiate_authentication_response_esipa_type),
    SGP32_ALT("authenticateClientResponseEsipa", sgp32_esipa_message_from_eim_to_ipa,
              authenticate_client_response_esipa, 0xBF3B,
              sgp32_authenticate_client_response_esipa_type),
    SGP32_ALT("getBoundProfilePackageResponseEsipa", sgp32_esipa_message_from_eim_to_ipa,
              get_bound_profile_package_response_esipa, 0xBF3A,
              sgp32_get_bound_profile_package_response_esipa_type),
    SGP32_ALT("cancelSessionResponseEsipa", sgp32_esipa_message_from_eim_to_ipa,
              cancel_session_response_esipa, 0xBF41, sgp32_cancel_session_response_esipa_type),
    SGP32_ALT("transferEimPackageRequest", sgp32_esipa_message_from_eim_to_ipa,
              transfer_eim_package_request, 0xBF4E, sgp32_transfer_eim_package_request_type),
    SGP32_ALT("getEimPackageResponse", sgp32_esipa_message_from_eim_to_ipa,
              get_eim_package_response, 0xBF4F, sgp32_get_eim_package_response_type),
    SGP32_ALT("provideEimPackageResultResponse", sgp32_esipa_message_from_eim_to_ipa,
              provide_eim_package_result_response, 0xBF50,
              sgp32_provide_eim_package_result_response_type),
};
const schema_type sgp32_esipa_message_from_eim_to_ipa_type =
    SGP32_CHOICE("EsipaMessageFromEimToIpa", 0, sgp32_esipa_message_from_eim_to_ipa,
                 esipa_message_from_eim_to_ipa_alts);
