/**
 * Database images in IndexedDB (browsers): one object store, `homes`, keyed by home name, in
 * the IndexedDB database `parley`. Each save is one `put` in its own transaction, durable when
 * the transaction completes (Chromium commits with `durability: 'strict'` when asked).
 */
import type { ImageStore } from './wasm-home-database.ts';

const DB_NAME = 'parley';
const STORE = 'homes';

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

let opened: Promise<IDBDatabase> | undefined;
function openIdb(): Promise<IDBDatabase> {
  opened ??= new Promise((resolve, reject) => {
    const r = indexedDB.open(DB_NAME, 1);
    r.onupgradeneeded = () => r.result.createObjectStore(STORE);
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => {
      opened = undefined;
      reject(r.error);
    };
  });
  return opened;
}

/** The image store of home `name` in this browser profile's IndexedDB. */
export function createIndexedDbImageStore(name: string): ImageStore {
  return {
    async load() {
      const idb = await openIdb();
      const v = await request(idb.transaction(STORE, 'readonly').objectStore(STORE).get(name));
      return v instanceof Uint8Array ? v : undefined;
    },
    async save(image) {
      const idb = await openIdb();
      const tx = idb.transaction(STORE, 'readwrite', { durability: 'strict' });
      tx.objectStore(STORE).put(image, name);
      await new Promise<void>((resolve, reject) => {
        tx.oncomplete = () => resolve();
        tx.onerror = () => reject(tx.error);
        tx.onabort = () => reject(tx.error);
      });
    },
  };
}

/** Names of the homes saved in this browser profile. */
export async function listIndexedDbHomes(): Promise<string[]> {
  const idb = await openIdb();
  const keys = await request(idb.transaction(STORE, 'readonly').objectStore(STORE).getAllKeys());
  return keys.filter((k): k is string => typeof k === 'string');
}

/** Deletes a saved home (its keys and history) from this browser profile. */
export async function deleteIndexedDbHome(name: string): Promise<void> {
  const idb = await openIdb();
  const tx = idb.transaction(STORE, 'readwrite');
  tx.objectStore(STORE).delete(name);
  await new Promise<void>((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
  });
}
