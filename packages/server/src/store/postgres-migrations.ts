/**
 * Numbered schema migrations for the PostgreSQL store (the same tables as SQLite's, in
 * PostgreSQL's types). Applied at start-up under an advisory lock, so several nodes starting at
 * once apply each migration exactly once.
 */
import type { Migration } from './migrations.ts';

/** Every PostgreSQL migration, oldest first. */
export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'accounts, devices, prekeys, queues, invites',
    up: `
      CREATE TABLE accounts (
        name TEXT PRIMARY KEY,
        account_key BYTEA NOT NULL,
        device_list BYTEA NOT NULL,
        list_version INTEGER NOT NULL,
        created_at BIGINT NOT NULL
      );
      CREATE TABLE devices (
        account TEXT NOT NULL REFERENCES accounts(name),
        id INTEGER NOT NULL,
        identity BYTEA NOT NULL,
        PRIMARY KEY (account, id)
      );
      CREATE TABLE signed_prekeys (
        account TEXT NOT NULL,
        device INTEGER NOT NULL,
        id BIGINT NOT NULL,
        public_key BYTEA NOT NULL,
        signature BYTEA NOT NULL,
        PRIMARY KEY (account, device)
      );
      CREATE TABLE one_time_prekeys (
        account TEXT NOT NULL,
        device INTEGER NOT NULL,
        id BIGINT NOT NULL,
        public_key BYTEA NOT NULL,
        PRIMARY KEY (account, device, id)
      );
      CREATE TABLE kem_prekeys (
        account TEXT NOT NULL,
        device INTEGER NOT NULL,
        id BIGINT NOT NULL,
        public_key BYTEA NOT NULL,
        signature BYTEA NOT NULL,
        last_resort BOOLEAN NOT NULL,
        PRIMARY KEY (account, device, id)
      );
      CREATE UNIQUE INDEX kem_last_resort ON kem_prekeys (account, device) WHERE last_resort;
      CREATE TABLE queue (
        seq BIGSERIAL PRIMARY KEY,
        account TEXT NOT NULL,
        device INTEGER NOT NULL,
        sender TEXT NOT NULL,
        sender_device INTEGER NOT NULL,
        message_id TEXT NOT NULL,
        kind SMALLINT NOT NULL,
        body BYTEA NOT NULL,
        server_time BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
      );
      CREATE INDEX queue_by_device ON queue (account, device, seq);
      CREATE INDEX queue_by_expiry ON queue (expires_at);
      CREATE TABLE send_log (
        sender TEXT NOT NULL,
        sender_device INTEGER NOT NULL,
        message_id TEXT NOT NULL,
        server_time BIGINT NOT NULL,
        PRIMARY KEY (sender, sender_device, message_id)
      );
      CREATE INDEX send_log_by_time ON send_log (server_time);
      CREATE TABLE invites (
        code_hash BYTEA PRIMARY KEY,
        created_at BIGINT NOT NULL,
        used_by TEXT,
        used_at BIGINT
      );
    `,
  },
  {
    version: 2,
    name: 'MLS KeyPackages and group delivery records',
    up: `
      CREATE TABLE key_packages (
        id BIGSERIAL PRIMARY KEY,
        account TEXT NOT NULL,
        device INTEGER NOT NULL,
        digest BYTEA NOT NULL,
        key_package BYTEA NOT NULL
      );
      CREATE UNIQUE INDEX key_packages_by_digest ON key_packages (account, device, digest);
      CREATE INDEX key_packages_by_device ON key_packages (account, device, id);
      CREATE TABLE last_resort_key_packages (
        account TEXT NOT NULL,
        device INTEGER NOT NULL,
        key_package BYTEA NOT NULL,
        PRIMARY KEY (account, device)
      );
      CREATE TABLE groups (
        group_id TEXT PRIMARY KEY,
        epoch BIGINT NOT NULL
      );
      CREATE TABLE group_members (
        group_id TEXT NOT NULL REFERENCES groups(group_id) ON DELETE CASCADE,
        account TEXT NOT NULL,
        device INTEGER NOT NULL,
        PRIMARY KEY (group_id, account, device)
      );
      CREATE INDEX group_members_by_device ON group_members (account, device);
    `,
  },
  {
    version: 3,
    name: 'link channels',
    up: `
      CREATE TABLE link_channels (
        id TEXT PRIMARY KEY,
        identity TEXT NOT NULL,
        name TEXT NOT NULL,
        mac TEXT NOT NULL,
        expires_at BIGINT NOT NULL,
        body TEXT
      );
    `,
  },
  {
    version: 4,
    name: 'shared message bodies, queue sizes, KeyPackage grants',
    up: `
      CREATE TABLE message_bodies (
        id BIGSERIAL PRIMARY KEY,
        body BYTEA NOT NULL
      );
      ALTER TABLE queue ADD COLUMN body_id BIGINT;
      ALTER TABLE queue ADD COLUMN size INTEGER NOT NULL DEFAULT 0;
      UPDATE queue SET size = octet_length(body);
      CREATE INDEX queue_by_body ON queue (body_id) WHERE body_id IS NOT NULL;
      CREATE TABLE key_package_grants (
        grantee TEXT NOT NULL,
        grantee_device INTEGER NOT NULL,
        account TEXT NOT NULL,
        device INTEGER NOT NULL,
        expires_at BIGINT NOT NULL,
        PRIMARY KEY (grantee, grantee_device, account, device)
      );
      CREATE INDEX key_package_grants_by_expiry ON key_package_grants (expires_at);
    `,
  },
  {
    version: 5,
    name: 'account name skeletons (lookalike names)',
    // Filled for older accounts when the store opens (the skeleton is computed in TypeScript);
    // NULLs do not collide in a unique index, so an account left without one is still served.
    up: `
      ALTER TABLE accounts ADD COLUMN skeleton TEXT;
      CREATE UNIQUE INDEX accounts_by_skeleton ON accounts (skeleton);
    `,
  },
  {
    version: 7,
    name: 'signed creation times of prekeys, device connection tokens',
    // Signatures made before this version do not cover a creation time and no longer verify at
    // initiators (docs/protocol.md §1.1): the old signed and ML-KEM prekeys are dropped, and each
    // device uploads new ones (rotation is due at once for a home without dated keys) when it next
    // connects. Until then its bundles are refused with NO_PREKEYS.
    up: `
      ALTER TABLE signed_prekeys ADD COLUMN created_at BIGINT NOT NULL DEFAULT 0;
      ALTER TABLE kem_prekeys ADD COLUMN created_at BIGINT NOT NULL DEFAULT 0;
      DELETE FROM signed_prekeys;
      DELETE FROM kem_prekeys;
      ALTER TABLE devices ADD COLUMN auth_token_hash BYTEA;
    `,
  },
  {
    version: 10,
    name: 'key transparency directory (issue 20)',
    // kt_pending: accounts whose directory value may have changed (written in the transaction that
    // changes them); kt_values: each account's current value and version; kt_epochs: signed heads;
    // kt_updates: what each epoch applied (served to auditors); kt_nodes: the map (MapNodeStore);
    // kt_state: root label, last epoch, the writer's lease and the directory's public keys.
    up: `
      CREATE TABLE kt_pending (seq BIGSERIAL PRIMARY KEY, name TEXT NOT NULL);
      CREATE TABLE kt_values (
        name TEXT PRIMARY KEY,
        map_key BYTEA NOT NULL,
        vrf_proof BYTEA NOT NULL,
        version BIGINT NOT NULL,
        account_key BYTEA NOT NULL,
        list_hash BYTEA NOT NULL
      );
      CREATE TABLE kt_epochs (epoch BIGINT PRIMARY KEY, head BYTEA NOT NULL);
      CREATE TABLE kt_updates (
        epoch BIGINT NOT NULL,
        map_key BYTEA NOT NULL,
        value_hash BYTEA NOT NULL,
        version BIGINT NOT NULL,
        PRIMARY KEY (epoch, map_key)
      );
      CREATE TABLE kt_nodes (
        label TEXT PRIMARY KEY,
        kind INTEGER NOT NULL,
        depth INTEGER NOT NULL,
        a BYTEA NOT NULL,
        b BYTEA,
        left_label TEXT,
        right_label TEXT
      );
      CREATE TABLE kt_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        epoch BIGINT NOT NULL DEFAULT -1,
        root_label TEXT,
        writer TEXT,
        lease_until BIGINT NOT NULL DEFAULT 0,
        directory_key BYTEA,
        vrf_key BYTEA
      );
      INSERT INTO kt_state (id) VALUES (1);
      CREATE TABLE kt_cosignatures (
        epoch BIGINT NOT NULL,
        witness_key BYTEA NOT NULL,
        signature BYTEA NOT NULL,
        PRIMARY KEY (epoch, witness_key)
      );
    `,
  },
];
