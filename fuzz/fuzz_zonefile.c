/* ensign: libFuzzer target for the zone-file reader (ens_zfile_read_mem). $INCLUDE of a file
 * that does not exist fails like any other error, so inputs cannot reach beyond themselves
 * in a meaningful way. */
#include "dns/zonefile.h"

static int on_rr(void *ctx, const struct ens_rr *rr, const struct ens_zpos *pos)
{
    (void)ctx;
    (void)rr;
    (void)pos;
    return 0;
}

static void on_msg(void *ctx, enum ens_severity sev, const struct ens_zpos *pos, const char *msg)
{
    (void)ctx;
    (void)sev;
    (void)pos;
    (void)msg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t origin[] = {7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};
    struct ens_zfile_opts opts = {.origin = origin, .max_include_depth = 2, .max_errors = 1000};
    ens_zfile_read_mem("/nonexistent/fuzz.zone", (const char *)data, size, &opts, on_rr, on_msg,
                       NULL);
    return 0;
}
