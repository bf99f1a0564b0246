/**
 * The command-line flags every `parley` command shares, and their parsed type.
 */
import type { parseArgs } from 'node:util';

/** Flag definitions for node:util parseArgs. */
export const OPTIONS = {
  port: { type: 'string' },
  host: { type: 'string' },
  data: { type: 'string' },
  db: { type: 'string' },
  bus: { type: 'string' },
  'queue-ttl-days': { type: 'string' },
  'send-log-hours': { type: 'string' },
  'queue-sender-share': { type: 'string' },
  'invite-only': { type: 'boolean' },
  'accept-loss': { type: 'boolean' },
  'db-max-mb': { type: 'string' },
  sync: { type: 'string' },
  'log-level': { type: 'string' },
  'log-file': { type: 'string' },
  'web-dir': { type: 'string' },
  'print-web-digest': { type: 'boolean' },
  'metrics-listen': { type: 'string' },
  'metrics-token': { type: 'string' },
  'blob-quota': { type: 'string' },
  'max-attachment': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  server: { type: 'string' },
  insecure: { type: 'boolean' },
  home: { type: 'string' },
  invite: { type: 'string' },
  wait: { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  accept: { type: 'string' },
  'accept-change': { type: 'boolean' },
  'discard-held': { type: 'boolean' },
  name: { type: 'string' },
  'device-name': { type: 'string' },
  members: { type: 'string' },
  group: { type: 'string' },
  'transfer-account-key': { type: 'boolean' },
  file: { type: 'string', multiple: true },
  caption: { type: 'string' },
  downloads: { type: 'string' },
  limit: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;

/** Parsed options every command receives. */
export type Flags = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];
