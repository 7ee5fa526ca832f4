// A read for serialport's Linux binding that treats end-of-file as what it is on a tty: the
// line hung up. serialport 13's own read (bindings-cpp unixRead) retries a 0-byte read at
// once, forever: a pty whose peer (socat, a USB CDC-ACM gadget) went away before a single
// byte arrived then never reports a close, isOpen stays true, the driver never goes
// offline or reopens, and the loop spins a CPU core. The port is opened with VMIN=1 and
// O_NONBLOCK, so "no data yet" is EAGAIN; 0 bytes is only ever the hang-up. Rejecting with
// `disconnect` makes @serialport/stream close the port with a DisconnectedError, the same
// path an EIO/ENXIO unplug takes (test/unit/serial-contract.test.ts, "never received a byte").
import { read } from 'node:fs';

/** The parts of bindings-cpp's LinuxPortBinding this read uses. */
export interface UnixPortLike {
  readonly isOpen: boolean;
  fd: number | null;
  poller?: { once(event: 'readable', cb: (err?: Error | null) => void): void };
  read(buffer: Buffer, offset: number, length: number): Promise<{ bytesRead: number; buffer: Buffer }>;
}

function readOnce(fd: number, buffer: Buffer, offset: number, length: number): Promise<number> {
  return new Promise((resolve, reject) => read(fd, buffer, offset, length, null, (err, n) => (err ? reject(err) : resolve(n))));
}

function canceled(msg: string): Error {
  return Object.assign(new Error(msg), { canceled: true });
}

/** Replace `bp.read` (Linux binding only; anything else is left as it is). Returns whether it did. */
export function installEofAwareRead(bp: UnixPortLike, path: string): boolean {
  if (typeof bp.fd !== 'number' || !bp.poller) return false;
  bp.read = async function eofAwareRead(buffer, offset, length) {
    for (;;) {
      if (!bp.isOpen || bp.fd === null) throw canceled('Port is not open');
      try {
        const n = await readOnce(bp.fd, buffer, offset, length);
        if (n === 0) throw Object.assign(new Error(`${path}: end of file: the line hung up`), { disconnect: true, code: 'EOF' });
        return { bytesRead: n, buffer };
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK' && code !== 'EINTR') {
          if (code === 'EBADF' || code === 'ENXIO' || code === 'EIO') (err as { disconnect?: boolean }).disconnect = true;
          throw err;
        }
        if (!bp.isOpen || !bp.poller) throw canceled('Port is not open');
        await new Promise<void>((resolve, reject) => bp.poller!.once('readable', (e) => (e ? reject(e) : resolve())));
      }
    }
  };
  return true;
}
