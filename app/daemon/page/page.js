// The status page's only script (served as /page.js, compiled into the binary). The daemon renders
// the whole page, SVG included, so the page reads without this script; the script re-fetches it every
// few seconds, swaps the new <main> in place, and says so when the daemon stops answering (the last
// state stays on screen, marked as old).
'use strict';
(function () {
  const every = 5000;
  function stamp(text, bad) {
    const p = document.getElementById('refresh');
    if (!p) return;
    p.textContent = text;
    p.className = bad ? 'note stale' : 'note';
  }
  async function refresh() {
    try {
      const reply = await fetch(window.location.pathname, { cache: 'no-store', credentials: 'same-origin' });
      if (!reply.ok) throw new Error('HTTP ' + reply.status);
      // DOMParser runs no script of the document it parses.
      const page = new DOMParser().parseFromString(await reply.text(), 'text/html');
      const fresh = page.getElementById('main');
      if (!fresh) throw new Error('not a status page');
      document.getElementById('main').replaceWith(document.adoptNode(fresh));
      document.body.dataset.refreshed = new Date().toISOString();
      stamp('updated ' + new Date().toLocaleTimeString() + ', every ' + every / 1000 + ' s', false);
    } catch (e) {
      stamp('the daemon does not answer (' + e.message + '); this is the state as of ' +
            (document.body.dataset.refreshed || 'the first load'), true);
    }
  }
  refresh();
  setInterval(refresh, every);
})();
