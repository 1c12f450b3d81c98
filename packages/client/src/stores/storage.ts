import { TokenSet } from '../token-set.js';
import type { TokenStore } from './store.js';

/**
 * A key-value storage: `window.localStorage`, `sessionStorage`, or any adapter whose methods return
 * values or promises (React Native's AsyncStorage, an encrypted store…).
 */
export interface KeyValueStorage {
  getItem(key: string): string | null | Promise<string | null>;
  setItem(key: string, value: string): void | Promise<void>;
  removeItem(key: string): void | Promise<void>;
}

/**
 * Keeps the session as JSON under one key of a browser-style storage. An unreadable entry is removed
 * and reported through `onWarning`, and the session reads as absent.
 */
export class StorageTokenStore implements TokenStore {
  readonly #storage: KeyValueStorage;
  readonly #key: string;
  readonly #onWarning: (message: string) => void;

  /**
   * @param options.key storage key. Default `latchkey.session`.
   * @param options.onWarning receives a line when a stored entry was corrupt. Default `console.warn`.
   */
  constructor(storage: KeyValueStorage, options: { key?: string; onWarning?: (message: string) => void } = {}) {
    if (!storage || typeof storage.getItem !== 'function' || typeof storage.setItem !== 'function' || typeof storage.removeItem !== 'function') {
      throw new TypeError('storage must have getItem, setItem and removeItem');
    }
    this.#storage = storage;
    this.#key = options.key ?? 'latchkey.session';
    this.#onWarning = options.onWarning ?? ((message) => console.warn(message));
  }

  async load(): Promise<TokenSet | null> {
    const text = await this.#storage.getItem(this.#key);
    if (text === null || text === undefined) return null;
    try {
      return TokenSet.fromJSON(JSON.parse(text));
    } catch (error) {
      this.#onWarning(`latchkey: discarded an unreadable session under "${this.#key}" (${(error as Error).message})`);
      await this.#storage.removeItem(this.#key);
      return null;
    }
  }

  async save(tokens: TokenSet): Promise<void> {
    await this.#storage.setItem(this.#key, JSON.stringify(tokens));
  }

  async clear(): Promise<void> {
    await this.#storage.removeItem(this.#key);
  }
}
