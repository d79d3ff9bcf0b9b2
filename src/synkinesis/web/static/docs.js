// API docs (Swagger UI or ReDoc, served by the app itself): no inline script, so the strict CSP holds.
(function () {
  const token = document.querySelector('meta[name="csrf-token"]').content;
  const swagger = document.getElementById("swagger-ui");
  if (swagger) {
    window.ui = SwaggerUIBundle({
      url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true, layout: "BaseLayout",
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
      // "Try it out" sends the session's CSRF token like the app's own pages do.
      requestInterceptor: (req) => { req.headers["X-CSRF-Token"] = token; return req; },
    });
  }
  const redoc = document.getElementById("redoc");
  if (redoc) Redoc.init("/openapi.json", {}, redoc);
})();
