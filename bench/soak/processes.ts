/** Child processes of the soak runs: relay servers that are SIGKILLed and restarted. */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

const SERVER = new URL('./server-child.ts', import.meta.url).pathname;

/** A free TCP port on 127.0.0.1 (the server is restarted on the same one). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once `child` has exited. */
export function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

/** Spawns a TypeScript entry point with the sources (tsx, `source` condition). */
export function spawnTs(script: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', '--conditions=source', script, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env,
  });
}

/** Resolves with the first match of `pattern` on `child`'s stdout; rejects if it exits first. */
export function waitForLine(child: ChildProcess, pattern: RegExp, what: string): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += String(d);
      const m = pattern.exec(out);
      if (m) {
        child.stdout?.off('data', onData);
        child.off('exit', onExit);
        resolve(m);
      }
    };
    const onExit = (code: number | null, signal: string | null) =>
      reject(new Error(`${what} exited before it was ready (${code ?? signal})`));
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

/** A relay server process on a fixed port, restartable after a SIGKILL. */
export class ServerProcess {
  child: ChildProcess | undefined;
  url = '';
  constructor(
    readonly port: number,
    readonly dataDir: string,
    readonly extra: string[] = [],
    readonly logFile?: string,
  ) {}

  async start(): Promise<void> {
    const env = this.logFile === undefined ? process.env : { ...process.env, PARLEY_SOAK_LOG_FILE: this.logFile };
    const child = spawnTs(SERVER, [String(this.port), this.dataDir, ...this.extra], env);
    this.child = child;
    const m = await waitForLine(child, /listening (\S+)/, 'the server');
    this.url = m[1] as string;
    // Keep reading stdout so the pipe never fills.
    child.stdout?.resume();
  }

  get pid(): number {
    return this.child?.pid ?? 0;
  }

  async kill(): Promise<void> {
    const c = this.child;
    if (c === undefined) return;
    c.kill('SIGKILL');
    await exited(c);
    this.child = undefined;
  }

  /** Stops it cleanly (SIGTERM: the server closes its store). */
  async stop(): Promise<void> {
    const c = this.child;
    if (c === undefined) return;
    c.kill('SIGTERM');
    await exited(c);
    this.child = undefined;
  }
}
