// Headless Debian Chromium for the dashboard tests, driven by playwright-core (no browser is
// downloaded); as root, with nothing fetched in the background (design.md).
import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";
import { requirePackage } from "./requires.js";

const CHROMIUM = "/usr/bin/chromium";
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** How long a dashboard test waits for the page to show something. */
export const WAIT_MS = 15_000;

/** Fails with the reason when Chromium is missing (npm test installs it as root). */
export function requireChromium(): void {
  requirePackage(existsSync(CHROMIUM), CHROMIUM, "chromium");
}

/** A fresh browser with a temporary profile. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
}
