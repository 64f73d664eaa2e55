/* Fuzzes the Activation Code parser: any byte string is parsed or rejected; whatever parses
 * formats back to a string that parses to the same fields. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/activation_code.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[512];
    if (size >= sizeof text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    activation_code code, again;
    rsp_error err = {0};
    if (activation_code_parse(text, &code, &err) != RSP_OK)
        return 0;
    char formatted[ACTIVATION_CODE_MAX_LENGTH + 8];
    bool prefix = strncmp(text, "LPA:", 4) == 0;
    if (activation_code_format(&code, prefix, formatted, sizeof formatted, &err) != RSP_OK ||
        activation_code_parse(formatted, &again, &err) != RSP_OK ||
        strcmp(code.smdp_address, again.smdp_address) != 0 ||
        strcmp(code.matching_id, again.matching_id) != 0 ||
        code.has_smdp_oid != again.has_smdp_oid || strcmp(code.smdp_oid, again.smdp_oid) != 0 ||
        code.confirmation_code_required != again.confirmation_code_required)
        abort();
    return 0;
}
