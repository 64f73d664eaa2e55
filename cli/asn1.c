/* rspkit asn1: placeholder until the message registry lands; decodes raw TLV trees. */
#include <stdio.h>

#include "cli/commands.h"

int cli_asn1(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "rspkit asn1: not built yet\n");
    return 2;
}
