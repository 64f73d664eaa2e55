/* ES10c: local profile management (SGP.22 v2.5 sections 5.7.15 to 5.7.21) and the profile
 * operations SGP.32 PSMOs reuse. */
#include <string.h>

#include "core/sgp22.h"
#include "core/sgp32.h"
#include "euicc/isdr.h"
#include "euicc/notification.h"

static rsp_status load_profile(const euicc *e, size_t index, euicc_loaded_profile *out)
{
    rsp_error err = {0};
    return euicc_state_profile_load(euicc_get_state_const(e), index, false, out, &err);
}

static int64_t profile_state(const euicc_profile_record *r)
{
    return r->info.has_profile_state ? r->info.profile_state : SGP22_PROFILE_STATE_DISABLED;
}

/* profileClass is DEFAULT operational in the metadata. */
static int64_t profile_class(const euicc_profile_record *r)
{
    return r->info.has_profile_class ? r->info.profile_class : SGP22_PROFILE_CLASS_OPERATIONAL;
}

static bool has_ppr(const euicc_profile_record *r, unsigned ppr)
{
    return r->info.has_profile_policy_rules && schema_bits_get(&r->info.profile_policy_rules, ppr);
}

long euicc_profile_find(const euicc *e, bool by_aid, der_view identifier)
{
    const euicc_state *s = euicc_get_state_const(e);
    return by_aid ? euicc_state_find_profile_by_aid(s, identifier)
                  : euicc_state_find_profile_by_iccid(s, identifier);
}

static rsp_status notify(euicc *e, const euicc_profile_operation *options,
                         const euicc_profile_record *record, unsigned event)
{
    if (options != NULL && options->skip_notification)
        return RSP_OK;
    return euicc_notification_for_profile(e, record, event);
}

static bool ppr_applies(const euicc_profile_operation *options)
{
    return options == NULL || !options->ignore_ppr;
}

/* SGP.22 v2.5 section 5.7.16, with both records loaded (current NULL: none enabled). */
static rsp_status enable_loaded(euicc *e, size_t index, const euicc_profile_record *target,
                                long enabled, const euicc_profile_record *current,
                                const euicc_profile_operation *options, int64_t *result)
{
    if (profile_state(target) != SGP22_PROFILE_STATE_DISABLED) {
        *result = SGP22_ENABLE_RESULT_PROFILE_NOT_IN_DISABLED_STATE;
        return RSP_OK;
    }
    /* PPR1: the enabled profile may not be disabled, so nothing else may be enabled. */
    if (current != NULL && ppr_applies(options) && has_ppr(current, SGP22_PPR1)) {
        *result = SGP22_ENABLE_RESULT_DISALLOWED_BY_POLICY;
        return RSP_OK;
    }
    /* Notifications first: they read the records that the state changes replace. */
    rsp_status status = RSP_OK;
    if (current != NULL)
        status = notify(e, options, current, SGP22_NOTIFICATION_DISABLE);
    if (status == RSP_OK)
        status = notify(e, options, target, SGP22_NOTIFICATION_ENABLE);
    euicc_state *s = euicc_get_state(e);
    if (status == RSP_OK && current != NULL)
        status = euicc_state_profile_set_state(s, (size_t)enabled, SGP22_PROFILE_STATE_DISABLED);
    if (status == RSP_OK)
        status = euicc_state_profile_set_state(s, index, SGP22_PROFILE_STATE_ENABLED);
    if (status == RSP_OK)
        *result = SGP22_ENABLE_RESULT_OK;
    return status;
}

/* SGP.22 v2.5 section 5.7.16 */
rsp_status euicc_profile_enable(euicc *e, size_t index, const euicc_profile_operation *options,
                                int64_t *result)
{
    euicc_loaded_profile target, current;
    rsp_status status = load_profile(e, index, &target);
    if (status != RSP_OK)
        return status;
    long enabled = euicc_state_find_enabled_profile(euicc_get_state_const(e));
    bool have_current = false;
    if (enabled >= 0 && (size_t)enabled != index) {
        status = load_profile(e, (size_t)enabled, &current);
        have_current = status == RSP_OK;
    }
    if (status == RSP_OK)
        status = enable_loaded(e, index, &target.record, enabled,
                               have_current ? &current.record : NULL, options, result);
    if (have_current)
        euicc_loaded_profile_release(&current);
    euicc_loaded_profile_release(&target);
    return status;
}

/* SGP.22 v2.5 section 5.7.17 */
static rsp_status disable_loaded(euicc *e, size_t index, const euicc_profile_record *target,
                                 const euicc_profile_operation *options, int64_t *result)
{
    if (profile_state(target) != SGP22_PROFILE_STATE_ENABLED) {
        *result = SGP22_DISABLE_RESULT_PROFILE_NOT_IN_ENABLED_STATE;
        return RSP_OK;
    }
    if (ppr_applies(options) && has_ppr(target, SGP22_PPR1)) {
        *result = SGP22_DISABLE_RESULT_DISALLOWED_BY_POLICY;
        return RSP_OK;
    }
    rsp_status status = notify(e, options, target, SGP22_NOTIFICATION_DISABLE);
    if (status == RSP_OK)
        status =
            euicc_state_profile_set_state(euicc_get_state(e), index, SGP22_PROFILE_STATE_DISABLED);
    if (status == RSP_OK)
        *result = SGP22_DISABLE_RESULT_OK;
    return status;
}

rsp_status euicc_profile_disable(euicc *e, size_t index, const euicc_profile_operation *options,
                                 int64_t *result)
{
    euicc_loaded_profile target;
    rsp_status status = load_profile(e, index, &target);
    if (status != RSP_OK)
        return status;
    status = disable_loaded(e, index, &target.record, options, result);
    euicc_loaded_profile_release(&target);
    return status;
}

/* SGP.22 v2.5 section 5.7.18 */
static rsp_status delete_loaded(euicc *e, size_t index, const euicc_profile_record *target,
                                const euicc_profile_operation *options, int64_t *result)
{
    if (profile_state(target) != SGP22_PROFILE_STATE_DISABLED) {
        *result = SGP22_DELETE_RESULT_PROFILE_NOT_IN_DISABLED_STATE;
        return RSP_OK;
    }
    if (ppr_applies(options) && has_ppr(target, SGP22_PPR2)) {
        *result = SGP22_DELETE_RESULT_DISALLOWED_BY_POLICY;
        return RSP_OK;
    }
    rsp_status status = notify(e, options, target, SGP22_NOTIFICATION_DELETE);
    if (status == RSP_OK)
        status = euicc_state_remove(euicc_get_state(e), EUICC_LIST_PROFILES, index);
    if (status == RSP_OK)
        *result = SGP22_DELETE_RESULT_OK;
    return status;
}

rsp_status euicc_profile_delete(euicc *e, size_t index, const euicc_profile_operation *options,
                                int64_t *result)
{
    euicc_loaded_profile target;
    rsp_status status = load_profile(e, index, &target);
    if (status != RSP_OK)
        return status;
    status = delete_loaded(e, index, &target.record, options, result);
    euicc_loaded_profile_release(&target);
    return status;
}

/* ---- GetProfilesInfo ------------------------------------------------------------------ */

/* SGP.22 v2.5 section 5.7.15: without a tagList the eUICC returns the basic set (ICCID, ISD-P
 * AID, state, nickname, service provider name, profile name, icon type, icon, class). */
static const uint8_t default_tag_list[] = {0x5A, 0x4F, 0x9F, 0x70, 0x90,
                                           0x91, 0x92, 0x93, 0x94, 0x95};

/* Reads the next BER tag of a tag list; false at the end or on a malformed tag. */
static bool next_tag(der_view list, size_t *pos, uint32_t *tag)
{
    if (*pos >= list.len)
        return false;
    uint32_t value = list.data[(*pos)++];
    if ((value & 0x1F) == 0x1F) {
        uint8_t byte;
        size_t extra = 0;
        do {
            if (*pos >= list.len || ++extra > 3)
                return false;
            byte = list.data[(*pos)++];
            value = (value << 8) | byte;
        } while (byte & 0x80);
    }
    *tag = value;
    return true;
}

static bool tag_list_valid(der_view list)
{
    size_t pos = 0;
    uint32_t tag;
    while (pos < list.len)
        if (!next_tag(list, &pos, &tag))
            return false;
    return true;
}

static bool tag_listed(der_view list, uint32_t wanted)
{
    size_t pos = 0;
    uint32_t tag;
    while (next_tag(list, &pos, &tag))
        if (tag == wanted)
            return true;
    return false;
}

static bool matches_criteria(const sgp22_profile_info_list_request *request,
                             const euicc_profile_record *r)
{
    if (!request->has_search_criteria)
        return true;
    const sgp22_profile_info_list_search_criteria *c = &request->search_criteria;
    switch (c->choice) {
    case SGP22_PROFILE_INFO_LIST_SEARCH_CRITERIA_ISDP_AID:
        return r->info.has_isdp_aid && der_view_equal(r->info.isdp_aid, c->u.isdp_aid);
    case SGP22_PROFILE_INFO_LIST_SEARCH_CRITERIA_ICCID:
        return r->info.has_iccid && der_view_equal(r->info.iccid, c->u.iccid);
    case SGP22_PROFILE_INFO_LIST_SEARCH_CRITERIA_PROFILE_CLASS:
        return profile_class(r) == c->u.profile_class;
    default:
        return false;
    }
}

/* Writes ProfileInfo (E3) with only the fields whose tags are listed. */
static rsp_status write_selected_fields(const euicc_profile_record *r, der_view tag_list,
                                        der_writer *out)
{
    der_writer full;
    der_writer_init_dynamic(&full, NULL);
    rsp_status status = schema_encode(&sgp32_profile_info_type, &r->info, &full);
    der_tlv whole, field;
    der_reader reader;
    rsp_error err = {0};
    if (status == RSP_OK)
        status = der_parse_single(der_writer_view(&full), &whole, &err);
    if (status == RSP_OK)
        status = der_reader_enter(&whole, 0, &reader, &err);
    if (status == RSP_OK) {
        size_t mark = der_begin(out, 0xE3);
        while (status == RSP_OK && !der_reader_at_end(&reader)) {
            status = der_reader_next(&reader, &field, &err);
            if (status == RSP_OK && tag_listed(tag_list, field.tag))
                der_put_raw(out, field.whole.data, field.whole.len);
        }
        der_end(out, mark);
    }
    der_writer_free(&full);
    return status == RSP_OK ? der_writer_status(out) : status;
}

static rsp_status write_profile_info_error(der_writer *response, int64_t code)
{
    sgp32_profile_info_list_response answer;
    memset(&answer, 0, sizeof(answer));
    answer.choice = SGP32_PROFILE_INFO_LIST_RESPONSE_PROFILE_INFO_LIST_ERROR;
    answer.u.profile_info_list_error = code;
    return schema_encode(&sgp32_profile_info_list_response_type, &answer, response);
}

/* SGP.22 v2.5 section 5.7.15: GetProfilesInfo; the ProfileInfo is the SGP.32 v1.2 form (the
 * SGP.22 fields plus the IoT extensions, reported only when their tags are listed). */
rsp_status es10c_get_profiles_info(euicc *e, unsigned channel, der_view command,
                                   der_writer *response)
{
    (void)channel;
    sgp22_profile_info_list_request request;
    uint8_t request_arena_buf[256];
    schema_arena request_arena;
    schema_arena_init(&request_arena, request_arena_buf, sizeof(request_arena_buf));
    rsp_error err = {0};
    rsp_status status = schema_decode(&sgp22_profile_info_list_request_type, command, &request,
                                      &request_arena, &err);
    if (status != RSP_OK)
        return status;
    der_view tag_list = request.has_tag_list
                            ? request.tag_list
                            : der_view_make(default_tag_list, sizeof(default_tag_list));
    if (!tag_list_valid(tag_list))
        return write_profile_info_error(response,
                                        SGP22_PROFILE_INFO_LIST_ERROR_INCORRECT_INPUT_VALUES);

    const euicc_state *s = euicc_get_state_const(e);
    size_t outer = der_begin(response, 0xBF2D);
    size_t list = der_begin(response, 0xA0);
    for (size_t i = 0; i < euicc_state_count(s, EUICC_LIST_PROFILES) && status == RSP_OK; i++) {
        euicc_loaded_profile profile;
        status = euicc_state_profile_load(s, i, true, &profile, &err);
        if (status != RSP_OK)
            break;
        if (matches_criteria(&request, &profile.record))
            status = write_selected_fields(&profile.record, tag_list, response);
        euicc_loaded_profile_release(&profile);
    }
    der_end(response, list);
    der_end(response, outer);
    return status;
}

/* ---- Enable / Disable / Delete ---------------------------------------------------------- */

static long find_by_identifier(const euicc *e, const sgp22_profile_identifier *id)
{
    if (id->choice == SGP22_PROFILE_IDENTIFIER_ISDP_AID)
        return euicc_profile_find(e, true, id->u.isdp_aid);
    return euicc_profile_find(e, false, id->u.iccid);
}

static rsp_status write_result(der_writer *response, uint32_t tag, int64_t result)
{
    size_t mark = der_begin(response, tag);
    der_put_int64(response, 0x80, result);
    der_end(response, mark);
    return der_writer_status(response);
}

typedef rsp_status (*profile_switch)(euicc *e, size_t index, const euicc_profile_operation *options,
                                     int64_t *result);

/* Enable and Disable: runs operation on the identified profile and answers its result under
 * tag, or not_found when no profile has that identifier. */
static rsp_status answer_profile_switch(euicc *e, const sgp22_profile_identifier *id,
                                        bool refresh_flag, profile_switch operation,
                                        int64_t not_found, uint32_t tag, der_writer *response)
{
    rsp_status status = RSP_OK;
    int64_t result = not_found;
    long index = find_by_identifier(e, id);
    euicc_profile_operation options = {refresh_flag, false, false};
    if (index >= 0)
        status = operation(e, (size_t)index, &options, &result);
    return status == RSP_OK ? write_result(response, tag, result) : status;
}

/* SGP.22 v2.5 section 5.7.16: EnableProfile */
rsp_status es10c_enable_profile(euicc *e, unsigned channel, der_view command, der_writer *response)
{
    (void)channel;
    sgp22_enable_profile_request request;
    rsp_error err = {0};
    rsp_status status =
        schema_decode(&sgp22_enable_profile_request_type, command, &request, NULL, &err);
    if (status != RSP_OK)
        return status;
    return answer_profile_switch(e, &request.profile_identifier, request.refresh_flag,
                                 euicc_profile_enable, SGP22_ENABLE_RESULT_ICCID_OR_AID_NOT_FOUND,
                                 0xBF31, response);
}

/* SGP.22 v2.5 section 5.7.17: DisableProfile */
rsp_status es10c_disable_profile(euicc *e, unsigned channel, der_view command, der_writer *response)
{
    (void)channel;
    sgp22_disable_profile_request request;
    rsp_error err = {0};
    rsp_status status =
        schema_decode(&sgp22_disable_profile_request_type, command, &request, NULL, &err);
    if (status != RSP_OK)
        return status;
    return answer_profile_switch(e, &request.profile_identifier, request.refresh_flag,
                                 euicc_profile_disable, SGP22_DISABLE_RESULT_ICCID_OR_AID_NOT_FOUND,
                                 0xBF32, response);
}

/* SGP.22 v2.5 section 5.7.18: DeleteProfile */
rsp_status es10c_delete_profile(euicc *e, unsigned channel, der_view command, der_writer *response)
{
    (void)channel;
    sgp22_delete_profile_request request;
    rsp_error err = {0};
    rsp_status status =
        schema_decode(&sgp22_delete_profile_request_type, command, &request, NULL, &err);
    if (status != RSP_OK)
        return status;
    long index = request.choice == SGP22_DELETE_PROFILE_REQUEST_ISDP_AID
                     ? euicc_profile_find(e, true, request.u.isdp_aid)
                     : euicc_profile_find(e, false, request.u.iccid);
    int64_t result = SGP22_DELETE_RESULT_ICCID_OR_AID_NOT_FOUND;
    if (index >= 0)
        status = euicc_profile_delete(e, (size_t)index, NULL, &result);
    if (status != RSP_OK)
        return status;
    return write_result(response, 0xBF33, result);
}

/* ---- EuiccMemoryReset, SetNickname --------------------------------------------------- */

/* Deletes every profile whose class is selected, whatever its state and rules: a memory
 * reset overrides PPRs and sends no notifications (SGP.22 v2.5 section 5.7.19). */
static rsp_status delete_profiles_of_class(euicc *e, bool operational, bool test, bool *deleted)
{
    euicc_state *s = euicc_get_state(e);
    size_t i = 0;
    rsp_status status = RSP_OK;
    while (status == RSP_OK && i < euicc_state_count(s, EUICC_LIST_PROFILES)) {
        euicc_loaded_profile profile;
        rsp_error err = {0};
        status = euicc_state_profile_load(s, i, true, &profile, &err);
        if (status != RSP_OK)
            break;
        int64_t cls = profile_class(&profile.record);
        euicc_loaded_profile_release(&profile);
        if ((operational && cls == SGP22_PROFILE_CLASS_OPERATIONAL) ||
            (test && cls == SGP22_PROFILE_CLASS_TEST)) {
            status = euicc_state_remove(s, EUICC_LIST_PROFILES, i);
            *deleted = true;
        } else {
            i++;
        }
    }
    return status;
}

/* SGP.22 v2.5 section 5.7.19: EuiccMemoryReset */
rsp_status es10c_euicc_memory_reset(euicc *e, unsigned channel, der_view command,
                                    der_writer *response)
{
    (void)channel;
    sgp22_euicc_memory_reset_request request;
    rsp_error err = {0};
    rsp_status status =
        schema_decode(&sgp22_euicc_memory_reset_request_type, command, &request, NULL, &err);
    if (status != RSP_OK)
        return status;
    const schema_bits *options = &request.reset_options;
    bool done = false;
    status = delete_profiles_of_class(
        e, schema_bits_get(options, SGP22_RESET_DELETE_OPERATIONAL_PROFILES),
        schema_bits_get(options, SGP22_RESET_DELETE_FIELD_LOADED_TEST_PROFILES), &done);
    euicc_state *s = euicc_get_state(e);
    if (status == RSP_OK && schema_bits_get(options, SGP22_RESET_DEFAULT_SMDP_ADDRESS) &&
        euicc_state_slot(s, EUICC_SLOT_DEFAULT_DP).data != NULL) {
        status = euicc_state_set_slot(s, EUICC_SLOT_DEFAULT_DP, NULL, 0);
        done = true;
    }
    if (status != RSP_OK)
        return status;
    return write_result(response, 0xBF34,
                        done ? SGP22_RESET_RESULT_OK : SGP22_RESET_RESULT_NOTHING_TO_DELETE);
}

/* SGP.22 v2.5 section 5.7.21: SetNickname */
rsp_status es10c_set_nickname(euicc *e, unsigned channel, der_view command, der_writer *response)
{
    (void)channel;
    sgp22_set_nickname_request request;
    rsp_error err = {0};
    rsp_status status =
        schema_decode(&sgp22_set_nickname_request_type, command, &request, NULL, &err);
    if (status != RSP_OK)
        return status;
    long index = euicc_profile_find(e, false, request.iccid);
    int64_t result = SGP22_SET_NICKNAME_ICCID_NOT_FOUND;
    if (index >= 0) {
        euicc_loaded_profile profile;
        status = load_profile(e, (size_t)index, &profile);
        if (status == RSP_OK) {
            profile.record.info.has_profile_nickname = request.profile_nickname.len > 0;
            profile.record.info.profile_nickname = request.profile_nickname;
            status = euicc_state_profile_update(euicc_get_state(e), (size_t)index, &profile.record);
            euicc_loaded_profile_release(&profile);
        }
        result = SGP22_SET_NICKNAME_OK;
    }
    if (status != RSP_OK)
        return status;
    return write_result(response, 0xBF29, result);
}
