/**
 * The admin console. It holds no token: the server keeps the console session behind an httpOnly
 * cookie and relays each call to the admin API; every call carries the session's CSRF token.
 */
import { button, errorText, field, form, h, mount, notify, section, table, when } from '../common/dom.js';

interface SessionState {
  readonly signed_in: boolean;
  readonly csrf_token?: string;
  readonly operator?: { kind: 'user'; email: string } | { kind: 'service_key' };
}
type Json = Record<string, unknown>;

class ConsoleError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const view = document.getElementById('view')!;
const who = document.getElementById('who')!;
let csrf = '';

async function call<T = Json>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`/admin/api/${path}`, {
    method,
    credentials: 'same-origin',
    headers: { 'x-csrf-token': csrf, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  const parsed = (text ? JSON.parse(text) : {}) as Json;
  if (response.status === 401 && parsed.error === 'console_signed_out') {
    void start();
    throw new ConsoleError(401, 'Signed out of the console');
  }
  if (!response.ok) throw new ConsoleError(response.status, String(parsed.msg ?? parsed.message ?? parsed.error ?? `HTTP ${response.status}`));
  return parsed as T;
}

function signInView(): void {
  who.replaceChildren();
  mount(
    view,
    section(
      'Sign in',
      h('p', { class: 'muted' }, 'With the e-mail and password of a user who has an admin role, or with the service key.'),
      form(
        'Sign in as an admin user',
        async (values) => signIn({ email: values.email, password: values.password }),
        field('E-mail', 'email', { type: 'email', autocomplete: 'username', required: true }),
        field('Password', 'password', { type: 'password', autocomplete: 'current-password', required: true }),
        h('button', { type: 'submit' }, 'Sign in'),
      ),
      form(
        'Sign in with the service key',
        async (values) => signIn({ service_key: values.service_key }),
        field('Service key', 'service_key', { type: 'password', autocomplete: 'off', required: true }),
        h('button', { type: 'submit', class: 'secondary' }, 'Use service key'),
      ),
    ),
  );
}

async function signIn(body: Json): Promise<void> {
  const response = await fetch('/admin/session', { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const state = (await response.json()) as SessionState & { message?: string };
  if (!response.ok) throw new ConsoleError(response.status, state.message ?? 'Sign-in refused');
  notify('Signed in.');
  await show(state);
}

function userRow(user: Json): HTMLElement[] {
  const id = String(user.id);
  const banned = typeof user.banned_until === 'string' && new Date(user.banned_until) > new Date();
  return [
    h('span', {}, String(user.email ?? user.phone ?? id)),
    h('small', {}, String(user.role ?? '')),
    h('small', {}, banned ? `banned until ${when(user.banned_until)}` : when(user.last_sign_in_at)),
    h(
      'div',
      { class: 'row' },
      button('Sessions', () => showSessions(id, String(user.email ?? id)), { class: 'secondary' }),
      banned
        ? button('Unban', async () => {
            await call('PUT', `users/${id}`, { ban_duration: 'none' });
            notify('Unbanned.');
            await refreshUsers();
          }, { class: 'secondary' })
        : button('Ban', async () => {
            await call('PUT', `users/${id}`, { ban_duration: '876000h' });
            notify(`Banned ${String(user.email ?? id)}; their sessions have ended.`);
            await refreshUsers();
          }, { class: 'danger', 'data-action': 'ban' }),
      button('Reset MFA', async () => {
        const factors = await call<Json[]>('GET', `users/${id}/factors`);
        for (const factor of factors) await call('DELETE', `users/${id}/factors/${String(factor.id)}`);
        notify(`Removed ${factors.length} factor(s).`);
      }, { class: 'secondary' }),
      button('Delete', async () => {
        if (!confirm(`Delete ${String(user.email ?? id)}?`)) return;
        await call('DELETE', `users/${id}`);
        notify('Deleted.');
        await refreshUsers();
      }, { class: 'danger' }),
    ),
  ];
}

let userFilter = '';
const usersBox = h('div', { id: 'users' });
const sessionsBox = h('div', { id: 'user-sessions' });

async function refreshUsers(): Promise<void> {
  const { users } = await call<{ users: Json[] }>('GET', 'users?per_page=200');
  const needle = userFilter.toLowerCase();
  const shown = users.filter((user) => !needle || `${String(user.email ?? '')} ${String(user.id)}`.toLowerCase().includes(needle));
  mount(usersBox, table(['User', 'Role', 'Last sign-in', ''], shown.map(userRow)));
}

async function showSessions(id: string, label: string): Promise<void> {
  const { sessions } = await call<{ sessions: Json[] }>('GET', `users/${id}/sessions`);
  mount(
    sessionsBox,
    h('h3', {}, `Sessions of ${label}`),
    sessions.length === 0
      ? h('p', { class: 'muted' }, 'No live session.')
      : table(
          ['Started', 'Refreshed', 'Browser', ''],
          sessions.map((session) => [
            when(session.created_at),
            when(session.refreshed_at),
            String(session.user_agent ?? '—').slice(0, 80),
            button('End', async () => {
              await call('DELETE', `users/${id}/sessions/${String(session.id)}`);
              notify('Session ended.');
              await showSessions(id, label);
            }, { class: 'danger' }),
          ]),
        ),
  );
}

function usersSection(): HTMLElement {
  const search = h('input', { type: 'search', name: 'search', placeholder: 'Search by e-mail or id', 'aria-label': 'Search users' });
  search.addEventListener('input', () => {
    userFilter = search.value;
    void refreshUsers().catch((error: unknown) => notify(errorText(error), true));
  });
  return section(
    'Users',
    search,
    form(
      'Create a user',
      async (values, element) => {
        await call('POST', 'users', { email: values.email, password: values.password, email_confirm: true });
        notify(`Created ${values.email}.`);
        element.reset();
        await refreshUsers();
      },
      field('E-mail', 'email', { type: 'email', required: true }),
      field('Password', 'password', { type: 'password', required: true, autocomplete: 'new-password' }),
      h('button', { type: 'submit' }, 'Create user'),
    ),
    usersBox,
    sessionsBox,
  );
}

async function organizationsSection(): Promise<HTMLElement> {
  const organizations = await call<Json[]>('GET', 'organizations');
  const members = h('div', {});
  return section(
    'Organizations',
    table(
      ['Name', 'Created', ''],
      organizations.map((organization) => [
        String(organization.name),
        when(organization.created_at),
        button('Members', () => showMembers(organization, members), { class: 'secondary' }),
      ]),
    ),
    members,
  );
}

const ORGANIZATION_ROLES = ['owner', 'admin', 'member'] as const;

/** Lists an organization's members with a role picker and a remove button each (through the organizations API). */
async function showMembers(organization: Json, box: HTMLElement): Promise<void> {
  const base = `organizations/${String(organization.id)}/members`;
  const list = await call<Json[]>('GET', base);
  mount(
    box,
    h('h3', {}, `Members of ${String(organization.name)}`),
    table(
      ['User', 'Role', ''],
      list.map((member) => {
        const who = String(member.email ?? member.user_id);
        const role = h(
          'select',
          {
            'aria-label': `Role of ${who}`,
            onchange: () => {
              void call('PATCH', `${base}/${String(member.user_id)}`, { role: role.value })
                .then(() => notify(`${who} is now ${role.value}.`))
                .catch((error: unknown) => notify(errorText(error), true))
                .then(() => showMembers(organization, box));
            },
          },
          ...ORGANIZATION_ROLES.map((name) => h('option', { value: name, selected: name === member.role }, name)),
        );
        return [
          who,
          role,
          button('Remove', async () => {
            await call('DELETE', `${base}/${String(member.user_id)}`);
            notify(`Removed ${who} from ${String(organization.name)}.`);
            await showMembers(organization, box);
          }, { class: 'secondary' }),
        ];
      }),
    ),
  );
}

async function keysSection(): Promise<HTMLElement> {
  const box = h('div', {});
  const draw = async () => {
    const keys = await call<{
      signing_kid: string | null;
      source: string;
      published: Array<{ kid: string | null; alg: string | null }>;
      retired: Array<{ kid: string; verify_until: string | null }>;
    }>('GET', 'console/keys');
    const retiredUntil = new Map(keys.retired.map((key) => [key.kid, key.verify_until]));
    mount(
      box,
      table(
        ['kid', 'Algorithm', 'State'],
        keys.published.map((key) => {
          const until = key.kid === null ? undefined : retiredUntil.get(key.kid);
          return [
            h('code', {}, key.kid ?? '—'),
            key.alg ?? '',
            key.kid === keys.signing_kid
              ? 'signing'
              : typeof until === 'string'
                ? `retired, published until ${when(until)}`
                : 'published (verifies tokens still in circulation)',
          ];
        }),
      ),
      keys.source === 'database'
        ? button('Rotate signing key', async () => {
            const result = await call('POST', 'console/keys/rotate');
            notify(`Now signing with ${String(result.kid)}.`);
            await draw();
          }, { class: 'secondary' })
        : h('p', { class: 'muted' }, 'Keys come from LATCHKEY_JWT_KEYS; rotate them there.'),
    );
  };
  await draw();
  return section('Signing keys', box);
}

async function clientsSection(): Promise<HTMLElement> {
  const box = h('div', {});
  const secretBox = h('div', { 'aria-live': 'polite' });
  const draw = async () => {
    const { clients } = await call<{ clients: Json[] }>('GET', 'oauth/clients');
    mount(
      box,
      table(
        ['Name', 'client_id', 'Created', ''],
        clients.map((client) => [
          String(client.client_name ?? client.name ?? ''),
          h('code', {}, String(client.client_id)),
          when(client.created_at),
          button('Delete', async () => {
            await call('DELETE', `oauth/clients/${String(client.client_id)}`);
            notify('Client deleted.');
            await draw();
          }, { class: 'danger' }),
        ]),
      ),
    );
  };
  await draw();
  return section(
    'OAuth clients',
    form(
      'Create an OAuth client',
      async (values, element) => {
        const created = await call('POST', 'oauth/clients', { name: values.name });
        mount(secretBox, h('p', { class: 'secret' }, 'Secret of ', h('code', {}, String(created.client_id)), ' (shown once): ', h('code', {}, String(created.client_secret))));
        element.reset();
        await draw();
      },
      field('Client name', 'name', { required: true }),
      h('button', { type: 'submit' }, 'Create client'),
    ),
    secretBox,
    box,
  );
}

async function outboxSection(): Promise<HTMLElement> {
  const { messages } = await call<{ messages: Json[] }>('GET', 'outbox?limit=20');
  return section(
    'Mail outbox',
    messages.length === 0
      ? h('p', { class: 'muted' }, 'No mail yet (development outbox; with SMTP configured, mail leaves the server).')
      : table(['To', 'Subject', 'Sent'], messages.map((message) => [String(message.to ?? ''), String(message.subject ?? ''), when(message.created_at ?? message.sent_at)])),
  );
}

/** Webhook events, where the server has them: the section is left out when the route does not answer. */
async function webhooksSection(): Promise<HTMLElement | null> {
  try {
    const answer = await call<Json | Json[]>('GET', 'webhooks/events?limit=20');
    const events = Array.isArray(answer) ? answer : ((answer.events as Json[] | undefined) ?? []);
    return section(
      'Webhook events',
      events.length === 0
        ? h('p', { class: 'muted' }, 'No events yet.')
        : table(
            ['Endpoint', 'Received', 'Forwarded'],
            events.slice(0, 20).map((event) => [String(event.endpoint ?? ''), when(event.received_at), `${String(event.forward_status ?? '')}${event.forward_error ? `: ${String(event.forward_error)}` : ''}`]),
          ),
    );
  } catch (error) {
    if (error instanceof ConsoleError && (error.status === 404 || error.status === 405)) return null;
    throw error;
  }
}

async function gatewaySection(): Promise<HTMLElement | null> {
  const figures = h('div', { class: 'grid', id: 'gateway-figures' });
  const draw = async () => {
    const info = await call<{ mounted: boolean; nodes?: Json[] }>('GET', 'console/gateway');
    const nodes = info.nodes ?? [];
    const sum = (name: string) => nodes.reduce((total, node) => total + (Number(node[name]) || 0), 0);
    mount(
      figures,
      ...[
        ['Nodes', nodes.length],
        ['Connections', sum('num_clients')],
        ['Users', sum('num_users')],
        ['Channels', sum('num_channels')],
        ['Subscriptions', sum('num_subs')],
      ].map(([label, value]) => h('div', { class: 'figure' }, h('small', {}, String(label)), h('strong', {}, String(value)))),
    );
  };
  await draw();
  const timer = setInterval(() => void draw().catch(() => clearInterval(timer)), 5000);
  return section('Gateway (live)', figures);
}

async function show(state: SessionState): Promise<void> {
  if (!state.signed_in) {
    signInView();
    return;
  }
  csrf = state.csrf_token ?? '';
  who.replaceChildren(
    h('span', {}, state.operator?.kind === 'user' ? state.operator.email : 'service key'),
    button('Sign out', async () => {
      await fetch('/admin/session', { method: 'DELETE', credentials: 'same-origin', headers: { 'x-csrf-token': csrf } });
      csrf = '';
      notify('Signed out.');
      signInView();
    }, { class: 'secondary' }),
  );
  const parts = await Promise.all(
    [async () => usersSection(), gatewaySection, organizationsSection, keysSection, clientsSection, outboxSection, webhooksSection].map((build) =>
      build().catch((error: unknown) => section('Unavailable', h('p', { class: 'muted' }, errorText(error)))),
    ),
  );
  mount(view, ...parts);
  await refreshUsers();
}

async function start(): Promise<void> {
  const response = await fetch('/admin/session', { credentials: 'same-origin' });
  await show((await response.json()) as SessionState);
}

document.body.dataset.ready = 'false';
void start()
  .catch((error: unknown) => notify(errorText(error), true))
  .finally(() => {
    // Interactive: the first view is drawn and its handlers are attached (read by tests and the benchmark).
    document.body.dataset.readyAt = String(Math.round(performance.now()));
    document.body.dataset.ready = 'true';
  });
