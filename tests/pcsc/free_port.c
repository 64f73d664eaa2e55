/* Prints a TCP port on 127.0.0.1 that is free right now, for pcscd's vpcd driver. The port is
 * drawn below the kernel's ephemeral range (32768-60999 on Linux): a port the kernel handed out
 * (port 0) could be handed again to another test's server or client before pcscd binds it. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FIRST_PORT 20000
#define PORT_SPAN  12000

static int try_port(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons((unsigned short)port);
    int ok = fd >= 0 && bind(fd, (struct sockaddr *)&address, sizeof address) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

int main(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    srand((unsigned)(now.tv_nsec ^ (long)getpid()));
    for (int attempt = 0; attempt < 200; attempt++) {
        unsigned port = FIRST_PORT + (unsigned)rand() % PORT_SPAN;
        if (try_port(port)) {
            printf("%u\n", port);
            return 0;
        }
    }
    fprintf(stderr, "free_port: no free port in %d-%d\n", FIRST_PORT, FIRST_PORT + PORT_SPAN);
    return 1;
}
