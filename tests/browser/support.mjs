// What the browser tests share: the runtime binary on a free port with its own data, Debian's
// Chromium driven over the DevTools protocol, axe-core, and screenshots for CI.

import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const repository = resolve(here, "../..");

/** Screenshots and other artifacts for CI (git ignores tests/output). */
export const OUTPUT = join(repository, "tests", "output", "screenshots");

/** The flags Chromium runs with, and only these (plus the DevTools port and a throwaway profile). */
export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** The WCAG levels every page must meet. */
export const AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];

export const LANGUAGES = ["de", "ls", "en"];
export const WIDTHS = [320, 1280];

function binary() {
  const targets = [process.env.CARGO_TARGET_DIR, join(repository, "target")].filter(Boolean);
  const found = targets.map((dir) => join(dir, "debug", "sorgeregister")).find(existsSync);
  if (!found) {
    throw new Error(`sorgeregister binary not found in ${targets.join(" or ")}: run \`cargo build --bin sorgeregister\``);
  }
  return found;
}

/** Reads lines of `stream` until one matches `pattern`; returns the match. */
async function firstMatch(stream, pattern, what) {
  const lines = createInterface({ input: stream });
  for await (const line of lines) {
    const match = line.match(pattern);
    if (match) {
      lines.close();
      return match;
    }
  }
  throw new Error(`${what} ended before printing ${pattern}`);
}

/** Starts the local runtime on a free port (or `env.PORT`) with a fresh data directory. */
export async function startRuntime(env = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), "sorgeregister-browser-"));
  const child = spawn(binary(), [], {
    env: { ...process.env, PORT: "0", DATA_DIR: dataDir, RUST_LOG: process.env.RUST_LOG ?? "warn", ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const [, url] = await firstMatch(child.stdout, /(http:\/\/\S+?)\/?$/, "the runtime");
  child.stdout.resume();
  return {
    url,
    dataDir,
    async stop() {
      child.kill("SIGTERM");
      if (child.exitCode === null) await once(child, "exit");
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Starts Chromium with exactly CHROMIUM_FLAGS and connects to it. */
export async function startBrowser() {
  const profile = mkdtempSync(join(tmpdir(), "sorgeregister-chromium-"));
  const executable = process.env.CHROMIUM ?? "/usr/bin/chromium";
  const child = spawn(executable, [...CHROMIUM_FLAGS, "--remote-debugging-port=0", `--user-data-dir=${profile}`], {
    stdio: ["ignore", "ignore", "pipe"],
    // Its own process group, so that stop() ends the helper processes too.
    detached: true,
  });
  const [, endpoint] = await firstMatch(child.stderr, /DevTools listening on (ws:\/\/\S+)/, "Chromium");
  child.stderr.resume();
  const browser = await chromium.connectOverCDP(endpoint);
  return {
    browser,
    async stop() {
      await browser.close().catch(() => {});
      const exited = child.exitCode === null ? once(child, "exit") : Promise.resolve();
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        // The group is gone already.
      }
      await exited;
      // A helper process may still be closing files; a left-over profile is no test failure.
      try {
        rmSync(profile, { recursive: true, force: true, maxRetries: 20, retryDelay: 250 });
      } catch (error) {
        console.warn(`Chromium profile ${profile} not removed: ${error.message}`);
      }
    },
  };
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/**
 * Runs axe on the page; returns the violations, each as a readable line.
 * (The pages allow no scripts; the test context bypasses the CSP to inject axe.)
 */
export async function axeViolations(page) {
  await page.addScriptTag({ content: axeSource });
  const violations = await page.evaluate(async (tags) => {
    const results = await globalThis.axe.run(document, { runOnly: { type: "tag", values: tags } });
    return results.violations.map((v) => `${v.id}: ${v.help} – ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  }, AXE_TAGS);
  return violations;
}

/** Saves a full-page screenshot under tests/output/screenshots. */
export async function screenshot(page, name) {
  mkdirSync(OUTPUT, { recursive: true });
  await page.screenshot({ path: join(OUTPUT, `${name}.png`), fullPage: true });
}

/** A tiny PNG (1×1 pixel) and a file that only pretends to be a PDF. */
export const FILES = {
  png: {
    name: "geburtsurkunde.png",
    mimeType: "image/png",
    buffer: Buffer.from(
      "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
      "base64",
    ),
  },
  fakePdf: { name: "urkunde.pdf", mimeType: "application/pdf", buffer: Buffer.from("MZ this is no PDF") },
  /** A phone photo of `size` bytes: a JPEG by its first bytes. */
  jpeg: (size) => {
    const buffer = Buffer.alloc(size, 0x5a);
    Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00]).copy(buffer);
    return { name: "foto.jpg", mimeType: "image/jpeg", buffer };
  },
};

/** Checks a certificate as a Kita does: the QR code's page (`/pruefen/{code}`), then the child's
 * date of birth (`YYYY-MM-DD`) typed into its boxes and the form sent. */
export async function checkCertificate(page, code, birthDate) {
  await page.goto(`/pruefen/${code}`);
  const [year, month, day] = birthDate.split("-");
  await page.fill('input[name="geburtsdatum.day"]', String(Number(day)));
  await page.fill('input[name="geburtsdatum.month"]', String(Number(month)));
  await page.fill('input[name="geburtsdatum.year"]', year);
  await page.locator('form[action="/pruefen"] button[type=submit]').click();
  await page.waitForLoadState();
}
