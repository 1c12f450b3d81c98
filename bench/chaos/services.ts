/**
 * The fault harness's own services, on free ports of 127.0.0.1 and in a temporary directory: a private
 * PostgreSQL cluster (initdb + pg_ctl, run as the `postgres` user when started as root), a private
 * redis-server, HAProxy in front of the nodes, and `latchkey serve` nodes from the compiled CLI. Nothing
 * here touches the machine's shared PostgreSQL or Redis.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { spawnNode, type Spawned } from '../../test-support/processes.js';

export { startRelay, type Relay } from '../../test-support/relay.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../packages/cli/bin/latchkey.js', import.meta.url));

/** A free TCP port on 127.0.0.1 (the kernel picks it; released before use). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 100 ms until it resolves true; returns the milliseconds it took, or rejects after `timeoutMs`. */
export async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await check().catch(() => false)) return performance.now() - started;
    if (performance.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(100);
  }
}

async function pgBin(name: string): Promise<string> {
  const versions = (await fs.readdir('/usr/lib/postgresql')).sort((a, b) => Number(b) - Number(a));
  for (const version of versions) {
    const candidate = `/usr/lib/postgresql/${version}/bin/${name}`;
    if (await fs.stat(candidate).then(() => true, () => false)) return candidate;
  }
  throw new Error(`PostgreSQL's ${name} was not found under /usr/lib/postgresql`);
}

/** Runs a PostgreSQL program as `postgres` when this process is root (PostgreSQL refuses root). */
async function asPostgres(program: string, args: readonly string[]): Promise<void> {
  const root = process.getuid?.() === 0;
  await run(root ? 'runuser' : program, root ? ['-u', 'postgres', '--', program, ...args] : [...args], { timeout: 120_000 });
}

/** A private PostgreSQL cluster. */
export interface Postgres {
  readonly url: string;
  readonly port: number;
  /** `pg_ctl restart -m fast`, what `pg_ctlcluster … restart` does: connections are cut, the server comes back. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startPostgres(dir: string): Promise<Postgres> {
  const data = path.join(dir, 'pgdata');
  await fs.mkdir(data, { recursive: true });
  if (process.getuid?.() === 0) await run('chown', ['-R', 'postgres:postgres', dir]);
  const initdb = await pgBin('initdb');
  const pgCtl = await pgBin('pg_ctl');
  await asPostgres(initdb, ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=32MB`;
  const ctl = (...args: string[]) => asPostgres(pgCtl, ['-D', data, '-l', path.join(dir, 'postgres.log'), '-o', options, '-w', '-t', '60', ...args]);
  await ctl('start');
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    restart: () => ctl('restart', '-m', 'fast'),
    stop: () => ctl('stop', '-m', 'immediate'),
  };
}

/** A private redis-server; `stop()` shuts it down as `redis-cli shutdown` would (SIGTERM). */
export interface RedisServer {
  readonly url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function startRedis(dir: string): Promise<RedisServer> {
  const port = await freePort();
  const data = path.join(dir, 'redis');
  await fs.mkdir(data, { recursive: true });
  let child: ChildProcess | undefined;
  const start = async () => {
    // Persisted as a production Redis is (append-only file), so channel history outlives a restart.
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', data, '--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec'], { stdio: 'ignore' });
    await until(() => new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    }), 10_000, 'redis-server start');
  };
  const stop = async () => {
    const current = child;
    child = undefined;
    if (!current || current.exitCode !== null) return;
    const exited = new Promise((resolve) => current.once('exit', resolve));
    current.kill('SIGTERM');
    await exited;
  };
  await start();
  return { url: `redis://127.0.0.1:${port}`, start, stop };
}

/** One `latchkey serve` process on a fixed port, restartable. */
export interface LatchkeyNode {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly dataDir: string;
  /** The running process, or null between a stop and a start. */
  process(): Spawned | null;
  /** What the last process wrote (stdout and stderr). */
  lastOutput(): string;
  /** Exit codes of processes that ended without being stopped (a crash is a finding, never a fault of the harness). */
  readonly crashes: readonly (number | string)[];
  start(): Promise<number>;
  /** Sends `signal` and waits for the exit. */
  stop(signal: NodeJS.Signals): Promise<void>;
}

export async function createNode(name: string, dir: string, env: Record<string, string>): Promise<LatchkeyNode> {
  const port = await freePort();
  const dataDir = path.join(dir, name);
  await fs.mkdir(dataDir, { recursive: true });
  const url = `http://127.0.0.1:${port}`;
  let current: Spawned | null = null;
  let last: Spawned | null = null;
  const crashes: (number | string)[] = [];
  return {
    name,
    port,
    url,
    dataDir,
    process: () => current,
    lastOutput: () => last?.output() ?? '',
    crashes,
    async start() {
      const started = performance.now();
      current = spawnNode(CLI, ['serve', '--example'], { ...env, PORT: String(port), HOST: '127.0.0.1', LATCHKEY_DATA_DIR: dataDir, LOG_LEVEL: env.LOG_LEVEL ?? 'warn' });
      const spawned = current;
      last = spawned;
      // A node that exits without being stopped is a finding: say so with what it wrote last.
      void spawned.exited.then((code) => {
        if (current === spawned) {
          current = null;
          crashes.push(code);
          process.stderr.write(`!! ${name} exited by itself (${code}):\n${spawned.output().split('\n').slice(-20).join('\n')}\n`);
        }
      });
      await until(async () => {
        if (spawned.child.exitCode !== null) throw new Error(`${name} exited:\n${spawned.output()}`);
        return (await fetch(`${url}/health`)).status === 200;
      }, 60_000, `${name} healthy`);
      return performance.now() - started;
    },
    async stop(signal) {
      const spawned = current;
      current = null;
      if (!spawned || spawned.child.exitCode !== null) return;
      spawned.child.kill(signal);
      await spawned.exited;
    },
  };
}

/** HAProxy in front of the nodes: `all` balances over every node, `one` sends everything to the first. */
export interface Balancer {
  readonly all: string;
  readonly one: string;
  /**
   * HAProxy's log lines of requests it ended without a server's answer or with its own error (termination
   * state other than `--`: cut by the client, the server, or a timeout), for finding out who cut what.
   */
  unanswered(): Promise<string[]>;
  stop(): Promise<void>;
}

/**
 * A WebSocket-aware HAProxy configuration (HTTP mode passes the Upgrade through; `timeout tunnel`
 * keeps sockets open), health checks on `/health` every 500 ms, and retries on another node of requests
 * a node refused at the door (connection failure, or 503 from a node shutting down or without its
 * database). Only idempotent requests (GET, HEAD, OPTIONS, PUT, DELETE) are also retried when a node
 * closed the connection without answering (`empty-response`: it may have died after doing the work);
 * other methods go through a second backend that shares the nodes and their health checks but not that
 * retry, so a sign-up, refresh or note write is never replayed behind the client's back. When every
 * node is marked down at once (their shared database restarting), each node is also listed as an
 * unchecked `backup`: requests still reach a node, which answers 503 with `Retry-After` itself (or
 * serves, the moment the database is back), instead of HAProxy ending them without an answer (what it
 * does, with 0 bytes, to a request it retried and then found no server for). A node marked
 * down keeps its open sockets: one killed loses them anyway, one shutting down tells its clients to
 * reconnect, and one that lost only the database keeps serving them.
 */
export function haproxyConfig(ports: { all: number; one: number }, nodes: readonly LatchkeyNode[]): string {
  const servers = (list: readonly LatchkeyNode[]) => list.map((node) => `  server ${node.name} 127.0.0.1:${node.port} check`).join('\n');
  const tracking = (backend: string, list: readonly LatchkeyNode[]) => list.map((node) => `  server ${node.name} 127.0.0.1:${node.port} track ${backend}/${node.name}`).join('\n');
  const backups = (list: readonly LatchkeyNode[]) => ['  option allbackups', ...list.map((node) => `  server ${node.name}-any 127.0.0.1:${node.port} backup`)].join('\n');
  return `global
  maxconn 4000
  log stdout format raw local0

defaults
  mode http
  log global
  option httplog
  option dontlog-normal
  timeout connect 1s
  timeout client 60s
  timeout server 30s
  timeout tunnel 1h
  timeout http-keep-alive 10s
  option http-buffer-request
  option redispatch 1
  retries 3
  retry-on conn-failure 503
  default-server inter 500ms fall 2 rise 1
  # HAProxy's own 503 (no node healthy) tells clients when to come back, as the nodes' 503s do.
  http-error status 503 content-type application/json string "{\\"error\\":\\"unavailable\\"}" hdr retry-after 1

frontend all
  bind 127.0.0.1:${ports.all}
  acl idempotent method GET HEAD OPTIONS PUT DELETE
  use_backend nodes if idempotent
  default_backend writes

frontend one
  bind 127.0.0.1:${ports.one}
  acl idempotent method GET HEAD OPTIONS PUT DELETE
  use_backend first if idempotent
  default_backend first-writes

backend nodes
  balance leastconn
  retry-on conn-failure empty-response 503
  option httpchk GET /health
  http-check expect status 200
${servers(nodes)}
${backups(nodes)}

backend writes
  balance leastconn
${tracking('nodes', nodes)}
${backups(nodes)}

backend first
  retry-on conn-failure empty-response 503
  option httpchk GET /health
  http-check expect status 200
${servers(nodes.slice(0, 1))}
${backups(nodes.slice(0, 1))}

backend first-writes
${tracking('first', nodes.slice(0, 1))}
${backups(nodes.slice(0, 1))}
`;
}

export async function startHaproxy(dir: string, ports: { all: number; one: number }, nodes: readonly LatchkeyNode[]): Promise<Balancer> {
  const file = path.join(dir, 'haproxy.cfg');
  await fs.writeFile(file, haproxyConfig(ports, nodes));
  await run('haproxy', ['-c', '-q', '-f', file]);
  const logFile = path.join(dir, 'haproxy.log');
  const logHandle = await fs.open(logFile, 'a');
  const child = spawn('haproxy', ['-db', '-f', file], { stdio: ['ignore', logHandle.fd, 'ignore'] });
  void logHandle.close();
  const all = `http://127.0.0.1:${ports.all}`;
  await until(async () => (await fetch(`${all}/health`)).status === 200, 20_000, 'HAProxy serving');
  return {
    all,
    one: `http://127.0.0.1:${ports.one}`,
    async unanswered() {
      const text = await fs.readFile(logFile, 'utf8').catch(() => '');
      // httplog: `... <status> <bytes> - - <termination state> ...`; keep the lines naming a cut or an error.
      return text.split('\n').filter((line) => / (?:[CSPRIcs][RHDLQTC]|-[RHDLQTC]|[CSPRIcs]-)[-A-Za-z]{2} /.test(line) && !/\/health /.test(line));
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
