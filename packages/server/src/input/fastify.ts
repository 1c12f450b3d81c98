import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { UnsafeInputError, type InputLocation } from './errors.js';
import { scanJsonText } from './json-text.js';
import { DEFAULT_INPUT_LIMITS, type InputLimits } from './limits.js';
import { repairPathEscapes } from './url.js';
import { findUnsafeValue } from './values.js';

function check(location: InputLocation, value: unknown, limits: InputLimits): void {
  const reason = findUnsafeValue(value, limits.maxDepth);
  if (reason) throw new UnsafeInputError(location, reason, limits.maxDepth);
}

const FORM = 'application/x-www-form-urlencoded';
const BASIC = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i;

/** The decoded fields of a form body a scope left as text, as a flat list. */
function formFields(body: string): string[] {
  const fields: string[] = [];
  for (const [name, value] of new URLSearchParams(body)) fields.push(name, value);
  return fields;
}

/**
 * Refuses a request whose path parameters, query, body (parsed, or a form left as text) or Basic
 * credentials hold input no route may receive.
 */
export function checkRequestInput(request: FastifyRequest, limits: InputLimits = DEFAULT_INPUT_LIMITS): void {
  check('params', request.params, limits);
  check('query', request.query, limits);
  const body = request.body;
  check('body', typeof body === 'string' && request.headers['content-type']?.toLowerCase().startsWith(FORM) ? formFields(body) : body, limits);
  const authorization = request.headers.authorization;
  const basic = authorization === undefined ? null : BASIC.exec(authorization);
  if (basic) check('credentials', Buffer.from(basic[1]!, 'base64').toString('utf8'), limits);
}

/** The input guard of one app: a URL rewriter for Fastify's options and what to register on the root. */
export interface InputSafety {
  /** Pass as Fastify's `rewriteUrl` option: paths with malformed escapes are routed, then refused. */
  readonly rewriteUrl: (request: IncomingMessage) => string;
  /** Installs the JSON parser and the hook on the root instance, before any service is mounted. */
  register(app: FastifyInstance): void;
}

/**
 * Guards every route of an app, including those of scopes registered later with their own body parsers:
 * - `application/json` bodies are scanned before they are parsed (depth, NUL, unpaired surrogates), then
 *   parsed by Fastify's own parser (which also refuses `__proto__` and `constructor` keys);
 * - a `preValidation` hook inspects path parameters, the query string, the parsed body of every route
 *   (whichever parser produced it; form bodies decoded) and HTTP Basic credentials, so no route sees
 *   NUL, unpaired surrogates, non-finite numbers or nesting deeper than `limits.maxDepth`;
 * - a path whose percent escapes are not UTF-8 (which the router would answer itself, in no scope's
 *   shape) reaches its route and is refused there.
 * Refusals are {@link UnsafeInputError} (HTTP 400), written by the route's scope in its error shape.
 */
export function createInputSafety(limits: InputLimits = DEFAULT_INPUT_LIMITS): InputSafety {
  const malformedPaths = new WeakSet<IncomingMessage>();
  return {
    rewriteUrl(request) {
      const url = request.url ?? '/';
      const repaired = repairPathEscapes(url);
      if (repaired === undefined) return url;
      malformedPaths.add(request);
      return repaired;
    },
    register(app) {
      const parseJson = app.getDefaultJsonParser('error', 'error');
      app.removeContentTypeParser('application/json');
      app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
        const text = typeof body === 'string' ? body : body.toString('utf8');
        const reason = scanJsonText(text, limits.maxDepth);
        if (reason) return done(new UnsafeInputError('body', reason, limits.maxDepth), undefined);
        return parseJson(request, text, done);
      });
      app.addHook('preValidation', (request, _reply, done) => {
        try {
          if (malformedPaths.has(request.raw)) throw new UnsafeInputError('path', 'malformed_escape', limits.maxDepth);
          checkRequestInput(request, limits);
        } catch (error) {
          return done(error as UnsafeInputError);
        }
        done();
      });
    },
  };
}
