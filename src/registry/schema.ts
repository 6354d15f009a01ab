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

export const KafkaClusterSchema = z
  .object({
    bootstrapServers: z.array(HostPortSchema).min(1, 'needs at least one broker'),
    /** Broker count a healthy cluster has (the failback precheck compares against it). */
    expectedBrokers: z.number().int().min(1).default(1),
    tls: TlsSchema.optional(),
    sasl: SaslSchema.optional(),
  })
  .strict();

export const ConnectClusterSchema = z
  .object({
    url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
    /** The Kafka cluster this Connect cluster writes to: the target of the MM2 flows it runs. */
    writesTo: AliasSchema,
    basicAuth: z.object({ username: z.string().min(1), password: SecretRefSchema }).strict().optional(),
    requestTimeoutMs: z.number().int().min(100).max(600_000).default(30_000),
  })
  .strict();

export const RegistrySchema = z
  .object({
    clusters: z.record(AliasSchema, KafkaClusterSchema).refine((c) => Object.keys(c).length > 0, 'needs at least one cluster'),
    connect: z.record(AliasSchema, ConnectClusterSchema).default({}),
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
