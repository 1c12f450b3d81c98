import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LatchkeyApi, TokenSet } from '@latchkey/client';
import { FileTokenStore } from '@latchkey/client/node';
import { describeEachDatabase } from '../../../test-support/databases.js';
import type { GatewayExports } from '../../server/src/gateway/index.js';
import { email, PASSWORD, startStack, type Stack } from '../../client/test/support.js';
import { LATCHKEY_BIN, spawnNode } from '../../../test-support/processes.js';
import { homes, latchkey, type Home } from './support.js';

const newHome = homes('latchkey-cli-');

describeEachDatabase('latchkey user commands', (database) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack(database(), { services: { identity: true, gateway: true } });
    gateway().registerRpc('sdk.echo', (data) => ({ echoed: data }));
  });
  const gateway = () => stack.server.services.gateway!;
  afterAll(async () => {
    await stack?.close();
  });

  async function account(): Promise<string> {
    const address = email('cli');
    await new LatchkeyApi(stack.url, { anonKey: stack.anonKey }).auth.signUp({ email: address, password: PASSWORD });
    return address;
  }

  it('login in one process; token, whoami and call in others; logout', async () => {
    const home = await newHome();
    const address = await account();
    const login = await latchkey(home, ['login', '--url', stack.url, '--email', address, '--password-stdin'], `${PASSWORD}\n`);
    expect(login.output).toBe(`Logged in to ${stack.url} as ${address}\n`);
    expect(login.code).toBe(0);
    expect((await fs.stat(home.sessionFile)).mode & 0o777).toBe(0o600);
    expect((await fs.stat(path.dirname(home.sessionFile))).mode & 0o777).toBe(0o700);

    // No --url from here on: the server is remembered.
    const token = await latchkey(home, ['token']);
    expect(token.code).toBe(0);
    const claims = await stack.identity.verifyToken(token.stdout.trim());
    expect(claims.email).toBe(address);

    const whoami = await latchkey(home, ['whoami', '--json']);
    expect(whoami.code).toBe(0);
    expect(JSON.parse(whoami.stdout)).toMatchObject({ email: address, id: claims.sub });
    const plain = await latchkey(home, ['whoami']);
    expect(plain.stdout).toContain(address);

    const call = await latchkey(home, ['call', 'GET', '/test/protected']);
    expect(call.code).toBe(0);
    expect(JSON.parse(call.stdout)).toEqual({ sub: claims.sub });
    const included = await latchkey(home, ['call', 'get', '/auth/v1/user', '-i']);
    expect(included.stdout).toMatch(/^HTTP 200 OK\n(.+\n)*content-type: application\/json/);
    const missing = await latchkey(home, ['call', 'GET', '/auth/v1/nothing-here', '--json']);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout)).toMatchObject({ status: 404 });

    const logout = await latchkey(home, ['logout']);
    expect(logout).toMatchObject({ code: 0, stdout: 'Logged out\n' });
    await expect(fs.stat(home.sessionFile)).rejects.toMatchObject({ code: 'ENOENT' });
    const after = await latchkey(home, ['token']);
    expect(after.code).toBe(3);
    expect(after.output).toBe('latchkey: not logged in; run `latchkey login`\n');
  }, 180_000);

  it('processes sharing one session file and one rotating refresh token refresh it once', async () => {
    const home = await newHome();
    const address = await account();
    expect((await latchkey(home, ['login', '--url', stack.url, '--email', address, '--password-stdin'], `${PASSWORD}\n`)).code).toBe(0);
    const store = new FileTokenStore(home.sessionFile);
    for (let round = 0; round < 2; round++) {
      const current = (await store.load())!;
      await store.save(new TokenSet({ ...current, accessExpiresAt: Date.now() - 1000 })); // expired
      stack.resetCounters();
      const runs = await Promise.all(Array.from({ length: 3 }, () => latchkey(home, ['token'])));
      for (const run of runs) expect(run).toMatchObject({ code: 0 });
      expect(run0(runs)).not.toBe(current.accessToken);
      expect(new Set(runs.map((run) => run.stdout)).size).toBe(1);
      expect(runs.map((run) => run.output).join('')).not.toMatch(/already_used|latchkey:/);
      expect(stack.tokenRequests).toEqual({ total: 1, byGrant: { refresh_token: 1 } });
      expect((await fs.stat(home.sessionFile)).mode & 0o777).toBe(0o600);
    }
    expect((await latchkey(home, ['whoami'])).code).toBe(0);
  }, 180_000);

  it('rpc calls a gateway method; listen prints publications until interrupted', async () => {
    const home = await newHome();
    const address = await account();
    expect((await latchkey(home, ['login', '--url', stack.url, '--email', address, '--password-stdin'], `${PASSWORD}\n`)).code).toBe(0);
    const rpc = await latchkey(home, ['rpc', 'sdk.echo', '{"a":1}']);
    expect(rpc).toMatchObject({ code: 0, stdout: '{"echoed":{"a":1}}\n' });
    const unknown = await latchkey(home, ['rpc', 'no.such.method']);
    expect(unknown.code).toBe(1);
    expect(unknown.output).toMatch(/^latchkey: rpc no\.such\.method failed: 104/);
    const badJson = await latchkey(home, ['rpc', 'sdk.echo', '{nope']);
    expect(badJson.code).toBe(2);

    const userId = JSON.parse((await latchkey(home, ['whoami', '--json'])).stdout).id as string;
    const listen = spawnNode(LATCHKEY_BIN, ['listen', `user:#${userId}`], home.env);
    await listen.waitFor(/listening on user:#/, 120_000);
    await gateway().publish(`user:#${userId}`, { hello: 1 });
    await gateway().publish(`user:#${userId}`, { hello: 2 });
    await listen.waitFor(/\{"hello":2\}/, 60_000);
    listen.child.kill('SIGINT');
    expect(await listen.exited).toBe(0);
    expect(listen.output()).toContain('{"hello":1}\n{"hello":2}\n');
  }, 180_000);

  it('reports a bad login and bad usage with the documented exit codes', async () => {
    const home = await newHome();
    const wrong = await latchkey(home, ['login', '--url', stack.url, '--email', email('none'), '--password-stdin'], 'nope-nope\n');
    expect(wrong.code).toBe(3);
    expect(wrong.output).toBe('latchkey: login refused: Invalid login credentials\n');
    const badUrl = await latchkey(home, ['token', '--url', 'ftp://x']);
    expect(badUrl).toMatchObject({ code: 2, output: 'latchkey: --url: must be an http or https URL\n' });
    const foreign = await latchkey(home, ['call', 'GET', 'https://elsewhere.example/steal', '--url', stack.url]);
    expect(foreign.code).toBe(2);
    expect(foreign.output).toMatch(/^latchkey: https:\/\/elsewhere\.example is not the server logged in to/);
    const noTerminal = await latchkey(home, ['login', '--url', stack.url, '--email', 'a@b.c']);
    expect(noTerminal.code).toBe(2);
    expect(noTerminal.output).toMatch(/use --password-stdin/);
  }, 120_000);

  /** Runs `latchkey <args>` on a pseudo-terminal (`script`); our pipe's bytes arrive as keystrokes. */
  function terminal(home: Home, args: string) {
    const command = `${process.execPath} ${LATCHKEY_BIN} ${args}`;
    const child = spawn('script', ['-qfec', command, '/dev/null'], { env: { ...process.env, ...home.env, TERM: 'xterm' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    child.stdout.on('data', (chunk: Buffer) => (screen += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    return {
      child,
      exited,
      screen: () => screen,
      async waitFor(text: string) {
        const deadline = Date.now() + 90_000;
        while (!screen.includes(text)) {
          if (Date.now() > deadline) throw new Error(`no ${JSON.stringify(text)} on screen:\n${screen}`);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      },
    };
  }

  it('prompts for the password without echoing it, in a terminal', async () => {
    const home = await newHome();
    const address = await account();
    const tty = terminal(home, `login --url ${stack.url}`);
    await tty.waitFor('Email: ');
    tty.child.stdin.write(`${address}\r`);
    await tty.waitFor('Password: ');
    tty.child.stdin.write(`${PASSWORD}\r`);
    await tty.waitFor('Logged in');
    expect(await tty.exited).toBe(0);
    tty.child.stdin.end();
    expect(tty.screen()).toContain(address); // the e-mail is echoed
    expect(tty.screen()).not.toContain(PASSWORD); // the password is not
    expect((await latchkey(home, ['whoami', '--json'])).stdout).toContain(address);

    // Ctrl-C at the password prompt: exit code 130, nothing saved.
    const other = await newHome();
    const aborted = terminal(other, `login --url ${stack.url} --email ${address}`);
    await aborted.waitFor('Password: ');
    aborted.child.stdin.write('half-typed\u0003');
    expect(await aborted.exited).toBe(130);
    aborted.child.stdin.end();
    expect(aborted.screen()).not.toContain('half-typed');
    await expect(fs.stat(other.sessionFile)).rejects.toMatchObject({ code: 'ENOENT' });
  }, 180_000);
});

function run0(runs: { stdout: string }[]): string {
  return runs[0]!.stdout.trim();
}
