// Small behaviours shared by every page.
(function () {
  // Digits are grouped as they are typed (1234567 → 1,234,567); the server drops the commas.
  function group(input) {
    var raw = input.value, caret = input.selectionStart;
    var digitsBefore = raw.slice(0, caret).replace(/[^0-9]/g, '').length;
    var neg = /^\s*-/.test(raw);
    var digits = raw.replace(/[^0-9]/g, '');
    var out = (neg ? '-' : '') + digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    if (out === raw) return;
    input.value = out;
    var pos = 0, seen = 0;
    while (pos < out.length && seen < digitsBefore) { if (/[0-9]/.test(out[pos])) seen++; pos++; }
    if (document.activeElement === input) input.setSelectionRange(pos, pos);
  }
  document.addEventListener('input', function (e) {
    if (e.target.matches && e.target.matches('input[data-group-digits]')) group(e.target);
  });
})();
