// The loader hooks of record-loads.mjs (they run on Node's hooks thread): each module URL is
// appended to the file before the module is loaded, synchronously, so that once an `import` has
// settled its modules are in the file.
import { appendFileSync } from 'node:fs';

let file = '';

/** Receives the file to append to (from record-loads.mjs). */
export function initialize(data) {
  file = data.file;
}

/** Records `url`, then loads it as the next hook in the chain would. */
export function load(url, context, nextLoad) {
  appendFileSync(file, `${url}\n`);
  return nextLoad(url, context);
}
