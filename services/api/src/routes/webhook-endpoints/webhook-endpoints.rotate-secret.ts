import { eq, sql } from "drizzle-orm";
import { openSecret, SecretError, sealSecret, webhookEndpoints } from "@inboxerr/db";
import { AppError, notFound } from "@inboxerr/http";
import type { ApiDeps } from "../../deps";
import { defineRoute } from "../../http/route";
import { IdParams } from "../../schemas/common";
import { RotatedWebhookSecret } from "../../schemas/webhooks";
import { endpointOf } from "../../webhooks/access";
import { newEndpointSecret, PREVIOUS_SECRET_COLUMN, requireSecretsKey, ROTATION_OVERLAP_MS, SECRET_COLUMN } from "../../webhooks/secrets";

export function rotateWebhookSecretRoute(deps: ApiDeps) {
  return defineRoute({
    method: "post",
    path: "/webhook-endpoints/{id}/rotate-secret",
    operationId: "rotateWebhookSecret",
    summary: "Replace an endpoint's signing secret",
    description:
      "The new secret is shown only in this answer. For 24 hours deliveries carry two signatures, one per secret, so a " +
      "receiver keeps verifying while it switches; a second rotation within them drops the oldest secret at once.",
    tags: ["webhooks"],
    auth: true,
    params: IdParams,
    responses: { 200: { description: "The new secret", schema: RotatedWebhookSecret } },
    problems: [401, 404],
    async handler({ params, principal, res }) {
      const { id } = await endpointOf(deps, principal, params.id);
      const key = requireSecretsKey(deps.secrets);
      const next = newEndpointSecret(key);
      const row = await deps.db.transaction(async (tx) => {
        // Locked: two rotations at once must each keep the secret the other replaced.
        const [current] = await tx.select({ secret: webhookEndpoints.secret }).from(webhookEndpoints).where(eq(webhookEndpoints.id, id)).for("update");
        if (!current) throw notFound("Webhook endpoint");
        let previous: string;
        try {
          previous = openSecret(key, SECRET_COLUMN, current.secret);
        } catch (err) {
          if (!(err instanceof SecretError)) throw err;
          throw new AppError("service_unavailable", "The endpoint's secret cannot be opened with this SECRETS_KEY (was the key changed?)");
        }
        const [updated] = await tx
          .update(webhookEndpoints)
          .set({
            secret: next.sealed,
            previousSecret: sealSecret(key, PREVIOUS_SECRET_COLUMN, previous),
            previousSecretExpiresAt: sql`now() + make_interval(secs => ${ROTATION_OVERLAP_MS / 1000})`,
            updatedAt: new Date(),
          })
          .where(eq(webhookEndpoints.id, id))
          .returning({ expiresAt: webhookEndpoints.previousSecretExpiresAt });
        return updated!;
      });
      res.json({ secret: next.plain, previousSecretExpiresAt: row.expiresAt!.toISOString() });
    },
  });
}
