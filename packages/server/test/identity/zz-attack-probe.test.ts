import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase } from '../../../../test-support/databases.js';
import { email, post, startIdentity, type IdentityServer } from './support.js';
let app: IdentityServer;
beforeAll(async () => { const db = await createTestDatabase('pglite'); app = await startIdentity(db.db, { LATCHKEY_RATE_LIMIT_EMAIL_SENT: '0', GOTRUE_RATE_LIMIT_EMAIL_SENT: '1000000', LATCHKEY_RATE_LIMIT_OTP: '0' }); }, 120000);
afterAll(async () => { await app?.close(); });
it('probe', async () => {
  const known = email();
  expect((await app.client().auth.signUp({ email: known, password: 'correct-horse-1' })).error).toBeNull();
  for (const path of ['/recover', '/otp', '/magiclink']) {
    const times: Record<string, number[]> = { known: [], unknown: [] };
    const answers: Record<string, string> = {};
    for (let i = 0; i < 6; i++) {
      for (const [k, addr] of [['known', known], ['unknown', email('nobody')]] as const) {
        const t = performance.now();
        const r = await post(`${app.auth}${path}`, path === '/otp' ? { email: addr, create_user: false } : { email: addr }, { apikey: app.anonKey });
        times[k]!.push(performance.now() - t);
        answers[k] = `${r.status} ${JSON.stringify(r.body)}`;
      }
    }
    const med = (a: number[]) => a.sort((x, y) => x - y)[a.length >> 1]!.toFixed(1);
    console.log(path, 'known', med(times.known!), answers.known, '| unknown', med(times.unknown!), answers.unknown);
  }
}, 120000);
