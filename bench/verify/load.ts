/**
 * A minimal pipelining HTTP/1.1 load generator over raw sockets, cheap enough on the client side
 * that the server is the bottleneck. Counts responses by their status line.
 */
import { connect, type Socket } from 'node:net';

export interface LoadResult {
  readonly requests: number;
  readonly ok: number;
  readonly seconds: number;
  readonly perSecond: number;
}

export async function load(options: { port: number; path: string; headers?: Record<string, string>; connections: number; pipelining: number; seconds: number }): Promise<LoadResult> {
  const extra = Object.entries(options.headers ?? {}).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  const request = Buffer.from(`GET ${options.path} HTTP/1.1\r\nhost: 127.0.0.1\r\n${extra}\r\n`);
  const marker = Buffer.from('HTTP/1.1 ');
  let requests = 0;
  let ok = 0;
  let running = true;
  const sockets: Socket[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: options.connections }, () => new Promise<void>((resolve, reject) => {
      const socket = connect(options.port, '127.0.0.1');
      sockets.push(socket);
      socket.setNoDelay(true);
      let tail = Buffer.alloc(0);
      socket.on('connect', () => {
        socket.write(Buffer.concat(Array.from({ length: options.pipelining }, () => request)));
        resolve();
      });
      socket.on('error', reject);
      socket.on('data', (chunk: Buffer) => {
        const data = tail.length > 0 ? Buffer.concat([tail, chunk]) : chunk;
        let index = data.indexOf(marker);
        let seen = 0;
        let last = -1;
        while (index !== -1 && index + 12 <= data.length) {
          seen += 1;
          if (data[index + 9] === 0x32 && data[index + 10] === 0x30 && data[index + 11] === 0x30) ok += 1;
          last = index;
          index = data.indexOf(marker, index + marker.length);
        }
        requests += seen;
        // Keep enough bytes to recognise a status line split across chunks, never one already counted.
        tail = Buffer.from(data.subarray(Math.max(last === -1 ? 0 : last + 12, data.length - 11)));
        if (running && seen > 0) socket.write(seen === 1 ? request : Buffer.concat(Array.from({ length: seen }, () => request)));
      });
    })),
  );
  await new Promise((resolve) => setTimeout(resolve, options.seconds * 1000));
  running = false;
  const seconds = (performance.now() - started) / 1000;
  const result = { requests, ok, seconds, perSecond: requests / seconds };
  for (const socket of sockets) socket.destroy();
  return result;
}
