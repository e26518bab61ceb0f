/* ensign store: the schema, as a list of migrations. A migration is never edited once
 * released: a change to the schema is a new entry at the end of the list with the next
 * version, and ENS_STORE_SCHEMA_VERSION (store.h) moves with it.
 *
 * Conventions of every table: times are Unix seconds given by the caller (NULL where unset);
 * booleans are 0/1 under a CHECK; zone names are canonical presentation text (lower case,
 * absolute, escaped like ens_name_to_text); everything that belongs to a zone references
 * zones(id) ON DELETE CASCADE, so deleting a zone deletes all of it in the same transaction.
 * Ids shown to users (zones, keys, tokens, audit entries) use AUTOINCREMENT so that a deleted
 * id is never given again. */
#include "store/store_int.h"

static const char MIGRATION_1[] =
    /* schema_version: one row per applied migration; the database's version is the largest. */
    "CREATE TABLE schema_version ("
    " version INTEGER PRIMARY KEY,"
    " description TEXT NOT NULL);"

    /* policies: named key and signing policies (KASP). Durations are seconds; a lifetime of 0
     * is unlimited. csk 1 means one combined key, 0 a KSK + ZSK pair. The key manager reads
     * them; zones refer to them by id, and a policy in use cannot be deleted. */
    "CREATE TABLE policies ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " name TEXT NOT NULL UNIQUE,"
    " algorithm INTEGER NOT NULL CHECK (algorithm BETWEEN 1 AND 255),"
    " bits INTEGER NOT NULL DEFAULT 0,"
    " csk INTEGER NOT NULL CHECK (csk IN (0, 1)),"
    " ksk_lifetime INTEGER NOT NULL CHECK (ksk_lifetime >= 0),"
    " zsk_lifetime INTEGER NOT NULL CHECK (zsk_lifetime >= 0),"
    " dnskey_ttl INTEGER NOT NULL,"
    " zone_max_ttl INTEGER NOT NULL,"
    " propagation_delay INTEGER NOT NULL,"
    " parent_ds_ttl INTEGER NOT NULL,"
    " parent_propagation_delay INTEGER NOT NULL,"
    " sig_validity INTEGER NOT NULL CHECK (sig_validity > 0),"
    " sig_refresh INTEGER NOT NULL CHECK (sig_refresh >= 0),"
    " nsec3 INTEGER NOT NULL CHECK (nsec3 IN (0, 1)),"
    " nsec3_iterations INTEGER NOT NULL CHECK (nsec3_iterations BETWEEN 0 AND 65535),"
    " nsec3_optout INTEGER NOT NULL CHECK (nsec3_optout IN (0, 1)),"
    " nsec3_salt TEXT NOT NULL DEFAULT '',"
    " created INTEGER NOT NULL,"
    " updated INTEGER NOT NULL);"

    /* The default policy every database starts with (RFC 9276 NSEC3 parameters, one ECDSA
     * P-256 CSK, ZSK lifetime 90 days). Its times are 0: the store has no clock. */
    "INSERT INTO policies (name, algorithm, bits, csk, ksk_lifetime, zsk_lifetime, dnskey_ttl,"
    " zone_max_ttl, propagation_delay, parent_ds_ttl, parent_propagation_delay, sig_validity,"
    " sig_refresh, nsec3, nsec3_iterations, nsec3_optout, nsec3_salt, created, updated)"
    " VALUES ('default', 13, 0, 1, 0, 7776000, 3600, 86400, 300, 86400, 3600, 1209600,"
    " 604800, 1, 0, 0, '', 0, 0);"

    /* zones: one row per zone and its settings. kind as the PowerDNS API names it. serial is
     * the SOA serial last published (the SOA record itself is in rrsets), notified_serial the
     * last one secondaries were told about. serial_policy says how a change moves the serial.
     * dnssec and the nsec3 fields are the zone's own denial settings; policy_id (NULL: none)
     * names the key policy. parent_servers lists the parent's servers for the DS probe. */
    "CREATE TABLE zones ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " name TEXT NOT NULL UNIQUE,"
    " kind TEXT NOT NULL CHECK (kind IN ('Native', 'Master')),"
    " serial INTEGER NOT NULL DEFAULT 0 CHECK (serial BETWEEN 0 AND 4294967295),"
    " notified_serial INTEGER NOT NULL DEFAULT 0,"
    " serial_policy TEXT NOT NULL"
    "  CHECK (serial_policy IN ('keep', 'increment', 'unixtime', 'dateserial')),"
    " dnssec INTEGER NOT NULL CHECK (dnssec IN (0, 1)),"
    " nsec3 INTEGER NOT NULL CHECK (nsec3 IN (0, 1)),"
    " nsec3_iterations INTEGER NOT NULL CHECK (nsec3_iterations BETWEEN 0 AND 65535),"
    " nsec3_optout INTEGER NOT NULL CHECK (nsec3_optout IN (0, 1)),"
    " nsec3_salt TEXT NOT NULL DEFAULT '',"
    " policy_id INTEGER REFERENCES policies(id) ON DELETE RESTRICT,"
    " parent_servers TEXT NOT NULL DEFAULT '',"
    " created INTEGER NOT NULL,"
    " updated INTEGER NOT NULL);"
    "CREATE INDEX zones_policy ON zones(policy_id);"

    /* rrsets: one row per RRset (owner, type) of a zone with its one TTL (RFC 2181 §5.2).
     * owner is the uncompressed wire form as given (case kept for output); owner_key is
     * ens_name_canon_key of it, so that equality is case-insensitive (RFC 4343) and ORDER BY
     * owner_key is the canonical order of RFC 4034 §6.1. */
    "CREATE TABLE rrsets ("
    " id INTEGER PRIMARY KEY,"
    " zone_id INTEGER NOT NULL REFERENCES zones(id) ON DELETE CASCADE,"
    " owner BLOB NOT NULL,"
    " owner_key BLOB NOT NULL,"
    " type INTEGER NOT NULL CHECK (type BETWEEN 1 AND 65535),"
    " ttl INTEGER NOT NULL CHECK (ttl BETWEEN 0 AND 4294967295),"
    " UNIQUE (zone_id, owner_key, type));"

    /* records: one row per record of an RRset. rdata is the uncompressed wire form produced
     * by the dns module's codecs: the one form the signer, the server and IXFR need, exact for
     * every type including unknown ones (RFC 3597), with equality as byte equality. The API
     * prints it with ens_rr_to_text. disabled records are kept but not published. */
    "CREATE TABLE records ("
    " id INTEGER PRIMARY KEY,"
    " rrset_id INTEGER NOT NULL REFERENCES rrsets(id) ON DELETE CASCADE,"
    " rdata BLOB NOT NULL CHECK (length(rdata) <= 65535),"
    " disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),"
    " UNIQUE (rrset_id, rdata));"

    /* keys: DNSSEC key metadata. The private key stays in its keystore; locator says where
     * (key file base path or PKCS#11 URI). dnskey is the DNSKEY rdata (public key, flags,
     * algorithm) from which tag, DS and CDS are computed. published/active are what the key
     * does now; t_* are the RFC 7583 §3.1 timestamps; state is the key manager's state name;
     * ds_seen / ds_gone are when the DS probe first saw the key's DS at the parent and saw it
     * gone again. */
    "CREATE TABLE keys ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " zone_id INTEGER NOT NULL REFERENCES zones(id) ON DELETE CASCADE,"
    " tag INTEGER NOT NULL CHECK (tag BETWEEN 0 AND 65535),"
    " algorithm INTEGER NOT NULL CHECK (algorithm BETWEEN 0 AND 255),"
    " bits INTEGER NOT NULL DEFAULT 0,"
    " role TEXT NOT NULL CHECK (role IN ('ksk', 'zsk', 'csk')),"
    " flags INTEGER NOT NULL CHECK (flags BETWEEN 0 AND 65535),"
    " dnskey BLOB NOT NULL CHECK (length(dnskey) >= 4),"
    " locator TEXT NOT NULL,"
    " published INTEGER NOT NULL CHECK (published IN (0, 1)),"
    " active INTEGER NOT NULL CHECK (active IN (0, 1)),"
    " t_created INTEGER, t_published INTEGER, t_ready INTEGER,"
    " t_active INTEGER, t_retired INTEGER, t_removed INTEGER,"
    " state TEXT NOT NULL DEFAULT '',"
    " ds_seen INTEGER, ds_gone INTEGER,"
    " UNIQUE (zone_id, dnskey));"

    /* zone_dnssec_status: what operators see as the zone's DNSSEC status (lastSignedAt,
     * lastSignError, dsDelegated, nextDsProbeAt) plus the earliest RRSIG expiration of the
     * published zone, which tells the signer when it must act at the latest. At most one row
     * per zone; no row reads as "never signed". */
    "CREATE TABLE zone_dnssec_status ("
    " zone_id INTEGER PRIMARY KEY REFERENCES zones(id) ON DELETE CASCADE,"
    " last_signed INTEGER,"
    " last_sign_error TEXT NOT NULL DEFAULT '',"
    " ds_delegated INTEGER NOT NULL DEFAULT 0 CHECK (ds_delegated IN (0, 1)),"
    " last_ds_probe INTEGER,"
    " next_ds_probe INTEGER,"
    " earliest_expiry INTEGER);"

    /* metadata: per-zone settings in the PowerDNS style, several values per kind
     * (ALLOW-AXFR-FROM, ALSO-NOTIFY, TSIG-ALLOW-AXFR, PUBLISH-CDS, SOA-EDIT-API, X-...), in the
     * order they were set (id). */
    "CREATE TABLE metadata ("
    " id INTEGER PRIMARY KEY,"
    " zone_id INTEGER NOT NULL REFERENCES zones(id) ON DELETE CASCADE,"
    " kind TEXT NOT NULL CHECK (length(kind) > 0),"
    " value TEXT NOT NULL);"
    "CREATE INDEX metadata_zone_kind ON metadata(zone_id, kind, id);"

    /* tsig_keys: TSIG keys (RFC 8945) for zone transfers and NOTIFY. Unlike API tokens the
     * secret itself is kept (base64): TSIG needs it to compute and check MACs. This is why the
     * database file is created mode 0600. */
    "CREATE TABLE tsig_keys ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " algorithm TEXT NOT NULL,"
    " secret TEXT NOT NULL);"

    /* tokens: API tokens. Only a hash of the secret is kept (computed by the API layer), so
     * the database never holds a usable token; lookups go by hash. perm is read or update.
     * limited 1 restricts the token to the zones in token_zones (an empty list then allows
     * nothing). revoked is NULL while the token is valid; tokens are revoked, never deleted,
     * so audit entries keep meaning. */
    "CREATE TABLE tokens ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " name TEXT NOT NULL,"
    " hash BLOB NOT NULL UNIQUE CHECK (length(hash) > 0),"
    " perm TEXT NOT NULL CHECK (perm IN ('read', 'update')),"
    " limited INTEGER NOT NULL CHECK (limited IN (0, 1)),"
    " created INTEGER NOT NULL,"
    " revoked INTEGER);"

    /* token_zones: the zones a limited token may touch, by name and not by reference to
     * zones: deleting a zone must not widen a token, and a token may name a zone before it
     * is created. */
    "CREATE TABLE token_zones ("
    " token_id INTEGER NOT NULL REFERENCES tokens(id) ON DELETE CASCADE,"
    " zone TEXT NOT NULL,"
    " PRIMARY KEY (token_id, zone)) WITHOUT ROWID;"

    /* audit: every mutating call, append-only: when, which token (0: the administrator key),
     * the action, the zone by name (entries outlive the zone) and details as JSON text. */
    "CREATE TABLE audit ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " at INTEGER NOT NULL,"
    " token_id INTEGER NOT NULL,"
    " action TEXT NOT NULL CHECK (length(action) > 0),"
    " zone TEXT,"
    " detail TEXT);"
    "CREATE INDEX audit_zone ON audit(zone, id);"

    /* journal: the differences between successive published versions of a zone, for IXFR
     * (RFC 1995): one row per serial step, and in journal_records the records deleted (op 0)
     * and added (op 1) by it, in order (seq). */
    "CREATE TABLE journal ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " zone_id INTEGER NOT NULL REFERENCES zones(id) ON DELETE CASCADE,"
    " serial_from INTEGER NOT NULL,"
    " serial_to INTEGER NOT NULL,"
    " at INTEGER NOT NULL);"
    "CREATE INDEX journal_zone_from ON journal(zone_id, serial_from);"
    "CREATE TABLE journal_records ("
    " change_id INTEGER NOT NULL REFERENCES journal(id) ON DELETE CASCADE,"
    " seq INTEGER NOT NULL,"
    " op INTEGER NOT NULL CHECK (op IN (0, 1)),"
    " owner BLOB NOT NULL,"
    " type INTEGER NOT NULL,"
    " ttl INTEGER NOT NULL,"
    " rdata BLOB NOT NULL,"
    " PRIMARY KEY (change_id, seq)) WITHOUT ROWID;";

/* signed_records: what the signer made for the version last published (RRSIG, NSEC, NSEC3,
 * NSEC3PARAM, DNSKEY, CDS, CDNSKEY), kept with the data in the same transactions so that a
 * restart serves the signed zone again without signing what is still fresh. */
#define MIGRATION_2                                                                                \
    "CREATE TABLE signed_records ("                                                                \
    " zone_id INTEGER NOT NULL REFERENCES zones(id) ON DELETE CASCADE,"                            \
    " owner BLOB NOT NULL,"                                                                        \
    " type INTEGER NOT NULL CHECK (type BETWEEN 1 AND 65535),"                                     \
    " ttl INTEGER NOT NULL,"                                                                       \
    " rdata BLOB NOT NULL,"                                                                        \
    " PRIMARY KEY (zone_id, owner, type, rdata)) WITHOUT ROWID;"

/* policies gain the CSK lifetime (0: unlimited) and the RFC 7583 §3.2.1 publish and retire
 * safety margins the key manager adds to its intervals (seconds).
 * webhooks: where key events are POSTed. secret keys the HMAC of each delivery and is kept as
 * given (it must be usable); the API never shows it. events is a comma-separated list of
 * event names ('' = every event); zone a canonical zone name ('' = every zone), by name and
 * not by reference so that a webhook may name a zone before it exists. */
#define MIGRATION_3                                                                                \
    "ALTER TABLE policies ADD COLUMN csk_lifetime INTEGER NOT NULL DEFAULT 0"                      \
    " CHECK (csk_lifetime >= 0);"                                                                  \
    "ALTER TABLE policies ADD COLUMN publish_safety INTEGER NOT NULL DEFAULT 3600"                 \
    " CHECK (publish_safety >= 0);"                                                                \
    "ALTER TABLE policies ADD COLUMN retire_safety INTEGER NOT NULL DEFAULT 3600"                  \
    " CHECK (retire_safety >= 0);"                                                                 \
    "CREATE TABLE webhooks ("                                                                      \
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"                                                       \
    " url TEXT NOT NULL CHECK (length(url) > 0),"                                                  \
    " secret TEXT NOT NULL,"                                                                       \
    " events TEXT NOT NULL DEFAULT '',"                                                            \
    " zone TEXT NOT NULL DEFAULT '',"                                                              \
    " created INTEGER NOT NULL);"

/* tokens gain the permission metrics (GET /metrics and nothing else). SQLite cannot change a
 * CHECK in place: the table is made again with its rows and ids (tokens are never deleted,
 * so AUTOINCREMENT starts after the last id ever given), and token_zones with it, so its
 * foreign key follows the new table when it takes the old name. */
#define MIGRATION_4                                                                                \
    "CREATE TABLE tokens_v4 ("                                                                     \
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"                                                       \
    " name TEXT NOT NULL,"                                                                         \
    " hash BLOB NOT NULL UNIQUE CHECK (length(hash) > 0),"                                         \
    " perm TEXT NOT NULL CHECK (perm IN ('read', 'update', 'metrics')),"                           \
    " limited INTEGER NOT NULL CHECK (limited IN (0, 1)),"                                         \
    " created INTEGER NOT NULL,"                                                                   \
    " revoked INTEGER);"                                                                           \
    "INSERT INTO tokens_v4 (id, name, hash, perm, limited, created, revoked)"                      \
    " SELECT id, name, hash, perm, limited, created, revoked FROM tokens;"                         \
    "CREATE TABLE token_zones_v4 ("                                                                \
    " token_id INTEGER NOT NULL REFERENCES tokens_v4(id) ON DELETE CASCADE,"                       \
    " zone TEXT NOT NULL,"                                                                         \
    " PRIMARY KEY (token_id, zone)) WITHOUT ROWID;"                                                \
    "INSERT INTO token_zones_v4 (token_id, zone) SELECT token_id, zone FROM token_zones;"          \
    "DROP TABLE token_zones;"                                                                      \
    "DROP TABLE tokens;"                                                                           \
    "ALTER TABLE tokens_v4 RENAME TO tokens;"                                                      \
    "ALTER TABLE token_zones_v4 RENAME TO token_zones;"

/* tsig_keys gain the scope of the DNS UPDATEs they may sign: scope_labels, a comma-separated
 * list of labels (an updated name must be at or below a node with one of them, such as
 * "_acme-challenge"), and scope_types, a comma-separated list of type mnemonics; '' = any. */
#define MIGRATION_5                                                                                \
    "ALTER TABLE tsig_keys ADD COLUMN scope_labels TEXT NOT NULL DEFAULT '';"                      \
    "ALTER TABLE tsig_keys ADD COLUMN scope_types TEXT NOT NULL DEFAULT '';"

/* policies gain where their keys are made: keystore, the name of a keystore configured at
 * `ensign serve --keystore NAME=URI` ('' = the file keystore of the data directory) for the
 * keys of every role, and ksk_keystore for KSKs and CSKs (the keys the parent's DS names; ''
 * = keystore). Names, not references: keystores are configuration, not data. */
#define MIGRATION_6                                                                                \
    "ALTER TABLE policies ADD COLUMN keystore TEXT NOT NULL DEFAULT '';"                           \
    "ALTER TABLE policies ADD COLUMN ksk_keystore TEXT NOT NULL DEFAULT '';"

const struct st_migration st_migrations[] = {
    {1, "initial schema", MIGRATION_1},
    {2, "signed records", MIGRATION_2},
    {3, "policy margins and CSK lifetime, webhooks", MIGRATION_3},
    {4, "token permission metrics", MIGRATION_4},
    {5, "TSIG key update scopes", MIGRATION_5},
    {6, "policy keystores", MIGRATION_6},
};
const size_t st_nmigrations = sizeof(st_migrations) / sizeof(st_migrations[0]);
