import { WebSocket } from 'ws';
import type { ProtocolCodec } from '../protocol/codec.js';

/** What the transport hands received frames to. */
export interface FrameReceiver {
  /** Whether a frame arriving now is read at all (the receiver may close the connection instead). */
  admit(): boolean;
  /** Handles one frame; the next waits until it settles. */
  receive(frame: Buffer): Promise<void>;
  /** `receive` threw. */
  crashed(error: unknown): void;
}

/**
 * One socket's writing and reading: replies collected while a frame is processed go out as one frame,
 * hub frames are written as they come unless the client reads too slowly, and frames that arrive while
 * one is being processed wait in a queue so commands are handled in order.
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
  /** How frames go out: binary (protobuf) or text (JSON). */
  readonly #options: { readonly binary: boolean };

  /** @param codec The connection's wire format: it joins replies into frames and makes the ping. */
  constructor(
    ws: WebSocket,
    queueMaxSize: number,
    receiver: FrameReceiver,
    readonly codec: ProtocolCodec,
  ) {
    this.#ws = ws;
    this.#options = { binary: codec.binary };
    this.#queueMaxSize = queueMaxSize;
    this.#receiver = receiver;
    ws.on('message', (data: Buffer) => this.#onMessage(data));
  }

  /** Registers what to do when the socket closes or fails. */
  onClose(closed: () => void): void {
    this.#ws.on('close', closed);
    this.#ws.on('error', closed);
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
    if (ws.bufferedAmount > this.#queueMaxSize) return false;
    ws.send(frame, this.#options);
    return true;
  }

  /** Sends an encoded reply or push: collected with the frame's other replies while a frame is processed. */
  send(message: Buffer): void {
    if (this.#replies !== null) this.#replies.push(message);
    else if (this.#ws.readyState === WebSocket.OPEN) this.#ws.send(message, this.#options);
  }

  /** Writes the collected replies now, as one frame. */
  flush(): void {
    const replies = this.#replies;
    if (replies === null || replies.length === 0) return;
    this.#replies = [];
    if (this.#ws.readyState === WebSocket.OPEN) this.#ws.send(this.codec.join(replies), this.#options);
  }

  /** Sends the server ping (an empty reply). */
  ping(): void {
    if (this.#ws.readyState === WebSocket.OPEN) this.#ws.send(this.codec.ping, this.#options);
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
