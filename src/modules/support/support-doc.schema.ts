import { Type, type TObject } from '@sinclair/typebox';
import { documentAs } from '../../platform/http/openapi.js';
import {
  AuditEntrySchema, HealthSchema, NoteBody, NoteSchema, ReasonBody, ReconcileResultSchema, ReplayBody, ReplayResultSchema, RequestLogEntrySchema,
  SearchResultSchema, SupportDeliveryDetailSchema, SupportDeliverySchema, SupportEndpointSchema, SupportTenantSchema, TenantOverviewSchema, TimelineSchema,
} from './support.schema.js';

// Names in the OpenAPI document for the support console's schemas (conventions: src/platform/http/openapi.ts).
// Staff-only: named, without examples for now.

const named = (schema: TObject, $id: string, extra: Record<string, unknown> = {}) => documentAs(schema, Type.Object(schema.properties, { ...extra, $id }));
const body = (schema: TObject, $id: string) => named(schema, $id, { additionalProperties: false });

named(SearchResultSchema, 'SupportSearchResult');
named(RequestLogEntrySchema, 'SupportRequestLogEntry');
named(SupportTenantSchema, 'SupportTenant');
named(TenantOverviewSchema, 'SupportTenantOverview');
named(SupportDeliverySchema, 'SupportWebhookDelivery');
named(SupportDeliveryDetailSchema, 'SupportWebhookDeliveryDetail');
named(HealthSchema, 'SupportHealth');
named(AuditEntrySchema, 'AuditLogEntry');
named(TimelineSchema, 'SupportPaymentTimeline');
named(ReplayResultSchema, 'SupportWebhookReplay');
named(SupportEndpointSchema, 'SupportWebhookEndpoint');
named(ReconcileResultSchema, 'SupportReconcileResult');
named(NoteSchema, 'SupportNote');
body(ReasonBody, 'SupportActionRequest');
body(ReplayBody, 'ReplaySupportWebhookEndpointRequest');
body(NoteBody, 'CreateSupportPaymentNoteRequest');
