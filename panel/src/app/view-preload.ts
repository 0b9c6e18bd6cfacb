/**
 * Asks for a view's code all at once. A view is loaded with import() when it
 * is first visited; the browser then finds the chunks the view imports only
 * once the view's own chunk has arrived. The build writes each view's chunks
 * into index.html (`<script type="application/json" id="view-chunks">`), and
 * this adds a <link rel="modulepreload"> for each, so they load in parallel.
 */
const requested = new Set<string>();
let viewChunks: Record<string, string[]> | undefined;

function chunksOf(view: string): string[] {
  if (viewChunks === undefined) {
    try {
      const parsed: unknown = JSON.parse(document.getElementById('view-chunks')?.textContent ?? '{}');
      viewChunks = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, string[]>) : {};
    } catch {
      viewChunks = {};
    }
  }
  const chunks = viewChunks[view];
  return Array.isArray(chunks) ? chunks.filter((chunk): chunk is string => typeof chunk === 'string') : [];
}

/** `view` is the view's file name without .ts, e.g. `dashboard-view`. */
export function preloadView(view: string): void {
  for (const href of chunksOf(view)) {
    if (requested.has(href)) continue;
    requested.add(href);
    const link = document.createElement('link');
    link.rel = 'modulepreload';
    link.href = href;
    document.head.append(link);
  }
}
