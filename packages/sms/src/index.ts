export { analyzeText } from "./encoding.js";
export type { SmsEncoding, TextAnalysis } from "./encoding.js";
export { isValidRegion, normalizePhone } from "./phone.js";
export type { NormalizeResult } from "./phone.js";
export { countPlaceholders, renderTemplate, templateVariables } from "./template.js";
export type { RenderResult } from "./template.js";
