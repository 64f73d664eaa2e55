/* bench fleet: see bench/fleet.h. The migration's wall time is split per step, next to the
 * process CPU time (every server and device of the run lives in this process, so CPU time is
 * the machine's work for the migration). */
#include "bench/fleet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench.h"
#include "bench/figures.h"
#include "core/log.h"

#include "fleet/fleet.h"
#include "fleet/scenario.h"

#ifndef RSPKIT_SHARED_DIR
#define RSPKIT_SHARED_DIR "../shared"
#endif

#define TARGET_SECONDS 60.0
#define BENCH_NAME     "fleet"

typedef struct {
    size_t devices;
    char dir[256];
    unsigned workers;
    unsigned server_threads;
    bool relaxed;
} options;

static int parse(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    o->devices = 10000;
    o->workers = 4;
    o->server_threads = 2;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--relaxed") == 0)
            o->relaxed = true;
        else if (strcmp(argv[i], "--devices") == 0 && v != NULL && atol(v) > 0)
            o->devices = (size_t)atol(argv[++i]);
        else if (strcmp(argv[i], "--dir") == 0 && v != NULL)
            snprintf(o->dir, sizeof o->dir, "%s", argv[++i]);
        else if (strcmp(argv[i], "--workers") == 0 && v != NULL)
            o->workers = (unsigned)atoi(argv[++i]);
        else if (strcmp(argv[i], "--server-threads") == 0 && v != NULL)
            o->server_threads = (unsigned)atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: rspkit bench fleet [--devices N] [--dir DIR] [--workers N] "
                            "[--server-threads N] [--relaxed]\n");
            return 2;
        }
    }
    if (o->dir[0] == '\0') {
        snprintf(o->dir, sizeof o->dir, "/tmp/rspkit-bench-fleet-XXXXXX");
        if (mkdtemp(o->dir) == NULL)
            return 1;
    }
    return 0;
}

typedef struct {
    const char *name;
    double wall, cpu;
    size_t succeeded, total;
} step_figure;

static int report(const options *o, const step_figure *steps, size_t count, double wall, double cpu,
                  const scenario_verdict *verdict, const char *failure)
{
    printf("\nfleet migration, %zu devices (%s durability on the SM-DP+):\n", o->devices,
           o->relaxed ? "relaxed" : "full");
    printf("  %-28s %10s %10s %12s\n", "step", "wall s", "CPU s", "done");
    for (size_t i = 0; i < count; i++)
        printf("  %-28s %10.2f %10.2f %6zu/%-6zu\n", steps[i].name, steps[i].wall, steps[i].cpu,
               steps[i].succeeded, steps[i].total);
    bool complete = failure == NULL && verdict != NULL && verdict->ok == o->devices &&
                    verdict->smdp_not_installed == 0;
    bool pass = complete && (o->devices < 10000 || wall <= TARGET_SECONDS);
    printf("  migration (download + enable + delete + notifications): %.1f s wall, %.1f s CPU, "
           "%.2f ms CPU per device; target <= %.0f s for 10,000 devices: %s\n",
           wall, cpu, cpu * 1000.0 / (double)o->devices, TARGET_SECONDS,
           !complete ? "INCOMPLETE"
           : o->devices < 10000
               ? (wall * 10000.0 / (double)o->devices <= TARGET_SECONDS ? "on track (scaled)"
                                                                        : "behind (scaled)")
           : pass ? "PASS"
                  : "FAIL");
    if (failure != NULL)
        printf("  failure: %s\n", failure);
    if (verdict != NULL && verdict->ok != o->devices)
        printf("  %zu of %zu devices migrated; first problem: %s\n", verdict->ok, o->devices,
               verdict->first_problem);
    if (verdict != NULL && verdict->smdp_not_installed > 0)
        printf("  %zu install notifications never reached the SM-DP+ (%s)\n",
               verdict->smdp_not_installed, verdict->smdp_problem);
    char name[96];
    snprintf(name, sizeof name, "migration of %zu devices (wall)", o->devices);
    bench_report_add(BENCH_NAME, name, wall, "s", o->devices >= 10000 ? TARGET_SECONDS : 0, false);
    snprintf(name, sizeof name, "migration CPU per device");
    bench_report_add(BENCH_NAME, name, cpu * 1000.0 / (double)o->devices, "ms", 0, false);
    bench_report_add(BENCH_NAME, "devices migrated", verdict != NULL ? (double)verdict->ok : 0,
                     "devices", (double)o->devices, true);
    for (size_t i = 0; i < count; i++) {
        snprintf(name, sizeof name, "step: %s", steps[i].name);
        bench_report_add(BENCH_NAME, name, steps[i].wall, "s", 0, false);
    }
    return pass ? 0 : 1;
}

int bench_fleet(int argc, char **argv)
{
    options o;
    int rc = parse(argc, argv, &o);
    if (rc != 0)
        return rc;
    char package[512];
    snprintf(package, sizeof package, "%s/testdata/ts48/NoBERTLV.der", RSPKIT_SHARED_DIR);
    if (access(package, R_OK) != 0) {
        printf("bench fleet: SKIPPED, %s is absent\n", package);
        bench_report_note(BENCH_NAME, "skipped: no TS.48 package");
        return 0;
    }
    log_level saved = log_get_level();
    log_set_level(LOG_LEVEL_ERROR);
    printf("bench fleet: %zu devices, folder %s\n", o.devices, o.dir);
    scenario_config config = {.devices = o.devices,
                              .work_dir = o.dir,
                              .package_path = package,
                              .fleet_workers = o.workers,
                              .server_threads = o.server_threads,
                              .poll_interval_ms = 30000,
                              .step_timeout_s = 600,
                              .relaxed_durability = o.relaxed,
                              .progress = stdout};
    scenario *s = NULL;
    rsp_error err = {0};
    rsp_status status = scenario_start(&config, &s, &err);
    step_figure steps[4];
    size_t count = 0;
    scenario_verdict verdict;
    bool verified = false;
    double wall = 0, cpu = 0;
    scenario_outcome out;
    if (status == RSP_OK)
        status = scenario_reserve(s, SCENARIO_OPERATOR_A, &err);
    if (status == RSP_OK)
        status = scenario_reserve(s, SCENARIO_OPERATOR_B, &err);
    if (status == RSP_OK) {
        printf("set-up: operator A's profile on every device\n");
        status = scenario_campaign_download(s, SCENARIO_OPERATOR_A, 1.0, &out, &err);
    }
    if (status == RSP_OK)
        status = scenario_device_operations(s, "enable", SCENARIO_OPERATOR_A, false, 0, o.devices,
                                            &out, &err);
    if (status == RSP_OK) {
        printf("timed: the migration to operator B\n");
        double t0 = bench_now(), c0 = bench_cpu_seconds();
        double ts = t0, cs = c0;
        status = scenario_campaign_download(s, SCENARIO_OPERATOR_B, 1.0, &out, &err);
        steps[count++] = (step_figure){"download B (campaign)", bench_now() - ts,
                                       bench_cpu_seconds() - cs, out.succeeded, out.total};
        ts = bench_now(), cs = bench_cpu_seconds();
        if (status == RSP_OK)
            status = scenario_device_operations(s, "enable", SCENARIO_OPERATOR_B, true, 0,
                                                o.devices, &out, &err);
        steps[count++] = (step_figure){"enable B (rollback flag)", bench_now() - ts,
                                       bench_cpu_seconds() - cs, out.succeeded, out.total};
        ts = bench_now(), cs = bench_cpu_seconds();
        if (status == RSP_OK)
            status = scenario_device_operations(s, "delete", SCENARIO_OPERATOR_A, false, 0,
                                                o.devices, &out, &err);
        steps[count++] = (step_figure){"delete A", bench_now() - ts, bench_cpu_seconds() - cs,
                                       out.succeeded, out.total};
        ts = bench_now(), cs = bench_cpu_seconds();
        /* the last notifications: every eUICC empty, the SM-DP+ saw every installation */
        fleet_poll_all_now(scenario_fleet(s));
        for (int attempt = 0; status == RSP_OK && attempt < 100; attempt++) {
            status = scenario_verify(s, SCENARIO_OPERATOR_B, SCENARIO_OPERATOR_A, &verdict, &err);
            verified = status == RSP_OK;
            if (verified && verdict.ok == o.devices && verdict.smdp_not_installed == 0)
                break;
            usleep(100000);
        }
        steps[count++] =
            (step_figure){"notifications settled", bench_now() - ts, bench_cpu_seconds() - cs,
                          verified ? verdict.ok : 0, o.devices};
        wall = bench_now() - t0;
        cpu = bench_cpu_seconds() - c0;
    }
    rc = report(&o, steps, count, wall, cpu, verified ? &verdict : NULL,
                status == RSP_OK ? NULL : err.message);
    scenario_free(s);
    log_set_level(saved);
    return rc;
}
