import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP relay in front of the real PostgreSQL, so a test can take the database away from one
 * client without touching the server: `refuse` frees the port (ECONNREFUSED), `silent` accepts
 * and never answers (a hung host), `forward` relays again.
 */
export interface DbProxy {
  /** The target URL with the proxy's host and port. */
  url: string;
  port: number;
  set(mode: 'forward' | 'silent' | 'refuse'): Promise<void>;
  close(): Promise<void>;
}

export async function startDbProxy(targetUrl: string): Promise<DbProxy> {
  const target = new URL(targetUrl);
  const sockets = new Set<Socket>();
  let mode: 'forward' | 'silent' | 'refuse' = 'forward';
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('error', () => undefined).on('close', () => sockets.delete(s));
    return s;
  };
  const onConnection = (client: Socket) => {
    track(client);
    if (mode !== 'forward') return;
    const upstream = track(connect(Number(target.port || 5432), target.hostname));
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  };
  let server = createServer(onConnection);
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject).listen(port, '127.0.0.1', () => resolve());
    });
  await listen(0);
  const port = (server.address() as { port: number }).port;
  const dropAll = () => {
    for (const s of sockets) s.destroy();
  };
  const stop = (s: Server) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()));
  const url = new URL(targetUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    url: url.toString(),
    port,
    async set(next) {
      dropAll();
      if (next === 'refuse') await stop(server);
      else if (!server.listening) {
        server = createServer(onConnection);
        await listen(port);
      }
      mode = next;
    },
    async close() {
      dropAll();
      await stop(server);
    },
  };
}
