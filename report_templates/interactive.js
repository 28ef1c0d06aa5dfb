/* kanalytics report (screen HTML only): search, filters, sortable tables and "show all rows".
 *
 * Works on the markup described in the report's attribute contract (table.data, data-severity, data-area,
 * data-cluster, data-identity, article.finding, details.more-rows). The page holds attacker-controlled
 * strings from audit logs, so this script builds every node with createElement and sets text with
 * textContent only; it never parses markup, evaluates strings or loads anything. The state lives in the URL
 * hash (#f=sev:high,area:rbac&sort=table-3:2:desc&all=q-id) so a link reproduces the view.
 * Included by base.html.j2 as a Jinja template: it must not contain Jinja's opening delimiters.
 */
(function () {
  'use strict';

  const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'];
  const DIMENSIONS = [
    { key: 'sev', attr: 'data-severity' },
    { key: 'area', attr: 'data-area' },
    { key: 'cluster', attr: 'data-cluster' },
    { key: 'id', attr: 'data-identity' },
  ];
  const FILTER_KEYS = ['sev', 'area', 'cluster', 'id', 'q'];
  const NUMBER = /^[-+\u2212]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?\s*%?$/;
  const LEADING_NUMBER = /^[-+\u2212]?\d+(\.\d+)?/;
  const MISSING = new Set(['', '\u2014', '-', '\u2013']);
  const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

  const state = { sev: '', area: '', cluster: '', id: '', q: '', sort: null, all: [] };
  const tableKeys = new Map(); // table element -> its name in the hash ("table-3", or its id)
  const tablesByKey = new Map();
  const rowOrder = new WeakMap(); // row -> position in the page before any sort: the tie-breaker
  const rowText = new WeakMap(); // row -> lower-cased text, read once
  const headText = new WeakMap(); // article -> lower-cased text outside its tables
  const controls = {};
  let lastHash = null;

  function el(tag, props, children) {
    const node = document.createElement(tag);
    Object.keys(props || {}).forEach((k) => {
      if (k === 'text') node.textContent = props[k];
      else node.setAttribute(k, props[k]);
    });
    (children || []).forEach((c) => node.appendChild(c));
    return node;
  }

  function main() {
    return document.querySelector('main') || document.body;
  }

  function dataTables() {
    return Array.from(main().querySelectorAll('table.data'));
  }

  function bodyRows(table) {
    return Array.from(table.tBodies).reduce((all, tb) => all.concat(Array.from(tb.rows)), []);
  }

  function allRows() {
    return dataTables().reduce((all, t) => all.concat(bodyRows(t)), []);
  }

  function tokens(value) {
    return value.split(/\s+/).filter((t) => t !== '');
  }

  function severityRank(value) {
    return SEVERITIES.indexOf(value.trim().toLowerCase());
  }

  // --- state in the URL hash -------------------------------------------------------------------------------

  function parseHash(hash) {
    const text = hash.replace(/^#/, '');
    if (!/^(f|sort|all)=/.test(text)) return null; // an ordinary anchor (#incidents): not a view
    const parsed = { sev: '', area: '', cluster: '', id: '', q: '', sort: null, all: [] };
    text.split('&').forEach((part) => {
      const eq = part.indexOf('=');
      if (eq < 0) return;
      const name = part.slice(0, eq);
      const value = part.slice(eq + 1);
      if (name === 'f') {
        value.split(',').forEach((item) => {
          const colon = item.indexOf(':');
          const key = item.slice(0, colon);
          if (colon > 0 && FILTER_KEYS.includes(key)) parsed[key] = decode(item.slice(colon + 1));
        });
      } else if (name === 'sort') {
        const bits = value.split(':').map(decode);
        const col = parseInt(bits[1], 10);
        if (bits.length === 3 && col > 0) parsed.sort = { table: bits[0], col: col, dir: bits[2] === 'desc' ? 'desc' : 'asc' };
      } else if (name === 'all') {
        parsed.all = value.split(',').filter((v) => v !== '').map(decode);
      }
    });
    return parsed;
  }

  function decode(value) {
    try {
      return decodeURIComponent(value);
    } catch (err) {
      return value; // a hand-edited hash with a stray "%": take it literally rather than drop the filter
    }
  }

  function formatHash() {
    const parts = [];
    const filters = FILTER_KEYS.filter((k) => state[k] !== '').map((k) => k + ':' + encodeURIComponent(state[k]));
    if (filters.length) parts.push('f=' + filters.join(','));
    if (state.sort) parts.push('sort=' + [state.sort.table, state.sort.col, state.sort.dir].map(encodeURIComponent).join(':'));
    if (state.all.length) parts.push('all=' + state.all.map(encodeURIComponent).join(','));
    return parts.join('&');
  }

  function writeHash() {
    const hash = formatHash();
    lastHash = hash;
    const base = location.pathname + location.search;
    history.replaceState(null, '', hash ? base + '#' + hash : base);
  }

  // --- filtering -------------------------------------------------------------------------------------------

  function filtersActive() {
    return FILTER_KEYS.some((k) => state[k] !== '');
  }

  function dimensionMatches(dim, value) {
    const wanted = state[dim.key];
    if (dim.key === 'sev') return severityRank(value) >= severityRank(wanted);
    if (dim.key === 'id') return value.toLowerCase().includes(wanted.toLowerCase());
    return tokens(value).includes(wanted);
  }

  // Each active filter on an attribute the node carries must match. A node without the attribute stays: the
  // markup gives each kind of row only the attributes that describe it (an inventory row has no identity), and
  // hiding what cannot be judged would hide e.g. the whole inventory under any cluster filter.
  function attributesMatch(node) {
    return DIMENSIONS.every((dim) => {
      const value = node.getAttribute(dim.attr);
      return state[dim.key] === '' || value === null || dimensionMatches(dim, value);
    });
  }

  function textOf(row) {
    if (!rowText.has(row)) rowText.set(row, row.textContent.toLowerCase());
    return rowText.get(row);
  }

  function headTextOf(article) {
    if (!headText.has(article)) {
      const parts = Array.from(article.childNodes)
        .filter((n) => !(n.nodeType === 1 && n.matches('table, details, .ix-more')))
        .map((n) => n.textContent);
      headText.set(article, parts.join(' ').toLowerCase());
    }
    return headText.get(article);
  }

  function rowVisible(row) {
    const q = state.q.toLowerCase();
    if (q !== '') {
      const article = row.closest('article.finding');
      if (!textOf(row).includes(q) && !(article && headTextOf(article).includes(q))) return false;
    }
    return attributesMatch(row);
  }

  // An article shows when its own attributes match and some evidence row of it is shown (a check without rows:
  // when the search, if any, finds its heading).
  function articleVisible(article) {
    if (!attributesMatch(article)) return false;
    const rows = dataTablesIn(article).reduce((all, t) => all.concat(bodyRows(t)), []);
    if (rows.length) return rows.some((r) => !r.hidden);
    return state.q === '' || headTextOf(article).includes(state.q.toLowerCase());
  }

  function isShown(row) {
    return !row.closest('[hidden]');
  }

  function dataTablesIn(node) {
    return Array.from(node.querySelectorAll('table.data'));
  }

  function applyFilters() {
    const rows = allRows();
    rows.forEach((row) => {
      row.hidden = !rowVisible(row);
    });
    main().querySelectorAll('article.finding').forEach((article) => {
      article.hidden = !articleVisible(article);
    });
    const shown = rows.filter(isShown).length;
    controls.count.textContent = shown + ' of ' + rows.length + ' rows shown';
    updateSectionCounts();
  }

  function updateSectionCounts() {
    main().querySelectorAll('section').forEach((section) => {
      const heading = section.querySelector('h2');
      if (!heading) return;
      let badge = heading.querySelector('.ix-count');
      const rows = dataTablesIn(section).reduce((all, t) => all.concat(bodyRows(t)), []);
      if (!filtersActive() || rows.length === 0) {
        if (badge) badge.remove();
        return;
      }
      if (!badge) {
        badge = el('span', { class: 'ix-count' });
        heading.appendChild(badge);
      }
      const shown = rows.filter(isShown).length;
      badge.textContent = shown + ' of ' + rows.length + ' rows shown';
    });
  }

  // --- sorting ---------------------------------------------------------------------------------------------

  function headerCells(table) {
    const head = table.tHead;
    if (!head || head.rows.length === 0) return [];
    return Array.from(head.rows[head.rows.length - 1].cells);
  }

  function cellKey(row, col) {
    const cell = row.cells[col - 1];
    if (!cell) return '';
    const value = cell.getAttribute('data-value');
    return (value !== null ? value : cell.textContent).trim();
  }

  function toNumber(text, leading) {
    const plain = text.replace(/,/g, '').replace('\u2212', '-');
    if (!leading) return parseFloat(plain);
    const m = plain.match(LEADING_NUMBER);
    return m ? parseFloat(m[0]) : NaN;
  }

  function sortTable(table, col, dir) {
    const th = headerCells(table)[col - 1];
    if (!th || th.getAttribute('data-sort') === 'none') return;
    const declared = th.getAttribute('data-sort') === 'num';
    Array.from(table.tBodies).forEach((tbody) => {
      const keyed = Array.from(tbody.rows).map((row) => ({ row: row, key: cellKey(row, col) }));
      const present = keyed.filter((k) => !MISSING.has(k.key));
      const numeric = declared || (present.length > 0 && present.every((k) => NUMBER.test(k.key)));
      keyed.forEach((k) => {
        k.missing = MISSING.has(k.key) || (numeric && isNaN(toNumber(k.key, declared)));
        k.num = numeric && !k.missing ? toNumber(k.key, declared) : 0;
      });
      const sign = dir === 'desc' ? -1 : 1;
      keyed.sort((a, b) => {
        if (a.missing !== b.missing) return a.missing ? 1 : -1; // blanks last, either direction
        const c = a.missing ? 0 : numeric ? a.num - b.num : collator.compare(a.key, b.key);
        return c !== 0 ? sign * c : rowOrder.get(a.row) - rowOrder.get(b.row);
      });
      keyed.forEach((k) => tbody.appendChild(k.row));
    });
    headerCells(table).forEach((cell, i) => {
      if (i === col - 1) cell.setAttribute('aria-sort', dir === 'desc' ? 'descending' : 'ascending');
      else cell.removeAttribute('aria-sort');
    });
  }

  function onSortClick(table, col) {
    const key = tableKeys.get(table);
    const current = state.sort && state.sort.table === key && state.sort.col === col ? state.sort.dir : null;
    const dir = current === 'asc' ? 'desc' : 'asc';
    state.sort = { table: key, col: col, dir: dir };
    sortTable(table, col, dir);
    writeHash();
  }

  function makeSortable(table) {
    headerCells(table).forEach((th, i) => {
      if (th.getAttribute('data-sort') === 'none' || th.querySelector('button.ix-sort')) return;
      const button = el('button', { type: 'button', class: 'ix-sort', title: 'Sort by this column' });
      while (th.firstChild) button.appendChild(th.firstChild);
      button.appendChild(el('span', { class: 'ix-arrow', 'aria-hidden': 'true' }));
      th.appendChild(button);
      button.addEventListener('click', () => onSortClick(table, i + 1));
    });
  }

  function applySort() {
    if (!state.sort) return;
    const table = tablesByKey.get(state.sort.table);
    if (table) sortTable(table, state.sort.col, state.sort.dir);
  }

  // --- "show all rows" -------------------------------------------------------------------------------------

  function firstTableBefore(node) {
    let prev = node.previousElementSibling;
    while (prev && !prev.matches('table.data')) prev = prev.previousElementSibling;
    return prev;
  }

  function moreKey(details) {
    const owner = details.closest('[id]');
    return owner ? owner.id : '';
  }

  function expandMore(details, target) {
    const into = target.tBodies[0] || target.appendChild(document.createElement('tbody'));
    let order = bodyRows(target).reduce((m, r) => Math.max(m, rowOrder.get(r)), 0);
    dataTablesIn(details).forEach((t) => bodyRows(t).forEach((row) => {
      rowOrder.set(row, (order += 1));
      into.appendChild(row);
    }));
    const bar = details.previousElementSibling;
    if (bar && bar.matches('.ix-more')) bar.remove();
    details.remove();
  }

  function offerShowAll(details) {
    const target = firstTableBefore(details);
    if (!target) return;
    const total = bodyRows(target).length + dataTablesIn(details).reduce((n, t) => n + bodyRows(t).length, 0);
    const button = el('button', { type: 'button', text: 'Show all ' + total + ' rows in one table' });
    details.parentNode.insertBefore(el('p', { class: 'ix-more' }, [button]), details);
    button.addEventListener('click', () => {
      const key = moreKey(details);
      expandMore(details, target);
      if (key && !state.all.includes(key)) state.all.push(key);
      applySort();
      applyFilters();
      writeHash();
    });
  }

  function applyShowAll() {
    main().querySelectorAll('details.more-rows').forEach((details) => {
      const key = moreKey(details);
      if (!key || !(state.all.includes('*') || state.all.includes(key))) return;
      const target = firstTableBefore(details);
      if (target) expandMore(details, target);
    });
  }

  // --- the toolbar -----------------------------------------------------------------------------------------

  function valuesOf(attr, split) {
    const seen = new Set();
    main().querySelectorAll('[' + attr + ']').forEach((node) => {
      const value = node.getAttribute(attr);
      (split ? tokens(value) : [value.trim()]).forEach((v) => {
        if (v !== '') seen.add(v);
      });
    });
    return Array.from(seen).sort(collator.compare);
  }

  function labelled(text, control) {
    return el('label', { class: 'ix-field' }, [el('span', { text: text }), control]);
  }

  function select(key, anyText, options) {
    const node = el('select', { 'data-filter': key }, [el('option', { value: '', text: anyText })]);
    options.forEach((o) => node.appendChild(el('option', { value: o.value, text: o.text })));
    node.addEventListener('change', () => onFilter(key, node.value));
    controls[key] = node;
    return node;
  }

  function areaTitle(id) {
    const section = document.getElementById(id);
    const heading = section && section.querySelector('h2');
    return heading ? heading.textContent.trim() : id;
  }

  function buildToolbar() {
    const search = el('input', { type: 'search', placeholder: 'Search rows', 'data-filter': 'q' });
    search.addEventListener('input', () => onFilter('q', search.value.trim()));
    controls.q = search;
    const identities = el('datalist', { id: 'ix-identities' });
    valuesOf('data-identity', true).forEach((v) => identities.appendChild(el('option', { value: v })));
    const identity = el('input', { type: 'search', list: 'ix-identities', placeholder: 'any identity', 'data-filter': 'id' });
    identity.addEventListener('input', () => onFilter('id', identity.value.trim()));
    controls.id = identity;
    const severities = SEVERITIES.map((s, i) => ({ value: s, text: i === SEVERITIES.length - 1 ? s : s + ' or higher' }));
    const areas = valuesOf('data-area', true).map((v) => ({ value: v, text: areaTitle(v) }));
    const clusters = valuesOf('data-cluster', true).map((v) => ({ value: v, text: v }));
    const clear = el('button', { type: 'button', class: 'ix-clear', text: 'Clear' });
    clear.addEventListener('click', clearFilters);
    controls.count = el('span', { class: 'ix-total', role: 'status' });
    const bar = el('div', { class: 'ix-toolbar', role: 'search', 'aria-label': 'Filter the report' }, [
      labelled('Search', search),
      labelled('Severity', select('sev', 'any severity', severities)),
      labelled('Area', select('area', 'any area', areas)),
      labelled('Cluster', select('cluster', 'any cluster', clusters)),
      labelled('Identity', identity),
      identities,
      clear,
      controls.count,
    ]);
    main().insertBefore(bar, main().firstChild);
    return bar;
  }

  function syncControls() {
    FILTER_KEYS.forEach((k) => {
      const node = controls[k];
      if (node.tagName === 'SELECT' && state[k] !== '' && !Array.from(node.options).some((o) => o.value === state[k])) {
        node.appendChild(el('option', { value: state[k], text: state[k] })); // a linked value not on this page
      }
      node.value = state[k];
    });
  }

  function onFilter(key, value) {
    state[key] = value;
    applyFilters();
    writeHash();
  }

  function clearFilters() {
    FILTER_KEYS.forEach((k) => {
      state[k] = '';
    });
    syncControls();
    applyFilters();
    writeHash();
  }

  function loadState(parsed) {
    Object.assign(state, parsed);
    syncControls();
    applyShowAll();
    applySort();
    applyFilters();
  }

  function keepHeaderBelowToolbar(bar) {
    const set = () => document.documentElement.style.setProperty('--ix-bar', bar.offsetHeight + 'px');
    set();
    window.addEventListener('resize', set);
  }

  function init() {
    document.body.classList.add('ix-on');
    let n = 0;
    allRows().forEach((row) => rowOrder.set(row, (n += 1)));
    let t = 0;
    dataTables().forEach((table) => {
      if (table.closest('details.more-rows')) return; // merged into its preceding table on "show all"
      t += 1;
      const key = table.id || 'table-' + t;
      tableKeys.set(table, key);
      tablesByKey.set(key, table);
    });
    dataTables().forEach(makeSortable);
    main().querySelectorAll('details.more-rows').forEach(offerShowAll);
    const bar = buildToolbar();
    keepHeaderBelowToolbar(bar);
    loadState(parseHash(location.hash) || {});
    window.addEventListener('hashchange', () => {
      const hash = location.hash.replace(/^#/, '');
      const parsed = hash === lastHash ? null : parseHash(hash);
      if (parsed) loadState(parsed); // a pasted view link; a plain anchor jump keeps the current view
    });
  }

  document.addEventListener('DOMContentLoaded', init);
})();
