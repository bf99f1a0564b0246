/**
 * The app's connection to the SDK: opening the home saved in this browser profile, creating an
 * account, linking as a new device, and a tiny subscription so screens re-render when the
 * client reports something (they then read the client's local database synchronously).
 */

import {
  type ClientEvent,
  createWebPlatform,
  isClientError,
  isHomeProtected,
  listHomes,
  openClient,
  type ParleyClient,
  type PendingLink,
  registerAccount,
  startLink,
} from '@parley/client/web';
import sqliteWasmUrl from '@sqlite.org/sqlite-wasm/sqlite3.wasm?url';
import { type AttachmentStore, createAttachmentStore } from './attachment-store.ts';
import { keepConnecting } from './offline.ts';

/** The one home this browser profile holds (IndexedDB key). */
export const HOME = 'parley';

/**
 * The SDK's browser platform: SQLite's WebAssembly fetched with the integrity hash the build
 * computed (vite.config.ts); the home encrypted under `passphrase` when one is set.
 */
const platformFor = (passphrase: string | undefined) =>
  createWebPlatform({
    sqliteWasm: { url: sqliteWasmUrl, integrity: __SQLITE_WASM_SRI__ },
    ...(passphrase ? { passphrase } : {}),
  });

/** The name this browser gives itself as an account's first device. */
const FIRST_DEVICE_NAME = 'browser';

/** Options every client of this app is opened with (read receipts follow the home's setting, default on). */
const OPTIONS = { home: HOME, maxBackoffMs: 10_000 } as const;

/** The server is the origin that served this page. */
export const SERVER = location.origin;

/** A connected client plus change notification for the UI. */
export interface Session {
  readonly client: ParleyClient;
  /** Calls `fn` after each client event (undefined: a change made on this page); returns the unsubscribe function. */
  subscribe(fn: (e: ClientEvent | undefined) => void): () => void;
  /** Marks a conversation read if it has unread messages (sends read receipts), and tells subscribers. */
  markRead(peer: string): void;
  /** The latest connection state. */
  connection(): 'connecting' | 'connected' | 'disconnected' | 'replaced' | 'removed';
  /**
   * The devices of this account whose key the server saw in use from two programs in turn
   * (`key-in-use` events since this page opened), this device's as `this`.
   */
  keysInUse(): readonly (number | 'this')[];
  /** Attachments received, sent and being sent while this page is open. */
  readonly attachments: AttachmentStore;
}

function wrap(client: ParleyClient): Session {
  const listeners = new Set<(e: ClientEvent | undefined) => void>();
  let state: ReturnType<Session['connection']> = client.isConnected() ? 'connected' : 'connecting';
  const inUse: (number | 'this')[] = [];
  const attachments = createAttachmentStore(client);
  void (async () => {
    for await (const e of client.events()) {
      attachments.onEvent(e);
      if (e.type === 'connection') state = e.state;
      if (e.type === 'key-in-use') {
        const which = e.thisDevice ? 'this' : e.device;
        if (!inUse.includes(which)) inUse.push(which);
      }
      for (const l of listeners) l(e);
    }
  })();
  return {
    client,
    attachments,
    subscribe(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    connection: () => (client.isConnected() ? 'connected' : state),
    keysInUse: () => inUse,
    markRead(peer) {
      if (!client.conversations().some((c) => c.peer === peer && c.unread > 0)) return;
      client.markRead(peer);
      for (const l of listeners) l(undefined);
    },
  };
}

/** What the saved home needs to open: nothing (no account yet), a passphrase, or nothing more. */
export async function savedHome(): Promise<'none' | 'locked' | 'open'> {
  if (!(await listHomes()).includes(HOME)) return 'none';
  return (await isHomeProtected(HOME)) ? 'locked' : 'open';
}

/** Opens and connects the saved home, or undefined if this profile has no account yet. */
export async function resume(passphrase?: string): Promise<Session | undefined> {
  if (!(await listHomes()).includes(HOME)) return undefined;
  let client: ParleyClient;
  try {
    client = await openClient(OPTIONS, platformFor(passphrase));
  } catch (err) {
    if (isClientError(err, 'NOT_REGISTERED')) return undefined;
    throw err;
  }
  const session = wrap(client);
  // Offline is fine: the app opens with its history, and keeps trying to connect in the
  // background (queued sends go out when it does).
  await client.connect().catch(() => {
    void keepConnecting(
      () => client.connect(),
      () => client.isConnected(),
    );
  });
  return session;
}

/** Creates account `name` on this server (its home encrypted under `passphrase` if given). */
export async function createAccount(
  name: string,
  invite: string | undefined,
  passphrase: string | undefined,
): Promise<Session> {
  const client = await registerAccount(
    { ...OPTIONS, name, server: SERVER, deviceName: FIRST_DEVICE_NAME, ...(invite ? { invite } : {}) },
    platformFor(passphrase),
  );
  return wrap(client);
}

/** Starts linking this browser as a new device; `finish` opens it once an existing device accepted. */
export async function beginLink(
  deviceName: string,
  passphrase: string | undefined,
): Promise<{ pending: PendingLink; finish(): Promise<Session> }> {
  const platform = platformFor(passphrase);
  const pending = await startLink({ home: HOME, server: SERVER, deviceName }, platform);
  return {
    pending,
    async finish() {
      await pending.done;
      const client = await openClient(OPTIONS, platform);
      await client.connect();
      return wrap(client);
    },
  };
}

/** A short, user-facing sentence for an error from the SDK. */
export function describeError(err: unknown): string {
  if (isClientError(err)) return err.message;
  return err instanceof Error ? err.message : 'something went wrong';
}
