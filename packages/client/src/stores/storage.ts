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

/** The part of the Web Locks API (`navigator.locks`) the store uses. */
export interface TabLocks {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

/** The part of `BroadcastChannel` the store uses. */
export interface TabChannel {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  close(): void;
}

export interface StorageTokenStoreOptions {
  /** Storage key. Default `latchkey.session`. */
  readonly key?: string;
  /** Receives a line when a stored entry was corrupt. Default `console.warn`. */
  readonly onWarning?: (message: string) => void;
  /**
   * Locks shared by the tabs of one origin, held while a token manager reloads, refreshes and saves, so
   * N tabs on an expiring session send one refresh. Default `navigator.locks` where it exists (secure
   * contexts: HTTPS and loopback); `null` turns locking off.
   */
  readonly locks?: TabLocks | null;
  /**
   * Opens the channel that announces a new token set or a sign-out to the other tabs. Default a
   * `BroadcastChannel` named after the key where the global exists; `null` turns announcing off.
   */
  readonly channel?: ((name: string) => TabChannel) | null;
  /**
   * How long (ms) a tab that changed the session keeps the lock after announcing it, so the next holder
   * has heard of the change before it reads. Default 100.
   */
  readonly settleMs?: number;
}

/**
 * What one tab tells the others: the stored session changed, and what it is now. The value travels in
 * the message because a browser propagates `localStorage` writes to other tabs' processes
 * asynchronously: a tab reading the storage on receipt may still see the old entry.
 */
interface ChangeMessage {
  readonly latchkey: 'session-changed';
  readonly key: string;
  readonly value: string | null;
}

function defaultLocks(): TabLocks | null {
  const locks = (globalThis as { navigator?: { locks?: { request: (name: string, callback: () => Promise<unknown>) => Promise<unknown> } } })
    .navigator?.locks;
  if (!locks || typeof locks.request !== 'function') return null;
  return { request: <T>(name: string, callback: () => Promise<T>) => locks.request(name, callback) as Promise<T> };
}

function defaultChannel(): ((name: string) => TabChannel) | null {
  const Channel = (globalThis as { BroadcastChannel?: new (name: string) => TabChannel & { unref?: () => void } }).BroadcastChannel;
  if (typeof Channel !== 'function') return null;
  return (name) => {
    const channel = new Channel(name);
    channel.unref?.(); // Node: an idle channel must not keep the process alive
    return channel;
  };
}

/**
 * Keeps the session as JSON under one key of a browser-style storage. An unreadable entry is removed
 * and reported through `onWarning`, and the session reads as absent.
 *
 * Tabs of one origin share the session: {@link StorageTokenStore.withLock} is a Web Lock, so the token
 * manager of only one tab refreshes an expiring token (the others find the new one when they reload
 * inside the lock), and every save or clear is announced on a `BroadcastChannel`, so
 * {@link StorageTokenStore.subscribe} listeners in the other tabs see a new token set or a sign-out
 * at once. Without Web Locks (old browsers, insecure origins) tabs may refresh independently.
 */
export class StorageTokenStore implements TokenStore {
  readonly #storage: KeyValueStorage;
  readonly #key: string;
  readonly #onWarning: (message: string) => void;
  readonly #locks: TabLocks | null;
  readonly #openChannel: ((name: string) => TabChannel) | null;
  #channel: TabChannel | undefined;
  readonly #listeners = new Set<(tokens: TokenSet | null) => void>();
  /** The entry as this tab last wrote or heard it announced; `undefined` until then (read the storage). */
  #known: { value: string | null } | undefined;
  readonly #settleMs: number;
  /** Whether the work running under the lock saved or cleared the session. */
  #changedUnderLock = false;

  constructor(storage: KeyValueStorage, options: StorageTokenStoreOptions = {}) {
    if (!storage || typeof storage.getItem !== 'function' || typeof storage.setItem !== 'function' || typeof storage.removeItem !== 'function') {
      throw new TypeError('storage must have getItem, setItem and removeItem');
    }
    this.#storage = storage;
    this.#key = options.key ?? 'latchkey.session';
    this.#onWarning = options.onWarning ?? ((message) => console.warn(message));
    this.#locks = options.locks === undefined ? defaultLocks() : options.locks;
    this.#openChannel = options.channel === undefined ? defaultChannel() : options.channel;
    this.#settleMs = options.settleMs ?? 100;
    if (!Number.isFinite(this.#settleMs) || this.#settleMs < 0) throw new TypeError('settleMs must be >= 0');
  }

  /** Whether saves are serialised with the other tabs through Web Locks. */
  get coordinated(): boolean {
    return this.#locks !== null;
  }

  async load(): Promise<TokenSet | null> {
    const text = this.#known ? this.#known.value : await this.#storage.getItem(this.#key);
    if (text === null || text === undefined) return null;
    try {
      return TokenSet.fromJSON(JSON.parse(text));
    } catch (error) {
      this.#onWarning(`latchkey: discarded an unreadable session under "${this.#key}" (${(error as Error).message})`);
      await this.#storage.removeItem(this.#key);
      this.#known = undefined;
      return null;
    }
  }

  async save(tokens: TokenSet): Promise<void> {
    const value = JSON.stringify(tokens);
    await this.#storage.setItem(this.#key, value);
    this.#announce(value);
  }

  async clear(): Promise<void> {
    await this.#storage.removeItem(this.#key);
    this.#announce(null);
  }

  /** Runs `work` holding the tabs' lock on this key (at once when Web Locks are not available). */
  withLock<T>(work: () => Promise<T>): Promise<T> {
    if (!this.#locks) return work();
    return this.#locks.request(`latchkey:${this.#key}`, async () => {
      this.#changedUnderLock = false;
      try {
        return await work();
      } finally {
        // A browser delivers the announcement and the storage write to other tabs asynchronously,
        // unordered with the lock's hand-over: hold the lock a moment so the next holder reads the new session.
        if (this.#changedUnderLock && this.#openChannel && this.#settleMs > 0) await new Promise((resolve) => setTimeout(resolve, this.#settleMs));
      }
    });
  }

  /**
   * Calls `listener` with the stored session (or `null`) whenever another tab saved or cleared it.
   * Returns a function that removes the listener; the channel closes with the last one.
   */
  subscribe(listener: (tokens: TokenSet | null) => void): () => void {
    this.#listeners.add(listener);
    this.#ensureChannel();
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0 && this.#channel) {
        this.#channel.close();
        this.#channel = undefined;
      }
    };
  }

  #ensureChannel(): TabChannel | undefined {
    if (this.#channel || !this.#openChannel) return this.#channel;
    const channel = this.#openChannel(`latchkey:${this.#key}`);
    channel.addEventListener('message', (event) => {
      const message = event.data as Partial<ChangeMessage> | null;
      if (!message || message.latchkey !== 'session-changed' || message.key !== this.#key) return;
      if (message.value !== null && typeof message.value !== 'string') return;
      this.#known = { value: message.value };
      void this.load().then(
        (tokens) => {
          for (const listener of this.#listeners) listener(tokens);
        },
        () => undefined,
      );
    });
    this.#channel = channel;
    return channel;
  }

  #announce(value: string | null): void {
    this.#changedUnderLock = true;
    const channel = this.#ensureChannel();
    if (!channel) return;
    this.#known = { value };
    const message: ChangeMessage = { latchkey: 'session-changed', key: this.#key, value };
    channel.postMessage(message);
  }
}
