import helmet from "helmet";
import type { RequestHandler } from "express";

/**
 * The one Content-Security-Policy of every service. Services answer JSON and Prometheus text,
 * which need nothing; the api's /docs (swagger-ui-express) needs its own scripts and styles
 * from 'self', one inline <style> block, and data: images (its SVG icons). No
 * upgrade-insecure-requests: on a plain-HTTP deployment it would send the browser to https for
 * /docs's assets, and they would fail to load.
 */
const CSP_DIRECTIVES = {
  "default-src": ["'self'"],
  "base-uri": ["'self'"],
  "connect-src": ["'self'"],
  "font-src": ["'self'", "data:"],
  "form-action": ["'self'"],
  "frame-ancestors": ["'none'"],
  "img-src": ["'self'", "data:"],
  "object-src": ["'none'"],
  "script-src": ["'self'"],
  "script-src-attr": ["'none'"],
  "style-src": ["'self'", "'unsafe-inline'"],
};

/** A year, and subdomains: a deployment that terminates TLS does so for its whole host. */
const HSTS = "max-age=31536000; includeSubDomains";

/**
 * Security headers on every response (helmet): nosniff, frame denial (X-Frame-Options DENY and
 * frame-ancestors 'none'), the CSP above, Referrer-Policy no-referrer, and HSTS only on
 * requests that arrived over TLS: `req.secure`, which behind a TLS-terminating proxy needs
 * `trust proxy` (the api's TRUST_PROXY) to read X-Forwarded-Proto. HSTS over plain HTTP would
 * be ignored by browsers anyway, and would lock a local deployment out of itself if honoured.
 */
export function securityHeaders(): RequestHandler {
  const headers = helmet({
    contentSecurityPolicy: { useDefaults: false, directives: CSP_DIRECTIVES },
    strictTransportSecurity: false,
    xFrameOptions: { action: "deny" },
    referrerPolicy: { policy: "no-referrer" },
  });
  return (req, res, next) => {
    if (req.secure) res.setHeader("Strict-Transport-Security", HSTS);
    headers(req, res, next);
  };
}
