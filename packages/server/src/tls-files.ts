/**
 * The certificate and key `parley serve --tls-cert --tls-key` serves HTTPS and WSS with: read
 * from their files at start-up and again on every reload (SIGHUP), and checked as a pair before
 * they replace what is served, so a renewal that went wrong keeps the working certificate.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { TlsFiles } from './options.ts';

/** Reads one file, or throws an error naming it (and only it: never its contents). */
function readPem(what: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new Error(`cannot read the TLS ${what} ${file} (${code})`);
  }
}

/**
 * Reads both files and checks that they load as a certificate with its matching private key;
 * returns the options for `https.createServer` / `setSecureContext`. Throws an `Error` whose
 * message names the file or the problem (OpenSSL's reason), never the key material.
 */
export function loadTlsFiles(files: TlsFiles): SecureContextOptions {
  const options = { cert: readPem('certificate', files.cert), key: readPem('key', files.key) };
  try {
    createSecureContext(options);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`the TLS certificate ${files.cert} and key ${files.key} do not load as a pair: ${reason}`);
  }
  return options;
}
