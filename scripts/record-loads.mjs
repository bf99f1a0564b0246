// `node --import ./scripts/record-loads.mjs …` with PARLEY_RECORD_LOADS=FILE: appends the URL of
// every module the process loads through the ES module loader (`import`, static or dynamic; a
// CommonJS package imported from ESM too) to FILE, one a line, from every thread that runs with
// these flags (worker threads inherit them). Tests use it to check what a command's module graph
// holds, e.g. that ts-mls is not loaded by a server start or a one-to-one send.
import { register } from 'node:module';

const file = process.env.PARLEY_RECORD_LOADS;
if (file === undefined || file === '') throw new Error('record-loads.mjs needs PARLEY_RECORD_LOADS=FILE');
register('./record-loads-hooks.mjs', import.meta.url, { data: { file } });
