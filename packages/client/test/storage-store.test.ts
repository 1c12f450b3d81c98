import { describe, expect, it } from 'vitest';
import { StorageTokenStore, TokenSet, type KeyValueStorage } from '@latchkey/client';

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
