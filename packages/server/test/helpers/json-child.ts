/**
 * Runs a TypeScript child script (sources through tsx, as the tests run) with one JSON argument
 * and returns the JSON lines it printed: how the module-graph tests (adapters, lazy groups, in
 * the server's and the client's suites) ask a fresh process what it loaded. `record` names a file
 * for scripts/record-loads.mjs to list every module the child loads in (worker threads included).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';

const RECORDER = join(import.meta.dirname, '..', '..', '..', '..', 'scripts', 'record-loads.mjs');

/** Runs `script` with `JSON.stringify(arg)`; resolves with its printed JSON lines, rejects with its stderr. */
export function runJsonChild<T>(script: string, arg: object, record?: string): Promise<T[]> {
  const recording = record === undefined ? [] : ['--import', RECORDER];
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--conditions=source', ...recording, script, JSON.stringify(arg)],
      { timeout: 60_000, env: record === undefined ? process.env : { ...process.env, PARLEY_RECORD_LOADS: record } },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`child failed: ${err.message}\n${stderr}`));
        else
          resolve(
            stdout
              .trim()
              .split('\n')
              .map((line) => JSON.parse(line) as T),
          );
      },
    );
  });
}
