/**
 * An in-process token endpoint, called as a `fetch` function, for unit tests of the manager and the HTTP
 * client where responses, failures and timing must be scripted. Tests against the real identity
 * service live in `*.integration.test.ts`.
 */
import type { Clock } from '@latchkey/client';

export interface FakeRequest {
  readonly url: URL;
  readonly method: string;
  readonly headers: Headers;
  readonly fields: Record<string, string>;
}

export type Responder = (request: FakeRequest, count: number) => Response | Promise<Response>;

export function fakeClock(start = 1_700_000_000_000): Clock & { t: number; sleeps: number[] } {
  const clock = {
    t: start,
    sleeps: [] as number[],
    now: () => clock.t,
    sleep: async (ms: number) => {
      clock.sleeps.push(ms);
      clock.t += ms;
    },
  };
  return clock;
}

export const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

/** A token endpoint issuing `access-N` / `refresh-N` with rotating refresh tokens. */
export function fakeEndpoint(options: { expiresIn?: number; respond?: Responder } = {}) {
  const requests: FakeRequest[] = [];
  let issued = 0;
  const valid = new Set<string>();
  const issue = (): Response => {
    issued += 1;
    valid.add(`refresh-${issued}`);
    return json({ access_token: `access-${issued}`, token_type: 'bearer', expires_in: options.expiresIn ?? 3600, refresh_token: `refresh-${issued}` });
  };
  const standard: Responder = (request) => {
    if (request.fields.grant_type === 'refresh_token') {
      if (!valid.delete(request.fields.refresh_token ?? '')) return json({ error: 'invalid_grant', error_description: 'refresh token already used' }, 400);
      return issue();
    }
    if (request.fields.grant_type === 'password') {
      if (request.fields.password !== 'secret') return json({ error: 'invalid_grant', error_description: 'bad credentials' }, 400);
      return issue();
    }
    if (request.fields.grant_type === 'client_credentials') {
      issued += 1;
      return json({ access_token: `access-${issued}`, token_type: 'Bearer', expires_in: options.expiresIn ?? 3600 });
    }
    return json({ error: 'unsupported_grant_type' }, 400);
  };
  const fetch = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : input);
    const headers = new Headers(init.headers);
    const text = typeof init.body === 'string' ? init.body : '';
    const fields: Record<string, string> = headers.get('content-type')?.startsWith('application/json')
      ? { grant_type: url.searchParams.get('grant_type') ?? '', ...(JSON.parse(text) as Record<string, string>) }
      : Object.fromEntries(new URLSearchParams(text));
    const request = { url, method: init.method ?? 'GET', headers, fields };
    requests.push(request);
    await new Promise((resolve) => setTimeout(resolve, 5));
    return (options.respond ?? standard)(request, requests.length);
  };
  return { fetch: fetch as typeof globalThis.fetch, requests, standard, issue, valid };
}
