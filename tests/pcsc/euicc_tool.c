/* The `rspkit pki` and `rspkit euicc` commands in one small program, so the PC/SC end-to-end
 * test runs the real CLI code (cli/pki.c, cli/euicc.c) whether or not the rspkit binary has
 * the euicc command registered yet.
 *
 *   euicc_tool pki ...          same as rspkit pki ...
 *   euicc_tool euicc ...        same as rspkit euicc ...
 *   euicc_tool --free-port      prints a free TCP port on 127.0.0.1 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/commands.h"

int cli_euicc(int argc, char **argv);

static int print_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof address;
    if (fd < 0 || bind(fd, (struct sockaddr *)&address, sizeof address) != 0 ||
        getsockname(fd, (struct sockaddr *)&address, &len) != 0) {
        perror("euicc_tool: free port");
        return 1;
    }
    printf("%u\n", (unsigned)ntohs(address.sin_port));
    close(fd);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--free-port") == 0)
        return print_free_port();
    if (argc >= 2 && strcmp(argv[1], "pki") == 0)
        return cli_pki(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "euicc") == 0)
        return cli_euicc(argc - 1, argv + 1);
    fprintf(stderr, "usage: euicc_tool pki ... | euicc ... | --free-port\n");
    return 2;
}
