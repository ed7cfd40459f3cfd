// web/scripts/build-api-docs.mjs - check web/api-docs/openapi.json and build
// /api/docs into web/dist/api-docs/.
//
//   node scripts/build-api-docs.mjs           check, then build
//   node scripts/build-api-docs.mjs --check   check only
//
// Run by scripts/docs.sh (which installs node_modules first).  The check is
// Redocly's OpenAPI linter with its recommended rules as errors (structure
// against the OpenAPI 3.1 schema, unresolved $refs, path parameters, unique
// operation ids, examples valid against their schemas, ...) plus Norvalt's
// own rules below, which keep the document saying what SPEC section 6 says
// about every operation.  Any problem fails the build: nothing is copied.
//
// The build copies the document, the page and Redoc's standalone bundle
// (from node_modules; its one remote asset, a logo, replaced) into
// web/dist/api-docs/, which nginx serves as /api/openapi.json and
// /api/docs (nginx/norvalt.conf).
import { copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { createConfig, formatProblems, getTotals, lint } from '@redocly/openapi-core';

const require = createRequire(import.meta.url);
const WEB = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(WEB, 'api-docs');
const SPEC = join(SRC, 'openapi.json');
const OUT = join(WEB, 'dist', 'api-docs');
const checkOnly = process.argv.includes('--check');

const REDOC_REMOTE_LOGO = 'https://cdn.redoc.ly/redoc/logo-mini.svg';
const EMPTY_IMAGE = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='1' height='1'/%3E";
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

// Redocly: the recommended rules, with every warning made an error, and
// the example checks (off in "recommended") turned on.
async function redoclyLint() {
  const config = await createConfig({
    extends: ['recommended-strict'],
    rules: {
      // Proprietary software: there is no licence to name.
      'info-license': 'off',
      'info-license-strict': 'off',
      // MethodNotAllowed documents the 405 every path gives for a method it
      // does not list; no operation can reference it, by definition.
      'no-unused-components': 'off',
      // The health checks have no 4xx to document; norvaltRules() below
      // demands the right 4xx of every other kind of operation.
      'operation-4xx-response': 'off',
      'no-invalid-schema-examples': 'error',
      'no-invalid-parameter-examples': 'error',
      'no-invalid-media-type-examples': { severity: 'error', allowAdditionalProperties: false },
    },
  });
  const problems = await lint({ ref: SPEC, config });
  if (problems.length > 0) {
    formatProblems(problems, { format: 'stylish', totals: getTotals(problems), version: 'openapi-core' });
  }
  return getTotals(problems).errors + getTotals(problems).warnings;
}

// Norvalt's rules: what every operation must document.
function norvaltRules(doc) {
  const errors = [];
  const ref = (obj) => {
    let o = obj;
    for (let i = 0; o && o.$ref && i < 10; i++) {
      o = o.$ref.replace(/^#\//, '').split('/').reduce((a, k) => a?.[k.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
    }
    return o;
  };
  const hasRequestId = (resp) => resp?.headers && 'X-Request-Id' in resp.headers;
  const isErrorShape = (resp) => {
    const media = resp?.content?.['application/json'];
    return media?.schema?.$ref === '#/components/schemas/Error';
  };

  if (!doc.openapi?.startsWith('3.1.')) errors.push(`openapi is ${doc.openapi}, not 3.1.x`);
  if (!doc.components?.securitySchemes?.clerkSession) errors.push('the clerkSession security scheme is missing');

  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const where = `${method.toUpperCase()} ${path}`;
      const responses = op.responses ?? {};
      const isPublic = Array.isArray(op.security) && op.security.length === 0;
      const byNginx = op['x-norvalt-served-by'];
      const params = [...(item.parameters ?? []), ...(op.parameters ?? [])].map(ref);
      const body = ref(op.requestBody);

      if (byNginx !== undefined && byNginx !== 'nginx') errors.push(`${where}: x-norvalt-served-by must be "nginx"`);
      if (byNginx !== undefined && !isPublic) errors.push(`${where}: served by nginx, so it must be public (security: [])`);
      if (!isPublic && op.security !== undefined) errors.push(`${where}: authenticated operations use the global security`);
      if (!isPublic && !Array.isArray(op['x-norvalt-roles'])) errors.push(`${where}: authenticated, but no x-norvalt-roles`);
      if (isPublic && op['x-norvalt-roles'] !== undefined) errors.push(`${where}: public, but has x-norvalt-roles`);
      if (path.startsWith('/webhooks/') && !isPublic) errors.push(`${where}: webhooks are public`);
      if (path.startsWith('/webhooks/') && !responses['429']) errors.push(`${where}: webhooks are rate-limited: 429 is missing`);
      if (!responses.default) errors.push(`${where}: no default (unexpected error) response`);

      for (const [status, r] of Object.entries(responses)) {
        const resp = ref(r);
        if (!hasRequestId(resp)) errors.push(`${where} ${status}: no X-Request-Id header`);
        if ((status === 'default' || /^[45]/.test(status)) && !isErrorShape(resp)) {
          errors.push(`${where} ${status}: an error response must use the Error schema`);
        }
      }

      const need = (status, why) => {
        if (!responses[status]) errors.push(`${where}: ${why}, so ${status} is missing`);
      };
      if (!isPublic) {
        need('401', 'it needs a token');
        need('403', 'it checks roles');
        need('503', 'it uses the database');
      }
      if (params.some((p) => p?.in === 'path')) need('404', 'it takes a path id');
      if (params.some((p) => p?.in === 'query') && !byNginx) need('400', 'it parses query parameters');
      if (body) {
        need('400', 'it parses a body');
        need('413', 'it takes a body');
        need('415', 'it takes a body');
        const json = body.content?.['application/json'];
        if (!isPublic) {
          if (!json) errors.push(`${where}: the authenticated API takes application/json bodies`);
          need('422', 'it validates fields');
          const schema = ref(json?.schema);
          if (schema && schema.additionalProperties !== false) {
            errors.push(`${where}: request body schema must say additionalProperties: false (unknown fields are 422)`);
          }
        }
      }
    }
  }
  for (const [name, r] of Object.entries(doc.components?.responses ?? {})) {
    if (!hasRequestId(r)) errors.push(`components.responses.${name}: no X-Request-Id header`);
    if (!isErrorShape(r)) errors.push(`components.responses.${name}: must use the Error schema`);
  }
  for (const e of errors) console.error(`openapi: ${e}`);
  return errors.length;
}

function build() {
  const redoc = dirname(require.resolve('redoc/package.json'));
  const tmp = `${OUT}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  for (const f of ['index.html', 'docs.js', 'openapi.json']) copyFileSync(join(SRC, f), join(tmp, f));
  copyFileSync(join(redoc, 'bundles', 'redoc.standalone.js.LICENSE.txt'), join(tmp, 'redoc.standalone.js.LICENSE.txt'));
  // Redoc's sidebar footer always shows a logo loaded from Redocly's CDN;
  // the page must load nothing from elsewhere, so the copy gets an empty
  // inline image instead (the "API docs by Redocly" credit stays).
  const bundle = readFileSync(join(redoc, 'bundles', 'redoc.standalone.js'), 'utf8');
  const parts = bundle.split(REDOC_REMOTE_LOGO);
  if (parts.length !== 2) {
    console.error(`api docs: redoc.standalone.js mentions ${REDOC_REMOTE_LOGO} ${parts.length - 1} times, not once: check the new Redoc for remote assets`);
    process.exit(1);
  }
  writeFileSync(join(tmp, 'redoc.standalone.js'), parts.join(EMPTY_IMAGE));
  const version = JSON.parse(readFileSync(join(redoc, 'package.json'), 'utf8')).version;
  writeFileSync(join(tmp, 'VERSION'), `redoc ${version}\n`);
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(dirname(OUT), { recursive: true });
  renameSync(tmp, OUT);
  console.log(`api docs: built ${OUT} (redoc ${version})`);
}

let doc;
try {
  doc = JSON.parse(readFileSync(SPEC, 'utf8'));
} catch (e) {
  console.error(`openapi: ${SPEC}: ${e.message}`);
  process.exit(1);
}
const failures = norvaltRules(doc) + (await redoclyLint());
if (failures > 0) {
  console.error(`openapi: ${SPEC} has ${failures} problem(s); /api/docs not built`);
  process.exit(1);
}
console.log(`openapi: ${SPEC} is valid (OpenAPI ${doc.openapi}, ${Object.keys(doc.paths).length} paths)`);
if (!checkOnly) build();
