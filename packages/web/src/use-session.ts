/**
 * Re-renders the calling component after each client event (and returns the last event), so
 * screens read fresh state from the client's local database.
 */
import type { ClientEvent } from '@parley/client/web';
import { useEffect, useState } from 'preact/hooks';
import type { Session } from './session.ts';

export function useSession(session: Session, onEvent?: (e: ClientEvent | undefined) => void): number {
  const [tick, setTick] = useState(0);
  useEffect(
    () =>
      session.subscribe((e) => {
        onEvent?.(e);
        setTick((t) => t + 1);
      }),
    [session, onEvent],
  );
  return tick;
}
