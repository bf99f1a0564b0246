/**
 * Browser test harness: a real relay on a random port serving the freshly built client, Debian's
 * Chromium driven by playwright-core (never a downloaded browser), one browser context per
 * person (each its own IndexedDB, so its own keys), and helpers for what people do on the page.
 * Screenshots go to packages/web/artifacts/screenshots (git-ignored).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RunningServer, startServer } from '@parley/server';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM = process.env.PARLEY_CHROMIUM ?? '/usr/bin/chromium';
const WEB = join(dirname(fileURLToPath(import.meta.url)), '..');
export const SCREENSHOTS = join(WEB, 'artifacts', 'screenshots');

/**
 * Why browser tests cannot run here, or undefined when they can. With PARLEY_REQUIRE_BROWSER=1
 * (CI) a missing browser is a failure, not a skip.
 */
export function browserMissing(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const reason = `no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set PARLEY_CHROMIUM)`;
  if (process.env.PARLEY_REQUIRE_BROWSER === '1') throw new Error(`PARLEY_REQUIRE_BROWSER=1 but ${reason}`);
  return reason;
}

let built = false;
/** Builds the web client into packages/web/dist (once per process) so the tests serve current code. */
export function buildWeb(): string {
  if (!built) {
    execFileSync(
      process.execPath,
      [join(WEB, '..', '..', 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'error'],
      {
        cwd: WEB,
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    built = true;
  }
  return join(WEB, 'dist');
}

/** One person: a browser context (its own storage) and its page. */
export interface Person {
  readonly name: string;
  readonly context: BrowserContext;
  readonly page: Page;
  /** Console errors and uncaught exceptions seen on the page. */
  readonly errors: string[];
}

/** A server, a browser, and people. */
export interface BrowserWorld {
  readonly dir: string;
  readonly dataDir: string;
  readonly server: RunningServer;
  readonly browser: Browser;
  /** Opens a new person's browser context at the server's page. */
  person(name: string, viewport?: { width: number; height: number }): Promise<Person>;
  close(): Promise<void>;
}

/** Starts the world; `chromiumArgs` are added to Chromium's command line (e.g. fake media devices). */
export async function createBrowserWorld(options: { chromiumArgs?: readonly string[] } = {}): Promise<BrowserWorld> {
  const webDir = buildWeb();
  const dir = mkdtempSync(join(tmpdir(), 'parley-web-'));
  const dataDir = join(dir, 'server');
  const server = await startServer({ port: 0, dataDir, logLevel: 'silent', webDir });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    // The flags keep Chromium off the network except for the pages we open (the machine has none).
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...(options.chromiumArgs ?? []),
    ],
  });
  const people: Person[] = [];
  return {
    dir,
    dataDir,
    server,
    browser,
    async person(name, viewport = { width: 1100, height: 760 }) {
      const context = await browser.newContext({ viewport });
      context.setDefaultTimeout(15_000);
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(server.url);
      const p = { name, context, page, errors };
      people.push(p);
      return p;
    },
    async close() {
      for (const p of people) await p.context.close().catch(() => {});
      await browser.close().catch(() => {});
      await server.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Creates `p.name`'s account on the welcome screen and waits until connected. */
export async function register(p: Person): Promise<void> {
  await p.page.getByLabel('Account name').fill(p.name);
  await p.page.getByRole('button', { name: 'Create account' }).click();
  await p.page.getByRole('status', { name: 'connection: connected' }).waitFor();
}

/** Opens (or starts) the conversation with `peer` through the "Message someone" field. */
export async function openChat(p: Person, peer: string): Promise<void> {
  const link = p.page.locator(`.conversation-list a[data-peer="${peer}"]`);
  if ((await link.count()) > 0) await link.click();
  else {
    await p.page.getByLabel('Account name').fill(peer);
    await p.page.getByRole('button', { name: 'Chat', exact: true }).click();
  }
  await p.page.getByRole('heading', { level: 2 }).waitFor();
}

/** Types and sends `text` in the open conversation. */
export async function say(p: Person, text: string): Promise<void> {
  await p.page.getByLabel('Message', { exact: true }).fill(text);
  await p.page.getByRole('button', { name: 'Send' }).click();
}

/** The message bubble holding `text` in the open conversation. */
export const bubble = (p: Person, text: string) => p.page.locator('.msg', { hasText: text });

/** Saves a screenshot as artifacts/screenshots/NAME.png. */
export async function screenshot(p: Person, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await p.page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
}

/** axe-core's browser build (MPL-2.0, a dev-only dependency). */
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's WCAG 2 A/AA violations on the page as it is now, as "rule: target" lines. */
export async function axeViolations(p: Person): Promise<string[]> {
  // Evaluated through the DevTools protocol, which the page's CSP does not govern.
  await p.page.evaluate(AXE_SOURCE);
  return p.page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: { run(o: unknown): Promise<{ violations: { id: string; nodes: { target: string[] }[] }[] }> };
      }
    ).axe;
    const r = await axe.run({ runOnly: ['wcag2a', 'wcag2aa'] });
    return r.violations.flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(' ')}`));
  });
}
