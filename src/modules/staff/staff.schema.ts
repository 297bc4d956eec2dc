import { Type, type Static } from '@sinclair/typebox';
import { ENVIRONMENTS } from '../../platform/config.js';
import { STAFF_ROLES } from '../../platform/http/scopes.js';

export const StaffRoleSchema = Type.Union(STAFF_ROLES.map((r) => Type.Literal(r)), {
  description: 'support_agent reads (masked); support_operator also acts; platform_admin also manages tenants, clients, keys and staff.',
});
const EnvironmentSchema = Type.Union(ENVIRONMENTS.map((e) => Type.Literal(e)));

export const StaffSchema = Type.Object({
  id: Type.String({ examples: ['stf_01jq8x4m3c0000000000000000'] }),
  email: Type.String(),
  display_name: Type.String(),
  role: StaffRoleSchema,
});

export const StaffSessionSchema = Type.Object({
  object: Type.Literal('staff_session'),
  id: Type.String({ examples: ['ses_01jq8x4m3c0000000000000000'] }),
  staff: StaffSchema,
  scopes: Type.Array(Type.String()),
  csrf_token: Type.String({ description: 'Send it as X-CSRF-Token on every POST/PUT/PATCH/DELETE made with this session.' }),
  auth_method: Type.Union([Type.Literal('password'), Type.Literal('oidc')]),
  created_at: Type.String({ format: 'date-time' }),
  idle_expires_at: Type.String({ format: 'date-time', description: 'Slides with activity (30 minutes), never past absolute_expires_at.' }),
  absolute_expires_at: Type.String({ format: 'date-time', description: '12 hours after login, whatever the activity.' }),
  environment: EnvironmentSchema,
});
export type StaffSessionResource = Static<typeof StaffSessionSchema>;

export const LoginOptionsSchema = Type.Object({
  local: Type.Boolean({ description: 'email + password (+ TOTP outside development) is accepted' }),
  sso: Type.Boolean({ description: 'single sign-on through the company identity provider is configured' }),
  environment: EnvironmentSchema,
});

export const LoginBody = Type.Object(
  {
    email: Type.String({ minLength: 3, maxLength: 320 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
    totp_code: Type.Optional(Type.String({ pattern: '^[0-9]{6}$', description: 'The current 6-digit code of the authenticator app.' })),
  },
  { additionalProperties: false },
);
export type LoginInput = Static<typeof LoginBody>;

export const SsoStartQuery = Type.Object(
  { return_to: Type.Optional(Type.String({ maxLength: 2048, description: 'A console path (starting with /console) to land on after login.' })) },
  { additionalProperties: false },
);

export const SsoCallbackQuery = Type.Object(
  {
    code: Type.Optional(Type.String({ maxLength: 4096 })),
    state: Type.Optional(Type.String({ maxLength: 512 })),
    error: Type.Optional(Type.String({ maxLength: 256 })),
    error_description: Type.Optional(Type.String({ maxLength: 2048 })),
    iss: Type.Optional(Type.String({ maxLength: 2048 })),
    session_state: Type.Optional(Type.String({ maxLength: 512 })),
  },
  // Identity providers add parameters of their own; they are ignored, never echoed.
  { additionalProperties: true },
);

export const StaffUserSchema = Type.Object({
  object: Type.Literal('staff_user'),
  id: Type.String(),
  email: Type.String(),
  display_name: Type.String(),
  role: StaffRoleSchema,
  status: Type.Union([Type.Literal('active'), Type.Literal('disabled')]),
  login: Type.Union([Type.Literal('local'), Type.Literal('sso')]),
  totp_enabled: Type.Boolean(),
  created_at: Type.String({ format: 'date-time' }),
  last_login_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
export type StaffUserResource = Static<typeof StaffUserSchema>;

export const StaffUserWithCredentialsSchema = Type.Intersect([
  StaffUserSchema,
  Type.Object({
    password: Type.String({ description: 'Shown once.' }),
    totp_uri: Type.Union([Type.String({ description: 'otpauth:// URI for the authenticator app; shown once.' }), Type.Null()]),
  }),
]);

export const CreateStaffUserBody = Type.Object(
  {
    email: Type.String({ minLength: 3, maxLength: 320, pattern: '^[^@\\s]+@[^@\\s]+$' }),
    display_name: Type.Optional(Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' })),
    role: StaffRoleSchema,
  },
  { additionalProperties: false },
);

export const DisableStaffUserBody = Type.Object(
  { reason: Type.String({ minLength: 5, maxLength: 1000 }) },
  { additionalProperties: false },
);

export const StaffUserIdParams = Type.Object({ id: Type.String({ maxLength: 64 }) }, { additionalProperties: false });

export const StaffUsersPageQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    starting_after: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);
