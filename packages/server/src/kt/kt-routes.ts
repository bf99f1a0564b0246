/**
 * The unauthenticated key-transparency endpoints (docs/protocol.md §19), for auditors and
 * witnesses:
 * - `GET /v1/kt/audit` → `{ latest, ktKey, ktVrfKey }` (latest epoch, -1 when none);
 * - `GET /v1/kt/audit?epoch=N` → `{ epoch, head, updates: [{ key, value, version }] }`;
 * - `POST /v1/kt/witness` with `{ epoch, key, sig }` (base64url Ed25519 public key and
 *   cosignature, `witnessCosignatureMessage`) → 204; 400 for a bad body or signature, 404 for an
 *   unknown epoch, 429 once an epoch holds `KT_MAX_COSIGNATURES` from other keys.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type CryptoProvider, fromBase64Url } from '@parley/protocol';
import { verifyCosignature } from '@parley/protocol/kt';
import { isServerError } from '../errors.ts';
import type { KeyDirectory } from './directory.ts';

/** Most distinct witness keys kept per epoch. */
export const KT_MAX_COSIGNATURES = 32;
const MAX_BODY = 1024;

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(body === undefined ? undefined : JSON.stringify(body));
}

export function ktRoutes(
  kt: KeyDirectory,
  provider: CryptoProvider,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'GET' && url.pathname === '/v1/kt/audit') {
      const e = url.searchParams.get('epoch');
      if (e === null) {
        json(res, 200, { latest: kt.epoch, ...kt.publicKeys() });
        return true;
      }
      if (!/^\d{1,15}$/.test(e)) {
        json(res, 400, { error: 'epoch must be a non-negative integer' });
        return true;
      }
      kt.audit(Number(e)).then(
        (a) => json(res, 200, a),
        (err: unknown) =>
          isServerError(err, 'BAD_FRAME') ? json(res, 404, { error: (err as Error).message }) : json(res, 500, {}),
      );
      return true;
    }
    if (req.method === 'POST' && url.pathname === '/v1/kt/witness') {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) {
          json(res, 413, { error: 'body too large' });
          req.destroy();
        } else chunks.push(c);
      });
      req.on('end', () => {
        if (size > MAX_BODY) return;
        witness(kt, provider, Buffer.concat(chunks).toString('utf8')).then(
          ([status, body]) => json(res, status, body),
          () => json(res, 500, {}),
        );
      });
      return true;
    }
    return false;
  };
}

async function witness(kt: KeyDirectory, provider: CryptoProvider, text: string): Promise<[number, unknown]> {
  let epoch: number;
  let key: Uint8Array;
  let sig: Uint8Array;
  try {
    const doc = JSON.parse(text) as { epoch?: unknown; key?: unknown; sig?: unknown };
    if (!Number.isSafeInteger(doc.epoch) || (doc.epoch as number) < 0) throw new Error('epoch');
    epoch = doc.epoch as number;
    key = fromBase64Url('key', doc.key);
    sig = fromBase64Url('sig', doc.sig);
  } catch {
    return [400, { error: 'expected {"epoch": N, "key": base64url, "sig": base64url}' }];
  }
  const signed = await kt.signedHead(epoch);
  if (signed === undefined) return [404, { error: `no epoch ${epoch}` }];
  if (!(await verifyCosignature(provider, key, signed.head, sig))) {
    return [400, { error: 'the cosignature does not verify' }];
  }
  if (!(await kt.addCosignature(epoch, key, sig, KT_MAX_COSIGNATURES))) {
    return [429, { error: 'this epoch holds the most cosignatures kept' }];
  }
  return [204, undefined];
}
