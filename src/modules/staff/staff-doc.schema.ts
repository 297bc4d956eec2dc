import { Type, type TObject } from '@sinclair/typebox';
import { documentAs } from '../../platform/http/openapi.js';
import {
  CreateStaffUserBody, DisableStaffUserBody, LoginBody, LoginOptionsSchema, StaffSessionSchema, StaffUserSchema, StaffUserWithCredentialsSchema,
} from './staff.schema.js';

// Names in the OpenAPI document for the staff schemas (conventions: src/platform/http/openapi.ts). Staff-only:
// named, without examples for now.

const named = (schema: TObject, $id: string, extra: Record<string, unknown> = {}) => documentAs(schema, Type.Object(schema.properties, { ...extra, $id }));
const body = (schema: TObject, $id: string) => named(schema, $id, { additionalProperties: false });

named(LoginOptionsSchema, 'StaffLoginOptions');
named(StaffSessionSchema, 'StaffSession');
named(StaffUserSchema, 'StaffUser');
const [, credentials] = StaffUserWithCredentialsSchema.allOf as [TObject, TObject];
documentAs(StaffUserWithCredentialsSchema, Type.Object({ ...StaffUserSchema.properties, ...credentials.properties }, { $id: 'StaffUserWithCredentials' }));
body(LoginBody, 'CreateStaffSessionRequest');
body(CreateStaffUserBody, 'CreateStaffUserRequest');
body(DisableStaffUserBody, 'DisableStaffUserRequest');
