/* rspkit demo: the whole system on one machine (fleet/scenario.h). Two operators' SM-DP+, an
 * eIM and N simulated devices on loopback HTTPS; acting as each operator over ES2+ and as the
 * fleet owner over the eIM's REST API only, it downloads and enables operator A's profile on
 * every device, then migrates the fleet to operator B (download, enable with rollback, delete
 * A's profile), checks every eUICC and prints a summary.
 *
 *   rspkit demo [--devices N] [--dir DIR] [--package FILE]
 *
 * Every server runs inside this one process (threads), so Ctrl-C ends them all with it. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/commands.h"
#include "core/log.h"

#include "fleet/scenario.h"
#ifndef RSPKIT_SHARED_DIR
#define RSPKIT_SHARED_DIR "../shared"
#endif

static volatile sig_atomic_t interrupted;

static void on_signal(int signal_number)
{
    (void)signal_number;
    static const char message[] = "\nrspkit demo: interrupted; servers and devices stopped\n";
    interrupted = 1;
    /* every server and device is a thread of this process: leaving ends them all */
    if (write(STDERR_FILENO, message, sizeof message - 1) < 0)
        _exit(130);
    _exit(130);
}

typedef struct {
    size_t devices;
    char dir[256];
    const char *package;
} demo_options;

static int usage(void)
{
    fprintf(stderr, "usage: rspkit demo [--devices N] [--dir DIR] [--package FILE]\n"
                    "  N defaults to $DEMO_DEVICES or 100; DIR to a new folder under /tmp, kept\n"
                    "  afterwards with the logs and databases.\n");
    return 2;
}

static int parse(int argc, char **argv, demo_options *o)
{
    const char *env = getenv("DEMO_DEVICES");
    o->devices = env != NULL && atol(env) > 0 ? (size_t)atol(env) : 100;
    o->package = RSPKIT_SHARED_DIR "/testdata/ts48/NoBERTLV.der";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--devices") == 0 && i + 1 < argc && atol(argv[i + 1]) > 0)
            o->devices = (size_t)atol(argv[++i]);
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            snprintf(o->dir, sizeof o->dir, "%s", argv[++i]);
        else if (strcmp(argv[i], "--package") == 0 && i + 1 < argc)
            o->package = argv[++i];
        else
            return usage();
    }
    if (o->dir[0] == '\0') {
        snprintf(o->dir, sizeof o->dir, "/tmp/rspkit-demo-XXXXXX");
        if (mkdtemp(o->dir) == NULL) {
            perror("mkdtemp");
            return 1;
        }
    }
    return 0;
}

static void print_outcome(const char *what, const scenario_outcome *o)
{
    printf("  %-34s %6zu/%-6zu ok  %4zu failed  %7.1f s%s%s\n", what, o->succeeded, o->total,
           o->failed, o->seconds, o->first_reason[0] ? "  first failure: " : "", o->first_reason);
}

static int summary(scenario *s, const demo_options *o, const scenario_outcome *outcomes,
                   const char *const *names, size_t outcome_count, const scenario_verdict *v,
                   double wall, const char *failure)
{
    printf("\n================ rspkit demo summary ================\n");
    printf("devices            %zu (software eUICC + IPA each, one fleet process)\n", o->devices);
    printf("wall time          %.1f s\n", wall);
    printf("steps (a campaign's steps overlap: each device runs its whole chain in one go, so\n"
           "       they are times from the campaign's start):\n");
    size_t count = 0;
    const scenario_step *steps = scenario_steps(s, &count);
    for (size_t i = 0; i < count; i++)
        printf("  %-34s %7.1f s\n", steps[i].name, steps[i].seconds);
    printf("results:\n");
    for (size_t i = 0; i < outcome_count; i++)
        print_outcome(names[i], &outcomes[i]);
    if (v != NULL) {
        printf("final check of every eUICC: %zu on operator B with A deleted and everything "
               "delivered, %zu wrong profile, %zu undelivered\n",
               v->ok, v->wrong_profile, v->undelivered);
        if (v->first_problem[0])
            printf("  first problem: %s\n", v->first_problem);
        printf("install notifications at operator B's SM-DP+: %zu of %zu received%s%s\n",
               v->devices - v->smdp_not_installed, v->devices,
               v->smdp_not_installed ? "; first missing: " : "", v->smdp_problem);
    }
    fleet_stats st;
    fleet_get_stats(scenario_fleet(s), &st);
    printf("fleet: %llu polls, %llu eIM packages, %llu results (their notifications acknowledged "
           "with them), "
           "%llu notifications sent on their own\n",
           (unsigned long long)st.polls, (unsigned long long)st.packages,
           (unsigned long long)st.results_delivered, (unsigned long long)st.notifications_sent);
    bool ok = failure == NULL && v != NULL && v->ok == o->devices && v->smdp_not_installed == 0;
    printf("verdict            %s%s%s\n", ok ? "SUCCESS" : "FAILED", failure ? ": " : "",
           failure ? failure : "");
    printf("look next:\n  eIM REST API       %s/api/v1/devices (Authorization: Bearer %s)\n",
           scenario_eim_url(s), scenario_api_key(s));
    printf("  logs and data      %s (rspkit.log, *.db, pki/)\n", o->dir);
    printf("  (the servers stopped with the demo; the folder stays for inspection)\n");
    return ok ? 0 : 1;
}

static int run(const demo_options *o)
{
    char log_path[300];
    mkdir(o->dir, 0700);
    snprintf(log_path, sizeof log_path, "%s/rspkit.log", o->dir);
    FILE *log = fopen(log_path, "a");
    if (log != NULL)
        log_set_output_file(log);
    printf("rspkit demo: %zu devices, working folder %s\n", o->devices, o->dir);
    double t0 = scenario_now();
    scenario_config config = {.devices = o->devices,
                              .work_dir = o->dir,
                              .package_path = o->package,
                              .poll_interval_ms = 2000,
                              .progress = stdout};
    scenario *s = NULL;
    rsp_error err = {0};
    rsp_status status = scenario_start(&config, &s, &err);
    if (status != RSP_OK) {
        printf("rspkit demo: set-up failed: %s\n", err.message);
        return 1;
    }
    scenario_outcome outcomes[2];
    memset(outcomes, 0, sizeof outcomes);
    static const char *const names[] = {"download + enable A (campaign)",
                                        "migration to B (one campaign)"};
    size_t done = 0;
    printf("[1] operators reserve one profile per device over ES2+\n");
    status = scenario_reserve(s, SCENARIO_OPERATOR_A, &err);
    if (status == RSP_OK)
        status = scenario_reserve(s, SCENARIO_OPERATOR_B, &err);
    if (status == RSP_OK) {
        printf("[2] fleet owner: download + enable operator A's profile on every device (one "
               "campaign)\n");
        status = scenario_provision(s, SCENARIO_OPERATOR_A, &outcomes[done++], &err);
    }
    if (status == RSP_OK) {
        printf("[3] migration campaign: everyone to operator B (download B, enable B with "
               "rollback, delete A: one chain per device)\n");
        status = scenario_migrate(s, SCENARIO_OPERATOR_A, SCENARIO_OPERATOR_B, 0.5,
                                  &outcomes[done++], &err);
    }
    scenario_verdict verdict;
    bool verified = false;
    if (status == RSP_OK) {
        printf("[4] checking every eUICC\n");
        /* let the last notifications reach their SM-DP+ */
        fleet_poll_all_now(scenario_fleet(s));
        for (int attempt = 0; attempt < 50; attempt++) {
            status = scenario_verify(s, SCENARIO_OPERATOR_B, SCENARIO_OPERATOR_A, &verdict, &err);
            if (status != RSP_OK || (verdict.ok == o->devices && verdict.smdp_not_installed == 0))
                break;
            usleep(200000);
        }
        verified = status == RSP_OK;
    }
    int rc = summary(s, o, outcomes, names, done, verified ? &verdict : NULL, scenario_now() - t0,
                     status == RSP_OK ? NULL : err.message);
    scenario_free(s);
    if (log != NULL) {
        log_set_output_file(stderr);
        fclose(log);
    }
    return rc;
}

int cli_demo(int argc, char **argv)
{
    demo_options options;
    memset(&options, 0, sizeof options);
    int rc = parse(argc, argv, &options);
    if (rc != 0)
        return rc;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    return run(&options);
}
