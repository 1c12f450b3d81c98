import { randomUUID } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bundledPage, launchBrowser, type TestBrowser } from '../../../../test-support/browser.js';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { PASSWORD, startStack, type Stack } from '../support.js';

const LIFETIME_S = 5;
const RUN_MS = 30_000;

describeEachDatabase('browser tabs sharing one session', (database) => {
  let stack: Stack;
  let browser: TestBrowser;
  beforeAll(async () => {
    stack = await startStack(database(), { env: { LATCHKEY_JWT_EXPIRY: String(LIFETIME_S) }, extend: await bundledPage('tabs-page', '/tabs', new URL('./tabs-page.ts', import.meta.url)) });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  async function openTab(): Promise<Page> {
    const page = await browser.newPage();
    await page.goto(`${stack.url}/tabs?anon=${encodeURIComponent(stack.anonKey)}`);
    await page.waitForFunction(() => 'tab' in globalThis);
    return page;
  }

  it(`five tabs on a ${LIFETIME_S}-second token make one refresh per expiry and none is signed out`, { timeout: RUN_MS + 60_000 }, async () => {
    const email = `tabs-${randomUUID()}@example.com`;
    const signUp = await fetch(`${stack.url}/auth/v1/signup`, {
      method: 'POST',
      headers: { apikey: stack.anonKey, 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: PASSWORD }),
    });
    expect(signUp.status).toBe(200);

    const tabs = [await openTab()];
    await tabs[0]!.evaluate(([address, password]) => (globalThis as any).tab.signIn(address, password), [email, PASSWORD]);
    for (let i = 1; i < 5; i++) tabs.push(await openTab());
    stack.resetCounters();
    const before = await Promise.all(tabs.map((tab) => tab.evaluate(() => (globalThis as any).tab.tokenRequests() as number)));
    const started = Date.now();
    for (const tab of tabs) await tab.evaluate(() => (globalThis as any).tab.start());
    await new Promise((resolve) => setTimeout(resolve, RUN_MS));
    for (const tab of tabs) await tab.evaluate(() => (globalThis as any).tab.stop());
    const elapsed = (Date.now() - started) / 1000;

    const states = await Promise.all(
      tabs.map((tab) =>
        tab.evaluate(() => {
          const tab = (globalThis as any).tab;
          return { signedOut: tab.signedOut as string[], errors: tab.errors as string[], accessTokens: tab.accessTokens as string[], calls: tab.calls as number, requests: tab.tokenRequests() as number };
        }),
      ),
    );
    const refreshes = stack.tokenRequests.byGrant.refresh_token ?? 0;
    // Every tab kept working, and none was signed out.
    const report = JSON.stringify({ refreshes, elapsed, states: states.map((state) => ({ ...state, accessTokens: state.accessTokens.length })) });
    for (const state of states) {
      expect(state.signedOut, report).toEqual([]);
      expect(state.errors, report).toEqual([]);
      expect(state.calls, report).toBeGreaterThan(10);
    }
    // The refreshes the server saw are the ones the tabs sent, and each made one new access token
    // that every tab went on to use: one refresh per expiry, not one per tab.
    expect(states.reduce((sum, state, i) => sum + state.requests - before[i]!, 0), report).toBe(refreshes);
    const seen = new Set(states.flatMap((state) => state.accessTokens));
    expect(seen.size, report).toBeLessThanOrEqual(refreshes + 1);
    const usable = LIFETIME_S - 2; // the page refreshes two seconds before expiry
    expect(refreshes, report).toBeGreaterThanOrEqual(Math.floor(elapsed / LIFETIME_S));
    expect(refreshes, report).toBeLessThanOrEqual(Math.ceil(elapsed / usable) + 1);
    expect(stack.tokenRequests.total, report).toBe(refreshes);
    for (const tab of tabs) await tab.close();
  });

  it('a sign-out in one tab reaches the others at once', async () => {
    const email = `tabs-${randomUUID()}@example.com`;
    await fetch(`${stack.url}/auth/v1/signup`, {
      method: 'POST',
      headers: { apikey: stack.anonKey, 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: PASSWORD }),
    });
    const [first, second] = [await openTab(), await openTab()];
    await first.evaluate(([address, password]) => (globalThis as any).tab.signIn(address, password), [email, PASSWORD]);
    await second.evaluate(() => (globalThis as any).tab.start());
    await second.waitForFunction(() => (globalThis as any).tab.calls > 0);
    await first.evaluate(() => (globalThis as any).tab.signOut());
    await second.waitForFunction(() => (globalThis as any).tab.signedOut.length > 0, undefined, { timeout: 10_000 });
    expect(await second.evaluate(() => (globalThis as any).tab.signedOut)).toEqual(['elsewhere']);
    await second.evaluate(() => (globalThis as any).tab.stop());
    await first.close();
    await second.close();
  });
});
