// The HTTP edge of the live metrics: GET /metrics renders the registry, in OpenMetrics when the scraper asks.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE, wantsOpenMetrics } from './exposition';
import type { ListenAddress } from './listen';

export class MetricsEndpoint {
  private constructor(private readonly server: http.Server, readonly url: string) {}

  /** Listens; `render(openMetrics)` gives the body of each scrape. */
  static async start(addr: ListenAddress, render: (openMetrics: boolean) => string): Promise<MetricsEndpoint> {
    const server = http.createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { Allow: 'GET, HEAD' }).end();
        return;
      }
      if (path !== '/metrics') {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('tcptop serves /metrics\n');
        return;
      }
      const om = wantsOpenMetrics(req.headers.accept);
      const body = render(om);
      res.writeHead(200, { 'Content-Type': om ? OPENMETRICS_CONTENT_TYPE : TEXT_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
    server.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(addr.port, addr.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const a = server.address() as AddressInfo;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return new MetricsEndpoint(server, `http://${host}:${a.port}/metrics`);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
