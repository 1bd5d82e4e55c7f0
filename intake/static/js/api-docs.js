/* The API documentation page: the vendored Swagger UI on the app's OpenAPI document.
   Progressive enhancement only: without this file (or without JavaScript) the page still lists every
   endpoint and says how to authenticate; the viewer's section stays hidden.
   No CSP relaxation is needed: Swagger UI sets its few inline styles through the DOM (React style
   props), which style-src does not govern, loads nothing from other sites once validatorUrl is off,
   and evaluates no code from strings. */
(function () {
  "use strict";

  /* Swagger UI's own layout wraps the operations in a second <main> and repeats the API's title as an
     <h1>: inside this page (which has its <main>, title and link to the document) that breaks the
     landmarks and the heading order. This layout shows the same parts without them. */
  function EmbeddedLayoutPlugin(system) {
    var h = system.React.createElement;

    function EmbeddedLayout(props) {
      var get = props.getComponent;
      var spec = props.specSelectors;
      var status = spec.loadingStatus();
      if (status === "failed" || status === "failedConfig") {
        return h("div", { className: "swagger-ui" },
          h("p", { role: "alert" }, "The API description could not be loaded: the list of endpoints above is complete."));
      }
      if (!spec.specStr()) {
        return h("div", { className: "swagger-ui" }, h("p", null, "Loading the API description…"));
      }
      var Authorize = get("AuthorizeBtnContainer", true);
      return h("div", { className: "swagger-ui" },
        h(get("SvgAssets"), null),
        h(get("errors", true), null),
        spec.securityDefinitions() ? h("div", { className: "scheme-container" },
          h("div", { className: "schemes wrapper" }, h(Authorize, null))) : null,
        h("div", { className: "wrapper" },
          h(get("operations", true), null),
          h(get("Models", true), null)));
    }

    return { components: { EmbeddedLayout: EmbeddedLayout } };
  }

  /* Names Swagger UI leaves out, added as its parts appear: the parameters' drop-downs, the dialog's
     close button, the responses' live region; scrollable examples become reachable by keyboard. */
  function nameTheUnnamed(root) {
    var each = function (selector, fn) {
      Array.prototype.forEach.call(root.querySelectorAll(selector), fn);
    };
    each("tr[data-param-name] select:not([aria-label])", function (select) {
      select.setAttribute("aria-label", select.closest("tr").getAttribute("data-param-name"));
    });
    each("button.close-modal:not([aria-label])", function (button) {
      button.setAttribute("aria-label", "Close");
    });
    each(".responses-table[role=region]:not([aria-label])", function (region) {
      var operation = region.closest(".opblock");
      var method = operation && operation.querySelector(".opblock-summary-method");
      var path = operation && operation.querySelector(".opblock-summary-path");
      region.setAttribute("aria-label", "Responses" + (method && path ?
        " of " + method.textContent + " " + path.textContent : ""));
    });
    each("pre:not([tabindex])", function (pre) {
      pre.setAttribute("tabindex", "0");
    });
  }

  function start() {
    var section = document.getElementById("api-viewer");
    if (!section || typeof window.SwaggerUIBundle !== "function") {
      return;
    }
    section.hidden = false;
    var viewer = document.getElementById("swagger-ui");
    new MutationObserver(function () {
      nameTheUnnamed(viewer);
    }).observe(viewer, { childList: true, subtree: true });
    window.SwaggerUIBundle({
      url: section.getAttribute("data-spec-url"),
      dom_id: "#swagger-ui",
      plugins: [EmbeddedLayoutPlugin],
      layout: "EmbeddedLayout",
      // Never send the document to swagger.io's online validator (nor anywhere else).
      validatorUrl: null,
      // No ?url=… or ?configUrl=…: the page shows this app's document only.
      queryConfigEnabled: false,
      deepLinking: false,
      // "Try it out" reads only: nobody creates a real intake from the documentation.
      supportedSubmitMethods: ["get"],
      // A token typed under Authorize lives in this page only, never in localStorage.
      persistAuthorization: false,
      // Its colour themes fall short of WCAG AA contrast: examples are shown as plain text.
      syntaxHighlight: false,
      defaultModelsExpandDepth: 0
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
