/**
 * Starting and killing relay servers as child processes (`server-process.ts`).
 */
import { type ChildProcess, spawn } from 'node:child_process';

const SCRIPT = new URL('./server-process.ts', import.meta.url).pathname;

/**
 * Starts a server process; resolves once it listens. `extra`: DB_URL SCHEMA BUS_URL; `limits`
 * are merged over the defaults; `env` is added to the child's environment.
 */
export function startChild(
  port: number,
  dataDir: string,
  extra: string[] = [],
  limits?: Record<string, number>,
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=source', SCRIPT, String(port), dataDir, ...extra],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: {
        ...process.env,
        ...env,
        ...(limits === undefined ? {} : { PARLEY_TEST_LIMITS: JSON.stringify(limits) }),
      },
    },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d) => {
      out += String(d);
      const m = /listening (\S+)/.exec(out);
      if (m?.[1]) resolve({ child, url: m[1] });
    });
    child.once('exit', (code) => reject(new Error(`server exited early (${code})`)));
  });
}

/** Resolves once `child` has exited. */
export function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}
