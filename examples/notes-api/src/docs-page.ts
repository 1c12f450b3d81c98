type Json = Record<string, unknown>;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A self-contained HTML page listing every operation of an OpenAPI document (no external assets); `openApiUrl` links the document itself. */
export function renderDocsPage(document: Json, openApiUrl: string): string {
  const info = document.info as { title: string; description?: string; version: string };
  const paths = document.paths as Record<string, Record<string, { operationId: string; summary?: string; responses: Record<string, { description?: string }> }>>;
  const rows: string[] = [];
  for (const [path, operations] of Object.entries(paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const statuses = Object.entries(operation.responses)
        .map(([status, response]) => `<li><code>${escapeHtml(status)}</code> ${escapeHtml(response.description ?? '')}</li>`)
        .join('');
      rows.push(
        `<section><h3><span class="m ${method}">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code></h3><p>${escapeHtml(operation.summary ?? '')} <small>(${escapeHtml(operation.operationId)})</small></p><ul>${statuses}</ul></section>`,
      );
    }
  }
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(info.title)}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}code{background:#f3f3f3;padding:0 .25rem}
.m{display:inline-block;min-width:4.5rem;font-size:.8rem;color:#fff;border-radius:3px;text-align:center;padding:.1rem 0}.get{background:#2b7}.post{background:#27c}.patch{background:#c82}.delete{background:#c33}section{border-top:1px solid #ddd}</style>
</head><body><h1>${escapeHtml(info.title)} <small>${escapeHtml(info.version)}</small></h1><p>${escapeHtml(info.description ?? '')}</p>
<p>Machine-readable: <a href="${escapeHtml(openApiUrl)}">${escapeHtml(openApiUrl)}</a> (OpenAPI 3.1). Authenticate with <code>Authorization: Bearer &lt;access token&gt;</code>.</p>
${rows.join('\n')}</body></html>`;
}
