/*
 * main.c - the boxoffice command line: argument parsing and wiring only.
 *
 *   boxoffice venue-gen [options]     print a generated seat map (JSON)
 *   boxoffice venue-check FILE        validate a seat map, list every problem
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boxoffice/error.h"
#include "boxoffice/layout.h"

static void usage(FILE *f)
{
    fputs("usage: boxoffice COMMAND [OPTIONS]\n"
          "\n"
          "commands:\n"
          "  venue-gen     print a generated seat map as JSON\n"
          "      --name NAME          venue name (Generated Arena)\n"
          "      --sections N         sections around the stage (8)\n"
          "      --rows N             rows per section (20)\n"
          "      --seats N            seats per row (25)\n"
          "      --ga N               general-admission areas (1)\n"
          "      --ga-capacity N      capacity of each GA area (1000)\n"
          "      --categories N       price categories, 1-8 (4)\n"
          "      --aisle-every N      a gap every N seats in a row (0: none)\n"
          "  venue-check FILE   validate a seat map; print every problem with its path\n"
          "  help          this text\n",
          f);
}

static int parse_u32(const char *s, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *s == '\0' || *end != '\0' || *s == '-' || v > UINT32_MAX)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int cmd_venue_gen(int argc, char **argv)
{
    static const struct option opts[] = {{"name", required_argument, 0, 'n'},
                                         {"sections", required_argument, 0, 's'},
                                         {"rows", required_argument, 0, 'r'},
                                         {"seats", required_argument, 0, 'e'},
                                         {"ga", required_argument, 0, 'g'},
                                         {"ga-capacity", required_argument, 0, 'c'},
                                         {"categories", required_argument, 0, 'k'},
                                         {"aisle-every", required_argument, 0, 'a'},
                                         {0, 0, 0, 0}};
    bo_venue_gen_t g = {.sections = 8,
                        .rows = 20,
                        .seats = 25,
                        .ga_areas = 1,
                        .ga_capacity = 1000,
                        .categories = 4};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        uint32_t *dst = c == 's'   ? &g.sections
                        : c == 'r' ? &g.rows
                        : c == 'e' ? &g.seats
                        : c == 'g' ? &g.ga_areas
                        : c == 'c' ? &g.ga_capacity
                        : c == 'k' ? &g.categories
                        : c == 'a' ? &g.aisle_every
                                   : NULL;
        if (c == 'n') {
            g.name = optarg;
        } else if (!dst || parse_u32(optarg, dst)) {
            fprintf(stderr, "boxoffice venue-gen: bad option or value\n");
            return 2;
        }
    }
    size_t len;
    char *json = bo_venue_generate(&g, &len);
    if (!json) {
        fprintf(stderr, "boxoffice venue-gen: those numbers exceed the seat-map limits\n");
        return 2;
    }
    fwrite(json, 1, len, stdout);
    putchar('\n');
    free(json);
    return 0;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap && n <= BO_LAYOUT_MAX_BYTES) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
            }
            buf = nb;
            cap *= 2;
        }
    }
    if (f != stdin)
        fclose(f);
    *len = n;
    return buf;
}

static int cmd_venue_check(int argc, char **argv)
{
    if (argc != 2) {
        usage(stderr);
        return 2;
    }
    size_t len;
    char *json = read_file(argv[1], &len);
    if (!json) {
        fprintf(stderr, "boxoffice venue-check: cannot read %s: %s\n", argv[1], strerror(errno));
        return 2;
    }
    bo_problems_t probs = {0};
    bo_layout_t *l = NULL;
    int rc = bo_layout_parse(json, len, &l, &probs);
    free(json);
    if (rc == 0) {
        printf("ok: %u seats in %u sections, %u rows; %u GA areas; %u categories\n", l->nseats,
               l->nsections, l->nrows, l->nga, l->ncategories);
    } else {
        for (size_t i = 0; i < probs.n; i++)
            printf("%s\n", probs.items[i]);
        if (probs.total > probs.n)
            printf("... and %zu more problems\n", probs.total - probs.n);
        printf("invalid: %s\n", bo_strerror(rc));
    }
    bo_layout_free(l);
    bo_problems_free(&probs);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "venue-gen") == 0)
        return cmd_venue_gen(argc - 1, argv + 1);
    if (strcmp(argv[1], "venue-check") == 0)
        return cmd_venue_check(argc - 1, argv + 1);
    fprintf(stderr, "boxoffice: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
