/**
 * A page that registers a passkey and signs in with it through supabase-js's browser methods
 * (`auth.registerPasskey`, `auth.signInWithPasskey`), so `navigator.credentials` runs for real: bundled
 * for the browser by the passkey browser test and served on the server's origin.
 */
import { createClient, type SupabaseClient } from '@supabase/supabase-js';

interface Outcome {
  error: string | null;
  userId: string | null;
  passkeyId: string | null;
  accessToken: string | null;
}

const anonKey = new URLSearchParams(location.search).get('anon') ?? '';

function client(): SupabaseClient {
  return createClient(location.origin, anonKey, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false, experimental: { passkey: true } },
  });
}

const page = {
  webauthn: typeof PublicKeyCredential === 'function',
  /** Signs up with a password, then registers a passkey for the new account. */
  async signUpAndRegister(email: string, password: string): Promise<Outcome> {
    const supabase = client();
    const signedUp = await supabase.auth.signUp({ email, password });
    if (signedUp.error) return { error: signedUp.error.message, userId: null, passkeyId: null, accessToken: null };
    const registered = await supabase.auth.registerPasskey();
    return { error: registered.error?.message ?? null, userId: signedUp.data.user?.id ?? null, passkeyId: registered.data?.id ?? null, accessToken: null };
  },
  /** Signs in with a passkey on a fresh client (no session, no user named). */
  async signIn(): Promise<Outcome> {
    const signedIn = await client().auth.signInWithPasskey();
    return { error: signedIn.error?.message ?? null, userId: signedIn.data?.user?.id ?? null, passkeyId: null, accessToken: signedIn.data?.session?.access_token ?? null };
  },
};

(globalThis as unknown as { passkeys: typeof page }).passkeys = page;
