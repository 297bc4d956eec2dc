import type { Server } from 'node:http';
import { openSockets } from '../platform/open-sockets.js';

/** Fault-injection knobs, changed at runtime through `POST /_control`. */
export interface SandboxKnobs {
  latencyMs: number;
  errorRate: number;
  stopAnswering: boolean;
  dropNotifications: boolean;
}

/**
 * Everything that can keep the sandbox alive after `close()`: held answers, requests parked by `stop_answering`,
 * open sockets. `shutdown()` releases all of them so the server closes promptly even with requests in flight.
 */
export interface SandboxRuntime {
  readonly knobs: SandboxKnobs;
  isClosing(): boolean;
  /** Resolves true after `ms`, or false as soon as the server starts closing. */
  hold(ms: number): Promise<boolean>;
  /** Resolves true when `stop_answering` is (or becomes) off, false if the server closes first. */
  waitUntilAnswering(): Promise<boolean>;
  setStopAnswering(stop: boolean): void;
  /** Requests received in full and now held (latency, lost-response delay) or parked (`stop_answering`). */
  heldRequests(): number;
  trackSockets(server: Server): void;
  shutdown(): void;
}

export function createSandboxRuntime(initial: { latencyMs: number; errorRate: number }): SandboxRuntime {
  const knobs: SandboxKnobs = {
    latencyMs: initial.latencyMs,
    errorRate: initial.errorRate,
    stopAnswering: false,
    dropNotifications: false,
  };
  let closing = false;
  const holds = new Map<NodeJS.Timeout, (elapsed: boolean) => void>();
  const parked = new Set<(answering: boolean) => void>();
  const sockets = openSockets();

  return {
    knobs,
    isClosing: () => closing,
    hold(ms) {
      if (closing) return Promise.resolve(false);
      if (ms <= 0) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          holds.delete(timer);
          resolve(true);
        }, ms);
        timer.unref();
        holds.set(timer, resolve);
      });
    },
    waitUntilAnswering() {
      if (closing) return Promise.resolve(false);
      if (!knobs.stopAnswering) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => parked.add(resolve));
    },
    heldRequests: () => holds.size + parked.size,
    setStopAnswering(stop) {
      knobs.stopAnswering = stop;
      if (!stop) {
        for (const resume of parked) resume(true);
        parked.clear();
      }
    },
    trackSockets: (server) => sockets.track(server),
    shutdown() {
      closing = true;
      for (const [timer, resolve] of holds) {
        clearTimeout(timer);
        resolve(false);
      }
      holds.clear();
      for (const resume of parked) resume(false);
      parked.clear();
      sockets.destroyAll();
    },
  };
}
