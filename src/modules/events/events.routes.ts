import type { Db } from '../../platform/db.js';
import type { HttpApp } from '../../platform/http/app.js';
import { routeSecurity } from '../../platform/http/scopes.js';
import { ListSchema, errorResponses } from '../../platform/http/pagination.js';
import { requireTenant } from '../../platform/http/auth-hook.js';
import { EventIdParams, EventSchema, ListEventsQuery } from './events.schema.js';
import * as service from './events.service.js';
import './events-doc.schema.js';

const read = routeSecurity('events:read');
const tags = ['Events'];

export function registerEventRoutes(app: HttpApp, deps: { db: Db }): void {
  const { db } = deps;
  app.get('/v1/events', {
    schema: { operationId: 'listEvents',
      ...read, tags, summary: 'List events, newest first',
      description: 'Filters: `type` (an event type, `payment.*`, `refund.*` or `*`), `created[gte]` / `created[lte]` (unix seconds or RFC 3339), `object_id`. Events are kept for EVENT_RETENTION_DAYS (30 by default).',
      querystring: ListEventsQuery, response: { 200: ListSchema(EventSchema), ...errorResponses(400, 401, 403) },
    },
  }, async (request) => service.listEvents(db, requireTenant(request.auth).tenantId, request.query));

  app.get('/v1/events/:id', {
    schema: { operationId: 'getEvent', ...read, tags, summary: 'Retrieve an event', params: EventIdParams, response: { 200: EventSchema, ...errorResponses(401, 403, 404) } },
  }, async (request) => service.getEvent(db, requireTenant(request.auth).tenantId, request.params.id));
}
