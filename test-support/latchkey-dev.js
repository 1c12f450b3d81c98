#!/usr/bin/env node
// The `latchkey` command on the TypeScript sources, for tests: the CLI and every workspace package it
// imports run from src/ (resolved through the `paths` of the root tsconfig.json), so no build is needed
// between an edit and a test. The published bin (packages/cli/bin/latchkey.js) runs dist/.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
const { main } = await import('../packages/cli/src/main.ts');
await main(process.argv);
