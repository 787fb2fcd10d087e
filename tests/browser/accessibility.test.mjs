// axe-core (WCAG 2.0/2.1 A and AA, WCAG 2.2 AA) on every page and every error state, in all
// three languages, on a 320 px and a 1280 px wide screen. Forms are driven by field names, so the
// same walk works in every language.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { FILES, LANGUAGES, WIDTHS, axeViolations, checkCertificate, screenshot, startBrowser, startRuntime } from "./support.mjs";

let runtime;
let chromium;
let checks = 0;

before(async () => {
  runtime = await startRuntime();
  chromium = await startBrowser();
});

after(async () => {
  console.log(`axe checks run: ${checks}`);
  await chromium?.stop();
  await runtime?.stop();
});

const submit = (page) => page.locator("main form button[type=submit]").last().click();
// The results page has its choice above a search form.
const choose = (page) => page.locator('main form[method="post"] button[type=submit]').click();

for (const lang of LANGUAGES) {
  for (const width of WIDTHS) {
    test(`every page and error state passes axe in ${lang} at ${width} px`, async () => {
      // axe is injected as a script; the pages themselves allow none.
      const context = await chromium.browser.newContext({
        baseURL: runtime.url,
        bypassCSP: true,
        viewport: { width, height: 900 },
      });
      const page = await context.newPage();
      const failures = [];
      const audit = async (state, { expectError = false, shot = false, errorPage = null } = {}) => {
        // A page that failed to render would still pass axe: it must be the page we expect.
        const errorMark = page.locator("[data-error]");
        const shown = (await errorMark.count()) > 0 ? await errorMark.getAttribute("data-error") : null;
        assert.equal(shown, errorPage, state);
        const title = await page.title();
        assert.equal(title.startsWith("Fehler:") || title.startsWith("Error:"), expectError, `${state}: ${title}`);
        assert.equal(await page.locator("html").getAttribute("lang"), lang === "en" ? "en" : "de", state);
        const violations = await axeViolations(page);
        checks += 1;
        failures.push(...violations.map((v) => `${state} (${page.url()}): ${v}`));
        if (shot && width === 1280) await screenshot(page, `${lang}-${width}-${state}`);
        // Reflow: nothing wider than the screen (WCAG 1.4.10).
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 0, `${state} scrolls sideways by ${overflow} px at ${width} px`);
      };

      await page.goto(`/?lang=${lang}`);
      await audit("start", { shot: true });
      for (const path of ["/faq", "/barrierefreiheit", "/pruefen"]) {
        await page.goto(path);
        await audit(path.slice(1), { shot: path === "/faq" });
      }
      await page.fill('input[name="code"]', "12");
      await page.locator('form[action="/pruefen"] button[type=submit]').click();
      await audit("pruefen-fehler", { expectError: true });
      await checkCertificate(page, "AAAAAAAAAAAAAAAAAAAA", "2021-03-14");
      await audit("pruefen-unbekannt");
      await page.goto("/gibt-es-nicht");
      await audit("nicht-gefunden", { errorPage: "not_found" });

      // The pre-check: every question, empty first (error), then answered.
      const answers = [
        ["applicant", "mother"],
        ["residence_postcode", "27472"],
        ["child_under_18", "yes"],
        ["mother_adult", "yes"],
        ["married_to_father", "no"],
        ["sorgeerklaerung", "unknown"],
        ["court_decision", "no"],
        ["foreign_joint_custody", "no"],
        ["child_born_abroad", "no"],
      ];
      await page.goto("/vorab-check");
      for (const [field, value] of answers) {
        await audit(`vorab-${field}`, { shot: field === "applicant" });
        await submit(page);
        await audit(`vorab-${field}-fehler`, { expectError: true, shot: field === "applicant" });
        if (field === "residence_postcode") {
          await page.fill(`input[name="${field}"]`, value);
        } else {
          await page.check(`input[name="${field}"][value="${value}"]`);
        }
        await submit(page);
      }
      await page.waitForURL("**/vorab-check/ergebnis");
      await audit("vorab-ergebnis", { shot: true });
      await page.goto("/vorab-check/wer?zurueck=ergebnis");
      await page.check('input[name="applicant"][value="other"]');
      await submit(page);
      await page.waitForURL("**/vorab-check/ergebnis");
      await audit("vorab-ergebnis-nein", { shot: true });
      await page.goto("/vorab-check/wer?zurueck=ergebnis");
      await page.check('input[name="applicant"][value="mother"]');
      await submit(page);

      // Sign in.
      await page.goto("/anmelden?next=/antrag");
      await audit("anmelden", { shot: true });
      await submit(page);
      await audit("anmelden-fehler", { expectError: true });
      await page.check('input[name="persona"][value="mother"]');
      await submit(page);

      // The form, each step with an error first.
      await page.waitForURL("**/antrag/antragsteller");
      await audit("antrag-antragsteller", { shot: true });
      await page.check('input[name="applicant.role"][value="representative"]');
      await page.fill('input[name="applicant.representative.given_names"]', "");
      await submit(page);
      await audit("antrag-antragsteller-fehler", { expectError: true });
      await page.check('input[name="applicant.role"][value="mother"]');
      await submit(page);

      // Her name, birth date and birth place are shown from her BundID account; the rest is asked.
      await page.waitForURL("**/antrag/mutter");
      await audit("antrag-mutter", { shot: true });
      assert.equal(await page.locator('input[name="mother.given_names"]').count(), 0, "not asked again");
      await page.fill('input[name="mother.address.street"]', "");
      await page.fill('input[name="mother.address.postcode"]', "2819");
      await page.fill('input[name="mother.birth_name"]', "Muster1");
      await submit(page);
      await audit("antrag-mutter-fehler", { expectError: true, shot: true });
      // 27568 is Bremen's and Bremerhaven's: she chooses her municipality.
      await page.fill('input[name="mother.address.street"]', "Deichstraße");
      await page.fill('input[name="mother.address.postcode"]', "27568");
      await page.fill('input[name="mother.birth_name"]', "");
      await submit(page);
      await audit("antrag-mutter-gemeinde", { expectError: true, shot: true });
      assert.equal(await page.locator('input[name="mother.address.municipality"]').count(), 2);
      await page.fill('input[name="mother.address.postcode"]', "27472");
      await page.fill('input[name="mother.address.city"]', "Cuxhaven");
      await page.fill('input[name="mother.birth_name"]', "");
      await submit(page);

      await page.waitForURL("**/antrag/kind");
      await audit("antrag-kind", { shot: true });
      await page.fill('input[name="child.birth_date.year"]', "2099");
      await submit(page);
      await audit("antrag-kind-fehler", { expectError: true });
      await page.fill('input[name="child.given_names"]', "Mia");
      await page.fill('input[name="child.family_name"]', "Beispiel");
      await page.fill('input[name="child.birth_date.day"]', "14");
      await page.fill('input[name="child.birth_date.month"]', "3");
      await page.fill('input[name="child.birth_date.year"]', "2021");
      // Eleven municipalities are called Neuenkirchen: she picks hers on the results page.
      await page.fill('input[name="child.birth_place"]', "Neuenkirchen");
      await page.check('input[name="child.born_abroad"][value="no"]');
      await submit(page);
      await page.waitForURL("**/antrag/geburtsort");
      await audit("antrag-geburtsort", { shot: true });
      await choose(page);
      await audit("antrag-geburtsort-fehler", { expectError: true });
      await page.check('input[name="child.birth_municipality"][value="03352038"]');
      await choose(page);

      await page.waitForURL("**/antrag/zustellung");
      await audit("antrag-zustellung");
      await submit(page);
      await audit("antrag-zustellung-fehler", { expectError: true });
      await page.check('input[name="delivery"][value="download"]');
      await submit(page);

      await page.waitForURL("**/antrag/nachweise");
      await audit("antrag-nachweise", { shot: true });
      await submit(page);
      await audit("antrag-nachweise-fehlt", { expectError: true });
      await page.setInputFiles('input[type="file"]', FILES.fakePdf);
      await submit(page);
      await audit("antrag-nachweise-falsch", { expectError: true });
      await page.setInputFiles('input[type="file"]', FILES.png);
      await submit(page);

      await page.waitForURL("**/antrag/pruefen");
      await audit("antrag-pruefen", { shot: true });
      await page.goto("/antrag/nachweise");
      await audit("antrag-nachweise-hochgeladen");
      await page.goto("/antrag/pruefen");
      await submit(page);

      await page.waitForURL("**/antrag/eingereicht/*");
      await audit("antrag-eingereicht", { shot: true });
      const status = page.url().replace("/antrag/eingereicht/", "/antraege/");
      await page.goto(status);
      await audit("antrag-status-offen");
      const download = page.locator(`a[href$="/bescheinigung"]`);
      for (let attempt = 0; !(await download.isVisible()); attempt += 1) {
        assert.ok(attempt < 60, "the certificate was issued within 30 seconds");
        await new Promise((resolve) => setTimeout(resolve, 500));
        await page.reload();
      }
      await audit("antrag-status-ausgestellt", { shot: true });
      // Her mails about the request, switched off on the status page (and on again).
      const mailSwitch = page.locator(`form[action$="/benachrichtigungen"] button`);
      assert.equal(await mailSwitch.count(), 1, "the page offers to switch her mails off");
      await mailSwitch.click();
      await page.waitForURL("**?erledigt=mail_off#benachrichtigungen");
      await audit("antrag-status-ohne-mails");
      await page.locator(`form[action$="/benachrichtigungen"] button`).click();
      await page.waitForURL("**?erledigt=mail_on#benachrichtigungen");
      // Her list, reached from the header, links the request she just made.
      await page.getByRole("link", { name: lang === "en" ? "My applications" : "Meine Anträge" }).click();
      await page.waitForURL("**/antraege");
      assert.equal(await page.locator(`a[href="${new URL(status).pathname}"]`).count(), 1, "her request is listed");
      await audit("antraege", { shot: true });
      await page.goto(status);
      const code = (await page.locator("strong.code").textContent()).replaceAll(" ", "");
      await page.goto(`/pruefen/${code}`);
      await audit("pruefen-datum");
      await checkCertificate(page, code, "2021-03-14");
      assert.equal(await page.locator(".notice--success").count(), 1, "genuine");
      await audit("pruefen-echt", { shot: true });

      await context.close();
      assert.deepEqual(failures, [], `axe found violations:\n${failures.join("\n")}`);
    });
  }
}
