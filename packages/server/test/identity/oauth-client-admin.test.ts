import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { post, startIdentity, type IdentityServer } from './support.js';

async function clientToken(app: IdentityServer, id: string, secret: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${app.auth}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: id, client_secret: secret }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describeEachDatabase('OAuth client admin API (auth.admin.oauth)', (database) => {
  let app: IdentityServer;
  beforeAll(async () => {
    app = await startIdentity(database());
  });
  afterAll(async () => {
    await app?.close();
  });

  it('creates, gets, updates, regenerates the secret of and deletes a client with GoTrue shapes', async () => {
    const oauth = app.admin().auth.admin.oauth;
    const created = await oauth.createClient({
      client_name: 'Notes web',
      redirect_uris: ['https://notes.example.com/callback', 'http://localhost:3000/cb'],
      client_uri: 'https://notes.example.com',
    });
    expect(created.error).toBeNull();
    const client = created.data!;
    expect(client).toMatchObject({
      client_name: 'Notes web',
      client_type: 'confidential',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['https://notes.example.com/callback', 'http://localhost:3000/cb'],
      client_uri: 'https://notes.example.com',
      registration_type: 'manual',
    });
    expect(client.client_secret).toMatch(/^[\w-]{43}$/);
    expect(Date.parse(client.created_at)).not.toBeNaN();

    const fetched = await oauth.getClient(client.client_id);
    expect(fetched.error).toBeNull();
    expect(fetched.data!.client_name).toBe('Notes web');
    expect(fetched.data).not.toHaveProperty('client_secret');

    const updated = await oauth.updateClient(client.client_id, { client_name: 'Notes', redirect_uris: ['https://notes.example.com/cb2'], logo_uri: 'https://notes.example.com/logo.png' });
    expect(updated.error).toBeNull();
    expect(updated.data).toMatchObject({ client_name: 'Notes', redirect_uris: ['https://notes.example.com/cb2'], logo_uri: 'https://notes.example.com/logo.png', client_uri: 'https://notes.example.com' });

    const regenerated = await oauth.regenerateClientSecret(client.client_id);
    expect(regenerated.error).toBeNull();
    expect(regenerated.data!.client_secret).toMatch(/^[\w-]{43}$/);
    expect(regenerated.data!.client_secret).not.toBe(client.client_secret);

    const deleted = await oauth.deleteClient(client.client_id);
    expect(deleted.error).toBeNull();
    const gone = await oauth.getClient(client.client_id);
    expect(gone.error?.status).toBe(404);
    expect(gone.error?.code).toBe('oauth_client_not_found');
    expect((await oauth.deleteClient(client.client_id)).error?.code).toBe('oauth_client_not_found');
    expect((await oauth.regenerateClientSecret(client.client_id)).error?.status).toBe(404);
    expect((await oauth.updateClient(client.client_id, { client_name: 'x' })).error?.status).toBe(404);
  });

  it('shares the store with the client credentials grant: a regenerated secret replaces the old one at once', async () => {
    const oauth = app.admin().auth.admin.oauth;
    const created = await oauth.createClient({ client_name: 'nightly job', grant_types: ['client_credentials'], token_endpoint_auth_method: 'client_secret_post' } as never);
    expect(created.error).toBeNull();
    const client = created.data!;
    expect(client.grant_types).toEqual(['client_credentials']);
    expect(client).not.toHaveProperty('redirect_uris');
    expect(client).not.toHaveProperty('response_types');
    const first = await clientToken(app, client.client_id, client.client_secret!);
    expect(first.status).toBe(200);
    expect(first.body.access_token).toBeTruthy();

    const regenerated = await oauth.regenerateClientSecret(client.client_id);
    expect((await clientToken(app, client.client_id, client.client_secret!)).status).toBe(401);
    expect((await clientToken(app, client.client_id, regenerated.data!.client_secret!)).status).toBe(200);

    // A client registered for the authorization code flow gets no client credentials tokens.
    const web = await oauth.createClient({ client_name: 'web', redirect_uris: ['https://web.example.com/cb'] });
    const refused = await clientToken(app, web.data!.client_id, web.data!.client_secret!);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('unauthorized_client');
  });

  it('creates public clients without a secret; they cannot authenticate nor get a secret', async () => {
    const oauth = app.admin().auth.admin.oauth;
    const created = await oauth.createClient({ client_name: 'mobile', redirect_uris: ['com.example.app://callback'], client_type: 'public' } as never);
    expect(created.error).toBeNull();
    expect(created.data).toMatchObject({ client_type: 'public', token_endpoint_auth_method: 'none' });
    expect(created.data).not.toHaveProperty('client_secret');
    const refused = await oauth.regenerateClientSecret(created.data!.client_id);
    expect(refused.error?.status).toBe(400);
    expect(refused.error?.message).toBe('Cannot regenerate secret for public client');
    const byMethod = await oauth.createClient({ client_name: 'spa', redirect_uris: ['https://spa.example.com/'], token_endpoint_auth_method: 'none' } as never);
    expect(byMethod.data!.client_type).toBe('public');
  });

  it('refuses invalid registrations with GoTrue messages', async () => {
    const oauth = app.admin().auth.admin.oauth;
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ client_name: 'a', grant_types: ['authorization_code'] }, 'redirect_uris is required'],
      [{ redirect_uris: ['javascript:alert(1)'] }, "invalid redirect_uri 'javascript:alert(1)': scheme 'javascript' is not allowed for security reasons"],
      [{ redirect_uris: ['http://evil.example.com/cb'] }, "invalid redirect_uri 'http://evil.example.com/cb': HTTP scheme only allowed for localhost"],
      [{ redirect_uris: ['https://app.example.com/cb#frag'] }, "invalid redirect_uri 'https://app.example.com/cb#frag': fragment not allowed in redirect URI"],
      [{ redirect_uris: ['not a url'] }, "invalid redirect_uri 'not a url': invalid URL format"],
      [{ redirect_uris: Array.from({ length: 11 }, (_, i) => `https://app.example.com/${i}`) }, 'redirect_uris cannot exceed 10 items'],
      [{ redirect_uris: ['https://a.example.com/'], grant_types: ['implicit'] }, "grant_types must only contain 'authorization_code', 'refresh_token' and/or 'client_credentials'"],
      [{ redirect_uris: ['https://a.example.com/'], grant_types: [] }, 'grant_types cannot be empty'],
      [{ redirect_uris: ['https://a.example.com/'], client_type: 'secret' }, "client_type must be 'public' or 'confidential'"],
      [{ redirect_uris: ['https://a.example.com/'], token_endpoint_auth_method: 'private_key_jwt' }, 'token_endpoint_auth_method: must be one of [none client_secret_basic client_secret_post]'],
      [
        { redirect_uris: ['https://a.example.com/'], client_type: 'public', token_endpoint_auth_method: 'client_secret_basic' },
        "client_type 'public' is inconsistent with token_endpoint_auth_method 'client_secret_basic' (expected client_type 'confidential')",
      ],
      [{ grant_types: ['client_credentials'], client_type: 'public' }, 'the client_credentials grant needs a confidential client'],
      [{ redirect_uris: ['https://a.example.com/'], client_uri: 'nope' }, 'client_uri must be a valid URL'],
      [{ redirect_uris: ['https://a.example.com/'], client_name: 'x'.repeat(1025) }, 'client_name cannot exceed 1024 characters'],
    ];
    for (const [body, message] of cases) {
      const answer = await oauth.createClient(body as never);
      expect(answer.error?.status, message).toBe(400);
      expect(answer.error?.code).toBe('validation_failed');
      expect(answer.error?.message).toBe(message);
    }
    const web = await oauth.createClient({ client_name: 'web', redirect_uris: ['https://web.example.com/cb'] });
    const empty = await oauth.updateClient(web.data!.client_id, {});
    expect(empty.error?.message).toBe('No fields provided for update');
    const noUris = await oauth.updateClient(web.data!.client_id, { redirect_uris: [] });
    expect(noUris.error?.message).toBe('redirect_uris cannot be empty');
    const unsafe = await oauth.updateClient(web.data!.client_id, { redirect_uris: ['data:text/html,hi'] });
    expect(unsafe.error?.status).toBe(400);

    const asAnon = await post(`${app.auth}/admin/oauth/clients`, { redirect_uris: ['https://a.example.com/'] }, { authorization: `Bearer ${app.anonKey}`, 'x-supabase-api-version': '2024-01-01' });
    expect(asAnon.status).toBe(403);
  });

  it('lists clients newest first, a page at a time', async () => {
    const oauth = app.admin().auth.admin.oauth;
    for (const name of ['page-a', 'page-b', 'page-c']) expect((await oauth.createClient({ client_name: name, redirect_uris: ['https://p.example.com/'] })).error).toBeNull();
    const all = await oauth.listClients();
    expect(all.error).toBeNull();
    const total = all.data.clients.length;
    expect(total).toBeGreaterThanOrEqual(3);
    expect(all.data.clients.slice(0, 3).map((client) => client.client_name)).toEqual(['page-c', 'page-b', 'page-a']);
    const first = await oauth.listClients({ page: 1, perPage: 2 });
    expect(first.data.clients.map((client) => client.client_name)).toEqual(['page-c', 'page-b']);
    expect((first.data as unknown as { total: number }).total).toBe(total);
    expect((first.data as unknown as { nextPage: number | null }).nextPage).toBe(2);
    const second = await oauth.listClients({ page: 2, perPage: 2 });
    expect(second.data.clients[0]!.client_name).toBe('page-a');
    expect(all.data.clients.every((client) => client.client_secret === undefined)).toBe(true);
  });
});
