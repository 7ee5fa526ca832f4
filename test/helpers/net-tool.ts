// Traffic generator for the netns tests (this box has no ping/nc): run in a namespace
// with `ip netns exec <ns> node --import tsx test/helpers/net-tool.ts <cmd> …`.
//   udp <dst> <port> <count> <size> [srcAddr]  send datagrams (srcAddr binds the source IP)
//   tcp-send <dst> <port> <bytes>              connect, send, close
//   sweep <dst> <fromPort> <toPort>            TCP connect to every port (closed → RST)
//   udp-sweep <dst> <fromPort> <toPort>        one datagram to every port (closed → ICMP unreachable)
//   listen <port>                              TCP listener that discards; prints "listening"
// Exits 0 when done (listen: runs until killed).
import { createSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';

const [cmd, ...a] = process.argv.slice(2);

async function udp(dst: string, port: number, count: number, size: number, src?: string): Promise<void> {
  const s = createSocket('udp4');
  if (src) await new Promise<void>((r) => s.bind({ address: src, port: 0 }, () => r()));
  const buf = Buffer.alloc(size, 0x55);
  for (let i = 0; i < count; i++) await new Promise<void>((r) => s.send(buf, port, dst, () => r()));
  s.close();
}

function tcpSend(dst: string, port: number, bytes: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: dst, port }, () => {
      const chunk = Buffer.alloc(64 * 1024, 0xaa);
      let left = bytes;
      const pump = (): void => {
        while (left > 0) {
          left -= chunk.length;
          if (!sock.write(chunk)) return void sock.once('drain', pump);
        }
        sock.end();
      };
      pump();
    });
    sock.on('close', () => resolve());
    sock.on('error', reject);
  });
}

async function sweep(dst: string, from: number, to: number): Promise<void> {
  const ports = Array.from({ length: to - from + 1 }, (_, i) => from + i);
  const one = (port: number): Promise<void> =>
    new Promise((r) => {
      const s = connect({ host: dst, port });
      s.on('connect', () => s.destroy());
      s.on('error', () => r());
      s.on('close', () => r());
    });
  for (let i = 0; i < ports.length; i += 32) await Promise.all(ports.slice(i, i + 32).map(one));
}

async function udpSweep(dst: string, from: number, to: number): Promise<void> {
  const s = createSocket('udp4');
  s.on('error', () => {}); // ICMP port unreachable surfaces as ECONNREFUSED on some sends
  for (let port = from; port <= to; port++) await new Promise<void>((r) => s.send(Buffer.from('probe'), port, dst, () => r()));
  s.close();
}

switch (cmd) {
  case 'udp':
    await udp(a[0], Number(a[1]), Number(a[2]), Number(a[3]), a[4]);
    break;
  case 'tcp-send':
    await tcpSend(a[0], Number(a[1]), Number(a[2]));
    break;
  case 'sweep':
    await sweep(a[0], Number(a[1]), Number(a[2]));
    break;
  case 'udp-sweep':
    await udpSweep(a[0], Number(a[1]), Number(a[2]));
    break;
  case 'listen': {
    const srv = createServer((s) => s.on('data', () => {}).on('error', () => {}));
    srv.listen(Number(a[0]), '0.0.0.0', () => process.stdout.write('listening\n'));
    break;
  }
  default:
    process.stderr.write(`unknown command ${cmd}\n`);
    process.exit(2);
}
