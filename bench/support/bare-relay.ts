/**
 * The floor of any relay written in Node on this machine: what the plugin server's relay does with no plugin work.
 * It reads the request from Kong, parses the JSON, re-serialises it to the provider with undici (keep-alive pool,
 * as llm-proxy), and answers with the provider's JSON parsed and re-serialised, or its SSE stream written through
 * chunk by chunk. No Kong RPCs, no tickets, no stages: the benchmark's "bare relay" path puts this process between
 * the emulator and the mock, so that each figure of ours can be read as floor + plugin work.
 *
 * Run as a child process (bench/support/gateway.ts): answers `process.send` messages `'cpu'` with its cpuUsage.
 * Usage: node dist/bench/support/bare-relay.js <upstream base URL>
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';

const upstream = process.argv[2];
if (!upstream) throw new Error('usage: bare-relay.js <upstream base URL>');
const agent = new Agent({ keepAliveTimeout: 30_000, connections: 256 });

async function relay(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  const body = JSON.parse(Buffer.concat(parts).toString('utf8')) as { stream?: boolean };
  const answer = await request(`${upstream}${req.url ?? '/'}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: String(req.headers.authorization ?? '') },
    body: JSON.stringify(body),
    dispatcher: agent,
  });
  if (body.stream) {
    res.writeHead(answer.statusCode, { 'content-type': 'text/event-stream', 'x-accel-buffering': 'no' });
    for await (const chunk of answer.body) res.write(chunk);
    res.end();
    return;
  }
  const json: unknown = JSON.parse(await answer.body.text());
  const raw = Buffer.from(JSON.stringify(json));
  res.writeHead(answer.statusCode, { 'content-type': 'application/json', 'content-length': raw.length });
  res.end(raw);
}

const server = http.createServer((req, res) => {
  relay(req, res).catch(() => res.destroy());
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port }));
process.on('message', () => process.send?.({ cpu: process.cpuUsage() }));
process.on('disconnect', () => process.exit(0)); // the benchmark went away: never outlive it
