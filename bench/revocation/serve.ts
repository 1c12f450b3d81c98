/**
 * `latchkey serve` from the sources (through tsx), so the benchmark needs no build: the same program
 * the `latchkey` binary runs from dist/.
 */
import { main } from '../../packages/cli/src/main.js';

await main([process.argv[0] ?? 'node', 'latchkey', 'serve', ...process.argv.slice(2)]);
