import type { DrillReport } from './report.js';
import { epochMs, formatSeconds } from './report-measures.js';

/**
 * The drill timeline as inline SVG: one bar per step placed by its start and duration on a
 * seconds axis from the drill's start, the cut and its undo as vertical markers, the RTO as a
 * span from the cut, and the SLA deadline (cut + SLA) as a dashed line, so "how close to the SLA"
 * is seen at a glance. Pure string building; every report string goes through htmlEscape.
 */

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;

/** Text and attribute values: markup characters as references, control characters as U+FFFD. */
export function htmlEscape(text: string): string {
  return text
    .replace(CONTROL, '\ufffd')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const WIDTH = 1000;
const LABEL = 170;
const RIGHT = 40;
/** Room above the plot for up to three levels of marker labels. */
const TOP = 60;
const LABEL_LEVEL = 15;
const ROW = 34;
const BAR = 20;
const BOTTOM = 36;
const PLOT = WIDTH - LABEL - RIGHT;

const COLOURS = { pass: '#2e7d32', fail: '#c62828', skipped: '#9e9e9e', cut: '#ef6c00', sla: '#c62828', rto: '#1565c0', grid: '#e0e0e0', text: '#212121' } as const;

const TICK_STEPS = [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400];

/** A tick spacing giving at most 10 ticks over `span` seconds. */
export function tickStep(span: number): number {
  return TICK_STEPS.find((s) => span / s <= 10) ?? Math.ceil(span / 10 / 3600) * 3600;
}

function short(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function num(n: number): string {
  return String(Math.round(n * 10) / 10);
}

export interface TimelineScale {
  /** Epoch ms at x = 0 of the plot. */
  t0: number;
  /** Seconds the plot spans. */
  span: number;
  /** Epoch ms of the SLA deadline (cut + SLA, or start + SLA without a cut). */
  slaDeadline: number;
}

export function timelineScale(r: DrillReport): TimelineScale {
  const starts = r.steps.map((s) => epochMs(s.startedAt));
  const t0 = Math.min(epochMs(r.startedAt), ...starts);
  const slaDeadline = epochMs(r.cut.at ?? r.startedAt) + r.sla.seconds * 1000;
  const ends = [
    epochMs(r.finishedAt),
    slaDeadline,
    ...r.steps.map((s) => epochMs(s.startedAt) + s.seconds * 1000),
    ...(r.cut.undoneAt === null ? [] : [epochMs(r.cut.undoneAt)]),
    ...(r.cut.at !== null && r.rtoSeconds !== null ? [epochMs(r.cut.at) + r.rtoSeconds * 1000] : []),
  ];
  const span = Math.max(1, (Math.max(...ends) - t0) / 1000) * 1.02;
  return { t0, span, slaDeadline };
}

export function drillTimelineSvg(r: DrillReport): string {
  const scale = timelineScale(r);
  const x = (ms: number) => LABEL + ((ms - scale.t0) / 1000 / scale.span) * PLOT;
  const hasRto = r.cut.at !== null && r.rtoSeconds !== null;
  const rows = Math.max(1, r.steps.length) + (hasRto ? 1 : 0);
  const plotBottom = TOP + rows * ROW;
  const height = plotBottom + BOTTOM;
  const parts: string[] = [];
  parts.push(
    `<svg id="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${height}" width="100%" role="img" aria-labelledby="timeline-title" font-family="system-ui, sans-serif" font-size="13">`,
    `<title id="timeline-title">Drill timeline: ${r.steps.length} step${r.steps.length === 1 ? '' : 's'} against the SLA of ${htmlEscape(formatSeconds(r.sla.seconds))}</title>`,
  );

  // Seconds axis with grid lines.
  const step = tickStep(scale.span);
  for (let t = 0; t <= scale.span + 1e-9; t += step) {
    const tx = num(LABEL + (t / scale.span) * PLOT);
    parts.push(`<line x1="${tx}" y1="${TOP - 6}" x2="${tx}" y2="${plotBottom}" stroke="${COLOURS.grid}"/>`);
    parts.push(`<text x="${tx}" y="${plotBottom + 18}" text-anchor="middle" fill="${COLOURS.text}">${htmlEscape(formatTick(t, step))}</text>`);
  }
  parts.push(`<text x="${LABEL + PLOT}" y="${height - 2}" text-anchor="end" fill="#616161" font-size="11">${step >= 60 ? 'minutes' : 'seconds'} since the drill started</text>`);

  // One row per step.
  r.steps.forEach((s, i) => {
    const y = TOP + i * ROW;
    const x1 = x(epochMs(s.startedAt));
    const w = Math.max(3, (s.seconds / scale.span) * PLOT);
    const label = `${s.name}: ${s.result}, ${formatSeconds(s.seconds)}${s.message ? ` (${s.message})` : ''}`;
    parts.push(`<text x="${LABEL - 10}" y="${y + ROW / 2 + 4}" text-anchor="end" fill="${COLOURS.text}">${htmlEscape(short(s.name, 22))}</text>`);
    parts.push(
      `<rect class="step-bar" data-step="${htmlEscape(s.name)}" data-result="${s.result}" x="${num(x1)}" y="${y + (ROW - BAR) / 2}" width="${num(w)}" height="${BAR}" rx="3" fill="${COLOURS[s.result]}"${s.result === 'skipped' ? ' fill-opacity="0.5"' : ''}><title>${htmlEscape(label)}</title></rect>`,
    );
    // The duration right of the bar; inside it (white) when the plot ends first; left of it when the bar is short too.
    const duration = htmlEscape(`${formatSeconds(s.seconds)}${s.result === 'pass' ? '' : ` ${s.result}`}`);
    const textWidth = duration.length * 7.5;
    const textY = y + ROW / 2 + 4;
    if (x1 + w + 6 + textWidth <= WIDTH - 4) parts.push(`<text x="${num(x1 + w + 6)}" y="${textY}" fill="${COLOURS.text}">${duration}</text>`);
    else if (w >= textWidth + 12) parts.push(`<text x="${num(x1 + w - 6)}" y="${textY}" text-anchor="end" fill="#fff" font-weight="bold">${duration}</text>`);
    else parts.push(`<text x="${num(x1 - 6)}" y="${textY}" text-anchor="end" fill="${COLOURS.text}">${duration}</text>`);
  });
  if (r.steps.length === 0) parts.push(`<text x="${LABEL + 10}" y="${TOP + ROW / 2 + 4}" fill="#616161">no steps ran</text>`);

  // RTO: from the cut to DR verified serving.
  if (hasRto && r.cut.at !== null && r.rtoSeconds !== null) {
    const y = plotBottom - ROW;
    const x1 = x(epochMs(r.cut.at));
    // At least 3 px, so a sub-second RTO still shows as a span and not as nothing.
    const x2 = Math.max(x1 + 3, x(epochMs(r.cut.at) + r.rtoSeconds * 1000));
    const mid = y + ROW / 2;
    parts.push(`<text x="${LABEL - 10}" y="${mid + 4}" text-anchor="end" fill="${COLOURS.rto}" font-weight="bold">RTO</text>`);
    parts.push(
      `<g id="rto-span" fill="${COLOURS.rto}" stroke="${COLOURS.rto}"><title>${htmlEscape(`RTO ${formatSeconds(r.rtoSeconds)}: cut to DR verified serving`)}</title><line x1="${num(x1)}" y1="${mid}" x2="${num(x2)}" y2="${mid}" stroke-width="3"/><line x1="${num(x1)}" y1="${mid - 7}" x2="${num(x1)}" y2="${mid + 7}" stroke-width="2"/><line x1="${num(x2)}" y1="${mid - 7}" x2="${num(x2)}" y2="${mid + 7}" stroke-width="2"/></g>`,
    );
    parts.push(`<text x="${num(x2 + 8)}" y="${mid + 4}" fill="${COLOURS.rto}" font-weight="bold">${htmlEscape(formatSeconds(r.rtoSeconds))}</text>`);
  }

  // Markers: cut, cut undone, SLA deadline, with labels above the plot that never overlap.
  const markers: Marker[] = [];
  if (r.cut.at !== null) markers.push({ id: 'cut-marker', x: x(epochMs(r.cut.at)), label: `cut (${short(r.cut.type, 16)})`, colour: COLOURS.cut, dash: '' });
  if (r.cut.undoneAt !== null) markers.push({ id: 'undo-marker', x: x(epochMs(r.cut.undoneAt)), label: 'cut undone', colour: COLOURS.cut, dash: '2 3' });
  markers.push({ id: 'sla-marker', x: x(scale.slaDeadline), label: `SLA ${formatSeconds(r.sla.seconds)}`, colour: COLOURS.sla, dash: '6 4' });
  parts.push(...placeMarkers(markers, plotBottom));
  parts.push('</svg>');
  return parts.join('\n');
}

/** One unit along the whole axis: minutes when ticks are a minute or more apart, else seconds. */
function formatTick(seconds: number, step: number): string {
  if (step >= 60) return `${Number((seconds / 60).toFixed(1))} min`;
  return `${Number(seconds.toFixed(1))} s`;
}

interface Marker {
  id: string;
  x: number;
  label: string;
  colour: string;
  dash: string;
}

// Bold 12 px labels: a generous per-character width, so estimated boxes never undercut real ones.
const LABEL_CHAR_WIDTH = 7.5;

/**
 * Vertical marker lines with their labels: each label goes right of its line (left of it when it
 * would leave the plot), on the lowest of three levels where it overlaps no label placed before,
 * with a white halo so a later marker's line crossing it leaves it readable.
 */
function placeMarkers(markers: Marker[], bottom: number): string[] {
  const taken: { from: number; to: number }[][] = [[], [], []];
  const lines: string[] = [];
  const labels: string[] = [];
  for (const m of [...markers].sort((a, b) => a.x - b.x)) {
    const width = m.label.length * LABEL_CHAR_WIDTH;
    const anchorEnd = m.x + 4 + width > WIDTH - 4;
    const from = anchorEnd ? m.x - 4 - width : m.x + 4;
    const box = { from, to: from + width };
    let level = taken.findIndex((boxes) => boxes.every((b) => box.to + 6 < b.from || box.from > b.to + 6));
    if (level < 0) level = taken.length - 1;
    taken[level]!.push(box);
    const labelY = TOP - 12 - level * LABEL_LEVEL;
    lines.push(`<g id="${m.id}"><line x1="${num(m.x)}" y1="${labelY - 10}" x2="${num(m.x)}" y2="${bottom}" stroke="${m.colour}" stroke-width="2"${m.dash ? ` stroke-dasharray="${m.dash}"` : ''}/></g>`);
    labels.push(`<text data-marker="${m.id}" x="${num(anchorEnd ? m.x - 4 : m.x + 4)}" y="${labelY}" text-anchor="${anchorEnd ? 'end' : 'start'}" fill="${m.colour}" font-size="12" font-weight="bold" stroke="#fff" stroke-width="4" paint-order="stroke">${htmlEscape(m.label)}</text>`);
  }
  // Labels after every line, so no line is drawn over a label.
  return [...lines, ...labels];
}
