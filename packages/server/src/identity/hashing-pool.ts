/**
 * bcrypt on worker threads of lowest CPU priority.
 *
 * A bcrypt computation at cost 10 takes ~60 ms of CPU. On libuv's shared thread pool a login storm
 * competes with the event loop as an equal, so on a small machine every other request waits for the
 * scheduler. Here each computation runs synchronously on a worker thread that lowers its own
 * scheduling priority (nice 19, Linux per-thread), so the event loop, the database and every other
 * normal-priority thread take a core the moment they need one, and logins use the CPU that is left.
 *
 * @module
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import { Worker } from 'node:worker_threads';

/** A job sent to a hashing thread; each thread has at most one at a time, so answers need no id. */
type HashingJob = { readonly op: 'hash'; readonly password: string; readonly cost: number } | { readonly op: 'compare'; readonly password: string; readonly hash: string };

/** A hashing thread's answer. */
type HashingAnswer = { readonly result: string | boolean } | { readonly error: string };

interface Pending {
  readonly job: HashingJob;
  readonly resolve: (value: string | boolean) => void;
  readonly reject: (error: Error) => void;
}

/** The thread's program (CommonJS, no TypeScript: it must run without a loader). */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
try { require('node:os').setPriority(0, workerData.nice); } catch {}
const bcrypt = require(workerData.bcrypt);
parentPort.on('message', (job) => {
  try {
    const result = job.op === 'hash' ? bcrypt.hashSync(job.password, job.cost) : bcrypt.compareSync(job.password, job.hash);
    parentPort.postMessage({ result });
  } catch (error) {
    parentPort.postMessage({ error: error instanceof Error ? error.message : String(error) });
  }
});
`;

/** Lowest priority a thread can give itself (`nice 19`). */
const LOWEST_PRIORITY = 19;

/** Runs bcrypt jobs on `size` low-priority threads, started on first use; idle threads keep no process alive. */
export class HashingPool {
  readonly #size: number;
  readonly #idle: Worker[] = [];
  readonly #busy = new Map<Worker, Pending>();
  readonly #queue: Pending[] = [];
  #started = 0;

  /** @param size number of threads; default is one per core. */
  constructor(size = os.availableParallelism()) {
    if (!Number.isInteger(size) || size < 1) throw new TypeError('size must be a positive integer');
    this.#size = size;
  }

  /**
   * Starts every thread now rather than on first use, so the first burst of logins does not pay for
   * thread start-up on the event loop.
   */
  start(): void {
    while (this.#started < this.#size) this.#idle.push(this.#spawn());
  }

  /** bcrypt hash of `password` at `cost`. */
  hash(password: string, cost: number): Promise<string> {
    return this.#run({ op: 'hash', password, cost }) as Promise<string>;
  }

  /** Whether `password` matches the bcrypt `hash`. */
  compare(password: string, hash: string): Promise<boolean> {
    return this.#run({ op: 'compare', password, hash }) as Promise<boolean>;
  }

  #run(job: HashingJob): Promise<string | boolean> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ job, resolve, reject });
      this.#dispatch();
    });
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      const worker = this.#idle.pop() ?? (this.#started < this.#size ? this.#spawn() : undefined);
      if (worker === undefined) return;
      const pending = this.#queue.shift() as Pending;
      this.#busy.set(worker, pending);
      worker.ref();
      worker.postMessage(pending.job);
    }
  }

  #spawn(): Worker {
    this.#started += 1;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { bcrypt: createRequire(import.meta.url).resolve('bcrypt'), nice: LOWEST_PRIORITY },
      // The worker runs plain CommonJS; it needs no loader of the parent.
      execArgv: [],
    });
    // Idle threads keep no process alive; a thread is referenced only while it computes.
    worker.unref();
    worker.on('message', (answer: HashingAnswer) => {
      const pending = this.#busy.get(worker);
      this.#busy.delete(worker);
      worker.unref();
      this.#idle.push(worker);
      if (pending !== undefined) {
        if ('error' in answer) pending.reject(new Error(answer.error));
        else pending.resolve(answer.result);
      }
      this.#dispatch();
    });
    let failed = false;
    const fail = (error: Error): void => {
      if (failed) return;
      failed = true;
      const pending = this.#busy.get(worker);
      this.#busy.delete(worker);
      const index = this.#idle.indexOf(worker);
      if (index !== -1) this.#idle.splice(index, 1);
      this.#started -= 1;
      pending?.reject(error);
      this.#dispatch();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`hashing thread exited with code ${code}`)));
    return worker;
  }
}
