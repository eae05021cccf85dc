import { z } from 'zod';
import { parseEntry } from '@libs/net';
import { rateLimitSettingsSchema } from '@app/gateway/rate-limit/rate-limit-policy';
import { MAX_LIMIT } from '@app/quotas/limits';

/** A limit: a non-negative whole number, or null for unlimited. */
const limit = z.number().int().min(0).max(MAX_LIMIT).nullable().optional();

/**
 * The per-tenant settings document. Each module owns one section and adds it here; unknown
 * sections and unknown fields are refused, so a typo never silently does nothing.
 */
export const tenantSettingsSchema = z
  .object({
    /** Vector search defaults for this tenant. */
    search: z
      .object({
        /** HNSW candidate list size for approximate search (higher: better recall, slower). */
        efSearch: z.number().int().min(1).max(1000).optional(),
      })
      .strict()
      .optional(),
    /** Network controls: when allowedIps is non-empty, only those addresses/CIDRs reach the data plane. */
    network: z
      .object({
        allowedIps: z
          .array(z.string().max(64))
          .max(1000)
          .superRefine((entries, ctx) => {
            entries.forEach((e, i) => {
              const parsed = parseEntry(e);
              if (!parsed.ok) {
                ctx.addIssue({
                  code: z.ZodIssueCode.custom,
                  path: [i],
                  message:
                    parsed.problem === 'invalid'
                      ? `"${e}" is not an IP address or CIDR`
                      : `"${e}" allows every address; list the networks to allow instead`,
                });
              }
            });
          })
          .optional(),
      })
      .strict()
      .optional(),
    /** Request security: with requireSignatures, every key of the tenant must sign (RFC 9421). */
    security: z.object({ requireSignatures: z.boolean().optional() }).strict().optional(),
    /**
     * Rate limits replacing the plan's, scope by scope: tenant (every request), search, read, write,
     * admin; each a list of { limit, window } with windows from 1s to 1d.
     */
    rateLimits: rateLimitSettingsSchema.optional(),
    /**
     * Quota overrides: each limit named here replaces the plan's (null lifts it); warningPercent
     * replaces QUOTA_WARNING_PERCENT (the usage, in percent of a limit, that emits quota.warning).
     */
    quotas: z
      .object({
        limits: z
          .object({
            collections: limit,
            vectors: limit,
            dimensionsPerCollection: limit,
            storedBytes: limit,
            requestsPerDay: limit,
            searchesPerSecond: limit,
            apiKeys: limit,
            webhookEndpoints: limit,
          })
          .strict()
          .optional(),
        warningPercent: z.number().int().min(1).max(100).optional(),
      })
      .strict()
      .optional(),
    /** Sign-in for people: localLogin false turns off the break-glass email/password login. */
    auth: z.object({ localLogin: z.boolean().optional() }).strict().optional(),
    /** Free-form labels for the platform operator (cost centre, region, ...). */
    labels: z
      .record(
        z
          .string()
          .regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'label names are lowercase, up to 63 chars'),
        z.string().max(256),
      )
      .refine((r) => Object.keys(r).length <= 64, 'at most 64 labels')
      .optional(),
  })
  .strict();

export type TenantSettings = z.infer<typeof tenantSettingsSchema>;

export function parseTenantSettings(
  input: unknown,
):
  | { ok: true; settings: TenantSettings }
  | { ok: false; errors: Array<{ path: string; message: string }> } {
  const result = tenantSettingsSchema.safeParse(input);
  if (result.success) return { ok: true, settings: result.data };
  return {
    ok: false,
    // zod reports unknown keys once for their parent object; name each unknown key instead.
    errors: result.error.issues.flatMap((i) =>
      i.code === 'unrecognized_keys'
        ? i.keys.map((key) => ({
            path: [...i.path, key].join('.'),
            message: 'is not a known setting',
          }))
        : [{ path: i.path.join('.') || '(root)', message: i.message }],
    ),
  };
}
