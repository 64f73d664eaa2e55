/* REST operation objects -> stored order bodies: the EuiccPackage (PSMO / eCO list, SGP.32 v1.2
 * section 2.11.1.1), IpaEuiccDataRequest (2.11.1.2) or ProfileDownloadTriggerRequest
 * (2.11.1.3), encoded once at order time; hand-out adds counter, transaction id, signature. */
#include <stdlib.h>
#include <string.h>

#include "core/activation_code.h"
#include "core/sgp32.h"
#include "eim/rest.h"
#include "eim/storage.h"
#include "net/json.h"

/* SGP.22 Iccid: BCD with swapped nibbles, padded with F to 10 bytes. */
static bool iccid_encode(const char *digits, uint8_t out[10])
{
    size_t n = strlen(digits);
    if (n < 18 || n > 20)
        return false;
    memset(out, 0xFF, 10);
    for (size_t i = 0; i < n; i++) {
        if (digits[i] < '0' || digits[i] > '9')
            return false;
        uint8_t d = (uint8_t)(digits[i] - '0');
        if (i % 2 == 0)
            out[i / 2] = (uint8_t)((out[i / 2] & 0xF0) | d);
        else
            out[i / 2] = (uint8_t)((out[i / 2] & 0x0F) | (d << 4));
    }
    return true;
}

static const struct {
    const char *name;
    int psmo;
    bool needs_iccid;
} psmo_names[] = {
    {"enable", SGP32_PSMO_ENABLE, true},
    {"disable", SGP32_PSMO_DISABLE, true},
    {"delete", SGP32_PSMO_DELETE, true},
    {"listProfileInfo", SGP32_PSMO_LIST_PROFILE_INFO, false},
    {"getRat", SGP32_PSMO_GET_RAT, false},
    {"configureImmediateEnable", SGP32_PSMO_CONFIGURE_IMMEDIATE_ENABLE, false},
    {"setFallbackAttribute", SGP32_PSMO_SET_FALLBACK_ATTRIBUTE, true},
    {"unsetFallbackAttribute", SGP32_PSMO_UNSET_FALLBACK_ATTRIBUTE, false},
    {"setDefaultDpAddress", SGP32_PSMO_SET_DEFAULT_DP_ADDRESS, false},
};

static rsp_status string_field(const json_t *op, const char *key, const char **out, rsp_error *err)
{
    return rsp_json_get_string(op, key, true, out, NULL, err);
}

/* A value given once for every device (single_key) or per device in an object keyed by EID
 * (map_key), e.g. "iccid" / "iccids". *present false when neither is there. */
static rsp_status per_device_string(const json_t *op, const char *single_key, const char *map_key,
                                    const char *eid, const char **out, bool *present,
                                    rsp_error *err)
{
    json_t *map = json_object_get(op, map_key);
    if (map == NULL)
        return rsp_json_get_string(op, single_key, false, out, present, err);
    if (!json_is_object(map))
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "%s: an object of EID: value", map_key);
    if (json_object_get(op, single_key) != NULL)
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "%s and %s together", single_key,
                             map_key);
    json_t *value = eid != NULL ? json_object_get(map, eid) : NULL;
    if (!json_is_string(value))
        return rsp_error_set(err, RSP_ERR_MISSING_FIELD, 0, 0, "%s has no entry for %s", map_key,
                             eid != NULL ? eid : "this device");
    *out = json_string_value(value);
    *present = true;
    return RSP_OK;
}

static rsp_status build_psmo(const json_t *op, const char *eid, int which, bool needs_iccid,
                             der_writer *w, rsp_error *err)
{
    sgp32_psmo psmo = {.choice = which};
    uint8_t iccid[10];
    const char *text = NULL;
    bool present = false;
    rsp_status status = RSP_OK;
    if (needs_iccid) {
        /* "iccid" for every device, or "iccids": {EID: ICCID} (fleet owners' per-device
         * profiles) */
        status = per_device_string(op, "iccid", "iccids", eid, &text, &present, err);
        if (status == RSP_OK && !present)
            status = rsp_error_set(err, RSP_ERR_MISSING_FIELD, 0, 0, "missing field 'iccid'");
        if (status == RSP_OK && !iccid_encode(text, iccid))
            status = rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "iccid %s: 18 to 20 digits", text);
    } else if (json_object_get(op, "iccids") != NULL) {
        status = rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "iccids: not for this operation");
    }
    if (status != RSP_OK)
        return status;
    der_view iccid_view = der_view_make(iccid, sizeof iccid);
    bool flag = false;
    switch (which) {
    case SGP32_PSMO_ENABLE:
        psmo.u.enable.iccid = iccid_view;
        status = rsp_json_get_bool(op, "rollback", false, &flag, &present, err);
        psmo.u.enable.has_rollback_flag = present && flag;
        break;
    case SGP32_PSMO_DISABLE:
        psmo.u.disable.iccid = iccid_view;
        break;
    case SGP32_PSMO_DELETE:
        psmo.u.delete_profile.iccid = iccid_view;
        break;
    case SGP32_PSMO_SET_FALLBACK_ATTRIBUTE:
        psmo.u.set_fallback_attribute.iccid = iccid_view;
        break;
    case SGP32_PSMO_CONFIGURE_IMMEDIATE_ENABLE:
        status = rsp_json_get_bool(op, "immediateEnable", false, &flag, &present, err);
        psmo.u.configure_immediate_enable.has_immediate_enable_flag = present && flag;
        if (status == RSP_OK)
            status = rsp_json_get_string(op, "smdpAddress", false, &text, &present, err);
        if (status == RSP_OK && present) {
            psmo.u.configure_immediate_enable.has_default_smdp_address = true;
            psmo.u.configure_immediate_enable.default_smdp_address =
                der_view_make((const uint8_t *)text, strlen(text));
        }
        break;
    case SGP32_PSMO_SET_DEFAULT_DP_ADDRESS:
        status = string_field(op, "address", &text, err);
        if (status == RSP_OK)
            psmo.u.set_default_dp_address.default_dp_address =
                der_view_make((const uint8_t *)text, strlen(text));
        break;
    default:
        break;
    }
    if (status != RSP_OK)
        return status;
    sgp32_euicc_package package = {.choice = SGP32_EUICC_PACKAGE_PSMO_LIST};
    package.u.psmo_list.count = 1;
    package.u.psmo_list.items = &psmo;
    status = schema_encode(&sgp32_euicc_package_type, &package, w);
    return status == RSP_OK ? RSP_OK
                            : rsp_error_set(err, status, 0, 0, "operation does not encode");
}

/* eCO: addEim / updateEim carry EimConfigurationData (SGP.32 v1.2 section 2.11.1.1.2). */
static rsp_status build_eco(const json_t *op, const char *type, der_writer *w, rsp_error *err)
{
    sgp32_eco eco = {0};
    const char *eim_id = NULL;
    uint8_t *key_der = NULL;
    size_t key_len = 0;
    bool present = false;
    rsp_status status = RSP_OK;
    if (strcmp(type, "listEim") == 0) {
        eco.choice = SGP32_ECO_LIST_EIM;
    } else {
        status = string_field(op, "eimId", &eim_id, err);
        if (status == RSP_OK && strcmp(type, "deleteEim") == 0) {
            eco.choice = SGP32_ECO_DELETE_EIM;
            eco.u.delete_eim.eim_id = der_view_make((const uint8_t *)eim_id, strlen(eim_id));
        } else if (status == RSP_OK) {
            eco.choice = strcmp(type, "addEim") == 0 ? SGP32_ECO_ADD_EIM : SGP32_ECO_UPDATE_EIM;
            sgp32_eim_configuration_data *c =
                eco.choice == SGP32_ECO_ADD_EIM ? &eco.u.add_eim : &eco.u.update_eim;
            c->eim_id = der_view_make((const uint8_t *)eim_id, strlen(eim_id));
            const char *fqdn = NULL;
            status = rsp_json_get_string(op, "eimFqdn", false, &fqdn, &present, err);
            if (status == RSP_OK && present) {
                c->has_eim_fqdn = true;
                c->eim_fqdn = der_view_make((const uint8_t *)fqdn, strlen(fqdn));
            }
            int64_t counter = 0;
            if (status == RSP_OK)
                status = rsp_json_get_int(op, "counterValue", false, 0, INT64_MAX, &counter,
                                          &present, err);
            if (status == RSP_OK && present) {
                c->has_counter_value = true;
                c->counter_value = counter;
            }
            bool token = false;
            if (status == RSP_OK)
                status = rsp_json_get_bool(op, "associationToken", false, &token, &present, err);
            if (status == RSP_OK && present && token) {
                /* value -1 asks the eUICC to generate the token (SGP.32 v1.2 2.11.1.1.2) */
                c->has_association_token = true;
                c->association_token = -1;
            }
            /* eimPublicKey [0]: the SubjectPublicKeyInfo, implicitly tagged A0 */
            if (status == RSP_OK)
                status = rsp_json_get_base64(op, "eimPublicKey", false, 4096, &key_der, &key_len,
                                             &present, err);
            if (status == RSP_OK && present && key_len > 2 && key_der[0] == 0x30) {
                key_der[0] = 0xA0;
                c->has_eim_public_key_data = true;
                c->eim_public_key_data.choice = SGP32_EIM_PUBLIC_KEY_DATA_EIM_PUBLIC_KEY;
                c->eim_public_key_data.u.eim_public_key = der_view_make(key_der, key_len);
            } else if (status == RSP_OK && present) {
                status = rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0,
                                       "eimPublicKey: base64 DER SubjectPublicKeyInfo");
            }
        }
    }
    if (status == RSP_OK) {
        sgp32_euicc_package package = {.choice = SGP32_EUICC_PACKAGE_ECO_LIST};
        package.u.eco_list.count = 1;
        package.u.eco_list.items = &eco;
        status = schema_encode(&sgp32_euicc_package_type, &package, w);
        if (status != RSP_OK)
            rsp_error_set(err, status, 0, 0, "eCO does not encode");
    }
    free(key_der);
    return status;
}

static rsp_status build_download(const json_t *op, const char *eid, eim_operation *out,
                                 der_writer *w, rsp_error *err)
{
    const char *code = NULL;
    bool has_code = false;
    char built[300];
    rsp_status status = RSP_OK;
    /* per-device activation codes: {"activationCodes": {"<EID>": "1$..."}} */
    json_t *per_device = json_object_get(op, "activationCodes");
    if (json_is_object(per_device) && eid != NULL) {
        json_t *value = json_object_get(per_device, eid);
        if (!json_is_string(value))
            return rsp_error_set(err, RSP_ERR_MISSING_FIELD, 0, 0,
                                 "activationCodes has no entry for %s", eid);
        code = json_string_value(value);
    } else {
        status = rsp_json_get_string(op, "activationCode", false, &code, &has_code, err);
        if (status == RSP_OK && !has_code) {
            const char *address = NULL, *matching = "";
            status = string_field(op, "smdpAddress", &address, err);
            if (status == RSP_OK)
                status = rsp_json_get_string(op, "matchingId", false, &matching, NULL, err);
            if (status == RSP_OK) {
                snprintf(built, sizeof built, "1$%s$%s", address, matching);
                code = built;
            }
        }
    }
    activation_code parsed;
    if (status == RSP_OK)
        status = activation_code_parse(code, &parsed, err);
    /* "enable": true orders the profile's enabling once installed, "rollback" with it
     * (the ICCID comes from the installation result) */
    bool enable = false, rollback = false, present = false;
    if (status == RSP_OK)
        status = rsp_json_get_bool(op, "enable", false, &enable, &present, err);
    if (status == RSP_OK)
        status = rsp_json_get_bool(op, "rollback", false, &rollback, &present, err);
    /* "deleteIccid" (or per device "deleteIccids": {EID: ICCID}): once the enable succeeded,
     * the profile left is deleted; a chain download -> enable -> delete */
    const char *delete_iccid = NULL;
    bool has_delete = false;
    uint8_t iccid_check[10];
    if (status == RSP_OK)
        status = per_device_string(op, "deleteIccid", "deleteIccids", eid, &delete_iccid,
                                   &has_delete, err);
    if (status == RSP_OK && has_delete && !iccid_encode(delete_iccid, iccid_check))
        status = rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "deleteIccid %s: 18 to 20 digits",
                               delete_iccid);
    if (status == RSP_OK && has_delete && !enable)
        status =
            rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0,
                          "deleteIccid needs \"enable\": true (the delete follows the enable)");
    if (status == RSP_OK && enable) {
        json_t *follow = json_pack("{s:s, s:b}", "type", "enable", "rollback", rollback);
        if (has_delete)
            json_object_set_new(follow, "then",
                                json_pack("{s:s, s:s}", "type", "delete", "iccid", delete_iccid));
        out->follow_up = json_dumps(follow, JSON_COMPACT);
        json_decref(follow);
    }
    if (status != RSP_OK)
        return status;
    snprintf(out->smdp_address, sizeof out->smdp_address, "%s", parsed.smdp_address);
    sgp32_profile_download_trigger_request trigger = {
        .has_profile_download_data = true,
        .profile_download_data = {.choice = SGP32_PROFILE_DOWNLOAD_DATA_ACTIVATION_CODE},
    };
    trigger.profile_download_data.u.activation_code =
        der_view_make((const uint8_t *)code, strlen(code));
    status = schema_encode(&sgp32_profile_download_trigger_request_type, &trigger, w);
    return status == RSP_OK ? RSP_OK
                            : rsp_error_set(err, status, 0, 0, "activation code does not encode");
}

static rsp_status build_euicc_data(const json_t *op, der_writer *w, rsp_error *err)
{
    /* tagList: the IpaEuiccData tags wanted; default: default SM-DP+, package results not
     * acknowledged yet, EUICCInfo2, association token, certificates */
    static const uint8_t default_tags[] = {0x81, 0xA2, 0xBF, 0x22, 0x84, 0xA5, 0xA6};
    const char *hex = NULL;
    bool present = false;
    uint8_t tags[64];
    size_t tags_len = sizeof default_tags;
    memcpy(tags, default_tags, sizeof default_tags);
    rsp_status status = rsp_json_get_string(op, "tagList", false, &hex, &present, err);
    if (status == RSP_OK && present)
        status = rsp_hex_decode(hex, strlen(hex), tags, sizeof tags, &tags_len, err);
    if (status != RSP_OK)
        return status;
    sgp32_ipa_euicc_data_request request = {.tag_list = der_view_make(tags, tags_len)};
    status = schema_encode(&sgp32_ipa_euicc_data_request_type, &request, w);
    return status == RSP_OK ? RSP_OK : rsp_error_set(err, status, 0, 0, "tagList does not encode");
}

rsp_status eim_operation_build(const json_t *op, const char *eid, eim_operation *out,
                               rsp_error *err)
{
    memset(out, 0, sizeof *out);
    const char *type = NULL;
    rsp_status status = rsp_json_get_string(op, "type", true, &type, NULL, err);
    if (status != RSP_OK)
        return status;
    snprintf(out->name, sizeof out->name, "%s", type);
    der_writer w;
    der_writer_init_dynamic(&w, NULL);
    out->kind = EIM_KIND_EUICC_PACKAGE;
    status = RSP_ERR_NOT_FOUND;
    for (size_t i = 0; i < sizeof psmo_names / sizeof psmo_names[0]; i++)
        if (strcmp(type, psmo_names[i].name) == 0)
            status = build_psmo(op, eid, psmo_names[i].psmo, psmo_names[i].needs_iccid, &w, err);
    if (status == RSP_ERR_NOT_FOUND) {
        if (strcmp(type, "addEim") == 0 || strcmp(type, "updateEim") == 0 ||
            strcmp(type, "deleteEim") == 0 || strcmp(type, "listEim") == 0) {
            status = build_eco(op, type, &w, err);
        } else if (strcmp(type, "download") == 0) {
            out->kind = EIM_KIND_DOWNLOAD_TRIGGER;
            status = build_download(op, eid, out, &w, err);
        } else if (strcmp(type, "euiccData") == 0) {
            out->kind = EIM_KIND_IPA_EUICC_DATA;
            status = build_euicc_data(op, &w, err);
        } else {
            status =
                rsp_error_set(err, RSP_ERR_UNSUPPORTED, 0, 0, "unknown operation type '%s'", type);
        }
    }
    if (status == RSP_OK)
        out->body = der_writer_take(&w, &out->body_len);
    der_writer_free(&w);
    return status;
}

void eim_operation_free(eim_operation *op)
{
    free(op->body);
    free(op->follow_up);
    op->body = NULL;
    op->follow_up = NULL;
}
