import { describe, expect, it } from 'vitest';
import {
  NotLoggedInError,
  StorageTokenStore,
  TokenManager,
  TokenSet,
  type KeyValueStorage,
  type SignedOutEvent,
  type TabLocks,
} from '@latchkey/client';
import { fakeClock, fakeEndpoint } from './fake-endpoint.js';

const tokens = new TokenSet({ accessToken: 'a', accessExpiresAt: 1, refreshToken: 'r', refreshExpiresAt: null });

function syncStorage(): KeyValueStorage & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return { map, getItem: (k) => map.get(k) ?? null, setItem: (k, v) => void map.set(k, v), removeItem: (k) => void map.delete(k) };
}

describe('StorageTokenStore', () => {
  it('keeps the session under its key in a synchronous storage', async () => {
    const storage = syncStorage();
    const store = new StorageTokenStore(storage);
    expect(await store.load()).toBeNull();
    await store.save(tokens);
    expect([...storage.map.keys()]).toEqual(['latchkey.session']);
    expect(await store.load()).toEqual(tokens);
    await store.clear();
    expect(storage.map.size).toBe(0);
  });

  it('works over an asynchronous storage with a custom key', async () => {
    const map = new Map<string, string>();
    const storage: KeyValueStorage = {
      getItem: async (k) => map.get(k) ?? null,
      setItem: async (k, v) => void map.set(k, v),
      removeItem: async (k) => void map.delete(k),
    };
    const store = new StorageTokenStore(storage, { key: 'app.auth' });
    await store.save(tokens);
    expect(map.has('app.auth')).toBe(true);
    expect(await store.load()).toEqual(tokens);
  });

  it('drops an unreadable entry with a warning', async () => {
    const storage = syncStorage();
    storage.map.set('latchkey.session', '{"access_token":');
    const warnings: string[] = [];
    const store = new StorageTokenStore(storage, { onWarning: (line) => warnings.push(line) });
    expect(await store.load()).toBeNull();
    expect(storage.map.size).toBe(0);
    expect(warnings[0]).toMatch(/discarded an unreadable session/);
  });

  it('rejects something that is not a storage', () => {
    expect(() => new StorageTokenStore({} as KeyValueStorage)).toThrow(TypeError);
  });
});

/** An in-process stand-in for `navigator.locks`: one holder per name, the others wait in order. */
function fakeLocks(): TabLocks & { held: number } {
  const tails = new Map<string, Promise<unknown>>();
  const locks = {
    held: 0,
    request<T>(name: string, callback: () => Promise<T>): Promise<T> {
      const previous = tails.get(name) ?? Promise.resolve();
      const run = previous.then(async () => {
        locks.held += 1;
        try {
          return await callback();
        } finally {
          locks.held -= 1;
        }
      });
      tails.set(name, run.catch(() => undefined));
      return run;
    },
  };
  return locks;
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(check()).toBe(true);
};

describe('StorageTokenStore shared by tabs', () => {
  const TOKEN_URL = 'https://id.example/auth/v1/oauth/token';

  it('lets one of several tabs refresh an expiring session; the others adopt its tokens', async () => {
    const storage = syncStorage();
    const locks = fakeLocks();
    const endpoint = fakeEndpoint({ expiresIn: 3600 });
    const key = `tabs-${Math.random()}`;
    const clock = fakeClock();
    endpoint.valid.add('refresh-0');
    storage.map.set(key, JSON.stringify(new TokenSet({ accessToken: 'access-0', accessExpiresAt: clock.now() - 1000, refreshToken: 'refresh-0' })));
    const managers = Array.from({ length: 5 }, () => new TokenManager(null, {
      tokenUrl: TOKEN_URL,
      fetch: endpoint.fetch,
      clock,
      store: new StorageTokenStore(storage, { key, locks }),
    }));
    const results = await Promise.all(managers.map((manager) => manager.getTokens()));
    expect(results.map((tokens) => tokens.accessToken)).toEqual(Array(5).fill('access-1'));
    expect(endpoint.requests).toHaveLength(1);
    expect(locks.held).toBe(0);

    // A tab whose token is still valid hears of a newer one on the channel and uses it.
    const adopted: string[] = [];
    managers[1]!.on('adopted', (tokens) => adopted.push(tokens.accessToken));
    await managers[0]!.forceRefresh();
    await until(() => adopted.length === 1);
    expect(adopted).toEqual(['access-2']);
    expect((await managers[1]!.getTokens()).accessToken).toBe('access-2');
    expect(endpoint.requests).toHaveLength(2);
    for (const manager of managers) manager.dispose();
  });

  it('announces a sign-out to the other tabs at once', async () => {
    const storage = syncStorage();
    const key = `tabs-${Math.random()}`;
    const clock = fakeClock();
    const [first, second] = [0, 1].map(() => new TokenManager(null, {
      tokenUrl: TOKEN_URL,
      clock,
      store: new StorageTokenStore(storage, { key, locks: fakeLocks() }),
    })) as [TokenManager, TokenManager];
    await first.setTokens(new TokenSet({ accessToken: 'a', accessExpiresAt: clock.now() + 3600_000, refreshToken: 'r' }));
    await until(() => storage.map.has(key));
    expect((await second.peek())?.accessToken).toBe('a');
    const events: SignedOutEvent[] = [];
    second.on('signedOut', (event) => events.push(event));
    await first.clear();
    await until(() => events.length === 1);
    expect(events[0]!.reason).toBe('elsewhere');
    expect(await second.peek()).toBeNull();
    await expect(second.getTokens()).rejects.toBeInstanceOf(NotLoggedInError);
    first.dispose();
    second.dispose();
  });

  it('works alone without Web Locks or a channel', async () => {
    const storage = syncStorage();
    const store = new StorageTokenStore(storage, { locks: null, channel: null });
    expect(store.coordinated).toBe(false);
    expect(await store.withLock(async () => 7)).toBe(7);
    const stop = store.subscribe(() => undefined);
    await store.save(tokens);
    stop();
  });
});
