/**
 * The demo app: everything a user of an app built on Latchkey does, through `@latchkey/client` as an
 * app would use it. The session lives in localStorage, shared by the tabs of this origin.
 */
import { HttpError, LatchkeyApi, StorageTokenStore, TokenSet, type RealtimeClient } from '@latchkey/client';
import { button, errorText, field, form, h, mount, notify, section, table, when } from '../common/dom.js';
import { CLAIM_HELP, decodeClaims } from './claims.js';

interface Organization {
  readonly id: string;
  readonly name: string;
  readonly role?: string;
}
interface Note {
  readonly id: string;
  readonly title: string;
  readonly body: string;
  readonly created_at: string;
}

const anonKey = document.querySelector<HTMLMetaElement>('meta[name="latchkey-anon-key"]')?.content ?? '';
const api = new LatchkeyApi(location.origin, { anonKey, store: new StorageTokenStore(localStorage) });
const view = document.getElementById('view')!;
const who = document.getElementById('who')!;
let realtime: RealtimeClient | undefined;

/** The session carried in the fragment of an e-mail link or OAuth redirect (`#access_token=…`). */
async function adoptRedirect(): Promise<void> {
  if (!location.hash.includes('=')) return;
  const fragment = new URLSearchParams(location.hash.slice(1));
  history.replaceState(null, '', location.pathname + location.search);
  const error = fragment.get('error_description') ?? fragment.get('error');
  if (error) {
    notify(error, true);
    return;
  }
  if (fragment.get('message')) notify(fragment.get('message')!);
  const accessToken = fragment.get('access_token');
  const refreshToken = fragment.get('refresh_token');
  const expiresIn = Number(fragment.get('expires_in'));
  if (!accessToken || !refreshToken || !Number.isFinite(expiresIn)) return;
  await api.tokens.setTokens(new TokenSet({ accessToken, refreshToken, accessExpiresAt: Date.now() + expiresIn * 1000 }));
  notify(`Signed in by ${fragment.get('type') === 'signup' ? 'confirmation link' : 'e-mail link'}.`);
}

/** OAuth providers turned on in the identity service's settings. */
async function providers(): Promise<string[]> {
  try {
    const settings = await api.anonymous<{ external?: Record<string, boolean> }>('GET', '/auth/v1/settings');
    return Object.entries(settings.external ?? {})
      .filter(([name, on]) => on && !['email', 'phone', 'anonymous_users'].includes(name))
      .map(([name]) => name);
  } catch {
    return [];
  }
}

function signedOutView(): void {
  who.replaceChildren();
  const email = () => (view.querySelector<HTMLInputElement>('input[name="email"]')?.value ?? '').trim();
  const passwordForm = form(
    'Sign in with a password',
    async (values, element) => {
      const action = (element.dataset.action ?? 'signin') as 'signin' | 'signup';
      if (action === 'signup') {
        const { tokens } = await api.auth.signUp({ email: values.email!, password: values.password! });
        if (!tokens) {
          notify('Check your mail to confirm the address, then sign in.');
          return;
        }
        notify('Account created; you are signed in.');
      } else {
        await api.auth.login({ email: values.email!, password: values.password! });
        notify('Signed in.');
      }
      await render();
    },
    field('E-mail', 'email', { type: 'email', autocomplete: 'username', required: true }),
    field('Password', 'password', { type: 'password', autocomplete: 'current-password', required: true, minlength: '6' }),
    h('button', { type: 'submit', name: 'signin' }, 'Sign in'),
    h('button', { type: 'submit', name: 'signup', class: 'secondary' }, 'Sign up'),
  );
  passwordForm.addEventListener('click', (event) => {
    const target = event.target as HTMLElement;
    if (target instanceof HTMLButtonElement) passwordForm.dataset.action = target.name;
  });
  passwordForm.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') passwordForm.dataset.action = 'signin';
  });
  const linkForm = form(
    'Sign in with an e-mail link or code',
    async (values) => {
      await api.anonymous('POST', '/auth/v1/otp', { email: values.link_email, create_user: true });
      notify(`We sent a sign-in link and code to ${values.link_email}.`);
    },
    field('E-mail', 'link_email', { type: 'email', autocomplete: 'email', required: true }),
    h('button', { type: 'submit' }, 'Send link and code'),
  );
  const codeForm = form(
    'Enter the code from the e-mail',
    async (values) => {
      const address = (linkForm.querySelector<HTMLInputElement>('input')?.value ?? email()).trim();
      const response = await api.anonymousResponse('POST', '/auth/v1/verify', { type: 'email', email: address, token: values.code });
      const body = (await response.json()) as Record<string, unknown>;
      if (!response.ok) throw new HttpError(response.status, String(body.msg ?? body.error_description ?? 'verification failed'), String(body.error_code ?? ''), body);
      await api.tokens.setTokens(new TokenSet({ accessToken: String(body.access_token), refreshToken: String(body.refresh_token), accessExpiresAt: Date.now() + Number(body.expires_in) * 1000 }));
      notify('Signed in with the code.');
      await render();
    },
    field('Code', 'code', { inputmode: 'numeric', autocomplete: 'one-time-code', required: true }),
    h('button', { type: 'submit', class: 'secondary' }, 'Verify code'),
  );
  mount(
    view,
    section('Sign in or sign up', h('p', { class: 'muted' }, 'Use a password, or get a one-time link and code by e-mail.'), passwordForm),
    section('E-mail link or code', linkForm, codeForm),
  );
  // Providers are drawn when the settings arrive; the forms above are usable at once.
  void providers().then((oauth) => {
    if (oauth.length === 0 || !view.contains(passwordForm)) return;
    view.append(
      section(
        'Other providers',
        h(
          'div',
          { class: 'row' },
          ...oauth.map((provider) =>
            h('a', { class: 'button secondary', href: `/auth/v1/authorize?${new URLSearchParams({ provider, redirect_to: `${location.origin}/` })}` }, `Continue with ${provider}`),
          ),
        ),
      ),
    );
  });
}

async function claimsSection(): Promise<HTMLElement> {
  const tokens = await api.tokens.getTokens();
  const claims = decodeClaims(tokens.accessToken);
  const rows = Object.entries(claims).map(([name, value]) => [
    h('code', {}, name),
    h('code', {}, typeof value === 'object' ? JSON.stringify(value) : String(value)),
    CLAIM_HELP[name] ?? '',
  ]);
  return section(
    'Your access token',
    h('p', { class: 'muted' }, `Expires ${when(claims.exp)}; refreshed automatically, once for all tabs.`),
    table(['Claim', 'Value', 'Meaning'], rows),
  );
}

async function sessionsSection(): Promise<HTMLElement> {
  const { sessions } = await api.request<{ sessions: Array<Record<string, unknown>> }>('GET', '/auth/v1/sessions');
  return section(
    'Your sessions',
    table(
      ['Started', 'Last refreshed', 'Browser', ''],
      sessions.map((session) => [
        when(session.created_at),
        when(session.refreshed_at),
        String(session.user_agent ?? '—').slice(0, 80),
        session.current
          ? h('strong', {}, 'this one')
          : button('End', async () => {
              await api.request('DELETE', `/auth/v1/sessions/${String(session.id)}`);
              notify('Session ended.');
              await render();
            }, { class: 'danger' }),
      ]),
    ),
  );
}

async function organizationsSection(current: string | undefined): Promise<HTMLElement> {
  const organizations = await api.request<Organization[]>('GET', '/auth/v1/organizations');
  const switchTo = async (id: string) => {
    const response = await api.fetch(`/auth/v1/organizations/${id}/switch`, { method: 'POST' });
    const body = (await response.json()) as Record<string, unknown>;
    if (!response.ok) throw new Error(String(body.msg ?? 'could not switch'));
    await api.tokens.setTokens(new TokenSet({ accessToken: String(body.access_token), refreshToken: String(body.refresh_token), accessExpiresAt: Date.now() + Number(body.expires_in) * 1000 }));
    notify('Switched organization.');
    await render();
  };
  return section(
    'Organizations',
    organizations.length === 0 ? h('p', { class: 'muted' }, 'You are in no organization yet.') : null,
    organizations.length > 0
      ? table(
          ['Name', 'Your role', ''],
          organizations.map((organization) => [
            organization.name,
            organization.role ?? '',
            organization.id === current ? h('strong', {}, 'current') : button('Switch', () => switchTo(organization.id), { class: 'secondary' }),
          ]),
        )
      : null,
    form(
      'Create an organization',
      async (values) => {
        const created = await api.request<Organization>('POST', '/auth/v1/organizations', { name: values.name });
        notify(`Created ${created.name}.`);
        await switchTo(created.id);
      },
      field('New organization', 'name', { required: true, maxlength: '100' }),
      h('button', { type: 'submit' }, 'Create'),
    ),
    current
      ? form(
          'Invite someone',
          async (values, element) => {
            await api.request('POST', `/auth/v1/organizations/${current}/invitations`, { email: values.invite_email, role: values.role });
            notify(`Invited ${values.invite_email}.`);
            element.reset();
          },
          field('Invite by e-mail', 'invite_email', { type: 'email', required: true }),
          h('label', {}, 'Role', h('select', { name: 'role' }, h('option', { value: 'member' }, 'member'), h('option', { value: 'admin' }, 'admin'))),
          h('button', { type: 'submit', class: 'secondary' }, 'Invite'),
        )
      : null,
  );
}

function noteItem(note: Note): HTMLElement {
  return h('article', { class: 'note', 'data-note': note.id }, h('strong', {}, note.title), note.body ? h('p', {}, note.body) : null, h('small', {}, when(note.created_at)));
}

async function notesSection(organization: string | undefined): Promise<HTMLElement> {
  if (!organization) return section('Notes', h('p', { class: 'muted' }, 'Create or switch to an organization to see its notes.'));
  let notes: Note[];
  try {
    ({ notes } = await api.request<{ notes: Note[] }>('GET', '/api/v1/notes'));
  } catch (error) {
    // The example API is served only where it was asked for (`latchkey serve --example`, `npm start`).
    if (error instanceof HttpError && error.status === 404) {
      return section('Notes', h('p', { class: 'muted', id: 'notes-absent' }, 'The example notes API is not served here: start the server with ', h('code', {}, 'latchkey serve --example'), ' (as ', h('code', {}, 'npm start'), ' does) to try it.'));
    }
    throw error;
  }
  const list = h('div', { id: 'notes', 'aria-live': 'polite' }, ...notes.map(noteItem));
  const live = h('small', { id: 'live' }, 'connecting…');
  realtime?.disconnect();
  realtime = api.realtime();
  realtime.on('connected', () => (live.textContent = 'live'));
  realtime.on('disconnected', () => (live.textContent = 'offline'));
  realtime.on('reauthRequired', () => {
    // The gateway ended the session (sign-out elsewhere, ban, deletion): forget it in every tab.
    void api.tokens.clear().then(() => notify('Your session has ended. Sign in again.', true));
  });
  realtime.subscribe<{ type: string; note: Note }>(`org:${organization}`, (event) => {
    if (event.type === 'note.deleted') list.querySelector(`[data-note="${event.note.id}"]`)?.remove();
    else if (!list.querySelector(`[data-note="${event.note.id}"]`)) list.prepend(noteItem(event.note));
  });
  realtime.connect();
  return section(
    'Notes',
    h('p', { class: 'row' }, h('span', { class: 'muted' }, 'Notes of your current organization, updated live.'), live),
    form(
      'Add a note',
      async (values, element) => {
        await api.request('POST', '/api/v1/notes', { title: values.title, body: values.body ?? '' });
        element.reset();
      },
      field('Title', 'title', { required: true, maxlength: '500' }),
      field('Text', 'body', {}),
      h('button', { type: 'submit' }, 'Add'),
    ),
    list,
  );
}

async function signedInView(): Promise<void> {
  const tokens = await api.tokens.getTokens();
  const claims = decodeClaims(tokens.accessToken);
  const app = (claims.app_metadata ?? {}) as { organization_id?: string };
  who.replaceChildren(
    h('span', {}, String(claims.email ?? claims.sub)),
    button('Sign out', async () => {
      realtime?.disconnect();
      await api.auth.logout();
      notify('Signed out.');
    }, { class: 'secondary' }),
  );
  const parts = await Promise.all([claimsSection(), organizationsSection(app.organization_id), notesSection(app.organization_id), sessionsSection()]);
  mount(view, ...parts);
}

let rendering: Promise<void> | undefined;
async function render(): Promise<void> {
  const run = async () => {
    const session = await api.tokens.peek();
    if (!session) {
      realtime?.disconnect();
      realtime = undefined;
      signedOutView();
      return;
    }
    try {
      await signedInView();
    } catch (error) {
      if (!(await api.tokens.peek())) return render();
      notify(errorText(error), true);
    }
  };
  rendering = (rendering ?? Promise.resolve()).then(run, run);
  return rendering;
}

// A sign-out or sign-in in another tab, or the session ending, redraws this one.
api.tokens.on('signedOut', (event) => {
  if (event.reason !== 'logout') notify('Your session has ended. Sign in again.', true);
  void render();
});
api.tokens.on('adopted', () => {
  if (!realtime) void render();
});
document.body.dataset.ready = 'false';
void adoptRedirect()
  .catch((error: unknown) => notify(errorText(error), true))
  .then(render)
  .finally(() => {
    // Interactive: the first view is drawn and its handlers are attached (read by tests and the benchmark).
    document.body.dataset.readyAt = String(Math.round(performance.now()));
    document.body.dataset.ready = 'true';
  });
