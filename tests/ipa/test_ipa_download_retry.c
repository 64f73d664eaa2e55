/* Indirect download through a flaky eIM: a lost request, a lost answer or the relay's
 * undefinedError in the middle of a download is retried with the same bytes inside the
 * session instead of cancelling it, and no eUICC step runs twice; a lasting failure still
 * cancels with the timeout reason, a specific refusal at once. */
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
    s.fx.config.backoff_base_ms = 40; /* step retries then wait 2, 4, 8 ms */
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

static void queue_trigger(state *s)
{
    uint8_t trigger[128];
    size_t len = build_download_trigger(trigger, sizeof trigger, "1$smdp.example$MATCH-1");
    assert_true(len > 0);
    fake_eim_queue(&s->fx.eim, der_view_make(trigger, len));
}

/* The choice of ProfileDownloadTriggerResultData in the last result the eIM received. */
static int last_download_outcome(state *s)
{
    const sgp32_eim_package_result *r = fake_eim_last_result(&s->fx.eim);
    assert_non_null(r);
    assert_int_equal(r->choice, SGP32_EIM_PACKAGE_RESULT_PROFILE_DOWNLOAD_TRIGGER_RESULT);
    return r->u.profile_download_trigger_result.profile_download_trigger_result_data.choice;
}

/* The answer carrying the BPP is lost after the SM-DP+ built it: the IPA asks again with the
 * same PrepareDownload response instead of running PrepareDownload a second time. */
static void test_lost_bpp_answer_is_asked_again(void **ctx)
{
    state *s = *ctx;
    ipa_poll_report report;
    rsp_error err = {0};
    queue_trigger(s);
    s->fx.eim.flaky_tag = 0xBF3A;
    s->fx.eim.lose_answers = 1;
    assert_status(ipa_poll_once(s->ipa, &report, &err), RSP_OK);
    assert_int_equal(s->fx.eim.flaky_resent_same, 1);
    assert_int_equal(s->fx.eim.flaky_resent_other, 0);
    assert_int_equal(s->fx.euicc.prepare_downloads, 1);
    assert_int_equal(s->fx.euicc.cancels, 0);
    assert_int_equal(s->fx.euicc.bpp_segments, 8);
    assert_int_equal(last_download_outcome(s),
                     SGP32_PROFILE_DOWNLOAD_TRIGGER_RESULT_DATA_PROFILE_INSTALLATION_RESULT);
}

/* AuthenticateClient lost on the way, then refused with undefinedError (the eIM could not
 * reach the SM-DP+): both retried, AuthenticateServer ran once. */
static void test_authenticate_client_retried_after_transient_failures(void **ctx)
{
    state *s = *ctx;
    ipa_poll_report report;
    rsp_error err = {0};
    queue_trigger(s);
    s->fx.eim.flaky_tag = 0xBF3B;
    s->fx.eim.lose_requests = 1;
    s->fx.eim.undefined_errors = 1;
    assert_status(ipa_poll_once(s->ipa, &report, &err), RSP_OK);
    assert_int_equal(s->fx.eim.flaky_resent_same, 2);
    assert_int_equal(s->fx.eim.flaky_resent_other, 0);
    assert_int_equal(s->fx.euicc.authenticate_servers, 1);
    assert_int_equal(s->fx.euicc.prepare_downloads, 1);
    assert_int_equal(s->fx.euicc.cancels, 0);
    assert_int_equal(last_download_outcome(s),
                     SGP32_PROFILE_DOWNLOAD_TRIGGER_RESULT_DATA_PROFILE_INSTALLATION_RESULT);
}

/* The eIM stays silent: after the bounded retries the session is cancelled (timeout) and the
 * eIM hears of the download error. */
static void test_lasting_failure_cancels_after_bounded_retries(void **ctx)
{
    state *s = *ctx;
    ipa_poll_report report;
    rsp_error err = {0};
    queue_trigger(s);
    s->fx.eim.flaky_tag = 0xBF3A;
    s->fx.eim.undefined_errors = 100;
    assert_status(ipa_poll_once(s->ipa, &report, &err), RSP_OK);
    assert_int_equal(s->fx.eim.flaky_resent_same, 3); /* four attempts in all */
    assert_int_equal(s->fx.euicc.prepare_downloads, 1);
    assert_int_equal(s->fx.euicc.cancels, 1);
    assert_int_equal(s->fx.euicc.last_cancel_reason, 127);
    assert_int_equal(s->fx.euicc.bpp_segments, 0);
    assert_int_equal(last_download_outcome(s),
                     SGP32_PROFILE_DOWNLOAD_TRIGGER_RESULT_DATA_PROFILE_DOWNLOAD_ERROR);
}

/* A specific refusal (downloadOrderExpired) is final: no second GetBoundProfilePackage. */
static void test_specific_refusal_is_not_retried(void **ctx)
{
    state *s = *ctx;
    ipa_poll_report report;
    rsp_error err = {0};
    queue_trigger(s);
    s->fx.eim.refuse_bpp = true;
    assert_status(ipa_poll_once(s->ipa, &report, &err), RSP_OK);
    assert_int_equal(s->fx.eim.download_steps, 4); /* BF39, BF3B, BF3A, BF41 */
    assert_int_equal(s->fx.euicc.cancels, 1);
}

/* The cancellation after a refusal is lost once on the way: sent again, the same bytes. */
static void test_lost_cancellation_is_sent_again(void **ctx)
{
    state *s = *ctx;
    ipa_poll_report report;
    rsp_error err = {0};
    queue_trigger(s);
    s->fx.eim.refuse_bpp = true;
    s->fx.eim.flaky_tag = 0xBF41;
    s->fx.eim.lose_requests = 1;
    assert_status(ipa_poll_once(s->ipa, &report, &err), RSP_OK);
    assert_int_equal(s->fx.euicc.cancels, 1);
    assert_int_equal(s->fx.eim.flaky_resent_same, 1);
    assert_int_equal(s->fx.eim.flaky_resent_other, 0);
    assert_int_equal(s->fx.eim.cancel_sessions, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lost_bpp_answer_is_asked_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_authenticate_client_retried_after_transient_failures,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_lasting_failure_cancels_after_bounded_retries, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_specific_refusal_is_not_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lost_cancellation_is_sent_again, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
