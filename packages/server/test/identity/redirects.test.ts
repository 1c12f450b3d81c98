import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { loadOtpSettings } from '../../src/identity/otp/settings.js';
import { compileAllowList, redirectTarget } from '../../src/identity/redirects.js';
import { nextMail } from './outbox.js';
import { startIdentity, type IdentityServer } from './support.js';

const SITE = 'https://app.example.com';

/** [requested, allow list, expected target] — the site URL whenever the request is refused. */
const CASES: [string | undefined, string[], string][] = [
  // The site URL itself: exact scheme, host and port.
  [undefined, [], SITE],
  ['', [], SITE],
  ['https://app.example.com/welcome?x=1', [], 'https://app.example.com/welcome?x=1'],
  ['https://app.example.com', [], 'https://app.example.com/'],
  ['http://app.example.com/', [], SITE],
  ['https://app.example.com:8443/', [], SITE],
  ['https://app.example.com.evil.net/', [], SITE],
  ['https://evil.net/?https://app.example.com', [], SITE],
  ['javascript:alert(1)', [], SITE],
  ['not a url', [], SITE],
  // Userinfo, backslashes, percent-encoding, control characters.
  ['https://app.example.com@evil.net/', [], SITE],
  ['https://evil.net@app.example.com/', [], SITE],
  ['https://@app.example.com/', [], SITE],
  ['https://app.example.com\\@evil.net/', [], SITE],
  ['https://app%2Eexample.com/', [], SITE],
  ['https://app.example.com/\tx', [], SITE],
  ['https://app.exa\nmple.com/', [], SITE],
  // Host globs apply to one label of the parsed host.
  ['https://preview-42.example.org/cb', ['https://preview-*.example.org/**'], 'https://preview-42.example.org/cb'],
  ['https://preview-42.example.org/cb', ['https://preview-*.example.org'], SITE],
  ['https://preview-42.example.org/', ['https://preview-*.example.org'], 'https://preview-42.example.org/'],
  ['https://a.example.com/cb', ['https://*.example.com/**'], 'https://a.example.com/cb'],
  ['https://a.b.example.com/cb', ['https://*.example.com/**'], SITE],
  ['https://example.com/cb', ['https://*.example.com/**'], SITE],
  ['http://a.example.com/cb', ['https://*.example.com/**'], SITE],
  ['https://a.example.com:444/cb', ['https://*.example.com/**'], SITE],
  ['https://a.example.com:443/cb', ['https://*.example.com/**'], 'https://a.example.com/cb'],
  ['https://evil.net/.example.com/', ['https://*.example.com/**'], SITE],
  // The reported bypasses.
  ['https://evil%252Eexample%252Enet%5C.example.com/', ['https://*.example.com/**'], SITE],
  ['https://evil%2Eexample%2Enet\\.example.com/', ['https://*.example.com/**'], SITE],
  ['https://1249763243#.example.com/', ['https://*.example.com/**'], SITE],
  ['https://1249763243/#.example.com/', ['https://*/**'], SITE],
  ['https://0x7f.1/', ['https://*.*/**'], SITE],
  ['https://127.0.0.1/', ['https://*.*.*.*/**'], SITE],
  ['https://[::1]/', ['https://*/**'], SITE],
  ['https://a.example.com./cb', ['https://*.example.com/**'], SITE],
  // IP hosts match only an entry naming them exactly.
  ['http://127.0.0.1:3000/cb', ['http://127.0.0.1:3000/**'], 'http://127.0.0.1:3000/cb'],
  ['http://127.0.0.1:3001/cb', ['http://127.0.0.1:3000/**'], SITE],
  // Path globs apply to the path (and query); the fragment is not matched.
  ['https://a.example.com/auth/cb?x=1#y', ['https://a.example.com/auth/*'], 'https://a.example.com/auth/cb?x=1#y'],
  ['https://a.example.com/auth/deep/cb', ['https://a.example.com/auth/*'], SITE],
  ['https://a.example.com/other', ['https://a.example.com/auth/**'], SITE],
  ['https://a.example.com/auth/deep/cb', ['https://a.example.com/auth/**'], 'https://a.example.com/auth/deep/cb'],
  // Native app schemes.
  ['myapp://callback', ['myapp://callback'], 'myapp://callback'],
  ['myapp://callback/x', ['myapp://callback'], SITE],
  ['myapp://evil', ['myapp://callback'], SITE],
  ['otherapp://callback', ['myapp://callback'], SITE],
];

describe('redirect targets', () => {
  it.each(CASES)('%j with %j → %s', (requested, allowList, expected) => {
    expect(redirectTarget(requested, SITE, compileAllowList(allowList))).toBe(expected);
  });

  it('refuses allow-list entries it cannot read', () => {
    for (const bad of ['example.com', 'https://user@example.com/', 'https://exa%2Emple.com/', 'https://a\\b.com/', 'https://a.**.com/']) {
      expect(() => compileAllowList([bad]), bad).toThrow();
    }
    expect(() => loadOtpSettings({ GOTRUE_URI_ALLOW_LIST: 'https://app.example.com/**, https://a.**.example.com/' })).toThrow(/GOTRUE_URI_ALLOW_LIST/);
    expect(loadOtpSettings({ LATCHKEY_URI_ALLOW_LIST: 'https://*.example.com/**' }).uriAllowList).toHaveLength(1);
  });
});

describeEachDatabase('redirect targets of emailed links', (database) => {
  let app: IdentityServer;
  beforeAll(async () => {
    app = await startIdentity(database(), {
      LATCHKEY_SITE_URL: 'https://app.example.com',
      LATCHKEY_URI_ALLOW_LIST: 'https://*.example.com/**',
      LATCHKEY_SMTP_MAX_FREQUENCY: '0',
      LATCHKEY_RATE_LIMIT_EMAIL_SENT: '0',
      LATCHKEY_RATE_LIMIT_VERIFY: '0',
    });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('sends a followed link to the site URL, not to a host that only looks allowed', async () => {
    for (const attack of ['https://evil%252Eexample%252Enet%5C.example.com/', 'https://evil%2Eexample%2Enet\\.example.com/', 'https://1249763243#.example.com/']) {
      const response = await fetch(`${app.auth}/verify?type=recovery&token=${'0'.repeat(56)}&redirect_to=${encodeURIComponent(attack)}`, { redirect: 'manual' });
      expect(response.status).toBe(303);
      const location = response.headers.get('location')!;
      expect(location.startsWith('https://app.example.com#'), location).toBe(true);
      expect(new URL(location).host).toBe('app.example.com');
    }
    const allowed = await fetch(`${app.auth}/verify?type=recovery&token=${'0'.repeat(56)}&redirect_to=${encodeURIComponent('https://docs.example.com/back')}`, { redirect: 'manual' });
    expect(allowed.headers.get('location')!.startsWith('https://docs.example.com/back#')).toBe(true);
  });

  it('writes the site URL into a recovery mail asked for with a look-alike redirect', async () => {
    const admin = app.admin();
    const address = `redirect-${Date.now().toString(36)}@example.com`;
    await admin.auth.admin.createUser({ email: address, password: 'correct-horse', email_confirm: true });
    const { error } = await app.client().auth.resetPasswordForEmail(address, { redirectTo: 'https://evil%2Eexample%2Enet\\.example.com/' });
    expect(error).toBeNull();
    const link = new URL((await nextMail(app, address)).link);
    expect(link.searchParams.get('redirect_to')).toBe('https://app.example.com');
  });
});
