/* libipa flows against an ES10 fake behind the real APDU front end and an in-process fake eIM
 * that checks every IPA message against the SGP.32 schema. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/sgp32.h"
#include "ipa/ipa.h"
#include "ipa_fakes.h"

typedef struct {
    ipa_fixture fx;
    ipa_instance *ipa;
} state;

static int setup(void **ctx)
{
    static state s;
    ipa_fixture_init(&s.fx);
    rsp_error err = {0};
    if (ipa_new(&s.fx.platform, &s.fx.config, &s.ipa, &err) != RSP_OK)
        return -1;
    *ctx = &s;
    return 0;
}

static int teardown(void **ctx)
{
    state *s = *ctx;
    ipa_free(s->ipa);
    ipa_fixture_free(&s->fx);
    return 0;
}

static void queue(state *s, const uint8_t *package, size_t len)
{
    assert_true(len > 0);
    fake_eim_queue(&s->fx.eim, der_view_make(package, len));
}

static void queue_enable(state *s, uint8_t digit, int64_t counter, bool rollback)
{
    uint8_t package[512];
    queue(s, package,
          build_euicc_package_enable(package, sizeof package, s->fx.euicc.eid, digit, counter,
                                     rollback));
}

/* Decodes the last ProvideEimPackageResult the eIM received. */
static const sgp32_eim_package_result *last_result(state *s)
{
    const sgp32_eim_package_result *r = fake_eim_last_result(&s->fx.eim);
    assert_non_null(r);
    return r;
}

static void test_open_reads_eid_on_a_logical_channel(void **ctx)
{
    state *s = *ctx;
    rsp_error err = {0};
    assert_int_equal(ipa_open(s->ipa, &err), RSP_OK);
    assert_memory_equal(ipa_eid(s->ipa), s->fx.euicc.eid, 16);
}

static void test_long_command_is_segmented_and_sw_surfaced(void **ctx)
{
    state *s = *ctx;
    uint8_t command[700];
    der_writer w, resp;
    rsp_error err = {0};
    der_writer_init_fixed(&w, command, sizeof command);
    static const uint8_t filler[600] = {0};
    der_put_tlv(&w, 0xBF7F, filler, sizeof filler);
    der_writer_init_dynamic(&resp, NULL);
    /* unknown to the ISD-R: the 6A88 status word reaches the caller */
    assert_int_equal(ipa_es10(s->ipa, der_writer_view(&w), &resp, &err), RSP_ERR_IO);
    assert_int_equal(err.tag, 0x6A88);
    assert_int_equal(s->fx.euicc.largest_command, w.len); /* three blocks, joined intact */
    der_writer_free(&resp);
}

static void test_euicc_package_result_and_notifications_delivered(void **ctx)
{
    state *s = *ctx;
    ipa_poll_report report;
    rsp_error err = {0};
    queue_enable(s, 2, 1, false);
    assert_status(ipa_poll_once(s->ipa, &report, &err), RSP_OK);
    assert_int_equal(report.packages, 1);
    assert_int_equal(report.results_delivered, 1);
    assert_int_equal(s->fx.eim.schema_failures, 0);
    assert_int_equal(s->fx.eim.provide_results, 1);
    assert_true(s->fx.euicc.profiles[1].enabled);
    /* EPR and the enable notification were sent together and acknowledged */
    const sgp32_eim_package_result *r = last_result(s);
    assert_int_equal(r->choice, SGP32_EIM_PACKAGE_RESULT_EPR_AND_NOTIFICATIONS);
    assert_int_equal(r->u.epr_and_notifications.notification_list.count, 1);
    assert_int_equal(report.acknowledged, 2);
    assert_int_equal(s->fx.euicc.result_count, 0);
    assert_int_equal(s->fx.euicc.notification_count, 0);
    assert_false(fake_storage_has(&s->fx.storage, IPA_STORAGE_PENDING));
    assert_false(fake_storage_has(&s->fx.storage, IPA_STORAGE_IN_PROGRESS));
    assert_int_equal(s->fx.eim.duplicates, 0);
}

static void test_eim_unreachable_mid_package_keeps_result(void **ctx)
{
    state *s = *ctx;
    ipa_poll_report report;
    rsp_error err = {0};
    queue_enable(s, 2, 1, false);
    s->fx.eim.fail_provide_results = 1;
    assert_status(ipa_poll_once(s->ipa, &report, &err), RSP_ERR_IO);
    assert_true(report.pending_left);
    assert_true(fake_storage_has(&s->fx.storage, IPA_STORAGE_PENDING));
    assert_int_equal(s->fx.euicc.packages_loaded, 1);
    /* next poll: the stored result goes first, the package is not run again */
    memset(&err, 0, sizeof err);
    assert_status(ipa_poll_once(s->ipa, &report, &err), RSP_OK);
    assert_int_equal(report.results_delivered, 1);
    assert_int_equal(s->fx.eim.provide_results, 1);
    assert_int_equal(s->fx.euicc.packages_loaded, 1);
    assert_int_equal(s->fx.eim.duplicates, 0);
    assert_false(fake_storage_has(&s->fx.storage, IPA_STORAGE_PENDING));
    assert_int_equal(s->fx.euicc.result_count, 0);
    /* a third poll sends nothing again */
    assert_status(ipa_poll_once(s->ipa, &report, &err), RSP_OK);
    assert_int_equal(s->fx.eim.provide_results, 1);
}

static void test_interrupted_package_result_recovered_from_euicc(void **ctx)
{
    state *s = *ctx;
    ipa_poll_report report;
    rsp_error err = {0};
    queue_enable(s, 2, 1, false);
    /* the device dies after the eUICC ran the package, before the result was stored: the
     * storage refuses writes after the marker, which is what the next start finds */
    s->fx.eim.mode = FAKE_EIM_OK;
    assert_status(ipa_poll_once(s->ipa, &report, &err), RSP_OK);
    /* simulate the crash window by re-creating the marker and the eUICC result */
    uint8_t package[512];
    size_t len = build_euicc_package_enable(package, sizeof package, s->fx.euicc.eid, 1, 2, false);
    der_writer resp;
    der_writer_init_dynamic(&resp, NULL);
    assert_int_equal(ipa_es10(s->ipa, der_view_make(package, len), &resp, &err), RSP_OK);
    der_writer_free(&resp);
    assert_int_equal(s->fx.platform.storage_write(s->fx.platform.storage_ctx,
                                                  IPA_STORAGE_IN_PROGRESS,
                                                  der_view_make(package, len), &err),
                     RSP_OK);
    unsigned before = s->fx.eim.provide_results;
    assert_status(ipa_poll_once(s->ipa, &report, &err), RSP_OK);
    assert_int_equal(s->fx.eim.provide_results, before + 1);
    assert_int_equal(s->fx.euicc.result_count, 0);
    assert_false(fake_storage_has(&s->fx.storage, IPA_STORAGE_IN_PROGRESS));
    assert_int_equal(s->fx.eim.duplicates, 0);
}

/* The result cannot be stored (storage dies right after the in-progress marker): the poll
 * fails, nothing is sent, and the next poll takes the result from the eUICC. */
static void test_result_not_storable_recovered_next_poll(void **ctx)
{
    state *s = *ctx;
    ipa_poll_report report;
    rsp_error err = {0};
    queue_enable(s, 2, 1, false);
    s->fx.storage.writes_left = 2; /* the marker is written, the result is not */
    assert_int_not_equal(ipa_poll_once(s->ipa, &report, &err), RSP_OK);
    assert_int_equal(s->fx.euicc.packages_loaded, 1);
    assert_int_equal(s->fx.eim.provide_results, 0);
    assert_true(fake_storage_has(&s->fx.storage, IPA_STORAGE_IN_PROGRESS));
    s->fx.storage.fail_writes = false;
    memset(&err, 0, sizeof err);
    assert_status(ipa_poll_once(s->ipa, &report, &err), RSP_OK);
    assert_int_equal(s->fx.eim.provide_results, 1);
    assert_int_equal(s->fx.euicc.packages_loaded, 1);
    assert_int_equal(s->fx.euicc.result_count, 0);
    assert_false(fake_storage_has(&s->fx.storage, IPA_STORAGE_IN_PROGRESS));
    assert_int_equal(s->fx.eim.duplicates, 0);
}

/* The card (or the modem holding it) resets between two polls: the next poll opens the ISD-R
 * again. */
static void test_card_reset_between_polls(void **ctx)
{
    state *s = *ctx;
    ipa_poll_report report;
    rsp_error err = {0};
    queue_enable(s, 2, 1, false);
    assert_status(ipa_poll_once(s->ipa, &report, &err), RSP_OK);
    euicc_card_reset(s->fx.euicc.card);
    queue_enable(s, 1, 2, false);
    assert_status(ipa_poll_once(s->ipa, &report, &err), RSP_OK);
    assert_int_equal(report.results_delivered, 1);
    assert_true(s->fx.euicc.profiles[0].enabled);
}

/* Cards or modems without logical channels: the ISD-R on the basic channel. */
static void test_basic_channel(void **ctx)
{
    state *s = *ctx;
    ipa_poll_report report;
    rsp_error err = {0};
    ipa_free(s->ipa);
    s->fx.config.basic_channel = true;
    assert_int_equal(ipa_new(&s->fx.platform, &s->fx.config, &s->ipa, &err), RSP_OK);
    queue_enable(s, 2, 1, false);
    assert_status(ipa_poll_once(s->ipa, &report, &err), RSP_OK);
    assert_int_equal(report.results_delivered, 1);
    assert_true(s->fx.euicc.profiles[1].enabled);
}

static void test_eim_garbage_is_a_clear_error(void **ctx)
{
    state *s = *ctx;
    ipa_poll_report report;
    rsp_error err = {0};
    s->fx.eim.mode = FAKE_EIM_GARBAGE;
    assert_int_not_equal(ipa_poll_once(s->ipa, &report, &err), RSP_OK);
    assert_true(err.message[0] != 0);
    memset(&err, 0, sizeof err);
    s->fx.eim.mode = FAKE_EIM_WRONG_MESSAGE;
    assert_status(ipa_poll_once(s->ipa, &report, &err), RSP_ERR_UNEXPECTED_TAG);
    assert_non_null(strstr(err.message, "GetEimPackage"));
    assert_int_equal(s->fx.euicc.packages_loaded, 0);
}

static void test_euicc_errors_surfaced(void **ctx)
{
    state *s = *ctx;
    ipa_poll_report report;
    rsp_error err = {0};
    /* a result code inside the signed result: unknown ICCID */
    queue_enable(s, 7, 1, false);
    assert_status(ipa_poll_once(s->ipa, &report, &err), RSP_OK);
    const sgp32_eim_package_result *r = last_result(s);
    assert_int_equal(r->choice, SGP32_EIM_PACKAGE_RESULT_EUICC_PACKAGE_RESULT);
    const sgp32_euicc_result_data *items = r->u.euicc_package_result.u.euicc_package_result_signed
                                               .euicc_package_result_data_signed.euicc_result.items;
    assert_int_equal(items[0].u.enable_result, SGP32_ENABLE_PROFILE_RESULT_ICCID_OR_AID_NOT_FOUND);
    /* a replayed counter: signed package error */
    queue_enable(s, 2, 1, false);
    assert_status(ipa_poll_once(s->ipa, &report, &err), RSP_OK);
    r = last_result(s);
    assert_int_equal(r->u.euicc_package_result.choice,
                     SGP32_EUICC_PACKAGE_RESULT_EUICC_PACKAGE_ERROR_SIGNED);
    /* a status word: the eIM gets an error result at once */
    s->fx.euicc.fail_tag = 0xBF51;
    queue_enable(s, 2, 5, false);
    assert_status(ipa_poll_once(s->ipa, &report, &err), RSP_OK);
    assert_int_equal(report.last_euicc_error, 0x6A88);
    r = last_result(s);
    assert_int_equal(r->choice, SGP32_EIM_PACKAGE_RESULT_EIM_PACKAGE_RESULT_RESPONSE_ERROR);
    assert_int_equal(s->fx.eim.schema_failures, 0);
}

static void test_ipa_euicc_data_collects_requested_items(void **ctx)
{
    state *s = *ctx;
    ipa_poll_report report;
    rsp_error err = {0};
    static const uint8_t tags[] = {0xA6, 0x84, 0xBF, 0x20, 0x81, 0xA0, 0xA5};
    uint8_t request[64];
    const uint8_t iccid[10] = {0x98};
    fake_euicc_add_notification(&s->fx.euicc, iccid, 2);
    queue(s, request,
          build_ipa_euicc_data_request(request, sizeof request, tags, sizeof tags, true));
    assert_status(ipa_poll_once(s->ipa, &report, &err), RSP_OK);
    const sgp32_eim_package_result *r = last_result(s);
    assert_int_equal(r->choice, SGP32_EIM_PACKAGE_RESULT_IPA_EUICC_DATA_RESPONSE);
    const sgp32_ipa_euicc_data *d = &r->u.ipa_euicc_data_response.u.ipa_euicc_data;
    assert_true(d->has_notifications_list);
    assert_int_equal(d->notifications_list.count, 1);
    assert_true(d->has_default_smdp_address);
    assert_memory_equal(d->default_smdp_address.data, "smdp.example", 12);
    assert_true(d->has_euicc_info1);
    assert_true(d->has_association_token);
    assert_int_equal(d->association_token, 7);
    assert_true(d->has_eum_certificate);
    assert_true(d->has_euicc_certificate);
    assert_true(d->has_eim_transaction_id);
    assert_false(d->has_euicc_info2);
    assert_false(d->has_euicc_package_result_list);
    /* an unknown tag: incorrectTagList, with the transaction id echoed */
    static const uint8_t bad[] = {0x81, 0x9F, 0x70};
    queue(s, request, build_ipa_euicc_data_request(request, sizeof request, bad, sizeof bad, true));
    assert_status(ipa_poll_once(s->ipa, &report, &err), RSP_OK);
    r = last_result(s);
    const sgp32_ipa_euicc_data_response_error *e =
        &r->u.ipa_euicc_data_response.u.ipa_euicc_data_response_error;
    assert_int_equal(r->u.ipa_euicc_data_response.choice,
                     SGP32_IPA_EUICC_DATA_RESPONSE_IPA_EUICC_DATA_RESPONSE_ERROR);
    assert_int_equal(e->ipa_euicc_data_error_code, SGP32_IPA_EUICC_DATA_ERROR_INCORRECT_TAG_LIST);
    assert_true(e->has_eim_transaction_id);
}

static void test_rollback_after_eim_unreachable(void **ctx)
{
    state *s = *ctx;
    ipa_poll_report report;
    rsp_error err = {0};
    queue_enable(s, 2, 1, true);
    s->fx.eim.fail_provide_results = 1; /* the new profile cannot reach the eIM */
    assert_status(ipa_poll_once(s->ipa, &report, &err), RSP_ERR_IO);
    assert_true(fake_storage_has(&s->fx.storage, IPA_STORAGE_ROLLBACK));
    s->fx.eim.mode = FAKE_EIM_UNREACHABLE;
    assert_status(ipa_poll_once(s->ipa, &report, &err), RSP_ERR_IO);
    assert_false(report.rolled_back);
    assert_status(ipa_poll_once(s->ipa, &report, &err), RSP_ERR_IO);
    assert_true(report.rolled_back);
    assert_int_equal(s->fx.euicc.rollbacks, 1);
    assert_true(s->fx.euicc.profiles[0].enabled);
    assert_false(fake_storage_has(&s->fx.storage, IPA_STORAGE_ROLLBACK));
    /* back on the old profile: both results (enable, rollback) are delivered, once */
    s->fx.eim.mode = FAKE_EIM_OK;
    assert_status(ipa_poll_once(s->ipa, &report, &err), RSP_OK);
    assert_int_equal(report.results_delivered, 2);
    assert_int_equal(s->fx.eim.duplicates, 0);
    assert_int_equal(s->fx.euicc.result_count, 0);
}

static void test_enable_with_rollback_confirmed_when_eim_reached(void **ctx)
{
    state *s = *ctx;
    ipa_poll_report report;
    rsp_error err = {0};
    queue_enable(s, 2, 1, true);
    assert_status(ipa_poll_once(s->ipa, &report, &err), RSP_OK);
    assert_false(fake_storage_has(&s->fx.storage, IPA_STORAGE_ROLLBACK));
    s->fx.eim.mode = FAKE_EIM_UNREACHABLE;
    for (int i = 0; i < 4; i++)
        ipa_poll_once(s->ipa, &report, &err);
    assert_int_equal(s->fx.euicc.rollbacks, 0);
}

static void test_fallback_reported_on_next_poll(void **ctx)
{
    state *s = *ctx;
    ipa_poll_report report;
    rsp_error err = {0};
    int64_t result = -1;
    assert_int_equal(ipa_execute_fallback(s->ipa, &result, &err), RSP_OK);
    assert_int_equal(result, 0);
    assert_int_equal(s->fx.euicc.fallbacks, 1);
    assert_status(ipa_poll_once(s->ipa, &report, &err), RSP_OK);
    assert_true(s->fx.eim.last_get_had_state_change);
    assert_int_equal(s->fx.eim.last_state_change_cause, SGP32_STATE_CHANGE_CAUSE_FALLBACK);
    assert_status(ipa_poll_once(s->ipa, &report, &err), RSP_OK);
    assert_false(s->fx.eim.last_get_had_state_change);
    assert_int_equal(ipa_return_from_fallback(s->ipa, &result, &err), RSP_OK);
    assert_int_equal(s->fx.euicc.fallbacks, 2);
}

/* Emergency profile on and off for the eCall logic; the eIM hears of it with the cause, and
 * of the registered PLMN. */
static void test_emergency_profile_and_rplmn_reported(void **ctx)
{
    state *s = *ctx;
    ipa_poll_report report;
    rsp_error err = {0};
    int64_t result = -1;
    static const uint8_t plmn[3] = {0x32, 0xF4, 0x51};
    ipa_set_rplmn(s->ipa, plmn);
    assert_int_equal(ipa_enable_emergency_profile(s->ipa, &result, &err), RSP_OK);
    assert_int_equal(result, 0);
    assert_status(ipa_poll_once(s->ipa, &report, &err), RSP_OK);
    assert_int_equal(s->fx.eim.last_state_change_cause, SGP32_STATE_CHANGE_CAUSE_EMERGENCY_PROFILE);
    assert_true(s->fx.eim.last_get_had_rplmn);
    assert_memory_equal(s->fx.eim.last_rplmn, plmn, 3);
    assert_int_equal(ipa_disable_emergency_profile(s->ipa, &result, &err), RSP_OK);
    assert_int_equal(s->fx.euicc.fallbacks, 2); /* the fake counts every refresh-flag call */
    ipa_set_rplmn(s->ipa, NULL);
    assert_status(ipa_poll_once(s->ipa, &report, &err), RSP_OK);
    assert_false(s->fx.eim.last_get_had_rplmn);
}

static void test_notifications_delivered_then_removed(void **ctx)
{
    state *s = *ctx;
    ipa_poll_report report;
    rsp_error err = {0};
    const uint8_t iccid[10] = {0x98};
    fake_euicc_add_notification(&s->fx.euicc, iccid, 3);
    fake_euicc_add_notification(&s->fx.euicc, iccid, 2);
    s->fx.eim.mode = FAKE_EIM_UNREACHABLE;
    unsigned delivered = 0;
    assert_int_equal(ipa_deliver_notifications(s->ipa, &delivered, &err), RSP_ERR_IO);
    assert_int_equal(s->fx.euicc.notification_count, 2); /* kept until delivered */
    s->fx.eim.mode = FAKE_EIM_OK;
    assert_status(ipa_poll_once(s->ipa, &report, &err), RSP_OK);
    assert_int_equal(report.notifications_sent, 2);
    assert_int_equal(s->fx.eim.handle_notifications, 2);
    assert_int_equal(s->fx.euicc.notification_count, 0);
    assert_int_equal(s->fx.eim.schema_failures, 0);
}

static void test_indirect_download(void **ctx)
{
    state *s = *ctx;
    ipa_poll_report report;
    rsp_error err = {0};
    uint8_t trigger[128];
    queue(s, trigger, build_download_trigger(trigger, sizeof trigger, "1$smdp.example$MATCH-1"));
    assert_status(ipa_poll_once(s->ipa, &report, &err), RSP_OK);
    assert_int_equal(s->fx.eim.download_steps, 3);
    assert_int_equal(s->fx.eim.schema_failures, 0); /* InitiateAuthenticationRequestEsipa */
    /* BF36+BF23, A0, A1 header, 2 x 88, A3 header, 2 x 86 */
    assert_int_equal(s->fx.euicc.bpp_segments, 8);
    const sgp32_eim_package_result *r = last_result(s);
    assert_int_equal(r->choice, SGP32_EIM_PACKAGE_RESULT_PROFILE_DOWNLOAD_TRIGGER_RESULT);
    assert_true(r->u.profile_download_trigger_result.has_eim_transaction_id);
    assert_int_equal(
        r->u.profile_download_trigger_result.profile_download_trigger_result_data.choice,
        SGP32_PROFILE_DOWNLOAD_TRIGGER_RESULT_DATA_PROFILE_INSTALLATION_RESULT);
    assert_int_equal(s->fx.euicc.notification_count, 0); /* PIR acknowledged and removed */
    assert_int_equal(s->fx.euicc.cancels, 0);
}

static void test_download_cancelled_by_smdp(void **ctx)
{
    state *s = *ctx;
    ipa_poll_report report;
    rsp_error err = {0};
    uint8_t trigger[128];
    s->fx.eim.refuse_bpp = true;
    queue(s, trigger, build_download_trigger(trigger, sizeof trigger, "1$smdp.example$MATCH-1"));
    assert_status(ipa_poll_once(s->ipa, &report, &err), RSP_OK);
    assert_int_equal(s->fx.euicc.cancels, 1);
    assert_int_equal(s->fx.euicc.last_cancel_reason, 127); /* undefinedReason */
    assert_int_equal(s->fx.eim.cancel_sessions, 1);
    assert_int_equal(s->fx.eim.schema_failures, 0); /* CancelSessionRequestEsipa included */
    assert_int_equal(s->fx.euicc.bpp_segments, 0);
    const sgp32_eim_package_result *r = last_result(s);
    const sgp32_profile_download_trigger_result_data *d =
        &r->u.profile_download_trigger_result.profile_download_trigger_result_data;
    assert_int_equal(d->choice, SGP32_PROFILE_DOWNLOAD_TRIGGER_RESULT_DATA_PROFILE_DOWNLOAD_ERROR);
    assert_true(d->u.profile_download_error.has_error_response);
}

/* The eIM goes away in the middle of a download: the eUICC session is cancelled (timeout),
 * the download error is kept and reaches the eIM on the next poll, once. */
static void test_eim_unreachable_mid_download(void **ctx)
{
    state *s = *ctx;
    ipa_poll_report report;
    rsp_error err = {0};
    uint8_t trigger[128];
    queue(s, trigger, build_download_trigger(trigger, sizeof trigger, "1$smdp.example$MATCH-1"));
    s->fx.eim.unreachable_from_tag = 0xBF3A; /* from GetBoundProfilePackage on */
    assert_int_equal(ipa_poll_once(s->ipa, &report, &err), RSP_ERR_IO);
    assert_int_equal(s->fx.euicc.cancels, 1);
    assert_int_equal(s->fx.euicc.last_cancel_reason, 2); /* timeout */
    assert_true(fake_storage_has(&s->fx.storage, IPA_STORAGE_PENDING));
    s->fx.eim.unreachable_from_tag = 0;
    s->fx.eim.gone = false;
    memset(&err, 0, sizeof err);
    assert_status(ipa_poll_once(s->ipa, &report, &err), RSP_OK);
    assert_int_equal(report.results_delivered, 1);
    const sgp32_eim_package_result *r = last_result(s);
    assert_int_equal(
        r->u.profile_download_trigger_result.profile_download_trigger_result_data.choice,
        SGP32_PROFILE_DOWNLOAD_TRIGGER_RESULT_DATA_PROFILE_DOWNLOAD_ERROR);
    assert_int_equal(s->fx.eim.provide_results, 1);
    assert_false(fake_storage_has(&s->fx.storage, IPA_STORAGE_PENDING));
}

static void test_download_via_smds_not_supported(void **ctx)
{
    state *s = *ctx;
    ipa_poll_report report;
    rsp_error err = {0};
    uint8_t trigger[64];
    queue(s, trigger, build_download_trigger_smds(trigger, sizeof trigger));
    assert_status(ipa_poll_once(s->ipa, &report, &err), RSP_OK);
    assert_int_equal(s->fx.eim.download_steps, 0);
    const sgp32_eim_package_result *r = last_result(s);
    assert_int_equal(
        r->u.profile_download_trigger_result.profile_download_trigger_result_data.choice,
        SGP32_PROFILE_DOWNLOAD_TRIGGER_RESULT_DATA_PROFILE_DOWNLOAD_ERROR);
}

static void test_add_initial_eim_then_poll(void **ctx)
{
    state *s = *ctx;
    ipa_poll_report report;
    rsp_error err = {0};
    s->fx.euicc.has_eim = false;
    assert_status(ipa_poll_once(s->ipa, &report, &err), RSP_ERR_NOT_FOUND);
    static const uint8_t request[] = {0xBF, 0x57, 0x0C, 0xA0, 0x0A, 0x30, 0x08, 0x80,
                                      0x06, 'e',  'i',  'm',  '.',  'i',  'd'};
    der_writer resp;
    der_writer_init_dynamic(&resp, NULL);
    memset(&err, 0, sizeof err);
    assert_int_equal(
        ipa_add_initial_eim(s->ipa, der_view_make(request, sizeof request), &resp, &err), RSP_OK);
    assert_true(resp.len > 0);
    der_writer_free(&resp);
    assert_status(ipa_poll_once(s->ipa, &report, &err), RSP_OK);
    static const uint8_t not_bf57[] = {0xBF, 0x55, 0x00};
    der_writer_init_dynamic(&resp, NULL);
    assert_int_equal(
        ipa_add_initial_eim(s->ipa, der_view_make(not_bf57, sizeof not_bf57), &resp, &err),
        RSP_ERR_UNEXPECTED_TAG);
    der_writer_free(&resp);
}

/* Every kind of eIM answer, damaged at random: the IPA fails cleanly or carries on, never
 * sends a message that breaks the schema, and once the eIM is sane again delivers every
 * result it holds. */
static void test_damaged_eim_answers(void **ctx)
{
    state *s = *ctx;
    ipa_poll_report report;
    rsp_error err = {0};
    unsigned failures = 0;
    for (int i = 0; i < 300; i++) {
        uint8_t package[512];
        static const uint8_t tags[] = {0xA0, 0x81, 0xBF, 0x20, 0x84, 0xA5, 0xA6, 0xA8, 0xA9};
        s->fx.eim.package_count = s->fx.eim.package_next = 0;
        if (i % 3 == 0)
            queue_enable(s, (uint8_t)(1 + i % 2), 100 + i, i % 6 == 0);
        else if (i % 3 == 1)
            queue(s, package,
                  build_ipa_euicc_data_request(package, sizeof package, tags, sizeof tags, true));
        else
            queue(s, package,
                  build_download_trigger(package, sizeof package, "1$smdp.example$MATCH-1"));
        s->fx.eim.mode = FAKE_EIM_MUTATE;
        s->fx.eim.mutate_state = 0x9E3779B9u * (uint32_t)(i + 1);
        memset(&err, 0, sizeof err);
        if (ipa_poll_once(s->ipa, &report, &err) != RSP_OK) {
            failures++;
            assert_true(err.message[0] != 0);
        }
        s->fx.eim.mode = FAKE_EIM_OK;
        s->fx.eim.package_count = s->fx.eim.package_next = 0;
        ipa_poll_once(s->ipa, &report, &err);
    }
    memset(&err, 0, sizeof err);
    assert_status(ipa_poll_once(s->ipa, &report, &err), RSP_OK);
    assert_false(fake_storage_has(&s->fx.storage, IPA_STORAGE_PENDING));
    assert_false(fake_storage_has(&s->fx.storage, IPA_STORAGE_IN_PROGRESS));
    assert_int_equal(s->fx.eim.schema_failures, 0);
    assert_true(s->fx.eim.mutated > 300);
    assert_true(failures > 0);
    printf("damaged answers: %u, failed polls: %u\n", s->fx.eim.mutated, failures);
}

static void test_backoff_grows_with_jitter_and_cap(void **ctx)
{
    state *s = *ctx;
    assert_int_equal(ipa_backoff_ms(s->ipa, 0), 0);
    for (unsigned n = 1; n < 20; n++) {
        uint32_t base = 5000u;
        uint64_t nominal = base;
        for (unsigned i = 1; i < n && nominal < 3600000u; i++)
            nominal *= 2;
        if (nominal > 3600000u)
            nominal = 3600000u;
        uint32_t d = ipa_backoff_ms(s->ipa, n);
        assert_true(d >= nominal - nominal / 4);
        assert_true(d <= nominal + nominal / 4);
    }
}

static void test_memory_returns_to_idle(void **ctx)
{
    state *s = *ctx;
    ipa_poll_report report;
    rsp_error err = {0};
    queue_enable(s, 2, 1, false);
    assert_status(ipa_poll_once(s->ipa, &report, &err), RSP_OK);
    size_t idle = ipa_bytes_held(s->ipa);
    uint8_t trigger[128];
    queue(s, trigger, build_download_trigger(trigger, sizeof trigger, "1$smdp.example$MATCH-1"));
    assert_status(ipa_poll_once(s->ipa, &report, &err), RSP_OK);
    assert_int_equal(ipa_bytes_held(s->ipa), idle);
    assert_true(ipa_peak_bytes(s->ipa) > idle);
    printf("ipa: idle %zu bytes, peak %zu bytes\n", idle, ipa_peak_bytes(s->ipa));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_reads_eid_on_a_logical_channel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_command_is_segmented_and_sw_surfaced, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_euicc_package_result_and_notifications_delivered,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_eim_unreachable_mid_package_keeps_result, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_interrupted_package_result_recovered_from_euicc, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_result_not_storable_recovered_next_poll, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_card_reset_between_polls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_basic_channel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eim_garbage_is_a_clear_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_euicc_errors_surfaced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipa_euicc_data_collects_requested_items, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rollback_after_eim_unreachable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enable_with_rollback_confirmed_when_eim_reached, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_fallback_reported_on_next_poll, setup, teardown),
        cmocka_unit_test_setup_teardown(test_emergency_profile_and_rplmn_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(test_notifications_delivered_then_removed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_indirect_download, setup, teardown),
        cmocka_unit_test_setup_teardown(test_download_cancelled_by_smdp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eim_unreachable_mid_download, setup, teardown),
        cmocka_unit_test_setup_teardown(test_download_via_smds_not_supported, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_initial_eim_then_poll, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_eim_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backoff_grows_with_jitter_and_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_returns_to_idle, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
