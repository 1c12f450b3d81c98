import net from 'node:net';

/** A TCP relay that can be cut (connections dropped, new ones refused) and restored on the same port. */
export interface Relay {
  readonly port: number;
  cut(): Promise<void>;
  restore(): Promise<void>;
}

/** Starts a relay on a free port of 127.0.0.1 to `127.0.0.1:targetPort`. */
export async function startRelay(targetPort: number): Promise<Relay> {
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  let port = 0;
  const listen = async () => {
    const current = net.createServer((client) => {
      const upstream = net.connect(targetPort, '127.0.0.1');
      sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      const end = () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    });
    await new Promise<void>((resolve) => current.listen(port, '127.0.0.1', resolve));
    port = (current.address() as net.AddressInfo).port;
    server = current;
  };
  await listen();
  return {
    port,
    async cut() {
      const current = server;
      server = undefined;
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      if (current) await new Promise<void>((resolve) => current.close(() => resolve()));
    },
    restore: listen,
  };
}
