// The office's pages and the messages on the mother's status page in a real browser: axe-core
// (WCAG 2.0/2.1 A and AA, WCAG 2.2 AA) on the inbox, a request, a decision with an error and
// after it, and her status page with the office's message, in all three languages on a 320 px and
// a 1280 px wide screen. Forms are driven by field names, so the same walk works in every language.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { LANGUAGES, WIDTHS, axeViolations, screenshot, startBrowser, startRuntime } from "./support.mjs";

let runtime;
let chromium;
let checks = 0;
let staffToken;
let motherToken;
/** One request in review per language and width: a decision uses it up. */
const requests = new Map();

async function api(method, path, token, body) {
  const response = await fetch(`${runtime.url}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { "content-type": "application/json" } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, json: await response.json() };
}

async function login(persona) {
  const { status, json } = await api("POST", "/dev/login", null, { persona });
  assert.equal(status, 200, persona);
  return json.token;
}

/** A request of Sophia's, signed in with username and password: it waits for a case worker. */
async function requestInReview() {
  const body = {
    applicant: { role: "mother" },
    mother: {
      given_names: "Sophia",
      family_name: "Beispiel",
      birth_date: "1994-05-02",
      birth_place: "Bremen",
      address: { street: "Am Markt", house_number: "1", postcode: "28195", city: "Bremen" },
    },
    child: { given_names: "Mia", family_name: "Beispiel", birth_date: "2021-03-14", birth_place: "Bremen", born_abroad: false },
    delivery: "download",
  };
  const created = await api("POST", "/api/v1/requests", motherToken, body);
  assert.equal(created.status, 202, JSON.stringify(created.json));
  const id = created.json.id;
  for (let attempt = 0; attempt < 150; attempt += 1) {
    const { json } = await api("GET", `/api/v1/requests/${id}`, motherToken);
    if (json.status === "in_review") return id;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`request ${id} did not reach in_review`);
}

before(async () => {
  runtime = await startRuntime();
  chromium = await startBrowser();
  staffToken = await login("staff-bremen");
  motherToken = await login("mother-basic");
  for (const lang of LANGUAGES) {
    for (const width of WIDTHS) requests.set(`${lang}-${width}`, await requestInReview());
  }
});

after(async () => {
  console.log(`axe checks run: ${checks}`);
  await chromium?.stop();
  await runtime?.stop();
});

/** A browser context signed in with `token`, as the login page would leave it (staff's session
 * cookie goes to the office's pages only). */
async function signedIn(token, width, { staff = token === staffToken } = {}) {
  const context = await chromium.browser.newContext({
    baseURL: runtime.url,
    bypassCSP: true,
    viewport: { width, height: 900 },
  });
  const cookie = staff
    ? { name: "amt_session", value: token, domain: new URL(runtime.url).hostname, path: "/amt", httpOnly: true, sameSite: "Lax" }
    : { name: "session", value: token, url: runtime.url, httpOnly: true, sameSite: "Lax" };
  await context.addCookies([cookie]);
  return context;
}

for (const lang of LANGUAGES) {
  for (const width of WIDTHS) {
    test(`the office's pages and her messages pass axe in ${lang} at ${width} px`, async () => {
      const id = requests.get(`${lang}-${width}`);
      const failures = [];
      const audit = async (page, state, { expectError = false } = {}) => {
        // A page that failed to render would still pass axe: it must be the page we expect.
        assert.equal(await page.locator("[data-error]").count(), 0, `${state} is an error page`);
        const title = await page.title();
        assert.equal(title.startsWith("Fehler:") || title.startsWith("Error:"), expectError, `${state}: ${title}`);
        assert.equal(await page.locator("html").getAttribute("lang"), lang === "en" ? "en" : "de", state);
        const violations = await axeViolations(page);
        checks += 1;
        failures.push(...violations.map((v) => `${state} (${page.url()}): ${v}`));
        if (width === 1280) await screenshot(page, `amt-${lang}-${width}-${state}`);
        // Reflow: nothing wider than the screen (WCAG 1.4.10).
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 0, `${state} scrolls sideways by ${overflow} px at ${width} px`);
      };

      const office = await (await signedIn(staffToken, width)).newPage();
      await office.goto(`/amt?lang=${lang}`);
      await audit(office, "inbox");
      assert.ok(await office.locator(`a[href="/amt/antraege/${id}"]`).count(), "the request is in the inbox");
      await office.goto("/amt?status=in_review");
      await audit(office, "inbox-in-review");
      // She takes it from the list, checked in the table.
      await office.locator(`input[name="id"][value="${id}"]`).check();
      await office.locator('form[action^="/amt/antraege/uebernehmen"] button[type=submit]').click();
      await office.waitForURL("**uebernommen=1-1**");
      await audit(office, "inbox-taken");
      await office.locator(`a[href="/amt/antraege/${id}"]`).click();
      await office.waitForURL(`**/amt/antraege/${id}`);
      await audit(office, "detail");

      // A message without text, then one asking for the birth certificate.
      const messageForm = office.locator('form[action$="/nachricht"]');
      await messageForm.locator("button[type=submit]").click();
      await audit(office, "message-error", { expectError: true });
      await office.locator('textarea[name="text"]').fill("Bitte senden Sie uns die Geburtsurkunde. <b>{{7*7}}</b>");
      await office.locator('input[name="asks_for"][value="geburtsurkunde"]').check();
      await office.locator('form[action$="/nachricht"] button[type=submit]').click();
      await office.waitForURL("**erledigt=nachricht**");
      await audit(office, "message-sent");

      // Her status page: the message as text, the upload it asks for, her answer.
      const mother = await (await signedIn(motherToken, width)).newPage();
      await mother.goto(`/antraege/${id}?lang=${lang}`);
      assert.ok((await mother.locator(".message__text").first().textContent()).includes("<b>{{7*7}}</b>"), "literally");
      assert.equal(await mother.locator('input[type="file"][name="file"]').count(), 1);
      await audit(mother, "status-messages");
      await mother.locator('form[action$="/nachricht"] button[type=submit]').click();
      await audit(mother, "status-message-error", { expectError: true });
      await mother.locator('textarea[name="text"]').fill("Kommt morgen.");
      await mother.locator('form[action$="/nachricht"] button[type=submit]').click();
      await mother.waitForURL("**erledigt=nachricht**");
      await audit(mother, "status-message-sent");

      // The decision: a rejection without a reason, then with one.
      await office.goto(`/amt/antraege/${id}`);
      assert.ok((await office.locator("main").textContent()).includes("Kommt morgen."), "her answer reached the office");
      const reject = office.locator('form:has(input[name="outcome"][value="reject"])');
      await reject.locator("button[type=submit]").click();
      await audit(office, "decision-error", { expectError: true });
      await office.locator('textarea[name="reason"]').fill("Im Register steht eine Sorgeerklärung.");
      await office.locator('form:has(input[name="outcome"][value="reject"]) button[type=submit]').click();
      await office.waitForURL("**erledigt=entscheidung**");
      await audit(office, "after-decision");
      assert.equal(await office.locator('input[name="outcome"]').count(), 0, "nothing left to decide");

      await office.context().close();
      await mother.context().close();
      assert.deepEqual(failures, []);
    });
  }
}

test("a colleague sees who holds a request and cannot decide it; a supervisor takes it over", async () => {
  const id = await requestInReview();
  const meyer = await (await signedIn(staffToken, 1280)).newPage();
  await meyer.goto(`/amt/antraege/${id}?lang=de`);
  await meyer.getByRole("button", { name: "Antrag übernehmen" }).click();
  await meyer.waitForURL("**erledigt=uebernommen**");
  assert.ok((await meyer.locator("#bearbeitung").textContent()).includes("Sie bearbeiten diesen Antrag"));

  const weber = await (await signedIn(await login("staff-bremen-2"), 1280, { staff: true })).newPage();
  await weber.goto(`/amt/antraege/${id}?lang=de`);
  assert.ok((await weber.locator("#bearbeitung").textContent()).includes("Anna Meyer bearbeitet diesen Antrag"));
  assert.equal(await weber.locator('input[name="outcome"]').count(), 0, "no decision for him");
  assert.equal(await weber.locator('form[action$="/nachricht"]').count(), 0, "no message either");
  assert.deepEqual(await axeViolations(weber), []);

  const lead = await (await signedIn(await login("supervisor-bremen"), 1280, { staff: true })).newPage();
  await lead.goto(`/amt/antraege/${id}?lang=de`);
  await lead.getByRole("button", { name: "Antrag selbst übernehmen" }).click();
  await lead.waitForURL("**erledigt=uebernommen**");
  await lead.locator('form:has(input[name="outcome"][value="issue"]) button[type=submit]').click();
  await lead.waitForURL("**erledigt=entscheidung**");
  for (const page of [meyer, weber, lead]) await page.context().close();
});

test("the office's pages work by keyboard alone", async () => {
  const context = await signedIn(staffToken, 1280);
  const page = await context.newPage();
  await page.goto("/amt?lang=de");
  // Tab to the first request of the table and open it with Enter.
  let reached = false;
  for (let step = 0; step < 30 && !reached; step += 1) {
    await page.keyboard.press("Tab");
    reached = await page.evaluate(() => document.activeElement?.getAttribute("href")?.startsWith("/amt/antraege/"));
  }
  assert.ok(reached, "a request is reachable by Tab");
  await page.keyboard.press("Enter");
  await page.waitForURL("**/amt/antraege/**");
  await page.locator('textarea[name="text"]').focus();
  await page.keyboard.type("Per Tastatur geschrieben.");
  // From the text box on to the send button (past the question for a document, if still open).
  const onSendButton = () =>
    page.evaluate(() => document.activeElement?.matches('form[action$="/nachricht"] button[type=submit]') ?? false);
  for (let step = 0; step < 3 && !(await onSendButton()); step += 1) await page.keyboard.press("Tab");
  assert.ok(await onSendButton(), "the send button follows the text box");
  await page.keyboard.press("Enter");
  await page.waitForURL("**erledigt=nachricht**");
  assert.ok((await page.locator(".messages").textContent()).includes("Per Tastatur geschrieben."));
  await context.close();
});
