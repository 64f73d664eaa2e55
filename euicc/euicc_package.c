/* SGP.32 v1.2 ES10b.LoadEuiccPackage (section 5.9.1, procedure of section 3.3.1): eIM
 * signature, EID, counter and size checks, the PSMOs and eCOs in order, and the signed
 * eUICC Package Result kept until the eIM acknowledges it. */
#include <stdlib.h>
#include <string.h>

#include "crypto/signature_gsma.h"
#include "euicc/euicc_package.h"
#include "euicc/isdr.h"
#include "euicc/notification.h"

#define TAG_EIM_ID            0x80
#define TAG_EID               0x5A
#define TAG_COUNTER           0x81
#define TAG_TRANSACTION_ID    0x82
#define TAG_SEQUENCE          0x30
#define TAG_RESULT_SIGNED     0xA0
#define TAG_ERROR_SIGNED      0xA1
#define TAG_ERROR_UNSIGNED    0xA2
#define TAG_ASSOCIATION_TOKEN 0x84
#define TAG_GET_RAT_RESULT    0xA6
#define PACKAGE_ARENA_SIZE    65536

/* ---- Rollback snapshot (EUICC_SLOT_ROLLBACK, private schema) ----------------------------- */

static const schema_field rollback_fields[] = {
    SCHEMA_FIELD_NAMED("eimId", euicc_rollback_snapshot, eim_id, 0x80, schema_utf8),
    SCHEMA_FIELD_NAMED("counterValue", euicc_rollback_snapshot, counter_value, 0x81,
                       schema_integer),
    SCHEMA_OPT_NAMED("eimTransactionId", euicc_rollback_snapshot, eim_transaction_id, 0x82,
                     schema_octets),
    SCHEMA_FIELD_NAMED("seqNumber", euicc_rollback_snapshot, seq_number, 0x83, schema_integer),
    SCHEMA_FIELD_NAMED("enabledIccid", euicc_rollback_snapshot, enabled_iccid, 0x84, schema_octets),
    SCHEMA_OPT_NAMED("previousIccid", euicc_rollback_snapshot, previous_iccid, 0x85, schema_octets),
};
static const schema_type rollback_snapshot_type = SCHEMA_SEQUENCE_TYPE(
    "RollbackSnapshot", 0x30, euicc_rollback_snapshot, rollback_fields, SCHEMA_EXTENSIBLE);

/* SGP.32 v1.2 section 5.9.16: rollback is allowed while the result of the package that
 * enabled with rollbackFlag has not been acknowledged (the IPA rolls back exactly when it
 * could not deliver that result). */
rsp_status euicc_rollback_get(const euicc *e, euicc_rollback_snapshot *out)
{
    const euicc_state *s = euicc_get_state_const((euicc *)e);
    der_view slot = euicc_state_slot(s, EUICC_SLOT_ROLLBACK);
    rsp_error err = {0};
    if (slot.len == 0)
        return RSP_ERR_NOT_FOUND;
    rsp_status status = schema_decode(&rollback_snapshot_type, slot, out, NULL, &err);
    if (status != RSP_OK)
        return status;
    return euicc_state_find_package_result(s, out->seq_number) >= 0 ? RSP_OK : RSP_ERR_NOT_FOUND;
}

rsp_status euicc_rollback_clear(euicc *e)
{
    euicc_state *s = euicc_get_state(e);
    if (euicc_state_slot(s, EUICC_SLOT_ROLLBACK).len == 0)
        return RSP_OK;
    return euicc_state_set_slot(s, EUICC_SLOT_ROLLBACK, NULL, 0);
}

static rsp_status rollback_store(euicc *e, const euicc_rollback_snapshot *snapshot)
{
    der_writer w;
    der_writer_init_dynamic(&w, NULL);
    rsp_status status = schema_encode(&rollback_snapshot_type, snapshot, &w);
    if (status == RSP_OK)
        status = euicc_state_set_slot(euicc_get_state(e), EUICC_SLOT_ROLLBACK, w.buf, w.len);
    der_writer_free(&w);
    return status;
}

/* ---- Results ------------------------------------------------------------------------------ */

/* SGP.32 v1.2 section 2.11.2.1: euiccPackageResultSigned, stored until acknowledged */
rsp_status euicc_package_result_issue(euicc *e, der_view eim_id, int64_t counter_value,
                                      der_view transaction_id, const int64_t *association_token,
                                      der_view encoded_results, int64_t *seq_number,
                                      der_writer *out)
{
    der_writer data, result;
    rsp_error err = {0};
    rsp_status status = euicc_notification_next_seq(e, seq_number);
    if (status != RSP_OK)
        return status;
    der_writer_init_dynamic(&data, NULL);
    der_writer_init_dynamic(&result, NULL);
    size_t outer = der_begin(&data, TAG_SEQUENCE);
    der_put_tlv(&data, TAG_EIM_ID, eim_id.data, eim_id.len);
    der_put_int64(&data, TAG_COUNTER, counter_value);
    if (transaction_id.len > 0)
        der_put_tlv(&data, TAG_TRANSACTION_ID, transaction_id.data, transaction_id.len);
    der_put_int64(&data, 0x83, *seq_number);
    der_put_tlv(&data, TAG_SEQUENCE, encoded_results.data, encoded_results.len);
    der_end(&data, outer);
    status = der_writer_status(&data);
    if (status == RSP_OK)
        status =
            rsp_euicc_package_result_build(euicc_key(e), TAG_RESULT_SIGNED, der_writer_view(&data),
                                           association_token, &result, &err);
    if (status == RSP_OK) {
        euicc_package_result_record record;
        memset(&record, 0, sizeof(record));
        record.seq_number = *seq_number;
        record.has_eim_id = true;
        record.eim_id = eim_id;
        record.result = der_writer_view(&result);
        status = euicc_state_append_value(euicc_get_state(e), EUICC_LIST_PACKAGE_RESULTS,
                                          &euicc_package_result_record_type, &record);
    }
    if (status == RSP_OK && out != NULL) {
        der_put_raw(out, result.buf, result.len);
        status = der_writer_status(out);
    }
    der_writer_free(&data);
    der_writer_free(&result);
    return status;
}

/* ---- The package being processed --------------------------------------------------------- */

typedef struct {
    euicc *e;
    unsigned channel;
    der_view command;
    /* EuiccPackageSigned header, read before anything is trusted */
    der_view eim_id;
    der_view eid;
    int64_t counter_value;
    bool has_transaction_id;
    der_view transaction_id;
    /* the signing eIM */
    sgp32_eim_configuration_data eim;
    bool has_token;
    int64_t token;
    uint8_t eim_id_copy[128]; /* survives a deleteEim of the signer */
    uint8_t transaction_copy[16];
    /* execution */
    der_writer results;
    bool profile_changed; /* an enable, disable or delete of this package succeeded */
    bool rollback_granted;
    bool rollback_cleared;
    euicc_rollback_snapshot rollback;
    uint8_t rollback_enabled[EUICC_ICCID_SIZE];
    uint8_t rollback_previous[EUICC_ICCID_SIZE];
} package_context;

/* Reads eimId, eidValue, counterValue and eimTransactionId from the BF51 request without
 * decoding the operations, so that even a package with an operation this eUICC does not
 * know gets a signed answer. */
static rsp_status parse_header(package_context *c, rsp_error *err)
{
    der_tlv root, signed_part, field;
    der_reader outer, inner;
    bool has_eim_id = false, has_eid = false, has_counter = false;
    rsp_status status = der_parse_single(c->command, &root, err);
    if (status == RSP_OK)
        status = der_reader_enter(&root, 0, &outer, err);
    if (status == RSP_OK)
        status = der_reader_next(&outer, &signed_part, err);
    if (status == RSP_OK && signed_part.tag != TAG_SEQUENCE)
        status = rsp_error_set(err, RSP_ERR_UNEXPECTED_TAG, signed_part.tag, signed_part.offset,
                               "euiccPackageSigned expected");
    if (status == RSP_OK)
        status = der_reader_enter(&signed_part, 1, &inner, err);
    while (status == RSP_OK && !der_reader_at_end(&inner)) {
        status = der_reader_next(&inner, &field, err);
        if (status != RSP_OK)
            break;
        if (field.tag == TAG_EIM_ID && !has_eim_id) {
            has_eim_id = field.value.len >= 1 && field.value.len <= sizeof(c->eim_id_copy);
            c->eim_id = field.value;
        } else if (field.tag == TAG_EID && !has_eid) {
            has_eid = true;
            c->eid = field.value;
        } else if (field.tag == TAG_COUNTER && !has_counter) {
            status = der_decode_int64(&field, &c->counter_value, err);
            has_counter = status == RSP_OK;
        } else if (field.tag == TAG_TRANSACTION_ID && !c->has_transaction_id) {
            c->has_transaction_id = field.value.len >= 1 && field.value.len <= 16;
            c->transaction_id = field.value;
        }
    }
    if (status == RSP_OK && (!has_eim_id || !has_eid || !has_counter))
        status = rsp_error_set(err, RSP_ERR_MISSING_FIELD, 0x30, signed_part.offset,
                               "eimId, eidValue or counterValue missing or malformed");
    if (status == RSP_OK) {
        memcpy(c->eim_id_copy, c->eim_id.data, c->eim_id.len);
        c->eim_id = der_view_make(c->eim_id_copy, c->eim_id.len);
        if (c->has_transaction_id) {
            memcpy(c->transaction_copy, c->transaction_id.data, c->transaction_id.len);
            c->transaction_id = der_view_make(c->transaction_copy, c->transaction_id.len);
        }
    }
    return status;
}

static der_view context_transaction(const package_context *c)
{
    return c->has_transaction_id ? c->transaction_id : der_view_make(NULL, 0);
}

/* SGP.32 v1.2 section 2.11.2.1: euiccPackageErrorUnsigned, when the eUICC cannot or must not
 * vouch for anything (unknown eIM, bad eIM signature). */
static rsp_status answer_unsigned(const package_context *c, der_writer *response)
{
    size_t outer = der_begin(response, RSP_TAG_EUICC_PACKAGE);
    size_t inner = der_begin(response, TAG_ERROR_UNSIGNED);
    der_put_tlv(response, TAG_EIM_ID, c->eim_id.data, c->eim_id.len);
    if (c->has_transaction_id)
        der_put_tlv(response, TAG_TRANSACTION_ID, c->transaction_id.data, c->transaction_id.len);
    if (c->has_token)
        der_put_int64(response, TAG_ASSOCIATION_TOKEN, c->token);
    der_end(response, inner);
    der_end(response, outer);
    return der_writer_status(response);
}

/* SGP.32 v1.2 section 2.11.2.1: euiccPackageErrorSigned */
static rsp_status answer_signed_error(const package_context *c, int64_t code, der_writer *response)
{
    der_writer data;
    rsp_error err = {0};
    der_writer_init_dynamic(&data, NULL);
    size_t outer = der_begin(&data, TAG_SEQUENCE);
    der_put_tlv(&data, TAG_EIM_ID, c->eim_id.data, c->eim_id.len);
    der_put_int64(&data, TAG_COUNTER, c->counter_value);
    if (c->has_transaction_id)
        der_put_tlv(&data, TAG_TRANSACTION_ID, c->transaction_id.data, c->transaction_id.len);
    der_put_int64(&data, 0x02, code);
    der_end(&data, outer);
    rsp_status status = der_writer_status(&data);
    if (status == RSP_OK)
        status = rsp_euicc_package_result_build(euicc_key(c->e), TAG_ERROR_SIGNED,
                                                der_writer_view(&data),
                                                c->has_token ? &c->token : NULL, response, &err);
    der_writer_free(&data);
    return status;
}

/* The eIM counter is the replay protection: stored as soon as a package passed the checks. */
static rsp_status store_counter(package_context *c, long eim_index)
{
    sgp32_eim_configuration_data updated = c->eim;
    updated.has_counter_value = true;
    updated.counter_value = c->counter_value;
    return euicc_state_replace_value(euicc_get_state(c->e), EUICC_LIST_EIMS, (size_t)eim_index,
                                     &sgp32_eim_configuration_data_type, &updated);
}

/* ---- PSMOs ----------------------------------------------------------------------------- */

static void copy_iccid(uint8_t *to, der_view iccid)
{
    memcpy(to, iccid.data, iccid.len < EUICC_ICCID_SIZE ? iccid.len : EUICC_ICCID_SIZE);
}

/* ICCID of profile index (info only), into out[EUICC_ICCID_SIZE]. */
static bool profile_iccid(const euicc *e, long index, uint8_t *out)
{
    euicc_loaded_profile profile;
    rsp_error err = {0};
    if (index < 0 || euicc_state_profile_load(euicc_get_state_const((euicc *)e), (size_t)index,
                                              true, &profile, &err) != RSP_OK)
        return false;
    bool ok = profile.record.info.has_iccid && profile.record.info.iccid.len == EUICC_ICCID_SIZE;
    if (ok)
        copy_iccid(out, profile.record.info.iccid);
    euicc_loaded_profile_release(&profile);
    return ok;
}

/* SGP.22 EnableProfileResult 4 (wrongProfileReenabling) has no SGP.32 counterpart. */
static int64_t sgp32_enable_code(int64_t code)
{
    return code == SGP22_ENABLE_RESULT_WRONG_PROFILE_REENABLING
               ? SGP32_ENABLE_PROFILE_RESULT_UNDEFINED_ERROR
               : code;
}

/* SGP.32 v1.2 section 2.11.1.1.3: enable, optionally granting a rollback */
static rsp_status psmo_enable(package_context *c, const sgp32_psmo_enable *psmo, int64_t *code)
{
    euicc_profile_operation options = {0};
    long index = euicc_profile_find(c->e, false, psmo->iccid);
    if (index < 0) {
        *code = SGP32_ENABLE_PROFILE_RESULT_ICCID_OR_AID_NOT_FOUND;
        return RSP_OK;
    }
    long previous = euicc_state_find_enabled_profile(euicc_get_state_const(c->e));
    bool has_previous = previous >= 0 && profile_iccid(c->e, previous, c->rollback_previous);
    rsp_status status = euicc_profile_enable(c->e, (size_t)index, &options, code);
    *code = sgp32_enable_code(*code);
    if (status != RSP_OK || *code != SGP32_ENABLE_PROFILE_RESULT_OK)
        return status;
    c->rollback_granted = psmo->has_rollback_flag;
    c->rollback_cleared = !psmo->has_rollback_flag;
    if (psmo->has_rollback_flag) {
        copy_iccid(c->rollback_enabled, psmo->iccid);
        memset(&c->rollback, 0, sizeof(c->rollback));
        c->rollback.enabled_iccid = der_view_make(c->rollback_enabled, EUICC_ICCID_SIZE);
        c->rollback.has_previous_iccid = has_previous;
        c->rollback.previous_iccid = der_view_make(c->rollback_previous, EUICC_ICCID_SIZE);
    }
    return RSP_OK;
}

static rsp_status psmo_disable(package_context *c, der_view iccid, int64_t *code)
{
    euicc_profile_operation options = {0};
    long index = euicc_profile_find(c->e, false, iccid);
    if (index < 0) {
        *code = SGP32_DISABLE_PROFILE_RESULT_ICCID_OR_AID_NOT_FOUND;
        return RSP_OK;
    }
    rsp_status status = euicc_profile_disable(c->e, (size_t)index, &options, code);
    if (status == RSP_OK && *code == SGP32_DISABLE_PROFILE_RESULT_OK) {
        /* nothing enabled is left to roll back from */
        c->rollback_granted = false;
        c->rollback_cleared = true;
    }
    return status;
}

/* SGP.32 v1.2 section 2.11.1.1.3: delete. The profile a pending rollback would return to and
 * the Fallback Profile are kept (rollbackNotAvailable / returnFallbackProfile). */
static rsp_status psmo_delete(package_context *c, der_view iccid, int64_t *code)
{
    euicc_profile_operation options = {0};
    euicc_rollback_snapshot snapshot;
    long index = euicc_profile_find(c->e, false, iccid);
    if (index < 0) {
        *code = SGP32_DELETE_PROFILE_RESULT_ICCID_OR_AID_NOT_FOUND;
        return RSP_OK;
    }
    if (euicc_rollback_get(c->e, &snapshot) == RSP_OK && snapshot.has_previous_iccid &&
        der_view_equal(snapshot.previous_iccid, iccid)) {
        *code = SGP32_DELETE_PROFILE_RESULT_ROLLBACK_NOT_AVAILABLE;
        return RSP_OK;
    }
    if (euicc_find_fallback_profile(c->e) == index) {
        *code = SGP32_DELETE_PROFILE_RESULT_RETURN_FALLBACK_PROFILE;
        return RSP_OK;
    }
    return euicc_profile_delete(c->e, (size_t)index, &options, code);
}

/* listProfileInfo answers exactly as ES10c GetProfilesInfo with the same request. */
static rsp_status psmo_list_profile_info(package_context *c,
                                         const sgp22_profile_info_list_request *request)
{
    der_writer encoded;
    der_writer_init_dynamic(&encoded, NULL);
    rsp_status status = schema_encode(&sgp22_profile_info_list_request_type, request, &encoded);
    if (status == RSP_OK)
        status = es10c_get_profiles_info(c->e, c->channel, der_writer_view(&encoded), &c->results);
    der_writer_free(&encoded);
    return status;
}

/* getRATResult [6] RulesAuthorisationTable: the RAT of GetRAT, implicitly retagged A6. */
static rsp_status psmo_get_rat(package_context *c)
{
    der_writer rat;
    der_tlv outer, table;
    der_reader reader;
    rsp_error err = {0};
    der_writer_init_dynamic(&rat, NULL);
    rsp_status status = euicc_rat_encode(c->e, &rat);
    if (status == RSP_OK)
        status = der_parse_single(der_writer_view(&rat), &outer, &err);
    if (status == RSP_OK)
        status = der_reader_enter(&outer, 0, &reader, &err);
    if (status == RSP_OK)
        status = der_reader_next(&reader, &table, &err);
    if (status == RSP_OK)
        der_put_tlv(&c->results, TAG_GET_RAT_RESULT, table.value.data, table.value.len);
    der_writer_free(&rat);
    return status == RSP_OK ? der_writer_status(&c->results) : status;
}

static rsp_status put_result(package_context *c, const sgp32_euicc_result_data *result)
{
    return schema_encode(&sgp32_euicc_result_data_type, result, &c->results);
}

static rsp_status put_code(package_context *c, int choice, int64_t code)
{
    sgp32_euicc_result_data result;
    memset(&result, 0, sizeof(result));
    result.choice = choice;
    switch (choice) {
    case SGP32_EUICC_RESULT_DATA_ENABLE_RESULT:
        result.u.enable_result = code;
        break;
    case SGP32_EUICC_RESULT_DATA_DISABLE_RESULT:
        result.u.disable_result = code;
        break;
    case SGP32_EUICC_RESULT_DATA_DELETE_RESULT:
        result.u.delete_result = code;
        break;
    case SGP32_EUICC_RESULT_DATA_CONFIGURE_IMMEDIATE_ENABLE_RESULT:
        result.u.configure_immediate_enable_result = code;
        break;
    case SGP32_EUICC_RESULT_DATA_SET_FALLBACK_ATTRIBUTE_RESULT:
        result.u.set_fallback_attribute_result = code;
        break;
    case SGP32_EUICC_RESULT_DATA_UNSET_FALLBACK_ATTRIBUTE_RESULT:
        result.u.unset_fallback_attribute_result = code;
        break;
    case SGP32_EUICC_RESULT_DATA_SET_DEFAULT_DP_ADDRESS_RESULT:
        result.u.set_default_dp_address_result.set_default_dp_address_result = code;
        break;
    default:
        result.choice = SGP32_EUICC_RESULT_DATA_PROCESSING_TERMINATED;
        result.u.processing_terminated = code;
        break;
    }
    return put_result(c, &result);
}

/* Runs one PSMO; *failed tells whether the package stops here. */
static rsp_status run_psmo(package_context *c, const sgp32_psmo *psmo, bool *failed)
{
    int64_t code = SGP32_RESULT_OK;
    rsp_status status = RSP_OK;
    int choice = 0;
    switch (psmo->choice) {
    case SGP32_PSMO_ENABLE:
        choice = SGP32_EUICC_RESULT_DATA_ENABLE_RESULT;
        status = psmo_enable(c, &psmo->u.enable, &code);
        break;
    case SGP32_PSMO_DISABLE:
        choice = SGP32_EUICC_RESULT_DATA_DISABLE_RESULT;
        status = psmo_disable(c, psmo->u.disable.iccid, &code);
        break;
    case SGP32_PSMO_DELETE:
        choice = SGP32_EUICC_RESULT_DATA_DELETE_RESULT;
        status = psmo_delete(c, psmo->u.delete_profile.iccid, &code);
        break;
    case SGP32_PSMO_LIST_PROFILE_INFO: {
        size_t before = c->results.len;
        if (c->profile_changed) {
            /* states change for the device only after the REFRESH that follows the package,
             * so a list taken now would be wrong: profileChangeOngoing */
            static const uint8_t ongoing[] = {
                0xBF, 0x2D, 0x03, 0x81, 0x01, SGP32_PROFILE_INFO_LIST_ERROR_PROFILE_CHANGE_ONGOING};
            der_put_raw(&c->results, ongoing, sizeof(ongoing));
            *failed = true;
            return der_writer_status(&c->results);
        }
        status = psmo_list_profile_info(c, &psmo->u.list_profile_info);
        /* the error answer is BF2D 03 81 01 code: it stops the package */
        *failed = status == RSP_OK && c->results.len == before + 5 &&
                  c->results.buf[before + 2] == 0x03 && c->results.buf[before + 3] == 0x81;
        return status;
    }
    case SGP32_PSMO_GET_RAT:
        return psmo_get_rat(c);
    case SGP32_PSMO_CONFIGURE_IMMEDIATE_ENABLE:
        choice = SGP32_EUICC_RESULT_DATA_CONFIGURE_IMMEDIATE_ENABLE_RESULT;
        code = euicc_configure_immediate_enable(c->e, &psmo->u.configure_immediate_enable);
        break;
    case SGP32_PSMO_SET_FALLBACK_ATTRIBUTE:
        choice = SGP32_EUICC_RESULT_DATA_SET_FALLBACK_ATTRIBUTE_RESULT;
        code = euicc_psmo_set_fallback_attribute(c->e, psmo->u.set_fallback_attribute.iccid);
        break;
    case SGP32_PSMO_UNSET_FALLBACK_ATTRIBUTE:
        choice = SGP32_EUICC_RESULT_DATA_UNSET_FALLBACK_ATTRIBUTE_RESULT;
        code = euicc_psmo_unset_fallback_attribute(c->e);
        break;
    case SGP32_PSMO_SET_DEFAULT_DP_ADDRESS: {
        der_view address = psmo->u.set_default_dp_address.default_dp_address;
        choice = SGP32_EUICC_RESULT_DATA_SET_DEFAULT_DP_ADDRESS_RESULT;
        status = euicc_state_set_slot(euicc_get_state(c->e), EUICC_SLOT_DEFAULT_DP, address.data,
                                      address.len);
        break;
    }
    default:
        choice = SGP32_EUICC_RESULT_DATA_PROCESSING_TERMINATED;
        code = SGP32_PROCESSING_TERMINATED_UNKNOWN_OR_DAMAGED_COMMAND;
        break;
    }
    if (status != RSP_OK)
        return status;
    *failed = code != SGP32_RESULT_OK;
    if (!*failed && (psmo->choice == SGP32_PSMO_ENABLE || psmo->choice == SGP32_PSMO_DISABLE ||
                     psmo->choice == SGP32_PSMO_DELETE))
        c->profile_changed = true;
    return put_code(c, choice, code);
}

/* Runs one eCO; deleteEim's lastEimDeleted is a success that leaves no eIM behind. */
static rsp_status run_eco(package_context *c, const sgp32_eco *eco, schema_arena *arena,
                          bool *failed)
{
    sgp32_euicc_result_data result;
    rsp_status status;
    memset(&result, 0, sizeof(result));
    switch (eco->choice) {
    case SGP32_ECO_ADD_EIM:
        status = euicc_eco_add_eim(c->e, &eco->u.add_eim, &result);
        *failed = result.u.add_eim_result.choice == SGP32_ADD_EIM_RESULT_ADD_EIM_RESULT_CODE &&
                  result.u.add_eim_result.u.add_eim_result_code != SGP32_ADD_EIM_RESULT_OK;
        break;
    case SGP32_ECO_DELETE_EIM:
        status = euicc_eco_delete_eim(c->e, eco->u.delete_eim.eim_id, &result);
        *failed = result.u.delete_eim_result != SGP32_DELETE_EIM_RESULT_OK &&
                  result.u.delete_eim_result != SGP32_DELETE_EIM_RESULT_LAST_EIM_DELETED;
        break;
    case SGP32_ECO_UPDATE_EIM:
        status = euicc_eco_update_eim(c->e, &eco->u.update_eim, &result);
        *failed = result.u.update_eim_result != SGP32_UPDATE_EIM_RESULT_OK;
        break;
    case SGP32_ECO_LIST_EIM:
        status = euicc_eco_list_eim(c->e, arena, &result);
        *failed = result.u.list_eim_result.choice != SGP32_LIST_EIM_RESULT_EIM_ID_LIST;
        break;
    default:
        *failed = true;
        return put_code(c, SGP32_EUICC_RESULT_DATA_PROCESSING_TERMINATED,
                        SGP32_PROCESSING_TERMINATED_UNKNOWN_OR_DAMAGED_COMMAND);
    }
    return status == RSP_OK ? put_result(c, &result) : status;
}

/* SGP.32 v1.2 section 3.3.1 step 5: operations run in order; the first one that fails ends
 * the package (the result lists what ran). A result list that outgrows the limit ends with
 * processingTerminated(resultSizeOverflow) in place of the operation that overflowed it. */
static rsp_status execute(package_context *c, const sgp32_euicc_package *package,
                          schema_arena *arena)
{
    bool is_psmo = package->choice == SGP32_EUICC_PACKAGE_PSMO_LIST;
    size_t count = is_psmo ? package->u.psmo_list.count : package->u.eco_list.count;
    rsp_status status = RSP_OK;
    for (size_t i = 0; i < count && status == RSP_OK; i++) {
        bool failed = false;
        size_t before = c->results.len;
        if (is_psmo)
            status = run_psmo(c, &((const sgp32_psmo *)package->u.psmo_list.items)[i], &failed);
        else
            status = run_eco(c, &((const sgp32_eco *)package->u.eco_list.items)[i], arena, &failed);
        if (status == RSP_OK && c->results.len > EUICC_PACKAGE_RESULT_MAX_SIZE) {
            c->results.len = before;
            status = put_code(c, SGP32_EUICC_RESULT_DATA_PROCESSING_TERMINATED,
                              SGP32_PROCESSING_TERMINATED_RESULT_SIZE_OVERFLOW);
            failed = true;
        }
        if (failed)
            break;
    }
    return status == RSP_OK ? der_writer_status(&c->results) : status;
}

/* After the operations: the signed result, and the rollback permission it carries. */
static rsp_status finish(package_context *c, der_writer *response)
{
    int64_t seq_number = 0;
    rsp_status status = euicc_package_result_issue(
        c->e, c->eim_id, c->counter_value, context_transaction(c), c->has_token ? &c->token : NULL,
        der_writer_view(&c->results), &seq_number, response);
    if (status == RSP_OK && c->rollback_granted) {
        c->rollback.eim_id = c->eim_id;
        c->rollback.counter_value = c->counter_value;
        c->rollback.has_eim_transaction_id = c->has_transaction_id;
        c->rollback.eim_transaction_id = context_transaction(c);
        c->rollback.seq_number = seq_number;
        status = rollback_store(c->e, &c->rollback);
    } else if (status == RSP_OK && c->rollback_cleared) {
        status = euicc_rollback_clear(c->e);
    }
    return status;
}

/* Checks in the order of SGP.32 v1.2 section 5.9.1: who signed (unsigned errors), then what
 * the signed package asks (signed errors). Returns true when an answer was written. */
static bool refuse(package_context *c, long *eim_index, der_writer *response, rsp_status *status)
{
    rsp_public_key *key = NULL;
    rsp_error err = {0};
    der_view signed_part;
    *eim_index = euicc_eim_find(euicc_get_state_const(c->e), c->eim_id, &c->eim);
    if (*eim_index < 0) {
        *status = answer_unsigned(c, response);
        return true;
    }
    c->has_token = c->eim.has_association_token;
    c->token = c->eim.association_token;
    *status = euicc_eim_public_key(&c->eim, &key, &err);
    if (*status == RSP_OK)
        *status = rsp_eim_package_request_open(key, c->command, c->has_token ? &c->token : NULL,
                                               &signed_part, &err);
    rsp_public_key_free(key);
    if (*status != RSP_OK) {
        *status = answer_unsigned(c, response);
        return true;
    }
    if (c->eid.len != EUICC_EID_SIZE || memcmp(c->eid.data, euicc_eid(c->e), EUICC_EID_SIZE) != 0) {
        *status = answer_signed_error(c, SGP32_EUICC_PACKAGE_ERROR_INVALID_EID, response);
        return true;
    }
    int64_t stored = c->eim.has_counter_value ? c->eim.counter_value : 0;
    if (c->counter_value > EUICC_EIM_COUNTER_MAX) {
        *status =
            answer_signed_error(c, SGP32_EUICC_PACKAGE_ERROR_COUNTER_VALUE_OUT_OF_RANGE, response);
        return true;
    }
    if (c->counter_value <= stored) {
        *status = answer_signed_error(c, SGP32_EUICC_PACKAGE_ERROR_REPLAY_ERROR, response);
        return true;
    }
    return false;
}

/* Decoding after the checks: an arena overflow is a package too big for this eUICC, an
 * undecodable operation a damaged command. */
static rsp_status decode_and_execute(package_context *c, der_writer *response)
{
    void *arena_buffer = malloc(PACKAGE_ARENA_SIZE);
    sgp32_euicc_package_request *request = malloc(sizeof(*request));
    schema_arena arena;
    rsp_error err = {0};
    rsp_status status = RSP_ERR_NO_MEMORY;
    if (arena_buffer != NULL && request != NULL) {
        schema_arena_init(&arena, arena_buffer, PACKAGE_ARENA_SIZE);
        status =
            schema_decode(&sgp32_euicc_package_request_type, c->command, request, &arena, &err);
        if (status == RSP_ERR_NO_MEMORY || status == RSP_ERR_TOO_MANY) {
            status = answer_signed_error(c, SGP32_EUICC_PACKAGE_ERROR_SIZE_OVERFLOW, response);
        } else if (status != RSP_OK) {
            status = put_code(c, SGP32_EUICC_RESULT_DATA_PROCESSING_TERMINATED,
                              SGP32_PROCESSING_TERMINATED_UNKNOWN_OR_DAMAGED_COMMAND);
            if (status == RSP_OK)
                status = finish(c, response);
        } else {
            status = execute(c, &request->euicc_package_signed.euicc_package, &arena);
            if (status == RSP_OK)
                status = finish(c, response);
        }
    }
    free(request);
    free(arena_buffer);
    return status;
}

/* SGP.32 v1.2 section 5.9.1: ES10b.LoadEuiccPackage */
rsp_status es10b_load_euicc_package(euicc *e, unsigned channel, der_view command,
                                    der_writer *response)
{
    package_context c;
    rsp_error err = {0};
    long eim_index = -1;
    rsp_status status;
    memset(&c, 0, sizeof(c));
    c.e = e;
    c.channel = channel;
    c.command = command;
    status = parse_header(&c, &err);
    if (status != RSP_OK)
        return status;
    if (refuse(&c, &eim_index, response, &status))
        return status;
    /* the counter is consumed by every package that passed the checks above */
    status = store_counter(&c, eim_index);
    if (status != RSP_OK)
        return status;
    if (command.len > EUICC_PACKAGE_MAX_SIZE)
        return answer_signed_error(&c, SGP32_EUICC_PACKAGE_ERROR_SIZE_OVERFLOW, response);
    if (euicc_emergency_active(e))
        return answer_signed_error(&c, SGP32_EUICC_PACKAGE_ERROR_ECALL_ACTIVE, response);
    der_writer_init_dynamic(&c.results, NULL);
    status = decode_and_execute(&c, response);
    der_writer_free(&c.results);
    return status;
}
