/* ES10 fake for the IPA tests: just enough ISD-R behaviour (eIM configuration, eUICC packages
 * with results and notifications, notification list, rollback, fallback, a download session
 * with segmented BPP) to drive every IPA flow, behind the real APDU front end. Signatures are
 * dummies: the IPA never verifies any. */
#include <stdlib.h>
#include <string.h>

#include "core/sgp32.h"
#include "ipa/ipa_internal.h"
#include "ipa_fakes.h"

static const uint8_t dummy_cert[] = {0x30, 0x03, 0x02, 0x01, 0x01};
static uint8_t dummy_sig[64];

static void put_signature(der_writer *w)
{
    der_put_tlv(w, 0x5F37, dummy_sig, sizeof dummy_sig);
}

static void add_item(fake_item *items, size_t *count, int64_t seq, der_view der)
{
    if (*count >= FAKE_MAX_ITEMS || der.len > FAKE_ITEM_MAX)
        abort();
    items[*count].seq = seq;
    memcpy(items[*count].der, der.data, der.len);
    items[*count].len = der.len;
    (*count)++;
}

static bool remove_item(fake_item *items, size_t *count, int64_t seq)
{
    for (size_t i = 0; i < *count; i++) {
        if (items[i].seq != seq)
            continue;
        memmove(&items[i], &items[i + 1], (*count - i - 1) * sizeof items[0]);
        (*count)--;
        return true;
    }
    return false;
}

/* OtherSignedNotification for a profile state change (SGP.22 v2.5 section 5.7.10) */
void fake_euicc_add_notification(fake_euicc *f, const uint8_t iccid[10], uint8_t event_bit)
{
    uint8_t buf[256];
    der_writer w;
    der_writer_init_fixed(&w, buf, sizeof buf);
    int64_t seq = f->next_seq++;
    size_t outer = der_begin(&w, 0x30);
    size_t meta = der_begin(&w, 0xBF2F);
    der_put_int64(&w, 0x80, seq);
    uint8_t bits[2] = {(uint8_t)(7 - event_bit), (uint8_t)(0x80 >> event_bit)};
    der_put_tlv(&w, 0x81, bits, 2);
    der_put_tlv(&w, 0x0C, (const uint8_t *)"eim.example", 11);
    der_put_tlv(&w, 0x5A, iccid, 10);
    der_end(&w, meta);
    put_signature(&w);
    der_put_raw(&w, dummy_cert, sizeof dummy_cert);
    der_put_raw(&w, dummy_cert, sizeof dummy_cert);
    der_end(&w, outer);
    add_item(f->notifications, &f->notification_count, seq, der_writer_view(&w));
}

static fake_profile *find_profile(fake_euicc *f, der_view iccid)
{
    for (size_t i = 0; i < f->profile_count; i++)
        if (iccid.len == 10 && memcmp(f->profiles[i].iccid, iccid.data, 10) == 0)
            return &f->profiles[i];
    return NULL;
}

static int64_t enable_profile(fake_euicc *f, der_view iccid)
{
    fake_profile *p = find_profile(f, iccid);
    if (!p)
        return SGP32_ENABLE_PROFILE_RESULT_ICCID_OR_AID_NOT_FOUND;
    if (p->enabled)
        return SGP32_ENABLE_PROFILE_RESULT_PROFILE_NOT_IN_DISABLED_STATE;
    for (size_t i = 0; i < f->profile_count; i++)
        f->profiles[i].enabled = false;
    p->enabled = true;
    fake_euicc_add_notification(f, p->iccid, 1 /* enable */);
    return SGP32_ENABLE_PROFILE_RESULT_OK;
}

/* ES10b.LoadEuiccPackage (SGP.32 v1.2 section 5.9.1), checks reduced to EID and replay. */
static rsp_status load_euicc_package(fake_euicc *f, der_view command, der_writer *response)
{
    static uint8_t arena_buf[8192];
    schema_arena arena;
    sgp32_euicc_package_request req;
    rsp_error err = {0};
    schema_arena_init(&arena, arena_buf, sizeof arena_buf);
    rsp_status st = schema_decode(&sgp32_euicc_package_request_type, command, &req, &arena, &err);
    if (st != RSP_OK)
        return st;
    f->packages_loaded++;
    const sgp32_euicc_package_signed *s = &req.euicc_package_signed;
    sgp32_euicc_result_data results[8];
    size_t n = 0;
    sgp32_euicc_package_result r;
    memset(&r, 0, sizeof r);
    if (s->counter_value <= f->last_counter || s->eid_value.len != 16 ||
        memcmp(s->eid_value.data, f->eid, 16) != 0) {
        r.choice = SGP32_EUICC_PACKAGE_RESULT_EUICC_PACKAGE_ERROR_SIGNED;
        sgp32_euicc_package_error_data_signed *e =
            &r.u.euicc_package_error_signed.euicc_package_error_data_signed;
        e->eim_id = s->eim_id;
        e->counter_value = s->counter_value;
        e->has_eim_transaction_id = s->has_eim_transaction_id;
        e->eim_transaction_id = s->eim_transaction_id;
        e->euicc_package_error_code = s->counter_value <= f->last_counter
                                          ? SGP32_EUICC_PACKAGE_ERROR_REPLAY_ERROR
                                          : SGP32_EUICC_PACKAGE_ERROR_INVALID_EID;
        r.u.euicc_package_error_signed.euicc_sign_epe = der_view_make(dummy_sig, 64);
    } else {
        f->last_counter = s->counter_value;
        const sgp32_psmo *psmos = s->euicc_package.u.psmo_list.items;
        for (size_t i = 0; i < s->euicc_package.u.psmo_list.count && n < 8; i++) {
            memset(&results[n], 0, sizeof results[n]);
            if (psmos[i].choice == SGP32_PSMO_ENABLE) {
                results[n].choice = SGP32_EUICC_RESULT_DATA_ENABLE_RESULT;
                results[n].u.enable_result = enable_profile(f, psmos[i].u.enable.iccid);
            } else {
                results[n].choice = SGP32_EUICC_RESULT_DATA_PROCESSING_TERMINATED;
                results[n].u.processing_terminated =
                    SGP32_PROCESSING_TERMINATED_UNKNOWN_OR_DAMAGED_COMMAND;
            }
            n++;
        }
        r.choice = SGP32_EUICC_PACKAGE_RESULT_EUICC_PACKAGE_RESULT_SIGNED;
        sgp32_euicc_package_result_data_signed *d =
            &r.u.euicc_package_result_signed.euicc_package_result_data_signed;
        d->eim_id = s->eim_id;
        d->counter_value = s->counter_value;
        d->has_eim_transaction_id = s->has_eim_transaction_id;
        d->eim_transaction_id = s->eim_transaction_id;
        d->seq_number = f->next_seq++;
        d->euicc_result.count = n;
        d->euicc_result.items = results;
        r.u.euicc_package_result_signed.euicc_sign_epr = der_view_make(dummy_sig, 64);
    }
    uint8_t buf[FAKE_ITEM_MAX];
    der_writer w;
    der_writer_init_fixed(&w, buf, sizeof buf);
    st = schema_encode(&sgp32_euicc_package_result_type, &r, &w);
    if (st != RSP_OK)
        return st;
    /* only results with a seqNumber can be acknowledged, so only those are kept */
    if (r.choice == SGP32_EUICC_PACKAGE_RESULT_EUICC_PACKAGE_RESULT_SIGNED)
        add_item(f->results, &f->result_count,
                 r.u.euicc_package_result_signed.euicc_package_result_data_signed.seq_number,
                 der_writer_view(&w));
    der_put_raw(response, buf, w.len);
    return RSP_OK;
}

static rsp_status retrieve_notifications(fake_euicc *f, der_view command, der_writer *response)
{
    der_view criteria;
    bool want_results = false;
    int64_t only_seq = -1;
    if (ipa_find_child_value(command, 0xA0, &criteria) && criteria.len >= 2) {
        if (criteria.data[0] == 0x82)
            want_results = true;
        else if (criteria.data[0] == 0x80) {
            der_tlv tlv;
            rsp_error e = {0};
            if (der_parse_single(criteria, &tlv, &e) == RSP_OK)
                der_decode_int64(&tlv, &only_seq, &e);
        }
    }
    size_t outer = der_begin(response, 0xBF2B);
    size_t list = der_begin(response, want_results ? 0xA2 : 0xA0);
    const fake_item *items = want_results ? f->results : f->notifications;
    size_t count = want_results ? f->result_count : f->notification_count;
    for (size_t i = 0; i < count; i++)
        if (only_seq < 0 || items[i].seq == only_seq)
            der_put_raw(response, items[i].der, items[i].len);
    der_end(response, list);
    der_end(response, outer);
    return RSP_OK;
}

static rsp_status remove_notification(fake_euicc *f, der_view command, der_writer *response)
{
    der_view seq_view;
    int64_t seq = 0;
    for (size_t i = 0; ipa_find_child_value(command, 0x80, &seq_view) && i < seq_view.len; i++)
        seq = seq << 8 | seq_view.data[i];
    bool removed = remove_item(f->notifications, &f->notification_count, seq) ||
                   remove_item(f->results, &f->result_count, seq);
    size_t mark = der_begin(response, 0xBF30);
    der_put_int64(response, 0x80, removed ? 0 : 1);
    der_end(response, mark);
    return RSP_OK;
}

static void put_pir(fake_euicc *f, der_writer *w)
{
    static const uint8_t txid[16] = {1, 2, 3, 4};
    static const uint8_t oid[] = {0x2B, 0x06, 0x01};
    static const uint8_t aid[16] = {0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0x01};
    static const uint8_t sima[] = {0x90, 0x00};
    int64_t seq = f->next_seq++;
    uint8_t buf[512];
    der_writer p;
    der_writer_init_fixed(&p, buf, sizeof buf);
    size_t outer = der_begin(&p, 0xBF37);
    size_t data = der_begin(&p, 0xBF27);
    der_put_tlv(&p, 0x80, txid, sizeof txid);
    size_t meta = der_begin(&p, 0xBF2F);
    der_put_int64(&p, 0x80, seq);
    uint8_t bits[2] = {0x07, 0x80};
    der_put_tlv(&p, 0x81, bits, 2);
    der_put_tlv(&p, 0x0C, (const uint8_t *)"smdp.example", 12);
    der_end(&p, meta);
    der_put_tlv(&p, 0x06, oid, sizeof oid);
    size_t final = der_begin(&p, 0xA2);
    size_t ok = der_begin(&p, 0xA0);
    der_put_tlv(&p, 0x4F, aid, sizeof aid);
    der_put_tlv(&p, 0x04, sima, sizeof sima);
    der_end(&p, ok);
    der_end(&p, final);
    der_end(&p, data);
    put_signature(&p);
    der_end(&p, outer);
    add_item(f->notifications, &f->notification_count, seq, der_writer_view(&p));
    der_put_raw(w, buf, p.len);
}

/* BPP segments as SGP.22 v2.5 section 5.7.6 sends them; the result after the last 86. */
static rsp_status load_bpp_segment(fake_euicc *f, der_view command, der_writer *response)
{
    f->bpp_segments++;
    uint32_t tag = command.data[0];
    if (tag == 0xBF)
        tag = tag << 8 | command.data[1];
    if (tag == 0xA3) {
        /* header only: its length tells how many bytes of 86 follow */
        size_t len = command.data[1] < 0x80 ? command.data[1] : 0;
        if (command.data[1] == 0x81)
            len = command.data[2];
        else if (command.data[1] == 0x82)
            len = (size_t)command.data[2] << 8 | command.data[3];
        f->bpp_remaining = len;
        f->bpp_in_a3 = true;
        return RSP_OK;
    }
    if (tag == 0x86 && f->bpp_in_a3) {
        f->bpp_remaining -= command.len < f->bpp_remaining ? command.len : f->bpp_remaining;
        if (f->bpp_remaining == 0) {
            f->bpp_in_a3 = false;
            put_pir(f, response);
            fake_euicc_add_profile(f, 9, false);
        }
    }
    return RSP_OK;
}

/* ProfileInfoListResponse (SGP.22 v2.5 section 5.7.15): ICCID and state of each profile */
static rsp_status list_profiles(fake_euicc *f, der_writer *response)
{
    size_t outer = der_begin(response, 0xBF2D);
    size_t list = der_begin(response, 0xA0);
    for (size_t i = 0; i < f->profile_count; i++) {
        size_t info = der_begin(response, 0xE3);
        der_put_tlv(response, 0x5A, f->profiles[i].iccid, 10);
        der_put_int64(response, 0x9F70, f->profiles[i].enabled ? 1 : 0);
        der_end(response, info);
    }
    der_end(response, list);
    der_end(response, outer);
    return RSP_OK;
}

static rsp_status put_fixed(der_writer *response, const uint8_t *data, size_t len)
{
    der_put_raw(response, data, len);
    return RSP_OK;
}

static rsp_status refresh_result(fake_euicc *f, uint32_t tag, der_writer *response)
{
    size_t mark = der_begin(response, tag);
    der_put_int64(response, 0x80, 0);
    if (tag == 0xBF58) {
        /* ProfileRollback answers with a eUICC Package Result for the eIM (SGP.32 5.9.16) */
        fake_profile *enabled = NULL;
        for (size_t i = 0; i < f->profile_count; i++)
            if (f->profiles[i].enabled)
                enabled = &f->profiles[i];
        if (enabled) {
            enabled->enabled = false;
            f->profiles[0].enabled = true;
        }
        sgp32_euicc_package_result r;
        sgp32_euicc_result_data result;
        memset(&r, 0, sizeof r);
        memset(&result, 0, sizeof result);
        result.choice = SGP32_EUICC_RESULT_DATA_ROLLBACK_RESULT;
        r.choice = SGP32_EUICC_PACKAGE_RESULT_EUICC_PACKAGE_RESULT_SIGNED;
        sgp32_euicc_package_result_data_signed *d =
            &r.u.euicc_package_result_signed.euicc_package_result_data_signed;
        d->eim_id = der_view_make((const uint8_t *)"eim.test", 8);
        d->counter_value = f->last_counter;
        d->seq_number = f->next_seq++;
        d->euicc_result.count = 1;
        d->euicc_result.items = &result;
        r.u.euicc_package_result_signed.euicc_sign_epr = der_view_make(dummy_sig, 64);
        uint8_t buf[FAKE_ITEM_MAX];
        der_writer w;
        der_writer_init_fixed(&w, buf, sizeof buf);
        schema_encode(&sgp32_euicc_package_result_type, &r, &w);
        add_item(f->results, &f->result_count, d->seq_number, der_writer_view(&w));
        der_put_raw(response, buf, w.len);
        f->rollbacks++;
    } else {
        f->fallbacks++;
    }
    der_end(response, mark);
    return RSP_OK;
}

static rsp_status process(void *ctx, unsigned channel, der_view command, der_writer *response)
{
    fake_euicc *f = ctx;
    (void)channel;
    if (command.len > f->largest_command)
        f->largest_command = command.len;
    uint32_t tag = command.data[0];
    if ((tag & 0x1F) == 0x1F && command.len > 1)
        tag = tag << 8 | command.data[1];
    if (f->fail_tag && tag == f->fail_tag)
        return RSP_ERR_NOT_FOUND; /* 6A88 */
    static const uint8_t eim_config[] = {0xBF, 0x55, 0x1E, 0xA0, 0x1C, 0x30, 0x1A, 0x80, 0x08,
                                         'e',  'i',  'm',  '.',  't',  'e',  's',  't',  0x81,
                                         0x0B, 'e',  'i',  'm',  '.',  'e',  'x',  'a',  'm',
                                         'p',  'l',  'e',  0x84, 0x01, 0x07};
    static const uint8_t no_eim[] = {0xBF, 0x55, 0x02, 0xA0, 0x00};
    static const uint8_t info1[] = {0xBF, 0x20, 0x0B, 0x82, 0x03, 0x02, 0x05,
                                    0x00, 0xA9, 0x02, 0x04, 0x00, 0xAA, 0x00};
    static const uint8_t addresses[] = {0xBF, 0x3C, 0x0E, 0x80, 0x0C, 's', 'm', 'd', 'p',
                                        '.',  'e',  'x',  'a',  'm',  'p', 'l', 'e'};
    static const uint8_t certs[] = {0xBF, 0x56, 0x0E, 0xA0, 0x0C, 0xA5, 0x04, 0x02, 0x02,
                                    0x01, 0x05, 0xA6, 0x04, 0x02, 0x02, 0x01, 0x06};
    static const uint8_t auth_response[] = {0xBF, 0x38, 0x08, 0xA0, 0x06, 0x30,
                                            0x04, 0x80, 0x02, 0x01, 0x02};
    static const uint8_t prepare_response[] = {0xBF, 0x21, 0x08, 0xA0, 0x06, 0x30,
                                               0x04, 0x80, 0x02, 0x01, 0x02};
    /* CancelSessionResponseOk { euiccCancelSessionSigned { transactionId [0], smdpOid [1],
     * reason [2] }, euiccCancelSessionSignature }, the signature a dummy */
    static const uint8_t cancel_response[] = {
        0xBF, 0x41, 0x19, 0xA0, 0x17, 0x30, 0x0E, 0x80, 0x04, 0x01, 0x02, 0x03, 0x04, 0x81,
        0x03, 0x2B, 0x06, 0x01, 0x82, 0x01, 0x7F, 0x5F, 0x37, 0x04, 0x00, 0x01, 0x02, 0x03};
    uint8_t challenge[21] = {0xBF, 0x2E, 0x12, 0x80, 0x10};
    switch (tag) {
    case 0xBF3E: {
        size_t mark = der_begin(response, 0xBF3E);
        der_put_tlv(response, 0x5A, f->eid, 16);
        der_end(response, mark);
        return RSP_OK;
    }
    case 0xBF55:
        if (f->has_eim && f->eim_config_len > 0)
            return put_fixed(response, f->eim_config, f->eim_config_len);
        return f->has_eim ? put_fixed(response, eim_config, sizeof eim_config)
                          : put_fixed(response, no_eim, sizeof no_eim);
    case 0xBF51:
        return load_euicc_package(f, command, response);
    case 0xBF2B:
        return retrieve_notifications(f, command, response);
    case 0xBF30:
        return remove_notification(f, command, response);
    case 0xBF20:
        return put_fixed(response, info1, sizeof info1);
    case 0xBF2D:
        return list_profiles(f, response);
    case 0xBF3C:
        return put_fixed(response, addresses, sizeof addresses);
    case 0xBF56:
        return put_fixed(response, certs, sizeof certs);
    case 0xBF2E:
        return put_fixed(response, challenge, sizeof challenge);
    case 0xBF38:
        f->authenticate_servers++;
        return put_fixed(response, auth_response, sizeof auth_response);
    case 0xBF21:
        f->prepare_downloads++;
        return put_fixed(response, prepare_response, sizeof prepare_response);
    case 0xBF41: {
        der_view reason;
        f->cancels++;
        if (ipa_find_child_value(command, 0x81, &reason) && reason.len == 1)
            f->last_cancel_reason = reason.data[0];
        return put_fixed(response, cancel_response, sizeof cancel_response);
    }
    case 0xBF36:
    case 0xA0:
    case 0xA1:
    case 0xA2:
    case 0xA3:
    case 0x88:
    case 0x86:
        return load_bpp_segment(f, command, response);
    case 0xBF57: {
        f->has_eim = true;
        static const uint8_t ok[] = {0xBF, 0x57, 0x05, 0xA0, 0x03, 0x80, 0x01, 0x07};
        return put_fixed(response, ok, sizeof ok);
    }
    case 0xBF58:
    case 0xBF5B:
    case 0xBF5C:
    case 0xBF5D:
    case 0xBF5E:
        return refresh_result(f, tag, response);
    default:
        return RSP_ERR_UNSUPPORTED;
    }
}

static const euicc_card_handler handler = {.process = process};

void fake_euicc_init(fake_euicc *f)
{
    memset(f, 0, sizeof *f);
    for (int i = 0; i < 16; i++)
        f->eid[i] = (uint8_t)(0x89 + i);
    for (size_t i = 0; i < sizeof dummy_sig; i++)
        dummy_sig[i] = (uint8_t)i;
    f->next_seq = 1;
    f->has_eim = true;
    f->card = euicc_card_new(&handler, f);
    if (!f->card)
        abort();
    fake_euicc_add_profile(f, 1, true);
    fake_euicc_add_profile(f, 2, false);
}

void fake_euicc_free(fake_euicc *f)
{
    euicc_card_free(f->card);
}

void fake_euicc_add_profile(fake_euicc *f, uint8_t last_digit, bool enabled)
{
    if (f->profile_count >= FAKE_MAX_PROFILES)
        return;
    fake_profile *p = &f->profiles[f->profile_count++];
    static const uint8_t base[10] = {0x98, 0x44, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    memcpy(p->iccid, base, 10);
    p->iccid[9] = last_digit;
    p->enabled = enabled;
}
