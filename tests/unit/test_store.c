/* The SQLite store: migrations and reopening, refusal of newer or foreign databases, every
 * typed function, transactions (rollback leaves nothing, a failed step undoes only itself),
 * cascades on zone delete, pagination, token lookup by hash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ftw.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "keys/keys.h"
#include "store/store.h"

struct fixture {
    char dir[64];
    char db[96];
    struct ens_store *st;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/ens-store-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    /* The store creates its directory itself: use a child of the temporary one. */
    strncat(f->dir, "/data", sizeof(f->dir) - strlen(f->dir) - 1);
    snprintf(f->db, sizeof(f->db), "%s/ensign.db", f->dir);
    char err[256];
    assert_int_equal(ens_store_open(f->dir, &f->st, err, sizeof(err)), 0);
    *state = f;
    return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    ens_store_close(f->st);
    char *slash = strrchr(f->dir, '/');
    *slash = '\0';
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static const uint8_t *wire(const char *text, uint8_t buf[ENS_NAME_MAXLEN])
{
    size_t len;
    assert_int_equal(ens_name_from_text(text, strlen(text), NULL, buf, &len), 0);
    return buf;
}

/* Counts rows with a second, plain SQLite connection (what another process would see). */
static long long count_rows(const struct fixture *f, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    long long n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
}

static void exec_raw(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void make_zone(struct ens_store *st, const char *name)
{
    struct ens_store_zone z;
    ens_store_zone_init(&z, name);
    assert_int_equal(ens_store_zone_create(st, &z, 1000), 0);
}

/* Replaces an RRset of TXT-like records whose rdata are the given strings. */
static int put_rrset(struct ens_store *st, const char *zone, const char *owner, uint16_t type,
                     uint32_t ttl, const char *const *rd, size_t n)
{
    uint8_t ow[ENS_NAME_MAXLEN];
    struct ens_store_rdata r[8];
    assert_true(n <= 8);
    for (size_t i = 0; i < n; i++) {
        r[i].data = (const uint8_t *)rd[i];
        r[i].len = (uint16_t)strlen(rd[i]);
        r[i].disabled = false;
    }
    struct ens_store_rrset rs = {wire(owner, ow), type, ttl, n, r};
    return ens_store_rrset_replace(st, zone, &rs);
}

/* ---- opening and migrations ---- */

static void test_store_open_creates_schema_with_private_modes(void **state)
{
    struct fixture *f = *state;
    int v = 0;
    assert_int_equal(ens_store_schema_version(f->st, &v), 0);
    assert_int_equal(v, ENS_STORE_SCHEMA_VERSION);
    struct stat sb;
    assert_int_equal(stat(f->dir, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    assert_int_equal(stat(f->db, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM schema_version"),
                     ENS_STORE_SCHEMA_VERSION);
    struct ens_store_policy p;
    assert_int_equal(ens_store_policy_get(f->st, ENS_STORE_DEFAULT_POLICY, &p), 0);
    assert_int_equal(p.algorithm, ENS_ALG_ECDSAP256SHA256);
    assert_true(p.csk);
    assert_int_equal(p.zsk_lifetime, 90 * 86400);
    assert_int_equal(ens_store_check(f->st), 0);
}

static void test_store_reopen_keeps_data_and_applies_nothing_twice(void **state)
{
    struct fixture *f = *state;
    make_zone(f->st, "example.com");
    ens_store_close(f->st);
    f->st = NULL;
    char err[256];
    assert_int_equal(ens_store_open(f->dir, &f->st, err, sizeof(err)), 0);
    struct ens_store_zone z;
    assert_int_equal(ens_store_zone_get(f->st, "example.com.", &z), 0);
    assert_string_equal(z.name, "example.com.");
    assert_int_equal(count_rows(f, "SELECT count(*) FROM schema_version"),
                     ENS_STORE_SCHEMA_VERSION);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM policies"), 1);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM pragma_journal_mode WHERE "
                                   "journal_mode = 'wal'"),
                     1);
}

static void test_store_refuses_newer_schema(void **state)
{
    struct fixture *f = *state;
    ens_store_close(f->st);
    f->st = NULL;
    exec_raw(f->db, "INSERT INTO schema_version VALUES (999, 'from the future')");
    char err[256] = "";
    assert_int_equal(ens_store_open(f->dir, &f->st, err, sizeof(err)), ENS_EINVAL);
    assert_null(f->st);
    assert_non_null(strstr(err, "999"));
    assert_non_null(strstr(err, "newer"));
    /* Nothing was changed by the refusal. */
    assert_int_equal(count_rows(f, "SELECT max(version) FROM schema_version"), 999);
}

static void test_store_refuses_foreign_database(void **state)
{
    struct fixture *f = *state;
    char dir[128], path[160], err[256] = "";
    snprintf(dir, sizeof(dir), "%s/../other", f->dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(path, sizeof(path), "%s/ensign.db", dir);
    exec_raw(path, "CREATE TABLE t (x)");
    struct ens_store *st = NULL;
    assert_int_equal(ens_store_open(dir, &st, err, sizeof(err)), ENS_EINVAL);
    assert_null(st);
    assert_non_null(strstr(err, "not an ensign database"));
}

static void test_store_open_fails_on_file_as_directory(void **state)
{
    struct fixture *f = *state;
    char err[256] = "";
    struct ens_store *st = NULL;
    assert_int_not_equal(ens_store_open(f->db, &st, err, sizeof(err)), 0);
    assert_null(st);
    assert_true(err[0] != '\0');
}

/* ---- zones ---- */

static void test_store_zone_create_get_update_delete(void **state)
{
    struct fixture *f = *state;
    struct ens_store_zone z;
    ens_store_zone_init(&z, "Example.COM");
    z.kind = ENS_STORE_MASTER;
    assert_int_equal(ens_store_zone_create(f->st, &z, 1000), 0);
    assert_string_equal(z.name, "example.com.");
    assert_true(z.id > 0);
    ens_store_zone_init(&z, "example.com.");
    assert_int_equal(ens_store_zone_create(f->st, &z, 1001), ENS_EEXIST);
    assert_non_null(strstr(ens_store_error(f->st), "already exists"));
    ens_store_zone_init(&z, "bad..name");
    assert_int_equal(ens_store_zone_create(f->st, &z, 1001), ENS_EINVAL);

    struct ens_store_zone g;
    assert_int_equal(ens_store_zone_get(f->st, "EXAMPLE.com", &g), 0);
    assert_int_equal(g.kind, ENS_STORE_MASTER);
    assert_int_equal(g.serial_policy, ENS_STORE_SERIAL_INCREMENT);
    assert_true(g.nsec3);
    assert_string_equal(g.policy, "");
    assert_int_equal(g.created, 1000);

    g.serial = 4000000000u;
    g.dnssec = true;
    g.nsec3 = false;
    g.serial_policy = ENS_STORE_SERIAL_DATESERIAL;
    snprintf(g.policy, sizeof(g.policy), "%s", ENS_STORE_DEFAULT_POLICY);
    snprintf(g.nsec3_salt, sizeof(g.nsec3_salt), "ABCD");
    snprintf(g.parent_servers, sizeof(g.parent_servers), "192.0.2.1 [2001:db8::1]:5353");
    assert_int_equal(ens_store_zone_update(f->st, &g, 2000), 0);
    struct ens_store_zone h;
    assert_int_equal(ens_store_zone_get(f->st, "example.com", &h), 0);
    assert_int_equal(h.serial, 4000000000u);
    assert_true(h.dnssec);
    assert_false(h.nsec3);
    assert_int_equal(h.serial_policy, ENS_STORE_SERIAL_DATESERIAL);
    assert_string_equal(h.policy, "default");
    assert_string_equal(h.nsec3_salt, "ABCD");
    assert_string_equal(h.parent_servers, "192.0.2.1 [2001:db8::1]:5353");
    assert_int_equal(h.created, 1000);
    assert_int_equal(h.updated, 2000);

    snprintf(h.policy, sizeof(h.policy), "nope");
    assert_int_equal(ens_store_zone_update(f->st, &h, 3000), ENS_ENOENT);
    snprintf(h.policy, sizeof(h.policy), "default");
    snprintf(h.nsec3_salt, sizeof(h.nsec3_salt), "xyz");
    assert_int_equal(ens_store_zone_update(f->st, &h, 3000), ENS_EINVAL);

    assert_int_equal(ens_store_zone_delete(f->st, "example.com"), 0);
    assert_int_equal(ens_store_zone_get(f->st, "example.com", &h), ENS_ENOENT);
    assert_int_equal(ens_store_zone_delete(f->st, "example.com"), ENS_ENOENT);
    ens_store_zone_init(&h, "example.com");
    assert_int_equal(ens_store_zone_update(f->st, &h, 3000), ENS_ENOENT);
}

struct names {
    char name[40][64];
    size_t n;
};

static int collect_zone(void *ctx, const struct ens_store_zone *z)
{
    struct names *n = ctx;
    assert_true(n->n < 40);
    snprintf(n->name[n->n++], 64, "%.63s", z->name);
    return 0;
}

static void test_store_zone_list_pages_by_name(void **state)
{
    struct fixture *f = *state;
    for (int i = 24; i >= 0; i--) {
        char name[32];
        snprintf(name, sizeof(name), "z%02d.test", i);
        make_zone(f->st, name);
    }
    struct names all = {0};
    char after[ENS_STORE_NAME_MAX] = "";
    bool more = true;
    size_t pages = 0;
    while (more) {
        size_t before = all.n;
        assert_int_equal(ens_store_zone_list(f->st, after, 10, &more, collect_zone, &all), 0);
        assert_true(all.n > before);
        snprintf(after, sizeof(after), "%s", all.name[all.n - 1]);
        pages++;
    }
    assert_int_equal(pages, 3);
    assert_int_equal(all.n, 25);
    for (size_t i = 0; i < 25; i++) {
        char want[32];
        snprintf(want, sizeof(want), "z%02zu.test.", i);
        assert_string_equal(all.name[i], want);
    }
    struct names one = {0};
    assert_int_equal(ens_store_zone_list(f->st, "z23.test", 0, &more, collect_zone, &one), 0);
    assert_int_equal(one.n, 1);
    assert_false(more);
    assert_string_equal(one.name[0], "z24.test.");
}

/* ---- records ---- */

struct rrlist {
    char text[16][128];
    size_t n;
};

static int collect_rrset(void *ctx, const struct ens_store_rrset *rs)
{
    struct rrlist *l = ctx;
    struct ens_str s = {0};
    ens_name_to_text(rs->owner, &s);
    ens_str_printf(&s, " %u %u", rs->type, rs->ttl);
    for (size_t i = 0; i < rs->count; i++) {
        ens_str_printf(&s, " %s%.*s", rs->rdata[i].disabled ? "!" : "", (int)rs->rdata[i].len,
                       (const char *)rs->rdata[i].data);
    }
    assert_true(l->n < 16);
    snprintf(l->text[l->n++], 128, "%s", s.s);
    ens_str_clear(&s);
    return 0;
}

static void test_store_rrset_replace_list_filter_delete(void **state)
{
    struct fixture *f = *state;
    make_zone(f->st, "example.com");
    static const char *const two[] = {"bbb", "aaa"};
    static const char *const one[] = {"ccc"};
    assert_int_equal(put_rrset(f->st, "example.com", "www.example.com.", ENS_T_TXT, 300, two, 2),
                     0);
    assert_int_equal(put_rrset(f->st, "example.com", "example.com.", ENS_T_TXT, 60, one, 1), 0);
    assert_int_equal(put_rrset(f->st, "example.com", "WWW.example.com.", ENS_T_A, 300, one, 1), 0);
    struct rrlist l = {0};
    assert_int_equal(ens_store_rrset_list(f->st, "example.com", NULL, collect_rrset, &l), 0);
    assert_int_equal(l.n, 3);
    /* Canonical order: apex first, then www; types in number order; rdata in byte order. */
    assert_string_equal(l.text[0], "example.com. 16 60 ccc");
    assert_string_equal(l.text[1], "WWW.example.com. 1 300 ccc");
    assert_string_equal(l.text[2], "www.example.com. 16 300 aaa bbb");

    /* Replacing changes the records and TTL; the owner filter ignores case. */
    assert_int_equal(put_rrset(f->st, "example.com", "www.example.com.", ENS_T_TXT, 30, one, 1), 0);
    uint8_t ow[ENS_NAME_MAXLEN];
    struct ens_store_rrfilter flt = {.owner = wire("Www.Example.Com.", ow), .type = ENS_T_TXT};
    memset(&l, 0, sizeof(l));
    assert_int_equal(ens_store_rrset_list(f->st, "example.com", &flt, collect_rrset, &l), 0);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.text[0], "www.example.com. 16 30 ccc");

    /* Disabled records are listed unless asked otherwise. */
    struct ens_store_rdata rd[2] = {{(const uint8_t *)"on", 2, false},
                                    {(const uint8_t *)"off", 3, true}};
    struct ens_store_rrset rs = {wire("mail.example.com.", ow), ENS_T_TXT, 10, 2, rd};
    assert_int_equal(ens_store_rrset_replace(f->st, "example.com", &rs), 0);
    struct ens_store_rrfilter byname = {.owner = ow};
    memset(&l, 0, sizeof(l));
    assert_int_equal(ens_store_rrset_list(f->st, "example.com", &byname, collect_rrset, &l), 0);
    assert_string_equal(l.text[0], "mail.example.com. 16 10 !off on");
    byname.skip_disabled = true;
    memset(&l, 0, sizeof(l));
    assert_int_equal(ens_store_rrset_list(f->st, "example.com", &byname, collect_rrset, &l), 0);
    assert_string_equal(l.text[0], "mail.example.com. 16 10 on");

    /* Refusals leave the RRset as it was. */
    static const char *const dup[] = {"x", "x"};
    assert_int_equal(put_rrset(f->st, "example.com", "www.example.com.", ENS_T_TXT, 30, dup, 2),
                     ENS_EEXIST);
    assert_int_equal(put_rrset(f->st, "example.com", "www.example.org.", ENS_T_TXT, 30, one, 1),
                     ENS_EINVAL);
    assert_non_null(strstr(ens_store_error(f->st), "not in zone"));
    assert_int_equal(put_rrset(f->st, "example.com", "www.example.com.", ENS_T_ANY, 30, one, 1),
                     ENS_EINVAL);
    assert_int_equal(put_rrset(f->st, "example.net", "www.example.net.", ENS_T_TXT, 30, one, 1),
                     ENS_ENOENT);
    memset(&l, 0, sizeof(l));
    flt.owner = wire("www.example.com.", ow);
    assert_int_equal(ens_store_rrset_list(f->st, "example.com", &flt, collect_rrset, &l), 0);
    assert_string_equal(l.text[0], "www.example.com. 16 30 ccc");

    /* Delete one type, then every type at an owner, then an empty replace. */
    assert_int_equal(ens_store_rrset_delete(f->st, "example.com", ow, ENS_T_TXT), 0);
    assert_int_equal(ens_store_rrset_delete(f->st, "example.com", ow, ENS_T_TXT), ENS_ENOENT);
    assert_int_equal(put_rrset(f->st, "example.com", "www.example.com.", ENS_T_TXT, 1, one, 1), 0);
    assert_int_equal(ens_store_rrset_delete(f->st, "example.com", ow, ENS_T_ANY), 0);
    assert_int_equal(put_rrset(f->st, "example.com", "example.com.", ENS_T_TXT, 60, NULL, 0), 0);
    memset(&l, 0, sizeof(l));
    assert_int_equal(ens_store_rrset_list(f->st, "example.com", NULL, collect_rrset, &l), 0);
    assert_int_equal(l.n, 1);
    assert_int_equal(ens_store_rrset_clear(f->st, "example.com"), 0);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM records"), 0);
}

static int stop_at_first(void *ctx, const struct ens_store_rrset *rs)
{
    (void)rs;
    (*(int *)ctx)++;
    return 42;
}

static void test_store_rrset_list_stops_when_callback_says(void **state)
{
    struct fixture *f = *state;
    make_zone(f->st, "example.com");
    static const char *const one[] = {"a"};
    assert_int_equal(put_rrset(f->st, "example.com", "a.example.com.", ENS_T_TXT, 1, one, 1), 0);
    assert_int_equal(put_rrset(f->st, "example.com", "b.example.com.", ENS_T_TXT, 1, one, 1), 0);
    int calls = 0;
    assert_int_equal(ens_store_rrset_list(f->st, "example.com", NULL, stop_at_first, &calls), 42);
    assert_int_equal(calls, 1);
}

/* ---- transactions ---- */

static void test_store_rollback_leaves_nothing(void **state)
{
    struct fixture *f = *state;
    static const char *const one[] = {"a"};
    assert_int_equal(ens_store_begin(f->st), 0);
    assert_true(ens_store_in_transaction(f->st));
    assert_int_equal(ens_store_begin(f->st), ENS_EINVAL);
    make_zone(f->st, "example.com");
    assert_int_equal(put_rrset(f->st, "example.com", "a.example.com.", ENS_T_TXT, 1, one, 1), 0);
    struct ens_store_audit a = {.at = 5, .action = "zone.create", .zone = "example.com"};
    assert_int_equal(ens_store_audit_append(f->st, &a, NULL), 0);
    /* Another connection sees nothing before the commit. */
    assert_int_equal(count_rows(f, "SELECT count(*) FROM zones"), 0);
    assert_int_equal(ens_store_rollback(f->st), 0);
    assert_false(ens_store_in_transaction(f->st));
    struct ens_store_zone z;
    assert_int_equal(ens_store_zone_get(f->st, "example.com", &z), ENS_ENOENT);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM rrsets"), 0);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM records"), 0);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM audit"), 0);
    assert_int_equal(ens_store_commit(f->st), ENS_EINVAL);
    assert_int_equal(ens_store_rollback(f->st), 0);
}

static void test_store_failed_step_undoes_only_itself(void **state)
{
    struct fixture *f = *state;
    static const char *const one[] = {"a"};
    static const char *const dup[] = {"b", "c", "b"};
    assert_int_equal(ens_store_begin(f->st), 0);
    make_zone(f->st, "example.com");
    assert_int_equal(put_rrset(f->st, "example.com", "a.example.com.", ENS_T_TXT, 1, one, 1), 0);
    /* The third record duplicates the first: the step fails and its first two records go. */
    assert_int_equal(put_rrset(f->st, "example.com", "b.example.com.", ENS_T_TXT, 1, dup, 3),
                     ENS_EEXIST);
    assert_true(ens_store_in_transaction(f->st));
    assert_int_equal(ens_store_commit(f->st), 0);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM zones"), 1);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM rrsets"), 1);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM records"), 1);
}

static void test_store_commit_is_seen_by_other_handles(void **state)
{
    struct fixture *f = *state;
    struct ens_store *other;
    char err[256];
    assert_int_equal(ens_store_open(f->dir, &other, err, sizeof(err)), 0);
    assert_int_equal(ens_store_begin(f->st), 0);
    make_zone(f->st, "example.com");
    struct ens_store_zone z;
    assert_int_equal(ens_store_zone_get(other, "example.com", &z), ENS_ENOENT);
    assert_int_equal(ens_store_commit(f->st), 0);
    assert_int_equal(ens_store_zone_get(other, "example.com", &z), 0);
    ens_store_close(other);
}

/* ---- keys ---- */

static void fill_key(struct ens_store_key *k, uint8_t seed)
{
    ens_store_key_init(k);
    k->algorithm = ENS_ALG_ECDSAP256SHA256;
    k->role = ENS_KEY_KSK;
    k->flags = 257;
    k->dnskey_len = 68;
    k->dnskey[0] = 1;
    k->dnskey[1] = 1;
    k->dnskey[2] = 3;
    k->dnskey[3] = 13;
    memset(k->dnskey + 4, seed, 64);
    k->tag = ens_key_tag_compute(k->dnskey, k->dnskey_len);
    snprintf(k->locator, sizeof(k->locator), "/keys/example.com+013+%05u", k->tag);
    k->published = true;
    k->t.created = 100;
    k->t.published = 100;
    snprintf(k->state, sizeof(k->state), "published");
}

static int count_keys(void *ctx, const struct ens_store_key *k)
{
    (void)k;
    (*(int *)ctx)++;
    return 0;
}

static void test_store_keys_insert_get_update_list_delete(void **state)
{
    struct fixture *f = *state;
    make_zone(f->st, "example.com");
    struct ens_store_key k, k2, g;
    fill_key(&k, 0xaa);
    assert_int_equal(ens_store_key_insert(f->st, "example.com", &k), 0);
    assert_true(k.id > 0);
    fill_key(&k2, 0xbb);
    k2.role = ENS_KEY_ZSK;
    k2.flags = 256;
    assert_int_equal(ens_store_key_insert(f->st, "example.com", &k2), 0);
    assert_true(k2.id > k.id);
    fill_key(&g, 0xaa);
    assert_int_equal(ens_store_key_insert(f->st, "example.com", &g), ENS_EEXIST);
    assert_int_equal(ens_store_key_insert(f->st, "nope.example", &g), ENS_ENOENT);
    g.dnskey_len = 0;
    assert_int_equal(ens_store_key_insert(f->st, "example.com", &g), ENS_EINVAL);

    assert_int_equal(ens_store_key_get(f->st, "example.com", k.id, &g), 0);
    assert_int_equal(g.tag, k.tag);
    assert_int_equal(g.role, ENS_KEY_KSK);
    assert_int_equal(g.dnskey_len, 68);
    assert_memory_equal(g.dnskey, k.dnskey, 68);
    assert_string_equal(g.locator, k.locator);
    assert_true(g.published);
    assert_false(g.active);
    assert_int_equal(g.t.created, 100);
    assert_int_equal(g.t.active, ENS_STORE_NOTIME);
    assert_int_equal(g.ds_seen, ENS_STORE_NOTIME);

    g.active = true;
    g.t.ready = 400;
    g.t.active = 500;
    g.ds_seen = 450;
    snprintf(g.state, sizeof(g.state), "active");
    assert_int_equal(ens_store_key_update(f->st, "example.com", &g), 0);
    struct ens_store_key h;
    assert_int_equal(ens_store_key_get(f->st, "example.com", k.id, &h), 0);
    assert_true(h.active);
    assert_int_equal(h.t.ready, 400);
    assert_int_equal(h.t.active, 500);
    assert_int_equal(h.ds_seen, 450);
    assert_string_equal(h.state, "active");

    int n = 0;
    assert_int_equal(ens_store_key_list(f->st, "example.com", count_keys, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(ens_store_key_delete(f->st, "example.com", k.id), 0);
    assert_int_equal(ens_store_key_delete(f->st, "example.com", k.id), ENS_ENOENT);
    assert_int_equal(ens_store_key_get(f->st, "example.com", k.id, &h), ENS_ENOENT);
    h.id = k.id;
    assert_int_equal(ens_store_key_update(f->st, "example.com", &h), ENS_ENOENT);
    /* Ids are never given again. */
    fill_key(&g, 0xcc);
    assert_int_equal(ens_store_key_insert(f->st, "example.com", &g), 0);
    assert_true(g.id > k2.id);
}

/* ---- cascades ---- */

static void test_store_zone_delete_cascades_but_keeps_audit(void **state)
{
    struct fixture *f = *state;
    make_zone(f->st, "example.com");
    make_zone(f->st, "example.org");
    static const char *const one[] = {"a"};
    assert_int_equal(put_rrset(f->st, "example.com", "a.example.com.", ENS_T_TXT, 1, one, 1), 0);
    assert_int_equal(put_rrset(f->st, "example.org", "a.example.org.", ENS_T_TXT, 1, one, 1), 0);
    struct ens_store_key k;
    fill_key(&k, 1);
    assert_int_equal(ens_store_key_insert(f->st, "example.com", &k), 0);
    static const char *const vals[] = {"192.0.2.1"};
    assert_int_equal(ens_store_meta_set(f->st, "example.com", "ALSO-NOTIFY", vals, 1), 0);
    struct ens_store_status s = {.last_signed = 7,
                                 .next_ds_probe = ENS_STORE_NOTIME,
                                 .last_ds_probe = ENS_STORE_NOTIME,
                                 .earliest_expiry = ENS_STORE_NOTIME};
    assert_int_equal(ens_store_status_set(f->st, "example.com", &s), 0);
    uint8_t ow[ENS_NAME_MAXLEN];
    struct ens_rr rr = {wire("a.example.com.", ow), ENS_T_TXT, ENS_CLASS_IN, 1, 1,
                        (const uint8_t *)"a"};
    assert_int_equal(ens_store_journal_append(f->st, "example.com", 1, 2, 9, NULL, 0, &rr, 1), 0);
    struct ens_store_audit a = {.at = 5, .action = "zone.create", .zone = "example.com"};
    assert_int_equal(ens_store_audit_append(f->st, &a, NULL), 0);

    assert_int_equal(ens_store_zone_delete(f->st, "example.com"), 0);
    static const char *const tables[] = {
        "rrsets",  "records",        "keys", "metadata", "zone_dnssec_status",
        "journal", "journal_records"};
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        char sql[128];
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", tables[i]);
        long long want = (strcmp(tables[i], "rrsets") == 0 || strcmp(tables[i], "records") == 0);
        assert_int_equal(count_rows(f, sql), want); /* example.org's own record stays */
    }
    assert_int_equal(count_rows(f, "SELECT count(*) FROM audit"), 1);
    assert_int_equal(ens_store_check(f->st), 0);
}

/* ---- tokens ---- */

static int count_tokens(void *ctx, const struct ens_store_token *t)
{
    (void)t;
    (*(int *)ctx)++;
    return 0;
}

static void test_store_tokens_by_hash_with_zone_limits(void **state)
{
    struct fixture *f = *state;
    struct ens_store_token t = {0};
    snprintf(t.name, sizeof(t.name), "external-dns");
    memset(t.hash, 0x11, 32);
    t.hashlen = 32;
    t.perm = ENS_STORE_PERM_UPDATE;
    t.limited = true;
    assert_int_equal(ens_store_token_add_zone(&t, "Example.COM"), 0);
    assert_int_equal(ens_store_token_add_zone(&t, "example.org."), 0);
    assert_int_equal(ens_store_token_create(f->st, &t, 77), 0);
    assert_true(t.id > 0);
    assert_int_equal(t.created, 77);
    ens_store_token_clear(&t);

    struct ens_store_token dup = {0};
    memset(dup.hash, 0x11, 32);
    dup.hashlen = 32;
    assert_int_equal(ens_store_token_create(f->st, &dup, 78), ENS_EEXIST);
    memset(dup.hash, 0x22, 32);
    assert_int_equal(ens_store_token_create(f->st, &dup, 78), 0);

    uint8_t h[32];
    memset(h, 0x11, sizeof(h));
    struct ens_store_token g;
    assert_int_equal(ens_store_token_lookup(f->st, h, sizeof(h), &g), 0);
    assert_string_equal(g.name, "external-dns");
    assert_int_equal(g.perm, ENS_STORE_PERM_UPDATE);
    assert_true(g.limited);
    assert_int_equal(g.nzones, 2);
    assert_string_equal(g.zones[0], "example.com.");
    assert_true(ens_store_token_allows(&g, "EXAMPLE.com"));
    assert_true(ens_store_token_allows(&g, "example.org"));
    assert_false(ens_store_token_allows(&g, "example.net"));
    assert_false(ens_store_token_allows(&g, "sub.example.com"));
    ens_store_token_clear(&g);
    /* A different hash, or a prefix of it, finds nothing. */
    h[31] = 0x12;
    assert_int_equal(ens_store_token_lookup(f->st, h, sizeof(h), &g), ENS_ENOENT);
    memset(h, 0x11, sizeof(h));
    assert_int_equal(ens_store_token_lookup(f->st, h, 16, &g), ENS_ENOENT);

    struct ens_store_token open = {0};
    assert_int_equal(ens_store_token_lookup(f->st, dup.hash, 32, &open), 0);
    assert_false(open.limited);
    assert_true(ens_store_token_allows(&open, "anything.example"));
    ens_store_token_clear(&open);

    assert_int_equal(ens_store_token_revoke(f->st, t.id, 90), 0);
    assert_int_equal(ens_store_token_revoke(f->st, t.id, 95), 0);
    assert_int_equal(ens_store_token_lookup(f->st, h, sizeof(h), &g), ENS_ENOENT);
    assert_int_equal(ens_store_token_get(f->st, t.id, &g), 0);
    assert_int_equal(g.revoked, 90);
    assert_false(ens_store_token_allows(&g, "example.com"));
    ens_store_token_clear(&g);
    assert_int_equal(ens_store_token_revoke(f->st, 999, 90), ENS_ENOENT);
    int n = 0;
    assert_int_equal(ens_store_token_list(f->st, count_tokens, &n), 0);
    assert_int_equal(n, 2);
}

/* ---- audit ---- */

struct audits {
    int64_t id[16];
    char action[16][32];
    size_t n;
};

static int collect_audit(void *ctx, const struct ens_store_audit *a)
{
    struct audits *l = ctx;
    l->id[l->n] = a->id;
    snprintf(l->action[l->n++], 32, "%s", a->action);
    return 0;
}

static void test_store_audit_newest_first_with_cursor_and_zone(void **state)
{
    struct fixture *f = *state;
    int64_t ids[6];
    for (int i = 0; i < 6; i++) {
        char action[16];
        snprintf(action, sizeof(action), "act%d", i);
        struct ens_store_audit a = {.at = 100 + i,
                                    .token_id = i % 2,
                                    .action = action,
                                    .zone = i % 2 ? "Example.com" : NULL,
                                    .detail = "{\"n\":1}"};
        assert_int_equal(ens_store_audit_append(f->st, &a, &ids[i]), 0);
    }
    struct ens_store_audit bad = {.at = 1};
    assert_int_equal(ens_store_audit_append(f->st, &bad, NULL), ENS_EINVAL);
    struct audits l = {0};
    assert_int_equal(ens_store_audit_list(f->st, NULL, 0, 4, collect_audit, &l), 0);
    assert_int_equal(l.n, 4);
    assert_string_equal(l.action[0], "act5");
    assert_string_equal(l.action[3], "act2");
    struct audits rest = {0};
    assert_int_equal(ens_store_audit_list(f->st, NULL, l.id[3], 4, collect_audit, &rest), 0);
    assert_int_equal(rest.n, 2);
    assert_string_equal(rest.action[1], "act0");
    struct audits z = {0};
    assert_int_equal(ens_store_audit_list(f->st, "example.com.", 0, 0, collect_audit, &z), 0);
    assert_int_equal(z.n, 3);
    assert_string_equal(z.action[2], "act1");
}

/* ---- metadata, status, policies, TSIG, journal ---- */

static int collect_meta(void *ctx, const char *kind, const char *value)
{
    struct ens_str *s = ctx;
    ens_str_printf(s, "%s=%s;", kind, value);
    return 0;
}

static void test_store_metadata_set_get_replace_delete(void **state)
{
    struct fixture *f = *state;
    make_zone(f->st, "example.com");
    static const char *const two[] = {"192.0.2.2", "192.0.2.1"};
    static const char *const one[] = {"yes"};
    assert_int_equal(ens_store_meta_set(f->st, "example.com", "ALLOW-AXFR-FROM", two, 2), 0);
    assert_int_equal(ens_store_meta_set(f->st, "example.com", "X-TEST", one, 1), 0);
    struct ens_str s = {0};
    assert_int_equal(ens_store_meta_get(f->st, "example.com", "ALLOW-AXFR-FROM", collect_meta, &s),
                     0);
    assert_string_equal(s.s, "ALLOW-AXFR-FROM=192.0.2.2;ALLOW-AXFR-FROM=192.0.2.1;");
    ens_str_reset(&s);
    assert_int_equal(ens_store_meta_set(f->st, "example.com", "ALLOW-AXFR-FROM", one, 1), 0);
    assert_int_equal(ens_store_meta_get(f->st, "example.com", NULL, collect_meta, &s), 0);
    assert_string_equal(s.s, "ALLOW-AXFR-FROM=yes;X-TEST=yes;");
    ens_str_reset(&s);
    assert_int_equal(ens_store_meta_set(f->st, "example.com", "X-TEST", NULL, 0), 0);
    assert_int_equal(ens_store_meta_get(f->st, "example.com", "X-TEST", collect_meta, &s), 0);
    assert_int_equal(s.len, 0);
    assert_int_equal(ens_store_meta_set(f->st, "example.com", "", one, 1), ENS_EINVAL);
    assert_int_equal(ens_store_meta_set(f->st, "nope.example", "X-A", one, 1), ENS_ENOENT);
    ens_str_clear(&s);
}

static void test_store_status_defaults_and_roundtrip(void **state)
{
    struct fixture *f = *state;
    make_zone(f->st, "example.com");
    struct ens_store_status s;
    assert_int_equal(ens_store_status_get(f->st, "example.com", &s), 0);
    assert_int_equal(s.last_signed, ENS_STORE_NOTIME);
    assert_int_equal(s.next_ds_probe, ENS_STORE_NOTIME);
    assert_false(s.ds_delegated);
    assert_string_equal(s.last_sign_error, "");
    s.last_signed = 1700000000;
    s.ds_delegated = true;
    s.next_ds_probe = 1700003600;
    s.earliest_expiry = 1701000000;
    snprintf(s.last_sign_error, sizeof(s.last_sign_error), "no active key");
    assert_int_equal(ens_store_status_set(f->st, "example.com", &s), 0);
    s.last_sign_error[0] = '\0';
    s.last_signed = 1700000100;
    assert_int_equal(ens_store_status_set(f->st, "example.com", &s), 0);
    struct ens_store_status g;
    assert_int_equal(ens_store_status_get(f->st, "example.com", &g), 0);
    assert_int_equal(g.last_signed, 1700000100);
    assert_true(g.ds_delegated);
    assert_int_equal(g.next_ds_probe, 1700003600);
    assert_int_equal(g.earliest_expiry, 1701000000);
    assert_int_equal(g.last_ds_probe, ENS_STORE_NOTIME);
    assert_string_equal(g.last_sign_error, "");
    assert_int_equal(ens_store_status_get(f->st, "nope.example", &g), ENS_ENOENT);
}

static int count_policy(void *ctx, const struct ens_store_policy *p)
{
    (void)p;
    (*(int *)ctx)++;
    return 0;
}

static void test_store_policies_and_refusal_while_used(void **state)
{
    struct fixture *f = *state;
    struct ens_store_policy p;
    ens_store_policy_init(&p, "fast-rsa");
    p.algorithm = ENS_ALG_RSASHA256;
    p.bits = 2048;
    p.csk = false;
    p.ksk_lifetime = 365 * 86400;
    assert_int_equal(ens_store_policy_create(f->st, &p, 10), 0);
    assert_int_equal(ens_store_policy_create(f->st, &p, 10), ENS_EEXIST);
    struct ens_store_policy bad;
    ens_store_policy_init(&bad, "has space");
    assert_int_equal(ens_store_policy_create(f->st, &bad, 10), ENS_EINVAL);
    p.zsk_lifetime = 30 * 86400;
    assert_int_equal(ens_store_policy_update(f->st, &p, 20), 0);
    struct ens_store_policy g;
    assert_int_equal(ens_store_policy_get(f->st, "fast-rsa", &g), 0);
    assert_int_equal(g.algorithm, ENS_ALG_RSASHA256);
    assert_int_equal(g.bits, 2048);
    assert_false(g.csk);
    assert_int_equal(g.ksk_lifetime, 365 * 86400);
    assert_int_equal(g.zsk_lifetime, 30 * 86400);
    assert_int_equal(g.created, 10);
    assert_int_equal(g.updated, 20);
    int n = 0;
    assert_int_equal(ens_store_policy_list(f->st, count_policy, &n), 0);
    assert_int_equal(n, 2);

    struct ens_store_zone z;
    ens_store_zone_init(&z, "example.com");
    snprintf(z.policy, sizeof(z.policy), "fast-rsa");
    assert_int_equal(ens_store_zone_create(f->st, &z, 1), 0);
    assert_int_equal(ens_store_policy_delete(f->st, "fast-rsa"), ENS_EEXIST);
    assert_non_null(strstr(ens_store_error(f->st), "used by zones"));
    z.policy[0] = '\0';
    assert_int_equal(ens_store_zone_update(f->st, &z, 2), 0);
    assert_int_equal(ens_store_policy_delete(f->st, "fast-rsa"), 0);
    assert_int_equal(ens_store_policy_delete(f->st, "fast-rsa"), ENS_ENOENT);
    assert_int_equal(ens_store_policy_get(f->st, "fast-rsa", &g), ENS_ENOENT);
}

static int count_tsig(void *ctx, const struct ens_store_tsig *t)
{
    (void)t;
    (*(int *)ctx)++;
    return 0;
}

static void test_store_tsig_keys(void **state)
{
    struct fixture *f = *state;
    struct ens_store_tsig t = {0};
    snprintf(t.name, sizeof(t.name), "Xfr-Key");
    snprintf(t.algorithm, sizeof(t.algorithm), "hmac-sha256");
    snprintf(t.secret, sizeof(t.secret), "c2VjcmV0");
    assert_int_equal(ens_store_tsig_create(f->st, &t), 0);
    assert_string_equal(t.name, "xfr-key.");
    assert_int_equal(ens_store_tsig_create(f->st, &t), ENS_EEXIST);
    snprintf(t.secret, sizeof(t.secret), "bmV3");
    assert_int_equal(ens_store_tsig_update(f->st, &t), 0);
    struct ens_store_tsig g;
    assert_int_equal(ens_store_tsig_get(f->st, "xfr-key", &g), 0);
    assert_string_equal(g.secret, "bmV3");
    assert_string_equal(g.algorithm, "hmac-sha256");
    int n = 0;
    assert_int_equal(ens_store_tsig_list(f->st, count_tsig, &n), 0);
    assert_int_equal(n, 1);
    t.secret[0] = '\0';
    assert_int_equal(ens_store_tsig_update(f->st, &t), ENS_EINVAL);
    assert_int_equal(ens_store_tsig_delete(f->st, "XFR-KEY."), 0);
    assert_int_equal(ens_store_tsig_delete(f->st, "xfr-key"), ENS_ENOENT);
    assert_int_equal(ens_store_tsig_get(f->st, "xfr-key", &g), ENS_ENOENT);
}

static int collect_diff(void *ctx, uint32_t from, uint32_t to, int64_t at, const struct ens_rr *del,
                        size_t ndel, const struct ens_rr *add, size_t nadd)
{
    struct ens_str *s = ctx;
    ens_str_printf(s, "%u>%u@%lld", from, to, (long long)at);
    for (size_t i = 0; i < ndel; i++) {
        ens_str_printf(s, " -%.*s", (int)del[i].rdlen, (const char *)del[i].rdata);
    }
    for (size_t i = 0; i < nadd; i++) {
        ens_str_printf(s, " +%.*s", (int)add[i].rdlen, (const char *)add[i].rdata);
    }
    ens_str_puts(s, ";");
    return 0;
}

static void test_store_journal_chain_read_and_trim(void **state)
{
    struct fixture *f = *state;
    make_zone(f->st, "example.com");
    uint8_t ow[ENS_NAME_MAXLEN];
    wire("www.example.com.", ow);
    struct ens_rr a = {ow, ENS_T_TXT, ENS_CLASS_IN, 60, 1, (const uint8_t *)"a"};
    struct ens_rr b = {ow, ENS_T_TXT, ENS_CLASS_IN, 60, 1, (const uint8_t *)"b"};
    struct ens_rr c = {ow, ENS_T_TXT, ENS_CLASS_IN, 60, 1, (const uint8_t *)"c"};
    assert_int_equal(ens_store_journal_append(f->st, "example.com", 1, 2, 10, NULL, 0, &a, 1), 0);
    assert_int_equal(ens_store_journal_append(f->st, "example.com", 2, 3, 20, &a, 1, &b, 1), 0);
    struct ens_rr bc[2] = {b, c};
    assert_int_equal(ens_store_journal_append(f->st, "example.com", 3, 4, 30, bc, 2, NULL, 0), 0);
    struct ens_str s = {0};
    assert_int_equal(ens_store_journal_read(f->st, "example.com", 1, collect_diff, &s), 0);
    assert_string_equal(s.s, "1>2@10 +a;2>3@20 -a +b;3>4@30 -b -c;");
    ens_str_reset(&s);
    assert_int_equal(ens_store_journal_read(f->st, "example.com", 3, collect_diff, &s), 0);
    assert_string_equal(s.s, "3>4@30 -b -c;");
    assert_int_equal(ens_store_journal_read(f->st, "example.com", 4, collect_diff, &s), ENS_ENOENT);
    /* A gap in the chain is reported, not papered over. */
    assert_int_equal(ens_store_journal_append(f->st, "example.com", 9, 10, 40, NULL, 0, &c, 1), 0);
    ens_str_reset(&s);
    assert_int_equal(ens_store_journal_read(f->st, "example.com", 3, collect_diff, &s), ENS_EINVAL);
    assert_int_equal(ens_store_journal_trim(f->st, "example.com", 1), 0);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM journal"), 1);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM journal_records"), 1);
    ens_str_reset(&s);
    assert_int_equal(ens_store_journal_read(f->st, "example.com", 9, collect_diff, &s), 0);
    assert_string_equal(s.s, "9>10@40 +c;");
    ens_str_clear(&s);
}

/* Limits by entries and by bytes (owner + rdata + 10 a record): the oldest go first. */
static void test_store_journal_limit_drops_the_oldest(void **state)
{
    struct fixture *f = *state;
    make_zone(f->st, "example.com");
    uint8_t ow[ENS_NAME_MAXLEN];
    wire("www.example.com.", ow); /* 17 octets: each record below takes 17 + 1 + 10 = 28 */
    struct ens_rr r = {ow, ENS_T_TXT, ENS_CLASS_IN, 60, 1, (const uint8_t *)"x"};
    for (uint32_t i = 1; i <= 10; i++) {
        assert_int_equal(
            ens_store_journal_append(f->st, "example.com", i, i + 1, i, NULL, 0, &r, 1), 0);
    }
    assert_int_equal(ens_store_journal_limit(f->st, "example.com", 8, 0), 0);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM journal"), 8);
    struct ens_str s = {0};
    assert_int_equal(ens_store_journal_read(f->st, "example.com", 2, collect_diff, &s), ENS_ENOENT);
    /* 5 records take 140 bytes: 150 keeps 5, 139 keeps 4 */
    assert_int_equal(ens_store_journal_limit(f->st, "example.com", 1000, 150), 0);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM journal"), 5);
    assert_int_equal(ens_store_journal_limit(f->st, "example.com", 1000, 139), 0);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM journal"), 4);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM journal_records"), 4);
    assert_int_equal(ens_store_journal_read(f->st, "example.com", 7, collect_diff, &s), 0);
    assert_string_equal(s.s, "7>8@7 +x;8>9@8 +x;9>10@9 +x;10>11@10 +x;");
    /* a limit below the newest difference leaves nothing */
    assert_int_equal(ens_store_journal_limit(f->st, "example.com", 0, 10), 0);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM journal"), 0);
    assert_int_equal(ens_store_journal_limit(f->st, "nosuch.example", 1, 1), ENS_ENOENT);
    ens_str_clear(&s);
}

static void test_store_name_canon(void **state)
{
    (void)state;
    char out[ENS_STORE_NAME_MAX];
    assert_int_equal(ens_store_name_canon("WWW.Example.COM", out, sizeof(out)), 0);
    assert_string_equal(out, "www.example.com.");
    assert_int_equal(ens_store_name_canon("a\\.b.example.", out, sizeof(out)), 0);
    assert_string_equal(out, "a\\.b.example.");
    assert_int_equal(ens_store_name_canon(".", out, sizeof(out)), 0);
    assert_string_equal(out, ".");
    assert_int_equal(ens_store_name_canon("", out, sizeof(out)), ENS_EINVAL);
    assert_int_equal(ens_store_name_canon("a..b", out, sizeof(out)), ENS_EINVAL);
    assert_int_equal(ens_store_name_canon("example.com", out, 4), ENS_EINVAL);
}

/* ---- policy margins and CSK lifetime (migration 3), webhooks ---- */

static void test_store_policy_margins_and_csk_lifetime_round_trip(void **state)
{
    struct fixture *f = *state;
    struct ens_store_policy d;
    assert_int_equal(ens_store_policy_get(f->st, ENS_STORE_DEFAULT_POLICY, &d), 0);
    assert_int_equal(d.csk_lifetime, 0);
    assert_int_equal(d.publish_safety, 3600);
    assert_int_equal(d.retire_safety, 3600);

    struct ens_store_policy p;
    ens_store_policy_init(&p, "margins");
    assert_int_equal(p.publish_safety, 3600);
    assert_int_equal(p.retire_safety, 3600);
    p.csk_lifetime = 400 * 86400;
    p.publish_safety = 7200;
    p.retire_safety = 60;
    assert_int_equal(ens_store_policy_create(f->st, &p, 5), 0);
    struct ens_store_policy g;
    assert_int_equal(ens_store_policy_get(f->st, "margins", &g), 0);
    assert_int_equal(g.csk_lifetime, 400 * 86400);
    assert_int_equal(g.publish_safety, 7200);
    assert_int_equal(g.retire_safety, 60);
    g.csk_lifetime = 0;
    g.retire_safety = 0;
    assert_int_equal(ens_store_policy_update(f->st, &g, 6), 0);
    assert_int_equal(ens_store_policy_get(f->st, "margins", &g), 0);
    assert_int_equal(g.csk_lifetime, 0);
    assert_int_equal(g.publish_safety, 7200);
    assert_int_equal(g.retire_safety, 0);
    g.publish_safety = -1;
    assert_int_equal(ens_store_policy_update(f->st, &g, 7), ENS_EINVAL);
    g.publish_safety = 1;
    g.csk_lifetime = -5;
    assert_int_equal(ens_store_policy_create(f->st, &g, 7), ENS_EINVAL);
}

static void test_store_policy_to_kasp_and_back_keeps_every_field(void **state)
{
    struct fixture *f = *state;
    struct ens_store_policy d;
    assert_int_equal(ens_store_policy_get(f->st, ENS_STORE_DEFAULT_POLICY, &d), 0);
    struct ens_kasp_policy k, kdef;
    ens_store_policy_to_kasp(&d, &k);
    ens_kasp_policy_init_default(&kdef);
    /* The stored default is the key manager's default, field for field. */
    assert_memory_equal(&k, &kdef, sizeof k);
    assert_int_equal(ens_kasp_policy_check(&k, NULL, 0, NULL, 0), 0);

    struct ens_store_policy p;
    ens_store_policy_init(&p, "rsa-split");
    p.algorithm = ENS_ALG_RSASHA256;
    p.bits = 3072;
    p.csk = false;
    p.ksk_lifetime = 365 * 86400;
    p.csk_lifetime = 200 * 86400;
    p.publish_safety = 10;
    p.retire_safety = 20;
    p.nsec3_iterations = 5;
    p.nsec3_optout = true;
    snprintf(p.nsec3_salt, sizeof p.nsec3_salt, "ab12");
    ens_store_policy_to_kasp(&p, &k);
    assert_string_equal(k.name, "rsa-split");
    assert_int_equal(k.scheme, ENS_KASP_KSK_ZSK);
    assert_int_equal(k.bits, 3072);
    assert_int_equal(k.csk_lifetime, 200 * 86400);
    assert_int_equal(k.publish_safety, 10);
    assert_int_equal(k.retire_safety, 20);
    assert_int_equal(k.sign_delay, 0);
    assert_string_equal(k.nsec3_salt, "ab12");
    struct ens_store_policy back;
    ens_store_policy_from_kasp(&k, &back);
    back.created = p.created;
    back.updated = p.updated;
    assert_memory_equal(&back, &p, sizeof p);
}

/* A database made before migration 3 gets the new columns with their defaults and keeps its
 * policies. */
/* Closes the store, runs sql on the database file (making an older schema) and opens the store
 * again, which must migrate it to the current version. */
static void reopen_after(struct fixture *f, const char *sql)
{
    ens_store_close(f->st);
    f->st = NULL;
    exec_raw(f->db, sql);
    char err[256] = "";
    assert_int_equal(ens_store_open(f->dir, &f->st, err, sizeof(err)), 0);
    int v = 0;
    assert_int_equal(ens_store_schema_version(f->st, &v), 0);
    assert_int_equal(v, ENS_STORE_SCHEMA_VERSION);
}

static void test_store_migration_3_upgrades_an_older_database(void **state)
{
    struct fixture *f = *state;
    reopen_after(f, "DROP TABLE webhooks;"
                    "ALTER TABLE policies DROP COLUMN keystore;"
                    "ALTER TABLE policies DROP COLUMN ksk_keystore;"
                    "ALTER TABLE policies DROP COLUMN csk_lifetime;"
                    "ALTER TABLE policies DROP COLUMN publish_safety;"
                    "ALTER TABLE policies DROP COLUMN retire_safety;"
                    "ALTER TABLE tsig_keys DROP COLUMN scope_labels;"
                    "ALTER TABLE tsig_keys DROP COLUMN scope_types;"
                    "DELETE FROM schema_version WHERE version >= 3;"
                    "INSERT INTO policies (name, algorithm, bits, csk, ksk_lifetime,"
                    " zsk_lifetime, dnskey_ttl, zone_max_ttl, propagation_delay, parent_ds_ttl,"
                    " parent_propagation_delay, sig_validity, sig_refresh, nsec3,"
                    " nsec3_iterations, nsec3_optout, nsec3_salt, created, updated) VALUES"
                    " ('old', 8, 2048, 0, 0, 2592000, 3600, 86400, 300, 86400, 3600, 1209600,"
                    " 604800, 1, 0, 0, '', 1, 1);");
    struct ens_store_policy g;
    assert_int_equal(ens_store_policy_get(f->st, "old", &g), 0);
    assert_int_equal(g.algorithm, ENS_ALG_RSASHA256);
    assert_int_equal(g.zsk_lifetime, 2592000);
    assert_int_equal(g.csk_lifetime, 0);
    assert_int_equal(g.publish_safety, 3600);
    assert_int_equal(g.retire_safety, 3600);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM webhooks"), 0);
}

/* A database of schema 4 keeps its TSIG keys, which get an empty update scope (any name, any
 * type); a scope is then kept. */
static void test_store_migration_5_gives_tsig_keys_a_scope(void **state)
{
    struct fixture *f = *state;
    reopen_after(f, "ALTER TABLE tsig_keys DROP COLUMN scope_labels;"
                    "ALTER TABLE tsig_keys DROP COLUMN scope_types;"
                    "ALTER TABLE policies DROP COLUMN keystore;"
                    "ALTER TABLE policies DROP COLUMN ksk_keystore;"
                    "INSERT INTO tsig_keys (name, algorithm, secret) VALUES"
                    " ('old.', 'hmac-sha256', 'c2VjcmV0c2VjcmV0c2VjcmV0');"
                    "DELETE FROM schema_version WHERE version >= 5;");
    struct ens_store_tsig t;
    assert_int_equal(ens_store_tsig_get(f->st, "old.", &t), 0);
    assert_string_equal(t.scope_labels, "");
    assert_string_equal(t.scope_types, "");
    snprintf(t.scope_labels, sizeof t.scope_labels, "_acme-challenge");
    snprintf(t.scope_types, sizeof t.scope_types, "TXT");
    assert_int_equal(ens_store_tsig_update(f->st, &t), 0);
    assert_int_equal(ens_store_tsig_get(f->st, "old", &t), 0);
    assert_string_equal(t.scope_labels, "_acme-challenge");
    assert_string_equal(t.scope_types, "TXT");
}

/* A database of schema 3 (tokens read or update only) gets the permission metrics: its tokens
 * keep their ids, zone limits and hashes, new ids follow the old ones, and a token's zones
 * still go with it. */
static void test_store_migration_4_keeps_tokens_and_takes_metrics(void **state)
{
    struct fixture *f = *state;
    reopen_after(f, "DROP TABLE token_zones;"
                    "DROP TABLE tokens;"
                    "CREATE TABLE tokens (id INTEGER PRIMARY KEY AUTOINCREMENT,"
                    " name TEXT NOT NULL, hash BLOB NOT NULL UNIQUE CHECK (length(hash) > 0),"
                    " perm TEXT NOT NULL CHECK (perm IN ('read', 'update')),"
                    " limited INTEGER NOT NULL CHECK (limited IN (0, 1)),"
                    " created INTEGER NOT NULL, revoked INTEGER);"
                    "CREATE TABLE token_zones (token_id INTEGER NOT NULL REFERENCES tokens(id)"
                    " ON DELETE CASCADE, zone TEXT NOT NULL,"
                    " PRIMARY KEY (token_id, zone)) WITHOUT ROWID;"
                    "INSERT INTO tokens VALUES (7, 'old', x'AA', 'update', 1, 5, NULL);"
                    "INSERT INTO tokens VALUES (9, 'gone', x'BB', 'read', 0, 6, 8);"
                    "INSERT INTO token_zones VALUES (7, 'example.com.');"
                    "ALTER TABLE tsig_keys DROP COLUMN scope_labels;"
                    "ALTER TABLE tsig_keys DROP COLUMN scope_types;"
                    "ALTER TABLE policies DROP COLUMN keystore;"
                    "ALTER TABLE policies DROP COLUMN ksk_keystore;"
                    "DELETE FROM schema_version WHERE version >= 4;");
    uint8_t h = 0xAA;
    struct ens_store_token g;
    assert_int_equal(ens_store_token_lookup(f->st, &h, 1, &g), 0);
    assert_int_equal(g.id, 7);
    assert_int_equal(g.perm, ENS_STORE_PERM_UPDATE);
    assert_true(g.limited && g.nzones == 1);
    assert_string_equal(g.zones[0], "example.com.");
    ens_store_token_clear(&g);
    struct ens_store_token m = {0};
    snprintf(m.name, sizeof m.name, "prometheus");
    memset(m.hash, 0xCC, 32);
    m.hashlen = 32;
    m.perm = ENS_STORE_PERM_METRICS;
    assert_int_equal(ens_store_token_create(f->st, &m, 10), 0);
    assert_int_equal(m.id, 10);
    assert_int_equal(ens_store_token_lookup(f->st, m.hash, 32, &g), 0);
    assert_int_equal(g.perm, ENS_STORE_PERM_METRICS);
    ens_store_token_clear(&g);
    ens_store_token_clear(&m);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM token_zones"), 1);
    exec_raw(f->db, "PRAGMA foreign_keys = ON; DELETE FROM tokens WHERE id = 7;");
    assert_int_equal(count_rows(f, "SELECT count(*) FROM token_zones"), 0);
}

/* A database of schema 4 gets the policies' keystores, empty (the data directory's key files,
 * where its keys always were), and keeps its policies; the names are then written and read. */
static void test_store_migration_6_gives_policies_keystores(void **state)
{
    struct fixture *f = *state;
    struct ens_store_policy p;
    ens_store_policy_init(&p, "split");
    p.csk = false;
    assert_int_equal(ens_store_policy_create(f->st, &p, 1), 0);
    reopen_after(f, "ALTER TABLE policies DROP COLUMN keystore;"
                    "ALTER TABLE policies DROP COLUMN ksk_keystore;"
                    "DELETE FROM schema_version WHERE version >= 6;");
    struct ens_store_policy g;
    assert_int_equal(ens_store_policy_get(f->st, "split", &g), 0);
    assert_false(g.csk);
    assert_string_equal(g.keystore, "");
    assert_string_equal(g.ksk_keystore, "");
    snprintf(g.ksk_keystore, sizeof g.ksk_keystore, "hsm-1");
    assert_int_equal(ens_store_policy_update(f->st, &g, 2), 0);
    assert_int_equal(ens_store_policy_get(f->st, "split", &g), 0);
    assert_string_equal(g.keystore, "");
    assert_string_equal(g.ksk_keystore, "hsm-1");
    snprintf(g.keystore, sizeof g.keystore, "no spaces");
    assert_int_equal(ens_store_policy_update(f->st, &g, 3), ENS_EINVAL);
}

/* Keys of several zones may be the same key pair on a token (a linked key): the store counts
 * them by locator, leaving out the key asked about. */
static void test_store_key_locator_users(void **state)
{
    struct fixture *f = *state;
    const char *loc = "pkcs11:token=t;id=shared;type=private";
    int64_t ids[2];
    const char *zones[] = {"a.test.", "b.test."};
    for (int i = 0; i < 2; i++) {
        struct ens_store_zone z;
        ens_store_zone_init(&z, zones[i]);
        assert_int_equal(ens_store_zone_create(f->st, &z, 1), 0);
        struct ens_store_key k;
        ens_store_key_init(&k);
        k.algorithm = 13;
        k.flags = 257;
        k.dnskey_len = 8;
        memset(k.dnskey, i + 1, 8);
        snprintf(k.locator, sizeof k.locator, "%s", loc);
        assert_int_equal(ens_store_key_insert(f->st, zones[i], &k), 0);
        ids[i] = k.id;
    }
    size_t n = 9;
    assert_int_equal(ens_store_key_locator_users(f->st, loc, NULL, 0, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(ens_store_key_locator_users(f->st, loc, "a.test.", ids[0], &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ens_store_key_delete(f->st, "b.test.", ids[1]), 0);
    assert_int_equal(ens_store_key_locator_users(f->st, loc, "a.test.", ids[0], &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(ens_store_key_locator_users(f->st, "pkcs11:token=t;id=other", NULL, 0, &n), 0);
    assert_int_equal(n, 0);
}

struct webhook_seen {
    int n;
    int64_t ids[8];
};

static int collect_webhook(void *ctx, const struct ens_store_webhook *w)
{
    struct webhook_seen *s = ctx;
    if (s->n < 8) {
        s->ids[s->n] = w->id;
    }
    s->n++;
    return 0;
}

static int stop_webhook(void *ctx, const struct ens_store_webhook *w)
{
    (void)ctx;
    (void)w;
    return 42;
}

static void test_store_webhooks_create_get_list_delete(void **state)
{
    struct fixture *f = *state;
    struct ens_store_webhook a = {0}, b = {0}, g;
    snprintf(a.url, sizeof a.url, "https://hooks.example/ensign");
    snprintf(a.secret, sizeof a.secret, "s3cret");
    assert_int_equal(ens_store_webhook_create(f->st, &a, 100), 0);
    assert_true(a.id > 0);
    assert_int_equal(a.created, 100);
    assert_string_equal(a.zone, "");

    snprintf(b.url, sizeof b.url, "http://127.0.0.1:9/x");
    snprintf(b.secret, sizeof b.secret, "other");
    snprintf(b.events, sizeof b.events, "dnssec.ds_seen,dnssec.sign_failed");
    snprintf(b.zone, sizeof b.zone, "Example.COM");
    assert_int_equal(ens_store_webhook_create(f->st, &b, 200), 0);
    assert_true(b.id > a.id);
    assert_string_equal(b.zone, "example.com.");

    assert_int_equal(ens_store_webhook_get(f->st, b.id, &g), 0);
    assert_int_equal(g.id, b.id);
    assert_string_equal(g.url, "http://127.0.0.1:9/x");
    assert_string_equal(g.secret, "other");
    assert_string_equal(g.events, "dnssec.ds_seen,dnssec.sign_failed");
    assert_string_equal(g.zone, "example.com.");
    assert_int_equal(g.created, 200);

    struct webhook_seen seen = {0};
    assert_int_equal(ens_store_webhook_list(f->st, collect_webhook, &seen), 0);
    assert_int_equal(seen.n, 2);
    assert_int_equal(seen.ids[0], a.id);
    assert_int_equal(seen.ids[1], b.id);
    assert_int_equal(ens_store_webhook_list(f->st, stop_webhook, NULL), 42);

    assert_int_equal(ens_store_webhook_delete(f->st, a.id), 0);
    assert_int_equal(ens_store_webhook_delete(f->st, a.id), ENS_ENOENT);
    assert_int_equal(ens_store_webhook_get(f->st, a.id, &g), ENS_ENOENT);
    assert_int_equal(ens_store_webhook_get(f->st, 999, &g), ENS_ENOENT);

    /* Ids are never given again. */
    struct ens_store_webhook c = a;
    c.id = 0;
    assert_int_equal(ens_store_webhook_delete(f->st, b.id), 0);
    assert_int_equal(ens_store_webhook_create(f->st, &c, 300), 0);
    assert_true(c.id > b.id);
}

static void test_store_webhook_refuses_bad_fields(void **state)
{
    struct fixture *f = *state;
    struct ens_store_webhook w = {0};
    snprintf(w.secret, sizeof w.secret, "x");
    assert_int_equal(ens_store_webhook_create(f->st, &w, 1), ENS_EINVAL);
    snprintf(w.url, sizeof w.url, "https://a.example/");
    snprintf(w.zone, sizeof w.zone, "bad..name");
    assert_int_equal(ens_store_webhook_create(f->st, &w, 1), ENS_EINVAL);
    w.zone[0] = '\0';
    memset(w.events, 'a', sizeof w.events); /* not terminated */
    assert_int_equal(ens_store_webhook_create(f->st, &w, 1), ENS_EINVAL);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM webhooks"), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_store_open_creates_schema_with_private_modes),
        T(test_store_reopen_keeps_data_and_applies_nothing_twice),
        T(test_store_refuses_newer_schema),
        T(test_store_refuses_foreign_database),
        T(test_store_open_fails_on_file_as_directory),
        T(test_store_zone_create_get_update_delete),
        T(test_store_zone_list_pages_by_name),
        T(test_store_rrset_replace_list_filter_delete),
        T(test_store_rrset_list_stops_when_callback_says),
        T(test_store_rollback_leaves_nothing),
        T(test_store_failed_step_undoes_only_itself),
        T(test_store_commit_is_seen_by_other_handles),
        T(test_store_keys_insert_get_update_list_delete),
        T(test_store_zone_delete_cascades_but_keeps_audit),
        T(test_store_tokens_by_hash_with_zone_limits),
        T(test_store_audit_newest_first_with_cursor_and_zone),
        T(test_store_metadata_set_get_replace_delete),
        T(test_store_status_defaults_and_roundtrip),
        T(test_store_policies_and_refusal_while_used),
        T(test_store_tsig_keys),
        T(test_store_journal_chain_read_and_trim),
        T(test_store_journal_limit_drops_the_oldest),
        T(test_store_policy_margins_and_csk_lifetime_round_trip),
        T(test_store_policy_to_kasp_and_back_keeps_every_field),
        T(test_store_migration_3_upgrades_an_older_database),
        T(test_store_migration_4_keeps_tokens_and_takes_metrics),
        T(test_store_migration_5_gives_tsig_keys_a_scope),
        T(test_store_migration_6_gives_policies_keystores),
        T(test_store_key_locator_users),
        T(test_store_webhooks_create_get_list_delete),
        T(test_store_webhook_refuses_bad_fields),
        cmocka_unit_test(test_store_name_canon),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
