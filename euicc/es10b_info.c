/* What the eUICC says about itself: EUICCInfo1/2, the EID and the Rules Authorisation Table. */
#include <string.h>

#include "core/sgp22.h"
#include "core/sgp32.h"
#include "euicc/isdr.h"

/* Versions claimed (decisions recorded in the helper report): SGP.22 v2.5.0, the SAIP
 * version of the core/saip.h tables (3.3.1), firmware 1.0.0, GlobalPlatform 2.3.1. */
static const uint8_t svn_value[3] = {2, 5, 0};
static const uint8_t profile_version_value[3] = {3, 3, 1};
static const uint8_t firmware_version_value[3] = {1, 0, 0};
static const uint8_t globalplatform_version_value[3] = {2, 3, 1};
static const uint8_t pp_version_value[3] = {1, 0, 0};
static const char sas_accreditation_number[] = "RSPKIT-TEST-SAS";

/* Memory the eUICC pretends to have for profiles; extCardResource reports what is left. */
#define EUICC_NVM_BYTES (1024u * 1024u)
#define EUICC_RAM_BYTES (64u * 1024u)

/* Bit string with the given named bits (each < 8 * cap) set, DER-minimal. */
static schema_bits make_bits(uint8_t *storage, size_t cap, const unsigned *bits, size_t count)
{
    memset(storage, 0, cap);
    unsigned highest = 0;
    for (size_t i = 0; i < count; i++) {
        storage[bits[i] / 8] |= (uint8_t)(0x80u >> (bits[i] % 8));
        if (bits[i] > highest)
            highest = bits[i];
    }
    schema_bits out;
    out.bytes = der_view_make(storage, count == 0 ? 0 : highest / 8 + 1);
    out.unused_bits = count == 0 ? 0 : (uint8_t)(7u - highest % 8);
    return out;
}

static schema_list ci_id_list(const euicc *e)
{
    size_t count = 0;
    const der_view *ids = euicc_ci_key_ids(e, &count);
    schema_list list = {count, (void *)ids};
    return list;
}

/* SGP.22 v2.5 section 5.7.8: EUICCInfo1 */
rsp_status euicc_info1_encode(const euicc *e, der_writer *out)
{
    sgp22_euicc_info1 info;
    memset(&info, 0, sizeof(info));
    info.svn = der_view_make(svn_value, sizeof(svn_value));
    info.euicc_ci_pkid_list_for_verification = ci_id_list(e);
    info.euicc_ci_pkid_list_for_signing = ci_id_list(e);
    return schema_encode(&sgp22_euicc_info1_type, &info, out);
}

/* ETSI TS 102 226 section 8.2.1.3.2.1 format: 81 installed applications, 82 free NVM, 83
 * free RAM. Installed profile bytes are taken off the NVM. */
static size_t ext_card_resource(const euicc *e, uint8_t out[16])
{
    const euicc_state *s = euicc_get_state_const(e);
    size_t used = 0;
    size_t profiles = euicc_state_count(s, EUICC_LIST_PROFILES);
    for (size_t i = 0; i < profiles; i++)
        used += euicc_state_get(s, EUICC_LIST_PROFILES, i).len;
    uint32_t free_nvm = used >= EUICC_NVM_BYTES ? 0 : (uint32_t)(EUICC_NVM_BYTES - used);
    size_t n = 0;
    out[n++] = 0x81;
    out[n++] = 0x01;
    out[n++] = (uint8_t)(profiles > 0xFF ? 0xFF : profiles);
    out[n++] = 0x82;
    out[n++] = 0x04;
    for (int shift = 24; shift >= 0; shift -= 8)
        out[n++] = (uint8_t)(free_nvm >> shift);
    out[n++] = 0x83;
    out[n++] = 0x04;
    for (int shift = 24; shift >= 0; shift -= 8)
        out[n++] = (uint8_t)(EUICC_RAM_BYTES >> shift);
    return n;
}

/* SGP.22 v2.5 section 5.7.8 and SGP.32 v1.2 section 5.9.2: EUICCInfo2 with IoTSpecificInfo */
rsp_status euicc_info2_encode(const euicc *e, uint32_t tag, der_writer *out)
{
    /* usim, isim, milenage, tuak128, tuak256, usimTestAlgorithm, javacard */
    static const unsigned uicc_bits[] = {1, 2, 4, 6, 7, 8, 14};
    static const unsigned rsp_bits[] = {SGP22_RSP_CAPABILITY_ADDITIONAL_PROFILE,
                                        SGP22_RSP_CAPABILITY_CRL_SUPPORT,
                                        SGP22_RSP_CAPABILITY_TEST_PROFILE_SUPPORT};
    uint8_t uicc_storage[4], rsp_storage[1], resource[16];
    const sgp32_version_profile *version = euicc_sgp32_version(e);
    der_view iot_version = der_view_make(version->iot_version, 3);

    sgp32_euicc_info2 info;
    memset(&info, 0, sizeof(info));
    info.profile_version = der_view_make(profile_version_value, 3);
    info.svn = der_view_make(svn_value, 3);
    info.euicc_firmware_ver = der_view_make(firmware_version_value, 3);
    info.ext_card_resource = der_view_make(resource, ext_card_resource(e, resource));
    info.uicc_capability = make_bits(uicc_storage, sizeof(uicc_storage), uicc_bits,
                                     sizeof(uicc_bits) / sizeof(uicc_bits[0]));
    info.has_globalplatform_version = true;
    info.globalplatform_version = der_view_make(globalplatform_version_value, 3);
    info.rsp_capability = make_bits(rsp_storage, sizeof(rsp_storage), rsp_bits,
                                    sizeof(rsp_bits) / sizeof(rsp_bits[0]));
    info.euicc_ci_pkid_list_for_verification = ci_id_list(e);
    info.euicc_ci_pkid_list_for_signing = ci_id_list(e);
    info.pp_version = der_view_make(pp_version_value, 3);
    info.sas_acreditation_number =
        der_view_make((const uint8_t *)sas_accreditation_number, strlen(sas_accreditation_number));
    info.has_ipa_mode = true;
    info.ipa_mode = 0; /* ipad: the IPA runs in the device, there is no IPAe */
    info.has_iot_specific_info = true;
    info.iot_specific_info.iot_version.count = 1;
    info.iot_specific_info.iot_version.items = &iot_version;
    info.iot_specific_info.has_fallback_supported = true;
    info.iot_specific_info.has_ecall_supported = true; /* emergency profiles: es10b_fallback.c */
    return schema_encode_tagged(&sgp32_euicc_info2_type, tag, &info, out);
}

/* SGP.22 v2.5 section 5.7.8: GetEUICCInfo1 */
rsp_status es10b_get_euicc_info1(euicc *e, unsigned channel, der_view command, der_writer *response)
{
    (void)channel;
    sgp22_get_euicc_info1_request request;
    rsp_error err = {0};
    rsp_status status =
        schema_decode(&sgp22_get_euicc_info1_request_type, command, &request, NULL, &err);
    if (status != RSP_OK)
        return status;
    return euicc_info1_encode(e, response);
}

/* SGP.22 v2.5 section 5.7.8: GetEUICCInfo2 */
rsp_status es10b_get_euicc_info2(euicc *e, unsigned channel, der_view command, der_writer *response)
{
    (void)channel;
    sgp22_get_euicc_info2_request request;
    rsp_error err = {0};
    rsp_status status =
        schema_decode(&sgp22_get_euicc_info2_request_type, command, &request, NULL, &err);
    if (status != RSP_OK)
        return status;
    return euicc_info2_encode(e, 0xBF22, response);
}

/* SGP.22 v2.5 section 5.7.20: GetEID. Only the EID (tag 5A) can be asked for. */
rsp_status es10c_get_eid(euicc *e, unsigned channel, der_view command, der_writer *response)
{
    (void)channel;
    sgp22_get_euicc_data_request request;
    rsp_error err = {0};
    rsp_status status =
        schema_decode(&sgp22_get_euicc_data_request_type, command, &request, NULL, &err);
    if (status != RSP_OK)
        return status;
    if (request.tag_list.data[0] != 0x5A)
        return RSP_ERR_NOT_FOUND;
    sgp22_get_euicc_data_response answer;
    answer.eid_value = der_view_make(euicc_eid(e), EUICC_EID_SIZE);
    return schema_encode(&sgp22_get_euicc_data_response_type, &answer, response);
}

/* SGP.22 v2.5 section 2.9.2.2: the RAT set at manufacture. One rule allows PPR1 and PPR2 for
 * every operator ('E' nibbles are wildcards), without end-user consent, so test profiles can
 * carry either rule. */
rsp_status euicc_rat_encode(const euicc *e, der_writer *out)
{
    (void)e;
    static const uint8_t any_operator[3] = {0xEE, 0xEE, 0xEE};
    static const unsigned ppr_bits[] = {SGP22_PPR1, SGP22_PPR2};
    uint8_t ppr_storage[1], flag_storage[1];
    sgp22_operator_id operator_id;
    memset(&operator_id, 0, sizeof(operator_id));
    operator_id.mcc_mnc = der_view_make(any_operator, sizeof(any_operator));
    sgp22_profile_policy_authorisation_rule rule;
    memset(&rule, 0, sizeof(rule));
    rule.ppr_ids = make_bits(ppr_storage, sizeof(ppr_storage), ppr_bits, 2);
    rule.allowed_operators.count = 1;
    rule.allowed_operators.items = &operator_id;
    rule.ppr_flags = make_bits(flag_storage, sizeof(flag_storage), NULL, 0);
    sgp22_get_rat_response answer;
    answer.rat.count = 1;
    answer.rat.items = &rule;
    return schema_encode(&sgp22_get_rat_response_type, &answer, out);
}

/* SGP.22 v2.5 section 5.7.22: GetRAT */
rsp_status es10b_get_rat(euicc *e, unsigned channel, der_view command, der_writer *response)
{
    (void)channel;
    sgp22_get_rat_request request;
    rsp_error err = {0};
    rsp_status status = schema_decode(&sgp22_get_rat_request_type, command, &request, NULL, &err);
    if (status != RSP_OK)
        return status;
    return euicc_rat_encode(e, response);
}
