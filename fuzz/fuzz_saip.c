/* Fuzzes the SAIP profile package code: any input must be walked or rejected without touching
 * memory outside it; whatever walks must summarise, and personalisation must either fail
 * cleanly or produce a package of the same length that walks again. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/saip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    der_view package = der_view_make(data, size);
    rsp_error err = {0};
    size_t count = 0;
    if (saip_validate(package, &count, &err) != RSP_OK)
        return 0;

    saip_walker walker;
    saip_element element;
    saip_walker_init(&walker, package);
    while (saip_walker_next(&walker, &element, &err) == RSP_OK) {
        char summary[512];
        rsp_error summary_err = {0};
        saip_element_summary(&element, summary, sizeof summary, &summary_err);
    }

    saip_walker_init(&walker, package);
    if (saip_walker_next(&walker, &element, &err) == RSP_OK) {
        static uint8_t arena_buffer[16384];
        schema_arena arena;
        saip_header header;
        schema_arena_init(&arena, arena_buffer, sizeof arena_buffer);
        rsp_error header_err = {0};
        if (saip_header_decode(element.tlv.whole, &header, &arena, &header_err) == RSP_OK) {
            der_writer w;
            der_writer_init_dynamic(&w, NULL);
            if (schema_encode(&saip_header_type, &header, &w) != RSP_OK)
                abort(); /* a decoded header must always encode */
            der_writer_free(&w);
        }
    }

    saip_identity identity = {"8944999999999900023", "262019876543210"};
    der_writer out;
    rsp_error personalise_err = {0};
    der_writer_init_dynamic(&out, NULL);
    if (saip_personalise(package, &identity, &out, &personalise_err) == RSP_OK) {
        size_t again = 0;
        rsp_error again_err = {0};
        if (out.len != size || saip_validate(der_writer_view(&out), &again, &again_err) != RSP_OK ||
            again != count)
            abort();
    }
    der_writer_free(&out);
    return 0;
}
