import { JSON_CODEC, type ProtocolCodec } from './codec.js';
import { PROTOBUF_CODEC } from './protobuf.js';

/** WebSocket subprotocols of the client protocol, as the official SDKs ask for them. */
export const SUBPROTOCOLS = { json: 'centrifuge-json', protobuf: 'centrifuge-protobuf' } as const;

/**
 * The subprotocol to answer an upgrade with: `centrifuge-protobuf` or `centrifuge-json` when the client
 * offers one (the server must echo it, or the client drops the connection), none otherwise.
 */
export function chooseSubprotocol(offered: ReadonlySet<string>): string | false {
  if (offered.has(SUBPROTOCOLS.protobuf)) return SUBPROTOCOLS.protobuf;
  if (offered.has(SUBPROTOCOLS.json)) return SUBPROTOCOLS.json;
  return false;
}

/**
 * The codec of a new connection, as Centrifugo chooses it: protobuf when the client asked for the
 * `centrifuge-protobuf` subprotocol or put `format=protobuf` or `cf_protocol=protobuf` in the query; JSON
 * otherwise.
 */
export function codecFor(query: URLSearchParams, subprotocol: string): ProtocolCodec {
  if (subprotocol === SUBPROTOCOLS.protobuf || query.get('format') === 'protobuf' || query.get('cf_protocol') === 'protobuf') return PROTOBUF_CODEC;
  return JSON_CODEC;
}
