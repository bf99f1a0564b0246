/**
 * What the CLI's end-to-end tests share: running `parley` as a child process and starting a
 * real `parley serve` on a free port.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';

/** The `parley` binary these tests run (the built CLI). */
export const BIN = new URL('../../bin/parley.js', import.meta.url).pathname;

/** How one `parley` run ended. */
export interface CliRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `parley ARGS` to its end (killed after `timeoutMs`), with `input` on its standard input. */
export function parley(args: string[], input?: string, timeoutMs = 60_000): CliRun {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', input, timeout: timeoutMs });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** How one `parley` run ended, and how long it took. */
export interface TimedCliRun extends CliRun {
  readonly ms: number;
}

/**
 * Runs `parley ARGS` without blocking this process (for tests whose server or proxy lives in it);
 * killed with SIGKILL after `killMs` (status null then).
 */
export function parleyAsync(args: string[], killMs = 60_000): Promise<TimedCliRun> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += String(d);
    });
    child.stderr.on('data', (d) => {
      stderr += String(d);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), killMs);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** Starts `parley serve --port 0 --data DATA --log-level warn ARGS` and resolves with its printed URL. */
export async function startServer(data: string, args: string[] = []): Promise<{ server: ChildProcess; url: string }> {
  const server = spawn(
    process.execPath,
    [BIN, 'serve', '--port', '0', '--data', data, '--log-level', 'warn', ...args],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    server.stdout?.on('data', (d) => {
      out += String(d);
      const m = /running at (http:\/\/\S+)/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    server.once('exit', () => reject(new Error(`server exited: ${out}`)));
  });
  return { server, url };
}
