/**
 * @module frames
 * TypeBox schemas for every frame of protocol v1, with compiled validators. Client frames are validated per `op` so
 * that errors name the op and the field; unknown fields are ignored for forward compatibility.
 */
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';

export const PROTOCOL_VERSION = 1;

export const FrameId = Type.Union([Type.Number(), Type.String({ maxLength: 128 })], {
  description: 'Correlation id chosen by the client; echoed in the reply.',
});

export const SeveritySchema = Type.Union([
  Type.Literal('info'),
  Type.Literal('warning'),
  Type.Literal('error'),
  Type.Literal('critical'),
]);

const StringList = (max: number) => Type.Array(Type.String({ maxLength: 1024 }), { maxItems: max });

export const FilterSchema = Type.Object(
  {
    kinds: Type.Optional(StringList(256)),
    ids: Type.Optional(StringList(10_000)),
    min_severity: Type.Optional(SeveritySchema),
    states: Type.Optional(StringList(64)),
    labels: Type.Optional(Type.Record(Type.String({ maxLength: 256 }), Type.String({ maxLength: 1024 }))),
    priorities: Type.Optional(
      Type.Array(
        Type.Union([
          Type.Literal('P0'),
          Type.Literal('P1'),
          Type.Literal('P2'),
          Type.Literal('P3'),
          Type.Literal('P4'),
        ]),
        { maxItems: 5 },
      ),
    ),
    sources: Type.Optional(StringList(256)),
    resources: Type.Optional(StringList(256)),
  },
  { additionalProperties: false },
);

export const StreamPosition = Type.Object({
  epoch: Type.String({ maxLength: 128 }),
  offset: Type.Integer({ minimum: 0 }),
});

export const ModeSchema = Type.Union([Type.Literal('stream'), Type.Literal('latest')]);

export const SubscribeFrame = Type.Object({
  op: Type.Literal('subscribe'),
  id: Type.Optional(FrameId),
  channels: Type.Array(Type.String({ maxLength: 512 }), { minItems: 1, maxItems: 1024 }),
  filter: Type.Optional(FilterSchema),
  recover: Type.Optional(Type.Record(Type.String({ maxLength: 512 }), StreamPosition)),
  snapshot: Type.Optional(Type.Boolean()),
  mode: Type.Optional(ModeSchema),
});

export const UnsubscribeFrame = Type.Object({
  op: Type.Literal('unsubscribe'),
  id: Type.Optional(FrameId),
  channels: Type.Array(Type.String({ maxLength: 512 }), { minItems: 1, maxItems: 1024 }),
});

export const KindSchema = Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,64}$' });

export const PublishFrame = Type.Object({
  op: Type.Literal('publish'),
  id: Type.Optional(FrameId),
  channel: Type.String({ maxLength: 512 }),
  data: Type.Unknown(),
  kind: Type.Optional(KindSchema),
});

export const CallFrame = Type.Object({
  op: Type.Literal('call'),
  id: Type.Optional(FrameId),
  method: Type.String({ minLength: 1, maxLength: 128 }),
  params: Type.Optional(Type.Unknown()),
});

export const AuthFrame = Type.Object({
  op: Type.Literal('auth'),
  id: Type.Optional(FrameId),
  token: Type.String({ maxLength: 16_384 }),
});

export const PingFrame = Type.Object({
  op: Type.Literal('ping'),
  id: Type.Optional(FrameId),
});

export const ClientFrameSchemas = {
  subscribe: SubscribeFrame,
  unsubscribe: UnsubscribeFrame,
  publish: PublishFrame,
  call: CallFrame,
  auth: AuthFrame,
  ping: PingFrame,
} as const;

export type ClientOp = keyof typeof ClientFrameSchemas;
export type SubscribeFrame = Static<typeof SubscribeFrame>;
export type UnsubscribeFrame = Static<typeof UnsubscribeFrame>;
export type PublishFrame = Static<typeof PublishFrame>;
export type CallFrame = Static<typeof CallFrame>;
export type AuthFrame = Static<typeof AuthFrame>;
export type PingFrame = Static<typeof PingFrame>;
export type ClientFrame = SubscribeFrame | UnsubscribeFrame | PublishFrame | CallFrame | AuthFrame | PingFrame;
export type FrameIdValue = Static<typeof FrameId>;
export type Mode = Static<typeof ModeSchema>;

// ---- server -> client ----

const ErrorBodySchema = Type.Object({
  code: Type.String(),
  message: Type.String(),
  details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});

export const WelcomeFrame = Type.Object({
  type: Type.Literal('welcome'),
  session: Type.String(),
  node: Type.String(),
  protocol: Type.Literal(PROTOCOL_VERSION),
  server_time: Type.Number(),
  heartbeat: Type.Object({ interval_ms: Type.Number(), timeout_ms: Type.Number() }),
  limits: Type.Object(
    { max_payload: Type.Number(), max_subscriptions: Type.Number() },
    { additionalProperties: Type.Unknown() },
  ),
  subscriptions: Type.Optional(Type.Array(Type.Unknown())),
  /** Present when the connection carries a credential: who it is, and when a JWT stops being accepted (ms). */
  auth: Type.Optional(Type.Object({ principal: Type.String(), expires_at: Type.Optional(Type.Number()) })),
});

export const ReplyFrame = Type.Union([
  Type.Object({ type: Type.Literal('reply'), id: FrameId, ok: Type.Literal(true), result: Type.Unknown() }),
  Type.Object({ type: Type.Literal('reply'), id: FrameId, ok: Type.Literal(false), error: ErrorBodySchema }),
]);

export const EventFrame = Type.Object({
  type: Type.Literal('event'),
  channel: Type.String(),
  offset: Type.Integer(),
  ts: Type.Number(),
  kind: Type.String(),
  data: Type.Unknown(),
});

export const SnapshotFrame = Type.Object({
  type: Type.Literal('snapshot'),
  channel: Type.String(),
  offset: Type.Integer(),
  data: Type.Unknown(),
});

export const GapReason = Type.Union([
  Type.Literal('slow_consumer'),
  Type.Literal('history_expired'),
  Type.Literal('epoch_changed'),
]);

export const GapFrame = Type.Object({
  type: Type.Literal('gap'),
  channel: Type.String(),
  from: Type.Integer(),
  to: Type.Integer(),
  reason: GapReason,
});

export const PongFrame = Type.Object({ type: Type.Literal('pong'), id: Type.Optional(FrameId), ts: Type.Number() });

export const ErrorFrame = Type.Object({ type: Type.Literal('error'), error: ErrorBodySchema });

export const ClosingFrame = Type.Object({
  type: Type.Literal('closing'),
  code: Type.Integer(),
  reason: Type.String(),
  reconnect: Type.Boolean(),
  retry_after_ms: Type.Optional(Type.Integer()),
});

export const ServerFrameSchema = Type.Union([
  WelcomeFrame,
  ReplyFrame,
  EventFrame,
  SnapshotFrame,
  GapFrame,
  PongFrame,
  ErrorFrame,
  ClosingFrame,
]);

export type WelcomeFrame = Static<typeof WelcomeFrame>;
export type ReplyFrame = Static<typeof ReplyFrame>;
export type EventFrame = Static<typeof EventFrame>;
export type SnapshotFrame = Static<typeof SnapshotFrame>;
export type GapReason = Static<typeof GapReason>;
export type GapFrame = Static<typeof GapFrame>;
export type PongFrame = Static<typeof PongFrame>;
export type ErrorFrame = Static<typeof ErrorFrame>;
export type ClosingFrame = Static<typeof ClosingFrame>;
export type ServerFrame = Static<typeof ServerFrameSchema>;

// ---- validation ----

type Validator = ReturnType<typeof TypeCompiler.Compile>;

// Validators are compiled on first use, so that importing this module (a browser bundle of the client, say) runs no
// generated code and needs no `unsafe-eval` under a Content-Security-Policy.
const compiled = new Map<ClientOp, Validator>();
let serverValidator: Validator | undefined;

function clientValidator(op: ClientOp): Validator {
  let v = compiled.get(op);
  if (!v) {
    v = TypeCompiler.Compile(ClientFrameSchemas[op] as TSchema);
    compiled.set(op, v);
  }
  return v;
}

export type ParseResult =
  | { ok: true; frame: ClientFrame }
  | { ok: false; id: FrameIdValue | undefined; code: 'bad_request' | 'unknown_op'; message: string; path?: string };

function usableId(value: unknown): FrameIdValue | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.length <= 128) return value;
  return undefined;
}

/** Validates a decoded client frame. Errors carry the frame's `id` when it has a usable one. */
export function validateClientFrame(value: unknown): ParseResult {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, id: undefined, code: 'bad_request', message: 'A frame must be a JSON object with an `op`' };
  }
  const obj = value as Record<string, unknown>;
  const id = Object.hasOwn(obj, 'id') ? usableId(obj.id) : undefined;
  const op = Object.hasOwn(obj, 'op') ? obj.op : undefined;
  if (typeof op !== 'string') {
    return { ok: false, id, code: 'bad_request', message: 'Missing or non-string `op`', path: '/op' };
  }
  if (!Object.hasOwn(ClientFrameSchemas, op)) {
    return { ok: false, id, code: 'unknown_op', message: `Unknown op '${op.slice(0, 64)}'`, path: '/op' };
  }
  const check = clientValidator(op as ClientOp);
  if (check.Check(value)) return { ok: true, frame: value as ClientFrame };
  const first = check.Errors(value).First();
  const path = first?.path ?? '';
  const message = first ? `${op}: ${path || '/'} ${first.message}` : `${op}: invalid frame`;
  return { ok: false, id, code: 'bad_request', message, path };
}

/** True when `value` is a well-formed server frame (used by clients and tests). */
export function isServerFrame(value: unknown): value is ServerFrame {
  serverValidator ??= TypeCompiler.Compile(ServerFrameSchema);
  return serverValidator.Check(value);
}
