/* rspkit fleet: N simulated devices (software eUICC + IPA) in one process (fleet/fleet.h).
 *
 *   rspkit fleet --devices N --eim URL [--pki DIR] [--eim-id ID] [--poll-interval MS]
 *                [--jitter MS] [--drop RATE] [--delay MS] [--reboot-rate R] [--state-dir DIR]
 *                [--duration S] [--workers N] [--register-out FILE] [--fleet-id N]
 *   rspkit fleet --devices N --idle [--pki DIR] [--profile FILE] [--state-dir DIR]
 *
 * --register-out writes the devices as the eIM's POST /api/v1/devices body wants them. --idle
 * provisions the devices, installs one profile in each by copying an installed-profile record
 * (no download), and prints the resident memory per device. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"


#include "fleet/fleet.h"

#ifndef RSPKIT_SHARED_DIR
#define RSPKIT_SHARED_DIR "../shared"
#endif

static volatile sig_atomic_t stop_requested;

static void on_signal(int signal_number)
{
    (void)signal_number;
    stop_requested = 1;
}

typedef struct {
    fleet_config config;
    const char *eim_url;
    const char *profile;
    const char *register_out;
    double duration;
    bool idle;
    char fqdn[256];
} fleet_options;

static int usage(void)
{
    fprintf(
        stderr,
        "usage: rspkit fleet --devices N --eim URL [--pki DIR] [--eim-id ID]\n"
        "                    [--poll-interval MS] [--jitter MS] [--drop RATE] [--delay MS]\n"
        "                    [--reboot-rate R] [--state-dir DIR] [--duration S] [--workers N]\n"
        "                    [--register-out FILE] [--fleet-id N]\n"
        "       rspkit fleet --devices N --idle [--pki DIR] [--profile FILE] [--state-dir DIR]\n");
    return 2;
}

/* Resident set size of this process in bytes (/proc/self/statm). */
static size_t resident_bytes(void)
{
    FILE *in = fopen("/proc/self/statm", "r");
    unsigned long pages = 0, resident = 0;
    if (in != NULL) {
        if (fscanf(in, "%lu %lu", &pages, &resident) != 2)
            resident = 0;
        fclose(in);
    }
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

static int parse(int argc, char **argv, fleet_options *o)
{
    memset(o, 0, sizeof *o);
    o->config.pki_dir = "pki";
    o->config.eim_id = "eim.rspkit.test";
    o->config.fleet_id = 1;
    o->profile = RSPKIT_SHARED_DIR "/testdata/ts48/NoBERTLV.der";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = true;
        if (strcmp(a, "--idle") == 0) {
            o->idle = true;
            takes = false;
        } else if (v == NULL) {
            return usage();
        } else if (strcmp(a, "--devices") == 0) {
            o->config.devices = (size_t)strtoull(v, NULL, 10);
        } else if (strcmp(a, "--eim") == 0) {
            o->eim_url = v;
        } else if (strcmp(a, "--pki") == 0) {
            o->config.pki_dir = v;
        } else if (strcmp(a, "--eim-id") == 0) {
            o->config.eim_id = v;
        } else if (strcmp(a, "--poll-interval") == 0) {
            o->config.poll_interval_ms = (uint32_t)strtoul(v, NULL, 10);
        } else if (strcmp(a, "--jitter") == 0) {
            o->config.poll_jitter_ms = (uint32_t)strtoul(v, NULL, 10);
        } else if (strcmp(a, "--drop") == 0) {
            o->config.drop_rate = strtod(v, NULL);
        } else if (strcmp(a, "--delay") == 0) {
            o->config.delay_ms = (uint32_t)strtoul(v, NULL, 10);
        } else if (strcmp(a, "--reboot-rate") == 0) {
            o->config.reboot_rate = strtod(v, NULL);
        } else if (strcmp(a, "--state-dir") == 0) {
            o->config.state_dir = v;
        } else if (strcmp(a, "--duration") == 0) {
            o->duration = strtod(v, NULL);
        } else if (strcmp(a, "--workers") == 0) {
            o->config.workers = (unsigned)strtoul(v, NULL, 10);
        } else if (strcmp(a, "--register-out") == 0) {
            o->register_out = v;
        } else if (strcmp(a, "--fleet-id") == 0) {
            o->config.fleet_id = (unsigned)strtoul(v, NULL, 10);
        } else if (strcmp(a, "--profile") == 0) {
            o->profile = v;
        } else {
            return usage();
        }
        i += takes ? 1 : 0;
    }
    if (o->config.devices == 0 || (!o->idle && o->eim_url == NULL))
        return usage();
    if (o->eim_url != NULL) {
        /* https://host:port[/...] -> host:port, the eimFqdn the eUICCs get */
        const char *start = strstr(o->eim_url, "://");
        start = start != NULL ? start + 3 : o->eim_url;
        size_t len = strcspn(start, "/");
        snprintf(o->fqdn, sizeof o->fqdn, "%.*s", (int)len, start);
        o->config.eim_fqdn = o->fqdn;
    }
    return 0;
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *in = fopen(path, "rb");
    uint8_t *data = NULL;
    if (in == NULL)
        return NULL;
    if (fseek(in, 0, SEEK_END) == 0) {
        long size = ftell(in);
        rewind(in);
        data = size > 0 ? malloc((size_t)size) : NULL;
        if (data != NULL && fread(data, 1, (size_t)size, in) != (size_t)size) {
            free(data);
            data = NULL;
        }
        *len = data != NULL ? (size_t)size : 0;
    }
    fclose(in);
    return data;
}

static int run_idle(const fleet_options *o)
{
    size_t package_len = 0;
    uint8_t *package = read_file(o->profile, &package_len);
    if (package == NULL) {
        fprintf(stderr, "rspkit fleet: cannot read the profile package %s\n", o->profile);
        return 1;
    }
    size_t before = resident_bytes();
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    fleet *f = NULL;
    rsp_error err = {0};
    rsp_status status = fleet_new(&o->config, &f, &err);
    if (status == RSP_OK)
        status =
            fleet_install_profile_copies(f, der_view_make(package, package_len), "8944990", &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    free(package);
    if (status != RSP_OK) {
        fprintf(stderr, "rspkit fleet: %s\n", err.message);
        fleet_free(f);
        return 1;
    }
    size_t after = resident_bytes();
    size_t held = 0;
    for (size_t i = 0; i < fleet_size(f); i++)
        held += fleet_device_bytes(f, i);
    size_t n = fleet_size(f);
    double per_device = (double)(after - before) / (double)n;
    printf("idle fleet: %zu devices, each with one installed profile (%zu package bytes) in %s\n",
           n, package_len, o->config.state_dir != NULL ? "state files" : "memory");
    printf("provisioning: %.1f s (key, certificate, AddInitialEim, profile record)\n",
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    printf("resident memory: %.1f MiB in all, %.1f KiB per device (eUICC + IPA objects: %.1f "
           "KiB per device)\n",
           (double)(after - before) / 1048576.0, per_device / 1024.0,
           (double)held / (double)n / 1024.0);
    double projected = per_device * 100000.0 / 1073741824.0;
    printf("projected for 100,000 devices: %.2f GiB (budget 12 GiB: %s)\n", projected,
           projected <= 12.0 ? "PASS" : "FAIL");
    fleet_free(f);
    return projected <= 12.0 ? 0 : 1;
}

static int run_live(const fleet_options *o)
{
    fleet *f = NULL;
    rsp_error err = {0};
    rsp_status status = fleet_new(&o->config, &f, &err);
    if (status == RSP_OK && o->register_out != NULL) {
        char *json = NULL;
        status = fleet_registration_json(f, o->config.eim_id, 0, fleet_size(f), NULL, &json, &err);
        FILE *out = status == RSP_OK ? fopen(o->register_out, "w") : NULL;
        if (out != NULL) {
            fprintf(out, "{\"devices\":%s}\n", json);
            fclose(out);
            printf("registration body for POST /api/v1/devices written to %s\n", o->register_out);
        } else if (status == RSP_OK) {
            status = rsp_error_set(&err, RSP_ERR_IO, 0, 0, "cannot write %s", o->register_out);
        }
        free(json);
    }
    if (status == RSP_OK)
        status = fleet_start(f, &err);
    if (status != RSP_OK) {
        fprintf(stderr, "rspkit fleet: %s\n", err.message);
        fleet_free(f);
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    printf("fleet: %zu devices polling %s every %u ms\n", fleet_size(f), o->eim_url,
           o->config.poll_interval_ms != 0 ? o->config.poll_interval_ms : 1000u);
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    double elapsed = 0;
    while (!stop_requested && (o->duration <= 0 || elapsed < o->duration)) {
        sleep(1);
        clock_gettime(CLOCK_MONOTONIC, &now);
        elapsed = (double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
        fleet_stats st;
        fleet_get_stats(f, &st);
        printf("%6.0f s  polls %llu (failed %llu)  packages %llu  results %llu  notifications "
               "%llu  http %llu (dropped %llu)  reboots %llu\n",
               elapsed, (unsigned long long)st.polls, (unsigned long long)st.poll_failures,
               (unsigned long long)st.packages, (unsigned long long)st.results_delivered,
               (unsigned long long)st.notifications_sent, (unsigned long long)st.http_requests,
               (unsigned long long)st.http_dropped, (unsigned long long)st.reboots);
        fflush(stdout);
    }
    fleet_free(f);
    return 0;
}

int cli_fleet(int argc, char **argv)
{
    fleet_options options;
    int rc = parse(argc, argv, &options);
    if (rc != 0)
        return rc;
    signal(SIGPIPE, SIG_IGN);
    return options.idle ? run_idle(&options) : run_live(&options);
}
