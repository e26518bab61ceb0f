/* ensign daemon: the one clock of the process. DNSSEC and key logic never read time: the
 * daemon reads it here and passes `now` down. A test clock stands still until a test moves
 * it (Unbound's simulated time is the model), so a year of rollovers runs in seconds. */
#include <time.h>

#include "daemon/daemon_int.h"

void ens_clock_init(struct ens_clock *c, bool test, int64_t start)
{
    c->test = test;
    atomic_store(&c->t, start != 0 ? start : (int64_t)time(NULL));
}

int64_t ens_clock_now(const struct ens_clock *c)
{
    return c->test ? atomic_load(&((struct ens_clock *)c)->t) : (int64_t)time(NULL);
}

void ens_clock_set(struct ens_clock *c, int64_t t)
{
    if (t > atomic_load(&c->t)) {
        atomic_store(&c->t, t);
    }
}

int64_t ens_clock_now_ms(const struct ens_clock *c)
{
    if (c->test) {
        return atomic_load(&((struct ens_clock *)c)->t) * 1000;
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
