#ifndef RSPKIT_CLI_COMMANDS_H
#define RSPKIT_CLI_COMMANDS_H

typedef struct {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
} cli_command;

int cli_asn1(int argc, char **argv);
int cli_saip(int argc, char **argv);
int cli_pki(int argc, char **argv);
int cli_euicc(int argc, char **argv);
int cli_smdp(int argc, char **argv);
int cli_ipa(int argc, char **argv);
int cli_eim(int argc, char **argv);
int cli_fleet(int argc, char **argv);
int cli_demo(int argc, char **argv);
int cli_bench(int argc, char **argv);

#endif
