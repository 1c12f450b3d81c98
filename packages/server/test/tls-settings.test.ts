import { Writable } from 'node:stream';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger, loadServerConfig, startServer } from '@latchkey/server';
import { plainHttpWarning } from '../src/http/tls.js';

describe('TLS settings', () => {
  it('needs the certificate and the key together, naming the missing one', () => {
    expect(() => loadServerConfig({ LATCHKEY_TLS_CERT: '/nowhere/cert.pem' })).toThrow(/^LATCHKEY_TLS_KEY: is required with LATCHKEY_TLS_CERT$/);
    expect(() => loadServerConfig({}, { tlsKey: 'key.pem' })).toThrow(/^--tls-cert: is required with --tls-key$/);
    expect(loadServerConfig({}).tls).toBeNull();
    expect(loadServerConfig({ LATCHKEY_TLS_CERT: 'c.pem', LATCHKEY_TLS_KEY: 'k.pem' }).tls).toEqual({
      cert: { name: 'LATCHKEY_TLS_CERT', value: 'c.pem' },
      key: { name: 'LATCHKEY_TLS_KEY', value: 'k.pem' },
    });
  });

  it('refuses to start with files that are missing, not PEM, or not a pair, naming the setting', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'latchkey-tls-settings-'));
    try {
      const notPem = path.join(dir, 'not.pem');
      await fs.writeFile(notPem, 'hello');
      const start = (env: Record<string, string>) => startServer({ env, config: loadServerConfig({ PORT: '0', DATABASE_URL: 'memory://', LOG_LEVEL: 'silent', ...env }), services: {  } });
      await expect(start({ LATCHKEY_TLS_CERT: path.join(dir, 'missing.pem'), LATCHKEY_TLS_KEY: notPem })).rejects.toThrow(/^LATCHKEY_TLS_CERT: cannot read certificate file .*ENOENT/);
      await expect(start({ LATCHKEY_TLS_CERT: notPem, LATCHKEY_TLS_KEY: notPem })).rejects.toThrow(/^LATCHKEY_TLS_CERT: must be a PEM file holding the certificate$/);
      const fakePem = path.join(dir, 'fake.pem');
      await fs.writeFile(fakePem, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
      await expect(start({ LATCHKEY_TLS_CERT: fakePem, LATCHKEY_TLS_KEY: fakePem })).rejects.toThrow(/^LATCHKEY_TLS_KEY: does not make a usable pair with LATCHKEY_TLS_CERT/);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('warns about plain HTTP only on a non-loopback address without TLS or a declared proxy', () => {
    const tls = { cert: { name: 'LATCHKEY_TLS_CERT', value: 'c' }, key: { name: 'LATCHKEY_TLS_KEY', value: 'k' } };
    expect(plainHttpWarning({ host: '0.0.0.0', tls: null, behindProxy: false })).toMatch(/^listening on 0\.0\.0\.0 without TLS/);
    expect(plainHttpWarning({ host: '10.1.2.3', tls: null, behindProxy: false })).not.toBeNull();
    expect(plainHttpWarning({ host: '::', tls: null, behindProxy: false })).not.toBeNull();
    for (const host of ['127.0.0.1', '127.0.1.1', '::1', 'localhost']) expect(plainHttpWarning({ host, tls: null, behindProxy: false })).toBeNull();
    expect(plainHttpWarning({ host: '0.0.0.0', tls, behindProxy: false })).toBeNull();
    expect(plainHttpWarning({ host: '0.0.0.0', tls: null, behindProxy: true })).toBeNull();
    expect(loadServerConfig({ LATCHKEY_TRUST_PROXY: 'true' }).behindProxy).toBe(true);
    expect(loadServerConfig({ LATCHKEY_TRUSTED_PROXIES: '10.0.0.0/8' }).behindProxy).toBe(true);
    expect(loadServerConfig({}).behindProxy).toBe(false);
    expect(() => loadServerConfig({ LATCHKEY_TRUST_PROXY: 'maybe' })).toThrow(/^LATCHKEY_TRUST_PROXY/);
  });

  it('prints the warning once at start when listening on all addresses without TLS', async () => {
    const warnings = async (env: Record<string, string>): Promise<string[]> => {
      const lines: string[] = [];
      const sink = new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(...chunk.toString('utf8').trim().split('\n'));
          done();
        },
      });
      const server = await startServer({ env, config: loadServerConfig({ PORT: '0', DATABASE_URL: 'memory://', ...env }), logger: createLogger('warn', sink), services: {  } });
      await server.close();
      return lines.map((line) => (JSON.parse(line) as { msg: string }).msg).filter((message) => message.includes('without TLS'));
    };
    expect(await warnings({ HOST: '0.0.0.0' })).toHaveLength(1);
    expect(await warnings({ HOST: '0.0.0.0', LATCHKEY_TRUST_PROXY: 'true' })).toEqual([]);
    expect(await warnings({ HOST: '127.0.0.1' })).toEqual([]);
  });
});
