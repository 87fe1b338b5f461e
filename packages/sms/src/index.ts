export { analyzeText } from "./encoding.js";
export type { SmsEncoding, TextAnalysis } from "./encoding.js";
export { normalizePhone } from "./phone.js";
export type { NormalizeResult } from "./phone.js";
export { countPlaceholders, renderTemplate } from "./template.js";
export type { RenderResult } from "./template.js";
