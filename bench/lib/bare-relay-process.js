// A do-nothing TCP relay in Node.js, the floor any Node proxy stands on: bytes in, bytes out,
// with backpressure, no parsing. Run as its own process by bench/lib/bare-relay.js.
import net from 'node:net';

const [listenPort, upstreamHost, upstreamPort] = process.argv.slice(2);
const server = net.createServer({ noDelay: true }, (client) => {
  const upstream = net.connect({ host: upstreamHost, port: Number(upstreamPort), noDelay: true });
  client.on('data', (chunk) => {
    if (!upstream.write(chunk)) client.pause();
  });
  upstream.on('drain', () => client.resume());
  upstream.on('data', (chunk) => {
    if (!client.write(chunk)) upstream.pause();
  });
  client.on('drain', () => upstream.resume());
  client.on('close', () => upstream.destroy());
  upstream.on('close', () => client.destroy());
  client.on('error', () => {});
  upstream.on('error', () => {});
});
server.listen(Number(listenPort), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
