// Starts Swagger UI over this API's own document. No validator badge (it would call an outside host).
declare const SwaggerUIBundle: ((options: Record<string, unknown>) => unknown) & { presets: { apis: unknown } };

function start() {
  SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    tryItOutEnabled: false,
    persistAuthorization: false,
  });
}

// The bundle is a deferred classic script; module scripts run after deferred ones, but be safe.
if (typeof SwaggerUIBundle === 'undefined') window.addEventListener('load', start);
else start();
