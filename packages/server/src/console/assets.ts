import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** The built pages and their assets (`npm run build` writes them to `dist/web/`). */
export interface WebAssets {
  readonly directory: string;
  /** The demo app's HTML, with `{{anonKey}}` still to fill in. */
  readonly demoHtml: string;
  readonly adminHtml: string;
}

/**
 * Finds the built pages: beside the compiled modules (`dist/web/`), or, when the server runs from its
 * TypeScript sources, in the package's `dist/web/`. `null` when the pages were never built.
 */
export function loadWebAssets(directory?: string): WebAssets | null {
  const candidates = directory
    ? [directory]
    : [fileURLToPath(new URL('../web/', import.meta.url)), fileURLToPath(new URL('../../dist/web/', import.meta.url))];
  for (const candidate of candidates) {
    try {
      return {
        directory: candidate,
        demoHtml: fs.readFileSync(path.join(candidate, 'index.html'), 'utf8'),
        adminHtml: fs.readFileSync(path.join(candidate, 'admin.html'), 'utf8'),
      };
    } catch {
      // not here
    }
  }
  return null;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};
const HASHED_NAME = /^[A-Za-z0-9_-]+\.(?:js|css|svg|png)$/;

/**
 * `GET /assets/<name>`: the content-hashed files, cached for a year, gzipped when the client accepts
 * it. Any other name is a JSON 404.
 */
export function registerAssetRoutes(app: FastifyInstance, assets: WebAssets): void {
  const folder = path.join(assets.directory, 'assets');
  const files = new Map<string, { body: Buffer; gzip: Buffer | null }>();
  for (const name of fs.readdirSync(folder)) {
    if (!HASHED_NAME.test(name)) continue;
    const gzipPath = path.join(folder, `${name}.gz`);
    files.set(name, { body: fs.readFileSync(path.join(folder, name)), gzip: fs.existsSync(gzipPath) ? fs.readFileSync(gzipPath) : null });
  }
  app.get<{ Params: { name: string } }>('/assets/:name', async (request: FastifyRequest<{ Params: { name: string } }>, reply: FastifyReply) => {
    const file = files.get(request.params.name);
    if (!file) return reply.code(404).send({ error: 'not_found', message: 'No such asset' });
    reply
      .header('content-type', TYPES[path.extname(request.params.name)] ?? 'application/octet-stream')
      .header('cache-control', 'public, max-age=31536000, immutable')
      .header('x-content-type-options', 'nosniff')
      .header('vary', 'accept-encoding');
    const acceptsGzip = /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
    if (acceptsGzip && file.gzip) return reply.header('content-encoding', 'gzip').send(file.gzip);
    return reply.send(file.body);
  });
}
