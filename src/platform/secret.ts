import { inspect } from 'node:util';

/**
 * Wraps a secret so that logging, JSON-serializing or string-interpolating it prints a mask.
 * The clear value is reachable only through `reveal()`, which makes every use of it greppable.
 */
export class Secret<T = string> {
  readonly #value: T;
  constructor(value: T) {
    this.#value = value;
  }
  reveal(): T {
    return this.#value;
  }
  toString(): string {
    return '[REDACTED]';
  }
  toJSON(): string {
    return '[REDACTED]';
  }
  [inspect.custom](): string {
    return 'Secret([REDACTED])';
  }
}
