import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import { startPlaybook } from '../../src/client/playbooks';
import { startStubWorker } from '../helpers/playbook';
import { eventually, REPO_ROOT, stack, uniqueId } from '../helpers/stack';
import { statusQuery } from '../../workflows/framework';
import { failbackGateStubs } from '../browser/failback-stubs';

async function main() {
  const example = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'docs/examples/failback.json'), 'utf8'));
  const harness = await startStubWorker({ name: 'uiprobe', activities: failbackGateStubs });
  const wid = `ui-probe-${uniqueId()}`;
  const started = await startPlaybook(harness.client, 'failback', example, { taskQueue: harness.taskQueue, workflowId: wid });
  await eventually('gate', async () => ((await started.handle.query(statusQuery)).openGate ? true : undefined), 90_000);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'] });
  const page = await browser.newPage({ viewport: { width: 1400, height: 1400 } });
  await page.goto(`${stack.temporal.uiUrl}/namespaces/default/workflows/${wid}`);
  await page.waitForTimeout(8000);
  await page.screenshot({ path: '/tmp/ui-probe.png', fullPage: true });
  fs.writeFileSync('/tmp/ui-probe.txt', await page.locator('main').innerText());
  await started.handle.terminate('probe');
  await browser.close();
  await harness.close();
}
main().catch((e) => { console.error(e); process.exit(1); });
