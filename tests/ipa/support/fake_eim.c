/* In-process fake eIM, memory storage and the platform hooks of the IPA tests. The eIM checks
 * every GetEimPackage, ProvideEimPackageResult and HandleNotification against the SGP.32
 * schema and records which seqNumbers it was given, so tests can see losses and duplicates. */
#include <stdlib.h>
#include <string.h>

#include "core/sgp32.h"
#include "ipa/ipa_internal.h"
#include "ipa_fakes.h"

static uint8_t arena_buf[65536];
static uint8_t dummy_sig[64];
static const uint8_t txid[16] = {1, 2, 3, 4};
static const uint8_t dummy_cert[] = {0x30, 0x03, 0x02, 0x01, 0x01};

/* SGP.32 v1.2 section 6.3.2.3 (ESipa.ProvideEimPackageResult) */
const sgp32_eim_package_result *fake_eim_last_result(const fake_eim *eim)
{
    /* static: the decoded result points into this arena after the call returns */
    static sgp32_esipa_message_from_ipa_to_eim message;
    static uint8_t result_arena_buf[65536];
    schema_arena arena;
    rsp_error err = {0};
    schema_arena_init(&arena, result_arena_buf, sizeof result_arena_buf);
    if (schema_decode(&sgp32_esipa_message_from_ipa_to_eim_type,
                      der_view_make(eim->last_result, eim->last_result_len), &message, &arena,
                      &err) != RSP_OK ||
        message.choice != SGP32_ESIPA_MESSAGE_FROM_IPA_TO_EIM_PROVIDE_EIM_PACKAGE_RESULT)
        return NULL;
    return &message.u.provide_eim_package_result.eim_package_result;
}

void fake_eim_queue(fake_eim *eim, der_view package)
{
    if (eim->package_count >= 4 || package.len > FAKE_ITEM_MAX)
        abort();
    memcpy(eim->packages[eim->package_count], package.data, package.len);
    eim->package_len[eim->package_count++] = package.len;
}

static void saw_seq(fake_eim *eim, int64_t seq)
{
    for (size_t i = 0; i < eim->seen_count; i++)
        if (eim->seen_seq[i] == seq) {
            eim->duplicates++;
            return;
        }
    if (eim->seen_count < 64)
        eim->seen_seq[eim->seen_count++] = seq;
}

static int64_t notification_seq(const sgp32_pending_notification *n)
{
    if (n->choice == SGP32_PENDING_NOTIFICATION_PROFILE_INSTALLATION_RESULT)
        return n->u.profile_installation_result.profile_installation_result_data
            .notification_metadata.seq_number;
    return n->u.other_signed_notification.tbs_other_notification.seq_number;
}

static bool result_seq(const sgp32_euicc_package_result *r, int64_t *seq)
{
    if (r->choice != SGP32_EUICC_PACKAGE_RESULT_EUICC_PACKAGE_RESULT_SIGNED)
        return false;
    *seq = r->u.euicc_package_result_signed.euicc_package_result_data_signed.seq_number;
    return true;
}

/* Collects the seqNumbers in the result and acknowledges them (SGP.32 v1.2 6.3.2.7). */
static void provide_result(fake_eim *eim, const sgp32_provide_eim_package_result *p,
                           der_writer *answer)
{
    int64_t seqs[FAKE_MAX_ITEMS + 1];
    size_t n = 0;
    const sgp32_eim_package_result *r = &p->eim_package_result;
    if (r->choice == SGP32_EIM_PACKAGE_RESULT_EUICC_PACKAGE_RESULT &&
        result_seq(&r->u.euicc_package_result, &seqs[n]))
        n++;
    if (r->choice == SGP32_EIM_PACKAGE_RESULT_EPR_AND_NOTIFICATIONS) {
        if (result_seq(&r->u.epr_and_notifications.euicc_package_result, &seqs[n]))
            n++;
        const sgp32_pending_notification *items =
            r->u.epr_and_notifications.notification_list.items;
        for (size_t i = 0; i < r->u.epr_and_notifications.notification_list.count && n < 16; i++)
            seqs[n++] = notification_seq(&items[i]);
    }
    if (r->choice == SGP32_EIM_PACKAGE_RESULT_PROFILE_DOWNLOAD_TRIGGER_RESULT &&
        r->u.profile_download_trigger_result.profile_download_trigger_result_data.choice ==
            SGP32_PROFILE_DOWNLOAD_TRIGGER_RESULT_DATA_PROFILE_INSTALLATION_RESULT)
        seqs[n++] = r->u.profile_download_trigger_result.profile_download_trigger_result_data.u
                        .profile_installation_result.profile_installation_result_data
                        .notification_metadata.seq_number;
    for (size_t i = 0; i < n; i++)
        saw_seq(eim, seqs[i]);
    size_t outer = der_begin(answer, 0xBF50);
    if (n == 0) {
        der_put_tlv(answer, 0x30, NULL, 0);
    } else {
        size_t acks = der_begin(answer, 0xBF53);
        for (size_t i = 0; i < n; i++)
            der_put_int64(answer, 0x80, seqs[i]);
        der_end(answer, acks);
    }
    der_end(answer, outer);
}

static void put_bpp(der_writer *w)
{
    static const uint8_t chunk[300] = {0};
    size_t bpp = der_begin(w, 0xBF36);
    size_t init = der_begin(w, 0xBF23);
    der_put_tlv(w, 0x80, txid, sizeof txid);
    der_end(w, init);
    size_t a0 = der_begin(w, 0xA0);
    der_put_tlv(w, 0x87, chunk, 20);
    der_end(w, a0);
    size_t a1 = der_begin(w, 0xA1);
    der_put_tlv(w, 0x88, chunk, 40);
    der_put_tlv(w, 0x88, chunk, 40);
    der_end(w, a1);
    size_t a3 = der_begin(w, 0xA3);
    der_put_tlv(w, 0x86, chunk, sizeof chunk); /* more than one STORE DATA block */
    der_put_tlv(w, 0x86, chunk, 100);
    der_end(w, a3);
    der_end(w, bpp);
}

/* The ES9+ relay steps answered with dummies of the right shape. */
static long download_step(fake_eim *eim, uint32_t tag, der_writer *answer)
{
    eim->download_steps++;
    size_t outer = der_begin(answer, tag);
    if (tag == 0xBF39 || tag == 0xBF3B) {
        size_t ok = der_begin(answer, 0xA0);
        der_put_tlv(answer, 0x80, txid, sizeof txid);
        size_t signed_part = der_begin(answer, 0x30);
        der_put_tlv(answer, 0x80, txid, sizeof txid);
        der_end(answer, signed_part);
        der_put_tlv(answer, 0x5F37, dummy_sig, sizeof dummy_sig);
        if (tag == 0xBF39)
            der_put_tlv(answer, 0x04, txid, 4);
        der_put_raw(answer, dummy_cert, sizeof dummy_cert);
        der_end(answer, ok);
    } else if (tag == 0xBF3A && eim->refuse_bpp) {
        der_put_int64(answer, 0x81, SGP32_GET_BOUND_PROFILE_PACKAGE_ERROR_DOWNLOAD_ORDER_EXPIRED);
    } else if (tag == 0xBF3A) {
        size_t ok = der_begin(answer, 0xA0);
        der_put_tlv(answer, 0x80, txid, sizeof txid);
        put_bpp(answer);
        der_end(answer, ok);
    } else { /* CancelSession */
        eim->cancel_sessions++;
        der_put_tlv(answer, 0xA0, NULL, 0);
    }
    der_end(answer, outer);
    return 200;
}

/* A download step that fails in the configured ways before it succeeds; records whether the
 * IPA sent the same bytes again. */
static long flaky_step(fake_eim *eim, uint32_t tag, der_view body, der_writer *answer)
{
    if (eim->flaky_body_len == 0 && body.len <= sizeof eim->flaky_body) {
        memcpy(eim->flaky_body, body.data, body.len);
        eim->flaky_body_len = body.len;
    } else if (body.len == eim->flaky_body_len &&
               memcmp(body.data, eim->flaky_body, body.len) == 0) {
        eim->flaky_resent_same++;
    } else {
        eim->flaky_resent_other++;
    }
    if (eim->lose_requests > 0) {
        eim->lose_requests--;
        return -1;
    }
    if (eim->lose_answers > 0) {
        eim->lose_answers--;
        download_step(eim, tag, answer);
        answer->len = 0;
        return -1;
    }
    if (eim->undefined_errors > 0) {
        eim->undefined_errors--;
        size_t outer = der_begin(answer, tag);
        der_put_int64(answer, 0x81, 127); /* undefinedError */
        der_end(answer, outer);
        return 200;
    }
    return download_step(eim, tag, answer);
}

long fake_eim_handle(fake_eim *eim, der_view body, der_writer *answer)
{
    static sgp32_esipa_message_from_ipa_to_eim message;
    schema_arena arena;
    rsp_error err = {0};
    uint32_t tag = body.len > 1 ? (uint32_t)(body.data[0] << 8 | body.data[1]) : 0;
    if (eim->unreachable_from_tag != 0 && tag == eim->unreachable_from_tag)
        eim->gone = true;
    if (eim->gone)
        return -1;
    if (tag == 0xBF39 || tag == 0xBF41) {
        /* the fake eUICC's answers in these two are well formed: check the whole message */
        schema_arena_init(&arena, arena_buf, sizeof arena_buf);
        if (schema_decode(&sgp32_esipa_message_from_ipa_to_eim_type, body, &message, &arena,
                          &err) != RSP_OK) {
            char text[200];
            fprintf(stderr, "fake eIM: IPA message does not decode: %s\n",
                    rsp_error_format(&err, text, sizeof text));
            eim->schema_failures++;
        }
    }
    if (tag != 0 && tag == eim->flaky_tag)
        return flaky_step(eim, tag, body, answer);
    if (tag == 0xBF39 || tag == 0xBF3B || tag == 0xBF3A || tag == 0xBF41)
        return download_step(eim, tag, answer);
    schema_arena_init(&arena, arena_buf, sizeof arena_buf);
    if (schema_decode(&sgp32_esipa_message_from_ipa_to_eim_type, body, &message, &arena, &err) !=
        RSP_OK) {
        eim->schema_failures++;
        char text[200];
        fprintf(stderr, "fake eIM: IPA message does not decode: %s\n",
                rsp_error_format(&err, text, sizeof text));
        return 400;
    }
    switch (message.choice) {
    case SGP32_ESIPA_MESSAGE_FROM_IPA_TO_EIM_GET_EIM_PACKAGE_REQUEST: {
        eim->get_packages++;
        const sgp32_get_eim_package_request *g = &message.u.get_eim_package_request;
        eim->last_get_had_state_change = g->has_notify_state_change;
        eim->last_state_change_cause = g->has_state_change_cause ? g->state_change_cause : -1;
        eim->last_get_had_rplmn = g->has_rplmn && g->rplmn.len == 3;
        if (eim->last_get_had_rplmn)
            memcpy(eim->last_rplmn, g->rplmn.data, 3);
        size_t outer = der_begin(answer, 0xBF4F);
        if (eim->package_next < eim->package_count) {
            der_put_raw(answer, eim->packages[eim->package_next],
                        eim->package_len[eim->package_next]);
            eim->package_next++;
        } else {
            der_put_int64(answer, 0x02, SGP32_EIM_PACKAGE_ERROR_NO_EIM_PACKAGE_AVAILABLE);
        }
        der_end(answer, outer);
        return 200;
    }
    case SGP32_ESIPA_MESSAGE_FROM_IPA_TO_EIM_PROVIDE_EIM_PACKAGE_RESULT:
        if (eim->fail_provide_results > 0) {
            eim->fail_provide_results--;
            return -1;
        }
        eim->provide_results++;
        if (body.len <= sizeof eim->last_result) {
            memcpy(eim->last_result, body.data, body.len);
            eim->last_result_len = body.len;
        }
        provide_result(eim, &message.u.provide_eim_package_result, answer);
        return 200;
    case SGP32_ESIPA_MESSAGE_FROM_IPA_TO_EIM_HANDLE_NOTIFICATION_ESIPA:
        eim->handle_notifications++;
        if (message.u.handle_notification_esipa.choice ==
            SGP32_HANDLE_NOTIFICATION_ESIPA_PENDING_NOTIFICATION)
            saw_seq(eim,
                    notification_seq(&message.u.handle_notification_esipa.u.pending_notification));
        return 204;
    default:
        return 400;
    }
}

static uint32_t next_random(fake_eim *eim)
{
    uint32_t x = eim->mutate_state ? eim->mutate_state : 0x12345678u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    eim->mutate_state = x;
    return x;
}

/* Damages the answer appended after `from`: flips 1-3 bytes, or (one time in four) cuts it. */
static void mutate(fake_eim *eim, der_writer *response, size_t from)
{
    size_t len = response->len - from;
    if (len == 0)
        return;
    eim->mutated++;
    if (next_random(eim) % 4 == 0) {
        response->len = from + next_random(eim) % len;
        return;
    }
    unsigned flips = 1 + next_random(eim) % 3;
    for (unsigned i = 0; i < flips; i++)
        response->buf[from + next_random(eim) % len] ^= (uint8_t)(1 + next_random(eim) % 255);
}

static rsp_status http_post(void *ctx, const ipa_http_request *request, der_writer *response,
                            long *http_status, rsp_error *err)
{
    ipa_fixture *fx = ctx;
    fake_eim *eim = &fx->eim;
    eim->calls++;
    static const uint8_t garbage[] = {0x01, 0x02, 'n', 'o', 't', ' ', 'D', 'E', 'R'};
    static const uint8_t unrelated[] = {0xBF, 0x3D, 0x00};
    switch (eim->mode) {
    case FAKE_EIM_UNREACHABLE:
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "connection refused (test)");
    case FAKE_EIM_GARBAGE:
        der_put_raw(response, garbage, sizeof garbage);
        *http_status = 200;
        return RSP_OK;
    case FAKE_EIM_WRONG_MESSAGE:
        der_put_raw(response, unrelated, sizeof unrelated);
        *http_status = 200;
        return RSP_OK;
    default:
        break;
    }
    if (strcmp(request->url, "https://eim.example/gsma/rsp2/asn1") != 0)
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "unexpected URL %s", request->url);
    size_t from = response->len;
    long status = fake_eim_handle(eim, request->body, response);
    if (status < 0)
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "connection reset (test)");
    if (eim->mode == FAKE_EIM_MUTATE)
        mutate(eim, response, from);
    *http_status = status;
    return RSP_OK;
}

static rsp_status apdu_transmit(void *ctx, const uint8_t *command, size_t command_len,
                                uint8_t *response, size_t response_cap, size_t *response_len,
                                rsp_error *err)
{
    ipa_fixture *fx = ctx;
    (void)err;
    *response_len =
        euicc_card_transmit(fx->euicc.card, command, command_len, response, response_cap);
    return RSP_OK;
}

static int find_key(fake_storage *s, const char *key)
{
    for (int i = 0; i < 4; i++)
        if (s->used[i] && strcmp(s->keys[i], key) == 0)
            return i;
    return -1;
}

bool fake_storage_has(const fake_storage *s, const char *key)
{
    return find_key((fake_storage *)s, key) >= 0;
}

static rsp_status storage_read(void *ctx, const char *key, der_writer *out, rsp_error *err)
{
    fake_storage *s = &((ipa_fixture *)ctx)->storage;
    int i = find_key(s, key);
    if (i < 0)
        return rsp_error_set(err, RSP_ERR_NOT_FOUND, 0, 0, "no %s", key);
    der_put_raw(out, s->values[i], s->lengths[i]);
    return RSP_OK;
}

static rsp_status storage_write(void *ctx, const char *key, der_view value, rsp_error *err)
{
    fake_storage *s = &((ipa_fixture *)ctx)->storage;
    if (s->writes_left > 0 && --s->writes_left == 0)
        s->fail_writes = true;
    if (s->fail_writes)
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "disk full (test)");
    int i = find_key(s, key);
    for (int k = 0; i < 0 && k < 4; k++)
        if (!s->used[k])
            i = k;
    if (i < 0 || value.len > sizeof s->values[0] || strlen(key) >= sizeof s->keys[0])
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "fake storage full");
    strcpy(s->keys[i], key);
    memcpy(s->values[i], value.data, value.len);
    s->lengths[i] = value.len;
    s->used[i] = true;
    s->writes++;
    return RSP_OK;
}

static rsp_status storage_remove(void *ctx, const char *key, rsp_error *err)
{
    fake_storage *s = &((ipa_fixture *)ctx)->storage;
    int i = find_key(s, key);
    (void)err;
    if (i >= 0)
        s->used[i] = false;
    return RSP_OK;
}

void ipa_fixture_init(ipa_fixture *fx)
{
    memset(fx, 0, sizeof *fx);
    for (size_t i = 0; i < sizeof dummy_sig; i++)
        dummy_sig[i] = (uint8_t)(0xA0 ^ i);
    fake_euicc_init(&fx->euicc);
    fx->platform.apdu_transmit = apdu_transmit;
    fx->platform.apdu_ctx = fx;
    fx->platform.http_post = http_post;
    fx->platform.http_ctx = fx;
    fx->platform.storage_read = storage_read;
    fx->platform.storage_write = storage_write;
    fx->platform.storage_remove = storage_remove;
    fx->platform.storage_ctx = fx;
    fx->config.tac[0] = 0x35;
}

void ipa_fixture_free(ipa_fixture *fx)
{
    fake_euicc_free(&fx->euicc);
}

/* ---- package builders ----------------------------------------------------------------- */

size_t build_euicc_package_enable(uint8_t *out, size_t cap, const uint8_t eid[16],
                                  uint8_t iccid_last_digit, int64_t counter, bool rollback)
{
    static uint8_t iccid[10] = {0x98, 0x44};
    static uint8_t transaction[2] = {0xEE};
    iccid[9] = iccid_last_digit;
    transaction[1] = (uint8_t)counter;
    sgp32_psmo psmo;
    memset(&psmo, 0, sizeof psmo);
    psmo.choice = SGP32_PSMO_ENABLE;
    psmo.u.enable.iccid = der_view_make(iccid, 10);
    psmo.u.enable.has_rollback_flag = rollback;
    sgp32_euicc_package_request req;
    memset(&req, 0, sizeof req);
    sgp32_euicc_package_signed *s = &req.euicc_package_signed;
    s->eim_id = der_view_make((const uint8_t *)"eim.test", 8);
    s->eid_value = der_view_make(eid, 16);
    s->counter_value = counter;
    s->has_eim_transaction_id = true;
    s->eim_transaction_id = der_view_make(transaction, 2);
    s->euicc_package.choice = SGP32_EUICC_PACKAGE_PSMO_LIST;
    s->euicc_package.u.psmo_list.count = 1;
    s->euicc_package.u.psmo_list.items = &psmo;
    req.eim_signature = der_view_make(dummy_sig, sizeof dummy_sig);
    der_writer w;
    der_writer_init_fixed(&w, out, cap);
    return schema_encode(&sgp32_euicc_package_request_type, &req, &w) == RSP_OK ? w.len : 0;
}

size_t build_ipa_euicc_data_request(uint8_t *out, size_t cap, const uint8_t *tags, size_t tag_len,
                                    bool with_transaction_id)
{
    der_writer w;
    der_writer_init_fixed(&w, out, cap);
    size_t mark = der_begin(&w, 0xBF52);
    der_put_tlv(&w, 0x5C, tags, tag_len);
    if (with_transaction_id)
        der_put_tlv(&w, 0x83, txid, 3);
    der_end(&w, mark);
    return der_writer_status(&w) == RSP_OK ? w.len : 0;
}

size_t build_download_trigger(uint8_t *out, size_t cap, const char *activation_code)
{
    der_writer w;
    der_writer_init_fixed(&w, out, cap);
    size_t mark = der_begin(&w, 0xBF54);
    size_t data = der_begin(&w, 0xA0);
    der_put_tlv(&w, 0x80, (const uint8_t *)activation_code, strlen(activation_code));
    der_end(&w, data);
    der_put_tlv(&w, 0x82, txid, 5);
    der_end(&w, mark);
    return der_writer_status(&w) == RSP_OK ? w.len : 0;
}

size_t build_download_trigger_smds(uint8_t *out, size_t cap)
{
    der_writer w;
    der_writer_init_fixed(&w, out, cap);
    size_t mark = der_begin(&w, 0xBF54);
    size_t data = der_begin(&w, 0xA0);
    der_put_tlv(&w, 0xA2, NULL, 0);
    der_end(&w, data);
    der_put_tlv(&w, 0x82, txid, 5);
    der_end(&w, mark);
    return der_writer_status(&w) == RSP_OK ? w.len : 0;
}

size_t build_download_trigger_default_smdp(uint8_t *out, size_t cap)
{
    der_writer w;
    der_writer_init_fixed(&w, out, cap);
    size_t mark = der_begin(&w, 0xBF54);
    size_t data = der_begin(&w, 0xA0);
    der_put_tlv(&w, 0x81, NULL, 0); /* contactDefaultSmdp */
    der_end(&w, data);
    der_put_tlv(&w, 0x82, txid, 5);
    der_end(&w, mark);
    return der_writer_status(&w) == RSP_OK ? w.len : 0;
}
