/**
 * Screens are addressed by the URL hash, so back/forward and reload work and the server sees
 * no paths: `#/chat/NAME`, `#/chat/group:ID`, `#/group/ID`, `#/new-group`, `#/safety/NAME`,
 * `#/devices`.
 */
import { useEffect, useState } from 'preact/hooks';

/** A parsed route. */
export type Route =
  | { name: 'home' }
  | { name: 'chat'; peer: string }
  | { name: 'group-info'; id: string }
  | { name: 'new-group' }
  | { name: 'safety'; peer: string }
  | { name: 'devices' };

/** Parses a hash. */
export function parseRoute(hash: string): Route {
  const [, first, rest] = /^#\/([^/]*)\/?(.*)$/.exec(hash) ?? [];
  const arg = decodeURIComponent(rest ?? '');
  if (first === 'chat' && arg !== '') return { name: 'chat', peer: arg };
  if (first === 'group' && arg !== '') return { name: 'group-info', id: arg };
  if (first === 'new-group') return { name: 'new-group' };
  if (first === 'safety' && arg !== '') return { name: 'safety', peer: arg };
  if (first === 'devices') return { name: 'devices' };
  return { name: 'home' };
}

/** The hash for a conversation. */
export const chatHref = (peer: string): string => `#/chat/${encodeURIComponent(peer)}`;

/** The current route, updated on navigation. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

/** Goes to a hash. */
export function go(hash: string): void {
  location.hash = hash;
}
