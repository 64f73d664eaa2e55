/* SGP.22 v2.5 ES9+ (LPA/IPA <-> SM-DP+) and ES11 (SM-DS) messages in their ASN.1 binding
 * (section 6.6), plus the RemoteProfileProvisioningRequest/Response wrappers. */
#include "core/sgp22.h"

#include <stddef.h>

static const char *const initiate_authentication_error_names[] = {
    NULL, "invalidDpAddress", "euiccVersionNotSupportedByDp", "ciPKNotSupported"};
static const schema_type initiate_authentication_error_type = SCHEMA_NAMED_INTEGER_TYPE(
    "initiateAuthenticationError", 0x02, 0, 0, initiate_authentication_error_names);

static const char *const authenticate_client_error_names[128] = {[1] = "eumCertificateInvalid",
                                                                 [2] = "eumCertificateExpired",
                                                                 [3] = "euiccCertificateInvalid",
                                                                 [4] = "euiccCertificateExpired",
                                                                 [5] = "euiccSignatureInvalid",
                                                                 [6] = "matchingIdRefused",
                                                                 [7] = "eidMismatch",
                                                                 [8] = "noEligibleProfile",
                                                                 [9] = "ciPKUnknown",
                                                                 [10] = "invalidTransactionId",
                                                                 [11] = "insufficientMemory",
                                                                 [127] = "undefinedError"};
static const schema_type authenticate_client_error_type = SCHEMA_NAMED_INTEGER_TYPE(
    "authenticateClientError", 0x02, 0, 0, authenticate_client_error_names);

static const char *const get_bpp_error_names[128] = {
    [1] = "euiccSignatureInvalid",   [2] = "confirmationCodeMissing",
    [3] = "confirmationCodeRefused", [4] = "confirmationCodeRetriesExceeded",
    [5] = "bppRebindingRefused",     [6] = "downloadOrderExpired",
    [95] = "invalidTransactionId",   [127] = "undefinedError"};
static const schema_type get_bpp_error_type =
    SCHEMA_NAMED_INTEGER_TYPE("getBoundProfilePackageError", 0x02, 0, 0, get_bpp_error_names);

static const char *const cancel_session_es9_error_names[128] = {
    [1] = "invalidTransactionId", [2] = "euiccSignatureInvalid", [127] = "undefinedError"};
static const schema_type cancel_session_es9_error_type =
    SCHEMA_NAMED_INTEGER_TYPE("cancelSessionError", 0x02, 0, 0, cancel_session_es9_error_names);

static const char *const authenticate_client_es11_error_names[128] = {
    [1] = "eumCertificateInvalid",   [2] = "eumCertificateExpired", [3] = "euiccCertificateInvalid",
    [4] = "euiccCertificateExpired", [5] = "euiccSignatureInvalid", [6] = "eventIdUnknown",
    [7] = "invalidTransactionId",    [127] = "undefinedError"};
static const schema_type authenticate_client_es11_error_type = SCHEMA_NAMED_INTEGER_TYPE(
    "authenticateClientError", 0x02, 0, 0, authenticate_client_es11_error_names);

/* SGP.22 v2.5 section 5.6.1: InitiateAuthenticationRequest */
static const schema_field initiate_authentication_request_fields[] = {
    SCHEMA_FIELD_NAMED("euiccChallenge", sgp22_initiate_authentication_request, euicc_challenge,
                       0x81, sgp22_octet16_type),
    SCHEMA_FIELD_NAMED("smdpAddress", sgp22_initiate_authentication_request, smdp_address, 0x83,
                       schema_utf8),
    SCHEMA_FIELD_NAMED("euiccInfo1", sgp22_initiate_authentication_request, euicc_info1, 0,
                       sgp22_euicc_info1_type),
};
const schema_type sgp22_initiate_authentication_request_type = SCHEMA_SEQUENCE_TYPE(
    "InitiateAuthenticationRequest", 0xBF39, sgp22_initiate_authentication_request,
    initiate_authentication_request_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.6.1: InitiateAuthenticationOkEs9 */
static const schema_field initiate_authentication_ok_es9_fields[] = {
    SCHEMA_FIELD_NAMED("transactionId", sgp22_initiate_authentication_ok_es9, transaction_id, 0x80,
                       sgp22_transaction_id_type),
    SCHEMA_FIELD_NAMED("serverSigned1", sgp22_initiate_authentication_ok_es9, server_signed1, 0,
                       sgp22_server_signed1_type),
    SCHEMA_FIELD_NAMED("serverSignature1", sgp22_initiate_authentication_ok_es9, server_signature1,
                       0, sgp22_signature_type),
    SCHEMA_FIELD_NAMED("euiccCiPKIdToBeUsed", sgp22_initiate_authentication_ok_es9,
                       euicc_ci_pkid_to_be_used, 0, sgp22_subject_key_identifier_type),
    SCHEMA_FIELD_NAMED("serverCertificate", sgp22_initiate_authentication_ok_es9,
                       server_certificate, 0, sgp22_certificate_type),
};
const schema_type sgp22_initiate_authentication_ok_es9_type =
    SCHEMA_SEQUENCE_TYPE("InitiateAuthenticationOkEs9", 0x30, sgp22_initiate_authentication_ok_es9,
                         initiate_authentication_ok_es9_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.6.1: InitiateAuthenticationResponse */
static const schema_field initiate_authentication_response_alternatives[] = {
    SCHEMA_ALT(sgp22_initiate_authentication_response, initiate_authentication_ok, 0xA0,
               sgp22_initiate_authentication_ok_es9_type),
    SCHEMA_ALT(sgp22_initiate_authentication_response, initiate_authentication_error, 0x81,
               initiate_authentication_error_type),
};
const schema_type sgp22_initiate_authentication_response_type = SCHEMA_CHOICE_TYPE(
    "InitiateAuthenticationResponse", 0xBF39, sgp22_initiate_authentication_response,
    initiate_authentication_response_alternatives, 0);

/* SGP.22 v2.5 section 5.6.3: AuthenticateClientRequest */
static const schema_field authenticate_client_request_fields[] = {
    SCHEMA_FIELD_NAMED("transactionId", sgp22_authenticate_client_request, transaction_id, 0x80,
                       sgp22_transaction_id_type),
    SCHEMA_FIELD_NAMED("authenticateServerResponse", sgp22_authenticate_client_request,
                       authenticate_server_response, 0xBF38,
                       sgp22_authenticate_server_response_type),
};
const schema_type sgp22_authenticate_client_request_type =
    SCHEMA_SEQUENCE_TYPE("AuthenticateClientRequest", 0xBF3B, sgp22_authenticate_client_request,
                         authenticate_client_request_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.6.3: AuthenticateClientOk */
static const schema_field authenticate_client_ok_fields[] = {
    SCHEMA_FIELD_NAMED("transactionId", sgp22_authenticate_client_ok, transaction_id, 0x80,
                       sgp22_transaction_id_type),
    SCHEMA_FIELD_NAMED("profileMetaData", sgp22_authenticate_client_ok, profile_meta_data, 0xBF25,
                       sgp22_store_metadata_request_type),
    SCHEMA_FIELD_NAMED("smdpSigned2", sgp22_authenticate_client_ok, smdp_signed2, 0,
                       sgp22_smdp_signed2_type),
    SCHEMA_FIELD_NAMED("smdpSignature2", sgp22_authenticate_client_ok, smdp_signature2, 0,
                       sgp22_signature_type),
    SCHEMA_FIELD_NAMED("smdpCertificate", sgp22_authenticate_client_ok, smdp_certificate, 0,
                       sgp22_certificate_type),
};
const schema_type sgp22_authenticate_client_ok_type =
    SCHEMA_SEQUENCE_TYPE("AuthenticateClientOk", 0x30, sgp22_authenticate_client_ok,
                         authenticate_client_ok_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.6.3: AuthenticateClientResponseEs9 */
static const schema_field authenticate_client_response_es9_alternatives[] = {
    SCHEMA_ALT(sgp22_authenticate_client_response_es9, authenticate_client_ok, 0xA0,
               sgp22_authenticate_client_ok_type),
    SCHEMA_ALT(sgp22_authenticate_client_response_es9, authenticate_client_error, 0x81,
               authenticate_client_error_type),
};
const schema_type sgp22_authenticate_client_response_es9_type = SCHEMA_CHOICE_TYPE(
    "AuthenticateClientResponseEs9", 0xBF3B, sgp22_authenticate_client_response_es9,
    authenticate_client_response_es9_alternatives, 0);

/* SGP.22 v2.5 section 5.6.2: GetBoundProfilePackageRequest */
static const schema_field get_bound_profile_package_request_fields[] = {
    SCHEMA_FIELD_NAMED("transactionId", sgp22_get_bound_profile_package_request, transaction_id,
                       0x80, sgp22_transaction_id_type),
    SCHEMA_FIELD_NAMED("prepareDownloadResponse", sgp22_get_bound_profile_package_request,
                       prepare_download_response, 0xBF21, sgp22_prepare_download_response_type),
};
const schema_type sgp22_get_bound_profile_package_request_type = SCHEMA_SEQUENCE_TYPE(
    "GetBoundProfilePackageRequest", 0xBF3A, sgp22_get_bound_profile_package_request,
    get_bound_profile_package_request_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.6.2: GetBoundProfilePackageOk */
static const schema_field get_bound_profile_package_ok_fields[] = {
    SCHEMA_FIELD_NAMED("transactionId", sgp22_get_bound_profile_package_ok, transaction_id, 0x80,
                       sgp22_transaction_id_type),
    SCHEMA_FIELD_NAMED("boundProfilePackage", sgp22_get_bound_profile_package_ok,
                       bound_profile_package, 0xBF36, sgp22_bound_profile_package_type),
};
const schema_type sgp22_get_bound_profile_package_ok_type =
    SCHEMA_SEQUENCE_TYPE("GetBoundProfilePackageOk", 0x30, sgp22_get_bound_profile_package_ok,
                         get_bound_profile_package_ok_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.6.2: GetBoundProfilePackageResponse */
static const schema_field get_bound_profile_package_response_alternatives[] = {
    SCHEMA_ALT(sgp22_get_bound_profile_package_response, get_bound_profile_package_ok, 0xA0,
               sgp22_get_bound_profile_package_ok_type),
    SCHEMA_ALT(sgp22_get_bound_profile_package_response, get_bound_profile_package_error, 0x81,
               get_bpp_error_type),
};
const schema_type sgp22_get_bound_profile_package_response_type = SCHEMA_CHOICE_TYPE(
    "GetBoundProfilePackageResponse", 0xBF3A, sgp22_get_bound_profile_package_response,
    get_bound_profile_package_response_alternatives, 0);

/* SGP.22 v2.5 section 5.6.4: HandleNotification; its lone untagged CHOICE component is
 * automatically and explicitly tagged [0] */
static const schema_field handle_notification_fields[] = {
    SCHEMA_FIELD_NAMED("pendingNotification", sgp22_handle_notification, pending_notification, 0xA0,
                       sgp22_pending_notification_type),
};
const schema_type sgp22_handle_notification_type =
    SCHEMA_SEQUENCE_TYPE("HandleNotification", 0xBF3D, sgp22_handle_notification,
                         handle_notification_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.6.5: CancelSessionRequestEs9 (automatic tags: the [1] on the
 * tagged CHOICE CancelSessionResponse replaces its BF41) */
static const schema_field cancel_session_request_es9_fields[] = {
    SCHEMA_FIELD_NAMED("transactionId", sgp22_cancel_session_request_es9, transaction_id, 0x80,
                       sgp22_transaction_id_type),
    SCHEMA_FIELD_NAMED("cancelSessionResponse", sgp22_cancel_session_request_es9,
                       cancel_session_response, 0xA1, sgp22_cancel_session_response_type),
};
const schema_type sgp22_cancel_session_request_es9_type =
    SCHEMA_SEQUENCE_TYPE("CancelSessionRequestEs9", 0xBF41, sgp22_cancel_session_request_es9,
                         cancel_session_request_es9_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.6.5: CancelSessionOk */
const schema_type sgp22_cancel_session_ok_type = SGP22_EMPTY_SEQUENCE_TYPE("CancelSessionOk", 0x30);

/* SGP.22 v2.5 section 5.6.5: CancelSessionResponseEs9 */
static const schema_field cancel_session_response_es9_alternatives[] = {
    SCHEMA_ALT(sgp22_cancel_session_response_es9, cancel_session_ok, 0xA0,
               sgp22_cancel_session_ok_type),
    SCHEMA_ALT(sgp22_cancel_session_response_es9, cancel_session_error, 0x81,
               cancel_session_es9_error_type),
};
const schema_type sgp22_cancel_session_response_es9_type =
    SCHEMA_CHOICE_TYPE("CancelSessionResponseEs9", 0xBF41, sgp22_cancel_session_response_es9,
                       cancel_session_response_es9_alternatives, 0);

/* SGP.22 v2.5 section 5.8.2: EventEntries (automatic tags) */
static const schema_field event_entries_fields[] = {
    SCHEMA_FIELD_NAMED("eventId", sgp22_event_entries, event_id, 0x80, schema_utf8),
    SCHEMA_FIELD_NAMED("rspServerAddress", sgp22_event_entries, rsp_server_address, 0x81,
                       schema_utf8),
};
const schema_type sgp22_event_entries_type = SCHEMA_SEQUENCE_TYPE(
    "EventEntries", 0x30, sgp22_event_entries, event_entries_fields, SCHEMA_EXTENSIBLE);
static const schema_type event_entries_list_type =
    SCHEMA_SEQUENCE_OF_TYPE("SEQUENCE OF EventEntries", 0x30, sgp22_event_entries_type, 0, 0);

/* SGP.22 v2.5 section 5.8.2: AuthenticateClientOkEs11 (automatic tags) */
static const schema_field authenticate_client_ok_es11_fields[] = {
    SCHEMA_FIELD_NAMED("transactionId", sgp22_authenticate_client_ok_es11, transaction_id, 0x80,
                       sgp22_transaction_id_type),
    SCHEMA_FIELD_NAMED("eventEntries", sgp22_authenticate_client_ok_es11, event_entries, 0xA1,
                       event_entries_list_type),
};
const schema_type sgp22_authenticate_client_ok_es11_type =
    SCHEMA_SEQUENCE_TYPE("AuthenticateClientOkEs11", 0x30, sgp22_authenticate_client_ok_es11,
                         authenticate_client_ok_es11_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 5.8.2: AuthenticateClientResponseEs11 */
static const schema_field authenticate_client_response_es11_alternatives[] = {
    SCHEMA_ALT(sgp22_authenticate_client_response_es11, authenticate_client_ok, 0xA0,
               sgp22_authenticate_client_ok_es11_type),
    SCHEMA_ALT(sgp22_authenticate_client_response_es11, authenticate_client_error, 0x81,
               authenticate_client_es11_error_type),
};
const schema_type sgp22_authenticate_client_response_es11_type = SCHEMA_CHOICE_TYPE(
    "AuthenticateClientResponseEs11", 0xBF40, sgp22_authenticate_client_response_es11,
    authenticate_client_response_es11_alternatives, 0);

/* SGP.22 v2.5 section 6.6: RemoteProfileProvisioningRequest */
static const schema_field remote_profile_provisioning_request_alternatives[] = {
    SCHEMA_ALT(sgp22_remote_profile_provisioning_request, initiate_authentication_request, 0xBF39,
               sgp22_initiate_authentication_request_type),
    SCHEMA_ALT(sgp22_remote_profile_provisioning_request, authenticate_client_request, 0xBF3B,
               sgp22_authenticate_client_request_type),
    SCHEMA_ALT(sgp22_remote_profile_provisioning_request, get_bound_profile_package_request, 0xBF3A,
               sgp22_get_bound_profile_package_request_type),
    SCHEMA_ALT(sgp22_remote_profile_provisioning_request, cancel_session_request_es9, 0xBF41,
               sgp22_cancel_session_request_es9_type),
    SCHEMA_ALT(sgp22_remote_profile_provisioning_request, handle_notification, 0xBF3D,
               sgp22_handle_notification_type),
};
const schema_type sgp22_remote_profile_provisioning_request_type = SCHEMA_CHOICE_TYPE(
    "RemoteProfileProvisioningRequest", 0xA2, sgp22_remote_profile_provisioning_request,
    remote_profile_provisioning_request_alternatives, 0);

/* SGP.22 v2.5 section 6.6: RemoteProfileProvisioningResponse */
static const schema_field remote_profile_provisioning_response_alternatives[] = {
    SCHEMA_ALT(sgp22_remote_profile_provisioning_response, initiate_authentication_response, 0xBF39,
               sgp22_initiate_authentication_response_type),
    SCHEMA_ALT(sgp22_remote_profile_provisioning_response, authenticate_client_response_es9, 0xBF3B,
               sgp22_authenticate_client_response_es9_type),
    SCHEMA_ALT(sgp22_remote_profile_provisioning_response, get_bound_profile_package_response,
               0xBF3A, sgp22_get_bound_profile_package_response_type),
    SCHEMA_ALT(sgp22_remote_profile_provisioning_response, cancel_session_response_es9, 0xBF41,
               sgp22_cancel_session_response_es9_type),
    SCHEMA_ALT(sgp22_remote_profile_provisioning_response, authenticate_client_response_es11,
               0xBF40, sgp22_authenticate_client_response_es11_type),
};
const schema_type sgp22_remote_profile_provisioning_response_type = SCHEMA_CHOICE_TYPE(
    "RemoteProfileProvisioningResponse", 0xA2, sgp22_remote_profile_provisioning_response,
    remote_profile_provisioning_response_alternatives, 0);
