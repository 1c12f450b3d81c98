import type { FastifyInstance, FastifyRequest } from 'fastify';
import { UnsafeInputError, type InputLocation } from './errors.js';
import { scanJsonText } from './json-text.js';
import { DEFAULT_INPUT_LIMITS, type InputLimits } from './limits.js';
import { findUnsafeValue } from './values.js';

function check(location: InputLocation, value: unknown, limits: InputLimits): void {
  const reason = findUnsafeValue(value, limits.maxDepth);
  if (reason) throw new UnsafeInputError(location, reason, limits.maxDepth);
}

/** Refuses a request whose path parameters, query or parsed body hold input no route may receive. */
export function checkRequestInput(request: FastifyRequest, limits: InputLimits = DEFAULT_INPUT_LIMITS): void {
  check('params', request.params, limits);
  check('query', request.query, limits);
  check('body', request.body, limits);
}

/**
 * Guards every route of `app`, including those of scopes registered later with their own body parsers:
 * - `application/json` bodies are scanned before they are parsed (depth, NUL, unpaired surrogates), then
 *   parsed by Fastify's own parser (which also refuses `__proto__` and `constructor` keys);
 * - a `preValidation` hook inspects path parameters, the query string and the parsed body of every
 *   route, whichever parser produced it, so no route sees NUL, unpaired surrogates, non-finite numbers
 *   or nesting deeper than `limits.maxDepth`.
 * Refusals are {@link UnsafeInputError} (HTTP 400), written by the route's scope in its error shape.
 * Call it on the root instance before any service is mounted.
 */
export function registerInputSafety(app: FastifyInstance, limits: InputLimits = DEFAULT_INPUT_LIMITS): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    const reason = scanJsonText(text, limits.maxDepth);
    if (reason) return done(new UnsafeInputError('body', reason, limits.maxDepth), undefined);
    return parseJson(request, text, done);
  });
  app.addHook('preValidation', async (request) => checkRequestInput(request, limits));
}
