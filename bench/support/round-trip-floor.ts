import { spawn } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';

export interface RoundTripFloor {
  unix_rtt_us: number;
  tcp_rtt_us: number;
  /** CPU the echoing process spends per unix-socket round trip (read, write, wake-ups): the floor of one RPC. */
  unix_echo_cpu_us: number;
}

/**
 * The floor of this machine: a 600-byte ping-pong with another process over a unix socket (Kong ↔ plugin server)
 * and over loopback TCP (Kong ↔ relay ↔ provider). Every gateway figure is a multiple of these.
 */
export async function roundTripFloor(dir: string): Promise<RoundTripFloor> {
  // a 1-byte message "c" asks the echo for its CPU time so far
  const echo = `const net=require('net');const s=net.createServer(c=>{c.setNoDelay(true);c.on('data',d=>c.write(d.length===1&&d[0]===99?JSON.stringify(process.cpuUsage()):d))});` +
    `const a=process.argv[1];a.startsWith('/')?s.listen(a):s.listen(+a,'127.0.0.1',()=>{});s.on('listening',()=>process.stdout.write('up\\n'))`;
  const rtt = async (address: string): Promise<{ us: number; echoCpuUs: number }> => {
    const child = spawn(process.execPath, ['-e', echo, address], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((resolve) => child.stdout.once('data', resolve));
    const socket = address.startsWith('/') ? net.createConnection(address) : net.createConnection(Number(address), '127.0.0.1');
    socket.setNoDelay(true);
    await new Promise((resolve) => socket.once('connect', resolve));
    let answered: (data: Buffer) => void = () => undefined;
    socket.on('data', (data: Buffer) => answered(data));
    const payload = Buffer.alloc(600, 1);
    const send = (message: Buffer) => new Promise<Buffer>((resolve) => ((answered = resolve), socket.write(message)));
    const echoCpu = async () => {
      const usage = JSON.parse((await send(Buffer.from('c'))).toString()) as NodeJS.CpuUsage;
      return usage.user + usage.system;
    };
    for (let i = 0; i < 300; i++) await send(payload);
    const cpuBefore = await echoCpu();
    const started = process.hrtime.bigint();
    for (let i = 0; i < ROUND_TRIPS; i++) await send(payload);
    const us = Number(process.hrtime.bigint() - started) / 1e3 / ROUND_TRIPS;
    const echoCpuUs = ((await echoCpu()) - cpuBefore) / ROUND_TRIPS;
    socket.destroy();
    child.kill();
    return { us: Math.round(us), echoCpuUs: Math.round(echoCpuUs) };
  };
  const unix = await rtt(join(dir, 'rtt.sock'));
  const tcp = await rtt(await freePort());
  return { unix_rtt_us: unix.us, tcp_rtt_us: tcp.us, unix_echo_cpu_us: unix.echoCpuUs };
}

const ROUND_TRIPS = 3000;

async function freePort(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return String(port);
}
