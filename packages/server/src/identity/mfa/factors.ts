import type { Queryable } from '../../db/index.js';
import { advanceTotpStep, type FactorRow } from '../store/factors.js';
import { totpStep } from './totp.js';

/** A factor as GoTrue shows it (in `user.factors`, the admin API and `DELETE /factors/{id}`). */
export interface FactorJson {
  id: string;
  friendly_name?: string;
  factor_type: string;
  status: string;
  created_at: string;
  updated_at: string;
  last_challenged_at?: string;
}

function iso(value: Date | string): string {
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

/** Renders a factor row (or its `to_jsonb` form, timestamps as strings) without its secret. */
export function factorJson(row: {
  id: string;
  friendly_name: string;
  factor_type: string;
  status: string;
  created_at: Date | string;
  updated_at: Date | string;
  last_challenged_at: Date | string | null;
}): FactorJson {
  const json: FactorJson = {
    id: row.id,
    factor_type: row.factor_type,
    status: row.status,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
  if (row.friendly_name) json.friendly_name = row.friendly_name;
  if (row.last_challenged_at) json.last_challenged_at = iso(row.last_challenged_at);
  return json;
}

/**
 * Accepts `code` for `factor` at most once per time step: the step is recorded only if it is later than
 * the last one used, in one statement, so two requests racing with the same code cannot both win.
 * Returns whether the code was accepted.
 */
export async function consumeTotp(db: Queryable, factor: Pick<FactorRow, 'id' | 'secret'>, code: string, now = Date.now()): Promise<boolean> {
  const step = totpStep(code, factor.secret, now);
  if (step === null) return false;
  return advanceTotpStep(db, factor.id, step);
}

/** Tries `code` against each verified TOTP factor of the user; true when one accepted it. */
export async function consumeAnyTotp(db: Queryable, factors: readonly FactorRow[], code: string): Promise<boolean> {
  for (const factor of factors) if (await consumeTotp(db, factor, code)) return true;
  return false;
}
