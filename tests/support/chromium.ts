import { mkdir, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Browser, chromium } from 'playwright-core'

/** Debian's Chromium, headless, with nothing of its own going to the network. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
}

/** Writes a page's screenshot to docs/images/<name> when UPDATE_SCREENSHOTS is set. */
export async function keepScreenshot(name: string, image: Uint8Array): Promise<void> {
  if (!process.env.UPDATE_SCREENSHOTS) return
  const path = fileURLToPath(new URL(`../../docs/images/${name}`, import.meta.url))
  await mkdir(dirname(path), { recursive: true })
  await writeFile(path, image)
}
