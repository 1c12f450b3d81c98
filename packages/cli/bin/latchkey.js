#!/usr/bin/env node
// Runs the TypeScript sources directly: no build step between `npm install` and `latchkey`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/main.ts');
await main(process.argv);
