/**
 * Routing of the CYOA builder's arrows (pure geometry, world coordinates).
 *
 * Each link takes the first of these ways that suits where its target is and
 * whose curve passes through no other passage:
 * - to a passage clearly to the right, an S-curve from the source's right
 *   side (one port per choice) to the target's left side;
 * - to a passage clearly above or below, a curve from the source's top (or
 *   bottom; its left side when the target is to the left) to the target's
 *   bottom (or top), through the gap between rows;
 * - an arc over the passages, top to top (a link back to an earlier passage
 *   on the same row, a loop, a long link with passages in the way), or under
 *   them, bottom to bottom. Arcs over the same stretch are stacked, each
 *   above the label of the one inside it, so their labels never collide.
 *
 * Ends sharing a side of a passage get distinct, evenly spread ports, so two
 * links between the same passages (A→B and B→A, or two choices A→B) never
 * share a line; a label sits on its curve as near the middle as is clear of
 * the other labels and the passages, or just beside it.
 * Everything is deterministic: the same story draws the same way.
 */

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface EdgeInput {
  id: string;
  from: string;
  to: string;
  /** The port on the source's right side, 0 = top (the choice's order). */
  port: number;
  /** The label shown on the arrow (never empty). */
  text: string;
}

export interface EdgeLabel {
  /** Centre of the text (text-anchor: middle). */
  x: number;
  /** Baseline of the first line. */
  y: number;
  lines: string[];
  box: Rect;
}

export type EdgeKind = 'forward' | 'up' | 'down' | 'over' | 'under';

export interface EdgeRoute {
  id: string;
  kind: EdgeKind;
  d: string;
  label: EdgeLabel;
  /** A box holding the whole curve (its control polygon). */
  bounds: Rect;
}

export interface RouteOptions {
  /** Width in pixels of a text at the labels' font. */
  measure(text: string): number;
}

/** Line height and ascent of the 11px label font. */
export const LABEL_LINE = 13;
const LABEL_ASCENT = 10;
const PORT_TOP = 22;
const PORT_STEP = 18;
const MIN_GAP = 20;
const ARC_LIFT = 18;
const ARC_STACK_GAP = 8;
const LABEL_MARGIN = 3;
/** Labels are drawn with a 3px halo: keep this much between two of them. */
const LABEL_SPACING = 7;

type Side = 'left' | 'right' | 'top' | 'bottom';
type Point = { x: number; y: number };

interface Plan {
  edge: EdgeInput;
  index: number;
  a: Rect;
  b: Rect;
  kind: EdgeKind;
  source: Side;
  target: Side;
  start?: Point;
  end?: Point;
}

const right = (r: Rect): number => r.x + r.width;
const bottom = (r: Rect): number => r.y + r.height;
const centerX = (r: Rect): number => r.x + r.width / 2;
const centerY = (r: Rect): number => r.y + r.height / 2;
const clamp = (value: number, min: number, max: number): number => Math.min(max, Math.max(min, value));

export function intersects(a: Rect, b: Rect, pad = 0): boolean {
  return a.x < b.x + b.width + pad && b.x < a.x + a.width + pad && a.y < b.y + b.height + pad && b.y < a.y + a.height + pad;
}

/** Greedy word wrap to `max` pixels (a word longer than that gets a line of its own). */
export function wrapText(text: string, max: number, measure: (text: string) => number): string[] {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const lines: string[] = [];
  let line = '';
  for (const word of words) {
    const candidate = line ? `${line} ${word}` : word;
    if (line && measure(candidate) > max) {
      lines.push(line);
      line = word;
    } else {
      line = candidate;
    }
  }
  if (line) lines.push(line);
  return lines.length > 0 ? lines : [''];
}

/** Routes every edge whose two passages are known; the result is keyed by edge id. */
export function routeEdges(nodes: ReadonlyMap<string, Rect>, edges: readonly EdgeInput[], options: RouteOptions): Map<string, EdgeRoute> {
  const plans: Plan[] = [];
  edges.forEach((edge, index) => {
    const a = nodes.get(edge.from);
    const b = nodes.get(edge.to);
    if (!a || !b) return;
    const others = [...nodes.entries()].filter(([id]) => id !== edge.from && id !== edge.to).map(([, rect]) => rect);
    plans.push({ edge, index, a, b, ...classify(edge.from === edge.to, a, b, others) });
  });
  assignPorts(plans);

  const routes = new Map<string, EdgeRoute>();
  const allNodes = [...nodes.values()];
  const placedLabels: Rect[] = [];
  const arcs: Array<{ kind: 'over' | 'under'; base: number; span: [number, number]; outer: number }> = [];
  const arcPlans = plans.filter((p) => p.kind === 'over' || p.kind === 'under')
    .sort((p, q) => Math.abs(p.start!.x - p.end!.x) - Math.abs(q.start!.x - q.end!.x) || p.index - q.index);

  // Arcs first, shortest first, each stacked outside the arcs (and labels) it spans.
  for (const plan of arcPlans) {
    const over = plan.kind === 'over';
    const { start, end } = plan as Required<Pick<Plan, 'start' | 'end'>>;
    const base = over ? Math.min(plan.a.y, plan.b.y) : Math.max(bottom(plan.a), bottom(plan.b));
    const span = Math.abs(start.x - end.x);
    const lines = wrapText(plan.edge.text, clamp(span - 16, 110, 260), options.measure);
    const width = Math.max(...lines.map(options.measure));
    const height = lines.length * LABEL_LINE;
    const mid = (start.x + end.x) / 2;
    const reach: [number, number] = [Math.min(start.x, end.x, mid - width / 2) - 4, Math.max(start.x, end.x, mid + width / 2) + 4];
    let apex = over ? base - ARC_LIFT : base + ARC_LIFT;
    for (const arc of arcs) {
      if (arc.kind !== plan.kind || Math.abs(arc.base - base) > plan.a.height / 2) continue;
      if (arc.span[0] > reach[1] || reach[0] > arc.span[1]) continue;
      apex = over ? Math.min(apex, arc.outer - ARC_STACK_GAP) : Math.max(apex, arc.outer + ARC_STACK_GAP);
    }
    const control = arcControl(start, end, apex);
    const d = `M ${start.x} ${start.y} C ${start.x} ${control}, ${end.x} ${control}, ${end.x} ${end.y}`;
    const boxY = over ? apex - LABEL_MARGIN - height : apex + LABEL_MARGIN;
    const label = makeLabel(mid, boxY, lines, width);
    arcs.push({ kind: plan.kind as 'over' | 'under', base, span: reach, outer: over ? boxY : boxY + height });
    placedLabels.push(label.box);
    routes.set(plan.edge.id, { id: plan.edge.id, kind: plan.kind, d, label, bounds: boundsOf([start, end, { x: start.x, y: control }, { x: end.x, y: control }]) });
  }

  for (const plan of plans) {
    if (plan.kind === 'over' || plan.kind === 'under') continue;
    const { start, end } = plan as Required<Pick<Plan, 'start' | 'end'>>;
    const [c1, c2] = controls(plan.kind, plan.source, start, end);
    const maxWidth = plan.kind === 'forward' ? clamp(plan.b.x - right(plan.a) - 10, 64, 170) : 130;
    const d = `M ${start.x} ${start.y} C ${c1.x} ${c1.y}, ${c2.x} ${c2.y}, ${end.x} ${end.y}`;
    const lines = wrapText(plan.edge.text, maxWidth, options.measure);
    const width = Math.max(...lines.map(options.measure));
    const height = lines.length * LABEL_LINE;
    // On the curve, as near its middle as is clear of other labels and of the passages; else beside its middle.
    const boxAt = (t: number): Rect => {
      const at = pointOn([start, c1, c2, end], t);
      return { x: at.x - width / 2, y: at.y - height / 2, width, height };
    };
    const clear = (box: Rect): boolean => !placedLabels.some((other) => intersects(box, other, LABEL_SPACING)) && !allNodes.some((rect) => intersects(box, rect, 2));
    const middle = boxAt(0.5);
    const box = [0.5, 0.4, 0.6, 0.3, 0.7].map(boxAt).find(clear)
      ?? beside(middle).find(clear)
      ?? { ...middle, y: nudge(middle, placedLabels) };
    const label = makeLabel(box.x + width / 2, box.y, lines, width);
    placedLabels.push(label.box);
    routes.set(plan.edge.id, { id: plan.edge.id, kind: plan.kind, d, label, bounds: boundsOf([start, end, c1, c2]) });
  }
  return routes;
}

/** The box holding all routes (curves and labels) and the passages. */
export function extentOf(routes: Iterable<EdgeRoute>, nodes: Iterable<Rect>): Rect | undefined {
  const boxes: Rect[] = [...nodes];
  for (const route of routes) boxes.push(route.bounds, route.label.box);
  if (boxes.length === 0) return undefined;
  const x = Math.min(...boxes.map((b) => b.x));
  const y = Math.min(...boxes.map((b) => b.y));
  return { x, y, width: Math.max(...boxes.map(right)) - x, height: Math.max(...boxes.map(bottom)) - y };
}

/** Control points of a curve that is not an arc: an S from side to side, or a bend through the gap between rows. */
function controls(kind: EdgeKind, source: Side, start: Point, end: Point): [Point, Point] {
  if (kind === 'forward') {
    const bend = Math.max(40, Math.abs(end.x - start.x) / 2);
    return [{ x: start.x + bend, y: start.y }, { x: end.x - bend, y: end.y }];
  }
  const sign = kind === 'up' ? -1 : 1;
  const rise = Math.abs(end.y - start.y);
  const c1 = source === 'left'
    ? { x: start.x - Math.max(MIN_GAP, 0.6 * (start.x - end.x)), y: start.y }
    : { x: start.x, y: start.y + sign * Math.max(MIN_GAP, rise / 2) };
  return [c1, { x: end.x, y: end.y - sign * Math.max(MIN_GAP, source === 'left' ? 0.6 * rise : rise / 2) }];
}

/** The y of an arc's control points that puts its middle, B(0.5), at `apex`: B(0.5).y = (y1 + y2) / 8 + 3/4 of it. */
function arcControl(start: Point, end: Point, apex: number): number {
  return (apex - (start.y + end.y) / 8) / 0.75;
}

function portOn(rect: Rect, side: Side): Point {
  switch (side) {
    case 'left': return { x: rect.x, y: centerY(rect) };
    case 'right': return { x: right(rect), y: centerY(rect) };
    case 'top': return { x: centerX(rect), y: rect.y };
    default: return { x: centerX(rect), y: bottom(rect) };
  }
}

/**
 * The first of the ways that suit where the target is whose curve (drawn
 * from the middles of the sides, before ports are spread) passes through no
 * other passage; the first of them when none is clear.
 */
function classify(loop: boolean, a: Rect, b: Rect, others: Rect[]): Pick<Plan, 'kind' | 'source' | 'target'> {
  type Way = Pick<Plan, 'kind' | 'source' | 'target'>;
  const ways: Way[] = [];
  if (!loop && b.x >= right(a) + MIN_GAP) ways.push({ kind: 'forward', source: 'right', target: 'left' });
  // Up or down to a passage on the left: out of the source's left side, clear of the links coming in from the left.
  const leftward = centerX(b) < a.x;
  if (!loop && bottom(b) + MIN_GAP <= a.y) ways.push({ kind: 'up', source: leftward ? 'left' : 'top', target: 'bottom' });
  if (!loop && b.y >= bottom(a) + MIN_GAP) ways.push({ kind: 'down', source: leftward ? 'left' : 'bottom', target: 'top' });
  ways.push({ kind: 'over', source: 'top', target: 'top' }, { kind: 'under', source: 'bottom', target: 'bottom' });
  const clear = (way: Way): boolean => {
    const start = portOn(a, way.source);
    const end = portOn(b, way.target);
    let points: Point[];
    if (way.kind === 'over' || way.kind === 'under') {
      const apex = way.kind === 'over' ? Math.min(a.y, b.y) - ARC_LIFT : Math.max(bottom(a), bottom(b)) + ARC_LIFT;
      const control = arcControl(start, end, apex);
      points = [start, { x: start.x, y: control }, { x: end.x, y: control }, end];
    } else {
      points = [start, ...controls(way.kind, way.source, start, end), end];
    }
    for (let i = 1; i < 24; i++) {
      const at = pointOn(points, i / 24);
      if (others.some((rect) => at.x > rect.x + 2 && at.x < right(rect) - 2 && at.y > rect.y + 2 && at.y < bottom(rect) - 2)) return false;
    }
    return true;
  };
  return ways.find(clear) ?? ways[0]!;
}

/**
 * Spreads the ends on each side of each passage evenly along it. Left and
 * right sides are ordered by the other end's height; tops and bottoms put
 * links going left first and the farthest of each group outermost, so
 * stacked arcs nest without crossing. The source's right side keeps one
 * port per choice.
 */
function assignPorts(plans: Plan[]): void {
  interface End { plan: Plan; role: 'start' | 'end'; node: Rect; other: Rect }
  const sides = new Map<Rect, Map<Side, End[]>>();
  const add = (node: Rect, side: Side, end: End): void => {
    const bySide = sides.get(node) ?? new Map<Side, End[]>();
    sides.set(node, bySide);
    bySide.set(side, [...(bySide.get(side) ?? []), end]);
  };
  for (const plan of plans) {
    if (plan.source === 'right') plan.start = { x: right(plan.a), y: Math.min(bottom(plan.a) - 8, plan.a.y + PORT_TOP + plan.edge.port * PORT_STEP) };
    else add(plan.a, plan.source, { plan, role: 'start', node: plan.a, other: plan.b });
    add(plan.b, plan.target, { plan, role: 'end', node: plan.b, other: plan.a });
  }
  for (const [node, bySide] of sides) {
    for (const [side, ends] of bySide) {
      if (side === 'left' || side === 'right') {
        // Between two ends towards the same height, a link leaving to go up is below one coming in, one going down above it.
        const rank = (end: End): number => (end.plan.kind === 'up' ? 1 : end.plan.kind === 'down' ? -1 : 0);
        ends.sort((p, q) => centerY(p.other) - centerY(q.other) || rank(p) - rank(q) || p.plan.index - q.plan.index);
        ends.forEach((end, i) => {
          const y = clamp(centerY(node) + (i - (ends.length - 1) / 2) * 14, node.y + 8, bottom(node) - 8);
          end.plan[end.role] = { x: side === 'left' ? node.x : right(node), y };
        });
        continue;
      }
      // Links to the left, then straight up or down (in link order, the same at both ends, so they never cross), then to the right.
      // Links towards the same passage nest: on the right-going side the later one is outermost, so leftmost.
      const group = (end: End): number => Math.sign(centerX(end.other) - centerX(node)) + 1;
      ends.sort((p, q) => group(p) - group(q) || centerX(q.other) - centerX(p.other) || (p.plan.index - q.plan.index) * (group(p) === 2 ? -1 : 1)
        // A loop comes back in to the left of where it leaves.
        || (p.role === 'end' ? -1 : 1));
      ends.forEach((end, i) => {
        end.plan[end.role] = { x: node.x + (node.width * (i + 1)) / (ends.length + 1), y: side === 'top' ? node.y : bottom(node) };
      });
    }
  }
}

/** A label's box moved off its place in growing steps, up, down, right and left. */
function beside(box: Rect): Rect[] {
  const boxes: Rect[] = [];
  for (let step = 6; step <= 60; step += 6) {
    boxes.push({ ...box, y: box.y - step }, { ...box, y: box.y + step }, { ...box, x: box.x + step }, { ...box, x: box.x - step });
  }
  return boxes;
}

/** Moves a label up or down in small steps until it clears the labels already placed; returns its top. */
function nudge(box: Rect, placed: Rect[]): number {
  for (let step = 0; step <= 24; step++) {
    const offset = (step % 2 === 1 ? 1 : -1) * Math.ceil(step / 2) * 6;
    const candidate = { ...box, y: box.y + offset };
    if (!placed.some((other) => intersects(candidate, other, LABEL_SPACING))) return candidate.y;
  }
  return box.y;
}

function pointOn(points: Point[], t: number): Point {
  const [p0, p1, p2, p3] = points as [Point, Point, Point, Point];
  const u = 1 - t;
  const k = [u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t] as const;
  return { x: k[0] * p0.x + k[1] * p1.x + k[2] * p2.x + k[3] * p3.x, y: k[0] * p0.y + k[1] * p1.y + k[2] * p2.y + k[3] * p3.y };
}

function makeLabel(x: number, top: number, lines: string[], width: number): EdgeLabel {
  return { x, y: top + LABEL_ASCENT, lines, box: { x: x - width / 2, y: top, width, height: lines.length * LABEL_LINE } };
}

function boundsOf(points: Point[]): Rect {
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const x = Math.min(...xs);
  const y = Math.min(...ys);
  return { x, y, width: Math.max(...xs) - x, height: Math.max(...ys) - y };
}
