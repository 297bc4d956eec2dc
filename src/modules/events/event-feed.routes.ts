import type { HttpApp } from '../../platform/http/app.js';
import { routeSecurity } from '../../platform/http/scopes.js';
import { errorResponses } from '../../platform/http/pagination.js';
import { requireTenant } from '../../platform/http/auth-hook.js';
import { EventFeedQuery, EventFeedSchema, MAX_FEED_WAIT_SECONDS } from './event-feed.schema.js';
import type { EventFeed } from './event-feed.service.js';

/** GET /v1/events/feed: the tenant's events in commit order, long-polled (what `nimbuspay listen` reads). */
export function registerEventFeedRoute(app: HttpApp, feed: EventFeed): void {
  // Waiting requests answer at once when the server starts closing, so shutdown never waits out a long poll; their
  // connections close with the answer (a keep-alive connection would hold the server open until its idle timeout).
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
    feed.close();
  });
  app.get('/v1/events/feed', {
    schema: {
      ...routeSecurity('events:read'),
      tags: ['Events'],
      operationId: 'pollEventFeed',
      summary: 'Wait for new events (long poll), in commit order',
      description: 'Receives the tenant\'s events without a public URL: ask with `wait` (up to '
        + `${MAX_FEED_WAIT_SECONDS} s) and the answer comes as soon as an event is committed, or empty when the wait is over. `
        + 'Pass `next_cursor` as `cursor` in the next request: no event is skipped or repeated across requests, reconnections '
        + 'or API replicas. At most a few requests per tenant may wait at once (429 beyond). The server answers early, '
        + 'with what it has, when it shuts down.',
      querystring: EventFeedQuery,
      response: { 200: EventFeedSchema, ...errorResponses(400, 401, 403, 404, 429) },
    },
  }, async (request, reply) => {
    const { tenantId } = requireTenant(request.auth);
    const hungUp = new AbortController();
    const onClose = () => { if (!reply.raw.writableFinished) hungUp.abort(); };
    reply.raw.on('close', onClose);
    try {
      const page = await feed.read(tenantId, request.query, hungUp.signal);
      if (closing) void reply.header('connection', 'close');
      return page;
    } finally {
      reply.raw.off('close', onClose);
    }
  });
}
