import type { TokenSet } from '../token-set.js';
import type { TokenStore } from './store.js';

/** Keeps the session in memory for the life of the process. The default store. */
export class MemoryTokenStore implements TokenStore {
  #tokens: TokenSet | null;

  constructor(initial: TokenSet | null = null) {
    this.#tokens = initial;
  }

  async load(): Promise<TokenSet | null> {
    return this.#tokens;
  }

  async save(tokens: TokenSet): Promise<void> {
    this.#tokens = tokens;
  }

  async clear(): Promise<void> {
    this.#tokens = null;
  }
}
