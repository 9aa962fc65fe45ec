/**
 * The floor for the routing benchmark's 304 path: a bare node:http server, in a process of its own,
 * that answers every request with the 304 the control plane's early path sends (ETag, Cache-Control,
 * no body) and does nothing else. The same pollers against it, in turns with the control plane, show
 * what this machine's wake-ups and loopback TCP cost any Node server before Berth adds anything.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

if (require.main === module) {
  const etag = '"bare"';
  const server = http.createServer((_req, res) => {
    res.writeHead(304, ['ETag', etag, 'Cache-Control', 'no-cache']);
    res.end();
  });
  server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as AddressInfo).port }));
  process.once('disconnect', () => process.exit(0));
}
