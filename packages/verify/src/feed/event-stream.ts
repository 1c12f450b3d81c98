/**
 * A parser for `text/event-stream` (the WHATWG server-sent events format): feed it decoded text as it
 * arrives, get one message per blank-line-terminated block. Comments (`:` lines) are dropped, `data`
 * lines are joined with `\n`, a block without `data` is not dispatched; lines may end in CRLF, LF or CR.
 *
 * @module
 */

/** One dispatched message. */
export interface EventStreamMessage {
  /** The `event` field; `message` when absent. */
  readonly event: string;
  readonly data: string;
  /** The `id` field of this block, if it had one. */
  readonly id: string | undefined;
}

/** Longest line accepted before the stream is considered broken (default 1 MiB). */
const MAX_LINE = 1024 * 1024;

/** Internal: incremental event-stream parser. */
export class EventStreamParser {
  #buffer = '';
  #event = '';
  #data: string[] = [];
  #id: string | undefined;
  #skipLeadingLf = false;

  /**
   * Parses `chunk` and returns the messages it completed. Throws `RangeError` when a line exceeds
   * 1 MiB (a broken or hostile stream).
   */
  push(chunk: string): EventStreamMessage[] {
    const messages: EventStreamMessage[] = [];
    let text = this.#buffer + chunk;
    if (this.#skipLeadingLf && text.startsWith('\n')) text = text.slice(1);
    this.#skipLeadingLf = false;
    let start = 0;
    for (;;) {
      const cr = text.indexOf('\r', start);
      const lf = text.indexOf('\n', start);
      const end = cr === -1 ? lf : lf === -1 ? cr : Math.min(cr, lf);
      if (end === -1) break;
      this.#line(text.slice(start, end), messages);
      start = end + 1;
      if (text[end] === '\r') {
        if (start === text.length) this.#skipLeadingLf = true; // a CRLF split across chunks
        else if (text[start] === '\n') start += 1;
      }
    }
    this.#buffer = text.slice(start);
    if (this.#buffer.length > MAX_LINE) throw new RangeError('event-stream line too long');
    return messages;
  }

  #line(line: string, messages: EventStreamMessage[]): void {
    if (line === '') {
      if (this.#data.length > 0) messages.push({ event: this.#event || 'message', data: this.#data.join('\n'), id: this.#id });
      this.#event = '';
      this.#data = [];
      this.#id = undefined;
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.#data.push(value);
    else if (field === 'event') this.#event = value;
    else if (field === 'id' && !value.includes('\0')) this.#id = value;
  }
}
