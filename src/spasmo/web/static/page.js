// The page's only script of its own, a file rather than inline: the Content-Security-Policy allows no
// inline script or handler (docs/security.md). The print view's button opens the browser's print dialog.
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest("[data-print]");
  if (button) {
    window.print();
  }
});
