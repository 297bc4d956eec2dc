import type { FastifyInstance, RawServerDefault } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * A Fastify app whatever its logger and type provider, for the pieces createHttpApp installs on itself before it
 * hands the app out as an HttpApp (importing HttpApp from app.ts would be an import cycle).
 */
export type AnyFastify = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, any, any>;
