// Parsers of the kernel text netwatch reads, on recorded vectors (proc(5) formats).
import assert from 'node:assert/strict';
import { endianness } from 'node:os';
import { test } from 'node:test';
import { hexToIp, isListener, parseArp, parseConntrack, parseMonitorLine, parseNetDev, parseSnmp, parseSockets } from '../../agent/anomaly/proc-parse.js';

test('/proc/net/arp: complete and incomplete entries', () => {
  const t = `IP address       HW type     Flags       HW address            Mask     Device
10.77.0.10       0x1         0x2         02:00:00:00:0C:01     *        br0
10.77.0.99       0x1         0x0         00:00:00:00:00:00     *        br0
10.9.0.2         0x1         0x6         aa:bb:cc:00:00:02     *        eth1
`;
  assert.deepEqual(parseArp(t), [
    { ip: '10.77.0.10', mac: '02:00:00:00:0c:01', iface: 'br0', complete: true },
    { ip: '10.77.0.99', mac: '', iface: 'br0', complete: false },
    { ip: '10.9.0.2', mac: 'aa:bb:cc:00:00:02', iface: 'eth1', complete: true },
  ]);
});

test('/proc/net/dev', () => {
  const t = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     100       2    0    0    0     0          0         0      100       2    0    0    0     0       0          0
   br0: 42000000   31000    0    0    0     0          0         5  1200      17    0    0    0     0       0          0
`;
  assert.deepEqual(parseNetDev(t), [
    { iface: 'lo', rxBytes: 100, rxPackets: 2, txBytes: 100, txPackets: 2 },
    { iface: 'br0', rxBytes: 42000000, rxPackets: 31000, txBytes: 1200, txPackets: 17 },
  ]);
});

test('/proc/net/tcp, tcp6, udp: addresses, ports, listeners', () => {
  const le = endianness() === 'LE';
  const lo4 = le ? '0100007F' : '7F000001';
  const tcp = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: ${lo4}:1F98 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0 100 0 0 10 0
   1: ${lo4}:D2F0 ${lo4}:1F98 01 00000000:00000000 00:00000000 00000000  1000        0 4343 1 0 20 4 30 10 -1
`;
  const s = parseSockets(tcp, 'tcp');
  assert.equal(s[0].localAddr, '127.0.0.1');
  assert.equal(s[0].localPort, 8088);
  assert.equal(s[0].inode, 4242);
  assert.deepEqual(s.map(isListener), [true, false]);
  assert.equal(s[1].uid, 1000);
  if (le) {
    assert.equal(hexToIp('00000000000000000000000000000000'), '::');
    assert.equal(hexToIp('00000000000000000000000001000000'), '::1');
    assert.equal(hexToIp('0000000000000000FFFF00000100007F'), '::ffff:127.0.0.1');
    assert.equal(hexToIp('000080FE00000000FF0000020C0000FE'), 'fe80::200:ff:fe00:c');
  }
  const udp = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  100: 00000000:0044 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 777 2 0 0
  101: 00000000:0000 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 778 2 0 0
`;
  assert.deepEqual(parseSockets(udp, 'udp').map(isListener), [true, false]);
});

test('/proc/net/snmp: header/value pairs', () => {
  const t = `Ip: Forwarding DefaultTTL
Ip: 2 64
Tcp: RtoAlgorithm ActiveOpens OutRsts
Tcp: 1 2297 1720
Udp: InDatagrams NoPorts
Udp: 10 3
`;
  const s = parseSnmp(t);
  assert.equal(s.Tcp.OutRsts, 1720);
  assert.equal(s.Udp.NoPorts, 3);
  assert.equal(s.Ip.DefaultTTL, 64);
});

test('/proc/net/nf_conntrack: original direction', () => {
  const t = `ipv4     2 tcp      6 117 SYN_SENT src=10.0.0.66 dst=10.0.0.1 sport=40000 dport=22 [UNREPLIED] src=10.0.0.1 dst=10.0.0.66 sport=22 dport=40000 mark=0 zone=0 use=2
ipv4     2 icmp     1 29 src=10.0.0.66 dst=10.0.0.5 type=8 code=0 id=1 src=10.0.0.5 dst=10.0.0.66 type=0 code=0 id=1 mark=0 zone=0 use=2
`;
  assert.deepEqual(parseConntrack(t), [
    { l4: 'tcp', src: '10.0.0.66', dst: '10.0.0.1', dport: 22 },
    { l4: 'icmp', src: '10.0.0.66', dst: '10.0.0.5', dport: null },
  ]);
});

test('`ip -ts monitor neigh` lines (recorded from iproute2)', () => {
  assert.deepEqual(parseMonitorLine('[2026-11-27T19:36:41.458844] 10.9.0.2 dev nwt2a lladdr AA:bb:cc:00:00:01 REACHABLE '), {
    at: '2026-11-27T19:36:41.458844', deleted: false, ip: '10.9.0.2', iface: 'nwt2a', mac: 'aa:bb:cc:00:00:01', states: ['REACHABLE'],
  });
  const del = parseMonitorLine('[2026-11-27T19:36:41.471619] Deleted 10.9.0.2 dev nwt2a FAILED ');
  assert.equal(del?.deleted, true);
  assert.equal(del?.mac, '');
  assert.deepEqual(parseMonitorLine('miss 10.9.0.7 dev br0  INCOMPLETE')?.states, ['INCOMPLETE']);
  assert.equal(parseMonitorLine('fe80::1 dev br0 lladdr 02:00:00:00:00:09 router STALE')?.ip, 'fe80::1');
  assert.equal(parseMonitorLine('Timestamp: whatever'), null);
});
