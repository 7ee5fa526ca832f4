// The demo's embedded MQTT broker (aedes). Demo only: aedes speaks MQTT 3.1.1 (a v5
// CONNECT is refused), so config/demo.yaml selects protocolVersion 4; real sites use a
// real broker and MQTT 5.
import { createServer, type Server } from 'node:net';
import { createRequire } from 'node:module';

// aedes is CommonJS and its named export is invisible to Node's ESM loader.
const { createBroker } = createRequire(import.meta.url)('aedes') as typeof import('aedes');

export interface EmbeddedBroker {
  host: string;
  port: number;
  close(): Promise<void>;
}

export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
}

export async function startEmbeddedBroker(host: string, port: number): Promise<EmbeddedBroker> {
  const broker = createBroker();
  const server: Server = createServer(broker.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') {
        reject(
          new PortInUseError(
            `port ${port} on ${host} is already taken (another MQTT broker, e.g. mosquitto, is running?). ` +
              `Stop it, or run the demo on another port: GATEWARDEN_DEMO_PORT=1884 npm start`,
          ),
        );
      } else reject(e);
    });
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  return {
    host,
    port: typeof addr === 'object' && addr ? addr.port : port,
    close: () =>
      new Promise<void>((resolve) => {
        broker.close(() => server.close(() => resolve()));
        // Sockets of connected clients would keep server.close() waiting.
        setTimeout(resolve, 1000).unref();
      }),
  };
}
