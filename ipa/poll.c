/* The poll: pending results first, then GetEimPackage until the eIM has nothing more, then
 * the eUICC's notifications; rollback when the eIM stays unreachable after an enable. */
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/sgp32.h"
#include "ipa/ipa_internal.h"

/* SGP.32 v1.2 section 6.3.2.6 */
static rsp_status build_get_eim_package(ipa_instance *ipa, der_writer *w)
{
    size_t mark = der_begin(w, 0xBF4F);
    der_put_tlv(w, 0x5A, ipa->eid, IPA_EID_SIZE);
    if (ipa->has_state_change) {
        der_put_tlv(w, 0x80, NULL, 0);
        der_put_int64(w, 0x81, ipa->state_change_cause);
    }
    if (ipa->has_rplmn)
        der_put_tlv(w, 0x82, ipa->rplmn, sizeof ipa->rplmn);
    der_end(w, mark);
    return der_writer_status(w);
}

/* EimPackageResultResponseError for a package the IPA cannot even decode (SGP.32 v1.2 section
 * 6.3.2.7). */
static rsp_status build_package_error(ipa_instance *ipa, int64_t code, der_writer *w)
{
    size_t outer = der_begin(w, 0xBF50);
    der_put_tlv(w, 0x5A, ipa->eid, IPA_EID_SIZE);
    size_t inner = der_begin(w, 0xA0);
    der_put_int64(w, 0x02, code);
    der_end(w, inner);
    der_end(w, outer);
    return der_writer_status(w);
}

static bool is_decoding_error(rsp_status st)
{
    return st >= RSP_ERR_TRUNCATED && st <= RSP_ERR_TOO_MANY;
}

/* SGP.32 v1.2 section 5.9.16: the eIM stayed unreachable over the newly enabled profile. */
static rsp_status maybe_rollback(ipa_instance *ipa, ipa_poll_report *report, rsp_error *err)
{
    static const uint8_t command[] = {0xBF, 0x58, 0x03, 0x80, 0x01, 0x00};
    der_writer marker, resp;
    der_view epr;
    if (ipa->unreachable_polls < ipa->config.rollback_after_failures)
        return RSP_OK;
    ipa_writer_init(ipa, &marker);
    ipa_writer_init(ipa, &resp);
    rsp_status st = ipa_storage_read(ipa, IPA_STORAGE_ROLLBACK, &marker, err);
    if (st == RSP_OK && marker.len > 0) {
        LOG_WARN("ipa", "eIM unreachable after enable with rollback flag: ProfileRollback",
                 LOG_UINT("failedPolls", ipa->unreachable_polls));
        st = ipa_es10(ipa, der_view_make(command, sizeof command), &resp, err);
        if (st == RSP_OK && ipa_find_child(der_writer_view(&resp), 0xBF51, &epr)) {
            der_writer provide;
            ipa_writer_init(ipa, &provide);
            size_t mark = der_begin(&provide, 0xBF50);
            der_put_tlv(&provide, 0x5A, ipa->eid, IPA_EID_SIZE);
            der_put_raw(&provide, epr.data, epr.len);
            der_end(&provide, mark);
            st = der_writer_status(&provide);
            if (st == RSP_OK)
                st = ipa_pending_append(ipa, der_writer_view(&provide), err);
            der_writer_free(&provide);
        }
        if (st == RSP_OK) {
            st = ipa_storage_remove(ipa, IPA_STORAGE_ROLLBACK, err);
            report->rolled_back = true;
            ipa->unreachable_polls = 0;
        }
    }
    der_writer_free(&marker);
    der_writer_free(&resp);
    return st;
}

/* Runs one package from the eIM and stores its result as pending. */
static rsp_status run_package(ipa_instance *ipa, der_tlv *package, ipa_poll_report *report,
                              rsp_error *err)
{
    der_writer result;
    ipa_writer_init(ipa, &result);
    rsp_status st;
    rsp_error local = {0};
    switch (package->tag) {
    case 0xBF51:
        st = ipa_run_euicc_package(ipa, package->whole, &result, &local);
        break;
    case 0xBF52:
        st = ipa_run_ipa_euicc_data(ipa, package->whole, &result, &local);
        break;
    case 0xBF54:
        st = ipa_run_download_trigger(ipa, package->whole, &result, &local);
        break;
    default:
        st = RSP_ERR_UNEXPECTED_TAG;
        local.code = st;
        break;
    }
    if (st != RSP_OK && (is_decoding_error(st) || package->tag == 0)) {
        LOG_WARN("ipa", "eIM package rejected", LOG_STR("reason", local.message));
        result.len = 0;
        result.status = RSP_OK;
        st = build_package_error(ipa,
                                 st == RSP_ERR_UNEXPECTED_TAG
                                     ? SGP32_EIM_PACKAGE_RESULT_ERROR_UNKNOWN_PACKAGE
                                     : SGP32_EIM_PACKAGE_RESULT_ERROR_INVALID_PACKAGE_FORMAT,
                                 &result);
    } else if (st == RSP_ERR_IO && local.tag >= 0x6000 && local.tag <= 0x6FFF) {
        /* the eUICC refused the command with a status word: it ran nothing, so tell the eIM
         * at once instead of leaving it waiting for a result */
        LOG_WARN("ipa", "eUICC refused the package", LOG_UINT("sw", local.tag));
        report->last_euicc_error = local.tag;
        result.len = 0;
        result.status = RSP_OK;
        st = build_package_error(ipa, SGP32_EIM_PACKAGE_RESULT_ERROR_UNDEFINED_ERROR, &result);
    } else if (st != RSP_OK) {
        rsp_error_set(err, st, local.tag, local.offset, "%s", local.message);
    }
    if (st == RSP_OK)
        st = ipa_pending_append(ipa, der_writer_view(&result), err);
    if (st == RSP_OK)
        st = ipa_storage_remove(ipa, IPA_STORAGE_IN_PROGRESS, err);
    der_writer_free(&result);
    return st;
}

/* One GetEimPackage; *more false when the eIM has nothing (or answered an error). */
static rsp_status fetch_and_run(ipa_instance *ipa, ipa_poll_report *report, bool *more,
                                rsp_error *err)
{
    der_writer request, answer;
    der_tlv outer, package;
    der_reader r;
    *more = false;
    ipa_writer_init(ipa, &request);
    ipa_writer_init(ipa, &answer);
    rsp_status st = build_get_eim_package(ipa, &request);
    if (st == RSP_OK)
        st = ipa_esipa_exchange(ipa, der_writer_view(&request), &answer, err);
    if (st == RSP_OK) {
        ipa->has_state_change = false; /* reported */
        rsp_error ignored = {0};       /* a marker left behind only costs a later check */
        ipa_storage_remove(ipa, IPA_STORAGE_ROLLBACK, &ignored); /* the new profile works */
        st = der_parse_single(der_writer_view(&answer), &outer, err);
    }
    if (st == RSP_OK && outer.tag != 0xBF4F)
        st = rsp_error_set(err, RSP_ERR_UNEXPECTED_TAG, outer.tag, 0,
                           "ipa: eIM answered GetEimPackage with another message");
    if (st == RSP_OK) {
        der_reader_init(&r, outer.value, 0, 1);
        st = der_reader_next(&r, &package, err);
    }
    if (st == RSP_OK && package.tag == 0x02) {
        int64_t code = 0;
        st = der_decode_int64(&package, &code, err);
        if (st == RSP_OK && code != SGP32_EIM_PACKAGE_ERROR_NO_EIM_PACKAGE_AVAILABLE) {
            report->last_euicc_error = code;
            LOG_WARN("ipa", "eIM refused GetEimPackage", LOG_INT("eimPackageError", code));
        }
    } else if (st == RSP_OK) {
        report->packages++;
        char tag_text[12];
        snprintf(tag_text, sizeof tag_text, "%X", (unsigned)package.tag);
        LOG_INFO("ipa", "eIM package", LOG_STR("tag", tag_text));
        st = run_package(ipa, &package, report, err);
        bool ran_euicc_package = st == RSP_OK && package.tag == 0xBF51;
        if (st == RSP_OK)
            st = ipa_pending_deliver(ipa, report, err);
        /* an eUICC Package may change the eIM configuration (eCO: updateEim, deleteEim of this
         * eIM): its result was offered to the eIM that sent it, later exchanges read the
         * configuration again (SGP.32 v1.2 section 2.11.2.1) */
        if (ran_euicc_package)
            ipa->eim_loaded = false;
        *more = st == RSP_OK;
    }
    der_writer_free(&request);
    der_writer_free(&answer);
    return st;
}

/* SGP.32 v1.2 section 5.14.7 PendingNotification: every form carries the seqNumber */
static bool notification_seq_number(ipa_instance *ipa, der_view notification, int64_t *seq)
{
    sgp32_pending_notification decoded;
    schema_arena arena;
    rsp_error ignored = {0};
    uint8_t *buf = ipa_alloc(ipa, IPA_DECODE_ARENA);
    bool found = false;
    if (!buf)
        return false;
    schema_arena_init(&arena, buf, IPA_DECODE_ARENA);
    if (schema_decode(&sgp32_pending_notification_type, notification, &decoded, &arena, &ignored) ==
        RSP_OK) {
        found = true;
        switch (decoded.choice) {
        case SGP32_PENDING_NOTIFICATION_PROFILE_INSTALLATION_RESULT:
            *seq = decoded.u.profile_installation_result.profile_installation_result_data
                       .notification_metadata.seq_number;
            break;
        case SGP32_PENDING_NOTIFICATION_OTHER_SIGNED_NOTIFICATION:
            *seq = decoded.u.other_signed_notification.tbs_other_notification.seq_number;
            break;
        case SGP32_PENDING_NOTIFICATION_COMPACT_PROFILE_INSTALLATION_RESULT:
            *seq = decoded.u.compact_profile_installation_result
                       .compact_profile_installation_result_data.seq_number;
            break;
        default:
            *seq = decoded.u.compact_other_signed_notification.tbs_other_notification.seq_number;
            break;
        }
    }
    ipa_release(ipa, buf);
    return found;
}

/* SGP.32 v1.2 section 6.3.2.4: HandleNotification carries one PendingNotification; the eIM
 * answers with no content. The notification is removed only after that answer. */
rsp_status ipa_deliver_notifications(ipa_instance *ipa, unsigned *delivered, rsp_error *err)
{
    der_writer list, message, answer;
    der_reader r;
    der_tlv item;
    *delivered = 0;
    ipa_writer_init(ipa, &list);
    ipa_writer_init(ipa, &message);
    ipa_writer_init(ipa, &answer);
    rsp_status st = ipa_collect_notifications(ipa, &list, err);
    der_reader_init(&r, der_writer_view(&list), 0, 1);
    while (st == RSP_OK && !der_reader_at_end(&r)) {
        int64_t seq = 0;
        st = der_reader_next(&r, &item, err);
        if (st != RSP_OK || !notification_seq_number(ipa, item.whole, &seq))
            break;
        message.len = 0;
        answer.len = 0;
        /* both CHOICEs are tagged, so both tags wrap: BF3D { A0 { PendingNotification } } */
        size_t mark = der_begin(&message, 0xBF3D);
        size_t inner = der_begin(&message, 0xA0);
        der_put_raw(&message, item.whole.data, item.whole.len);
        der_end(&message, inner);
        der_end(&message, mark);
        st = der_writer_status(&message);
        if (st == RSP_OK)
            st = ipa_esipa_exchange(ipa, der_writer_view(&message), &answer, err);
        if (st == RSP_OK)
            st = ipa_es10_remove_notification(ipa, seq, err);
        if (st == RSP_OK)
            (*delivered)++;
    }
    der_writer_free(&list);
    der_writer_free(&message);
    der_writer_free(&answer);
    return st;
}

/* SGP.32 v1.2 section 3.1.1.1 (eIM Package Retrieval) */
rsp_status ipa_poll_once(ipa_instance *ipa, ipa_poll_report *report, rsp_error *err)
{
    memset(report, 0, sizeof *report);
    rsp_status st = ipa_open(ipa, err);
    if (st == RSP_OK)
        st = ipa_esipa_load_config(ipa, err);
    if (st == RSP_OK)
        st = ipa_recover_in_progress(ipa, err);
    if (st == RSP_OK)
        st = ipa_pending_deliver(ipa, report, err);
    bool more = st == RSP_OK;
    for (unsigned n = 0; more && n < ipa->config.max_packages_per_poll; n++)
        st = fetch_and_run(ipa, report, &more, err);
    if (st == RSP_OK) {
        unsigned delivered = 0;
        st = ipa_deliver_notifications(ipa, &delivered, err);
        report->notifications_sent = delivered;
    }
    if (st != RSP_OK) {
        rsp_error local = {0};
        if (maybe_rollback(ipa, report, &local) != RSP_OK)
            LOG_ERROR("ipa", "rollback failed", LOG_STR("reason", local.message));
    }
    /* the channel is reopened by the next poll: a card or modem reset in between, or another
     * user of the reader, then costs nothing */
    ipa_close(ipa);
    return st;
}
