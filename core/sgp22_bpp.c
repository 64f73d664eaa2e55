/* SGP.22 v2.5 Bound Profile Package (section 2.5.4) and the ES8+ commands it carries:
 * InitialiseSecureChannel, ConfigureISDP, StoreMetadata (in sgp22_common.c, shared with
 * ES9+) and ReplaceSessionKeys. The SCP03t-protected segments stay opaque here. */
#include "core/sgp22.h"

#include <stddef.h>

static const char *const remote_op_id_names[] = {NULL, "installBoundProfilePackage"};
static const schema_type remote_op_id_type =
    SCHEMA_NAMED_INTEGER_TYPE("RemoteOpId", 0x82, 0, 0, remote_op_id_names);

/* SGP.22 v2.5 section 2.5.3: ControlRefTemplate */
static const schema_field control_ref_template_fields[] = {
    SCHEMA_FIELD_NAMED("keyType", sgp22_control_ref_template, key_type, 0x80, sgp22_octet1_type),
    SCHEMA_FIELD_NAMED("keyLen", sgp22_control_ref_template, key_len, 0x81, sgp22_octet1_type),
    SCHEMA_FIELD_NAMED("hostId", sgp22_control_ref_template, host_id, 0x84, sgp22_octet_to16_type),
};
const schema_type sgp22_control_ref_template_type =
    SCHEMA_SEQUENCE_TYPE("ControlRefTemplate", 0x30, sgp22_control_ref_template,
                         control_ref_template_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 2.5.3: InitialiseSecureChannelRequest */
static const schema_field initialise_secure_channel_request_fields[] = {
    SCHEMA_FIELD_NAMED("remoteOpId", sgp22_initialise_secure_channel_request, remote_op_id, 0,
                       remote_op_id_type),
    SCHEMA_FIELD_NAMED("transactionId", sgp22_initialise_secure_channel_request, transaction_id,
                       0x80, sgp22_transaction_id_type),
    SCHEMA_FIELD_NAMED("controlRefTemplate", sgp22_initialise_secure_channel_request,
                       control_ref_template, 0xA6, sgp22_control_ref_template_type),
    SCHEMA_FIELD_NAMED("smdpOtpk", sgp22_initialise_secure_channel_request, smdp_otpk, 0x5F49,
                       schema_octets),
    SCHEMA_FIELD_NAMED("smdpSign", sgp22_initialise_secure_channel_request, smdp_sign, 0,
                       sgp22_signature_type),
};
const schema_type sgp22_initialise_secure_channel_request_type = SCHEMA_SEQUENCE_TYPE(
    "InitialiseSecureChannelRequest", 0xBF23, sgp22_initialise_secure_channel_request,
    initialise_secure_channel_request_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 2.5.3: ConfigureISDPRequest */
static const schema_field configure_isdp_request_fields[] = {
    SCHEMA_OPT_NAMED("dpProprietaryData", sgp22_configure_isdp_request, dp_proprietary_data, 0xB8,
                     sgp22_dp_proprietary_data_type),
};
const schema_type sgp22_configure_isdp_request_type =
    SCHEMA_SEQUENCE_TYPE("ConfigureISDPRequest", 0xBF24, sgp22_configure_isdp_request,
                         configure_isdp_request_fields, SCHEMA_EXTENSIBLE);

/* SGP.22 v2.5 section 2.5.3: ReplaceSessionKeysRequest (automatic tags) */
static const schema_field replace_session_keys_request_fields[] = {
    SCHEMA_FIELD_NAMED("initialMacChainingValue", sgp22_replace_session_keys_request,
                       initial_mac_chaining_value, 0x80, schema_octets),
    SCHEMA_FIELD_NAMED("ppkEnc", sgp22_replace_session_keys_request, ppk_enc, 0x81, schema_octets),
    SCHEMA_FIELD_NAMED("ppkCmac", sgp22_replace_session_keys_request, ppk_cmac, 0x82,
                       schema_octets),
};
const schema_type sgp22_replace_session_keys_request_type =
    SCHEMA_SEQUENCE_TYPE("ReplaceSessionKeysRequest", 0xBF26, sgp22_replace_session_keys_request,
                         replace_session_keys_request_fields, SCHEMA_EXTENSIBLE);

static const schema_type segment87_type =
    SCHEMA_OCTETS_TYPE("BoundProfilePackage-87tlv", 0x87, 0, 0);
static const schema_type segment88_type =
    SCHEMA_OCTETS_TYPE("BoundProfilePackage-88tlv", 0x88, 0, 0);
static const schema_type segment86_type =
    SCHEMA_OCTETS_TYPE("BoundProfilePackage-86tlv", 0x86, 0, 0);
static const schema_type segments87_type =
    SCHEMA_SEQUENCE_OF_TYPE("SEQUENCE OF BoundProfilePackage-87tlv", 0x30, segment87_type, 0, 0);
static const schema_type segments88_type =
    SCHEMA_SEQUENCE_OF_TYPE("SEQUENCE OF BoundProfilePackage-88tlv", 0x30, segment88_type, 0, 0);
static const schema_type segments86_type =
    SCHEMA_SEQUENCE_OF_TYPE("SEQUENCE OF BoundProfilePackage-86tlv", 0x30, segment86_type, 0, 0);

/* SGP.22 v2.5 section 2.5.4: BoundProfilePackage */
static const schema_field bound_profile_package_fields[] = {
    SCHEMA_FIELD_NAMED("initialiseSecureChannelRequest", sgp22_bound_profile_package,
                       initialise_secure_channel_request, 0xBF23,
                       sgp22_initialise_secure_channel_request_type),
    SCHEMA_FIELD_NAMED("firstSequenceOf87", sgp22_bound_profile_package, first_sequence_of87, 0xA0,
                       segments87_type),
    SCHEMA_FIELD_NAMED("sequenceOf88", sgp22_bound_profile_package, sequence_of88, 0xA1,
                       segments88_type),
    SCHEMA_OPT_NAMED("secondSequenceOf87", sgp22_bound_profile_package, second_sequence_of87, 0xA2,
                     segments87_type),
    SCHEMA_FIELD_NAMED("sequenceOf86", sgp22_bound_profile_package, sequence_of86, 0xA3,
                       segments86_type),
};
const schema_type sgp22_bound_profile_package_type =
    SCHEMA_SEQUENCE_TYPE("BoundProfilePackage", 0xBF36, sgp22_bound_profile_package,
                         bound_profile_package_fields, SCHEMA_EXTENSIBLE);
