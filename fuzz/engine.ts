/**
 * A mutation-based byte fuzzer: it mutates seed inputs (bit flips, interesting bytes, inserts,
 * deletions, duplicated ranges, truncation, splices between seeds, random varints) with
 * node:crypto randomness, keeps every mutant that decoded without error as a new seed (a cheap
 * stand-in for coverage feedback: inputs that get deeper are kept), and checks every run:
 * result or typed error, under 100 ms, and output at most 10× the input (plus 4 KiB).
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Target } from './targets.ts';

export const MAX_MS = 100;
const OUTPUT_SLACK = 4096;

class Rng {
  private pool = randomBytes(65536);
  private at = 0;
  byte(): number {
    if (this.at >= this.pool.length) {
      this.pool = randomBytes(65536);
      this.at = 0;
    }
    return this.pool[this.at++] as number;
  }
  int(n: number): number {
    if (n <= 1) return 0;
    const x = (this.byte() << 24) | (this.byte() << 16) | (this.byte() << 8) | this.byte();
    return (x >>> 0) % n;
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.byte();
    return out;
  }
}

const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x0a, 0x22, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a];

function mutate(rng: Rng, seed: Uint8Array, corpus: readonly Uint8Array[]): Uint8Array {
  let b = Array.from(seed);
  const ops = 1 + rng.int(4);
  for (let k = 0; k < ops; k++) {
    const at = rng.int(b.length + 1);
    switch (rng.int(9)) {
      case 0:
        if (b.length > 0) b[at % b.length] = (b[at % b.length] as number) ^ (1 << rng.int(8));
        break;
      case 1:
        if (b.length > 0) b[at % b.length] = INTERESTING[rng.int(INTERESTING.length)] as number;
        break;
      case 2:
        b.splice(at, 0, ...rng.bytes(1 + rng.int(8)));
        break;
      case 3:
        b.splice(at, 1 + rng.int(Math.max(1, b.length >> 3)));
        break;
      case 4: {
        const len = rng.int(Math.min(64, b.length - at) + 1);
        b.splice(rng.int(b.length + 1), 0, ...b.slice(at, at + len));
        break;
      }
      case 5:
        b = b.slice(0, at);
        break;
      case 6: {
        const other = corpus[rng.int(corpus.length)] as Uint8Array;
        const from = rng.int(other.length + 1);
        b = b.slice(0, at).concat(Array.from(other.subarray(from, from + rng.int(other.length - from + 1))));
        break;
      }
      case 7: {
        // a random protobuf varint (lengths and counts are where decoders break)
        const v = [0, 1, 127, 128, 0x3fff, 0xffffffff, 2 ** 31][rng.int(7)] as number;
        const varint: number[] = [];
        let x = v;
        do {
          varint.push((x & 0x7f) | (x > 0x7f ? 0x80 : 0));
          x = Math.floor(x / 128);
        } while (x > 0);
        b.splice(at, rng.int(3), ...varint);
        break;
      }
      default:
        if (b.length > 0) b[at % b.length] = rng.byte();
    }
  }
  return Uint8Array.from(b);
}

/** Bytes of every Uint8Array and string reachable from a decoder's result. */
export function outputSize(value: unknown, seen = new Set<unknown>()): number {
  if (value instanceof Uint8Array) return value.byteLength;
  if (typeof value === 'string') return value.length * 2;
  if (typeof value !== 'object' || value === null || seen.has(value)) return 8;
  seen.add(value);
  let n = 0;
  for (const v of Object.values(value as Record<string, unknown>)) n += outputSize(v, seen);
  if (value instanceof Map) for (const [k, v] of value) n += outputSize(k, seen) + outputSize(v, seen);
  return n;
}

export interface Finding {
  readonly kind: 'untyped-error' | 'slow' | 'allocation' | 'property';
  readonly input: Uint8Array;
  readonly detail: string;
}

export interface FuzzResult {
  readonly runs: number;
  readonly ms: number;
  readonly corpus: number;
  readonly findings: Finding[];
}

/** Runs one input and returns a finding, or undefined when the decoder behaved. */
export async function check(
  target: Target,
  input: Uint8Array,
  maxMs = MAX_MS,
): Promise<{ finding?: Finding; ok: boolean }> {
  const t0 = performance.now();
  let out: unknown;
  let ok = true;
  try {
    out = target.run(input);
    if (out instanceof Promise) out = await out;
  } catch (err) {
    ok = false;
    if (!target.typed(err)) {
      const kind = err?.constructor?.name === 'PropertyViolation' ? 'property' : 'untyped-error';
      return { ok, finding: { kind, input, detail: err instanceof Error ? (err.stack ?? err.message) : String(err) } };
    }
  }
  let ms = performance.now() - t0;
  // A pause of the machine (GC, another process) is not the decoder's: a slow input counts only
  // when it stays slow on two more tries.
  for (let retry = 0; retry < 2 && ms > maxMs; retry++) {
    const t1 = performance.now();
    try {
      const again = target.run(input);
      if (again instanceof Promise) await again;
    } catch {}
    ms = Math.min(ms, performance.now() - t1);
  }
  if (ms > maxMs) return { ok, finding: { kind: 'slow', input, detail: `${ms.toFixed(1)} ms` } };
  if (ok) {
    const size = outputSize(out);
    if (size > 10 * input.length + OUTPUT_SLACK) {
      return { ok, finding: { kind: 'allocation', input, detail: `${size} bytes out of ${input.length}` } };
    }
  }
  return { ok };
}

/**
 * Fuzzes `target` for `runs` inputs from `seeds`; stops at the first `maxFindings` findings.
 * `maxMs` is the per-input time limit (Infinity turns the time check off, as the CI smoke does).
 */
export async function fuzz(
  target: Target,
  seeds: Uint8Array[],
  runs: number,
  maxFindings = 5,
  maxMs = MAX_MS,
  progress?: { every: number; label: string },
): Promise<FuzzResult> {
  const rng = new Rng();
  const corpus = seeds.length > 0 ? [...seeds] : [new Uint8Array(0)];
  const findings: Finding[] = [];
  const t0 = performance.now();
  let i = 0;
  for (; i < runs && findings.length < maxFindings; i++) {
    const input =
      i < seeds.length ? (seeds[i] as Uint8Array) : mutate(rng, corpus[rng.int(corpus.length)] as Uint8Array, corpus);
    const { finding, ok } = await check(target, input, maxMs);
    if (finding) findings.push(finding);
    if (progress && (i + 1) % progress.every === 0) {
      const s = (performance.now() - t0) / 1000;
      process.stderr.write(`${progress.label}: ${i + 1} inputs, ${s.toFixed(1)} s, findings ${findings.length}\n`);
    }
    if (!finding && ok && i >= seeds.length && corpus.length < 256 && input.length < 1 << 16) corpus.push(input);
  }
  return { runs: i, ms: performance.now() - t0, corpus: corpus.length, findings };
}
