import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../../../../test-support/integration.js';
import { createPostgresDatabase, describeEachDatabase } from '../../../../test-support/databases.js';
import { LATCHKEY_BIN, spawnNode, type Spawned } from '../../../../test-support/processes.js';
import { email, post, startIdentity, TEST_ENV, type IdentityServer } from './support.js';

const PASSWORD = 'correct-horse-1';

async function signUp(auth: string): Promise<{ refresh_token: string; access_token: string; user: { id: string } }> {
  const answer = await post(`${auth}/signup`, { email: email('refresh'), password: PASSWORD });
  expect(answer.status).toBe(200);
  return answer.body as never;
}

function refresh(auth: string, token: string) {
  return post(`${auth}/token?grant_type=refresh_token`, { refresh_token: token }, { 'x-supabase-api-version': '2024-01-01' });
}

describeEachDatabase('refresh token rotation', (database) => {
  let app: IdentityServer;
  // Fifty refreshes queueing on one session take longer than the suites' usual 1 s reuse interval on a
  // busy machine; the interval's end is tested in refresh-reuse.test.ts.
  const LONG_REUSE = { LATCHKEY_REFRESH_TOKEN_REUSE_INTERVAL: '30' };
  beforeAll(async () => {
    app = await startIdentity(database(), LONG_REUSE);
  });
  afterAll(async () => {
    await app?.close();
  });

  async function activeTokens(sessionId: string): Promise<number> {
    const { rows } = await database().query<{ n: number }>('select count(*)::int8 as n from auth.refresh_tokens where session_id = $1 and not revoked', [sessionId]);
    return rows[0]!.n;
  }

  it('answers 50 parallel refreshes of one token with one child and leaves one active chain', async () => {
    const session = await signUp(app.auth);
    const answers = await Promise.all(Array.from({ length: 50 }, () => refresh(app.auth, session.refresh_token)));
    expect(answers.map((answer) => answer.status)).toEqual(Array(50).fill(200));
    const children = new Set(answers.map((answer) => answer.body.refresh_token));
    expect(children.size).toBe(1);
    const sessionId = JSON.parse(Buffer.from((answers[0]!.body.access_token as string).split('.')[1]!, 'base64url').toString()).session_id as string;
    expect(await activeTokens(sessionId)).toBe(1);

    // Inside the reuse interval the parent of the active token answers with the active token.
    const again = await refresh(app.auth, session.refresh_token);
    expect(again.status).toBe(200);
    expect(again.body.refresh_token).toBe([...children][0]);

    // The chain goes on from the child.
    const next = await refresh(app.auth, [...children][0] as string);
    expect(next.status).toBe(200);
    expect(await activeTokens(sessionId)).toBe(1);
  });

  it('accepts any revoked token of the session inside the reuse interval', async () => {
    const session = await signUp(app.auth);
    const child = await refresh(app.auth, session.refresh_token);
    const grandchild = await refresh(app.auth, child.body.refresh_token as string);
    expect(grandchild.status).toBe(200);
    const reuseInside = await refresh(app.auth, session.refresh_token);
    expect(reuseInside.status).toBe(200);
    expect(reuseInside.body.refresh_token).not.toBe(grandchild.body.refresh_token);
  });

  it('ends sessions after the timebox', async () => {
    const timeboxed = await startIdentity(database(), { LATCHKEY_SESSIONS_TIMEBOX: '1' });
    try {
      const session = await signUp(timeboxed.auth);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const answer = await refresh(timeboxed.auth, session.refresh_token);
      expect(answer.status).toBe(400);
      expect(answer.body.code).toBe('session_expired');
    } finally {
      await timeboxed.close();
    }
  });

  it('ends sessions after the inactivity timeout, not while they are used', async () => {
    const idle = await startIdentity(database(), { GOTRUE_SESSIONS_INACTIVITY_TIMEOUT: '2' });
    try {
      const session = await signUp(idle.auth);
      await new Promise((resolve) => setTimeout(resolve, 1200));
      const used = await refresh(idle.auth, session.refresh_token);
      expect(used.status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 2100));
      const answer = await refresh(idle.auth, used.body.refresh_token as string);
      expect(answer.status).toBe(400);
      expect(answer.body.code).toBe('session_expired');
    } finally {
      await idle.close();
    }
  });

  it('limits refresh grants per session, not per address', async () => {
    const limited = await startIdentity(database(), { ...LONG_REUSE, LATCHKEY_RATE_LIMIT_TOKEN_REFRESH: '1', LATCHKEY_RATE_LIMIT_SESSION_BURST: '60' });
    try {
      const first = await signUp(limited.auth);
      const burst = await Promise.all(Array.from({ length: 50 }, () => refresh(limited.auth, first.refresh_token)));
      expect(burst.every((answer) => answer.status === 200)).toBe(true);
      let token = burst[0]!.body.refresh_token as string;
      let limitedAnswer: Awaited<ReturnType<typeof refresh>> | undefined;
      for (let i = 0; i < 20 && !limitedAnswer; i += 1) {
        const answer = await refresh(limited.auth, token);
        if (answer.status === 429) limitedAnswer = answer;
        else token = answer.body.refresh_token as string;
      }
      expect(limitedAnswer?.body).toEqual({ code: 'over_request_rate_limit', message: 'Request rate limit reached' });
      // Another session from the same address is not affected.
      const other = await signUp(limited.auth);
      expect((await refresh(limited.auth, other.refresh_token)).status).toBe(200);
    } finally {
      await limited.close();
    }
  });
});

describeWith(['DATABASE_URL'], 'refresh across two server processes on one PostgreSQL', () => {
  let target: { url: string; drop: () => Promise<void> };
  const processes: Spawned[] = [];
  const urls: string[] = [];
  beforeAll(async () => {
    target = await createPostgresDatabase();
    for (let i = 0; i < 2; i += 1) {
      const proc = spawnNode(LATCHKEY_BIN, ['serve'], { ...TEST_ENV, LATCHKEY_REFRESH_TOKEN_REUSE_INTERVAL: '6', PORT: '0', DATABASE_URL: target.url, LOG_LEVEL: 'warn' });
      processes.push(proc);
      const match = await proc.waitFor(/identity\s+(http:\/\/\S+\/auth\/v1)/, 30_000);
      urls.push(match[1]!);
    }
  }, 90_000);
  afterAll(async () => {
    for (const proc of processes) {
      proc.child.kill('SIGTERM');
      await proc.exited;
    }
    await target?.drop();
  });

  it('shares keys and serialises 50 parallel refreshes of one token across both', async () => {
    const [a, b] = urls as [string, string];
    const jwksA = await (await fetch(`${a}/.well-known/jwks.json`)).json();
    const jwksB = await (await fetch(`${b}/.well-known/jwks.json`)).json();
    expect(jwksA).toEqual(jwksB);

    const session = await signUp(a);
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => refresh(i % 2 === 0 ? a : b, session.refresh_token)));
    expect(answers.map((answer) => answer.status)).toEqual(Array(50).fill(200));
    expect(new Set(answers.map((answer) => answer.body.refresh_token)).size).toBe(1);

    const next = await refresh(b, answers[0]!.body.refresh_token as string);
    expect(next.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 6300));
    const reused = await refresh(a, session.refresh_token);
    expect(reused.body.code).toBe('refresh_token_already_used');
    expect((await refresh(b, next.body.refresh_token as string)).body.code).toBe('refresh_token_already_used');
  }, 60_000);
});
