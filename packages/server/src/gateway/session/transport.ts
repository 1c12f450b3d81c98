import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import type { ProtocolCodec } from '../protocol/codec.js';
import { sharedFrame, wsFrame } from './frames.js';

const TEXT = { binary: false } as const;
const BINARY = { binary: true } as const;

/** What the transport hands received frames to. */
export interface FrameReceiver {
  /** Whether a frame arriving now is read at all (the receiver may close the connection instead). */
  admit(): boolean;
  /** Handles one frame; the next waits until it settles. */
  receive(frame: Buffer): Promise<void>;
  /** `receive` threw. */
  crashed(error: unknown): void;
  /** The socket closed or failed. */
  closed(): void;
}

/**
 * One socket's writing and reading: replies collected while a frame is processed go out as one frame,
 * hub frames are written as they come unless the client reads too slowly, and frames that arrive while
 * one is being processed wait in a queue so commands are handled in order.
 *
 * With the upgraded socket at hand, frames are built whole and written to it in one write (a frame
 * shared by many connections is built once); the `ws` socket still reads, pings and closes. This is
 * sound because `ws` writes synchronously when neither compression nor blobs are in use, as here.
 */
export class Transport {
  readonly #ws: WebSocket;
  readonly #queueMaxSize: number;
  readonly #receiver: FrameReceiver;
  /** Frames received while one is processed (created when first needed). */
  #queue: Buffer[] | null = null;
  #busy = false;
  #stopped = false;
  /** Replies collected while a frame is processed, written together as one frame (`null` between frames). */
  #replies: Buffer[] | null = null;
  readonly #socket: Duplex | null;

  /**
   * @param codec The connection's wire format: it joins replies into frames and makes the ping.
   * @param socket The socket `ws` was upgraded on (`null`: frames go through `ws.send`).
   */
  constructor(
    ws: WebSocket,
    queueMaxSize: number,
    receiver: FrameReceiver,
    readonly codec: ProtocolCodec,
    socket: Duplex | null = null,
  ) {
    this.#ws = ws;
    this.#socket = socket;
    this.#queueMaxSize = queueMaxSize;
    this.#receiver = receiver;
    ws.on('message', (data: Buffer) => this.#onMessage(data));
    const closed = () => receiver.closed();
    ws.on('close', closed);
    ws.on('error', closed);
  }

  /** A frame is being processed (its commands may still be awaiting). */
  get busy(): boolean {
    return this.#busy;
  }

  /**
   * Writes a shared, already-encoded frame; false (nothing written) when the client reads too slowly:
   * more than the queue limit is waiting in the socket's buffer.
   */
  write(frame: Buffer): boolean {
    const ws = this.#ws;
    if (ws.readyState !== WebSocket.OPEN) return true;
    // Replies of the frame being processed go first (a subscribe reply precedes the channel's pushes).
    if (this.#replies !== null && this.#replies.length > 0) this.flush();
    const socket = this.#socket;
    if (socket === null) {
      if (ws.bufferedAmount > this.#queueMaxSize) return false;
      ws.send(frame, this.codec.binary ? BINARY : TEXT);
      return true;
    }
    if (socket.writableLength > this.#queueMaxSize) return false;
    socket.write(sharedFrame(frame, this.codec.binary));
    return true;
  }

  /** Writes one message as its own frame. */
  #writeOne(message: Buffer): void {
    if (this.#ws.readyState !== WebSocket.OPEN) return;
    if (this.#socket === null) this.#ws.send(message, this.codec.binary ? BINARY : TEXT);
    else this.#socket.write(wsFrame(message, this.codec.binary));
  }

  /** Sends an encoded reply or push: collected with the frame's other replies while a frame is processed. */
  send(message: Buffer): void {
    if (this.#replies !== null) this.#replies.push(message);
    else this.#writeOne(message);
  }

  /** Writes the collected replies now, as one frame. */
  flush(): void {
    const replies = this.#replies;
    if (replies === null || replies.length === 0) return;
    this.#replies = [];
    this.#writeOne(this.codec.join(replies));
  }

  /** Sends the server ping (an empty reply). */
  ping(): void {
    if (this.#ws.readyState !== WebSocket.OPEN) return;
    if (this.#socket === null) this.#ws.send(this.codec.ping, this.codec.binary ? BINARY : TEXT);
    else this.#socket.write(sharedFrame(this.codec.ping, this.codec.binary));
  }

  /** Stops reading and writes what is collected; {@link close} follows. */
  stop(): void {
    this.#stopped = true;
    this.#queue = null;
    this.flush();
    this.#replies = null;
  }

  /** Closes the socket (terminates it when a close frame cannot be sent). */
  close(code: number, reason: string): void {
    try {
      this.#ws.close(code, reason);
    } catch {
      this.#ws.terminate();
    }
  }

  #onMessage(data: Buffer): void {
    if (this.#stopped || !this.#receiver.admit()) return;
    if (this.#busy) {
      (this.#queue ??= []).push(data);
      return;
    }
    void this.#drain(data);
  }

  async #drain(first: Buffer): Promise<void> {
    this.#busy = true;
    try {
      let frame: Buffer | undefined = first;
      while (frame !== undefined && !this.#stopped) {
        await this.#process(frame);
        frame = this.#queue?.shift();
      }
    } catch (error) {
      this.#receiver.crashed(error);
    } finally {
      this.#busy = false;
    }
  }

  async #process(frame: Buffer): Promise<void> {
    this.#replies = [];
    try {
      await this.#receiver.receive(frame);
    } finally {
      this.flush();
      this.#replies = null;
    }
  }
}
