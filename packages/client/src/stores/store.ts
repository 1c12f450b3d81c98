import type { TokenSet } from '../token-set.js';

/**
 * Where a session's tokens live. Every method is async. A store shared between processes (the file
 * store) also implements {@link TokenStore.withLock}: the manager then reloads, refreshes and saves
 * inside that lock, so one process's rotation is seen by the others instead of being repeated.
 */
export interface TokenStore {
  load(): Promise<TokenSet | null>;
  save(tokens: TokenSet): Promise<void>;
  clear(): Promise<void>;
  /** Runs `work` holding a lock shared with every other user of the same storage. */
  withLock?<T>(work: () => Promise<T>): Promise<T>;
  /**
   * Calls `listener` with the stored session (`null` once cleared) when another user of the same
   * storage (another browser tab) changed it; returns a function that removes the listener.
   */
  subscribe?(listener: (tokens: TokenSet | null) => void): () => void;
}
