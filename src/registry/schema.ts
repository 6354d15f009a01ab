import { z } from 'zod';

/**
 * The cluster registry: which Kafka clusters and Connect clusters exist, how to
 * reach them, and where their credentials are. Workflows carry only the aliases;
 * the worker resolves them here, so no address or secret enters workflow history.
 */

/** Where a secret is: an environment variable or a file (e.g. a mounted k8s secret). */
export const SecretRefSchema = z.union(
  [
    z.object({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name') }).strict(),
    z.object({ file: z.string().min(1, 'must be a file path') }).strict(),
  ],
  { error: 'must be { env: VAR_NAME } or { file: /path/to/secret } (never the secret itself)' },
);
export type SecretRef = z.infer<typeof SecretRefSchema>;

export const AliasSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'must be 1-64 letters, digits, - or _ (it becomes part of topic names)');

const HostPortSchema = z.string().regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, 'must be host:port');

export const TlsSchema = z
  .object({
    enabled: z.boolean().default(true),
    caFile: z.string().min(1).optional(),
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
    keyPassword: SecretRefSchema.optional(),
    rejectUnauthorized: z.boolean().default(true),
  })
  .strict()
  .refine((t) => (t.certFile === undefined) === (t.keyFile === undefined), {
    message: 'certFile and keyFile go together (mutual TLS needs both)',
  });

export const SaslSchema = z
  .object({
    mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
    username: z.string().min(1),
    password: SecretRefSchema,
  })
  .strict();

/** The disk headroom a cluster's health check asks for unless its registry entry says otherwise. */
export const DEFAULT_MIN_USABLE_LOG_DIR_PERCENT = 10;

export const KafkaClusterSchema = z
  .object({
    bootstrapServers: z.array(HostPortSchema).min(1, 'needs at least one broker'),
    /** Broker count a healthy cluster has (the failback precheck compares against it). */
    expectedBrokers: z.number().int().min(1).default(1),
    /**
     * Disk headroom the health check wants on every log dir of every broker: usable bytes
     * as a percentage of the dir's total (DescribeLogDirs). Below it the check refuses.
     */
    minUsableLogDirPercent: z.number().min(0).max(100).default(DEFAULT_MIN_USABLE_LOG_DIR_PERCENT),
    tls: TlsSchema.optional(),
    sasl: SaslSchema.optional(),
  })
  .strict();

export const ConnectClusterSchema = z
  .object({
    url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
    /** The Kafka cluster this Connect cluster writes to: the target of the MM2 flows it runs. */
    writesTo: AliasSchema,
    basicAuth: z
      .object({ username: z.string().min(1), password: SecretRefSchema })
      .strict()
      .optional(),
    requestTimeoutMs: z.number().int().min(100).max(600_000).default(30_000),
  })
  .strict();

// Headers we set ourselves (the signature must cover what the receiver trusts).
const RESERVED_HEADERS = /^(content-type|content-length|host|x-kafkadr-.*)$/i;

/**
 * A signed webhook: kafka-dr POSTs JSON with an HMAC-SHA256 signature over the
 * timestamp and the body (docs/operations.md, "Cutover hooks"). Header values may be secret refs
 * (a bearer token); the signing secret is always one.
 */
export const WebhookSchema = z
  .object({
    kind: z.literal('webhook'),
    url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
    secret: SecretRefSchema,
    /** Per attempt; Temporal retries a timed-out attempt with backoff. */
    timeoutMs: z.number().int().min(100, 'must be at least 100').max(120_000, 'must be at most 120000 (2 minutes)').default(10_000),
    headers: z
      .record(
        z
          .string()
          .regex(/^[A-Za-z0-9-]+$/, 'must be an HTTP header name')
          .refine((h) => !RESERVED_HEADERS.test(h), 'is set by kafka-dr itself'),
        z.union([z.string(), SecretRefSchema], { error: 'must be a string or a secret ref { env } / { file }' }),
      )
      .default({}),
  })
  .strict();

/**
 * What runs after a gate is approved: `manual` (the approval is the confirmation),
 * `webhook`, or `drill` (the drill's in-process client switch).
 */
export const HookSchema = z.discriminatedUnion(
  'kind',
  [z.object({ kind: z.literal('manual') }).strict(), WebhookSchema, z.object({ kind: z.literal('drill') }).strict()],
  { error: "must have kind 'manual', 'webhook' or 'drill'" },
);

/** `<gate>` for every playbook, or `<playbook>/<gate>` for one (wins over the plain gate). */
export const HookKeySchema = z
  .string()
  .regex(
    /^([a-z][a-z0-9-]{0,39}\/)?[a-z][a-z0-9-]{0,63}$/,
    'must be a gate name (stop-producers) or playbook/gate (failback/stop-producers)',
  );

export const NotificationsSchema = z
  .object({
    /** Called once when a gate waits past its escalateAfter. Absent: the worker logs it. */
    escalation: z.discriminatedUnion('kind', [WebhookSchema, z.object({ kind: z.literal('log') }).strict()], {
      error: "must have kind 'webhook' or 'log'",
    }),
  })
  .partial()
  .strict();

export const RegistrySchema = z
  .object({
    clusters: z.record(AliasSchema, KafkaClusterSchema).refine((c) => Object.keys(c).length > 0, 'needs at least one cluster'),
    connect: z.record(AliasSchema, ConnectClusterSchema).default({}),
    /** Cutover hooks per gate (absent gate: manual). */
    hooks: z.record(HookKeySchema, HookSchema).optional(),
    notifications: NotificationsSchema.optional(),
  })
  .strict()
  .superRefine((registry, ctx) => {
    for (const [name, connect] of Object.entries(registry.connect)) {
      if (!(connect.writesTo in registry.clusters)) {
        ctx.addIssue({
          code: 'custom',
          path: ['connect', name, 'writesTo'],
          message: `names cluster '${connect.writesTo}', which is not under clusters (known: ${Object.keys(registry.clusters).join(', ')})`,
        });
      }
    }
  });

export type RegistryFile = z.infer<typeof RegistrySchema>;
export type KafkaClusterConfig = z.infer<typeof KafkaClusterSchema>;
export type ConnectClusterConfig = z.infer<typeof ConnectClusterSchema>;
export type HookConfig = z.infer<typeof HookSchema>;
export type WebhookConfig = z.infer<typeof WebhookSchema>;
