// The console page: one EventSource on /console/events (a snapshot, then updates), a form that places an
// order through the gateway as the seed's curl does, and a search that asks GET /orders/{id}.
import './style.css';
import { OrdersChart } from './chart';
import { current, setLanguage, t } from './i18n';
import type { Health, Row, Stage, Status, Story, Update } from './model';

const FEED_ROWS = 30;

const $ = <T extends HTMLElement>(id: string): T => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`no #${id}`);
  return element as T;
};

let status: Status | null = null;
const rows = new Map<string, Row>(); // by order id, oldest first
const chart = new OrdersChart($('chart'));

function element(tag: string, attributes: Record<string, string> = {}, text = ''): HTMLElement {
  const e = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) e.setAttribute(key, value);
  if (text) e.textContent = text;
  return e;
}

function time(ms: number): string {
  return new Date(ms).toLocaleTimeString(current() === 'zh' ? 'zh-CN' : 'en-GB', { hour12: false });
}

function regionName(partition: number): string {
  return status?.regions[partition]?.name ?? `partition-${partition}`;
}

function dot(health: Health): HTMLElement {
  const state = health.reachable === null ? 'unknown' : !health.reachable ? 'down' : health.ready ? 'ready' : 'not_ready';
  const label = state === 'unknown' ? t('unknown') : t(state as 'down' | 'ready' | 'not_ready');
  const e = element('span', {
    class: `dot ${state}`,
    title: health.reason ? `${label}: ${health.reason}` : label,
    'data-testid': `health-${health.instance}`,
    'data-state': state,
  });
  return e;
}

function node(title: string, health: Health | null, detail: string, testid: string): HTMLElement {
  const box = element('div', { class: 'node', 'data-testid': testid });
  const head = element('div', { class: 'node-title' });
  if (health) head.append(dot(health));
  head.append(document.createTextNode(title));
  box.append(head);
  if (detail) box.append(element('div', { class: 'node-detail' }, detail));
  return box;
}

function renderMap(): void {
  const map = $('map');
  map.replaceChildren();
  if (!status) return;
  for (const region of status.regions) {
    const line = element('div', { class: 'map-line', 'data-testid': `map-region-${region.partition}` });
    line.append(
      node(region.name, null, `${t('region')} ${region.partition}`, `map-name-${region.partition}`),
      element('span', { class: 'arrow' }, '→'),
      node(region.order.instance, region.order, '', `map-order-${region.partition}`),
      element('span', { class: 'arrow' }, '→'),
      node(
        `${t('partition')} ${region.partition}`,
        null,
        // The partition's end, as its warehouse last saw it: what it has shipped plus what it has still to ship.
        region.shipped_through === null ? '' : `${t('end_offset')} ${region.shipped_through + (region.warehouse_lag ?? 0)}`,
        `map-partition-${region.partition}`,
      ),
      element('span', { class: 'arrow' }, '→'),
      node(region.repository.instance, region.repository, `${t('lag')} ${region.warehouse_lag ?? '–'}`, `map-repository-${region.partition}`),
    );
    map.append(line);
  }
  const statistics = element('div', { class: 'map-line statistics' });
  const lags = status.regions.map((r) => r.statistics_lag ?? '–').join(' / ');
  statistics.append(
    element('span', { class: 'arrow' }, `${t('partition')} ${status.regions.map((r) => r.partition).join(', ')} →`),
    node('statistics', status.statistics, `${t('lag')} ${lags}`, 'map-statistics'),
  );
  map.append(statistics);
}

function renderFigures(): void {
  const body = $('figures');
  body.replaceChildren();
  if (!status) return;
  for (const region of status.regions) {
    const tr = element('tr', { 'data-testid': `figures-${region.partition}` });
    tr.append(
      element('td', {}, region.name),
      element('td', { 'data-testid': `orders-${region.partition}` }, String(region.orders)),
      element('td', { 'data-testid': `revenue-${region.partition}` }, String(region.revenue)),
      element('td', { 'data-testid': `rate-${region.partition}` }, String(region.rate)),
      element('td', {}, String(region.warehouse_lag ?? '–')),
      element('td', {}, String(region.statistics_lag ?? '–')),
    );
    body.append(tr);
  }
  $('total-orders').textContent = String(status.total.orders);
  $('total-revenue').textContent = String(status.total.revenue);
  const select = $<HTMLSelectElement>('place-region');
  const chosen = select.value;
  if (select.options.length !== status.regions.length || [...select.options].some((o, i) => o.text !== status!.regions[i].name)) {
    select.replaceChildren(...status.regions.map((r) => element('option', { value: String(r.partition) }, r.name)));
    if (chosen) select.value = chosen;
  }
}

function mark(done: number | null, label: 'shipped' | 'counted', testid: string): HTMLElement {
  return element(
    'span',
    { class: done === null ? 'stage waiting' : 'stage done', 'data-testid': testid, 'data-done': String(done !== null) },
    done === null ? `… ${t(label)}` : `✓ ${t(label)}`,
  );
}

function renderFeed(): void {
  const body = $('feed');
  body.replaceChildren();
  for (const row of [...rows.values()].reverse()) {
    const tr = element('tr', { 'data-testid': 'feed-row', 'data-order-id': row.order_id });
    const progress = element('td', { class: 'progress' });
    progress.append(
      element('span', { class: 'stage done', 'data-testid': 'placed' }, `✓ ${t('placed')}`),
      mark(row.shipped_ms, 'shipped', 'shipped'),
      mark(row.counted_ms, 'counted', 'counted'),
    );
    tr.append(
      element('td', { class: 'mono', 'data-testid': 'order-id' }, row.order_id),
      element('td', { 'data-testid': 'order-instance' }, `order-${row.partition}`),
      element('td', { 'data-testid': 'warehouse' }, `repository-${row.partition}`),
      element('td', {}, 'statistics'),
      element('td', { 'data-testid': 'partition' }, String(row.partition)),
      element('td', { 'data-testid': 'offset' }, String(row.offset)),
      element('td', { 'data-testid': 'money' }, String(row.money)),
      progress,
    );
    body.append(tr);
  }
}

function render(): void {
  renderMap();
  renderFigures();
  renderFeed();
  if (status) chart.update(status);
}

function take(update: Update, replace: boolean): void {
  if (replace) rows.clear();
  for (const row of update.rows) {
    rows.delete(row.order_id);
    rows.set(row.order_id, row);
  }
  while (rows.size > FEED_ROWS) rows.delete(rows.keys().next().value as string);
  if (update.status) status = update.status;
  render();
}

function connect(): void {
  const connection = $('connection');
  const show = (live: boolean) => {
    connection.dataset.state = live ? 'live' : 'connecting';
    connection.dataset.i18n = live ? 'connected' : 'connecting';
    connection.textContent = t(live ? 'connected' : 'connecting');
  };
  show(false);
  const events = new EventSource('/console/events');
  events.addEventListener('snapshot', (event) => {
    show(true);
    take(JSON.parse((event as MessageEvent).data) as Update, true);
  });
  events.addEventListener('update', (event) => take(JSON.parse((event as MessageEvent).data) as Update, false));
  // EventSource reconnects by itself; the next snapshot replaces everything.
  events.addEventListener('error', () => show(false));
}

async function placeOrder(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  const result = $('place-result');
  const partition = Number($<HTMLSelectElement>('place-region').value);
  result.className = 'result';
  result.textContent = t('placing');
  try {
    // As the seed's curl does, through the gateway; the gateway reads {"partition":N} as well as a form.
    const response = await fetch('/submit-order', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ partition }),
    });
    const answer = await response.json();
    if (!response.ok) {
      result.className = 'result error';
      result.textContent = `${t('failed')} (${response.status}): ${answer.message ?? JSON.stringify(answer)}`;
      return;
    }
    result.className = 'result ok';
    result.replaceChildren(
      element('span', { 'data-i18n-placed': String(partition) }, `${t('placed_ok')}: ${regionName(partition)} · ${t('money')} ${answer.money} · `),
      element('a', { href: '#', class: 'mono', 'data-testid': 'placed-order-id', 'data-money': String(answer.money) }, answer.order_id),
    );
    result.querySelector('a')!.addEventListener('click', (click) => {
      click.preventDefault();
      $<HTMLInputElement>('search-id').value = answer.order_id;
      void lookUp();
    });
  } catch (error) {
    result.className = 'result error';
    result.textContent = `${t('failed')}: ${String(error)}`;
  }
}

function stageLine(label: 'shipped' | 'counted', stage: Stage): HTMLElement {
  const line = element('li', { 'data-testid': `story-${label}`, 'data-done': String(stage.done) });
  let text: string;
  if (stage.done === null) text = `${t(label)}: ${t('unknown')} (${stage.error ?? ''})`;
  else if (!stage.done) text = `… ${t(label)}: ${t('waiting')} (${t('by')} ${stage.by})`;
  else if (stage.at_ms) text = `✓ ${t(label)} ${t('by')} ${stage.by} ${t('at')} ${time(stage.at_ms)}`;
  else if (stage.by_ms) text = `✓ ${t(label)} ${t('by')} ${stage.by}, ${t('time_unknown')} ${time(stage.by_ms)}`;
  else text = `✓ ${t(label)} ${t('by')} ${stage.by}`;
  line.textContent = text;
  return line;
}

// The last answer of the search, drawn again when the language changes.
let lastAnswer: { status: number; body: Story | { message?: string } } | null = null;

async function lookUp(): Promise<void> {
  const story = $('story');
  const id = $<HTMLInputElement>('search-id').value.trim();
  story.className = 'result';
  delete story.dataset.status;
  story.textContent = t('searching');
  const response = await fetch(`/orders/${encodeURIComponent(id)}`);
  lastAnswer = { status: response.status, body: await response.json() };
  renderStory();
}

function renderStory(): void {
  if (!lastAnswer) return;
  const story = $('story');
  const { status: code, body } = lastAnswer;
  story.dataset.status = String(code);
  if (code !== 200) {
    story.className = 'result error';
    const message = (body as { message?: string }).message ?? '';
    story.textContent = `${code === 404 ? t('not_found') : t('failed')} (${code}): ${message}`;
    return;
  }
  const found = body as Story;
  story.className = 'result ok';
  const list = element('ul', { class: 'story' });
  list.append(
    element(
      'li',
      { 'data-testid': 'story-placed', 'data-partition': String(found.placed.partition), 'data-offset': String(found.placed.offset) },
      `✓ ${t('placed')} ${t('by')} ${found.placed.by} · ${regionName(found.partition)} · ${t('partition')} ${found.placed.partition} · ` +
        `${t('offset')} ${found.placed.offset} · ${t('money')} ${found.placed.money} · ${t('user')} ${found.placed.user_id} · ` +
        `${t('written')} ${time(found.placed.written_ms)}`,
    ),
    stageLine('shipped', found.shipped),
    stageLine('counted', found.counted),
    element('li', { class: 'hint' }, `${t('lookup_cost')}: ${found.lookup.reads} ${t('reads')}, ${found.lookup.records} ${t('records')}`),
  );
  story.replaceChildren(element('div', { class: 'mono' }, found.order_id), list);
}

$('language').addEventListener('click', () => {
  setLanguage(current() === 'en' ? 'zh' : 'en');
  $('language').textContent = t('switch_to');
  render();
  renderStory();
  // The form's last answer: only its words change.
  const placed = document.querySelector<HTMLElement>('[data-i18n-placed]');
  const link = document.querySelector<HTMLElement>('[data-testid=placed-order-id]');
  if (placed && link) {
    const partition = Number(placed.dataset.i18nPlaced);
    placed.textContent = `${t('placed_ok')}: ${regionName(partition)} · ${t('money')} ${link.dataset.money} · `;
  }
});
$<HTMLFormElement>('place').addEventListener('submit', (event) => void placeOrder(event));
$<HTMLFormElement>('search').addEventListener('submit', (event) => {
  event.preventDefault();
  void lookUp();
});
setLanguage(current());
$('language').textContent = t('switch_to');
connect();
