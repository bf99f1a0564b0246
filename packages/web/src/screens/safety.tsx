/**
 * A contact's safety number: 60 digits in 12 groups and a QR code of the comparison payload
 * (the same as `parley verify` shows), with "Mark as verified", which passes the number shown
 * here: a key that changed between showing and clicking is refused, not verified. After a key
 * change it also takes the new key and sends held messages.
 */
import type { ContactSafety } from '@parley/client/web';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { Qr } from '../qr.tsx';
import { QrScanner } from '../qr-scanner.tsx';
import { chatHref } from '../route.ts';
import { describeError, type Session } from '../session.ts';

const base64Url = (bytes: Uint8Array): string =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');

export function Safety({ session, peer }: { session: Session; peer: string }) {
  const { client } = session;
  const [s, setS] = useState<ContactSafety | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const load = () => client.safety(peer, { show: true }).then(setS, (err) => setError(describeError(err)));
  useEffect(() => {
    void load();
  }, [peer]);

  const verify = async () => {
    setBusy(true);
    try {
      if (s === undefined) return;
      // The number on screen: if the key changed since, the client refuses it.
      await client.markVerified(peer, s.safetyNumber.digits);
      await load();
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  // A scanned code is the payload of their screen's QR: the client checks it against the current key.
  const scanned = useCallback(
    (text: string) => {
      setError(undefined);
      client.markVerified(peer, text).then(
        () => load(),
        (err) => setError(describeError(err)),
      );
    },
    [client, peer],
  );

  return (
    <section class="safety" aria-labelledby="safety-title">
      <header class="conversation-head">
        <a href={chatHref(peer)} class="back" aria-label={`Back to ${peer}`}>
          ←
        </a>
        <h2 id="safety-title">Safety number with {peer}</h2>
      </header>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {s && (
        <>
          <p>
            Compare these digits with {peer} in person or on a call, or scan each other's code. If they match, your
            messages are end-to-end encrypted with {peer} and nobody in between.
          </p>
          <p class="digits" data-testid="safety-digits">
            {s.safetyNumber.groups.map((g, i) => (
              <span key={i}>{g}</span>
            ))}
          </p>
          <Qr text={base64Url(s.safetyNumber.qrPayload)} label={`QR code of the safety number with ${peer}`} />
          {s.changedSinceShown && (
            <p class="banner warn" role="alert" data-testid="changed-since-shown">
              {peer}'s account key CHANGED since you last looked at this number: this is a new one.
            </p>
          )}
          {s.changed && (
            <p class="banner warn" role="alert">
              {peer}'s account key changed; this is the new number. Messages to {peer} are held until you compare it and
              mark it verified (or choose "Send anyway" in the conversation).
            </p>
          )}
          <p data-testid="directory-state">
            {s.directory === undefined
              ? 'Key directory: not checked (the server has no key directory, or it could not be reached).'
              : `Key directory: ${peer}'s key is in the server's directory at epoch ${s.directory.epoch} (entry version ${s.directory.version}).`}
          </p>
          <p role="status" data-testid="verified-state">
            {s.verified && !s.changed ? `✔ You have verified ${peer}.` : `${peer} is not verified.`}
          </p>
          {!(s.verified && !s.changed) && (
            <button type="button" onClick={verify} disabled={busy}>
              {s.changed ? 'Numbers match: accept and mark verified' : 'Mark as verified'}
            </button>
          )}
          {!(s.verified && !s.changed) && <QrScanner label={`Scan ${peer}'s code`} onCode={scanned} />}
        </>
      )}
    </section>
  );
}
