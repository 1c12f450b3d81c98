/**
 * Server-to-client WebSocket frames (RFC 6455 §5.2: FIN set, unmasked) built whole, so a frame goes to
 * the socket in one write, and a frame written to many sockets is built once.
 */

const TEXT_OPCODE = 0x81;
const BINARY_OPCODE = 0x82;

/** `payload` as one complete, unfragmented WebSocket frame (text or binary). */
export function wsFrame(payload: Buffer, binary: boolean): Buffer {
  const length = payload.length;
  const headerLength = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = binary ? BINARY_OPCODE : TEXT_OPCODE;
  if (length < 126) {
    frame[1] = length;
  } else if (length < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  payload.copy(frame, headerLength);
  return frame;
}

/**
 * The last shared payload framed: the hub writes one payload to every subscriber in a row, so one
 * entry serves a whole fan-out.
 */
let lastPayload: Buffer | null = null;
let lastBinary = false;
let lastFrame: Buffer = Buffer.alloc(0);

/** {@link wsFrame} of a payload shared by many connections, built once for consecutive writes of it. */
export function sharedFrame(payload: Buffer, binary: boolean): Buffer {
  if (payload !== lastPayload || binary !== lastBinary) {
    lastFrame = wsFrame(payload, binary);
    lastPayload = payload;
    lastBinary = binary;
  }
  return lastFrame;
}
