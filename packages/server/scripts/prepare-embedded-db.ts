// Runs after `npm install`: prepares the embedded database template so the first `npm start` is fast.
// Never fails the install; without the template the first start just takes a few seconds longer.
import { pgliteTemplate } from '../src/db/pglite-template.js';

try {
  await pgliteTemplate();
} catch {
  // the template is only an accelerator
}
