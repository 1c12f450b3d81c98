import { describe, expect, it } from 'vitest';
import { allowedRedirect } from '../../src/identity/otp/redirect.js';
import { tokenHash } from '../../src/identity/otp/tokens.js';

describe('redirect targets of emailed links', () => {
  const site = 'https://app.example.com';
  it('allows the site origin and allow-list matches, and sends everything else to the site URL', () => {
    expect(allowedRedirect(undefined, site, [])).toBe(site);
    expect(allowedRedirect('https://app.example.com/welcome?x=1', site, [])).toBe('https://app.example.com/welcome?x=1');
    expect(allowedRedirect('https://evil.example.net/', site, [])).toBe(site);
    expect(allowedRedirect('https://app.example.com.evil.net/', site, [])).toBe(site);
    expect(allowedRedirect('javascript:alert(1)', site, [])).toBe(site);
    expect(allowedRedirect('not a url', site, [])).toBe(site);
    expect(allowedRedirect('https://preview-42.example.org/cb', site, ['https://preview-*.example.org/**'])).toBe('https://preview-42.example.org/cb');
    expect(allowedRedirect('https://a.b.example.org/cb', site, ['https://*.example.org/**'])).toBe(site);
    expect(allowedRedirect('myapp://callback', site, ['myapp://callback'])).toBe('myapp://callback');
  });

  it('computes GoTrue\'s token hash (hex SHA-224 of address and code)', () => {
    expect(tokenHash('ada@example.com', '123456')).toMatch(/^[0-9a-f]{56}$/);
    expect(tokenHash('ada@example.com', '123456')).not.toBe(tokenHash('ada@example.com', '123457'));
  });
});
