/**
 * Whether the Node.js release the server runs on still gets security fixes. End-of-life dates
 * from the Node.js release schedule (github.com/nodejs/release); a release past its date gets a
 * warning at start-up: its HTTP and WebSocket stack faces every connection.
 */

/** End of life of the Node.js major releases Parley can run on (ISO dates, UTC). */
const END_OF_LIFE: Readonly<Record<number, string>> = {
  20: '2026-04-30',
  21: '2024-06-01',
  22: '2027-04-30',
  23: '2025-06-01',
  24: '2028-04-30',
  25: '2026-06-01',
  26: '2029-04-30',
};

/** A warning for a runtime past its end of life at `now`, or undefined. */
export function runtimeWarning(version: string, now: number): string | undefined {
  const major = Number(/^v?(\d+)\./.exec(version)?.[1]);
  const eol = END_OF_LIFE[major];
  if (eol === undefined || now < Date.parse(`${eol}T00:00:00Z`)) return undefined;
  return `Node.js ${major} reached its end of life on ${eol} and gets no security fixes: run Parley on Node.js 24 LTS (see docs/operating.md, "Runtime")`;
}
