import { spawn } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';

export interface RoundTripFloor {
  unix_rtt_us: number;
  tcp_rtt_us: number;
}

/**
 * The floor of this machine: a 600-byte ping-pong with another process over a unix socket (Kong ↔ plugin server)
 * and over loopback TCP (Kong ↔ relay ↔ provider). Every gateway figure is a multiple of these.
 */
export async function roundTripFloor(dir: string): Promise<RoundTripFloor> {
  const echo = `const net=require('net');const s=net.createServer(c=>{c.setNoDelay(true);c.on('data',d=>c.write(d))});` +
    `const a=process.argv[1];a.startsWith('/')?s.listen(a):s.listen(+a,'127.0.0.1',()=>{});s.on('listening',()=>process.stdout.write('up\\n'))`;
  const rtt = async (address: string): Promise<number> => {
    const child = spawn(process.execPath, ['-e', echo, address], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((resolve) => child.stdout.once('data', resolve));
    const socket = address.startsWith('/') ? net.createConnection(address) : net.createConnection(Number(address), '127.0.0.1');
    socket.setNoDelay(true);
    await new Promise((resolve) => socket.once('connect', resolve));
    let answered: () => void = () => undefined;
    socket.on('data', () => answered());
    const payload = Buffer.alloc(600, 1);
    const once = () => new Promise<void>((resolve) => ((answered = resolve), socket.write(payload)));
    for (let i = 0; i < 300; i++) await once();
    const started = process.hrtime.bigint();
    for (let i = 0; i < 3000; i++) await once();
    const us = Number(process.hrtime.bigint() - started) / 1e3 / 3000;
    socket.destroy();
    child.kill();
    return Math.round(us);
  };
  return { unix_rtt_us: await rtt(join(dir, 'rtt.sock')), tcp_rtt_us: await rtt(await freePort()) };
}

async function freePort(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return String(port);
}
