import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { generateWebhookSecret, signature, signedHeaders, verifySignature } from "./signature";

describe("Standard Webhooks signatures", () => {
  it("matches the specification's test vector", () => {
    // standard-webhooks/spec, the example under "Signature scheme".
    const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const body = '{"test": 2432232314}';
    expect(signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)).toBe("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  });

  it("verifies with the standardwebhooks package, under either secret during a rotation", () => {
    const current = generateWebhookSecret();
    const previous = generateWebhookSecret();
    const body = JSON.stringify({ type: "message.delivered", timestamp: "2026-12-07T00:00:00.000Z", data: { id: "x" } });
    const now = Math.floor(Date.now() / 1000);
    const headers = signedHeaders([current, previous], "0f6b3d8e-1c1e-4a43-9d51-6f0a3f7e2b11", now, body);
    expect(headers["webhook-signature"].split(" ")).toHaveLength(2);
    for (const secret of [current, previous]) expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(generateWebhookSecret()).verify(body, headers)).toThrow();
    expect(verifySignature(previous, headers["webhook-id"], now, body, headers["webhook-signature"])).toBe(true);
    expect(verifySignature(current, headers["webhook-id"], now, `${body} `, headers["webhook-signature"])).toBe(false);
  });
});
