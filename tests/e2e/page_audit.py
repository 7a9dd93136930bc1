"""A page audit for browser tests: what a person at the desk would notice that a click-through misses.

    audit = PageAudit(page)            # attach before the first goto: console errors are collected from then on
    page.goto("/schedules")
    audit.check("监考安排")             # raises AssertionError listing every problem, or returns quietly
    problems = audit.problems()        # the same, as a list of readable messages

It fails on
- raw codes shown to users: question-type codes (A1, X, TF), snake_case identifiers, UPPER_CASE enums;
- English words shown to users (an allow-list keeps PDF, SMS, ID, XLSX, CSV ...; e-mail addresses,
  web addresses and tokens with digits, such as usernames and certificate numbers, are data);
- inputs, selects and textareas with no label (<label>, aria-label, aria-labelledby or title);
- browser-default (unstyled) buttons, and file inputs showing the browser's own chooser button;
- broken images, SVG chart text rendered smaller than 12 px;
- console errors and uncaught page errors (a missing favicon shows here as a failed load; a 400 or
  409 answer to refused input is not an error: the page says it in words);
- the page scrolling sideways.

Only what is rendered counts: hidden elements, <script>/<style> and input values are not read.
An element marked data-identifier holds an identifier an admin needs (shown under a 代码 heading) and
is not read. Text inside an element marked translate="no" is data (a person's own entry, a proper name in Latin
letters) and is not checked for English words; it is still checked for codes.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

# Words a Chinese hospital reads as they are: file types, sizes, format and browser names.
ALLOWED_WORDS = frozenset({
    "PDF", "SMS", "ID", "XLSX", "XLS", "CSV", "JPG", "JPEG", "PNG", "ZIP", "Excel", "Word", "WPS", "APP", "App",
    "XML", "QTI", "GIFT", "Aiken", "Moodle", "MB", "KB", "GB", "px", "CA", "IP", "OK", "QR", "Wi", "Fi", "Chrome", "Edge", "Safari", "Firefox",
})

_AUDIT_JS = r"""
(opts) => {
  const out = [];
  const visible = (el) => {
    if (!el || !(el instanceof Element)) return false;
    const s = getComputedStyle(el);
    if (s.display === 'none' || s.visibility === 'hidden' || s.visibility === 'collapse') return false;
    if (el.closest('[hidden],[aria-hidden=true]')) return false;
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  };
  const where = (el) => {
    const parts = [];
    for (let e = el; e && e !== document.body && parts.length < 3; e = e.parentElement) {
      let p = e.tagName.toLowerCase();
      if (e.id) { p += '#' + e.id; parts.unshift(p); break; }
      if (e.classList.length) p += '.' + Array.from(e.classList).slice(0, 2).join('.');
      parts.unshift(p);
    }
    return parts.join(' > ');
  };
  const clip = (t) => { t = t.replace(/\s+/g, ' ').trim(); return t.length > 80 ? t.slice(0, 77) + '...' : t; };
  const allowed = new Set(opts.allowed);

  // --- text shown to users: rendered text nodes, placeholders, button values, alt/title/aria-label
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || el.closest('script,style,noscript,template,textarea') || !n.textContent.trim()) continue;
    if (!visible(el)) continue;
    // An identifier an admin needs (a condition's 代码, the key its form saves under) is marked as such.
    if (el.closest('[data-identifier]')) continue;
    texts.push({ text: n.textContent, el, data: !!el.closest('[translate=no]') });
  }
  for (const el of document.querySelectorAll('[placeholder],[title],[aria-label],img[alt],input[type=submit],input[type=button]')) {
    if (!visible(el)) continue;
    for (const a of ['placeholder', 'title', 'aria-label', 'alt']) {
      if (el.getAttribute(a)) texts.push({ text: el.getAttribute(a), el, attr: a, data: !!el.closest('[translate=no]') });
    }
    if (el.matches('input[type=submit],input[type=button]') && el.value) texts.push({ text: el.value, el, attr: 'value' });
  }
  const seen = new Set();
  const report = (kind, token, t) => {
    const key = kind + '|' + token + '|' + where(t.el);
    if (seen.has(key)) return; seen.add(key);
    out.push(`${kind} "${token}" shown to users${t.attr ? ' (in ' + t.attr + ')' : ''}: «${clip(t.text)}» at ${where(t.el)}`);
  };
  for (const t of texts) {
    // E-mail and web addresses are data; take them out before looking at words.
    const text = t.text.replace(/[\w.+-]+@[\w-]+(\.[\w-]+)+/g, ' ').replace(/\bhttps?:\/\/\S+/g, ' ');
    // Whole runs of letters, digits, _, - and *: a masked ID number (1201*****4X) or a question code
    // (RW-001-A) is one datum.
    for (const m of text.matchAll(/[A-Za-z0-9_*-]*[A-Za-z][A-Za-z0-9_*-]*/g)) {
      const token = m[0], after = text.slice(m.index + token.length);
      if (/^[a-z0-9-]+(_[a-z0-9-]+)+$/.test(token)) { report('raw identifier', token, t); continue; }
      if (/^[A-Z0-9]+(_[A-Z0-9]+)+$/.test(token)) { report('raw status code', token, t); continue; }
      if (/^([AB][1-4]|X|TF)$/.test(token) && !/^\s*型/.test(after)) { report('raw question-type code', token, t); continue; }
      if (/[\d*]/.test(token) || token.length < 2 || t.data) continue;  // usernames, certificate numbers, option letters
      if (allowed.has(token) || allowed.has(token.toUpperCase())) continue;
      report('English word', token, t);
    }
  }

  // --- form controls without a label
  for (const el of document.querySelectorAll('input,select,textarea')) {
    if (el.type === 'hidden' || el.type === 'submit' || el.type === 'button' || el.type === 'reset' || el.type === 'image') continue;
    if (!visible(el)) continue;
    const named = (el.labels && el.labels.length) || (el.getAttribute('aria-label') || '').trim()
      || (el.getAttribute('aria-labelledby') || '').trim() || (el.getAttribute('title') || '').trim();
    if (!named) out.push(`${el.tagName.toLowerCase()}${el.name ? '[name=' + el.name + ']' : ''} has no label (label, aria-label or title) at ${where(el)}`);
  }

  // --- buttons left in the browser's default look: compare with a button no page style reaches
  const host = document.createElement('div');
  document.body.appendChild(host);
  const shadow = host.attachShadow({ mode: 'closed' });
  const ref = document.createElement('button'); ref.textContent = 'x'; shadow.appendChild(ref);
  const refFile = document.createElement('input'); refFile.type = 'file'; shadow.appendChild(refFile);
  const rs = getComputedStyle(ref), rf = getComputedStyle(refFile, '::file-selector-button');
  const plain = (s, r) => s.backgroundColor === r.backgroundColor && s.borderTopStyle === r.borderTopStyle
    && s.borderTopColor === r.borderTopColor && s.borderTopLeftRadius === r.borderTopLeftRadius;
  const refStyle = { backgroundColor: rs.backgroundColor, borderTopStyle: rs.borderTopStyle, borderTopColor: rs.borderTopColor, borderTopLeftRadius: rs.borderTopLeftRadius };
  const refFileStyle = { backgroundColor: rf.backgroundColor, borderTopStyle: rf.borderTopStyle, borderTopColor: rf.borderTopColor, borderTopLeftRadius: rf.borderTopLeftRadius };
  host.remove();
  for (const b of document.querySelectorAll('button,input[type=submit],input[type=button],input[type=reset]')) {
    if (!visible(b)) continue;
    if (plain(getComputedStyle(b), refStyle)) out.push(`unstyled (browser-default) button «${clip(b.textContent || b.value || '')}» at ${where(b)}`);
  }
  for (const f of document.querySelectorAll('input[type=file]')) {
    if (!visible(f)) continue;
    if (plain(getComputedStyle(f, '::file-selector-button'), refFileStyle))
      out.push(`file input shows the browser's own chooser button at ${where(f)}`);
  }

  // --- broken images
  for (const img of document.querySelectorAll('img')) {
    if (!visible(img)) continue;
    if (img.complete && img.naturalWidth === 0) out.push(`broken image (src ${clip(img.getAttribute('src') || '(none)')}) at ${where(img)}`);
  }

  // --- chart labels: the size the text is painted at, after the SVG's own scaling
  // One line per chart: the smallest label and how many are too small.
  for (const svg of document.querySelectorAll('svg')) {
    let small = 0, least = null;
    for (const t of svg.querySelectorAll('text')) {
      if (!visible(t) || !t.textContent.trim()) continue;
      const ctm = t.getScreenCTM();
      const scale = ctm ? Math.hypot(ctm.b, ctm.d) : 1;
      const px = parseFloat(getComputedStyle(t).fontSize) * scale;
      if (px < opts.minChartPx - 0.05) { small++; if (!least || px < least.px) least = { px, t }; }
    }
    if (least) out.push(`chart label «${clip(least.t.textContent)}» rendered at ${least.px.toFixed(1)}px (< ${opts.minChartPx}px; ${small} label(s) too small in this chart) at ${where(svg)}`);
  }

  // --- sideways scroll
  const wide = document.documentElement.scrollWidth - document.documentElement.clientWidth;
  if (wide > 0) out.push(`the page scrolls sideways by ${wide}px at width ${document.documentElement.clientWidth}`);
  return out;
}
"""


class PageAudit:
    """Collects console errors of `page` from construction on, and audits the rendered page on demand."""

    def __init__(self, page: Any, *, allow_words: Iterable[str] = (), ignore_console: Iterable[str] = (),
                 min_chart_px: float = 12.0) -> None:
        self.page = page
        self.allowed = sorted(ALLOWED_WORDS | set(allow_words))
        self.ignore_console = tuple(ignore_console)
        self.min_chart_px = min_chart_px
        self._console: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self._console.append(f"uncaught page error: {error}"))

    def _on_console(self, message: Any) -> None:
        if message.type != "error":
            return
        text = message.text
        if any(part in text for part in self.ignore_console):
            return
        # Chromium logs every non-2xx fetch; 400 and 409 are the server refusing an input or a
        # stale action, which the page shows in words (the test checks those words). A 404 (a
        # missing favicon, image or script) or a 5xx is a fault.
        if "Failed to load resource" in text and re.search(r"status of (400|409) ", text):
            return
        location = message.location or {}
        self._console.append(f"console error: {text} ({location.get('url', '?')})")

    def problems(self, *, allow_words: Iterable[str] = ()) -> list[str]:
        """Every problem on the page as it is now, plus console errors since the last call."""
        found = list(self.page.evaluate(
            _AUDIT_JS, {"allowed": [*self.allowed, *allow_words], "minChartPx": self.min_chart_px}))
        found += self._console
        self._console = []
        return found

    def check(self, label: str = "", *, allow_words: Iterable[str] = ()) -> None:
        """Raise AssertionError naming the page and listing every problem found."""
        found = self.problems(allow_words=allow_words)
        if found:
            head = f"{label or self.page.url} ({self.page.url}, {self.page.viewport_size}): {len(found)} problem(s)"
            raise AssertionError(head + "\n  - " + "\n  - ".join(found))
