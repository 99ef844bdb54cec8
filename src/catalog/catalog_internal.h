/*
 * catalog_internal.h - what the files of src/catalog/ share beyond
 * boxoffice/catalog.h: the live layer the catalog was opened on.
 */
#ifndef BOXOFFICE_CATALOG_INTERNAL_H
#define BOXOFFICE_CATALOG_INTERNAL_H

#include "boxoffice/catalog.h"

/* The live layer c reads (bo_catalog_open's). */
bo_live_t *bo__catalog_live(bo_catalog_t *c);

#endif
