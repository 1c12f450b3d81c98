/**
 * The mixed load of the fault harness and what it records: virtual users signing in (supabase-js),
 * refreshing, calling the identity service and the example API and writing notes; a stream of
 * sign-ups; realtime users on the official `centrifuge` client subscribed to their organization's
 * channel, fed by a publisher through the gateway's server API. Every answer is recorded with its time,
 * so each fault's window can be cut out afterwards.
 */
import { randomUUID } from 'node:crypto';
import { createClient } from '@supabase/supabase-js';
import { Centrifuge, type Subscription } from 'centrifuge';
import WebSocket from 'ws';
import { sleep } from './services.js';

/** What a request was for. */
export type Action = 'sign-up' | 'sign-in' | 'refresh' | 'user' | 'notes' | 'note-write' | 'publish';

/** An answer: HTTP status, `network` (no answer) or `timeout`. */
export type Outcome = number | 'network' | 'timeout';

export interface Sample {
  readonly at: number;
  readonly action: Action;
  readonly outcome: Outcome;
}

/** Everything the clients saw, by time (`performance.now()`). */
export class Observations {
  readonly samples: Sample[] = [];
  /** Per virtual user, when its requests succeeded. */
  readonly successes = new Map<string, number[]>();
  /** Socket outages: from the close to the next connect (`up` null while still down). */
  readonly outages: { client: string; down: number; up: number | null; code: number }[] = [];
  /** Sessions whose refresh token stopped working (refresh answered 4xx). */
  readonly sessionsLost: { at: number; user: string; code: string }[] = [];
  /** Acknowledged writes, checked against the database at the end. */
  readonly users: string[] = [];
  readonly notes: string[] = [];
  readonly refreshTokens: { at: number; token: string }[] = [];
  /** Publications acknowledged by the server API, and those each subscriber received. */
  readonly published: { at: number; channel: string; seq: number }[] = [];
  readonly received = new Map<string, Set<string>>();

  add(action: Action, outcome: Outcome, user?: string): void {
    const at = performance.now();
    this.samples.push({ at, action, outcome });
    if (user && typeof outcome === 'number' && outcome < 400) {
      let list = this.successes.get(user);
      if (!list) this.successes.set(user, (list = []));
      list.push(at);
    }
  }
}

async function send(url: string, init: RequestInit): Promise<{ outcome: Outcome; body: unknown }> {
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
    const text = await response.text();
    let body: unknown = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = null;
    }
    return { outcome: response.status, body };
  } catch (error) {
    return { outcome: error instanceof Error && error.name === 'TimeoutError' ? 'timeout' : 'network', body: null };
  }
}

/** Deployment facts every client needs. */
export interface Target {
  readonly base: string;
  readonly anonKey: string;
  readonly gatewayApiKey: string;
}

const PASSWORD = 'correct-horse-battery-1';

/** A signed-in user with an organization; refreshes are serialised so the socket and the loop never race. */
export class VirtualUser {
  readonly name = randomUUID();
  readonly email = `chaos-${this.name}@example.com`;
  id = '';
  organization = '';
  access = '';
  refreshToken = '';
  #refreshing: Promise<void> | null = null;

  constructor(
    readonly target: Target,
    readonly record: Observations,
  ) {}

  #headers(token?: string): Record<string, string> {
    return { apikey: this.target.anonKey, 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) };
  }

  /** Signs up, creates an organization and refreshes so the token names it. Throws on any failure (set-up). */
  async setUp(): Promise<void> {
    const signedUp = await send(`${this.target.base}/auth/v1/signup`, { method: 'POST', headers: this.#headers(), body: JSON.stringify({ email: this.email, password: PASSWORD }) });
    if (signedUp.outcome !== 200) throw new Error(`set-up sign-up answered ${signedUp.outcome}`);
    const session = signedUp.body as { access_token: string; refresh_token: string; user: { id: string } };
    this.id = session.user.id;
    this.access = session.access_token;
    this.refreshToken = session.refresh_token;
    this.record.users.push(this.id);
    const created = await send(`${this.target.base}/auth/v1/organizations`, { method: 'POST', headers: this.#headers(this.access), body: JSON.stringify({ name: `chaos ${this.name}` }) });
    if (created.outcome !== 201) throw new Error(`set-up organization answered ${created.outcome}`);
    this.organization = (created.body as { id: string }).id;
    await this.refresh();
    if (!this.access) throw new Error('set-up refresh failed');
  }

  /** Refreshes the session (one at a time); a 4xx means the session is lost, and the user signs in again. */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#refresh().finally(() => {
      this.#refreshing = null;
    });
    return this.#refreshing;
  }

  async #refresh(): Promise<void> {
    const presented = this.refreshToken;
    const answer = await send(`${this.target.base}/auth/v1/token?grant_type=refresh_token`, { method: 'POST', headers: this.#headers(), body: JSON.stringify({ refresh_token: presented }) });
    this.record.add('refresh', answer.outcome, this.name);
    if (answer.outcome === 200) {
      const body = answer.body as { access_token: string; refresh_token: string };
      this.access = body.access_token;
      this.refreshToken = body.refresh_token;
      this.record.refreshTokens.push({ at: performance.now(), token: body.refresh_token });
    } else if (typeof answer.outcome === 'number' && answer.outcome >= 400 && answer.outcome < 500 && answer.outcome !== 429) {
      const code = (answer.body as { error_code?: string } | null)?.error_code ?? String(answer.outcome);
      this.record.sessionsLost.push({ at: performance.now(), user: this.name, code });
      await this.signIn();
    }
    // 5xx, network, timeout: keep the token and present it again (the reuse interval covers a lost answer).
  }

  /** Signs in with supabase-js (password grant) and takes the new session. */
  async signIn(): Promise<void> {
    const client = createClient(this.target.base, this.target.anonKey, { auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false } });
    const { data, error } = await client.auth.signInWithPassword({ email: this.email, password: PASSWORD });
    const status = error ? ((error as { status?: number }).status ?? 'network') : 200;
    this.record.add('sign-in', status === 0 ? 'network' : status, this.name);
    if (data.session) {
      this.access = data.session.access_token;
      this.refreshToken = data.session.refresh_token;
    }
  }

  /** One step of the loop: mostly reads, some refreshes, some writes, now and then a sign-in. */
  async step(): Promise<void> {
    const roll = Math.random();
    if (roll < 0.3) return this.refresh();
    if (roll < 0.35) return this.signIn();
    if (roll < 0.65) {
      const answer = await send(`${this.target.base}/auth/v1/user`, { headers: this.#headers(this.access) });
      this.record.add('user', answer.outcome, this.name);
      return;
    }
    if (roll < 0.85) {
      const answer = await send(`${this.target.base}/api/v1/notes?limit=5`, { headers: this.#headers(this.access) });
      this.record.add('notes', answer.outcome, this.name);
      return;
    }
    const answer = await send(`${this.target.base}/api/v1/notes`, { method: 'POST', headers: this.#headers(this.access), body: JSON.stringify({ title: `note ${randomUUID()}` }) });
    this.record.add('note-write', answer.outcome, this.name);
    if (answer.outcome === 201) this.record.notes.push((answer.body as { id: string }).id);
  }
}

/** Runs `body` every `intervalMs` (plus jitter) until `stop` says so. */
async function loop(stop: () => boolean, intervalMs: number, body: () => Promise<void>): Promise<void> {
  while (!stop()) {
    await body().catch(() => undefined);
    await sleep(intervalMs * (0.5 + Math.random()));
  }
}

/** A realtime user: an official centrifuge client through the balancer, subscribed to its organization's channel. */
export function connectRealtime(user: VirtualUser, wsUrl: string, record: Observations): Centrifuge {
  const client = new Centrifuge(wsUrl, {
    websocket: WebSocket as never,
    token: user.access,
    getToken: async () => {
      await user.refresh();
      return user.access;
    },
  });
  let downSince: number | null = null;
  let lastCode = 0;
  client.on('disconnected', (context: { code: number }) => {
    lastCode = context.code;
  });
  client.on('connecting', (context: { code: number }) => {
    if (downSince === null && context.code !== 0) {
      downSince = performance.now();
      lastCode = context.code;
    }
  });
  client.on('connected', () => {
    if (downSince !== null) record.outages.push({ client: user.name, down: downSince, up: performance.now(), code: lastCode });
    downSince = null;
  });
  const channel = `org:${user.organization}`;
  const received = new Set<string>();
  record.received.set(channel, received);
  // The organization namespace keeps history: the client recovers what it missed while reconnecting.
  const subscription: Subscription = client.newSubscription(channel, { recoverable: true });
  subscription.on('publication', (context: { data: unknown }) => {
    const seq = (context.data as { seq?: number } | null)?.seq;
    if (typeof seq === 'number') received.add(String(seq));
  });
  subscription.subscribe();
  client.connect();
  return client;
}

/** Options of {@link startLoad}. */
export interface LoadOptions {
  readonly target: Target;
  readonly users: readonly VirtualUser[];
  readonly realtime: readonly VirtualUser[];
  /** Milliseconds between one user's steps (jittered). */
  readonly stepMs: number;
  /** Milliseconds between sign-ups. */
  readonly signUpMs: number;
  /** Milliseconds between publications to each realtime user's channel. */
  readonly publishMs: number;
  readonly record: Observations;
}

/** Starts the load; `stop()` ends every loop and resolves when they have. */
export function startLoad(options: LoadOptions): { stop(): Promise<void> } {
  let stopped = false;
  const stop = () => stopped;
  const { target, record } = options;
  const loops: Promise<void>[] = options.users.map((user) => loop(stop, options.stepMs, () => user.step()));
  loops.push(
    loop(stop, options.signUpMs, async () => {
      const answer = await send(`${target.base}/auth/v1/signup`, {
        method: 'POST',
        headers: { apikey: target.anonKey, 'content-type': 'application/json' },
        body: JSON.stringify({ email: `chaos-new-${randomUUID()}@example.com`, password: PASSWORD }),
      });
      record.add('sign-up', answer.outcome);
      if (answer.outcome === 200) record.users.push((answer.body as { user: { id: string } }).user.id);
    }),
  );
  let seq = 0;
  loops.push(
    loop(stop, options.publishMs, async () => {
      seq += 1;
      const current = seq;
      await Promise.all(
        options.realtime.map(async (user) => {
          const channel = `org:${user.organization}`;
          const answer = await send(`${target.base}/api/publish`, {
            method: 'POST',
            headers: { 'x-api-key': target.gatewayApiKey, 'content-type': 'application/json' },
            body: JSON.stringify({ channel, data: { seq: current } }),
          });
          const ok = answer.outcome === 200 && !(answer.body as { error?: unknown } | null)?.error;
          record.add('publish', ok ? 200 : answer.outcome === 200 ? 500 : answer.outcome);
          if (ok) record.published.push({ at: performance.now(), channel, seq: current });
        }),
      );
    }),
  );
  return {
    async stop() {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

/** Closed-loop throughput: `workers` users each repeating `action` for `seconds`; returns successes per second. */
export async function throughput(users: readonly VirtualUser[], seconds: number, action: (user: VirtualUser) => Promise<boolean>): Promise<number> {
  const until = performance.now() + seconds * 1000;
  let done = 0;
  await Promise.all(
    users.map(async (user) => {
      while (performance.now() < until) if (await action(user).catch(() => false)) done += 1;
    }),
  );
  return done / seconds;
}

/** One refresh grant against `base`; true on 200. */
export async function refreshAt(base: string, user: VirtualUser): Promise<boolean> {
  const answer = await send(`${base}/auth/v1/token?grant_type=refresh_token`, {
    method: 'POST',
    headers: { apikey: user.target.anonKey, 'content-type': 'application/json' },
    body: JSON.stringify({ refresh_token: user.refreshToken }),
  });
  if (answer.outcome !== 200) return false;
  const body = answer.body as { access_token: string; refresh_token: string };
  user.access = body.access_token;
  user.refreshToken = body.refresh_token;
  return true;
}

/** One authenticated example-API read against `base`; true on 200. */
export async function apiReadAt(base: string, user: VirtualUser): Promise<boolean> {
  const answer = await send(`${base}/api/v1/notes?limit=5`, { headers: { authorization: `Bearer ${user.access}` } });
  return answer.outcome === 200;
}
