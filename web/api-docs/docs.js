/* Renders /api/openapi.json with Redoc (no inline script, nothing remote). */
(function () {
  'use strict';
  var status = document.getElementById('norvalt-docs-status');
  var target = document.getElementById('norvalt-docs');
  var fonts = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';
  var mono = 'ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace';

  if (typeof Redoc === 'undefined') {
    status.textContent = 'The API reference renderer did not load. The raw document is at /api/openapi.json.';
    return;
  }
  status.textContent = 'Loading the API reference...';
  Redoc.init('/api/openapi.json', {
    expandResponses: '200,201',
    jsonSampleExpandLevel: 3,
    requiredPropsFirst: true,
    sortPropsAlphabetically: false,
    hideHostname: true,
    pathInMiddlePanel: true,
    theme: {
      typography: {
        fontFamily: fonts,
        headings: { fontFamily: fonts },
        code: { fontFamily: mono }
      }
    }
  }, target, function (err) {
    if (err) {
      status.textContent = 'The API reference could not be rendered: ' + err +
        '. The raw document is at /api/openapi.json.';
      return;
    }
    status.parentNode.removeChild(status);
  });
}());
