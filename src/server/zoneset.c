/* ensign server: the immutable set of served zones (see answer.h).
 *
 * The set is an array of zone versions sorted by origin in canonical order (RFC 4034 §6.1), so
 * ens_zoneset_get is a binary search and ens_zoneset_find one binary search per ancestor of the
 * name (at most 128). */
#include "server/answer.h"

#include <stdlib.h>
#include <string.h>

struct ens_zoneset {
    struct ens_ztree **zones;
    size_t n, cap;
};

struct ens_zoneset *ens_zoneset_new(void)
{
    return calloc(1, sizeof(struct ens_zoneset));
}

/* Index of origin in zs, or the index where it would be inserted (*found false). */
static size_t zs_search(const struct ens_zoneset *zs, const uint8_t *origin, bool *found)
{
    size_t lo = 0, hi = zs->n;
    *found = false;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = ens_name_compare(ens_ztree_origin(zs->zones[mid]), origin);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static int zs_reserve(struct ens_zoneset *zs, size_t want)
{
    if (want <= zs->cap) {
        return 0;
    }
    size_t ncap = zs->cap ? zs->cap * 2 : 8;
    while (ncap < want) {
        ncap *= 2;
    }
    struct ens_ztree **nz = realloc(zs->zones, ncap * sizeof(*nz));
    if (!nz) {
        return ENS_ENOMEM;
    }
    zs->zones = nz;
    zs->cap = ncap;
    return 0;
}

int ens_zoneset_add(struct ens_zoneset *zs, struct ens_ztree *t)
{
    bool found;
    size_t i = zs_search(zs, ens_ztree_origin(t), &found);
    if (found) {
        return ENS_EEXIST;
    }
    if (zs_reserve(zs, zs->n + 1) != 0) {
        return ENS_ENOMEM;
    }
    memmove(zs->zones + i + 1, zs->zones + i, (zs->n - i) * sizeof(*zs->zones));
    zs->zones[i] = ens_ztree_ref(t);
    zs->n++;
    return 0;
}

struct ens_zoneset *ens_zoneset_replace(const struct ens_zoneset *zs, struct ens_ztree *t)
{
    struct ens_zoneset *nz = ens_zoneset_new();
    if (!nz) {
        return NULL;
    }
    if (zs_reserve(nz, zs->n + 1) != 0) {
        free(nz);
        return NULL;
    }
    bool found;
    size_t at = zs_search(zs, ens_ztree_origin(t), &found);
    for (size_t i = 0; i < zs->n; i++) {
        if (i == at && !found) {
            nz->zones[nz->n++] = ens_ztree_ref(t);
        }
        if (i == at && found) {
            nz->zones[nz->n++] = ens_ztree_ref(t);
        } else {
            nz->zones[nz->n++] = ens_ztree_ref(zs->zones[i]);
        }
    }
    if (at == zs->n && !found) {
        nz->zones[nz->n++] = ens_ztree_ref(t);
    }
    return nz;
}

const struct ens_ztree *ens_zoneset_get(const struct ens_zoneset *zs, const uint8_t *origin)
{
    bool found;
    size_t i = zs_search(zs, origin, &found);
    return found ? zs->zones[i] : NULL;
}

const struct ens_ztree *ens_zoneset_find(const struct ens_zoneset *zs, const uint8_t *name)
{
    for (const uint8_t *p = name; p; p = ens_name_parent(p)) {
        const struct ens_ztree *t = ens_zoneset_get(zs, p);
        if (t) {
            return t;
        }
    }
    return NULL;
}

size_t ens_zoneset_count(const struct ens_zoneset *zs)
{
    return zs->n;
}

void ens_zoneset_free(struct ens_zoneset *zs)
{
    if (!zs) {
        return;
    }
    for (size_t i = 0; i < zs->n; i++) {
        ens_ztree_free(zs->zones[i]);
    }
    free(zs->zones);
    free(zs);
}
