import type { FastifyInstance } from 'fastify';
import type { Queryable } from '../../db/index.js';
import { IdentityError, Messages } from '../errors.js';
import { requireUser } from '../http/authenticate.js';
import { bodyOf, normaliseEmail, optionalObject, optionalString } from '../http/request.js';
import { checkNewPassword, hashPassword, verifyPassword } from '../passwords.js';
import type { IdentityRuntime } from '../runtime.js';
import { findUserById, isUniqueViolation, userJson } from '../users.js';

/** Merges `changes` into metadata as GoTrue does: `null` deletes a key, anything else sets it. */
export function mergeMetadata(current: Record<string, unknown>, changes: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...current };
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  return merged;
}

/**
 * Sets a user's email, keeping the email identity in step. With autoconfirm the address is confirmed
 * at once; otherwise it waits in `new_email` for confirmation.
 */
export async function changeEmail(tx: Queryable, userId: string, email: string, confirmed: boolean): Promise<void> {
  if (!confirmed) {
    await tx.query('update auth.users set new_email = $2, email_change_sent_at = now(), updated_at = now() where id = $1', [userId, email]);
    return;
  }
  await tx.query(
    `update auth.users set email = $2, email_confirmed_at = coalesce(email_confirmed_at, now()), new_email = null,
            raw_user_meta_data = case when raw_user_meta_data ? 'email' then jsonb_set(raw_user_meta_data, '{email}', to_jsonb($2::text)) else raw_user_meta_data end,
            updated_at = now()
      where id = $1`,
    [userId, email],
  );
  const updated = await tx.query(
    `update auth.identities set identity_data = jsonb_set(identity_data, '{email}', to_jsonb($2::text)), updated_at = now()
      where user_id = $1 and provider = 'email'`,
    [userId, email],
  );
  if (updated.rowCount === 0) {
    await tx.query(
      `insert into auth.identities (id, provider_id, user_id, identity_data, provider)
       values (gen_random_uuid(), $1::text, $1::uuid, jsonb_build_object('sub', $1::text, 'email', $2::text, 'email_verified', true, 'phone_verified', false), 'email')`,
      [userId, email],
    );
    await tx.query(
      `update auth.users set raw_app_meta_data = jsonb_set(raw_app_meta_data, '{providers}',
              coalesce(raw_app_meta_data -> 'providers', '[]'::jsonb) || '["email"]'::jsonb)
        where id = $1 and not coalesce(raw_app_meta_data -> 'providers', '[]'::jsonb) ? 'email'`,
      [userId],
    );
  }
}

/** `GET /user` and `PUT /user`: the signed-in user. */
export function registerUserRoutes(app: FastifyInstance, runtime: IdentityRuntime): void {
  app.get('/user', async (request) => {
    const { user } = await requireUser(runtime, request);
    return userJson(user);
  });

  app.put('/user', async (request) => {
    const { user } = await requireUser(runtime, request);
    const body = bodyOf(request);
    const rawEmail = optionalString(body, 'email');
    const password = optionalString(body, 'password');
    const phone = optionalString(body, 'phone');
    const data = optionalObject(body, 'data');
    if (phone) throw new IdentityError(422, 'phone_provider_disabled', Messages.phoneDisabled);
    const email = rawEmail ? normaliseEmail(rawEmail) : undefined;
    let hash: string | undefined;
    if (password !== undefined) {
      checkNewPassword(password, runtime.settings.passwordMinLength);
      if (user.encrypted_password && (await verifyPassword(password, user.encrypted_password))) {
        throw new IdentityError(422, 'same_password', Messages.samePassword);
      }
      hash = await hashPassword(password);
    }
    try {
      const updated = await runtime.db.transaction(async (tx) => {
        if (hash) await tx.query('update auth.users set encrypted_password = $2, updated_at = now() where id = $1', [user.id, hash]);
        if (data) {
          await tx.query('update auth.users set raw_user_meta_data = $2, updated_at = now() where id = $1', [
            user.id,
            JSON.stringify(mergeMetadata(user.raw_user_meta_data, data)),
          ]);
        }
        if (email && email !== user.email) {
          const taken = await tx.query('select 1 from auth.users where email = $1 and id <> $2 and deleted_at is null', [email, user.id]);
          if (taken.rows.length > 0) throw new IdentityError(422, 'email_exists', Messages.emailExists);
          await changeEmail(tx, user.id, email, runtime.settings.mailerAutoconfirm);
        }
        return findUserById(tx, user.id);
      });
      if (!updated) throw new IdentityError(403, 'user_not_found', Messages.userFromSubMissing);
      return userJson(updated);
    } catch (error) {
      if (isUniqueViolation(error)) throw new IdentityError(422, 'email_exists', Messages.emailExists);
      throw error;
    }
  });
}
