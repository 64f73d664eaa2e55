/* Activation codes for imported and ordered profiles, as text and as QR code PNGs. The QR
 * matrix comes from libqrencode (which has no image output of its own), the PNG from libpng. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>
#include <qrencode.h>

#include "core/activation_code.h"
#include "smdp/server.h"

/* SGP.22 v2.5 section 4.1: "LPA:1$<SM-DP+ address>$<AC_Token>" */
rsp_status smdp_activation_code(const char *address, const char *matching_id, char *out,
                                size_t size, rsp_error *err)
{
    activation_code code;
    memset(&code, 0, sizeof code);
    if (snprintf(code.smdp_address, sizeof code.smdp_address, "%s", address) >=
            (int)sizeof code.smdp_address ||
        snprintf(code.matching_id, sizeof code.matching_id, "%s", matching_id) >=
            (int)sizeof code.matching_id)
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "activation code field too long");
    return activation_code_format(&code, true, out, size, err);
}

#define QR_QUIET_ZONE 4 /* modules of white border ISO/IEC 18004 asks for */

static rsp_status write_png(FILE *file, const QRcode *qr, unsigned scale, rsp_error *err)
{
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png != NULL ? png_create_info_struct(png) : NULL;
    size_t side = ((size_t)qr->width + 2 * QR_QUIET_ZONE) * scale;
    png_bytep row = malloc((side + 7) / 8);
    rsp_status st = RSP_OK;
    if (png == NULL || info == NULL || row == NULL) {
        st = rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "PNG writer");
        goto done;
    }
    if (setjmp(png_jmpbuf(png))) {
        st = rsp_error_set(err, RSP_ERR_IO, 0, 0, "PNG write failed");
        goto done;
    }
    png_init_io(png, file);
    /* 1-bit greyscale: 0 is black, 1 is white. */
    png_set_IHDR(png, info, (png_uint_32)side, (png_uint_32)side, 1, PNG_COLOR_TYPE_GRAY,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (size_t y = 0; y < side; y++) {
        memset(row, 0xFF, (side + 7) / 8);
        long module_y = (long)(y / scale) - QR_QUIET_ZONE;
        for (size_t x = 0; x < side; x++) {
            long module_x = (long)(x / scale) - QR_QUIET_ZONE;
            bool dark = module_x >= 0 && module_y >= 0 && module_x < qr->width &&
                        module_y < qr->width && (qr->data[module_y * qr->width + module_x] & 1);
            if (dark)
                row[x / 8] &= (png_byte) ~(0x80 >> (x % 8));
        }
        png_write_row(png, row);
    }
    png_write_end(png, NULL);
done:
    png_destroy_write_struct(png != NULL ? &png : NULL, info != NULL ? &info : NULL);
    free(row);
    return st;
}

rsp_status smdp_write_qr_png(const char *text, const char *path, unsigned scale, rsp_error *err)
{
    if (scale == 0)
        scale = 4;
    /* Level M, as for activation codes printed by operators; byte mode keeps '$' and ':'. */
    QRcode *qr = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M);
    if (qr == NULL)
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "QR encoding failed: %s",
                             strerror(errno));
    FILE *file = fopen(path, "wb");
    rsp_status st;
    if (file == NULL) {
        st = rsp_error_set(err, RSP_ERR_IO, 0, 0, "%s: %s", path, strerror(errno));
    } else {
        st = write_png(file, qr, scale, err);
        if (fclose(file) != 0 && st == RSP_OK)
            st = rsp_error_set(err, RSP_ERR_IO, 0, 0, "%s: %s", path, strerror(errno));
    }
    QRcode_free(qr);
    return st;
}
