import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import type { failback } from '../../workflows/failback';
import { startPlaybook } from '../../src/client/playbooks';
import { gateOpen as gateOpenWithin, startStubWorker, workflowFailure, type StubWorker } from '../helpers/playbook';
import { eventually, REPO_ROOT, stack, uniqueId } from '../helpers/stack';
import { failbackStubs } from '../helpers/failback-stubs';

/**
 * The operator's Temporal UI path, in a real headless Chromium against the stack's
 * Temporal UI: find a running failback by search attribute, see it Running, run the
 * `status` query and read the open gate, read the search attributes, approve the gate
 * with the `approve` signal; start a playbook from the Start Workflow form with a bad
 * JSON input and read the field-level failure. The worker runs the real
 * workflows with stub activities (the claim is about the UI, not about Kafka).
 *
 * On a failure the page is saved as a PNG in a temp dir named in the error.
 */

/** Debian's package `chromium` (scripts/kdr.sh installs it). */
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'];
// The UI renders from API calls after navigation; on 2 shared cores that can take a while.
const UI_TIMEOUT_MS = 30_000;

// A machine busy enough to slow a dozen stub activities: more room than the workflow tests need.
const gateOpen = (h: WorkflowHandle, gate: string) => gateOpenWithin(h, gate, 90_000);

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const example = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'docs/examples/failback.json'), 'utf8')) as Record<string, unknown>;

describe('Temporal UI in headless Chromium', { timeout: 300_000 }, () => {
  const ns = encodeURIComponent(stack.temporal.namespace);
  const ui = `${stack.temporal.uiUrl}/namespaces/${ns}`;
  // Created on the first failure only, so a green run leaves nothing behind.
  let shots: string | undefined;
  let harness: StubWorker;
  let browser: Browser;
  let page: Page;
  let running: WorkflowHandle<typeof failback>;

  before(async () => {
    assert.ok(
      fs.existsSync(CHROMIUM),
      `${CHROMIUM} not found: install Debian's package chromium (apt-get install -y chromium); npm test does it when run as root`,
    );
    harness = await startStubWorker({ name: 'ui', activities: failbackStubs });
    // Started as the CLI and incident tooling start it: with the UI's summary and details.
    const started = await startPlaybook(harness.client, 'failback', example, {
      taskQueue: harness.taskQueue,
      workflowId: `ui-failback-${uniqueId()}`,
    });
    running = started.handle as WorkflowHandle<typeof failback>;
    await gateOpen(running, 'consumers-cutover');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.setDefaultTimeout(UI_TIMEOUT_MS);
  });

  after(async () => {
    // Terminate, not abort: an abort would run the failback's compensation against the stubs.
    await running?.terminate('browser test finished').catch(() => undefined);
    await browser?.close();
    await harness?.close();
  });

  /** Runs a UI check; on failure saves the page and names the file in the error. */
  async function onPage(label: string, check: () => Promise<void>): Promise<void> {
    try {
      await check();
    } catch (err) {
      shots ??= fs.mkdtempSync(path.join(os.tmpdir(), 'kafka-dr-ui-'));
      const file = path.join(shots, `${label}.png`);
      const saved = await page.screenshot({ path: file, fullPage: true }).then(
        () => `screenshot ${file}`,
        (e: unknown) => `no screenshot: ${String(e)}`,
      );
      // A new error: the reporter prints an error's stack, fixed when it was created.
      throw new Error(`UI check '${label}' failed on ${page.url()} (${saved})`, { cause: err });
    }
  }

  /** Visibility lags the workflow a little: reload the page until `target` shows. */
  async function gotoUntilVisible(url: string, target: Locator): Promise<void> {
    await eventually(
      `${url} to show ${target.toString()}`,
      async () => {
        await page.goto(url);
        return target.waitFor({ timeout: 20_000 }).then(() => true);
      },
      90_000,
      0,
    );
  }

  /** Opens the workflow's page, unless it is open already (each load of the UI costs seconds on a busy machine). */
  async function openWorkflow(workflowId: string): Promise<void> {
    if (!page.url().includes(`/workflows/${workflowId}/`)) await page.goto(`${ui}/workflows/${workflowId}`);
  }

  /**
   * Clicks a form's submit button after moving the focus to it. The UI reformats the JSON
   * editor when it loses focus, which grows the form: a click that itself takes the focus
   * away presses down on the button and releases where it no longer is (nothing is sent).
   */
  async function submitAfterBlur(button: Locator): Promise<void> {
    await button.focus();
    await button.click();
  }

  /** The text of the CodeMirror block holding `marker` (the UI renders JSON results in CodeMirror). */
  function codeBlock(marker: string): Locator {
    return page.locator('.cm-content').filter({ hasText: marker });
  }

  it('lists the running failback under a KafkaDrPlaybook filter and opens it as Running', async () => {
    await onPage('list', async () => {
      const row = page.getByRole('row').filter({ hasText: running.workflowId });
      // Control: the filter is applied, not ignored (this task queue runs no failover).
      await page.goto(`${ui}/workflows?query=${encodeURIComponent(`KafkaDrPlaybook="failover" AND TaskQueue="${harness.taskQueue}"`)}`);
      await page.getByText('No Workflows Found').waitFor();
      assert.equal(await row.count(), 0, 'a failover filter does not list the failback');

      const query = `KafkaDrPlaybook="failback" AND TaskQueue="${harness.taskQueue}"`;
      await gotoUntilVisible(`${ui}/workflows?query=${encodeURIComponent(query)}`, row);
      const cells = await row.innerText();
      assert.match(cells, /RUNNING/, 'status column');
      assert.match(cells, /\bfailback\b/, 'workflow type column');

      await row.getByRole('link', { name: running.workflowId }).first().click();
      await page.waitForURL(new RegExp(`/workflows/${running.workflowId}/`));
      await page.getByRole('heading', { name: running.workflowId }).waitFor();
      assert.match(await page.locator('main').innerText(), new RegExp(`RUNNING\\s+${running.workflowId}`), 'Running badge beside the ID');
    });
  });

  it('runs the status query from the Queries tab and shows the open gate', async () => {
    await onPage('query', async () => {
      await openWorkflow(running.workflowId);
      await page.getByRole('tab', { name: 'Queries' }).click();
      // The query types come from the worker; pick ours explicitly rather than trust the default.
      await page.getByTestId('query-select-button').click();
      await page.getByRole('option', { name: /^status/ }).click();
      await page.getByRole('button', { name: 'Run Query' }).click();
      await codeBlock('"playbook"').waitFor();
      // Formatted, CodeMirror only renders the lines in view; unformatted, the whole result is one line.
      await page.getByText('JSON Formatting').click();
      const raw = await codeBlock('"playbook":"failback"').innerText();
      const status = JSON.parse(raw) as { state: string; phase: string; openGate: { name: string; description: string } | null };
      assert.equal(status.state, 'running');
      assert.equal(status.openGate?.name, 'consumers-cutover');
      assert.match(status.openGate.description, /billing-svc, shipping-svc/, 'what approving will do, naming the groups');
      assert.equal(status.phase, 'awaiting-approval:consumers-cutover');
    });
  });

  it('shows the summary, the details and the open gate in User Metadata, and activity summaries in the timeline', async () => {
    await onPage('user-metadata', async () => {
      await openWorkflow(running.workflowId);
      await page.getByRole('tab', { name: 'User Metadata' }).click();
      // The UI renders each markdown field in a sandboxed iframe of its own (/render?content=...).
      await page.frameLocator('iframe').last().getByText('Waiting for approval:').waitFor();
      const rendered = page.frames().filter((f) => f.url().includes('/render?'));
      const text = (await Promise.all(rendered.map((f) => f.locator('body').innerText()))).join('\n');
      assert.match(text, /failback B → A, requested by alice@example\.com/, 'static summary');
      assert.match(text, /topics: orders, payments/, 'static details');
      assert.match(text, /Waiting for approval: consumers-cutover/, 'current details: the open gate');
      assert.match(text, /Approving: stop consumer groups billing-svc, shipping-svc/, 'what approving does');
      assert.match(text, new RegExp(`kafka-dr approve ${escapeRegExp(running.workflowId)} consumers-cutover --as`), 'how to approve');
      await page.getByRole('tab', { name: 'Timeline' }).click();
      await page.getByText('plan where reverse replication starts').first().waitFor();
    });
  });

  it('shows the playbook search attributes', async () => {
    await onPage('search-attributes', async () => {
      await openWorkflow(running.workflowId);
      await page.getByRole('tab', { name: 'Search Attributes' }).click();
      const text = await codeBlock('KafkaDrPlaybook').innerText();
      // Whitespace-tolerant: the JSON Formatting switch (used above) may be remembered.
      assert.match(text, /"KafkaDrPlaybook":\s*"failback"/);
      assert.match(text, /"KafkaDrClusterPair":\s*"A~B"/);
      assert.match(text, /"KafkaDrPhase":\s*"awaiting-approval:consumers-cutover"/);
    });
  });

  // After the checks on the consumers-cutover gate above: this moves the failback on.
  it('approves the open gate with the approve signal sent from the UI', async () => {
    await onPage('signal', async () => {
      await openWorkflow(running.workflowId);
      await page.getByRole('button', { name: 'More Actions' }).click();
      await page.getByRole('menuitem', { name: 'Send a Signal' }).first().click();
      const dialog = page.locator('dialog[open]');
      // The signal names come from the worker (the workflow's metadata): ours are offered.
      await dialog.getByTestId('signal-select-button').click();
      await dialog.getByRole('option', { name: 'approve', exact: true }).click();
      await dialog.getByRole('textbox', { name: 'Data' }).click();
      await page.keyboard.insertText('{"gate": "consumers-cutover", "by": "bob@example.com", "comment": "from the UI"}');
      await submitAfterBlur(dialog.getByRole('button', { name: 'Submit' }));
      await dialog.waitFor({ state: 'hidden' });
    });
    const next = await gateOpen(running, 'stop-producers');
    const decision = next.decisions.find((d) => d.gate === 'consumers-cutover');
    assert.equal(decision?.decision, 'approved');
    assert.equal(decision?.by, 'bob@example.com');
    assert.equal(decision?.via, 'signal');
    assert.equal(decision?.comment, 'from the UI');
  });

  it('starts a failback from the Start Workflow form; a bad input fails it with the field-level message', async () => {
    const workflowId = `ui-failback-bad-${uniqueId()}`;
    const bad: Record<string, unknown> = { ...example, primary: 'A!', topics: [] };
    delete bad.requestedBy;
    await onPage('start-bad', async () => {
      await page.goto(`${ui}/workflows/start-workflow`);
      await page.getByLabel('Workflow ID').fill(workflowId);
      await page.getByLabel('Task Queue').fill(harness.taskQueue);
      await page.getByLabel('Workflow Type').fill('failback');
      // What an operator pasting JSON does; CodeMirror takes inserted text as one edit (no auto-closed brackets).
      await page.getByRole('textbox', { name: 'Data' }).click();
      await page.keyboard.insertText(JSON.stringify(bad, null, 2));
      await submitAfterBlur(page.getByRole('button', { name: 'Start Workflow' }));
    });

    const handle = harness.client.workflow.getHandle(workflowId);
    await eventually('the UI-started workflow to exist', () => handle.describe(), 30_000, 250);
    const failure = await workflowFailure(handle);
    assert.equal(failure.type, 'InvalidInput');
    assert.equal(failure.nonRetryable, true);
    for (const field of ['primary: must be a cluster alias', 'topics: must list at least one topic', 'requestedBy: ']) {
      assert.ok(failure.message.includes(field), `the failure names ${field}: ${failure.message}`);
    }

    await onPage('failed', async () => {
      await page.goto(`${ui}/workflows/${workflowId}`);
      await page.getByRole('heading', { name: workflowId }).waitFor();
      assert.match(await page.locator('main').innerText(), new RegExp(`FAILED\\s+${workflowId}`), 'Failed badge beside the ID');
      // The result panel shows the failure: the same field-level message the client got.
      const result = await codeBlock('workflowExecutionFailedEventAttributes').innerText();
      assert.match(
        result,
        new RegExp(`"message":\\s*${escapeRegExp(JSON.stringify(failure.message))}`),
        `UI result panel shows the message; got:\n${result.slice(0, 600)}`,
      );
      assert.match(result, /"type":\s*"InvalidInput"/);
    });
  });
});
