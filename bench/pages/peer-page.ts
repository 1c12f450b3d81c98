/**
 * The peer of the demo app's first load: the same start-up job (restore the session from storage, read
 * the identity service's settings, open the realtime connection when signed in) written on
 * `@supabase/supabase-js`, bundled the same way (esbuild, minified) and served from the same server.
 */
import { createClient } from '@supabase/supabase-js';

const anonKey = document.querySelector<HTMLMetaElement>('meta[name="latchkey-anon-key"]')?.content ?? '';
const supabase = createClient(location.origin, anonKey, { auth: { persistSession: true, autoRefreshToken: true } });
const view = document.getElementById('view')!;

async function start(): Promise<void> {
  const { data } = await supabase.auth.getSession();
  const settings = await fetch('/auth/v1/settings', { headers: { apikey: anonKey } }).then((response) => response.json());
  if (data.session) supabase.channel('start').subscribe();
  const form = document.createElement('form');
  form.innerHTML = '<label>E-mail <input name="email" type="email"></label><label>Password <input name="password" type="password"></label><button>Sign in</button>';
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const values = new FormData(form);
    void supabase.auth.signInWithPassword({ email: String(values.get('email')), password: String(values.get('password')) });
  });
  view.replaceChildren(form, String(Object.keys(settings.external ?? {}).length));
}

void start().finally(() => {
  document.body.dataset.readyAt = String(Math.round(performance.now()));
  document.body.dataset.ready = 'true';
});
