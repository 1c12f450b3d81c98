import { randomUUID } from 'node:crypto';
import type { CDPSession, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadServerConfig, startServer, type RunningServer } from '@latchkey/server';
import { bundledPage, launchBrowser, type TestBrowser } from '../../../../test-support/browser.js';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { claimsOf, TEST_ENV } from './support.js';

interface Outcome {
  error: string | null;
  userId: string | null;
  passkeyId: string | null;
  accessToken: string | null;
}

describeEachDatabase('passkeys in Chromium with its virtual authenticator', (database) => {
  let server: RunningServer;
  let browser: TestBrowser;
  let page: Page;
  let cdp: CDPSession;
  let authenticatorId: string;
  beforeAll(async () => {
    server = await startServer({
      env: TEST_ENV,
      config: loadServerConfig({ PORT: '0', DATABASE_URL: 'memory://', LOG_LEVEL: 'silent' }),
      database: database(),
      services: { identity: true },
      extend: await bundledPage('passkey-page', '/passkey', new URL('./browser/passkey-page.ts', import.meta.url)),
    });
    browser = await launchBrowser();
    page = await browser.newPage();
    // Chromium's virtual authenticator (DevTools protocol): a platform authenticator with resident keys
    // and user verification that answers without a person.
    cdp = await browser.browser.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const added = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });
    authenticatorId = added.authenticatorId;
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('registers a passkey and signs in with it through a page on the server (localhost origin)', { timeout: 90_000 }, async () => {
    const identity = server.services.identity!;
    // `localhost`, not 127.0.0.1: browsers accept no IP address as RP ID.
    const origin = server.url.replace('127.0.0.1', 'localhost');
    await page.goto(`${origin}/passkey?anon=${encodeURIComponent(identity.apiKeys.anonKey)}`);
    await page.waitForFunction(() => 'passkeys' in globalThis);
    expect(await page.evaluate(() => (globalThis as any).passkeys.webauthn)).toBe(true);

    const address = `browser-passkey-${randomUUID()}@example.com`;
    const registered: Outcome = await page.evaluate(([email, password]) => (globalThis as any).passkeys.signUpAndRegister(email, password), [address, 'browser-password-1']);
    expect(registered.error).toBeNull();
    expect(registered.passkeyId).toEqual(expect.any(String));
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    expect(credentials).toHaveLength(1);
    expect(credentials[0]!.isResidentCredential).toBe(true);
    expect(credentials[0]!.rpId).toBe('localhost');
    expect(Buffer.from(credentials[0]!.userHandle!, 'base64').toString()).toBe(registered.userId);

    const signedIn: Outcome = await page.evaluate(() => (globalThis as any).passkeys.signIn());
    expect(signedIn.error).toBeNull();
    expect(signedIn.userId).toBe(registered.userId);
    const claims = claimsOf(signedIn.accessToken!);
    expect(claims).toMatchObject({ sub: registered.userId, email: address });
    expect((claims.amr as { method: string }[])[0]!.method).toBe('passkey');
    expect((await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials[0]!.signCount).toBeGreaterThan(0);
  });
});
