/* eIM packages that stay between the IPA and the eUICC: eUICC Package and IPA eUICC Data. */
#include <string.h>

#include "core/sgp32.h"
#include "ipa/ipa_internal.h"

/* Decodes value with type into *out using a heap arena the caller releases. */
static rsp_status decode_with_arena(ipa_instance *ipa, const schema_type *type, der_view value,
                                    void *out, uint8_t **arena_buf, rsp_error *err)
{
    schema_arena arena;
    *arena_buf = ipa_alloc(ipa, IPA_DECODE_ARENA);
    if (!*arena_buf)
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "ipa: out of memory");
    schema_arena_init(&arena, *arena_buf, IPA_DECODE_ARENA);
    return schema_decode(type, value, out, &arena, err);
}

static void put_eid(ipa_instance *ipa, der_writer *w)
{
    der_put_tlv(w, 0x5A, ipa->eid, IPA_EID_SIZE);
}

/* True when the package enables a profile with the rollback flag (SGP.32 v1.2 section
 * 2.11.1.1.2, Psmo.enable). */
static bool package_requests_rollback(const sgp32_euicc_package_request *request)
{
    const sgp32_euicc_package *package = &request->euicc_package_signed.euicc_package;
    if (package->choice != SGP32_EUICC_PACKAGE_PSMO_LIST)
        return false;
    const sgp32_psmo *psmos = package->u.psmo_list.items;
    for (size_t i = 0; i < package->u.psmo_list.count; i++)
        if (psmos[i].choice == SGP32_PSMO_ENABLE && psmos[i].u.enable.has_rollback_flag)
            return true;
    return false;
}

static bool result_enable_ok(ipa_instance *ipa, der_view result)
{
    sgp32_euicc_package_result decoded;
    uint8_t *arena = NULL;
    rsp_error ignored = {0};
    bool ok = false;
    if (decode_with_arena(ipa, &sgp32_euicc_package_result_type, result, &decoded, &arena,
                          &ignored) == RSP_OK &&
        decoded.choice == SGP32_EUICC_PACKAGE_RESULT_EUICC_PACKAGE_RESULT_SIGNED) {
        const schema_list *list =
            &decoded.u.euicc_package_result_signed.euicc_package_result_data_signed.euicc_result;
        const sgp32_euicc_result_data *items = list->items;
        for (size_t i = 0; i < list->count; i++)
            if (items[i].choice == SGP32_EUICC_RESULT_DATA_ENABLE_RESULT)
                ok = items[i].u.enable_result == SGP32_ENABLE_PROFILE_RESULT_OK;
    }
    ipa_release(ipa, arena);
    return ok;
}

/* SGP.32 v1.2 sections 3.3.1 and 5.9.1 (ES10b.LoadEuiccPackage): the request goes to the
 * eUICC as received, the result goes back with the pending notifications in
 * ProvideEimPackageResult. */
rsp_status ipa_run_euicc_package(ipa_instance *ipa, der_view request, der_writer *result,
                                 rsp_error *err)
{
    sgp32_euicc_package_request decoded;
    uint8_t *arena = NULL;
    der_writer epr, notifications;
    ipa_writer_init(ipa, &epr);
    ipa_writer_init(ipa, &notifications);
    rsp_status st =
        decode_with_arena(ipa, &sgp32_euicc_package_request_type, request, &decoded, &arena, err);
    bool rollback = st == RSP_OK && package_requests_rollback(&decoded);
    ipa_release(ipa, arena);
    /* marker first: if we die after the eUICC ran the package, the result is recovered from
     * the eUICC on the next start instead of being lost */
    if (st == RSP_OK)
        st = ipa_mark_in_progress(ipa, request, err);
    if (st == RSP_OK)
        st = ipa_es10(ipa, request, &epr, err);
    if (st == RSP_OK && (epr.len == 0 || epr.buf[0] != 0xBF || epr.buf[1] != 0x51))
        st = rsp_error_set(err, RSP_ERR_UNEXPECTED_TAG, 0, 0,
                           "ipa: LoadEuiccPackage answered no EuiccPackageResult");
    if (st == RSP_OK && rollback && result_enable_ok(ipa, der_writer_view(&epr)))
        st = ipa_storage_write(ipa, IPA_STORAGE_ROLLBACK, request, err);
    if (st == RSP_OK) {
        rsp_error ignored = {0}; /* the result matters more than the notifications */
        ipa_collect_notifications(ipa, &notifications, &ignored);
        size_t outer = der_begin(result, 0xBF50);
        put_eid(ipa, result);
        if (notifications.len > 0) {
            size_t pair = der_begin(result, 0x30); /* ePRAndNotifications */
            der_put_raw(result, epr.buf, epr.len);
            der_put_tlv(result, 0xA0, notifications.buf, notifications.len);
            der_end(result, pair);
        } else {
            der_put_raw(result, epr.buf, epr.len);
        }
        der_end(result, outer);
        st = der_writer_status(result);
    }
    der_writer_free(&epr);
    der_writer_free(&notifications);
    return st;
}

/* ---- IPA eUICC Data (SGP.32 v1.2 sections 2.11.1.2 and 2.11.2.2) ----------------------- */

/* Fields of IpaEuiccData in ASN.1 order: the response follows this order whatever the order of
 * the tag list. */
static const uint32_t ipa_euicc_data_tags[] = {0xA0, 0x81, 0xA2, 0xBF20, 0xBF22, 0x83,
                                               0x84, 0xA5, 0xA6, 0x87,   0xA8,   0xA9};
enum { TAG_INDEX_EUM = 7, TAG_INDEX_EUICC = 8, TAG_INDEX_TRANSACTION_ID = 9 };

static bool tag_known(uint32_t tag)
{
    for (size_t i = 0; i < sizeof ipa_euicc_data_tags / sizeof ipa_euicc_data_tags[0]; i++)
        if (ipa_euicc_data_tags[i] == tag)
            return true;
    return false;
}

/* Splits the tag list (concatenated BER tags) and checks each; false on an unknown or
 * malformed tag. */
static bool parse_tag_list(der_view list, bool wanted[], size_t wanted_count)
{
    size_t i = 0;
    while (i < list.len) {
        uint32_t tag = list.data[i++];
        if ((tag & 0x1F) == 0x1F) {
            do {
                if (i >= list.len || tag > 0xFFFFFF)
                    return false;
                tag = tag << 8 | list.data[i];
            } while (list.data[i++] & 0x80);
        }
        if (!tag_known(tag))
            return false;
        for (size_t k = 0; k < wanted_count; k++)
            if (ipa_euicc_data_tags[k] == tag)
                wanted[k] = true;
    }
    return true;
}

/* RetrieveNotificationsList (SGP.32 v1.2 section 5.9.11) with an optional criterion TLV;
 * appends the list content (the items) found under list_tag. */
static rsp_status retrieve_list(ipa_instance *ipa, der_view criterion, uint32_t list_tag,
                                der_writer *out, rsp_error *err)
{
    der_writer command, resp;
    der_view items;
    ipa_writer_init(ipa, &command);
    ipa_writer_init(ipa, &resp);
    size_t mark = der_begin(&command, 0xBF2B);
    if (criterion.len > 0)
        der_put_tlv(&command, 0xA0, criterion.data, criterion.len);
    der_end(&command, mark);
    rsp_status st = der_writer_status(&command);
    if (st == RSP_OK)
        st = ipa_es10(ipa, der_writer_view(&command), &resp, err);
    if (st == RSP_OK && ipa_find_child_value(der_writer_view(&resp), list_tag, &items))
        der_put_raw(out, items.data, items.len);
    der_writer_free(&command);
    der_writer_free(&resp);
    return st;
}

/* SGP.32 v1.2 section 5.9.11 */
rsp_status ipa_collect_notifications(ipa_instance *ipa, der_writer *out, rsp_error *err)
{
    return retrieve_list(ipa, der_view_make(NULL, 0), 0xA0, out, err);
}

/* Keeps the eUICC Package Results whose seqNumber matches (searchCriteriaEuiccPackageResult). */
static rsp_status filter_results(ipa_instance *ipa, der_view items, int64_t seq_number,
                                 der_writer *out, rsp_error *err)
{
    der_reader r;
    der_tlv tlv;
    rsp_status st = RSP_OK;
    der_reader_init(&r, items, 0, 1);
    while (st == RSP_OK && !der_reader_at_end(&r)) {
        st = der_reader_next(&r, &tlv, err);
        sgp32_euicc_package_result result;
        uint8_t *arena = NULL;
        rsp_error ignored = {0};
        if (st == RSP_OK &&
            decode_with_arena(ipa, &sgp32_euicc_package_result_type, tlv.whole, &result, &arena,
                              &ignored) == RSP_OK &&
            result.choice == SGP32_EUICC_PACKAGE_RESULT_EUICC_PACKAGE_RESULT_SIGNED &&
            result.u.euicc_package_result_signed.euicc_package_result_data_signed.seq_number ==
                seq_number)
            der_put_raw(out, tlv.whole.data, tlv.whole.len);
        ipa_release(ipa, arena);
    }
    return st;
}

/* SGP.22 v2.5 section 5.7.3 EuiccConfiguredAddresses */
static rsp_status put_configured_address(ipa_instance *ipa, uint32_t source_tag, uint32_t out_tag,
                                         der_writer *out, rsp_error *err)
{
    der_writer resp;
    der_view address;
    ipa_writer_init(ipa, &resp);
    rsp_status st = ipa_es10_simple(ipa, 0xBF3C, &resp, err);
    if (st == RSP_OK && ipa_find_child_value(der_writer_view(&resp), source_tag, &address))
        der_put_tlv(out, out_tag, address.data, address.len);
    der_writer_free(&resp);
    return st;
}

/* SGP.32 v1.2 section 5.9.10 GetCerts */
static rsp_status put_certificates(ipa_instance *ipa, const sgp32_ipa_euicc_data_request *request,
                                   bool eum, bool euicc, der_writer *out, rsp_error *err)
{
    der_writer command, resp;
    der_view certs, cert;
    ipa_writer_init(ipa, &command);
    ipa_writer_init(ipa, &resp);
    size_t mark = der_begin(&command, 0xBF56);
    if (request->has_euicc_ci_pk_identifier_to_be_used)
        der_put_tlv(&command, 0x80, request->euicc_ci_pk_identifier_to_be_used.data,
                    request->euicc_ci_pk_identifier_to_be_used.len);
    der_end(&command, mark);
    rsp_status st = der_writer_status(&command);
    if (st == RSP_OK)
        st = ipa_es10(ipa, der_writer_view(&command), &resp, err);
    if (st == RSP_OK && !ipa_find_child(der_writer_view(&resp), 0xA0, &certs))
        st = rsp_error_set(err, RSP_ERR_NOT_FOUND, 0xBF56, 0,
                           "ipa: GetCerts answered no certificates");
    if (st == RSP_OK && eum && ipa_find_child(certs, 0xA5, &cert))
        der_put_raw(out, cert.data, cert.len);
    if (st == RSP_OK && euicc && ipa_find_child(certs, 0xA6, &cert))
        der_put_raw(out, cert.data, cert.len);
    der_writer_free(&command);
    der_writer_free(&resp);
    return st;
}

static void put_search_criterion(const sgp32_ipa_euicc_data_request *request, der_writer *w)
{
    const sgp32_search_criteria_notification *c = &request->search_criteria_notification;
    if (c->choice == SGP32_SEARCH_CRITERIA_NOTIFICATION_SEQ_NUMBER) {
        der_put_int64(w, 0x80, c->u.seq_number);
    } else {
        size_t mark = der_begin(w, 0x81);
        uint8_t unused = c->u.profile_management_operation.unused_bits;
        der_put_raw(w, &unused, 1);
        der_put_raw(w, c->u.profile_management_operation.bytes.data,
                    c->u.profile_management_operation.bytes.len);
        der_end(w, mark);
    }
}

static rsp_status put_field(ipa_instance *ipa, uint32_t tag,
                            const sgp32_ipa_euicc_data_request *request, der_writer *out,
                            rsp_error *err)
{
    rsp_status st = RSP_OK;
    uint8_t small[24];
    der_writer tmp, list;
    switch (tag) {
    case 0xA0: /* notificationsList */
        der_writer_init_fixed(&tmp, small, sizeof small);
        if (request->has_search_criteria_notification)
            put_search_criterion(request, &tmp);
        ipa_writer_init(ipa, &list);
        st = retrieve_list(ipa, der_writer_view(&tmp), 0xA0, &list, err);
        der_put_tlv(out, 0xA0, list.buf, list.len);
        der_writer_free(&list);
        break;
    case 0x81: /* defaultSmdpAddress */
        st = put_configured_address(ipa, 0x80, 0x81, out, err);
        break;
    case 0x83: /* rootSmdsAddress */
        st = put_configured_address(ipa, 0x81, 0x83, out, err);
        break;
    case 0xA2: { /* euiccPackageResultList */
        static const uint8_t all_results[] = {0x82, 0x00};
        der_writer items;
        ipa_writer_init(ipa, &list);
        ipa_writer_init(ipa, &items);
        st = retrieve_list(ipa, der_view_make(all_results, sizeof all_results), 0xA2, &items, err);
        if (st == RSP_OK && request->has_search_criteria_euicc_package_result)
            st = filter_results(ipa, der_writer_view(&items),
                                request->search_criteria_euicc_package_result.u.seq_number, &list,
                                err);
        else if (st == RSP_OK)
            der_put_raw(&list, items.buf, items.len);
        der_put_tlv(out, 0xA2, list.buf, list.len);
        der_writer_free(&items);
        der_writer_free(&list);
        break;
    }
    case 0xBF20:
    case 0xBF22:
        st = ipa_es10_simple(ipa, tag, out, err);
        break;
    case 0x84:
        if (ipa->has_association_token)
            der_put_int64(out, 0x84, ipa->association_token);
        break;
    case 0x87: /* eimTransactionId, echoed whatever the tag list says */
        der_put_tlv(out, 0x87, request->eim_transaction_id.data, request->eim_transaction_id.len);
        break;
    case 0xA5:
    case 0xA6:
        break;   /* written together by the caller */
    case 0xA8: { /* ipaCapabilities: indirect, and direct when configured */
        const uint8_t features[] = {0x06, ipa->config.direct_download ? 0xC0 : 0x40};
        size_t mark = der_begin(out, 0xA8);
        der_put_tlv(out, 0x80, features, sizeof features);
        der_end(out, mark);
        break;
    }
    case 0xA9: { /* deviceInfo: TAC, no declared capabilities */
        size_t mark = der_begin(out, 0xA9);
        der_put_tlv(out, 0x80, ipa->config.tac, sizeof ipa->config.tac);
        der_put_tlv(out, 0xA1, NULL, 0);
        der_end(out, mark);
        break;
    }
    default:
        break;
    }
    return st;
}

/* SGP.32 v1.2 section 2.11.2.2 IpaEuiccDataResponseError */
static void put_data_error(const sgp32_ipa_euicc_data_request *request, int64_t code,
                           der_writer *out)
{
    size_t outer = der_begin(out, 0xBF52);
    size_t inner = der_begin(out, 0xA1);
    if (request->has_eim_transaction_id)
        der_put_tlv(out, 0x80, request->eim_transaction_id.data, request->eim_transaction_id.len);
    der_put_int64(out, 0x02, code);
    der_end(out, inner);
    der_end(out, outer);
}

/* SGP.32 v1.2 sections 2.11.1.2 and 2.11.2.2: collect exactly the requested data items, echo the
 * transaction id, answer incorrectTagList for a tag the IPA does not know. */
rsp_status ipa_run_ipa_euicc_data(ipa_instance *ipa, der_view request, der_writer *result,
                                  rsp_error *err)
{
    sgp32_ipa_euicc_data_request decoded;
    uint8_t *arena = NULL;
    enum { N = sizeof ipa_euicc_data_tags / sizeof ipa_euicc_data_tags[0] };
    bool wanted[N] = {false};
    rsp_status st =
        decode_with_arena(ipa, &sgp32_ipa_euicc_data_request_type, request, &decoded, &arena, err);
    size_t outer = der_begin(result, 0xBF50);
    put_eid(ipa, result);
    if (st == RSP_OK && !parse_tag_list(decoded.tag_list, wanted, N)) {
        put_data_error(&decoded, SGP32_IPA_EUICC_DATA_ERROR_INCORRECT_TAG_LIST, result);
    } else if (st == RSP_OK) {
        wanted[TAG_INDEX_TRANSACTION_ID] = decoded.has_eim_transaction_id;
        size_t data = der_begin(result, 0xBF52);
        size_t seq = der_begin(result, 0xA0);
        for (size_t i = 0; i < N && st == RSP_OK; i++) {
            if (!wanted[i])
                continue;
            if (ipa_euicc_data_tags[i] == 0xA5 || ipa_euicc_data_tags[i] == 0xA6) {
                if (ipa_euicc_data_tags[i] == 0xA5 || !wanted[TAG_INDEX_EUM])
                    st = put_certificates(ipa, &decoded, wanted[TAG_INDEX_EUM],
                                          wanted[TAG_INDEX_EUICC], result, err);
                continue;
            }
            st = put_field(ipa, ipa_euicc_data_tags[i], &decoded, result, err);
        }
        der_end(result, seq);
        der_end(result, data);
    }
    der_end(result, outer);
    if (st == RSP_OK)
        st = der_writer_status(result);
    ipa_release(ipa, arena);
    return st;
}
