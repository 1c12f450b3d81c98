import fc from 'fast-check';

/** Field names the routes read: generated bodies and queries use them often so requests get past "missing field". */
export const FIELD_NAMES = [
  'email', 'password', 'phone', 'data', 'user_metadata', 'app_metadata', 'name', 'role', 'title', 'body', 'channel', 'channels',
  'user', 'client', 'token', 'token_hash', 'type', 'refresh_token', 'factor_id', 'challenge_id', 'code', 'friendly_name',
  'factor_type', 'issuer', 'redirect_to', 'redirect_uris', 'client_name', 'scopes', 'organization_id', 'owner_id', 'grant_type',
  'client_id', 'client_secret', 'nonce', 'email_confirm', 'phone_confirm', 'ban_duration', 'options', 'gotrue_meta_security',
  'code_challenge', 'code_challenge_method', 'auth_code', 'code_verifier', 'disconnect', 'whitelist', 'b64data', 'limit',
  'provider', 'access_token', 'id', 'scope', 'page', 'per_page', 'should_soft_delete', 'create_user', 'invite', 'current_password',
] as const;

/** Strings that have broken servers before: NUL, unpaired surrogates, odd numbers as text, long and empty text. */
const NASTY_STRINGS = [
  '', ' ', '\u0000', 'a\u0000b', '\ud800', '\udfff', 'x\ud83d', '\ude00y', '😀', 'e\u0301', '\uFFFD', '\uFEFF',
  'a@b.co', 'A@EXAMPLE.COM', 'x@y', '@', '-1', '0', '1e400', 'NaN', 'null', 'true', '[]', '{}', "' OR 1=1 --", '%00', '%s',
  '00000000-0000-0000-0000-000000000000', 'not-a-uuid', 'org:x', '$', '\\', '"', '\n', '\t', 'x'.repeat(300), 'y'.repeat(70_000),
];

/** Any text, biased to the nasty cases. */
export const text: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.tuple(fc.string({ maxLength: 8 }), fc.constantFrom('\u0000', '\ud800', '\udc00'), fc.string({ maxLength: 8 })).map((parts) => parts.join('')) },
  { weight: 1, arbitrary: fc.emailAddress() },
  { weight: 1, arbitrary: fc.uuid() },
);

/** Number literals that `JSON.stringify` cannot produce: written into the text as they are. */
const RAW_NUMBERS = ['1e400', '-1e400', '1e-400', '123456789012345678901234567890', '9007199254740993', '-0', '0.1', '2147483648', '-2147483649'];
const RAW_MARK = '\u0001raw:';

const number: fc.Arbitrary<unknown> = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(...RAW_NUMBERS).map((raw) => `${RAW_MARK}${raw}`));

/** Any JSON value, nested a few levels, with nasty strings, keys and numbers. */
export const jsonValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    text,
    number,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.constantFrom(...FIELD_NAMES), text), tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** A body object with the fields routes read. */
export const jsonObject: fc.Arbitrary<Record<string, unknown>> = fc.dictionary(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...FIELD_NAMES) }, { weight: 1, arbitrary: text }), jsonValue, { maxKeys: 6 });

/** JSON text of `value`, with raw number literals put back in place of their markers. */
export function toJsonText(value: unknown): string {
  return JSON.stringify(value).replace(/"\\u0001raw:([^"]*)"/g, '$1');
}

/** `{"data": [[[…1…]]]}` nested `depth` levels (as text: no JSON encoder goes that deep). */
export function deepJson(depth: number, field = 'data'): string {
  return `{"${field}":${'['.repeat(depth)}1${']'.repeat(depth)}}`;
}

/** A request body as text, with the content type it is usually sent with. */
export interface GeneratedBody {
  readonly text: string | undefined;
  readonly type: string;
}

const JSON_TYPE = 'application/json';
export const FORM_TYPE = 'application/x-www-form-urlencoded';

/** JSON objects mostly, and any JSON, deep nesting, broken JSON, form bodies. */
export const body: fc.Arbitrary<GeneratedBody> = fc.oneof(
  { weight: 6, arbitrary: jsonObject.map((value) => ({ text: toJsonText(value), type: JSON_TYPE })) },
  { weight: 1, arbitrary: jsonValue.map((value) => ({ text: toJsonText(value), type: JSON_TYPE })) },
  { weight: 1, arbitrary: fc.constant({ text: undefined, type: JSON_TYPE }) },
  { weight: 1, arbitrary: fc.integer({ min: 60, max: 100_000 }).map((depth) => ({ text: deepJson(depth), type: JSON_TYPE })) },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }).map((text) => ({ text, type: JSON_TYPE })) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom('{', '{"a":', '[1,', '"\\u00', '{"a":"\\ud800"}', '{"\\u0000":1}', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{}}}', 'null', '[]', '1e400')
      .map((text) => ({ text, type: JSON_TYPE })),
  },
  { weight: 2, arbitrary: fc.dictionary(fc.constantFrom(...FIELD_NAMES, 'username'), text, { maxKeys: 4 }).map((fields) => ({ text: formText(fields), type: FORM_TYPE })) },
);

/** Percent-encodes text for a URL, an unpaired surrogate as its 3 bytes (what a careless client sends). */
export function encodeComponent(value: string): string {
  let out = '';
  for (const char of value) {
    const unit = char.charCodeAt(0);
    if (char.length === 1 && unit >= 0xd800 && unit <= 0xdfff) {
      out += `%${(0xe0 | (unit >> 12)).toString(16)}%${(0x80 | ((unit >> 6) & 0x3f)).toString(16)}%${(0x80 | (unit & 0x3f)).toString(16)}`.toUpperCase();
    } else out += encodeURIComponent(char);
  }
  return out;
}

export function formText(fields: Record<string, string>): string {
  return Object.entries(fields)
    .map(([key, value]) => `${encodeComponent(key)}=${encodeComponent(value)}`)
    .join('&');
}

/** Raw URL pieces that decoders disagree on. */
const RAW_URL_PIECES = ['%00', '%ED%A0%80', '%FF', '%C0%80', '%', '%2', '%2F', '..', '%2E%2E', ';', '%0A', '+', '%20'];

/** A path parameter: known ids, other ids, junk, raw percent sequences. */
export function pathParam(known: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...known) },
    { weight: 2, arbitrary: fc.uuid() },
    { weight: 3, arbitrary: text.filter((value) => value.length < 400).map(encodeComponent) },
    { weight: 1, arbitrary: fc.constantFrom(...RAW_URL_PIECES) },
  );
}

/** A query string (without `?`), fields repeated sometimes, with raw percent sequences. */
export const queryString: fc.Arbitrary<string> = fc
  .array(
    fc.tuple(
      fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...FIELD_NAMES, 'api_key', 'filter', 'sort', 'after', 'since', 'cursor', 'verify', 'redirect_to') }, { weight: 1, arbitrary: text }),
      fc.oneof({ weight: 4, arbitrary: text.filter((value) => value.length < 400).map(encodeComponent) }, { weight: 1, arbitrary: fc.constantFrom(...RAW_URL_PIECES) }),
    ),
    { maxLength: 4 },
  )
  .map((pairs) => pairs.map(([key, value]) => `${encodeComponent(key)}=${value}`).join('&'));

/** Printable ASCII: what an HTTP header can carry. */
export const headerText: fc.Arbitrary<string> = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)), maxLength: 60 });
