import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/**
 * The sockets a server has open, so a shutdown can end them: a request held open on purpose (a test server's
 * injected delay) keeps its keep-alive socket busy, and http.Server.close() would wait for it forever.
 */
export interface OpenSockets {
  track(server: Server): void;
  destroyAll(): void;
}

export function openSockets(): OpenSockets {
  const sockets = new Set<Socket>();
  return {
    track(server) {
      server.on('connection', (socket: Socket) => {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
      });
    },
    destroyAll() {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
  };
}
