#!/usr/bin/env node
// The `parley` command. The workspace ships TypeScript sources; tsx compiles them on load.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
