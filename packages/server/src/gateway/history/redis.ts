import type { Redis } from 'ioredis';
import { FRAME_END, newEpoch, publicationFramePrefix, UnrecoverablePositionError, type AppendOptions, type HistoryPage, type HistoryQuery, type StoredPublication, type StreamPosition } from './types.js';

/** Kind byte of a pub/sub message that carries a stream publication: `h<offset> <frame>`. */
export const STREAM_PUB = 0x68;
/** Kind byte of a stream publication sent with its parts: `d<offset> {"d":data,"i":info,"p":previous data}`. */
export const STREAM_PARTS = 0x64;

/** Lua: the stream's epoch, starting a new one (from `ARGV[candidate]`) and dropping any stream left when the meta hash is gone. */
function ensureEpoch(candidate: number): string {
  return `local epoch = redis.call('hget', KEYS[1], 'e')
if not epoch then
  epoch = ARGV[${candidate}]
  redis.call('del', KEYS[2])
  redis.call('hset', KEYS[1], 'e', epoch)
end`;
}

/**
 * Appends to a channel's stream and publishes, in one step, so the order on pub/sub is the order of
 * offsets. The meta hash holds the top offset (`s`) and the epoch (`e`); a missing hash starts a new
 * epoch and drops whatever stream is left. Stream entry ids are `<offset>-1`.
 * With delivery `parts` or `delta` the message carries data, info (and the previous data) instead of the frame.
 * KEYS: meta, stream, pub/sub channel. ARGV: data, info ('' = none), frame prefix, size, ttl, meta ttl, epoch candidate, delivery.
 */
const APPEND = `
${ensureEpoch(7)}
local prev = nil
if ARGV[8] == 'delta' then
  local last = redis.call('xrevrange', KEYS[2], '+', '-', 'COUNT', 1)
  if last[1] then
    local fields = last[1][2]
    for i = 1, #fields, 2 do
      if fields[i] == 'd' then prev = fields[i + 1] end
    end
  end
end
local offset = redis.call('hincrby', KEYS[1], 's', 1)
if ARGV[6] ~= '0' then redis.call('expire', KEYS[1], ARGV[6]) end
if ARGV[2] == '' then
  redis.call('xadd', KEYS[2], 'MAXLEN', ARGV[4], offset .. '-1', 'd', ARGV[1])
else
  redis.call('xadd', KEYS[2], 'MAXLEN', ARGV[4], offset .. '-1', 'd', ARGV[1], 'i', ARGV[2])
end
redis.call('expire', KEYS[2], ARGV[5])
if ARGV[8] == 'plain' then
  redis.call('publish', KEYS[3], 'h' .. offset .. ' ' .. ARGV[3] .. offset .. '${FRAME_END}')
else
  local info = nil
  if ARGV[2] ~= '' then info = ARGV[2] end
  redis.call('publish', KEYS[3], 'd' .. offset .. ' ' .. cjson.encode({d = ARGV[1], i = info, p = prev}))
end
return {offset, epoch}
`;

/**
 * Reads a channel's position and, when asked, publications, in one step.
 * KEYS: meta, stream. ARGV: meta ttl, epoch candidate, mode ('none' | 'range' | 'revrange'), start, end, count ('' = all).
 */
const READ = `
${ensureEpoch(2)}
local top = redis.call('hget', KEYS[1], 's') or '0'
if ARGV[1] ~= '0' then redis.call('expire', KEYS[1], ARGV[1]) end
local entries = {}
if ARGV[3] ~= 'none' then
  local command = ARGV[3] == 'range' and 'xrange' or 'xrevrange'
  if ARGV[6] == '' then
    entries = redis.call(command, KEYS[2], ARGV[4], ARGV[5])
  else
    entries = redis.call(command, KEYS[2], ARGV[4], ARGV[5], 'COUNT', ARGV[6])
  end
end
return {top, epoch, entries}
`;

type RawEntry = [string, string[]];

function storedOf([id, fields]: RawEntry): StoredPublication {
  const offset = Number.parseInt(id, 10);
  let data = 'null';
  let info: string | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === 'd') data = fields[i + 1]!;
    else if (fields[i] === 'i') info = fields[i + 1]!;
  }
  return info === undefined ? { offset, data } : { offset, data, info };
}

/** Channel streams in Redis, shared by every node on the same Redis and prefix. */
export class RedisHistory {
  constructor(
    readonly redis: Redis,
    readonly prefix: string,
  ) {}

  #keys(channel: string): [string, string] {
    return [`${this.prefix}.history.meta.${channel}`, `${this.prefix}.history.stream.${channel}`];
  }

  /** Appends and publishes on `pubsubChannel` as {@link STREAM_PUB} message. */
  async append(channel: string, pubsubChannel: string, data: string, info: string | undefined, options: AppendOptions): Promise<StreamPosition> {
    const [meta, stream] = this.#keys(channel);
    const frame = publicationFramePrefix(channel, data, info);
    const reply = (await this.redis.eval(APPEND, 3, meta, stream, pubsubChannel, data, info ?? '', frame, options.size, Math.max(1, Math.ceil(options.ttl)), Math.ceil(options.metaTtl), newEpoch(), options.delivery)) as [number, string];
    return { offset: Number(reply[0]), epoch: reply[1] };
  }

  async read(channel: string, query: HistoryQuery): Promise<HistoryPage> {
    const [meta, stream] = this.#keys(channel);
    let mode = 'none';
    let start = '-';
    let end = '+';
    if (query.limit !== 0) {
      if (query.reverse) {
        mode = 'revrange';
        start = query.since ? `${query.since.offset - 1}-1` : '+';
        end = '-';
        if (query.since && query.since.offset <= 1) mode = 'none';
      } else {
        mode = 'range';
        start = query.since ? `${query.since.offset + 1}-1` : '-';
      }
    }
    const count = query.limit > 0 ? String(query.limit) : '';
    const [top, epoch, entries] = (await this.redis.eval(READ, 2, meta, stream, Math.ceil(query.metaTtl), newEpoch(), mode, start, end, count)) as [string, string, RawEntry[]];
    const position = { offset: Number(top), epoch };
    if (query.since && query.since.epoch !== '' && query.since.epoch !== epoch) throw new UnrecoverablePositionError(position);
    return { ...position, publications: entries.map(storedOf) };
  }

  async remove(channel: string): Promise<void> {
    await this.redis.del(this.#keys(channel)[1]);
  }
}
