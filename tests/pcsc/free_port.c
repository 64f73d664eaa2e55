/* Prints a TCP port on 127.0.0.1 that is free right now (the kernel picks it), so the PC/SC
 * test can give pcscd's vpcd driver a port no other test uses. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof address;
    if (fd < 0 || bind(fd, (struct sockaddr *)&address, sizeof address) != 0 ||
        getsockname(fd, (struct sockaddr *)&address, &len) != 0) {
        perror("free_port");
        return 1;
    }
    printf("%u\n", (unsigned)ntohs(address.sin_port));
    close(fd);
    return 0;
}
