/* Profile Download Trigger with indirect download: every ES9+ step relayed through the eIM
 * over ESipa (SGP.32 v1.2 sections 3.2.3 and 6.3.2.1 to 6.3.2.5). The IPA copies the signed
 * structures byte for byte; it signs and verifies nothing. */
#include <string.h>
#include <time.h>

#include "core/activation_code.h"
#include "core/log.h"
#include "core/sgp32.h"
#include "ipa/ipa_internal.h"

enum {
    CANCEL_REASON_TIMEOUT = 2, /* SGP.22 v2.5 section 5.7.14 CancelSessionReason */
    CANCEL_REASON_LOAD_BPP_EXECUTION_ERROR = 5,
    CANCEL_REASON_UNDEFINED = 127,
};

/* A step that met a transient failure is sent again this many times before the download is
 * cancelled. The eUICC and the SM-DP+ hold the session meanwhile, so the delays are a
 * fraction of the poll back-off (250 ms, 500 ms, 1 s with the default 5 s base). */
enum {
    STEP_RETRIES = 3,
    STEP_RETRY_DELAY_DIVISOR = 20,
    STEP_RETRY_DELAY_MAX_MS = 4000,
    /* undefinedError of every ESipa ES9+ relay error enumeration (SGP.32 v1.2 section
     * 6.3.2): what the eIM answers when it could not reach the SM-DP+ */
    RELAY_UNDEFINED_ERROR = 127,
};

typedef struct {
    ipa_instance *ipa;
    der_writer es10;  /* last eUICC response */
    der_writer esipa; /* last eIM answer */
    der_writer out;   /* message being built */
    uint8_t transaction_id[16];
    size_t transaction_id_len;
    bool euicc_session; /* the eUICC holds a download session to cancel on failure */
    bool loading;       /* the BPP was being loaded when it failed */
    bool direct;        /* ES9+ JSON straight to the SM-DP+ instead of ESipa */
    const char *smdp_address;
    der_writer error; /* the eIM's error TLV, reported in profileDownloadError */
} download;

static void download_init(download *d, ipa_instance *ipa)
{
    memset(d, 0, sizeof *d);
    d->ipa = ipa;
    ipa_writer_init(ipa, &d->es10);
    ipa_writer_init(ipa, &d->esipa);
    ipa_writer_init(ipa, &d->out);
    ipa_writer_init(ipa, &d->error);
}

static void download_free(download *d)
{
    der_writer_free(&d->es10);
    der_writer_free(&d->esipa);
    der_writer_free(&d->out);
    der_writer_free(&d->error);
}

/* One ES9+ step: relayed by the eIM (ESipa) or straight to the SM-DP+ (ES9+ JSON). */
static rsp_status exchange(download *d, der_view message, der_writer *answer, rsp_error *err)
{
    if (d->direct)
        return ipa_es9_exchange(d->ipa, d->smdp_address, message, answer, err);
    return ipa_esipa_exchange(d->ipa, message, answer, err);
}

/* The platform has no sleep hook: a POSIX host waits here, another one retries at once. */
static void step_pause(uint32_t milliseconds)
{
#if defined(_POSIX_C_SOURCE) && _POSIX_C_SOURCE >= 199309L
    struct timespec delay = {.tv_sec = milliseconds / 1000,
                             .tv_nsec = (long)(milliseconds % 1000) * 1000000L};
    while (nanosleep(&delay, &delay) != 0)
        continue;
#else
    (void)milliseconds;
#endif
}

static uint32_t step_delay(download *d, unsigned attempt)
{
    uint32_t delay = ipa_backoff_ms(d->ipa, attempt) / STEP_RETRY_DELAY_DIVISOR;
    return delay < STEP_RETRY_DELAY_MAX_MS ? delay : STEP_RETRY_DELAY_MAX_MS;
}

/* Sends d->out to the eIM; the answer must carry `tag` with an ok alternative under ok_tag. */
static rsp_status relay_once(download *d, uint32_t tag, uint32_t ok_tag, der_view *ok,
                             int64_t *refusal, rsp_error *err)
{
    d->esipa.len = 0;
    rsp_status st = der_writer_status(&d->out);
    if (st == RSP_OK)
        st = exchange(d, der_writer_view(&d->out), &d->esipa, err);
    der_tlv outer, first;
    der_reader r;
    if (st == RSP_OK)
        st = der_parse_single(der_writer_view(&d->esipa), &outer, err);
    if (st == RSP_OK && outer.tag != tag)
        st = rsp_error_set(err, RSP_ERR_UNEXPECTED_TAG, outer.tag, 0,
                           "ipa: eIM answered %X with another message", (unsigned)tag);
    if (st == RSP_OK) {
        der_reader_init(&r, outer.value, 0, 1);
        st = der_reader_next(&r, &first, err);
    }
    if (st == RSP_OK && first.tag != ok_tag) {
        d->error.len = 0;
        der_put_raw(&d->error, first.whole.data, first.whole.len);
        int64_t code = 0;
        der_decode_int64(&first, &code, err);
        *refusal = code;
        st = rsp_error_set(err, RSP_ERR_STATE, tag, 0,
                           "ipa: download refused by the SM-DP+/eIM (%X error %lld)", (unsigned)tag,
                           (long long)code);
    }
    if (st == RSP_OK)
        *ok = first.whole;
    return st;
}

/* One ES9+ step with bounded retries (SGP.32 v1.2 section 3.2.3: the eUICC session and the
 * SM-DP+ transaction outlive a lost HTTP exchange). The same request bytes are sent again, so
 * no eUICC function runs twice. Only "not reached" and the relay's undefinedError (what the
 * eIM answers when it could not reach the SM-DP+) are transient; a specific refusal is final. */
static rsp_status relay(download *d, uint32_t tag, uint32_t ok_tag, der_view *ok, rsp_error *err)
{
    rsp_status st = RSP_OK;
    for (unsigned attempt = 0; attempt <= STEP_RETRIES; attempt++) {
        int64_t refusal = 0;
        rsp_error attempt_err = {0};
        if (attempt > 0) {
            step_pause(step_delay(d, attempt));
            LOG_INFO("ipa", "download step sent again", LOG_INT("attempt", attempt + 1));
        }
        st = relay_once(d, tag, ok_tag, ok, &refusal, &attempt_err);
        /* straight to the SM-DP+, an answered refusal is the SM-DP+'s own and final */
        bool transient = st == RSP_ERR_IO ||
                         (!d->direct && st == RSP_ERR_STATE && refusal == RELAY_UNDEFINED_ERROR);
        if (!transient || attempt == STEP_RETRIES) {
            if (st != RSP_OK)
                rsp_error_set(err, attempt_err.code, attempt_err.tag, attempt_err.offset, "%s",
                              attempt_err.message);
            break;
        }
    }
    return st;
}

static rsp_status es10_call(download *d, rsp_error *err)
{
    d->es10.len = 0;
    rsp_status st = der_writer_status(&d->out);
    if (st == RSP_OK)
        st = ipa_es10(d->ipa, der_writer_view(&d->out), &d->es10, err);
    return st;
}

static void put_child(der_writer *w, der_view parent, uint32_t tag)
{
    der_view child;
    if (ipa_find_child(parent, tag, &child))
        der_put_raw(w, child.data, child.len);
}

/* n-th child (0-based) with the tag: smdpSigned2 and smdpCertificate are both SEQUENCEs. */
static bool nth_child(der_view parent, uint32_t tag, unsigned n, der_view *child)
{
    der_tlv outer, tlv;
    der_reader r;
    rsp_error ignored = {0};
    if (der_parse_single(parent, &outer, &ignored) != RSP_OK)
        return false;
    der_reader_init(&r, outer.value, 0, 1);
    while (!der_reader_at_end(&r) && der_reader_next(&r, &tlv, &ignored) == RSP_OK)
        if (tlv.tag == tag && n-- == 0) {
            *child = tlv.whole;
            return true;
        }
    return false;
}

/* SGP.32 v1.2 section 6.3.2.1 */
static rsp_status initiate_authentication(download *d, const char *smdp_address,
                                          der_view eim_transaction_id, der_view *ok, rsp_error *err)
{
    der_view challenge;
    d->out.len = 0;
    rsp_status st = ipa_es10_simple(d->ipa, 0xBF2E, &d->es10, err);
    if (st == RSP_OK && !ipa_find_child_value(der_writer_view(&d->es10), 0x80, &challenge))
        st = rsp_error_set(err, RSP_ERR_MISSING_FIELD, 0xBF2E, 0, "ipa: no eUICC challenge");
    if (st != RSP_OK)
        return st;
    size_t mark = der_begin(&d->out, 0xBF39);
    der_put_tlv(&d->out, 0x81, challenge.data, challenge.len);
    der_put_tlv(&d->out, 0x83, (const uint8_t *)smdp_address, strlen(smdp_address));
    d->es10.len = 0;
    st = ipa_es10_simple(d->ipa, 0xBF20, &d->es10, err);
    der_put_raw(&d->out, d->es10.buf, d->es10.len);
    if (eim_transaction_id.len)
        der_put_tlv(&d->out, 0x82, eim_transaction_id.data, eim_transaction_id.len);
    der_end(&d->out, mark);
    if (st == RSP_OK)
        st = relay(d, 0xBF39, 0xA0, ok, err);
    return st;
}

/* SGP.22 v2.5 section 5.7.13 ctxParams1, unless the eIM generated it (eimCtxParams1) */
static void put_ctx_params1(download *d, der_view ok, const char *matching_id)
{
    der_view ctx;
    if (ipa_find_child_value(ok, 0xA2, &ctx)) { /* generated by the eIM */
        der_put_raw(&d->out, ctx.data, ctx.len);
        return;
    }
    size_t outer = der_begin(&d->out, 0xA0); /* ctxParamsForCommonAuthentication */
    if (matching_id[0])
        der_put_tlv(&d->out, 0x80, (const uint8_t *)matching_id, strlen(matching_id));
    size_t info = der_begin(&d->out, 0xA1);
    der_put_tlv(&d->out, 0x80, d->ipa->config.tac, sizeof d->ipa->config.tac);
    der_put_tlv(&d->out, 0xA1, NULL, 0);
    der_end(&d->out, info);
    der_end(&d->out, outer);
}

/* ES10b.AuthenticateServer (SGP.22 v2.5 section 5.7.13) then AuthenticateClient over ESipa
 * (SGP.32 v1.2 section 6.3.2.2). */
static rsp_status authenticate(download *d, der_view init_ok, const char *matching_id, der_view *ok,
                               rsp_error *err)
{
    der_view signed1, txid;
    if (!nth_child(init_ok, 0x30, 0, &signed1) ||
        (!ipa_find_child_value(init_ok, 0x80, &txid) &&
         !ipa_find_child_value(signed1, 0x80, &txid)) ||
        txid.len > sizeof d->transaction_id)
        return rsp_error_set(err, RSP_ERR_MISSING_FIELD, 0xBF39, 0,
                             "ipa: InitiateAuthentication answer without transactionId");
    memcpy(d->transaction_id, txid.data, txid.len);
    d->transaction_id_len = txid.len;
    d->out.len = 0;
    size_t mark = der_begin(&d->out, 0xBF38);
    der_put_raw(&d->out, signed1.data, signed1.len);
    put_child(&d->out, init_ok, 0x5F37);
    put_child(&d->out, init_ok, 0x04);
    der_view certificate;
    if (nth_child(init_ok, 0x30, 1, &certificate))
        der_put_raw(&d->out, certificate.data, certificate.len);
    put_ctx_params1(d, init_ok, matching_id);
    der_end(&d->out, mark);
    rsp_status st = es10_call(d, err);
    d->euicc_session = st == RSP_OK;
    if (st == RSP_OK) {
        d->out.len = 0;
        mark = der_begin(&d->out, 0xBF3B);
        der_put_tlv(&d->out, 0x80, d->transaction_id, d->transaction_id_len);
        der_put_raw(&d->out, d->es10.buf, d->es10.len);
        der_end(&d->out, mark);
        st = relay(d, 0xBF3B, 0xA0, ok, err);
    }
    return st;
}

/* ES10b.PrepareDownload (SGP.22 v2.5 section 5.7.5), GetBoundProfilePackage over ESipa
 * (SGP.32 v1.2 section 6.3.2.3), then the BPP into the eUICC. */
static rsp_status prepare_and_load(download *d, der_view auth_ok, der_writer *pir, rsp_error *err)
{
    der_view signed2, certificate, hash_cc, bpp_ok, bpp;
    if (!nth_child(auth_ok, 0x30, 0, &signed2) || !nth_child(auth_ok, 0x30, 1, &certificate))
        return rsp_error_set(err, RSP_ERR_MISSING_FIELD, 0xBF3B, 0,
                             "ipa: AuthenticateClient answer incomplete");
    d->out.len = 0;
    size_t mark = der_begin(&d->out, 0xBF21);
    der_put_raw(&d->out, signed2.data, signed2.len);
    put_child(&d->out, auth_ok, 0x5F37);
    if (ipa_find_child(auth_ok, 0x04, &hash_cc))
        der_put_raw(&d->out, hash_cc.data, hash_cc.len);
    der_put_raw(&d->out, certificate.data, certificate.len);
    der_end(&d->out, mark);
    rsp_status st = es10_call(d, err);
    if (st == RSP_OK) {
        d->out.len = 0;
        mark = der_begin(&d->out, 0xBF3A);
        der_put_tlv(&d->out, 0x80, d->transaction_id, d->transaction_id_len);
        der_put_raw(&d->out, d->es10.buf, d->es10.len);
        der_end(&d->out, mark);
        st = relay(d, 0xBF3A, 0xA0, &bpp_ok, err);
    }
    if (st == RSP_OK && !ipa_find_child(bpp_ok, 0xBF36, &bpp))
        st = rsp_error_set(err, RSP_ERR_MISSING_FIELD, 0xBF3A, 0, "ipa: answer without BPP");
    if (st == RSP_OK) {
        d->loading = true;
        st = ipa_es10_load_bpp(d->ipa, bpp, pir, err);
        /* with the installation result the eUICC closed the session itself */
        d->euicc_session = st != RSP_OK;
    }
    return st;
}

/* ES10b.CancelSession and CancelSession over ESipa (SGP.32 v1.2 section 6.3.2.5), best
 * effort: the eUICC session must not linger whatever the eIM does. */
static void cancel(download *d, int64_t reason)
{
    rsp_error ignored = {0};
    d->es10.len = 0;
    if (ipa_es10_cancel_session(d->ipa, der_view_make(d->transaction_id, d->transaction_id_len),
                                reason, &d->es10, &ignored) != RSP_OK)
        return;
    der_tlv response;
    if (der_parse_single(der_writer_view(&d->es10), &response, &ignored) != RSP_OK)
        return;
    d->out.len = 0;
    size_t mark = der_begin(&d->out, 0xBF41);
    der_put_tlv(&d->out, 0x80, d->transaction_id, d->transaction_id_len);
    /* neither component of CancelSessionRequestEsipa is textually tagged, so automatic
     * tagging gives the eUICC's response [1], replacing its own [65] */
    der_put_tlv(&d->out, 0xA1, response.value.data, response.value.len);
    der_end(&d->out, mark);
    /* the same signed cancellation again while nothing answered: the SM-DP+ accepts a
     * repeated one, and the order is only released once it has it */
    rsp_status st = der_writer_status(&d->out) == RSP_OK ? RSP_ERR_IO : RSP_OK;
    for (unsigned attempt = 0; st == RSP_ERR_IO && attempt <= STEP_RETRIES; attempt++) {
        if (attempt > 0)
            step_pause(step_delay(d, attempt));
        d->esipa.len = 0;
        st = exchange(d, der_writer_view(&d->out), &d->esipa, &ignored);
    }
}

/* SGP.32 v1.2 section 2.11.1.3 ProfileDownloadData */
static rsp_status smdp_from_trigger(ipa_instance *ipa,
                                    const sgp32_profile_download_trigger_request *req,
                                    activation_code *code, rsp_error *err)
{
    memset(code, 0, sizeof *code);
    if (!req->has_profile_download_data)
        return rsp_error_set(err, RSP_ERR_MISSING_FIELD, 0xA0, 0, "ipa: no profileDownloadData");
    const sgp32_profile_download_data *data = &req->profile_download_data;
    if (data->choice == SGP32_PROFILE_DOWNLOAD_DATA_ACTIVATION_CODE) {
        char text[ACTIVATION_CODE_MAX_LENGTH + 8];
        if (data->u.activation_code.len >= sizeof text)
            return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0x80, 0, "ipa: activation code too long");
        memcpy(text, data->u.activation_code.data, data->u.activation_code.len);
        text[data->u.activation_code.len] = 0;
        return activation_code_parse(text, code, err);
    }
    if (data->choice == SGP32_PROFILE_DOWNLOAD_DATA_CONTACT_DEFAULT_SMDP) {
        der_writer resp;
        der_view address;
        ipa_writer_init(ipa, &resp);
        rsp_status st = ipa_es10_simple(ipa, 0xBF3C, &resp, err);
        if (st == RSP_OK && (!ipa_find_child_value(der_writer_view(&resp), 0x80, &address) ||
                             address.len == 0 || address.len >= sizeof code->smdp_address))
            st = rsp_error_set(err, RSP_ERR_NOT_FOUND, 0xBF3C, 0,
                               "ipa: no default SM-DP+ address on the eUICC");
        if (st == RSP_OK)
            memcpy(code->smdp_address, address.data, address.len);
        der_writer_free(&resp);
        return st;
    }
    return rsp_error_set(err, RSP_ERR_UNSUPPORTED, 0xA2, 0,
                         "ipa: SM-DS discovery is not supported (no SM-DS configured)");
}

/* SGP.32 v1.2 section 2.11.2.3 ProfileDownloadTriggerResult */
static void put_result(const sgp32_profile_download_trigger_request *req, ipa_instance *ipa,
                       der_view pir, der_view error_response, der_writer *result)
{
    size_t outer = der_begin(result, 0xBF50);
    der_put_tlv(result, 0x5A, ipa->eid, IPA_EID_SIZE);
    size_t trigger = der_begin(result, 0xBF54);
    if (req->has_eim_transaction_id)
        der_put_tlv(result, 0x82, req->eim_transaction_id.data, req->eim_transaction_id.len);
    if (pir.len > 0) {
        der_put_raw(result, pir.data, pir.len);
    } else {
        size_t error = der_begin(result, 0x30); /* profileDownloadError */
        der_put_int64(result, 0x80, SGP32_PROFILE_DOWNLOAD_ERROR_REASON_UNDEFINED_ERROR);
        if (error_response.len > 0)
            der_put_tlv(result, 0x04, error_response.data, error_response.len);
        der_end(result, error);
    }
    der_end(result, trigger);
    der_end(result, outer);
}

/* ProfileInstallationResult with finalResult successResult (SGP.22 v2.5 section 5.7.6) */
static bool installed(der_view pir)
{
    der_view data, final_result;
    der_tlv first;
    rsp_error ignored = {0};
    return ipa_find_child(pir, 0xBF27, &data) && ipa_find_child_value(data, 0xA2, &final_result) &&
           der_parse_single(final_result, &first, &ignored) == RSP_OK && first.tag == 0xA0;
}

/* SGP.32 v1.2 section 5.9.15: the eUICC enables the profile just installed when the eIM
 * configured immediate enabling for its SM-DP+ and refuses otherwise; the eIM hears of it
 * with the next GetEimPackage (cause immediateEnableProfile). */
static void immediate_enable(ipa_instance *ipa)
{
    static const uint8_t command[] = {0xBF, 0x5A, 0x03, 0x80, 0x01, 0x00};
    der_writer resp;
    der_view result;
    rsp_error ignored = {0};
    ipa_writer_init(ipa, &resp);
    if (ipa_es10(ipa, der_view_make(command, sizeof command), &resp, &ignored) == RSP_OK &&
        ipa_find_child_value(der_writer_view(&resp), 0x80, &result) && result.len == 1 &&
        result.data[0] == SGP32_IMMEDIATE_ENABLE_RESULT_OK) {
        LOG_INFO("ipa", "profile enabled immediately after download");
        ipa_set_state_change(ipa, SGP32_STATE_CHANGE_CAUSE_IMMEDIATE_ENABLE_PROFILE);
    }
    der_writer_free(&resp);
}

/* SGP.32 v1.2 sections 2.11.1.3 and 2.11.2.3: the trigger's result (installation result or download
 * error) goes back in ProvideEimPackageResult with the eimTransactionId echoed. */
rsp_status ipa_run_download_trigger(ipa_instance *ipa, der_view request, der_writer *result,
                                    rsp_error *err)
{
    sgp32_profile_download_trigger_request req;
    schema_arena arena;
    uint8_t arena_buf[256];
    activation_code *code = ipa_alloc(ipa, sizeof *code);
    if (!code)
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "ipa: out of memory");
    schema_arena_init(&arena, arena_buf, sizeof arena_buf);
    rsp_status st =
        schema_decode(&sgp32_profile_download_trigger_request_type, request, &req, &arena, err);
    if (st != RSP_OK) {
        ipa_release(ipa, code);
        return st;
    }
    download d;
    der_view init_ok, auth_ok;
    der_writer pir;
    rsp_error local = {0};
    download_init(&d, ipa);
    ipa_writer_init(ipa, &pir);
    der_view eim_txid = req.has_eim_transaction_id ? req.eim_transaction_id : der_view_make(0, 0);
    st = smdp_from_trigger(ipa, &req, code, &local);
    d.direct = ipa->config.direct_download && !ipa->eim_wants_indirect;
    d.smdp_address = code->smdp_address;
    if (st == RSP_OK)
        st = initiate_authentication(&d, code->smdp_address, eim_txid, &init_ok, &local);
    if (st == RSP_OK)
        st = authenticate(&d, init_ok, code->matching_id, &auth_ok, &local);
    if (st == RSP_OK)
        st = prepare_and_load(&d, auth_ok, &pir, &local);
    if (st == RSP_OK && d.direct) {
        /* the SM-DP+ learns the outcome from the IPA itself (ES9+.HandleNotification); the
         * eIM still gets the result below and acknowledges it */
        rsp_error ignored = {0};
        d.esipa.len = 0;
        if (exchange(&d, der_writer_view(&pir), &d.esipa, &ignored) != RSP_OK)
            LOG_WARN("ipa", "installation result not delivered to the SM-DP+",
                     LOG_STR("reason", ignored.message));
    }
    if (st == RSP_OK && installed(der_writer_view(&pir)))
        immediate_enable(ipa);
    if (st != RSP_OK) {
        LOG_WARN("ipa", "profile download failed", LOG_STR("reason", local.message));
        if (d.euicc_session)
            cancel(&d, d.loading          ? CANCEL_REASON_LOAD_BPP_EXECUTION_ERROR
                       : st == RSP_ERR_IO ? CANCEL_REASON_TIMEOUT
                                          : CANCEL_REASON_UNDEFINED);
        pir.len = 0;
    }
    /* a failed download is a result for the eIM, not a failure of the poll */
    put_result(&req, ipa, der_writer_view(&pir),
               st == RSP_OK ? der_view_make(0, 0) : der_writer_view(&d.error), result);
    st = der_writer_status(result);
    download_free(&d);
    der_writer_free(&pir);
    ipa_release(ipa, code);
    return st;
}
