/**
 * Builds the browser client into dist/: hashed files, and every <script> and stylesheet in
 * index.html carrying Subresource Integrity (sha384), so the page refuses a file that differs
 * from the one this build produced. `parley serve --print-web-digest` hashes the same dist/.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { defaultClientConditions, defineConfig, type Plugin } from 'vite';

/**
 * After the files are written: gives each script, modulepreload and stylesheet tag of
 * index.html an `integrity` (sha384 of the bytes on disk), and adds an import map whose
 * `integrity` entries cover every JavaScript file, so modules loaded by `import` (static or
 * dynamic) are checked too. The server allows that inline import map by its hash in the CSP.
 */
function subresourceIntegrity(): Plugin {
  let outDir = '';
  return {
    name: 'parley-sri',
    apply: 'build',
    enforce: 'post',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir);
    },
    writeBundle() {
      const sri = (file: string): string =>
        `sha384-${createHash('sha384')
          .update(readFileSync(join(outDir, file)))
          .digest('base64')}`;
      const indexFile = join(outDir, 'index.html');
      const source = readFileSync(indexFile, 'utf8');
      const tagged = source.replace(
        /<(script|link)\b([^>]*?)\s(src|href)="\/([^"]+)"([^>]*)>/g,
        (tag, name: string, before: string, attr: string, file: string, after: string) => {
          if (name === 'link' && !/rel="(stylesheet|modulepreload)"/.test(tag)) return tag;
          const rest = `${before} ${attr}="/${file}"${after}`.replace(/\s+crossorigin(="[^"]*")?/g, '');
          return `<${name}${rest} integrity="${sri(file)}" crossorigin="anonymous">`;
        },
      );
      const scripts = readdirSync(join(outDir, 'assets')).filter((f) => f.endsWith('.js'));
      const integrity = Object.fromEntries(scripts.sort().map((f) => [`/assets/${f}`, sri(`assets/${f}`)]));
      const importMap = `<script type="importmap">${JSON.stringify({ imports: {}, integrity })}</script>`;
      const withMap = tagged.replace(/(\s*)<script type="module"/, `$1${importMap}$1<script type="module"`);
      if (!withMap.includes('type="importmap"')) throw new Error('SRI: no module script to put the import map before');
      if (/<script(?![^>]*(integrity|type="importmap"))[^>]*>/.test(withMap))
        throw new Error('SRI: a script tag has no integrity');
      writeFileSync(indexFile, withMap);
    },
  };
}

const require = createRequire(import.meta.url);
const sqliteWasm = readFileSync(require.resolve('@sqlite.org/sqlite-wasm/sqlite3.wasm'));

export default defineConfig({
  base: '/',
  define: {
    // The page fetches SQLite's WebAssembly with this integrity hash (see session.ts).
    __SQLITE_WASM_SRI__: JSON.stringify(`sha384-${createHash('sha384').update(sqliteWasm).digest('base64')}`),
  },
  // @parley/* from their TypeScript sources (the `source` export condition), as the tests do, so
  // this build does not depend on the packages' compiled dist/.
  resolve: { conditions: ['source', ...defaultClientConditions] },
  // The SQLite WebAssembly module is loaded as is (it finds sqlite3.wasm next to itself).
  optimizeDeps: { exclude: ['@sqlite.org/sqlite-wasm'] },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // No inlined data: URLs for scripts or wasm: the CSP allows only same-origin files.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
  plugins: [subresourceIntegrity()],
});
