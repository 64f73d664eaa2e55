/* Results that must reach the eIM: persisted before sending, removed once the eIM answered.
 * Storage "pending" holds ProvideEimPackageResult TLVs (BF50) back to back, oldest first. */
#include <string.h>

#include "core/log.h"
#include "core/sgp32.h"
#include "ipa/ipa_internal.h"

/* SGP.32 v1.2 section 3.3.1: nothing the eUICC signed is lost when the eIM is away */
rsp_status ipa_pending_append(ipa_instance *ipa, der_view provide_result, rsp_error *err)
{
    der_writer all;
    ipa_writer_init(ipa, &all);
    rsp_status st = ipa_storage_read(ipa, IPA_STORAGE_PENDING, &all, err);
    if (st == RSP_OK) {
        der_put_raw(&all, provide_result.data, provide_result.len);
        st = der_writer_status(&all);
    }
    if (st == RSP_OK)
        st = ipa_storage_write(ipa, IPA_STORAGE_PENDING, der_writer_view(&all), err);
    der_writer_free(&all);
    return st;
}

/* SGP.32 v1.2 section 6.3.2.7: eimAcknowledgements lists the seqNumbers of the notifications
 * and eUICC Package Results the eIM has; the IPA removes them from the eUICC. */
rsp_status ipa_process_acknowledgements(ipa_instance *ipa, der_view answer, ipa_poll_report *report,
                                        rsp_error *err)
{
    der_tlv outer, first, item;
    der_reader r, acks;
    rsp_status st = der_parse_single(answer, &outer, err);
    if (st == RSP_OK && outer.tag != 0xBF50)
        return rsp_error_set(err, RSP_ERR_UNEXPECTED_TAG, outer.tag, 0,
                             "ipa: eIM answered ProvideEimPackageResult with another message");
    if (st == RSP_OK) {
        der_reader_init(&r, outer.value, 0, 1);
        st = der_reader_next(&r, &first, err);
    }
    if (st != RSP_OK)
        return st;
    if (first.tag == 0x02) {
        int64_t code = 0;
        der_decode_int64(&first, &code, err);
        report->last_euicc_error = code;
        LOG_WARN("ipa", "eIM refused the result", LOG_INT("provideEimPackageResultError", code));
        return RSP_OK;
    }
    if (first.tag != 0xBF53)
        return RSP_OK; /* emptyResponse */
    st = der_reader_enter(&first, 1, &acks, err);
    for (unsigned n = 0; st == RSP_OK && !der_reader_at_end(&acks) && n < IPA_MAX_ACKS; n++) {
        int64_t seq = 0;
        st = der_reader_next(&acks, &item, err);
        if (st == RSP_OK)
            st = der_decode_int64(&item, &seq, err);
        if (st != RSP_OK)
            break;
        rsp_error local = {0};
        /* already gone (removed before a crash) is fine: the goal is that it is gone */
        if (ipa_es10_remove_notification(ipa, seq, &local) == RSP_OK)
            report->acknowledged++;
        else
            LOG_DEBUG("ipa", "acknowledged item not removed", LOG_INT("seqNumber", seq),
                      LOG_STR("reason", local.message));
    }
    return st;
}

/* Sends the oldest pending result, then the next, until none is left or the eIM cannot be
 * reached (then everything not yet answered stays stored). */
rsp_status ipa_pending_deliver(ipa_instance *ipa, ipa_poll_report *report, rsp_error *err)
{
    der_writer all, answer;
    ipa_writer_init(ipa, &all);
    ipa_writer_init(ipa, &answer);
    rsp_status st = ipa_storage_read(ipa, IPA_STORAGE_PENDING, &all, err);
    size_t done = 0;
    while (st == RSP_OK && done < all.len) {
        der_reader r;
        der_tlv item;
        der_reader_init(&r, der_view_make(all.buf + done, all.len - done), 0, 0);
        st = der_reader_next(&r, &item, err);
        if (st != RSP_OK) {
            /* a damaged store must not block the device forever: drop it, loudly */
            LOG_ERROR("ipa", "pending results unreadable, dropped", LOG_UINT("bytes", all.len));
            done = all.len;
            st = RSP_OK;
            break;
        }
        answer.len = 0;
        st = ipa_esipa_exchange(ipa, item.whole, &answer, err);
        if (st != RSP_OK)
            break;
        done += item.whole.len;
        /* stored state first: a crash after this point re-sends nothing already answered */
        if (done == all.len)
            st = ipa_storage_remove(ipa, IPA_STORAGE_PENDING, err);
        else
            st = ipa_storage_write(ipa, IPA_STORAGE_PENDING,
                                   der_view_make(all.buf + done, all.len - done), err);
        if (st == RSP_OK) {
            report->results_delivered++;
            st = ipa_process_acknowledgements(ipa, der_writer_view(&answer), report, err);
        }
    }
    report->pending_left = done < all.len;
    der_writer_free(&all);
    der_writer_free(&answer);
    return st;
}

/* The eUICC ran (or may have run) the package stored in the marker but the IPA never stored
 * its result: take it from the eUICC's list (SGP.32 v1.2 section 5.9.11, euiccPackageResults)
 * by the package's counterValue. */
rsp_status ipa_recover_in_progress(ipa_instance *ipa, rsp_error *err)
{
    static const uint8_t command[] = {0xBF, 0x2B, 0x04, 0xA0, 0x02, 0x82, 0x00};
    der_writer marker, resp;
    ipa_writer_init(ipa, &marker);
    ipa_writer_init(ipa, &resp);
    sgp32_euicc_package_request package;
    uint8_t *arena_buf = NULL;
    rsp_status st = ipa_storage_read(ipa, IPA_STORAGE_IN_PROGRESS, &marker, err);
    if (st != RSP_OK || marker.len == 0)
        goto out;
    arena_buf = ipa_alloc(ipa, IPA_DECODE_ARENA);
    schema_arena arena;
    if (!arena_buf) {
        st = rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "ipa: out of memory");
        goto out;
    }
    schema_arena_init(&arena, arena_buf, IPA_DECODE_ARENA);
    rsp_error ignored = {0};
    if (schema_decode(&sgp32_euicc_package_request_type, der_writer_view(&marker), &package, &arena,
                      &ignored) != RSP_OK) {
        st = ipa_storage_remove(ipa, IPA_STORAGE_IN_PROGRESS, err);
        goto out;
    }
    st = ipa_es10(ipa, der_view_make(command, sizeof command), &resp, err);
    der_view items;
    if (st != RSP_OK || !ipa_find_child_value(der_writer_view(&resp), 0xA2, &items))
        goto remove;
    der_reader r;
    der_tlv tlv;
    der_reader_init(&r, items, 0, 1);
    while (st == RSP_OK && !der_reader_at_end(&r)) {
        st = der_reader_next(&r, &tlv, err);
        sgp32_euicc_package_result result;
        schema_arena_init(&arena, arena_buf, IPA_DECODE_ARENA);
        if (st != RSP_OK || schema_decode(&sgp32_euicc_package_result_type, tlv.whole, &result,
                                          &arena, &ignored) != RSP_OK)
            continue;
        int64_t counter = -1;
        if (result.choice == SGP32_EUICC_PACKAGE_RESULT_EUICC_PACKAGE_RESULT_SIGNED)
            counter =
                result.u.euicc_package_result_signed.euicc_package_result_data_signed.counter_value;
        else if (result.choice == SGP32_EUICC_PACKAGE_RESULT_EUICC_PACKAGE_ERROR_SIGNED)
            counter =
                result.u.euicc_package_error_signed.euicc_package_error_data_signed.counter_value;
        if (counter != package.euicc_package_signed.counter_value)
            continue;
        der_writer provide;
        ipa_writer_init(ipa, &provide);
        size_t mark = der_begin(&provide, 0xBF50);
        der_put_tlv(&provide, 0x5A, ipa->eid, IPA_EID_SIZE);
        der_put_raw(&provide, tlv.whole.data, tlv.whole.len);
        der_end(&provide, mark);
        st = der_writer_status(&provide);
        if (st == RSP_OK)
            st = ipa_pending_append(ipa, der_writer_view(&provide), err);
        der_writer_free(&provide);
        LOG_INFO("ipa", "recovered an eUICC Package Result after an interruption",
                 LOG_INT("counterValue", counter));
        break;
    }
remove:
    if (st == RSP_OK)
        st = ipa_storage_remove(ipa, IPA_STORAGE_IN_PROGRESS, err);
out:
    ipa_release(ipa, arena_buf);
    der_writer_free(&marker);
    der_writer_free(&resp);
    return st;
}
