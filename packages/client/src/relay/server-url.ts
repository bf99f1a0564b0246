/**
 * The server URL a client is given, checked before anything connects (issue 19, item 11): a
 * server on this machine may be reached over plain `http://`/`ws://`, any other only over TLS
 * (`https://`/`wss://`) unless the caller explicitly allows an unencrypted connection. Without
 * TLS a network attacker cannot read messages (they are end-to-end encrypted) but sees and can
 * tamper with everything else: which account connects, when, to whom it sends, and the relay's
 * answers (it can cut the connection, hold messages back, or, on `link`, watch the code channel).
 */
import { ClientError } from '../errors.ts';

/** True for a loopback host: `localhost` (and `*.localhost`), 127.0.0.0/8, `::1` (and `::ffff:127.x.y.z`). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (host === '::1' || host === '0:0:0:0:0:0:0:1') return true;
  const v4 = host.startsWith('::ffff:') ? host.slice(7) : host;
  // The WHATWG URL parser has already normalised an IPv4 host to dotted decimal.
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/**
 * Parses a server base URL and checks it may be used: `https:`, `wss:`, or `http:`/`ws:` to a
 * loopback host; `http:`/`ws:` to any other host only with `allowInsecure`. Throws
 * `INVALID_ARGUMENT` for a URL that is not one of these schemes and `INSECURE_SERVER` for an
 * unencrypted remote server.
 */
export function checkServerUrl(server: string, allowInsecure: boolean): URL {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new ClientError('INVALID_ARGUMENT', `the server address ${JSON.stringify(server)} is not a URL`);
  }
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(url.protocol)) {
    throw new ClientError('INVALID_ARGUMENT', `the server address ${server} must start with https:// (or http://)`);
  }
  if ((url.protocol === 'http:' || url.protocol === 'ws:') && !allowInsecure && !isLoopbackHost(url.hostname)) {
    throw new ClientError(
      'INSECURE_SERVER',
      `refused to connect to ${server}: the connection would not be encrypted (${url.protocol}// to a host that is not this machine); use https://, or allow an unencrypted connection explicitly (allowInsecure)`,
    );
  }
  return url;
}

/** True when `server` is an unencrypted URL to a host that is not this machine. */
export function isInsecureRemote(server: string): boolean {
  try {
    checkServerUrl(server, false);
    return false;
  } catch (err) {
    return err instanceof ClientError && err.code === 'INSECURE_SERVER';
  }
}
