/* SGP.32 v1.2 ES10b functions around the enabled profile without an eIM round trip:
 * ProfileRollback (BF58), ConfigureImmediateProfileEnabling (BF59), ImmediateEnable (BF5A),
 * Enable/DisableEmergencyProfile (BF5B/BF5C), ExecuteFallbackMechanism (BF5D),
 * ReturnFromFallback (BF5E), GetConnectivityParameters (BF5F); plus the fallback attribute
 * PSMOs and the immediate-enable configuration shared with LoadEuiccPackage. */
#include <string.h>

#include "euicc/euicc_package.h"
#include "euicc/isdr.h"

/* ---- Fallback / emergency state (EUICC_SLOT_FALLBACK, private schema) ------------------ */

static const schema_field fallback_state_fields[] = {
    SCHEMA_FIELD_NAMED("fallbackActive", euicc_fallback_state, fallback_active, 0x80,
                       schema_boolean),
    SCHEMA_OPT_NAMED("fallbackReturnIccid", euicc_fallback_state, fallback_return_iccid, 0x81,
                     schema_octets),
    SCHEMA_FIELD_NAMED("emergencyActive", euicc_fallback_state, emergency_active, 0x82,
                       schema_boolean),
    SCHEMA_OPT_NAMED("emergencyReturnIccid", euicc_fallback_state, emergency_return_iccid, 0x83,
                     schema_octets),
};
static const schema_type fallback_state_type = SCHEMA_SEQUENCE_TYPE(
    "FallbackState", 0x30, euicc_fallback_state, fallback_state_fields, SCHEMA_EXTENSIBLE);

rsp_status euicc_fallback_state_get(const euicc *e, euicc_fallback_state *out)
{
    der_view slot = euicc_state_slot(euicc_get_state_const((euicc *)e), EUICC_SLOT_FALLBACK);
    rsp_error err = {0};
    memset(out, 0, sizeof(*out));
    if (slot.len == 0)
        return RSP_OK;
    return schema_decode(&fallback_state_type, slot, out, NULL, &err);
}

rsp_status euicc_fallback_state_set(euicc *e, const euicc_fallback_state *value)
{
    der_writer w;
    euicc_state *s = euicc_get_state(e);
    if (!value->fallback_active && !value->emergency_active)
        return euicc_state_set_slot(s, EUICC_SLOT_FALLBACK, NULL, 0);
    der_writer_init_dynamic(&w, NULL);
    rsp_status status = schema_encode(&fallback_state_type, value, &w);
    if (status == RSP_OK)
        status = euicc_state_set_slot(s, EUICC_SLOT_FALLBACK, w.buf, w.len);
    der_writer_free(&w);
    return status;
}

static bool profile_enabled(const euicc *e, long index)
{
    return index >= 0 &&
           euicc_state_find_enabled_profile(euicc_get_state_const((euicc *)e)) == index;
}

/* SGP.32 v1.2 section 4.4: the Emergency Profile is the one with ecallIndication TRUE. */
bool euicc_emergency_active(const euicc *e)
{
    return profile_enabled(e, euicc_find_emergency_profile(e));
}

typedef bool (*profile_predicate)(const sgp32_profile_info *info);

static long find_profile(const euicc *e, profile_predicate predicate)
{
    const euicc_state *s = euicc_get_state_const((euicc *)e);
    size_t count = euicc_state_count(s, EUICC_LIST_PROFILES);
    for (size_t i = 0; i < count; i++) {
        euicc_loaded_profile profile;
        rsp_error err = {0};
        if (euicc_state_profile_load(s, i, true, &profile, &err) != RSP_OK)
            continue;
        bool match = predicate(&profile.record.info);
        euicc_loaded_profile_release(&profile);
        if (match)
            return (long)i;
    }
    return -1;
}

static bool is_fallback(const sgp32_profile_info *info)
{
    return info->has_fallback_attribute && info->fallback_attribute;
}

static bool is_emergency(const sgp32_profile_info *info)
{
    return info->has_ecall_indication && info->ecall_indication;
}

long euicc_find_fallback_profile(const euicc *e)
{
    return find_profile(e, is_fallback);
}

long euicc_find_emergency_profile(const euicc *e)
{
    return find_profile(e, is_emergency);
}

/* Rewrites the fallbackAttribute of profile index (DEFAULT FALSE: absent when cleared). */
static rsp_status write_fallback_attribute(euicc *e, long index, bool value)
{
    euicc_loaded_profile profile;
    rsp_error err = {0};
    euicc_state *s = euicc_get_state(e);
    rsp_status status = euicc_state_profile_load(s, (size_t)index, false, &profile, &err);
    if (status != RSP_OK)
        return status;
    profile.record.info.has_fallback_attribute = value;
    profile.record.info.fallback_attribute = value;
    status = euicc_state_profile_update(s, (size_t)index, &profile.record);
    euicc_loaded_profile_release(&profile);
    return status;
}

/* fallbackAllowed [103] is the Profile Owner's permission; only an explicit FALSE refuses. */
static bool fallback_allowed(const euicc *e, long index)
{
    euicc_loaded_profile profile;
    rsp_error err = {0};
    if (euicc_state_profile_load(euicc_get_state_const((euicc *)e), (size_t)index, true, &profile,
                                 &err) != RSP_OK)
        return false;
    bool allowed =
        !profile.record.info.has_fallback_allowed || profile.record.info.fallback_allowed;
    euicc_loaded_profile_release(&profile);
    return allowed;
}

/* SGP.32 v1.2 section 2.11.1.1.3: setFallbackAttribute (moves it from any other profile) */
int64_t euicc_psmo_set_fallback_attribute(euicc *e, der_view iccid)
{
    long index = euicc_profile_find(e, false, iccid);
    if (index < 0)
        return SGP32_SET_FALLBACK_ATTRIBUTE_RESULT_ICCID_OR_AID_NOT_FOUND;
    if (!fallback_allowed(e, index))
        return SGP32_SET_FALLBACK_ATTRIBUTE_RESULT_FALLBACK_NOT_ALLOWED;
    long holder = euicc_find_fallback_profile(e);
    if (holder == index)
        return SGP32_SET_FALLBACK_ATTRIBUTE_RESULT_OK;
    if (holder >= 0 && profile_enabled(e, holder))
        return SGP32_SET_FALLBACK_ATTRIBUTE_RESULT_FALLBACK_PROFILE_ENABLED;
    rsp_status status = RSP_OK;
    if (holder >= 0)
        status = write_fallback_attribute(e, holder, false);
    if (status == RSP_OK)
        status = write_fallback_attribute(e, index, true);
    return status == RSP_OK ? SGP32_SET_FALLBACK_ATTRIBUTE_RESULT_OK
                            : SGP32_SET_FALLBACK_ATTRIBUTE_RESULT_UNDEFINED_ERROR;
}

/* SGP.32 v1.2 section 2.11.1.1.3: unsetFallbackAttribute */
int64_t euicc_psmo_unset_fallback_attribute(euicc *e)
{
    long holder = euicc_find_fallback_profile(e);
    if (holder < 0)
        return SGP32_UNSET_FALLBACK_ATTRIBUTE_RESULT_NO_FALLBACK_ATTRIBUTE;
    if (profile_enabled(e, holder))
        return SGP32_UNSET_FALLBACK_ATTRIBUTE_RESULT_FALLBACK_PROFILE_ENABLED;
    return write_fallback_attribute(e, holder, false) == RSP_OK
               ? SGP32_UNSET_FALLBACK_ATTRIBUTE_RESULT_OK
               : SGP32_UNSET_FALLBACK_ATTRIBUTE_RESULT_UNDEFINED_ERROR;
}

/* SGP.32 v1.2 sections 2.11.1.1.3 and 5.9.17: the configuration is kept as its BF59 TLV. */
int64_t
euicc_configure_immediate_enable(euicc *e,
                                 const sgp32_configure_immediate_profile_enabling_request *request)
{
    der_writer w;
    der_writer_init_dynamic(&w, NULL);
    rsp_status status =
        schema_encode(&sgp32_configure_immediate_profile_enabling_request_type, request, &w);
    if (status == RSP_OK)
        status =
            euicc_state_set_slot(euicc_get_state(e), EUICC_SLOT_IMMEDIATE_ENABLE, w.buf, w.len);
    der_writer_free(&w);
    if (status == RSP_ERR_NO_MEMORY)
        return SGP32_CONFIGURE_IMMEDIATE_ENABLE_RESULT_INSUFFICIENT_MEMORY;
    return status == RSP_OK ? SGP32_CONFIGURE_IMMEDIATE_ENABLE_RESULT_OK
                            : SGP32_CONFIGURE_IMMEDIATE_ENABLE_RESULT_UNDEFINED_ERROR;
}

/* ---- Helpers shared by the handlers --------------------------------------------------- */

static rsp_status decode_refresh_request(const schema_type *type, der_view command,
                                         bool *refresh_flag)
{
    sgp32_refresh_flag_request request;
    rsp_error err = {0};
    rsp_status status = schema_decode(type, command, &request, NULL, &err);
    if (status == RSP_OK)
        *refresh_flag = request.refresh_flag;
    return status;
}

static rsp_status answer_result(const schema_type *type, int64_t result, der_writer *response)
{
    sgp32_result_response answer = {result};
    return schema_encode(type, &answer, response);
}

/* ICCID (10 octets) of profile index into out; false when unavailable. */
static bool iccid_of(const euicc *e, long index, uint8_t out[EUICC_ICCID_SIZE])
{
    euicc_loaded_profile profile;
    rsp_error err = {0};
    if (index < 0 || euicc_state_profile_load(euicc_get_state_const((euicc *)e), (size_t)index,
                                              true, &profile, &err) != RSP_OK)
        return false;
    bool ok = profile.record.info.has_iccid && profile.record.info.iccid.len == EUICC_ICCID_SIZE;
    if (ok)
        memcpy(out, profile.record.info.iccid.data, EUICC_ICCID_SIZE);
    euicc_loaded_profile_release(&profile);
    return ok;
}

/* Switches to target (ignoring PPRs, as the fallback and emergency mechanisms must work
 * whatever the enabled profile's rules say). */
static bool switch_to(euicc *e, long target, bool refresh_flag)
{
    euicc_profile_operation options = {refresh_flag, true, false};
    int64_t code = 0;
    return euicc_profile_enable(e, (size_t)target, &options, &code) == RSP_OK &&
           code == SGP22_ENABLE_RESULT_OK;
}

/* Goes back to the profile named by iccid, or (none / gone) just disables current. */
static bool switch_back(euicc *e, bool has_iccid, der_view iccid, long current, bool refresh_flag)
{
    long target = has_iccid ? euicc_profile_find(e, false, iccid) : -1;
    if (target >= 0)
        return switch_to(e, target, refresh_flag);
    euicc_profile_operation options = {refresh_flag, true, false};
    int64_t code = 0;
    return euicc_profile_disable(e, (size_t)current, &options, &code) == RSP_OK &&
           code == SGP22_DISABLE_RESULT_OK;
}

/* Enables target (the emergency or the fallback profile), noting in return_iccid the ICCID
 * of current, the profile to come back to; false, with the state rolled back, when the
 * switch fails. */
static bool enter_special_profile(euicc *e, long current, long target, bool refresh_flag,
                                  bool *has_return, uint8_t return_iccid[EUICC_ICCID_SIZE])
{
    *has_return = iccid_of(e, current, return_iccid);
    if (switch_to(e, target, refresh_flag))
        return true;
    euicc_state_rollback(euicc_get_state(e));
    return false;
}

/* Leaves special (the emergency or the fallback profile) for the one named by return_iccid;
 * false, with the state rolled back, when the switch fails. return_iccid borrows from the
 * fallback slot; the copy keeps the switch independent of that slot's lifetime. A stored
 * value of the wrong size names no profile and is not read. */
static bool leave_special_profile(euicc *e, bool has_return, der_view return_iccid, long special,
                                  bool refresh_flag)
{
    uint8_t back[EUICC_ICCID_SIZE];
    bool has_back = has_return && return_iccid.len == EUICC_ICCID_SIZE;
    if (has_back)
        memcpy(back, return_iccid.data, EUICC_ICCID_SIZE);
    if (switch_back(e, has_back, der_view_make(back, EUICC_ICCID_SIZE), special, refresh_flag))
        return true;
    euicc_state_rollback(euicc_get_state(e));
    return false;
}

/* CR111007R00: a refreshing profile change outside the eIM's package (emergency, fallback,
 * immediate enable) withdraws the rollback permission; one without refresh keeps it. */
static rsp_status withdraw_rollback(euicc *e, bool refresh_flag)
{
    return refresh_flag ? euicc_rollback_clear(e) : RSP_OK;
}

/* ---- ProfileRollback -------------------------------------------------------------------- */

static rsp_status rollback_result_list(der_writer *out)
{
    sgp32_euicc_result_data result;
    memset(&result, 0, sizeof(result));
    result.choice = SGP32_EUICC_RESULT_DATA_ROLLBACK_RESULT;
    result.u.rollback_result = SGP32_ROLLBACK_PROFILE_RESULT_OK;
    return schema_encode(&sgp32_euicc_result_data_type, &result, out);
}

/* ProfileRollbackResponse without eUICCPackageResult (the rollback did not happen). */
static rsp_status answer_rollback_refused(int64_t code, der_writer *response)
{
    sgp32_profile_rollback_response answer;
    memset(&answer, 0, sizeof(answer));
    answer.cmd_result = code;
    return schema_encode(&sgp32_profile_rollback_response_type, &answer, response);
}

/* SGP.32 v1.2 section 5.9.16: ProfileRollback, answered with a new signed eUICC Package
 * Result (rollbackResult) for the package that granted the rollback. */
rsp_status es10b_profile_rollback(euicc *e, unsigned channel, der_view command,
                                  der_writer *response)
{
    (void)channel;
    bool refresh_flag = false;
    euicc_rollback_snapshot snapshot;
    rsp_status status =
        decode_refresh_request(&sgp32_profile_rollback_request_type, command, &refresh_flag);
    if (status != RSP_OK)
        return status;
    if (euicc_rollback_get(e, &snapshot) != RSP_OK)
        return answer_rollback_refused(SGP32_PROFILE_ROLLBACK_RESULT_ROLLBACK_NOT_ALLOWED,
                                       response);
    long current = euicc_profile_find(e, false, snapshot.enabled_iccid);
    if (!profile_enabled(e, current) ||
        !switch_back(e, snapshot.has_previous_iccid, snapshot.previous_iccid, current,
                     refresh_flag)) {
        euicc_state_rollback(euicc_get_state(e));
        return answer_rollback_refused(SGP32_PROFILE_ROLLBACK_RESULT_COMMAND_ERROR, response);
    }
    sgp32_eim_configuration_data eim;
    bool has_eim = euicc_eim_find(euicc_get_state_const(e), snapshot.eim_id, &eim) >= 0;
    bool has_token = has_eim && eim.has_association_token;
    int64_t token = has_token ? eim.association_token : 0;
    /* copies: the snapshot borrows from the slot that is cleared below */
    uint8_t eim_id[128], transaction[16];
    size_t eim_id_len = snapshot.eim_id.len <= sizeof(eim_id) ? snapshot.eim_id.len : 0;
    size_t transaction_len =
        snapshot.has_eim_transaction_id && snapshot.eim_transaction_id.len <= sizeof(transaction)
            ? snapshot.eim_transaction_id.len
            : 0;
    memcpy(eim_id, snapshot.eim_id.data, eim_id_len);
    if (transaction_len > 0)
        memcpy(transaction, snapshot.eim_transaction_id.data, transaction_len);
    int64_t counter_value = snapshot.counter_value;
    der_writer results, result;
    int64_t seq_number = 0;
    der_writer_init_dynamic(&results, NULL);
    der_writer_init_dynamic(&result, NULL);
    status = euicc_rollback_clear(e);
    if (status == RSP_OK)
        status = rollback_result_list(&results);
    if (status == RSP_OK)
        status = euicc_package_result_issue(e, der_view_make(eim_id, eim_id_len), counter_value,
                                            der_view_make(transaction, transaction_len),
                                            has_token ? &token : NULL, der_writer_view(&results),
                                            &seq_number, &result);
    if (status == RSP_OK) {
        size_t mark = der_begin(response, 0xBF58);
        der_put_int64(response, 0x02, SGP32_PROFILE_ROLLBACK_RESULT_OK);
        der_put_raw(response, result.buf, result.len);
        der_end(response, mark);
        status = der_writer_status(response);
    }
    der_writer_free(&results);
    der_writer_free(&result);
    return status;
}

/* ---- Immediate enable --------------------------------------------------------------------- */

/* SGP.32 v1.2 section 5.9.17: ConfigureImmediateProfileEnabling, the unsigned path, only
 * while no eIM is associated (afterwards the eIM configures it with a PSMO). */
rsp_status es10b_configure_immediate_profile_enabling(euicc *e, unsigned channel, der_view command,
                                                      der_writer *response)
{
    (void)channel;
    sgp32_configure_immediate_profile_enabling_request request;
    rsp_error err = {0};
    rsp_status status = schema_decode(&sgp32_configure_immediate_profile_enabling_request_type,
                                      command, &request, NULL, &err);
    if (status != RSP_OK)
        return status;
    int64_t result = SGP32_CONFIG_IMMEDIATE_ENABLE_RESULT_ASSOCIATED_EIM_ALREADY_EXISTS;
    if (euicc_state_count(euicc_get_state_const(e), EUICC_LIST_EIMS) == 0)
        result = euicc_configure_immediate_enable(e, &request);
    return answer_result(&sgp32_configure_immediate_profile_enabling_response_type, result,
                         response);
}

/* The configured default SM-DP+ limits immediate enabling to the profiles it installed. */
static bool from_configured_smdp(const euicc *e, long index,
                                 const sgp32_configure_immediate_profile_enabling_request *config)
{
    euicc_loaded_profile profile;
    rsp_error err = {0};
    if (!config->has_default_smdp_address)
        return true;
    if (euicc_state_profile_load(euicc_get_state_const((euicc *)e), (size_t)index, false, &profile,
                                 &err) != RSP_OK)
        return false;
    bool match = profile.record.has_smdp_address &&
                 der_view_equal(profile.record.smdp_address, config->default_smdp_address);
    euicc_loaded_profile_release(&profile);
    return match;
}

/* SGP.32 v1.2 section 5.9.15: ImmediateEnable of the profile just downloaded (the last one
 * installed, still disabled), when the configuration allows it. */
rsp_status es10b_immediate_enable(euicc *e, unsigned channel, der_view command,
                                  der_writer *response)
{
    (void)channel;
    bool refresh_flag = false;
    sgp32_configure_immediate_profile_enabling_request config;
    rsp_error err = {0};
    rsp_status status =
        decode_refresh_request(&sgp32_immediate_enable_request_type, command, &refresh_flag);
    if (status != RSP_OK)
        return status;
    der_view slot = euicc_state_slot(euicc_get_state_const(e), EUICC_SLOT_IMMEDIATE_ENABLE);
    int64_t result = SGP32_IMMEDIATE_ENABLE_RESULT_IMMEDIATE_ENABLE_NOT_AVAILABLE;
    if (slot.len == 0 ||
        schema_decode(&sgp32_configure_immediate_profile_enabling_request_type, slot, &config, NULL,
                      &err) != RSP_OK ||
        !config.has_immediate_enable_flag)
        return answer_result(&sgp32_immediate_enable_response_type, result, response);
    size_t count = euicc_state_count(euicc_get_state_const(e), EUICC_LIST_PROFILES);
    long last = count > 0 ? (long)count - 1 : -1;
    if (last < 0 || profile_enabled(e, last)) {
        result = SGP32_IMMEDIATE_ENABLE_RESULT_NO_SESSION_CONTEXT;
    } else if (!from_configured_smdp(e, last, &config)) {
        result = SGP32_IMMEDIATE_ENABLE_RESULT_IMMEDIATE_ENABLE_NOT_AVAILABLE;
    } else {
        euicc_profile_operation options = {refresh_flag, false, false};
        int64_t code = 0;
        status = euicc_profile_enable(e, (size_t)last, &options, &code);
        if (status != RSP_OK)
            return status;
        result = code == SGP22_ENABLE_RESULT_OK ? SGP32_IMMEDIATE_ENABLE_RESULT_OK
                                                : SGP32_IMMEDIATE_ENABLE_RESULT_UNDEFINED_ERROR;
        if (code == SGP22_ENABLE_RESULT_OK)
            status = withdraw_rollback(e, refresh_flag);
    }
    return status == RSP_OK ? answer_result(&sgp32_immediate_enable_response_type, result, response)
                            : status;
}

/* ---- Emergency profile -------------------------------------------------------------------- */

/* SGP.32 v1.2 section 5.9.22: EnableEmergencyProfile */
rsp_status es10b_enable_emergency_profile(euicc *e, unsigned channel, der_view command,
                                          der_writer *response)
{
    (void)channel;
    bool refresh_flag = false;
    euicc_fallback_state state;
    uint8_t previous[EUICC_ICCID_SIZE];
    rsp_status status = decode_refresh_request(&sgp32_enable_emergency_profile_request_type,
                                               command, &refresh_flag);
    if (status == RSP_OK)
        status = euicc_fallback_state_get(e, &state);
    if (status != RSP_OK)
        return status;
    int64_t result = SGP32_ENABLE_EMERGENCY_PROFILE_RESULT_OK;
    long emergency = euicc_find_emergency_profile(e);
    long current = euicc_state_find_enabled_profile(euicc_get_state_const(e));
    if (emergency < 0) {
        result = SGP32_ENABLE_EMERGENCY_PROFILE_RESULT_ECALL_NOT_AVAILABLE;
    } else if (current == emergency) {
        result = SGP32_ENABLE_EMERGENCY_PROFILE_RESULT_PROFILE_NOT_IN_DISABLED_STATE;
    } else {
        bool has_previous = false;
        if (!enter_special_profile(e, current, emergency, refresh_flag, &has_previous, previous)) {
            result = SGP32_ENABLE_EMERGENCY_PROFILE_RESULT_UNDEFINED_ERROR;
        } else {
            state.emergency_active = true;
            state.has_emergency_return_iccid = has_previous;
            state.emergency_return_iccid = der_view_make(previous, EUICC_ICCID_SIZE);
            status = euicc_fallback_state_set(e, &state);
            if (status == RSP_OK)
                status = withdraw_rollback(e, refresh_flag);
        }
    }
    return status == RSP_OK
               ? answer_result(&sgp32_enable_emergency_profile_response_type, result, response)
               : status;
}

/* SGP.32 v1.2 section 5.9.23: DisableEmergencyProfile, back to the profile enabled before */
rsp_status es10b_disable_emergency_profile(euicc *e, unsigned channel, der_view command,
                                           der_writer *response)
{
    (void)channel;
    bool refresh_flag = false;
    euicc_fallback_state state;
    rsp_status status = decode_refresh_request(&sgp32_disable_emergency_profile_request_type,
                                               command, &refresh_flag);
    if (status == RSP_OK)
        status = euicc_fallback_state_get(e, &state);
    if (status != RSP_OK)
        return status;
    int64_t result = SGP32_DISABLE_EMERGENCY_PROFILE_RESULT_OK;
    long emergency = euicc_find_emergency_profile(e);
    if (!profile_enabled(e, emergency)) {
        result = SGP32_DISABLE_EMERGENCY_PROFILE_RESULT_PROFILE_NOT_IN_ENABLED_STATE;
    } else {
        bool has_back = state.emergency_active && state.has_emergency_return_iccid;
        if (!leave_special_profile(e, has_back, state.emergency_return_iccid, emergency,
                                   refresh_flag)) {
            result = SGP32_DISABLE_EMERGENCY_PROFILE_RESULT_UNDEFINED_ERROR;
        } else {
            state.emergency_active = false;
            state.has_emergency_return_iccid = false;
            status = euicc_fallback_state_set(e, &state);
            if (status == RSP_OK)
                status = withdraw_rollback(e, refresh_flag);
        }
    }
    return status == RSP_OK
               ? answer_result(&sgp32_disable_emergency_profile_response_type, result, response)
               : status;
}

/* ---- Fallback ------------------------------------------------------------------------------ */

/* SGP.32 v1.2 section 5.9.20: ExecuteFallbackMechanism */
rsp_status es10b_execute_fallback_mechanism(euicc *e, unsigned channel, der_view command,
                                            der_writer *response)
{
    (void)channel;
    bool refresh_flag = false;
    euicc_fallback_state state;
    uint8_t previous[EUICC_ICCID_SIZE];
    rsp_status status = decode_refresh_request(&sgp32_execute_fallback_mechanism_request_type,
                                               command, &refresh_flag);
    if (status == RSP_OK)
        status = euicc_fallback_state_get(e, &state);
    if (status != RSP_OK)
        return status;
    int64_t result = SGP32_EXECUTE_FALLBACK_RESULT_OK;
    long fallback = euicc_find_fallback_profile(e);
    long current = euicc_state_find_enabled_profile(euicc_get_state_const(e));
    if (euicc_emergency_active(e)) {
        result = SGP32_EXECUTE_FALLBACK_RESULT_ECALL_ACTIVE;
    } else if (fallback < 0) {
        result = SGP32_EXECUTE_FALLBACK_RESULT_FALLBACK_NOT_AVAILABLE;
    } else if (current == fallback) {
        result = SGP32_EXECUTE_FALLBACK_RESULT_PROFILE_NOT_IN_DISABLED_STATE;
    } else {
        bool has_previous = false;
        if (!enter_special_profile(e, current, fallback, refresh_flag, &has_previous, previous)) {
            result = SGP32_EXECUTE_FALLBACK_RESULT_UNDEFINED_ERROR;
        } else {
            state.fallback_active = true;
            state.has_fallback_return_iccid = has_previous;
            state.fallback_return_iccid = der_view_make(previous, EUICC_ICCID_SIZE);
            status = euicc_fallback_state_set(e, &state);
            if (status == RSP_OK)
                status = withdraw_rollback(e, refresh_flag);
        }
    }
    return status == RSP_OK
               ? answer_result(&sgp32_execute_fallback_mechanism_response_type, result, response)
               : status;
}

/* SGP.32 v1.2 section 5.9.21: ReturnFromFallback, to the profile enabled before the fallback */
rsp_status es10b_return_from_fallback(euicc *e, unsigned channel, der_view command,
                                      der_writer *response)
{
    (void)channel;
    bool refresh_flag = false;
    euicc_fallback_state state;
    rsp_status status =
        decode_refresh_request(&sgp32_return_from_fallback_request_type, command, &refresh_flag);
    if (status == RSP_OK)
        status = euicc_fallback_state_get(e, &state);
    if (status != RSP_OK)
        return status;
    int64_t result = SGP32_RETURN_FROM_FALLBACK_RESULT_OK;
    long fallback = euicc_find_fallback_profile(e);
    if (fallback < 0) {
        result = SGP32_RETURN_FROM_FALLBACK_RESULT_FALLBACK_NOT_AVAILABLE;
    } else if (!state.fallback_active || !profile_enabled(e, fallback)) {
        result = SGP32_RETURN_FROM_FALLBACK_RESULT_COMMAND_ERROR;
    } else {
        if (!leave_special_profile(e, state.has_fallback_return_iccid, state.fallback_return_iccid,
                                   fallback, refresh_flag)) {
            result = SGP32_RETURN_FROM_FALLBACK_RESULT_UNDEFINED_ERROR;
        } else {
            state.fallback_active = false;
            state.has_fallback_return_iccid = false;
            status = euicc_fallback_state_set(e, &state);
            if (status == RSP_OK)
                status = withdraw_rollback(e, refresh_flag);
        }
    }
    return status == RSP_OK
               ? answer_result(&sgp32_return_from_fallback_response_type, result, response)
               : status;
}

/* ---- Connectivity ------------------------------------------------------------------------ */

/* SGP.32 v1.2 section 5.9.24: GetConnectivityParameters. This eUICC stores no HTTP
 * connectivity parameters in its profiles (SAIP carries none), so it says so. */
rsp_status es10b_get_connectivity_parameters(euicc *e, unsigned channel, der_view command,
                                             der_writer *response)
{
    (void)e;
    (void)channel;
    sgp32_empty request;
    sgp32_get_connectivity_parameters_response answer;
    rsp_error err = {0};
    rsp_status status = schema_decode(&sgp32_get_connectivity_parameters_request_type, command,
                                      &request, NULL, &err);
    if (status != RSP_OK)
        return status;
    memset(&answer, 0, sizeof(answer));
    answer.choice = SGP32_GET_CONNECTIVITY_PARAMETERS_RESPONSE_CONNECTIVITY_PARAMETERS_ERROR;
    answer.u.connectivity_parameters_error =
        SGP32_CONNECTIVITY_PARAMETERS_ERROR_PARAMETERS_NOT_AVAILABLE;
    return schema_encode(&sgp32_get_connectivity_parameters_response_type, &answer, response);
}
