export {
  createDatabase,
  dropDatabase,
  dropStaleTestDatabases,
  testDatabaseName,
  withAdminClient,
  withDatabase,
} from "./database";
export { testDatabaseUrl, testEnv, uniqueSuffix, type TestEnv } from "./env";
export { createTestUser, insertMessages } from "./fixtures";
export { deleteKeysByPrefix } from "./redis";
export { waitFor, type WaitForOptions } from "./wait-for";
export { createPrivateDatabase } from "./private-db";
export { freePort } from "./ports";
export { startTcpProxy } from "./tcp-proxy";
export { postgresBinDir, startPostgresServer, type PostgresServer } from "./postgres-server";
export { hasRedisServer, sampleRedisMemory, startRedisServer, type RedisServer } from "./redis-server";
export { startDispatcher, type DispatcherProcess } from "./dispatcher";
export { queuedEventIds, queuedEvents } from "./queued-events";
