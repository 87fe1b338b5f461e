import SwaggerParser from "@apidevtools/swagger-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../testing/harness";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.stop());

type Operation = { security?: unknown[]; responses: Record<string, { content?: Record<string, unknown> }>; requestBody?: unknown };

describe("/openapi.json", () => {
  it("is a valid OpenAPI 3.1 document", async () => {
    const res = await api.call("GET", "/openapi.json");
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe("3.1.0");
    await expect(SwaggerParser.validate(structuredClone(res.body))).resolves.toBeTruthy();
  });

  it("documents every route with security, its request schema and problem+json errors", async () => {
    const doc = (await api.call("GET", "/openapi.json")).body;
    const operations = Object.entries(doc.paths as Record<string, Record<string, Operation>>).flatMap(([path, item]) =>
      Object.entries(item).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, op })),
    );
    expect(operations.map((o) => o.key).sort()).toEqual(
      [
        "POST /api/v1/auth/register",
        "POST /api/v1/auth/token",
        "GET /api/v1/auth/me",
        "POST /api/v1/api-keys",
        "GET /api/v1/api-keys",
        "DELETE /api/v1/api-keys/{id}",
        "POST /api/v1/messages",
        "POST /api/v1/messages/bulk",
        "GET /api/v1/messages",
        "GET /api/v1/messages/{id}",
        "POST /api/v1/messages/{id}/cancel",
        "GET /api/v1/batches/{id}",
        "GET /api/v1/inbound-messages",
        "GET /api/v1/metrics/summary",
        "GET /api/v1/metrics/timeseries",
        "GET /api/v1/metrics/failures",
        "POST /api/v1/gateway-accounts",
        "GET /api/v1/gateway-accounts",
        "GET /api/v1/gateway-accounts/{id}",
        "PATCH /api/v1/gateway-accounts/{id}",
        "DELETE /api/v1/gateway-accounts/{id}",
        "POST /api/v1/gateway-accounts/{id}/sync",
        "GET /api/v1/senders",
        "GET /api/v1/senders/{id}",
        "PATCH /api/v1/senders/{id}",
        "GET /api/v1/senders/{id}/events",
        "POST /api/v1/webhook-endpoints",
        "GET /api/v1/webhook-endpoints",
        "GET /api/v1/webhook-endpoints/{id}",
        "PATCH /api/v1/webhook-endpoints/{id}",
        "DELETE /api/v1/webhook-endpoints/{id}",
        "POST /api/v1/webhook-endpoints/{id}/rotate-secret",
        "POST /api/v1/webhook-endpoints/{id}/test",
        "POST /api/v1/webhook-endpoints/{id}/replay",
        "GET /api/v1/webhook-endpoints/{id}/deliveries",
        "GET /api/v1/webhook-deliveries/{id}",
        "POST /api/v1/webhook-deliveries/{id}/retry",
      ].sort(),
    );
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(["apiKeyAuth", "bearerAuth"]);
    for (const { key, op } of operations) {
      const open = key.includes("/auth/register") || key.includes("/auth/token");
      expect(op.security, key).toEqual(open ? undefined : [{ bearerAuth: [] }, { apiKeyAuth: [] }]);
      expect(op.responses["500"]?.content, key).toHaveProperty(["application/problem+json"]);
      // Actions on a resource (cancel, sync, rotate-secret, test, retry) take no body.
      const action = ["/cancel", "/sync", "/rotate-secret", "/test", "/retry"].some((a) => key.endsWith(a));
      if (key.startsWith("POST") && !action) expect(op.requestBody, key).toBeDefined();
    }
    const bulk = doc.paths["/api/v1/messages/bulk"].post;
    expect(bulk.requestBody.content["application/json"].schema).toEqual({ $ref: "#/components/schemas/BulkSendRequest" });
    expect(doc.components.schemas.BulkSendRequest.properties.messages.maxItems).toBe(10_000);
    expect(bulk.parameters).toEqual([expect.objectContaining({ in: "header", name: "idempotency-key", required: false })]);
    expect(Object.keys(doc.paths["/api/v1/auth/token"].post.requestBody.content).sort()).toEqual([
      "application/json",
      "application/x-www-form-urlencoded",
    ]);
  });

  it("documents `from` on sends and the fleet fields of a message", async () => {
    const doc = (await api.call("GET", "/openapi.json")).body;
    const schemas = doc.components.schemas;
    expect(schemas.SendMessageRequest.properties.from).toMatchObject({ type: "string", maxLength: 256 });
    expect(schemas.BulkSendRequest.properties.from).toMatchObject({ type: "string" });
    expect(Object.keys(schemas.Message.properties)).toEqual(expect.arrayContaining(["senderId", "from", "attemptCount", "waitingReason"]));
    expect(schemas.Message.required).toEqual(expect.arrayContaining(["senderId", "from", "attemptCount", "waitingReason"]));
    expect(JSON.stringify(schemas.Message.properties.waitingReason)).toContain("failover_unconfirmed");
    expect(Object.keys(schemas.Attempt.properties).sort()).toEqual(
      ["id", "n", "senderId", "status", "error", "createdAt", "acceptedAt", "sentAt", "deliveredAt", "failedAt", "cancelledAt"].sort(),
    );
    expect(JSON.stringify(schemas.MessageDetail)).toContain("#/components/schemas/Attempt");
    const list = doc.paths["/api/v1/messages"].get;
    expect(list.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ in: "query", name: "senderId", required: false })]));
  });

  it("documents webhook event types as an enum and the secret only where it is shown", async () => {
    const doc = (await api.call("GET", "/openapi.json")).body;
    const schemas = doc.components.schemas;
    expect(schemas.WebhookEventType.enum).toEqual(expect.arrayContaining(["message.delivered", "inbound.received", "webhook.test"]));
    expect(JSON.stringify(schemas.CreateWebhookEndpointRequest.properties.events)).toContain("#/components/schemas/WebhookEventType");
    expect(schemas.CreatedWebhookEndpoint.required).toContain("secret");
    expect(schemas.WebhookEndpoint.properties).not.toHaveProperty("secret");
    expect(schemas.RotatedWebhookSecret.required).toEqual(expect.arrayContaining(["secret", "previousSecretExpiresAt"]));
    const create = doc.paths["/api/v1/webhook-endpoints"].post;
    expect(Object.keys(create.responses)).toEqual(expect.arrayContaining(["201", "422", "503"]));
  });

  it("serves the interactive docs at /docs", async () => {
    const res = await api.call("GET", "/docs/");
    expect(res.status).toBe(200);
    expect(res.body).toContain("swagger-ui");
  });
});
