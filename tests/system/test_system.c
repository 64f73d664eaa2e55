/* The demo scenario with a small fleet: two operators reserve profiles over ES2+, the fleet
 * owner downloads and enables operator A's profile on every device through the eIM's REST API,
 * then migrates everyone to operator B (download, enable with rollback, delete A's profile);
 * every eUICC is checked at the end (profiles, nothing undelivered, SM-DP+ saw the
 * installation). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

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

static scenario *start(size_t devices)
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
                              .step_timeout_s = 60,
                              .progress = stdout};
    scenario *s = NULL;
    rsp_error err = {0};
    rsp_status status = scenario_start(&config, &s, &err);
    if (status != RSP_OK)
        fail_msg("scenario_start: %s", err.message);
    return s;
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
        if (v.ok == devices)
            return;
        usleep(100000);
    }
    fail_msg("%zu of %zu devices migrated: %s", v.ok, devices, v.first_problem);
}

static void provision_on_a(scenario *s, size_t devices)
{
    scenario_outcome o;
    CHECK(scenario_reserve(s, SCENARIO_OPERATOR_A, err));
    CHECK(scenario_reserve(s, SCENARIO_OPERATOR_B, err));
    CHECK(scenario_campaign_download(s, SCENARIO_OPERATOR_A, 0.5, &o, err));
    expect_all(&o, devices, "download A");
    CHECK(scenario_device_operations(s, "enable", SCENARIO_OPERATOR_A, false, 0, devices, &o, err));
    expect_all(&o, devices, "enable A");
}

static void migrate_rest(scenario *s, size_t devices)
{
    scenario_outcome o;
    CHECK(scenario_device_operations(s, "enable", SCENARIO_OPERATOR_B, true, 0, devices, &o, err));
    expect_all(&o, devices, "enable B");
    CHECK(scenario_device_operations(s, "delete", SCENARIO_OPERATOR_A, false, 0, devices, &o, err));
    expect_all(&o, devices, "delete A");
    expect_migrated(s, devices);
}

static void test_demo_scenario(void **state)
{
    (void)state;
    scenario *s = start(DEVICES);
    provision_on_a(s, DEVICES);
    scenario_outcome o;
    CHECK(scenario_campaign_download(s, SCENARIO_OPERATOR_B, 0.5, &o, err));
    expect_all(&o, DEVICES, "download B");
    migrate_rest(s, DEVICES);
    finish(s);
}

int main(void)
{
    log_set_level(LOG_LEVEL_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demo_scenario),
    };
    return cmocka_run_group_tests_name("system", tests, NULL, NULL);
}
