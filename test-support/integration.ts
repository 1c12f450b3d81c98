import { describe, it } from 'vitest';

/**
 * When set (CI does), a test that needs an external service which is not configured fails instead of
 * reporting itself skipped.
 */
export const integrationRequired = process.env.LATCHKEY_REQUIRE_INTEGRATION === '1';

/**
 * `describe` when every variable in `needs` is set; otherwise the suite is reported skipped (or,
 * under {@link integrationRequired}, fails with the missing variable's name).
 */
export function describeWith(needs: readonly string[], title: string, body: () => void): void {
  const missing = needs.filter((name) => !process.env[name]);
  if (missing.length === 0) {
    describe(title, body);
    return;
  }
  if (integrationRequired) {
    describe(title, () => {
      it(`needs ${missing.join(', ')}`, () => {
        throw new Error(`${missing.join(', ')} must be set for this integration suite`);
      });
    });
    return;
  }
  describe.skip(`${title} (set ${missing.join(', ')} to run)`, body);
}
