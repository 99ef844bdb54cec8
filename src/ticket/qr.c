/*
 * qr.c - QR codes as SVG (ticket.h), drawn by libqrencode. One image per
 * ticket page or e-mail: a ticket code gives a 49-module symbol and about
 * 8 KB of SVG, so a plain growing buffer is plenty. Each row's runs of
 * black modules become one rectangle of the single <path>, which keeps the
 * document a few times smaller than one rectangle per module.
 */
#include <errno.h>
#include <qrencode.h>
#include <stdlib.h>

#include "boxoffice/error.h"
#include "boxoffice/ticket.h"
#include "util/assert.h"
#include "util/strbuf.h"

#define QUIET 4 /* modules of white border on each side */

/* Black modules of row y as "M x y h n v1 h-n z" rectangles. */
static void put_row(bo_buf_t *b, const QRcode *qr, int y)
{
    BO_ASSERT(y >= 0 && y < qr->width);
    const unsigned char *row = qr->data + (size_t)y * (size_t)qr->width;
    for (int x = 0; x < qr->width;) {
        if (!(row[x] & 1)) {
            x++;
            continue;
        }
        int start = x;
        while (x < qr->width && (row[x] & 1))
            x++;
        bo_buf_printf(b, "M%d %dh%dv1h-%dz", start + QUIET, y + QUIET, x - start, x - start);
    }
}

int bo_ticket_qr_svg(const char *text, size_t len, char **svg, size_t *svg_len)
{
    BO_ASSERT(svg != NULL && svg_len != NULL);
    *svg = NULL;
    *svg_len = 0;
    if (!text || len == 0 || len > BO_TICKET_QR_TEXT_MAX)
        return BO_EINVAL;
    errno = 0;
    QRcode *qr = QRcode_encodeData((int)len, (const unsigned char *)text, 0, QR_ECLEVEL_M);
    if (!qr)
        return errno == ENOMEM ? BO_ENOMEM : BO_EINVAL;
    BO_ASSERT(qr->width >= 21 && qr->width <= 177); /* QR versions 1..40 */
    int side = qr->width + 2 * QUIET;
    bo_buf_t b;
    bo_buf_init(&b, 4096);
    bo_buf_printf(&b,
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
                  "shape-rendering=\"crispEdges\">"
                  "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path fill=\"#000\" d=\"",
                  side, side, side, side);
    for (int y = 0; y < qr->width; y++)
        put_row(&b, qr, y);
    bo_buf_puts(&b, "\"/></svg>\n");
    QRcode_free(qr);
    *svg = bo_buf_take(&b, svg_len);
    return *svg ? 0 : BO_ENOMEM;
}
