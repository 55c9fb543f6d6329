/**
 * A TCP proxy in front of a real service (Postgres, S3) that a test can make misbehave at the byte level:
 * reset new connections, drop a connection after the client's request went through (so the server did the
 * work but the client never hears of it), or hold back the server's answers.
 */
import { createServer, connect, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  /** Connections accepted and closed at once, before a byte is forwarded (a connect that fails). */
  resetNextConnections(count: number): void;
  /**
   * The next client chunk that contains `marker` is forwarded to the server; the server's answer is swallowed and
   * the client's connection closed: the request ran, the client cannot know.
   */
  dropAfterForwarding(marker: string): void;
  /** Holds every chunk from the server for this long before passing it on (0: none). */
  delayAnswers(ms: number): void;
  /** How many client chunks contained `marker` so far (how often a statement or request was sent). */
  timesSeen(marker: string): number;
  /** How many connections clients opened so far (reset ones included). */
  connections(): number;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let resets = 0;
  let dropMarker: string | undefined;
  let delayMs = 0;
  let accepted = 0;
  const sent: Buffer[] = [];
  const sockets = new Set<Socket>();

  const server = createServer((client) => {
    accepted += 1;
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    if (resets > 0) {
      resets -= 1;
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(target.port, target.host);
    sockets.add(upstream);
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    let dropping = false;
    client.on('data', (chunk: Buffer) => {
      sent.push(Buffer.from(chunk));
      if (dropMarker && chunk.includes(dropMarker)) {
        dropMarker = undefined;
        dropping = true;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (dropping) {
        // The server has answered, so it ran the request; the client only sees its connection end.
        client.destroy();
        upstream.destroy();
        return;
      }
      if (delayMs > 0) {
        upstream.pause();
        setTimeout(() => {
          if (!client.destroyed) client.write(chunk);
          upstream.resume();
        }, delayMs);
      } else client.write(chunk);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('the proxy has no port');

  return {
    port: address.port,
    resetNextConnections: (count) => void (resets = count),
    dropAfterForwarding: (marker) => void (dropMarker = marker),
    delayAnswers: (ms) => void (delayMs = ms),
    timesSeen: (marker) => sent.filter((chunk) => chunk.includes(marker)).length,
    connections: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
