// A case worker signs in at her office's own identity provider in a real browser: oidc-provider
// from npm (tests/oidc_idp) as Bremen's provider, the sign-in page with its search, the
// provider's login form, her inbox, and signing out here and at the provider. axe checks the
// sign-in page, a refusal and the signed-out page in every language.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

import { LANGUAGES, axeViolations, checkCertificate, screenshot, startBrowser, startRuntime } from "./support.mjs";

const here = dirname(fileURLToPath(import.meta.url));
let runtime;
let provider;
let chromium;

async function freePort() {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address();
  server.close();
  return port;
}

async function startProvider(service) {
  const port = await freePort();
  const child = spawn(
    "node",
    [
      join(here, "..", "oidc_idp", "provider.mjs"),
      "--port", String(port),
      "--redirect-uri", `${service}/amt/anmelden/callback`,
      "--post-logout-redirect-uri", `${service}/amt/abgemeldet`,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  for await (const line of child.stdout) {
    if (String(line).includes("ready")) break;
  }
  child.stdout.resume();
  return {
    issuer: `http://127.0.0.1:${port}`,
    async stop() {
      child.kill("SIGTERM");
      if (child.exitCode === null) await once(child, "exit");
    },
  };
}

async function api(method, path, token, body) {
  const response = await fetch(`${runtime.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, json: await response.json() };
}

before(async () => {
  const port = await freePort();
  const service = `http://127.0.0.1:${port}`;
  provider = await startProvider(service);
  runtime = await startRuntime({ PORT: String(port) });
  assert.equal(runtime.url, service);
  chromium = await startBrowser();
  const admin = await fetch(`${runtime.url}/dev/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ persona: "admin" }),
  }).then((response) => response.json());
  const bremen = {
    id: "jugendamt-bremen", name: "Jugendamt Bremen",
    address: { street: "Am Amt", house_number: "1", postcode: "28195", city: "Bremen" },
    phone: "+49 421 000000", email: "jugendamt@bremen.example",
    municipalities: [{ ags: "04011000" }], connected: true, auto_issue: true, retention_days: 365,
    staff_identity_provider: { issuer: provider.issuer, client_id: "sorgeregister-bremen" },
  };
  const saved = await api("PUT", "/api/v1/tenants/jugendamt-bremen", admin.token, bremen);
  assert.equal(saved.status, 200, JSON.stringify(saved.json));
});

after(async () => {
  await chromium?.stop();
  await runtime?.stop();
  await provider?.stop();
});

async function newPage() {
  const context = await chromium.browser.newContext({
    baseURL: runtime.url,
    bypassCSP: true,
    locale: "de-DE",
    viewport: { width: 1280, height: 900 },
  });
  return context.newPage();
}

async function audit(page, state) {
  assert.equal(await page.locator("[data-error]").count(), 0, `${state} is an error page`);
  const violations = await axeViolations(page);
  assert.deepEqual(violations, [], `${state} (${page.url()})`);
  await screenshot(page, `amt-anmelden-${state}`);
}

/** At the provider's login form: signs in as `user`. */
async function atProvider(page, user) {
  await page.waitForURL(`${provider.issuer}/interaction/**`);
  await page.getByLabel("Benutzername").fill(user);
  await page.getByLabel("Passwort").fill("geheim");
  await page.getByRole("button", { name: "Anmelden" }).click();
}

test("a case worker finds her office, signs in at its provider, works and signs out of both", async () => {
  const page = await newPage();
  await page.goto("/amt");
  await page.waitForURL("**/amt/anmelden?**");
  await page.getByLabel("Jugendamt suchen").fill("28195");
  await page.getByRole("button", { name: "Suchen" }).click();
  await page.getByRole("link", { name: "Jugendamt Bremen" }).click();
  await atProvider(page, "k.meyer");
  await page.waitForURL(`${runtime.url}/amt`);
  assert.equal(await page.locator("h1").textContent(), "Posteingang");
  await audit(page, "inbox-after-sign-in");

  await page.getByRole("button", { name: "Abmelden" }).click();
  await page.waitForURL(`${provider.issuer}/session/end**`);
  await page.getByRole("button", { name: "Ja, abmelden" }).click();
  await page.waitForURL(`${runtime.url}/amt/abgemeldet`);
  await audit(page, "signed-out");
  await page.goto("/amt");
  await page.waitForURL("**/amt/anmelden?**");

  // Signing in again takes her password again: the provider's session ended too.
  await page.goto("/amt/anmelden?office=jugendamt-bremen");
  await page.waitForURL(`${provider.issuer}/interaction/**`);
});

test("someone without a role for the register is told so", async () => {
  const page = await newPage();
  await page.goto("/amt/anmelden?office=jugendamt-bremen");
  await atProvider(page, "ohne.rolle");
  await page.waitForURL(`${runtime.url}/amt/anmelden/callback**`);
  assert.match(await page.locator("h1").textContent(), /Kein Zugang/);
  await audit(page, "no-role");
});

async function persona(name) {
  const response = await fetch(`${runtime.url}/dev/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ persona: name }),
  });
  return (await response.json()).token;
}

/** A request of Sophia's at Bremen, issued at once: its id, certificate code and child's date of birth. */
async function issuedRequest() {
  const mother = await persona("mother");
  const document = await fetch(`${runtime.url}/api/v1/openapi.json`).then((r) => r.json());
  const created = await api("POST", "/api/v1/requests", mother, document.components.schemas.SubmissionBody.example);
  assert.equal(created.status, 202, JSON.stringify(created.json));
  const supervisor = await persona("supervisor-bremen");
  for (let attempt = 0; attempt < 150; attempt += 1) {
    const { json } = await api("GET", `/api/v1/staff/requests/${created.json.id}`, supervisor);
    if (json.certificate) {
      return { id: created.json.id, code: json.certificate.code, birthDate: json.application.child.birth_date };
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error("no certificate");
}

test("a supervisor revokes a certificate on the page; a case worker is not offered to", async () => {
  const { id, code, birthDate } = await issuedRequest();
  const worker = await newPage();
  await worker.goto(`/amt/anmelden?office=jugendamt-bremen&next=/amt/antraege/${id}`);
  await atProvider(worker, "k.meyer");
  await worker.waitForURL(`${runtime.url}/amt/antraege/${id}`);
  assert.equal(await worker.locator('form[action$="/widerruf"]').count(), 0, "no revocation for case workers");

  const supervisor = await newPage();
  await supervisor.goto(`/amt/anmelden?office=jugendamt-bremen&next=/amt/antraege/${id}`);
  await atProvider(supervisor, "s.leitung");
  await supervisor.waitForURL(`${runtime.url}/amt/antraege/${id}`);
  await supervisor.getByRole("button", { name: "Bescheinigung widerrufen" }).click();
  assert.equal(await supervisor.locator(".error-summary, [role=alert]").count() > 0, true, "a reason is required");
  await audit(supervisor, "revoke-error");
  await supervisor.getByLabel("Grund des Widerrufs").fill("Eine Sorgeerklärung wurde nachgetragen.");
  await supervisor.getByRole("button", { name: "Bescheinigung widerrufen" }).click();
  await supervisor.waitForURL("**erledigt=widerruf**");
  assert.match(await supervisor.locator("#widerruf").textContent(), /widerrufen/);
  await audit(supervisor, "revoked");
  await checkCertificate(supervisor, code, birthDate);
  assert.equal(await supervisor.locator("h1").textContent(), "Die Bescheinigung wurde widerrufen");
  await audit(supervisor, "verify-revoked");

  // Her status page says so, with the reason, and offers no download of what proves nothing.
  const mother = await newPage();
  const cookie = { name: "session", value: await persona("mother"), url: runtime.url, httpOnly: true, sameSite: "Lax" };
  await mother.context().addCookies([cookie]);
  await mother.goto(`/antraege/${id}`);
  assert.match(await mother.locator("#widerruf").textContent(), /Eine Sorgeerklärung wurde nachgetragen\./);
  assert.equal(await mother.locator(`a[href="/antraege/${id}/bescheinigung"]`).count(), 0);
  await audit(mother, "status-revoked");
});

for (const lang of LANGUAGES) {
  test(`the sign-in page passes axe in ${lang}`, async () => {
    const page = await newPage();
    await page.goto(`/amt/anmelden?lang=${lang}&abgelaufen=1`);
    assert.equal(await page.locator("html").getAttribute("lang"), lang === "en" ? "en" : "de");
    assert.equal(await page.locator("[role=status]").count(), 1, "the notice that the session ran out");
    await audit(page, `sign-in-${lang}`);
  });
}
