import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { Server, RequestListener } from 'node:http';
import { isIP } from 'node:net';
import { createSecureContext } from 'node:tls';
import { ConfigError, type ServerConfig, type TlsFiles } from '../config/index.js';

/** The PEM certificate chain and private key served. */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
}

function readPem(setting: TlsFiles['cert'], what: string): Buffer {
  let content: Buffer;
  try {
    content = readFileSync(setting.value);
  } catch (error) {
    throw new ConfigError(setting.name, `cannot read ${what} file ${JSON.stringify(setting.value)} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (!content.includes('-----BEGIN ')) throw new ConfigError(setting.name, `must be a PEM file holding the ${what}`);
  return content;
}

/**
 * Reads the certificate and key files and checks that they make a usable pair. Throws
 * {@link ConfigError} naming the setting of an unreadable file, a file that is not PEM, or a key that
 * does not match the certificate.
 */
export function readTlsMaterial(files: TlsFiles): TlsMaterial {
  const material = { cert: readPem(files.cert, 'certificate'), key: readPem(files.key, 'private key') };
  try {
    createSecureContext(material);
  } catch (error) {
    throw new ConfigError(files.key.name, `does not make a usable pair with ${files.cert.name}: ${(error as Error).message}`);
  }
  return material;
}

/**
 * Creates the HTTPS server the app runs on (HTTP/1.1, WebSocket upgrades on the same port). Typed as
 * the plain HTTP server the app expects: the request and upgrade interfaces are the same.
 */
export function httpsServerFactory(material: TlsMaterial): (handler: RequestListener) => Server {
  return (handler) => createHttpsServer({ cert: material.cert, key: material.key }, handler);
}

/**
 * Loads the certificate and key again into a running HTTPS server: new handshakes use them, open
 * connections keep theirs. Throws {@link ConfigError} when the files are not a usable pair (the server
 * keeps serving the previous ones).
 */
export function reloadTls(server: Server, files: TlsFiles): void {
  const material = readTlsMaterial(files);
  (server as unknown as HttpsServer).setSecureContext({ cert: material.cert, key: material.key });
}

/** Whether `host` is only reachable from this machine. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1';
  return false;
}

/**
 * The start warning for plain HTTP on an address other machines reach, unless a TLS-terminating proxy
 * is declared; `null` when there is nothing to warn about.
 */
export function plainHttpWarning(config: Pick<ServerConfig, 'host' | 'tls' | 'behindProxy'>): string | null {
  if (config.tls !== null || config.behindProxy || isLoopback(config.host)) return null;
  return `listening on ${config.host} without TLS: tokens and passwords cross the network in clear text; set LATCHKEY_TLS_CERT and LATCHKEY_TLS_KEY, or LATCHKEY_TRUST_PROXY=true behind a TLS-terminating proxy`;
}
