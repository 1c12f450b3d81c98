import { randomUUID } from 'node:crypto';
import { LatchkeyApi, TokenSet } from '@latchkey/client';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchBrowser, recordForeignRequests, type TestBrowser } from '../../../../test-support/browser.js';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { admin, ready, screenshot, startPagesStack, type PagesStack } from './support.js';

const PASSWORD = 'correct-horse-battery-1';
const newEmail = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}@example.com`;

describeEachDatabase('demo app and admin console in Chromium', (database) => {
  let stack: PagesStack;
  let browser: TestBrowser;
  const contexts: BrowserContext[] = [];
  /** Requests to other origins, one list per browser profile. */
  const foreign: string[][] = [];

  beforeAll(async () => {
    stack = await startPagesStack(database());
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  /** A fresh browser profile (its own storage and cookies) whose requests to other origins are recorded. */
  async function newUserPage(viewport = { width: 1100, height: 900 }): Promise<Page> {
    const context = await browser.newIsolatedContext({ viewport });
    contexts.push(context);
    foreign.push(recordForeignRequests(context, stack.url));
    return context.newPage();
  }

  async function signUpInPage(page: Page, email: string): Promise<void> {
    await page.goto(`${stack.url}/`);
    await ready(page);
    await page.getByLabel('E-mail', { exact: true }).first().fill(email);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
  }

  it('sign up, sign out, sign in by keyboard, read the claims, create an organization; a note from a second client appears live', async () => {
    const page = await newUserPage();
    const email = newEmail('demo');
    await page.goto(`${stack.url}/`);
    await ready(page);
    await screenshot(page, 'demo-sign-in');
    await signUpInPage(page, email);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();

    // Keyboard only: focus the e-mail field, type, Tab to the password, Enter submits.
    await page.getByLabel('E-mail', { exact: true }).first().focus();
    await page.keyboard.type(email);
    await page.keyboard.press('Tab');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Sign out' }).waitFor();

    const claims = page.locator('section[data-section="Your access token"]');
    await expect.poll(() => claims.locator('td code').allTextContents()).toEqual(expect.arrayContaining(['sub', 'session_id', 'aal', email]));
    await expect(claims.textContent()).resolves.toContain('Your e-mail address.');

    await page.getByLabel('New organization').fill('Acme Research');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    const organizations = page.locator('section[data-section="Organizations"]');
    await organizations.getByText('current').waitFor();
    await expect(organizations.textContent()).resolves.toContain('Acme Research');
    await page.locator('#live', { hasText: 'live' }).waitFor();

    // A second client of the same user (Node, the SDK as a backend would use it) writes a note.
    const second = new LatchkeyApi(stack.url, { anonKey: stack.anonKey });
    await second.auth.login({ email, password: PASSWORD });
    const [organization] = await second.request<Array<{ id: string }>>('GET', '/auth/v1/organizations');
    const switched = await second.request<{ access_token: string; refresh_token: string; expires_in: number }>('POST', `/auth/v1/organizations/${organization!.id}/switch`);
    await second.tokens.setTokens(new TokenSet({ accessToken: switched.access_token, refreshToken: switched.refresh_token, accessExpiresAt: Date.now() + switched.expires_in * 1000 }));
    await second.request('POST', '/api/v1/notes', { title: 'Written elsewhere', body: 'arrives over the gateway' });
    await page.locator('#notes').getByText('Written elsewhere').waitFor({ timeout: 10_000 });

    // The page's own note form works too.
    await page.getByLabel('Title').fill('Typed here');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.locator('#notes').getByText('Typed here').waitFor();
    await screenshot(page, 'demo-signed-in');

    // Invite someone to the organization, and end another session of this user (the second client's).
    const invitee = newEmail('invitee');
    await page.getByLabel('Invite by e-mail').fill(invitee);
    await page.getByRole('button', { name: 'Invite', exact: true }).click();
    await page.getByText(`Invited ${invitee}.`).waitFor();
    const sessions = page.locator('section[data-section="Your sessions"]');
    await page.reload();
    await ready(page);
    const others = () => page.locator('section[data-section="Your sessions"]').getByRole('button', { name: 'End' }).count();
    const before = await others(); // the second client's sessions, and this browser's before its switch
    expect(before).toBeGreaterThanOrEqual(2);
    await sessions.getByRole('button', { name: 'End' }).first().click();
    await page.getByText('Session ended.').waitFor();
    await expect.poll(others).toBe(before - 1);
    await page.getByRole('button', { name: 'Sign out' }).waitFor(); // this tab's own session goes on

    // Readable on a phone: nothing wider than the screen.
    await page.setViewportSize({ width: 375, height: 740 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await screenshot(page, 'demo-phone');
  });

  it('a magic link from the development outbox signs in', async () => {
    const page = await newUserPage();
    const email = newEmail('link');
    await page.goto(`${stack.url}/`);
    await ready(page);
    await page.getByLabel('E-mail', { exact: true }).nth(1).fill(email);
    await page.getByRole('button', { name: 'Send link and code' }).click();
    await page.getByText(`We sent a sign-in link and code to ${email}.`).waitFor();
    let link = '';
    for (let i = 0; i < 50 && !link; i++) {
      const { body } = await admin<{ messages: Array<{ text: string }> }>(stack, 'GET', `outbox?email=${encodeURIComponent(email)}`);
      link = /(http\S+\/verify\?\S+)/.exec(body.messages[0]?.text ?? '')?.[1] ?? '';
      if (!link) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(link).toContain('/auth/v1/verify?');
    await page.goto(link);
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    expect(page.url()).toBe(`${stack.url}/`); // the tokens left the address bar
    await expect(page.locator('#who').textContent()).resolves.toContain(email);
  });

  it('an admin signs in to the console, bans a user (whose open demo page is signed out), rotates the signing key and manages members', async () => {
    const adminEmail = newEmail('operator');
    const created = await admin<{ id: string }>(stack, 'POST', 'users', { email: adminEmail, password: PASSWORD, email_confirm: true, role: 'supabase_admin' });
    expect(created.status).toBe(200);

    const userPage = await newUserPage();
    const userEmail = newEmail('member');
    await signUpInPage(userPage, userEmail);
    await userPage.getByLabel('New organization').fill('Banned Co');
    await userPage.getByRole('button', { name: 'Create', exact: true }).click();
    await userPage.locator('#live', { hasText: 'live' }).waitFor();

    const console = await newUserPage();
    await console.goto(`${stack.url}/admin`);
    await ready(console);
    await screenshot(console, 'console-sign-in');
    await console.getByLabel('E-mail').fill(adminEmail);
    await console.getByLabel('Password').fill(PASSWORD);
    await console.getByRole('button', { name: 'Sign in', exact: true }).click();
    await console.getByRole('heading', { name: 'Users' }).waitFor();
    const cookies = await console.context().cookies();
    const session = cookies.find((cookie) => cookie.name === 'latchkey_console');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/admin' });
    expect(await console.evaluate(() => JSON.stringify(localStorage) + JSON.stringify(sessionStorage))).not.toMatch(/ey[A-Za-z0-9_-]{20,}/);

    await console.getByLabel('Search users').fill(userEmail);
    const row = console.locator('#users tr', { hasText: userEmail });
    await row.waitFor();
    await console.locator('section[data-section="Gateway (live)"] strong').first().waitFor();
    await console.getByRole('heading', { name: 'Webhook events' }).waitFor();
    await screenshot(console, 'console');
    await row.getByRole('button', { name: 'Ban' }).click();
    await console.getByText(`Banned ${userEmail}`).waitFor();

    await userPage.getByRole('button', { name: 'Sign in', exact: true }).waitFor({ timeout: 10_000 });
    await expect(userPage.locator('#status').textContent()).resolves.toContain('session has ended');

    // A rotation shows the new signing key and the retired one with the end of its publication.
    const keys = console.locator('section[data-section="Signing keys"]');
    await keys.getByRole('button', { name: 'Rotate signing key' }).click();
    await keys.getByText(/^retired, published until /).waitFor();
    await expect(keys.getByText('signing', { exact: true }).count()).resolves.toBe(1);

    // Members: a role change and a removal go through the organizations API, whose rules still hold.
    const { rows } = await database().query<{ id: string }>(`select id from auth.organizations where name = 'Banned Co'`);
    await database().query(`insert into auth.organization_members (organization_id, user_id, role) values ($1, $2, 'member')`, [rows[0]!.id, created.body.id]);
    const organizations = console.locator('section[data-section="Organizations"]');
    await organizations.locator('tr', { hasText: 'Banned Co' }).getByRole('button', { name: 'Members' }).click();
    await organizations.getByLabel(`Role of ${adminEmail}`).selectOption('admin');
    await console.getByText(`${adminEmail} is now admin.`).waitFor();
    await organizations.getByLabel(`Role of ${userEmail}`).selectOption('member');
    await console.getByText('An organization must keep at least one owner').waitFor();
    // The list is drawn again from the server: the owner is still the owner.
    await expect.poll(() => organizations.getByLabel(`Role of ${userEmail}`).inputValue(), { timeout: 10_000 }).toBe('owner');
    await organizations.locator('tr', { hasText: adminEmail }).getByRole('button', { name: 'Remove' }).click();
    await console.getByText(`Removed ${adminEmail} from Banned Co.`).waitFor();
    const left = await database().query<{ user_id: string; role: string }>('select user_id, role from auth.organization_members where organization_id = $1', [rows[0]!.id]);
    expect(left.rows.map((row) => row.role)).toEqual(['owner']);
  });

  it('the console refuses calls without its cookie, its CSRF token, or an admin role', async () => {
    // No cookie.
    const bare = await fetch(`${stack.url}/admin/api/users`, { headers: { 'x-csrf-token': 'x' } });
    expect(bare.status).toBe(401);
    // A user without an admin role cannot open a console session.
    const email = newEmail('plain');
    await admin(stack, 'POST', 'users', { email, password: PASSWORD, email_confirm: true });
    const plain = await fetch(`${stack.url}/admin/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: PASSWORD }) });
    expect(plain.status).toBe(403);
    expect(((await plain.json()) as { error: string }).error).toBe('not_admin');
    const wrongKey = await fetch(`${stack.url}/admin/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ service_key: stack.anonKey }) });
    expect(wrongKey.status).toBe(401);

    // With the service key: the cookie alone is not enough.
    const signIn = await fetch(`${stack.url}/admin/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ service_key: stack.serviceRoleKey }) });
    expect(signIn.status).toBe(200);
    const setCookie = signIn.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).not.toMatch(/Secure/); // plain HTTP on loopback
    const cookie = setCookie.split(';')[0]!;
    const { csrf_token: csrf } = (await signIn.json()) as { csrf_token: string };
    const noToken = await fetch(`${stack.url}/admin/api/users`, { headers: { cookie } });
    expect(noToken.status).toBe(403);
    const wrongToken = await fetch(`${stack.url}/admin/api/users`, { headers: { cookie, 'x-csrf-token': `${csrf}x` } });
    expect(wrongToken.status).toBe(403);
    const otherOrigin = await fetch(`${stack.url}/admin/api/users`, { headers: { cookie, 'x-csrf-token': csrf, origin: 'https://evil.example' } });
    expect(otherOrigin.status).toBe(403);
    const ok = await fetch(`${stack.url}/admin/api/users?per_page=1`, { headers: { cookie, 'x-csrf-token': csrf } });
    expect(ok.status).toBe(200);
    // Only the admin API is reachable, and nothing outside it.
    const outside = await fetch(`${stack.url}/admin/api/..%2F..%2Fuser`, { headers: { cookie, 'x-csrf-token': csrf } });
    expect(outside.status).toBe(404);
    // Sign-out ends the session.
    const out = await fetch(`${stack.url}/admin/session`, { method: 'DELETE', headers: { cookie, 'x-csrf-token': csrf } });
    expect(out.status).toBe(200);
    expect((await fetch(`${stack.url}/admin/api/users`, { headers: { cookie, 'x-csrf-token': csrf } })).status).toBe(401);
  });

  it('the pages carry a strict CSP, their assets are content-hashed and cached, and no page asked another origin', async () => {
    for (const path of ['/', '/admin']) {
      const response = await fetch(`${stack.url}${path}`);
      expect(response.status).toBe(200);
      const csp = response.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).toContain("frame-ancestors 'none'");
      const html = await response.text();
      const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((match) => match[1]!);
      expect(assets.length).toBe(2);
      for (const asset of assets) {
        expect(asset).toMatch(/-[A-Z0-9]{8}\.(js|css)$/);
        const file = await fetch(`${stack.url}${asset}`, { headers: { 'accept-encoding': 'gzip' } });
        expect(file.status).toBe(200);
        expect(file.headers.get('cache-control')).toContain('immutable');
      }
    }
    expect((await fetch(`${stack.url}/assets/nope.js`)).status).toBe(404);
    for (const context of contexts) for (const page of context.pages()) await page.close();
    expect(foreign.flat()).toEqual([]);
    expect(contexts.length).toBeGreaterThanOrEqual(4);
  });
});
