/* rspkit: one entry point, one file per subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

static const cli_command commands[] = {
    {"asn1", "decode and pretty-print GSMA messages (FILE or HEX)", cli_asn1},
    {"saip", "inspect SAIP profile packages", cli_saip},
    {"pki", "create a test PKI (CI, EUM, eUICCs, SM-DP+, eIM)", cli_pki},
    {"euicc", "run a software eUICC (socket, PC/SC via vpcd) and inspect its state", cli_euicc},
    {"smdp", "run the SM-DP+ (ES9+, ES2+), import profiles, list orders", cli_smdp},
    {"eim", "run the eIM (ESipa, REST API, campaigns) or call its REST API", cli_eim},
    {"ipa", "IoT Profile Assistant (SGP.32 IPAd): poll the eIM, run its orders", cli_ipa},
    {"fleet", "simulate N devices (eUICC + IPA each) against an eIM", cli_fleet},
    {"demo", "the whole system on loopback: migrate a fleet between two operators", cli_demo},
    {"bench", "run benchmarks and print figures against same-run references", cli_bench},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: rspkit COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "rspkit: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
