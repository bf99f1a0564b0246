/**
 * Keeping this device's MLS KeyPackages on the server, like one-time prekeys: private halves
 * are stored locally first, then the public halves uploaded. The server consumes each one-time
 * package once and says `key-packages-low` when a fetch leaves fewer than its mark; a reusable
 * last-resort package covers an exhausted stock.
 */
import { loadGroupProtocol, toBase64Url } from '@parley/protocol';
import type { Profile } from '../home/profile.ts';
import type { RelayLink } from '../relay/relay-link.ts';
import type { GroupStore } from './group-store.ts';

/** Unused one-time KeyPackages kept on the server. */
export const KEY_PACKAGE_TARGET = 20;

/** What the stock needs. */
export interface KeyPackageStockDeps {
  readonly store: GroupStore;
  profile(): Profile;
  readonly clock: () => number;
  link(): RelayLink;
}

/** Creates the refill routine (one refill at a time; each reads the server's count afresh). */
export function createKeyPackageStock(deps: KeyPackageStockDeps): { refill(): Promise<void> } {
  let running: Promise<void> = Promise.resolve();
  // The last-resort package is (re)published once per process: the server keeps the latest.
  let lastResortPublished = false;
  const make = async (lastResort: boolean): Promise<string> => {
    const p = deps.profile();
    // The group protocol loads here only when the stock needs new packages.
    const { createKeyPackage } = await loadGroupProtocol();
    const created = await createKeyPackage(p.identity, p.name, p.device);
    deps.store.saveKeyPackage(created.ref, created.keyPackage, created.privateKeys, lastResort, deps.clock());
    return toBase64Url(created.keyPackage);
  };
  return {
    refill() {
      running = running
        // The previous refill's caller got its error; this one starts afresh either way.
        .catch(() => {})
        .then(async () => {
          const link = deps.link();
          const have = (await link.request('upload-key-packages', { keyPackages: [] })).keyPackages;
          const stored = deps.store.lastResort();
          const lastResort = lastResortPublished
            ? undefined
            : stored === undefined
              ? await make(true)
              : toBase64Url(stored);
          const keyPackages: string[] = [];
          for (let i = have; i < KEY_PACKAGE_TARGET; i++) keyPackages.push(await make(false));
          if (keyPackages.length === 0 && lastResort === undefined) return;
          await link.request('upload-key-packages', {
            keyPackages,
            ...(lastResort === undefined ? {} : { lastResort }),
          });
          lastResortPublished = true;
        });
      return running;
    },
  };
}
