/**
 * Row decoding shared by the SQLite and PostgreSQL stores: both drivers return BLOB/BYTEA as
 * Buffers and the same column names, so one mapper per row type serves both.
 */
import type { AccountRow, DeviceRow, LinkChannelRecord, QueuedMessage, QueueRecords } from './storage.ts';

/** A database row as the drivers return it. */
export type Row = Record<string, unknown>;

/** A `Uint8Array` view of a BLOB/BYTEA column value (no copy). */
export function bytes(value: unknown): Uint8Array {
  const b = value as Buffer;
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** An `accounts` row. (`Number` because PostgreSQL returns BIGINT as a string.) */
export function accountRow(r: Row): AccountRow {
  return {
    name: r.name as string,
    accountKey: bytes(r.account_key),
    deviceList: bytes(r.device_list),
    listVersion: r.list_version as number,
    createdAt: Number(r.created_at),
  };
}

/** A `devices` row. */
export function deviceRow(r: Row): DeviceRow {
  return { account: r.account as string, id: r.id as number, identity: bytes(r.identity) };
}

/** A `link_channels` row. */
export function linkChannelRow(r: Row): LinkChannelRecord {
  return {
    identity: r.identity as string,
    name: r.name as string,
    mac: r.mac as string,
    expiresAt: Number(r.expires_at),
  };
}

/** A `queue` row as served to its device. */
export function queuedMessageRow(r: Row): QueuedMessage {
  return {
    seq: Number(r.seq),
    sender: r.sender as string,
    senderDevice: r.sender_device as number,
    messageId: r.message_id as string,
    kind: r.kind as number,
    body: bytes(r.body),
    serverTime: Number(r.server_time),
  };
}

/**
 * The export's view of the queues and send log, from rows of
 * `device, sender, sender_device, server_time, bytes` (inbound),
 * `account, device, sender_device, server_time, bytes` (outbound) and
 * `sender_device, message_id, server_time` (send log).
 */
export function queueRecordsFromRows(inbound: Row[], outbound: Row[], sendLog: Row[]): QueueRecords {
  return {
    inbound: inbound.map((r) => ({
      device: r.device as number,
      sender: r.sender as string,
      senderDevice: r.sender_device as number,
      serverTime: Number(r.server_time),
      bytes: Number(r.bytes),
    })),
    outbound: outbound.map((r) => ({
      recipient: r.account as string,
      device: r.device as number,
      senderDevice: r.sender_device as number,
      serverTime: Number(r.server_time),
      bytes: Number(r.bytes),
    })),
    sendLog: sendLog.map((r) => ({
      senderDevice: r.sender_device as number,
      messageId: r.message_id as string,
      serverTime: Number(r.server_time),
    })),
  };
}

/** Tables with rows per device (same names in both schemas), dropped with the device. */
export const DEVICE_TABLES: readonly string[] = [
  'signed_prekeys',
  'one_time_prekeys',
  'kem_prekeys',
  'queue',
  'key_packages',
  'last_resort_key_packages',
  'group_members',
  'key_package_grants',
];
