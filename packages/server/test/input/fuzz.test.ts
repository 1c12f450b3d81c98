import fc from 'fast-check';
import type { FastifyInstance, HTTPMethods } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { body, deepJson, FIELD_NAMES, FORM_TYPE, formText, headerText, pathParam, queryString, text } from './arbitraries.js';
import { startTarget, type RouteEntry, type Target } from './support.js';

/**
 * Property-based fuzzing of every HTTP route the product registers, enumerated from the running app.
 * `FUZZ_RUNS` sets the number of generated requests per engine (default 300); `FUZZ_SEED` replays a run.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const METHODS: readonly HTTPMethods[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

interface GeneratedRequest {
  readonly method: HTTPMethods;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly payload: string | undefined;
  /** Whether the method is the route's own (else Fastify answers from a not-found handler). */
  readonly routed: boolean;
}

/** What the fuzzer needs of an answer. */
interface Answer {
  readonly statusCode: number;
  readonly headers: Record<string, unknown>;
  /** The body; empty for an event stream, which is closed as soon as its headers arrive. */
  readonly body: string;
}

/** Longest a generated request may take: a request that hangs fails the property instead of the suite. */
const REQUEST_TIMEOUT = 10_000;

/** Sends one request; an event stream (it never ends by itself) is closed once its headers arrive. */
function send(app: FastifyInstance, request: { method: HTTPMethods; url: string; headers: Record<string, string>; payload: string | undefined }): Promise<Answer> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${REQUEST_TIMEOUT} ms: ${request.method} ${request.url}`)), REQUEST_TIMEOUT);
  });
  return Promise.race([exchange(app, request), timeout]).finally(() => clearTimeout(timer));
}

async function exchange(app: FastifyInstance, request: { method: HTTPMethods; url: string; headers: Record<string, string>; payload: string | undefined }): Promise<Answer> {
  const abort = new AbortController();
  const response = await app.inject({ method: request.method, url: request.url, headers: request.headers, payloadAsStream: true, signal: abort.signal, ...(request.payload === undefined ? {} : { payload: request.payload }) });
  const stream = response.stream();
  if (String(response.headers['content-type'] ?? '').startsWith('text/event-stream')) {
    stream.on('error', () => undefined);
    abort.abort();
    return { statusCode: response.statusCode, headers: response.headers, body: '' };
  }
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return { statusCode: response.statusCode, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether a 4xx answer has the error shape documented for its path; returns a reason when not. */
function shapeProblem(request: GeneratedRequest, response: Answer): string | undefined {
  let body: unknown;
  try {
    body = JSON.parse(response.body);
  } catch {
    return 'body is not JSON';
  }
  if (!isObject(body)) return 'body is not an object';
  if (/\n\s+at /.test(response.body)) return 'body carries a stack trace';
  // Dot segments are resolved before the request is sent, as a client does.
  const path = new URL(request.url, 'http://localhost').pathname;
  if (path === '/auth/v1' || path.startsWith('/auth/v1/')) {
    const legacy = body.code === response.statusCode && typeof body.error_code === 'string' && typeof body.msg === 'string';
    const modern = typeof body.code === 'string' && typeof body.message === 'string';
    const oauth = typeof body.error === 'string' && typeof body.error_description === 'string';
    if (legacy || modern) return response.headers['x-sb-error-code'] === (legacy ? body.error_code : body.code) ? undefined : 'x-sb-error-code missing';
    return oauth ? undefined : 'not a GoTrue error';
  }
  if (path === '/api/v1' || path.startsWith('/api/v1/')) {
    return typeof body.error === 'string' && typeof body.error_description === 'string' ? undefined : 'not {error, error_description}';
  }
  // The server API has no prefix of its own: a method it does not serve gets the root's answers.
  if (path.startsWith('/api/') && request.routed) {
    const error = body.error;
    return isObject(error) && typeof error.code === 'number' && typeof error.message === 'string' ? undefined : 'not {error: {code, message}}';
  }
  return typeof body.error === 'string' && typeof body.message === 'string' ? undefined : 'not {error, message}';
}

function requests(target: Target, routes: readonly RouteEntry[]): fc.Arbitrary<GeneratedRequest> {
  // Placeholders, resolved when the request is sent (the fixture may be renewed between requests).
  const readOnlyIds = ['{{user}}', '{{organization}}'];
  const otherIds = ['{{note}}', '{{client}}'];
  const credential = fc.oneof(
    fc.constant(undefined),
    fc.constantFrom('{{userToken}}', '{{serviceKey}}', '{{anonKey}}'),
    headerText,
    fc.constantFrom(`${target.fixture.userToken.slice(0, -4)}AAAA`, 'e30.e30.', 'a.b.c', `${target.serviceKey}x`),
  );
  const authorization = fc.oneof(
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 4, arbitrary: credential.map((value) => (value === undefined ? undefined : `Bearer ${value}`)) },
    { weight: 1, arbitrary: headerText },
    { weight: 1, arbitrary: fc.tuple(fc.oneof(fc.constant('{{client}}'), text), text).map(([id, secret]) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`) },
    { weight: 1, arbitrary: fc.constant('apikey {{gatewayKey}}') },
  );
  const contentType = fc.oneof(
    { weight: 2, arbitrary: fc.constantFrom('application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream', 'multipart/form-data; boundary=x') },
    { weight: 1, arbitrary: headerText },
  );
  return fc
    .record({
      route: fc.constantFrom(...routes),
      otherMethod: fc.oneof({ weight: 7, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom(...METHODS) }),
      query: fc.option(queryString, { freq: 2 }),
      payload: body,
      authorization,
      apikey: fc.option(credential, { freq: 2 }),
      gatewayKey: fc.option(fc.oneof(fc.constant('{{gatewayKey}}'), headerText), { freq: 2 }),
      apiVersion: fc.option(fc.constantFrom('2024-01-01', '2023-01-01', 'x'), { freq: 2 }),
      contentType: fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constant(null) }, { weight: 2, arbitrary: contentType }),
      forwardedFor: fc.option(fc.oneof(headerText, fc.constantFrom('127.0.0.1', '::1', '10.0.0.1, 127.0.0.1', '999.1.1.1', 'unknown', '')), { freq: 3 }),
      userAgent: fc.option(headerText, { freq: 3 }),
    })
    .chain((parts) => {
      const method = (parts.otherMethod ?? parts.route.method) as HTTPMethods;
      // Only reads may name the fixture user and organization, so the run keeps its footing.
      const known = method === 'GET' ? [...readOnlyIds, ...otherIds] : otherIds;
      const names = parts.route.url.match(/:[A-Za-z_]+|\*/g) ?? [];
      return fc.tuple(fc.constant(parts), fc.constant(method), fc.tuple(...names.map(() => pathParam(known))));
    })
    .map(([parts, method, values]) => {
      let index = 0;
      const path = parts.route.url.replace(/:[A-Za-z_]+|\*/g, () => values[index++] ?? '');
      const headers: Record<string, string> = {};
      if (parts.authorization !== undefined) headers.authorization = parts.authorization;
      if (parts.apikey !== null && parts.apikey !== undefined) headers.apikey = parts.apikey;
      if (parts.gatewayKey !== null) headers['x-api-key'] = parts.gatewayKey;
      if (parts.apiVersion !== null) headers['x-supabase-api-version'] = parts.apiVersion;
      // The body's own type mostly; sometimes another one, sometimes none.
      const type = parts.contentType === undefined ? parts.payload.type : parts.contentType;
      if (type !== null && parts.payload.text !== undefined) headers['content-type'] = type;
      if (parts.forwardedFor !== null) headers['x-forwarded-for'] = parts.forwardedFor;
      if (parts.userAgent !== null) headers['user-agent'] = parts.userAgent;
      return { method, url: parts.query === null ? path : `${path}?${parts.query}`, headers, payload: parts.payload.text, routed: method === parts.route.method };
    });
}

/** The credentials a route needs to get past authentication, as placeholders. */
function credentialsFor(url: string): Record<string, string> {
  if (url.startsWith('/api/') && !url.startsWith('/api/v1/')) return { 'x-api-key': '{{gatewayKey}}' };
  if (url.includes('/admin')) return { apikey: '{{serviceKey}}', authorization: 'Bearer {{serviceKey}}' };
  return { apikey: '{{anonKey}}', authorization: 'Bearer {{userToken}}' };
}

const NO_ID = '00000000-0000-4000-8000-000000000000';

/** One refused input in one place, for every route: the sweep that backs "every route" by construction. */
function sweep(route: RouteEntry, clientId: string): Array<GeneratedRequest & { expect: 'refused' | 'client_error' }> {
  const hasBody = route.method !== 'GET' && route.method !== 'HEAD';
  const credentials = credentialsFor(route.url);
  const fill = (param: string) => route.url.replace(/:[A-Za-z_]+|\*/g, param);
  const plain = fill(NO_ID);
  const base = { method: route.method as HTTPMethods, routed: true };
  const all = (value: string) => Object.fromEntries(FIELD_NAMES.map((name) => [name, value]));
  // Requests whose refused input is not in the body carry an empty JSON object where a body is expected.
  const empty = hasBody ? { headers: { ...credentials, 'content-type': 'application/json' }, payload: '{}' } : { headers: credentials, payload: undefined };
  const json = (text: string) => ({ ...base, url: plain, headers: { ...credentials, 'content-type': 'application/json' }, payload: text, expect: hasBody ? ('refused' as const) : ('client_error' as const) });
  const cases: Array<GeneratedRequest & { expect: 'refused' | 'client_error' }> = [
    json(JSON.stringify(all('a\u0000b'))),
    json(JSON.stringify(all('a\ud800b'))),
    json('{"k\\u0000":1}'),
    json(deepJson(100)),
    { ...base, url: plain, headers: { ...credentials, 'content-type': FORM_TYPE }, payload: formText({ ...all('a\u0000b'), grant_type: 'client_credentials' }), expect: 'client_error' }, // 415 where no form parser is
    { ...base, ...empty, url: `${plain}?${FIELD_NAMES.map((name) => `${name}=a%00b`).join('&')}`, expect: 'refused' },
    {
      ...base,
      url: plain,
      headers: { authorization: `Basic ${Buffer.from(`${clientId}\u0000:secret`).toString('base64')}`, 'content-type': FORM_TYPE },
      payload: 'grant_type=client_credentials',
      expect: 'client_error',
    },
  ];
  if (plain !== route.url) {
    cases.push({ ...base, ...empty, url: fill('a%00b'), expect: 'refused' });
    cases.push({ ...base, ...empty, url: fill('%ED%A0%80'), expect: 'refused' });
  }
  return cases;
}

describeEachDatabase('fuzz: every HTTP route', (database) => {
  let target: Target;
  beforeAll(async () => {
    target = await startTarget(database());
  });
  afterAll(async () => target?.close());

  it('finds the routes of the identity service, the example API and the server API', () => {
    const urls = new Set(target.routes.map((route) => route.url));
    for (const url of ['/auth/v1/signup', '/auth/v1/user', '/auth/v1/admin/users/:id', '/auth/v1/organizations/:id/members', '/api/v1/notes/:id', '/api/publish']) {
      expect(urls, url).toContain(url);
    }
  });

  it('refuses NUL, unpaired surrogates and deep nesting in every place of every route, storing nothing', async () => {
    const before = await target.counts();
    const routes = target.routes.filter((route) => route.method !== 'HEAD' && route.method !== 'OPTIONS');
    for (const route of routes) {
      for (const request of sweep(route, target.fixture.client)) {
        const headers = Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, target.resolve(value)]));
        const response = await send(target.app, { ...request, headers });
        const label = `${request.method} ${request.url} ${request.payload?.slice(0, 100)} → ${response.statusCode} ${response.body.slice(0, 300)}`;
        if (request.expect === 'refused') expect(response.statusCode, label).toBe(400);
        else expect(response.statusCode, label).toBeLessThan(500);
        if (response.statusCode >= 400) expect(shapeProblem(request, response), label).toBeUndefined();
      }
    }
    expect(await target.counts()).toEqual(before);
  });

  it(
    'answers generated requests without a 5xx, in the documented error shape, storing nothing it refused',
    async () => {
      const routes = target.routes.filter((route) => route.method !== 'HEAD');
      let sent = 0;
      const stats = new Map<string, number>();
      await fc.assert(
        fc.asyncProperty(requests(target, routes), async (request) => {
          sent += 1;
          const before = await target.counts();
          const headers = Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, target.resolve(value)]));
          const url = target.resolve(request.url);
          const response = await send(target.app, { method: request.method, url, headers, payload: request.payload });
          if (process.env.FUZZ_STATS) stats.set(`${response.statusCode} ${request.routed ? 'routed' : 'other'}`, (stats.get(`${response.statusCode} ${request.routed ? 'routed' : 'other'}`) ?? 0) + 1);
          const label = `${request.method} ${url} ${JSON.stringify(headers)} ${request.payload?.slice(0, 300)} → ${response.statusCode} ${response.body.slice(0, 300)}`;
          expect(response.statusCode, label).toBeLessThan(500);
          if (response.statusCode >= 400) {
            expect(shapeProblem(request, response), label).toBeUndefined();
            expect(await target.counts(), `stored by a refused request: ${label}`).toEqual(before);
          }
          if (sent % 50 === 0) await target.renew();
        }),
        { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }) },
      );
      if (process.env.FUZZ_STATS) console.log([...stats].sort().join('\n'));
      expect((await target.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    },
    120_000,
  );
});
