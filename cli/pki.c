/* rspkit pki: create, extend, verify and inspect a GSMA-shaped test PKI. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "crypto/certificate.h"
#include "crypto/pki_generate.h"

static void pki_usage(FILE *out)
{
    fprintf(out, "usage: rspkit pki init DIR [--curve nist|brainpool|both] [--euiccs N]\n"
                 "                           [--eid-prefix DIGITS] [--force]\n"
                 "       rspkit pki euicc DIR --count N\n"
                 "       rspkit pki verify DIR [--time UNIX_SECONDS | --no-clock]\n"
                 "       rspkit pki show CERT\n");
}

static int report_error(const char *what, const rsp_error *err)
{
    fprintf(stderr, "rspkit pki %s: %s (%s)\n", what, err->message, rsp_status_name(err->code));
    return 1;
}

static bool parse_count(const char *text, unsigned *out)
{
    char *end = NULL;
    unsigned long value = strtoul(text, &end, 10);
    if (text[0] == '\0' || text[0] == '-' || *end != '\0' || value > 100000)
        return false;
    *out = (unsigned)value;
    return true;
}

static bool parse_curve(const char *text, unsigned *curves)
{
    if (strcmp(text, "nist") == 0)
        *curves = RSP_PKI_CURVE_NIST;
    else if (strcmp(text, "brainpool") == 0)
        *curves = RSP_PKI_CURVE_BRAINPOOL;
    else if (strcmp(text, "both") == 0)
        *curves = RSP_PKI_CURVE_BOTH;
    else
        return false;
    return true;
}

static int pki_init(int argc, char **argv)
{
    rsp_pki_options options = {.curves = RSP_PKI_CURVE_BOTH, .euicc_count = 1};
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        bool has_value = i + 1 < argc;
        if (strcmp(argv[i], "--curve") == 0 && has_value &&
            parse_curve(argv[i + 1], &options.curves))
            i++;
        else if (strcmp(argv[i], "--euiccs") == 0 && has_value &&
                 parse_count(argv[i + 1], &options.euicc_count))
            i++;
        else if (strcmp(argv[i], "--eid-prefix") == 0 && has_value)
            options.eid_prefix = argv[++i];
        else if (strcmp(argv[i], "--force") == 0)
            options.force = true;
        else if (argv[i][0] != '-' && dir == NULL)
            dir = argv[i];
        else
            return pki_usage(stderr), 2;
    }
    if (dir == NULL)
        return pki_usage(stderr), 2;
    rsp_error err = {0};
    if (rsp_pki_init(dir, &options, &err) != RSP_OK)
        return report_error("init", &err);
    printf("test PKI created in %s (%u eUICC%s); index in %s/README.txt\n", dir,
           options.euicc_count, options.euicc_count == 1 ? "" : "s", dir);
    return 0;
}

static int pki_euicc(int argc, char **argv)
{
    const char *dir = NULL;
    unsigned count = 0;
    bool counted = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--count") == 0 && i + 1 < argc && parse_count(argv[i + 1], &count)) {
            counted = true;
            i++;
        } else if (argv[i][0] != '-' && dir == NULL) {
            dir = argv[i];
        } else {
            return pki_usage(stderr), 2;
        }
    }
    if (dir == NULL || !counted)
        return pki_usage(stderr), 2;
    rsp_error err = {0};
    if (rsp_pki_add_euiccs(dir, count, 0, &err) != RSP_OK)
        return report_error("euicc", &err);
    printf("%u eUICC%s added to %s (see %s/eids.txt)\n", count, count == 1 ? "" : "s", dir, dir);
    return 0;
}

static void print_verdict(void *context, const char *relative_path, rsp_cert_role role,
                          rsp_status status, const char *message)
{
    (void)context;
    printf("%-4s %-56s %-8s %s\n", status == RSP_OK ? "OK" : "FAIL", relative_path,
           rsp_cert_role_name(role), status == RSP_OK ? "" : message);
}

static int pki_verify(int argc, char **argv)
{
    const char *dir = NULL;
    time_t now = time(NULL);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--time") == 0 && i + 1 < argc) {
            char *end = NULL;
            long long value = strtoll(argv[++i], &end, 10);
            if (*end != '\0' || value <= 0)
                return pki_usage(stderr), 2;
            now = (time_t)value;
        } else if (strcmp(argv[i], "--no-clock") == 0) {
            now = 0;
        } else if (argv[i][0] != '-' && dir == NULL) {
            dir = argv[i];
        } else {
            return pki_usage(stderr), 2;
        }
    }
    if (dir == NULL)
        return pki_usage(stderr), 2;
    rsp_error err = {0};
    unsigned failures = 0;
    rsp_status status = rsp_pki_verify(dir, now, print_verdict, NULL, &failures, &err);
    if (status != RSP_OK)
        return report_error("verify", &err);
    printf("all certificates verified\n");
    return 0;
}

static int pki_show(int argc, char **argv)
{
    if (argc != 2)
        return pki_usage(stderr), 2;
    rsp_error err = {0};
    rsp_certificate *cert = NULL;
    if (rsp_certificate_load_file(argv[1], &cert, &err) != RSP_OK)
        return report_error("show", &err);
    printf("%s\n", argv[1]);
    rsp_certificate_describe(cert, stdout);
    rsp_cert_role role = rsp_certificate_role(cert);
    if (role != RSP_CERT_ROLE_UNKNOWN) {
        rsp_error profile_err = {0};
        rsp_status status = rsp_certificate_check_role(cert, role, &profile_err);
        printf("  %-18s %s\n", "profile check", status == RSP_OK ? "ok" : profile_err.message);
    }
    rsp_certificate_free(cert);
    return 0;
}

int cli_pki(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        pki_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "init") == 0)
        return pki_init(argc - 1, argv + 1);
    if (strcmp(argv[1], "euicc") == 0)
        return pki_euicc(argc - 1, argv + 1);
    if (strcmp(argv[1], "verify") == 0)
        return pki_verify(argc - 1, argv + 1);
    if (strcmp(argv[1], "show") == 0)
        return pki_show(argc - 1, argv + 1);
    fprintf(stderr, "rspkit pki: unknown subcommand '%s'\n", argv[1]);
    pki_usage(stderr);
    return 2;
}
