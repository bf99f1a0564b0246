/**
 * Helpers for group tests: wait for a condition, and read a group's conversation and members as
 * one device sees them.
 */
import { groupPeer, type ParleyClient } from '@parley/client';

/** Polls until `check` holds (or fails with `what`). */
export async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The texts of a group's conversation on one device (no system lines), in order. */
export const texts = (c: ParleyClient, groupId: string): string[] =>
  c
    .history(groupPeer(groupId), 1000)
    .filter((m) => m.direction !== 'system')
    .map((m) => m.text);

/** True when the device is an active member of the group. */
export const inGroup = (c: ParleyClient, groupId: string): boolean =>
  c.groups().some((g) => g.id === groupId && g.status === 'active');

/** The group's members on one device as sorted `account:device+device` strings. */
export const membersOf = (c: ParleyClient, groupId: string): string[] =>
  c
    .group(groupId)
    .members.map((m) => `${m.name}:${[...m.devices].sort().join('+')}`)
    .sort();
