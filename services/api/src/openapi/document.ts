import { OpenAPIRegistry, OpenApiGeneratorV31 } from "@asteasolutions/zod-to-openapi";

/** A registry with the two ways to authenticate; routes add themselves as they are mounted. */
export function createOpenApiRegistry(): OpenAPIRegistry {
  const registry = new OpenAPIRegistry();
  registry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "An access token from POST /api/v1/auth/token",
  });
  registry.registerComponent("securitySchemes", "apiKeyAuth", {
    type: "apiKey",
    in: "header",
    name: "X-API-Key",
    description: "A key from POST /api/v1/api-keys",
  });
  return registry;
}

export type OpenApiDocument = ReturnType<OpenApiGeneratorV31["generateDocument"]>;

export function buildOpenApiDocument(registry: OpenAPIRegistry): OpenApiDocument {
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: "3.1.0",
    info: {
      title: "Inboxerr API",
      version: "1.0.0",
      description:
        "Self-hostable bulk SMS. Send single or bulk messages, follow their status, and read delivery metrics. " +
        "Errors are RFC 9457 `application/problem+json`.",
    },
    servers: [{ url: "/" }],
  });
}
