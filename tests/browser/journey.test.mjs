// The whole citizen journey in a real browser with JavaScript off on a 320 px wide screen:
// pre-check → login → form (her BundID data shown, not asked; a validation error; the session
// ending and a new login that keeps the draft; a refused file) → submit → status → download;
// and the same forms by keyboard alone.

import assert from "node:assert/strict";
import { once } from "node:events";
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { FILES, checkCertificate, screenshot, startBrowser, startRuntime } from "./support.mjs";

let runtime;
let chromium;

before(async () => {
  runtime = await startRuntime();
  chromium = await startBrowser();
});

after(async () => {
  await chromium?.stop();
  await runtime?.stop();
});

async function choose(page, label) {
  await page.getByLabel(label, { exact: true }).check();
}

async function next(page, button = "Weiter") {
  await page.getByRole("button", { name: button, exact: true }).click();
}

test("a mother gets her certificate with JavaScript off on a small screen", async () => {
  const context = await chromium.browser.newContext({
    baseURL: runtime.url,
    javaScriptEnabled: false,
    locale: "de-DE",
    viewport: { width: 320, height: 640 },
    acceptDownloads: true,
  });
  const page = await context.newPage();

  await page.goto("/");
  assert.equal(await page.locator("html").getAttribute("lang"), "de");
  await screenshot(page, "journey-320-01-start");
  await page.getByRole("link", { name: "Jetzt prüfen, ob Sie den Dienst nutzen können" }).click();

  // The pre-check, one question per page.
  await page.waitForURL("**/vorab-check/wer");
  await screenshot(page, "journey-320-02-vorab-frage");
  await choose(page, "Ich bin die Mutter des Kindes");
  await next(page);
  await next(page);
  assert.match(await page.title(), /^Fehler: /, "an empty postcode is an error");
  await page.getByLabel("Wie lautet die Postleitzahl der Mutter?").fill("27472");
  await next(page);
  for (const answer of ["Ja", "Ja", "Nein", "Weiß ich nicht", "Nein", "Nein", "Nein"]) {
    await choose(page, answer);
    await next(page);
  }
  await page.waitForURL("**/vorab-check/ergebnis");
  await page.getByRole("heading", { level: 1, name: "Sie können die Bescheinigung online beantragen" }).waitFor();
  assert.ok(await page.getByText("Jugendamt Landkreis Cuxhaven (Demo)").isVisible());
  await screenshot(page, "journey-320-03-vorab-ergebnis");

  // A back link keeps the answers.
  await page.getByRole("link", { name: "Zurück" }).click();
  assert.ok(await page.getByLabel("Nein", { exact: true }).isChecked());
  await page.goto("/vorab-check/ergebnis");

  await page.getByRole("link", { name: "Weiter zur Anmeldung" }).click();
  await page.waitForURL("**/anmelden?next=%2Fantrag");
  await screenshot(page, "journey-320-04-anmelden");
  await choose(page, "mother");
  await next(page, "Anmelden");

  // The form: who applies (known from the pre-check), the mother (from BundID).
  await page.waitForURL("**/antrag/antragsteller");
  assert.ok(await page.getByLabel("Ich bin die Mutter des Kindes").isChecked());
  const signedInUntil = /Sie sind angemeldet bis zum \d+\. \p{L}+ \d{4}, \d\d:\d\d Uhr\./u;
  assert.ok(await page.getByText(signedInUntil).isVisible(), "she is told until when her login holds");
  await next(page, "Speichern und weiter");
  await page.waitForURL("**/antrag/mutter");
  // Her name, birth date and birth place come from her BundID account: shown, not asked again.
  await page.getByRole("heading", { level: 2, name: "Aus Ihrem BundID-Konto" }).waitFor();
  const known = page.locator("dl.summary");
  assert.ok(await known.getByText("Sophia Beispiel").isVisible());
  assert.ok(await known.getByText("2. Mai 1994").isVisible());
  assert.equal(await page.getByLabel("Vorname oder Vornamen").count(), 0);
  assert.equal(await page.getByLabel("Tag").count(), 0);
  // The address from her account can be corrected: she has moved.
  assert.equal(await page.getByLabel("Straße").inputValue(), "Am Markt");
  await page.getByLabel("Straße").fill("Deichstraße");
  await page.getByLabel("Hausnummer").fill("5");
  await page.getByLabel("Postleitzahl").fill("2747");
  await page.getByLabel("Ort", { exact: true }).fill("Cuxhaven");
  await next(page, "Speichern und weiter");

  // The GOV.UK error pattern: "Fehler:" in the title, a focused summary linking to the field,
  // the message at the field, the input kept.
  assert.match(await page.title(), /^Fehler: Angaben zur Mutter/);
  const summary = page.locator(".error-summary");
  assert.ok(await summary.evaluate((element) => element === document.activeElement), "the summary has the focus");
  const link = summary.getByRole("link", { name: "Bitte geben Sie eine Postleitzahl mit 5 Ziffern an." });
  assert.equal(await link.getAttribute("href"), "#mother-address-postcode");
  assert.equal(await page.getByLabel("Postleitzahl").inputValue(), "2747");
  assert.equal(await page.getByLabel("Straße").inputValue(), "Deichstraße");
  assert.ok(await known.getByText("Sophia Beispiel").isVisible(), "her account's data stay shown");
  await screenshot(page, "journey-320-05-fehler");
  await link.click();
  await page.getByLabel("Postleitzahl").fill("27472");
  await next(page, "Speichern und weiter");

  await page.waitForURL("**/antrag/kind");
  assert.ok(await page.getByText(/Ihr Antrag ist gespeichert bis zum \d+\. \p{L}+ \d{4}\./u).isVisible());
  assert.ok(await page.getByText(signedInUntil).isVisible());

  // Her login ends (the session cookie expires with it): she logs in again and is back on this
  // step, with what she saved.
  await context.clearCookies({ name: "session" });
  await page.reload();
  await page.waitForURL("**/anmelden?next=%2Fantrag%2Fkind");
  await choose(page, "mother");
  await next(page, "Anmelden");
  await page.waitForURL("**/antrag/kind");
  await page.getByRole("link", { name: "Zurück" }).click();
  await page.waitForURL("**/antrag/mutter");
  assert.equal(await page.getByLabel("Straße").inputValue(), "Deichstraße", "her saved address is kept");
  await page.goto("/antrag/kind");
  await page.getByLabel("Vorname oder Vornamen").fill("Mia");
  await page.getByLabel("Familienname bei der Geburt").fill("Beispiel");
  await page.getByLabel("Tag").fill("14");
  await page.getByLabel("Monat").fill("3");
  await page.getByLabel("Jahr").fill("2021");
  await page.getByLabel("Geburtsort").fill("Bremen");
  assert.ok(await page.getByLabel("Nein").isChecked(), "born in Germany, as the pre-check said");
  await next(page, "Speichern und weiter");

  await page.waitForURL("**/antrag/zustellung");
  await choose(page, "Zum Herunterladen in diesem Dienst");
  const email = page.getByLabel("E-Mail-Adresse (freiwillig)");
  assert.equal(await email.inputValue(), "sophia.beispiel@example.org", "her BundID address, offered");
  assert.equal(await email.getAttribute("type"), "email");
  await email.fill("sophia");
  await next(page, "Speichern und weiter");
  assert.ok(await page.locator(".error-message").getByText("E-Mail-Adresse").isVisible(), "a clear field error");
  await choose(page, "Zum Herunterladen in diesem Dienst");
  await page.getByLabel("E-Mail-Adresse (freiwillig)").fill("sophia.beispiel@example.org");
  await next(page, "Speichern und weiter");

  // Cuxhaven wants the birth certificate. The form posts the file straight to the document
  // store (as S3 takes a presigned POST), which sends her back; a file is judged by its
  // content, not its name, and by its size.
  await page.waitForURL("**/antrag/nachweise");
  const upload = async (file) => {
    await page.getByLabel("Geburtsurkunde des Kindes").setInputFiles(file);
    await page.getByRole("button", { name: /^Datei hochladen\W+Geburtsurkunde des Kindes$/ }).click();
  };
  await upload(FILES.fakePdf);
  await page.waitForURL("**/antrag/nachweise/eingang?art=geburtsurkunde**");
  assert.match(await page.title(), /^Fehler: /);
  assert.ok(await page.locator(".error-message").getByText("ist kein PDF, JPEG oder PNG").isVisible());
  await upload(FILES.jpeg(11_000_000));
  assert.ok(await page.locator(".error-message").getByText("ist zu groß").isVisible(), "an 11 MB photo is refused");
  await upload(FILES.jpeg(9_000_000));

  // Check answers, change one, submit.
  await page.waitForURL("**/antrag/pruefen");
  await screenshot(page, "journey-320-06-pruefen");
  assert.ok(await page.getByText("Geburtsurkunde des Kindes.jpg (8,6 MB)").isVisible(), "a 9 MB photo is taken");
  await page.getByRole("link", { name: "Ändern Geburtsort" }).last().click();
  await page.waitForURL("**/antrag/kind?zurueck=pruefen**");
  await next(page, "Speichern und weiter");
  await page.waitForURL("**/antrag/pruefen");
  await page.getByRole("button", { name: "Antrag absenden" }).click();

  await page.waitForURL("**/antrag/eingereicht/*");
  const reference = (await page.locator(".panel .code").textContent()).trim();
  assert.match(reference, /^[0-9a-f-]{36}$/);
  assert.ok(await page.getByText("Wir schreiben Ihnen an sophia.beispiel@example.org").isVisible());
  await screenshot(page, "journey-320-07-eingereicht");

  // The status page; reloaded by hand (no script) until the certificate is there.
  await page.getByRole("link", { name: "Stand Ihres Antrags ansehen" }).click();
  await page.waitForURL(`**/antraege/${reference}`);
  const download = page.getByRole("link", { name: "Bescheinigung herunterladen (PDF)" });
  for (let attempt = 0; !(await download.isVisible()); attempt += 1) {
    assert.ok(attempt < 60, "the certificate was issued within 30 seconds");
    await new Promise((resolve) => setTimeout(resolve, 500));
    await page.reload();
  }
  assert.ok(await page.getByText("Bescheinigung ausgestellt").first().isVisible());
  await screenshot(page, "journey-320-08-status");
  const [file] = await Promise.all([page.waitForEvent("download"), download.click()]);
  const stream = await file.createReadStream();
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  assert.equal(Buffer.concat(chunks).subarray(0, 5).toString(), "%PDF-");

  // Her mails, in the runtime's outbox: received and ready, with the link and nothing else.
  const outbox = join(runtime.dataDir, "outbox");
  for (let attempt = 0; readdirSync(outbox).length < 2; attempt += 1) {
    assert.ok(attempt < 60, "both mails were written within 30 seconds");
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const mails = readdirSync(outbox).map((name) => readFileSync(join(outbox, name), "utf8").replaceAll("=\r\n", ""));
  assert.equal(mails.length, 2);
  for (const mail of mails) {
    assert.ok(mail.includes(`/antraege/${reference}`), "the link to her status page");
    assert.ok(!mail.includes("Mia") && !mail.includes("14.03.2021"), "nothing about the child");
  }

  // A Kita checks the code printed on the certificate.
  const code = (await page.locator("strong.code").textContent()).trim();
  await checkCertificate(page, code.replaceAll(" ", "").toLowerCase(), "2021-03-14");
  await page.getByRole("heading", { level: 1, name: "Die Bescheinigung ist echt" }).waitFor();
  await screenshot(page, "journey-320-09-pruefen");

  // Someone else's status page does not exist for her.
  const stranger = await page.goto("/antraege/00000000-0000-0000-0000-000000000000");
  assert.equal(stranger.status(), 404);
  assert.equal(await page.locator("h1").textContent(), "Diese Seite gibt es nicht");
  await context.close();
});

test("the pre-check can be answered by keyboard alone, starting at the skip link", async () => {
  const context = await chromium.browser.newContext({ baseURL: runtime.url, javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/vorab-check/wer?lang=en");
  await page.keyboard.press("Tab");
  const skip = page.getByRole("link", { name: "Skip to main content" });
  assert.ok(await skip.evaluate((element) => element === document.activeElement), "the skip link comes first");
  await page.keyboard.press("Enter");
  // Into the radios (Tab), pick the second answer (arrow key), on to the button, send.
  await page.keyboard.press("Tab");
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("Tab");
  await page.keyboard.press("Enter");
  await page.waitForURL("**/vorab-check/wohnort");
  assert.equal(await page.locator("html").getAttribute("lang"), "en", "the language is remembered");
  await page.keyboard.press("Tab");
  await page.keyboard.press("Enter");
  await page.keyboard.press("Tab");
  await page.keyboard.type("28195");
  await page.keyboard.press("Enter");
  await page.waitForURL("**/vorab-check/alter-kind");
  await page.goto("/vorab-check/wer");
  assert.ok(await page.getByLabel("I have the mother's written power of attorney").isChecked());
  await context.close();
});

test("a form posted from another site is refused, even with the session cookie", async () => {
  const context = await chromium.browser.newContext({ baseURL: runtime.url, javaScriptEnabled: false, locale: "de-DE" });
  const page = await context.newPage();
  await page.goto("/anmelden");
  await page.getByLabel("other-mother", { exact: true }).check();
  await page.getByRole("button", { name: "Anmelden" }).click();
  await page.waitForURL("**/antrag/antragsteller");

  // Another site (a page on "localhost", which is not "127.0.0.1" to the browser) posts a form
  // to the service; the session cookie would not even travel (SameSite=Lax), and the service
  // refuses the post.
  const attacker = createServer((_, response) => {
    response.setHeader("content-type", "text/html; charset=utf-8");
    response.end(
      `<!doctype html><title>x</title><form method="post" action="${runtime.url}/antrag/antragsteller">` +
        `<input name="applicant.role" value="representative"><button>go</button></form>`,
    );
  });
  attacker.listen(0, "127.0.0.1");
  await once(attacker, "listening");
  await page.goto(`http://localhost:${attacker.address().port}/`);
  const [response] = await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "go" }).click()]);
  attacker.close();
  assert.equal(response.status(), 403);
  assert.equal(await page.locator("h1").textContent(), "Diese Aktion wurde aus Sicherheitsgründen abgebrochen");
  await page.goto("/antrag/antragsteller");
  assert.equal(
    await page.getByLabel("Ich habe eine schriftliche Vollmacht der Mutter").isChecked(),
    false,
    "nothing was saved",
  );
  await context.close();
});
