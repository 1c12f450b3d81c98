type Json = Record<string, unknown>;

const json = (schema: Json, description: string) => ({ description, content: { 'application/json': { schema } } });

const ORGANIZATION = {
  type: 'object',
  required: ['id', 'name', 'created_at'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    name: { type: 'string' },
    created_at: { type: 'string', format: 'date-time' },
    role: { type: 'string', enum: ['owner', 'admin', 'member'], description: "The caller's role (absent for the service role)" },
  },
};

const MEMBER = {
  type: 'object',
  required: ['organization_id', 'user_id', 'email', 'role', 'created_at'],
  properties: {
    organization_id: { type: 'string', format: 'uuid' },
    user_id: { type: 'string', format: 'uuid' },
    email: { type: ['string', 'null'] },
    role: { type: 'string', enum: ['owner', 'admin', 'member'] },
    created_at: { type: 'string', format: 'date-time' },
  },
};

const INVITATION = {
  type: 'object',
  required: ['id', 'organization_id', 'email', 'role', 'invited_by', 'status', 'created_at', 'expires_at'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    organization_id: { type: 'string', format: 'uuid' },
    email: { type: 'string' },
    role: { type: 'string', enum: ['owner', 'admin', 'member'] },
    invited_by: { type: ['string', 'null'], format: 'uuid' },
    status: { type: 'string', enum: ['pending', 'expired'] },
    created_at: { type: 'string', format: 'date-time' },
    expires_at: { type: 'string', format: 'date-time' },
  },
};

const RECEIVED_INVITATION = {
  type: 'object',
  required: ['id', 'organization_name', 'role', 'expires_at'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    organization_name: { type: 'string' },
    role: { type: 'string', enum: ['owner', 'admin', 'member'] },
    expires_at: { type: 'string', format: 'date-time' },
  },
};

/** Body of accept and decline: the secret token from the invitation mail. */
const INVITATION_ANSWER = {
  required: true,
  content: { 'application/json': { schema: { type: 'object', required: ['token'], properties: { token: { type: 'string', minLength: 1, maxLength: 256, description: 'The code from the invitation mail' } } } } },
};

const SESSION = {
  type: 'object',
  required: ['access_token', 'token_type', 'expires_in', 'expires_at', 'refresh_token', 'user'],
  properties: {
    access_token: { type: 'string' },
    token_type: { type: 'string', enum: ['bearer'] },
    expires_in: { type: 'integer' },
    expires_at: { type: 'integer' },
    refresh_token: { type: 'string' },
    user: { type: 'object' },
  },
};

const IDENTITY_ERROR = {
  type: 'object',
  description: 'GoTrue error: `{code, message}` with `X-Supabase-Api-Version: 2024-01-01`, else `{code, error_code, msg}`',
  properties: { code: { type: ['string', 'integer'] }, error_code: { type: 'string' }, message: { type: 'string' }, msg: { type: 'string' } },
};

const identityError = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/IdentityError' } } } });
const orgId = { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };
const invitationId = { name: 'invitationId', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };
const userId = { name: 'userId', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };
const orgFailures = { 400: identityError('Invalid input'), 401: identityError('No token'), 403: identityError('Bad token or insufficient role'), 404: identityError('Unknown organization or member') };

/**
 * The public OpenAPI 3.1 document of the product's HTTP endpoints beyond the GoTrue-compatible ones:
 * organizations, memberships and invitations (webhook authentication is not described here). An app
 * mounted into the server (`StartOptions.extensions`) may serve it merged with its own paths.
 * `serverUrl` is the public base URL.
 */
export function buildOpenApiDocument(serverUrl: string): Json {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Latchkey organizations',
      version: '0.1.0',
      description:
        'Organizations live in the identity service under /auth/v1/organizations. The access token names the current organization (app_metadata.organization_id, org_role), for PostgreSQL row-level security in the APIs behind Latchkey. The service role key sees every organization.',
    },
    servers: [{ url: serverUrl }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: { Organization: ORGANIZATION, Member: MEMBER, Invitation: INVITATION, ReceivedInvitation: RECEIVED_INVITATION, Session: SESSION, IdentityError: IDENTITY_ERROR },
    },
    paths: {
      '/auth/v1/organizations': {
        get: { operationId: 'listOrganizations', summary: "The caller's organizations with their role (every organization for the service role)", tags: ['organizations'], responses: { 200: json({ type: 'array', items: { $ref: '#/components/schemas/Organization' } }, 'Organizations'), ...orgFailures } },
        post: {
          operationId: 'createOrganization',
          summary: 'Create an organization with the caller as owner',
          tags: ['organizations'],
          requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1, maxLength: 200 }, owner_id: { type: 'string', format: 'uuid', description: 'Service role only' } } } } } },
          responses: { 201: json({ $ref: '#/components/schemas/Organization' }, 'Created'), ...orgFailures },
        },
      },
      '/auth/v1/organizations/{id}': {
        delete: {
          operationId: 'deleteOrganization',
          summary: 'Delete an organization with its memberships and data (owners only); tokens carrying it stop working',
          tags: ['organizations'],
          parameters: [orgId],
          responses: { 204: { description: 'Deleted' }, ...orgFailures },
        },
      },
      '/auth/v1/organizations/{id}/switch': {
        post: { operationId: 'switchOrganization', summary: 'A fresh session whose token carries this organization', tags: ['organizations'], parameters: [orgId], responses: { 200: json({ $ref: '#/components/schemas/Session' }, 'Session'), ...orgFailures } },
      },
      '/auth/v1/organizations/{id}/members': {
        get: { operationId: 'listMembers', summary: 'Members of an organization', tags: ['organizations'], parameters: [orgId], responses: { 200: json({ type: 'array', items: { $ref: '#/components/schemas/Member' } }, 'Members'), ...orgFailures } },
      },
      '/auth/v1/organizations/{id}/invitations': {
        get: { operationId: 'listInvitations', summary: 'Pending invitations, expired ones marked (owners and admins)', tags: ['organizations'], parameters: [orgId], responses: { 200: json({ type: 'array', items: { $ref: '#/components/schemas/Invitation' } }, 'Invitations'), ...orgFailures } },
        post: {
          operationId: 'createInvitation',
          summary: 'Invite an address (owners and admins; only owners invite owners). The same answer whether or not an account has the address; a mail goes to it. The membership exists once the invitee accepts.',
          tags: ['organizations'],
          parameters: [orgId],
          requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['email'], properties: { email: { type: 'string', format: 'email' }, role: { type: 'string', enum: ['owner', 'admin', 'member'], default: 'member' } } } } } },
          responses: { 201: json({ $ref: '#/components/schemas/Invitation' }, 'Invited'), 422: identityError('A member already has this address'), ...orgFailures },
        },
      },
      '/auth/v1/organizations/{id}/invitations/{invitationId}': {
        delete: { operationId: 'revokeInvitation', summary: 'Withdraw a pending invitation (owners and admins)', tags: ['organizations'], parameters: [orgId, invitationId], responses: { 204: { description: 'Withdrawn' }, ...orgFailures } },
      },
      '/auth/v1/invitations': {
        get: {
          operationId: 'listReceivedInvitations',
          summary: "The caller's pending invitations (addressed to their confirmed e-mail)",
          tags: ['organizations'],
          responses: { 200: json({ type: 'object', required: ['invitations'], properties: { invitations: { type: 'array', items: { $ref: '#/components/schemas/ReceivedInvitation' } } } }, 'Invitations'), ...orgFailures },
        },
      },
      '/auth/v1/invitations/{invitationId}/accept': {
        post: { operationId: 'acceptInvitation', summary: 'Accept with the mailed token: the caller becomes a member with the invited role', tags: ['organizations'], parameters: [invitationId], requestBody: INVITATION_ANSWER, responses: { 200: json({ $ref: '#/components/schemas/Member' }, 'Membership'), 422: identityError('Expired or already answered'), ...orgFailures } },
      },
      '/auth/v1/invitations/{invitationId}/decline': {
        post: { operationId: 'declineInvitation', summary: 'Decline with the mailed token', tags: ['organizations'], parameters: [invitationId], requestBody: INVITATION_ANSWER, responses: { 204: { description: 'Declined' }, 422: identityError('Expired or already answered'), ...orgFailures } },
      },
      '/auth/v1/organizations/{id}/members/{userId}': {
        patch: {
          operationId: 'updateMember',
          summary: "Change a member's role",
          tags: ['organizations'],
          parameters: [orgId, userId],
          requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['role'], properties: { role: { type: 'string', enum: ['owner', 'admin', 'member'] } } } } } },
          responses: { 200: json({ $ref: '#/components/schemas/Member' }, 'Updated'), 422: identityError('The last owner cannot be demoted'), ...orgFailures },
        },
        delete: { operationId: 'removeMember', summary: 'Remove a member, or leave', tags: ['organizations'], parameters: [orgId, userId], responses: { 204: { description: 'Removed' }, 422: identityError('The last owner cannot leave'), ...orgFailures } },
      },
    },
  };
}
