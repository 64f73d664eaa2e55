/* Results that must reach the eIM: persisted before sending, removed once the eIM answered.
 * Storage "pending" holds entries back to back, oldest first; the "in_progress" marker holds
 * one. An entry is a bare TLV (BF50 ProvideEimPackageResult, or the BF51 package of the
 * marker), which goes to the eIM polled, or E0 { 80 eIM URL, [81 trusted TLS key | 82 trusted
 * TLS certificate], TLV }, which goes to the eIM it was received from: a deleteEim result is
 * signed for the eIM just deleted and must reach it even after a restart, when the eUICC no
 * longer lists it (SGP.32 v1.2 section 2.11.2.1). */
#include <string.h>

#include "core/log.h"
#include "core/sgp32.h"
#include "ipa/ipa_internal.h"

#define ENTRY_FOR_EIM  0xE0u /* private [0]: an entry with the eIM it goes to */
#define ENTRY_URL      0x80u
#define ENTRY_TLS_KEY  0x81u
#define ENTRY_TLS_CERT 0x82u

/* The eIM an entry goes to; url empty: the eIM polled. Views into the entry or the IPA. */
typedef struct {
    der_view url;
    der_view tls_pin;
    bool tls_pin_is_certificate;
} eim_destination;

static eim_destination current_destination(const ipa_instance *ipa)
{
    eim_destination d = {0};
    if (ipa->eim_loaded && ipa->eim_url[0] != 0) {
        d.url = der_view_make((const uint8_t *)ipa->eim_url, strlen(ipa->eim_url));
        d.tls_pin = der_view_make(ipa->tls_pin, ipa->tls_pin_len);
        d.tls_pin_is_certificate = ipa->tls_pin_is_certificate;
    }
    return d;
}

static void put_entry(const eim_destination *d, der_view item, der_writer *out)
{
    if (d->url.len == 0) {
        der_put_raw(out, item.data, item.len);
        return;
    }
    size_t mark = der_begin(out, ENTRY_FOR_EIM);
    der_put_tlv(out, ENTRY_URL, d->url.data, d->url.len);
    if (d->tls_pin.len > 0)
        der_put_tlv(out, d->tls_pin_is_certificate ? ENTRY_TLS_CERT : ENTRY_TLS_KEY,
                    d->tls_pin.data, d->tls_pin.len);
    der_put_raw(out, item.data, item.len);
    der_end(out, mark);
}

/* The item of a stored entry and the eIM it goes to. */
static rsp_status split_entry(der_tlv entry, eim_destination *d, der_view *item, rsp_error *err)
{
    memset(d, 0, sizeof *d);
    *item = entry.whole;
    if (entry.tag != ENTRY_FOR_EIM)
        return RSP_OK;
    der_reader r;
    der_tlv field;
    der_reader_init(&r, entry.value, 0, 1);
    rsp_status st = der_reader_next(&r, &field, err);
    if (st == RSP_OK && field.tag != ENTRY_URL)
        st = rsp_error_set(err, RSP_ERR_UNEXPECTED_TAG, field.tag, 0, "ipa: stored entry: no URL");
    if (st == RSP_OK) {
        d->url = field.value;
        st = der_reader_next(&r, &field, err);
    }
    if (st == RSP_OK && (field.tag == ENTRY_TLS_KEY || field.tag == ENTRY_TLS_CERT)) {
        d->tls_pin = field.value;
        d->tls_pin_is_certificate = field.tag == ENTRY_TLS_CERT;
        st = der_reader_next(&r, &field, err);
    }
    if (st == RSP_OK && !der_reader_at_end(&r))
        st = rsp_error_set(err, RSP_ERR_TRAILING, 0, 0, "ipa: stored entry: trailing data");
    if (st == RSP_OK &&
        (d->url.len == 0 || d->url.len >= IPA_URL_MAX || d->tls_pin.len > IPA_MAX_TLS_PIN))
        st = rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "ipa: stored entry: unusable eIM");
    if (st == RSP_OK)
        *item = field.whole;
    return st;
}

/* One exchange with the eIM of the entry: the eIM polled, or the one it was received from,
 * whose address and TLS trust stand in for the polled eIM's during the exchange. */
static rsp_status exchange_with(ipa_instance *ipa, const eim_destination *d, der_view message,
                                der_writer *answer, rsp_error *err)
{
    rsp_status st = ipa_esipa_load_config(ipa, err);
    bool other =
        st == RSP_OK && d->url.len > 0 &&
        !(d->url.len == strlen(ipa->eim_url) && memcmp(d->url.data, ipa->eim_url, d->url.len) == 0);
    if (!other)
        return st == RSP_OK ? ipa_esipa_exchange(ipa, message, answer, err) : st;
    uint8_t *pin = d->tls_pin.len > 0 ? ipa_alloc(ipa, d->tls_pin.len) : NULL;
    if (d->tls_pin.len > 0 && pin == NULL)
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "ipa: out of memory");
    if (pin != NULL)
        memcpy(pin, d->tls_pin.data, d->tls_pin.len);
    char polled_url[IPA_URL_MAX];
    memcpy(polled_url, ipa->eim_url, sizeof polled_url);
    uint8_t *polled_pin = ipa->tls_pin;
    size_t polled_pin_len = ipa->tls_pin_len;
    bool polled_pin_is_certificate = ipa->tls_pin_is_certificate;
    memcpy(ipa->eim_url, d->url.data, d->url.len);
    ipa->eim_url[d->url.len] = 0;
    ipa->tls_pin = pin;
    ipa->tls_pin_len = d->tls_pin.len;
    ipa->tls_pin_is_certificate = d->tls_pin_is_certificate;
    LOG_INFO("ipa", "result for the eIM it came from", LOG_STR("url", ipa->eim_url));
    st = ipa_esipa_exchange(ipa, message, answer, err);
    memcpy(ipa->eim_url, polled_url, sizeof polled_url);
    ipa->tls_pin = polled_pin;
    ipa->tls_pin_len = polled_pin_len;
    ipa->tls_pin_is_certificate = polled_pin_is_certificate;
    ipa_release(ipa, pin);
    return st;
}

static rsp_status append_for(ipa_instance *ipa, const eim_destination *d, der_view provide_result,
                             rsp_error *err)
{
    der_writer all;
    ipa_writer_init(ipa, &all);
    rsp_status st = ipa_storage_read(ipa, IPA_STORAGE_PENDING, &all, err);
    if (st == RSP_OK) {
        put_entry(d, provide_result, &all);
        st = der_writer_status(&all);
    }
    if (st == RSP_OK)
        st = ipa_storage_write(ipa, IPA_STORAGE_PENDING, der_writer_view(&all), err);
    der_writer_free(&all);
    return st;
}

/* SGP.32 v1.2 section 3.3.1: nothing the eUICC signed is lost when the eIM is away; the
 * result goes to the eIM polled now, which sent the package. */
rsp_status ipa_pending_append(ipa_instance *ipa, der_view provide_result, rsp_error *err)
{
    eim_destination d = current_destination(ipa);
    return append_for(ipa, &d, provide_result, err);
}

rsp_status ipa_mark_in_progress(ipa_instance *ipa, der_view package, rsp_error *err)
{
    der_writer marker;
    ipa_writer_init(ipa, &marker);
    eim_destination d = current_destination(ipa);
    put_entry(&d, package, &marker);
    rsp_status st = der_writer_status(&marker);
    if (st == RSP_OK)
        st = ipa_storage_write(ipa, IPA_STORAGE_IN_PROGRESS, der_writer_view(&marker), err);
    der_writer_free(&marker);
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
        eim_destination destination;
        der_view result;
        if (split_entry(item, &destination, &result, err) != RSP_OK) {
            LOG_ERROR("ipa", "pending result unreadable, dropped",
                      LOG_UINT("bytes", item.whole.len));
            result.len = 0;
        }
        answer.len = 0;
        st = result.len > 0 ? exchange_with(ipa, &destination, result, &answer, err) : RSP_OK;
        if (st != RSP_OK)
            break;
        done += item.whole.len;
        /* stored state first: a crash after this point re-sends nothing already answered */
        if (done == all.len)
            st = ipa_storage_remove(ipa, IPA_STORAGE_PENDING, err);
        else
            st = ipa_storage_write(ipa, IPA_STORAGE_PENDING,
                                   der_view_make(all.buf + done, all.len - done), err);
        if (st == RSP_OK && result.len > 0) {
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
    der_tlv entry;
    eim_destination destination = {0};
    der_view request = der_view_make(NULL, 0);
    if (der_parse_single(der_writer_view(&marker), &entry, &ignored) != RSP_OK ||
        split_entry(entry, &destination, &request, &ignored) != RSP_OK ||
        schema_decode(&sgp32_euicc_package_request_type, request, &package, &arena, &ignored) !=
            RSP_OK) {
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
        /* to the eIM that sent the package (it may have deleted itself with it) */
        if (st == RSP_OK)
            st = append_for(ipa, &destination, der_writer_view(&provide), err);
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
