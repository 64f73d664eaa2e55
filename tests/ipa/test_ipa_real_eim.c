/* The whole chain with real servers: the IPA (libipa with the Linux HTTPS and file hooks)
 * between the software eUICC (APDUs) and the eIM server over pinned HTTPS, the eIM relaying
 * the download to the SM-DP+ server over ES9+ JSON. A fleet owner orders through the eIM's
 * REST API: a TS.48 download, then an enable; the IPA runs both from `ipa_poll_once`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "real_eim.h"

static int setup(void **state)
{
    static real_eim_fixture fixture;
    *state = &fixture;
    return real_eim_setup(&fixture);
}

static int teardown(void **state)
{
    return real_eim_teardown(*state);
}

static void test_download_and_enable_through_the_eim_server(void **state)
{
    real_eim_fixture *f = *state;
    char path[512];
    if (!real_eim_ts48_path(path, sizeof path, RSPKIT_SHARED_DIR, "BERTLV_SUCI.der"))
        skip();
    rsp_error err = {0};
    real_eim_start_card(f);
    real_eim_start_servers(f);
    char state_dir[128];
    snprintf(state_dir, sizeof state_dir, "%s/ipa-state", f->dir);
    real_eim_check(ipa_file_storage_init(&f->storage, state_dir, false, &err), &err, "storage");
    f->http = ipa_http_new(NULL, 30000, &err);
    assert_non_null(f->http);
    ipa_platform platform;
    ipa_platform_linux(&platform, NULL, f->http, &f->storage);
    platform.apdu_transmit = real_eim_card_transmit;
    platform.apdu_ctx = f;
    ipa_config config = {.tac = {0x35, 0x29, 0x06, 0x11}};
    real_eim_check(ipa_new(&platform, &config, &f->ipa, &err), &err, "ipa_new");

    real_eim_register_device(f, real_eim_associate(f));
    char iccid[SMDP_ICCID_SIZE];
    real_eim_download(f, path, iccid);
    ipa_poll_report report;
    char buf[32];

    int64_t enable =
        real_eim_operation(f, json_pack("{s:s, s:s}", "type", "enable", "iccid", iccid));
    real_eim_poll_ok(f, &report);
    assert_int_equal(report.results_delivered, 1);
    assert_string_equal(real_eim_order_state(f, enable, buf, sizeof buf), "succeeded");
    /* IPA eUICC Data with the eIM's default tag list (addresses, EUICCInfo2, token,
     * certificates), collected from the real eUICC */
    int64_t data = real_eim_operation(f, json_pack("{s:s}", "type", "euiccData"));
    real_eim_poll_ok(f, &report);
    assert_int_equal(report.results_delivered, 1);
    assert_string_equal(real_eim_order_state(f, data, buf, sizeof buf), "succeeded");
    real_eim_assert_enabled_and_settled(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_download_and_enable_through_the_eim_server, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
