/* The demo scenario with a small fleet: two operators reserve profiles over ES2+, the fleet
 * owner downloads and enables operator A's profile on every device through the eIM's REST API
 * (one campaign), then migrates everyone to operator B in one campaign (each device's chain:
 * download B, enable B with rollback, delete A); every eUICC is checked at the end (profiles,
 * nothing undelivered, SM-DP+ saw the installation). The fault scenarios hit that migration
 * campaign; the owner then retries each device from where its chain stopped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <jansson.h>

#include "core/log.h"
#include "fleet/scenario.h"

#define DEVICES 20

static char work_dir[128];

static const char *package_path(void)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/testdata/ts48/NoBERTLV.der", RSPKIT_SHARED_DIR);
    return access(path, R_OK) == 0 ? path : NULL;
}

static scenario *start_with(size_t devices, bool state_files)
{
    if (package_path() == NULL) {
        printf("# SKIPPED LOUDLY: %s/testdata/ts48 is absent; the system test needs a TS.48 "
               "profile package\n",
               RSPKIT_SHARED_DIR);
        skip();
    }
    snprintf(work_dir, sizeof work_dir, "/tmp/rspkit-system-XXXXXX");
    assert_non_null(mkdtemp(work_dir));
    scenario_config config = {.devices = devices,
                              .work_dir = work_dir,
                              .package_path = package_path(),
                              .fleet_workers = 4,
                              .poll_interval_ms = 500,
                              .step_timeout_s = 20,
                              .progress = stdout,
                              .state_files = state_files};
    scenario *s = NULL;
    rsp_error err = {0};
    rsp_status status = scenario_start(&config, &s, &err);
    if (status != RSP_OK)
        fail_msg("scenario_start: %s", err.message);
    return s;
}

static scenario *start(size_t devices)
{
    return start_with(devices, false);
}

static void finish(scenario *s)
{
    scenario_free(s);
    char command[200];
    snprintf(command, sizeof command, "rm -rf '%s'", work_dir);
    assert_int_equal(system(command), 0);
}

static void expect_all(const scenario_outcome *o, size_t total, const char *what)
{
    if (o->succeeded != total)
        fail_msg("%s: %zu of %zu succeeded, %zu failed (%s)", what, o->succeeded, total, o->failed,
                 o->first_reason);
}

#define CHECK(call)                                                                                \
    do {                                                                                           \
        rsp_error check_err = {0};                                                                 \
        rsp_error *err = &check_err;                                                               \
        if ((call) != RSP_OK)                                                                      \
            fail_msg("%s: %s", #call, check_err.message);                                          \
    } while (0)

/* Waits until every eUICC holds B enabled, A gone and nothing undelivered. */
static void expect_migrated(scenario *s, size_t devices)
{
    scenario_verdict v;
    fleet_poll_all_now(scenario_fleet(s));
    for (int attempt = 0; attempt < 100; attempt++) {
        CHECK(scenario_verify(s, SCENARIO_OPERATOR_B, SCENARIO_OPERATOR_A, &v, err));
        if (v.ok == devices && v.smdp_not_installed == 0)
            return;
        if (v.ok == devices && attempt < 80)
            attempt = 80; /* devices done: only a short grace for the SM-DP+ side */
        usleep(100000);
    }
    if (v.ok != devices)
        fail_msg("%zu of %zu devices migrated: %s", v.ok, devices, v.first_problem);
    /* the eIM forwards every notification to the SM-DP+ it names (durable outbox) */
    fail_msg("%zu of %zu install notifications did not reach SM-DP+ B (%s)", v.smdp_not_installed,
             devices, v.smdp_problem);
}

/* Where a device stands in the migration, from its eUICC. */
typedef enum { MIGRATED, NO_B, B_NOT_ENABLED, A_LEFT } migration_stage;

static migration_stage stage_of(scenario *s, size_t i)
{
    fleet_profile profiles[4];
    size_t count = 0;
    bool has_b = false, b_enabled = false, has_a = false;
    CHECK(fleet_device_profiles(scenario_fleet(s), i, profiles, 4, &count, err));
    for (size_t p = 0; p < count; p++) {
        bool is_b = strcmp(profiles[p].iccid, scenario_iccid(s, i, SCENARIO_OPERATOR_B)) == 0;
        has_b |= is_b;
        b_enabled |= is_b && profiles[p].state == 1;
        has_a |= strcmp(profiles[p].iccid, scenario_iccid(s, i, SCENARIO_OPERATOR_A)) == 0;
    }
    return !has_b ? NO_B : !b_enabled ? B_NOT_ENABLED : has_a ? A_LEFT : MIGRATED;
}

/* The owner's retry of the devices a fault stopped somewhere in their chain: the whole chain
 * again without B's profile, enable + delete with B not enabled, the delete with A left. */
static void finish_migration(scenario *s, size_t devices, size_t max_expected, const char *why)
{
    size_t lists[3][DEVICES], counts[3] = {0, 0, 0};
    for (size_t i = 0; i < devices && i < DEVICES; i++) {
        migration_stage stage = stage_of(s, i);
        if (stage != MIGRATED)
            lists[stage - 1][counts[stage - 1]++] = i;
    }
    size_t n = counts[0] + counts[1] + counts[2];
    printf("# after %s: %zu devices without B's profile, %zu with B not enabled, %zu with A left; "
           "the owner retries them\n",
           why, counts[0], counts[1], counts[2]);
    assert_true(n <= max_expected);
    scenario_outcome o;
    if (counts[0] > 0) {
        scenario_chain chain = {
            .enable = true, .rollback = true, .delete_operator = SCENARIO_OPERATOR_A};
        CHECK(scenario_campaign_start(s, SCENARIO_OPERATOR_B, &chain, 0.5, lists[0], counts[0], &o,
                                      err));
        CHECK(scenario_campaign_wait(s, o.campaign_id, false, &o, err));
        expect_all(&o, counts[0], "retried migrations");
    }
    if (counts[1] > 0) {
        CHECK(scenario_device_operations(s, "enable", SCENARIO_OPERATOR_B, true, lists[1],
                                         counts[1], &o, err));
        expect_all(&o, counts[1], "retried enables");
    }
    size_t left = counts[2] + counts[1];
    memcpy(lists[2] + counts[2], lists[1], counts[1] * sizeof lists[1][0]);
    if (left > 0) {
        CHECK(scenario_device_operations(s, "delete", SCENARIO_OPERATOR_A, false, lists[2], left,
                                         &o, err));
        expect_all(&o, left, "retried deletes");
    }
}

static void provision_on_a(scenario *s, size_t devices)
{
    scenario_outcome o;
    CHECK(scenario_reserve(s, SCENARIO_OPERATOR_A, err));
    CHECK(scenario_reserve(s, SCENARIO_OPERATOR_B, err));
    CHECK(scenario_provision(s, SCENARIO_OPERATOR_A, &o, err));
    expect_all(&o, devices, "download + enable A");
}

static const scenario_chain migration = {
    .enable = true, .rollback = true, .delete_operator = SCENARIO_OPERATOR_A};

static void test_demo_scenario(void **state)
{
    (void)state;
    scenario *s = start(DEVICES);
    provision_on_a(s, DEVICES);
    scenario_outcome o;
    CHECK(scenario_migrate(s, SCENARIO_OPERATOR_A, SCENARIO_OPERATOR_B, 0.5, &o, err));
    expect_all(&o, DEVICES, "migration (download B, enable B, delete A)");
    assert_true(o.first_orders_seconds > 0 && o.first_orders_seconds <= o.seconds + 1.0);
    expect_migrated(s, DEVICES);
    finish(s);
}

/* The eIM process dies in the middle of the migration campaign and comes back on the same
 * database: the campaign completes, every device ends on B exactly once, no order is left
 * hanging and none was run twice. */
static void test_eim_restart_mid_campaign(void **state)
{
    (void)state;
    scenario *s = start(DEVICES);
    provision_on_a(s, DEVICES);
    scenario_outcome o;
    CHECK(scenario_campaign_start(s, SCENARIO_OPERATOR_B, &migration, 0.5, NULL, 0, &o, err));
    int64_t id = o.campaign_id;
    /* wait for the first finished chains, then kill and restart the eIM */
    for (int i = 0; i < 300 && o.succeeded < DEVICES / 4; i++) {
        usleep(20000);
        json_t *answer = NULL;
        long http = 0;
        char path[64];
        snprintf(path, sizeof path, "campaigns/%lld", (long long)id);
        CHECK(scenario_rest(s, 0, "GET", path, NULL, &http, &answer, err));
        o.succeeded = (size_t)json_integer_value(json_object_get(answer, "succeeded"));
        json_decref(answer);
    }
    printf("# restarting the eIM with %zu of %d migrations done\n", o.succeeded, DEVICES);
    CHECK(scenario_restart_eim(s, err));
    CHECK(scenario_campaign_wait(s, id, false, &o, err));
    /* every member is accounted for: a download in flight when the eIM died fails with the
     * IPA's reason (nothing lost), and is retried by the owner */
    assert_int_equal(o.succeeded + o.failed, DEVICES);
    if (o.failed > 0)
        printf("# %zu migrations in flight failed with the eIM restart: %s\n", o.failed,
               o.first_reason);
    finish_migration(s, DEVICES, o.failed, "the eIM restart");
    expect_migrated(s, DEVICES);
    finish(s);
}

/* SM-DP+ B is down when the campaign starts: failures pass the campaign's maximum failure
 * ratio and it pauses; the SM-DP+ comes back, the owner resumes, the campaign completes, and a
 * second campaign over the failed devices finishes the migration. */
static void test_smdp_outage_pauses_campaign(void **state)
{
    (void)state;
    scenario *s = start(DEVICES);
    provision_on_a(s, DEVICES);
    scenario_stop_smdp(s, SCENARIO_OPERATOR_B);
    scenario_outcome o;
    /* The eIM releases at the rate from the start (5 at once, then 4 a second), so the pause
     * (after 5 results) comes before every device was tried. */
    scenario_set_campaign_rate(s, 240);
    CHECK(scenario_campaign_start(s, SCENARIO_OPERATOR_B, &migration, 0.2, NULL, 0, &o, err));
    int64_t id = o.campaign_id;
    CHECK(scenario_campaign_wait(s, id, true, &o, err));
    assert_string_equal(o.state, "paused");
    assert_true(o.failed >= 1);
    assert_true(o.failed + o.succeeded < DEVICES);
    printf("# campaign paused with %zu failed, %zu succeeded (first failure: %s)\n", o.failed,
           o.succeeded, o.first_reason);
    CHECK(scenario_start_smdp(s, SCENARIO_OPERATOR_B, err));
    CHECK(scenario_campaign_control(s, id, "resume", err));
    fleet_poll_all_now(scenario_fleet(s));
    CHECK(scenario_campaign_wait(s, id, false, &o, err));
    assert_int_equal(o.succeeded + o.failed, DEVICES);
    finish_migration(s, DEVICES, o.failed, "the SM-DP+ outage");
    expect_migrated(s, DEVICES);
    finish(s);
}

/* Two devices lose power in the middle of their download (at the 2nd and 4th HTTP request of
 * the poll: during the authentication and the BPP transfer); after the reboot they finish. */
static void test_reboot_mid_download(void **state)
{
    (void)state;
    scenario *s = start(DEVICES);
    provision_on_a(s, DEVICES);
    fleet_device_cut_power(scenario_fleet(s), 3, 2);
    fleet_device_cut_power(scenario_fleet(s), 7, 4);
    scenario_outcome o;
    CHECK(scenario_migrate(s, SCENARIO_OPERATOR_A, SCENARIO_OPERATOR_B, 0.5, &o, err));
    fleet_stats st;
    fleet_get_stats(scenario_fleet(s), &st);
    assert_true(st.reboots >= 2);
    assert_int_equal(o.succeeded + o.failed, DEVICES);
    finish_migration(s, DEVICES, 2, "the power cuts");
    expect_migrated(s, DEVICES);
    finish(s);
}

/* Half of the fleet is handed over to a second eIM (addEim through the first, registration with
 * the second, deleteEim of the first); the second eIM then manages those devices alone. */
static void test_eim_handover(void **state)
{
    (void)state;
    scenario *s = start(DEVICES);
    provision_on_a(s, DEVICES);
    scenario_outcome o;
    CHECK(scenario_handover(s, 0, DEVICES / 2, &o, err));
    /* the eUICC signs each deleteEim result for the first eIM: the IPA posts it there */
    if (o.succeeded != DEVICES / 2)
        fail_msg("the first eIM recorded %zu of %d deleteEim results (%zu failed: %s)", o.succeeded,
                 DEVICES / 2, o.failed, o.first_reason);
    fleet *f = scenario_fleet(s);
    for (size_t i = 0; i < DEVICES; i++) {
        char eims[256];
        fleet_device_eims(f, i, eims, sizeof eims);
        assert_string_equal(eims, i < DEVICES / 2 ? SCENARIO_EIM2_ID : SCENARIO_EIM_ID);
    }
    /* the new eIM disables operator A's profile on a handed-over device */
    char eid[FLEET_EID_STRING_SIZE], path[96];
    fleet_device_eid(f, 1, eid);
    snprintf(path, sizeof path, "devices/%s/operations", eid);
    json_t *body = json_pack("{s:s, s:s}", "type", "disable", "iccid",
                             scenario_iccid(s, 1, SCENARIO_OPERATOR_A));
    json_t *answer = NULL;
    long http = 0;
    CHECK(scenario_rest(s, 1, "POST", path, body, &http, &answer, err));
    json_decref(body);
    assert_int_equal(http, 201);
    int64_t order = json_integer_value(json_object_get(answer, "orderId"));
    json_decref(answer);
    fleet_poll_all_now(f);
    const char *state_text = NULL;
    for (int i = 0; i < 200; i++) {
        snprintf(path, sizeof path, "orders/%lld", (long long)order);
        answer = NULL;
        CHECK(scenario_rest(s, 1, "GET", path, NULL, &http, &answer, err));
        state_text = json_string_value(json_object_get(answer, "state"));
        bool done = state_text != NULL && strcmp(state_text, "succeeded") == 0;
        json_decref(answer);
        if (done)
            break;
        usleep(50000);
    }
    fleet_profile profiles[4];
    size_t count = 0;
    CHECK(fleet_device_profiles(f, 1, profiles, 4, &count, err));
    assert_int_equal(count, 1);
    assert_int_equal(profiles[0].state, 0);
    /* the first eIM lost the handed-over devices: its orders for them are never fetched */
    finish(s);
}

/* Two handed-over devices lose power after their eUICC ran the deleteEim and the IPA stored
 * the result, before it was posted. After the reboot the eUICC lists only the second eIM, but
 * the result is signed for the first: the IPA posts it there, and the first eIM records every
 * deleteEim result. */
static void test_eim_handover_restart_before_result(void **state)
{
    (void)state;
    scenario *s = start(DEVICES);
    provision_on_a(s, DEVICES);
    scenario_outcome o;
    CHECK(scenario_handover_add_eim(s, 0, DEVICES / 2, &o, err));
    fleet *f = scenario_fleet(s);
    fleet_device_cut_power_before_result(f, 1);
    fleet_device_cut_power_before_result(f, 4);
    CHECK(scenario_handover_delete_eim(s, 0, DEVICES / 2, &o, err));
    CHECK(scenario_campaign_wait(s, o.campaign_id, false, &o, err));
    fleet_stats st;
    fleet_get_stats(f, &st);
    assert_true(st.reboots >= 2);
    if (o.succeeded != DEVICES / 2)
        fail_msg("the first eIM recorded %zu of %d deleteEim results (%zu failed: %s)", o.succeeded,
                 DEVICES / 2, o.failed, o.first_reason);
    for (size_t i = 0; i < DEVICES / 2; i++) {
        char eims[256];
        fleet_device_eims(f, i, eims, sizeof eims);
        assert_string_equal(eims, SCENARIO_EIM2_ID);
        assert_int_equal(fleet_device_undelivered(f, i), 0);
    }
    finish(s);
}

/* Devices with their eUICC state in files, on a bad network: a tenth of the HTTP requests lost
 * and power cuts in one poll of twenty during the migration's downloads. Every order ends
 * succeeded or failed with a reason, and once the network heals no eUICC keeps a result or a
 * notification undelivered, none holds a duplicate, and A's profile is still the enabled one.
 * The owner then retries the failed downloads once; what still fails is reported (an SM-DP+
 * session left open by a cut download refuses the retry until it expires). */
static void test_faults_with_state_files(void **state)
{
    (void)state;
    scenario *s = start_with(DEVICES, true);
    provision_on_a(s, DEVICES);
    fleet *f = scenario_fleet(s);
    fleet_set_answer_loss(f, false);
    fleet_set_faults(f, 0.1, 0, 0.05);
    scenario_outcome o;
    CHECK(scenario_campaign_download(s, SCENARIO_OPERATOR_B, 1.0, &o, err));
    fleet_set_faults(f, 0, 0, 0);
    fleet_stats st;
    fleet_get_stats(f, &st);
    printf("# with faults: %zu of %d downloads succeeded; %llu HTTP requests dropped, %llu "
           "reboots\n",
           o.succeeded, DEVICES, (unsigned long long)st.http_dropped,
           (unsigned long long)st.reboots);
    assert_int_equal(o.succeeded + o.failed, DEVICES);
    assert_true(st.http_dropped > 0);
    scenario_verdict v;
    fleet_poll_all_now(f);
    for (int attempt = 0; attempt < 100; attempt++) {
        CHECK(scenario_verify(s, SCENARIO_OPERATOR_A, -1, &v, err));
        if (v.ok == DEVICES)
            break;
        usleep(100000);
    }
    if (v.ok != DEVICES)
        fail_msg("after the faults: %zu of %d devices clean: %s", v.ok, DEVICES, v.first_problem);
    for (size_t i = 0; i < DEVICES; i++) {
        fleet_profile profiles[4];
        size_t count = 0;
        CHECK(fleet_device_profiles(f, i, profiles, 4, &count, err));
        assert_true(count >= 1 && count <= 2);
    }
    size_t retry[DEVICES], n = 0;
    for (size_t i = 0; i < DEVICES; i++) {
        fleet_profile profiles[4];
        size_t count = 0;
        CHECK(fleet_device_profiles(f, i, profiles, 4, &count, err));
        if (count < 2)
            retry[n++] = i;
    }
    assert_int_equal(n, o.failed);
    if (n > 0) {
        CHECK(scenario_campaign_start(s, SCENARIO_OPERATOR_B, NULL, 1.0, retry, n, &o, err));
        CHECK(scenario_campaign_wait(s, o.campaign_id, false, &o, err));
        assert_int_equal(o.succeeded + o.failed, n);
        if (o.failed > 0)
            printf("# KNOWN PROBLEM: %zu of %zu retried downloads refused again (%s)\n", o.failed,
                   n, o.first_reason);
    }
    finish(s);
}

int main(void)
{
    log_set_level(LOG_LEVEL_WARN);
    /* SYSTEM_TEST_FILTER=test_eim_handover runs one scenario (they take seconds each) */
    if (getenv("SYSTEM_TEST_FILTER") != NULL)
        cmocka_set_test_filter(getenv("SYSTEM_TEST_FILTER"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demo_scenario),
        cmocka_unit_test(test_eim_restart_mid_campaign),
        cmocka_unit_test(test_smdp_outage_pauses_campaign),
        cmocka_unit_test(test_reboot_mid_download),
        cmocka_unit_test(test_eim_handover),
        cmocka_unit_test(test_eim_handover_restart_before_result),
        cmocka_unit_test(test_faults_with_state_files),
    };
    return cmocka_run_group_tests_name("system", tests, NULL, NULL);
}
