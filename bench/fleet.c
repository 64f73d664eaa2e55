/* bench fleet: see bench/fleet.h. The migration's wall time is split per step, next to the
 * process CPU time (every server and device of the run lives in this process, so CPU time is
 * the machine's work for the migration). */
#include "bench/fleet.h"

#include <dirent.h>
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
    bool direct;
    unsigned poll_interval_s;
} options;

static int parse(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    o->devices = 10000;
    o->workers = SCENARIO_DEFAULT_WORKERS;
    o->server_threads = SCENARIO_DEFAULT_SERVER_THREADS;
    /* Devices are woken when work is released for them, so their own polls are idle ones:
     * an IoT device polls every few hours; 10 minutes keeps a few in the run */
    o->poll_interval_s = 600;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--relaxed") == 0)
            o->relaxed = true;
        else if (strcmp(argv[i], "--direct") == 0)
            o->direct = true;
        else if (strcmp(argv[i], "--poll-interval") == 0 && v != NULL && atoi(v) > 0)
            o->poll_interval_s = (unsigned)atoi(argv[++i]);
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
                            "[--server-threads N] [--relaxed] [--direct] [--poll-interval S]\n");
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
    double wall;
    size_t succeeded, total;
} step_figure;

/* CPU seconds of the process's threads by role, from /proc/self/task/<tid>/stat (utime and
 * stime, fields 14 and 15): the servers' request threads (microhttpd names them MHD-*), the
 * fleet's device threads, and the rest (the scenario driver and the servers' background
 * threads: campaign release, notification forwarding). Threads that ended are only in the
 * process total, so "rest" is computed from it. */
typedef struct {
    double servers, devices, process;
    fleet_stats fleet; /* polls and HTTP requests of the devices */
} cpu_split;

static void read_cpu_split(scenario *s, cpu_split *out)
{
    memset(out, 0, sizeof *out);
    out->process = bench_cpu_seconds();
    fleet_get_stats(scenario_fleet(s), &out->fleet);
    DIR *dir = opendir("/proc/self/task");
    if (dir == NULL)
        return;
    double tick = (double)sysconf(_SC_CLK_TCK);
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;
        char path[300], text[1024];
        snprintf(path, sizeof path, "/proc/self/task/%s/stat", entry->d_name);
        FILE *in = fopen(path, "r");
        size_t n = in != NULL ? fread(text, 1, sizeof text - 1, in) : 0;
        if (in != NULL)
            fclose(in);
        text[n] = '\0';
        /* "tid (comm) state ...": comm may hold spaces, the fields follow its last ')' */
        char *open = strchr(text, '('), *close = strrchr(text, ')');
        unsigned long long utime = 0, stime = 0;
        if (open == NULL || close == NULL ||
            sscanf(close + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                   &stime) != 2)
            continue;
        double seconds = (double)(utime + stime) / tick;
        *close = '\0';
        if (strncmp(open + 1, "MHD", 3) == 0)
            out->servers += seconds;
        else if (strcmp(open + 1, FLEET_WORKER_THREAD_NAME) == 0)
            out->devices += seconds;
    }
    closedir(dir);
}

static int report(const options *o, const step_figure *steps, size_t count, double wall,
                  const cpu_split *cpu, const scenario_verdict *verdict, const char *failure)
{
    printf("\nfleet migration, %zu devices (%s durability on the servers; one campaign: download "
           "B + enable B with rollback + delete A, each device's chain in one go, so the steps "
           "overlap; times from the campaign's start):\n",
           o->devices, o->relaxed ? "relaxed" : "full");
    printf("  %-40s %10s %12s\n", "step", "wall s", "done");
    for (size_t i = 0; i < count; i++)
        printf("  %-40s %10.2f %6zu/%-6zu\n", steps[i].name, steps[i].wall, steps[i].succeeded,
               steps[i].total);
    double per_device = cpu->process * 1000.0 / (double)o->devices;
    double rest = cpu->process - cpu->servers - cpu->devices;
    bool complete = failure == NULL && verdict != NULL && verdict->ok == o->devices &&
                    verdict->smdp_not_installed == 0;
    bool pass = complete && (o->devices < 10000 || wall <= TARGET_SECONDS);
    printf("  CPU per device: %.2f ms = servers' request threads %.2f + devices (IPA, eUICC, "
           "HTTPS) %.2f + driver and servers' background threads %.2f; %.2f cores busy\n",
           per_device, cpu->servers * 1000.0 / (double)o->devices,
           cpu->devices * 1000.0 / (double)o->devices, rest * 1000.0 / (double)o->devices,
           wall > 0 ? cpu->process / wall : 0);
    double n = (double)o->devices;
    printf("  per device: %.2f polls (%.2f failed), %.2f eIM packages, %.2f results and %.2f "
           "notifications sent on their own (the others go with results), %.2f HTTPS requests\n",
           (double)cpu->fleet.polls / n, (double)cpu->fleet.poll_failures / n,
           (double)cpu->fleet.packages / n, (double)cpu->fleet.results_delivered / n,
           (double)cpu->fleet.notifications_sent / n, (double)cpu->fleet.http_requests / n);
    printf("  migration (download + enable + delete + notifications): %.1f s wall, %.1f s CPU, "
           "%.2f ms CPU per device; target <= %.0f s for 10,000 devices: %s\n",
           wall, cpu->process, per_device, TARGET_SECONDS,
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
    bench_report_add(BENCH_NAME, "migration CPU per device", per_device, "ms", 0, false);
    bench_report_add(BENCH_NAME, "  of which servers' request threads",
                     cpu->servers * 1000.0 / (double)o->devices, "ms", 0, false);
    bench_report_add(BENCH_NAME, "  of which devices", cpu->devices * 1000.0 / (double)o->devices,
                     "ms", 0, false);
    bench_report_add(BENCH_NAME, "cores busy", wall > 0 ? cpu->process / wall : 0, "cores", 0,
                     true);
    bench_report_add(BENCH_NAME, "devices migrated", verdict != NULL ? (double)verdict->ok : 0,
                     "devices", (double)o->devices, true);
    for (size_t i = 0; i < count; i++) {
        snprintf(name, sizeof name, "step: %s", steps[i].name);
        bench_report_add(BENCH_NAME, name, steps[i].wall, "s", 0, false);
    }
    return pass ? 0 : 1;
}

/* The last notifications: every eUICC empty, the SM-DP+ saw every installation. */
static rsp_status settle(scenario *s, size_t devices, scenario_verdict *verdict, bool *verified,
                         rsp_error *err)
{
    rsp_status status = RSP_OK;
    for (int attempt = 0; status == RSP_OK && attempt < 100; attempt++) {
        status = scenario_verify(s, SCENARIO_OPERATOR_B, SCENARIO_OPERATOR_A, verdict, err);
        *verified = status == RSP_OK;
        if (*verified && verdict->ok == devices && verdict->smdp_not_installed == 0)
            break;
        /* a device still holding something polls now rather than at its next interval (each
         * poll costs the eIM a request, so only when the check found something left) */
        if (attempt == 0)
            fleet_poll_all_now(scenario_fleet(s));
        usleep(100000);
    }
    return status;
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
                              .poll_interval_ms = o.poll_interval_s * 1000u,
                              .step_timeout_s = 600,
                              .relaxed_durability = o.relaxed,
                              .direct_download = o.direct,
                              .progress = stdout};
    scenario *s = NULL;
    rsp_error err = {0};
    rsp_status status = scenario_start(&config, &s, &err);
    step_figure steps[4];
    size_t count = 0;
    scenario_verdict verdict;
    bool verified = false;
    double wall = 0;
    cpu_split cpu = {0}, before;
    scenario_outcome out;
    if (status == RSP_OK)
        status = scenario_reserve(s, SCENARIO_OPERATOR_A, &err);
    if (status == RSP_OK)
        status = scenario_reserve(s, SCENARIO_OPERATOR_B, &err);
    if (status == RSP_OK) {
        printf("set-up: operator A's profile downloaded and enabled on every device\n");
        status = scenario_provision(s, SCENARIO_OPERATOR_A, &out, &err);
    }
    if (status == RSP_OK && out.succeeded != out.total)
        status = rsp_error_set(&err, RSP_ERR_STATE, 0, 0, "set-up: %zu of %zu devices (%s)",
                               out.succeeded, out.total, out.first_reason);
    if (status == RSP_OK) {
        printf("timed: the migration to operator B\n");
        double t0 = bench_now();
        read_cpu_split(s, &before);
        status = scenario_migrate(s, SCENARIO_OPERATOR_A, SCENARIO_OPERATOR_B, 1.0, &out, &err);
        double campaign_wall = bench_now() - t0;
        steps[count++] = (step_figure){"every download B done", out.first_orders_seconds,
                                       out.following + out.succeeded + out.failed, out.total};
        steps[count++] = (step_figure){"every enable B + delete A done", campaign_wall,
                                       out.succeeded, out.total};
        if (status == RSP_OK)
            status = settle(s, o.devices, &verdict, &verified, &err);
        wall = bench_now() - t0;
        steps[count++] =
            (step_figure){"every notification settled", wall, verified ? verdict.ok : 0, o.devices};
        read_cpu_split(s, &cpu);
        cpu.servers -= before.servers;
        cpu.devices -= before.devices;
        cpu.process -= before.process;
        cpu.fleet.polls -= before.fleet.polls;
        cpu.fleet.poll_failures -= before.fleet.poll_failures;
        cpu.fleet.packages -= before.fleet.packages;
        cpu.fleet.results_delivered -= before.fleet.results_delivered;
        cpu.fleet.notifications_sent -= before.fleet.notifications_sent;
        cpu.fleet.http_requests -= before.fleet.http_requests;
    }
    rc = report(&o, steps, count, wall, &cpu, verified ? &verdict : NULL,
                status == RSP_OK ? NULL : err.message);
    scenario_free(s);
    log_set_level(saved);
    return rc;
}
