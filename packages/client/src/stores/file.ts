/**
 * `FileTokenStore`: the session in a JSON file private to the user. Node only
 * (`@latchkey/client/node`).
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { TokenSet } from '../token-set.js';
import { processAlive, withFileLock, type FileLockOptions } from './file-lock.js';
import type { TokenStore } from './store.js';

export interface FileTokenStoreOptions extends FileLockOptions {
  /** Receives one line when the file had to be repaired or set aside. Default `console.warn`. */
  readonly onWarning?: (message: string) => void;
}

/**
 * Keeps the session in a file of mode 0600 inside a directory created with mode 0700.
 *
 * - Writes are atomic: a temporary file (created 0600) is written, fsynced and renamed over the target,
 *   then the directory is fsynced; a reader never sees a half-written file, even if the writer is killed.
 * - {@link FileTokenStore.withLock} is a cross-process lock (`<file>.lock`, taken over when its owner
 *   died or stopped its heartbeat), which the token manager holds while it reloads, refreshes and saves.
 * - A file that is not a session is moved aside to `<file>.corrupt-<time>` with a warning.
 * - A file readable by others is set back to 0600 with a warning.
 */
export class FileTokenStore implements TokenStore {
  readonly path: string;
  readonly #options: FileTokenStoreOptions;
  readonly #warn: (message: string) => void;

  constructor(file: string, options: FileTokenStoreOptions = {}) {
    if (!file) throw new TypeError('file must be a non-empty path');
    if (options.timeoutMs !== undefined && !(options.timeoutMs >= 0)) throw new TypeError('timeoutMs must be >= 0');
    if (options.staleMs !== undefined && !(options.staleMs > 0)) throw new TypeError('staleMs must be > 0');
    this.path = path.resolve(file);
    this.#options = options;
    this.#warn = options.onWarning ?? ((message) => console.warn(message));
  }

  async load(): Promise<TokenSet | null> {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(this.path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    let text: string;
    try {
      const stat = await handle.stat();
      if ((stat.mode & 0o077) !== 0) {
        await handle.chmod(0o600);
        this.#warn(`latchkey: ${this.path} was readable by other users; its mode is now 0600`);
      }
      text = await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
    try {
      return TokenSet.fromJSON(JSON.parse(text));
    } catch (error) {
      const aside = `${this.path}.corrupt-${Date.now()}`;
      await fs.rename(this.path, aside).catch(() => undefined);
      this.#warn(`latchkey: ${this.path} is not a session (${(error as Error).message}); moved it to ${aside}`);
      return null;
    }
  }

  async save(tokens: TokenSet): Promise<void> {
    const directory = path.dirname(this.path);
    await fs.mkdir(directory, { recursive: true, mode: 0o700 });
    const temporary = `${this.path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    const handle = await fs.open(temporary, 'wx', 0o600);
    try {
      await handle.chmod(0o600);
      await handle.writeFile(`${JSON.stringify(tokens)}\n`, 'utf8');
      await handle.sync();
    } catch (error) {
      await handle.close().catch(() => undefined);
      await fs.rm(temporary, { force: true });
      throw error;
    }
    await handle.close();
    try {
      await fs.rename(temporary, this.path);
    } catch (error) {
      await fs.rm(temporary, { force: true });
      throw error;
    }
    await syncDirectory(directory);
    await this.#removeOrphans(directory);
  }

  /** Removes temporary files left by writers that were killed mid-write. */
  async #removeOrphans(directory: string): Promise<void> {
    const prefix = `${path.basename(this.path)}.`;
    const names = await fs.readdir(directory).catch(() => [] as string[]);
    for (const name of names) {
      const match = name.startsWith(prefix) ? /^(\d+)\.[0-9a-f]+\.tmp$/.exec(name.slice(prefix.length)) : null;
      if (match && !processAlive(Number(match[1]))) await fs.rm(path.join(directory, name), { force: true });
    }
  }

  async clear(): Promise<void> {
    await fs.rm(this.path, { force: true });
  }

  withLock<T>(work: () => Promise<T>): Promise<T> {
    return withFileLock(this.path, work, this.#options);
  }
}

async function syncDirectory(directory: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(directory, 'r');
    await handle.sync();
  } catch {
    // Not every platform can fsync a directory; the rename is still atomic.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
