import { keepsHistory, type ChannelSettings, type NamespaceOptions } from '../channels/options.js';
import type { Broker } from '../broker/types.js';
import { ErrorCode, SubscribeFlag } from '../protocol/codes.js';
import type { ClientInfo, JsonValue, Publication, SubscribeRequest, SubscribeResult } from '../protocol/types.js';
import { RpcError } from '../rpc/errors.js';
import { UnrecoverablePositionError, type HistoryPage, type HistoryQuery, type StoredPublication, type StreamOptions } from './types.js';

/** The stream settings of a namespace that keeps history. */
export function streamOptions(namespace: NamespaceOptions, channels: ChannelSettings): StreamOptions {
  return { size: namespace.history_size, ttl: namespace.history_ttl, metaTtl: namespace.history_meta_ttl || channels.historyMetaTtl };
}

/** A kept publication as the protocol carries it (`dataAsText`: data as a JSON string, for delta subscribers). */
export function toPublication(stored: StoredPublication, dataAsText = false): Publication {
  const publication: Publication = { data: dataAsText ? stored.data : (JSON.parse(stored.data) as JsonValue), offset: stored.offset };
  if (stored.info !== undefined) publication.info = JSON.parse(stored.info) as ClientInfo;
  return publication;
}

function isOffset(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/**
 * Reads a history request's `limit`, `since` and `reverse` (client command and server API alike).
 * Throws 107 for malformed fields and for `reverse` from offset 0.
 */
export function historyQuery(request: { limit?: unknown; since?: unknown; reverse?: unknown }, metaTtl: number): HistoryQuery {
  const limit = request.limit ?? 0;
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < -1) throw new RpcError(ErrorCode.BadRequest, 'limit must be a whole number');
  const reverse = request.reverse === true;
  if (request.since === undefined || request.since === null) return { limit, reverse, metaTtl };
  const since = request.since as { offset?: unknown; epoch?: unknown };
  if (typeof since !== 'object' || !isOffset(since.offset ?? 0) || typeof (since.epoch ?? '') !== 'string') throw new RpcError(ErrorCode.BadRequest, 'since must be {offset, epoch}');
  const offset = (since.offset ?? 0) as number;
  if (reverse && offset === 0) throw new RpcError(ErrorCode.BadRequest);
  return { limit, reverse, metaTtl, since: { offset, epoch: (since.epoch ?? '') as string } };
}

/** Reads history; an epoch other than the stream's becomes error 112. */
export async function readHistory(broker: Broker, channel: string, query: HistoryQuery): Promise<HistoryPage> {
  try {
    return await broker.history(channel, query);
  } catch (error) {
    if (error instanceof UnrecoverablePositionError) throw new RpcError(ErrorCode.UnrecoverablePosition);
    throw error;
  }
}

/** What a subscribe adds to its reply for a positioned or recoverable channel. */
export interface StreamSubscribe {
  readonly result: SubscribeResult;
  /** The last offset the reply accounts for (live publications continue after it); `null`: not positioned. */
  readonly position: number | null;
  /** Fossil deltas negotiated: whether the reply carried publications (`null`: not negotiated). */
  readonly delta: boolean | null;
  /** The stream's epoch the reply named ('' when not positioned). */
  readonly epoch: string;
}

/**
 * Positions a subscription on the channel's stream and, when the client asks to recover, puts the
 * publications it missed in the reply — as Centrifugo does: recovered only when the epoch is the same
 * and every publication after the client's offset is still kept; otherwise `recovered: false` with the
 * current position (or error 112 when the client set the reject-unrecovered flag).
 * `historyAccess` says whether the connection may read the channel's history (it then gets positioning
 * and recovery on request where the namespace does not force them).
 */
export async function positionSubscription(
  broker: Broker,
  channels: ChannelSettings,
  channel: string,
  namespace: NamespaceOptions,
  request: SubscribeRequest,
  historyAccess: boolean,
): Promise<StreamSubscribe> {
  const result: SubscribeResult = {};
  if (request.recover === true) result.was_recovering = true;
  if (!keepsHistory(namespace)) return { result, position: null, delta: null, epoch: '' };
  // Deltas need the stream: the previous publication is the base of the next delta.
  const delta = request.delta === 'fossil' && namespace.allowed_delta_types.includes('fossil');
  if (delta) result.delta = true;
  const done = (position: number | null): StreamSubscribe => ({ result, position, delta: delta ? (result.publications?.length ?? 0) > 0 : null, epoch: result.epoch ?? '' });
  const recovery = namespace.force_recovery || (request.recoverable === true && (namespace.allow_recovery || historyAccess));
  const positioning = recovery || namespace.force_positioning || (request.positioned === true && (namespace.allow_positioning || historyAccess));
  if (!positioning) return done(null);
  result.positioned = true;
  if (recovery) result.recoverable = true;
  const metaTtl = streamOptions(namespace, channels).metaTtl;
  const rejectUnrecovered = typeof request.flag === 'number' && (request.flag & SubscribeFlag.RejectUnrecovered) !== 0;

  if (!(recovery && request.recover === true)) {
    const top = await broker.history(channel, { limit: 0, reverse: false, metaTtl });
    setPosition(result, top.offset, top.epoch);
    return done(top.offset);
  }
  const offset = request.offset ?? 0;
  const epoch = request.epoch ?? '';
  if (!isOffset(offset) || typeof epoch !== 'string') throw new RpcError(ErrorCode.BadRequest);
  let page: HistoryPage;
  try {
    page = await broker.history(channel, { limit: -1, reverse: false, metaTtl, since: { offset, epoch } });
  } catch (error) {
    if (!(error instanceof UnrecoverablePositionError)) throw error;
    if (rejectUnrecovered) throw new RpcError(ErrorCode.UnrecoverablePosition);
    setPosition(result, error.position.offset, error.position.epoch);
    result.recovered = false;
    return done(error.position.offset);
  }
  const pubs = page.publications;
  const recovered = pubs.length === 0 ? page.offset === offset : pubs[0]!.offset === offset + 1 && pubs[pubs.length - 1]!.offset === page.offset;
  if (!recovered) {
    if (rejectUnrecovered) throw new RpcError(ErrorCode.UnrecoverablePosition);
    setPosition(result, page.offset, page.epoch);
    result.recovered = false;
    return done(page.offset);
  }
  // Recovered: the reply names the client's own offset and the publications carry it forward.
  setPosition(result, offset, page.epoch);
  result.recovered = true;
  // With deltas the recovered publications come in full, their data as JSON strings.
  if (pubs.length > 0) result.publications = pubs.map((pub) => toPublication(pub, delta));
  return done(page.offset);
}

function setPosition(result: SubscribeResult, offset: number, epoch: string): void {
  if (offset > 0) result.offset = offset;
  result.epoch = epoch;
}

/** A history read as the protocol's (and the server API's) history result. */
export async function historyResult(broker: Broker, channel: string, query: HistoryQuery): Promise<{ publications: Publication[]; epoch: string; offset?: number }> {
  const page = await readHistory(broker, channel, query);
  const result: { publications: Publication[]; epoch: string; offset?: number } = { publications: page.publications.map((pub) => toPublication(pub)), epoch: page.epoch };
  if (page.offset > 0) result.offset = page.offset;
  return result;
}
