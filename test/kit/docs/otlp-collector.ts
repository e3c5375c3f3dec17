/**
 * An OTLP/HTTP collector on loopback for the documentation's examples that start the
 * OpenTelemetry SDK: `OTEL_EXPORTER_OTLP_ENDPOINT` points here, so their exporters have
 * somewhere to send and a shutdown's flush answers at once. It accepts every POST (200,
 * empty body) and counts them by path (`/v1/traces`, `/v1/metrics`, ...).
 */
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface OtlpCollector {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** POSTs received, by path. */
  received(): ReadonlyMap<string, number>;
  close(): Promise<void>;
}

export async function startOtlpCollector(): Promise<OtlpCollector> {
  const received = new Map<string, number>();
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    req.resume();
    req.once('end', () => {
      if (req.method === 'POST') {
        const path = new URL(req.url ?? '/', 'http://collector.invalid').pathname;
        received.set(path, (received.get(path) ?? 0) + 1);
      }
      res.writeHead(200, { 'content-length': '0' }).end();
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received: () => received,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
