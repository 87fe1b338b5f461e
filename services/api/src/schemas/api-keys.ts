import { z } from "zod";
import { nullableTimestamp, safeText } from "./common";

export const CreateApiKeyRequest = z
  .object({ name: safeText().min(1).max(100).meta({ example: "crm-integration" }) })
  .meta({ id: "CreateApiKeyRequest" });

const ApiKeySchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    prefix: z.string().meta({ description: "The key's public lookup part, to tell keys apart" }),
    createdAt: z.string().meta({ format: "date-time" }),
    lastUsedAt: nullableTimestamp(),
    revokedAt: nullableTimestamp(),
  })
  .meta({ id: "ApiKey" });

export const CreatedApiKeySchema = ApiKeySchema.extend({
  key: z.string().meta({ description: "The secret key. Shown once: only its hash is stored." }),
}).meta({ id: "CreatedApiKey" });

export const ApiKeyListResponse = z.object({ data: z.array(ApiKeySchema) }).meta({ id: "ApiKeyList" });
