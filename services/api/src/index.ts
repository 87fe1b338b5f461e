export { createApp, type CreateAppOptions } from "./app";
export { API_CONFIG_KEYS, type ApiConfig } from "./config";
export { openResources } from "./resources";
