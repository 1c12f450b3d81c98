import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../../../../test-support/browser.js';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { ready, startPagesStack, type PagesStack } from './support.js';

describeEachDatabase('the demo app on a server started without the example API', (database) => {
  let stack: PagesStack;
  let browser: TestBrowser;

  beforeAll(async () => {
    stack = await startPagesStack(database(), {}, { example: false });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('signs up and creates an organization; the notes section says the example is not served', async () => {
    expect((await fetch(`${stack.url}/api/v1/notes`)).status).toBe(404);
    const context = await browser.newIsolatedContext({ viewport: { width: 1100, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${stack.url}/`);
    await ready(page);
    await page.getByLabel('E-mail', { exact: true }).first().fill(`plain-${randomUUID().slice(0, 8)}@example.com`);
    await page.getByLabel('Password', { exact: true }).fill('correct-horse-battery-1');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();

    await page.getByLabel('New organization').fill('Plain Co');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.locator('section[data-section="Organizations"]').getByText('current').waitFor();
    await expect(page.locator('#notes-absent').textContent()).resolves.toContain('latchkey serve --example');
    // The rest of the page is drawn as usual.
    await expect(page.locator('section[data-section="Your access token"]').count()).resolves.toBe(1);
  });
});
