#!/usr/bin/env node
// The `latchkey` command: runs the compiled program in dist/ (built by `npm run build`, or by
// `npm install` in a clone of the repository).
import { main } from '../dist/main.js';

await main(process.argv);
