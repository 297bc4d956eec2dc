export { insertEventWithDeliveries as recordEvent, type NewEvent } from './events.repository.js';
