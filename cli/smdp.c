/* rspkit smdp: run the SM-DP+ (serve), load profile packages into its inventory (import) and
 * list the inventory with activation codes (orders). docs/smdp.md describes the options and
 * the configuration file. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "core/log.h"
#include "smdp/server.h"

#define DEFAULT_OPERATOR "default"

typedef struct {
    const char *config_file;
    const char *pki;
    const char *listen;
    const char *database;
    const char *address;
    const char *operator_id;
    const char *qr_dir;
    bool no_qr;
    bool no_order;
    unsigned long count;
    const char *files[256];
    size_t file_count;
} options;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rspkit smdp serve --config FILE\n"
            "       rspkit smdp serve --pki DIR [--listen HOST:PORT] [--db URL] [--address A]\n"
            "       rspkit smdp import [--config FILE | --pki DIR] [--db URL] [--address A]\n"
            "                          [--operator ID] [--count N] [--no-order] [--qr-dir DIR |"
            " --no-qr] FILE...\n"
            "       rspkit smdp orders [--config FILE] [--db URL] [--operator ID] [--address A]\n");
}

static int parse_options(int argc, char **argv, options *opt)
{
    memset(opt, 0, sizeof *opt);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char **target = NULL;
        if (strcmp(arg, "--config") == 0)
            target = &opt->config_file;
        else if (strcmp(arg, "--pki") == 0)
            target = &opt->pki;
        else if (strcmp(arg, "--listen") == 0)
            target = &opt->listen;
        else if (strcmp(arg, "--db") == 0)
            target = &opt->database;
        else if (strcmp(arg, "--address") == 0)
            target = &opt->address;
        else if (strcmp(arg, "--operator") == 0)
            target = &opt->operator_id;
        else if (strcmp(arg, "--qr-dir") == 0)
            target = &opt->qr_dir;
        if (target != NULL) {
            if (i + 1 >= argc) {
                fprintf(stderr, "rspkit smdp: %s needs a value\n", arg);
                return 2;
            }
            *target = argv[++i];
        } else if (strcmp(arg, "--count") == 0 && i + 1 < argc) {
            char *end = NULL;
            opt->count = strtoul(argv[++i], &end, 10);
            if (end == argv[i] || *end != '\0' || opt->count == 0 || opt->count > 1000000) {
                fprintf(stderr, "rspkit smdp: --count takes 1..1000000\n");
                return 2;
            }
        } else if (strcmp(arg, "--no-qr") == 0) {
            opt->no_qr = true;
        } else if (strcmp(arg, "--no-order") == 0) {
            opt->no_order = true;
        } else if (arg[0] == '-' && arg[1] != '\0') {
            fprintf(stderr, "rspkit smdp: unknown option %s\n", arg);
            return 2;
        } else if (opt->file_count < sizeof opt->files / sizeof opt->files[0]) {
            opt->files[opt->file_count++] = arg;
        } else {
            fprintf(stderr, "rspkit smdp: too many files\n");
            return 2;
        }
    }
    return 0;
}

/* Configuration from --config, else the zero-config defaults with --pki; command-line options
 * override either. */
static int build_config(const options *opt, bool need_credentials, smdp_config *config)
{
    rsp_error err = {0};
    smdp_config_init(config);
    if (opt->config_file != NULL && smdp_config_load_file(opt->config_file, config, &err) != 0) {
        fprintf(stderr, "rspkit smdp: %s: %s\n", opt->config_file, err.message);
        return 1;
    }
    if (opt->pki != NULL && smdp_config_use_pki(config, opt->pki, &err) != RSP_OK) {
        fprintf(stderr, "rspkit smdp: %s\n", err.message);
        return 1;
    }
    if (need_credentials && opt->config_file == NULL && opt->pki == NULL) {
        fprintf(stderr, "rspkit smdp: give --config FILE or --pki DIR\n");
        return 2;
    }
    if (opt->listen != NULL)
        snprintf(config->listen, sizeof config->listen, "%s", opt->listen);
    if (opt->database != NULL)
        snprintf(config->database, sizeof config->database, "%s", opt->database);
    if (opt->address != NULL)
        snprintf(config->address, sizeof config->address, "%s", opt->address);
    return 0;
}

/* The address activation codes carry: configured, else localhost and the listening port. */
static void activation_address(const smdp_config *config, char *out, size_t size)
{
    if (config->address[0] != '\0') {
        snprintf(out, size, "%s", config->address);
        return;
    }
    const char *colon = strrchr(config->listen, ':');
    snprintf(out, size, "localhost:%s", colon != NULL ? colon + 1 : "8443");
}

/* ---- serve ---- */

static int serve(const options *opt)
{
    smdp_config config;
    int rc = build_config(opt, true, &config);
    if (rc != 0)
        return rc;
    /* SIGINT / SIGTERM end the server gracefully: block them in every thread, wait here. */
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    rsp_error err = {0};
    smdp_server *server = smdp_server_new(&config, &err);
    if (server == NULL || smdp_server_start(server, &err) != RSP_OK) {
        fprintf(stderr, "rspkit smdp serve: %s\n", err.message);
        smdp_server_free(server);
        return 1;
    }
    fprintf(stderr, "rspkit smdp: serving ES9+ and ES2+ on https://%s (SM-DP+ address %s)\n",
            config.listen, smdp_server_address(server));
    int received = 0;
    sigwait(&signals, &received);
    LOG_INFO("smdp", "stopping", LOG_STR("signal", received == SIGINT ? "SIGINT" : "SIGTERM"));
    smdp_server_stop(server, 5000);
    smdp_server_free(server);
    return 0;
}

/* ---- import and orders ---- */

typedef struct {
    smdp_config config;
    store *st;
    smdp_inventory inventory;
    char address[256];
} offline;

static int offline_open(const options *opt, offline *o)
{
    int rc = build_config(opt, false, &o->config);
    if (rc != 0)
        return rc;
    rsp_error err = {0};
    store_options store_opts = {.pool_size = 1, .borrow_timeout_ms = 10000};
    if (store_open(o->config.database, &store_opts, &o->st, &err) != RSP_OK ||
        smdp_storage_migrate(o->st, &err) != RSP_OK) {
        fprintf(stderr, "rspkit smdp: database %s: %s\n", o->config.database, err.message);
        if (o->st != NULL)
            store_close(o->st);
        return 1;
    }
    activation_address(&o->config, o->address, sizeof o->address);
    o->inventory =
        (smdp_inventory){.store = o->st,
                         .operators = o->config.operators,
                         .operator_count = o->config.operator_count,
                         .confirmation_code_max_attempts = o->config.confirmation_code_attempts,
                         .download_max_attempts = o->config.download_attempts};
    snprintf(o->inventory.smdp_address, sizeof o->inventory.smdp_address, "%s", o->address);
    return 0;
}

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *file = fopen(path, "rb");
    if (file == NULL)
        return NULL;
    size_t capacity = 65536, used = 0;
    uint8_t *data = malloc(capacity);
    while (data != NULL) {
        used += fread(data + used, 1, capacity - used, file);
        if (used < capacity)
            break;
        uint8_t *bigger = realloc(data, capacity * 2);
        if (bigger == NULL) {
            free(data);
            data = NULL;
        } else {
            data = bigger;
            capacity *= 2;
        }
    }
    fclose(file);
    *len = used;
    return data;
}

/* Imports one package (copy `index` when personalising) and, unless --no-order, releases an
 * order for it and prints its activation code. Returns 0 or 1. */
static int import_one(offline *o, const options *opt, const char *operator_id,
                      const uint8_t *package, size_t len, bool personalise, uint64_t index,
                      const char *path)
{
    rsp_error err = {0};
    uint8_t *copy = NULL;
    size_t copy_len = 0;
    char iccid[SMDP_ICCID_SIZE];
    if (personalise &&
        smdp_personalise_copy(package, len, index, &copy, &copy_len, &err) != RSP_OK) {
        fprintf(stderr, "%s: copy %llu: %s\n", path, (unsigned long long)index, err.message);
        return 1;
    }
    rsp_status st = smdp_inventory_import(&o->inventory, operator_id, personalise ? copy : package,
                                          personalise ? copy_len : len, iccid, &err);
    free(copy);
    if (st != RSP_OK) {
        fprintf(stderr, "%s: %s\n", path, err.message);
        return 1;
    }
    if (opt->no_order) {
        printf("%s\tavailable\n", iccid);
        return 0;
    }
    char got[SMDP_ICCID_SIZE];
    smdp_download_order order = {.operator_id = operator_id, .iccid = iccid};
    smdp_confirm_order confirm = {.operator_id = operator_id, .iccid = iccid, .release = true};
    smdp_confirm_result result;
    smdp_status status = smdp_order_download(&o->inventory, &order, got, &err);
    if (status == SMDP_STATUS_OK)
        status = smdp_order_confirm(&o->inventory, &confirm, &result, &err);
    char code[300];
    if (status != SMDP_STATUS_OK ||
        smdp_activation_code(o->address, result.matching_id, code, sizeof code, &err) != RSP_OK) {
        fprintf(stderr, "%s: order for %s: %s\n", path, iccid,
                status != SMDP_STATUS_OK ? smdp_status_code(status)->message : err.message);
        return 1;
    }
    printf("%s\t%s\n", iccid, code);
    if (!opt->no_qr) {
        char png[SMDP_PATH_MAX];
        snprintf(png, sizeof png, "%s/%s.png", opt->qr_dir != NULL ? opt->qr_dir : ".", iccid);
        if (smdp_write_qr_png(code, png, 6, &err) != RSP_OK) {
            fprintf(stderr, "%s: %s\n", png, err.message);
            return 1;
        }
    }
    return 0;
}

static int import(const options *opt)
{
    if (opt->file_count == 0) {
        usage(stderr);
        return 2;
    }
    offline o;
    int rc = offline_open(opt, &o);
    if (rc != 0)
        return rc;
    const char *operator_id = opt->operator_id;
    if (operator_id == NULL)
        operator_id = o.config.operator_count > 0 ? o.config.operators[0].id : DEFAULT_OPERATOR;
    int failures = 0;
    for (size_t f = 0; f < opt->file_count; f++) {
        size_t len = 0;
        uint8_t *package = read_all(opt->files[f], &len);
        if (package == NULL) {
            fprintf(stderr, "%s: %s\n", opt->files[f], strerror(errno));
            failures++;
            continue;
        }
        unsigned long copies = opt->count > 0 ? opt->count : 1;
        for (unsigned long i = 0; i < copies; i++)
            failures +=
                import_one(&o, opt, operator_id, package, len, opt->count > 0, i, opt->files[f]);
        free(package);
    }
    store_close(o.st);
    return failures > 0 ? 1 : 0;
}

typedef struct {
    const char *address;
} list_context;

static void print_profile(const smdp_profile_info *profile, void *user)
{
    const list_context *ctx = user;
    char code[300] = "-";
    rsp_error err = {0};
    if (profile->matching_id[0] != '\0')
        smdp_activation_code(ctx->address, profile->matching_id, code, sizeof code, &err);
    printf("%-20s %-12s %-11s %-32s %s%s\n", profile->iccid, profile->operator_id,
           smdp_profile_state_name(profile->state), profile->eid[0] != '\0' ? profile->eid : "-",
           code, profile->blocked ? " (blocked: confirmation code retries)" : "");
}

static int orders(const options *opt)
{
    offline o;
    int rc = offline_open(opt, &o);
    if (rc != 0)
        return rc;
    printf("%-20s %-12s %-11s %-32s %s\n", "ICCID", "OPERATOR", "STATE", "EID", "ACTIVATION CODE");
    list_context ctx = {o.address};
    rsp_error err = {0};
    rsp_status st = smdp_inventory_list(&o.inventory, opt->operator_id, print_profile, &ctx, &err);
    if (st != RSP_OK)
        fprintf(stderr, "rspkit smdp orders: %s\n", err.message);
    store_close(o.st);
    return st == RSP_OK ? 0 : 1;
}

int cli_smdp(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    options opt;
    int rc = parse_options(argc - 1, argv + 1, &opt);
    if (rc != 0)
        return rc;
    if (strcmp(argv[1], "serve") == 0)
        return opt.file_count == 0 ? serve(&opt) : (usage(stderr), 2);
    if (strcmp(argv[1], "import") == 0)
        return import(&opt);
    if (strcmp(argv[1], "orders") == 0)
        return orders(&opt);
    fprintf(stderr, "rspkit smdp: unknown subcommand '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
