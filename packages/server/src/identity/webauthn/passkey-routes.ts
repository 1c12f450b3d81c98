import type { FastifyInstance, FastifyRequest } from 'fastify';
import { adminActor, userActor } from '../audit/index.js';
import { IdentityError, Messages, validationFailed } from '../errors.js';
import { requireAdmin, requireUser, type UserAuthentication } from '../http/authenticate.js';
import { clientFacts } from '../http/client-address.js';
import { bodyOf, clientAddress, optionalString } from '../http/request.js';
import { RateLimiter } from '../rate-limit.js';
import type { IdentityRuntime } from '../runtime.js';
import { finishSession, startSession } from '../sessions.js';
import { adminTargetUser, isBanned, isUniqueViolation, isUuid } from '../users.js';
import { findUserById, lockUser } from '../store/users.js';
import { assertionIdentity, authenticationOptions, registrationOptions, verifyAssertion, verifyRegistration } from './ceremonies.js';
import { passkeyChallengeRefusal, storeChallenge } from './challenges.js';
import { passkeyJson } from './credentials.js';
import * as credentials from '../store/webauthn.js';
import { relyingParty, type RelyingParty, type WebAuthnSettings } from './settings.js';

const PASSKEY_NOT_FOUND = 'Passkey not found';

/** The challenge id and credential of a `…/verify` body (GoTrue's validation messages). */
function verifyBody(request: FastifyRequest): { challengeId: string; credential: unknown } {
  const body = bodyOf(request);
  const challengeId = optionalString(body, 'challenge_id');
  if (!challengeId) throw validationFailed('challenge_id is required');
  if (body.credential === undefined || body.credential === null) throw validationFailed('credential is required');
  if (!isUuid(challengeId)) throw validationFailed('challenge_id must be a valid UUID');
  return { challengeId: challengeId.toLowerCase(), credential: body.credential };
}

/** Registration and deletion need an aal2 session once the user has a verified second factor (GoTrue's rule). */
export function requireManagementAal(auth: UserAuthentication): void {
  const verified = (auth.user.factors ?? []).some((factor) => factor.status === 'verified');
  if (verified && auth.claims.aal !== 'aal2') {
    throw new IdentityError(403, 'insufficient_aal', 'AAL2 session is required to manage passkeys when MFA is enabled');
  }
}

function passkeyId(value: string): string {
  if (!isUuid(value)) throw new IdentityError(404, 'validation_failed', PASSKEY_NOT_FOUND);
  return value.toLowerCase();
}

/**
 * Passkeys with GoTrue's routes: `POST /passkeys/registration/{options,verify}` (signed in),
 * `POST /passkeys/authentication/{options,verify}` (sign-in with a discoverable credential, `amr`
 * `passkey`), `GET /passkeys`, `PATCH|DELETE /passkeys/{id}`, and for admins
 * `GET /admin/users/{id}/passkeys`, `DELETE /admin/users/{id}/passkeys/{passkeyId}`. Every challenge is
 * used once and is bound: a registration challenge to the user and session that asked for it.
 */
export function registerPasskeyRoutes(app: FastifyInstance, runtime: IdentityRuntime, settings: WebAuthnSettings): void {
  const rp = (): RelyingParty => relyingParty(settings, new URL(runtime.baseUrl()).origin, runtime.settings.siteUrl ?? null);
  const starts = new RateLimiter(settings.passkeyRatePerFiveMinutes, Math.max(1, settings.passkeyRatePerFiveMinutes));

  app.register(async (scope) => {
    scope.addHook('onRequest', async () => {
      if (!settings.passkeysEnabled) throw new IdentityError(404, 'passkey_disabled', 'Passkeys are disabled');
    });

    scope.post('/passkeys/registration/options', async (request) => {
      const auth = await requireUser(runtime, request);
      requireManagementAal(auth);
      const existing = await credentials.listCredentials(runtime.db, auth.user.id);
      if (existing.length >= settings.maxPasskeysPerUser) throw new IdentityError(422, 'too_many_passkeys', 'Maximum number of passkeys reached');
      const options = await registrationOptions(rp(), auth.user, await credentials.allCredentials(runtime.db, auth.user.id), settings.challengeExpiry);
      const stored = await storeChallenge(runtime.db, 'registration', options.challenge, { userId: auth.user.id, sessionId: auth.sessionId, factorId: null }, settings.challengeExpiry);
      return { challenge_id: stored.id, options, expires_at: stored.expiresAt };
    });

    scope.post('/passkeys/registration/verify', async (request) => {
      const auth = await requireUser(runtime, request);
      requireManagementAal(auth);
      const { challengeId, credential } = verifyBody(request);
      const consumed = await credentials.consumeChallenge(runtime.db, challengeId, 'registration', { userId: auth.user.id, sessionId: auth.sessionId, factorId: null });
      const refusal = passkeyChallengeRefusal(consumed);
      if (refusal) throw refusal;
      const created = await verifyRegistration(rp(), consumed!.challenge, credential, { userId: auth.user.id, factorId: null, friendlyName: 'Passkey' });
      try {
        const row = await runtime.db.transaction(async (tx) => {
          // The user's row orders concurrent registrations, so the limit holds.
          await lockUser(tx, auth.user.id);
          if ((await credentials.countPasskeys(tx, auth.user.id)) >= settings.maxPasskeysPerUser) throw new IdentityError(422, 'too_many_passkeys', 'Maximum number of passkeys reached');
          const row = await credentials.insertCredential(tx, created);
          await runtime.audit.record(tx, { action: 'passkey_created', actor: userActor(auth.user), traits: { passkey_id: row.id }, ipAddress: clientAddress(request, runtime.settings) });
          return row;
        });
        return { id: row.id, friendly_name: row.friendly_name, created_at: row.created_at.toISOString() };
      } catch (error) {
        if (isUniqueViolation(error)) throw new IdentityError(422, 'webauthn_credential_exists', 'This credential is already registered');
        throw error;
      }
    });

    scope.post('/passkeys/authentication/options', async (request) => {
      if (!starts.take(clientAddress(request, runtime.settings))) throw new IdentityError(429, 'over_request_rate_limit', Messages.rateLimited);
      const options = await authenticationOptions(rp(), [], settings.challengeExpiry);
      const stored = await storeChallenge(runtime.db, 'authentication', options.challenge, { userId: null, sessionId: null, factorId: null }, settings.challengeExpiry);
      return { challenge_id: stored.id, options, expires_at: stored.expiresAt };
    });

    scope.post('/passkeys/authentication/verify', async (request) => {
      const { challengeId, credential } = verifyBody(request);
      const consumed = await credentials.consumeChallenge(runtime.db, challengeId, 'authentication', { userId: null, sessionId: null, factorId: null });
      const refusal = passkeyChallengeRefusal(consumed);
      if (refusal) throw refusal;
      const named = assertionIdentity(credential);
      const stored = await credentials.findPasskeyByCredentialId(runtime.db, named.credentialId);
      // The credential must exist, be a passkey, and belong to the user its user handle names.
      if (!stored || (named.userHandle !== null && named.userHandle !== stored.user_id)) {
        throw new IdentityError(400, 'webauthn_verification_failed', 'Credential verification failed');
      }
      const counter = await verifyAssertion(rp(), consumed!.challenge, credential, stored);
      const user = await findUserById(runtime.db, stored.user_id);
      if (!user || user.deleted_at) throw new IdentityError(400, 'webauthn_verification_failed', 'Credential verification failed');
      if (user.email && !user.email_confirmed_at) throw new IdentityError(403, 'email_not_confirmed', Messages.emailNotConfirmed);
      if (!user.email && user.phone && !user.phone_confirmed_at) throw new IdentityError(403, 'phone_not_confirmed', Messages.phoneNotConfirmed);
      if (isBanned(user)) throw new IdentityError(403, 'user_banned', Messages.userBanned);
      const prepared = await runtime.db.transaction(async (tx) => {
        if (!(await credentials.recordUse(tx, stored.id, counter))) throw new IdentityError(400, 'webauthn_verification_failed', 'Credential verification failed');
        return startSession(tx, runtime.issuer, user.id, {
          method: 'passkey',
          client: clientFacts(request, runtime.settings),
          audit: { writer: runtime.audit, traits: { passkey_id: stored.id } },
        });
      });
      return finishSession(runtime.issuer, prepared);
    });

    scope.get('/passkeys', async (request) => {
      const auth = await requireUser(runtime, request);
      return (await credentials.listCredentials(runtime.db, auth.user.id)).map(passkeyJson);
    });

    scope.patch<{ Params: { id: string } }>('/passkeys/:id', async (request) => {
      const auth = await requireUser(runtime, request);
      const id = passkeyId(request.params.id);
      const name = optionalString(bodyOf(request), 'friendly_name') ?? '';
      if (name === '') throw validationFailed('friendly_name is required');
      if ([...name].length > 120) throw validationFailed('friendly_name must be 120 characters or less');
      const updated = await runtime.db.transaction(async (tx) => {
        const renamed = await credentials.renamePasskey(tx, auth.user.id, id, name);
        if (!renamed) throw new IdentityError(404, 'validation_failed', PASSKEY_NOT_FOUND);
        await runtime.audit.record(tx, { action: 'passkey_updated', actor: userActor(auth.user), traits: { passkey_id: id }, ipAddress: clientAddress(request, runtime.settings) });
        return renamed;
      });
      return passkeyJson(updated);
    });

    scope.delete<{ Params: { id: string } }>('/passkeys/:id', async (request, reply) => {
      const auth = await requireUser(runtime, request);
      requireManagementAal(auth);
      const found = await credentials.findPasskey(runtime.db, auth.user.id, passkeyId(request.params.id));
      if (!found) throw new IdentityError(404, 'validation_failed', PASSKEY_NOT_FOUND);
      await runtime.db.transaction(async (tx) => {
        await credentials.deleteCredential(tx, found.id);
        await runtime.audit.record(tx, { action: 'passkey_deleted', actor: userActor(auth.user), traits: { passkey_id: found.id }, ipAddress: clientAddress(request, runtime.settings) });
      });
      return reply.code(204).send();
    });

    scope.register(async (admin) => {
      admin.addHook('preHandler', async (request) => {
        await requireAdmin(runtime, request);
      });
      const userOf = (id: string) => adminTargetUser(runtime.db, id);
      admin.get<{ Params: { id: string } }>('/admin/users/:id/passkeys', async (request) => {
        const user = await userOf(request.params.id);
        return (await credentials.listCredentials(runtime.db, user.id)).map(passkeyJson);
      });
      admin.delete<{ Params: { id: string; passkeyId: string } }>('/admin/users/:id/passkeys/:passkeyId', async (request, reply) => {
        const user = await userOf(request.params.id);
        const found = await credentials.findPasskey(runtime.db, user.id, passkeyId(request.params.passkeyId));
        if (!found) throw new IdentityError(404, 'validation_failed', PASSKEY_NOT_FOUND);
        await runtime.db.transaction(async (tx) => {
          await credentials.deleteCredential(tx, found.id);
          const traits = { user_id: user.id, passkey_id: found.id };
          await runtime.audit.record(tx, { action: 'passkey_deleted', actor: adminActor(), traits, ipAddress: clientAddress(request, runtime.settings) });
        });
        return reply.code(204).send();
      });
    });
  });
}
